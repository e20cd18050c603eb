//! `rodeo-bench load-metrics --database-url …`: the dataset of issue 3's metrics
//! benchmark, written through [`Store::execute`] (the same path as the API, minus HTTP):
//! `--services` services in teams of 10, each with a linear history of commits over
//! `--days` days and a production deployment to `prod-eu` and then `prod-us` every day
//! (a few hotfixes and rollbacks among them), 1 % of them the cause of an incident.
//! Prints a read token for querying the loaded database through `rodeo serve`.
//!
//! Deterministic for a seed, so both backends get the same data.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use clap::Parser;
use futures::stream::{self, StreamExt};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rodeo_domain::{
    Command, Commit, DeploymentKind, DeploymentStatus, EnvironmentName, IncidentChange,
    IncidentKind, IncidentRef, IncidentStatus, NewDeployment, NewIncident, Outcome, Scope,
    ServiceName, Severity, Sha, Source, TeamName, Timestamp, WriteContext,
};
use rodeo_store::{Store, Written};

#[derive(Debug, Parser)]
#[command(name = "rodeo-bench")]
enum Cli {
    /// Load the metrics benchmark dataset into an empty database.
    LoadMetrics(LoadArgs),
    /// Time reading the facts and computing the metrics, apart, for one scope.
    Profile(ProfileArgs),
    /// Flag-change delivery latency to many OFREP event streams (issue 4).
    SseLatency(sse::SseArgs),
}

mod sse;

#[derive(Debug, clap::Args)]
struct ProfileArgs {
    #[arg(long)]
    database_url: String,
    /// One service; all when left out.
    #[arg(long)]
    service: Option<String>,
    #[arg(long, default_value_t = 90)]
    days: i64,
}

