//! The SQLite store: the only module that knows SQL.
//!
//! WAL journal, versioned migrations (`PRAGMA user_version`), one transaction
//! per feed's new entries and state, and the full-text index kept in step in
//! that same transaction.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

mod dedup;
mod read;

pub use dedup::{Assessment, DedupSettings, Via};

pub use read::{
    BadQuery, EntryDetail, EntryRow, ListQuery, Related, SearchError, SearchHit, HIGHLIGHT_END, HIGHLIGHT_START,
};

use crate::error::StoreError;
use crate::model::{EntryId, FeedId, NewEntry};
use crate::text::spaced_cjk;

/// Ordered migrations; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_near_duplicates.sql"),
    include_str!("migrations/003_feed_health.sql"),
];

/// How long a reader or writer waits for SQLite's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e.to_string())
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// An open database.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    dedup: DedupSettings,
}

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

/// An entry ready to be saved, with its topics.
#[derive(Debug, Clone)]
pub struct TaggedEntry {
    pub entry: NewEntry,
    pub topics: Vec<String>,
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
    pub copies: u32,
    /// The user's correction: `Some(None)` split, `Some(Some(o))` merged into o.
    pub override_: Option<Option<EntryId>>,
    pub prepared: crate::dedup::Prepared,
    pub candidates: Vec<Assessment>,
    /// For each candidate that matches: whether this entry would be the
    /// original, and the evidence.
    pub originals: Vec<(bool, &'static str)>,
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the
    /// database at `path`.
    pub fn open_at(path: &Path) -> Result<Store> {
        let open_err = |message: String| StoreError::Open { path: path.display().to_string(), message };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create directory {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        let mut store = Store { conn, path: Some(path.to_owned()), dedup: DedupSettings::default() };
        store.configure().map_err(|e| open_err(e.to_string()))?;
        store.migrate()?;
        Ok(store)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store { conn, path: None, dedup: DedupSettings::default() };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Sets how copies are recognised (the time window).
    pub fn set_dedup_settings(&mut self, settings: DedupSettings) {
        self.dedup = settings;
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Saving an entry uses a few dozen statements; the default cache of 16
        // would re-prepare them all the time.
        self.conn.set_prepared_statement_cache_capacity(128);
        // journal_mode answers with a row, so it is queried, not executed.
        let _mode: String = self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // A 64 MiB page cache: the dedup indexes are read and written on every new entry.
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;")?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = self.conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if version > MIGRATIONS.len() {
            return Err(StoreError::Open {
                path: self.path_display(),
                message: format!(
                    "schema version {version} is newer than this syndic knows ({}): upgrade syndic",
                    MIGRATIONS.len()
                ),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn path_display(&self) -> String {
        self.path.as_ref().map_or_else(|| ":memory:".into(), |p| p.display().to_string())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Takes the sync lock (a lock file beside the database), waiting up to
    /// `wait` for another `sync` to finish.
    pub fn lock_for_sync(&self, wait: Duration) -> Result<Option<SyncLock>> {
        let Some(path) = &self.path else { return Ok(None) };
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Open { path: lock_path.display().to_string(), message: e.to_string() })?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(SyncLock { _file: file })),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked { path: path.display().to_string(), waited: wait });
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::Open { path: lock_path.display().to_string(), message: e.to_string() });
                }
            }
        }
    }

