//! What a deployment shipped: the commits reachable from its sha and not from the
//! previous successful deployment's, over the part of the graph rodeo knows.

use chrono::Duration;
use rodeo_domain::{Command, DeploymentRef, DeploymentStatus, FinishDeployment, Sha};

use super::fixtures::*;

fn tips(c: &[rodeo_domain::Commit]) -> Vec<Sha> {
    c.iter().rev().map(|c| c.sha.clone()).collect()
}

/// Linear history: each deployment ships what is new since the previous one.
pub async fn linear_history(db: Db) {
    let c = chain("lin", 6, None, at(-60));
    record_commits(&db, c.clone()).await;
    let first = record(&db, deploy("api", "production", "1", &c[1].sha, at(0))).await;
    assert_eq!(shipped(&db, first.id).await, (tips(&c[..2]), true));
    let second = record(&db, deploy("api", "production", "2", &c[4].sha, at(10))).await;
    assert_eq!(second.previous_id, Some(first.id));
    assert_eq!(shipped(&db, second.id).await, (tips(&c[2..5]), true));
    assert_eq!(second.change_count, 3);
    // A failed deployment is never the previous one.
    let mut failed = deploy("api", "production", "3", &c[5].sha, at(20));
    failed.status = DeploymentStatus::Failed;
    let failed = record(&db, failed).await;
    assert_eq!(
        shipped(&db, failed.id).await,
        (vec![c[5].sha.clone()], true)
    );
    let third = record(&db, deploy("api", "production", "3", &c[5].sha, at(30))).await;
    assert_eq!(third.previous_id, Some(second.id));
    assert_eq!(shipped(&db, third.id).await, (vec![c[5].sha.clone()], true));
    // Another environment has its own history.
    let staging = record(&db, deploy("api", "staging", "3", &c[5].sha, at(31))).await;
    assert_eq!(staging.previous_id, None);
    assert_eq!(shipped(&db, staging.id).await.0.len(), 6);
}

/// A merge of a branch forked 350 commits before the previous deployment: the walk
/// must reach far below the previous sha's generation (several floor retries).
pub async fn merge_of_a_branch_forked_long_ago(db: Db) {
    let main = chain("main", 400, None, at(-1000));
    let fork_point = main[49].sha.clone();
    let branch = chain("feat", 3, Some(&fork_point), at(-500));
    let merge = commit(&sha("merge", 1), &[&main[399].sha, &branch[2].sha], at(-1));
    let mut all = main.clone();
    all.extend(branch.clone());
    record_commits(&db, all).await;

    let before = record(&db, deploy("api", "production", "1", &main[399].sha, at(0))).await;
    let mut nd = deploy("api", "production", "2", &merge.sha, at(10));
    nd.commits = vec![merge.clone()];
    let after = record(&db, nd).await;
    assert_eq!(after.previous_id, Some(before.id));
    let expected = vec![
        merge.sha.clone(),
        branch[2].sha.clone(),
        branch[1].sha.clone(),
        branch[0].sha.clone(),
    ];
    assert_eq!(shipped(&db, after.id).await, (expected, true));
}

/// A parent rodeo has never seen makes the list incomplete rather than guessed.
pub async fn unknown_parent_is_incomplete(db: Db) {
    let c = chain("up", 2, None, at(-60));
    record_commits(&db, c.clone()).await;
    let first = record(&db, deploy("api", "production", "1", &c[1].sha, at(0))).await;
    assert!(first.changes_complete);
    // A merge whose second parent was never sent.
    let ghost = sha("ghost", 1);
    let m = commit(&sha("up", 3), &[&c[1].sha, &ghost], at(-1));
    let mut nd = deploy("api", "production", "2", &m.sha, at(10));
    nd.commits = vec![m.clone()];
    let d = record(&db, nd).await;
    assert_eq!((d.change_count, d.changes_complete), (1, false));
    assert_eq!(shipped(&db, d.id).await, (vec![m.sha], false));
}

/// A first deployment ships only commits within the horizon (30 days by default)
/// before it started, plus those sent with it.
pub async fn first_deployment_is_bounded_by_the_horizon(db: Db) {
    let old = chain("old", 3, None, t0() - Duration::days(400));
    let recent = chain("new", 3, Some(&old[2].sha), t0() - Duration::days(1));
    let mut all = old.clone();
    all.extend(recent.clone());
    record_commits(&db, all).await;

    let d = record(&db, deploy("api", "production", "1", &recent[2].sha, at(0))).await;
    assert_eq!(shipped(&db, d.id).await, (tips(&recent), true));

    // Commits sent with a first deployment count even when older than the horizon.
    let mut nd = deploy("web", "production", "1", &recent[2].sha, at(5));
    nd.commits = vec![old[2].clone()];
    let w = record(&db, nd).await;
    let (mut got, complete) = shipped(&db, w.id).await;
    got.sort();
    let mut expected = tips(&recent);
    expected.push(old[2].sha.clone());
    expected.sort();
    assert_eq!((got, complete), (expected, true));

    // The horizon comes from the write context.
    let mut wide = ctx();
    wide.first_deploy_horizon = Duration::days(500);
    let nd = deploy("worker", "production", "1", &recent[2].sha, at(6));
    let d = deployment_of(
        apply(&db, wide, vec![Command::RecordDeployment(nd)])
            .await
            .remove(0),
    );
    assert_eq!(d.change_count, 6);
}

