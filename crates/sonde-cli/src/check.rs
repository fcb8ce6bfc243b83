//! `sonde check FILE|URL|-`: reads the exposition and prints
//! `sonde_check`'s findings.

use sonde_check::{check_as, Finding, Format, Severity};

/// An exposition read from its target, with the format its source named.
struct Read {
    bytes: Vec<u8>,
    content_type: Option<Format>,
}

fn read(target: &str) -> Result<Read, String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        let accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4";
        let mut r =
            ureq::get(target).header("Accept", accept).call().map_err(|e| format!("cannot fetch {target}: {e}"))?;
        let content_type =
            r.headers().get("content-type").and_then(|v| v.to_str().ok()).and_then(Format::from_content_type);
        let bytes = r.body_mut().read_to_vec().map_err(|e| format!("cannot read {target}: {e}"))?;
        Ok(Read { bytes, content_type })
    } else if target == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| format!("cannot read stdin: {e}"))?;
        Ok(Read { bytes, content_type: None })
    } else {
        let bytes = std::fs::read(target).map_err(|e| format!("cannot read {target}: {e}"))?;
        Ok(Read { bytes, content_type: None })
    }
}

/// Runs the check on a file, URL or `-` (stdin) as `format` (`text`,
/// `openmetrics`, or detected); returns the exit code: 0 clean, 1 errors,
/// 3 lints only, 2 usage errors.
pub(crate) fn run(target: &str, format: Option<&str>) -> u8 {
    let input = match read(target) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sonde check: {e}");
            return 2;
        }
    };
    let (text, mut findings) = match String::from_utf8(input.bytes) {
        Ok(t) => (t, Vec::new()),
        Err(e) => {
            // Check what is valid, and say where the first bad byte is.
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
            let bad = Finding { line, severity: Severity::Error, message: "invalid UTF-8".into() };
            (String::from_utf8_lossy(&bytes).into_owned(), vec![bad])
        }
    };
    let format = match format {
        Some("openmetrics") => Format::OpenMetrics,
        Some(_) => Format::Text,
        None => input.content_type.unwrap_or_else(|| Format::detect(&text)),
    };
    findings.extend(check_as(&text, format));
    findings.sort_by_key(|f| f.line);
    for f in &findings {
        let lint = if f.severity == Severity::Lint { " (lint)" } else { "" };
        println!("{target}:{}: {}{lint}", f.line, f.message);
    }
    let name = if format == Format::OpenMetrics { "OpenMetrics" } else { "text" };
    println!("sonde check: {} line(s) of {name}, {} finding(s)", text.lines().count(), findings.len());
    match findings.iter().map(|f| f.severity).max() {
        None => 0,
        Some(Severity::Lint) => 3,
        Some(Severity::Error) => 1,
    }
}
