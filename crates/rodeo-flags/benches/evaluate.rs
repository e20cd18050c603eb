//! In-process evaluation cost of rodeo's flag engine, next to Unleash's Rust engine
//! (`unleash-yggdrasil`) on equivalent flags in the same run, so that the numbers share
//! a machine, a compiler and a noise floor. Each criterion group holds one pair:
//!
//! - `static`: a flagd flag with a default variant and no targeting, against an
//!   enabled Unleash toggle whose only strategy is `default`.
//! - `targeting`: `if (and (ends_with email "@example.com") (== plan "enterprise")
//!   (sem_ver appVersion >= "2.0.0")) "on" "off"`, against a `default` strategy with
//!   the constraints `STR_ENDS_WITH`, `IN` and `SEMVER_GTE` on the same properties. The
//!   context satisfies all three, so neither engine can stop early. (`default` rather
//!   than a 100% `flexibleRollout`, which would add a hash the flagd rule does not do.)
//! - `fractional`: flagd's `fractional` 25/75 keyed by `targetingKey`, against a 25%
//!   `flexibleRollout` sticky on `userId` with the flag as group. Both hash the flag and
//!   the user with MurmurHash3; they pick different buckets for the same user.
//! - `all_100`: one context against 100 flags, half static (every tenth of them
//!   disabled), thirty targeted (the three-condition rule, a country list, a seat
//!   count) and twenty fractional rollouts. rodeo's `evaluate_all` is set against
//!   `is_enabled` on each toggle, and against `resolve_all`, Unleash's bulk call,
//!   which also picks a variant and builds a map.
//!
//! Unleash answers a boolean where rodeo answers a variant and its value, so
//! `is_enabled` is the comparable call. Setup checks that both engines agree on every
//! static and targeted flag before anything is timed.
//!
//! Targets: static ≤ 50 ns, targeting ≤ 300 ns, fractional ≤ 300 ns, all 100 ≤ 20 µs.

// A setup failure should stop the run loudly.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rodeo_flags::FlagSet;
use serde_json::{json, Map, Value};
use unleash_yggdrasil::{ClientFeatures, Context, EngineState, UpdateMessage};

/// `$flagd.timestamp`; no rule here reads it.
const NOW: i64 = 1_750_000_000;

/// One flag written for each engine: a flagd flag and an Unleash client feature.
struct Flag {
    key: String,
    flagd: Value,
    unleash: Value,
    /// A percentage rollout, whose buckets the two engines hash differently.
    fractional: bool,
}

fn static_flag(key: &str, enabled: bool) -> Flag {
    Flag {
        key: key.to_owned(),
        flagd: json!({
            "state": if enabled { "ENABLED" } else { "DISABLED" },
            "variants": {"on": true, "off": false},
            "defaultVariant": "on",
        }),
        unleash: json!({
            "name": key,
            "enabled": enabled,
            "strategies": [{"name": "default", "parameters": {}}],
        }),
        fractional: false,
    }
}

/// A boolean flag that is on when `rule` holds and whose Unleash toggle has `constraints`.
fn targeted_flag(key: &str, rule: Value, constraints: Value) -> Flag {
    Flag {
        key: key.to_owned(),
        flagd: json!({
            "state": "ENABLED",
            "variants": {"on": true, "off": false},
            "defaultVariant": "off",
            "targeting": {"if": [rule, "on", "off"]},
        }),
        unleash: json!({
            "name": key,
            "enabled": true,
            "strategies": [{"name": "default", "parameters": {}, "constraints": constraints}],
        }),
        fractional: false,
    }
}

fn three_conditions(key: &str) -> Flag {
    targeted_flag(
        key,
        json!({"and": [
            {"ends_with": [{"var": "email"}, "@example.com"]},
            {"==": [{"var": "plan"}, "enterprise"]},
            {"sem_ver": [{"var": "appVersion"}, ">=", "2.0.0"]},
        ]}),
        json!([
            {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]},
            {"contextName": "plan", "operator": "IN", "values": ["enterprise"]},
            {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0"},
        ]),
    )
}

fn country_in(key: &str, countries: &[&str]) -> Flag {
    targeted_flag(
        key,
        json!({"in": [{"var": "country"}, countries]}),
        json!([{"contextName": "country", "operator": "IN", "values": countries}]),
    )
}

fn seats_at_least(key: &str, seats: u32) -> Flag {
    targeted_flag(
        key,
        json!({">=": [{"var": "seats"}, seats]}),
        json!([{"contextName": "seats", "operator": "NUM_GTE", "value": seats.to_string()}]),
    )
}

fn rollout(key: &str, percent: u32) -> Flag {
    Flag {
        key: key.to_owned(),
        flagd: json!({
            "state": "ENABLED",
            "variants": {"on": true, "off": false},
            "defaultVariant": "off",
            "targeting": {"fractional": [["on", percent], ["off", 100 - percent]]},
        }),
        unleash: json!({
            "name": key,
            "enabled": true,
            "strategies": [{
                "name": "flexibleRollout",
                "parameters": {
                    "rollout": percent.to_string(),
                    "stickiness": "userId",
                    "groupId": key,
                },
            }],
        }),
        fractional: true,
    }
}

/// The 100-flag set: per ten flags, five static, three targeted, two rollouts.
fn realistic_set() -> Vec<Flag> {
    (0..100u32)
        .map(|i| {
            let key = format!("flag-{i:03}");
            match i % 10 {
                0..=4 => static_flag(&key, i % 20 != 0),
                5 => three_conditions(&key),
                6 if i % 20 == 6 => country_in(&key, &["DE", "AT", "CH"]),
                6 => country_in(&key, &["FR", "BE", "NL", "LU"]),
                7 => seats_at_least(&key, [5, 10, 50, 100, 500][(i as usize / 10) % 5]),
                _ => rollout(&key, [10, 25, 50, 75][(i as usize / 10) % 4]),
            }
        })
        .collect()
}

