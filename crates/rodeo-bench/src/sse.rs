//! `rodeo-bench sse-latency`: how long a flag change takes to reach SSE subscribers.
//! Opens `--streams` OFREP event streams with an SDK key, then toggles a flag
//! `--changes` times through the API; each change's latency per stream is from just
//! before the toggle request is sent (so it includes the durable write) to the moment
//! the stream delivers the `refetchEvaluation` event carrying the new version.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

#[derive(Debug, clap::Args)]
pub(crate) struct SseArgs {
    #[arg(long, default_value = "http://127.0.0.1:7777")]
    url: String,
    /// A write token, for the toggles.
    #[arg(long)]
    admin_token: String,
    /// An SDK key of `--env`, for the streams.
    #[arg(long)]
    sdk_key: String,
    #[arg(long, default_value = "production")]
    env: String,
    /// The boolean flag toggled.
    #[arg(long)]
    flag: String,
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    #[arg(long, default_value_t = 20)]
    changes: usize,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Reads one stream, reporting `(version, when)` for every event.
async fn follow(
    client: reqwest::Client,
    url: String,
    key: String,
    ready: mpsc::Sender<()>,
    seen: mpsc::UnboundedSender<(i64, Instant)>,
) -> Result<(), Error> {
    let resp = client.get(url).header("x-api-key", key).send().await?;
    if !resp.status().is_success() {
        return Err(format!("stream answered {}", resp.status()).into());
    }
    let _ = ready.send(()).await;
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    while let Some(chunk) = body.next().await {
        let at = Instant::now();
        text.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            let id = message
                .lines()
                .find_map(|l| l.strip_prefix("id:"))
                .and_then(|v| v.trim().parse::<i64>().ok());
            if let (Some(id), true) = (id, message.contains("refetchEvaluation")) {
                let _ = seen.send((id, at));
            }
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(crate) async fn sse_latency(a: SseArgs) -> Result<(), Error> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.streams + 10)
        .build()?;
    let (ready_tx, mut ready_rx) = mpsc::channel(a.streams);
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let stream_url = format!("{}/ofrep/v1/event-stream", a.url);
    for _ in 0..a.streams {
        let (c, u, k, r, s) = (
            client.clone(),
            stream_url.clone(),
            a.sdk_key.clone(),
            ready_tx.clone(),
            seen_tx.clone(),
        );
        tokio::spawn(async move {
            if let Err(e) = follow(c, u, k, r, s).await {
                eprintln!("stream failed: {e}");
            }
        });
    }
    for _ in 0..a.streams {
        tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
            .await?
            .ok_or("streams closed")?;
    }
    println!("{} streams connected", a.streams);
    let toggle = format!("{}/api/v1/flags/{}/{}/toggle", a.url, a.env, a.flag);
    let mut latencies = Vec::with_capacity(a.streams * a.changes);
    let mut missed = 0usize;
    for i in 0..a.changes {
        let t0 = Instant::now();
        let resp: serde_json::Value = client
            .post(&toggle)
            .bearer_auth(&a.admin_token)
            .json(&serde_json::json!({"enabled": i % 2 == 1}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let version = resp["version"]
            .as_i64()
            .ok_or("no version in the toggle answer")?;
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while got < a.streams {
            match tokio::time::timeout_at(deadline, seen_rx.recv()).await {
                Ok(Some((v, at))) if v == version => {
                    latencies.push(at.duration_since(t0));
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        missed += a.streams - got;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    latencies.sort();
    println!(
        "{} deliveries over {} changes, {missed} missed: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        a.changes,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    Ok(())
}
