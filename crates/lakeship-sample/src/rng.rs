//! Seeded randomness: a small wrapper over `fastrand` with the draws the
//! generators need (weighted picks, skewed indices, log-normal sizes), and
//! seed derivation so every object, account and estate has its own stream.

/// Derives a seed from a base seed and a path of parts (splitmix64 steps),
/// so that streams for different objects or accounts never overlap.
pub(crate) fn derive_seed(base: u64, parts: &[u64]) -> u64 {
    let mut state = splitmix64(base ^ 0x6c61_6b65_7368_6970);
    for part in parts {
        state = splitmix64(state ^ part.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
    state
}

/// A stable 64-bit hash of a string (FNV-1a), for seeds derived from names.
pub(crate) fn hash_str(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The random stream of one generator.
#[derive(Debug, Clone)]
pub(crate) struct SampleRng {
    inner: fastrand::Rng,
}

impl SampleRng {
    /// A stream seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        SampleRng { inner: fastrand::Rng::with_seed(seed) }
    }

    /// A uniform index below `len` (0 when `len` is 0).
    pub(crate) fn below(&mut self, len: usize) -> usize {
        if len == 0 { 0 } else { self.inner.usize(..len) }
    }

    /// A uniform integer in `low..=high`.
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        self.inner.u64(low..=high)
    }

    /// True with probability `probability`.
    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.inner.f64() < probability
    }

    /// A uniform value in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.inner.f64()
    }

    /// 64 random bits.
    pub(crate) fn bits64(&mut self) -> u64 {
        self.inner.u64(..)
    }

    /// 128 random bits.
    pub(crate) fn bits128(&mut self) -> u128 {
        self.inner.u128(..)
    }

    /// A uniformly chosen element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index below `len` skewed towards 0 (a power law: index 0 is the
    /// most popular, the tail is long), as real traffic is.
    pub(crate) fn skewed(&mut self, len: usize, exponent: i32) -> usize {
        let draw = self.inner.f64().powi(exponent);
        ((draw * len as f64) as usize).min(len.saturating_sub(1))
    }

    /// A log-normally distributed value (median `e^mu`), for sizes and counts.
    pub(crate) fn log_normal(&mut self, mu: f64, sigma: f64) -> f64 {
        let u1 = self.inner.f64().max(f64::MIN_POSITIVE);
        let u2 = self.inner.f64();
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        (mu + sigma * normal).exp()
    }
}

/// A table of items with integer weights, for picks with fixed odds.
#[derive(Debug, Clone)]
pub(crate) struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<u32>,
}

impl<T> Weighted<T> {
    /// A table from `(item, weight)` pairs; at least one weight must be
    /// positive.
    pub(crate) fn new(pairs: impl IntoIterator<Item = (T, u32)>) -> Self {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u32;
        for (item, weight) in pairs {
            total += weight;
            items.push(item);
            cumulative.push(total);
        }
        assert!(total > 0, "a weighted table needs a positive total weight");
        Weighted { items, cumulative }
    }

    /// Draws one item.
    pub(crate) fn pick(&self, rng: &mut SampleRng) -> &T {
        let total = *self.cumulative.last().unwrap_or(&1);
        let draw = rng.inner.u32(..total);
        let index = self.cumulative.partition_point(|&end| end <= draw);
        &self.items[index]
    }
}

impl<T: Clone> Weighted<T> {
    /// A table from a static list of `(item, weight)` pairs.
    pub(crate) fn from_static(pairs: &[(T, u32)]) -> Self {
        Weighted::new(pairs.iter().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ_per_part_and_repeat() {
        assert_eq!(derive_seed(42, &[1, 2]), derive_seed(42, &[1, 2]));
        assert_ne!(derive_seed(42, &[1, 2]), derive_seed(42, &[2, 1]));
        assert_ne!(derive_seed(42, &[1]), derive_seed(43, &[1]));
    }

    #[test]
    fn weighted_picks_follow_the_weights() {
        let table = Weighted::from_static(&[("a", 1), ("b", 0), ("c", 3)]);
        let mut rng = SampleRng::new(7);
        let mut counts = [0usize; 3];
        for _ in 0..4000 {
            match *table.pick(&mut rng) {
                "a" => counts[0] += 1,
                "b" => counts[1] += 1,
                _ => counts[2] += 1,
            }
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > 2 * counts[0], "{counts:?}");
    }

    #[test]
    fn skewed_indices_favour_the_head() {
        let mut rng = SampleRng::new(1);
        let head = (0..1000).filter(|_| rng.skewed(100, 3) < 10).count();
        assert!(head > 300, "{head}");
    }
}
