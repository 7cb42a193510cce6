//! Entry identity and copy recognition. Pure functions: the store supplies
//! candidates and records the verdicts.

use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64_with_seed};

use crate::model::EntryKey;
use crate::text::comparable_words;

/// Seed of every stored hash. Changing it invalidates stored fingerprints,
/// so it never changes.
pub const HASH_SEED: u64 = 0x5359_4e44_4943_0001;

/// Texts shorter than this many words are not compared for exact copies:
/// short summaries ("Read more", a one-line teaser) are too often equal
/// between unrelated items.
pub const MIN_WORDS_FOR_TEXT_MATCH: usize = 25;

/// The stable identity of an entry within its feed: the feed's own id (RSS
/// guid, Atom id, JSON Feed id), else the canonical link, else a hash of the
/// title and text.
pub fn entry_key(guid: Option<&str>, canonical_link: Option<&str>, title: &str, text: &str) -> EntryKey {
    if let Some(g) = guid.map(str::trim).filter(|g| !g.is_empty()) {
        return EntryKey(format!("guid:{g}"));
    }
    if let Some(l) = canonical_link {
        return EntryKey(format!("link:{l}"));
    }
    let mut bytes = Vec::with_capacity(title.len() + text.len() + 1);
    bytes.extend_from_slice(title.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(text.as_bytes());
    EntryKey(format!("hash:{:032x}", xxh3_128_with_seed(&bytes, HASH_SEED)))
}

/// Hash of the comparable words of `text` (see [`comparable_words`]); two
/// entries with the same hash carry the same text up to case, width,
/// punctuation and whitespace. `None` for texts too short to identify an
/// article ([`MIN_WORDS_FOR_TEXT_MATCH`]).
pub fn text_hash(text: &str) -> Option<i64> {
    let words = comparable_words(text);
    if words.len() < MIN_WORDS_FOR_TEXT_MATCH {
        return None;
    }
    let joined = words.join(" ");
    Some(xxh3_64_with_seed(joined.as_bytes(), HASH_SEED) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARTICLE: &str = "New industries are emerging, and China will help Pakistan seize the wave of the \
        technology revolution to overtake and achieve leapfrog development in the context of the fourth \
        industrial revolution and the digital economy.";

    #[test]
    fn key_prefers_guid_then_link_then_hash() {
        assert_eq!(entry_key(Some(" g1 "), Some("https://a/x"), "t", "b").0, "guid:g1");
        assert_eq!(entry_key(Some(""), Some("https://a/x"), "t", "b").0, "link:https://a/x");
        let h = entry_key(None, None, "t", "b").0;
        assert!(h.starts_with("hash:") && h.len() == 5 + 32, "{h}");
    }

    #[test]
    fn hash_key_is_stable_and_depends_on_title_and_text() {
        assert_eq!(entry_key(None, None, "t", "b"), entry_key(None, None, "t", "b"));
        assert_ne!(entry_key(None, None, "t", "b"), entry_key(None, None, "t", "c"));
        assert_ne!(entry_key(None, None, "tb", ""), entry_key(None, None, "t", "b"));
    }

    #[test]
    fn text_hash_ignores_case_punctuation_and_layout() {
        let reflowed = ARTICLE.to_uppercase().replace(", ", "\n\n ").replace('.', " !");
        assert_eq!(text_hash(ARTICLE), text_hash(&reflowed));
        assert!(text_hash(ARTICLE).is_some());
        assert_ne!(text_hash(ARTICLE), text_hash(&ARTICLE.replace("China", "India")));
    }

    #[test]
    fn short_texts_have_no_hash() {
        assert_eq!(text_hash("Read more"), None);
        assert_eq!(text_hash(""), None);
    }
}
