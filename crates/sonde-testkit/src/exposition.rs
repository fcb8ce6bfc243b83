//! The reference exposition parsers: `promtool check metrics` for the text
//! format and Python's `prometheus_client` for text and OpenMetrics.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::{peers, ChildGuard};

/// What `promtool check metrics` said of an input.
#[derive(Debug)]
pub struct PromtoolVerdict {
    /// Its exit code: 0 clean, 1 a parse error, 3 lint problems.
    pub code: i32,
    /// What it printed (stdout and stderr).
    pub report: String,
}

/// Runs `promtool check metrics` on `input`; `None` (after
/// [`peers::missing`]) when promtool is not installed.
pub fn promtool_check(input: &str) -> Option<PromtoolVerdict> {
    let promtool = peers::program("promtool")?;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child.stdin.take().expect("piped").write_all(input.as_bytes()).expect("promtool reads its input");
    let out = child.wait_with_output().expect("promtool ends");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some(PromtoolVerdict { code: out.status.code().unwrap_or(-1), report })
}

/// The Python parser (`tests/peers/parse_exposition.py`), started once and
/// fed one document per line.
struct Python {
    _child: ChildGuard,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

static PYTHON: Mutex<Option<Python>> = Mutex::new(None);

/// Parses `body` with `prometheus_client` as `format` (`"text"` or
/// `"openmetrics"`): `Ok` with the script's answer (`samples`, `exposition`
/// arrays) or `Err` with the parser's error. `None` (after
/// [`peers::missing`]) without the Python peer.
pub fn python_parse(format: &str, body: &str) -> Option<Result<serde_json::Value, String>> {
    let mut guard = PYTHON.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        let python = peers::python_with("prometheus_client")?;
        let script = peers::workspace_root().join("tests/peers/parse_exposition.py");
        let mut child =
            ChildGuard::spawn(Command::new(python).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()));
        let stdin = child.0.stdin.take().expect("piped");
        let stdout = BufReader::new(child.0.stdout.take().expect("piped"));
        *guard = Some(Python { _child: child, stdin, stdout });
    }
    let p = guard.as_mut().expect("started above");
    let request = serde_json::json!({"format": format, "body": body});
    writeln!(p.stdin, "{request}").expect("the parser reads");
    let mut line = String::new();
    p.stdout.read_line(&mut line).expect("the parser answers");
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    Some(if v["ok"] == true { Ok(v) } else { Err(v["error"].as_str().unwrap_or("?").to_owned()) })
}
