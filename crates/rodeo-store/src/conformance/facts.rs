//! The facts the delivery metrics read: the window and its edges, and the
//! first-shipments rollup against the pure derivation.

use rodeo_domain::{
    Command, DeploymentKind, DeploymentStatus, IncidentChange, PullRequest, PullRequestState, Sha,
};

use super::fixtures::*;
use super::incidents::{change, incident_of, new_incident};
use crate::FactsQuery;

/// The lead-time rollup keeps each commit's earliest production deployment per
/// service: a later environment does not move it, a backfilled earlier one does, a
/// staging or failed deployment never counts, and flipping an environment's production
/// flag rebuilds it.
pub async fn first_shipments_follow_the_earliest_production_deployment(db: Db) {
    let c = chain("fs", 3, None, at(-600));
    record_commits(&db, c.clone()).await;
    let query = |services| FactsQuery {
        services,
        from: at(-1000),
        to: at(100),
    };
    let firsts = |f: &crate::Facts| {
        let mut v: Vec<(i64, rodeo_domain::Timestamp)> = f
            .first_shipments
            .iter()
            .map(|s| (s.deployment_id, s.deployed_at))
            .collect();
        v.sort();
        v
    };
    record(&db, deploy("api", "staging", "1", &c[2].sha, at(-300))).await;
    let mut failed = deploy("api", "prod-eu", "1", &c[2].sha, at(-290));
    failed.status = DeploymentStatus::Failed;
    record(&db, failed).await;
    one(
        &db,
        Command::CreateEnvironment {
            name: env("prod-us"),
            production: true,
            order: 300,
        },
    )
    .await;
    one(
        &db,
        Command::UpdateEnvironment {
            name: env("prod-eu"),
            production: Some(true),
            order: None,
        },
    )
    .await;
    assert!(db
        .metric_facts(&query(None))
        .await
        .unwrap()
        .first_shipments
        .is_empty());

    let eu = record(&db, deploy("api", "prod-eu", "1", &c[2].sha, at(-200))).await;
    let us = record(&db, deploy("api", "prod-us", "1", &c[2].sha, at(-100))).await;
    let f = db.metric_facts(&query(None)).await.unwrap();
    assert_eq!(
        f.first_shipments.len(),
        3,
        "three commits, each counted once"
    );
    assert!(firsts(&f)
        .iter()
        .all(|(d, t)| (*d, *t) == (eu.id, at(-200))));
    assert_eq!(
        f.first_shipments,
        rodeo_metrics::first_shipments(&crate::Facts {
            shipments: shipped_facts(&db, &[eu.id, us.id]).await,
            ..f.clone()
        })
    );

    // A deployment recorded late that finished earlier becomes the first.
    let early = record(&db, deploy("api", "prod-us", "0", &c[1].sha, at(-250))).await;
    let f = db
        .metric_facts(&query(Some(vec![svc("api")])))
        .await
        .unwrap();
    let by_time = firsts(&f);
    assert_eq!(
        by_time.iter().filter(|(d, _)| *d == early.id).count(),
        2,
        "{by_time:?}"
    );
    assert_eq!(
        by_time.iter().filter(|(d, _)| *d == eu.id).count(),
        1,
        "{by_time:?}"
    );

    // prod-us stops being production: prod-eu's deployment is first for all three again.
    one(
        &db,
        Command::UpdateEnvironment {
            name: env("prod-us"),
            production: Some(false),
            order: None,
        },
    )
    .await;
    let f = db.metric_facts(&query(None)).await.unwrap();
    assert!(
        firsts(&f).iter().all(|(d, _)| *d == eu.id),
        "{:?}",
        firsts(&f)
    );
    assert_eq!(f.first_shipments.len(), 3);
}

/// The commits `ids` shipped, as raw shipments.
async fn shipped_facts(db: &Db, ids: &[i64]) -> Vec<rodeo_metrics::Shipment> {
    let mut out = Vec::new();
    for id in ids {
        let d = db.get_deployment(*id).await.unwrap().unwrap();
        for c in d.changes {
            out.push(rodeo_metrics::Shipment {
                deployment_id: *id,
                sha: c.sha.to_string(),
                author: c.author,
                committed_at: c.committed_at,
                pull_request: None,
            });
        }
    }
    out
}

