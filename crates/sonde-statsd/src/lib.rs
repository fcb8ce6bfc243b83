//! A StatsD and DogStatsD client that never blocks the caller.
//!
//! [`StatsdClient`] formats each metric into one line, queues it in a
//! bounded lock-free buffer (a full buffer drops the line and counts it),
//! and a sender thread packs lines into datagrams no larger than the
//! configured packet size (default 1432 bytes), over UDP or a Unix datagram
//! socket. Client-side sampling adds `|@rate`; DogStatsD tags add
//! `|#key:value`. Defaults come from `STATSD_HOST`/`STATSD_PORT`, else
//! `localhost:8125`.
//!
//! [`StatsdExporter`] pushes a whole registry as StatsD lines (counters as
//! deltas) through a client, driven by `sonde_export::PeriodicExporter`.

mod client;
mod error;
mod exporter;
mod ingest;
mod line;
pub mod parse;
mod sender;
mod spin_lock;
mod thread_index;

pub use client::{env_target, StatsdBuilder, StatsdClient, StatsdTimer, Target, DEFAULT_MAX_PACKET};
pub use error::Error;
pub use exporter::StatsdExporter;
pub use ingest::{StatsdIngest, MAX_METRICS, MAX_SET_MEMBERS};
pub use line::Kind;
pub use sender::Stats;
