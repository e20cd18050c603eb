//! Recording deployments: in one call or started then finished, upserts by external id,
//! auto-registration of services and environments, and the read lookups.

use rodeo_domain::{
    Command, Cursor, DeploymentKind, DeploymentRef, DeploymentStatus, FinishDeployment, Source,
};

use super::fixtures::*;
use crate::{DeploymentFilter, StoreError};

fn finish(id: DeploymentRef, status: DeploymentStatus, t: rodeo_domain::Timestamp) -> Command {
    Command::FinishDeployment(FinishDeployment {
        id,
        status,
        finished_at: t,
    })
}

fn started(
    service: &str,
    sha_n: u32,
    started_at: rodeo_domain::Timestamp,
) -> rodeo_domain::NewDeployment {
    let mut nd = deploy(service, "production", "2.0.0", &sha("s", sha_n), started_at);
    nd.status = DeploymentStatus::InProgress;
    nd.started_at = started_at;
    nd.finished_at = None;
    nd
}

/// A finished deployment in one call: every field stored and read back, the current
/// deployment, and the events it appends.
pub async fn one_call_success(db: Db) {
    let c = chain("one", 2, None, at(-30));
    let mut nd = deploy("api", "production", "1.4.2", &c[1].sha, at(0));
    nd.kind = DeploymentKind::Hotfix;
    nd.url = Some("https://ci.example/run/9".into());
    nd.commits = c.clone();
    let mut wctx = ctx_at(at(1));
    wctx.actor = "deployer".into();
    wctx.source = Source::Cli;
    let d = deployment_of(
        apply(&db, wctx, vec![Command::RecordDeployment(nd.clone())])
            .await
            .remove(0),
    );

    assert!(d.id > 0);
    assert_eq!(
        (
            d.service.as_str(),
            d.environment.as_str(),
            d.version.as_str()
        ),
        ("api", "production", "1.4.2")
    );
    assert_eq!(
        (d.status, d.kind),
        (DeploymentStatus::Succeeded, DeploymentKind::Hotfix)
    );
    assert_eq!(
        (d.started_at, d.finished_at),
        (nd.started_at, nd.finished_at)
    );
    assert_eq!((d.created_by.as_str(), d.source), ("deployer", Source::Cli));
    assert_eq!(d.url.as_deref(), Some("https://ci.example/run/9"));
    assert_eq!(
        (
            d.rollback_of,
            d.previous_id,
            d.change_count,
            d.changes_complete
        ),
        (None, None, 2, true)
    );

    let detail = db.get_deployment(d.id).await.unwrap().unwrap();
    assert_eq!(detail.deployment, d);
    assert_eq!(
        detail.changes,
        vec![c[1].clone(), c[0].clone()],
        "full commits, newest first"
    );
    assert_eq!(
        db.current_deployment(&svc("api"), &env("production"))
            .await
            .unwrap(),
        Some(d.clone())
    );
    assert!(db.get_deployment(d.id + 1000).await.unwrap().is_none());

    let events = all_events(&db).await;
    assert_eq!(
        kinds(&events),
        [
            "deployment.finished",
            "commits.recorded",
            "environment.created",
            "service.created"
        ]
    );
    let e = &events[0];
    assert_eq!(
        (e.at, e.recorded_at),
        (at(0), at(1)),
        "at = finished_at, recorded_at = write time"
    );
    assert_eq!(
        e.subject.as_deref(),
        Some(format!("deployment:{}", d.id).as_str())
    );
    assert_eq!(e.payload["version"], "1.4.2");
    assert_eq!((e.actor.as_str(), e.source), ("deployer", Source::Cli));
}

/// A deployment started, then finished by id or by external id.
pub async fn start_then_finish(db: Db) {
    let d = record(&db, started("api", 1, at(0))).await;
    assert_eq!(
        (d.status, d.finished_at),
        (DeploymentStatus::InProgress, None)
    );
    assert!(db
        .current_deployment(&svc("api"), &env("production"))
        .await
        .unwrap()
        .is_none());

    let done = deployment_of(
        one(
            &db,
            finish(DeploymentRef::Id(d.id), DeploymentStatus::Succeeded, at(5)),
        )
        .await,
    );
    assert_eq!(
        (done.id, done.status, done.finished_at),
        (d.id, DeploymentStatus::Succeeded, Some(at(5)))
    );
    assert_eq!(
        db.get_deployment(d.id).await.unwrap().unwrap().deployment,
        done
    );
    assert_eq!(
        db.current_deployment(&svc("api"), &env("production"))
            .await
            .unwrap(),
        Some(done)
    );

    let mut nd = started("web", 2, at(10));
    nd.external_id = Some("github:deployment:77".into());
    let w = record(&db, nd).await;
    let failed = finish(
        DeploymentRef::External("github:deployment:77".into()),
        DeploymentStatus::Failed,
        at(12),
    );
    let w2 = deployment_of(one(&db, failed).await);
    assert_eq!((w2.id, w2.status), (w.id, DeploymentStatus::Failed));
    assert!(db
        .current_deployment(&svc("web"), &env("production"))
        .await
        .unwrap()
        .is_none());

    let deploy_kinds: Vec<String> = all_events(&db)
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("deployment."))
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        deploy_kinds,
        [
            "deployment.finished",
            "deployment.started",
            "deployment.finished",
            "deployment.started"
        ]
    );
}

