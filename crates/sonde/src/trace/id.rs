//! Trace and span ids: random, never all zero, lowercase hex on the wire.

use std::cell::Cell;
use std::fmt;

/// A 128-bit trace id. The all-zero id is invalid and never generated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId([u8; 16]);

/// A 64-bit span id. The all-zero id is invalid and never generated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId([u8; 8]);

impl TraceId {
    /// The invalid all-zero id.
    pub const INVALID: Self = Self([0; 16]);

    /// From raw bytes (big-endian, as on the wire).
    pub const fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }

    /// The raw bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// The raw bytes, borrowed.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// False for the all-zero id.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 16]
    }

    /// A fresh random id (never zero).
    #[inline]
    pub fn random() -> Self {
        loop {
            let (a, b) = (next_random(), next_random());
            if a | b != 0 {
                return Self((((a as u128) << 64) | b as u128).to_be_bytes());
            }
        }
    }

    /// Parses exactly 32 lowercase hex digits (no sign, no prefix, no
    /// uppercase); the all-zero id parses but is not [`TraceId::is_valid`].
    pub fn from_hex(s: &str) -> Option<Self> {
        decode_hex::<16>(s).map(Self)
    }
}

impl SpanId {
    /// The invalid all-zero id.
    pub const INVALID: Self = Self([0; 8]);

    /// From raw bytes (big-endian, as on the wire).
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        Self(b)
    }

    /// The raw bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// False for the all-zero id.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 8]
    }

    /// A fresh random id (never zero).
    #[inline]
    pub fn random() -> Self {
        loop {
            let v = next_random();
            if v != 0 {
                return Self(v.to_be_bytes());
            }
        }
    }

    /// Parses exactly 16 lowercase hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        decode_hex::<8>(s).map(Self)
    }
}

fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (digit(b[2 * i])? << 4) | digit(b[2 * i + 1])?;
    }
    Some(out)
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        buf[2 * i] = HEX[(b >> 4) as usize];
        buf[2 * i + 1] = HEX[(b & 15) as usize];
    }
    // SAFETY-free: only ASCII hex digits were written.
    f.write_str(std::str::from_utf8(&buf[..2 * bytes.len()]).map_err(|_| fmt::Error)?)
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

thread_local! {
    /// wyrand state, seeded per thread from the OS-seeded `RandomState` on
    /// first use (0 = not yet seeded). Const-initialised and destructor-free,
    /// so reading it is a plain thread-local load.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

/// wyrand: a fast 64-bit generator with good statistical quality (not
/// cryptographic; ids need uniqueness, not secrecy).
#[inline]
fn next_random() -> u64 {
    RNG.try_with(|s| {
        let mut state = s.get();
        if state == 0 {
            state = seed() | 1;
        }
        let x = state.wrapping_add(0xa076_1d64_78bd_642f);
        s.set(x);
        let m = (x as u128).wrapping_mul((x ^ 0xe703_7ed1_a0b4_28db) as u128);
        (m as u64) ^ ((m >> 64) as u64)
    })
    .unwrap_or_else(|_| seed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let t = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(t.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        for bad in [
            "4BF92F3577B34DA6A3CE929D0E0E4736",
            "4bf92f3577b34da6a3ce929d0e0e473",
            "+bf92f3577b34da6a3ce929d0e0e4736",
            "0x4bf92f3577b34da6a3ce929d0e0e47",
            "4bf92f3577b34da6a3ce929d0e0e4736a",
        ] {
            assert!(TraceId::from_hex(bad).is_none(), "{bad}");
        }
        assert!(!TraceId::from_hex(&"0".repeat(32)).unwrap().is_valid());
        assert_eq!(SpanId::from_hex("00f067aa0ba902b7").unwrap().to_string(), "00f067aa0ba902b7");
        assert!(SpanId::from_hex("00F067AA0BA902B7").is_none());
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let ids: std::collections::HashSet<TraceId> = (0..10_000).map(|_| TraceId::random()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(TraceId::is_valid));
        assert!((0..10_000).all(|_| SpanId::random().is_valid()));
    }
}
