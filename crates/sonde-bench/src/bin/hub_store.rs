//! The hub's store, measured: spans persisted per second (SQLite, as the
//! hub keeps them, against redb, the alternative considered), sampling
//! 100,000 series into the sample store (time per tick, bytes per sample),
//! and `sonde serve` on a data directory holding a day of history of
//! 100,000 series and a gibibyte of spans (resident memory, and the
//! restart after a SIGKILL).
//!
//! ```sh
//! cargo build --release -p sonde-cli
//! cargo run --release -p sonde-bench --bin hub-store -- target/release/sonde
//! cargo run --release -p sonde-bench --bin hub-store -- target/release/sonde --skip-day
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;
use redb::ReadableTable;
use sonde_hub::store::{Fsync, RecordStore, SampleOptions, SampleStore};
use sonde_otlp::proto::common::v1::{any_value, AnyValue, KeyValue};
use sonde_otlp::proto::trace::v1::Span;
use sonde_otlp::receive::StoredSpan;
use sonde_testkit::{poll_until, Hub};

const SPANS: usize = 100_000;
const PER_REQUEST: usize = 100;
const SERIES: usize = 100_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A span as an instrumented HTTP server sends it: eight attributes.
fn span(n: usize) -> Arc<StoredSpan> {
    let attr = |k: &str, v: String| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v)) }),
        ..Default::default()
    };
    let trace = (n / 8) as u64 + 1;
    let start = 1_700_000_000_000_000_000 + n as u64 * 1_000;
    Arc::new(StoredSpan {
        service: format!("svc{}", n % 7),
        span: Span {
            trace_id: [trace.to_be_bytes(), 7u64.to_be_bytes()].concat(),
            span_id: (n as u64 + 1).to_be_bytes().to_vec(),
            parent_span_id: if n.is_multiple_of(8) { vec![] } else { ((n - n % 8) as u64 + 1).to_be_bytes().to_vec() },
            name: format!("GET /api/orders/{}", n % 50),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 250_000 + (n as u64 % 1000) * 1000,
            attributes: vec![
                attr("http.request.method", "GET".into()),
                attr("http.route", format!("/api/orders/{}", n % 50)),
                attr("http.response.status_code", "200".into()),
                attr("url.scheme", "https".into()),
                attr("server.address", "shop.example".into()),
                attr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)".into()),
                attr("client.address", format!("10.0.{}.{}", n % 256, n % 199)),
                attr("session.id", format!("{:016x}", n * 7919)),
            ],
            ..Default::default()
        },
    })
}

/// Spans per second into the hub's SQLite store with `fsync`.
fn sqlite(fsync: Fsync, spans: &[Arc<StoredSpan>]) -> (f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = RecordStore::open(dir.path(), fsync, Duration::from_secs(7 * 86_400), 2 << 30).unwrap();
    let started = Instant::now();
    for batch in spans.chunks(PER_REQUEST) {
        store.insert_spans(batch).unwrap();
    }
    store.checkpoint().unwrap();
    let rate = spans.len() as f64 / started.elapsed().as_secs_f64();
    // The database file once its log is copied in (the log file is kept
    // for reuse, up to its limit, and holds nothing more).
    (rate, std::fs::metadata(dir.path().join("records.db")).map_or(0, |m| m.len()))
}

