//! Load on loopback: 1,000,000 StatsD lines (TCP, which loses nothing) and
//! 100,000 spans (OTLP/HTTP) into `sonde serve`; everything sent is either
//! received or counted as dropped or refused.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use sonde_testkit::hub::sample;
use sonde_testkit::{http, otlp, poll_until, Hub};

use prost::Message;
use sonde_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use sonde_otlp::proto::common::v1::{any_value, AnyValue, KeyValue};
use sonde_otlp::proto::resource::v1::Resource;
use sonde_otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};

const LINES: u64 = 1_000_000;
const SPANS: u64 = 100_000;
const SPANS_PER_REQUEST: u64 = 1_000;

fn spans_request(batch: u64) -> Vec<u8> {
    let spans = (0..SPANS_PER_REQUEST)
        .map(|i| {
            let n = batch * SPANS_PER_REQUEST + i + 1;
            Span {
                trace_id: [n.to_be_bytes(), 7u64.to_be_bytes()].concat(),
                span_id: n.to_be_bytes().to_vec(),
                name: "load".into(),
                start_time_unix_nano: n,
                end_time_unix_nano: n + 1_000,
                ..Default::default()
            }
        })
        .collect();
    let service = KeyValue {
        key: "service.name".into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue("load".into())) }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![service], ..Default::default() }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn a_million_lines_and_a_hundred_thousand_spans_are_all_accounted_for() {
    let hub = Hub::serve(env!("CARGO_BIN_EXE_sonde"), &[]);
    let (api, tcp, otlp) =
        (hub.addr("metrics").to_owned(), hub.addr("statsd tcp").to_owned(), hub.addr("otlp http").to_owned());

    // StatsD: 1,000,000 lines over four TCP connections, 100 series.
    let senders: Vec<_> = (0..4u64)
        .map(|c| {
            let tcp = tcp.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&tcp).unwrap();
                let mut chunk = String::new();
                for i in 0..LINES / 4 {
                    chunk.push_str(&format!("load.hits:1|c|#shard:{}\n", (c * 25) + i % 25));
                    if chunk.len() > 60_000 {
                        s.write_all(chunk.as_bytes()).unwrap();
                        chunk.clear();
                    }
                }
                s.write_all(chunk.as_bytes()).unwrap();
            })
        })
        .collect();
    // OTLP: 100,000 spans in requests of 1,000, meanwhile.
    for batch in 0..SPANS / SPANS_PER_REQUEST {
        assert_eq!(otlp::post_protobuf(&otlp, "/v1/traces", &spans_request(batch)).status, 200);
    }
    senders.into_iter().for_each(|s| s.join().unwrap());

    let scrape = || http::get(&api, "/metrics").text();
    let text = poll_until(Duration::from_secs(120), || {
        Some(scrape()).filter(|t| sample(t, "sonde_statsd_received_total") as u64 >= LINES)
    })
    .unwrap_or_else(scrape);
    let received = sample(&text, "sonde_statsd_received_total") as u64;
    let rejected: f64 = text
        .lines()
        .filter(|l| l.starts_with("sonde_statsd_rejected_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let hits: f64 = text
        .lines()
        .filter(|l| l.starts_with("load_hits_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(received, LINES, "every line sent over TCP arrived");
    assert_eq!(hits + rejected, LINES as f64, "received = counted + refused");
    assert_eq!(rejected, 0.0);

    let spans_in = sample(&text, "sonde_hub_received_total{signal=\"traces\",transport=\"http/protobuf\"}") as u64;
    let stored = sample(&text, "sonde_trace_store_spans_stored_total") as u64;
    let refused = sample(&text, "sonde_trace_store_spans_rejected_total") as u64;
    let evicted = sample(&text, "sonde_trace_store_spans_evicted_total") as u64;
    let held = sample(&text, "sonde_trace_store_spans") as u64;
    assert_eq!(spans_in, SPANS, "every span sent arrived");
    assert_eq!(stored + refused, SPANS, "kept or refused, nothing lost");
    assert_eq!(held + evicted, stored, "held or evicted (counted)");

    hub.stop();
}
