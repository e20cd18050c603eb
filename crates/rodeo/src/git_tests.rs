//! Tests for reading commits: a real repository built with fixed dates.

use chrono::{TimeZone, Utc};

use super::*;
use crate::test_support::{commit, git};

const WEIRD: &str = "feat(api): ünïcödé ✓ 🚀\n\nA body with\n\n  indented lines,\ttabs, \u{1e} a record separator\nand --format=%H looking text.";

struct Fixture {
    _tmp: tempfile::TempDir,
    repo: Repo,
    root: Sha,
    feature: Sha,
    main2: Sha,
    merge: Sha,
}

/// root ─ main2 ─ merge
///     └ feature ┘
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, "2026-01-01T09:00:00Z", &["init", "-q"]);
    let root = commit(dir, "2026-01-01T09:00:00Z", "chore: initial commit");
    git(
        dir,
        "2026-01-01T09:00:00Z",
        &["checkout", "-q", "-b", "feature"],
    );
    let feature = commit(dir, "2026-01-02T10:30:00+02:00", WEIRD);
    git(dir, "2026-01-01T09:00:00Z", &["checkout", "-q", "main"]);
    let main2 = commit(dir, "2026-01-03T12:00:00Z", "fix: main line");
    git(
        dir,
        "2026-01-04T08:00:00Z",
        &[
            "merge",
            "-q",
            "--no-ff",
            "feature",
            "-m",
            "Merge branch 'feature'",
        ],
    );
    let merge = Sha::parse(&git(dir, "2026-01-04T08:00:00Z", &["rev-parse", "HEAD"])).unwrap();
    Fixture {
        repo: Repo::open(dir).unwrap(),
        _tmp: tmp,
        root,
        feature,
        main2,
        merge,
    }
}

#[test]
fn reads_a_range_with_a_merge_and_an_awkward_message() {
    let f = fixture();
    let commits = f
        .repo
        .log(Selection::Range {
            exclude: &f.root,
            include: &f.merge,
        })
        .unwrap();
    let shas: Vec<&Sha> = commits.iter().map(|c| &c.sha).collect();
    assert_eq!(shas.len(), 3);
    assert_eq!(shas[2], &f.merge, "children come after their parents");
    assert!(shas.contains(&&f.feature) && shas.contains(&&f.main2));

    let merge = &commits[2];
    assert_eq!(merge.parents, vec![f.main2.clone(), f.feature.clone()]);
    assert_eq!(merge.message, "Merge branch 'feature'");

    let feature = commits.iter().find(|c| c.sha == f.feature).unwrap();
    assert_eq!(
        feature.message,
        WEIRD.replace('\u{1e}', "\u{fffd}"),
        "only the control character the server would refuse is replaced"
    );
    assert_eq!(feature.parents, vec![f.root.clone()]);
    assert_eq!(feature.author, "Zoë Ångström");
    assert_eq!(feature.author_email.as_deref(), Some("zoe@example.org"));
    assert_eq!(
        feature.authored_at,
        Utc.with_ymd_and_hms(2026, 1, 2, 8, 30, 0).unwrap(),
        "offsets are converted to UTC"
    );
    assert_eq!(feature.committed_at, feature.authored_at);
}

#[test]
fn uploads_since_the_current_sha_when_the_repository_has_it() {
    let f = fixture();
    let now = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    let got = commits_to_upload(&f.repo, Some(&f.main2), &f.merge, now).unwrap();
    let shas: Vec<Sha> = got.into_iter().map(|c| c.sha).collect();
    assert_eq!(shas, vec![f.feature.clone(), f.merge.clone()]);
}

#[test]
fn falls_back_to_recent_history_without_a_known_current_sha() {
    let f = fixture();
    let unknown = Sha::parse(&"ab".repeat(20)).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    let all = commits_to_upload(&f.repo, Some(&unknown), &f.merge, now).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].sha, f.root, "the root comes first");
    assert!(all[0].parents.is_empty());

    // 30 days after the feature commit, only the later two are recent enough.
    let later = Utc.with_ymd_and_hms(2026, 2, 2, 11, 0, 0).unwrap();
    let recent = commits_to_upload(&f.repo, None, &f.merge, later).unwrap();
    let shas: Vec<Sha> = recent.into_iter().map(|c| c.sha).collect();
    assert_eq!(shas, vec![f.main2.clone(), f.merge.clone()]);

    // Long after, the deployed commit alone is still sent.
    let much_later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let only = commits_to_upload(&f.repo, None, &f.merge, much_later).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].sha, f.merge);
    assert_eq!(only[0].parents, vec![f.main2.clone(), f.feature.clone()]);
}

#[test]
fn resolves_revisions_and_rejects_unknown_ones() {
    let f = fixture();
    assert_eq!(f.repo.resolve("HEAD").unwrap(), Some(f.merge.clone()));
    assert_eq!(f.repo.resolve("feature").unwrap(), Some(f.feature.clone()));
    assert_eq!(f.repo.resolve("no-such-branch").unwrap(), None);
    let missing = Sha::parse(&"cd".repeat(20)).unwrap();
    assert!(matches!(
        commits_to_upload(&f.repo, None, &missing, Utc::now()),
        Err(GitError::UnknownRevision { .. })
    ));
}

#[test]
fn open_fails_outside_a_repository() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        Repo::open(tmp.path()),
        Err(GitError::Failed { .. })
    ));
}

#[test]
fn parse_log_rejects_truncated_output_and_bad_fields() {
    assert!(parse_log(b"").unwrap().is_empty());
    assert!(matches!(
        parse_log(b"abc\0def\0"),
        Err(GitError::Output { .. })
    ));
    let bad_time = format!(
        "{}\0\0A\0a@x\0yesterday\0yesterday\0msg\n\0",
        "a".repeat(40)
    );
    assert!(matches!(
        parse_log(bad_time.as_bytes()),
        Err(GitError::Field { .. })
    ));
}

#[test]
fn cleans_control_characters_and_long_text() {
    assert_eq!(clean("a\u{1b}[31mb\n\tc", 100, true), "a\u{fffd}[31mb\n\tc");
    assert_eq!(clean("Zoë\nX", 100, false), "Zoë\u{fffd}X");
    assert_eq!(clean(&"é".repeat(10), 5, true), "éé");
}

#[test]
fn truncates_on_a_character_boundary() {
    assert_eq!(truncate("héllo", 2), "h");
    assert_eq!(truncate("héllo", 3), "hé");
    assert_eq!(truncate("abc", 10), "abc");
}
