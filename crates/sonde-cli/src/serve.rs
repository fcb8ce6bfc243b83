//! `sonde serve`: the hub. This first slice receives StatsD (UDP and TCP)
//! and serves `/metrics`; OTLP ingest, the API and forwarding follow.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sonde::{Buckets, Registry};
use sonde_config::Pipeline;
use sonde_statsd::parse::{Reject, MAX_LINE};
use sonde_statsd::StatsdIngest;

/// Default StatsD address (the StatsD convention, on loopback).
pub const DEFAULT_STATSD: &str = "127.0.0.1:8125";

pub fn run(
    listen: Option<SocketAddr>,
    statsd: Option<SocketAddr>,
    file: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = crate::demo::load(listen, file)?;
    let pipeline = Pipeline::start(&config, Registry::new())?;
    let ingest = Arc::new(StatsdIngest::new(pipeline.registry().clone(), Buckets::default_seconds())?);
    let statsd: SocketAddr = statsd.unwrap_or_else(|| DEFAULT_STATSD.parse().expect("constant address"));
    let udp = UdpSocket::bind(statsd)?;
    udp.set_read_timeout(Some(Duration::from_millis(200)))?;
    let tcp = TcpListener::bind(statsd)?;
    tcp.set_nonblocking(true)?;
    if let Some(addr) = pipeline.metrics_addr() {
        crate::demo::say(&format!("sonde serve: metrics at http://{addr}/metrics"));
    }
    crate::demo::say(&format!("sonde serve: statsd udp at {}", udp.local_addr()?));
    crate::demo::say(&format!("sonde serve: statsd tcp at {}", tcp.local_addr()?));

    let stop = Arc::new(AtomicBool::new(false));
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
    {
        let (stop, ingest) = (stop.clone(), ingest.clone());
        let interval = config.flush_interval.0;
        workers.push(thread::spawn(move || {
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
                if waited >= interval {
                    ingest.roll_sets();
                    waited = Duration::ZERO;
                }
            }
        }));
    }
    crate::demo::wait_for_signal()?;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    pipeline.shutdown(Duration::from_secs(5))?;
    crate::demo::say("sonde serve: stopped");
    Ok(())
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
