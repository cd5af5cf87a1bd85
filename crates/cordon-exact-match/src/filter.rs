//! The prefilters: blocked Bloom filters, three bits per item in one 64-bit
//! word, so that a lookup is one load. They only say "maybe"; the exact
//! check is the combination set.
//!
//! Every word of a message is looked up, so a lookup is kept to a handful of
//! instructions: the word is picked by a mask (the filter has a power of two
//! words) and its three bits come from a table of 256 patterns and a
//! rotation, rather than three variable shifts.

/// A three-bit blocked Bloom filter over 64-bit hashes.
#[derive(Clone)]
pub(crate) struct Bloom {
    words: Vec<u64>,
    /// `words.len() - 1`, a power of two less one (0 for an empty filter).
    mask: u64,
}

/// 256 patterns of three bits of a 64-bit word (fewer when two coincide),
/// from a fixed sequence: which of them an item sets is the low byte of its
/// hash.
static PATTERNS: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0;
    while i < 256 {
        let mut bits = 0u64;
        let mut k = 0;
        while k < 3 {
            // splitmix64
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            bits |= 1u64 << (z & 63);
            k += 1;
        }
        t[i] = bits;
        i += 1;
    }
    t
};

impl Bloom {
    /// A filter holding exactly `hashes` (which may repeat), of at least
    /// `bits_per_item` bits per item and at least `min_words` words, rounded
    /// up to a power of two. 16 bits per item let about 1% of absent items
    /// pass, 32 about 0.15%.
    pub fn build(
        hashes: impl ExactSizeIterator<Item = u64>,
        bits_per_item: u64,
        min_words: u64,
    ) -> Bloom {
        let n = hashes.len() as u64;
        if n == 0 {
            return Bloom {
                words: Vec::new(),
                mask: 0,
            };
        }
        let words = n
            .saturating_mul(bits_per_item)
            .div_ceil(64)
            .max(min_words)
            .clamp(1, 1 << 40)
            .next_power_of_two();
        let mut bloom = Bloom {
            words: vec![0; words as usize],
            mask: words - 1,
        };
        for h in hashes {
            let (i, bits) = bloom.locate(h);
            if let Some(w) = bloom.words.get_mut(i) {
                *w |= bits;
            }
        }
        bloom
    }

    /// The word of `h` (bits 8 and up, masked) and its bits there: the
    /// pattern its low byte picks, rotated by its top six bits, so that two
    /// items share bits by chance about as often as with three bits drawn
    /// freely (with the 256 patterns alone, one item in 256 would).
    #[inline(always)]
    fn locate(&self, h: u64) -> (usize, u64) {
        let word = (h >> 8) & self.mask;
        let bits = PATTERNS[(h & 0xff) as usize].rotate_left((h >> 58) as u32);
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
        // Hashes as good as the scanner's (splitmix64).
        let mix = |i: u64| {
            let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let items: Vec<u64> = (0..1000).map(mix).collect();
        let bloom = Bloom::build(items.iter().copied(), 16, 1);
        assert!(items.iter().all(|h| bloom.may_contain(*h)));
        let false_pos = (1000..101_000)
            .filter(|i| bloom.may_contain(mix(*i)))
            .count();
        assert!(false_pos < 1300, "{false_pos} false positives in 100000");
        assert!(!Bloom::build(std::iter::empty::<u64>(), 16, 1).may_contain(1));
    }
}
