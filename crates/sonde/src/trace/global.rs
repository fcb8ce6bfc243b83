//! The process-wide tracer provider, used by `#[traced]`.

use std::sync::atomic::{AtomicPtr, Ordering::*};
use std::sync::OnceLock;

use super::tracer::{intern_scope, Scope};
use super::{Sampler, Tracer, TracerProvider};

/// Providers are set a handful of times per process; each one set is kept
/// for the life of the process so that readers need no lock or refcount.
static GLOBAL: AtomicPtr<TracerProvider> = AtomicPtr::new(std::ptr::null_mut());

/// Makes `provider` the global one; returns the previous provider (to
/// flush and shut down) if there was one.
pub fn set_global_provider(provider: TracerProvider) -> Option<TracerProvider> {
    let fresh = Box::into_raw(Box::new(provider));
    let old = GLOBAL.swap(fresh, AcqRel);
    // SAFETY: pointers stored in GLOBAL come from Box::into_raw and are never freed.
    (!old.is_null()).then(|| unsafe { (*old).clone() })
}

/// The global provider. Until one is set: a provider that samples nothing
/// (spans still carry context) and has no processors.
pub fn global_provider() -> &'static TracerProvider {
    let p = GLOBAL.load(Acquire);
    if !p.is_null() {
        // SAFETY: as above.
        return unsafe { &*p };
    }
    let default = Box::into_raw(Box::new(TracerProvider::builder().sampler(Sampler::AlwaysOff).build()));
    match GLOBAL.compare_exchange(std::ptr::null_mut(), default, AcqRel, Acquire) {
        // SAFETY: just published; never freed.
        Ok(_) => unsafe { &*default },
        Err(existing) => {
            // SAFETY: `default` was never shared.
            drop(unsafe { Box::from_raw(default) });
            // SAFETY: as above.
            unsafe { &*existing }
        }
    }
}

/// A tracer on the global provider for `scope`.
pub fn global_tracer(scope: &str) -> Tracer {
    global_provider().tracer(scope)
}

/// For macros: a tracer for a call site whose scope is interned once.
#[doc(hidden)]
pub fn callsite_tracer(cell: &'static OnceLock<&'static Scope>, scope: &'static str) -> Tracer {
    let scope = *cell.get_or_init(|| intern_scope(scope));
    global_provider().tracer_for(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{InMemoryExporter, SimpleProcessor};

    /// The only test touching the global provider in this test binary.
    #[test]
    fn default_then_set_then_replaced() {
        // Until one is set: spans carry context but are not sampled.
        let unsampled = global_tracer("t").start("before");
        assert!(unsampled.context().is_valid());
        assert!(!unsampled.context().is_sampled());
        assert!(std::ptr::eq(global_provider(), global_provider()), "one default provider");

        let first = InMemoryExporter::default();
        let previous =
            set_global_provider(TracerProvider::builder().processor(SimpleProcessor::new(first.clone())).build());
        assert!(previous.is_some(), "the default provider came back");
        global_tracer("t").start("one").end();
        static SCOPE: OnceLock<&'static Scope> = OnceLock::new();
        callsite_tracer(&SCOPE, "callsite").start("two").end();
        let names: Vec<String> = first.spans().iter().map(|s| s.name.to_string()).collect();
        assert_eq!(names, ["one", "two"]);

        let second = InMemoryExporter::default();
        let replaced =
            set_global_provider(TracerProvider::builder().processor(SimpleProcessor::new(second.clone())).build());
        replaced.unwrap().tracer("t").start("old").end();
        global_tracer("t").start("new").end();
        assert_eq!(first.spans().last().unwrap().name, "old", "the returned provider still works");
        assert_eq!(second.spans()[0].name, "new");
    }
}
