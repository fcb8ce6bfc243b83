//! `sonde check` against promtool on the same inputs, and the checks
//! promtool does not make.

use std::io::Write;
use std::process::{Command, Stdio};

fn sonde_check(input: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn promtool(input: &str) -> Option<i32> {
    let bin = sonde_testkit::peers::program("promtool")?;
    let mut child = Command::new(bin)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    Some(child.wait().unwrap().code().unwrap())
}

/// Inputs and whether they are clean. promtool must agree on each.
const TABLE: &[(&str, bool)] = &[
    ("# HELP up Up.\n# TYPE up gauge\nup 1\n", true),
    ("# HELP x_total Xs.\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"\\\\\\n\"} 3 1700000000000\n", true),
    (
        "# HELP h Lat.\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n",
        true,
    ),
    ("# HELP s S.\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 0\ns_count 0\n", true),
    ("# HELP g G.\n# TYPE g gauge\ng +Inf\ng{k=\"v\",} -Inf\n", true),
    ("9bad 1\n", false),
    ("# HELP x h\n# TYPE x gauge\n# TYPE x gauge\nx 1\n", false),
    ("# HELP x h\n# TYPE x gauge\nx{a=\"1\" 1\n", false),
    ("# HELP x h\n# TYPE x gauge\nx notanumber\n", false),
    ("# HELP x h\n# TYPE x gauge\nx{9a=\"1\"} 1\n", false),
    ("# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n", false),
    ("# HELP x h\n# TYPE x thermometer\nx 1\n", false),
    ("# HELP x h\n# HELP x again\n# TYPE x gauge\nx 1\n", false),
    ("up 1\n", false),                               // no help text (a promtool lint)
    ("# HELP c C.\n# TYPE c counter\nc 1\n", false), // counter without _total (a promtool lint)
];

#[test]
fn agrees_with_promtool_on_good_and_bad_inputs() {
    for (input, clean) in TABLE {
        let (code, out) = sonde_check(input);
        assert_eq!(code == 0, *clean, "sonde check on {input:?}: {out}");
        if let Some(pt) = promtool(input) {
            assert_eq!(pt == 0, *clean, "promtool on {input:?} exited {pt}");
        }
    }
}

#[test]
fn findings_carry_line_numbers() {
    let (code, out) = sonde_check("# HELP x h\n# TYPE x gauge\nx 1\nx{a=\"1\" 2\n");
    assert_eq!(code, 1);
    assert!(out.contains("-:4: expected ',' or '}' after a label value"), "{out}");
    assert!(out.contains("sonde check: 4 line(s), 1 finding(s)"), "{out}");
}

#[test]
fn histogram_and_duplicate_checks_beyond_promtool() {
    let cases: &[(&str, &str)] = &[
        ("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n", "not cumulative"),
        ("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "no +Inf bucket"),
        ("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "_count 3 differs from the +Inf bucket 2"),
        ("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not sorted by le"),
        ("# HELP x h\n# TYPE x gauge\nx 1\nx 2\n", "duplicate series"),
        ("# HELP a h\n# TYPE a gauge\na 1\n# HELP b h\n# TYPE b gauge\nb 1\na{k=\"v\"} 2\n", "not grouped together"),
    ];
    for (input, want) in cases {
        let (code, out) = sonde_check(input);
        assert_eq!(code, 1, "{input:?}: {out}");
        assert!(out.contains(want), "{input:?}: want {want:?} in {out}");
    }
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
    assert!(out.contains("3 line(s), 0 finding(s)"), "{out}");
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
