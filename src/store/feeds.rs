//! Feed rows and what each fetch tells about them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{from_unix, Failure, FeedRow, FetchState, Result, Store};
use crate::error::StoreError;
use crate::model::FeedId;

impl Store {
    /// Makes sure every configured feed has a row (by URL) and its configured
    /// name; returns the rows of `urls`, in that order, without their entry
    /// counts (`entry_count` is 0).
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
        // Uncounted: a sync does not need the entry counts, and counting
        // read every entry's row of an index (4,300 pages at a million entries).
        let all = self.feeds_uncounted()?;
        let by_url: HashMap<&str, &FeedRow> = all.iter().map(|f| (f.url.as_str(), f)).collect();
        Ok(feeds.iter().filter_map(|(url, _)| by_url.get(url.as_str()).map(|f| (*f).clone())).collect())
    }

    /// Every feed the store knows, with its entry count.
    pub fn feeds(&self) -> Result<Vec<FeedRow>> {
        self.feed_rows(true)
    }

    /// Every feed the store knows, without counting entries (`entry_count`
    /// is 0): counting reads every entry's index row, 45 ms at a million
    /// entries, for digests that only need the feeds' sites and dates.
    pub fn feeds_uncounted(&self) -> Result<Vec<FeedRow>> {
        self.feed_rows(false)
    }

    fn feed_rows(&self, count: bool) -> Result<Vec<FeedRow>> {
        let entries = if count { "(SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id)" } else { "0" };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT f.id, f.url, f.name, f.title, f.site_url, f.etag, f.last_modified, f.last_attempt,
                    f.last_success, f.http_status, f.last_error, f.consecutive_failures, f.next_attempt,
                    {entries}, f.moved_to, f.gone, f.discovered, f.feed_updated
             FROM feeds f ORDER BY f.id"
        ))?;
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

    /// Moves each feed `from` to its new URL `to` (feeds.toml is updated
    /// after a permanent redirect), keeping its entries and state, all in
    /// one transaction, inside which `write_file` rewrites feeds.toml: if
    /// either fails, neither changes (short of the commit itself failing).
    /// A feed the database already holds under `to` stays as it is, and so
    /// does the one under `from` (its move forgotten): those pairs are returned.
    pub fn move_feeds<E: From<StoreError>>(
        &mut self,
        moves: &[(&str, &str)],
        write_file: impl FnOnce() -> std::result::Result<(), E>,
    ) -> std::result::Result<Vec<(String, String)>, E> {
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let kept = apply_moves(&tx, moves)?;
        // Dropped without a commit if the file cannot be written: rolled back.
        write_file()?;
        tx.commit().map_err(StoreError::from)?;
        Ok(kept)
    }

    /// Sets when a feed may be fetched next (after a failure's backoff).
    pub fn set_next_attempt(&mut self, feed: FeedId, at: Option<DateTime<Utc>>) -> Result<()> {
        self.conn
            .execute("UPDATE feeds SET next_attempt = ?2 WHERE id = ?1", params![feed.0, at.map(|t| t.timestamp())])?;
        Ok(())
    }
}

/// The moves of [`Store::move_feeds`] inside its transaction.
fn apply_moves(tx: &rusqlite::Transaction<'_>, moves: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
    let mut rename = tx.prepare(
        "UPDATE feeds SET url = ?2, moved_to = NULL
         WHERE url = ?1 AND NOT EXISTS (SELECT 1 FROM feeds WHERE url = ?2)",
    )?;
    let mut forget = tx.prepare("UPDATE feeds SET moved_to = NULL WHERE url = ?1")?;
    let mut kept = Vec::new();
    for (from, to) in moves {
        if rename.execute(params![from, to])? == 0 {
            forget.execute([from])?;
            kept.push((from.to_string(), to.to_string()));
        }
    }
    Ok(kept)
}
