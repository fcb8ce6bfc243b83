//! Decoding OTLP bodies off the serving runtime: at most a few at a time,
//! on the blocking pool, each priced first and refused when its decoded
//! form would exceed the per-request budget.

use std::sync::Arc;

use sonde_otlp::receive::{decode_unpacked, price, unpack, BodyError, Encoding};
use sonde_otlp::Signal;
use tokio::sync::Semaphore;

/// The hub's decoder (cheap to clone).
#[derive(Clone)]
pub(crate) struct Decoder {
    permits: Arc<Semaphore>,
    max_cost: usize,
}

impl Decoder {
    pub(crate) fn new(concurrency: usize, max_cost: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), max_cost }
    }

    /// Unpacks (inflates) an OTLP/HTTP body, prices it and decodes it, on
    /// the blocking pool once a slot is free.
    pub(crate) async fn http<R>(
        &self,
        signal: Signal,
        content_type: Option<String>,
        content_encoding: Option<String>,
        body: bytes::Bytes,
    ) -> Result<(R, Encoding), BodyError>
    where
        R: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static,
    {
        let max_cost = self.max_cost;
        self.run(move || {
            let (bytes, encoding) = unpack(content_type.as_deref(), content_encoding.as_deref(), &body)?;
            Ok((priced_decode(signal, &bytes, encoding, max_cost)?, encoding))
        })
        .await
    }

    /// Prices and decodes a gRPC message (tonic has inflated it).
    pub(crate) async fn grpc<R>(&self, signal: Signal, message: bytes::Bytes) -> Result<R, BodyError>
    where
        R: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static,
    {
        let max_cost = self.max_cost;
        self.run(move || priced_decode(signal, &message, Encoding::Protobuf, max_cost)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, BodyError> + Send + 'static,
    ) -> Result<T, BodyError> {
        let _slot = self.permits.acquire().await.map_err(|_| BodyError::BadMessage("the hub is stopping".into()))?;
        tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(BodyError::BadMessage(e.to_string())))
    }
}

fn priced_decode<R>(signal: Signal, bytes: &[u8], encoding: Encoding, max_cost: usize) -> Result<R, BodyError>
where
    R: prost::Message + Default + serde::de::DeserializeOwned,
{
    let cost = price(signal, bytes, encoding)?;
    if cost > max_cost {
        return Err(BodyError::TooCostly { cost, limit: max_cost });
    }
    decode_unpacked(bytes, encoding)
}
