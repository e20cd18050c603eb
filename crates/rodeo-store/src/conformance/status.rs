//! Rollbacks, the service × environment status matrix with drift, and comparing two
//! revisions.

use rodeo_domain::{
    Command, DeploymentKind, DeploymentStatus, DriftState, StatusMatrix, StatusRow,
};

use super::fixtures::*;

/// Deploying A, then B, then A again is a rollback of B: B becomes rolled back and the
/// ledger says so. Redeploying the current sha is not.
pub async fn automatic_rollback(db: Db) {
    let c = chain("rb", 2, None, at(-60));
    record_commits(&db, c.clone()).await;
    let a = record(&db, deploy("api", "production", "1.0", &c[0].sha, at(0))).await;
    let b = record(&db, deploy("api", "production", "1.1", &c[1].sha, at(10))).await;
    assert_eq!(b.kind, DeploymentKind::Normal);
    let again = record(&db, deploy("api", "production", "1.0", &c[0].sha, at(20))).await;
    assert_eq!(
        (again.kind, again.rollback_of),
        (DeploymentKind::Rollback, Some(b.id))
    );
    assert_eq!(again.previous_id, Some(b.id));
    assert_eq!(
        shipped(&db, again.id).await,
        (vec![], true),
        "going back ships nothing"
    );

    let b_now = db.get_deployment(b.id).await.unwrap().unwrap().deployment;
    assert_eq!(b_now.status, DeploymentStatus::RolledBack);
    assert_eq!(
        db.get_deployment(a.id)
            .await
            .unwrap()
            .unwrap()
            .deployment
            .status,
        DeploymentStatus::Succeeded
    );
    let current = db
        .current_deployment(&svc("api"), &env("production"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.id, again.id);

    let events = all_events(&db).await;
    assert_eq!(
        kinds(&events)[..2],
        ["deployment.finished", "deployment.rolled_back"]
    );
    let rb = &events[1];
    assert_eq!(
        rb.subject.as_deref(),
        Some(format!("deployment:{}", b.id).as_str())
    );
    assert_eq!(rb.payload["rolled_back_by"], again.id.to_string());
    assert_eq!(rb.payload["status"], "rolled_back");

    let same = record(&db, deploy("api", "production", "1.0", &c[0].sha, at(30))).await;
    assert_eq!(
        (same.kind, same.rollback_of),
        (DeploymentKind::Normal, None)
    );
    // A version that ran before counts too, even under another sha.
    let d = record(&db, deploy("api", "staging", "5", &c[0].sha, at(40))).await;
    let six = record(&db, deploy("api", "staging", "6", &c[1].sha, at(41))).await;
    let rebuilt = record(
        &db,
        deploy("api", "staging", "5", &sha("rebuild", 1), at(42)),
    )
    .await;
    assert_eq!(
        (rebuilt.kind, rebuilt.rollback_of),
        (DeploymentKind::Rollback, Some(six.id))
    );
    assert_eq!(
        db.get_deployment(d.id)
            .await
            .unwrap()
            .unwrap()
            .deployment
            .status,
        DeploymentStatus::Succeeded
    );
}

/// A client may say it is rolling back; the replaced deployment is marked.
pub async fn explicit_rollback(db: Db) {
    let mut first = deploy("api", "production", "1", &sha("e", 1), at(0));
    first.kind = DeploymentKind::Rollback;
    let first = record(&db, first).await;
    assert_eq!(
        (first.kind, first.rollback_of),
        (DeploymentKind::Rollback, None)
    );
    let b = record(&db, deploy("api", "production", "2", &sha("e", 2), at(10))).await;
    let mut nd = deploy("api", "production", "3", &sha("e", 3), at(20));
    nd.kind = DeploymentKind::Rollback;
    let r = record(&db, nd).await;
    assert_eq!(
        (r.kind, r.rollback_of),
        (DeploymentKind::Rollback, Some(b.id))
    );
    let b_now = db.get_deployment(b.id).await.unwrap().unwrap().deployment;
    assert_eq!(b_now.status, DeploymentStatus::RolledBack);
    // A failed deployment never rolls anything back.
    let mut failed = deploy("api", "production", "1", &sha("e", 1), at(30));
    failed.status = DeploymentStatus::Failed;
    let failed = record(&db, failed).await;
    assert_eq!(failed.rollback_of, None);
    let r_now = db.get_deployment(r.id).await.unwrap().unwrap().deployment;
    assert_eq!(r_now.status, DeploymentStatus::Succeeded);
}

fn row<'a>(m: &'a StatusMatrix, service: &str) -> &'a StatusRow {
    m.services
        .iter()
        .find(|r| r.service.as_str() == service)
        .expect("service row")
}

