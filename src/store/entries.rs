//! Saving entries: one feed's new and changed entries and its state in one
//! transaction, with the search index and topics kept in step.

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};

use super::body::{self, unpack, unpack_plain, Texts};
use super::{dedup, FetchState, Result, SaveReport, Store, TaggedEntry};
use crate::model::{FeedId, NewEntry};
use crate::text::spaced_cjk;

/// The write-ahead log a sync lets grow before a checkpoint (64 MiB of
/// 4 KiB pages). A cron sync's log stays far smaller, and is checkpointed
/// once, at its end; a first sync of 1,000 feeds (50,000 entries) grew a
/// 3 GB log without this bound, read back page by page as SQLite's cache
/// missed, with the disk space it took until the end.
pub const MAX_WAL_PAGES: i64 = 16_384;

impl Store {
    /// Saves one feed's fetched entries and its new state, all or nothing
    /// (within a batch, a failure rolls the whole batch back):
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
        // Outside a batch, the feed is a transaction of its own. Within one,
        // it adds to the batch's transaction without a savepoint (a savepoint
        // copies every page it changes aside, a fifth of a sync's writing):
        // a failure undoes the whole batch, which ends the sync anyway.
        let alone = self.conn.is_autocommit();
        if alone {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        let result = self.save_feed_whole(feed, state, entries, now).and_then(|report| {
            if alone {
                self.commit_batch()?;
            }
            Ok(report)
        });
        if result.is_err() {
            // Nothing of the feed stays, nor of the batch it was part of.
            self.rollback_batch();
        }
        result
    }

