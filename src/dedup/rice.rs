//! Sorted sets of small integers in few bits: the gaps between successive
//! values, Rice-coded (a quotient in unary, then `k` low bits), `k` chosen
//! from the set's size and the range of its values so that the decoder
//! derives it too. A fingerprint's shingle values are uniformly spread
//! hashes, for which this is close to the entropy: about
//! `log2(range / n) + 2` bits a value (a long text's sample 17 to 19
//! instead of 24, its lead about 20, a short list of figures more).

/// The Rice parameter of `n` values below `range`: the bits of the mean gap.
fn parameter(n: usize, range: u32) -> u32 {
    match u32::try_from(n) {
        Ok(n) if n > 0 && n <= range => (range / n).ilog2(),
        _ => 0,
    }
}

/// Appends bits to a byte buffer, lowest bit of each byte first.
#[derive(Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits not yet in `bytes`, lowest first.
    pending: u64,
    pending_bits: u32,
}

impl BitWriter {
    /// Appends the low `bits` (at most 32) bits of `value`.
    fn push_bits(&mut self, value: u64, bits: u32) {
        debug_assert!(bits <= 32);
        self.pending |= (value & ((1u64 << bits) - 1)) << self.pending_bits;
        self.pending_bits += bits;
        while self.pending_bits >= 8 {
            self.bytes.push(self.pending as u8);
            self.pending >>= 8;
            self.pending_bits -= 8;
        }
    }

    /// Writes `values` (strictly increasing, each below `range`).
    pub fn push_set(&mut self, values: &[u32], range: u32) {
        debug_assert!(values.windows(2).all(|w| w[0] < w[1]) && values.iter().all(|v| *v < range));
        let k = parameter(values.len(), range);
        let mut next = 0u32;
        for &v in values {
            let gap = v - next;
            let mut quotient = gap >> k;
            while quotient >= 32 {
                self.push_bits(u64::MAX, 32);
                quotient -= 32;
            }
            // `quotient` ones, then a zero.
            self.push_bits((1u64 << quotient) - 1, quotient + 1);
            self.push_bits(u64::from(gap), k);
            next = v + 1;
        }
    }

    pub fn into_bytes(mut self) -> Vec<u8> {
        if self.pending_bits > 0 {
            self.bytes.push(self.pending as u8);
        }
        self.bytes
    }
}

