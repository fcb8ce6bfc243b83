use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Cases after the W3C Trace Context spec and its test suite: the header
/// value and whether it yields a context.
#[test]
fn traceparent_table() {
    let cases: &[(&str, bool)] = &[
        (VALID, true),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true),
        (" \t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t ", true),
        // version handling
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like", true),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what-the-future-will-be-like", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false),
        ("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("CC-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        // lowercase hex only
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A", false),
        // all-zero ids
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false),
        // lengths, separators, illegal characters, signs
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", false),
        ("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false),
        ("00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736--0f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-+1", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false),
        ("", false),
        ("00", false),
    ];
    for (header, valid) in cases {
        assert_eq!(parse_traceparent(header).is_some(), *valid, "{header:?}");
    }
}

#[test]
fn flags_and_versions_on_the_wire() {
    // Unknown flag bits are kept for inspection and never sent; sampled
    // and random (Level 2) are sent.
    let ctx = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff").unwrap();
    assert_eq!(ctx.flags.raw(), 0xff);
    assert_eq!(ctx.flags.to_byte(), 0x03);
    assert!(ctx.flags.contains(crate::trace::TraceFlags::RANDOM));
    assert!(format_traceparent(&ctx).ends_with("-03"));
    // A higher version is re-emitted as version 00.
    let future = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").unwrap();
    assert_eq!(format_traceparent(&future), VALID);
}

fn carrier(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.append(http::HeaderName::try_from(*k).unwrap(), http::HeaderValue::try_from(*v).unwrap());
    }
    h
}

#[test]
fn two_traceparent_headers_are_invalid() {
    let h = carrier(&[("traceparent", VALID), ("traceparent", VALID)]);
    assert!(extract(&h).context.is_none());
}

#[test]
fn bad_tracestate_never_affects_traceparent() {
    let got = extract(&carrier(&[("traceparent", VALID), ("tracestate", "Bad Key=1")]));
    let ctx = got.context.unwrap();
    assert!(ctx.state.is_empty());
    assert_eq!(format_traceparent(&ctx), VALID);
}

#[test]
fn several_tracestate_lines_join() {
    let got = extract(&carrier(&[("traceparent", VALID), ("tracestate", "a=1,b=2"), ("tracestate", "c=3")]));
    assert_eq!(got.context.unwrap().state.to_header(), "a=1,b=2,c=3");
}

#[test]
fn tracestate_is_not_read_when_traceparent_is_invalid() {
    let got = extract(&carrier(&[("traceparent", "garbage"), ("tracestate", "a=1"), ("baggage", "k=v")]));
    assert!(got.context.is_none());
    assert_eq!(got.baggage.get("k"), Some("v"), "baggage stands on its own");
}

#[test]
fn hashmap_carrier_round_trip_is_case_insensitive() {
    let mut m: HashMap<String, String> = HashMap::new();
    m.insert("TraceParent".into(), VALID.into());
    let ctx = extract(&m).context.unwrap();
    let mut out: HashMap<String, String> = HashMap::new();
    out.insert("TRACEPARENT".into(), "stale".into());
    inject(&ctx, &Baggage::parse("k=v"), &mut out);
    assert_eq!(out.len(), 2, "the stale header was replaced: {out:?}");
    assert_eq!(out["traceparent"], VALID);
    assert_eq!(out["baggage"], "k=v");
}

#[test]
fn invalid_context_injects_nothing() {
    let mut out: HashMap<String, String> = HashMap::new();
    let zero = crate::trace::SpanContext::new(
        crate::trace::TraceId::INVALID,
        crate::trace::SpanId::INVALID,
        Default::default(),
    );
    inject(&zero, &Baggage::default(), &mut out);
    assert!(out.is_empty());
}

