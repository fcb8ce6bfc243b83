//! Traces: spans, the current-span context, sampling, processors,
//! exporters, and W3C propagation.
//!
//! ```
//! use sonde::trace::{Instrument, InMemoryExporter, SimpleProcessor, Status, TracerProvider};
//!
//! let exported = InMemoryExporter::new();
//! let provider = TracerProvider::builder().service_name("api").processor(SimpleProcessor::new(exported.clone())).build();
//! let tracer = provider.tracer("api::orders");
//! {
//!     let mut span = tracer.start("create_order");
//!     span.set_attribute("order.items", 3);
//!     span.set_status(Status::Ok);
//! } // ends on drop
//! assert_eq!(exported.spans()[0].name, "create_order");
//! ```

mod clock;
mod context;
pub(crate) mod current;
mod export;
mod global;
mod id;
mod processor;
pub mod propagation;
mod sampler;
mod span;
mod trace_state;
mod tracer;
mod value;

pub(crate) use clock::now_unix_nanos;
pub use context::{SpanContext, TraceFlags};
pub use current::{current_span_context, pop_context, push_context, Entered, InCurrentSpan, Instrument, Instrumented};
pub use export::{attributes_json, span_json, InMemoryExporter, JsonLinesExporter, SpanExporter};
#[doc(hidden)]
pub use global::callsite_tracer;
pub use global::{global_provider, global_tracer, set_global_provider};
pub use id::{SpanId, TraceId};
pub use processor::{BatchProcessor, Recycler, SimpleProcessor, SpanProcessor};
pub use sampler::Sampler;
pub use span::{Event, Limits, Link, Span, SpanData, SpanKind, Status};
pub use trace_state::{TraceState, MAX_HEADER_LEN as MAX_TRACESTATE_LEN, MAX_MEMBERS as MAX_TRACESTATE_MEMBERS};
pub use tracer::{Resource, Scope, SpanBuilder, Tracer, TracerProvider, TracerProviderBuilder};
pub use value::{KeyValue, Value};
