//! A small number per live thread, reused once the thread exits, so each
//! thread can own a buffer of its own.

use std::sync::atomic::{AtomicU64, Ordering::*};

/// How many threads get a number; later ones get none.
pub(crate) const THREADS: usize = 64;

static USED: AtomicU64 = AtomicU64::new(0);

struct Index(Option<usize>);

impl Index {
    fn claim() -> Self {
        let mut used = USED.load(Relaxed);
        loop {
            let free = (!used).trailing_zeros() as usize;
            if free >= THREADS {
                return Self(None);
            }
            match USED.compare_exchange_weak(used, used | (1 << free), AcqRel, Relaxed) {
                Ok(_) => return Self(Some(free)),
                Err(now) => used = now,
            }
        }
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            USED.fetch_and(!(1 << i), Release);
        }
    }
}

thread_local! {
    static INDEX: Index = Index::claim();
}

/// This thread's number, or `None` when [`THREADS`] live threads have one
/// (or the thread is exiting).
#[inline]
pub(crate) fn current() -> Option<usize> {
    INDEX.try_with(|i| i.0).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_threads_have_distinct_numbers() {
        let mine = current().expect("a number");
        let others: Vec<Option<usize>> =
            (0..8).map(|_| std::thread::spawn(current)).map(|t| t.join().unwrap()).collect();
        assert!(others.iter().all(|o| *o != Some(mine)), "never this thread's number while it lives");
        // Four threads alive at once (held by a barrier) hold four numbers.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let held: Vec<_> = (0..4)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let n = current();
                    barrier.wait();
                    n
                })
            })
            .collect();
        let mut at_once: Vec<usize> = held.into_iter().map(|t| t.join().unwrap().unwrap()).collect();
        at_once.sort_unstable();
        at_once.dedup();
        assert_eq!(at_once.len(), 4, "four live threads, four numbers");
    }
}
