//! Feature flags: an environment's flagd definition changed by apply, put, toggle,
//! rollout, kill and delete; every change of a flag is one ledger event with the flag
//! before and after; a refused change leaves everything as it was; SDK keys are tokens
//! of one environment; evaluation counts add up across flushes.

use rodeo_domain::{
    Command, EvaluationCount, FlagAction, FlagChange, FlagsWritten, Outcome, Scope, TokenName,
};
use serde_json::{json, Value};

use super::fixtures::*;

fn change(environment: &str, change: FlagChange) -> Command {
    Command::ChangeFlags {
        environment: env(environment),
        change,
    }
}

fn written(o: Outcome) -> FlagsWritten {
    match o {
        Outcome::Flags(w) => w,
        other => panic!("expected flags, got {other:?}"),
    }
}

fn checkout() -> Value {
    json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
           "targeting": {"if": [{"ends_with": [{"var": "email"}, "@acme.com"]}, "on"]},
           "metadata": {"owner": "payments", "type": "release"}})
}

fn document() -> Value {
    json!({
        "flags": {
            "new-checkout": checkout(),
            "banner-text": {"state": "DISABLED", "variants": {"a": "Hello", "b": "Welcome ‹back›"}, "defaultVariant": "a"}
        },
        "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@acme.com"]}},
        "metadata": {"team": "web"}
    })
}

/// Apply: flags created with one event each, the document read back exactly, the
/// same apply again a no-op (no events, same version), flags missing from a new apply
/// deleted; environments are independent.
pub async fn apply_is_atomic_idempotent_and_recorded(db: Db) {
    let first = written(
        one(
            &db,
            change(
                "production",
                FlagChange::Apply {
                    document: document(),
                },
            ),
        )
        .await,
    );
    assert_eq!(first.version, 1);
    assert!(first.set_changed);
    let created: Vec<(&str, FlagAction)> = first
        .changes
        .iter()
        .map(|c| (c.key.as_str(), c.action))
        .collect();
    assert_eq!(
        created,
        [
            ("banner-text", FlagAction::Created),
            ("new-checkout", FlagAction::Created)
        ]
    );

    let stored = db
        .flag_set(&env("production"))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.document, document());
    assert_eq!(stored.version, 1);
    let keys: Vec<&str> = stored.flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["banner-text", "new-checkout"]);
    assert!(db.flag_set(&env("staging")).await.unwrap().is_none());

    let events = all_events(&db).await;
    let flag_events: Vec<&rodeo_domain::Event> = events
        .iter()
        .filter(|e| e.kind.starts_with("flag"))
        .collect();
    let mut flag_kinds: Vec<&str> = flag_events.iter().map(|e| e.kind.as_str()).collect();
    flag_kinds.sort_unstable();
    assert_eq!(
        flag_kinds,
        ["flag.created", "flag.created", "flags.set_updated"]
    );
    let created_event = flag_events
        .iter()
        .find(|e| e.subject.as_deref() == Some("flag:production/new-checkout"))
        .expect("event");
    assert_eq!(created_event.kind, "flag.created");
    assert_eq!(created_event.environment, Some(env("production")));
    assert_eq!(created_event.payload["after"], checkout());
    assert_eq!(created_event.payload["before"], Value::Null);
    assert_eq!(created_event.payload["change"], "apply");

    let before = all_events(&db).await.len();
    let again = written(
        one(
            &db,
            change(
                "production",
                FlagChange::Apply {
                    document: document(),
                },
            ),
        )
        .await,
    );
    assert_eq!(
        (again.version, again.changes.len(), again.set_changed),
        (1, 0, false)
    );
    assert_eq!(
        all_events(&db).await.len(),
        before,
        "a no-op apply records nothing"
    );

    let smaller = json!({"flags": {"new-checkout": checkout()}});
    let third = written(
        one(
            &db,
            change(
                "production",
                FlagChange::Apply {
                    document: smaller.clone(),
                },
            ),
        )
        .await,
    );
    assert_eq!(third.version, 2);
    let actions: Vec<(&str, FlagAction)> = third
        .changes
        .iter()
        .map(|c| (c.key.as_str(), c.action))
        .collect();
    assert_eq!(actions, [("banner-text", FlagAction::Deleted)]);
    assert_eq!(
        db.flag_set(&env("production"))
            .await
            .unwrap()
            .unwrap()
            .document,
        smaller
    );

    one(
        &db,
        change(
            "staging",
            FlagChange::Apply {
                document: document(),
            },
        ),
    )
    .await;
    let sets = db.flag_sets().await.unwrap();
    let envs: Vec<String> = sets.iter().map(|s| s.environment.to_string()).collect();
    assert_eq!(envs, ["production", "staging"]);
}

