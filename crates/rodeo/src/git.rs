//! Reads commits from a local repository with the `git` binary, for `deploy --git`.
//!
//! `git` is run directly (no shell), with `-z` and NUL-separated fields: git messages
//! cannot contain NUL, so any message (newlines, unicode, lines that look like
//! separators) survives. Commits come oldest first, parents before children, which is
//! the order the server wants them in.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Duration;
use rodeo_domain::{
    parse_timestamp, Commit, FieldError, Sha, Timestamp, MAX_AUTHOR_LEN, MAX_MESSAGE_LEN,
};

/// With no usable previous deployment, look back this far ...
pub const FIRST_DEPLOY_HORIZON: Duration = Duration::days(30);
/// ... and send at most this many commits.
pub const FIRST_DEPLOY_MAX_COMMITS: usize = 1000;
/// Upper bound for a `previous..new` range, so one deploy cannot upload a whole
/// history by accident; commits beyond it leave the server's change list incomplete
/// rather than wrong.
pub const RANGE_MAX_COMMITS: usize = 10_000;

const FIELDS: usize = 7;
const FORMAT: &str = "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%B";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: is it installed and on PATH?")]
    Spawn(#[source] std::io::Error),
    #[error("`git {args}` failed in {dir}: {stderr}")]
    Failed {
        dir: PathBuf,
        args: String,
        stderr: String,
    },
    #[error("{rev:?} does not name a commit in {dir}")]
    UnknownRevision { dir: PathBuf, rev: String },
    #[error("unexpected output from git log: {reason}")]
    Output { reason: String },
    #[error("unexpected output from git log for commit {sha}")]
    Field {
        sha: String,
        #[source]
        source: FieldError,
    },
}

/// A local repository (any directory inside a work tree, or a bare repository).
#[derive(Debug, Clone)]
pub struct Repo {
    dir: PathBuf,
}

/// Which commits to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// `exclude..include`, as `git log` reads it.
    Range { exclude: &'a Sha, include: &'a Sha },
    /// Commits reachable from `include` committed at or after `since`, newest `max`,
    /// and always `include` itself.
    Recent {
        include: &'a Sha,
        since: Timestamp,
        max: usize,
    },
}

impl Repo {
    pub fn open(dir: &Path) -> Result<Self, GitError> {
        let repo = Self {
            dir: dir.to_path_buf(),
        };
        repo.run(&["rev-parse", "--git-dir"])?;
        Ok(repo)
    }

