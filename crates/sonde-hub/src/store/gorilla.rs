//! One series' samples compressed as in the Gorilla paper (Pelkonen et al.,
//! VLDB 2015) and Prometheus' XOR chunks: timestamps as delta-of-deltas in
//! variable-width buckets, values as the XOR with the previous value,
//! reusing the previous run of meaningful bits when it fits.
//!
//! A series sampled on a fixed grid with a steady value costs two bits a
//! sample (one for a zero delta-of-delta, one for an unchanged value).

/// Appends bits to a byte vector, most significant first.
#[derive(Clone, Debug, Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0 means a new byte is needed).
    used: u8,
}

impl BitWriter {
    fn bit(&mut self, one: bool) {
        if self.used == 0 {
            self.bytes.push(0);
        }
        if one {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 0x80 >> self.used;
        }
        self.used = (self.used + 1) % 8;
    }

    /// The low `n` bits of `value` (n ≤ 64), most significant first.
    fn bits(&mut self, value: u64, n: u32) {
        let mut left = n;
        while left > 0 {
            if self.used == 0 {
                self.bytes.push(0);
            }
            let room = 8 - u32::from(self.used);
            let take = room.min(left);
            let chunk = ((value >> (left - take)) & ((1u64 << take) - 1)) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= chunk << (room - take);
            self.used = ((u32::from(self.used) + take) % 8) as u8;
            left -= take;
        }
    }
}

/// Reads bits written by [`BitWriter`]; `None` past the end.
struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let one = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(one)
    }

    fn bits(&mut self, n: u32) -> Option<u64> {
        if self.pos + n as usize > self.bytes.len() * 8 {
            return None;
        }
        let mut out = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = self.bytes[self.pos / 8];
            let offset = (self.pos % 8) as u32;
            let room = 8 - offset;
            let take = room.min(left);
            let chunk = (u64::from(byte) >> (room - take)) & ((1u64 << take) - 1);
            out = if take == 64 { chunk } else { (out << take) | chunk };
            self.pos += take as usize;
            left -= take;
        }
        Some(out)
    }
}

/// The delta-of-delta buckets: a prefix of ones ended by a zero, then the
/// value in this many bits (two's complement); the last bucket has no
/// ending zero and a full 64 bits.
const DOD_WIDTHS: [u32; 3] = [7, 9, 12];

fn fits(dod: i64, width: u32) -> bool {
    let half = 1i64 << (width - 1);
    -half <= dod && dod < half
}

/// A growing chunk: samples in time order.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChunkWriter {
    out: BitWriter,
    count: u32,
    first_t: i64,
    last_t: i64,
    last_delta: i64,
    last_value: u64,
    leading: u32,
    trailing: u32,
}

impl ChunkWriter {
    /// Appends a sample. Times must not go backwards (a sample older than
    /// the last is the caller's to refuse; this one keeps order as given).
    pub(crate) fn push(&mut self, t: i64, value: f64) {
        let bits = value.to_bits();
        match self.count {
            0 => {
                self.out.bits(t as u64, 64);
                self.out.bits(bits, 64);
                self.first_t = t;
                self.leading = u32::MAX;
            }
            _ => {
                let delta = t.wrapping_sub(self.last_t);
                let dod = delta.wrapping_sub(self.last_delta);
                self.push_dod(dod);
                self.push_value(bits);
                self.last_delta = delta;
            }
        }
        self.count += 1;
        self.last_t = t;
        self.last_value = bits;
    }

    fn push_dod(&mut self, dod: i64) {
        if dod == 0 {
            self.out.bit(false);
            return;
        }
        for (i, width) in DOD_WIDTHS.iter().enumerate() {
            if fits(dod, *width) {
                self.out.bits((1u64 << (i + 2)) - 2, i as u32 + 2); // i+1 ones, then a zero
                self.out.bits(dod as u64, *width);
                return;
            }
        }
        self.out.bits(0b1111, 4);
        self.out.bits(dod as u64, 64);
    }

    fn push_value(&mut self, bits: u64) {
        let xor = bits ^ self.last_value;
        if xor == 0 {
            self.out.bit(false);
            return;
        }
        self.out.bit(true);
        let leading = xor.leading_zeros().min(31);
        let trailing = xor.trailing_zeros();
        if self.leading != u32::MAX && leading >= self.leading && trailing >= self.trailing {
            self.out.bit(false);
            let meaningful = 64 - self.leading - self.trailing;
            self.out.bits(xor >> self.trailing, meaningful);
        } else {
            self.out.bit(true);
            let meaningful = 64 - leading - trailing;
            self.out.bits(u64::from(leading), 5);
            self.out.bits(u64::from(meaningful % 64), 6); // 64 is written as 0
            self.out.bits(xor >> trailing, meaningful);
            self.leading = leading;
            self.trailing = trailing;
        }
    }

    /// Samples so far.
    pub(crate) fn len(&self) -> u32 {
        self.count
    }

