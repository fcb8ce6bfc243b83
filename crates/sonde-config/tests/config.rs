//! Every key, environment overrides, precise errors, and a running pipeline.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::Duration;

use sonde_config::{Config, Error, Interval, Pipeline};

const FULL: &str = r#"
enabled = true
namespace = "shop"
subsystem = "api"
flush_interval = "15s"
runtime_metrics = false
system_metrics = false

[labels]
service = "checkout"

[prometheus]
listen = "127.0.0.1:9999"
path = "/custom"

[pushgateway]
url = "http://127.0.0.1:9091"
job = "batch"
interval = "30s"
grouping = { instance = "a" }
delete_on_shutdown = true

[remote_write]
url = "http://127.0.0.1:8428/api/v1/write"
interval = "1m"
labels = { job = "shop" }

[statsd]
address = "127.0.0.1:8125"
prefix = "shop"
flush_period = "200ms"
max_packet_size = 512
sample_rate = 0.5
interval = "5s"
tags = false

[otlp]
endpoint = "http://127.0.0.1:4318"
interval = "20s"
resource_attributes = { "deployment.environment" = "prod" }
headers = { authorization = "Bearer x" }
insecure = true

[textfile]
path = "/tmp/shop.prom"
interval = "10s"

[json_file]
path = "/tmp/shop.json"

[logger]
interval = "1h"

[hub]
timer_buckets = [0.01, 0.1, 1.0]
history_bytes = 1000000
"#;

#[test]
fn every_key_is_parsed() {
    let c = Config::from_toml(FULL).unwrap();
    assert!(c.enabled);
    assert_eq!((c.namespace.as_str(), c.subsystem.as_str()), ("shop", "api"));
    assert_eq!(c.flush_interval, Interval(Duration::from_secs(15)));
    assert_eq!(c.labels["service"], "checkout");
    let p = c.prometheus.as_ref().unwrap();
    assert_eq!((p.listen.as_str(), p.path.as_str()), ("127.0.0.1:9999", "/custom"));
    let pg = c.pushgateway.as_ref().unwrap();
    assert_eq!(
        (pg.url.as_str(), pg.job.as_str(), pg.interval, pg.delete_on_shutdown),
        ("http://127.0.0.1:9091", "batch", Some(Interval(Duration::from_secs(30))), true)
    );
    assert_eq!(pg.grouping["instance"], "a");
    let rw = c.remote_write.as_ref().unwrap();
    assert_eq!((rw.interval, rw.labels["job"].as_str()), (Some(Interval(Duration::from_secs(60))), "shop"));
    let s = c.statsd.as_ref().unwrap();
    assert_eq!(
        (s.address.as_deref(), s.prefix.as_str(), s.max_packet_size, s.sample_rate, s.tags),
        (Some("127.0.0.1:8125"), "shop", 512, 0.5, false)
    );
    assert_eq!(s.flush_period, Interval(Duration::from_millis(200)));
    let o = c.otlp.as_ref().unwrap();
    assert_eq!(
        (o.insecure, o.resource_attributes["deployment.environment"].as_str(), o.headers["authorization"].as_str()),
        (true, "prod", "Bearer x")
    );
    assert_eq!(c.textfile.as_ref().unwrap().interval, Some(Interval(Duration::from_secs(10))));
    assert_eq!(c.json_file.as_ref().unwrap().interval, None);
    assert_eq!(c.logger.as_ref().unwrap().interval, Some(Interval(Duration::from_secs(3600))));
    assert_eq!(c.hub.as_ref().unwrap().timer_buckets, Some(vec![0.01, 0.1, 1.0]));
    assert_eq!(c.hub.as_ref().unwrap().history_bytes, Some(1_000_000));
    assert_eq!(Config::from_toml("").unwrap(), Config::default(), "everything has a default");
}

