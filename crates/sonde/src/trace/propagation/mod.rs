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

use super::{SpanContext, TraceFlags, TraceState};

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

/// The level of W3C Trace Context a [`Propagator`] follows.
///
/// The levels differ in three places: Level 2 defines the random-trace-id
/// flag (bit 1), which Level 1 reserves and so sends as zero; Level 2 widens
/// the `tracestate` key grammar (any key of lowercase letters, digits and
/// `_-*/@` starting with a letter or digit), where Level 1 allows a digit
/// first or an `@` only in its `tenant@system` form. Parsing `traceparent`
/// is the same at both levels, and received flag bits are always kept for
/// inspection ([`TraceFlags::raw`](crate::trace::TraceFlags::raw)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Level {
    /// W3C Recommendation, 2021.
    One,
    /// The current draft: the random flag and the wider key grammar.
    #[default]
    Two,
}

/// Reads and writes W3C Trace Context (at a [`Level`]) and Baggage.
///
/// ```
/// use std::collections::HashMap;
/// use sonde::trace::propagation::{Level, Propagator};
///
/// let mut incoming = HashMap::new();
/// incoming.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".to_string());
/// let ctx = Propagator::new(Level::One).extract(&incoming).context.unwrap();
/// let mut outgoing: HashMap<String, String> = HashMap::new();
/// Propagator::new(Level::One).inject(&ctx, &Default::default(), &mut outgoing);
/// assert!(outgoing["traceparent"].ends_with("-01"), "Level 1 sends the random bit as zero");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Propagator {
    level: Level,
}

impl Propagator {
    /// A propagator following `level`.
    pub const fn new(level: Level) -> Self {
        Self { level }
    }

    /// The level it follows.
    pub const fn level(self) -> Level {
        self.level
    }

    /// Reads trace context and baggage from a carrier.
    ///
    /// Exactly one `traceparent` must be present (two are invalid).
    /// `tracestate` is read only when `traceparent` is valid; several
    /// `tracestate` lines are joined; an invalid `tracestate` is dropped
    /// without affecting `traceparent`. Never panics, whatever the input.
    pub fn extract(&self, carrier: &impl Extractor) -> Extracted {
        let baggage = Baggage::parse(&carrier.get_all(BAGGAGE).join(","));
        let parents = carrier.get_all(TRACEPARENT);
        let context = match parents.as_slice() {
            [one] => parse_traceparent(one).map(|mut ctx| {
                let state = carrier.get_all(TRACESTATE).join(",");
                ctx.state = TraceState::parse_at(&state, self.level).unwrap_or_default();
                ctx
            }),
            _ => None,
        };
        Extracted { context, baggage }
    }

    /// Writes `traceparent` (version 00, with the flags the level defines),
    /// `tracestate` (when not empty, truncated to 512 characters) and
    /// `baggage` (when not empty).
    pub fn inject(&self, ctx: &SpanContext, baggage: &Baggage, carrier: &mut impl Injector) {
        if !ctx.is_valid() {
            return;
        }
        let flags = match self.level {
            Level::One => ctx.flags.to_byte() & TraceFlags::SAMPLED.raw(),
            Level::Two => ctx.flags.to_byte(),
        };
        carrier.set(TRACEPARENT, traceparent::format(ctx, flags));
        if !ctx.state.is_empty() {
            carrier.set(TRACESTATE, ctx.state.to_header());
        }
        if !baggage.is_empty() {
            carrier.set(BAGGAGE, baggage.to_header());
        }
    }
}

/// [`Propagator::extract`] at Level 2.
pub fn extract(carrier: &impl Extractor) -> Extracted {
    Propagator::default().extract(carrier)
}

/// [`Propagator::inject`] at Level 2.
pub fn inject(ctx: &SpanContext, baggage: &Baggage, carrier: &mut impl Injector) {
    Propagator::default().inject(ctx, baggage, carrier)
}

#[cfg(test)]
mod tests;
