//! One repository's commit history: commits on working days (weekends quieter), a
//! mostly linear main branch, and now and then a short feature branch merged back
//! with a merge commit. Commits are stored parents first.

use chrono::{Datelike, Duration, Weekday};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rodeo_domain::{Commit, FieldError, Sha, Timestamp};

use super::catalog::{Cadence, Person, ServiceSpec, ORG, PEOPLE};
use super::messages;

pub(super) struct History {
    /// Parents always come before their children.
    pub(super) commits: Vec<Commit>,
    /// `parents[i]`: the indices of `commits[i]`'s parents.
    pub(super) parents: Vec<Vec<usize>>,
    /// The main branch's first-parent chain, oldest first (so also in time order).
    pub(super) main: Vec<usize>,
    /// The branches merged into main, as the pull requests that merged them.
    pub(super) pull_requests: Vec<PullRequest>,
}

/// A feature branch's pull request.
pub(super) struct PullRequest {
    pub(super) number: u32,
    pub(super) title: String,
    /// The author's login (the local part of their email).
    pub(super) author: &'static str,
    pub(super) opened_at: Timestamp,
    pub(super) merged_at: Timestamp,
    /// Indices into `commits`: the branch's last commit and the merge commit.
    pub(super) head: usize,
    pub(super) merge: usize,
}

impl History {
    /// The main branch's head at `t`.
    pub(super) fn head_at(&self, t: Timestamp) -> Option<usize> {
        let n = self
            .main
            .partition_point(|&i| self.commits[i].committed_at <= t);
        n.checked_sub(1).map(|p| self.main[p])
    }

    /// Main-branch commits after `after` (exclusive) up to `upto` (inclusive).
    pub(super) fn main_between(
        &self,
        after: Option<usize>,
        upto: usize,
    ) -> impl Iterator<Item = &Commit> {
        let from = after.map_or(0, |a| self.main.partition_point(|&i| i <= a));
        let to = self.main.partition_point(|&i| i <= upto);
        self.main[from..to.max(from)]
            .iter()
            .map(|&i| &self.commits[i])
    }

    /// The first ordinary (non-merge) main commit in `[from, until]`.
    pub(super) fn first_plain_main_in(&self, from: Timestamp, until: Timestamp) -> Option<usize> {
        let start = self
            .main
            .partition_point(|&i| self.commits[i].committed_at < from);
        self.main[start..]
            .iter()
            .copied()
            .take_while(|&i| self.commits[i].committed_at <= until)
            .find(|&i| self.parents[i].len() == 1)
    }
}

/// Commits per working day, by cadence.
fn daily_rate(c: Cadence) -> f64 {
    match c {
        Cadence::Hourly => 3.5,
        Cadence::Daily => 1.8,
        Cadence::Weekly => 0.9,
    }
}

