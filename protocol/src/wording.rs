//! How both binaries word a count in what they print: `1 connector`,
//! `2 connectors`, `1 batch`, `3 batches`.

use std::fmt::Display;

/// `n` and the noun, singular for exactly one. Any number that prints,
/// by value or by reference (templates pass references).
pub fn count(n: impl Display, noun: &str) -> String {
    let n = n.to_string();
    match n.as_str() {
        "1" => format!("{n} {noun}"),
        _ => format!("{n} {}", plural(noun)),
    }
}

/// The English plural of a regular noun (the nouns the binaries count).
pub fn plural(noun: &str) -> String {
    let consonant_y = noun.strip_suffix('y').filter(|stem| !stem.ends_with(['a', 'e', 'i', 'o', 'u']));
    match consonant_y {
        Some(stem) => format!("{stem}ies"),
        None if noun.ends_with(['s', 'x', 'z']) || noun.ends_with("ch") || noun.ends_with("sh") => format!("{noun}es"),
        None => format!("{noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1usize, "connector"), "1 connector");
        assert_eq!(count(0usize, "finding"), "0 findings");
        assert_eq!(count(1u64, "batch"), "1 batch");
        assert_eq!(count(2u64, "batch"), "2 batches");
        assert_eq!(count(3i64, "entry"), "3 entries");
        assert_eq!(count(2u32, "day"), "2 days");
        assert_eq!(count(1usize, "byte"), "1 byte");
        assert_eq!(count(&1u64, "silent agent"), "1 silent agent");
    }
}
