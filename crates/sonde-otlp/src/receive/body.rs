//! OTLP/HTTP request and response bodies: protobuf or JSON, maybe gzipped.

use std::borrow::Cow;
use std::io::Read;

use crate::Signal;

/// Largest request body accepted as sent (compressed or not), in bytes.
pub const MAX_BODY: usize = 8 << 20;
/// Largest body after gzip decompression, in bytes (stops gzip bombs).
pub const MAX_DECODED: usize = 32 << 20;

/// How a body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`.
    Json,
}

/// Why a body was refused, with the HTTP status OTLP/HTTP prescribes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Neither protobuf nor JSON.
    #[error("unsupported content type {0:?}: use application/x-protobuf or application/json")]
    UnsupportedMediaType(String),
    /// Over [`MAX_BODY`] or, decompressed, [`MAX_DECODED`].
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// A content encoding other than gzip or identity.
    #[error("unsupported content encoding {0:?}")]
    UnsupportedEncoding(String),
    /// The gzip stream is broken.
    #[error("bad gzip body: {0}")]
    BadGzip(String),
    /// Not a valid message of the expected type.
    #[error("cannot decode the request: {0}")]
    BadMessage(String),
    /// Its decoded form would hold more than the receiver's per-request
    /// budget (priced before decoding: see [`super::decoded_cost`]).
    #[error("the request would take {cost} bytes once decoded; the limit is {limit}")]
    TooCostly {
        /// The priced decoded size.
        cost: usize,
        /// The budget.
        limit: usize,
    },
}

impl BodyError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnsupportedMediaType(_) | Self::UnsupportedEncoding(_) => 415,
            Self::TooLarge(_) | Self::TooCostly { .. } => 413,
            Self::BadGzip(_) | Self::BadMessage(_) => 400,
        }
    }
}

/// Decodes one export request from an OTLP/HTTP body: [`unpack`], then
/// [`decode_unpacked`].
///
/// # Errors
///
/// A [`BodyError`] whose status is the one OTLP/HTTP prescribes: 415 for a media type or encoding it does not
/// take, 413 over the size caps, 400 for bad gzip or a message that does not decode.
pub fn decode_request<R>(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> Result<(R, Encoding), BodyError>
where
    R: prost::Message + Default + serde::de::DeserializeOwned,
{
    let (bytes, encoding) = unpack(content_type, content_encoding, body)?;
    Ok((decode_unpacked(&bytes, encoding)?, encoding))
}

/// Checks an OTLP/HTTP body's media type and size, and inflates it if it
/// is gzipped (up to [`MAX_DECODED`]); borrows when it is not compressed.
///
/// # Errors
///
/// As [`decode_request`], for everything but the message itself.
pub fn unpack<'a>(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &'a [u8],
) -> Result<(Cow<'a, [u8]>, Encoding), BodyError> {
    if body.len() > MAX_BODY {
        return Err(BodyError::TooLarge(MAX_BODY));
    }
    let media = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let encoding = match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        _ => return Err(BodyError::UnsupportedMediaType(media)),
    };
    let bytes = match content_encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => Cow::Borrowed(body),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(MAX_DECODED as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| BodyError::BadGzip(e.to_string()))?;
            if out.len() > MAX_DECODED {
                return Err(BodyError::TooLarge(MAX_DECODED));
            }
            Cow::Owned(out)
        }
        Some(other) => return Err(BodyError::UnsupportedEncoding(other.to_owned())),
    };
    Ok((bytes, encoding))
}

/// What an unpacked body of `signal` will hold once decoded: for protobuf
/// [`super::decoded_cost`], for JSON the bound [`super::json_cost`].
///
/// # Errors
///
/// [`BodyError::BadMessage`] when a protobuf body is not well-formed.
pub fn price(signal: Signal, bytes: &[u8], encoding: Encoding) -> Result<usize, BodyError> {
    match encoding {
        Encoding::Protobuf => super::decoded_cost(signal, bytes)
            .map_err(|_| BodyError::BadMessage("malformed protobuf (truncated, or nested too deep)".into())),
        Encoding::Json => Ok(super::json_cost(bytes)),
    }
}

/// Decodes an unpacked body.
///
/// # Errors
///
/// [`BodyError::BadMessage`] when it is not a valid message of type `R`.
pub fn decode_unpacked<R>(bytes: &[u8], encoding: Encoding) -> Result<R, BodyError>
where
    R: prost::Message + Default + serde::de::DeserializeOwned,
{
    match encoding {
        Encoding::Protobuf => R::decode(bytes).map_err(|e| BodyError::BadMessage(e.to_string())),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| BodyError::BadMessage(e.to_string())),
    }
}

/// A response body in the request's encoding, with its content type.
pub fn encode_response<R: prost::Message + serde::Serialize>(
    response: &R,
    encoding: Encoding,
) -> (&'static str, Vec<u8>) {
    match encoding {
        Encoding::Protobuf => ("application/x-protobuf", response.encode_to_vec()),
        Encoding::Json => ("application/json", serde_json::to_vec(response).unwrap_or_else(|_| b"{}".to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use std::io::Write;

    type Req = ExportTraceServiceRequest;

    #[test]
    fn protobuf_json_and_gzip() {
        let (_, e) = decode_request::<Req>(Some("application/x-protobuf"), None, &[]).unwrap();
        assert_eq!(e, Encoding::Protobuf);
        let (r, e) =
            decode_request::<Req>(Some("application/json; charset=utf-8"), None, b"{\"resourceSpans\":[]}").unwrap();
        assert_eq!((r.resource_spans.len(), e), (0, Encoding::Json));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{}").unwrap();
        assert!(decode_request::<Req>(Some("application/json"), Some("gzip"), &gz.finish().unwrap()).is_ok());
    }

    #[test]
    fn bad_bodies_get_their_status() {
        let status =
            |ct: &str, ce: Option<&str>, body: &[u8]| decode_request::<Req>(Some(ct), ce, body).unwrap_err().status();
        assert_eq!(status("text/plain", None, b""), 415);
        assert_eq!(status("application/json", Some("br"), b""), 415);
        assert_eq!(status("application/json", None, b"{not json"), 400);
        assert_eq!(status("application/x-protobuf", None, &[0xff, 0xff, 0xff]), 400);
        assert_eq!(status("application/x-protobuf", Some("gzip"), b"not gzip"), 400);
        assert_eq!(status("application/x-protobuf", None, &vec![0u8; MAX_BODY + 1]), 413);
        // A gzip bomb: 40 MiB of zeros compress to a few kilobytes.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 40 << 20]).unwrap();
        assert_eq!(status("application/x-protobuf", Some("gzip"), &gz.finish().unwrap()), 413);
    }
}
