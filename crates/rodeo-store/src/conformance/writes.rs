//! Properties of the write path as a whole: idempotency keys, webhook delivery dedup,
//! all-or-nothing calls, hostile strings, and many concurrent writers.

use std::collections::HashSet;

use rodeo_domain::{
    Command, Delivery, DeploymentRef, DeploymentStatus, FinishDeployment, IdempotencyKey, Outcome,
    PullRequest, PullRequestState, Source,
};

use super::fixtures::*;
use crate::{DeploymentFilter, StoreError, Written};

fn keyed(key: &str, fingerprint: &str) -> rodeo_domain::WriteContext {
    let mut c = ctx();
    c.idempotency = Some(IdempotencyKey {
        key: key.into(),
        fingerprint: fingerprint.into(),
    });
    c
}

/// The same key and fingerprint replays the stored outcomes and writes nothing; another
/// fingerprint is a mismatch; a failed call does not use up its key.
pub async fn idempotency_replay_and_mismatch(db: Db) {
    let cmds = vec![Command::RecordDeployment(deploy(
        "api",
        "production",
        "1",
        &sha("i", 1),
        at(0),
    ))];
    let first = match db
        .execute(keyed("tok1:k", "fp-a"), cmds.clone())
        .await
        .unwrap()
    {
        Written::Applied(o) => o,
        other => panic!("expected Applied, got {other:?}"),
    };
    let events = all_events(&db).await.len();
    let again = db
        .execute(keyed("tok1:k", "fp-a"), cmds.clone())
        .await
        .unwrap();
    assert_eq!(again, Written::Replayed(first.clone()));
    assert_eq!(all_events(&db).await.len(), events);
    let page = db
        .list_deployments(&DeploymentFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "a replay records nothing");

    let e = db
        .execute(keyed("tok1:k", "fp-b"), cmds.clone())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::IdempotencyMismatch), "{e:?}");
    // Another key is another request.
    let other = db.execute(keyed("tok2:k", "fp-a"), cmds).await.unwrap();
    assert!(matches!(other, Written::Applied(_)));

    let bad = vec![Command::DeleteTeam {
        name: team("ghost"),
    }];
    assert_not_found(
        &db.execute(keyed("tok1:retry", "fp-c"), bad)
            .await
            .unwrap_err(),
    );
    let fixed = vec![Command::CreateTeam {
        name: team("ghost"),
        display_name: None,
    }];
    let ok = db
        .execute(keyed("tok1:retry", "fp-d"), fixed)
        .await
        .unwrap();
    assert!(
        matches!(ok, Written::Applied(_)),
        "a failed call stores no key: {ok:?}"
    );
}

/// A webhook delivery id is applied once per source.
pub async fn delivery_dedup(db: Db) {
    let delivered = |source: Source, id: &str| {
        let mut c = ctx();
        c.source = source;
        c.delivery = Some(Delivery {
            source,
            id: id.into(),
        });
        c
    };
    let push = |n: u32| {
        vec![Command::RecordCommits {
            commits: chain("dlv", n, None, at(-10)),
        }]
    };
    let w = db
        .execute(delivered(Source::Github, "d-1"), push(1))
        .await
        .unwrap();
    assert!(matches!(w, Written::Applied(_)));
    let events = all_events(&db).await.len();
    let w = db
        .execute(delivered(Source::Github, "d-1"), push(2))
        .await
        .unwrap();
    assert_eq!(w, Written::DuplicateDelivery);
    assert!(
        db.get_commit(&sha("dlv", 2)).await.unwrap().is_none(),
        "nothing of a duplicate is applied"
    );
    assert_eq!(all_events(&db).await.len(), events);
    let w = db
        .execute(delivered(Source::Gitlab, "d-1"), push(2))
        .await
        .unwrap();
    assert!(matches!(w, Written::Applied(_)), "ids are per source");

    // A failed delivery can be redelivered.
    let bad = vec![Command::DeleteTeam {
        name: team("ghost"),
    }];
    db.execute(delivered(Source::Github, "d-2"), bad)
        .await
        .unwrap_err();
    let w = db
        .execute(delivered(Source::Github, "d-2"), push(3))
        .await
        .unwrap();
    assert!(matches!(w, Written::Applied(_)));
}