    /// Undoes the open transaction, if any, and forgets its search rows.
    pub fn rollback_batch(&mut self) {
        self.pending_search.clear();
        self.dedup.large_keys = None;
        if !self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "rollback failed");
            }
        }
    }

    fn save_feed_whole(
        &mut self,
        feed: FeedId,
        state: &FetchState,
        entries: &[TaggedEntry],
        now: DateTime<Utc>,
    ) -> Result<SaveReport> {
        let Store { conn, dedup: settings, learnt, pending_search, recompare, saved_new, .. } = self;
        let recompare = *recompare;
        let tx: &Connection = conn;
        let mut report = SaveReport::default();
        // The feed's own title and site first: copy detection tells an
        // entry crediting its own site ("appeared first on <this site>")
        // from one crediting another by them.
        tx.execute(
            "UPDATE feeds SET title = COALESCE(?2, title), site_url = COALESCE(?3, site_url) WHERE id = ?1",
            params![feed.0, state.title, state.site_url],
        )?;
        let (mut new, mut changed) = (Vec::new(), Vec::new());
        for tagged in entries {
            match save_entry(tx, feed, tagged, now, pending_search)? {
                Saved::New(id) => new.push((id, Some(tagged))),
                Saved::Updated(id) => changed.push(id),
                Saved::Unchanged => {}
            }
        }
        // Then copy detection over the batch: fingerprints, pairs, stories.
        let copies = dedup::process(tx, feed.0, &new, &changed, settings, learnt, recompare)?;
        *saved_new += new.len();
        // A copy joining a story already read is stored read.
        for (id, _) in &new {
            super::reading::inherit_story_read(tx, *id, now.timestamp())?;
        }
        report.copies = copies.len();
        report.new = new.len() - copies.len();
        report.updated = changed.len();
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
        Ok(report)
    }

    /// Opens a write transaction that the following writes (whole feeds,
    /// see [`Store::save_feed`]) join until [`Store::commit_batch`]: one
    /// commit for many feeds.
    pub fn begin_batch(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        // Before the batch writes: the large table's keys, for this
        // transaction only (see `dedup::LargeKeys`).
        let wanted = self.wants_large_keys();
        match dedup::large_keys_for(&self.conn, &mut self.large_keys, wanted) {
            Ok(keys) => self.dedup.large_keys = keys,
            Err(e) => {
                self.rollback_batch();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Whether a transaction of this connection reads the large table's
    /// keys ([`Store::begin_batch`]): in a sync, once it has stored enough
    /// new entries for that to pay.
    fn wants_large_keys(&self) -> bool {
        self.recompare == dedup::Recompare::AtEnd && self.saved_new >= self.large_keys_after
    }

    /// Commits the transaction [`Store::begin_batch`] opened.
    pub fn commit_batch(&mut self) -> Result<()> {
        // The batch's search rows first, in the same transaction.
        if let Err(e) = flush_search(&self.conn, &mut self.pending_search) {
            self.rollback_batch();
            return Err(e);
        }
        self.dedup.large_keys = None;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Leaves checkpoints to [`Store::checkpoint`] for the rest of this
    /// connection's life (a sync checkpoints at its end), unless the
    /// write-ahead log outgrows [`MAX_WAL_PAGES`].
    pub fn defer_checkpoints(&mut self) -> Result<()> {
        self.defer_checkpoints_until(MAX_WAL_PAGES)
    }

    pub(crate) fn defer_checkpoints_until(&mut self, pages: i64) -> Result<()> {
        let _pages: i64 = self.conn.query_row(&format!("PRAGMA wal_autocheckpoint = {pages}"), [], |r| r.get(0))?;
        Ok(())
    }

    /// Leaves to [`Store::settle`] the comparing again of the entries that
    /// carry a paragraph learnt as boilerplate, for the rest of this
    /// connection's life (a sync settles at its end): once per entry, not once
    /// per paragraph learnt (see `store::dedup::Recompare`).
    pub fn defer_recompare(&mut self) {
        self.recompare = dedup::Recompare::AtEnd;
    }

    /// Compares again the entries left for the end of the sync (also those
    /// an interrupted sync left), a few hundred per transaction, and
    /// regroups their stories; an entry stored by the sync (id above
    /// `new_after`, see [`Store::last_entry_id`]) that joins a story already
    /// read is marked read at `now`. Returns how many.
    pub fn settle(&mut self, new_after: i64, now: DateTime<Utc>) -> Result<usize> {
        let mut total = 0;
        loop {
            // Immediate: a deferred transaction that reads first cannot
            // take the write lock if another connection wrote meanwhile.
            let wanted = self.wants_large_keys();
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let large_keys = dedup::large_keys_for(&tx, &mut self.large_keys, wanted)?;
            let settings = dedup::DedupSettings { large_keys, ..self.dedup.clone() };
            let n = dedup::settle(&tx, &settings, new_after, now.timestamp())?;
            tx.commit()?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    /// Drops the copy-detection index keys of entries published long before
    /// `now` (see `store::dedup::forget_old_keys`); returns how many.
    /// One transaction: key by key in autocommit, each delete was a commit
    /// of its own, and the first sync after a rebuild wrote a write-ahead
    /// log of 190 MB (2,000 old entries, a 15 MB database) before its
    /// checkpoint.
    pub fn forget_old_keys(&mut self, now: DateTime<Utc>) -> Result<usize> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let dropped = super::dedup::forget_old_keys(&tx, now.timestamp(), &self.dedup)?;
        tx.commit()?;
        Ok(dropped)
    }

    /// Copies the write-ahead log into the database and syncs both to disk,
    /// without waiting for readers (what they still use is copied next time).
    pub fn checkpoint(&mut self) -> Result<()> {
        self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The database file's size in bytes (its pages, free ones included).
    pub fn file_bytes(&self) -> Result<u64> {
        let (pages, size): (i64, i64) = self.conn.query_row(
            "SELECT p.page_count, s.page_size FROM pragma_page_count() p, pragma_page_size() s",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((pages.max(0) as u64).saturating_mul(size.max(0) as u64))
    }

    /// Rewrites the database without its free pages and with full ones
    /// (SQLite's `VACUUM`), if it takes at most `max_bytes`; returns its size
    /// before and after. One transaction: an error leaves it as it was.
    /// Readers may go on meanwhile; another writer waits for it.
    pub fn compact_if_at_most(&mut self, max_bytes: u64) -> Result<Option<(u64, u64)>> {
        let before = self.file_bytes()?;
        if before > max_bytes {
            return Ok(None);
        }
        // The copy VACUUM builds goes to a temporary file, not to memory
        // (temp_store = MEMORY otherwise, for statement journals), through
        // a small page cache: it reads and writes every page once.
        self.conn.execute_batch("PRAGMA temp_store = FILE; PRAGMA cache_size = -1024")?;
        let vacuumed = self.conn.execute_batch("VACUUM");
        self.conn.execute_batch(&format!("PRAGMA temp_store = MEMORY; PRAGMA cache_size = {}", super::CACHE_SIZE))?;
        vacuumed?;
        Ok(Some((before, self.file_bytes()?)))
    }

    /// Compacts the store ([`Store::compact_if_at_most`]) if a compaction
    /// is pending (the training of its text dictionary asked for one, in
    /// its transaction); returns its size before and after. A store larger
    /// than `max_bytes` is not compacted and no longer asked to be; one that
    /// fails to be (no room for the copy, a writer holding the lock) is
    /// asked again by the next calls, [`super::COMPACT_ATTEMPTS`] in all.
    pub fn compact_if_pending(&mut self, max_bytes: u64) -> Result<Option<(u64, u64)>> {
        let Some(left) = self.meta("compact_pending")? else {
            return Ok(None);
        };
        match self.compact_if_at_most(max_bytes) {
            Ok(done) => {
                self.conn.execute("DELETE FROM meta WHERE key = 'compact_pending'", [])?;
                Ok(done)
            }
            Err(e) => {
                let left = left.trim().parse::<i64>().unwrap_or(1).saturating_sub(1);
                if left > 0 {
                    self.conn
                        .execute("UPDATE meta SET value = ?1 WHERE key = 'compact_pending'", [left.to_string()])?;
                } else {
                    self.conn.execute("DELETE FROM meta WHERE key = 'compact_pending'", [])?;
                }
                Err(e)
            }
        }
    }

    /// The highest entry id stored: entries stored later have higher ids.
    pub fn last_entry_id(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM entries", [], |r| r.get(0))?)
    }

    /// The entries stored after `last_entry_id` was `after`, as they stand
    /// now: how many are originals and how many copies.
    pub fn stored_since(&self, after: i64) -> Result<(usize, usize)> {
        let (all, copies): (i64, i64) =
            self.conn.query_row("SELECT COUNT(*), COUNT(duplicate_of) FROM entries WHERE id > ?1", [after], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok(((all - copies) as usize, copies as usize))
    }

    /// The value stored under `key` in the meta table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Brings the stored entries' topics up to date. `rules` is a
    /// fingerprint of the topic rules: when it differs from the one recorded,
    /// every entry is re-tagged. Otherwise only the entries of the feeds whose
    /// recorded topics differ from `feed_topics(url)` (a fingerprint of the
    /// topics the configuration gives the feed at `url`; a feed gone from the
    /// configuration gives none) are: adding or removing a feed touches no
    /// other feed's entries. `tag` gets the entry's feed URL, title, summary
    /// and content. One transaction; returns the number of entries re-tagged.
    pub fn retag(
        &mut self,
        rules: &str,
        feed_topics: impl Fn(&str) -> String,
        tag: impl Fn(&str, &[&str]) -> Vec<String>,
    ) -> Result<usize> {
        // Immediate: it reads what to re-tag, then writes. A deferred
        // transaction could not wait for another command's write in between
        // (SQLite refuses to upgrade a read that another writer overtook:
        // "database is locked" at once, whatever the busy timeout).
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let recorded: Option<String> =
            tx.query_row("SELECT value FROM meta WHERE key = 'topics_fingerprint'", [], |r| r.get(0)).optional()?;
        let all = recorded.as_deref() != Some(rules);
        let stale: Vec<(i64, String, String)> = {
            let mut feeds = tx.prepare("SELECT id, url, topics_key FROM feeds ORDER BY id")?;
            let rows = feeds.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
            let mut stale = Vec::new();
            for row in rows {
                let (id, url, stored): (i64, String, Option<String>) = row?;
                let wanted = feed_topics(&url);
                if all || stored.as_deref() != Some(wanted.as_str()) {
                    stale.push((id, url, wanted));
                }
            }
            stale
        };
        if all {
            tx.execute("DELETE FROM entry_topics", [])?;
        }
        let mut count = 0;
        {
            let mut forget = tx.prepare_cached(
                "DELETE FROM entry_topics WHERE entry_id IN (SELECT id FROM entries WHERE feed_id = ?1)",
            )?;
            let mut select = tx.prepare_cached("SELECT id, title, body FROM entries WHERE feed_id = ?1")?;
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO entry_topics (topic, entry_id) VALUES (?1, ?2)")?;
            let mut record = tx.prepare_cached("UPDATE feeds SET topics_key = ?2 WHERE id = ?1")?;
            for (feed_id, url, wanted) in &stale {
                if !all {
                    forget.execute([feed_id])?;
                }
                let mut rows = select.query([feed_id])?;
                while let Some(r) = rows.next()? {
                    let id: i64 = r.get(0)?;
                    let title: String = r.get(1)?;
                    // A damaged text is tagged by the title alone (and the
                    // feed's topics): failing here would stop the sync that
                    // mends it (see `save`, `same_texts`).
                    let plain = plain_texts(r.get_ref(2)?, usize::MAX).unwrap_or_else(|e| {
                        let error = crate::error::StoreError::from(e);
                        tracing::warn!(entry = id, %error, "re-tagged by its title only");
                        body::PlainTexts::default()
                    });
                    let (summary, content) = (plain.summary.unwrap_or_default(), plain.content.unwrap_or_default());
                    for topic in tag(url, &[&title, &summary, &content]) {
                        insert.execute(params![topic, id])?;
                    }
                    count += 1;
                }
                record.execute(params![feed_id, wanted])?;
            }
        }
        if all {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('topics_fingerprint', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [rules],
            )?;
        }
        tx.commit()?;
        Ok(count)
    }
}

enum Saved {
    New(i64),
    Updated(i64),
    Unchanged,
}

fn save_entry(
    tx: &Connection,
    feed: FeedId,
    tagged: &TaggedEntry,
    now: DateTime<Utc>,
    search: &mut Vec<SearchRow>,
) -> Result<Saved> {
    let e = &tagged.entry;
    let tombstoned: bool = tx.prepare_cached(super::known::TOMBSTONED)?.exists(params![feed.0, e.key.0])?;
    if tombstoned {
        return Ok(Saved::Unchanged);
    }
    let text_len = &tagged.stored.1;
    // As the parse worker packed it: with the store's dictionary, or
    // without if it was trained since (the sync packs those again at its
    // end, `Store::repack_texts_since`, off this path).
    let packed = &tagged.stored.0;
    let existing = tx
        .prepare_cached(
            "SELECT id, title, url, author, body, published, item_hash
             FROM entries WHERE feed_id = ?1 AND entry_key = ?2",
        )?
        .query_row(params![feed.0, e.key.0], |r| Ok((r.get::<_, i64>(0)?, Stored::from_row(r, 1)?)))
        .optional()?;

    if let Some((id, old)) = existing {
        if old.is_unchanged_by(e, Some(packed)) {
            // Stored before item hashes, or from other bytes that give the
            // same texts: the next sync can tell it by its hash, before
            // sanitising it (see `known::Look::holds`).
            if old.lacks_item_hash(e) {
                tx.prepare_cached("UPDATE entries SET item_hash = ?2 WHERE id = ?1")?
                    .execute(params![id, e.item_hash])?;
            }
            return Ok(Saved::Unchanged);
        }
        let published = old.published_for(e);
        tx.prepare_cached(
            "UPDATE entries SET title = ?2, url = ?3, author = ?4, published = ?5, updated_at = ?6,
                    body = ?7, text_len = ?8, source_url = ?9, text_hash = ?10, url_key = ?11, title_key = ?12,
                    item_hash = ?13
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            e.title,
            e.url,
            e.author,
            published,
            now.timestamp(),
            packed.as_bytes(),
            text_len,
            e.source_url,
            e.text_hash,
            e.url.as_deref().map(url_key),
            super::dedup::title_key(&e.title),
            e.item_hash
        ])?;
        queue_for_filters(tx, id)?;
        search.push(SearchRow::of(id, tagged, true));
        tx.prepare_cached("DELETE FROM entry_topics WHERE entry_id = ?1")?.execute([id])?;
        set_topics(tx, id, &tagged.topics)?;
        // Copy detection compares it afresh (see dedup::process).
        return Ok(Saved::Updated(id));
    }

    // Numbered above every entry there is and every one deleted (migration
    // 013): an id never names another entry.
    tx.prepare_cached(
        "INSERT INTO entries (id, feed_id, entry_key, title, url, author, published, date_source, first_seen,
                updated_at, body, text_len, source_url, text_hash, url_key, title_key, item_hash)
         VALUES (MAX((SELECT COALESCE(MAX(id), 0) + 1 FROM entries),
                     COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'entries_next_id'), 0)),
                 ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
        packed.as_bytes(),
        text_len,
        e.source_url,
        e.text_hash,
        e.url.as_deref().map(url_key),
        // Its exact keys are filed by one trigger (migration 021), the
        // title's with them rather than by a second one when copy
        // detection sets it.
        super::dedup::title_key(&e.title),
        e.item_hash
    ])?;
    let id = tx.last_insert_rowid();
    queue_for_filters(tx, id)?;
    search.push(SearchRow::of(id, tagged, false));
    set_topics(tx, id, &tagged.topics)?;

    Ok(Saved::New(id))
}

/// An entry as stored, as much of it as tells whether a fetched version
/// changed it: the one test of both the writer ([`save_entry`]) and the
/// parse workers' look ahead ([`super::known::KnownEntries`]), so that the
/// two cannot disagree.
pub(super) struct Stored {
    title: String,
    url: Option<String>,
    author: Option<String>,
    /// The packed texts (`None`: neither summary nor content).
    body: Option<Vec<u8>>,
    published: i64,
    /// The hash of the item it was made from (`None`: stored before
    /// migration 023, or its text dropped by a repair).
    item_hash: Option<i64>,
}

impl Stored {
    /// Reads `title, url, author, body, published, item_hash` from `row`,
    /// starting at column `at`.
    pub(super) fn from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Stored> {
        Ok(Stored {
            title: r.get(at)?,
            url: r.get(at + 1)?,
            author: r.get(at + 2)?,
            body: match r.get_ref(at + 3)? {
                ValueRef::Null => None,
                ValueRef::Blob(b) => Some(b.to_vec()),
                // Damaged (not even a blob; rusqlite panics on a TEXT
                // value that is not UTF-8 when asked for a Value).
                _ => Some(Vec::new()),
            },
            published: r.get(at + 4)?,
            item_hash: r.get(at + 5)?,
        })
    }

    /// Returns true if and only if the item `item` would change nothing
    /// of this entry, told without its HTML: the same hash of the item as
    /// fetched (so the same texts, see [`crate::parse::texts_signature`]), the
    /// same title, link, author and time, and a stored text that can be
    /// read (a damaged one is stored again).
    pub(super) fn is_unchanged_by_item(&self, item: &crate::parse::ItemHead<'_>) -> bool {
        self.item_hash == Some(item.item_hash)
            && self.title == item.title
            && self.url.as_deref() == item.url
            && self.author.as_deref() == item.author
            && self.published_at(item.published, item.date_source) == self.published
            && self.body.as_deref().is_none_or(|b| unpack(b).is_ok())
    }

    /// Returns true if `e`'s item hash is one this entry does not have yet.
    pub(super) fn lacks_item_hash(&self, e: &NewEntry) -> bool {
        e.item_hash.is_some() && e.item_hash != self.item_hash
    }

    /// The time `e` is stored under: its own, or, for an entry without a
    /// date of its own, the time it was first seen.
    fn published_for(&self, e: &NewEntry) -> i64 {
        self.published_at(e.published, e.date_source)
    }

    fn published_at(&self, published: DateTime<Utc>, source: crate::model::DateSource) -> i64 {
        if source == crate::model::DateSource::FirstSeen {
            self.published
        } else {
            published.timestamp()
        }
    }

    /// Returns true if and only if `e` (packed as `packed`, if it is yet)
    /// would change nothing of this entry: the same title, link, author,
    /// time and texts.
    pub(super) fn is_unchanged_by(&self, e: &NewEntry, packed: Option<&body::Packed>) -> bool {
        self.title == e.title
            && self.url == e.url
            && self.author == e.author
            && self.published_for(e) == self.published
            && same_texts(self.body.as_deref(), packed, e)
    }
}

/// Returns true if and only if the stored body `old` holds the same texts as
/// `e` (packed as `new`, if it is). Equal bytes say so without unpacking
/// (packing is deterministic); otherwise the stored texts are compared, so
/// that a body packed by another codec or level is not taken for a change.
/// All four: the plain text is not always the HTML's (markup without text
/// of its own, a drawing or an image, is named by its title or file, which
/// the sanitised HTML may not keep).
fn same_texts(old: Option<&[u8]>, new: Option<&body::Packed>, e: &NewEntry) -> bool {
    let Some(old) = old else {
        return e.summary_html.is_none()
            && e.content_html.is_none()
            && e.summary_text.is_none()
            && e.content_text.is_none();
    };
    if new.is_some_and(|new| old == new.as_bytes()) {
        return true;
    }
    // A damaged old body does not unpack: the new one is stored.
    unpack(old).is_ok_and(|t| {
        t.summary_html == e.summary_html
            && t.content_html == e.content_html
            && t.summary_text == e.summary_text
            && t.content_text == e.content_text
    })
}

/// Queues entry `id` for the `[filters]` to judge (again) at the end of the
/// sync (migration 019: no longer a trigger).
pub(super) fn queue_for_filters(tx: &Connection, id: i64) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO filter_queue (entry_id) VALUES (?1)")?.execute([id])?;
    Ok(())
}

/// What the search index takes of an entry's texts, decided by the parse
/// worker ([`TaggedEntry::packed_with`]) so that the writer does not: the
/// summary is left out when it is an excerpt of the content
/// ([`crate::search::indexed_summary`]), and which texts have CJK
/// characters, to be indexed spaced ([`spaced_cjk`]; the others, nearly
/// all, as they are). Flags, not spaced copies: those would be held from
/// the parse to the write (7 to 13% more memory at the peak of a sync of
/// Chinese feeds).
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchPrep {
    summary_indexed: bool,
    /// The title, summary and content have CJK characters.
    cjk: [bool; 3],
}

impl SearchPrep {
    pub(crate) fn of(e: &NewEntry) -> SearchPrep {
        let summary =
            crate::search::indexed_summary(e.summary_text.as_deref().unwrap_or(""), e.content_text.as_deref());
        let texts = [e.title.as_str(), summary, e.content_text.as_deref().unwrap_or("")];
        SearchPrep { summary_indexed: !summary.is_empty(), cjk: texts.map(crate::text::has_cjk) }
    }
}

/// An entry's text for the search index, to be written at the end of the
/// transaction ([`flush_search`]), as [`SearchPrep`] decided.
#[derive(Debug)]
pub(super) struct SearchRow {
    id: i64,
    /// The entry was indexed before: its old row goes first.
    replace: bool,
    /// Title, summary (empty if not indexed) and content, and which of
    /// them to index spaced.
    texts: [String; 3],
    cjk: [bool; 3],
}

impl SearchRow {
    fn of(id: i64, tagged: &TaggedEntry, replace: bool) -> SearchRow {
        let e = &tagged.entry;
        let texts = [
            e.title.clone(),
            if tagged.search.summary_indexed { e.summary_text.clone().unwrap_or_default() } else { String::new() },
            e.content_text.clone().unwrap_or_default(),
        ];
        SearchRow { id, replace, texts, cjk: tagged.search.cjk }
    }
}

/// Writes the search rows waiting in `rows` (and empties it).
pub(super) fn flush_search(tx: &Connection, rows: &mut Vec<SearchRow>) -> Result<()> {
    for row in rows.drain(..) {
        if row.replace {
            tx.prepare_cached("DELETE FROM entries_fts WHERE rowid = ?1")?.execute([row.id])?;
        }
        let [title, summary, content] = [0, 1, 2].map(|i| match row.cjk[i] {
            true => spaced_cjk(&row.texts[i]),
            false => std::borrow::Cow::Borrowed(row.texts[i].as_str()),
        });
        insert_prepared_search_row(tx, row.id, &title, &summary, &content)?;
    }
    Ok(())
}

/// Indexes one entry's text. The index is contentless (migration 007): it
/// keeps no copy of the text, which the entry row already holds.
fn insert_search_row(
    tx: &Connection,
    id: i64,
    title: &str,
    summary: Option<&str>,
    content: Option<&str>,
) -> Result<()> {
    // An excerpt of the content is not indexed again as the summary.
    let summary = crate::search::indexed_summary(summary.unwrap_or(""), content);
    insert_prepared_search_row(tx, id, &spaced_cjk(title), &spaced_cjk(summary), &spaced_cjk(content.unwrap_or("")))
}

/// [`insert_search_row`] with texts already as the index takes them.
fn insert_prepared_search_row(tx: &Connection, id: i64, title: &str, summary: &str, content: &str) -> Result<()> {
    tx.prepare_cached("INSERT INTO entries_fts (rowid, title, summary, content) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, title, summary, content])?;
    Ok(())
}

/// The key an entry is found by through its link (`entries.url_key`,
/// migration 015): 64 bits of xxh3. Two links with one key are told apart
/// by the lookups, which compare the links themselves.
pub(crate) fn url_key(url: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(url.as_bytes()) as i64
}

/// Fills `url_key` for every entry with a link (migration 015).
pub(super) fn fill_url_keys(tx: &Connection) -> Result<()> {
    let mut select = tx.prepare("SELECT id, url FROM entries WHERE url IS NOT NULL")?;
    let mut update = tx.prepare("UPDATE entries SET url_key = ?2 WHERE id = ?1")?;
    let mut rows = select.query([])?;
    while let Some(r) = rows.next()? {
        let (id, url): (i64, String) = (r.get(0)?, r.get(1)?);
        update.execute(params![id, url_key(&url)])?;
    }
    Ok(())
}

/// Rebuilds the whole search index from the stored entries. An entry whose
/// body cannot be read is indexed by its title alone (with a warning), so
/// that `doctor --repair` gets through a damaged row.
pub(super) fn reindex_search(tx: &Connection) -> Result<()> {
    tx.execute("INSERT INTO entries_fts (entries_fts) VALUES ('delete-all')", [])?;
    let mut select = tx.prepare("SELECT id, title, body FROM entries ORDER BY id")?;
    let mut rows = select.query([])?;
    while let Some(r) = rows.next()? {
        let (id, title): (i64, String) = (r.get(0)?, r.get(1)?);
        let plain = plain_texts(r.get_ref(2)?, usize::MAX).unwrap_or_else(|e| {
            tracing::warn!(entry = id, error = %crate::error::StoreError::from(e), "indexing the title only");
            body::PlainTexts::default()
        });
        insert_search_row(tx, id, &title, plain.summary.as_deref(), plain.content.as_deref())?;
    }
    Ok(())
}

/// [`reindex_search`] for migration 007, which runs while the texts were
/// still columns of their own (a database older than migration 008).
pub(super) fn reindex_search_before_008(tx: &Connection) -> Result<()> {
    tx.execute("INSERT INTO entries_fts (entries_fts) VALUES ('delete-all')", [])?;
    let mut select = tx.prepare("SELECT id, title, summary_text, content_text FROM entries ORDER BY id")?;
    let mut rows = select.query([])?;
    while let Some(r) = rows.next()? {
        let (id, title): (i64, String) = (r.get(0)?, r.get(1)?);
        let (summary, content): (Option<String>, Option<String>) = (r.get(2)?, r.get(3)?);
        insert_search_row(tx, id, &title, summary.as_deref(), content.as_deref())?;
    }
    Ok(())
}

/// Migration 008: packs the four text columns of every entry that has
/// any into `body` and empties them (so that dropping them next rewrites little), a
/// thousand rows at a time (no row is written under its own scan).
pub(super) fn pack_all_texts(tx: &Connection) -> Result<()> {
    let mut select = tx.prepare(
        "SELECT id, summary_text, content_text, summary_html, content_html FROM entries
         WHERE id > ?1 ORDER BY id LIMIT 1000",
    )?;
    let mut update = tx.prepare(
        "UPDATE entries SET body = ?2, summary_text = NULL, content_text = NULL, summary_html = NULL,
                content_html = NULL
         WHERE id = ?1",
    )?;
    let mut after = 0;
    loop {
        let rows: Vec<(i64, Texts)> = select
            .query_map([after], |r| {
                Ok((
                    r.get(0)?,
                    Texts {
                        summary_text: r.get(1)?,
                        content_text: r.get(2)?,
                        summary_html: r.get(3)?,
                        content_html: r.get(4)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some((last, _)) = rows.last() else { return Ok(()) };
        after = *last;
        // A row without any text keeps a NULL body (read as no text).
        for (id, texts) in rows.into_iter().filter(|(_, t)| *t != Texts::default()) {
            update.execute(params![id, body::pack(&texts).as_bytes()])?;
        }
    }
}

/// The plain texts of a stored body (the `body` column's value), each cut
/// to at most `limit` bytes; a NULL body has none. A damaged body is an
/// error that becomes [`StoreError::Body`].
pub(super) fn plain_texts(value: ValueRef<'_>, limit: usize) -> rusqlite::Result<body::PlainTexts> {
    match value {
        ValueRef::Null => Ok(body::PlainTexts::default()),
        ValueRef::Blob(bytes) => unpack_plain(bytes, limit).map_err(damaged),
        _ => Err(damaged(body::BodyError::NotABlob)),
    }
}

/// The summary of a stored body: its plain summary, else (no summary) its
/// plain content, cut to at most `limit` bytes.
pub(super) fn summary_text(value: ValueRef<'_>, limit: usize) -> rusqlite::Result<String> {
    match value {
        ValueRef::Null => Ok(String::new()),
        ValueRef::Blob(bytes) => body::unpack_summary(bytes, limit).map_err(damaged),
        _ => Err(damaged(body::BodyError::NotABlob)),
    }
}

/// All four texts of a stored body (the `body` column's value).
pub(super) fn all_texts(value: ValueRef<'_>) -> rusqlite::Result<Texts> {
    match value {
        ValueRef::Null => Ok(Texts::default()),
        ValueRef::Blob(bytes) => unpack(bytes).map_err(damaged),
        _ => Err(damaged(body::BodyError::NotABlob)),
    }
}

/// A body error as rusqlite's conversion error, so that row closures can
/// return it; `StoreError`'s `From` turns it back into [`StoreError::Body`].
fn damaged(e: body::BodyError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
}

fn set_topics(tx: &Connection, id: i64, topics: &[String]) -> Result<()> {
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO entry_topics (topic, entry_id) VALUES (?1, ?2)")?;
    for t in topics {
        insert.execute(params![t, id])?;
    }
    Ok(())
}
