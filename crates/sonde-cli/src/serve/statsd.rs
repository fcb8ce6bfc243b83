//! StatsD in: UDP datagrams and newline-delimited TCP, into the registry
//! through `StatsdIngest`; sets roll over every flush interval.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use sonde_statsd::parse::{Reject, MAX_LINE};
use sonde_statsd::StatsdIngest;

/// Bound StatsD sockets, before their threads start.
pub(super) struct Listeners {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Listeners {
    /// Binds UDP and TCP on `addr`. Port 0 picks a UDP port and takes the
    /// same port for TCP (a few tries, since another process may hold that
    /// TCP port), so that one address serves both, as StatsD users expect.
    pub(super) fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let (udp, tcp) = if addr.port() == 0 {
            let mut tries = 0;
            loop {
                let udp = UdpSocket::bind(addr)?;
                match TcpListener::bind(udp.local_addr()?) {
                    Ok(tcp) => break (udp, tcp),
                    Err(e) if tries >= 8 => return Err(e),
                    Err(_) => tries += 1,
                }
            }
        } else {
            (UdpSocket::bind(addr)?, TcpListener::bind(addr)?)
        };
        udp.set_read_timeout(Some(Duration::from_millis(200)))?;
        tcp.set_nonblocking(true)?;
        Ok(Self { udp, tcp })
    }

    /// The UDP and TCP addresses.
    pub(super) fn addrs(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.udp.local_addr()?, self.tcp.local_addr()?))
    }

    /// Starts the receiving threads; they end when `stop` is set.
    pub(super) fn start(
        self,
        ingest: Arc<StatsdIngest>,
        roll_every: Duration,
        stop: Arc<AtomicBool>,
    ) -> Vec<JoinHandle<()>> {
        let Listeners { udp, tcp } = self;
        let mut workers = Vec::new();
        {
            let (stop, ingest) = (stop.clone(), ingest.clone());
            workers.push(thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = udp.recv(&mut buf) {
                        ingest.ingest(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }));
        }
        {
            let (stop, ingest) = (stop.clone(), ingest.clone());
            workers.push(thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match tcp.accept() {
                        Ok((stream, _)) => {
                            let (stop, ingest) = (stop.clone(), ingest.clone());
                            thread::spawn(move || read_lines(stream, &ingest, &stop));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(20)),
                    }
                }
            }));
        }
        workers.push(thread::spawn(move || {
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
                if waited >= roll_every {
                    ingest.roll_sets();
                    waited = Duration::ZERO;
                }
            }
        }));
        workers
    }
}

/// Newline-delimited StatsD over TCP; a line longer than `MAX_LINE` is
/// dropped (counted as too long by the parser) without growing the buffer.
fn read_lines(mut stream: std::net::TcpStream, ingest: &StatsdIngest, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                if let Some(last) = pending.iter().rposition(|b| *b == b'\n') {
                    let complete: Vec<u8> = pending.drain(..=last).collect();
                    ingest.ingest(&String::from_utf8_lossy(&complete));
                }
                if pending.len() > MAX_LINE {
                    ingest.reject(Reject::TooLong);
                    pending.clear();
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(_) => break,
        }
    }
    if !pending.is_empty() {
        ingest.ingest(&String::from_utf8_lossy(&pending));
    }
}
