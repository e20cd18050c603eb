//! `fractional`: flagd's deterministic percentage bucketing, version 2. The bucketing
//! key is hashed with MurmurHash3 x86_32 (seed 0) and mapped onto the integer weights
//! with `(hash × totalWeight) >> 32`, so buckets are exact and stable across flagd, its
//! SDKs and rodeo.
//!
//! Evaluation allocates nothing here: the default key is hashed in two pieces instead of
//! being concatenated, the distribution is walked twice instead of being collected, and
//! the chosen variant is borrowed from the rule when the rule wrote it literally.

use std::borrow::Cow;

use serde_json::Value;

/// Picks from `buckets`, the evaluated `[variant, weight?]` arguments, the one that
/// `hash` (of the bucketing key) falls in. `None` (flagd's `null`) when an entry is
/// invalid or the weights sum to 0.
///
/// `buckets` is iterated twice, to sum the weights and then to find the bucket: for the
/// usual literal distribution that only borrows from the rule again, and evaluation
/// has no side effects, so a computed entry yields the same value both times.
pub(crate) fn choose<'v>(
    hash: u32,
    buckets: impl Iterator<Item = Cow<'v, Value>> + Clone,
) -> Option<Cow<'v, Value>> {
    let mut total: u64 = 0;
    for bucket in buckets.clone() {
        total += bucket_entry(&bucket)?.1;
    }
    if total == 0 || total > i32::MAX as u64 {
        return None;
    }
    let point = (u64::from(hash) * total) >> 32;
    let mut end = 0;
    for bucket in buckets {
        end += bucket_entry(&bucket)?.1;
        if point < end {
            return variant(bucket);
        }
    }
    None
}

