//! Plain data shared by the pipeline stages: feeds, normalised entries and
//! the rows the store hands back. No I/O lives here.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Database id of a feed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FeedId(pub i64);

/// Database id of an entry row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EntryId(pub i64);

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The identity of an entry within its feed: `guid:…`, `link:…` or `hash:…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryKey(pub String);

/// Where an entry's `published` time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSource {
    /// The feed's published date.
    Published,
    /// The feed's updated date (no published date given).
    Updated,
    /// Neither given: the time syndic first saw the entry.
    FirstSeen,
}

impl DateSource {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Published => "published",
            DateSource::Updated => "updated",
            DateSource::FirstSeen => "first_seen",
        }
    }
}

/// One entry as parsed and normalised, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub key: EntryKey,
    pub title: String,
    /// Canonical absolute link, tracking parameters and fragment removed.
    pub url: Option<String>,
    pub author: Option<String>,
    pub published: DateTime<Utc>,
    pub date_source: DateSource,
    pub summary_html: Option<String>,
    pub summary_text: Option<String>,
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    /// URL of the original named by the feed itself (RSS `<source url>`,
    /// `atom:source`, `link rel="via"`).
    pub source_url: Option<String>,
    /// Hash of the normalised text, used to recognise exact copies; `None`
    /// when the text is too short to identify an article, and until a sync
    /// prepares the entry for storing (`dedup::reduce` hashes its words once
    /// for both).
    pub text_hash: Option<i64>,
    /// Hash of the HTML and text the item came with, before sanitising
    /// (`parse::ItemHead::item_hash`): an item fetched again with the same
    /// hash has the same stored texts. `None` for entries not parsed from a
    /// feed document.
    pub item_hash: Option<i64>,
}

impl NewEntry {
    /// Returns true if and only if the entry has nothing to show or link
    /// to: no title, link, text, id, author or date (an item cut off by a
    /// truncated document, or one carrying only fields syndic does not keep).
    pub fn is_empty(&self) -> bool {
        self.title.is_empty()
            && self.url.is_none()
            && self.body_text().is_empty()
            && self.author.is_none()
            && self.key.0.starts_with("hash:")
            && self.date_source == DateSource::FirstSeen
    }

    /// The longest plain text the entry carries: content, else summary.
    /// The text copy detection compares: the content, else the summary (as
    /// the store reads it back, `store::dedup::facts`).
    pub fn comparison_text(&self) -> &str {
        self.content_text.as_deref().or(self.summary_text.as_deref()).unwrap_or("")
    }

    pub fn body_text(&self) -> &str {
        match (&self.content_text, &self.summary_text) {
            (Some(c), Some(s)) if s.len() > c.len() => s,
            (Some(c), _) => c,
            (None, Some(s)) => s,
            (None, None) => "",
        }
    }
}

/// What a feed document says about itself.
#[derive(Debug, Clone, Default)]
pub struct FeedMeta {
    pub title: Option<String>,
    pub site_url: Option<String>,
    /// RSS `<ttl>`: minutes the feed may be cached.
    pub ttl_minutes: Option<u32>,
    /// The feed's own date: when it says it was last updated (or published).
    pub updated: Option<DateTime<Utc>>,
}

/// A parsed feed document.
#[derive(Debug, Clone, Default)]
pub struct ParsedFeed {
    pub meta: FeedMeta,
    pub entries: Vec<NewEntry>,
}