/// The same into redb: the span's protobuf by (trace id, start, span id),
/// and a summary row per trace updated as spans arrive (what the trace
/// list filters on), one write transaction per request.
fn redb(durability: redb::Durability, spans: &[Arc<StoredSpan>]) -> (f64, u64) {
    const SPAN_ROWS: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("spans");
    const TRACE_ROWS: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("traces");
    let dir = tempfile::tempdir().unwrap();
    let db = redb::Database::create(dir.path().join("records.redb")).unwrap();
    let started = Instant::now();
    for batch in spans.chunks(PER_REQUEST) {
        let mut tx = db.begin_write().unwrap();
        tx.set_durability(durability).unwrap();
        {
            let mut rows = tx.open_table(SPAN_ROWS).unwrap();
            let mut traces = tx.open_table(TRACE_ROWS).unwrap();
            for s in batch {
                let sp = &s.span;
                let mut key = sp.trace_id.clone();
                key.extend_from_slice(&sp.start_time_unix_nano.to_be_bytes());
                key.extend_from_slice(&sp.span_id);
                rows.insert(key.as_slice(), sp.encode_to_vec().as_slice()).unwrap();
                // start, end, spans, error, service, name of the root
                let mut summary = match traces.get(sp.trace_id.as_slice()).unwrap() {
                    Some(v) => v.value().to_vec(),
                    None => vec![0; 24],
                };
                let field = |b: &[u8], i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
                let start = if field(&summary, 2) == 0 {
                    sp.start_time_unix_nano
                } else {
                    field(&summary, 0).min(sp.start_time_unix_nano)
                };
                let end = field(&summary, 1).max(sp.end_time_unix_nano);
                let count = field(&summary, 2) + 1;
                summary[..8].copy_from_slice(&start.to_le_bytes());
                summary[8..16].copy_from_slice(&end.to_le_bytes());
                summary[16..24].copy_from_slice(&count.to_le_bytes());
                if sp.parent_span_id.is_empty() {
                    summary.truncate(24);
                    summary.extend_from_slice(s.service.as_bytes());
                    summary.push(0);
                    summary.extend_from_slice(sp.name.as_bytes());
                }
                traces.insert(sp.trace_id.as_slice(), summary.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let rate = spans.len() as f64 / started.elapsed().as_secs_f64();
    drop(db);
    (rate, sonde_testkit::disk::bytes_under(dir.path()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A registry of 100,000 series like the hub's (10 counters × 10,000
/// instances), changing every tick.
fn registry() -> (sonde::Registry, Vec<sonde::Counter>) {
    let registry = sonde::Registry::builder().max_series(200_000).build().unwrap();
    let mut counters = Vec::new();
    for m in 0..10 {
        let f = registry
            .counter(&format!("app_metric{m}_total"))
            .labels(["instance", "method"])
            .cardinality_limit(20_000)
            .register()
            .unwrap();
        for i in 0..SERIES / 10 {
            counters.push(f.bind(&[&format!("host-{i:05}"), "GET"]));
        }
    }
    (registry, counters)
}

fn sampling() {
    let (registry, counters) = registry();
    let dir = tempfile::tempdir().unwrap();
    let options = SampleOptions { fsync: Fsync::Interval(Duration::from_secs(1)), ..SampleOptions::default() };
    let store = SampleStore::open(dir.path(), options).unwrap();
    let mut ticks = Vec::new();
    let t0 = now_ms();
    for tick in 0..240i64 {
        for (i, c) in counters.iter().enumerate() {
            // Most series move a little every second, some stand still.
            if !i.is_multiple_of(4) {
                c.inc_by(((i as i64 * 31 + tick * 7) % 13) as u64);
            }
        }
        let started = Instant::now();
        let snapshot = registry.snapshot();
        let all = sonde_dashboard::samples(&snapshot);
        store.append(t0 + tick * 1000, all.iter().map(|s| (s.family.as_str(), s.id.as_str(), s.value)));
        ticks.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    store.seal(t0 + 240 * 1000);
    store.sync();
    let samples = SERIES as f64 * 240.0;
    let m = median(ticks.clone());
    let worst = ticks.iter().copied().fold(0.0, f64::max);
    println!(
        "sampling {SERIES} series: median tick {m:.1} ms ({:.1} % of one core at 1 s), worst {worst:.1} ms; \
         {:.2} bytes per sample sealed ({:.2} with the series list)",
        m / 10.0,
        store.bytes() as f64 / samples,
        sonde_testkit::disk::bytes_under(dir.path()) as f64 / samples
    );
}

/// A data directory with a day of 10 s samples of the 100,000 series the
/// StatsD load below sends, the last ticks left in the log (as a kill
/// leaves them).
fn day_of_history(data: &std::path::Path) -> u64 {
    let ids: Vec<(String, String)> = (0..10)
        .flat_map(|m| {
            (0..SERIES / 10).map(move |i| {
                let family = format!("app_metric{m}_total");
                let id = format!("{family}{{instance=\"host-{i:05}\",method=\"GET\"}}");
                (family, id)
            })
        })
        .collect();
    let options = SampleOptions { interval: Duration::from_secs(10), ..SampleOptions::default() };
    let store = SampleStore::open(&data.join("samples"), options).unwrap();
    let end = now_ms() - 60_000;
    let start = end - 86_400_000;
    let mut values = vec![0f64; ids.len()];
    let started = Instant::now();
    let mut t = start;
    let mut tick = 0i64;
    while t < end {
        for (i, v) in values.iter_mut().enumerate() {
            if !i.is_multiple_of(4) {
                *v += ((i as i64 * 31 + tick * 7) % 13) as f64;
            }
        }
        store.append(t, ids.iter().zip(&values).map(|((f, id), v)| (f.as_str(), id.as_str(), *v)));
        t += 10_000;
        tick += 1;
    }
    store.sync();
    let bytes = sonde_testkit::disk::bytes_under(data);
    println!(
        "a day of history: {tick} ticks of {SERIES} series written in {:.0} s, {:.2} GiB on disk",
        started.elapsed().as_secs_f64(),
        bytes as f64 / (1u64 << 30) as f64
    );
    bytes // dropped without a seal: the log holds the last ticks
}

/// A gibibyte of spans in the data directory's records database.
fn gibibyte_of_spans(data: &std::path::Path) {
    let (store, _) = RecordStore::open(data, Fsync::Never, Duration::from_secs(7 * 86_400), 4 << 30).unwrap();
    let started = Instant::now();
    let mut n = 0;
    while std::fs::metadata(data.join("records.db")).map_or(0, |m| m.len()) < 1 << 30 {
        let batch: Vec<Arc<StoredSpan>> = (n..n + 10_000).map(span).collect();
        for chunk in batch.chunks(PER_REQUEST) {
            store.insert_spans(chunk).unwrap();
        }
        store.checkpoint().unwrap();
        n += 10_000;
    }
    println!("a gibibyte of spans: {n} spans written in {:.0} s", started.elapsed().as_secs_f64());
}

fn day(sonde: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    day_of_history(&data);
    gibibyte_of_spans(&data);
    let config = scratch.path().join("hub.toml");
    std::fs::write(&config, "[hub]\nsample_interval = \"10s\"\n").unwrap();
    let (d, c) = (data.to_str().unwrap(), config.to_str().unwrap());
    let serve = || Hub::serve(sonde, &["--data-dir", d, "--config", c]);
    let started = Instant::now();
    let hub = serve();
    let first_start = started.elapsed();
    // 100,000 series over StatsD, as hub-memory sends them.
    let tcp = hub.addr("statsd tcp").to_owned();
    let mut s = std::net::TcpStream::connect(&tcp).unwrap();
    let mut chunk = String::new();
    for m in 0..10 {
        for i in 0..SERIES / 10 {
            chunk.push_str(&format!("app.metric{m}:1|c|#instance:host-{i:05},method:GET\n"));
            if chunk.len() > 60_000 {
                std::io::Write::write_all(&mut s, chunk.as_bytes()).unwrap();
                chunk.clear();
            }
        }
    }
    std::io::Write::write_all(&mut s, chunk.as_bytes()).unwrap();
    drop(s);
    let series = || hub.sample("sonde_series") as u64;
    poll_until(Duration::from_secs(120), || Some(series()).filter(|n| *n >= SERIES as u64)).expect("100,000 series");
    // A few sampling ticks, and a day of one series read back.
    std::thread::sleep(Duration::from_secs(25));
    let api = hub.addr("metrics").to_owned();
    let id = sonde_testkit::http::escape("app_metric3_total{instance=\"host-00042\",method=\"GET\"}");
    let day_ago = now_ms() - 86_400_000;
    let read = Instant::now();
    let h = sonde_testkit::http::get_json(&api, &format!("/api/history?id={id}&start={day_ago}&step=60000"));
    let points = h["v"].as_array().map_or(0, |v| v.iter().filter(|x| !x.is_null()).count());
    let read = read.elapsed();
    let rss = hub.rss_bytes();
    println!(
        "sonde serve, {SERIES} series and a day of history: RSS {:.1} MiB; a day of one series ({points} points at 1 min) read in {:.0} ms; first start on the generated directory {:.2} s",
        rss as f64 / (1u64 << 20) as f64,
        read.as_secs_f64() * 1000.0,
        first_start.as_secs_f64()
    );
    hub.kill();
    let bytes = sonde_testkit::disk::bytes_under(&data);
    let started = Instant::now();
    let hub = serve();
    let recovered = started.elapsed();
    println!(
        "after SIGKILL with {:.2} GiB in the data directory: serving again in {:.2} s",
        bytes as f64 / (1u64 << 30) as f64,
        recovered.as_secs_f64()
    );
    hub.stop();
}

fn main() {
    let sonde =
        std::env::args().nth(1).filter(|a| !a.starts_with("--")).unwrap_or_else(|| "target/release/sonde".into());
    let spans: Vec<Arc<StoredSpan>> = (0..SPANS).map(span).collect();
    let body: usize = spans.iter().map(|s| s.span.encoded_len()).sum::<usize>() / SPANS;
    println!("{SPANS} spans of {body} protobuf bytes each, in requests of {PER_REQUEST}, one thread:");
    for (what, (rate, bytes)) in [
        ("SQLite, fsync interval (WAL, synchronous=NORMAL)", sqlite(Fsync::Interval(Duration::from_secs(1)), &spans)),
        ("SQLite, fsync always (synchronous=FULL)", sqlite(Fsync::Always, &spans)),
        ("redb, Durability::Immediate (a kill loses nothing)", redb(redb::Durability::Immediate, &spans)),
        ("redb, Durability::None (a kill may lose commits)", redb(redb::Durability::None, &spans)),
    ] {
        println!("  {what}: {:.0} spans/s, {:.0} bytes per span on disk", rate, bytes as f64 / SPANS as f64);
    }
    sampling();
    if !std::env::args().any(|a| a == "--skip-day") {
        day(&sonde);
    }
}
