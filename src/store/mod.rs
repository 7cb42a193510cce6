//! The SQLite store: the only module that knows SQL.
//!
//! WAL journal, versioned migrations (`PRAGMA user_version`), each feed's new
//! entries and state written whole (a savepoint, inside a batch transaction
//! during a sync), and the contentless full-text index kept in step in that
//! same transaction. One file per job: [`schema`] (opening, migrations,
//! the sync lock), [`feeds`] (feed state), [`entries`] (saving entries),
//! [`dedup`] (copy detection's bookkeeping), [`stories`] (rebuild, explain,
//! splits and merges), [`known`] (the parse workers' look at a feed's
//! stored entries), [`read`] (list, search, show), [`maintenance`]
//! (doctor, repair, prune), [`reading`] (read state, sync times, purging a
//! feed), [`body`] (the stored, compressed form of an entry's texts).

use std::fs::File;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

pub mod body;
mod dedup;
mod dictionary;
mod entries;
mod feeds;
mod filters;
mod known;
mod maintenance;
mod read;
mod reading;
mod schema;
mod stats;
mod stories;

use schema::MIGRATIONS;

pub use dedup::{Assessment, DedupSettings, Via, KEY_HORIZON_DAYS};
pub use dictionary::{Samples, Trained, DICTIONARY_MIN_ENTRIES};
pub use filters::FilterReport;
pub use known::{KnownEntries, Look};
pub use reading::PurgeReport;
pub use stats::{FeedActivity, FeedDay, Republished, StatsQuery, TopicDay};

pub use read::{
    BadQuery, EntryDetail, EntryRow, ListQuery, Related, SearchError, SearchHit, HIGHLIGHT_END, HIGHLIGHT_START,
};

use crate::error::StoreError;
use crate::model::{EntryId, FeedId, NewEntry};

type Result<T> = std::result::Result<T, StoreError>;

/// SQLite's page cache, in SQLite's unit (negative: KiB): 8 MiB. The copy
/// detection indexes are read and written on every new entry.
const CACHE_SIZE: i64 = -8192;

/// How many syncs try to compact a store whose compaction is pending
/// ([`Store::compact_if_pending`]) before giving up (a disk without room
/// for the copy would otherwise have every sync try it again).
const COMPACT_ATTEMPTS: i64 = 3;

/// An open database.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    dedup: DedupSettings,
    /// Paragraphs this connection has found to be boilerplate: comparison
    /// data computed before (by a parse worker) is recomputed if it has one.
    learnt: dedup::Learnt,
    /// Search index rows waiting for the end of the transaction (see
    /// `entries::flush_search`): written outside the feeds' savepoints, at
    /// each of which FTS5 would otherwise flush its pending terms to disk.
    pending_search: Vec<entries::SearchRow>,
    /// The dictionary new entry texts are packed with (the newest of
    /// `text_dictionaries`), if the store has one yet.
    dictionary: Option<&'static body::Dictionary>,
    /// When the entries that carry a paragraph learnt as boilerplate are
    /// compared again: a sync leaves them to its end ([`Store::defer_recompare`]).
    recompare: dedup::Recompare,
    /// The keys of the large lookup-key table, read for a sync's
    /// transactions once it has stored [`Store::large_keys_after`] new
    /// entries (see `dedup::LargeKeys`), kept between transactions while
    /// still right.
    large_keys: Option<std::sync::Arc<dedup::LargeKeys>>,
    /// New entries saved through this connection.
    saved_new: usize,
    /// How many new entries a sync stores before it reads
    /// [`Store::large_keys`]: [`LARGE_KEYS_AFTER`] (tests: fewer).
    large_keys_after: usize,
}

/// A sync reads the keys of the large lookup-key table once it has stored
/// this many new entries (some 15,000 lookups): reading them costs about
/// what 15,000 lookups in a table of a million entries' keys do, and a
/// cron sync of a few new entries never pays for it.
const LARGE_KEYS_AFTER: usize = 512;

/// A feed as the store knows it.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub id: FeedId,
    pub url: String,
    pub name: Option<String>,
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub http_status: Option<u16>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_attempt: Option<DateTime<Utc>>,
    pub entry_count: u64,
    /// Where a permanent redirect moved the feed.
    pub moved_to: Option<String>,
    /// The server said 410 Gone.
    pub gone: bool,
    /// The feed an HTML page at the URL links to.
    pub discovered: Option<String>,
    /// The feed's own date.
    pub feed_updated: Option<DateTime<Utc>>,
}

impl FeedRow {
    /// The name to show: feeds.toml's, else the feed's title, else its URL.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().or(self.title.as_deref()).unwrap_or(&self.url)
    }
}

/// What a successful fetch tells about the feed.
#[derive(Debug, Clone, Default)]
pub struct FetchState {
    pub http_status: Option<u16>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub title: Option<String>,
    pub site_url: Option<String>,
    /// Not to be fetched again before (Cache-Control max-age, RSS ttl).
    pub next_attempt: Option<DateTime<Utc>>,
    /// A permanent redirect's target.
    pub moved_to: Option<String>,
    /// The feed's own date.
    pub feed_updated: Option<DateTime<Utc>>,
}

