//! A `sonde serve` or `sonde demo` child process for tests and benchmarks:
//! started with its arguments, its printed addresses parsed
//! (`sonde serve: statsd udp at 127.0.0.1:8125` → `"statsd udp"`), stopped
//! by SIGTERM or killed by PID when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Running {
    pub child: Child,
    addrs: HashMap<String, String>,
}

impl Running {
    /// Runs `binary` with `args` and waits until it says it is ready.
    pub fn start(binary: &str, args: &[&str]) -> Self {
        let mut child = Command::new(binary).args(args).stdout(Stdio::piped()).spawn().expect("start sonde");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut addrs = HashMap::new();
        loop {
            let mut line = String::new();
            assert!(out.read_line(&mut line).unwrap() > 0, "sonde exited early");
            if line.contains("ready") || line.contains("press Ctrl-C") {
                break;
            }
            let rest = line.trim().split_once(": ").map(|(_, r)| r).unwrap_or_default();
            if let Some((what, addr)) = rest.split_once(" at ") {
                let addr = addr.trim_start_matches("http://").split('/').next().unwrap_or_default();
                addrs.insert(what.to_owned(), addr.to_owned());
            }
        }
        Self { child, addrs }
    }

    /// `sonde serve` on free loopback ports, plus `extra` arguments.
    pub fn serve(binary: &str, extra: &[&str]) -> Self {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--statsd", "127.0.0.1:0"];
        args.extend(["--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0"]);
        args.extend(extra);
        Self::start(binary, &args)
    }

    /// The address printed for `what` (`"metrics"`, `"statsd tcp"`...).
    pub fn addr(&self, what: &str) -> &str {
        self.addrs.get(what).unwrap_or_else(|| panic!("no {what:?} address among {:?}", self.addrs))
    }

    /// SIGTERM, and a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        assert!(self.child.wait().unwrap().success(), "sonde did not exit cleanly");
    }

    /// Resident memory (Linux).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        kb * 1024
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