proptest! {
    #[test]
    fn extract_never_panics(tp in proptest::collection::vec(any::<u8>(), 0..80), ts in ".{0,600}", bg in ".{0,300}") {
        let tp = String::from_utf8_lossy(&tp).into_owned();
        let mut m: HashMap<String, String> = HashMap::new();
        m.insert("traceparent".into(), tp);
        m.insert("tracestate".into(), ts);
        m.insert("baggage".into(), bg);
        let got = extract(&m);
        if let Some(ctx) = got.context {
            // whatever parsed must re-emit as a valid version-00 header
            prop_assert!(parse_traceparent(&format_traceparent(&ctx)).is_some());
            prop_assert!(ctx.state.to_header().len() <= 512);
        }
    }

    /// Header values are bytes on the wire: any bytes, any number of lines.
    #[test]
    fn extract_from_raw_header_bytes_never_panics(lines in proptest::collection::vec(
        (prop_oneof![Just("traceparent"), Just("tracestate"), Just("baggage")], proptest::collection::vec(any::<u8>(), 0..120)),
        0..6,
    )) {
        let mut h = http::HeaderMap::new();
        for (name, bytes) in &lines {
            if let Ok(v) = http::HeaderValue::from_bytes(bytes) {
                h.append(*name, v);
            }
        }
        let got = extract(&h);
        let parents = h.get_all("traceparent").iter().count();
        if parents != 1 {
            prop_assert!(got.context.is_none());
        }
    }

    #[test]
    fn valid_contexts_round_trip(t in any::<[u8; 16]>(), s in any::<[u8; 8]>(), f in any::<u8>()) {
        let ctx = crate::trace::SpanContext::new(crate::trace::TraceId::from_bytes(t), crate::trace::SpanId::from_bytes(s), crate::trace::TraceFlags::from_byte(f));
        let parsed = parse_traceparent(&format_traceparent(&ctx));
        prop_assert_eq!(parsed.is_some(), ctx.is_valid());
        if let Some(p) = parsed {
            // What goes out is what Level 2 defines; that much comes back.
            prop_assert_eq!((p.trace_id, p.span_id, p.flags), (ctx.trace_id, ctx.span_id, ctx.flags.defined()));
        }
    }
}

/// Each separator is checked on its own, and a future version of exactly
/// 55 characters is accepted (nothing to read past its end).
#[test]
fn traceparent_separators_and_future_lengths() {
    let good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert!(parse_traceparent(good).is_some());
    for at in [2, 35, 52] {
        let mut bad = good.to_owned().into_bytes();
        bad[at] = b'_';
        assert!(parse_traceparent(std::str::from_utf8(&bad).unwrap()).is_none(), "separator at {at}");
    }
    let future = good.replacen("00-", "01-", 1);
    assert!(parse_traceparent(&future).is_some(), "version 01, exactly 55 characters");
    assert!(parse_traceparent(&format!("{future}-more")).is_some());
    assert!(parse_traceparent(&format!("{future}more")).is_none());
}

/// The baggage limits hold at their exact boundaries.
#[test]
fn baggage_limits_at_their_boundaries() {
    // A header of exactly the maximum length is read; one byte more is not.
    let fill = |len: usize| format!("k={}", "v".repeat(len - 2));
    assert_eq!(Baggage::parse(&fill(MAX_BAGGAGE_LEN)).iter().count(), 1);
    assert_eq!(Baggage::parse(&fill(MAX_BAGGAGE_LEN + 1)).iter().count(), 0);
    // A member that exactly fills the header is written; the next is left out.
    let full = Baggage::parse("").insert("k", &"v".repeat(MAX_BAGGAGE_LEN - 2)).unwrap();
    assert_eq!(full.to_header().len(), MAX_BAGGAGE_LEN);
    let two = Baggage::parse("a=1").insert("k", &"v".repeat(MAX_BAGGAGE_LEN - 6)).unwrap();
    assert_eq!(
        two.to_header(),
        format!("a=1,k={}", "v".repeat(MAX_BAGGAGE_LEN - 6)),
        "a=1 + , + k=... is exactly full"
    );
    let over = Baggage::parse("a=1").insert("k", &"v".repeat(MAX_BAGGAGE_LEN - 5)).unwrap();
    assert_eq!(over.to_header(), "a=1");
    // Inserting an existing key replaces it and keeps the others.
    let b = Baggage::parse("a=1,b=2").insert("a", "3").unwrap();
    assert_eq!(b.iter().collect::<Vec<_>>(), [("b", "2"), ("a", "3")]);
    let many: Vec<String> = (0..MAX_ENTRIES + 5).map(|i| format!("k{i}=v")).collect();
    assert_eq!(Baggage::parse(&many.join(",")).iter().count(), MAX_ENTRIES);
}

