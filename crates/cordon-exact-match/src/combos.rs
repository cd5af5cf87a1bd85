//! The combination set: the sorted, deduplicated hashes of every stored
//! combination, with a directory on their top bits so that a probe reads one
//! directory slot and one short run of the array (about two cache misses)
//! instead of the twenty-odd steps of a binary search over millions.

/// A set of 64-bit hashes: sorted array plus a directory of bucket starts.
pub(crate) struct ComboSet {
    hashes: Vec<u64>,
    /// `dir[b]..dir[b + 1]` is the run of hashes whose top `bits` bits are `b`.
    dir: Vec<u32>,
    bits: u32,
}

impl ComboSet {
    /// Builds the set from `hashes` (consumed: sorted and deduplicated in
    /// place). `None` when more than `u32::MAX` distinct hashes remain.
    pub fn build(mut hashes: Vec<u64>) -> Option<ComboSet> {
        hashes.sort_unstable();
        hashes.dedup();
        hashes.shrink_to_fit();
        let len = u32::try_from(hashes.len()).ok()?;
        // About eight hashes (one cache line) per bucket.
        let buckets = (len / 8).max(1).next_power_of_two();
        let bits = buckets.trailing_zeros();
        let mut dir = Vec::with_capacity(buckets as usize + 1);
        let mut i = 0usize;
        for b in 0..u64::from(buckets) {
            while i < hashes.len() && Self::bucket(hashes[i], bits) < b {
                i += 1;
            }
            dir.push(i as u32);
        }
        dir.push(len);
        Some(ComboSet { hashes, dir, bits })
    }

    #[inline]
    fn bucket(h: u64, bits: u32) -> u64 {
        if bits == 0 { 0 } else { h >> (64 - bits) }
    }

    /// True when `h` is in the set.
    #[inline]
    pub fn contains(&self, h: u64) -> bool {
        let b = Self::bucket(h, self.bits) as usize;
        let (Some(&lo), Some(&hi)) = (self.dir.get(b), self.dir.get(b + 1)) else {
            return false;
        };
        self.hashes
            .get(lo as usize..hi as usize)
            .is_some_and(|run| run.binary_search(&h).is_ok())
    }

    /// Number of hashes.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 8 + self.dir.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_its_members() {
        let mix = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i << 7);
        for n in [0u64, 1, 7, 100, 10_000] {
            let items: Vec<u64> = (0..n).map(mix).chain([0, u64::MAX]).collect();
            let set = ComboSet::build(items.clone()).expect("fits");
            assert!(items.iter().all(|h| set.contains(*h)));
            assert!((n..n + 1000).all(|i| !set.contains(mix(i)) || items.contains(&mix(i))));
        }
    }
}
