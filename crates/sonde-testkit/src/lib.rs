//! Test support shared by Sonde's crates (a dev-dependency, never published).
//!
//! ```no_run
//! use std::time::Duration;
//! use sonde_testkit::{http, wait_until, Hub};
//!
//! // `sonde serve` on free loopback ports, stopped by PID when dropped.
//! let hub = Hub::serve("target/debug/sonde", &[]);
//! sonde_testkit::statsd::send_udp(hub.addr("statsd udp"), b"hits:1|c");
//! wait_until(Duration::from_secs(10), "the line", || {
//!     http::get(hub.addr("metrics"), "/metrics").text().contains("hits_total 1")
//! });
//! hub.stop();
//! ```
//!
//! - [`peers`]: where the real programs are (Prometheus, promtool, the Python
//!   venv, the npm daemon); a missing one fails the test under
//!   `SONDE_REQUIRE_PEERS=1` and skips it with a printed reason otherwise.
//! - [`process`]: [`ChildGuard`] kills a child by PID when dropped; what a
//!   process listens on, its resident memory and descriptors, from `/proc`.
//! - [`alloc`]: a counting allocator, for tests that a path allocates nothing.
//! - [`exposition`]: the reference exposition parsers (promtool, Python).
//! - [`http`]: one small blocking HTTP/1.1 client.
//! - [`hub`]: [`Hub`], a `sonde serve` or `sonde demo` under test.
//! - [`otlp`]: the Python OTLP receiver in `tests/peers`, and OTLP/HTTP posts.
//! - [`statsd`]: StatsD lines over UDP and TCP, and the npm daemon.
//! - [`port`]: [`ClosedPort`], a port that refuses connections until it listens.
//! - [`wait`]: [`wait_until`], polling a condition until a deadline.

pub mod alloc;
pub mod disk;
pub mod exposition;
pub mod http;
pub mod hub;
pub mod otlp;
pub mod peers;
pub mod port;
pub mod process;
pub mod statsd;
pub mod wait;

pub use hub::Hub;
pub use port::ClosedPort;
pub use process::ChildGuard;
pub use wait::{finishes_within, poll_until, wait_until};
