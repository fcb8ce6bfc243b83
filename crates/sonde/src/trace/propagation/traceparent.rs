//! The `traceparent` header, exactly per W3C Trace Context.

use crate::trace::{SpanContext, SpanId, TraceFlags, TraceId};

/// Parses one `traceparent` value. Surrounding spaces and tabs are ignored.
///
/// Version `00` must be exactly 55 characters. The flags byte is kept whole
/// ([`TraceFlags::raw`]). A higher version (`01`..`fe`)
/// is parsed by its first four fields, and may continue only with `-`
/// (the context is then re-emitted as version `00`). Version `ff`, uppercase
/// hex, all-zero ids, and any other deviation make the header invalid:
/// `None`, and the caller starts a new trace.
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    let v = value.trim_matches([' ', '\t']);
    let b = v.as_bytes();
    if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    let version = u8::from_str_radix(std::str::from_utf8(&b[..2]).ok()?, 16).ok()?;
    if !b[..2].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)) || version == 0xff {
        return None;
    }
    if version == 0 && b.len() != 55 {
        return None;
    }
    if version > 0 && b.len() > 55 && b[55] != b'-' {
        return None;
    }
    let trace_id = TraceId::from_hex(v.get(3..35)?)?;
    let span_id = SpanId::from_hex(v.get(36..52)?)?;
    let flags = v.get(53..55)?;
    if !flags.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    if !trace_id.is_valid() || !span_id.is_valid() {
        return None;
    }
    let mut ctx = SpanContext::new(trace_id, span_id, TraceFlags::from_byte(flags));
    ctx.remote = true;
    Some(ctx)
}

/// Formats a context as a version-`00` `traceparent` (Level 2: the sampled
/// and random flags; bits no level defines are never sent).
pub fn format_traceparent(ctx: &SpanContext) -> String {
    format(ctx, ctx.flags.to_byte())
}

/// A version-`00` `traceparent` with the flags byte given.
pub(super) fn format(ctx: &SpanContext, flags: u8) -> String {
    format!("00-{}-{}-{flags:02x}", ctx.trace_id, ctx.span_id)
}