/// When a later command of a call fails, nothing of the earlier ones remains.
pub async fn failed_call_writes_nothing(db: Db) {
    let c = chain("atom", 2, None, at(-10));
    let cmds = vec![
        Command::CreateTeam {
            name: team("core"),
            display_name: None,
        },
        Command::RecordCommits { commits: c.clone() },
        Command::RecordDeployment(deploy("api", "production", "1", &c[1].sha, at(0))),
        Command::CreateService {
            name: svc("web"),
            team: Some(team("missing")),
            repository: None,
        },
    ];
    assert_invalid(&fails(&db, ctx(), cmds).await, "team");
    assert!(db.list_teams().await.unwrap().is_empty());
    assert!(db.list_services().await.unwrap().is_empty());
    assert!(db.list_environments().await.unwrap().is_empty());
    assert!(db.get_commit(&c[0].sha).await.unwrap().is_none());
    assert!(db
        .list_deployments(&DeploymentFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(all_events(&db).await.is_empty());

    // The store is still usable, and ids are not a way to observe the failure.
    let d = record(&db, deploy("api", "production", "1", &c[1].sha, at(0))).await;
    assert_eq!(
        d.change_count, 0,
        "the commits of the failed call were not kept"
    );
}

const NASTY: &str = "Robert'); DROP TABLE deployments;-- \"q\" \\ 100% _x_ $1 ?; :name @v \
                     \u{1F680} Ünïcödé 日本語 \u{202E}rtl\u{202C} \r\n\ttab";

/// Quotes, SQL fragments, wildcards and unicode in every free-text field come back
/// exactly as sent.
pub async fn metacharacters_and_unicode_round_trip(db: Db) {
    let text = |f: &str| format!("{f}: {NASTY}");
    one(
        &db,
        Command::CreateTeam {
            name: team("core"),
            display_name: Some(text("display")),
        },
    )
    .await;
    assert_eq!(
        db.get_team(&team("core"))
            .await
            .unwrap()
            .unwrap()
            .display_name,
        Some(text("display"))
    );
    one(
        &db,
        Command::CreateService {
            name: svc("api"),
            team: None,
            repository: Some(text("repo")),
        },
    )
    .await;
    assert_eq!(
        db.get_service(&svc("api"))
            .await
            .unwrap()
            .unwrap()
            .repository,
        Some(text("repo"))
    );

    let mut c = commit(&sha("n", 1), &[], at(-10));
    c.author = text("author");
    c.author_email = Some(text("email"));
    c.message = text("message");
    c.repository = Some(text("repository"));
    let mut nd = deploy("api", "production", &text("version"), &c.sha, at(0));
    nd.url = Some(text("url"));
    nd.external_id = Some(text("external"));
    nd.status = DeploymentStatus::InProgress;
    nd.finished_at = None;
    nd.commits = vec![c.clone()];
    let d = record(&db, nd).await;
    let fin = Command::FinishDeployment(FinishDeployment {
        id: DeploymentRef::External(text("external")),
        status: DeploymentStatus::Succeeded,
        finished_at: at(1),
    });
    assert_eq!(deployment_of(one(&db, fin).await).id, d.id);
    let got = db.get_deployment(d.id).await.unwrap().unwrap();
    assert_eq!(got.deployment.version, text("version"));
    assert_eq!(got.deployment.url, Some(text("url")));
    assert_eq!(got.deployment.external_id, Some(text("external")));
    assert_eq!(got.changes, vec![c.clone()]);
    assert_eq!(db.get_commit(&c.sha).await.unwrap(), Some(c));
    assert_eq!(
        db.deployment_of_version(&svc("api"), &text("version"))
            .await
            .unwrap()
            .map(|x| x.id),
        Some(d.id)
    );
    assert!(db
        .deployment_of_version(&svc("api"), "%")
        .await
        .unwrap()
        .is_none());

    let pr = PullRequest {
        repository: text("pr-repo"),
        number: 7,
        title: text("title"),
        author: text("pr-author"),
        state: PullRequestState::Open,
        created_at: at(-5),
        merged_at: None,
        merge_commit_sha: None,
        head_sha: None,
        url: Some(text("pr-url")),
    };
    let cmds = vec![Command::UpsertPullRequest(pr.clone())];
    db.execute(keyed("k", "f"), cmds.clone()).await.unwrap();
    // The replay comes from storage, so it shows what was stored.
    let replay = db.execute(keyed("k", "f"), cmds).await.unwrap();
    assert_eq!(replay, Written::Replayed(vec![Outcome::PullRequest(pr)]));
    let mut wctx = ctx();
    wctx.actor = text("actor");
    one_with(
        &db,
        wctx,
        Command::CreateTeam {
            name: team("t2"),
            display_name: None,
        },
    )
    .await;
    let events = all_events(&db).await;
    assert_eq!(events[0].actor, text("actor"));
    assert_eq!(events[1].payload["title"], text("title"));
}

async fn one_with(db: &Db, wctx: rodeo_domain::WriteContext, cmd: Command) {
    apply(db, wctx, vec![cmd]).await;
}

/// 32 writers recording deployments at once (all auto-registering the same
/// environment) all succeed, and everything they wrote is readable afterwards.
pub async fn concurrent_writers(db: Db) {
    const WRITERS: u32 = 32;
    const EACH: u32 = 5;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let service = format!("svc-{w}");
            let tag = format!("w{w}");
            let mut parent = None;
            let mut ids = Vec::new();
            for i in 0..EACH {
                let commits = chain(
                    &format!("{tag}-{i}"),
                    10,
                    parent.as_ref(),
                    at(i64::from(i * 20) - 200),
                );
                let tip = commits[9].sha.clone();
                let mut nd = deploy(
                    &service,
                    "production",
                    &format!("1.{i}"),
                    &tip,
                    at(i64::from(i)),
                );
                nd.commits = commits;
                let d = deployment_of(
                    apply(&db, ctx(), vec![Command::RecordDeployment(nd)])
                        .await
                        .remove(0),
                );
                assert_eq!(
                    d.change_count, 10,
                    "each deployment ships its 10 new commits"
                );
                ids.push(d.id);
                parent = Some(tip);
            }
            ids
        }));
    }
    let mut all = HashSet::new();
    for t in tasks {
        for id in t.await.expect("writer task") {
            assert!(all.insert(id), "ids are unique");
        }
    }
    assert_eq!(all.len(), (WRITERS * EACH) as usize);
    for id in &all {
        let d = db.get_deployment(*id).await.unwrap().expect("readable");
        assert_eq!(d.changes.len(), 10);
    }
    assert_eq!(db.list_environments().await.unwrap().len(), 1);
    assert_eq!(db.list_services().await.unwrap().len(), WRITERS as usize);
    let m = db.status().await.unwrap();
    assert!(m.services.iter().all(|r| r.environments[0]
        .deployment
        .as_ref()
        .is_some_and(|d| d.version == "1.4")));
    let created = all_events(&db)
        .await
        .into_iter()
        .filter(|e| e.kind == "environment.created")
        .count();
    assert_eq!(created, 1, "the environment was registered once");
}
