//! Properties every definition keeps, whatever the history.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use rodeo_domain::{DeploymentKind, DeploymentStatus, EnvironmentName, ServiceName};
use rodeo_metrics::{
    dora, BotPatterns, Facts, Incident, IncidentKind, ProdDeployment, PullRequestTimes, Shipment,
    Window,
};

fn history() -> impl Strategy<Value = Facts> {
    let deployment = (
        0..3usize,
        0..2usize,
        0..4usize,
        0..3usize,
        0i64..60 * 24 * 90,
    );
    let deployments = prop::collection::vec(deployment, 0..40);
    (
        deployments,
        prop::collection::vec((0usize..40, 0i64..60 * 24 * 90), 0..60),
        prop::collection::vec((0usize..40, any::<bool>(), 0i64..600), 0..5),
    )
        .prop_map(|(ds, ships, incidents)| {
            let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            let deployments: Vec<_> = ds
                .iter()
                .enumerate()
                .map(|(i, (s, e, st, k, m))| ProdDeployment {
                    id: i as i64 + 1,
                    service: ServiceName::parse(["api", "web", "db"][*s]).unwrap(),
                    environment: EnvironmentName::parse(["prod-eu", "prod-us"][*e]).unwrap(),
                    status: [
                        DeploymentStatus::Succeeded,
                        DeploymentStatus::Succeeded,
                        DeploymentStatus::RolledBack,
                        DeploymentStatus::Failed,
                    ][*st],
                    kind: [
                        DeploymentKind::Normal,
                        DeploymentKind::Hotfix,
                        DeploymentKind::Rollback,
                    ][*k],
                    finished_at: start + Duration::minutes(*m),
                })
                .collect();
            let n = deployments.len().max(1);
            let shipments = ships
                .iter()
                .map(|(d, m)| {
                    // A sha names one commit: its author and time follow from it.
                    let c = m % 97;
                    Shipment {
                        deployment_id: (d % n) as i64 + 1,
                        sha: format!("{c:x}"),
                        author: if c % 5 == 0 {
                            "dependabot[bot]".into()
                        } else {
                            "Ada".into()
                        },
                        committed_at: start + Duration::minutes(c * 1300),
                        // Every third commit merges a pull request.
                        pull_request: (c % 3 == 0).then(|| PullRequestTimes {
                            first_commit_at: (c % 2 == 0)
                                .then(|| start + Duration::minutes(c * 1300 - 600)),
                            opened_at: start + Duration::minutes(c * 1300 - 300),
                            merged_at: start + Duration::minutes(c * 1300),
                            author: if c % 7 == 0 { "renovate[bot]" } else { "Ada" }.into(),
                        }),
                    }
                })
                .collect();
            let incidents = incidents
                .iter()
                .enumerate()
                .map(|(i, (d, drill, m))| Incident {
                    id: i as i64,
                    kind: if *drill {
                        IncidentKind::Drill
                    } else {
                        IncidentKind::Real
                    },
                    severity: "sev2".into(),
                    services: vec![],
                    started_at: start,
                    detected_at: None,
                    acknowledged_at: None,
                    mitigated_at: Some(start + Duration::minutes(*m)),
                    resolved_at: None,
                    causes: vec![(d % n) as i64 + 1],
                })
                .collect();
            Facts {
                deployments,
                shipments,
                incidents,
                first_shipments: Vec::new(),
                pull_requests: Vec::new(),
            }
        })
}

fn window() -> Window {
    let from = Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0).unwrap();
    Window::ending(from + Duration::days(30), Duration::days(30)).unwrap()
}

proptest! {
    #[test]
    fn rates_stay_in_range(f in history()) {
        let d = dora(&f, window(), &BotPatterns::default());
        if let Some(r) = d.change_failure_rate.ratio {
            prop_assert!((0.0..=1.0).contains(&r));
        }
        if let Some(r) = d.rework_rate.ratio {
            prop_assert!((0.0..=1.0).contains(&r));
        }
        if let Some(r) = d.deployment_frequency.deploy_days_ratio {
            prop_assert!((0.0..=1.0).contains(&r));
        }
        prop_assert!(d.change_failure_rate.failed <= d.change_failure_rate.total);
        prop_assert!(d.lead_time.median_seconds.unwrap_or(0) >= 0);
        prop_assert!(d.lead_time.p90_seconds >= d.lead_time.median_seconds);
        prop_assert!(d.recovery_time.median_seconds.unwrap_or(0) >= 0);
    }

    #[test]
    fn a_successful_deployment_never_lowers_frequency(f in history(), minute in 0i64..60 * 24 * 90) {
        let before = dora(&f, window(), &BotPatterns::default()).deployment_frequency;
        let mut more = f.clone();
        more.deployments.push(ProdDeployment {
            id: 10_000,
            service: ServiceName::parse("api").unwrap(),
            environment: EnvironmentName::parse("prod-eu").unwrap(),
            status: DeploymentStatus::Succeeded,
            kind: DeploymentKind::Normal,
            finished_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minute),
        });
        let after = dora(&more, window(), &BotPatterns::default()).deployment_frequency;
        prop_assert!(after.count >= before.count);
        prop_assert!(after.per_day.unwrap_or(0.0) >= before.per_day.unwrap_or(0.0));
        prop_assert!(after.deploy_days_ratio.unwrap_or(0.0) >= before.deploy_days_ratio.unwrap_or(0.0));
    }

    /// What the stores read (the rollup of first shipments) gives what the raw shipments
    /// give.
    #[test]
    fn the_first_shipments_rollup_matches_the_raw_shipments(f in history()) {
        let rollup = Facts {
            first_shipments: rodeo_metrics::first_shipments(&f),
            pull_requests: rodeo_metrics::pull_request_shipments(&f),
            shipments: Vec::new(),
            ..f.clone()
        };
        prop_assert_eq!(
            dora(&f, window(), &BotPatterns::default()),
            dora(&rollup, window(), &BotPatterns::default())
        );
    }

    /// Computing two windows together, or per service after moving the facts apart,
    /// gives what computing each on its own gives.
    #[test]
    fn windows_together_and_services_apart_agree(f in history()) {
        let (w, p) = (window(), window().previous());
        let bots = BotPatterns::default();
        prop_assert_eq!(
            rodeo_metrics::dora_in(&f, &[w, p], &bots),
            vec![dora(&f, w, &bots), dora(&f, p, &bots)]
        );
        for (service, both) in rodeo_metrics::dora_by_service_in(f.clone(), &[w, p], &bots) {
            let one = rodeo_metrics::dora_by_service(&f, p, &bots);
            let alone = one.iter().find(|(s, _)| *s == service).map(|(_, d)| d);
            prop_assert_eq!(alone, both.get(1));
        }
    }

    #[test]
    fn arrival_order_does_not_matter(f in history(), seed in any::<u64>()) {
        let mut shuffled = f.clone();
        // A deterministic shuffle driven by the seed.
        let mut s = seed | 1;
        let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s as usize };
        for v in [&mut shuffled.deployments] {
            for i in (1..v.len()).rev() { let j = next() % (i + 1); v.swap(i, j); }
        }
        for i in (1..shuffled.shipments.len()).rev() { let j = next() % (i + 1); shuffled.shipments.swap(i, j); }
        for i in (1..shuffled.incidents.len()).rev() { let j = next() % (i + 1); shuffled.incidents.swap(i, j); }
        prop_assert_eq!(
            dora(&f, window(), &BotPatterns::default()),
            dora(&shuffled, window(), &BotPatterns::default())
        );
    }
}
