//! `sonde rules test` and `sonde rules check` give promtool's verdicts:
//! every unit-test file under `tests/promtool/` passes or fails in both
//! (and as its name says: `*_pass` or `*_fail`), and every rule file is
//! valid or not in both.

use std::path::{Path, PathBuf};
use std::process::Command;

use sonde_testkit::peers;

fn files(suffix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promtool");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    out
}

fn promtool_ok(args: &[&str], file: &Path) -> bool {
    let mut promtool = Command::new("promtool");
    promtool.args(args).arg(file.file_name().unwrap()).current_dir(file.parent().unwrap());
    promtool.output().expect("promtool runs").status.success()
}

#[test]
fn unit_test_verdicts_match_promtool() {
    let tests = files(".test.yml");
    assert!(tests.len() >= 8, "{tests:?}");
    let promtool = peers::program("promtool").is_some();
    let (mut passes, mut fails) = (0, 0);
    for file in tests {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let report = sonde_rules::run_unit_tests(&file);
        let expected = name.ends_with("_pass.test.yml");
        assert_eq!(report.passed(), expected, "{name}: sonde says {:#?}", report.failures);
        if expected {
            passes += 1;
        } else {
            fails += 1;
        }
        if promtool {
            assert_eq!(promtool_ok(&["test", "rules"], &file), expected, "{name}: promtool disagrees with its name");
        }
    }
    assert!(passes >= 3 && fails >= 5, "{passes} passing and {fails} failing files");
}

#[test]
fn rule_file_verdicts_match_promtool() {
    let promtool = peers::program("promtool").is_some();
    for file in files("rules.yml") {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let ours = sonde_rules::load(&file);
        assert_eq!(ours.is_ok(), !name.starts_with("bad"), "{name}: {ours:?}");
        if promtool {
            assert_eq!(promtool_ok(&["check", "rules"], &file), ours.is_ok(), "{name}");
        }
    }
}

/// The rules the project ships (`rules/`: the hub's own health, the
/// demo's) pass their unit tests in both, and promtool checks them clean.
#[test]
fn the_shipped_rules_pass_their_tests_in_both() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let mut tested = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".test.yml") else { continue };
        let report = sonde_rules::run_unit_tests(&file);
        assert!(report.passed(), "{name}: {:#?}", report.failures);
        if peers::program("promtool").is_some() {
            assert!(promtool_ok(&["test", "rules"], &file), "{name} in promtool");
            assert!(promtool_ok(&["check", "rules"], &file.with_file_name(format!("{stem}.rules.yml"))));
        }
        tested += 1;
    }
    assert_eq!(tested, 2, "rules/ holds sonde-hub and demo tests");
}
