//! `[filters]`: entries a reader does not want to see. Pure functions.
//!
//! Rules come from feeds.toml, globally (`[filters]`) and per feed
//! (`[feeds.filters]`, added to the global ones):
//! - `exclude`: keywords or phrases, matched as topics match them (whole
//!   words, any case, see [`crate::topics`]) in the title, summary or content;
//! - `exclude_title`, `exclude_author`, `exclude_text`: regular expressions
//!   (case-insensitive unless they say `(?-i)`) on the title, the author, or
//!   the summary and content.
//!
//! An excluded entry is still stored (so changing a rule loses nothing): the
//! store keeps the ids of the hidden entries, decided here when an entry
//! arrives or changes, and for every entry when the rules change (their
//! [`fingerprint`] differs from the one recorded).

use std::collections::HashMap;
use std::ops::Range;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use toml::Spanned;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::Config;
use crate::store::FilterReport;

/// The largest compiled size of one filter regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One set of exclude rules, as written (validated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FilterRules {
    /// Keywords or phrases (the topics matcher).
    pub exclude: Vec<String>,
    /// Regexes on the title.
    pub title: Vec<String>,
    /// Regexes on the author.
    pub author: Vec<String>,
    /// Regexes on the summary and content.
    pub text: Vec<String>,
}

impl FilterRules {
    /// Returns true if and only if there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.exclude.is_empty() && self.title.is_empty() && self.author.is_empty() && self.text.is_empty()
    }
}

/// `[filters]` as written in feeds.toml.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFilters {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    exclude_title: Vec<Spanned<String>>,
    #[serde(default)]
    exclude_author: Vec<Spanned<String>>,
    #[serde(default)]
    exclude_text: Vec<Spanned<String>>,
}

/// Validates `raw`; an error carries the span of the bad value and says what
/// to write instead.
pub(crate) fn validate(raw: RawFilters) -> Result<FilterRules, (Range<usize>, String)> {
    let mut rules = FilterRules::default();
    for k in raw.exclude {
        let word = k.get_ref().trim();
        if word.is_empty() {
            return Err((k.span(), "`exclude` has an empty keyword: remove it".into()));
        }
        rules.exclude.push(word.to_owned());
    }
    for (key, list, out) in [
        ("exclude_title", raw.exclude_title, &mut rules.title),
        ("exclude_author", raw.exclude_author, &mut rules.author),
        ("exclude_text", raw.exclude_text, &mut rules.text),
    ] {
        for r in list {
            let pattern = r.get_ref();
            if pattern.is_empty() {
                return Err((r.span(), format!("`{key}` has an empty pattern (it would hide everything): remove it")));
            }
            compile(pattern).map_err(|e| {
                let reason = e.to_string().lines().last().unwrap_or("invalid").trim().to_owned();
                (r.span(), format!("`{key}` pattern \"{pattern}\" is not a valid regular expression ({reason}): write it like \"^Sponsored:\""))
            })?;
            out.push(pattern.clone());
        }
    }
    Ok(rules)
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).case_insensitive(true).size_limit(REGEX_SIZE_LIMIT).build()
}

/// What the rules look at in an entry.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryText<'a> {
    pub title: &'a str,
    pub author: &'a str,
    pub summary: &'a str,
    pub content: &'a str,
}

#[derive(Debug, Clone, Default)]
struct Compiled {
    keywords: Option<Regex>,
    title: Vec<Regex>,
    author: Vec<Regex>,
    text: Vec<Regex>,
}

impl Compiled {
    fn new(rules: &FilterRules) -> Compiled {
        let all = |v: &[String]| -> Vec<Regex> {
            v.iter().map(|p| compile(p).expect("feeds.toml's regexes are checked when it is read")).collect()
        };
        Compiled {
            keywords: crate::topics::keyword_regex(&rules.exclude),
            title: all(&rules.title),
            author: all(&rules.author),
            text: all(&rules.text),
        }
    }

    fn matches(&self, e: &EntryText) -> bool {
        let any = |res: &[Regex], texts: &[&str]| res.iter().any(|re| texts.iter().any(|t| re.is_match(t)));
        self.keywords.as_ref().is_some_and(|re| [e.title, e.summary, e.content].iter().any(|t| re.is_match(t)))
            || any(&self.title, &[e.title])
            || any(&self.author, &[e.author])
            || any(&self.text, &[e.summary, e.content])
    }
}

/// The compiled rules of a configuration.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    global: Compiled,
    per_feed: HashMap<String, Compiled>,
    empty: bool,
}

impl Filters {
    /// Compiles the global and per-feed rules of `config`.
    pub fn new(config: &Config) -> Filters {
        let per_feed: HashMap<String, Compiled> = config
            .feeds
            .iter()
            .filter(|f| !f.filters.is_empty())
            .map(|f| (f.url.clone(), Compiled::new(&f.filters)))
            .collect();
        let empty = config.filters.is_empty() && per_feed.is_empty();
        Filters { global: Compiled::new(&config.filters), per_feed, empty }
    }

    /// Returns true if and only if no rule is configured.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Returns true if and only if an entry of the feed at `feed_url` is
    /// excluded by a global rule or one of its feed's.
    pub fn is_excluded(&self, feed_url: &str, entry: &EntryText) -> bool {
        !self.empty && (self.global.matches(entry) || self.per_feed.get(feed_url).is_some_and(|c| c.matches(entry)))
    }
}

