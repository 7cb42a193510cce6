//! Story maintenance: rebuilding, explaining, and the user's splits and merges.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::{dedup, Explanation, PairView, Result, Store};
use crate::error::StoreError;
use crate::model::EntryId;

impl Store {
    /// Rebuilds every fingerprint, pair and story from the stored entries,
    /// keeping the user's splits and merges. Returns the number of entries
    /// that are copies.
    pub fn rebuild_dedup(&mut self) -> Result<usize> {
        let settings = self.dedup.clone();
        let tx = self.conn.transaction()?;
        let copies = dedup::rebuild(&tx, &settings)?;
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

    /// Why entry `id` is where it is: its comparison text, the verified
    /// pairs that hold it in its story, every candidate with the scores and
    /// the verdict, and why the story's original is that entry.
    pub fn explain_dedup(&self, id: EntryId) -> Result<Option<Explanation>> {
        let Some(f) = dedup::facts(&self.conn, id.0)? else { return Ok(None) };
        let c = dedup::comparison(&self.conn, crate::dedup::reduce(&f.body))?;
        let p = &c.prepared;
        let hits = dedup::candidates(&self.conn, &f, &c, &self.dedup)?;
        let candidates = dedup::assess(&self.conn, &f, &c, &hits, true)?;
        let override_: Option<Option<i64>> = self
            .conn
            .query_row("SELECT original_id FROM dedup_overrides WHERE entry_id = ?1", [id.0], |r| r.get(0))
            .optional()?;
        let root = f.duplicate_of.unwrap_or(id.0);
        let story: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM entries WHERE id = ?1 OR duplicate_of = ?1 ORDER BY id")?
            .query_map([root], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut pairs = Vec::new();
        for pair in dedup::pairs_of(&self.conn, id.0)? {
            let other = if pair.a == id.0 { pair.b } else { pair.a };
            let Some(o) = dedup::facts_without_body(&self.conn, other)? else { continue };
            pairs.push(PairView {
                other: EntryId(other),
                feed: o.feed,
                title: o.title,
                kind: pair.kind,
                containment: pair.containment,
                this_is_shorter: pair.shorter == Some(id.0),
                in_story: story.contains(&other),
            });
        }
        pairs.sort_by_key(|p| (!p.in_story, p.kind, p.other));
        let original_reason = if story.len() > 1 { dedup::original_reason(&self.conn, &story)? } else { None };
        Ok(Some(Explanation {
            id,
            feed: f.feed.clone(),
            title: f.title.clone(),
            duplicate_of: f.duplicate_of.map(EntryId),
            reason: f.dup_reason.clone(),
            score: f.dup_score,
            attribution: f.attribution.clone(),
            story_size: story.len(),
            root: EntryId(root),
            override_: override_.map(|o| o.map(EntryId)),
            prepared: p.clone(),
            pairs,
            candidates,
            original_reason,
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
