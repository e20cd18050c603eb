//! Commits from push payloads, which GitHub and GitLab shape alike: oldest first, with
//! no parents, and the branch's previous head as `before`.
//!
//! Parents are inferred from order: the first commit builds on `before`, each next one
//! on the one before it. When the first commit's parent cannot be known (a new
//! branch, a force push, a list the sender truncated) that commit is not recorded
//! and only named as the second one's parent: rodeo then knows the graph is incomplete
//! below it, instead of taking it for a root commit and calling change lists complete.

use std::collections::HashSet;

use rodeo_domain::{Commit, FieldError, Sha, MAX_AUTHOR_LEN, MAX_MESSAGE_LEN};

use super::json::Obj;
use super::Mapping;

/// GitLab writes this instead of an author's address when it is private.
const REDACTED_EMAIL: &str = "[REDACTED]";

/// Reads one pushed commit (`id`, `message`, `timestamp`, `author`, changed paths);
/// its parents are filled in by [`link_parents`].
pub(super) fn read_commit(
    c: &Obj<'_>,
    repository: &str,
    mapping: &Mapping,
) -> Result<Commit, FieldError> {
    let sha = c.sha("id")?;
    let at = c.timestamp("timestamp")?;
    let message = c.text("message", MAX_MESSAGE_LEN)?;
    let author = c.obj("author")?;
    let name = author.text("name", MAX_AUTHOR_LEN)?;
    let email = author
        .opt_text("email", MAX_AUTHOR_LEN)?
        .filter(|e| *e != REDACTED_EMAIL);
    let mut paths = c.strings("added")?;
    paths.extend(c.strings("modified")?);
    paths.extend(c.strings("removed")?);
    Ok(Commit {
        sha,
        parents: Vec::new(),
        author: name.to_owned(),
        author_email: email.map(str::to_owned),
        authored_at: at,
        committed_at: at,
        message: message.to_owned(),
        repository: Some(repository.to_owned()),
        services: mapping.services_for_paths(repository, paths.iter().copied()),
    })
}

/// Chains `commits` (oldest first, as read from the array at `path`) onto `base`, the
/// first commit's parent when known. Without a base the first commit is left out (see
/// the module docs), so the result may be empty.
pub(super) fn link_parents(
    base: Option<Sha>,
    commits: Vec<Commit>,
    path: &str,
) -> Result<Vec<Commit>, FieldError> {
    let mut seen = HashSet::new();
    if let Some(base) = &base {
        seen.insert(base.clone());
    }
    for (i, c) in commits.iter().enumerate() {
        if !seen.insert(c.sha.clone()) {
            // A repeated sha would become its own ancestor.
            return Err(FieldError::new(
                format!("{path}[{i}].id"),
                "names a commit that appears earlier in the push",
            ));
        }
    }

    let mut commits = commits.into_iter();
    let mut parent = match base {
        Some(base) => Some(base),
        None => commits.next().map(|first| first.sha),
    };
    Ok(commits
        .map(|mut c| {
            c.parents = parent.take().into_iter().collect();
            parent = Some(c.sha.clone());
            c
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn commit(c: char) -> Commit {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        Commit {
            sha: sha(c),
            parents: Vec::new(),
            author: "A".into(),
            author_email: None,
            authored_at: at,
            committed_at: at,
            message: "m".into(),
            repository: None,
            services: Vec::new(),
        }
    }

    fn parents(commits: &[Commit]) -> Vec<(String, Vec<String>)> {
        commits
            .iter()
            .map(|c| {
                let p = c.parents.iter().map(|p| p.short().to_owned()).collect();
                (c.sha.short().to_owned(), p)
            })
            .collect()
    }

    #[test]
    fn chains_onto_the_base() {
        let linked = link_parents(
            Some(sha('0')),
            vec![commit('a'), commit('b'), commit('c')],
            "commits",
        )
        .unwrap();
        assert_eq!(
            parents(&linked),
            [
                ("aaaaaaa".into(), vec!["0000000".into()]),
                ("bbbbbbb".into(), vec!["aaaaaaa".into()]),
                ("ccccccc".into(), vec!["bbbbbbb".into()]),
            ]
        );
    }

    #[test]
    fn without_a_base_the_first_commit_is_only_a_parent() {
        let linked = link_parents(None, vec![commit('a'), commit('b')], "commits").unwrap();
        assert_eq!(
            parents(&linked),
            [("bbbbbbb".into(), vec!["aaaaaaa".into()])]
        );
        assert!(link_parents(None, vec![commit('a')], "commits")
            .unwrap()
            .is_empty());
        assert!(link_parents(None, vec![], "commits").unwrap().is_empty());
    }

    #[test]
    fn repeated_commits_are_rejected() {
        let e =
            link_parents(Some(sha('0')), vec![commit('a'), commit('a')], "commits").unwrap_err();
        assert_eq!(e.field, "commits[1].id");
        let e = link_parents(Some(sha('a')), vec![commit('a')], "commits").unwrap_err();
        assert_eq!(e.field, "commits[0].id");
    }
}
