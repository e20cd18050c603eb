//! What `rodeo serve` and `rodeo demo` write on stderr when it is not a terminal: human
//! lines without colour codes, or with `[log] format = "json"` one JSON object per line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::Rodeo;

/// Parses every line as a JSON object, failing on the first that is not one.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => v,
            _ => panic!("not a JSON object: {line:?}\nin:\n{log}"),
        })
        .collect()
}

fn messages(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect()
}

/// One way to ask for JSON logs: extra arguments and environment variables.
#[derive(Debug)]
struct JsonLogs {
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
}

/// The two ways: a config file and an environment variable.
fn json_configurations(dir: &Path) -> [JsonLogs; 2] {
    let file = dir.join("rodeo.toml");
    std::fs::write(&file, "[log]\nformat = \"json\"\n").unwrap();
    let file = file.to_str().unwrap().to_owned();
    [
        JsonLogs {
            args: vec!["--config".into(), file],
            env: vec![],
        },
        JsonLogs {
            args: vec![],
            env: vec![("RODEO_LOG__FORMAT", "json")],
        },
    ]
}

#[tokio::test]
async fn human_logs_in_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut rodeo = Rodeo::serve(&dir.path().join("r.db"), &[], &dir.path().join("err"));
    rodeo.wait_healthy().await;
    let log = rodeo.kill().await;
    assert!(log.contains("rodeo is listening"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape sequences in {log:?}");
}

#[tokio::test]
async fn serve_logs_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    for (i, how) in json_configurations(dir.path()).into_iter().enumerate() {
        let db = dir.path().join(format!("r{i}.db"));
        let db_url = format!("sqlite://{}", db.display());
        let mut argv = vec!["serve", "--database-url", &db_url];
        argv.extend(how.args.iter().map(String::as_str));
        let mut rodeo = Rodeo::start(&argv, &how.env, &dir.path().join(format!("err{i}")));
        rodeo.wait_healthy().await;
        let log = rodeo.kill().await;
        let lines = json_lines(&log);
        assert!(
            messages(&lines).contains(&"rodeo is listening"),
            "{how:?}: {log}"
        );
    }
}

#[tokio::test]
async fn demo_logs_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    for (i, how) in json_configurations(dir.path()).into_iter().enumerate() {
        let db = dir.path().join(format!("demo{i}.db"));
        let mut argv = vec![
            "--output",
            "json",
            "demo",
            "--days",
            "7",
            "--database",
            db.to_str().unwrap(),
        ];
        argv.extend(how.args.iter().map(String::as_str));
        let mut rodeo = Rodeo::start(&argv, &how.env, &dir.path().join(format!("err{i}")));
        let ready: Value = serde_json::from_str(&rodeo.stdout_line().await).unwrap();
        assert!(ready["read_token"].is_string(), "{ready}");
        let log = rodeo.kill().await;
        let lines = json_lines(&log);
        // Progress is logged, not drawn, so it cannot break the JSON stream.
        assert!(
            messages(&lines).contains(&"loading the demo history"),
            "{how:?}: {log}"
        );
    }
}
