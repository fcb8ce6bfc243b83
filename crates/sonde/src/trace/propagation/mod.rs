//! W3C Trace Context and Baggage propagation across processes.
//!
//! ```
//! use std::collections::HashMap;
//! use sonde::trace::propagation::{extract, inject};
//!
//! let mut incoming = HashMap::new();
//! incoming.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
//! incoming.insert("tracestate".to_string(), "congo=t61rcWkgMzE".to_string());
//! let got = extract(&incoming);
//! let ctx = got.context.expect("valid traceparent");
//! assert!(ctx.is_sampled() && ctx.remote);
//!
//! let mut outgoing: HashMap<String, String> = HashMap::new();
//! inject(&ctx, &got.baggage, &mut outgoing);
//! assert_eq!(outgoing["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! assert_eq!(outgoing["tracestate"], "congo=t61rcWkgMzE");
//! ```

mod baggage;
mod carrier;
mod traceparent;

pub use baggage::{percent_decode, Baggage, MAX_BAGGAGE_LEN, MAX_ENTRIES};
pub use carrier::{Extractor, Injector};
pub use traceparent::{format_traceparent, parse_traceparent};

use super::{SpanContext, TraceState};

/// The `traceparent` header name.
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";
/// The `baggage` header name.
pub const BAGGAGE: &str = "baggage";

/// What [`extract`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extracted {
    /// The remote parent, or None when `traceparent` is absent or invalid
    /// (the caller then starts a new trace).
    pub context: Option<SpanContext>,
    /// Baggage entries (independent of `traceparent`).
    pub baggage: Baggage,
}

/// Reads trace context and baggage from a carrier.
///
/// Exactly one `traceparent` must be present (two are invalid). `tracestate`
/// is read only when `traceparent` is valid; several `tracestate` lines are
/// joined; an invalid `tracestate` is dropped without affecting
/// `traceparent`. Never panics, whatever the input.
pub fn extract(carrier: &impl Extractor) -> Extracted {
    let baggage = Baggage::parse(&carrier.get_all(BAGGAGE).join(","));
    let parents = carrier.get_all(TRACEPARENT);
    let context = match parents.as_slice() {
        [one] => parse_traceparent(one).map(|mut ctx| {
            ctx.state = TraceState::parse(&carrier.get_all(TRACESTATE).join(",")).unwrap_or_default();
            ctx
        }),
        _ => None,
    };
    Extracted { context, baggage }
}

/// Writes `traceparent` (version 00), `tracestate` (when not empty,
/// truncated to 512 characters) and `baggage` (when not empty).
pub fn inject(ctx: &SpanContext, baggage: &Baggage, carrier: &mut impl Injector) {
    if !ctx.is_valid() {
        return;
    }
    carrier.set(TRACEPARENT, format_traceparent(ctx));
    if !ctx.state.is_empty() {
        carrier.set(TRACESTATE, ctx.state.to_header());
    }
    if !baggage.is_empty() {
        carrier.set(BAGGAGE, baggage.to_header());
    }
}

#[cfg(test)]
mod tests;