async fn profile(a: ProfileArgs) -> Result<(), Error> {
    let store = rodeo_server::open_store(&a.database_url).await?;
    let now = rodeo_domain::now();
    let window = rodeo_metrics::Window::ending(now, Duration::days(a.days)).ok_or("window")?;
    let services = match &a.service {
        Some(s) => Some(vec![name(ServiceName::parse(s))?]),
        None => None,
    };
    let q = rodeo_store::FactsQuery {
        services,
        from: window.previous().from,
        to: window.to,
    };
    for _ in 0..3 {
        let t = Instant::now();
        let facts = store.metric_facts(&q).await?;
        let read = t.elapsed();
        let t = Instant::now();
        let bots = rodeo_metrics::BotPatterns::default();
        let d = rodeo_metrics::dora(&facts, window, &bots);
        let whole = t.elapsed();
        let t = Instant::now();
        let per = rodeo_metrics::dora_by_service(&facts, window, &bots);
        let each = t.elapsed();
        println!(
            "facts: {} deployments, {} first shipments, {} incidents read in {:?}; dora {:?}; per service ({}) {:?}; count {}",
            facts.deployments.len(),
            facts.first_shipments.len(),
            facts.incidents.len(),
            read,
            whole,
            per.len(),
            each,
            d.deployment_frequency.count
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
struct LoadArgs {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 200)]
    services: u32,
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// Commits per service per day, on average.
    #[arg(long, default_value_t = 13.7)]
    commits_per_day: f64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Services loaded at the same time.
    #[arg(long, default_value_t = 8)]
    parallel: usize,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = match Cli::parse() {
        Cli::LoadMetrics(a) => a,
        Cli::Profile(a) => return profile(a).await,
        Cli::SseLatency(a) => return sse::sse_latency(a).await.map_err(|e| e.to_string().into()),
    };
    let store = rodeo_server::open_store(&args.database_url).await?;
    let now = rodeo_domain::now();
    let start = now - Duration::days(i64::from(args.days));
    let began = Instant::now();
    setup(&store, &args, now).await?;
    let totals = stream::iter(0..args.services)
        .map(|n| {
            let store = Arc::clone(&store);
            let plan = plan_service(&args, n, start, now);
            async move { load_service(&store, plan, now).await }
        })
        .buffer_unordered(args.parallel)
        .fold(Ok::<_, Error>([0u64; 3]), |acc, r| async move {
            let (mut acc, r) = (acc?, r?);
            for i in 0..3 {
                acc[i] += r[i];
            }
            eprintln!(
                "  {} deployments, {} commits, {} incidents so far ({:.0} s)",
                acc[0],
                acc[1],
                acc[2],
                began.elapsed().as_secs_f64()
            );
            Ok(acc)
        })
        .await?;
    let (_, secret) = rodeo_server::create_token_offline(&store, "bench", Scope::Read).await?;
    println!(
        "loaded {} production deployments, {} commits, {} incidents in {:.0} s",
        totals[0],
        totals[1],
        totals[2],
        began.elapsed().as_secs_f64()
    );
    println!("read token: {secret}");
    store.close().await;
    Ok(())
}

fn ctx(now: Timestamp) -> WriteContext {
    WriteContext::new("bench", Source::System, now)
}

fn name<T>(r: Result<T, rodeo_domain::FieldError>) -> Result<T, Error> {
    r.map_err(|e| e.to_string().into())
}

async fn run(
    store: &Arc<dyn Store>,
    now: Timestamp,
    commands: Vec<Command>,
) -> Result<Vec<Outcome>, Error> {
    match store.execute(ctx(now), commands).await? {
        Written::Applied(o) | Written::Replayed(o) => Ok(o),
        Written::DuplicateDelivery => Ok(Vec::new()),
    }
}

async fn setup(store: &Arc<dyn Store>, args: &LoadArgs, now: Timestamp) -> Result<(), Error> {
    let mut commands = Vec::new();
    for (env, order) in [("staging", 200), ("prod-eu", 300), ("prod-us", 300)] {
        commands.push(Command::CreateEnvironment {
            name: name(EnvironmentName::parse(env))?,
            production: env.starts_with("prod"),
            order,
        });
    }
    for t in 0..args.services.div_ceil(10) {
        commands.push(Command::CreateTeam {
            name: name(TeamName::parse(&format!("team-{t:02}")))?,
            display_name: None,
        });
    }
    for n in 0..args.services {
        commands.push(Command::CreateService {
            name: name(ServiceName::parse(&format!("svc-{n:03}")))?,
            team: Some(name(TeamName::parse(&format!("team-{:02}", n / 10)))?),
            repository: Some(format!("acme/svc-{n:03}")),
        });
    }
    run(store, now, commands).await.map(drop)
}

/// One service's history, ready to send.
struct ServicePlan {
    commits: Vec<Commit>,
    /// In time order.
    deployments: Vec<NewDeployment>,
    /// Index into `deployments` of each incident's cause, with start and mitigation.
    incidents: Vec<(usize, Timestamp, Timestamp)>,
    service: ServiceName,
}

fn sha(service: u32, n: u32) -> Sha {
    Sha::parse(&format!("{service:08x}{n:032x}")).unwrap_or_else(|_| unreachable!())
}

fn plan_service(args: &LoadArgs, n: u32, start: Timestamp, now: Timestamp) -> ServicePlan {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ (u64::from(n) << 20));
    let service = ServiceName::parse(&format!("svc-{n:03}")).unwrap_or_else(|_| unreachable!());
    let total = (f64::from(args.days) * args.commits_per_day) as u32;
    let span = (now - start).num_seconds().max(1);
    let mut commits = Vec::with_capacity(total as usize);
    for i in 0..total {
        let at = start + Duration::seconds(span * i64::from(i) / i64::from(total.max(1)));
        let author = if rng.gen_bool(0.05) {
            "dependabot[bot]".to_owned()
        } else {
            format!("dev-{}", rng.gen_range(0..40))
        };
        commits.push(Commit {
            sha: sha(n, i + 1),
            parents: if i == 0 { vec![] } else { vec![sha(n, i)] },
            author,
            author_email: None,
            authored_at: at - Duration::minutes(rng.gen_range(0..600)),
            committed_at: at,
            message: format!("change {i} of svc-{n:03}"),
            repository: Some(format!("acme/svc-{n:03}")),
            services: vec![],
        });
    }
    let envs = ["prod-eu", "prod-us"]
        .map(|e| EnvironmentName::parse(e).unwrap_or_else(|_| unreachable!()));
    let mut deployments = Vec::new();
    let mut incidents = Vec::new();
    let mut version = 0u32;
    let mut previous_sha: Option<Sha> = None;
    for day in 1..=args.days {
        let day_start = start + Duration::days(i64::from(day));
        let eu = day_start - Duration::hours(14);
        if eu >= now {
            break;
        }
        // The head of main at the time of the deployment.
        let head = commits.partition_point(|c| c.committed_at <= eu - Duration::minutes(30));
        let Some(head) = head.checked_sub(1) else {
            continue;
        };
        let roll_back = rng.gen_bool(0.01) && previous_sha.is_some();
        let (sha, kind) = match (&previous_sha, roll_back) {
            (Some(p), true) => (p.clone(), DeploymentKind::Rollback),
            _ if rng.gen_bool(0.03) => (commits[head].sha.clone(), DeploymentKind::Hotfix),
            _ => (commits[head].sha.clone(), DeploymentKind::Normal),
        };
        version += 1;
        for (k, env) in envs.iter().enumerate() {
            let finished =
                eu + Duration::hours(4 * k as i64) + Duration::minutes(rng.gen_range(0..60));
            if finished >= now {
                continue;
            }
            if k == 0 && kind == DeploymentKind::Normal && rng.gen_bool(0.01) {
                incidents.push((
                    deployments.len(),
                    finished + Duration::minutes(10),
                    finished + Duration::minutes(70),
                ));
            }
            deployments.push(NewDeployment {
                service: service.clone(),
                environment: env.clone(),
                version: format!("1.{version}"),
                commit_sha: sha.clone(),
                status: DeploymentStatus::Succeeded,
                kind,
                started_at: finished - Duration::minutes(5),
                finished_at: Some(finished),
                external_id: None,
                url: None,
                commits: vec![],
            });
        }
        if !roll_back {
            previous_sha = Some(commits[head].sha.clone());
        }
    }
    ServicePlan {
        commits,
        deployments,
        incidents,
        service,
    }
}

