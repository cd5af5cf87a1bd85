//! The prefilters: blocked Bloom filters, three bits per item in one 64-bit
//! word, so that a lookup is one load. They only say "maybe"; the exact
//! check is the combination set.

/// A three-bit blocked Bloom filter over 64-bit hashes.
#[derive(Clone)]
pub(crate) struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    /// A filter holding exactly `hashes` (which may repeat), of at least
    /// `bits_per_item` bits per item and at least `min_words` words. 16 bits
    /// per item let about 1% of absent items pass, 32 about 0.15%.
    pub fn build(
        hashes: impl ExactSizeIterator<Item = u64> + Clone,
        bits_per_item: u64,
        min_words: u64,
    ) -> Bloom {
        let n = hashes.len() as u64;
        if n == 0 {
            return Bloom { words: Vec::new() };
        }
        // At most 2^32 words, for the multiply-shift in `locate`.
        let words = n
            .saturating_mul(bits_per_item)
            .div_ceil(64)
            .max(min_words)
            .clamp(1, 1 << 32);
        let mut bloom = Bloom {
            words: vec![0; words as usize],
        };
        for h in hashes {
            let (i, bits) = bloom.locate(h);
            if let Some(w) = bloom.words.get_mut(i) {
                *w |= bits;
            }
        }
        bloom
    }

    /// The word of `h` (multiply-shift of its high half, no power of two
    /// needed) and its three bits there (from its low eighteen bits).
    #[inline(always)]
    fn locate(&self, h: u64) -> (usize, u64) {
        let word = ((h >> 32) * self.words.len() as u64) >> 32;
        let bits = (1u64 << (h & 63)) | (1u64 << ((h >> 6) & 63)) | (1u64 << ((h >> 12) & 63));
        (word as usize, bits)
    }

    /// True when `h` may be in the filter; false when it is certainly not.
    #[inline(always)]
    pub fn may_contain(&self, h: u64) -> bool {
        let (i, bits) = self.locate(h);
        self.words.get(i).is_some_and(|w| w & bits == bits)
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
        let bloom = Bloom::build(items.iter().copied(), 16, 1);
        assert!(items.iter().all(|h| bloom.may_contain(*h)));
        let false_pos = (1000..101_000)
            .filter(|i| bloom.may_contain(mix(*i)))
            .count();
        assert!(false_pos < 1500, "{false_pos} false positives in 100000");
        assert!(!Bloom::build(std::iter::empty::<u64>(), 16, 1).may_contain(1));
    }
}
