//! `SpanContext`: what identifies a span across threads and processes.

use super::id::{SpanId, TraceId};
use super::trace_state::TraceState;

/// The W3C trace flags byte.
///
/// A received byte is kept whole, so code that inspects a remote context can
/// see bits this version does not define ([`raw`](Self::raw)); what is sent
/// and exported carries only the defined bits ([`to_byte`](Self::to_byte)),
/// as the specification requires ("vendors MUST set those to zero").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TraceFlags(u8);

impl TraceFlags {
    /// Bit 0: the caller may have recorded this trace.
    pub const SAMPLED: Self = Self(0x01);
    /// Bit 1 (Trace Context Level 2): at least the trace id's right-most
    /// 7 bytes are random.
    pub const RANDOM: Self = Self(0x02);
    /// The bits Trace Context Level 2 defines.
    const DEFINED: u8 = 0x03;

    /// From the wire byte, every bit kept (see [`raw`](Self::raw)).
    pub const fn from_byte(b: u8) -> Self {
        Self(b)
    }

    /// The byte as received, bits this version does not define included.
    ///
    /// ```
    /// use sonde::trace::TraceFlags;
    /// let f = TraceFlags::from_byte(0xff);
    /// assert_eq!((f.raw(), f.to_byte()), (0xff, 0x03));
    /// ```
    pub const fn raw(self) -> u8 {
        self.0
    }

    /// The byte to send: only the bits Level 2 defines (sampled, random).
    pub const fn to_byte(self) -> u8 {
        self.0 & Self::DEFINED
    }

    /// These flags without the bits Level 2 does not define.
    pub const fn defined(self) -> Self {
        Self(self.0 & Self::DEFINED)
    }

    /// Whether `flag` is set.
    pub const fn contains(self, flag: Self) -> bool {
        self.0 & flag.0 == flag.0
    }

    /// These flags with `flag` set or cleared.
    pub const fn with(self, flag: Self, on: bool) -> Self {
        if on {
            Self(self.0 | flag.0)
        } else {
            Self(self.0 & !flag.0)
        }
    }

    /// Whether the sampled flag is set.
    pub const fn is_sampled(self) -> bool {
        self.contains(Self::SAMPLED)
    }
}

/// Identifies a span: trace id, span id, flags, vendor state, and whether it
/// came from another process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanContext {
    /// The trace this span belongs to.
    pub trace_id: TraceId,
    /// This span.
    pub span_id: SpanId,
    /// Sampled and random flags.
    pub flags: TraceFlags,
    /// Vendor entries (`tracestate`).
    pub state: TraceState,
    /// True when extracted from a carrier (another process).
    pub remote: bool,
}

impl SpanContext {
    /// A context for the given ids.
    pub fn new(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> Self {
        Self { trace_id, span_id, flags, state: TraceState::default(), remote: false }
    }

    /// True when both ids are valid (non-zero).
    pub fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }

    /// Whether the sampled flag is set.
    pub fn is_sampled(&self) -> bool {
        self.flags.is_sampled()
    }
}
