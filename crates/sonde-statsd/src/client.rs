//! The client: format a line, queue it, never wait.

use std::net::{ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::line::{self, Framing, Kind, Val};
use crate::sender::{self, Shared, Stats, Transport};
use crate::Error;

/// The default maximum datagram size: fits an Ethernet MTU with IP and UDP
/// headers.
pub const DEFAULT_MAX_PACKET: usize = 1432;

/// Where to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// UDP to `host:port`.
    Udp(String, u16),
    /// A Unix datagram socket.
    Unix(PathBuf),
}

/// Options for a [`StatsdClient`].
#[derive(Clone, Debug)]
pub struct StatsdBuilder {
    target: Target,
    prefix: String,
    max_packet: usize,
    flush_interval: Duration,
    capacity: usize,
    tags: Vec<(String, String)>,
}

impl StatsdBuilder {
    /// Sends to a Unix datagram socket instead of UDP.
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.target = Target::Unix(path.into());
        self
    }

    /// The name prefix (`<prefix>.<name>`); empty for none.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The largest datagram to send (default 1432 bytes).
    pub fn max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet = bytes;
        self
    }

    /// How often partial datagrams and queued lines are sent at the latest
    /// (default 100 ms); a full datagram goes at once.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Lines the shared queue holds before new ones are dropped (default
    /// 65,536). The queue takes the lines of threads beyond the first 64,
    /// which have no datagram of their own, and of a thread whose datagram
    /// the sender is sending at that moment.
    pub fn capacity(mut self, lines: usize) -> Self {
        self.capacity = lines;
        self
    }

    /// A DogStatsD tag added to every line.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// Opens the socket and starts the sender thread.
    ///
    /// # Errors
    ///
    /// [`Error`] when the address does not resolve, the socket cannot be created, or an option is out of
    /// range (a sample rate outside (0, 1], a packet size too small).
    pub fn build(self) -> Result<StatsdClient, Error> {
        if self.max_packet < 64 || self.capacity == 0 || self.flush_interval.is_zero() {
            return Err(Error::Option(format!(
                "max_packet_size >= 64, capacity >= 1 and flush_interval > 0 (got {}, {}, {:?})",
                self.max_packet, self.capacity, self.flush_interval
            )));
        }
        let (transport, direct) = (self.connect()?, self.connect()?);
        direct.set_nonblocking().map_err(|source| Error::Socket { addr: "caller socket".into(), source })?;
        transport
            .set_send_timeout(sender::SEND_TIMEOUT)
            .map_err(|source| Error::Socket { addr: "sender socket".into(), source })?;
        let shared = Arc::new(Shared::new(self.capacity, self.max_packet, direct));
        let worker = shared.clone();
        let interval = self.flush_interval;
        let thread = std::thread::Builder::new()
            .name("sonde-statsd".into())
            .spawn(move || sender::run(worker, transport, interval))
            .map_err(|source| Error::Socket { addr: "sender thread".into(), source })?;
        Ok(StatsdClient {
            inner: Arc::new(Inner { shared, framing: Framing::new(self.prefix, &self.tags), thread: Some(thread) }),
        })
    }

    /// A socket connected to the target.
    fn connect(&self) -> Result<Transport, Error> {
        Ok(match &self.target {
            Target::Udp(host, port) => {
                let addr_text = format!("{host}:{port}");
                let addrs: Vec<_> = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(|source| Error::Resolve { addr: addr_text.clone(), source })?
                    .collect();
                let addr = addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()).copied().ok_or_else(|| {
                    Error::Resolve { addr: addr_text.clone(), source: std::io::ErrorKind::NotFound.into() }
                })?;
                let local = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let socket = UdpSocket::bind(local)
                    .and_then(|s| s.connect(addr).map(|()| s))
                    .map_err(|source| Error::Socket { addr: addr_text, source })?;
                Transport::Udp(socket)
            }
            #[cfg(unix)]
            Target::Unix(path) => {
                let socket = std::os::unix::net::UnixDatagram::unbound()
                    .and_then(|s| s.connect(path).map(|()| s))
                    .map_err(|source| Error::Socket { addr: path.display().to_string(), source })?;
                Transport::Unix(socket)
            }
            #[cfg(not(unix))]
            Target::Unix(path) => {
                return Err(Error::Option(format!("unix sockets are not available here ({})", path.display())))
            }
        })
    }
}

