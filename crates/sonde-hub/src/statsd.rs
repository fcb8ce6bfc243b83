//! StatsD in: UDP datagrams on a thread of their own, newline-delimited TCP
//! on the runtime (a connection cap and an idle timeout, like every other
//! listener), all folded into the registry by one ingest thread; sets roll
//! over every flush interval.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use sonde::{Counter, Gauge};
use sonde_statsd::parse::{Reject, MAX_LINE};
use sonde_statsd::StatsdIngest;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::net::watched::Watched;
use crate::state::{HubState, Refused};

/// Bound StatsD sockets, before their threads and tasks start.
pub(crate) struct Listeners {
    udp: UdpSocket,
    tcp: std::net::TcpListener,
}

impl Listeners {
    /// Binds UDP and TCP on `addr`. Port 0 picks a UDP port and takes the
    /// same port for TCP (a few tries, since another process may hold that
    /// TCP port), so that one address serves both, as StatsD users expect.
    pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let (udp, tcp) = if addr.port() == 0 {
            let mut tries = 0;
            loop {
                let udp = UdpSocket::bind(addr)?;
                match std::net::TcpListener::bind(udp.local_addr()?) {
                    Ok(tcp) => break (udp, tcp),
                    Err(e) if tries >= 8 => return Err(e),
                    Err(_) => tries += 1,
                }
            }
        } else {
            (UdpSocket::bind(addr)?, std::net::TcpListener::bind(addr)?)
        };
        udp.set_read_timeout(Some(Duration::from_millis(200)))?;
        tcp.set_nonblocking(true)?;
        Ok(Self { udp, tcp })
    }

    /// The UDP and TCP addresses.
    pub(crate) fn addrs(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.udp.local_addr()?, self.tcp.local_addr()?))
    }
}

/// The connection counts of the TCP listener.
pub(crate) struct TcpStats {
    pub(crate) open: Gauge,
    pub(crate) refused: Counter,
}

/// Running StatsD threads and tasks.
pub(crate) struct Running {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops the UDP reader, the set roller and (once the TCP side has
    /// stopped sending) the ingest thread; waits for them.
    pub(crate) fn stop(self) {
        self.stop.store(true, Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Chunks of complete lines from TCP connections, for the ingest thread.
const CHUNKS_IN_FLIGHT: usize = 64;

/// Starts everything. TCP connections are served on the current runtime
/// until `stop_tcp` turns true.
pub(crate) fn start(
    listeners: Listeners,
    hub: HubState,
    ingest: Arc<StatsdIngest>,
    roll_every: Duration,
    stats: TcpStats,
    stop_tcp: watch::Receiver<bool>,
) -> std::io::Result<Running> {
    let Listeners { udp, tcp } = listeners;
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let (chunks_tx, mut chunks_rx) = mpsc::channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    {
        let (stop, ingest, hub) = (stop.clone(), ingest.clone(), hub.clone());
        threads.push(thread::Builder::new().name("sonde-statsd-udp".into()).spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !stop.load(Relaxed) {
                if let Ok(n) = udp.recv(&mut buf) {
                    let lines = ingest.ingest(&String::from_utf8_lossy(&buf[..n]));
                    hub.statsd_received("statsd/udp", lines);
                }
            }
        })?);
    }
    {
        let (ingest, hub) = (ingest.clone(), hub.clone());
        // Ends when every TCP connection and the accept loop have dropped
        // their senders.
        threads.push(thread::Builder::new().name("sonde-statsd-ingest".into()).spawn(move || {
            while let Some(chunk) = chunks_rx.blocking_recv() {
                let lines = ingest.ingest(&String::from_utf8_lossy(&chunk));
                hub.statsd_received("statsd/tcp", lines);
            }
        })?);
    }
    {
        let (stop, ingest) = (stop.clone(), ingest.clone());
        threads.push(thread::Builder::new().name("sonde-statsd-sets".into()).spawn(move || {
            let mut waited = Duration::ZERO;
            while !stop.load(Relaxed) {
                thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
                if waited >= roll_every {
                    ingest.roll_sets();
                    waited = Duration::ZERO;
                }
            }
        })?);
    }
    let tcp = tokio::net::TcpListener::from_std(tcp)?;
    let limits = hub.limits().clone();
    let permits = Arc::new(Semaphore::new(limits.max_statsd_connections));
    tokio::spawn(async move {
        let mut stop_tcp = stop_tcp;
        loop {
            let accepted = tokio::select! {
                accepted = tcp.accept() => accepted,
                _ = stop_tcp.wait_for(|s| *s) => break,
            };
            let Ok((stream, _)) = accepted else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                stats.refused.inc();
                hub.reject("metrics", Refused::StatsdConnectionLimit, 1);
                continue;
            };
            let stream = Watched::new(stream, limits.idle_timeout, permit);
            let (chunks, ingest, open, stop) =
                (chunks_tx.clone(), ingest.clone(), stats.open.clone(), stop_tcp.clone());
            open.inc();
            tokio::spawn(async move {
                read_lines(stream, &chunks, &ingest, stop).await;
                open.dec();
            });
        }
    });
    Ok(Running { stop, threads })
}

/// Newline-delimited StatsD over TCP, in chunks of whole lines. A line
/// longer than [`MAX_LINE`] is counted once (as too long) and skipped up to
/// its newline; the rest of the stream goes on.
async fn read_lines(
    mut stream: Watched<tokio::net::TcpStream>,
    chunks: &mpsc::Sender<Vec<u8>>,
    ingest: &StatsdIngest,
    mut stop: watch::Receiver<bool>,
) {
    let mut pending: Vec<u8> = Vec::new();
    let mut skipping = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let mut data = &buf[..n];
        if skipping {
            match data.iter().position(|b| *b == b'\n') {
                Some(at) => {
                    skipping = false;
                    data = &data[at + 1..];
                }
                None => continue,
            }
        }
        pending.extend_from_slice(data);
        if let Some(last) = pending.iter().rposition(|b| *b == b'\n') {
            let rest = pending.split_off(last + 1);
            let complete = std::mem::replace(&mut pending, rest);
            if chunks.send(complete).await.is_err() {
                return;
            }
        }
        if pending.len() > MAX_LINE {
            ingest.reject(Reject::TooLong);
            pending.clear();
            skipping = true;
        }
    }
    if !pending.is_empty() && !skipping {
        let _ = chunks.send(pending).await;
    }
}
