//! Maintenance: doctor, repair, prune, integrity check.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Check, Result, Store, MIGRATIONS};
use crate::model::EntryId;

/// Damaged entry texts named by `doctor` (the rest are counted).
const DAMAGED_NAMED: usize = 10;

impl Store {
    /// Checks the database beyond SQLite's integrity check: schema version,
    /// rows that lost what they belong to, stories pointing nowhere.
    ///
    /// A damaged database does not stop the report: a check that SQLite
    /// cannot run is itself reported as a problem, with SQLite's error.
    pub fn doctor(&self) -> Result<Vec<Check>> {
        let mut checks = Vec::new();
        // What a sync leaves to the next when stopped early is also what a
        // running one has not done yet (`doctor` takes no lock to read).
        let (left_by, done_by_next, done_by_trainer) = if self.sync_running() {
            ("a sync is running", "it does it at its end", "it does it at its end")
        } else {
            ("a sync stopped early", "the next sync does it", "the sync that trains the dictionary does it")
        };
        checks.push(match self.integrity_check() {
            Ok(problems) if problems.is_empty() => {
                Check::new("integrity", true, "SQLite integrity check passed".into())
            }
            Ok(problems) => Check::new("integrity", false, problems.join("; ")),
            Err(e) => Check::new("integrity", false, format!("the integrity check itself failed: {e}")),
        });
        checks.push(match self.schema_version() {
            Ok(version) => Check::new(
                "schema",
                version == MIGRATIONS.len() as i64,
                format!("schema version {version} (this syndic writes {})", MIGRATIONS.len()),
            ),
            Err(e) => Check::new("schema", false, format!("cannot read the schema version: {e}")),
        });
        let count = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        for (name, sql, what) in [
            ("orphan entries", "SELECT COUNT(*) FROM entries WHERE feed_id NOT IN (SELECT id FROM feeds)", "entries without a feed"),
            ("search index", "SELECT COUNT(*) FROM entries_fts WHERE rowid NOT IN (SELECT id FROM entries)", "search rows without an entry"),
            ("search index", "SELECT COUNT(*) FROM entries WHERE id NOT IN (SELECT rowid FROM entries_fts)", "entries missing from the search index"),
            ("topics", "SELECT COUNT(*) FROM entry_topics WHERE entry_id NOT IN (SELECT id FROM entries)", "topic rows without an entry"),
            // Entries past the lookup keys' horizon keep one only in a large story
            // (store::dedup::forget_old_keys; a store of an older syndic has no
            // fingerprints_from: it dropped them up to dedup_keys_from).
            ("fingerprints", "SELECT COUNT(*) FROM entries WHERE id NOT IN (SELECT entry_id FROM fingerprints)
                AND published >= 86400 * COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fingerprints_from'),
                    (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'dedup_keys_from'), -100000000000)",
             "entries without a fingerprint"),
            ("stories", "SELECT COUNT(*) FROM entries e WHERE duplicate_of IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entries o WHERE o.id = e.duplicate_of AND o.duplicate_of IS NULL)", "copies whose original is missing or itself a copy"),
        ] {
            // After a migration that drops them (009) or a new DEDUP_VERSION,
            // the next sync rebuilds every fingerprint: that is no damage.
            let rebuild_due = name == "fingerprints"
                && self.meta("dedup_version")?.as_deref() != Some(crate::dedup::DEDUP_VERSION.to_string().as_str());
            checks.push(match count(sql) {
                Ok(n) if n > 0 && rebuild_due => {
                    Check::new(name, true, format!("{n} {what}: the next sync rebuilds copy detection"))
                }
                Ok(0) => Check::new(name, true, format!("no {what}")),
                Ok(n) => Check::new(name, false, format!("{n} {what}")),
                Err(e) => Check::new(name, false, format!("cannot count {what}: {e}")),
            });
        }
        checks.push(match super::dedup::exact_keys_out_of_step(&self.conn) {
            Ok((0, 0)) => Check::new("exact keys", true, "every entry's exact keys filed, none stray".into()),
            Ok((missing, stray)) => Check::new(
                "exact keys",
                false,
                format!("{missing} exact keys missing and {stray} stray (copies of these entries may be missed): `doctor --repair` files them again"),
            ),
            Err(e) => Check::new("exact keys", false, format!("cannot read the exact keys: {e}")),
        });
        checks.push(match super::dedup::damaged_fingerprints(&self.conn) {
            Ok(0) => Check::new("fingerprints", true, "no damaged fingerprints".into()),
            Ok(n) => Check::new(
                "fingerprints",
                false,
                format!("{n} damaged fingerprints (copies of these entries may be missed): `doctor --repair` computes copy detection again"),
            ),
            Err(e) => Check::new("fingerprints", false, format!("cannot read the fingerprints: {e}")),
        });
        // Entries left by a sync stopped before its end (see
        // store::dedup::settle): no damage, the next sync compares them.
        // Staged lookup rows are merged once they are an eighth of their
        // large tables (store::dedup::merge_staged), read as they are until then.
        // Keys a sync filed for its entries dated before the horizon, and
        // did not live to drop (store::dedup::Filing): the next sync's end does.
        let waiting = count("SELECT COUNT(*) FROM dedup_pending").and_then(|pending| {
            let staged = (
                count("SELECT COUNT(*) FROM dedup_keys_staged")?,
                count("SELECT COUNT(*) FROM paragraph_counts_staged")?,
                count("SELECT COUNT(*) FROM exact_keys_staged")?,
            );
            let below = count("SELECT COUNT(*) FROM meta WHERE key = 'dedup_keys_below_from'")?;
            Ok((pending, staged, below))
        });
        checks.push(match waiting {
            Ok((pending, (keys, counts, exact), below)) => {
                let mut what = vec![if pending > 0 {
                    format!("{pending} entries wait to be compared again ({left_by}): {done_by_next}")
                } else {
                    "no entries waiting to be compared again".to_owned()
                }];
                if below > 0 {
                    what.push(format!("lookup keys of old-dated entries wait to be dropped ({left_by}): {done_by_next}"));
                }
                // Exact keys staged fewer than their minimum are the usual
                // state of a store of some months: not worth a word.
                let exact = if exact >= super::dedup::EXACT_MERGE_MIN { exact } else { 0 };
                if keys + counts + exact > 0 {
                    what.push(format!(
                        "{keys} lookup keys, {exact} exact keys and {counts} paragraph counts staged, each merged into its table once an eighth of it (the exact keys also once {})",
                        super::dedup::EXACT_MERGE_MIN
                    ));
                }
                Check::new("copy detection", true, what.join("; "))
            }
            Err(e) => Check::new("copy detection", false, format!("cannot count the entries waiting: {e}")),
        });
        checks.push(match damaged_texts(&self.conn).and_then(|d| Ok((d, self.texts_waiting_for_the_dictionary()?))) {
            Ok((damaged, 0)) if damaged.is_empty() => Check::new("entry texts", true, "no damaged entry texts".into()),
            // Left by a sync stopped between training the dictionary (or
            // starting to) and packing its texts again (store::dictionary):
            // no damage, they read as they are.
            Ok((damaged, waiting)) if damaged.is_empty() => Check::new(
                "entry texts",
                true,
                format!(
                    "no damaged entry texts; {waiting} entries' texts wait to be packed with the store's text dictionary ({left_by}): {}",
                    if self.text_dictionary().is_some() { done_by_next } else { done_by_trainer }
                ),
            ),
            Ok((damaged, _)) => {
                let mut ids: Vec<String> =
                    damaged.iter().take(DAMAGED_NAMED).map(|(id, _, _)| id.to_string()).collect();
                if damaged.len() > DAMAGED_NAMED {
                    ids.push("...".into());
                }
                Check::new(
                    "entry texts",
                    false,
                    format!(
                        "{} ({}): `doctor --repair` drops {}, and the next sync stores {} again if {} still {} the {}",
                        if damaged.len() == 1 {
                            "1 entry whose stored text is damaged".to_owned()
                        } else {
                            format!("{} entries whose stored texts are damaged", damaged.len())
                        },
                        // What is wrong with the first (all share it, often).
                        if damaged.len() == 1 {
                            format!("{}: {}", ids[0], damaged[0].2)
                        } else {
                            format!("{}; entry {}: {}", ids.join(", "), damaged[0].0, damaged[0].2)
                        },
                        if damaged.len() == 1 { "it" } else { "them" },
                        if damaged.len() == 1 { "it" } else { "them" },
                        if damaged.len() == 1 { "its feed" } else { "their feeds" },
                        if damaged.len() == 1 { "carries" } else { "carry" },
                        if damaged.len() == 1 { "entry" } else { "entries" }
                    ),
                )
            }
            Err(e) => Check::new("entry texts", false, format!("cannot read the entry texts: {e}")),
        });
        Ok(checks)
    }

    /// Repairs what [`Store::doctor`] can fix: rebuilds the search index and
    /// the stories, drops orphan rows.
    pub fn repair(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM entries WHERE feed_id NOT IN (SELECT id FROM feeds);
             DELETE FROM entry_topics WHERE entry_id NOT IN (SELECT id FROM entries);",
        )?;
        // A damaged text is dropped (nothing of it can be read; the entry's
        // title, link and story stay), and the next sync that brings the
        // entry stores it again: its feed is fetched whole, without the
        // validators of its last fetch, and now, even if the server said
        // it stays fresh a while (max-age, ttl) or it was backing off.
        // Its item hash goes with it: the next sync compares the item by its
        // HTML, finds it changed and stores it (see `known::Look::holds`).
        let mut drop_text = tx.prepare("UPDATE entries SET body = NULL, item_hash = NULL WHERE id = ?1")?;
        let mut forget_validators =
            tx.prepare("UPDATE feeds SET etag = NULL, last_modified = NULL, next_attempt = NULL WHERE id = ?1")?;
        for (id, feed, _) in damaged_texts(&tx)? {
            drop_text.execute([id])?;
            // Judged again by what is left of it (its title).
            super::entries::queue_for_filters(&tx, id)?;
            forget_validators.execute([feed])?;
        }
        drop((drop_text, forget_validators));
        super::entries::reindex_search(&tx)?;
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
            for (_, feed, key) in &doomed {
                tomb.execute(params![feed, key, now.timestamp()])?;
            }
        }
        let ids: Vec<i64> = doomed.iter().map(|(id, _, _)| *id).collect();
        delete_entries(&tx, &ids)?;
        tx.commit()?;
        Ok(doomed.len())
    }

    /// Deletes the entries `ids` (no tombstones: a later sync may bring them
    /// back). Stories that lose an entry are regrouped: a copy whose original
    /// goes stays with the rest of its story under a new original.
    pub fn delete_entries(&mut self, ids: &[EntryId]) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let n = delete_entries(&tx, &ids)?;
        tx.commit()?;
        Ok(n)
    }

    /// Runs SQLite's integrity check; returns its complaints (empty = sound).
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }
}

