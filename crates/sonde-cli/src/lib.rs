//! The library side of the `sonde` binary: the parts that are fuzzed.

pub mod check;
