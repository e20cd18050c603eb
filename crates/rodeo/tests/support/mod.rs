//! Runs the real `rodeo` binary as a child process, as an operator would: a free port on
//! 127.0.0.1, stderr captured in a file, stdout read line by line, readiness polled on
//! `/healthz` against a deadline. The child is killed if a test panics.

#![allow(dead_code)] // each test file uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::{timeout_at, Instant};

/// How long the binary may take to start or to print what a test waits for; generous
/// because the machine is shared.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// A port nobody listens on right now. `--listen 127.0.0.1:0` would work, but the
/// chosen port is only logged; a port freed a moment ago is simpler to know.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running `rodeo` process.
pub(crate) struct Rodeo {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: PathBuf,
    pub(crate) url: String,
    http: reqwest::Client,
}

impl Rodeo {
    /// Starts `rodeo <args> --listen 127.0.0.1:<free port>`. The environment is the
    /// test's minus every `RODEO_*` variable and `NO_COLOR`, plus `env`; stderr goes to `stderr`.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)], stderr: &Path) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rodeo"));
        cmd.args(args)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr).unwrap())
            .kill_on_drop(true);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("RODEO_") || k == "NO_COLOR" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdout,
            stderr: stderr.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    /// `rodeo serve` on the SQLite file `db`.
    pub(crate) fn serve(db: &Path, env: &[(&str, &str)], stderr: &Path) -> Self {
        let url = format!("sqlite://{}", db.display());
        Self::start(&["serve", "--database-url", &url], env, stderr)
    }

    /// The next line the process prints on stdout.
    pub(crate) async fn stdout_line(&mut self) -> String {
        match timeout_at(Instant::now() + DEADLINE, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("rodeo closed stdout; stderr:\n{}", self.stderr()),
            Ok(Err(e)) => panic!("reading rodeo's stdout: {e}"),
            Err(_) => panic!(
                "rodeo printed nothing for {DEADLINE:?}; stderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// The first admin token, as a first start prints it on stdout.
    pub(crate) async fn admin_token(&mut self) -> String {
        loop {
            let line = self.stdout_line().await;
            if let Some(t) = line.trim().strip_prefix("rodeo_") {
                return format!("rodeo_{t}");
            }
        }
    }

    /// Waits until `/healthz` answers 200, failing if the process exits first.
    pub(crate) async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        let url = format!("{}/healthz", self.url);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("rodeo exited with {status}; stderr:\n{}", self.stderr());
            }
            let answer = self
                .http
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "rodeo was not healthy within {DEADLINE:?}; stderr:\n{}",
                self.stderr()
            );
            // Not a wait for work: the interval between two readiness probes.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGKILL, as a crash would end the process, reaps it, and returns what it
    /// wrote to stderr.
    pub(crate) async fn kill(mut self) -> String {
        self.child.kill().await.unwrap();
        self.stderr()
    }

    /// What the process wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
