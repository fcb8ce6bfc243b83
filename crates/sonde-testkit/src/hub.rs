//! A `sonde serve` or `sonde demo` under test: started with its arguments,
//! its printed addresses parsed (`sonde serve: statsd udp at
//! 127.0.0.1:8125` gives `"statsd udp"`), its output kept, and stopped by
//! SIGTERM or killed by PID when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::process::ChildGuard;

/// A running `sonde` process.
pub struct Hub {
    /// The process (killed when dropped).
    pub process: ChildGuard,
    addrs: HashMap<String, String>,
    output: Arc<Mutex<String>>,
}

impl Hub {
    /// Runs `binary` with `args` and waits until it says it is ready.
    pub fn start(binary: &str, args: &[&str]) -> Self {
        Self::start_with_env(binary, args, &[])
    }

    /// As [`Hub::start`], with environment variables.
    pub fn start_with_env(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut process = ChildGuard::spawn(&mut command);
        let output = Arc::new(Mutex::new(String::new()));
        let stderr = process.0.stderr.take().expect("piped stderr");
        let sink = output.clone();
        // Kept and echoed, so a failing test shows what the hub said.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[sonde] {line}");
                sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let mut out = BufReader::new(process.0.stdout.take().expect("piped stdout"));
        let mut addrs = HashMap::new();
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                let said = output.lock().unwrap().clone();
                panic!("sonde exited before it was ready: {said}");
            }
            output.lock().unwrap().push_str(&line);
            if line.contains("ready") || line.contains("press Ctrl-C") {
                break;
            }
            let rest = line.trim().split_once(": ").map(|(_, r)| r).unwrap_or_default();
            if let Some((what, addr)) = rest.split_once(" at ") {
                let addr = addr.trim_start_matches("http://").trim_start_matches("https://");
                let addr = addr.split('/').next().unwrap_or_default();
                addrs.insert(what.to_owned(), addr.to_owned());
            }
        }
        // Keep reading stdout: a closed pipe would fail the hub's later prints.
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                rest.push_str(&String::from_utf8_lossy(&chunk[..n]));
                sink.lock().unwrap().push_str(&rest);
                rest.clear();
            }
        });
        Self { process, addrs, output }
    }

    /// `sonde serve` on free loopback ports (port 0 everywhere), plus `extra`.
    pub fn serve(binary: &str, extra: &[&str]) -> Self {
        Self::start(binary, &Self::serve_args(extra))
    }

    /// The arguments of [`Hub::serve`]: in memory (`--ephemeral`) unless
    /// `extra` names a `--data-dir`, so tests never share the user's data
    /// directory.
    pub fn serve_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--statsd", "127.0.0.1:0"];
        args.extend(["--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0"]);
        if !extra.iter().any(|a| a.starts_with("--data-dir") || *a == "--ephemeral") {
            args.push("--ephemeral");
        }
        args.extend(extra);
        args
    }

    /// SIGKILL, and waits for the exit (up to 10 s): a crash, as far as the
    /// hub's data is concerned.
    pub fn kill(mut self) {
        self.process.signal(libc::SIGKILL);
        self.process.wait_timeout(Duration::from_secs(10)).expect("a killed process exits");
    }

    /// The address printed for `what` (`"metrics"`, `"statsd tcp"`...).
    pub fn addr(&self, what: &str) -> &str {
        self.addrs.get(what).unwrap_or_else(|| panic!("no {what:?} address among {:?}", self.addrs))
    }

    /// Everything the process printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit: the status and
    /// how long the stop took. Panics if the process did not exit.
    pub fn terminate(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        self.process.signal(libc::SIGTERM);
        let status = self
            .process
            .wait_timeout(timeout)
            .unwrap_or_else(|| panic!("sonde did not exit within {timeout:?} of SIGTERM; it said: {}", self.output()));
        (status, start.elapsed())
    }

    /// SIGTERM, and a clean exit (status 0) within 30 s.
    pub fn stop(mut self) {
        let (status, _) = self.terminate(Duration::from_secs(30));
        assert!(status.success(), "sonde did not exit cleanly ({status}): {}", self.output());
    }

    /// Resident memory in bytes.
    pub fn rss_bytes(&self) -> u64 {
        self.process.rss_bytes()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The value of the sample line `series VALUE` in the hub's `/metrics`
    /// (0 if absent).
    pub fn sample(&self, series: &str) -> f64 {
        sample(&crate::http::get(self.addr("metrics"), "/metrics").text(), series)
    }
}

/// The value of the sample line starting with `series ` in an exposition
/// (0 if absent).
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}