/// Deletes entries with their search rows and index keys, and regroups the
/// stories they were in.
pub(crate) fn delete_entries(conn: &rusqlite::Connection, ids: &[i64]) -> Result<usize> {
    let neighbours = super::dedup::story_neighbours(conn, ids)?;
    super::dedup::forget_keys(conn, ids)?;
    let mut fts = conn.prepare_cached("DELETE FROM entries_fts WHERE rowid = ?1")?;
    let mut del = conn.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
    let mut n = 0;
    for id in ids {
        fts.execute([id])?;
        n += del.execute([id])?;
    }
    super::dedup::regroup_after_delete(conn, &neighbours)?;
    Ok(n)
}

/// The entries (and their feeds) whose stored text does not unpack.
/// Reads every text: about 20 µs an entry.
///
/// A text naming a dictionary this process does not know is read again after
/// the stored dictionaries are: one trained by a sync since the store was
/// opened (`doctor --repair` waits for the sync to end) is no damage.
fn damaged_texts(conn: &rusqlite::Connection) -> Result<Vec<(i64, i64, String)>> {
    use super::body::{self, BodyError};
    super::dictionary::load_text_dictionaries(conn)?;
    let mut stmt = conn.prepare("SELECT id, feed_id, body FROM entries WHERE body IS NOT NULL ORDER BY id")?;
    let mut rows = stmt.query([])?;
    let mut damaged = Vec::new();
    let mut reloaded = std::collections::HashSet::new();
    while let Some(r) = rows.next()? {
        let bad = match r.get_ref(2)? {
            rusqlite::types::ValueRef::Blob(bytes) => match body::unpack(bytes) {
                Err(BodyError::UnknownDictionary(id)) if reloaded.insert(id) => {
                    super::dictionary::load_text_dictionaries(conn)?;
                    body::unpack(bytes).err()
                }
                read => read.err(),
            },
            _ => Some(BodyError::NotABlob),
        };
        if let Some(e) = bad {
            damaged.push((r.get(0)?, r.get(1)?, e.to_string()));
        }
    }
    Ok(damaged)
}
