//! Per-request cost of HTTP metrics middleware in an axum router, in
//! process (no network): no layer, Sonde's layer (metrics only, and with
//! spans), and axum-prometheus, same run.

use std::time::Duration;

use axum::routing::get;
use criterion::{criterion_group, criterion_main, Criterion};
use tower::ServiceExt;

fn app() -> axum::Router {
    axum::Router::new().route("/users/{id}", get(|| async { "user" }))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut g = c.benchmark_group("http_layer_per_request");
    let run = |router: axum::Router| {
        move || {
            let router = router.clone();
            async move {
                let req = http::Request::get("/users/7").body(axum::body::Body::empty()).unwrap();
                let resp = router.oneshot(req).await.unwrap();
                assert_eq!(resp.status(), 200);
            }
        }
    };
    let bare = run(app());
    g.bench_function("no_layer", |b| b.iter(|| rt.block_on(bare())));

    let registry = sonde::Registry::new();
    let sonde_metrics = run(app().layer(sonde_tower::HttpMetricsLayer::new(&registry, None).unwrap()));
    g.bench_function("sonde", |b| b.iter(|| rt.block_on(sonde_metrics())));

    let provider = sonde::trace::TracerProvider::builder()
        .processor(sonde::trace::BatchProcessor::new(Noop, Default::default()))
        .build();
    let registry2 = sonde::Registry::new();
    let sonde_spans =
        run(app().layer(sonde_tower::HttpMetricsLayer::new(&registry2, Some(provider.tracer("http"))).unwrap()));
    g.bench_function("sonde_with_spans", |b| b.iter(|| rt.block_on(sonde_spans())));

    // axum-prometheus must be built inside a tokio runtime (it spawns a task).
    let _enter = rt.enter();
    let (prom_layer, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
    let prom = run(app().layer(prom_layer));
    g.bench_function("axum-prometheus", |b| b.iter(|| rt.block_on(prom())));
    g.finish();
}

struct Noop;

impl sonde::trace::SpanExporter for Noop {
    fn export(&self, _: &[Box<sonde::trace::SpanData>]) -> sonde::Result<()> {
        Ok(())
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