/// The variant of a valid entry, borrowed when the entry is.
fn variant(bucket: Cow<'_, Value>) -> Option<Cow<'_, Value>> {
    match bucket {
        Cow::Borrowed(Value::Array(entry)) => entry.first().map(Cow::Borrowed),
        Cow::Owned(Value::Array(entry)) => entry.into_iter().next().map(Cow::Owned),
        _ => None,
    }
}

/// One `[variant, weight]` entry: the variant must be a string, bool, number or null; the
/// weight defaults to 1, must be a whole number, and a negative one counts as 0.
pub(crate) fn bucket_entry(bucket: &Value) -> Option<(&Value, u64)> {
    let Value::Array(entry) = bucket else {
        return None;
    };
    let variant = entry.first()?;
    if matches!(variant, Value::Array(_) | Value::Object(_)) {
        return None;
    }
    let weight = match entry.get(1) {
        None | Some(Value::Null) => 1,
        Some(Value::Number(n)) => {
            let w = n.as_f64()?;
            if w.fract() != 0.0 || w > f64::from(i32::MAX) {
                return None;
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let w = w.max(0.0) as u64;
            w
        }
        Some(_) => return None,
    };
    Some((variant, weight))
}

/// The hash of an explicit bucketing key (a first argument that evaluated to a string).
pub(crate) fn key_hash(key: &str) -> u32 {
    murmur3_x86_32(key.as_bytes(), 0)
}

/// The hash of the default bucketing key, `flagKey + targetingKey`; `None` (no key at
/// all) when the targeting key is missing or empty.
pub(crate) fn default_key_hash(flag_key: &str, targeting_key: Option<&Value>) -> Option<u32> {
    match targeting_key {
        Some(Value::String(t)) if !t.is_empty() => Some(
            Murmur3::new(0)
                .write(flag_key.as_bytes())
                .write(t.as_bytes())
                .finish(),
        ),
        _ => None,
    }
}

/// MurmurHash3's 32-bit x86 variant (Austin Appleby's public-domain reference).
pub(crate) fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    Murmur3::new(seed).write(data).finish()
}

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// MurmurHash3 x86_32 fed in pieces, giving the hash of their concatenation: the
/// reference mixes 4-byte blocks, so bytes left over from one piece wait for the next.
#[derive(Debug, Clone, Copy)]
struct Murmur3 {
    h: u32,
    /// The bytes of an unfinished block, little-endian, and how many there are (0–3).
    tail: u32,
    tail_len: u32,
    len: usize,
}

impl Murmur3 {
    fn new(seed: u32) -> Self {
        Self {
            h: seed,
            tail: 0,
            tail_len: 0,
            len: 0,
        }
    }

    #[must_use]
    fn write(mut self, data: &[u8]) -> Self {
        self.len = self.len.wrapping_add(data.len());
        let mut data = data;
        while self.tail_len != 0 {
            let Some((&b, rest)) = data.split_first() else {
                return self;
            };
            self.push(b);
            data = rest;
        }
        let mut blocks = data.chunks_exact(4);
        for block in &mut blocks {
            self.h = mix(
                self.h,
                u32::from_le_bytes([block[0], block[1], block[2], block[3]]),
            );
        }
        for &b in blocks.remainder() {
            self.push(b);
        }
        self
    }

    /// Adds one byte to the unfinished block, mixing the block in once it is whole.
    fn push(&mut self, b: u8) {
        self.tail |= u32::from(b) << (8 * self.tail_len);
        self.tail_len += 1;
        if self.tail_len == 4 {
            self.h = mix(self.h, self.tail);
            self.tail = 0;
            self.tail_len = 0;
        }
    }

    fn finish(self) -> u32 {
        let mut h = self.h;
        if self.tail_len != 0 {
            h ^= scramble(self.tail);
        }
        // The reference takes the length as a 32-bit integer.
        #[allow(clippy::cast_possible_truncation)]
        let len = self.len as u32;
        h ^= len;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^= h >> 16;
        h
    }
}

fn scramble(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix(h: u32, block: u32) -> u32 {
    (h ^ scramble(block))
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn murmur3_reference_vectors() {
        // Vectors published with the reference implementation and used by its ports.
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_x86_32(b"", 0xffff_ffff), 0x81f1_6f39);
        assert_eq!(murmur3_x86_32(b"test", 0), 0xba6b_d213);
        assert_eq!(murmur3_x86_32(b"Hello, world!", 0), 0xc036_3e43);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    #[test]
    fn pieces_hash_as_their_concatenation() {
        let text = b"The quick brown fox jumps over the lazy dog";
        for len in 0..=text.len() {
            let data = &text[..len];
            let whole = murmur3_x86_32(data, 7);
            for cut in 0..=len {
                let (a, b) = data.split_at(cut);
                let pieces = Murmur3::new(7).write(a).write(b).finish();
                assert_eq!(pieces, whole, "{len} bytes cut at {cut}");
            }
        }
        for (flag, user) in [("", "u"), ("f", "user-1"), ("new-search", "user-4711")] {
            let joined = format!("{flag}{user}");
            assert_eq!(
                default_key_hash(flag, Some(&json!(user))),
                Some(key_hash(&joined))
            );
        }
        assert_eq!(default_key_hash("f", Some(&json!(""))), None);
        assert_eq!(default_key_hash("f", Some(&json!(1))), None);
        assert_eq!(default_key_hash("f", None), None);
    }

    /// `choose` over literal entries, as a rule's literal distribution is evaluated.
    fn pick<'v>(key: &str, buckets: &'v [Value]) -> Option<Cow<'v, Value>> {
        choose(key_hash(key), buckets.iter().map(Cow::Borrowed))
    }

    #[test]
    fn weights_are_exact_shares_of_the_hash_space() {
        let buckets = [json!(["a", 1]), json!(["b", 3])];
        let mut counts = [0u32; 2];
        for i in 0..40_000 {
            let key = format!("user-{i}");
            match pick(&key, &buckets).as_deref() {
                Some(v) if v == "a" => counts[0] += 1,
                Some(v) if v == "b" => counts[1] += 1,
                other => panic!("{other:?}"),
            }
        }
        let share = f64::from(counts[0]) / 40_000.0;
        assert!((share - 0.25).abs() < 0.01, "{share}");
    }

    #[test]
    fn invalid_distributions_choose_nothing() {
        assert_eq!(pick("k", &[json!(["a", 0]), json!(["b", 0])]), None);
        assert_eq!(pick("k", &[json!(["a", 1.5])]), None);
        assert_eq!(pick("k", &[json!("a")]), None);
        assert_eq!(
            pick("k", &[json!(["a", -5]), json!(["b", 1])]).as_deref(),
            Some(&json!("b"))
        );
        assert_eq!(
            pick("k", &[json!(["only"])]).as_deref(),
            Some(&json!("only"))
        );
    }

    #[test]
    fn literal_variants_are_borrowed_and_computed_ones_moved() {
        let literal = [json!(["only"])];
        assert!(matches!(pick("k", &literal), Some(Cow::Borrowed(_))));
        let computed = std::iter::once(Cow::Owned(json!(["only", 1])));
        assert_eq!(choose(0, computed), Some(Cow::Owned(json!("only"))));
    }
}
