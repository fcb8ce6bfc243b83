#![no_main]
//! traceparent / tracestate / baggage from request headers: extraction
//! never panics, and whatever it accepts re-injects as valid headers.

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use sonde::trace::propagation::{extract, inject, parse_traceparent};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let mut headers = HashMap::new();
    for name in ["traceparent", "tracestate", "baggage"] {
        if let Some(v) = parts.next() {
            headers.insert(name.to_string(), v.to_string());
        }
    }
    let got = extract(&headers);
    if let Some(ctx) = got.context {
        let mut out: HashMap<String, String> = HashMap::new();
        inject(&ctx, &got.baggage, &mut out);
        assert!(parse_traceparent(&out["traceparent"]).is_some());
    }
});
