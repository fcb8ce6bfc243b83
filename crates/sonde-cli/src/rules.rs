//! `sonde rules check FILE...` and `sonde rules test FILE...`: promtool's
//! `check rules` and `test rules`, with its output and exit statuses.

use std::path::PathBuf;

/// What `sonde rules` does.
#[derive(clap::Subcommand)]
pub(crate) enum RulesCommand {
    /// Validate rule files as `promtool check rules` does: YAML shape,
    /// group names, rule kinds, PromQL expressions, names, templates.
    /// Exit status: 0 clean, 1 findings, 2 usage errors.
    Check {
        /// Rule files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run rule unit tests in promtool's format (`rule_files`,
    /// `evaluation_interval`, `input_series`, `alert_rule_test`,
    /// `promql_expr_test`) with promtool's verdicts. Exit status: 0 all
    /// pass, 1 failures, 2 usage errors.
    Test {
        /// Unit-test files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub(crate) fn run(command: RulesCommand) -> u8 {
    let mut failed = false;
    match command {
        RulesCommand::Check { files } => {
            for file in files {
                println!("Checking {}", file.display());
                match sonde_rules::load(&file) {
                    Ok(groups) => {
                        let n: usize = groups.iter().map(|g| g.rules.len()).sum();
                        println!("  SUCCESS: {n} rules found\n");
                    }
                    Err(errors) => {
                        failed = true;
                        eprintln!("  FAILED:");
                        for e in errors {
                            eprintln!("{e}");
                        }
                        eprintln!();
                    }
                }
            }
        }
        RulesCommand::Test { files } => {
            for file in files {
                println!("Unit Testing:  {}", file.display());
                let report = sonde_rules::run_unit_tests(&file);
                if report.passed() {
                    println!("  SUCCESS\n");
                } else {
                    failed = true;
                    eprintln!("  FAILED:");
                    for f in &report.failures {
                        eprintln!("{f}");
                    }
                    eprintln!();
                }
            }
        }
    }
    u8::from(failed)
}
