//! The DORA definitions against hand-computed cases, one per edge the issue names.
//! Times are minutes after 2026-03-01T00:00Z; the window is March (31 days) unless a
//! case says otherwise.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use rodeo_domain::{DeploymentKind, DeploymentStatus, EnvironmentName, ServiceName, Timestamp};
use rodeo_metrics::{
    dora, dora_by_service, Band, BotPatterns, Facts, Incident, IncidentKind, ProdDeployment,
    PullRequestTimes, Shipment, Window,
};

fn at(minutes: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

const DAY: i64 = 24 * 60;

fn march() -> Window {
    Window::new(at(0), at(31 * DAY)).unwrap()
}

fn dep(id: i64, service: &str, env: &str, minute: i64) -> ProdDeployment {
    ProdDeployment {
        id,
        service: ServiceName::parse(service).unwrap(),
        environment: EnvironmentName::parse(env).unwrap(),
        status: DeploymentStatus::Succeeded,
        kind: DeploymentKind::Normal,
        finished_at: at(minute),
    }
}

fn kind(mut d: ProdDeployment, k: DeploymentKind) -> ProdDeployment {
    d.kind = k;
    d
}

fn status(mut d: ProdDeployment, s: DeploymentStatus) -> ProdDeployment {
    d.status = s;
    d
}

fn ship(deployment_id: i64, sha: &str, author: &str, committed_minute: i64) -> Shipment {
    Shipment {
        deployment_id,
        sha: sha.into(),
        author: author.into(),
        committed_at: at(committed_minute),
        pull_request: None,
    }
}

fn incident(id: i64, causes: &[i64], started: i64, mitigated: Option<i64>) -> Incident {
    Incident {
        id,
        kind: IncidentKind::Real,
        severity: "sev2".into(),
        services: vec![],
        started_at: at(started),
        detected_at: None,
        acknowledged_at: None,
        mitigated_at: mitigated.map(at),
        resolved_at: None,
        causes: causes.to_vec(),
    }
}

fn facts(deployments: Vec<ProdDeployment>) -> Facts {
    Facts {
        deployments,
        ..Facts::default()
    }
}

fn run(f: &Facts) -> rodeo_metrics::Dora {
    dora(f, march(), &BotPatterns::default())
}

#[test]
fn no_deployments_is_no_data_not_zero() {
    let d = run(&Facts::default());
    let df = &d.deployment_frequency;
    assert_eq!((df.count, df.per_day, df.band), (0, None, None));
    assert_eq!(df.deploy_days_ratio, None);
    assert_eq!(
        (
            d.lead_time.count,
            d.lead_time.median_seconds,
            d.lead_time.band
        ),
        (0, None, None)
    );
    assert_eq!(
        (d.change_failure_rate.ratio, d.change_failure_rate.band),
        (None, None)
    );
    assert_eq!(
        (d.recovery_time.median_seconds, d.recovery_time.band),
        (None, None)
    );
    assert_eq!(d.rework_rate.ratio, None);
}

#[test]
fn one_deployment() {
    let mut f = facts(vec![dep(1, "api", "production", 10 * DAY)]);
    // committed 2 h and 26 h before it finished
    f.shipments = vec![
        ship(1, "a", "Ada", 10 * DAY - 120),
        ship(1, "b", "Ada", 10 * DAY - 26 * 60),
    ];
    let d = run(&f);
    let df = &d.deployment_frequency;
    assert_eq!(df.count, 1);
    assert!((df.per_day.unwrap() - 1.0 / 31.0).abs() < 1e-12);
    assert!((df.per_week.unwrap() - 7.0 / 31.0).abs() < 1e-12);
    assert!((df.deploy_days_ratio.unwrap() - 1.0 / 31.0).abs() < 1e-12);
    assert_eq!(
        df.median_interval_seconds, None,
        "no two deployments, no interval"
    );
    // 1 per 31 days is less than 1 per 30 days: low, by the letter of the definition.
    assert_eq!(df.band, Some(Band::Low));
    let thirty = Window::new(at(0), at(30 * DAY)).unwrap();
    let d30 = dora(&f, thirty, &BotPatterns::default());
    assert_eq!(d30.deployment_frequency.band, Some(Band::Medium));
    // lead times 7,200 s and 93,600 s: median 50,400 s; p90 = 7200 + 0.9 * 86400 = 84,960
    assert_eq!(d.lead_time.count, 2);
    assert_eq!(d.lead_time.median_seconds, Some(50_400));
    assert_eq!(d.lead_time.p90_seconds, Some(84_960));
    assert_eq!(d.lead_time.band, Some(Band::Elite));
    assert_eq!(d.change_failure_rate.ratio, Some(0.0));
    assert_eq!(d.change_failure_rate.band, Some(Band::Elite));
    assert_eq!(d.recovery_time.count, 0);
    assert_eq!(d.rework_rate.ratio, Some(0.0));
}

#[test]
fn rollback_to_an_older_version() {
    let f = facts(vec![
        dep(1, "api", "production", DAY),
        status(
            dep(2, "api", "production", 2 * DAY),
            DeploymentStatus::RolledBack,
        ),
        kind(
            dep(3, "api", "production", 2 * DAY + 30),
            DeploymentKind::Rollback,
        ),
    ]);
    let d = run(&f);
    // Deployment 2 failed: its own status, and the next one is a rollback.
    assert_eq!(
        (d.change_failure_rate.failed, d.change_failure_rate.total),
        (1, 3)
    );
    assert_eq!(d.recovery_time.count, 1);
    assert_eq!(d.recovery_time.median_seconds, Some(30 * 60));
    assert_eq!(d.recovery_time.band, Some(Band::Elite));
    assert_eq!((d.rework_rate.rework, d.rework_rate.total), (1, 3));
    // Intervals 1 day and 30 min: median 12 h 15 min.
    assert_eq!(d.deployment_frequency.median_interval_seconds, Some(44_100));
}

#[test]
fn a_detected_rollback_marks_the_one_before_even_without_its_status() {
    // The store records the rollback's kind; an older deployment keeps `succeeded`.
    let f = facts(vec![
        dep(1, "api", "production", DAY),
        kind(
            dep(2, "api", "production", DAY + 90),
            DeploymentKind::Rollback,
        ),
    ]);
    let d = run(&f);
    assert_eq!(
        (d.change_failure_rate.failed, d.change_failure_rate.total),
        (1, 2)
    );
    assert_eq!(d.recovery_time.median_seconds, Some(90 * 60));
}

#[test]
fn hotfix_chains() {
    let f = facts(vec![
        dep(1, "api", "production", DAY),
        kind(
            dep(2, "api", "production", DAY + 60),
            DeploymentKind::Hotfix,
        ),
        kind(
            dep(3, "api", "production", DAY + 180),
            DeploymentKind::Hotfix,
        ),
        dep(4, "api", "production", 3 * DAY),
    ]);
    let d = run(&f);
    // 1 needed hotfix 2, which needed hotfix 3; 3 and 4 are fine.
    assert_eq!(
        (d.change_failure_rate.failed, d.change_failure_rate.total),
        (2, 4)
    );
    assert_eq!(d.change_failure_rate.ratio, Some(0.5));
    assert_eq!(d.change_failure_rate.band, Some(Band::Low));
    // Recoveries 60 and 120 min.
    assert_eq!(d.recovery_time.count, 2);
    assert_eq!(d.recovery_time.median_seconds, Some(90 * 60));
    assert_eq!(d.recovery_time.p90_seconds, Some(114 * 60));
    assert_eq!((d.rework_rate.rework, d.rework_rate.total), (2, 4));
}

#[test]
fn an_incident_caused_by_two_deployments() {
    let mut f = facts(vec![
        dep(1, "api", "production", DAY),
        dep(2, "web", "production", DAY + 10),
        dep(3, "api", "production", DAY + 200),
    ]);
    f.incidents = vec![incident(7, &[1, 2], DAY + 20, Some(DAY + 70))];
    let d = run(&f);
    assert_eq!(
        (d.change_failure_rate.failed, d.change_failure_rate.total),
        (2, 3)
    );
    // api's deployment 1 recovers at the mitigation (before deployment 3): 70 min;
    // web's deployment 2 at the mitigation too: 60 min.
    assert_eq!(d.recovery_time.count, 2);
    assert_eq!(d.recovery_time.median_seconds, Some(65 * 60));

    let by = dora_by_service(&f, march(), &BotPatterns::default());
    let names: Vec<_> = by.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    assert_eq!(by[0].1.change_failure_rate.failed, 1);
    assert_eq!(by[0].1.change_failure_rate.total, 2);
    assert_eq!(by[1].1.change_failure_rate.failed, 1);
    assert_eq!(by[1].1.recovery_time.median_seconds, Some(60 * 60));
}

#[test]
fn an_unmitigated_incident_leaves_the_deployment_unrecovered() {
    let mut f = facts(vec![dep(1, "api", "production", DAY)]);
    f.incidents = vec![incident(7, &[1], DAY + 5, None)];
    let d = run(&f);
    assert_eq!(d.change_failure_rate.failed, 1);
    assert_eq!((d.recovery_time.count, d.recovery_time.unrecovered), (0, 1));
    assert_eq!(d.recovery_time.median_seconds, None);
}

#[test]
fn a_drill_blames_nothing() {
    let mut f = facts(vec![dep(1, "api", "production", DAY)]);
    let mut drill = incident(7, &[1], DAY + 5, Some(DAY + 50));
    drill.kind = IncidentKind::Drill;
    f.incidents = vec![drill];
    let d = run(&f);
    assert_eq!(d.change_failure_rate.failed, 0);
    assert_eq!(d.recovery_time.count, 0);
}

#[test]
fn window_edges_are_half_open() {
    let f = facts(vec![
        dep(1, "api", "production", -1),
        dep(2, "api", "production", 0),
        dep(3, "api", "production", 31 * DAY - 1),
        dep(4, "api", "production", 31 * DAY),
    ]);
    let d = run(&f);
    assert_eq!(d.deployment_frequency.count, 2, "from is in, to is out");
    // Slices 0 and 30 of 31 have a deployment.
    assert!((d.deployment_frequency.deploy_days_ratio.unwrap() - 2.0 / 31.0).abs() < 1e-12);
}

#[test]
fn a_failure_before_the_window_counts_where_it_recovered() {
    let f = facts(vec![
        status(
            dep(1, "api", "production", -60),
            DeploymentStatus::RolledBack,
        ),
        kind(dep(2, "api", "production", 30), DeploymentKind::Rollback),
    ]);
    let d = run(&f);
    assert_eq!(
        d.change_failure_rate.total, 1,
        "only deployment 2 is in March"
    );
    assert_eq!(d.change_failure_rate.failed, 0);
    assert_eq!(d.recovery_time.count, 1, "deployment 1 recovered in March");
    assert_eq!(d.recovery_time.median_seconds, Some(90 * 60));
}

#[test]
fn bots_are_excluded_and_counted() {
    let mut f = facts(vec![dep(1, "api", "production", DAY)]);
    f.shipments = vec![
        ship(1, "a", "Ada", DAY - 60),
        ship(1, "b", "dependabot[bot]", DAY - 10 * DAY),
        ship(1, "c", "renovate-bot", DAY - 10 * DAY),
    ];
    let d = run(&f);
    assert_eq!(d.lead_time.count, 1);
    assert_eq!(d.lead_time.excluded_bot_commits, 2);
    assert_eq!(d.lead_time.median_seconds, Some(3600));
    let none = dora(&f, march(), &BotPatterns::none());
    assert_eq!(none.lead_time.count, 3);
}

#[test]
fn clock_skew_counts_as_zero_and_is_reported() {
    let mut f = facts(vec![dep(1, "api", "production", DAY)]);
    f.shipments = vec![ship(1, "a", "Ada", DAY + 5), ship(1, "b", "Ada", DAY - 60)];
    let d = run(&f);
    assert_eq!(d.lead_time.negative_spans, 1);
    assert_eq!(d.lead_time.median_seconds, Some(1800), "0 s and 3,600 s");
}

#[test]
fn two_production_environments_are_separate_lanes() {
    let f = facts(vec![
        dep(1, "api", "prod-eu", DAY),
        dep(2, "api", "prod-us", DAY + 10),
        kind(dep(3, "api", "prod-us", DAY + 40), DeploymentKind::Rollback),
        dep(4, "api", "prod-eu", DAY + 50),
    ]);
    let d = run(&f);
    // The rollback in prod-us fails deployment 2 only.
    assert_eq!(
        (d.change_failure_rate.failed, d.change_failure_rate.total),
        (1, 4)
    );
    assert_eq!(d.recovery_time.median_seconds, Some(30 * 60));
    assert_eq!(d.deployment_frequency.count, 4);
}

#[test]
fn lead_time_counts_a_commit_at_its_first_production_deployment_only() {
    let mut f = facts(vec![
        dep(1, "api", "prod-eu", -DAY),
        dep(2, "api", "prod-us", DAY),
        dep(3, "api", "prod-us", 2 * DAY),
    ]);
    f.shipments = vec![
        ship(1, "old", "Ada", -2 * DAY), // first shipped in February
        ship(2, "old", "Ada", -2 * DAY),
        ship(2, "new", "Ada", DAY - 60),
        ship(3, "new", "Ada", DAY - 60), // a second shipment of `new` does not count
    ];
    let d = run(&f);
    assert_eq!(d.lead_time.count, 1);
    assert_eq!(d.lead_time.median_seconds, Some(3600));
}

#[test]
fn a_monorepo_commit_shipped_by_two_services_counts_for_each() {
    let mut f = facts(vec![
        dep(1, "api", "production", DAY),
        dep(2, "web", "production", 2 * DAY),
    ]);
    f.shipments = vec![ship(1, "m", "Ada", 0), ship(2, "m", "Ada", 0)];
    let d = run(&f);
    assert_eq!(d.lead_time.count, 2);
    assert_eq!(d.lead_time.median_seconds, Some(DAY * 60 * 3 / 2));
    let by = dora_by_service(&f, march(), &BotPatterns::default());
    assert_eq!(by[0].1.lead_time.median_seconds, Some(DAY * 60));
    assert_eq!(by[1].1.lead_time.median_seconds, Some(2 * DAY * 60));
}

#[test]
fn failed_deployments_never_reached_production() {
    let mut f = facts(vec![
        dep(1, "api", "production", DAY),
        status(
            dep(2, "api", "production", DAY + 10),
            DeploymentStatus::Failed,
        ),
        dep(3, "api", "production", DAY + 20),
    ]);
    f.shipments = vec![ship(2, "x", "Ada", DAY - 60), ship(3, "x", "Ada", DAY - 60)];
    let d = run(&f);
    assert_eq!(d.deployment_frequency.count, 2);
    assert_eq!(d.change_failure_rate.total, 2);
    assert_eq!(
        d.lead_time.median_seconds,
        Some(80 * 60),
        "first reached with deployment 3"
    );
}

#[test]
fn organisation_frequency_band_is_the_median_of_its_services() {
    // api deploys daily (elite), web weekly (high), db once (medium).
    let mut ds = Vec::new();
    for k in 0..31 {
        ds.push(dep(100 + k, "api", "production", k * DAY + 60));
    }
    for k in 0..5 {
        ds.push(dep(200 + k, "web", "production", k * 7 * DAY + 60));
    }
    ds.push(dep(300, "db", "production", 60));
    let d = run(&facts(ds));
    assert_eq!(d.deployment_frequency.count, 37);
    assert_eq!(d.deployment_frequency.band, Some(Band::High));
}

/// The merge commit of a pull request opened at `opened`, merged at `merged`, its
/// first commit authored at `first` (minutes).
fn merged_pr(
    deployment_id: i64,
    sha: &str,
    author: &str,
    first: Option<i64>,
    opened: i64,
    merged: i64,
) -> Shipment {
    Shipment {
        pull_request: Some(PullRequestTimes {
            first_commit_at: first.map(at),
            opened_at: at(opened),
            merged_at: at(merged),
            author: author.into(),
        }),
        ..ship(deployment_id, sha, author, merged)
    }
}

#[test]
fn lead_time_stages_split_each_pull_request_at_its_milestones() {
    // Deployment 1 (day 10) ships two pull requests' merge commits and a plain commit;
    // deployment 2 (day 12) ships pull request C again (not its first deployment) and
    // pull request D; deployment 3 (day 40) is outside the window.
    let mut f = facts(vec![
        dep(1, "api", "production", 10 * DAY),
        dep(2, "api", "production", 12 * DAY),
        dep(3, "api", "production", 40 * DAY),
    ]);
    f.shipments = vec![
        // A: first commit 10 h before opening, reviewed 2 h, deployed 4 h after merge.
        merged_pr(
            1,
            "a",
            "Ada",
            Some(10 * DAY - 16 * 60),
            10 * DAY - 6 * 60,
            10 * DAY - 4 * 60,
        ),
        // B: commits unknown to rodeo, reviewed 1 h, deployed 30 min after merge.
        merged_pr(1, "b", "Bo", None, 10 * DAY - 90, 10 * DAY - 30),
        ship(1, "x", "Ada", 10 * DAY - 600),
        // C: first deployed by 1; shipping it again in 2 changes nothing.
        merged_pr(1, "c", "Cy", Some(9 * DAY), 9 * DAY + 60, 9 * DAY + 120),
        merged_pr(2, "c", "Cy", Some(9 * DAY), 9 * DAY + 60, 9 * DAY + 120),
        // D: a commit authored after the pull request opened (a rebase): coding 0 s.
        merged_pr(2, "d", "Di", Some(11 * DAY + 30), 11 * DAY, 11 * DAY + 60),
        // A bot's pull request is left out and counted.
        merged_pr(
            2,
            "e",
            "dependabot[bot]",
            Some(11 * DAY),
            11 * DAY,
            11 * DAY + 10,
        ),
        // Outside the window.
        merged_pr(3, "f", "Ada", Some(39 * DAY), 39 * DAY, 39 * DAY + 60),
    ];
    let stages = run(&f).lead_time.stages.unwrap();
    assert_eq!(
        (stages.pull_requests, stages.excluded_bot_pull_requests),
        (4, 1)
    );
    // coding: A 36000, C 3600, D -1800 -> 0; sorted [0, 3600, 36000]
    assert_eq!(stages.coding.count, 3);
    assert_eq!(stages.coding.negative_spans, 1);
    assert_eq!(stages.coding.median_seconds, Some(3600));
    // p90 at rank 0.9 * 2 = 1.8: 3600 + 0.8 * (36000 - 3600) = 29520
    assert_eq!(stages.coding.p90_seconds, Some(29520));
    // review: A 7200, B 3600, C 3600, D 3600
    assert_eq!(stages.review.count, 4);
    assert_eq!(stages.review.median_seconds, Some(3600));
    // p90 at rank 2.7 of [3600, 3600, 3600, 7200]: 3600 + 0.7 * 3600 = 6120
    assert_eq!(stages.review.p90_seconds, Some(6120));
    // deploy: A 14400, B 1800, C 1 day - 2 h = 79200, D 1 day - 1 h = 82800
    assert_eq!(stages.deploy.count, 4);
    // median of [1800, 14400, 79200, 82800] = (14400 + 79200) / 2
    assert_eq!(stages.deploy.median_seconds, Some(46800));
    assert_eq!(stages.deploy.negative_spans, 0);
}

#[test]
fn no_pull_requests_is_no_breakdown() {
    let mut f = facts(vec![dep(1, "api", "production", 10 * DAY)]);
    f.shipments = vec![ship(1, "a", "Ada", 10 * DAY - 60)];
    assert_eq!(run(&f).lead_time.stages, None);
}

#[test]
fn many_services_split_over_threads_agree_with_one_at_a_time() {
    // 40 services (more than one thread's share), each with its own rhythm.
    let mut all = Facts::default();
    let mut each = Vec::new();
    let mut id = 0;
    for s in 0..40i64 {
        let service = format!("svc-{s:02}");
        let mut mine = Facts::default();
        for k in 0..(s % 5 + 1) {
            id += 1;
            let mut d = dep(id, &service, "production", (k + 1) * DAY + s * 7);
            if (s + k) % 6 == 0 {
                d = kind(d, DeploymentKind::Hotfix);
            }
            let shipped = ship(id, &format!("{s}-{k}"), "Ada", (k + 1) * DAY - s * 11);
            mine.deployments.push(d);
            mine.shipments.push(shipped);
        }
        all.deployments.extend(mine.deployments.iter().cloned());
        all.shipments.extend(mine.shipments.iter().cloned());
        each.push((service, run(&mine)));
    }
    let together: Vec<(String, rodeo_metrics::Dora)> =
        dora_by_service(&all, march(), &BotPatterns::default())
            .into_iter()
            .map(|(n, d)| (n.to_string(), d))
            .collect();
    assert_eq!(together, each, "in name order, each as computed alone");
}
