//! Sending alerts: to an Alertmanager's API v2 (`POST /api/v2/alerts`)
//! and/or a webhook (the same JSON body), from a thread of its own, through
//! a bounded queue that counts what it drops.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use crate::group::{Alert, AlertState};

/// Where alerts go and how much may wait.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// An Alertmanager's base URL (`http://127.0.0.1:9093`).
    pub alertmanager: Option<String>,
    /// A URL that receives the same JSON array of alerts.
    pub webhook: Option<String>,
    /// Alerts that may wait to be sent; past it the oldest are dropped
    /// (Prometheus: 10,000).
    pub capacity: usize,
    /// Alerts per request (Prometheus: 64).
    pub batch: usize,
    /// Time limit of one request.
    pub timeout: Duration,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        Self { alertmanager: None, webhook: None, capacity: 10_000, batch: 64, timeout: Duration::from_secs(10) }
    }
}

#[derive(Default)]
struct Stats {
    sent: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
}

struct Shared {
    queue: Mutex<VecDeque<Value>>,
    wake: Condvar,
    stop: AtomicBool,
    stats: Stats,
}

/// Sends alerts in the background. Dropping it stops the thread after
/// sending what is queued (within one request timeout per destination).
pub struct Notifier {
    shared: Arc<Shared>,
    options: NotifierOptions,
    thread: Option<JoinHandle<()>>,
}

fn rfc3339(t_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(t_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Prometheus' link to an expression: `<url>/graph?g0.expr=...&g0.tab=1`.
fn generator_url(external_url: &str, expr: &str) -> String {
    let encoded: String = form_encode(expr);
    format!("{}/graph?g0.expr={encoded}&g0.tab=1", external_url.trim_end_matches('/'))
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An alert as Alertmanager's API v2 takes it.
pub(crate) fn alert_json(
    alert: &Alert,
    expr: &str,
    external_labels: &BTreeMap<String, String>,
    external_url: &str,
) -> Value {
    let mut labels: BTreeMap<&str, &str> = external_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    labels.extend(alert.labels.iter());
    let ends = match alert.state {
        AlertState::Inactive => alert.resolved_at.unwrap_or(alert.valid_until),
        _ => alert.valid_until,
    };
    json!({
        "labels": labels,
        "annotations": alert.annotations,
        "startsAt": rfc3339(alert.fired_at.unwrap_or(alert.active_at)),
        "endsAt": rfc3339(ends),
        "generatorURL": generator_url(external_url, expr),
    })
}

impl Notifier {
    /// Starts the sending thread.
    ///
    /// # Errors
    ///
    /// When the thread cannot be started.
    pub fn start(options: NotifierOptions) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            stats: Stats::default(),
        });
        let (s, o) = (shared.clone(), options.clone());
        let thread = std::thread::Builder::new().name("sonde-notifier".into()).spawn(move || send_loop(&s, &o))?;
        Ok(Self { shared, options, thread: Some(thread) })
    }

    /// Queues `alerts` of the rule with `expr` (the oldest queued are
    /// dropped, and counted, past the capacity).
    pub fn send(&self, alerts: &[Alert], expr: &str, external_labels: &BTreeMap<String, String>, external_url: &str) {
        if alerts.is_empty() {
            return;
        }
        let mut queue = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        for a in alerts {
            queue.push_back(alert_json(a, expr, external_labels, external_url));
        }
        let over = queue.len().saturating_sub(self.options.capacity.max(1));
        queue.drain(..over);
        self.shared.stats.dropped.fetch_add(over as u64, Relaxed);
        drop(queue);
        self.shared.wake.notify_one();
    }

    /// Alerts delivered (to every destination), dropped from the queue,
    /// and requests that failed.
    pub fn counts(&self) -> (u64, u64, u64) {
        let s = &self.shared.stats;
        (s.sent.load(Relaxed), s.dropped.load(Relaxed), s.errors.load(Relaxed))
    }

    /// A function giving [`Notifier::counts`], for self-metrics that
    /// outlive a borrow.
    pub fn counter(&self) -> impl Fn() -> (u64, u64, u64) + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || {
            let s = &shared.stats;
            (s.sent.load(Relaxed), s.dropped.load(Relaxed), s.errors.load(Relaxed))
        }
    }

    /// Alerts waiting to be sent.
    pub fn queued(&self) -> usize {
        self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.shared.stop.store(true, Relaxed);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn send_loop(shared: &Shared, options: &NotifierOptions) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(options.timeout)).http_status_as_error(false).build().into();
    let mut targets = Vec::new();
    if let Some(am) = &options.alertmanager {
        targets.push(format!("{}/api/v2/alerts", am.trim_end_matches('/')));
    }
    if let Some(hook) = &options.webhook {
        targets.push(hook.clone());
    }
    loop {
        let batch: Vec<Value> = {
            let mut queue = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            while queue.is_empty() && !shared.stop.load(Relaxed) {
                queue =
                    shared.wake.wait_timeout(queue, Duration::from_millis(500)).unwrap_or_else(|p| p.into_inner()).0;
            }
            if queue.is_empty() {
                return;
            }
            let n = queue.len().min(options.batch.max(1));
            queue.drain(..n).collect()
        };
        let body = Value::Array(batch);
        let mut all = !targets.is_empty();
        for url in &targets {
            match agent.post(url).send_json(&body) {
                Ok(r) if r.status().is_success() => {}
                _ => {
                    all = false;
                    shared.stats.errors.fetch_add(1, Relaxed);
                }
            }
        }
        if all {
            shared.stats.sent.fetch_add(body.as_array().map_or(0, Vec::len) as u64, Relaxed);
        }
    }
}
