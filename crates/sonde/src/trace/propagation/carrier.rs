//! Where propagated headers are read from and written to.

use std::collections::HashMap;

/// Something headers can be read from.
pub trait Extractor {
    /// Every value stored under `key` (matched case-insensitively, as HTTP
    /// header names are), in order.
    fn get_all(&self, key: &str) -> Vec<&str>;
}

/// Something headers can be written to.
pub trait Injector {
    /// Sets `key` to `value`, replacing previous values.
    fn set(&mut self, key: &str, value: String);
}

impl<S: std::hash::BuildHasher> Extractor for HashMap<String, String, S> {
    fn get_all(&self, key: &str) -> Vec<&str> {
        self.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()).collect()
    }
}

impl<S: std::hash::BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_owned(), value);
    }
}

#[cfg(feature = "http")]
impl Extractor for http::HeaderMap {
    fn get_all(&self, key: &str) -> Vec<&str> {
        // A value that is not visible ASCII cannot be a valid trace header;
        // it is passed on as "" so that it still counts (and fails) rather
        // than vanishing.
        self.get_all(key).iter().map(|v| v.to_str().unwrap_or("")).collect()
    }
}

#[cfg(feature = "http")]
impl Injector for http::HeaderMap {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(key), http::HeaderValue::try_from(value)) {
            self.insert(name, value);
        }
    }
}
