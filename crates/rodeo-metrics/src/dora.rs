//! DORA's five keys over a window. The definitions are in `docs/metrics.md`; each
//! function below implements one of them and says which.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rodeo_domain::{DeploymentKind, DeploymentStatus, ServiceName, Timestamp};

use crate::bands::{median_band, Band, BANDS};
use crate::bots::BotPatterns;
use crate::facts::{
    Facts, FirstShipment, IncidentKind, ProdDeployment, PullRequestShipment, PullRequestTimes,
};
use crate::stats::{median, quantile, quantile_of_sorted};
use crate::window::Window;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeploymentFrequency {
    pub count: u32,
    pub per_day: Option<f64>,
    pub per_week: Option<f64>,
    /// Of the window's 24-hour slices, the share with at least one deployment.
    pub deploy_days_ratio: Option<f64>,
    /// Between consecutive production deployments of a service.
    pub median_interval_seconds: Option<i64>,
    pub band: Option<Band>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeadTime {
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub count: u32,
    pub excluded_bot_commits: u32,
    /// Commits whose first deployment finished before they were committed (clock
    /// skew), counted as 0 s.
    pub negative_spans: u32,
    pub band: Option<Band>,
    /// Where the time went, from pull-request data; `None` when no merged pull request
    /// was first deployed in the window.
    pub stages: Option<LeadTimeStages>,
}

/// Lead time split at a pull request's milestones, over the merged pull requests whose
/// merge commit's first production deployment finished in the window (per service).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeadTimeStages {
    pub pull_requests: u32,
    /// Pull requests opened by authors matching the bot patterns, left out.
    pub excluded_bot_pull_requests: u32,
    /// First commit -> pull request opened (only pull requests whose commits rodeo
    /// knows; a commit authored after the pull request opened counts as 0 s).
    pub coding: Stage,
    /// Opened -> merged.
    pub review: Stage,
    /// Merged -> first production deployment.
    pub deploy: Stage,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stage {
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub count: u32,
    /// Spans that came out negative (clock skew) and count as 0 s.
    pub negative_spans: u32,
}

impl Stage {
    fn of(spans: Vec<f64>) -> Self {
        let negative_spans = spans.iter().filter(|s| **s < 0.0).count() as u32;
        let mut spans: Vec<f64> = spans.into_iter().map(|s| s.max(0.0)).collect();
        spans.sort_unstable_by(f64::total_cmp);
        Self {
            median_seconds: quantile_of_sorted(&spans, 0.5).map(round),
            p90_seconds: quantile_of_sorted(&spans, 0.9).map(round),
            count: spans.len() as u32,
            negative_spans,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangeFailureRate {
    pub ratio: Option<f64>,
    pub failed: u32,
    pub total: u32,
    pub band: Option<Band>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecoveryTime {
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub count: u32,
    /// Failed deployments finished in the window with no recovery yet.
    pub unrecovered: u32,
    pub band: Option<Band>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReworkRate {
    pub ratio: Option<f64>,
    pub rework: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dora {
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub recovery_time: RecoveryTime,
    pub rework_rate: ReworkRate,
}

/// The five keys for everything in `facts` (one service, a team's or all).
pub fn dora(facts: &Facts, window: Window, bots: &BotPatterns) -> Dora {
    let history = History::new(facts);
    dora_of(facts, &history, window, bots)
}

/// [`dora`] for several windows (a window and the one before it) over the same facts,
/// ordering the history once.
pub fn dora_in(facts: &Facts, windows: &[Window], bots: &BotPatterns) -> Vec<Dora> {
    let history = History::new(facts);
    windows
        .iter()
        .map(|w| dora_of(facts, &history, *w, bots))
        .collect()
}

fn dora_of(facts: &Facts, history: &History<'_>, window: Window, bots: &BotPatterns) -> Dora {
    Dora {
        deployment_frequency: deployment_frequency(history, window),
        lead_time: lead_time(facts, window, bots),
        change_failure_rate: change_failure_rate(history, window),
        recovery_time: recovery_time(history, window),
        rework_rate: rework_rate(history, window),
    }
}

/// The deployments that reached production, in order per service and environment,
/// with the incidents that name each as a cause.
struct History<'a> {
    /// (service, environment) -> deployments by `finished_at`, then id.
    lanes: BTreeMap<(&'a str, &'a str), Vec<&'a ProdDeployment>>,
    by_id: HashMap<i64, &'a ProdDeployment>,
    /// deployment id -> when each real incident naming it as a cause was mitigated
    /// (`resolved_at` when never mitigated; `None` while neither).
    caused: HashMap<i64, Vec<Option<Timestamp>>>,
}

impl<'a> History<'a> {
    fn new(facts: &'a Facts) -> Self {
        let mut lanes: BTreeMap<_, Vec<&ProdDeployment>> = BTreeMap::new();
        let mut by_id = HashMap::new();
        for d in facts.deployments.iter().filter(|d| d.reached_production()) {
            lanes
                .entry((d.service.as_str(), d.environment.as_str()))
                .or_default()
                .push(d);
            by_id.insert(d.id, d);
        }
        for lane in lanes.values_mut() {
            lane.sort_by_key(|d| (d.finished_at, d.id));
        }
        let mut caused: HashMap<i64, Vec<Option<Timestamp>>> = HashMap::new();
        for i in facts
            .incidents
            .iter()
            .filter(|i| i.kind == IncidentKind::Real)
        {
            for cause in &i.causes {
                caused
                    .entry(*cause)
                    .or_default()
                    .push(i.mitigated_at.or(i.resolved_at));
            }
        }
        Self {
            lanes,
            by_id,
            caused,
        }
    }

    /// Each deployment that reached production with the one after it in its lane.
    fn with_next(
        &self,
    ) -> impl Iterator<Item = (&'a ProdDeployment, Option<&'a ProdDeployment>)> + '_ {
        self.lanes.values().flat_map(|lane| {
            lane.iter()
                .enumerate()
                .map(move |(i, d)| (*d, lane.get(i + 1).copied()))
        })
    }

    /// Definition 3: rolled back (its status, or the next deployment is a rollback),
    /// followed by a hotfix, or named as the cause of a real incident.
    fn failed(&self, d: &ProdDeployment, next: Option<&ProdDeployment>) -> bool {
        d.status == DeploymentStatus::RolledBack
            || next.is_some_and(|n| {
                matches!(n.kind, DeploymentKind::Rollback | DeploymentKind::Hotfix)
            })
            || self.caused.contains_key(&d.id)
    }

    /// Definition 4: the earliest of the next deployment that reached production and the
    /// linked incidents' mitigation.
    fn recovered_at(&self, d: &ProdDeployment, next: Option<&ProdDeployment>) -> Option<Timestamp> {
        let incidents = self.caused.get(&d.id).into_iter().flatten().flatten();
        next.map(|n| n.finished_at)
            .into_iter()
            .chain(incidents.copied())
            .min()
    }
}

/// Definition 1.
fn deployment_frequency(history: &History<'_>, window: Window) -> DeploymentFrequency {
    let mut per_service: BTreeMap<&str, Vec<Timestamp>> = BTreeMap::new();
    for d in history
        .by_id
        .values()
        .filter(|d| window.contains(d.finished_at))
    {
        per_service
            .entry(d.service.as_str())
            .or_default()
            .push(d.finished_at);
    }
    let count: usize = per_service.values().map(Vec::len).sum();
    if count == 0 {
        return DeploymentFrequency {
            count: 0,
            per_day: None,
            per_week: None,
            deploy_days_ratio: None,
            median_interval_seconds: None,
            band: None,
        };
    }
    let days = window.days();
    let mut slices = BTreeSet::new();
    let mut intervals = Vec::new();
    let mut bands = Vec::new();
    for times in per_service.values_mut() {
        times.sort();
        slices.extend(times.iter().map(|t| window.day_of(*t)));
        intervals.extend(times.windows(2).map(|w| seconds(w[1] - w[0])));
        bands.push(BANDS.deployment_frequency(times.len() as f64 / days));
    }
    let per_day = count as f64 / days;
    DeploymentFrequency {
        count: count as u32,
        per_day: Some(per_day),
        per_week: Some(per_day * 7.0),
        deploy_days_ratio: Some(slices.len() as f64 / window.day_count() as f64),
        median_interval_seconds: median(&intervals).map(round),
        band: median_band(&bands),
    }
}

/// Each shipped commit's first production deployment per service, from `shipments`
/// and the deployments in `facts` that reached production: what the stores' rollup
/// holds, computed from raw facts (tests and the conformance suite compare the two).
pub fn first_shipments(facts: &Facts) -> Vec<FirstShipment> {
    let mut out: Vec<FirstShipment> = firsts_of(facts).into_values().map(|(f, _)| f).collect();
    out.sort_by(|a, b| {
        (
            a.service.as_str(),
            a.deployed_at,
            a.deployment_id,
            a.committed_at,
        )
            .cmp(&(
                b.service.as_str(),
                b.deployed_at,
                b.deployment_id,
                b.committed_at,
            ))
    });
    out
}

/// The merged pull requests among `shipments` at their merge commit's first production
/// deployment per service: what the stores read next to [`first_shipments`].
pub fn pull_request_shipments(facts: &Facts) -> Vec<PullRequestShipment> {
    let mut out: Vec<PullRequestShipment> = firsts_of(facts)
        .into_values()
        .filter_map(|(f, pr)| {
            pr.map(|times| PullRequestShipment {
                service: f.service,
                deployed_at: f.deployed_at,
                times,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.service.as_str(), a.deployed_at, a.times.merged_at).cmp(&(
            b.service.as_str(),
            b.deployed_at,
            b.times.merged_at,
        ))
    });
    out
}

/// (service, sha) -> its first production deployment, and the pull request it merges.
fn firsts_of(facts: &Facts) -> HashMap<(&str, &str), (FirstShipment, Option<PullRequestTimes>)> {
    let reached: HashMap<i64, &ProdDeployment> = facts
        .deployments
        .iter()
        .filter(|d| d.reached_production())
        .map(|d| (d.id, d))
        .collect();
    let mut first: HashMap<(&str, &str), (FirstShipment, Option<PullRequestTimes>)> =
        HashMap::new();
    for s in &facts.shipments {
        let Some(d) = reached.get(&s.deployment_id) else {
            continue; // not a production deployment, or it never reached production
        };
        let candidate = FirstShipment {
            service: std::sync::Arc::new(d.service.clone()),
            deployment_id: d.id,
            deployed_at: d.finished_at,
            committed_at: s.committed_at,
            author: std::sync::Arc::from(s.author.as_str()),
        };
        first
            .entry((d.service.as_str(), s.sha.as_str()))
            .and_modify(|(e, pr)| {
                if (candidate.deployed_at, candidate.deployment_id)
                    < (e.deployed_at, e.deployment_id)
                {
                    *e = candidate.clone();
                    *pr = s.pull_request.clone();
                }
            })
            .or_insert((candidate, s.pull_request.clone()));
    }
    first
}

/// Definition 2.
fn lead_time(facts: &Facts, window: Window, bots: &BotPatterns) -> LeadTime {
    let (derived, derived_prs);
    let (firsts, prs): (&[FirstShipment], &[PullRequestShipment]) = if facts.shipments.is_empty() {
        (&facts.first_shipments, &facts.pull_requests)
    } else {
        derived = first_shipments(facts);
        derived_prs = pull_request_shipments(facts);
        (&derived, &derived_prs)
    };
    // Authors are shared `Arc`s (one per name as read), so the bot check is cached by
    // address: hashing a pointer per commit instead of a name.
    let mut is_bot: HashMap<*const u8, bool> = HashMap::new();
    let (mut spans, mut bots_excluded, mut negative) = (Vec::new(), 0, 0);
    for f in firsts.iter().filter(|f| window.contains(f.deployed_at)) {
        let bot = *is_bot
            .entry(f.author.as_ptr())
            .or_insert_with(|| bots.matches(&f.author));
        if bot {
            bots_excluded += 1;
            continue;
        }
        let span = seconds(f.deployed_at - f.committed_at);
        if span < 0.0 {
            negative += 1;
        }
        spans.push(span.max(0.0));
    }
    spans.sort_unstable_by(f64::total_cmp);
    let median_seconds = quantile_of_sorted(&spans, 0.5);
    LeadTime {
        median_seconds: median_seconds.map(round),
        p90_seconds: quantile_of_sorted(&spans, 0.9).map(round),
        count: spans.len() as u32,
        excluded_bot_commits: bots_excluded,
        negative_spans: negative,
        band: median_seconds.map(|m| BANDS.lead_time(m)),
        stages: stages(
            prs.iter().filter(|p| window.contains(p.deployed_at)),
            &mut is_bot,
            bots,
        ),
    }
}

/// Definition 2's per-stage breakdown: each merged pull request at the first production
/// deployment of its merge commit.
fn stages<'a>(
    pull_requests: impl Iterator<Item = &'a PullRequestShipment>,
    is_bot: &mut HashMap<*const u8, bool>,
    bots: &BotPatterns,
) -> Option<LeadTimeStages> {
    let (mut coding, mut review, mut deploy, mut excluded) =
        (Vec::new(), Vec::new(), Vec::new(), 0);
    let mut any = false;
    for p in pull_requests {
        any = true;
        let (pr, deployed_at) = (&p.times, &p.deployed_at);
        let bot = *is_bot
            .entry(pr.author.as_ptr())
            .or_insert_with(|| bots.matches(&pr.author));
        if bot {
            excluded += 1;
            continue;
        }
        if let Some(first) = pr.first_commit_at {
            coding.push(seconds(pr.opened_at - first));
        }
        review.push(seconds(pr.merged_at - pr.opened_at));
        deploy.push(seconds(*deployed_at - pr.merged_at));
    }
    if !any {
        return None;
    }
    Some(LeadTimeStages {
        pull_requests: review.len() as u32,
        excluded_bot_pull_requests: excluded,
        coding: Stage::of(coding),
        review: Stage::of(review),
        deploy: Stage::of(deploy),
    })
}

/// Definition 3.
fn change_failure_rate(history: &History<'_>, window: Window) -> ChangeFailureRate {
    let (mut total, mut failed) = (0u32, 0u32);
    for (d, next) in history.with_next() {
        if window.contains(d.finished_at) {
            total += 1;
            failed += u32::from(history.failed(d, next));
        }
    }
    let ratio = (total > 0).then(|| f64::from(failed) / f64::from(total));
    ChangeFailureRate {
        ratio,
        failed,
        total,
        band: ratio.map(|r| BANDS.change_failure_rate(r)),
    }
}

/// Definition 4.
fn recovery_time(history: &History<'_>, window: Window) -> RecoveryTime {
    let (mut times, mut unrecovered) = (Vec::new(), 0u32);
    for (d, next) in history.with_next() {
        if !history.failed(d, next) {
            continue;
        }
        match history.recovered_at(d, next) {
            Some(at) if window.contains(at) => times.push(seconds(at - d.finished_at).max(0.0)),
            Some(_) => {}
            None if window.contains(d.finished_at) => unrecovered += 1,
            None => {}
        }
    }
    let median_seconds = median(&times);
    RecoveryTime {
        median_seconds: median_seconds.map(round),
        p90_seconds: quantile(&times, 0.9).map(round),
        count: times.len() as u32,
        unrecovered,
        band: median_seconds.map(|m| BANDS.recovery_time(m)),
    }
}

/// Definition 5. Detected rollbacks are stored with kind `rollback`, so they count.
fn rework_rate(history: &History<'_>, window: Window) -> ReworkRate {
    let in_window: Vec<_> = history
        .by_id
        .values()
        .filter(|d| window.contains(d.finished_at))
        .collect();
    let rework = in_window
        .iter()
        .filter(|d| matches!(d.kind, DeploymentKind::Hotfix | DeploymentKind::Rollback))
        .count() as u32;
    let total = in_window.len() as u32;
    ReworkRate {
        ratio: (total > 0).then(|| f64::from(rework) / f64::from(total)),
        rework,
        total,
    }
}

/// The five keys per service, for every service with facts, in name order.
pub fn dora_by_service(
    facts: &Facts,
    window: Window,
    bots: &BotPatterns,
) -> Vec<(ServiceName, Dora)> {
    dora_by_service_in(facts.clone(), &[window], bots)
        .into_iter()
        .filter_map(|(s, mut d)| d.pop().map(|d| (s, d)))
        .collect()
}

/// [`dora_by_service`] for several windows (a window and the one before it): the facts
/// are split by service once, by moving them, not copying.
pub fn dora_by_service_in(
    facts: Facts,
    windows: &[Window],
    bots: &BotPatterns,
) -> Vec<(ServiceName, Vec<Dora>)> {
    let mut split: BTreeMap<ServiceName, Facts> = BTreeMap::new();
    let mut service_of: HashMap<i64, ServiceName> = HashMap::new();
    for d in facts.deployments {
        service_of.insert(d.id, d.service.clone());
        match split.get_mut(&d.service) {
            Some(f) => f.deployments.push(d),
            None => {
                let name = d.service.clone();
                split.insert(
                    name,
                    Facts {
                        deployments: vec![d],
                        ..Facts::default()
                    },
                );
            }
        }
    }
    for s in facts.shipments {
        if let Some(f) = service_of
            .get(&s.deployment_id)
            .and_then(|n| split.get_mut(n))
        {
            f.shipments.push(s);
        }
    }
    let mut split: Vec<(ServiceName, Facts)> = split.into_iter().collect();
    // First shipments come in runs of one service sharing one `Arc` (as the stores read
    // them): look a service up when the run changes, not for each of half a million.
    let mut same_run = RunLookup::default();
    for s in facts.first_shipments {
        if let Some(f) = same_run.get(&mut split, &s.service) {
            f.first_shipments.push(s);
        }
    }
    let mut same_run = RunLookup::default();
    for p in facts.pull_requests {
        if let Some(f) = same_run.get(&mut split, &p.service) {
            f.pull_requests.push(p);
        }
    }
    for i in facts.incidents {
        // Each service sees the incident through the causes among its deployments.
        let services: BTreeSet<&ServiceName> =
            i.causes.iter().filter_map(|c| service_of.get(c)).collect();
        for service in services {
            if let Some(at) = place(&split, service) {
                split[at].1.incidents.push(i.clone());
            }
        }
    }
    let each = |part: &[(ServiceName, Facts)]| -> Vec<(ServiceName, Vec<Dora>)> {
        part.iter()
            .map(|(service, f)| {
                let all = windows.iter().map(|w| dora(f, *w, bots)).collect();
                (service.clone(), all)
            })
            .collect()
    };
    // Services are independent: an organisation's two halves on two threads.
    if split.len() < 16 {
        return each(&split);
    }
    let (a, b) = split.split_at(split.len() / 2);
    std::thread::scope(|scope| {
        let second = scope.spawn(|| each(b));
        let mut out = each(a);
        match second.join() {
            Ok(rest) => out.extend(rest),
            // A panic in the other half: recompute it here, where it will surface.
            Err(_) => out.extend(each(b)),
        }
        out
    })
}

/// Finds a service's place in the split (sorted by name), remembering the last service
/// `Arc` it found so a run of items sharing it skips the search.
#[derive(Default)]
struct RunLookup {
    last: Option<(*const ServiceName, usize)>,
}

impl RunLookup {
    fn get<'m>(
        &mut self,
        split: &'m mut [(ServiceName, Facts)],
        service: &Arc<ServiceName>,
    ) -> Option<&'m mut Facts> {
        let ptr = Arc::as_ptr(service);
        let at = match self.last {
            // The `Arc` is kept alive by the item just moved into the split, so its
            // address cannot be reused for another service while it is remembered.
            Some((p, at)) if p == ptr => at,
            _ => {
                let at = place(split, service)?;
                self.last = Some((ptr, at));
                at
            }
        };
        split.get_mut(at).map(|(_, f)| f)
    }
}

fn place(split: &[(ServiceName, Facts)], service: &ServiceName) -> Option<usize> {
    split.binary_search_by(|(s, _)| s.cmp(service)).ok()
}

fn seconds(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn round(s: f64) -> i64 {
    s.round() as i64
}
