//! Commit messages in the conventional-commit style teams actually write: mostly
//! one-liners, some with a body, the odd co-author trailer or ticket reference,
//! dependency bumps from a bot, merge commits for pull requests.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{Person, ServiceSpec, BODIES, COMMIT_TYPES, DEPENDENCIES, SUBJECTS, THINGS};

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// A conventional-commit subject: `feat(cart): add retry policy`.
pub(super) fn subject(rng: &mut ChaCha8Rng, svc: &ServiceSpec) -> String {
    let kind = COMMIT_TYPES
        .choose_weighted(rng, |(_, w)| *w)
        .map_or("chore", |(k, _)| *k);
    let templates = SUBJECTS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[][..], |(_, t)| *t);
    let text = pick(rng, templates).replace("{}", pick(rng, THINGS));
    if rng.gen_bool(0.7) {
        format!("{kind}({}): {text}", pick(rng, svc.scopes))
    } else {
        format!("{kind}: {text}")
    }
}

/// A full message: a subject, and sometimes a body, a ticket, a co-author.
pub(super) fn message(
    rng: &mut ChaCha8Rng,
    svc: &ServiceSpec,
    co_author: Option<&Person>,
) -> String {
    let mut msg = subject(rng, svc);
    let mut trailers = Vec::new();
    if rng.gen_bool(0.3) {
        msg.push_str("\n\n");
        msg.push_str(pick(rng, BODIES));
        if rng.gen_bool(0.3) {
            msg.push_str("\n\n- keep the old behaviour for existing accounts\n- log once per request, not per retry");
        }
    }
    if rng.gen_bool(0.15) {
        trailers.push(format!("Refs: TW-{}", rng.gen_range(1000..4000)));
    }
    if let Some(p) = co_author.filter(|_| rng.gen_bool(0.08)) {
        trailers.push(format!("Co-authored-by: {} <{}>", p.name, p.email));
    }
    if !trailers.is_empty() {
        msg.push_str("\n\n");
        msg.push_str(&trailers.join("\n"));
    }
    msg
}

/// What a branch's second and later commits often say.
pub(super) fn follow_up(rng: &mut ChaCha8Rng, svc: &ServiceSpec) -> String {
    const FOLLOW_UPS: &[&str] = &[
        "address review comments",
        "fix lint",
        "add tests",
        "fix the flaky assertion",
        "rename after review",
    ];
    if rng.gen_bool(0.5) {
        pick(rng, FOLLOW_UPS).to_owned()
    } else {
        subject(rng, svc)
    }
}

pub(super) fn dependency_bump(rng: &mut ChaCha8Rng) -> String {
    let (major, minor) = (rng.gen_range(0..4), rng.gen_range(0..40));
    let patch = rng.gen_range(0..9);
    format!(
        "build(deps): bump {} from {major}.{minor}.{patch} to {major}.{minor}.{}",
        pick(rng, DEPENDENCIES),
        patch + rng.gen_range(1..4)
    )
}

/// The fix shipped as a hotfix after a bad release.
pub(super) fn incident_title(rng: &mut ChaCha8Rng, svc: &ServiceSpec) -> String {
    let what = pick(
        rng,
        &[
            "Elevated 5xx rate",
            "p99 latency above SLO",
            "Error budget burning fast",
            "Requests timing out",
            "Health checks failing",
        ],
    );
    format!("{what} on {}", svc.name)
}

pub(super) fn hotfix(rng: &mut ChaCha8Rng, svc: &ServiceSpec) -> String {
    const CAUSES: &[&str] = &[
        "revert the {} change that broke production",
        "guard against a null {} from the upstream service",
        "raise the {} limit that was rejecting real traffic",
    ];
    let text = pick(rng, CAUSES).replace("{}", pick(rng, THINGS));
    format!(
        "fix({}): {text}\n\nHotfix after rolling back the previous release.",
        pick(rng, svc.scopes)
    )
}

/// A branch name from a commit subject: `feat/add-retry-policy`.
pub(super) fn branch_name(subject: &str) -> String {
    let (kind, text) = subject.split_once(':').unwrap_or(("change", subject));
    let kind = kind.split('(').next().unwrap_or(kind);
    let slug: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(5)
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{kind}/{}", slug.join("-"))
}

/// GitHub's merge commit message.
pub(super) fn merge(number: u32, branch: &str, title: &str) -> String {
    format!(
        "Merge pull request #{number} from {}/{branch}\n\n{title}",
        super::catalog::ORG
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_slugs() {
        assert_eq!(
            branch_name("feat(cart): add CSV export"),
            "feat/add-csv-export"
        );
        assert_eq!(branch_name("no type here"), "change/no-type-here");
    }
}