#[test]
fn the_environment_overrides_the_file() {
    let vars: BTreeMap<String, String> = [
        ("SONDE_NAMESPACE", "env_ns"),
        ("SONDE_FLUSH_INTERVAL", "2s"),
        ("SONDE_LABELS", "region=eu, tier=web"),
        ("SONDE_PROMETHEUS_LISTEN", "127.0.0.1:1234"),
        ("SONDE_REMOTE_WRITE_URL", "http://vm:8428/api/v1/write"),
        ("SONDE_ENABLED", "false"),
        ("STATSD_HOST", "statsd.local"),
        ("STATSD_PORT", "9125"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let c = Config::from_toml("namespace = \"file\"\n[statsd]\nprefix = \"p\"").unwrap().with_env(Some(&vars)).unwrap();
    assert_eq!(c.namespace, "env_ns");
    assert_eq!(c.flush_interval, Interval(Duration::from_secs(2)));
    assert_eq!((c.labels["region"].as_str(), c.labels["tier"].as_str()), ("eu", "web"));
    assert_eq!(c.prometheus.unwrap().listen, "127.0.0.1:1234");
    assert_eq!(c.remote_write.unwrap().url, "http://vm:8428/api/v1/write");
    assert!(!c.enabled);
    assert_eq!(c.statsd.unwrap().address.as_deref(), Some("statsd.local:9125"), "STATSD_HOST/PORT fill [statsd]");
}

#[test]
fn each_invalid_config_gets_a_precise_message() {
    let cases: &[(&str, &str)] = &[
        ("colour = \"blue\"", "unknown field `colour`"),
        ("[statsd]\npacket = 5", "unknown field `packet`"),
        ("flush_interval = \"0s\"", "`flush_interval`: must be greater than zero"),
        ("flush_interval = \"10 parsecs\"", "unknown unit"),
        ("flush_interval = 10", "invalid type"),
        (
            "[pushgateway]\nurl = \"ftp://x\"\njob = \"j\"",
            "`pushgateway.url`: \"ftp://x\" is not an http:// or https:// URL",
        ),
        ("[pushgateway]\nurl = \"http://x\"\njob = \"\"", "`pushgateway.job`: must not be empty"),
        ("[pushgateway]\nurl = \"http://x\"", "missing field `job`"),
        ("[remote_write]\nurl = \"localhost:8428\"", "`remote_write.url`"),
        (
            "[remote_write]\nurl = \"http://x\"\ninterval = \"0ms\"",
            "`remote_write.interval`: must be greater than zero",
        ),
        ("[prometheus]\nlisten = \"everywhere\"", "`prometheus.listen`: \"everywhere\" is not an ip:port address"),
        ("[prometheus]\npath = \"metrics\"", "`prometheus.path`"),
        ("[statsd]\nsample_rate = 1.5", "`statsd.sample_rate`: 1.5 is outside (0, 1]"),
        ("[statsd]\nmax_packet_size = 10", "`statsd.max_packet_size`: 10 is outside 64..=65507"),
        ("[statsd]\naddress = \"nohostport\"", "`statsd.address`"),
        ("[labels]\n\"bad-label\" = \"x\"", "`labels`: \"bad-label\" is not a valid label name"),
        ("namespace = \"has space\"", "`namespace`"),
        ("[otlp]\nendpoint = \"grpc://x\"", "`otlp.endpoint`"),
        ("[otlp]\nendpoint = \"http://x\"\nprotocol = \"udp\"", "`otlp.protocol`"),
        ("[otlp]\nendpoint = \"https://x\"\nclient_key = \"k.pem\"", "`otlp.client_key`"),
        ("[hub]\ntimer_buckets = [1.0, 0.5]", "`hub.timer_buckets`"),
    ];
    for (toml, want) in cases {
        let err = Config::from_toml(toml).unwrap_err().to_string();
        assert!(err.contains(want), "{toml:?}: got {err:?}, want it to contain {want:?}");
    }
    let line = Config::from_toml("\n\ncolour = 1").unwrap_err().to_string();
    assert!(line.contains("line 3"), "the TOML error names the line: {line}");
    let env: BTreeMap<String, String> = [("STATSD_PORT".to_string(), "x".to_string())].into();
    let err = Config::from_toml("[statsd]").unwrap().with_env(Some(&env)).unwrap_err();
    assert!(matches!(err, Error::Env { .. }) && err.to_string().contains("STATSD_PORT"), "{err}");
}

#[test]
fn disabled_is_a_no_op() {
    let c = Config::from_toml("enabled = false\n[prometheus]\nlisten = \"127.0.0.1:0\"").unwrap();
    let p = Pipeline::start(&c, sonde::Registry::new()).unwrap();
    assert!(p.metrics_addr().is_none() && p.exporter_count() == 0);
    p.registry().counter("still_works_total").register().unwrap().inc();
}

#[test]
fn runtime_and_system_switches() {
    let c = Config::from_toml("system_metrics = true").unwrap();
    let p = Pipeline::start(&c, sonde::Registry::new()).unwrap();
    let snap = p.registry().snapshot();
    assert!(snap.family("process_resident_memory_bytes").is_some() && snap.family("system_load1").is_some());
    let c = Config::from_toml("runtime_metrics = true").unwrap();
    let err = Pipeline::start(&c, sonde::Registry::new()).unwrap_err();
    assert!(err.to_string().contains("no tokio runtime"), "{err}");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let p = rt.block_on(async { Pipeline::start(&c, sonde::Registry::new()) }).unwrap();
    assert!(p.registry().snapshot().family("tokio_workers").is_some());
}

#[test]
fn one_call_starts_a_running_pipeline() {
    let dir = std::env::temp_dir().join(format!("sonde-config-{}", std::process::id()));
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let toml = format!(
        "namespace = \"shop\"\nflush_interval = \"1h\"\n[labels]\nservice = \"api\"\n[prometheus]\nlisten = \"127.0.0.1:0\"\n\
         [statsd]\naddress = \"127.0.0.1:{}\"\n[textfile]\npath = \"{}\"\n[json_file]\npath = \"{}\"\n",
        rx.local_addr().unwrap().port(),
        dir.join("m.prom").display(),
        dir.join("m.json").display()
    );
    let c = Config::from_toml(&toml).unwrap();
    let p = Pipeline::start(&c, sonde::Registry::new()).unwrap();
    assert_eq!(p.exporter_count(), 3);
    p.registry().counter("orders_total").register().unwrap().inc_by(4);
    let addr = p.metrics_addr().unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.contains("shop_orders_total{service=\"api\"} 4"), "{body}");
    p.shutdown(Duration::from_secs(5)).unwrap(); // every exporter exports once more
    assert!(std::fs::read_to_string(dir.join("m.prom")).unwrap().contains("shop_orders_total{service=\"api\"} 4"));
    assert!(std::fs::read_to_string(dir.join("m.json")).unwrap().contains("shop_orders_total"));
    rx.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 4096];
    let n = rx.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("shop_orders:4|c|#service:api"));
    std::fs::remove_dir_all(&dir).ok();
}