/// Reads what [`BitWriter`] wrote; every read is bounded by the input.
pub struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, pos: 0 }
    }

    /// The next bits (up to 57 of them, fewer at the end) in the low bits
    /// of a word, and how many there are.
    fn peek(&self) -> (u64, usize) {
        let start = self.pos / 8;
        let skip = self.pos % 8;
        // One load where 8 bytes are left (all but the end of the input).
        if let Some(word) = self.bytes.get(start..start + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            return (word >> skip, 64 - skip.max(7));
        }
        let Some(rest) = self.bytes.get(start..) else { return (0, 0) };
        let take = rest.len().min(8);
        let mut word = [0u8; 8];
        word[..take].copy_from_slice(&rest[..take]);
        let available = (take * 8).saturating_sub(skip).min(57);
        (u64::from_le_bytes(word) >> skip, available)
    }

    fn bit(&mut self) -> Option<bool> {
        let (word, available) = self.peek();
        if available == 0 {
            return None;
        }
        self.pos += 1;
        Some(word & 1 == 1)
    }

    /// Reads `k` (at most 32) bits as a number.
    fn bits(&mut self, k: u32) -> Option<u32> {
        let (word, available) = self.peek();
        if (available as u32) < k {
            return None;
        }
        self.pos += k as usize;
        Some((word & ((1u64 << k) - 1)) as u32)
    }

    /// Reads a unary number (ones ended by a zero); `None` past `limit`.
    fn unary(&mut self, limit: u32) -> Option<u32> {
        let mut n = 0u32;
        loop {
            let (word, available) = self.peek();
            if available == 0 {
                return None;
            }
            let ones = (word.trailing_ones() as usize).min(available);
            n = n.saturating_add(ones as u32);
            if n > limit {
                return None;
            }
            if ones < available {
                self.pos += ones + 1;
                return Some(n);
            }
            self.pos += ones;
        }
    }

    /// Bits left to read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() * 8 - self.pos
    }

    /// Reads `n` values below `range` written by [`BitWriter::push_set`];
    /// `None` if the bits run out or a value reaches `range`.
    pub fn read_set(&mut self, n: usize, range: u32) -> Option<Vec<u32>> {
        // Every value takes at least k + 1 bits and is distinct below
        // `range`: a damaged count cannot make this allocate more than the
        // input could hold.
        let k = parameter(n, range);
        if n > range as usize || n.saturating_mul(k as usize + 1) > self.remaining() {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        let mut next = 0u32;
        for _ in 0..n {
            // The common case in one read of the next bits: a short quotient
            // and the low bits after it.
            let (word, available) = self.peek();
            let ones = word.trailing_ones();
            let (quotient, low) = if (ones + 1 + k) as usize <= available {
                self.pos += (ones + 1 + k) as usize;
                (ones, ((word >> (ones + 1)) & ((1u64 << k) - 1)) as u32)
            } else {
                // A quotient past this already passes the range.
                (self.unary(range >> k)?, self.bits(k)?)
            };
            if quotient > range >> k {
                return None;
            }
            let value = next.checked_add((quotient << k) | low)?;
            if value >= range {
                return None;
            }
            out.push(value);
            next = value + 1;
        }
        Some(out)
    }

    /// Returns true if and only if what is left is the zero padding of the
    /// last byte.
    pub fn at_padding(&mut self) -> bool {
        self.remaining() < 8 && std::iter::from_fn(|| self.bit()).all(|b| !b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[u32], range: u32) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.push_set(values, range);
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_set(values.len(), range).as_deref(), Some(values), "{values:?} below {range}");
        assert!(r.at_padding());
        bytes
    }

    #[test]
    fn sets_round_trip_in_few_bits() {
        round_trip(&[], 1 << 24);
        round_trip(&[0], 1 << 24);
        round_trip(&[(1 << 24) - 1], 1 << 24);
        round_trip(&[0, 1, 2, 3], 4);
        round_trip(&[0, (1 << 24) - 1], 1 << 24);
        // Spread values: about log2(range / n) + 2 bits each.
        let mut x: u64 = 7;
        let mut values: Vec<u32> = (0..200)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (x >> 40) as u32
            })
            .collect();
        values.sort_unstable();
        values.dedup();
        let bytes = round_trip(&values, 1 << 24);
        assert!(bytes.len() * 8 <= values.len() * 19, "{} bytes for {} values", bytes.len(), values.len());
    }

    #[test]
    fn random_sets_round_trip() {
        let mut x: u64 = 99;
        let mut next = |m: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        for _ in 0..2_000 {
            let range = [1, 2, 16, 1000, 1 << 22, 1 << 24][next(6) as usize] as u32;
            let n = next(300) as usize;
            let mut values: Vec<u32> = (0..n).map(|_| next(u64::from(range)) as u32).collect();
            values.sort_unstable();
            values.dedup();
            // Several sets in one stream, as a fingerprint writes them.
            let mut w = BitWriter::default();
            w.push_set(&values, range);
            w.push_set(&values, range);
            let bytes = w.into_bytes();
            let mut r = BitReader::new(&bytes);
            assert_eq!(r.read_set(values.len(), range), Some(values.clone()));
            assert_eq!(r.read_set(values.len(), range), Some(values.clone()));
            assert!(r.at_padding());
        }
        // Every value of a range.
        round_trip(&(0..1000).collect::<Vec<_>>(), 1000);
    }

    #[test]
    fn damaged_bits_are_refused_not_trusted() {
        // Runs out of bits.
        assert_eq!(BitReader::new(&[0xff]).read_set(1, 1 << 24), None);
        // More values than bits, or than the range holds (before anything
        // is allocated: a count this large would abort the process).
        assert_eq!(BitReader::new(&[0, 0]).read_set(17, 1 << 24), None);
        assert_eq!(BitReader::new(&[0; 64]).read_set(usize::MAX / 4, 1 << 24), None);
        assert_eq!(BitReader::new(&[0; 64]).read_set(17, 16), None);
        // Fewer bits than the values' low bits need: 4 values below 2^24
        // take 22 low bits each.
        assert_eq!(BitReader::new(&[0; 11]).read_set(4, 1 << 24), None);
        // A value past the range: one value below 16 has 4 low bits; a
        // quotient of 1 and low bits 0 is 16.
        assert_eq!(BitReader::new(&[0b0000_0001]).read_set(1, 16), None);
        assert_eq!(BitReader::new(&[0b0001_1110]).read_set(1, 16), Some(vec![15]));
        // A long unary run stops at the range, not at the end of a huge input.
        assert_eq!(BitReader::new(&[0xff; 4096]).read_set(1, 1 << 10), None);
        // Padding that is not zero is not what the writer wrote.
        let mut w = BitWriter::default();
        w.push_set(&[3], 16);
        let mut bytes = w.into_bytes();
        assert!(BitReader::new(&bytes).read_set(1, 16).is_some());
        bytes[0] |= 0x80;
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_set(1, 16), Some(vec![3]));
        assert!(!r.at_padding());
    }
}
