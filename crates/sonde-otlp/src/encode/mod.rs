//! Sonde's data as OTLP protobuf bytes, written straight from Sonde's types
//! in prost's field order (so the bytes are exactly prost's for the same
//! message tree), and as the official generated types.

mod common;
mod logs;
mod metrics;
mod traces;
mod wire;

pub(crate) use common::resource;
pub use logs::{log_record, logs_request};
pub use metrics::MetricEncoder;
pub use traces::{traces_request, TraceEncoder};

/// The message tree of bytes this module wrote. They always decode (the
/// tests decode and re-encode every shape); were they ever not to, the
/// error is logged and an empty request returned rather than a panic.
fn decode_own<M: prost::Message + Default>(bytes: &[u8]) -> M {
    M::decode(bytes).unwrap_or_else(|e| {
        debug_assert!(false, "Sonde's own OTLP bytes do not decode: {e}");
        log::error!(target: "sonde::otlp", "internal error: Sonde's own OTLP bytes do not decode: {e}");
        M::default()
    })
}
