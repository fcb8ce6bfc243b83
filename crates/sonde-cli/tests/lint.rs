//! `sonde lint` on fixtures: undeclared, unused and mismatched metrics.

use std::process::Command;

fn lint(specs: &str, sources: &[(&str, &str)]) -> (i32, String) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sonde-lint-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("specs.toml"), specs).unwrap();
    for (name, text) in sources {
        std::fs::write(dir.join("src").join(name), text).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["lint", "--specs"])
        .arg(dir.join("specs.toml"))
        .arg(dir.join("src"))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

const SPECS: &str = r#"
[[metric]]
name = "jobs_total"
kind = "counter"
help = "Jobs."

[[metric]]
name = "queue_depth"
kind = "gauge"
help = "Queued jobs."

[[metric]]
name = "never_used_seconds"
kind = "histogram"
unit = "seconds"
help = "Waits."
"#;

#[test]
fn reports_undeclared_unused_and_mismatched() {
    let (code, out) = lint(
        SPECS,
        &[(
            "app.rs",
            "fn f(r: &sonde::Registry) {\n    r.counter(\"jobs_total\").register().unwrap();\n    r.counter(\"queue_depth\").register().unwrap();\n    metrics::gauge!(\"typo_depth\").set(1.0);\n}\n",
        )],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("app.rs:3: metric \"queue_depth\" is declared as a gauge, used as a counter"), "{out}");
    assert!(out.contains("app.rs:4: undeclared metric \"typo_depth\" (gauge)"), "{out}");
    assert!(out.contains("declared metric \"never_used_seconds\" is never used"), "{out}");
    assert!(out.contains("3 finding(s)"), "{out}");
}

#[test]
fn clean_code_exits_zero() {
    let (code, out) = lint(
        SPECS.replace("never_used_seconds", "wait_seconds").as_str(),
        &[("ok.rs", "r.counter(\"jobs\"); r.gauge(\"queue_depth\"); r.histogram(\"wait_seconds\");\n")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 finding(s)"), "counter names match with or without _total: {out}");
}

#[test]
fn declared_specs_follow_the_naming_rules() {
    let specs = "[[metric]]\nname = \"wait\"\nkind = \"histogram\"\nunit = \"seconds\"\nhelp = \"W.\"\n\n\
                 [[metric]]\nname = \"depth_total\"\nkind = \"gauge\"\n";
    let (code, out) = lint(specs, &[("a.rs", "r.histogram(\"wait\"); r.gauge(\"depth_total\");\n")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("declared metric \"wait\" has unit \"seconds\" but its name does not end in _seconds"),
        "{out}"
    );
    assert!(out.contains("declared metric \"depth_total\" ends in _total, which only counters may"), "{out}");
    assert!(out.contains("declared metric \"depth_total\" has no help text"), "{out}");
    assert!(out.contains("3 finding(s)"), "{out}");
}

#[test]
fn usage_errors_exit_two() {
    let (code, out) = lint("[[metric]]\nname = \"x\"\nkind = \"thermometer\"\n", &[("a.rs", "")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown kind"), "{out}");
    let missing =
        Command::new(env!("CARGO_BIN_EXE_sonde")).args(["lint", "--specs", "/nonexistent.toml", "."]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn the_demo_is_in_step_with_its_spec_list() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["lint", "--specs"])
        .arg(root.join("demo-metrics.toml"))
        .arg(root.join("src/demo.rs"))
        .arg(root.join("../sonde-tower/examples"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
