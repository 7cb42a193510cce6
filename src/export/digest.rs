//! The stories a digest (HTML page, Atom planet) is made of: plain data the
//! commands gather from the store and the writers render.

use chrono::{DateTime, Utc};

/// One story of a digest: its original, with where else it was carried.
#[derive(Debug, Clone)]
pub struct DigestStory {
    /// syndic's id of the original (for `syndic show`).
    pub id: i64,
    pub title: String,
    pub url: Option<String>,
    pub author: Option<String>,
    pub published: DateTime<Utc>,
    /// Plain text, a few sentences.
    pub summary: String,
    /// Sanitised HTML of the content (else the summary), if the feed gave any.
    pub content_html: Option<String>,
    /// The story's topics (of its original and its copies), sorted.
    pub topics: Vec<String>,
    /// The feed the original came from.
    pub source: DigestFeed,
    /// The other feeds that carried it.
    pub copies: Vec<Carrier>,
}

/// A feed as a digest names it.
#[derive(Debug, Clone)]
pub struct DigestFeed {
    /// The name shown: feeds.toml's, else the feed's title, else its URL.
    pub name: String,
    /// The feed's own URL.
    pub url: String,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// The feed's own date, else when syndic last fetched it.
    pub updated: Option<DateTime<Utc>>,
}

/// Another feed that carried a story.
#[derive(Debug, Clone)]
pub struct Carrier {
    pub feed: String,
    pub url: Option<String>,
    /// The source the copy credits, if it names one.
    pub attribution: Option<String>,
}

/// Returns true if and only if `url` is a link a reader may follow
/// (`http` or `https`); anything else (`javascript:`, `data:`) is dropped.
pub fn is_web_link(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// Removes what XML 1.0 cannot carry or discourages, which escaping does
/// not help with: C0 controls but tab and line breaks, C1 controls, DEL,
/// and the Unicode non-characters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF).
///
/// ```
/// use syndic::export::digest::xml_chars;
/// assert_eq!(xml_chars("a\u{0}b\u{1b}c\u{fffe}d\u{fdd0}e\u{10ffff}\tf\u{85}g"), "abcde\tfg");
/// ```
pub fn xml_chars(s: &str) -> String {
    s.chars().filter(|&c| is_xml_char(c)).collect()
}

/// Returns true if and only if `c` may appear in an XML 1.0 document
/// without being discouraged.
fn is_xml_char(c: char) -> bool {
    let n = c as u32;
    if matches!(c, '\t' | '\n' | '\r') {
        return true;
    }
    !(c.is_control() || (0xFDD0..=0xFDEF).contains(&n) || (n & 0xFFFE) == 0xFFFE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_followed() {
        assert!(is_web_link("https://a.example/x?y=1"));
        assert!(is_web_link("http://a.example"));
        assert!(!is_web_link("javascript:alert(1)"));
        assert!(!is_web_link("data:text/html,hi"));
        assert!(!is_web_link("file:///etc/passwd"));
        assert!(!is_web_link("not a url"));
    }

    #[test]
    fn xml_chars_drops_every_non_character() {
        let all: String = (0u32..0x11_0000).filter_map(char::from_u32).collect();
        let kept = xml_chars(&all);
        for c in kept.chars() {
            let n = c as u32;
            assert!(n >= 0x20 || matches!(c, '\t' | '\n' | '\r'), "{n:#x}");
            assert!(!(0x7f..=0x9f).contains(&n), "{n:#x}");
            assert!(!(0xFDD0..=0xFDEF).contains(&n) && n & 0xFFFE != 0xFFFE, "{n:#x}");
        }
        assert!(kept.contains('A') && kept.contains('中') && kept.contains('\u{10fffd}'));
    }
}
