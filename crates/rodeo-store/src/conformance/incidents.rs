//! Incidents: their life, alert attachment by key and by service, causes, the list
//! filters, "what changed" reads, and the facts the delivery metrics read.

use std::collections::BTreeMap;

use rodeo_domain::{
    Command, DeploymentKind, DeploymentStatus, EventFilter, Incident, IncidentChange, IncidentEdit,
    IncidentKind, IncidentRef, IncidentStatus, NewIncident, Outcome, Severity,
};

use super::fixtures::*;
use crate::{FactsQuery, FinishedFilter, IncidentFilter, StoreError};

fn new_incident(title: &str, services: &[&str]) -> NewIncident {
    NewIncident {
        title: title.into(),
        severity: Severity::parse("severity", "sev2").unwrap(),
        kind: IncidentKind::Real,
        services: services.iter().map(|s| svc(s)).collect(),
        environments: vec![env("production")],
        started_at: Some(at(-30)),
        detected_at: Some(at(-20)),
        roles: BTreeMap::from([("commander".into(), "ana".into())]),
        summary: Some("errors <b>&</b> 'quotes'".into()),
        key: None,
        firing: false,
    }
}

fn incident_of(o: Outcome) -> Incident {
    match o {
        Outcome::Incident(i) => *i,
        other => panic!("expected an incident outcome, got {other:?}"),
    }
}

async fn change(db: &Db, id: i64, change: IncidentChange) -> Incident {
    incident_of(
        one(
            db,
            Command::UpdateIncident {
                incident: IncidentRef::Id(id),
                change,
            },
        )
        .await,
    )
}

fn status(s: IncidentStatus, minutes: i64) -> IncidentChange {
    IncidentChange::Status {
        status: s,
        at: Some(at(minutes)),
        note: None,
    }
}

