//! A protobuf writer for the OTLP messages Sonde sends: fields written
//! straight from Sonde's data into bytes, with no message tree in between.
//!
//! Fields are written in the order prost writes them (by field number, a
//! `oneof` at its smallest number), so the bytes are exactly those of
//! encoding the equivalent message tree. Lengths are minimal varints, as
//! every protobuf encoder writes them: a nested message keeps room for its
//! length (one byte, three for a large one) and moves its body only when
//! the length turns out to need another size.

/// Protobuf wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// The bytes of one message being written.
pub(crate) struct Wire<'a> {
    buf: &'a mut Vec<u8>,
}

/// Bytes of `v` as a varint.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

impl<'a> Wire<'a> {
    /// Writes at the end of `buf`.
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        Self { buf }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from(field << 3 | wire_type));
    }

    /// A `uint64`/`int64`/`bool`/enum field, left out when zero (proto3).
    pub(crate) fn uint64(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.key(field, VARINT);
            self.varint(v);
        }
    }

    /// An `int64` field (two's complement varint), left out when zero.
    pub(crate) fn int64(&mut self, field: u32, v: i64) {
        self.uint64(field, v as u64);
    }

    /// A `sint32` field (zigzag varint), left out when zero.
    pub(crate) fn sint32(&mut self, field: u32, v: i32) {
        self.uint64(field, u64::from(((v << 1) ^ (v >> 31)) as u32));
    }

    /// A `packed repeated uint64` field, left out when empty.
    pub(crate) fn packed_uint64(&mut self, field: u32, values: &[u64]) {
        if values.is_empty() {
            return;
        }
        let len: usize = values.iter().map(|&v| varint_len(v)).sum();
        self.key(field, LEN);
        self.varint(len as u64);
        for &v in values {
            self.varint(v);
        }
    }

    /// A `bool` field, left out when false.
    pub(crate) fn bool(&mut self, field: u32, v: bool) {
        self.uint64(field, u64::from(v));
    }

    /// A field of `wire_type` whose encoded value is `bytes`.
    fn raw(&mut self, field: u32, wire_type: u32, bytes: &[u8]) {
        self.key(field, wire_type);
        self.buf.extend_from_slice(bytes);
    }

    /// A `fixed64` field, left out when zero.
    pub(crate) fn fixed64(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.raw(field, FIXED64, &v.to_le_bytes());
        }
    }

    /// A `double` field, left out when zero (either sign, as prost does).
    pub(crate) fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.present_double(field, v);
        }
    }

    /// A `double` that is present (an `optional` field, or the member of a
    /// `oneof` that is set): written, zero included.
    pub(crate) fn present_double(&mut self, field: u32, v: f64) {
        self.raw(field, FIXED64, &v.to_le_bytes());
    }

    /// An `int64` member of a `oneof`: written whenever set, zero included.
    pub(crate) fn oneof_int64(&mut self, field: u32, v: i64) {
        self.key(field, VARINT);
        self.varint(v as u64);
    }

    /// An `sfixed64` member of a `oneof`: written whenever set, zero included.
    pub(crate) fn oneof_sfixed64(&mut self, field: u32, v: i64) {
        self.raw(field, FIXED64, &v.to_le_bytes());
    }

    /// A `fixed32` field, left out when zero.
    pub(crate) fn fixed32(&mut self, field: u32, v: u32) {
        if v != 0 {
            self.raw(field, FIXED32, &v.to_le_bytes());
        }
    }

    /// A `bool` member of a `oneof`: written whenever set.
    pub(crate) fn oneof_bool(&mut self, field: u32, v: bool) {
        self.key(field, VARINT);
        self.varint(u64::from(v));
    }

    /// A `string` or `bytes` field, left out when empty.
    pub(crate) fn bytes(&mut self, field: u32, b: &[u8]) {
        if !b.is_empty() {
            self.oneof_bytes(field, b);
        }
    }

    /// A `string`/`bytes` member of a `oneof`: written whenever set.
    pub(crate) fn oneof_bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, LEN);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// A `string` field, left out when empty.
    pub(crate) fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    /// A `packed repeated fixed64` field, left out when empty.
    pub(crate) fn packed_fixed64(&mut self, field: u32, values: impl ExactSizeIterator<Item = u64>) {
        if values.len() > 0 {
            self.key(field, LEN);
            self.varint(values.len() as u64 * 8);
            for v in values {
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    /// A `packed repeated double` field, left out when empty.
    pub(crate) fn packed_double(&mut self, field: u32, values: &[f64]) {
        self.packed_fixed64(field, values.iter().map(|v| v.to_bits()));
    }

    /// A message field written by `body`; always present (an empty message
    /// is written as an empty field, as for a set `optional` message).
    pub(crate) fn message(&mut self, field: u32, body: impl FnOnce(&mut Wire<'_>)) {
        self.message_sized(field, 1, body);
    }

    /// Like [`Wire::message`] for a body expected to be 16 KiB to 2 MiB
    /// long (a whole metric family, a batch of spans): room for a
    /// three-byte length is kept, so the body moves only when its length
    /// turns out shorter or longer than that.
    pub(crate) fn large_message(&mut self, field: u32, body: impl FnOnce(&mut Wire<'_>)) {
        self.message_sized(field, 3, body);
    }

    fn message_sized(&mut self, field: u32, room: usize, body: impl FnOnce(&mut Wire<'_>)) {
        self.key(field, LEN);
        let at = self.buf.len();
        self.buf.resize(at + room, 0);
        body(&mut Wire { buf: self.buf });
        let len = self.buf.len() - at - room;
        let mut prefix = [0u8; 10];
        let (mut v, mut n) = (len as u64, 0);
        while v >= 0x80 {
            prefix[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        prefix[n] = v as u8;
        n += 1;
        if n == room {
            self.buf[at..at + n].copy_from_slice(&prefix[..n]);
        } else {
            // Make room for the length as it turned out, then write it.
            self.buf.splice(at..at + room, prefix[..n].iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Inner {
        #[prost(string, tag = "1")]
        s: String,
        #[prost(fixed64, tag = "2")]
        f: u64,
        #[prost(double, repeated, tag = "3")]
        d: Vec<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Outer {
        #[prost(uint64, tag = "1")]
        u: u64,
        #[prost(message, repeated, tag = "2")]
        inner: Vec<Inner>,
        #[prost(int64, tag = "3")]
        i: i64,
        #[prost(bool, tag = "4")]
        b: bool,
        #[prost(double, optional, tag = "5")]
        od: Option<f64>,
        #[prost(fixed64, repeated, tag = "6")]
        fx: Vec<u64>,
        #[prost(fixed32, tag = "16")]
        f32: u32,
        #[prost(sfixed64, optional, tag = "8")]
        sf: Option<i64>,
        #[prost(string, optional, tag = "9")]
        os: Option<String>,
    }

    fn write(o: &Outer) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = Wire::new(&mut buf);
        w.uint64(1, o.u);
        for inner in &o.inner {
            let body = |w: &mut Wire<'_>| {
                w.string(1, &inner.s);
                w.fixed64(2, inner.f);
                w.packed_double(3, &inner.d);
            };
            // Both sizes of room, bodies shorter and longer than each.
            if inner.f % 2 == 0 {
                w.message(2, body);
            } else {
                w.large_message(2, body);
            }
        }
        w.int64(3, o.i);
        w.bool(4, o.b);
        if let Some(d) = o.od {
            w.present_double(5, d);
        }
        w.packed_fixed64(6, o.fx.iter().copied());
        if let Some(v) = o.sf {
            w.oneof_sfixed64(8, v);
        }
        if let Some(s) = &o.os {
            w.oneof_bytes(9, s.as_bytes());
        }
        w.fixed32(16, o.f32);
        buf
    }

    proptest::proptest! {
        /// Byte for byte what prost writes, short and long bodies alike.
        #[test]
        fn same_bytes_as_prost(
            u in proptest::prelude::any::<u64>(),
            i in proptest::prelude::any::<i64>(),
            b in proptest::prelude::any::<bool>(),
            od in proptest::option::of(proptest::prelude::any::<f64>()),
            fx in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..4),
            f32 in proptest::prelude::any::<u32>(),
            sf in proptest::option::of(proptest::prelude::any::<i64>()),
            os in proptest::option::of("[a-z]{0,3}"),
            inner in proptest::collection::vec(
                ("[a-z]{0,300}", proptest::prelude::any::<u64>(), proptest::collection::vec(proptest::prelude::any::<f64>(), 0..2200)),
                0..5,
            ),
        ) {
            let o = Outer {
                u, i, b, od, fx, f32, sf, os,
                inner: inner.into_iter().map(|(s, f, d)| Inner { s, f, d }).collect(),
            };
            proptest::prop_assert_eq!(write(&o), o.encode_to_vec());
        }
    }

    #[test]
    fn a_body_of_exactly_128_bytes_gets_a_two_byte_length() {
        let o = Outer { inner: vec![Inner { s: "x".repeat(126), ..Inner::default() }], ..Outer::default() };
        let bytes = write(&o);
        assert_eq!(bytes, o.encode_to_vec());
        assert_eq!(&bytes[..3], &[0x12, 0x80, 0x01]);
    }
}