/// An invalid apply (or a change that would make the set invalid) is refused with the
/// JSON Pointer of each problem; the stored definition, version and ledger are untouched,
/// also when other commands of the same call were valid.
pub async fn a_rejected_change_changes_nothing(db: Db) {
    one(
        &db,
        change(
            "production",
            FlagChange::Apply {
                document: document(),
            },
        ),
    )
    .await;
    let events = all_events(&db).await.len();

    let mut bad = document();
    bad["flags"]["new-checkout"]["defaultVariant"] = json!("maybe");
    let e = fails(
        &db,
        ctx(),
        vec![change("production", FlagChange::Apply { document: bad })],
    )
    .await;
    assert_invalid(&e, "/flags/new-checkout/defaultVariant");

    let mut cyclic = document();
    cyclic["$evaluators"] = json!({"a": {"$ref": "b"}, "b": {"$ref": "a"}});
    cyclic["flags"]["new-checkout"]["targeting"] = json!({"if": [{"$ref": "a"}, "on", "off"]});
    let e = fails(
        &db,
        ctx(),
        vec![change("production", FlagChange::Apply { document: cyclic })],
    )
    .await;
    assert!(matches!(e, crate::StoreError::Invalid(_)), "{e:?}");

    let put = FlagChange::Put {
        key: "ok-flag".into(),
        definition: checkout(),
    };
    let broken = FlagChange::Put {
        key: "broken".into(),
        definition: json!({"state": "ENABLED", "variants": {}}),
    };
    let e = fails(
        &db,
        ctx(),
        vec![change("production", put), change("production", broken)],
    )
    .await;
    assert_invalid(&e, "/flags/broken/variants");

    let stored = db.flag_set(&env("production")).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.document), (1, document()));
    assert_eq!(all_events(&db).await.len(), events);
}

/// Put, toggle, rollout, kill and delete: each records the flag before and after and
/// bumps the version; creation and change times are kept per flag; unknown flags are
/// not found.
pub async fn single_flag_changes_carry_before_and_after(db: Db) {
    apply(
        &db,
        ctx_at(at(0)),
        vec![change(
            "production",
            FlagChange::Put {
                key: "new-checkout".into(),
                definition: checkout(),
            },
        )],
    )
    .await;
    let toggled = apply(
        &db,
        ctx_at(at(5)),
        vec![change(
            "production",
            FlagChange::Toggle {
                key: "new-checkout".into(),
                enabled: false,
            },
        )],
    )
    .await;
    let toggled = written(toggled.into_iter().next().unwrap());
    assert_eq!(toggled.version, 2);
    assert_eq!(
        toggled.changes[0].before.as_ref().unwrap()["state"],
        "ENABLED"
    );
    assert_eq!(
        toggled.changes[0].after.as_ref().unwrap()["state"],
        "DISABLED"
    );

    let rolled = written(
        one(
            &db,
            change(
                "production",
                FlagChange::Rollout {
                    key: "new-checkout".into(),
                    percent: 30,
                    variant: None,
                    otherwise: None,
                },
            ),
        )
        .await,
    );
    assert_eq!(
        rolled.changes[0].after.as_ref().unwrap()["targeting"]["if"][2],
        json!({"fractional": [["on", 30], ["off", 70]]})
    );

    let killed = written(
        one(
            &db,
            change(
                "production",
                FlagChange::Kill {
                    key: "new-checkout".into(),
                    variant: None,
                },
            ),
        )
        .await,
    );
    let after = killed.changes[0].after.clone().unwrap();
    assert_eq!(
        (
            after["state"].as_str(),
            after["defaultVariant"].as_str(),
            after.get("targeting")
        ),
        (Some("ENABLED"), Some("off"), None)
    );

    let stored = db.flag_set(&env("production")).await.unwrap().unwrap();
    assert_eq!(stored.version, 4);
    assert_eq!(stored.flags[0].created_at, at(0));
    assert_eq!(
        stored.flags[0].updated_at,
        t0(),
        "the last change was written at the default clock"
    );

    let events = all_events(&db).await;
    let mut changes: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "flag.updated")
        .filter_map(|e| e.payload["change"].as_str())
        .collect();
    changes.sort_unstable();
    assert_eq!(changes, ["kill", "rollout", "toggle"]);

    for missing in [
        FlagChange::Toggle {
            key: "nope".into(),
            enabled: true,
        },
        FlagChange::Delete { key: "nope".into() },
    ] {
        assert_not_found(&fails(&db, ctx(), vec![change("production", missing)]).await);
    }
    let deleted = written(
        one(
            &db,
            change(
                "production",
                FlagChange::Delete {
                    key: "new-checkout".into(),
                },
            ),
        )
        .await,
    );
    assert_eq!(deleted.changes[0].action, FlagAction::Deleted);
    assert_eq!(deleted.changes[0].after, None);
    assert!(db
        .flag_set(&env("production"))
        .await
        .unwrap()
        .unwrap()
        .flags
        .is_empty());
}