struct Inner {
    shared: Arc<Shared>,
    framing: Framing,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.flush(Duration::from_secs(2));
        self.shared.stopping.store(true, Release);
        self.shared.nudge();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends StatsD (and DogStatsD) metrics without ever blocking the caller:
/// each thread packs its lines into a datagram of its own (no larger than
/// the maximum packet size) and sends it, on a non-blocking socket, when it
/// fills; a sender thread sends the partial datagrams at every flush
/// interval, and packs the lines of threads beyond the first 64 from a
/// bounded queue (a full queue drops the line and counts it). A thread's
/// lines leave in the order it wrote them. Cheap to clone; the last clone
/// to drop flushes.
///
/// Names and tag values are sanitised: characters that would end a field or
/// a line (`:|@#,`, whitespace) become `_`, so no input can inject a metric.
/// Label values that the exporter folds into names (tags off) follow the
/// stricter name alphabet (see [`StatsdExporter`](crate::StatsdExporter)).
///
/// ```no_run
/// let statsd = sonde_statsd::StatsdClient::new("127.0.0.1", 8125, "myapp")?;
/// statsd.incr("requests", 1, 1.0);
/// statsd.gauge("queue.depth", 17.0, 1.0);
/// statsd.timing("db.query", 12.5, 0.1); // sampled: sent 10% of the time, with |@0.1
/// {
///     let _t = statsd.timer("handler", 1.0); // sends the elapsed ms on drop
/// }
/// # Ok::<(), sonde_statsd::Error>(())
/// ```
#[derive(Clone)]
pub struct StatsdClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StatsdClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsdClient").field("prefix", &self.inner.framing.prefix).finish_non_exhaustive()
    }
}

impl StatsdClient {
    /// A UDP client for `host:port` with a name prefix and default options.
    ///
    /// # Errors
    ///
    /// [`Error`] when `host` does not resolve or the socket cannot be created.
    pub fn new(host: &str, port: u16, prefix: &str) -> Result<Self, Error> {
        Self::builder(host, port).prefix(prefix).build()
    }

    /// A client for `$STATSD_HOST:$STATSD_PORT` (default `localhost:8125`).
    ///
    /// # Errors
    ///
    /// [`Error`] when `STATSD_HOST`/`STATSD_PORT` are invalid (see [`env_target`]) or the socket cannot be
    /// created.
    pub fn from_env(prefix: &str) -> Result<Self, Error> {
        let (host, port) = env_target()?;
        Self::new(&host, port, prefix)
    }

    /// Options for a UDP client.
    pub fn builder(host: &str, port: u16) -> StatsdBuilder {
        StatsdBuilder {
            target: Target::Udp(host.into(), port),
            prefix: String::new(),
            max_packet: DEFAULT_MAX_PACKET,
            flush_interval: Duration::from_millis(100),
            capacity: 65_536,
            tags: Vec::new(),
        }
    }

    /// Adds `count` to a counter.
    pub fn incr(&self, name: &str, count: i64, rate: f64) {
        self.send(name, Val::Num(count as f64, false), Kind::Counter, rate, &[]);
    }

    /// Subtracts `count` from a counter.
    pub fn decr(&self, name: &str, count: i64, rate: f64) {
        self.incr(name, -count, rate);
    }

    /// Sets a gauge. A negative value is sent as `0` then the value, since
    /// a leading `-` alone would be read as a delta.
    pub fn gauge(&self, name: &str, value: f64, rate: f64) {
        self.gauge_tagged(name, value, rate, &[]);
    }

    /// [`StatsdClient::gauge`] with DogStatsD tags.
    pub fn gauge_tagged(&self, name: &str, value: f64, rate: f64, tags: &[(&str, &str)]) {
        if value < 0.0 {
            if !self.sampled(rate) {
                return;
            }
            // Set to zero, then move down: two lines that stay together.
            let framing = &self.inner.framing;
            self.inner.shared.put(2, |out| {
                line::format(out, framing, name, Val::Num(0.0, false), Kind::Gauge, 1.0, tags);
                out.push('\n');
                line::format(out, framing, name, Val::Num(value, false), Kind::Gauge, 1.0, tags);
            });
        } else {
            self.send(name, Val::Num(value, false), Kind::Gauge, rate, tags);
        }
    }