fn drift_of(
    m: &StatusMatrix,
    service: &str,
    env_name: &str,
) -> Option<(String, DriftState, Option<u32>)> {
    let cell = row(m, service)
        .environments
        .iter()
        .find(|c| c.environment.as_str() == env_name)
        .expect("cell");
    cell.drift
        .as_ref()
        .map(|d| (d.compared_to.to_string(), d.state, d.undeployed_commits))
}

fn create_env(name: &str, order: i32) -> Command {
    Command::CreateEnvironment {
        name: env(name),
        production: name == "production",
        order,
    }
}

/// The matrix: environments in order, services by name, current deployments, and drift
/// against the previous environment (behind by N, in sync, or unknown).
pub async fn matrix_and_drift(db: Db) {
    apply(
        &db,
        ctx(),
        vec![create_env("production", 2), create_env("staging", 1)],
    )
    .await;
    let c = chain("st", 5, None, at(-60));
    record_commits(&db, c.clone()).await;
    apply(
        &db,
        ctx(),
        vec![Command::CreateTeam {
            name: team("core"),
            display_name: None,
        }],
    )
    .await;
    one(
        &db,
        Command::CreateService {
            name: svc("web"),
            team: Some(team("core")),
            repository: None,
        },
    )
    .await;
    let prod = record(&db, deploy("api", "production", "2", &c[1].sha, at(0))).await;
    // Deploying staging after production updates production's drift.
    let staging = record(&db, deploy("api", "staging", "5", &c[4].sha, at(1))).await;
    record(&db, deploy("solo", "staging", "1", &c[0].sha, at(2))).await;

    let m = db.status().await.unwrap();
    let envs: Vec<&str> = m.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(envs, ["staging", "production"]);
    let services: Vec<&str> = m.services.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(services, ["api", "solo", "web"]);
    let api = row(&m, "api");
    assert_eq!(api.environments.len(), 2);
    assert_eq!(
        api.environments[0].deployment.as_ref().map(|d| d.id),
        Some(staging.id)
    );
    assert_eq!(
        api.environments[1].deployment.as_ref().map(|d| d.id),
        Some(prod.id)
    );
    assert_eq!(drift_of(&m, "api", "staging"), None);
    assert_eq!(
        drift_of(&m, "api", "production"),
        Some(("staging".into(), DriftState::UndeployedChanges, Some(3)))
    );
    assert!(api.environments[1].drift.as_ref().unwrap().complete);
    assert_eq!(
        drift_of(&m, "solo", "production").map(|d| d.1),
        Some(DriftState::Unknown)
    );
    assert_eq!(row(&m, "web").team, Some(team("core")));
    assert!(row(&m, "web")
        .environments
        .iter()
        .all(|c| c.deployment.is_none()));
    assert_eq!(
        drift_of(&m, "web", "production").map(|d| d.1),
        Some(DriftState::Unknown)
    );

    let mut failed = deploy("api", "production", "5", &c[4].sha, at(3));
    failed.status = DeploymentStatus::Failed;
    record(&db, failed).await;
    let m = db.status().await.unwrap();
    assert_eq!(
        drift_of(&m, "api", "production").map(|d| d.2),
        Some(Some(3)),
        "a failure changes nothing"
    );

    record(&db, deploy("api", "production", "5", &c[4].sha, at(4))).await;
    let m = db.status().await.unwrap();
    assert_eq!(
        drift_of(&m, "api", "production"),
        Some(("staging".into(), DriftState::InSync, Some(0)))
    );

    // The rows of a few services are exactly those rows of the whole matrix; unknown
    // names are left out, and every environment is still listed.
    let some = db
        .status_of(&[svc("web"), svc("nope"), svc("api")])
        .await
        .unwrap();
    assert_eq!(some.environments, m.environments);
    let expected: Vec<_> = m
        .services
        .iter()
        .filter(|r| ["api", "web"].contains(&r.service.as_str()))
        .cloned()
        .collect();
    assert_eq!(some.services, expected);
    let none = db.status_of(&[]).await.unwrap();
    assert!(none.services.is_empty());
    assert_eq!(none.environments, m.environments);
}

