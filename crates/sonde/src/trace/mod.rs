//! Traces: ids, span contexts and W3C propagation.
//!
//! Spans, the tracer and span processors build on these types (issue 3 is
//! in progress; this module holds what is done and tested).

mod context;
mod id;
pub mod propagation;
mod trace_state;

pub use context::{SpanContext, TraceFlags};
pub use id::{SpanId, TraceId};
pub use trace_state::{TraceState, MAX_HEADER_LEN as MAX_TRACESTATE_LEN, MAX_MEMBERS as MAX_TRACESTATE_MEMBERS};
