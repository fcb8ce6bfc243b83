//! Finding the real peer programs the tests talk to.
//!
//! Under `SONDE_REQUIRE_PEERS=1` (set by `scripts/test.sh` and CI) a missing
//! peer fails the test; otherwise the test prints why it skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{self, ChildGuard};

/// A temporary directory removed (with its content) when dropped.
pub use tempfile::TempDir;

/// Whether a missing peer fails the test (`SONDE_REQUIRE_PEERS=1`).
pub fn required() -> bool {
    std::env::var("SONDE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Reports a missing peer: panics when peers are required, else prints.
pub fn missing(what: &str) {
    if required() {
        panic!("peer {what} is required (SONDE_REQUIRE_PEERS=1) but missing; run scripts/install-peers.sh");
    }
    eprintln!("skipping: peer {what} is not installed (scripts/install-peers.sh installs it)");
}

/// An executable on `PATH`, or `None` after [`missing`].
pub fn program(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()));
    if found.is_none() {
        missing(name);
    }
    found
}

/// The repository's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// A Python interpreter that can import `modules` (comma-separated):
/// `$SONDE_PYTHON`, the repository's `.venv`, or `python3`.
pub fn python_with(modules: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SONDE_PYTHON").map(PathBuf::from),
        Some(workspace_root().join(".venv/bin/python3")),
        Some(PathBuf::from("python3")),
    ];
    for p in candidates.into_iter().flatten() {
        let ok = Command::new(&p).args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    missing(&format!("python modules {modules}"));
    None
}

/// An npm package installed in `tests/peers/node_modules`, with Node.js on
/// `PATH`; `None` after [`missing`].
pub fn node_package(name: &str) -> Option<PathBuf> {
    let dir = workspace_root().join("tests/peers/node_modules").join(name);
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if dir.is_dir() && node {
        Some(dir)
    } else {
        missing(&format!("node and the npm package {name}"));
        None
    }
}

/// A temporary directory, removed with everything in it when dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("sonde-{tag}-")).tempdir().expect("temporary directory")
}

/// A self-signed certificate for 127.0.0.1 and localhost made by openssl
/// in `dir`: (`{name}-cert.pem`, `{name}-key.pem`), or `None` after
/// [`missing`]. A test's server and client each take a name of their own.
pub fn self_signed_certificate(dir: &Path, name: &str) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join(format!("{name}-cert.pem")), dir.join(format!("{name}-key.pem")));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .is_ok_and(|o| o.status.success());
    if !made {
        missing("openssl");
        return None;
    }
    Some((cert, key))
}

/// A real Prometheus server, its data in a temporary directory.
pub struct Prometheus {
    /// The server process, killed when dropped.
    pub process: ChildGuard,
    /// Its `host:port`.
    pub addr: String,
    /// Its configuration and data (removed when dropped).
    pub dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second on a port the
    /// kernel picks (read back from `/proc`, so no port is reserved and
    /// freed); `honor_labels` keeps the target's own `job` labels (as for a
    /// Pushgateway or a hub). `flags` are extra command-line flags
    /// (`--enable-feature=...`).
    pub fn start(prometheus: &Path, target: &str, honor_labels: bool, flags: &[&str]) -> Self {
        Self::start_job(prometheus, target, &format!("honor_labels: {honor_labels}"), flags)
    }

    /// As [`Prometheus::start`], the scrape job's other settings given as
    /// YAML lines (`honor_labels: true`, `metric_relabel_configs: [...]`).
    pub fn start_job(prometheus: &Path, target: &str, job: &str, flags: &[&str]) -> Self {
        let dir = temp_dir("prometheus");
        let config = dir.path().join("prometheus.yml");
        let job: String = job.lines().map(|l| format!("    {l}\n")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sonde\n{job}    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let process = ChildGuard::spawn(
            Command::new(prometheus)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
                .arg("--web.listen-address=127.0.0.1:0")
                .args(flags)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let port = process::wait_for_tcp_listener(&process, Duration::from_secs(30));
        Self { process, addr: format!("127.0.0.1:{port}"), dir }
    }

    /// The first sample's value of an instant PromQL query, if any.
    pub fn query_value(&self, promql: &str) -> Option<f64> {
        let v = self.query(promql)?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    /// The JSON answer of an instant PromQL query.
    pub fn query(&self, promql: &str) -> Option<serde_json::Value> {
        let reply = crate::http::get(&self.addr, &format!("/api/v1/query?query={}", crate::http::escape(promql)));
        serde_json::from_slice(&reply.body).ok()
    }
}

/// A real Alertmanager (API v2), clustering off, its data in a temporary
/// directory.
pub struct Alertmanager {
    /// The server process, killed when dropped.
    pub process: ChildGuard,
    /// Its `host:port`.
    pub addr: String,
    /// Its configuration and data (removed when dropped).
    pub dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager on a port the kernel picks, routing every alert
    /// to a receiver that sends nowhere, grouping within a second.
    pub fn start(binary: &Path) -> Self {
        let dir = temp_dir("alertmanager");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: 'null'\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: 'null'\n",
        )
        .expect("write alertmanager.yml");
        let process = ChildGuard::spawn(
            Command::new(binary)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", dir.path().join("data").display()))
                .arg("--web.listen-address=127.0.0.1:0")
                .arg("--cluster.listen-address=")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let port = process::wait_for_tcp_listener(&process, Duration::from_secs(30));
        Self { process, addr: format!("127.0.0.1:{port}"), dir }
    }

    /// The alerts it holds (`GET /api/v2/alerts`: active, silenced and
    /// inhibited, not resolved).
    pub fn alerts(&self) -> serde_json::Value {
        serde_json::from_slice(&crate::http::get(&self.addr, "/api/v2/alerts").body).unwrap_or_default()
    }
}