pub(super) fn is_weekend(t: Timestamp) -> bool {
    matches!(t.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `day` (a midnight) plus a uniformly random time between two wall-clock hours.
pub(super) fn time_on(rng: &mut ChaCha8Rng, day: Timestamp, from_h: f64, to_h: f64) -> Timestamp {
    let secs = rng.gen_range((from_h * 3600.0) as i64..(to_h * 3600.0) as i64);
    day + Duration::seconds(secs)
}

struct Builder<'a> {
    rng: &'a mut ChaCha8Rng,
    svc: &'a ServiceSpec,
    team: Vec<&'static Person>,
    bot: Option<&'static Person>,
    h: History,
    next_pr: u32,
}

pub(super) fn generate(
    rng: &mut ChaCha8Rng,
    svc: &ServiceSpec,
    start: Timestamp,
    now: Timestamp,
) -> Result<History, FieldError> {
    let next_pr = rng.gen_range(40..400);
    let mut b = Builder {
        rng,
        svc,
        team: PEOPLE.iter().filter(|p| p.team == Some(svc.team)).collect(),
        bot: PEOPLE.iter().find(|p| p.team.is_none()),
        h: History {
            commits: Vec::new(),
            parents: Vec::new(),
            main: Vec::new(),
            pull_requests: Vec::new(),
        },
        next_pr,
    };
    let root_at = start + Duration::hours(9);
    if root_at <= now {
        let author = b.author();
        let message = format!("chore: initial import of {}", svc.name);
        let i = b.push(Vec::new(), author, root_at, message)?;
        b.h.main.push(i);
    }
    let mut day = start;
    while day <= now {
        let weekend = is_weekend(day);
        let rate = daily_rate(svc.cadence) * if weekend { 0.08 } else { 1.0 };
        // Binomial(2·rate, ½): mean `rate`, and some days bring none.
        let tries = (rate * 2.0).round() as u32;
        let n = (0..tries).filter(|_| b.rng.gen_bool(0.5)).count();
        let mut times: Vec<Timestamp> = (0..n).map(|_| time_on(b.rng, day, 8.5, 18.5)).collect();
        times.sort();
        for t in times {
            let last = b.h.main.last().map(|&i| b.h.commits[i].committed_at);
            let t = match last {
                Some(l) if t <= l => l + Duration::seconds(b.rng.gen_range(60..600)),
                _ => t,
            };
            if t <= now {
                b.slot(t)?;
            }
        }
        day += Duration::days(1);
    }
    Ok(b.h)
}

impl Builder<'_> {
    fn author(&mut self) -> &'static Person {
        self.team.choose(self.rng).copied().unwrap_or(&PEOPLE[0])
    }

    fn sha(&mut self) -> Result<Sha, FieldError> {
        let bytes: [u8; 20] = self.rng.gen();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Sha::parse(&hex)
    }

    fn push(
        &mut self,
        parents: Vec<usize>,
        author: &Person,
        at: Timestamp,
        message: String,
    ) -> Result<usize, FieldError> {
        let authored_at = if self.rng.gen_bool(0.3) {
            at - Duration::minutes(self.rng.gen_range(2..180))
        } else {
            at
        };
        let commit = Commit {
            sha: self.sha()?,
            parents: parents
                .iter()
                .map(|&p| self.h.commits[p].sha.clone())
                .collect(),
            author: author.name.to_owned(),
            author_email: Some(author.email.to_owned()),
            authored_at,
            committed_at: at,
            message,
            repository: Some(format!("{ORG}/{}", self.svc.name)),
            services: Vec::new(),
        };
        self.h.commits.push(commit);
        self.h.parents.push(parents);
        Ok(self.h.commits.len() - 1)
    }

    /// One unit of work landing on main at `t`: a commit, or a merged branch.
    fn slot(&mut self, t: Timestamp) -> Result<(), FieldError> {
        let Some(&head) = self.h.main.last() else {
            return Ok(());
        };
        if self.h.main.len() >= 2 && self.rng.gen_bool(0.14) && self.branch(t, head)? {
            return Ok(());
        }
        let (author, message) = match self.bot {
            Some(bot) if self.rng.gen_bool(0.06) => (bot, messages::dependency_bump(self.rng)),
            _ => {
                let author = self.author();
                let co = self.author();
                let co = (co.name != author.name).then_some(co);
                (author, messages::message(self.rng, self.svc, co))
            }
        };
        let i = self.push(vec![head], author, t, message)?;
        self.h.main.push(i);
        Ok(())
    }

    /// A branch forked from a recent main commit, merged at `t`. False when there is
    /// no room in time for it.
    fn branch(&mut self, t: Timestamp, head: usize) -> Result<bool, FieldError> {
        let back = self.rng.gen_range(0..=3.min(self.h.main.len() - 1));
        let fork = self.h.main[self.h.main.len() - 1 - back];
        let forked_at = self.h.commits[fork].committed_at;
        let len = self.rng.gen_range(1..=3);
        if t - forked_at < Duration::minutes(i64::from(len) + 2) {
            return Ok(false);
        }
        let author = self.author();
        let title = messages::subject(self.rng, self.svc);
        let mut tip = fork;
        let mut first_at = t;
        for k in 0..len {
            let at = forked_at + (t - forked_at) * (k + 1) / (len + 1);
            if k == 0 {
                first_at = at;
            }
            let message = if k == 0 {
                title.clone()
            } else {
                messages::follow_up(self.rng, self.svc)
            };
            tip = self.push(vec![tip], author, at, message)?;
        }
        let reviewer = self.author();
        let number = self.next_pr;
        self.next_pr += 1;
        let message = messages::merge(number, &messages::branch_name(&title), &title);
        let merge = self.push(vec![head, tip], reviewer, t, message)?;
        self.h.main.push(merge);
        // Opened some time after the first commit was pushed, and before the merge;
        // drawn from the number, not the random stream, which the rest of the story
        // (and its tests) depend on.
        let open_after = (t - first_at).num_seconds().max(1) * i64::from(number % 8 + 1) / 10;
        self.h.pull_requests.push(PullRequest {
            number,
            title,
            author: author.email.split('@').next().unwrap_or(author.name),
            opened_at: first_at + Duration::seconds(open_after),
            merged_at: t,
            head: tip,
            merge,
        });
        Ok(true)
    }
}
