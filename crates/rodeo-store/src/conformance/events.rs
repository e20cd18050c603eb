//! The ledger: what every write appends, the filters and pages used to read it, and the
//! live stream.

use std::time::Duration as StdDuration;

use rodeo_domain::{Command, Cursor, DeploymentStatus, Event, EventFilter, Source};
use tokio::sync::broadcast;

use super::fixtures::*;

/// Every write appends events stamped with the writer, the source, when it happened
/// and when it was recorded.
pub async fn writes_append_stamped_events(db: Db) {
    let mut wctx = ctx_at(at(5));
    wctx.actor = "alice".into();
    wctx.source = Source::Cli;
    let cmds = vec![
        Command::CreateTeam {
            name: team("core"),
            display_name: None,
        },
        Command::CreateService {
            name: svc("api"),
            team: Some(team("core")),
            repository: None,
        },
        Command::CreateEnvironment {
            name: env("production"),
            production: true,
            order: 1,
        },
        Command::RecordDeployment(deploy("api", "production", "1", &sha("ev", 1), at(-30))),
    ];
    let d = deployment_of(apply(&db, wctx, cmds).await.remove(3));
    let mut events = all_events(&db).await;
    events.reverse();
    assert_eq!(
        kinds(&events),
        [
            "team.created",
            "service.created",
            "environment.created",
            "deployment.finished"
        ]
    );
    assert!(
        events.windows(2).all(|w| w[0].id < w[1].id),
        "ids increase in write order"
    );
    for e in &events {
        assert_eq!(
            (e.actor.as_str(), e.source, e.recorded_at),
            ("alice", Source::Cli, at(5)),
            "{e:?}"
        );
    }
    assert_eq!(
        events[0].at,
        at(5),
        "without its own time an event happened at the write"
    );
    assert_eq!(
        events[3].at,
        at(-30),
        "a deployment happened when it finished"
    );
    assert_eq!(events[0].subject.as_deref(), Some("team:core"));
    assert_eq!(
        (events[1].service.as_ref(), events[1].environment.as_ref()),
        (Some(&svc("api")), None)
    );
    assert_eq!(
        (events[2].service.as_ref(), events[2].environment.as_ref()),
        (None, Some(&env("production")))
    );
    assert_eq!(events[3].service.as_ref(), Some(&svc("api")));
    assert_eq!(events[3].environment.as_ref(), Some(&env("production")));
    assert_eq!(events[3].payload["id"], d.id.to_string());
    assert_eq!(events[1].payload["team"], "core");
}

async fn setup_ledger(db: &Db) {
    record(db, deploy("api", "production", "1", &sha("f", 1), at(-30))).await;
    record(db, deploy("web", "staging", "1", &sha("f", 2), at(-20))).await;
    record(db, deploy("api", "staging", "1", &sha("f", 1), at(-10))).await;
    let mut start = deploy("api", "production", "2", &sha("f", 3), at(-4));
    start.status = DeploymentStatus::InProgress;
    start.started_at = at(-5);
    start.finished_at = None;
    record(db, start).await;
    one(
        db,
        Command::CreateTeam {
            name: team("core"),
            display_name: None,
        },
    )
    .await;
}

async fn list(db: &Db, f: EventFilter) -> Vec<(String, Option<String>, Option<String>)> {
    let f = EventFilter { limit: 100, ..f };
    let page = db.list_events(&f).await.unwrap();
    assert!(
        page.items.iter().all(|e| f.matches(e)),
        "the store applies the same rule as EventFilter::matches"
    );
    page.items
        .into_iter()
        .map(|e| {
            (
                e.kind,
                e.service.map(|s| s.to_string()),
                e.environment.map(|e| e.to_string()),
            )
        })
        .collect()
}

fn ev(
    kind: &str,
    service: Option<&str>,
    environment: Option<&str>,
) -> (String, Option<String>, Option<String>) {
    (
        kind.into(),
        service.map(Into::into),
        environment.map(Into::into),
    )
}

