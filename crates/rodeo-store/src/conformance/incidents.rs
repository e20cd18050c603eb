//! Incidents: their life, alert attachment by key and by service, causes, the list
//! filters, "what changed" reads, and the facts the delivery metrics read.

use std::collections::BTreeMap;

use rodeo_domain::{
    Command, DeploymentStatus, EventFilter, Incident, IncidentChange, IncidentEdit, IncidentKind,
    IncidentRef, IncidentStatus, NewIncident, Outcome, Severity,
};

use super::fixtures::*;
use crate::{FinishedFilter, IncidentFilter, StoreError};

pub(super) fn new_incident(title: &str, services: &[&str]) -> NewIncident {
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

pub(super) fn incident_of(o: Outcome) -> Incident {
    match o {
        Outcome::Incident(i) => *i,
        other => panic!("expected an incident outcome, got {other:?}"),
    }
}

pub(super) async fn change(db: &Db, id: i64, change: IncidentChange) -> Incident {
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