pub async fn incident_lifecycle(db: Db) {
    let opened = incident_of(
        one(
            &db,
            Command::OpenIncident(new_incident("checkout down", &["api"])),
        )
        .await,
    );
    assert!(opened.id > 0);
    assert_eq!(opened.status, IncidentStatus::Open);
    assert_eq!((opened.started_at, opened.detected_at), (at(-30), at(-20)));
    // Auto-registration created the service and environment.
    assert!(db.get_service(&svc("api")).await.unwrap().is_some());

    change(&db, opened.id, status(IncidentStatus::Acknowledged, -15)).await;
    change(
        &db,
        opened.id,
        IncidentChange::Note {
            text: "rolled back the canary".into(),
            at: None,
        },
    )
    .await;
    change(&db, opened.id, status(IncidentStatus::Mitigated, -5)).await;
    let resolved = change(&db, opened.id, status(IncidentStatus::Resolved, 0)).await;
    assert_eq!(resolved.acknowledged_at, Some(at(-15)));
    assert_eq!(resolved.mitigated_at, Some(at(-5)));
    assert_eq!(resolved.resolved_at, Some(at(0)));

    // What was stored is what was returned, markup and all.
    let stored = db.get_incident(opened.id).await.unwrap().unwrap();
    assert_eq!(stored, resolved);
    assert_eq!(stored.timeline[0].text, "errors <b>&</b> 'quotes'");
    assert!(db.get_incident(opened.id + 100).await.unwrap().is_none());

    // An impossible step is refused and leaves everything as it was.
    let e = fails(
        &db,
        ctx(),
        vec![Command::UpdateIncident {
            incident: IncidentRef::Id(opened.id),
            change: status(IncidentStatus::Closed, -60),
        }],
    )
    .await;
    assert_invalid(&e, "closed_at");
    assert_eq!(db.get_incident(opened.id).await.unwrap().unwrap(), resolved);
    let e = fails(
        &db,
        ctx(),
        vec![Command::UpdateIncident {
            incident: IncidentRef::Id(opened.id + 100),
            change: status(IncidentStatus::Closed, 1),
        }],
    )
    .await;
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");

    // Every change is a ledger event about the incident, filed under its service.
    let events = db
        .list_events(&EventFilter {
            kind: Some("incident.".into()),
            limit: 100,
            ..EventFilter::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(
        kinds(&events),
        [
            "incident.resolved",
            "incident.mitigated",
            "incident.noted",
            "incident.acknowledged",
            "incident.opened"
        ]
    );
    let subject = format!("incident:{}", opened.id);
    assert!(events
        .iter()
        .all(|e| e.subject.as_deref() == Some(subject.as_str()) && e.service == Some(svc("api"))));
    assert_eq!(events[4].at, at(-20), "opened at detection");
    assert_eq!(events[0].payload["from"], "mitigated");
}

pub async fn incident_causes_and_edits(db: Db) {
    let d = record(
        &db,
        deploy("api", "production", "1.0", &sha("c", 1), at(-40)),
    )
    .await;
    let i = incident_of(one(&db, Command::OpenIncident(new_incident("slow", &["api"]))).await);
    let e = fails(
        &db,
        ctx(),
        vec![Command::UpdateIncident {
            incident: IncidentRef::Id(i.id),
            change: IncidentChange::SetCauses {
                deployments: vec![d.id, d.id + 1000],
                automatic: false,
            },
        }],
    )
    .await;
    assert_invalid(&e, "deployments[1]");
    let linked = change(
        &db,
        i.id,
        IncidentChange::SetCauses {
            deployments: vec![d.id],
            automatic: false,
        },
    )
    .await;
    assert_eq!(linked.causes, vec![d.id]);

    let edited = change(
        &db,
        i.id,
        IncidentChange::Edit(IncidentEdit {
            severity: Some(Severity::WORST),
            services: Some(vec![svc("api"), svc("billing")]),
            contributing_factors: Some(vec!["no canary".into(), "alert too late".into()]),
            postmortem: Some("# What happened\n".into()),
            ..IncidentEdit::default()
        }),
    )
    .await;
    assert_eq!(edited.severity, Severity::WORST);
    assert_eq!(edited.contributing_factors.len(), 2);
    // The list filter follows the edited services.
    let of_billing = db
        .list_incidents(&IncidentFilter {
            service: Some(svc("billing")),
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(of_billing.items.len(), 1);

    // An edit that changes nothing writes nothing.
    let before = all_events(&db).await.len();
    change(
        &db,
        i.id,
        IncidentChange::Edit(IncidentEdit {
            severity: Some(Severity::WORST),
            ..IncidentEdit::default()
        }),
    )
    .await;
    assert_eq!(all_events(&db).await.len(), before);
}

pub async fn alerts_attach_by_key_then_service(db: Db) {
    let raise = |key: &str, service: &str| {
        let mut n = new_incident("HighErrorRate", &[service]);
        n.key = Some(key.into());
        n.firing = true;
        Command::RaiseIncident(n)
    };
    let first = incident_of(one(&db, raise("am:g1", "api")).await);
    // The same group again, and another group of the same service: both attach.
    let again = incident_of(one(&db, raise("am:g1", "api")).await);
    let other_group = incident_of(one(&db, raise("am:g2", "api")).await);
    assert_eq!((again.id, other_group.id), (first.id, first.id));
    assert_eq!(
        other_group.firing,
        vec!["am:g1".to_owned(), "am:g2".to_owned()]
    );
    // Another service gets its own incident.
    let web = incident_of(one(&db, raise("am:g3", "web")).await);
    assert_ne!(web.id, first.id);

    // Resolving one group leaves it open; the last one mitigates.
    let resolve = |key: &str| Command::UpdateIncident {
        incident: IncidentRef::Key(key.into()),
        change: IncidentChange::AlertResolved {
            key: key.into(),
            text: "resolved".into(),
            at: Some(at(5)),
        },
    };
    let i = incident_of(one(&db, resolve("am:g1")).await);
    assert_eq!(i.status, IncidentStatus::Open);
    let i = incident_of(one(&db, resolve("am:g2")).await);
    assert_eq!(
        (i.status, i.mitigated_at),
        (IncidentStatus::Mitigated, Some(at(5)))
    );

    // Once resolved, the group opens a new incident when it fires again.
    change(&db, first.id, status(IncidentStatus::Resolved, 6)).await;
    let next = incident_of(one(&db, raise("am:g1", "api")).await);
    assert_ne!(next.id, first.id);
    // A key of a resolved incident still finds it (a repeated resolution).
    change(&db, next.id, status(IncidentStatus::Resolved, 7)).await;
    let e = fails(
        &db,
        ctx(),
        vec![Command::UpdateIncident {
            incident: IncidentRef::Key("am:unknown".into()),
            change: IncidentChange::Note {
                text: "x".into(),
                at: None,
            },
        }],
    )
    .await;
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let by_key = incident_of(
        one(
            &db,
            Command::UpdateIncident {
                incident: IncidentRef::Key("am:g1".into()),
                change: IncidentChange::Note {
                    text: "late note".into(),
                    at: None,
                },
            },
        )
        .await,
    );
    assert_eq!(by_key.id, next.id, "the newest incident with the key");
}

pub async fn incident_list_filters(db: Db) {
    let a = incident_of(one(&db, Command::OpenIncident(new_incident("a", &["api"]))).await);
    let mut drill = new_incident("b", &["web"]);
    drill.kind = IncidentKind::Drill;
    drill.started_at = Some(at(-300));
    drill.detected_at = Some(at(-300));
    let b = incident_of(one(&db, Command::OpenIncident(drill)).await);
    let c = incident_of(one(&db, Command::OpenIncident(new_incident("c", &["api"]))).await);
    change(&db, c.id, status(IncidentStatus::Resolved, 1)).await;

    let ids = |p: rodeo_domain::Page<Incident>| p.items.iter().map(|i| i.id).collect::<Vec<_>>();
    let all = db.list_incidents(&IncidentFilter::default()).await.unwrap();
    assert_eq!(ids(all), vec![c.id, b.id, a.id]);
    let unresolved = IncidentFilter {
        statuses: vec![
            IncidentStatus::Open,
            IncidentStatus::Acknowledged,
            IncidentStatus::Mitigated,
        ],
        ..IncidentFilter::default()
    };
    assert_eq!(
        ids(db.list_incidents(&unresolved).await.unwrap()),
        vec![b.id, a.id]
    );
    let drills = IncidentFilter {
        kind: Some(IncidentKind::Drill),
        ..IncidentFilter::default()
    };
    assert_eq!(ids(db.list_incidents(&drills).await.unwrap()), vec![b.id]);
    let recent = IncidentFilter {
        since: Some(at(-100)),
        until: Some(at(0)),
        ..IncidentFilter::default()
    };
    assert_eq!(
        ids(db.list_incidents(&recent).await.unwrap()),
        vec![c.id, a.id]
    );
    let paged = IncidentFilter {
        limit: 2,
        ..IncidentFilter::default()
    };
    let page = db.list_incidents(&paged).await.unwrap();
    let cursor = rodeo_domain::Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
    let rest = db
        .list_incidents(&IncidentFilter {
            before_id: Some(cursor.before_id),
            ..paged
        })
        .await
        .unwrap();
    assert_eq!((ids(page), ids(rest)), (vec![c.id, b.id], vec![a.id]));
}

pub async fn deployments_finished_in_a_range(db: Db) {
    let mut failed = deploy("api", "staging", "0.9", &sha("f", 1), at(-50));
    failed.status = DeploymentStatus::Failed;
    let f = record(&db, failed).await;
    let a = record(
        &db,
        deploy("api", "production", "1.0", &sha("f", 2), at(-40)),
    )
    .await;
    let w = record(
        &db,
        deploy("web", "production", "2.0", &sha("f", 3), at(-30)),
    )
    .await;
    record(
        &db,
        deploy("api", "production", "1.1", &sha("f", 4), at(10)),
    )
    .await;
    record(
        &db,
        deploy("other", "production", "1.1", &sha("f", 5), at(-35)),
    )
    .await;
    let found = db
        .deployments_finished(&FinishedFilter {
            services: vec![svc("api"), svc("web")],
            from: at(-60),
            to: at(0),
            limit: 10,
        })
        .await
        .unwrap();
    let ids: Vec<i64> = found.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        vec![w.id, a.id, f.id],
        "newest first, any status and environment"
    );
    let one_only = db
        .deployments_finished(&FinishedFilter {
            services: vec![svc("api"), svc("web")],
            from: at(-60),
            to: at(0),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(one_only.len(), 1);
}

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