/// Filters by service, environment, exact kind, kind prefix and time window.
pub async fn event_filters(db: Db) {
    setup_ledger(&db).await;
    let by_service = list(
        &db,
        EventFilter {
            service: Some(svc("api")),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        by_service,
        [
            ev("deployment.started", Some("api"), Some("production")),
            ev("deployment.finished", Some("api"), Some("staging")),
            ev("deployment.finished", Some("api"), Some("production")),
            ev("service.created", Some("api"), None),
        ]
    );
    let by_env = list(
        &db,
        EventFilter {
            environment: Some(env("staging")),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        by_env,
        [
            ev("deployment.finished", Some("api"), Some("staging")),
            ev("deployment.finished", Some("web"), Some("staging")),
            ev("environment.created", None, Some("staging")),
        ]
    );
    let exact = list(
        &db,
        EventFilter {
            kind: Some("deployment.finished".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(exact.len(), 3);
    let prefix = list(
        &db,
        EventFilter {
            kind: Some("deployment.".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(prefix.len(), 4);
    let created = list(
        &db,
        EventFilter {
            kind: Some("service.".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        created,
        [
            ev("service.created", Some("web"), None),
            ev("service.created", Some("api"), None)
        ]
    );
    for no_match in [
        "service",
        "deployment",
        "%.",
        "_eployment.",
        "deployment.%",
        "deployment.finishe_",
    ] {
        let got = list(
            &db,
            EventFilter {
                kind: Some(no_match.into()),
                ..Default::default()
            },
        )
        .await;
        assert!(got.is_empty(), "kind {no_match:?} matched {got:?}");
    }
    let window = EventFilter {
        since: Some(at(-20)),
        until: Some(at(-5)),
        ..Default::default()
    };
    assert_eq!(
        list(&db, window).await,
        [
            ev("deployment.finished", Some("api"), Some("staging")),
            ev("deployment.finished", Some("web"), Some("staging")),
        ]
    );
    let all = EventFilter {
        service: Some(svc("api")),
        environment: Some(env("production")),
        kind: Some("deployment.".into()),
        since: Some(at(-30)),
        until: Some(at(60)),
        ..Default::default()
    };
    assert_eq!(
        list(&db, all).await,
        [
            ev("deployment.started", Some("api"), Some("production")),
            ev("deployment.finished", Some("api"), Some("production")),
        ]
    );
}

async fn pages(db: &Db, base: EventFilter) -> Vec<Vec<Event>> {
    let mut out = Vec::new();
    let mut f = base;
    loop {
        let page = db.list_events(&f).await.unwrap();
        let next = page.next_cursor.clone();
        out.push(page.items);
        match next {
            Some(c) => f.before_id = Some(Cursor::decode(&c).unwrap().before_id),
            None => return out,
        }
        assert!(out.len() < 100, "pagination must end");
    }
}

/// Keyset pages cover every event exactly once, newest first, and the last page says
/// there is no next one.
pub async fn event_pagination(db: Db) {
    for i in 0..25 {
        one(
            &db,
            Command::CreateTeam {
                name: team(&format!("t{i:02}")),
                display_name: None,
            },
        )
        .await;
    }
    let all = all_events(&db).await;
    assert_eq!(all.len(), 25);
    let got = pages(
        &db,
        EventFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    let flat: Vec<i64> = got.into_iter().flatten().map(|e| e.id).collect();
    assert_eq!(flat, all.iter().map(|e| e.id).collect::<Vec<_>>());
    assert!(flat.windows(2).all(|w| w[0] > w[1]));

    let exact = pages(
        &db,
        EventFilter {
            limit: 25,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(exact.len(), 1, "a full last page has no next cursor");
    let one_short = pages(
        &db,
        EventFilter {
            limit: 24,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(one_short.iter().map(Vec::len).collect::<Vec<_>>(), [24, 1]);

    let filtered = pages(
        &db,
        EventFilter {
            kind: Some("team.created".into()),
            limit: 7,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(filtered.iter().map(Vec::len).sum::<usize>(), 25);
}

async fn next_event(rx: &mut broadcast::Receiver<Event>) -> Event {
    tokio::time::timeout(StdDuration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("no lag")
}

/// Subscribers get each committed event, in order, and nothing from a failed call.
pub async fn subscribers_see_committed_events_only(db: Db) {
    let mut rx = db.subscribe();
    one(
        &db,
        Command::CreateTeam {
            name: team("core"),
            display_name: None,
        },
    )
    .await;
    let e = next_event(&mut rx).await;
    assert_eq!(Some(&e), all_events(&db).await.first());

    let failed = vec![
        Command::CreateTeam {
            name: team("other"),
            display_name: None,
        },
        Command::CreateTeam {
            name: team("core"),
            display_name: None,
        },
    ];
    fails(&db, ctx(), failed).await;
    record(&db, deploy("api", "production", "1", &sha("sub", 1), at(0))).await;
    let got: Vec<Event> = vec![
        next_event(&mut rx).await,
        next_event(&mut rx).await,
        next_event(&mut rx).await,
    ];
    assert_eq!(
        kinds(&got),
        [
            "service.created",
            "environment.created",
            "deployment.finished"
        ]
    );
    let mut stored = all_events(&db).await;
    stored.truncate(3);
    stored.reverse();
    assert_eq!(got, stored, "published events are the stored ones");
    assert!(rx.try_recv().is_err(), "nothing else was published");
}
