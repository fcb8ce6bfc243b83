//! The `for` state of alerts across a restart, as Prometheus 2.42 restores
//! it from `ALERTS_FOR_STATE`: the wait goes on where it stopped (moved by
//! the time the server was down), ends no sooner than the grace period
//! from the restart, and is not restored for short `for`s, state older
//! than the outage tolerance, or alerts that had resolved.

use std::time::Duration;

use sonde_promql::{Engine, Labels, MemorySource, STALE_NAN};
use sonde_rules::{load_str, AlertState, Group};

const MIN: i64 = 60_000;

fn group(hold: &str) -> Group {
    let text = format!(
        "groups:\n- name: g\n  interval: 1m\n  rules:\n  - alert: Hot\n    expr: vector(1)\n    for: {hold}\n    labels: {{team: a}}\n"
    );
    let checked = load_str(&text, "restore.yml").unwrap().remove(0);
    let mut g = Group::new(checked, Duration::from_secs(60));
    g.await_restore();
    g
}

/// The stored `ALERTS_FOR_STATE` of the alert: active since `active_s`
/// (seconds), last written at `last_ms`.
fn stored(active_s: i64, last_ms: i64, stale_after: bool) -> MemorySource {
    let labels = Labels::new([("__name__", "ALERTS_FOR_STATE"), ("alertname", "Hot"), ("team", "a")]);
    let mut source = MemorySource::new();
    let mut t = last_ms - 10 * MIN;
    while t <= last_ms {
        source.push(&labels, t, active_s as f64);
        t += MIN;
    }
    if stale_after {
        source.push(&labels, last_ms + MIN, f64::from_bits(STALE_NAN));
    }
    source
}

/// Evaluates twice from `restart_ms` (a minute apart), restores, and
/// returns the alert's `active_at` and what the evaluations wrote.
fn restart(hold: &str, source: &MemorySource, restart_ms: i64) -> (i64, usize) {
    let mut g = group(hold);
    let engine = Engine::default();
    let mut written = 0;
    for t in [restart_ms, restart_ms + MIN] {
        written += g.eval_rule(0, &engine, source, t).samples.len();
    }
    g.restore_for_state(source, restart_ms + MIN, Duration::from_secs(3600), Duration::from_secs(600));
    let alert = g.rules[0].active.values().next().unwrap();
    assert_eq!(alert.state, AlertState::Pending);
    (alert.active_at, written)
}

#[test]
fn the_wait_goes_on_where_it_stopped() {
    // `for: 1h`, active since minute 0, the server down from minute 20 to 30.
    let source = stored(0, 20 * MIN, false);
    let (active_at, written) = restart("1h", &source, 30 * MIN);
    // Before the restore an alerting rule writes no ALERTS series.
    assert_eq!(written, 0);
    // Twenty minutes were spent pending: forty remain from minute 31.
    assert_eq!(active_at, 11 * MIN);
}

#[test]
fn a_nearly_due_alert_waits_the_grace_period() {
    // `for: 30m`, active since minute 0, down at minute 25: five minutes
    // left, less than the ten of the grace period.
    let source = stored(0, 25 * MIN, false);
    let (active_at, _) = restart("30m", &source, 40 * MIN);
    assert_eq!(active_at, 41 * MIN + 10 * MIN - 30 * MIN);
}

#[test]
fn a_firing_alert_keeps_its_start() {
    let source = stored(0, 50 * MIN, false);
    let (active_at, _) = restart("30m", &source, 55 * MIN);
    assert_eq!(active_at, 0);
}

#[test]
fn nothing_is_restored_for_short_fors_old_state_or_resolved_alerts() {
    // `for: 5m` is shorter than the grace period: the wait starts afresh.
    let (active_at, _) = restart("5m", &stored(0, 20 * MIN, false), 30 * MIN);
    assert_eq!(active_at, 30 * MIN);
    // Down for more than the outage tolerance (1 h).
    let (active_at, _) = restart("1h", &stored(0, 20 * MIN, false), 150 * MIN);
    assert_eq!(active_at, 150 * MIN);
    // The alert had resolved before the restart.
    let (active_at, _) = restart("1h", &stored(0, 20 * MIN, true), 30 * MIN);
    assert_eq!(active_at, 30 * MIN);
}

#[test]
fn once_restored_the_rule_writes_its_alerts_series() {
    let source = stored(0, 20 * MIN, false);
    let mut g = group("1h");
    let engine = Engine::default();
    g.eval_rule(0, &engine, &source, 30 * MIN);
    g.restore_for_state(&source, 30 * MIN, Duration::from_secs(3600), Duration::from_secs(600));
    let out = g.eval_rule(0, &engine, &source, 31 * MIN);
    let names: Vec<&str> = out.samples.iter().filter_map(|(l, _)| l.name()).collect();
    assert_eq!(names, ["ALERTS", "ALERTS_FOR_STATE"]);
    // The restored start, in seconds, as the next restart will read it.
    assert_eq!(out.samples[1].1, (10 * MIN / 1000) as f64);
}
