//! Story maintenance: rebuilding, explaining, and the user's splits and merges.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::{dedup, Explanation, Result, Store};
use crate::error::StoreError;
use crate::model::EntryId;

impl Store {
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
}
