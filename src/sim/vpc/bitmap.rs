//! A fixed-size bit set with a one-level count summary, for O(1) counts and fast rank selection.
//!
//! The words are grouped in runs of [`GROUP_WORDS`]; each group keeps its population count, so finding the k-th
//! set bit (uniform random choice) or the next set bit skips empty or uninteresting groups without touching their
//! words. A /16 subnet's per-address bitmap (65,536 bits, 1,024 words) has 128 groups; a /16's per-block bitmap
//! (4,096 bits) has 8. Nothing here allocates after construction.

/// Words per summary group (512 bits).
pub const GROUP_WORDS: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
    /// Population count of each run of `GROUP_WORDS` words.
    groups: Vec<u32>,
    count: u32,
    len: u32,
}

impl Bitmap {
    /// A bitmap of `len` bits, all clear.
    pub fn new(len: u32) -> Bitmap {
        let nwords = (len as usize).div_ceil(64);
        Bitmap {
            words: vec![0; nwords],
            groups: vec![0; nwords.div_ceil(GROUP_WORDS)],
            count: 0,
            len,
        }
    }

    /// Number of bits.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of set bits (O(1)).
    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn get(&self, i: u32) -> bool {
        debug_assert!(i < self.len);
        self.words[(i / 64) as usize] >> (i % 64) & 1 == 1
    }

    /// The `w`-th 64-bit word.
    pub fn word(&self, w: usize) -> u64 {
        self.words[w]
    }

    /// Sets bit `i`; returns whether it was clear.
    pub fn set(&mut self, i: u32) -> bool {
        debug_assert!(i < self.len);
        self.set_mask((i / 64) as usize, 1 << (i % 64)) == 1
    }

    /// Clears bit `i`; returns whether it was set.
    pub fn clear(&mut self, i: u32) -> bool {
        debug_assert!(i < self.len);
        self.clear_mask((i / 64) as usize, 1 << (i % 64)) == 1
    }

    /// Sets the bits of `mask` in word `w`; returns how many were clear before.
    pub fn set_mask(&mut self, w: usize, mask: u64) -> u32 {
        let added = (mask & !self.words[w]).count_ones();
        self.words[w] |= mask;
        self.groups[w / GROUP_WORDS] += added;
        self.count += added;
        added
    }

    /// Clears the bits of `mask` in word `w`; returns how many were set before.
    pub fn clear_mask(&mut self, w: usize, mask: u64) -> u32 {
        let removed = (mask & self.words[w]).count_ones();
        self.words[w] &= !mask;
        self.groups[w / GROUP_WORDS] -= removed;
        self.count -= removed;
        removed
    }

    /// The index of the `k`-th set bit (0-based, in increasing index order). Panics if `k >= count()`.
    pub fn select(&self, mut k: u32) -> u32 {
        assert!(
            k < self.count,
            "select({k}) with only {} bits set",
            self.count
        );
        let mut g = 0;
        while k >= self.groups[g] {
            k -= self.groups[g];
            g += 1;
        }
        let mut w = g * GROUP_WORDS;
        loop {
            let ones = self.words[w].count_ones();
            if k < ones {
                return w as u32 * 64 + select_in_word(self.words[w], k);
            }
            k -= ones;
            w += 1;
        }
    }

    /// The lowest set bit at index `from` or above.
    pub fn next_set(&self, from: u32) -> Option<u32> {
        if from >= self.len {
            return None;
        }
        let mut w = (from / 64) as usize;
        let first = self.words[w] & (u64::MAX << (from % 64));
        if first != 0 {
            return Some(w as u32 * 64 + first.trailing_zeros());
        }
        w += 1;
        // Finish the current group word by word, then skip whole empty groups.
        while w < self.words.len() {
            if w.is_multiple_of(GROUP_WORDS) && self.groups[w / GROUP_WORDS] == 0 {
                w += GROUP_WORDS;
                continue;
            }
            if self.words[w] != 0 {
                return Some(w as u32 * 64 + self.words[w].trailing_zeros());
            }
            w += 1;
        }
        None
    }

    /// The set bits in increasing order.
    pub fn iter_ones(&self) -> impl Iterator<Item = u32> + '_ {
        let mut next = self.next_set(0);
        std::iter::from_fn(move || {
            let i = next?;
            next = self.next_set(i + 1);
            Some(i)
        })
    }
}

/// The position of the `k`-th set bit of `word` (`k < word.count_ones()`).
fn select_in_word(mut word: u64, mut k: u32) -> u32 {
    // Narrow by bytes, then by bits: at most 8 + 8 steps.
    let mut base = 0;
    loop {
        let ones = (word & 0xFF).count_ones();
        if k < ones {
            break;
        }
        k -= ones;
        word >>= 8;
        base += 8;
    }
    for _ in 0..k {
        word &= word - 1;
    }
    base + word.trailing_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_clear_count_select() {
        let mut b = Bitmap::new(5000);
        for i in [0, 3, 63, 64, 511, 512, 4095, 4999] {
            assert!(b.set(i));
        }
        assert!(!b.set(3));
        assert_eq!(b.count(), 8);
        let ones: Vec<u32> = b.iter_ones().collect();
        assert_eq!(ones, vec![0, 3, 63, 64, 511, 512, 4095, 4999]);
        for (k, &i) in ones.iter().enumerate() {
            assert_eq!(b.select(k as u32), i);
        }
        assert_eq!(b.next_set(65), Some(511));
        assert_eq!(b.next_set(4096), Some(4999));
        assert!(b.clear(4999));
        assert!(!b.clear(4999));
        assert_eq!(b.next_set(4096), None);
        assert_eq!(b.count(), 7);
    }

    #[test]
    fn masks_update_counts() {
        let mut b = Bitmap::new(1024);
        assert_eq!(b.set_mask(9, 0xFFFF << 16), 16);
        assert_eq!(b.set_mask(9, 0xFF << 16), 0);
        assert_eq!(b.count(), 16);
        assert_eq!(b.select(0), 9 * 64 + 16);
        assert_eq!(b.clear_mask(9, u64::MAX), 16);
        assert_eq!(b.count(), 0);
        assert_eq!(b.next_set(0), None);
    }

    #[test]
    fn select_in_word_matches_naive() {
        let w = 0x8000_0100_F00F_0001u64;
        let naive: Vec<u32> = (0..64).filter(|i| w >> i & 1 == 1).collect();
        for (k, &i) in naive.iter().enumerate() {
            assert_eq!(select_in_word(w, k as u32), i);
        }
    }
}
