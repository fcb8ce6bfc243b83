//! The hub's network plumbing: connections that hold a permit and time out
//! when idle, one accept loop for every HTTP and gRPC listener, and TLS.

pub(crate) mod server;
pub(crate) mod tls;
pub(crate) mod watched;