pub async fn metric_facts_read_the_window_and_its_edges(db: Db) {
    // Commits shipped by the api deployments.
    let c = chain("m", 3, None, at(-600));
    record_commits(&db, c.clone()).await;
    let mut first = deploy("api", "production", "1", &c[0].sha, at(-500));
    first.commits = vec![c[0].clone()];
    let before = record(&db, first).await; // before the window
    let in1 = record(&db, deploy("api", "production", "2", &c[1].sha, at(-100))).await;
    let mut failed = deploy("api", "production", "3", &c[2].sha, at(-90));
    failed.status = DeploymentStatus::Failed;
    record(&db, failed).await; // never reached production
    record(&db, deploy("api", "staging", "2", &c[1].sha, at(-95))).await; // not production
    let mut hotfix = deploy("api", "production", "3", &c[2].sha, at(100));
    hotfix.kind = DeploymentKind::Hotfix;
    let after1 = record(&db, hotfix).await; // first after the window
    record(&db, deploy("api", "production", "4", &sha("m", 9), at(200))).await; // later still
    record(&db, deploy("web", "production", "1", &sha("w", 1), at(-50))).await;

    let mut caused = new_incident("api broke", &["api"]);
    caused.started_at = Some(at(-80));
    caused.detected_at = Some(at(-80));
    let inc = incident_of(one(&db, Command::OpenIncident(caused)).await);
    change(
        &db,
        inc.id,
        IncidentChange::SetCauses {
            deployments: vec![in1.id],
            automatic: false,
        },
    )
    .await;
    let mut old = new_incident("old", &["api"]);
    old.started_at = Some(at(-900));
    old.detected_at = Some(at(-900));
    one(&db, Command::OpenIncident(old)).await;
    // Before the range, but caused by the lane's last deployment before it.
    let mut earlier = new_incident("earlier", &["api"]);
    earlier.started_at = Some(at(-450));
    earlier.detected_at = Some(at(-450));
    let earlier = incident_of(one(&db, Command::OpenIncident(earlier)).await);
    change(
        &db,
        earlier.id,
        IncidentChange::SetCauses {
            deployments: vec![before.id],
            automatic: false,
        },
    )
    .await;
    let mut elsewhere = new_incident("web only", &["web"]);
    elsewhere.started_at = Some(at(-10));
    elsewhere.detected_at = Some(at(-10));
    one(&db, Command::OpenIncident(elsewhere)).await;

    let facts = db
        .metric_facts(&FactsQuery {
            services: Some(vec![svc("api")]),
            from: at(-200),
            to: at(0),
        })
        .await
        .unwrap();
    let mut ids: Vec<i64> = facts.deployments.iter().map(|d| d.id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        vec![before.id, in1.id, after1.id],
        "the range, the last before it and the next after it in the lane"
    );
    let hot = facts
        .deployments
        .iter()
        .find(|d| d.id == after1.id)
        .unwrap();
    assert_eq!(hot.kind, DeploymentKind::Hotfix);
    // c[0] was first deployed before the window, c[2] after it: only c[1] counts.
    let firsts: Vec<(i64, rodeo_domain::Timestamp)> = facts
        .first_shipments
        .iter()
        .map(|f| (f.deployment_id, f.committed_at))
        .collect();
    assert_eq!(firsts, vec![(in1.id, c[1].committed_at)]);
    assert_eq!(&*facts.first_shipments[0].author, "Ada Lovelace");
    assert_eq!(facts.first_shipments[0].deployed_at, at(-100));
    assert!(facts.shipments.is_empty());
    let mut incident_ids: Vec<i64> = facts.incidents.iter().map(|i| i.id).collect();
    incident_ids.sort_unstable();
    assert_eq!(
        incident_ids,
        vec![inc.id, earlier.id],
        "started in range, or caused by a deployment read"
    );
    let caused = facts.incidents.iter().find(|i| i.id == inc.id).unwrap();
    assert_eq!(caused.causes, vec![in1.id]);

    // Every service: web's deployment and incident too.
    let all = db
        .metric_facts(&FactsQuery {
            services: None,
            from: at(-200),
            to: at(0),
        })
        .await
        .unwrap();
    assert_eq!(all.deployments.len(), 4);
    assert_eq!(all.incidents.len(), 3);
}

fn merged_pull_request(number: i64, head: &Sha, merge: &Sha, opened: i64, merged: i64) -> Command {
    Command::UpsertPullRequest(PullRequest {
        repository: "acme/api".into(),
        number,
        title: format!("change #{number}"),
        author: "grace".into(),
        state: PullRequestState::Merged,
        created_at: at(opened),
        merged_at: Some(at(merged)),
        merge_commit_sha: Some(merge.clone()),
        head_sha: Some(head.clone()),
        url: None,
    })
}

