#![no_main]
//! Expositions given to `sonde check`: the checker never panics.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sonde_check::check(&String::from_utf8_lossy(data));
});
