//! The per-load salt and the keyed hashes built on it.
//!
//! Why keyed SipHash-1-3 (the `siphasher` crate) with keys from the OS CSPRNG
//! (`getrandom`):
//! - it is a pseudorandom function under a secret 128-bit key, so the stored
//!   hashes cannot be matched against a table computed in advance, and two
//!   loads (two keys) share no hash: an index dump says nothing about another;
//! - it costs about 15-20 ns for a short value, which keeps scanning cheap,
//!   where HMAC-SHA-256 would cost ten times as much for no gain here: the
//!   index is never written anywhere, so its hashes need to resist only
//!   someone who has them without the key;
//! - 64-bit outputs: with `c` stored combinations a probe falsely matches with
//!   probability about `c / 2^64` (1e-12 for ten million).
//!
//! std's `RandomState` would also be keyed SipHash-1-3, but successive
//! `RandomState`s of one thread differ only by one in the first key, and its
//! algorithm is unspecified; an explicit key avoids both.
//!
//! What the salt cannot do: names and dates have little entropy, so whoever
//! holds both the key and the hashes (a dump of this process's memory) can
//! test guesses. Nothing inside one process prevents that; the key is wiped
//! when the index is dropped.

use std::hash::Hasher;

use siphasher::sip::SipHasher13;
use zeroize::Zeroize;

/// The random keys of one index. Three independent SipHash keys separate the
/// domains (a value, a stored combination, a reported match key) and a seed
/// keys the prefilters' fast hash.
pub(crate) struct Keys {
    value: [u64; 2],
    combo: [u64; 2],
    report: [u64; 2],
    pub fast_seed: u64,
}

impl Keys {
    /// Fresh keys from the operating system's CSPRNG.
    pub fn random() -> Result<Keys, getrandom::Error> {
        let mut buf = [0u8; 56];
        getrandom::fill(&mut buf)?;
        let mut words = [0u64; 7];
        for (w, chunk) in words.iter_mut().zip(buf.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        buf.zeroize();
        let keys = Keys {
            value: [words[0], words[1]],
            combo: [words[2], words[3]],
            report: [words[4], words[5]],
            fast_seed: words[6],
        };
        words.zeroize();
        Ok(keys)
    }

    /// A hasher for one value's normal form (streaming: writing "van", " der"
    /// gives the hash of "van der").
    pub fn value_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.value[0], self.value[1])
    }

    /// The hash of a value's normal form.
    pub fn value(&self, bytes: &[u8]) -> u64 {
        let mut h = self.value_hasher();
        h.write(bytes);
        h.finish()
    }

    /// The hash of a combination: the set of columns (a bit mask) and the
    /// values' hashes in column order.
    pub fn combo(&self, mask: u8, values: &[u64]) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.combo[0], self.combo[1]);
        h.write_u8(mask);
        for v in values {
            h.write_u64(*v);
        }
        h.finish()
    }

    /// The key reported for a matched combination: a hash of the stored
    /// hash, so that what leaves the index is never an entry of it.
    pub fn report(&self, combo: u64) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.report[0], self.report[1]);
        h.write_u64(combo);
        h.finish()
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.value.zeroize();
        self.combo.zeroize();
        self.report.zeroize();
        self.fast_seed.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_hashing_streams() {
        let k = Keys::random().expect("random keys");
        let mut h = k.value_hasher();
        h.write(b"van");
        h.write(b" der");
        h.write(b" berg");
        assert_eq!(h.finish(), k.value(b"van der berg"));
    }
}
