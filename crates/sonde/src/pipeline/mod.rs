//! Machinery shared by the span and event pipelines.

mod batcher;

pub(crate) use batcher::Batcher;
pub use batcher::{BatchOptions, BatchStats};
