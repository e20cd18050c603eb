//! Incident steps: what each change does, and what it refuses.
use super::*;
use crate::parse_timestamp;

fn t(s: &str) -> Timestamp {
    parse_timestamp("t", s).unwrap()
}

fn opened() -> Incident {
    let n = NewIncident {
        title: "checkout errors".into(),
        severity: Severity::parse("severity", "sev2").unwrap(),
        kind: IncidentKind::Real,
        services: vec![ServiceName::parse("api").unwrap()],
        environments: vec![],
        started_at: Some(t("2026-01-01T10:00:00Z")),
        detected_at: Some(t("2026-01-01T10:05:00Z")),
        roles: BTreeMap::from([("commander".into(), "ana".into())]),
        summary: Some("500s on /checkout".into()),
        key: Some("alertmanager:g1".into()),
        firing: true,
    };
    let (mut i, e) = Incident::open(n, "ana", Source::Api, t("2026-01-01T10:06:00Z")).unwrap();
    assert_eq!(e.kind, "incident.opened");
    i.id = 7;
    i
}

fn status(s: IncidentStatus, at: &str) -> IncidentChange {
    IncidentChange::Status {
        status: s,
        at: Some(t(at)),
        note: None,
    }
}

#[test]
fn severities_parse_and_print() {
    assert_eq!(Severity::parse("s", "sev3").unwrap().as_str(), "sev3");
    assert_eq!(Severity::parse("s", "SEV1").unwrap().level(), 1);
    for bad in ["sev0", "sev6", "p1", ""] {
        assert_eq!(Severity::parse("s", bad).unwrap_err().field, "s");
    }
}

#[test]
fn a_life_from_open_to_closed_stamps_each_step() {
    let mut i = opened();
    let at = t("2026-01-01T12:00:00Z");
    for (s, when, kind) in [
        (
            IncidentStatus::Acknowledged,
            "2026-01-01T10:07:00Z",
            "incident.acknowledged",
        ),
        (
            IncidentStatus::Mitigated,
            "2026-01-01T10:30:00Z",
            "incident.mitigated",
        ),
        (
            IncidentStatus::Resolved,
            "2026-01-01T11:00:00Z",
            "incident.resolved",
        ),
        (
            IncidentStatus::Closed,
            "2026-01-02T09:00:00Z",
            "incident.closed",
        ),
    ] {
        let e = i.apply(status(s, when), "bo", at).unwrap().unwrap();
        assert_eq!(e.kind, kind);
        assert_eq!(i.status, s);
    }
    assert_eq!(i.acknowledged_at, Some(t("2026-01-01T10:07:00Z")));
    assert_eq!(i.mitigated_at, Some(t("2026-01-01T10:30:00Z")));
    assert_eq!(i.resolved_at, Some(t("2026-01-01T11:00:00Z")));
    assert_eq!(i.closed_at, Some(t("2026-01-02T09:00:00Z")));
    assert_eq!(i.timeline.len(), 5);
    assert_eq!(i.timeline[4].text, "resolved → closed");
}

#[test]
fn resolving_directly_leaves_mitigation_unset_and_reopening_clears_later_stamps() {
    let mut i = opened();
    let at = t("2026-01-01T12:00:00Z");
    i.apply(
        status(IncidentStatus::Resolved, "2026-01-01T11:00:00Z"),
        "bo",
        at,
    )
    .unwrap();
    assert_eq!(i.mitigated_at, None);
    let e = i
        .apply(
            status(IncidentStatus::Open, "2026-01-01T11:30:00Z"),
            "bo",
            at,
        )
        .unwrap()
        .unwrap();
    assert_eq!(e.kind, "incident.reopened");
    assert_eq!((i.status, i.resolved_at), (IncidentStatus::Open, None));
}

#[test]
fn impossible_times_are_refused_and_change_nothing() {
    let mut i = opened();
    let before = i.clone();
    let at = t("2026-01-01T12:00:00Z");
    let e = i
        .apply(
            status(IncidentStatus::Mitigated, "2026-01-01T09:00:00Z"),
            "bo",
            at,
        )
        .unwrap_err();
    assert_eq!(e.field, "mitigated_at");
    let e = i
        .apply(
            IncidentChange::Edit(IncidentEdit {
                started_at: Some(t("2026-01-01T10:06:00Z")),
                ..IncidentEdit::default()
            }),
            "bo",
            at,
        )
        .unwrap_err();
    assert_eq!(e.field, "started_at");
    let e = i.apply(
        status(IncidentStatus::Open, "2026-01-01T11:00:00Z"),
        "bo",
        at,
    );
    assert_eq!(e.unwrap_err().field, "status");
    assert_eq!(i, before);
}