/// Sends one service's plan; returns (deployments, commits, incidents).
async fn load_service(
    store: &Arc<dyn Store>,
    plan: ServicePlan,
    now: Timestamp,
) -> Result<[u64; 3], Error> {
    let commits = plan.commits.len() as u64;
    for chunk in plan.commits.chunks(2000) {
        run(
            store,
            now,
            vec![Command::RecordCommits {
                commits: chunk.to_vec(),
            }],
        )
        .await?;
    }
    let mut ids = Vec::with_capacity(plan.deployments.len());
    let deployments = plan.deployments.len() as u64;
    for chunk in plan.deployments.chunks(50) {
        let commands = chunk
            .iter()
            .cloned()
            .map(Command::RecordDeployment)
            .collect();
        for o in run(store, now, commands).await? {
            if let Outcome::Deployment(d) = o {
                ids.push(d.id);
            }
        }
    }
    let mut by_cause: BTreeMap<usize, ()> = BTreeMap::new();
    for (cause, started, mitigated) in &plan.incidents {
        if by_cause.insert(*cause, ()).is_some() {
            continue;
        }
        let open = NewIncident {
            title: format!("errors after {}", plan.deployments[*cause].version),
            severity: Severity::parse("severity", "sev3").map_err(|e| e.to_string())?,
            kind: IncidentKind::Real,
            services: vec![plan.service.clone()],
            environments: vec![],
            started_at: Some(*started),
            detected_at: Some(*started + Duration::minutes(3)),
            roles: BTreeMap::new(),
            summary: None,
            key: None,
            firing: false,
        };
        let Some(Outcome::Incident(i)) = run(store, now, vec![Command::OpenIncident(open)])
            .await?
            .pop()
        else {
            return Err("no incident outcome".into());
        };
        let id = IncidentRef::Id(i.id);
        let steps = vec![
            IncidentChange::Status {
                status: IncidentStatus::Mitigated,
                at: Some(*mitigated),
                note: None,
            },
            IncidentChange::Status {
                status: IncidentStatus::Resolved,
                at: Some(*mitigated + Duration::hours(1)),
                note: None,
            },
            IncidentChange::SetCauses {
                deployments: vec![ids[*cause]],
                automatic: false,
            },
        ];
        let commands = steps
            .into_iter()
            .map(|change| Command::UpdateIncident {
                incident: id.clone(),
                change,
            })
            .collect();
        run(store, now, commands).await?;
    }
    Ok([deployments, commits, by_cause.len() as u64])
}
