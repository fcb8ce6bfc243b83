//! Prometheus' recording and alerting rules for Sonde: rule files read and
//! checked as `promtool check rules` checks them ([`load`]), alert
//! templates ([`Template`]), groups evaluated with Prometheus 2.42's alert
//! states ([`Group`]), promtool's rule unit tests ([`run_unit_tests`]), and
//! alerts sent to an Alertmanager's API v2 or a webhook ([`Notifier`]).
//!
//! ```
//! use std::time::Duration;
//! use sonde_promql::{Engine, Labels, MemorySource};
//! use sonde_rules::{load_str, Group};
//!
//! let text = r#"
//! groups:
//!   - name: collector
//!     rules:
//!       - alert: CollectionStalled
//!         expr: increase(telemetry_collection_runs_total[5m]) == 0
//!         for: 2m
//!         annotations: { summary: "no collection run for 5 minutes" }
//! "#;
//! let checked = load_str(text, "rules.yml").map_err(|e| e.join("\n"))?;
//! let mut group = Group::new(checked.into_iter().next().unwrap(), Duration::from_secs(60));
//! let mut source = MemorySource::new();
//! let runs = Labels::new([("__name__", "telemetry_collection_runs_total")]);
//! for minute in 0..=20 {
//!     source.push(&runs, minute * 60_000, 3.0); // stuck at 3
//! }
//! let engine = Engine::default();
//! let mut state = None;
//! for minute in 5..=8 {
//!     group.eval_rule(0, &engine, &source, minute * 60_000);
//!     state = Some(group.rules[0].state());
//! }
//! assert_eq!(state.unwrap().as_str(), "firing");
//! # Ok::<(), String>(())
//! ```

mod file;
mod go_format;
mod group;
mod notify;
mod template;
mod unit;

pub use file::{load, load_str, CheckedGroup, CheckedRule, GroupSpec, RuleFile, RuleSpec};
pub use group::{alert_value, Alert, AlertState, Group, Health, Output, RuleState};
pub use notify::{Notifier, NotifierOptions};
pub use template::{Template, TemplateData};
pub use unit::{run_file as run_unit_tests, UnitReport};
