//! The `sonde check` command: exit codes as promtool's, line numbers and
//! severities, bytes that are not UTF-8, the format flag, files and URLs.

use std::io::Write;
use std::process::{Command, Stdio};

/// `sonde check [flags] -` with `input` on stdin: the exit code and stdout.
fn check_stdin(flags: &[&str], input: &[u8]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .arg("check")
        .args(flags)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn sonde_check(input: &str) -> (i32, String) {
    check_stdin(&[], input.as_bytes())
}

/// Exit codes as promtool's: 0 clean, 1 an error, 3 lints only. The full
/// table of cases against promtool and Python's parser is
/// `crates/sonde-check/tests/reference.rs`; this checks the command.
#[test]
fn exit_codes_match_promtool() {
    for (input, want) in [
        ("# HELP up Up.\n# TYPE up gauge\nup 1\n", 0),
        ("# HELP x h\n# TYPE x gauge\nx notanumber\n", 1),
        ("up 1\n", 3),
        ("# HELP c C.\n# TYPE c counter\nc 1\n", 3),
    ] {
        let (code, out) = sonde_check(input);
        assert_eq!(code, want, "sonde check on {input:?}: {out}");
        if let Some(promtool) = sonde_testkit::exposition::promtool_check(input) {
            assert_eq!(promtool.code, want, "promtool on {input:?}: {}", promtool.report);
        }
    }
}

#[test]
fn findings_carry_line_numbers_and_severity() {
    let (code, out) = sonde_check("# HELP x h\n# TYPE x gauge\nx 1\nx{a=\"1\" 2\n");
    assert_eq!(code, 1);
    assert!(out.contains("-:4: unexpected end of label value \"1\""), "{out}");
    assert!(out.contains("sonde check: 4 line(s) of text, 1 finding(s)"), "{out}");
    let (code, out) = sonde_check("# HELP aB A.\n# TYPE aB gauge\naB 1\n");
    assert_eq!(code, 3);
    assert!(out.contains("-:0: aB: metric names should be written in 'snake_case' not 'camelCase' (lint)"), "{out}");
}

/// Bytes that are not UTF-8 are a finding on their line, not a crash.
#[test]
fn invalid_utf8_is_a_finding() {
    let (code, text) = check_stdin(&[], b"# HELP a A.\n# TYPE a gauge\na{x=\"\xff\"} 1\n");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("-:3: invalid UTF-8"), "{text}");
}

/// `--format` overrides detection: an OpenMetrics document without `# EOF`
/// is read as text unless told (where `a_total` is a family of its own,
/// without help), and as OpenMetrics its missing `# EOF` is the finding.
#[test]
fn the_format_flag() {
    let input = "# TYPE a counter\n# HELP a A.\na_total 1\n";
    let run = |flags: &[&str]| check_stdin(flags, input.as_bytes());
    let (code, out) = run(&[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("a_total: no help text (lint)"), "{out}");
    let (code, out) = run(&["--format", "openmetrics"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("must end with # EOF"), "{out}");
}

#[test]
fn our_own_exposition_passes_over_http() {
    let r = sonde::Registry::new();
    r.counter("jobs_total").help("Jobs.").labels(["queue"]).register().unwrap().with(&["a\"b"]).inc();
    r.histogram("wait_seconds").help("Wait.").register().unwrap().observe(0.3);
    r.summary("size_bytes").help("Sizes.").register().unwrap().observe(10.0);
    let mut server = sonde_prometheus::MetricsServer::builder(r).listen("127.0.0.1:0".parse().unwrap()).build();
    let addr = server.start().unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_sonde")).args(["check", &format!("http://{addr}/metrics")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let om = sonde::encode::openmetrics(&sonde::Registry::new().snapshot());
    let (code, text) = sonde_check(&om);
    assert_eq!(code, 0, "OpenMetrics with # EOF: {text}");
}

/// A file is checked and its findings carry its name; an unreadable file or
/// an unreachable URL is a usage error (exit 2) with a message, not a crash.
#[test]
fn files_and_unreachable_targets() {
    let dir = sonde_testkit::peers::temp_dir("check");
    let good = dir.path().join("good.prom");
    std::fs::write(&good, "# HELP up Up.\n# TYPE up gauge\nup 1\n").unwrap();
    let bad = dir.path().join("bad.prom");
    std::fs::write(&bad, "# TYPE up gauge\nup one\n").unwrap();
    let run = |target: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_sonde")).args(["check", target]).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(good.to_str().unwrap());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("3 line(s) of text, 0 finding(s)"), "{out}");
    let (code, out, _) = run(bad.to_str().unwrap());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("{}:2:", bad.display())), "findings name the file and line: {out}");
    let (code, _, err) = run(dir.path().join("missing.prom").to_str().unwrap());
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot read"), "{err}");
    let down = sonde_testkit::ClosedPort::bind();
    let (code, _, err) = run(&format!("http://{}/metrics", down.addr()));
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot fetch"), "{err}");
}
