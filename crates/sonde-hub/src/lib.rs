//! The receiving side of Sonde as a library: the hub behind `sonde serve`
//! and `sonde demo`.
//!
//! ```no_run
//! use sonde_hub::{Addresses, Hub, HubOptions};
//!
//! let options = HubOptions::from_config(sonde_config::Config::default(), Addresses::default())?;
//! let hub = Hub::start(options)?;
//! println!("metrics at http://{}/metrics", hub.bound().http.unwrap());
//! // ... until a signal:
//! let report = hub.stop();
//! println!("stopped in {:?}; {} spans undelivered", report.took, report.undelivered.spans);
//! # Ok::<(), sonde_hub::Error>(())
//! ```
//!
//! A hub receives StatsD (UDP, TCP) and OTLP (gRPC; HTTP with protobuf or
//! JSON) for metrics, traces and logs; folds metrics into a registry served
//! at `/metrics`; keeps spans and events in bounded stores for the
//! dashboard and the JSON API; and forwards through the exporters its
//! configuration enables.
//!
//! Everything it receives is untrusted, so everything is bounded
//! ([`Limits`]): memory in decoded bytes (spans, events, the forward queue,
//! series), requests priced before they are decoded and decoded off the
//! serving runtime, connections capped per listener with idle and header
//! timeouts, expensive answers computed a few at a time. Auth (bearer or
//! basic with a password hash) covers every HTTP route and OTLP/gRPC call;
//! TLS is optional. A stop takes at most its grace period and reports what
//! it could not deliver.
//!
//! Label values that arrive from the network (StatsD and DogStatsD tags,
//! OTLP attributes that become labels) keep their text, except that every
//! control character (Unicode category Cc: NUL, tab, newline, DEL, C1)
//! becomes U+FFFD (`sonde::sanitize_label_value`). DogStatsD tags whose
//! names collide once sanitised keep the first value; each collision is
//! counted in `sonde_statsd_tag_collisions_total`.

mod decode;
mod error;
#[cfg(test)]
mod fixtures;
mod forward;
mod http;
mod hub;
mod keeping;
mod limits;
mod net;
mod options;
mod otlp_grpc;
mod otlp_http;
mod prometheus_api;
mod query;
mod rules;
mod source;
mod state;
mod statsd;
pub mod store;

pub use error::Error;
pub use hub::{Bound, Hub, StopReport};
pub use limits::Limits;
pub use options::{
    Addresses, HubOptions, Storage, DEFAULT_HTTP, DEFAULT_OTLP_GRPC, DEFAULT_OTLP_HTTP, DEFAULT_STATSD, TOKEN_ENV,
};
pub use rules::RulesOptions;
pub use state::DropReport;