/// SDK keys are tokens bound to an environment (registered if needed); an API token
/// with an environment, or an SDK key without one, is invalid.
pub async fn sdk_keys_belong_to_one_environment(db: Db) {
    let key = |name: &str, scope: Scope, environment: Option<&str>| Command::CreateToken {
        name: TokenName::parse(name).unwrap(),
        scope,
        hash: format!("hash-{name}"),
        prefix: "rodeo_abc".into(),
        environment: environment.map(env),
    };
    let Outcome::Token(web) = one(&db, key("web", Scope::SdkClient, Some("production"))).await
    else {
        panic!("expected a token")
    };
    assert_eq!(web.environment, Some(env("production")));
    let found = db.token_by_hash("hash-web").await.unwrap().unwrap();
    assert_eq!(
        (found.scope, found.environment),
        (Scope::SdkClient, Some(env("production")))
    );
    assert!(db
        .list_environments()
        .await
        .unwrap()
        .iter()
        .any(|e| e.name == env("production")));
    assert_invalid(
        &fails(
            &db,
            ctx(),
            vec![key("api", Scope::Write, Some("production"))],
        )
        .await,
        "environment",
    );
    assert_invalid(
        &fails(&db, ctx(), vec![key("sdk", Scope::SdkServer, None)]).await,
        "environment",
    );
}

/// Counts add across flushes; the last evaluation time is the latest seen; the default
/// (no variant) is counted apart from every variant.
pub async fn evaluation_counts_accumulate(db: Db) {
    let count = |key: &str, variant: Option<&str>, n: u64, t: i64| EvaluationCount {
        environment: env("production"),
        key: key.into(),
        variant: variant.map(Into::into),
        count: n,
        last_evaluated_at: at(t),
    };
    let flush = |counts| Command::RecordEvaluations { counts };
    one(
        &db,
        flush(vec![count("a", Some("on"), 3, 5), count("a", None, 1, 5)]),
    )
    .await;
    one(
        &db,
        flush(vec![
            count("a", Some("on"), 4, 2),
            count("b", Some("x"), 1, 7),
        ]),
    )
    .await;
    let got = db.flag_evaluations(&env("production")).await.unwrap();
    let rows: Vec<(String, Option<String>, u64)> = got
        .iter()
        .map(|c| (c.key.clone(), c.variant.clone(), c.count))
        .collect();
    let want: Vec<(String, Option<String>, u64)> = vec![
        ("a".into(), Some("on".into()), 7),
        ("a".into(), None, 1),
        ("b".into(), Some("x".into()), 1),
    ];
    let mut rows = rows;
    rows.sort();
    let mut want = want;
    want.sort();
    assert_eq!(rows, want);
    let on = got
        .iter()
        .find(|c| c.variant.as_deref() == Some("on"))
        .unwrap();
    assert_eq!(on.last_evaluated_at, at(5));
    assert!(db
        .flag_evaluations(&env("staging"))
        .await
        .unwrap()
        .is_empty());
}

/// Twenty concurrent toggles of different flags of one environment: none is lost, and
/// the version counts every one.
pub async fn concurrent_flag_changes_are_serialised(db: Db) {
    let mut doc = json!({"flags": {}});
    for i in 0..20 {
        doc["flags"][format!("f{i}")] = json!({"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"});
    }
    one(
        &db,
        change("production", FlagChange::Apply { document: doc }),
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            apply(
                &db,
                ctx(),
                vec![change(
                    "production",
                    FlagChange::Toggle {
                        key: format!("f{i}"),
                        enabled: true,
                    },
                )],
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stored = db.flag_set(&env("production")).await.unwrap().unwrap();
    assert_eq!(stored.version, 21);
    let enabled = stored.document["flags"]
        .as_object()
        .unwrap()
        .values()
        .filter(|f| f["state"] == "ENABLED")
        .count();
    assert_eq!(enabled, 20);
}
