//! `#[traced]` on sync and async functions.

use std::sync::OnceLock;

use sonde::trace::{set_global_provider, InMemoryExporter, SimpleProcessor, SpanData, Status, TracerProvider, Value};
use sonde_macros::traced;

/// One global provider for the whole test binary (tests run in parallel).
fn spans() -> &'static InMemoryExporter {
    static SPANS: OnceLock<InMemoryExporter> = OnceLock::new();
    SPANS.get_or_init(|| {
        let spans = InMemoryExporter::new();
        set_global_provider(
            TracerProvider::builder().service_name("macro-test").processor(SimpleProcessor::new(spans.clone())).build(),
        );
        spans
    })
}

fn find(name: &str) -> Vec<SpanData> {
    spans().spans().into_iter().filter(|s| s.name == name).collect()
}

#[traced]
fn plain_sync(x: u32) -> u32 {
    nested_sync() + x
}

#[traced(name = "renamed", attributes(http.method = "GET", retries = 3))]
fn nested_sync() -> u32 {
    1
}

#[derive(Debug)]
struct Boom;

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}

#[traced]
fn fallible(fail: bool) -> Result<u8, Boom> {
    if fail {
        return Err(Boom);
    }
    let v: u8 = "7".parse().map_err(|_| Boom)?;
    Ok(v)
}

#[traced]
async fn async_parent() -> Result<u32, Boom> {
    tokio::task::yield_now().await;
    let a = async_child().await;
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    Ok(a + async_child().await)
}

#[traced]
async fn async_child() -> u32 {
    tokio::task::yield_now().await;
    2
}

#[test]
fn sync_functions_nest_and_carry_name_and_attributes() {
    spans();
    assert_eq!(plain_sync(1), 2);
    let parent = find("plain_sync").pop().unwrap();
    let child = find("renamed").into_iter().find(|c| c.parent_span_id == parent.context.span_id).unwrap();
    assert_eq!(child.attribute("http.method"), Some(&Value::from("GET")));
    assert_eq!(child.attribute("retries"), Some(&Value::I64(3)));
    assert_eq!(child.scope.name, module_path!());
}

#[test]
fn err_results_set_error_status_including_early_returns_and_question_marks() {
    spans();
    assert!(fallible(true).is_err());
    assert_eq!(fallible(false).unwrap(), 7);
    let done = find("fallible");
    assert!(done.iter().any(|s| s.status == Status::Error { message: "boom".into() }));
    assert!(done.iter().any(|s| s.status == Status::Unset));
}

#[test]
fn async_functions_keep_their_span_across_awaits() {
    spans();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    assert_eq!(rt.block_on(async_parent()).unwrap(), 4);
    let parent = find("async_parent").pop().unwrap();
    let children: Vec<SpanData> =
        find("async_child").into_iter().filter(|c| c.parent_span_id == parent.context.span_id).collect();
    assert_eq!(children.len(), 2);
    assert!(parent.end_unix_nanos >= children.iter().map(|c| c.end_unix_nanos).max().unwrap());
}