/// Finishing a finished deployment is a conflict that names its status.
pub async fn finishing_twice_conflicts(db: Db) {
    let d = record(&db, started("api", 1, at(0))).await;
    one(
        &db,
        finish(DeploymentRef::Id(d.id), DeploymentStatus::Failed, at(3)),
    )
    .await;
    let before = all_events(&db).await.len();
    let e = fails(
        &db,
        ctx(),
        vec![finish(
            DeploymentRef::Id(d.id),
            DeploymentStatus::Succeeded,
            at(4),
        )],
    )
    .await;
    assert_conflict(&e);
    assert!(e.to_string().contains("already finished as failed"), "{e}");
    assert_eq!(all_events(&db).await.len(), before);
    let stored = db.get_deployment(d.id).await.unwrap().unwrap().deployment;
    assert_eq!(
        (stored.status, stored.finished_at),
        (DeploymentStatus::Failed, Some(at(3)))
    );

    let one_call = record(&db, deploy("api", "production", "3", &sha("s", 3), at(10))).await;
    let e = fails(
        &db,
        ctx(),
        vec![finish(
            DeploymentRef::Id(one_call.id),
            DeploymentStatus::Failed,
            at(11),
        )],
    )
    .await;
    assert_conflict(&e);
}

/// Finishing checks the status, the times and that the deployment exists.
pub async fn finish_is_validated(db: Db) {
    let d = record(&db, started("api", 1, at(0))).await;
    let e = fails(
        &db,
        ctx(),
        vec![finish(
            DeploymentRef::Id(d.id),
            DeploymentStatus::InProgress,
            at(3),
        )],
    )
    .await;
    assert_invalid(&e, "status");
    let e = fails(
        &db,
        ctx(),
        vec![finish(
            DeploymentRef::Id(d.id),
            DeploymentStatus::Succeeded,
            at(-1),
        )],
    )
    .await;
    assert_invalid(&e, "finished_at");
    let e = fails(
        &db,
        ctx(),
        vec![finish(
            DeploymentRef::Id(d.id + 1000),
            DeploymentStatus::Succeeded,
            at(3),
        )],
    )
    .await;
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "deployment",
                ..
            }
        ),
        "{e:?}"
    );
    let e = fails(
        &db,
        ctx(),
        vec![finish(
            DeploymentRef::External("nope".into()),
            DeploymentStatus::Succeeded,
            at(3),
        )],
    )
    .await;
    assert_not_found(&e);
    let stored = db.get_deployment(d.id).await.unwrap().unwrap().deployment;
    assert_eq!(stored.status, DeploymentStatus::InProgress);
    // Exactly at started_at is allowed.
    let ok = deployment_of(
        one(
            &db,
            finish(DeploymentRef::Id(d.id), DeploymentStatus::Succeeded, at(0)),
        )
        .await,
    );
    assert_eq!(ok.finished_at, Some(at(0)));
}

/// Recording a deployment whose external id is known finishes it, returns it unchanged
/// when nothing changed or when a late in-progress status arrives, and conflicts when
/// it finished otherwise.
pub async fn external_id_upserts(db: Db) {
    let mut nd = started("api", 1, at(0));
    nd.external_id = Some("github:deployment:5".into());
    let first = record(&db, nd.clone()).await;
    let events = all_events(&db).await.len();

    assert_eq!(
        record(&db, nd.clone()).await,
        first,
        "the same status again is unchanged"
    );
    assert_eq!(all_events(&db).await.len(), events, "and appends nothing");

    let mut done = nd.clone();
    done.status = DeploymentStatus::Succeeded;
    done.finished_at = Some(at(4));
    let finished = record(&db, done.clone()).await;
    assert_eq!(
        (finished.id, finished.status, finished.finished_at),
        (first.id, DeploymentStatus::Succeeded, Some(at(4)))
    );
    let events = all_events(&db).await;
    assert_eq!(events[0].kind, "deployment.finished");

    assert_eq!(record(&db, done.clone()).await, finished);
    assert_eq!(all_events(&db).await.len(), events.len());
    assert_eq!(
        record(&db, nd.clone()).await,
        finished,
        "a late in-progress delivery after the finish changes nothing"
    );
    assert_eq!(all_events(&db).await.len(), events.len());

    let mut failed = done;
    failed.status = DeploymentStatus::Failed;
    let e = fails(&db, ctx(), vec![Command::RecordDeployment(failed)]).await;
    assert_conflict(&e);
    assert!(
        e.to_string().contains("already finished as succeeded"),
        "{e}"
    );
    let page = db
        .list_deployments(&DeploymentFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.items.len(),
        1,
        "upserts never create a second deployment"
    );
}

