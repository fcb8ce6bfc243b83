//! `sonde demo`: an instrumented workload serving its own /metrics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sonde::events::Severity;
use sonde::trace::{KeyValue, SimpleProcessor, SpanContext, SpanKind, Status, TracerProvider};
use sonde::BatchOptions;
use sonde::{Buckets, NativeBuckets};

use crate::terminal::{say, Signals};

/// A small deterministic pseudo-random source (xorshift), enough for a demo.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub(crate) fn run(
    addrs: crate::serve::HubArgs,
    file: Option<&std::path::Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = crate::serve::options(&addrs, file, "sonde-demo")?;
    options.skip_busy_ingest_ports = true;
    // A demo starts afresh in a temporary directory unless told where.
    let scratch = match (&addrs.data_dir, addrs.ephemeral) {
        (None, false) => {
            let dir = tempfile::Builder::new().prefix("sonde-demo-").tempdir()?;
            options.storage = sonde_hub::Storage::Dir(dir.path().to_owned());
            Some(dir)
        }
        _ => None,
    };
    // Its own rules, unless the configuration names some: the hub's health
    // and the workload's error ratio (rules/*.rules.yml, built in).
    let rules_dir = tempfile::Builder::new().prefix("sonde-demo-rules-").tempdir()?;
    if options.rules.files.is_empty() {
        for (name, text) in [
            ("sonde-hub.rules.yml", include_str!("../../../rules/sonde-hub.rules.yml")),
            ("demo.rules.yml", include_str!("../../../rules/demo.rules.yml")),
        ] {
            let path = rules_dir.path().join(name);
            std::fs::write(&path, text)?;
            options.rules.files.push(path.display().to_string());
        }
        options.rules.evaluation_interval = Duration::from_secs(15);
    }
    let hub = crate::serve::start(options, "demo")?;
    let registry = hub.registry().clone();
    let app = registry.with_namespace("demo");
    let requests = app
        .counter("http_requests_total")
        .help("HTTP requests served.")
        .labels(["method", "route", "code"])
        .register()?;
    let latency = app
        .histogram("http_request_duration_seconds")
        .help("HTTP request latency.")
        .labels(["route"])
        .buckets(Buckets::default_seconds())
        .exemplars()
        .register()?;
    // The same latency a second time in native (exponential) buckets: a
    // protobuf scrape (Prometheus with native histograms on) gets them.
    let latency_native = app
        .histogram("http_request_duration_native_seconds")
        .help("HTTP request latency, in native buckets.")
        .labels(["route"])
        .buckets(Buckets::native(NativeBuckets::new()))
        .register()?;
    let in_flight = app.up_down_counter("http_requests_in_flight").help("Requests being served.").register()?;
    let queue = app.gauge("queue_depth").help("Jobs waiting.").labels(["queue"]).register()?;
    let payload = app.summary("payload_size_bytes").help("Request payload sizes.").register()?;
    let jobs = app.timer("job_duration_seconds").help("Background job time.").register()?;
    let started = std::time::Instant::now();
    app.gauge_fn("uptime_seconds", "Seconds since the demo started.", move || started.elapsed().as_secs_f64())?;

    // Views a visitor sees first (more can be added from the page).
    use sonde_dashboard::ChartKind;
    for (metric, kind) in [
        ("demo_http_requests", ChartKind::Line),
        ("demo_http_request_duration_seconds", ChartKind::Heatmap),
        ("demo_http_request_duration_native_seconds", ChartKind::Heatmap),
        ("demo_queue_depth", ChartKind::Gauge),
        ("demo_http_requests_in_flight", ChartKind::SingleStat),
    ] {
        hub.dashboard().register_view(metric, kind);
    }
    hub.dashboard().register_query_view(
        "p99 latency by route",
        "histogram_quantile(0.99, sum by (le, route) (rate(demo_http_request_duration_seconds_bucket[1m])))",
        ChartKind::Line,
    );
    hub.dashboard().register_query_view(
        "requests per second by route (a recording rule)",
        "route:demo_http_requests:rate1m",
        ChartKind::StackedArea,
    );
    // The workload's spans land in the hub's trace store (and go out over
    // OTLP when configured); its events in the hub's event log.
    let mut tracing =
        TracerProvider::builder().service_name("sonde-demo").processor(SimpleProcessor::new(hub.traces().clone()));
    if let Some(otlp) = hub.otlp() {
        let batches = BatchOptions { delay: Duration::from_secs(1), ..BatchOptions::default() };
        tracing = tracing.processor(otlp.batch_processor(&registry, batches)?);
    }
    let tracing = tracing.build();
    let signals = Signals::install()?;
    say("press Ctrl-C to stop");

    let running = Arc::new(AtomicBool::new(true));
    let routes = [("GET", "/api/orders"), ("POST", "/api/orders"), ("GET", "/api/users/:id"), ("GET", "/health")];
    let mut workers = Vec::new();
    // A mailer on its own thread continues the traces of POST requests:
    // the span context crosses threads, the child span names its parent.
    let (mail_tx, mail_rx) = std::sync::mpsc::sync_channel::<SpanContext>(64);
    {
        let (tracer, events, running) = (tracing.tracer("sonde-demo"), hub.events().clone(), running.clone());
        workers.push(thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                let Ok(parent) = mail_rx.recv_timeout(Duration::from_millis(200)) else { continue };
                let mut span = tracer.span("email.send").kind(SpanKind::Consumer).parent(&parent).start();
                span.set_attribute("messaging.system", "smtp");
                let _entered = span.enter();
                thread::sleep(Duration::from_millis(2));
                events.record(Severity::Info, "email_sent", [KeyValue::new("template", "order_confirmation")], []);
            }
        }));
    }
    for w in 0..2u64 {
        let mail_tx = mail_tx.clone();
        let (tracer, events) = (tracing.tracer("sonde-demo"), hub.events().clone());
        let (running, requests, latency, latency_native, in_flight, queue, payload, jobs) = (
            running.clone(),
            requests.clone(),
            latency.clone(),
            latency_native.clone(),
            in_flight.clone(),
            queue.clone(),
            payload.clone(),
            jobs.clone(),
        );
        workers.push(thread::spawn(move || {
            let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (w + 1));
            while running.load(Ordering::Relaxed) {
                let (method, route) = routes[(dice.next() * routes.len() as f64) as usize % routes.len()];
                in_flight.inc();
                let secs = 0.002 + dice.next().powi(3) * 0.4;
                let code = if dice.next() < 0.03 {
                    "500"
                } else if dice.next() < 0.05 {
                    "404"
                } else {
                    "200"
                };
                // A server span per request, a database child span, and an
                // event when it fails: all correlated by trace id.
                let mut span = tracer.span(format!("{method} {route}")).kind(SpanKind::Server).start();
                span.set_attribute("http.request.method", method);
                span.set_attribute("http.route", route);
                {
                    let _entered = span.enter();
                    let mut db = tracer.span("db.query").kind(SpanKind::Client).start();
                    db.set_attribute("db.system", "postgresql");
                    thread::sleep(Duration::from_secs_f64(secs / 20.0));
                    db.end();
                    // Inside the request's span: the observation carries
                    // its trace as an exemplar.
                    latency.with(&[route]).observe(secs);
                    latency_native.with(&[route]).observe(secs);
                    if code == "500" {
                        events.record(
                            Severity::Error,
                            "request_failed",
                            [KeyValue::new("http.route", route)],
                            [("service", "demo")],
                        );
                    }
                }
                span.set_attribute("http.response.status_code", code.parse::<i64>().unwrap_or(0));
                if code == "500" {
                    span.set_status(Status::Error { message: "internal error".into() });
                }
                if method == "POST" {
                    let _ = mail_tx.try_send(span.context().clone()); // a full mailbox skips the email
                }
                span.end();
                requests.with(&[method, route, code]).inc();
                payload.observe((dice.next() * 4096.0).round());
                in_flight.dec();
                queue.with(&["email"]).set((dice.next() * 40.0).round());
                if dice.next() < 0.1 {
                    jobs.time(|| thread::sleep(Duration::from_millis(1)));
                }
            }
        }));
    }

    signals.wait();
    running.store(false, Ordering::Relaxed);
    workers.into_iter().for_each(|w| {
        let _ = w.join();
    });
    let _ = tracing.shutdown(Duration::from_secs(5));
    crate::serve::stop(hub, "demo");
    drop(scratch); // the demo's data goes with it
    drop(rules_dir);
    Ok(())
}