/// `http::HeaderMap` is an injection carrier too.
#[test]
fn header_map_injection() {
    let ctx = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    let mut headers = http::HeaderMap::new();
    inject(&ctx, &Baggage::default(), &mut headers);
    assert_eq!(headers["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    let mut bad = http::HeaderMap::new();
    Injector::set(&mut bad, "bad header\n", "x".into());
    Injector::set(&mut bad, "ok", "bad\nvalue".into());
    assert!(bad.is_empty(), "invalid names and values are skipped");
}

/// Level 1 and Level 2 side by side, one row per rule where they differ:
/// the random flag sent or zeroed, `tracestate` keys accepted or the header
/// dropped. Unknown flag bits are never sent at either level.
#[test]
fn levels_differ_where_the_spec_does() {
    let (one, two) = (Propagator::new(Level::One), Propagator::new(Level::Two));
    let tp = |flags: &str| format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
    for (flags, sent_by_one, sent_by_two) in [
        ("00", "00", "00"),
        ("01", "01", "01"),
        ("02", "00", "02"),
        ("03", "01", "03"),
        ("ff", "01", "03"),
        ("04", "00", "00"),
    ] {
        for (p, want) in [(one, sent_by_one), (two, sent_by_two)] {
            let ctx = p.extract(&carrier(&[("traceparent", &tp(flags))])).context.unwrap();
            assert_eq!(ctx.flags.raw(), u8::from_str_radix(flags, 16).unwrap(), "received bits are kept");
            let mut out: HashMap<String, String> = HashMap::new();
            p.inject(&ctx, &Baggage::default(), &mut out);
            assert_eq!(out["traceparent"], tp(want), "{:?} sending flags {flags}", p.level());
        }
    }
    for (state, kept_by_one, kept_by_two) in [
        ("vendor=1", true, true),
        ("tenant@sys=1", true, true),
        ("1vendor=1", false, true),
        ("vendor@=1", false, true),
        ("a@b@c=1", false, true),
        ("t@waytoolongsystem=1", false, true),
        ("a=1,a=2", false, true),
        ("@vendor=1", false, false),
        ("Vendor=1", false, false),
    ] {
        for (p, kept) in [(one, kept_by_one), (two, kept_by_two)] {
            let ctx = p.extract(&carrier(&[("traceparent", VALID), ("tracestate", state)])).context.unwrap();
            assert_eq!(!ctx.state.is_empty(), kept, "{:?} reading tracestate {state:?}", p.level());
        }
    }
}

/// A child of a remote parent keeps the trace's random flag as received and
/// does not pass on bits no level defines.
#[test]
fn children_keep_the_defined_flags_of_their_remote_parent() {
    let tracer = crate::trace::TracerProvider::builder().build().tracer("t");
    for (flags, child) in [("ff", 0x03), ("fe", 0x02), ("01", 0x01), ("00", 0x00)] {
        let tp = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
        let parent = extract(&carrier(&[("traceparent", &tp)])).context.unwrap();
        let span = tracer.span("child").parent(&parent).start();
        assert_eq!(span.context().flags.to_byte() & 0x02, child & 0x02, "random as received ({flags})");
        assert_eq!(span.context().flags.raw() & !0x03, 0, "no undefined bits ({flags})");
    }
}