    /// The full sha of a revision (`HEAD`, a branch, a short sha), if it names a commit.
    pub fn resolve(&self, rev: &str) -> Result<Option<Sha>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.output(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])?;
        if !out.status.success() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Sha::parse(text.trim())
            .map(Some)
            .map_err(|source| GitError::Field {
                sha: text.trim().to_owned(),
                source,
            })
    }

    /// Like [`Repo::resolve`], but a revision that names nothing is an error.
    pub fn require(&self, rev: &str) -> Result<Sha, GitError> {
        self.resolve(rev)?.ok_or_else(|| GitError::UnknownRevision {
            dir: self.dir.clone(),
            rev: rev.to_owned(),
        })
    }

    /// The selected commits, oldest first.
    pub fn log(&self, selection: Selection<'_>) -> Result<Vec<Commit>, GitError> {
        let mut args: Vec<String> = [
            "-c",
            "log.showSignature=false",
            "log",
            "-z",
            "--no-color",
            "--encoding=UTF-8",
            "--topo-order",
            "--reverse",
            FORMAT,
        ]
        .map(String::from)
        .to_vec();
        match selection {
            Selection::Range { exclude, include } => {
                args.push(format!("--max-count={RANGE_MAX_COMMITS}"));
                args.push(format!("{exclude}..{include}"));
            }
            Selection::Recent {
                include,
                since,
                max,
            } => {
                args.push(format!("--max-count={max}"));
                args.push(format!("--since={}", since.to_rfc3339()));
                args.push(include.to_string());
            }
        }
        // Everything after `--` would be a path: the revisions above can never be one.
        args.push("--".to_owned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut commits = parse_log(&self.run(&refs)?)?;
        if let Selection::Recent { include, .. } = selection {
            // A deployed commit older than the window is still worth sending: the
            // server then knows the sha, and the next deployment's range is complete.
            if commits.last().map(|c| &c.sha) != Some(include) {
                let one = [
                    "log",
                    "-z",
                    "--no-color",
                    "--encoding=UTF-8",
                    "--max-count=1",
                    FORMAT,
                ];
                let mut one: Vec<&str> = one.to_vec();
                let rev = include.to_string();
                one.extend([rev.as_str(), "--"]);
                commits.extend(parse_log(&self.run(&one)?)?);
            }
        }
        Ok(commits)
    }

    fn output(&self, args: &[&str]) -> Result<std::process::Output, GitError> {
        Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(GitError::Spawn)
    }

    fn run(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self.output(args)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Failed {
                dir: self.dir.clone(),
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }
}

/// The commits a deployment of `target` should carry: those since `current` (the sha
/// deployed now) when the repository has it, otherwise the recent history of `target`.
pub fn commits_to_upload(
    repo: &Repo,
    current: Option<&Sha>,
    target: &Sha,
    now: Timestamp,
) -> Result<Vec<Commit>, GitError> {
    repo.require(target.as_str())?;
    let known_current = match current {
        Some(c) => repo.resolve(c.as_str())?.map(|_| c),
        None => None,
    };
    let selection = match known_current {
        Some(exclude) => Selection::Range {
            exclude,
            include: target,
        },
        None => Selection::Recent {
            include: target,
            since: now - FIRST_DEPLOY_HORIZON,
            max: FIRST_DEPLOY_MAX_COMMITS,
        },
    };
    repo.log(selection)
}

/// Parses `git log -z` output in [`FORMAT`]: seven NUL-terminated fields per commit.
pub fn parse_log(out: &[u8]) -> Result<Vec<Commit>, GitError> {
    let text = String::from_utf8_lossy(out);
    let mut fields: Vec<&str> = text.split('\0').collect();
    if fields.last() == Some(&"") {
        fields.pop();
    }
    let commits = fields.chunks_exact(FIELDS);
    if !commits.remainder().is_empty() {
        return Err(GitError::Output {
            reason: format!("{} fields is not a whole number of commits", fields.len()),
        });
    }
    commits.map(parse_commit).collect()
}

fn parse_commit(f: &[&str]) -> Result<Commit, GitError> {
    let sha_text = f[0].trim_start_matches('\n');
    let err = |source: FieldError| GitError::Field {
        sha: sha_text.to_owned(),
        source,
    };
    let sha = Sha::parse_field("sha", sha_text).map_err(err)?;
    let parents = f[1]
        .split_whitespace()
        .map(|p| Sha::parse_field("parents", p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let email = f[3].trim();
    // git ends %B with a newline of its own.
    let message = f[6].strip_suffix('\n').unwrap_or(f[6]);
    Ok(Commit {
        sha,
        parents,
        author: clean(f[2], MAX_AUTHOR_LEN, false),
        author_email: (!email.is_empty()).then(|| clean(email, MAX_AUTHOR_LEN, false)),
        authored_at: parse_timestamp("authored_at", f[4]).map_err(err)?,
        committed_at: parse_timestamp("committed_at", f[5]).map_err(err)?,
        message: clean(message, MAX_MESSAGE_LEN, true),
        repository: None,
        services: Vec::new(),
    })
}

/// Text the server accepts, so one odd commit cannot make a whole deployment fail
/// validation: control characters (an escape sequence pasted into a message) become
/// U+FFFD, keeping newlines and tabs in messages, and overlong text is cut.
fn clean(s: &str, max: usize, multiline: bool) -> String {
    let kept = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    let cleaned: String = s
        .chars()
        .map(|c| {
            if kept(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect();
    truncate(&cleaned, max).to_owned()
}

/// At most `max` bytes (so also at most `max` characters), cut on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
#[path = "git_tests.rs"]
mod tests;