/// A merged pull request's milestones ride on the first shipment of its merge commit,
/// whichever arrives first (the pull request, the deployment, or the merge commit after
/// the pull request), with its first commit found over the graph: the earliest authored
/// commit reachable from its head and not from the merge commit's first parent.
pub async fn pull_request_stages_ride_on_the_merge_commit(db: Db) {
    let main = chain("pm", 2, None, at(-1000));
    let (m1, m2) = (main[0].sha.clone(), main[1].sha.clone());
    // Branch b1 <- b2 forks at m1 and is merged by a merge commit on top of m2.
    let branch = chain("pb", 2, Some(&m1), at(-902));
    let b2 = branch[1].sha.clone();
    let merge = commit(&sha("pm", 10), &[&m2, &b2], at(-800));
    let mut all = main.clone();
    all.extend(branch.clone());
    all.push(merge.clone());
    record_commits(&db, all).await;

    // 1. The pull request first, then the deployment that ships its merge commit.
    one(&db, merged_pull_request(1, &b2, &merge.sha, -880, -800)).await;
    let d1 = record(&db, deploy("api", "production", "1", &merge.sha, at(-700))).await;

    // 2. The deployment first (a squash commit on top of the merge), then the pull
    //    request: branch c1 <- c2 forks at the merge commit.
    let squash = commit(&sha("pm", 11), &[&merge.sha], at(-600));
    let c = chain("pc", 2, Some(&merge.sha), at(-661));
    let mut more = c.clone();
    more.push(squash.clone());
    record_commits(&db, more).await;
    let d2 = record(&db, deploy("api", "production", "2", &squash.sha, at(-500))).await;
    one(
        &db,
        merged_pull_request(2, &c[1].sha, &squash.sha, -640, -600),
    )
    .await;

    // 3. The pull request before rodeo knows its merge commit: branch d1 <- d2 is
    //    pushed as a new branch (d1 itself unknown: the push gives no parent for it),
    //    the pull request merged, then the squash commit and its deployment. The
    //    earliest commit rodeo knows, d2, stands in for the first.
    let d = chain("pd", 2, Some(&squash.sha), at(-460));
    record_commits(&db, vec![d[1].clone()]).await;
    let late = commit(&sha("pm", 12), &[&squash.sha], at(-400));
    one(
        &db,
        merged_pull_request(3, &d[1].sha, &late.sha, -450, -400),
    )
    .await;
    record_commits(&db, vec![late.clone()]).await;
    let d3 = record(&db, deploy("api", "production", "3", &late.sha, at(-300))).await;
    // A staging deployment of a later pull request records nothing.
    record(&db, deploy("api", "staging", "4", &late.sha, at(-200))).await;

    let f = db
        .metric_facts(&FactsQuery {
            services: None,
            from: at(-1000),
            to: at(0),
        })
        .await
        .unwrap();
    let mut prs: Vec<_> = f
        .pull_requests
        .iter()
        .map(|p| {
            (
                p.service.to_string(),
                p.deployed_at,
                p.times.first_commit_at,
                p.times.opened_at,
                p.times.merged_at,
                p.times.author.to_string(),
            )
        })
        .collect();
    prs.sort();
    let (api, grace) = (|| "api".to_owned(), || "grace".to_owned());
    assert_eq!(
        prs,
        vec![
            // b1 was authored 5 minutes before its commit time (-901).
            (api(), at(-700), Some(at(-906)), at(-880), at(-800), grace()),
            (api(), at(-500), Some(at(-665)), at(-640), at(-600), grace()),
            (api(), at(-300), Some(at(-463)), at(-450), at(-400), grace()),
        ]
    );
    // Each pull request at the deployment that first shipped its merge commit.
    let firsts: Vec<(i64, rodeo_domain::Timestamp)> = f
        .first_shipments
        .iter()
        .map(|s| (s.deployment_id, s.deployed_at))
        .collect();
    for (d, when) in [(&d1, at(-700)), (&d2, at(-500)), (&d3, at(-300))] {
        assert!(firsts.contains(&(d.id, when)), "{firsts:?}");
    }
    // Each deployment shipped more than the merge commit; only that one carries it.
    assert!(f.first_shipments.len() > 3, "{:?}", f.first_shipments);
}