/// When the previous deployment's sha is unknown, the deployment ships what is within
/// the horizon and says the list may be incomplete.
pub async fn unknown_previous_sha_is_incomplete(db: Db) {
    let first = record(
        &db,
        deploy("api", "production", "1", &sha("nowhere", 1), at(0)),
    )
    .await;
    assert_eq!(shipped(&db, first.id).await, (vec![], false));
    let c = chain("q", 2, None, at(-30));
    let mut nd = deploy("api", "production", "2", &c[1].sha, at(10));
    nd.commits = c.clone();
    let d = record(&db, nd).await;
    assert_eq!(d.previous_id, Some(first.id));
    assert_eq!(shipped(&db, d.id).await, (tips(&c), false));
}

/// A deployed sha rodeo does not know ships nothing and is incomplete, even with a
/// known previous deployment.
pub async fn unknown_deployed_sha_ships_nothing(db: Db) {
    let c = chain("k", 1, None, at(-30));
    record_commits(&db, c.clone()).await;
    record(&db, deploy("api", "production", "1", &c[0].sha, at(0))).await;
    let d = record(
        &db,
        deploy("api", "production", "2", &sha("unknown", 1), at(10)),
    )
    .await;
    assert_eq!((d.change_count, d.changes_complete), (0, false));
    assert_eq!(shipped(&db, d.id).await, (vec![], false));
}

/// Changes are recomputed when a deployment finishes, against the latest previous
/// deployment at that time.
pub async fn finishing_recomputes_against_the_latest_previous(db: Db) {
    let c = chain("r", 3, None, at(-60));
    record_commits(&db, c.clone()).await;
    let base = record(&db, deploy("api", "production", "1", &c[0].sha, at(0))).await;
    let mut nd = deploy("api", "production", "3", &c[2].sha, at(10));
    nd.status = DeploymentStatus::InProgress;
    nd.finished_at = None;
    let slow = record(&db, nd).await;
    assert_eq!(slow.previous_id, Some(base.id));
    assert_eq!(shipped(&db, slow.id).await, (tips(&c[1..]), true));

    let quick = record(&db, deploy("api", "production", "2", &c[1].sha, at(12))).await;
    let fin = Command::FinishDeployment(FinishDeployment {
        id: DeploymentRef::Id(slow.id),
        status: DeploymentStatus::Succeeded,
        finished_at: at(15),
    });
    let done = deployment_of(one(&db, fin).await);
    assert_eq!(done.previous_id, Some(quick.id));
    assert_eq!(shipped(&db, slow.id).await, (vec![c[2].sha.clone()], true));
}

/// In a monorepo, commits mapped to other services are not shipped by this one.
pub async fn monorepo_commits_of_other_services_are_dropped(db: Db) {
    let mut c = chain("mono", 4, None, at(-60));
    c[1].services = vec![svc("web")];
    c[2].services = vec![svc("api"), svc("web")];
    record_commits(&db, c.clone()).await;
    let first = record(&db, deploy("api", "production", "1", &c[0].sha, at(0))).await;
    assert_eq!(shipped(&db, first.id).await.0, vec![c[0].sha.clone()]);
    let d = record(&db, deploy("api", "production", "2", &c[3].sha, at(10))).await;
    assert_eq!(
        shipped(&db, d.id).await,
        (vec![c[3].sha.clone(), c[2].sha.clone()], true)
    );
    let w = record(&db, deploy("web", "production", "2", &c[3].sha, at(11))).await;
    assert_eq!(w.change_count, 4);
}

/// Commits sent with a deployment may fill in history below the previously deployed
/// sha (here: the previous sha itself and its parent arrive only now); those are
/// ancestors of the previous deployment and were not shipped by this one.
pub async fn sent_commits_below_the_previous_sha_are_not_shipped(db: Db) {
    let (q, p, x) = (sha("fill", 1), sha("fill", 2), sha("fill", 3));
    let first = record(&db, deploy("api", "production", "1", &p, at(0))).await;
    assert_eq!(shipped(&db, first.id).await, (vec![], false));
    let mut nd = deploy("api", "production", "2", &x, at(10));
    nd.commits = vec![
        commit(&x, &[&p, &q], at(-1)),
        commit(&p, &[&q], at(-2)),
        commit(&q, &[], at(-3)),
    ];
    let d = record(&db, nd).await;
    assert_eq!(shipped(&db, d.id).await, (vec![x], true));
}

/// Commits sent with a deployment may be the missing parents of a commit deployed
/// before; reached through a merge they are still not shipped again.
pub async fn sent_parents_of_an_older_commit_are_not_shipped(db: Db) {
    let (a, b, c, d) = (sha("par", 1), sha("par", 2), sha("par", 3), sha("par", 4));
    record_commits(&db, vec![commit(&c, &[&b], at(-10))]).await;
    let first = record(&db, deploy("api", "production", "1", &c, at(0))).await;
    assert_eq!(shipped(&db, first.id).await, (vec![c.clone()], false));
    let mut nd = deploy("api", "production", "2", &d, at(10));
    nd.commits = vec![
        commit(&d, &[&c, &b], at(-1)),
        commit(&b, &[&a], at(-20)),
        commit(&a, &[], at(-30)),
    ];
    let second = record(&db, nd).await;
    assert_eq!(shipped(&db, second.id).await, (vec![d], true));
}
