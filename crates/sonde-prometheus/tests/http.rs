//! The /metrics endpoint over real TCP.

use std::io::Read;

use base64::Engine;
use sonde::Registry;
use sonde_prometheus::{Auth, MetricsServer, MetricsService};
use sonde_testkit::http::{self, Reply};

fn registry() -> Registry {
    let r = Registry::new();
    r.counter("served_total").help("Served.").register().unwrap().inc_by(5);
    r
}

/// `GET path` with headers.
fn get(addr: std::net::SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    http::request(&addr.to_string(), "GET", path, headers, b"")
}

fn server(r: Registry) -> (MetricsServer, std::net::SocketAddr) {
    let mut s = MetricsServer::builder(r).listen("127.0.0.1:0".parse().unwrap()).build();
    let addr = s.start().unwrap();
    (s, addr)
}

#[test]
fn serves_both_formats_with_exact_content_types() {
    let (_s, addr) = server(registry());
    let text = get(addr, "/metrics", &[]);
    assert_eq!(text.status, 200);
    assert_eq!(text.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    assert!(text.text().contains("served_total 5\n"));
    let om = get(addr, "/metrics", &[("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.3")]);
    assert_eq!(om.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    assert!(om.text().ends_with("# EOF\n"));
    assert_eq!(get(addr, "/other", &[]).status, 404);
    assert_eq!(http::request(&addr.to_string(), "POST", "/metrics", &[], b"").status, 405);
    let head = http::request(&addr.to_string(), "HEAD", "/metrics", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn gzip_when_accepted() {
    let (_s, addr) = server(registry());
    let r = get(addr, "/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut out = String::new();
    flate2::read::GzDecoder::new(&r.body[..]).read_to_string(&mut out).unwrap();
    assert!(out.contains("served_total 5\n"));
}

#[test]
fn auth_and_rate_limit() {
    let mut s = MetricsServer::builder(registry())
        .listen("127.0.0.1:0".parse().unwrap())
        .auth(Auth::Basic { user: "u".into(), password: "p".into() })
        .rate_limit(3.0)
        .build();
    let addr = s.start().unwrap();
    let no = get(addr, "/metrics", &[]);
    assert_eq!(no.status, 401);
    assert!(no.header("www-authenticate").unwrap().starts_with("Basic"));
    assert_eq!(get(addr, "/metrics", &[("Authorization", "Basic dTp3cm9uZw==")]).status, 401);
    let good = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("u:p"));
    // three tokens were in the bucket; the two failures above used two of them
    assert_eq!(get(addr, "/metrics", &[("Authorization", &good)]).status, 200);
    let limited = get(addr, "/metrics", &[("Authorization", &good)]);
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
}

#[test]
fn start_is_idempotent_and_stop_closes_the_port() {
    let (mut s, addr) = server(registry());
    assert_eq!(s.start().unwrap(), addr);
    s.stop();
    s.stop();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn binding_a_taken_port_is_an_error() {
    let (_s, addr) = server(registry());
    let mut again = MetricsServer::builder(registry()).listen(addr).build();
    assert!(matches!(again.start(), Err(sonde_prometheus::Error::Bind { .. })));
}

#[test]
fn default_listen_is_loopback() {
    assert!(sonde_prometheus::DEFAULT_LISTEN.starts_with("127.0.0.1:"));
}

#[tokio::test(flavor = "current_thread")]
async fn starts_and_stops_inside_a_current_thread_runtime() {
    let (mut s, addr) = server(registry());
    let body = tokio::task::spawn_blocking(move || get(addr, "/metrics", &[]).text()).await.unwrap();
    assert!(body.contains("served_total"));
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounts_in_an_axum_router() {
    let app = axum::Router::new().route_service("/metrics", MetricsService::new(registry()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let r = tokio::task::spawn_blocking(move || get(addr, "/metrics", &[])).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("served_total 5\n"));
    server.abort();
}
