//! Prometheus exposition for Sonde registries.
//!
//! - [`MetricsService`]: a `tower::Service` answering scrapes with content
//!   negotiation (Prometheus text 0.0.4 or OpenMetrics 1.0), gzip, optional
//!   basic or bearer auth and a request-rate limit. Mount it in any axum or
//!   hyper app.
//! - [`MetricsServer`]: the same service on its own listener, thread and
//!   runtime, so starting it works with or without a tokio runtime and never
//!   blocks the caller's. Binds `127.0.0.1:9464` unless told otherwise.
//! - [`write_textfile`] and [`TextfileExporter`]: an atomic textfile
//!   (temporary file, fsync, rename) for node_exporter's textfile collector.
//! - [`PushgatewayExporter`]: pushes to a Prometheus Pushgateway.
//!
//! ```
//! use sonde::Registry;
//! use sonde_prometheus::MetricsServer;
//!
//! let registry = Registry::new();
//! registry.counter("jobs_total").register()?.inc();
//! let mut server = MetricsServer::builder(registry).listen("127.0.0.1:0".parse()?).build();
//! let addr = server.start()?;
//! assert_eq!(server.start()?, addr, "start is idempotent");
//! server.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod auth;
mod error;
mod negotiate;
mod protobuf;
mod push;
mod rate_limit;
mod server;
mod service;
mod textfile;

pub use auth::{Auth, BadHash};
pub use error::Error;
pub use negotiate::{negotiate, Format};
pub use protobuf::{client, decode_protobuf, encode_protobuf, PROTOBUF_CONTENT_TYPE};
pub use push::{PushMethod, PushgatewayBuilder, PushgatewayExporter};
pub use server::{MetricsServer, MetricsServerBuilder, DEFAULT_LISTEN};
pub use service::MetricsService;
pub use textfile::{default_textfile_path, write_textfile, TextfileExporter, TEXTFILE_DIR_ENV};