/// Both engines loaded with the same flags.
struct Engines {
    flags: Vec<Flag>,
    rodeo: FlagSet,
    yggdrasil: EngineState,
}

impl Engines {
    fn load(flags: Vec<Flag>) -> Self {
        let flagd: Map<String, Value> = flags
            .iter()
            .map(|f| (f.key.clone(), f.flagd.clone()))
            .collect();
        let rodeo = FlagSet::compile(&json!({"flags": flagd})).expect("flagd document compiles");
        assert!(rodeo.problems().is_empty(), "{:?}", rodeo.problems());

        let features: Vec<&Value> = flags.iter().map(|f| &f.unleash).collect();
        let features: ClientFeatures =
            serde_json::from_value(json!({"version": 2, "features": features}))
                .expect("Unleash client features parse");
        let yggdrasil = EngineState::default();
        let warnings = yggdrasil.take_state(UpdateMessage::FullResponse(features));
        assert!(warnings.is_none(), "{warnings:?}");

        Self {
            flags,
            rodeo,
            yggdrasil,
        }
    }

    /// Every non-fractional flag answers the same in both engines; returns how many are on.
    fn check_agreement(&self, rodeo_ctx: &Map<String, Value>, unleash_ctx: &Context) -> usize {
        let mut on = 0;
        for flag in self.flags.iter().filter(|f| !f.fractional) {
            let resolution = self.rodeo.evaluate(&flag.key, rodeo_ctx, NOW);
            assert!(resolution.error.is_none(), "{resolution:?}");
            let rodeo_on = resolution.value == Some(&Value::Bool(true));
            let unleash_on = self.yggdrasil.is_enabled(&flag.key, unleash_ctx, &None);
            assert_eq!(rodeo_on, unleash_on, "{} differs", flag.key);
            on += usize::from(rodeo_on);
        }
        on
    }
}

/// The same user, as a flagd evaluation context and as an Unleash context.
fn contexts() -> (Map<String, Value>, Context) {
    let rodeo = json!({
        "targetingKey": "user-4711",
        "email": "ada@example.com",
        "plan": "enterprise",
        "appVersion": "2.3.1",
        "country": "DE",
        "seats": 25,
    });
    let Value::Object(rodeo) = rodeo else {
        unreachable!("a JSON object literal")
    };
    let properties: HashMap<String, String> = [
        ("email", "ada@example.com"),
        ("plan", "enterprise"),
        ("appVersion", "2.3.1"),
        ("country", "DE"),
        ("seats", "25"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let unleash = Context {
        user_id: Some("user-4711".into()),
        session_id: None,
        environment: None,
        app_name: None,
        current_time: None,
        remote_address: None,
        properties: Some(properties),
    };
    (rodeo, unleash)
}

/// One flag, one group: `rodeo` and `yggdrasil` side by side.
fn single(c: &mut Criterion, group: &str, flag: Flag) {
    let key = flag.key.clone();
    let engines = Engines::load(vec![flag]);
    let (rodeo_ctx, unleash_ctx) = contexts();
    engines.check_agreement(&rodeo_ctx, &unleash_ctx);

    let mut g = c.benchmark_group(group);
    g.bench_function("rodeo", |b| {
        b.iter(|| {
            engines
                .rodeo
                .evaluate(black_box(&key), black_box(&rodeo_ctx), NOW)
        });
    });
    g.bench_function("yggdrasil", |b| {
        b.iter(|| {
            engines
                .yggdrasil
                .is_enabled(black_box(&key), black_box(&unleash_ctx), &None)
        });
    });
    g.finish();
}

fn static_flag_bench(c: &mut Criterion) {
    single(c, "static", static_flag("new-checkout", true));
}

fn targeting_bench(c: &mut Criterion) {
    single(c, "targeting", three_conditions("enterprise-beta"));
}

fn fractional_bench(c: &mut Criterion) {
    single(c, "fractional", rollout("new-search", 25));
}

fn all_100_bench(c: &mut Criterion) {
    let engines = Engines::load(realistic_set());
    let (rodeo_ctx, unleash_ctx) = contexts();
    let on = engines.check_agreement(&rodeo_ctx, &unleash_ctx);
    assert!(
        on > 0 && on < 80,
        "the context should turn some flags on: {on}"
    );
    let keys: Vec<&str> = engines.flags.iter().map(|f| f.key.as_str()).collect();

    let mut g = c.benchmark_group("all_100");
    g.bench_function("rodeo", |b| {
        b.iter(|| engines.rodeo.evaluate_all(black_box(&rodeo_ctx), NOW));
    });
    g.bench_function("yggdrasil", |b| {
        b.iter(|| {
            keys.iter()
                .map(|key| {
                    engines
                        .yggdrasil
                        .is_enabled(black_box(key), black_box(&unleash_ctx), &None)
                })
                .collect::<Vec<bool>>()
        });
    });
    g.bench_function("yggdrasil_resolve_all", |b| {
        b.iter(|| {
            engines
                .yggdrasil
                .resolve_all(black_box(&unleash_ctx), &None)
        });
    });
    g.finish();
}

criterion_group!(
    benches,
    static_flag_bench,
    targeting_bench,
    fractional_bench,
    all_100_bench
);
criterion_main!(benches);
