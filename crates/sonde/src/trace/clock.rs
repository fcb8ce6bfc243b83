//! A cheap wall clock for span timestamps.
//!
//! Reading `SystemTime` costs about 30 ns on the machines we measure; a span
//! needs two. This clock reads the CPU's time-stamp counter (through
//! `quanta`, about 10 ns) and adds it to a wall-clock anchor. The anchor is
//! refreshed from `SystemTime` every ten seconds, so drift between the
//! counter and the wall clock stays bounded; the pair is published with a
//! sequence lock, so readers never wait on a lock.

use std::sync::atomic::{fence, AtomicU64, Ordering::*};
use std::sync::OnceLock;

use crate::snapshot::now_unix_nanos as system_now;

const REANCHOR_NANOS: u64 = 10_000_000_000;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
static SEQ: AtomicU64 = AtomicU64::new(0);
static RAW: AtomicU64 = AtomicU64::new(0);
static UNIX: AtomicU64 = AtomicU64::new(0);

fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(|| {
        let c = quanta::Clock::new();
        RAW.store(c.raw(), Relaxed);
        UNIX.store(system_now(), Relaxed);
        fence(Release);
        c
    })
}

/// Nanoseconds since the Unix epoch, now.
#[inline]
pub(crate) fn now_unix_nanos() -> u64 {
    if cfg!(miri) {
        // Miri cannot run the counter's `cpuid` and `rdtsc`.
        return system_now();
    }
    let clock = clock();
    let now = clock.raw();
    loop {
        let s1 = SEQ.load(Acquire);
        if s1 & 1 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let (raw, unix) = (RAW.load(Relaxed), UNIX.load(Relaxed));
        fence(Acquire);
        if SEQ.load(Relaxed) != s1 {
            continue;
        }
        let delta = if now > raw { clock.delta_as_nanos(raw, now) } else { 0 };
        if delta > REANCHOR_NANOS && SEQ.compare_exchange(s1, s1 + 1, Acquire, Relaxed).is_ok() {
            fence(Release);
            let (r, u) = (clock.raw(), system_now());
            RAW.store(r, Relaxed);
            UNIX.store(u, Relaxed);
            SEQ.store(s1 + 2, Release);
            return u;
        }
        return unix + delta;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tracks_the_system_clock() {
        for _ in 0..100 {
            let ours = super::now_unix_nanos();
            let sys = crate::snapshot::now_unix_nanos();
            let diff = ours.abs_diff(sys);
            assert!(diff < 5_000_000, "within 5 ms of SystemTime, got {diff} ns");
        }
        let a = super::now_unix_nanos();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = super::now_unix_nanos();
        assert!(b - a >= 19_000_000 && b - a < 200_000_000, "{}", b - a);
    }
}
