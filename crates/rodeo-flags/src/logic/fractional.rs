//! `fractional`: flagd's deterministic percentage bucketing, version 2. The bucketing
//! key is hashed with MurmurHash3 x86_32 (seed 0) and mapped onto the integer weights
//! with `(hash × totalWeight) >> 32`, so buckets are exact and stable across flagd, its
//! SDKs and rodeo.

use std::borrow::Borrow;

use serde_json::Value;

/// The distribution arguments after evaluation: `[variant, weight?]` pairs.
/// Returns the chosen variant value, or `None` (flagd's `null`) when nothing can be chosen.
pub(crate) fn choose<'v, B: Borrow<Value>>(
    bucket_key: &str,
    buckets: &'v [B],
) -> Option<&'v Value> {
    let mut total: u64 = 0;
    let mut parsed = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        let (variant, weight) = bucket_entry(bucket.borrow())?;
        total += weight;
        parsed.push((variant, weight));
    }
    if total == 0 || total > i32::MAX as u64 {
        return None;
    }
    let point = (u64::from(murmur3_x86_32(bucket_key.as_bytes(), 0)) * total) >> 32;
    let mut end = 0;
    for (variant, weight) in parsed {
        end += weight;
        if point < end {
            return Some(variant);
        }
    }
    None
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

/// The bucketing key from the first argument when it evaluated to a string; otherwise
/// `flagKey + targetingKey` (and no key at all when the targeting key is missing or empty).
pub(crate) fn default_key(flag_key: &str, targeting_key: Option<&Value>) -> Option<String> {
    match targeting_key {
        Some(Value::String(t)) if !t.is_empty() => Some(format!("{flag_key}{t}")),
        _ => None,
    }
}

/// MurmurHash3's 32-bit x86 variant (Austin Appleby's public-domain reference).
pub(crate) fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k: u32 = 0;
        for (i, b) in tail.iter().enumerate() {
            k |= u32::from(*b) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    #[allow(clippy::cast_possible_truncation)]
    let len = data.len() as u32;
    h ^= len;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
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
    fn weights_are_exact_shares_of_the_hash_space() {
        let buckets = [json!(["a", 1]), json!(["b", 3])];
        let mut counts = [0u32; 2];
        for i in 0..40_000 {
            let key = format!("user-{i}");
            match choose(&key, &buckets) {
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
        assert_eq!(choose("k", &[json!(["a", 0]), json!(["b", 0])]), None);
        assert_eq!(choose("k", &[json!(["a", 1.5])]), None);
        assert_eq!(choose("k", &[json!("a")]), None);
        assert_eq!(
            choose("k", &[json!(["a", -5]), json!(["b", 1])]),
            Some(&json!("b"))
        );
        assert_eq!(choose("k", &[json!(["only"])]), Some(&json!("only")));
    }
}
