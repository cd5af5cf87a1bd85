//! The prefilters: a Bloom filter of two bits per item, 16 bits per distinct
//! item, so that about 1.4% of absent items pass. It only says "maybe"; the
//! exact check is the combination set.

/// A two-bit Bloom filter over 64-bit hashes.
#[derive(Clone)]
pub(crate) struct Bloom {
    words: Vec<u64>,
    /// Number of bits, a multiple of 64, at least 64 (0 for an empty filter).
    bits: u64,
}

impl Bloom {
    /// Bits per item: 16 gives (1 - e^(-2/16))^2 = 1.4% false positives.
    const BITS_PER_ITEM: u64 = 16;

    /// A filter holding exactly `hashes` (which may repeat).
    pub fn build(hashes: impl ExactSizeIterator<Item = u64> + Clone) -> Bloom {
        let n = hashes.len() as u64;
        if n == 0 {
            return Bloom {
                words: Vec::new(),
                bits: 0,
            };
        }
        let bits = n.saturating_mul(Self::BITS_PER_ITEM).div_ceil(64).max(1) * 64;
        let mut bloom = Bloom {
            words: vec![0; (bits / 64) as usize],
            bits,
        };
        for h in hashes {
            let (a, b) = bloom.positions(h);
            bloom.words[a / 64] |= 1 << (a % 64);
            bloom.words[b / 64] |= 1 << (b % 64);
        }
        bloom
    }

    /// The two bit positions of `h` (multiply-shift, no power of two needed).
    #[inline]
    fn positions(&self, h: u64) -> (usize, usize) {
        let lo = h & 0xffff_ffff;
        let hi = h >> 32;
        (
            ((lo * self.bits) >> 32) as usize,
            ((hi * self.bits) >> 32) as usize,
        )
    }

    /// True when `h` may be in the filter; false when it is certainly not.
    #[inline]
    pub fn may_contain(&self, h: u64) -> bool {
        if self.bits == 0 {
            return false;
        }
        let (a, b) = self.positions(h);
        let wa = self.words.get(a / 64).copied().unwrap_or(0);
        let wb = self.words.get(b / 64).copied().unwrap_or(0);
        (wa >> (a % 64)) & 1 == 1 && (wb >> (b % 64)) & 1 == 1
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_it_was_built_from_and_rejects_most_else() {
        let mix = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ i;
        let items: Vec<u64> = (0..1000).map(mix).collect();
        let bloom = Bloom::build(items.iter().copied());
        assert!(items.iter().all(|h| bloom.may_contain(*h)));
        let false_pos = (1000..101_000)
            .filter(|i| bloom.may_contain(mix(*i)))
            .count();
        assert!(false_pos < 3000, "{false_pos} false positives in 100000");
        assert!(!Bloom::build(std::iter::empty::<u64>()).may_contain(1));
    }
}