/// What a failed fetch tells about the feed.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    pub http_status: Option<u16>,
    pub error: String,
    /// Not to be fetched again before (Retry-After, backoff).
    pub next_attempt: Option<DateTime<Utc>>,
    /// 410 Gone.
    pub gone: bool,
    /// The feed an HTML page links to.
    pub discovered: Option<String>,
}

/// An entry ready to be saved, with its topics and its texts packed for
/// storage and prepared for the search index. Built by [`TaggedEntry::new`]
/// in the parse workers, so that the single writer does not compress. Its
/// texts are final: what was packed and prepared is what gets stored.
#[derive(Debug, Clone)]
pub struct TaggedEntry {
    pub entry: NewEntry,
    pub topics: Vec<String>,
    /// Its copy-detection data, computed by the parse worker
    /// ([`crate::dedup::Comparison`]); `None`: the store computes it.
    pub comparison: Option<crate::dedup::Comparison>,
    /// `entry`'s four texts as stored ([`body::pack`]), and the length in
    /// characters of its plain text ([`body::Texts::text`]).
    stored: (body::Packed, i64),
    /// How the search index takes its texts ([`entries::SearchPrep`]).
    search: entries::SearchPrep,
}

impl TaggedEntry {
    /// Packs `entry`'s texts without a dictionary (see
    /// [`TaggedEntry::packed_with`]).
    pub fn new(entry: NewEntry, topics: Vec<String>) -> TaggedEntry {
        TaggedEntry::packed_with(entry, topics, None)
    }

    /// Packs `entry`'s texts (compressing them: the costly part of saving
    /// it) with `dictionary`, the store's ([`Store::text_dictionary`]). The
    /// entry's texts must be final: the packed copy is what gets stored.
    pub fn packed_with(entry: NewEntry, topics: Vec<String>, dictionary: Option<&body::Dictionary>) -> TaggedEntry {
        let texts = texts_of(&entry);
        let text_len = texts.text().chars().count() as i64;
        let search = entries::SearchPrep::of(&entry);
        TaggedEntry { stored: (body::pack_with(&texts, dictionary), text_len), search, entry, topics, comparison: None }
    }

    /// With its copy-detection data computed (by a parse worker), leaving
    /// out at least the boilerplate the store knew when the computation
    /// started: the store recomputes it if that changed since
    /// ([`crate::dedup::Comparison::is_stale`]).
    pub fn with_comparison(mut self, comparison: crate::dedup::Comparison) -> TaggedEntry {
        self.comparison = Some(comparison);
        self
    }
}

/// The four texts of `entry`, as [`body::pack`] takes them.
fn texts_of(entry: &NewEntry) -> body::Texts {
    body::Texts {
        summary_text: entry.summary_text.clone(),
        content_text: entry.content_text.clone(),
        summary_html: entry.summary_html.clone(),
        content_html: entry.content_html.clone(),
    }
}

/// What saving one feed changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveReport {
    /// New entries that are originals.
    pub new: usize,
    /// New entries stored as copies of an entry of another feed.
    pub copies: usize,
    /// Entries changed at the source and updated in place.
    pub updated: usize,
}

/// Held while a `sync` writes; a second `sync` waits for it.
pub struct SyncLock {
    _file: File,
}

/// One finding of [`Store::doctor`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, ok: bool, detail: String) -> Check {
        Check { name, ok, detail }
    }
}

/// What `dedup --explain` shows.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub id: EntryId,
    pub feed: String,
    pub title: String,
    pub duplicate_of: Option<EntryId>,
    pub reason: Option<String>,
    pub score: Option<f64>,
    pub attribution: Option<String>,
    /// Entries in its story, itself included.
    pub story_size: usize,
    /// The story's original.
    pub root: EntryId,
    /// The user's correction: `Some(None)` split, `Some(Some(o))` merged into o.
    pub override_: Option<Option<EntryId>>,
    pub prepared: crate::dedup::Prepared,
    /// Its verified pairs, those within its story first.
    pub pairs: Vec<PairView>,
    /// Every candidate found now, with the verdict.
    pub candidates: Vec<Assessment>,
    /// Why the story's original is the one it is.
    pub original_reason: Option<&'static str>,
}

/// One verified pair of an entry, as `dedup --explain` shows it.
#[derive(Debug, Clone)]
pub struct PairView {
    pub other: EntryId,
    pub feed: String,
    pub title: String,
    pub kind: crate::dedup::PairKind,
    pub containment: f64,
    /// This entry is the shorter side (an excerpt or a part of the other).
    pub this_is_shorter: bool,
    /// The other entry is in the same story.
    pub in_story: bool,
}

impl Store {
    /// Every paragraph known to be boilerplate, of any feed (see
    /// [`crate::dedup::Comparison`]).
    pub fn boilerplate_keys(&self) -> Result<std::collections::HashSet<i64>> {
        dedup::boilerplate_keys(&self.conn)
    }

    /// The paragraphs found to be boilerplate since the last call (for the
    /// parse workers of a sync to leave out from then on).
    pub fn take_learnt(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.learnt.log)
    }

    /// Sets how copies are recognised (the time window).
    pub fn set_dedup_settings(&mut self, settings: DedupSettings) {
        self.dedup = settings;
    }

    pub(crate) fn path_display(&self) -> String {
        self.path.as_ref().map_or_else(|| ":memory:".into(), |p| p.display().to_string())
    }
}

fn from_unix(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

#[cfg(test)]
mod tests;