#[test]
fn edits_record_before_and_after_of_changed_fields_only() {
    let mut i = opened();
    let at = t("2026-01-01T12:00:00Z");
    let e = i
        .apply(
            IncidentChange::Edit(IncidentEdit {
                severity: Some(Severity::WORST),
                title: Some("checkout errors".into()),
                roles: Some(BTreeMap::from([
                    ("commander".into(), String::new()),
                    ("comms".into(), "cy".into()),
                ])),
                ..IncidentEdit::default()
            }),
            "bo",
            at,
        )
        .unwrap()
        .unwrap();
    assert_eq!(e.payload["before"]["severity"], "sev2");
    assert_eq!(e.payload["after"]["severity"], "sev1");
    assert!(e.payload["after"].get("title").is_none());
    assert_eq!(i.roles, BTreeMap::from([("comms".into(), "cy".into())]));
    let same = i.apply(IncidentChange::Edit(IncidentEdit::default()), "bo", at);
    assert_eq!(same.unwrap(), None);
}

#[test]
fn the_last_resolved_alert_group_mitigates() {
    let mut i = opened();
    let at = t("2026-01-01T12:00:00Z");
    i.apply(
        IncidentChange::AlertFiring {
            key: "alertmanager:g2".into(),
            text: "latency".into(),
            firing: true,
        },
        "am",
        at,
    )
    .unwrap();
    let resolved = |k: &str| IncidentChange::AlertResolved {
        key: k.into(),
        text: "resolved".into(),
        at: Some(t("2026-01-01T11:00:00Z")),
    };
    let e = i
        .apply(resolved("alertmanager:g1"), "am", at)
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.kind, i.status),
        ("incident.alert_resolved", IncidentStatus::Open)
    );
    assert_eq!(
        i.apply(resolved("alertmanager:g1"), "am", at).unwrap(),
        None
    );
    let e = i
        .apply(resolved("alertmanager:g2"), "am", at)
        .unwrap()
        .unwrap();
    assert_eq!(e.kind, "incident.mitigated");
    assert_eq!(i.mitigated_at, Some(t("2026-01-01T11:00:00Z")));
    assert_eq!(i.keys.len(), 2);
}

#[test]
fn causes_and_action_items() {
    let mut i = opened();
    let at = t("2026-01-01T12:00:00Z");
    let set = |d: Vec<i64>, automatic| IncidentChange::SetCauses {
        deployments: d,
        automatic,
    };
    let e = i
        .apply(set(vec![4, 9, 4], false), "bo", at)
        .unwrap()
        .unwrap();
    assert_eq!(i.causes, vec![4, 9]);
    assert_eq!(i.attribution, Attribution::Confirmed);
    assert_eq!(e.payload["deployments"], serde_json::json!(["4", "9"]));
    assert_eq!(i.apply(set(vec![4, 9], false), "bo", at).unwrap(), None);
    i.apply(set(vec![], false), "bo", at).unwrap();
    assert!(i.causes.is_empty());
    assert_eq!(i.attribution, Attribution::Confirmed);

    i.apply(
        IncidentChange::AddActionItem {
            text: "add a canary".into(),
            owner: Some("bo".into()),
        },
        "bo",
        at,
    )
    .unwrap();
    let done = IncidentChange::UpdateActionItem {
        id: 1,
        text: None,
        owner: None,
        done: Some(true),
    };
    assert!(i.apply(done.clone(), "bo", at).unwrap().is_some());
    assert!(i.action_items[0].done);
    assert_eq!(i.apply(done, "bo", at).unwrap(), None);
    let missing = IncidentChange::UpdateActionItem {
        id: 5,
        text: None,
        owner: None,
        done: Some(true),
    };
    assert_eq!(i.apply(missing, "bo", at).unwrap_err().field, "id");
}

#[test]
fn advancing_never_goes_back_and_repeats_are_quiet() {
    let mut i = opened();
    let at = t("2026-01-01T12:00:00Z");
    let adv = |s| IncidentChange::Advance {
        status: s,
        at: Some(t("2026-01-01T10:10:00Z")),
    };
    assert!(i
        .apply(adv(IncidentStatus::Acknowledged), "pd", at)
        .unwrap()
        .is_some());
    assert_eq!(
        i.apply(adv(IncidentStatus::Acknowledged), "pd", at)
            .unwrap(),
        None
    );
    i.apply(adv(IncidentStatus::Resolved), "pd", at).unwrap();
    assert_eq!(
        i.apply(adv(IncidentStatus::Mitigated), "pd", at).unwrap(),
        None
    );
    assert_eq!(i.status, IncidentStatus::Resolved);
    // The same alert group firing again is not news.
    let firing = IncidentChange::AlertFiring {
        key: "alertmanager:g1".into(),
        text: "again".into(),
        firing: true,
    };
    assert_eq!(i.apply(firing, "am", at).unwrap(), None);
}

#[test]
fn serializes_ids_as_strings() {
    let mut i = opened();
    i.causes = vec![3];
    let v = serde_json::to_value(&i).unwrap();
    assert_eq!(v["id"], "7");
    assert_eq!(v["causes"], serde_json::json!(["3"]));
    let back: Incident = serde_json::from_value(v).unwrap();
    assert_eq!(back, i);
}