/// Unknown services and environments are registered on first sight.
pub async fn auto_registration_on(db: Db) {
    record(&db, deploy("api", "production", "1", &sha("a", 1), at(0))).await;
    record(&db, deploy("api", "staging", "1", &sha("a", 1), at(1))).await;
    let s = db.get_service(&svc("api")).await.unwrap().unwrap();
    assert_eq!((s.team, s.repository, s.created_at), (None, None, t0()));
    let envs = db.list_environments().await.unwrap();
    let got: Vec<(&str, bool, i32)> = envs
        .iter()
        .map(|e| (e.name.as_str(), e.production, e.order))
        .collect();
    assert_eq!(got, [("staging", false, 200), ("production", true, 300)]);
    let events = all_events(&db).await;
    let k = kinds(&events)
        .into_iter()
        .filter(|k| !k.starts_with("deployment."))
        .collect::<Vec<_>>();
    assert_eq!(
        k,
        [
            "environment.created",
            "environment.created",
            "service.created"
        ]
    );
}

/// With auto-registration off, an unknown service or environment is invalid, names the
/// field, and nothing of the call is written (not even the commits sent with it).
pub async fn auto_registration_off(db: Db) {
    let mut off = ctx();
    off.auto_register = false;
    let c = chain("off", 1, None, at(-5));
    let mut nd = deploy("api", "production", "1", &c[0].sha, at(0));
    nd.commits = c.clone();

    let e = fails(
        &db,
        off.clone(),
        vec![Command::RecordDeployment(nd.clone())],
    )
    .await;
    assert_invalid(&e, "service");
    assert!(e.to_string().contains("auto-registration is off"), "{e}");
    assert!(db.list_services().await.unwrap().is_empty());
    assert!(db.list_environments().await.unwrap().is_empty());
    assert!(db.get_commit(&c[0].sha).await.unwrap().is_none());
    assert!(all_events(&db).await.is_empty());

    one(
        &db,
        Command::CreateService {
            name: svc("api"),
            team: None,
            repository: None,
        },
    )
    .await;
    let e = fails(
        &db,
        off.clone(),
        vec![Command::RecordDeployment(nd.clone())],
    )
    .await;
    assert_invalid(&e, "environment");
    assert!(db.list_environments().await.unwrap().is_empty());
    assert_eq!(kinds(&all_events(&db).await), ["service.created"]);

    one(
        &db,
        Command::CreateEnvironment {
            name: env("production"),
            production: true,
            order: 1,
        },
    )
    .await;
    let d = deployment_of(
        apply(&db, off, vec![Command::RecordDeployment(nd)])
            .await
            .remove(0),
    );
    assert_eq!(d.change_count, 1);
}

/// Listing (filters, keyset pages), the current deployment, and lookups by version.
pub async fn list_and_lookups(db: Db) {
    let mut ids = Vec::new();
    for i in 0..5u32 {
        let e = if i % 2 == 0 { "production" } else { "staging" };
        ids.push(
            record(
                &db,
                deploy("api", e, &format!("1.{i}"), &sha("l", i), at(i64::from(i))),
            )
            .await
            .id,
        );
    }
    let mut failed = deploy("api", "production", "1.9", &sha("l", 9), at(10));
    failed.status = DeploymentStatus::Failed;
    let failed = record(&db, failed).await;
    record(&db, deploy("web", "production", "7", &sha("w", 1), at(11))).await;

    let mut filter = DeploymentFilter {
        service: Some(svc("api")),
        limit: 2,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = db.list_deployments(&filter).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|d| d.id));
        match page.next_cursor {
            Some(c) => filter.before_id = Some(Cursor::decode(&c).unwrap().before_id),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.push(failed.id);
    expected.reverse();
    assert_eq!(seen, expected, "newest first, every page, no duplicates");

    let prod = DeploymentFilter {
        service: Some(svc("api")),
        environment: Some(env("production")),
        status: Some(DeploymentStatus::Succeeded),
        limit: 10,
        ..Default::default()
    };
    let got: Vec<i64> = db
        .list_deployments(&prod)
        .await
        .unwrap()
        .items
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(got, [ids[4], ids[2], ids[0]]);

    let current = db
        .current_deployment(&svc("api"), &env("production"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.id, ids[4], "a failed deployment is never current");
    let v = db
        .deployment_of_version(&svc("api"), "1.3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.id, ids[3]);
    assert!(db
        .deployment_of_version(&svc("api"), "1.9")
        .await
        .unwrap()
        .is_none());
    assert!(db
        .deployment_of_version(&svc("web"), "1.3")
        .await
        .unwrap()
        .is_none());
}