    /// Makes sure every configured feed has a row (by URL) and its configured
    /// name; returns the rows of `urls`, in that order.
    pub fn upsert_feeds(&mut self, feeds: &[(String, Option<String>)]) -> Result<Vec<FeedRow>> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO feeds (url, name) VALUES (?1, ?2)
                 ON CONFLICT(url) DO UPDATE SET name = excluded.name",
            )?;
            for (url, name) in feeds {
                upsert.execute(params![url, name])?;
            }
        }
        tx.commit()?;
        let all = self.feeds()?;
        let by_url: HashMap<&str, &FeedRow> = all.iter().map(|f| (f.url.as_str(), f)).collect();
        Ok(feeds.iter().filter_map(|(url, _)| by_url.get(url.as_str()).map(|f| (*f).clone())).collect())
    }

    /// Every feed the store knows, with its entry count.
    pub fn feeds(&self) -> Result<Vec<FeedRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.id, f.url, f.name, f.title, f.site_url, f.etag, f.last_modified, f.last_attempt,
                    f.last_success, f.http_status, f.last_error, f.consecutive_failures, f.next_attempt,
                    (SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id), f.moved_to, f.gone, f.discovered,
                    f.feed_updated
             FROM feeds f ORDER BY f.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FeedRow {
                id: FeedId(r.get(0)?),
                url: r.get(1)?,
                name: r.get(2)?,
                title: r.get(3)?,
                site_url: r.get(4)?,
                etag: r.get(5)?,
                last_modified: r.get(6)?,
                last_attempt: r.get::<_, Option<i64>>(7)?.and_then(from_unix),
                last_success: r.get::<_, Option<i64>>(8)?.and_then(from_unix),
                http_status: r.get::<_, Option<u16>>(9)?,
                last_error: r.get(10)?,
                consecutive_failures: r.get(11)?,
                next_attempt: r.get::<_, Option<i64>>(12)?.and_then(from_unix),
                entry_count: r.get::<_, i64>(13)? as u64,
                moved_to: r.get(14)?,
                gone: r.get(15)?,
                discovered: r.get(16)?,
                feed_updated: r.get::<_, Option<i64>>(17)?.and_then(from_unix),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a fetch that found the feed unchanged (HTTP 304).
    pub fn record_not_modified(&mut self, feed: FeedId, state: &FetchState, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE feeds SET last_attempt = ?2, last_success = ?2, http_status = ?3, last_error = NULL,
                    consecutive_failures = 0, next_attempt = ?4, moved_to = COALESCE(?5, moved_to), gone = 0,
                    discovered = NULL
             WHERE id = ?1",
            params![
                feed.0,
                now.timestamp(),
                state.http_status,
                state.next_attempt.map(|t| t.timestamp()),
                state.moved_to
            ],
        )?;
        Ok(())
    }

    /// Records a failed fetch or parse; the feed's entries are untouched.
    /// Returns the number of consecutive failures, this one included.
    pub fn record_failure(&mut self, feed: FeedId, failure: &Failure, now: DateTime<Utc>) -> Result<u32> {
        Ok(self.conn.query_row(
            "UPDATE feeds SET last_attempt = ?2, http_status = ?3, last_error = ?4,
                    consecutive_failures = consecutive_failures + 1, next_attempt = ?5, gone = ?6,
                    discovered = ?7
             WHERE id = ?1
             RETURNING consecutive_failures",
            params![
                feed.0,
                now.timestamp(),
                failure.http_status,
                failure.error,
                failure.next_attempt.map(|t| t.timestamp()),
                failure.gone,
                failure.discovered
            ],
            |r| r.get(0),
        )?)
    }

    /// Moves a feed's row to a new URL (feeds.toml was updated after a
    /// permanent redirect), keeping its entries and state.
    pub fn move_feed(&mut self, from: &str, to: &str) -> Result<()> {
        self.conn.execute("UPDATE feeds SET url = ?2, moved_to = NULL WHERE url = ?1", params![from, to])?;
        Ok(())
    }

    /// Sets when a feed may be fetched next (after a failure's backoff).
    pub fn set_next_attempt(&mut self, feed: FeedId, at: Option<DateTime<Utc>>) -> Result<()> {
        self.conn
            .execute("UPDATE feeds SET next_attempt = ?2 WHERE id = ?1", params![feed.0, at.map(|t| t.timestamp())])?;
        Ok(())
    }

    /// Saves one feed's fetched entries and its new state in one transaction:
    /// new entries are inserted and grouped with the story they are a copy
    /// of (see [`crate::dedup`]), changed ones updated in place, unchanged
    /// ones left alone.
    pub fn save_feed(
        &mut self,
        feed: FeedId,
        state: &FetchState,
        entries: &[TaggedEntry],
        now: DateTime<Utc>,
    ) -> Result<SaveReport> {
        let settings = self.dedup;
        let tx = self.conn.transaction()?;
        let mut report = SaveReport::default();
        // The feed's own title and site first: copy detection tells an
        // entry crediting its own site ("appeared first on <this site>")
        // from one crediting another by them.
        tx.execute(
            "UPDATE feeds SET title = COALESCE(?2, title), site_url = COALESCE(?3, site_url) WHERE id = ?1",
            params![feed.0, state.title, state.site_url],
        )?;
        // Count the paragraphs of every new entry first, so that a footer the
        // feed repeats on each post is known as boilerplate from its first sync.
        let mut new = Vec::new();
        let mut learnt = false;
        for tagged in entries {
            if is_new(&tx, feed, tagged)? {
                learnt |= dedup::count_paragraphs(&tx, feed.0, tagged.entry.body_text())?;
                new.push(tagged);
            }
        }
        if learnt {
            if let Some(oldest) = new.iter().map(|t| t.entry.published.timestamp()).min() {
                dedup::refresh_feed(&tx, feed.0, oldest - settings.window_days * 86_400)?;
            }
        }
        for tagged in entries {
            match save_entry(&tx, feed, tagged, now, settings)? {
                Saved::New { copy: true } => report.copies += 1,
                Saved::New { copy: false } => report.new += 1,
                Saved::Updated => report.updated += 1,
                Saved::Unchanged => {}
            }
        }
        tx.execute(
            "UPDATE feeds SET title = COALESCE(?2, title), site_url = COALESCE(?3, site_url), etag = ?4,
                    last_modified = ?5, last_attempt = ?6, last_success = ?6, http_status = ?7,
                    last_error = NULL, consecutive_failures = 0, next_attempt = ?8,
                    moved_to = COALESCE(?9, moved_to), gone = 0, discovered = NULL,
                    feed_updated = COALESCE(?10, feed_updated)
             WHERE id = ?1",
            params![
                feed.0,
                state.title,
                state.site_url,
                state.etag,
                state.last_modified,
                now.timestamp(),
                state.http_status,
                state.next_attempt.map(|t| t.timestamp()),
                state.moved_to,
                state.feed_updated.map(|t| t.timestamp())
            ],
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// Rebuilds every fingerprint and story from the stored entries, oldest
    /// first, keeping the user's splits and merges. Returns the number of
    /// entries stored as copies.
    pub fn rebuild_dedup(&mut self) -> Result<usize> {
        let settings = self.dedup;
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM lsh_buckets; DELETE FROM lead_shingles; DELETE FROM fingerprints; DELETE FROM paragraph_counts;
             UPDATE entries SET duplicate_of = NULL, dup_reason = NULL, dup_score = NULL, attribution = NULL;",
        )?;
        let all: Vec<(i64, i64, String)> = tx
            .prepare(
                "SELECT id, feed_id, COALESCE(content_text, summary_text, '') FROM entries ORDER BY published, id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (_, feed, body) in &all {
            dedup::count_paragraphs(&tx, *feed, body)?;
        }
        let mut copies = 0;
        for (id, _, _) in &all {
            copies += usize::from(dedup::process(&tx, *id, settings)?);
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('dedup_version', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [crate::dedup::DEDUP_VERSION.to_string()],
        )?;
        tx.commit()?;
        Ok(copies)
    }

    /// Rebuilds the stories if they were made by another version of the
    /// copy detection (or before it existed); returns whether it did.
    pub fn ensure_dedup_current(&mut self) -> Result<bool> {
        let current = crate::dedup::DEDUP_VERSION.to_string();
        if self.meta("dedup_version")?.as_deref() == Some(current.as_str()) {
            return Ok(false);
        }
        let any: bool = self.conn.query_row("SELECT EXISTS (SELECT 1 FROM entries)", [], |r| r.get(0))?;
        if any {
            self.rebuild_dedup()?;
        } else {
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('dedup_version', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [current],
            )?;
        }
        Ok(any)
    }

    /// Why entry `id` was or wasn't grouped: its comparison text, and every
    /// candidate story with the scores and the verdict.
    pub fn explain_dedup(&self, id: EntryId) -> Result<Option<Explanation>> {
        let Some(f) = dedup::facts(&self.conn, id.0)? else { return Ok(None) };
        let p = dedup::prepare(&self.conn, &f.body)?;
        let roots = dedup::candidate_roots(&self.conn, &f, &p, &p.lsh_buckets(), self.dedup)?;
        let assessments = dedup::assess(&self.conn, &f, &p, roots)?;
        let override_: Option<Option<i64>> = self
            .conn
            .query_row("SELECT original_id FROM dedup_overrides WHERE entry_id = ?1", [id.0], |r| r.get(0))
            .optional()?;
        let mut originals = Vec::new();
        for a in assessments.iter().filter(|a| a.is_copy()) {
            originals.push(dedup::compare_origins(&self.conn, &f, &p, &a.root)?);
        }
        let copies: i64 =
            self.conn.query_row("SELECT COUNT(*) FROM entries WHERE duplicate_of = ?1", [id.0], |r| r.get(0))?;
        Ok(Some(Explanation {
            id,
            feed: f.feed.clone(),
            title: f.title.clone(),
            duplicate_of: f.duplicate_of.map(EntryId),
            reason: f.dup_reason.clone(),
            score: f.dup_score,
            attribution: f.attribution.clone(),
            copies: copies as u32,
            override_: override_.map(|o| o.map(EntryId)),
            prepared: p,
            candidates: assessments,
            originals,
        }))
    }

    /// `dedup --split`: the entry stands alone, now and after rebuilds.
    pub fn split_entry(&mut self, id: EntryId, now: DateTime<Utc>) -> Result<()> {
        self.require_entry(id)?;
        let tx = self.conn.transaction()?;
        dedup::split(&tx, id.0, now.timestamp())?;
        tx.commit()?;
        Ok(())
    }

    /// `dedup --merge`: the entry is a copy of `original`'s story, now and
    /// after rebuilds. Returns the story's original.
    pub fn merge_entry(&mut self, id: EntryId, original: EntryId, now: DateTime<Utc>) -> Result<EntryId> {
        self.require_entry(id)?;
        self.require_entry(original)?;
        let root: i64 =
            self.conn.query_row("SELECT COALESCE(duplicate_of, id) FROM entries WHERE id = ?1", [original.0], |r| {
                r.get(0)
            })?;
        if root == id.0 || original == id {
            return Err(StoreError::NotFound(format!(
                "entry {} is already the original of {}'s story",
                id.0, original.0
            )));
        }
        let tx = self.conn.transaction()?;
        let root = dedup::merge(&tx, id.0, original.0, now.timestamp())?;
        tx.commit()?;
        Ok(EntryId(root))
    }

    fn require_entry(&self, id: EntryId) -> Result<()> {
        let exists: bool =
            self.conn.query_row("SELECT EXISTS (SELECT 1 FROM entries WHERE id = ?1)", [id.0], |r| r.get(0))?;
        if exists {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("no entry with id {}", id.0)))
        }
    }

    /// The value stored under `key` in the meta table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Re-computes every stored entry's topics with `tag` (given the entry's
    /// feed URL, title, summary and content) and records `fingerprint` as
    /// the rules in force, in one transaction.
    pub fn retag_all(&mut self, fingerprint: &str, tag: impl Fn(&str, &[&str]) -> Vec<String>) -> Result<usize> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM entry_topics", [])?;
        let mut count = 0;
        {
            let mut select = tx.prepare(
                "SELECT e.id, f.url, e.title, COALESCE(e.summary_text, ''), COALESCE(e.content_text, '')
                 FROM entries e JOIN feeds f ON f.id = e.feed_id",
            )?;
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO entry_topics (topic, entry_id) VALUES (?1, ?2)")?;
            let mut rows = select.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let feed_url: String = r.get(1)?;
                let (title, summary, content): (String, String, String) = (r.get(2)?, r.get(3)?, r.get(4)?);
                for topic in tag(&feed_url, &[&title, &summary, &content]) {
                    insert.execute(params![topic, id])?;
                }
                count += 1;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('topics_fingerprint', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [fingerprint],
        )?;
        tx.commit()?;
        Ok(count)
    }

    /// Checks the database beyond SQLite's integrity check: schema version,
    /// rows that lost what they belong to, stories pointing nowhere.
    pub fn doctor(&self) -> Result<Vec<Check>> {
        let mut checks = Vec::new();
        let problems = self.integrity_check()?;
        checks.push(Check::new(
            "integrity",
            problems.is_empty(),
            if problems.is_empty() { "SQLite integrity check passed".into() } else { problems.join("; ") },
        ));
        let version = self.schema_version()?;
        checks.push(Check::new(
            "schema",
            version == MIGRATIONS.len() as i64,
            format!("schema version {version} (this syndic writes {})", MIGRATIONS.len()),
        ));
        let count = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        for (name, sql, what) in [
            ("orphan entries", "SELECT COUNT(*) FROM entries WHERE feed_id NOT IN (SELECT id FROM feeds)", "entries without a feed"),
            ("search index", "SELECT COUNT(*) FROM entries_fts WHERE rowid NOT IN (SELECT id FROM entries)", "search rows without an entry"),
            ("search index", "SELECT COUNT(*) FROM entries WHERE id NOT IN (SELECT rowid FROM entries_fts)", "entries missing from the search index"),
            ("topics", "SELECT COUNT(*) FROM entry_topics WHERE entry_id NOT IN (SELECT id FROM entries)", "topic rows without an entry"),
            ("fingerprints", "SELECT COUNT(*) FROM entries WHERE id NOT IN (SELECT entry_id FROM fingerprints)", "entries without a fingerprint"),
            ("stories", "SELECT COUNT(*) FROM entries e WHERE duplicate_of IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entries o WHERE o.id = e.duplicate_of AND o.duplicate_of IS NULL)", "copies whose original is missing or itself a copy"),
        ] {
            let n = count(sql)?;
            checks.push(Check::new(name, n == 0, if n == 0 { format!("no {what}") } else { format!("{n} {what}") }));
        }
        Ok(checks)
    }

    /// Repairs what [`Store::doctor`] can fix: rebuilds the search index and
    /// the stories, drops orphan rows.
    pub fn repair(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM entries WHERE feed_id NOT IN (SELECT id FROM feeds);
             DELETE FROM entry_topics WHERE entry_id NOT IN (SELECT id FROM entries);
             DELETE FROM entries_fts;",
        )?;
        let ids: Vec<i64> =
            tx.prepare("SELECT id FROM entries")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        for id in ids {
            let (title, summary, content): (String, Option<String>, Option<String>) =
                tx.query_row("SELECT title, summary_text, content_text FROM entries WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            tx.execute(
                "INSERT INTO entries_fts (rowid, title, summary, content) VALUES (?1, ?2, ?3, ?4)",
                params![
                    id,
                    spaced_cjk(&title),
                    spaced_cjk(summary.as_deref().unwrap_or("")),
                    spaced_cjk(content.as_deref().unwrap_or(""))
                ],
            )?;
        }
        tx.commit()?;
        self.rebuild_dedup()?;
        Ok(())
    }

    /// Deletes entries published before `cutoff`, except the original of a
    /// story that has a copy published since; leaves a tombstone for each so
    /// that the next sync does not bring it back. With `dry_run`, only counts.
    pub fn prune(&mut self, cutoff: DateTime<Utc>, now: DateTime<Utc>, dry_run: bool) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let doomed: Vec<(i64, i64, String)> = tx
            .prepare(
                "SELECT e.id, e.feed_id, e.entry_key FROM entries e
                 WHERE e.published < ?1
                   AND NOT EXISTS (SELECT 1 FROM entries c WHERE c.duplicate_of = e.id AND c.published >= ?1)",
            )?
            .query_map([cutoff.timestamp()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if dry_run {
            return Ok(doomed.len());
        }
        {
            let mut tomb =
                tx.prepare("INSERT OR REPLACE INTO tombstones (feed_id, entry_key, deleted_at) VALUES (?1, ?2, ?3)")?;
            let mut fts = tx.prepare("DELETE FROM entries_fts WHERE rowid = ?1")?;
            let mut del = tx.prepare("DELETE FROM entries WHERE id = ?1")?;
            for (id, feed, key) in &doomed {
                tomb.execute(params![feed, key, now.timestamp()])?;
                fts.execute([id])?;
                del.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(doomed.len())
    }

    /// Runs SQLite's integrity check; returns its complaints (empty = sound).
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }
}

enum Saved {
    New { copy: bool },
    Updated,
    Unchanged,
}

/// Returns true if and only if the entry is neither stored nor tombstoned.
fn is_new(tx: &Transaction, feed: FeedId, tagged: &TaggedEntry) -> Result<bool> {
    let key = &tagged.entry.key.0;
    let stored = tx
        .prepare_cached("SELECT 1 FROM entries WHERE feed_id = ?1 AND entry_key = ?2")?
        .exists(params![feed.0, key])?;
    let tombstoned = tx
        .prepare_cached("SELECT 1 FROM tombstones WHERE feed_id = ?1 AND entry_key = ?2")?
        .exists(params![feed.0, key])?;
    Ok(!stored && !tombstoned)
}

fn save_entry(
    tx: &Transaction,
    feed: FeedId,
    tagged: &TaggedEntry,
    now: DateTime<Utc>,
    settings: DedupSettings,
) -> Result<Saved> {
    let e = &tagged.entry;
    let tombstoned: bool = tx
        .prepare_cached("SELECT 1 FROM tombstones WHERE feed_id = ?1 AND entry_key = ?2")?
        .exists(params![feed.0, e.key.0])?;
    if tombstoned {
        return Ok(Saved::Unchanged);
    }
    let existing = tx
        .prepare_cached(
            "SELECT id, title, url, author, summary_html, content_html, published
             FROM entries WHERE feed_id = ?1 AND entry_key = ?2",
        )?
        .query_row(params![feed.0, e.key.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                (
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ),
                r.get::<_, i64>(6)?,
            ))
        })
        .optional()?;

    if let Some((id, old, old_published)) = existing {
        let new = (e.title.clone(), e.url.clone(), e.author.clone(), e.summary_html.clone(), e.content_html.clone());
        // An entry without a date of its own keeps the time it was first seen.
        let published =
            if e.date_source == crate::model::DateSource::FirstSeen { old_published } else { e.published.timestamp() };
        if old == new && published == old_published {
            return Ok(Saved::Unchanged);
        }
        tx.prepare_cached(
            "UPDATE entries SET title = ?2, url = ?3, author = ?4, published = ?5, updated_at = ?6,
                    summary_html = ?7, summary_text = ?8, content_html = ?9, content_text = ?10,
                    source_url = ?11, text_hash = ?12
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            e.title,
            e.url,
            e.author,
            published,
            now.timestamp(),
            e.summary_html,
            e.summary_text,
            e.content_html,
            e.content_text,
            e.source_url,
            e.text_hash
        ])?;
        index_text(tx, id, e, true)?;
        set_topics(tx, id, &tagged.topics)?;
        // Its fingerprint follows the new text; its story stays as it was.
        if let Some(f) = dedup::facts(tx, id)? {
            let p = dedup::prepare(tx, &f.body)?;
            dedup::write_fingerprint(tx, &f, &p, &p.lsh_buckets())?;
        }
        return Ok(Saved::Updated);
    }

    tx.prepare_cached(
        "INSERT INTO entries (feed_id, entry_key, title, url, author, published, date_source, first_seen,
                updated_at, summary_html, summary_text, content_html, content_text, source_url, text_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        feed.0,
        e.key.0,
        e.title,
        e.url,
        e.author,
        e.published.timestamp(),
        e.date_source.as_str(),
        now.timestamp(),
        e.summary_html,
        e.summary_text,
        e.content_html,
        e.content_text,
        e.source_url,
        e.text_hash
    ])?;
    let id = tx.last_insert_rowid();
    index_text(tx, id, e, false)?;
    set_topics(tx, id, &tagged.topics)?;

    let copy = dedup::process(tx, id, settings)?;
    Ok(Saved::New { copy })
}

fn index_text(tx: &Transaction, id: i64, e: &NewEntry, replace: bool) -> Result<()> {
    if replace {
        tx.prepare_cached("DELETE FROM entries_fts WHERE rowid = ?1")?.execute([id])?;
    }
    tx.prepare_cached("INSERT INTO entries_fts (rowid, title, summary, content) VALUES (?1, ?2, ?3, ?4)")?.execute(
        params![
            id,
            spaced_cjk(&e.title),
            spaced_cjk(e.summary_text.as_deref().unwrap_or("")),
            spaced_cjk(e.content_text.as_deref().unwrap_or(""))
        ],
    )?;
    Ok(())
}

fn set_topics(tx: &Transaction, id: i64, topics: &[String]) -> Result<()> {
    tx.prepare_cached("DELETE FROM entry_topics WHERE entry_id = ?1")?.execute([id])?;
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO entry_topics (topic, entry_id) VALUES (?1, ?2)")?;
    for t in topics {
        insert.execute(params![t, id])?;
    }
    Ok(())
}

fn from_unix(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

#[cfg(test)]
mod tests;
