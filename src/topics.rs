//! Topic rules: which topics an entry belongs to. Pure functions.
//!
//! An entry belongs to topic T when its feed lists T, or when one of T's
//! keywords occurs in its title, summary or content, case-insensitively and
//! as a whole word or phrase: `CPEC` matches "CPEC's" and "(CPEC)", not
//! "CPECS".

use regex::Regex;

use crate::config::TopicRule;

/// Compiled topic rules.
#[derive(Debug, Clone)]
pub struct Topics {
    rules: Vec<(String, Option<Regex>)>,
}

impl Topics {
    /// Compiles the keyword rules of `topics`.
    pub fn new(topics: &[TopicRule]) -> Topics {
        let mut rules: Vec<_> = topics.iter().map(|t| (t.name.clone(), keyword_regex(&t.keywords))).collect();
        rules.sort_by(|a, b| a.0.cmp(&b.0));
        Topics { rules }
    }

    /// The names of all topics, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|(n, _)| n.as_str())
    }

    /// The topics of an entry of a feed tagged `feed_topics`, whose text is
    /// `texts` (title, summary, content), sorted by name.
    pub fn tag(&self, feed_topics: &[String], texts: &[&str]) -> Vec<String> {
        self.rules
            .iter()
            .filter(|(name, re)| {
                feed_topics.contains(name) || re.as_ref().is_some_and(|re| texts.iter().any(|t| re.is_match(t)))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// Returns true if and only if `c` belongs to a script written without
/// spaces between words (Chinese, Japanese, Thai…), where word boundaries
/// cannot be asked for.
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility
        | 0x20000..=0x3134F) // CJK extensions B..
}

/// One case-insensitive regex matching any of `keywords` as a whole word
/// or phrase (also used by [`crate::filters`]); `None` without keywords.
pub(crate) fn keyword_regex(keywords: &[String]) -> Option<Regex> {
    let alternatives: Vec<String> = keywords
        .iter()
        .filter_map(|k| {
            let words: Vec<&str> = k.split_whitespace().collect();
            let first = words.first()?.chars().next()?;
            let last = words.last()?.chars().last()?;
            let body = words.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join(r"\s+");
            let start = if first.is_alphanumeric() && !is_unspaced_script(first) { r"\b" } else { "" };
            let end = if last.is_alphanumeric() && !is_unspaced_script(last) { r"\b" } else { "" };
            Some(format!("{start}{body}{end}"))
        })
        .collect();
    if alternatives.is_empty() {
        return None;
    }
    let pattern = format!("(?i)(?:{})", alternatives.join("|"));
    Some(Regex::new(&pattern).expect("escaped keywords always form a valid regex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> Topics {
        Topics::new(&[
            TopicRule {
                name: "cpec".into(),
                keywords: vec!["CPEC".into(), "China-Pakistan Economic Corridor".into(), "Gwadar".into()],
            },
            TopicRule { name: "china".into(), keywords: vec!["China".into(), "中国".into()] },
            TopicRule { name: "pakistan".into(), keywords: vec![] },
        ])
    }

    fn tag(text: &str) -> Vec<String> {
        topics().tag(&[], &[text])
    }

    #[test]
    fn whole_words_case_insensitively() {
        assert_eq!(tag("CPEC's second phase"), ["cpec"]);
        assert_eq!(tag("the corridor (CPEC) grows"), ["cpec"]);
        assert_eq!(tag("cpec: a primer"), ["cpec"]);
        assert!(tag("CPECS is something else").is_empty());
        assert!(tag("xCPEC").is_empty());
    }

    #[test]
    fn phrases_match_across_line_breaks() {
        assert_eq!(tag("the China-Pakistan Economic\nCorridor"), ["china", "cpec"]);
    }

    #[test]
    fn feed_topics_always_apply() {
        assert_eq!(topics().tag(&["pakistan".into()], &["nothing here"]), ["pakistan"]);
    }

    #[test]
    fn unspaced_scripts_match_inside_text() {
        assert_eq!(tag("中国和巴基斯坦"), ["china"]);
    }

    #[test]
    fn any_of_title_summary_content() {
        assert_eq!(topics().tag(&[], &["A title", "", "Port of Gwadar"]), ["cpec"]);
    }
}
