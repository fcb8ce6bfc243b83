//! Finding the real peer programs the tests talk to.
//!
//! Under `SONDE_REQUIRE_PEERS=1` (set by `scripts/test.sh` and CI) a missing
//! peer fails the test; otherwise the test prints why it skips.

use std::path::{Path, PathBuf};
use std::process::Command;

fn required() -> bool {
    std::env::var("SONDE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Reports a missing peer: panics when peers are required, else prints.
pub fn missing(what: &str) {
    if required() {
        panic!("peer {what} is required (SONDE_REQUIRE_PEERS=1) but missing; run scripts/test.sh");
    }
    eprintln!("skipping: peer {what} is not installed (scripts/test.sh installs it)");
}

/// An executable on PATH.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file());
    if found.is_none() {
        missing(name);
    }
    found
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// A Python interpreter that can import `module`: `$SONDE_PYTHON`, the
/// repository's `.venv`, or `python3`.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SONDE_PYTHON").map(PathBuf::from),
        Some(workspace_root().join(".venv/bin/python3")),
        Some(PathBuf::from("python3")),
    ];
    for p in candidates.into_iter().flatten() {
        let ok = Command::new(&p).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    missing(&format!("python module {module}"));
    None
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed (by PID) when dropped.
pub struct Peer(pub std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Prometheus server scraping `target` every second, on a free port, with
/// its data in a fresh temporary directory; `honor_labels` keeps the
/// target's own `job` labels (as for a Pushgateway or a hub). Returns the
/// peer, its `host:port`, and the directory to remove afterwards.
pub fn start_prometheus(prometheus: &Path, target: &str, honor_labels: bool) -> (Peer, String, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sonde-prom-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sonde\n    honor_labels: {honor_labels}\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let peer = Peer(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    (peer, addr, dir)
}