/// Brings the store's hidden entries up to date with `config`'s rules:
/// every entry when the rules changed, else the new and changed ones.
pub fn apply(config: &Config, store: &mut crate::store::Store) -> Result<FilterReport, crate::error::StoreError> {
    let filters = Filters::new(config);
    let report = if filters.is_empty() {
        store.clear_filters(&fingerprint(config))?
    } else {
        let feed_rules: HashMap<&str, String> = config
            .feeds
            .iter()
            .filter(|f| !f.filters.is_empty())
            .map(|f| (f.url.as_str(), feed_fingerprint(&f.filters)))
            .collect();
        store.apply_filters(&fingerprint(config), &feed_rules, |feed_url, text| filters.is_excluded(feed_url, text))?
    };
    if report.changed > 0 || report.all {
        tracing::info!(evaluated = report.evaluated, changed = report.changed, all = report.all, "filters applied");
    }
    Ok(report)
}

/// A fingerprint of the global filter rules: when it changes, every stored
/// entry is evaluated again. A feed's own rules have theirs
/// ([`feed_fingerprint`]): when they change, its entries are.
pub fn fingerprint(config: &Config) -> String {
    format!("{:016x}", xxh3_64(format!("global v2 {:?}\n", config.filters).as_bytes()))
}

/// A fingerprint of a feed's own filter rules.
pub fn feed_fingerprint(rules: &FilterRules) -> String {
    format!("{:016x}", xxh3_64(format!("feed {rules:?}\n").as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(toml: &str) -> Config {
        Config::parse(toml, Path::new("/etc/syndic/feeds.toml")).unwrap()
    }

    fn entry<'a>(title: &'a str, author: &'a str, text: &'a str) -> EntryText<'a> {
        EntryText { title, author, summary: "", content: text }
    }

    #[test]
    fn rules_as_a_table() {
        let c = config(
            r#"
[filters]
exclude = ["Sponsored", "horoscope"]
exclude_title = ["^Podcast:"]
exclude_author = ["press office"]
exclude_text = ["buy now"]

[[feeds]]
url = "https://a.example/feed"
[feeds.filters]
exclude = ["cricket"]

[[feeds]]
url = "https://b.example/feed"
"#,
        );
        let f = Filters::new(&c);
        let a = "https://a.example/feed";
        let b = "https://b.example/feed";
        let cases: &[(&str, EntryText, bool)] = &[
            (a, entry("Gwadar port grows", "Ali", "Cargo volume rose."), false),
            (a, entry("A SPONSORED post", "", ""), true),
            (a, entry("Daily horoscopes", "", ""), false), // whole words only
            (a, entry("x", "", "Your horoscope for today"), true),
            (a, entry("podcast: episode 4", "", ""), true), // regexes ignore case
            (a, entry("The podcast: episode 4", "", ""), false),
            (a, entry("x", "The Press Office", ""), true),
            (a, entry("x", "", "click to BUY NOW"), true),
            (a, entry("Cricket scores", "", ""), true),  // a's own rule
            (b, entry("Cricket scores", "", ""), false), // not b's
            (b, entry("Sponsored", "", ""), true),       // global applies to b
        ];
        for (feed, e, want) in cases {
            assert_eq!(f.is_excluded(feed, e), *want, "{feed} {e:?}");
        }
    }

    #[test]
    fn no_rules_exclude_nothing() {
        let f = Filters::new(&config("[[feeds]]\nurl = \"https://a.example/\"\n"));
        assert!(f.is_empty());
        assert!(!f.is_excluded("https://a.example/", &entry("anything", "", "")));
    }

    #[test]
    fn fingerprint_follows_the_rules() {
        let base = fingerprint(&config("[filters]\nexclude = [\"a\"]\n"));
        assert_eq!(base, fingerprint(&config("[filters]\nexclude = [\"a\"]\n")));
        assert_ne!(base, fingerprint(&config("[filters]\nexclude = [\"b\"]\n")));
        // A feed's own rules are its own fingerprint's, not the global one's.
        let with_feed = config(
            "[filters]\nexclude = [\"a\"]\n[[feeds]]\nurl = \"https://x.example/\"\nfilters = { exclude_title = [\"y\"] }\n",
        );
        assert_eq!(base, fingerprint(&with_feed));
        let other = config("[[feeds]]\nurl = \"https://x.example/\"\nfilters = { exclude_title = [\"z\"] }\n");
        assert_ne!(feed_fingerprint(&with_feed.feeds[0].filters), feed_fingerprint(&other.feeds[0].filters));
    }

    #[test]
    fn bad_rules_name_the_line_and_what_to_write() {
        let err = |t: &str| Config::parse(t, Path::new("f.toml")).unwrap_err().to_string();
        let e = err("[filters]\nexclude_title = [\"(unclosed\"]\n");
        assert!(
            e.starts_with("f.toml:2: `exclude_title` pattern \"(unclosed\" is not a valid regular expression"),
            "{e}"
        );
        let e = err("[filters]\nexclude = [\" \"]\n");
        assert!(e.contains("f.toml:2: `exclude` has an empty keyword"), "{e}");
        let e = err("[filters]\nexclude_text = [\"\"]\n");
        assert!(e.contains("empty pattern"), "{e}");
        let e = err("[filters]\nexclud = [\"x\"]\n");
        assert!(e.contains("unknown field `exclud`"), "{e}");
        let e = err("[[feeds]]\nurl = \"https://a.example/\"\n[feeds.filters]\nexclude_author = [\"[\"]\n");
        assert!(e.starts_with("f.toml:4:"), "{e}");
    }
}
