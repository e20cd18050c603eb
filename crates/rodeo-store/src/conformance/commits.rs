//! Recording commits: counts of new and known commits, and generation numbers that stay
//! consistent whatever order commits arrive in (observed through what a later
//! deployment ships, which lists commits newest first by generation).

use chrono::Duration;
use rodeo_domain::{Command, Outcome};

use super::fixtures::*;

/// New commits are inserted, known ones counted and left alone; one event per call that
/// recorded something.
pub async fn commits_are_recorded_once(db: Db) {
    let c = chain("c", 3, None, at(-100));
    let out = one(
        &db,
        Command::RecordCommits {
            commits: c[..2].to_vec(),
        },
    )
    .await;
    assert_eq!(
        out,
        Outcome::Commits {
            recorded: 2,
            already_known: 0
        }
    );

    let mut changed = c[0].clone();
    changed.message = "rewritten".into();
    let out = one(
        &db,
        Command::RecordCommits {
            commits: vec![changed, c[1].clone(), c[2].clone()],
        },
    )
    .await;
    assert_eq!(
        out,
        Outcome::Commits {
            recorded: 1,
            already_known: 2
        }
    );
    let out = one(&db, Command::RecordCommits { commits: c.clone() }).await;
    assert_eq!(
        out,
        Outcome::Commits {
            recorded: 0,
            already_known: 3
        }
    );

    for expected in &c {
        let got = db.get_commit(&expected.sha).await.unwrap();
        assert_eq!(
            got.as_ref(),
            Some(expected),
            "a known commit is left as it was"
        );
    }
    assert!(db.get_commit(&sha("c", 99)).await.unwrap().is_none());

    // Parent order is kept (it matters for merges).
    let (a, b) = (sha("m", 1), sha("m", 2));
    let merge = commit(&sha("m", 3), &[&b, &a], at(-10));
    record_commits(&db, vec![merge.clone()]).await;
    assert_eq!(
        db.get_commit(&merge.sha).await.unwrap().unwrap().parents,
        vec![b, a]
    );

    let events = all_events(&db).await;
    assert_eq!(
        kinds(&events),
        ["commits.recorded", "commits.recorded", "commits.recorded"]
    );
    assert_eq!(events[1].payload["recorded"], 1);
    assert_eq!(events[1].payload["already_known"], 2);
    assert_eq!(
        events[2].at, c[1].committed_at,
        "the event happened at the newest commit time"
    );
}

/// Children recorded before their parents get their generations repaired (recursively)
/// when the parents arrive.
pub async fn generations_are_repaired_across_calls(db: Db) {
    let (a, b, c, d) = (sha("g", 1), sha("g", 2), sha("g", 3), sha("g", 4));
    record_commits(&db, vec![commit(&a, &[], at(-40))]).await;
    // D and C arrive first while B is unknown, then B.
    record_commits(
        &db,
        vec![commit(&c, &[&b], at(-20)), commit(&d, &[&c], at(-10))],
    )
    .await;
    record_commits(&db, vec![commit(&b, &[&a], at(-30))]).await;

    let first = record(&db, deploy("api", "production", "1", &a, at(0))).await;
    assert_eq!(shipped(&db, first.id).await.0, vec![a.clone()]);
    let second = record(&db, deploy("api", "production", "2", &d, at(10))).await;
    // Commit times alone would order B and C the same way; generation must order them.
    assert_eq!(shipped(&db, second.id).await, (vec![d, c, b], true));
    assert_eq!(second.previous_id, Some(first.id));
}

/// Commits in one call may come children first; their generations are computed after
/// all of them are inserted.
pub async fn commits_within_a_call_may_come_children_first(db: Db) {
    let base = chain("base", 2, None, at(-100));
    let tip = base[1].sha.clone();
    record_commits(&db, base).await;
    let first = record(&db, deploy("api", "production", "1", &tip, at(0))).await;
    assert!(first.changes_complete);

    let (b, c, d) = (sha("x", 1), sha("x", 2), sha("x", 3));
    // Commit times are deliberately reversed, so only generations give the right order.
    let mut nd = deploy("api", "production", "2", &d, at(10));
    nd.commits = vec![
        commit(&d, &[&c], at(-3)),
        commit(&c, &[&b], at(-2)),
        commit(&b, &[&tip], at(-1)),
    ];
    let second = record(&db, nd).await;
    assert_eq!(shipped(&db, second.id).await, (vec![d.clone(), c, b], true));
    assert_eq!(second.change_count, 3);

    // And a later deployment on top sees only what is new.
    let e = sha("x", 4);
    record_commits(&db, vec![commit(&e, &[&d], at(-1) + Duration::seconds(1))]).await;
    let third = record(&db, deploy("api", "production", "3", &e, at(20))).await;
    assert_eq!(shipped(&db, third.id).await, (vec![e], true));
}
