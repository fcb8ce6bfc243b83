//! loom models of the concurrent core. Each model states the property it
//! checks; loom runs it over every interleaving (and every weak-memory
//! outcome it models) up to a preemption bound.
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p sonde --lib --release models::
//! ```
//!
//! `scripts/loom.sh` runs them in CI with a bound and a time limit. Under
//! `cfg(loom)` the shim in `crate::sync` swaps in loom's atomics, mutexes,
//! thread-locals and threads, the cells have one single-writer stripe (so a
//! third thread takes the shared one), label indexes start with two slots
//! (so the second insert grows the table), and reclamation takes the fenced
//! strategy (loom models fences, not `membarrier`).

mod batcher;
mod cells;
mod label_index;
mod native;
mod span_pool;
mod thread_slot;

/// Runs `f` under loom with the preemption bound from
/// `LOOM_MAX_PREEMPTIONS` (default 3).
fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}