    /// Whether it holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The first sample's time.
    pub(crate) fn first_time(&self) -> i64 {
        self.first_t
    }

    /// The last sample's time.
    pub(crate) fn last_time(&self) -> i64 {
        self.last_t
    }

    /// The encoded bytes so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.out.bytes
    }
}

/// Decodes `count` samples from a chunk's bytes; stops early (and says so
/// through a short result) if the bytes end first.
pub(crate) fn decode(bytes: &[u8], count: u32, mut each: impl FnMut(i64, f64)) -> u32 {
    let mut r = BitReader { bytes, pos: 0 };
    let (Some(t0), Some(v0)) = (r.bits(64), r.bits(64)) else { return 0 };
    if count == 0 {
        return 0;
    }
    let (mut t, mut value) = (t0 as i64, v0);
    each(t, f64::from_bits(value));
    let (mut delta, mut leading, mut trailing) = (0i64, 0u32, 0u32);
    for n in 1..count {
        let Some(dod) = read_dod(&mut r) else { return n };
        delta = delta.wrapping_add(dod);
        t = t.wrapping_add(delta);
        match r.bit() {
            None => return n,
            Some(false) => {}
            Some(true) => {
                let Some(reuse) = r.bit().map(|b| !b) else { return n };
                if !reuse {
                    let (Some(l), Some(m)) = (r.bits(5), r.bits(6)) else { return n };
                    let meaningful = if m == 0 { 64 } else { m as u32 };
                    leading = l as u32;
                    let Some(rest) = 64u32.checked_sub(leading + meaningful) else { return n };
                    trailing = rest;
                }
                let Some(x) = r.bits(64 - leading - trailing) else { return n };
                value ^= x << trailing;
            }
        }
        each(t, f64::from_bits(value));
    }
    count
}

fn read_dod(r: &mut BitReader<'_>) -> Option<i64> {
    let mut ones = 0;
    while ones < 4 && r.bit()? {
        ones += 1;
    }
    if ones == 0 {
        return Some(0);
    }
    let width = DOD_WIDTHS.get(ones - 1).copied().unwrap_or(64);
    let raw = r.bits(width)?;
    // Sign-extend from `width` bits.
    let shift = 64 - width;
    Some(((raw << shift) as i64) >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        let mut w = ChunkWriter::default();
        for (t, v) in samples {
            w.push(*t, *v);
        }
        let mut out = Vec::new();
        let n = decode(w.bytes(), w.len(), |t, v| out.push((t, v.to_bits())));
        assert_eq!(n, w.len());
        out
    }

    #[test]
    fn a_steady_series_on_a_grid_costs_two_bits_a_sample() {
        let mut w = ChunkWriter::default();
        for i in 0..1000 {
            w.push(1_700_000_000_000 + i * 1000, 42.0);
        }
        // 16 bytes for the first sample, then 9 bits for the first delta
        // and two bits a sample.
        assert!(w.bytes().len() <= 16 + 2 + 999 * 2 / 8 + 1, "{} bytes", w.bytes().len());
        assert_eq!(round_trip(&[(5, 1.0), (6, 1.0)]), vec![(5, 1f64.to_bits()), (6, 1f64.to_bits())]);
    }

    #[test]
    fn every_bucket_and_special_values() {
        let times = [0i64, 1000, 2000, 2001, 2100, 2300, 5000, 9000, 100_000_000_000, 100_000_000_001, -5];
        let values = [0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-300, f64::MAX, 3.5, 3.5, 7.25, 1.0];
        let samples: Vec<(i64, f64)> = times.iter().copied().zip(values.iter().copied()).collect();
        let want: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
        assert_eq!(round_trip(&samples), want);
    }

    #[test]
    fn a_short_buffer_decodes_what_it_holds() {
        let mut w = ChunkWriter::default();
        for i in 0..100 {
            w.push(i * 1000, (i * i) as f64);
        }
        let cut = &w.bytes()[..w.bytes().len() / 2];
        let mut seen = 0;
        let n = decode(cut, 100, |_, _| seen += 1);
        assert!(n < 100 && n == seen && n > 10, "{n}");
        assert_eq!(decode(&[], 5, |_, _| ()), 0);
    }

    proptest! {
        #[test]
        fn any_samples_round_trip(
            start in any::<i64>(),
            steps in proptest::collection::vec((0i64..100_000_000, any::<u64>()), 1..300),
        ) {
            let mut t = start;
            let samples: Vec<(i64, f64)> = steps
                .iter()
                .map(|(dt, bits)| {
                    t = t.wrapping_add(*dt);
                    (t, f64::from_bits(*bits))
                })
                .collect();
            let want: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
            prop_assert_eq!(round_trip(&samples), want);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), count in 0u32..500) {
            let n = decode(&bytes, count, |_, _| ());
            prop_assert!(n <= count);
        }
    }
}