/// Reordering, adding and removing environments recompute every service's drift.
pub async fn reordering_environments_recomputes_drift(db: Db) {
    apply(
        &db,
        ctx(),
        vec![create_env("staging", 1), create_env("production", 2)],
    )
    .await;
    let c = chain("ro", 5, None, at(-60));
    record_commits(&db, c.clone()).await;
    record(&db, deploy("api", "staging", "5", &c[4].sha, at(0))).await;
    record(&db, deploy("api", "production", "2", &c[1].sha, at(1))).await;
    let m = db.status().await.unwrap();
    assert_eq!(
        drift_of(&m, "api", "production").map(|d| d.2),
        Some(Some(3))
    );

    let reorder = Command::UpdateEnvironment {
        name: env("production"),
        production: None,
        order: Some(0),
    };
    one(&db, reorder).await;
    let m = db.status().await.unwrap();
    assert_eq!(drift_of(&m, "api", "production"), None);
    assert_eq!(
        drift_of(&m, "api", "staging"),
        Some(("production".into(), DriftState::InSync, Some(0)))
    );

    // A new environment is compared with production; moved after it, staging with it.
    one(&db, create_env("qa", 1)).await;
    record(&db, deploy("api", "qa", "4", &c[3].sha, at(2))).await;
    one(
        &db,
        Command::UpdateEnvironment {
            name: env("staging"),
            production: None,
            order: Some(5),
        },
    )
    .await;
    let m = db.status().await.unwrap();
    assert_eq!(
        drift_of(&m, "api", "staging"),
        Some(("qa".into(), DriftState::InSync, Some(0)))
    );
    assert_eq!(
        drift_of(&m, "api", "qa").map(|d| d.1),
        Some(DriftState::InSync)
    );

    one(
        &db,
        Command::UpdateEnvironment {
            name: env("staging"),
            production: None,
            order: Some(-1),
        },
    )
    .await;
    let m = db.status().await.unwrap();
    assert_eq!(drift_of(&m, "api", "staging"), None);
    assert_eq!(
        drift_of(&m, "api", "production"),
        Some(("staging".into(), DriftState::UndeployedChanges, Some(3)))
    );
    assert_eq!(
        drift_of(&m, "api", "qa"),
        Some(("production".into(), DriftState::InSync, Some(0)))
    );

    // Creating and deleting an environment that nothing was deployed to.
    one(&db, create_env("perf", -2)).await;
    let m = db.status().await.unwrap();
    assert_eq!(
        drift_of(&m, "api", "staging").map(|d| (d.0, d.1)),
        Some(("perf".into(), DriftState::Unknown))
    );
    one(&db, Command::DeleteEnvironment { name: env("perf") }).await;
    let m = db.status().await.unwrap();
    assert_eq!(drift_of(&m, "api", "staging"), None);
    assert_eq!(
        drift_of(&m, "api", "production").map(|d| d.2),
        Some(Some(3))
    );
}

/// `changes_between` in both directions, on diverged branches, with a time bound and
/// truncated to a limit.
pub async fn compare_both_directions(db: Db) {
    let c = chain("cmp", 5, None, at(-60));
    let side = chain("side", 2, Some(&c[1].sha), at(-30));
    let mut all = c.clone();
    all.extend(side.clone());
    record_commits(&db, all).await;
    let between = |inc: usize, exc: usize| (c[inc].sha.clone(), c[exc].sha.clone());

    let (i, e) = between(4, 1);
    let ch = db.changes_between(&i, Some(&e), None, 100).await.unwrap();
    let got: Vec<_> = ch.commits.iter().map(|c| c.sha.clone()).collect();
    assert_eq!(
        (got, ch.complete),
        (
            vec![c[4].sha.clone(), c[3].sha.clone(), c[2].sha.clone()],
            true
        )
    );
    assert_eq!(ch.commits[0], c[4], "full commits");
    let back = db.changes_between(&e, Some(&i), None, 100).await.unwrap();
    assert!(back.commits.is_empty() && back.complete);

    let ch = db
        .changes_between(&side[1].sha, Some(&c[4].sha), None, 100)
        .await
        .unwrap();
    let got: Vec<_> = ch.commits.iter().map(|c| c.sha.clone()).collect();
    assert_eq!(got, vec![side[1].sha.clone(), side[0].sha.clone()]);
    let ch = db
        .changes_between(&c[4].sha, Some(&side[1].sha), None, 100)
        .await
        .unwrap();
    assert_eq!(ch.commits.len(), 3);

    let limited = db.changes_between(&i, Some(&e), None, 2).await.unwrap();
    let got: Vec<_> = limited.commits.iter().map(|c| c.sha.clone()).collect();
    assert_eq!(
        (got, limited.complete),
        (vec![c[4].sha.clone(), c[3].sha.clone()], false)
    );

    let bounded = db
        .changes_between(&c[4].sha, None, Some(c[2].committed_at), 100)
        .await
        .unwrap();
    assert_eq!((bounded.commits.len(), bounded.complete), (3, true));
    let unknown = db
        .changes_between(&sha("nope", 1), None, None, 100)
        .await
        .unwrap();
    assert!(unknown.commits.is_empty() && !unknown.complete);
}
