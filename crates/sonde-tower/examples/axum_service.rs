//! An axum service with Sonde's HTTP layer, spans and `/metrics`.
//!
//! `cargo run -p sonde-tower --example axum_service`, then
//! `curl http://127.0.0.1:3000/users/7` and `curl http://127.0.0.1:3000/metrics`.

use axum::routing::get;
use sonde::trace::{JsonLinesExporter, SimpleProcessor, TracerProvider};
use sonde::Registry;
use sonde_prometheus::MetricsService;
use sonde_tower::HttpMetricsLayer;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::new();
    let provider = TracerProvider::builder()
        .service_name("users-api")
        .processor(SimpleProcessor::new(JsonLinesExporter::stdout()))
        .build();
    let tracer = provider.tracer("users-api::handlers");
    let app = axum::Router::new()
        .route(
            "/users/{id}",
            get(move |axum::extract::Path(id): axum::extract::Path<u32>| {
                let tracer = tracer.clone();
                async move {
                    let mut span = tracer.start("load_user");
                    span.set_attribute("user.id", id as i64);
                    format!("user {id}\n")
                }
            }),
        )
        .layer(HttpMetricsLayer::new(&registry, Some(provider.tracer("http")))?)
        .route_service("/metrics", MetricsService::new(registry));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