    /// Moves a gauge by a signed `delta` (`+5`, `-3`).
    pub fn gauge_delta(&self, name: &str, delta: f64, rate: f64) {
        self.send(name, Val::Num(delta, true), Kind::Gauge, rate, &[]);
    }

    /// Records a duration in milliseconds.
    pub fn timing(&self, name: &str, ms: f64, rate: f64) {
        self.send(name, Val::Num(ms, false), Kind::Timing, rate, &[]);
    }

    /// Starts a timer that records the elapsed milliseconds when dropped.
    pub fn timer(&self, name: &str, rate: f64) -> StatsdTimer {
        StatsdTimer { client: self.clone(), name: name.into(), rate, started: Instant::now() }
    }

    /// Adds `member` to a set (distinct members are counted per interval).
    pub fn set(&self, name: &str, member: &str) {
        self.send(name, Val::Text(member), Kind::Set, 1.0, &[]);
    }

    /// Records a histogram value (DogStatsD `h`).
    pub fn histogram(&self, name: &str, value: f64, rate: f64) {
        self.send(name, Val::Num(value, false), Kind::Histogram, rate, &[]);
    }

    /// Records a distribution value (DogStatsD `d`).
    pub fn distribution(&self, name: &str, value: f64, rate: f64) {
        self.send(name, Val::Num(value, false), Kind::Distribution, rate, &[]);
    }

    /// Sends any metric with DogStatsD tags (`key:value`, or `key` alone
    /// when the value is empty).
    pub fn send_tagged(&self, name: &str, value: f64, kind: Kind, rate: f64, tags: &[(&str, &str)]) {
        self.send(name, Val::Num(value, false), kind, rate, tags);
    }

    fn sampled(&self, rate: f64) -> bool {
        if rate >= 1.0 {
            return true;
        }
        let keep = rate > 0.0 && fastrand::f64() < rate;
        if !keep {
            self.inner.shared.stats.sampled_out.fetch_add(1, Relaxed);
        }
        keep
    }

    #[inline]
    fn send(&self, name: &str, value: Val<'_>, kind: Kind, rate: f64, tags: &[(&str, &str)]) {
        // `put` never waits: a line with no room is dropped and counted there.
        if self.sampled(rate) {
            let (framing, rate) = (&self.inner.framing, rate.clamp(0.0, 1.0));
            self.inner.shared.put(1, |out| line::format(out, framing, name, value, kind, rate, tags));
        }
    }

    /// Sends everything queued now; waits at most `timeout`. True when done.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.inner.shared.flush(timeout)
    }

    /// Counts of queued, dropped, sampled-out lines and sent datagrams;
    /// the handle outlives the client, so the counts of its final flush can
    /// be read after the last clone is dropped.
    pub fn stats(&self) -> Arc<Stats> {
        self.inner.shared.stats.clone()
    }
}

/// `STATSD_HOST` (default `localhost`) and `STATSD_PORT` (default 8125).
///
/// # Errors
///
/// [`Error`] naming the variable when `STATSD_PORT` is not a port number.
pub fn env_target() -> Result<(String, u16), Error> {
    let host = std::env::var("STATSD_HOST").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into());
    let port = match std::env::var("STATSD_PORT") {
        Ok(p) if !p.is_empty() => p.trim().parse().map_err(|_| Error::Port(p))?,
        _ => 8125,
    };
    Ok((host, port))
}

/// Records elapsed milliseconds to a timing when dropped (or at `stop`).
#[must_use = "the timer records when dropped"]
pub struct StatsdTimer {
    client: StatsdClient,
    name: String,
    rate: f64,
    started: Instant,
}

impl StatsdTimer {
    /// Records now and returns the elapsed time.
    pub fn stop(self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for StatsdTimer {
    fn drop(&mut self) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.client.timing(&self.name, (ms * 1000.0).round() / 1000.0, self.rate);
    }
}
