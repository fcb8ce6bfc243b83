//! A library instrumented only with `tracing` shows up in Sonde.

use sonde::events::{EventLog, Severity};
use sonde::trace::{InMemoryExporter, SimpleProcessor, SpanData, TracerProvider, Value};
use sonde_tracing_bridge::SondeLayer;
use tracing_subscriber::layer::SubscriberExt;

/// Stands for third-party code: it knows only `tracing`.
mod some_library {
    #[tracing::instrument(fields(order.items = items))]
    pub(crate) fn place_order(user: &str, items: u32) -> u32 {
        tracing::info!(stage = "validated", "order accepted");
        let total = price(items);
        tracing::Span::current().record("order.items", items);
        total
    }

    #[tracing::instrument]
    fn price(items: u32) -> u32 {
        if items > 5 {
            tracing::warn!(items, "large order");
        }
        items * 10
    }

    pub(crate) fn nested_with_macros() {
        let outer = tracing::info_span!("batch", size = 2_u64);
        let _o = outer.enter();
        for i in 0..2 {
            let inner = tracing::debug_span!("item", index = i, ok = true, ratio = 0.5);
            let _i = inner.enter();
        }
    }
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn tracing_spans_and_events_become_sonde_spans_and_events() {
    let exported = InMemoryExporter::new();
    let provider = TracerProvider::builder().processor(SimpleProcessor::new(exported.clone())).build();
    let events = EventLog::default();
    let subscriber =
        tracing_subscriber::registry().with(SondeLayer::new(provider.tracer("lib")).with_events(events.clone()));
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(some_library::place_order("alice", 7), 70);
        some_library::nested_with_macros();
        // A Sonde span made inside an entered tracing span nests under it.
        let span = tracing::info_span!("outer_tracing");
        let _e = span.enter();
        drop(provider.tracer("native").start("native_child"));
    });
    let spans = exported.spans();
    let order = find(&spans, "place_order");
    let price = find(&spans, "price");
    assert_eq!(price.parent_span_id, order.context.span_id, "#[instrument] nesting kept");
    assert_eq!(price.context.trace_id, order.context.trace_id);
    assert_eq!(order.attribute("user"), Some(&Value::from("alice".to_string())), "string arguments stay strings");
    assert_eq!(order.attribute("order.items"), Some(&Value::I64(7)));
    assert!(order.end_unix_nanos >= price.end_unix_nanos && order.start_unix_nanos <= price.start_unix_nanos);
    assert_eq!(order.events[0].name, "order accepted", "events also land on their span");
    let batch = find(&spans, "batch");
    let items: Vec<_> = spans.iter().filter(|s| s.name == "item").collect();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i.parent_span_id == batch.context.span_id));
    assert_eq!(items[0].attribute("ok"), Some(&Value::Bool(true)));
    assert_eq!(items[0].attribute("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(find(&spans, "native_child").parent_span_id, find(&spans, "outer_tracing").context.span_id);

    let recent = events.recent(10);
    let accepted = recent.iter().find(|e| e.name == "order accepted").unwrap();
    assert_eq!(accepted.severity, Severity::Info);
    assert_eq!(accepted.span_id, Some(order.context.span_id));
    assert_eq!(accepted.trace_id, Some(order.context.trace_id));
    let large = recent.iter().find(|e| e.name == "large order").unwrap();
    assert_eq!(large.severity, Severity::Warn);
    assert_eq!(large.span_id, Some(price.context.span_id));
}
