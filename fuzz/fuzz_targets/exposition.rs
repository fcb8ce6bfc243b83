#![no_main]
//! Expositions given to `sonde check`: the checker never panics, read as
//! either format.

use libfuzzer_sys::fuzz_target;
use sonde_check::{check_as, Format};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = check_as(&text, Format::Text);
    let _ = check_as(&text, Format::OpenMetrics);
});
