//! Reading state and the feed list's bookkeeping: which stories were read,
//! when syncs started, what a sync brought, and removing a feed's entries
//! (`remove --purge`) with the stories it carried re-rooted.
//!
//! Read state belongs to the story, not to one feed's entry: reading marks
//! every member of the story read, a story counts as read when any of its
//! members is (so stories that copy detection later merges or re-roots stay
//! read), and an entry that joins a read story is stored read.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use super::read::{filters, EntryRow, ListQuery};
use super::{from_unix, Result, Store};
use crate::error::StoreError;
use crate::model::EntryId;

/// SQL condition, on an entry `e`, that holds while its story is unread:
/// no member (the original or a copy) has been read.
pub(super) const STORY_UNREAD: &str = "NOT EXISTS (SELECT 1 FROM entries m WHERE m.read_at IS NOT NULL
     AND (m.id = COALESCE(e.duplicate_of, e.id) OR m.duplicate_of = COALESCE(e.duplicate_of, e.id)))";

/// The meta key holding the start of the latest sync (unix seconds).
const LAST_SYNC_START: &str = "last_sync_start";
/// The meta key holding the start of the sync before it.
const PREVIOUS_SYNC_START: &str = "previous_sync_start";

/// A newcomer to a read story is a "longer version" when its text is at
/// least this many times as long as the longest text the story had...
pub const LONGER_FACTOR: i64 = 2;
/// ...and at least this many characters longer (an excerpt of 300
/// characters followed by the full article of 3,000 is; a tweak is not).
pub const LONGER_BY: i64 = 500;

/// What `remove --purge` deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Entries deleted (the feed's own, copies included).
    pub entries: usize,
    /// Stories whose original was the feed's and that live on under one of
    /// their copies.
    pub rerooted: usize,
}

/// Marks the story of `id` read at `now` (keeping an earlier read time), or
/// unread when `now` is `None`. Returns the number of entries changed.
fn mark_story(conn: &Connection, id: i64, now: Option<i64>) -> Result<usize> {
    let root = "(SELECT COALESCE(duplicate_of, id) FROM entries WHERE id = ?1)";
    // ?2 NULL (unread) clears the read time of every member that has one.
    let sql = format!(
        "UPDATE entries SET read_at = ?2
         WHERE (read_at IS NULL) = (?2 IS NOT NULL) AND (id = {root} OR duplicate_of = {root})"
    );
    Ok(conn.prepare_cached(&sql)?.execute(params![id, now])?)
}

/// Called when entry `id` was just stored and grouped: if its story was
/// already read (any other member read), the newcomer is stored read too, so
/// that a late copy does not bring a read story back as unread.
pub(super) fn inherit_story_read(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE entries SET read_at = ?2 WHERE id = ?1 AND read_at IS NULL AND EXISTS (
             SELECT 1 FROM entries m, (SELECT COALESCE(duplicate_of, id) AS root FROM entries WHERE id = ?1) r
             WHERE m.id != ?1 AND m.read_at IS NOT NULL AND (m.id = r.root OR m.duplicate_of = r.root))",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// How many stories whose original belongs to feed `feed_id` have copies
/// in other feeds: they live on without it, regrouped by copy detection
/// (`store::dedup::regroup`), which chooses their new original by evidence.
fn stories_kept_without(tx: &Transaction, feed_id: i64) -> Result<usize> {
    Ok(tx.query_row(
        "SELECT COUNT(*) FROM entries r WHERE r.feed_id = ?1 AND r.duplicate_of IS NULL
           AND EXISTS (SELECT 1 FROM entries c WHERE c.duplicate_of = r.id AND c.feed_id != ?1)",
        [feed_id],
        |r| r.get::<_, i64>(0),
    )? as usize)
}

impl Store {
    /// Fills in whether each row's story has been read.
    pub(super) fn with_read(&self, mut rows: Vec<EntryRow>) -> Result<Vec<EntryRow>> {
        let sql = format!("SELECT NOT ({STORY_UNREAD}) FROM entries e WHERE e.id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        for row in &mut rows {
            row.read = stmt.query_row([row.id.0], |r| r.get(0))?;
        }
        Ok(rows)
    }

    /// Marks the stories of `ids` read at `now`. Every id must exist (else
    /// nothing is marked). Returns the number of entries that became read.
    pub fn mark_read(&mut self, ids: &[EntryId], now: DateTime<Utc>) -> Result<usize> {
        self.mark(ids, Some(now.timestamp()))
    }

    /// Marks the stories of `ids` unread again. Returns the number of
    /// entries that became unread.
    pub fn mark_unread(&mut self, ids: &[EntryId]) -> Result<usize> {
        self.mark(ids, None)
    }

    fn mark(&mut self, ids: &[EntryId], now: Option<i64>) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        for id in ids {
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM entries WHERE id = ?1)")?
                .query_row([id.0], |r| r.get(0))?;
            if !exists {
                return Err(StoreError::NotFound(format!("no entry with id {}", id.0)));
            }
            changed += mark_story(&tx, id.0, now)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Marks read every unread story that `q` selects (its limit is ignored).
    /// Returns the number of stories marked.
    pub fn mark_read_matching(&mut self, q: &ListQuery, now: DateTime<Utc>) -> Result<usize> {
        let q = ListQuery { unread: true, ..q.clone() };
        let mut sql = "SELECT DISTINCT COALESCE(e.duplicate_of, e.id) FROM entries e JOIN feeds f ON f.id = e.feed_id
                       WHERE 1 = 1"
            .to_owned();
        let mut values = Vec::new();
        filters(&q, &mut sql, &mut values);
        let tx = self.conn.transaction()?;
        let roots: Vec<i64> =
            tx.prepare(&sql)?.query_map(params_from_iter(values), |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        for root in &roots {
            mark_story(&tx, *root, Some(now.timestamp()))?;
        }
        tx.commit()?;
        Ok(roots.len())
    }

    /// How many rows `q` selects without its limit, counting at most `cap`
    /// (so that the "N more" line stays cheap on a huge store).
    pub fn count(&self, q: &ListQuery, cap: usize) -> Result<usize> {
        let (sql, values) = count_sql(q, cap);
        let n: i64 = self.conn.query_row(&sql, params_from_iter(values), |r| r.get(0))?;
        Ok(n as usize)
    }

    /// Records that a sync starts at `at`; the start of the one before is
    /// kept as the previous sync's.
    pub fn record_sync_start(&mut self, at: DateTime<Utc>) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO meta (key, value) SELECT ?2, value FROM meta WHERE key = ?1
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![LAST_SYNC_START, PREVIOUS_SYNC_START],
        )?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![LAST_SYNC_START, at.timestamp().to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// When the latest sync started, if there was one.
    pub fn last_sync_start(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.meta(LAST_SYNC_START)?.and_then(|v| v.parse::<i64>().ok()).and_then(from_unix))
    }

    /// The stories that are new since `since`: every member first seen then
    /// or later (a copy joining an older story does not make it new), in any
    /// of `topics` (all when empty), newest first.
    pub fn new_stories(&self, since: DateTime<Utc>, topics: &[String]) -> Result<Vec<EntryRow>> {
        let q =
            ListQuery { topics: topics.to_vec(), seen_since: Some(since), limit: usize::MAX, ..ListQuery::default() };
        let rows = self.list(&q)?;
        let mut oldest =
            self.conn.prepare_cached("SELECT MIN(first_seen) FROM entries WHERE id = ?1 OR duplicate_of = ?1")?;
        let mut fresh = Vec::with_capacity(rows.len());
        for row in rows {
            let first: i64 = oldest.query_row([row.id.0], |r| r.get(0))?;
            if first >= since.timestamp() {
                fresh.push(row);
            }
        }
        Ok(fresh)
    }

    /// The entries first seen since `since` that joined a story already
    /// read, with substantially more text than the story had before (see
    /// [`LONGER_FACTOR`], [`LONGER_BY`]): an excerpt was read, the full
    /// article arrived. Newest first.
    pub fn longer_versions(&self, since: DateTime<Utc>) -> Result<Vec<EntryId>> {
        let len = "x.text_len";
        let sql = format!(
            "WITH fresh AS (
                 SELECT x.id, COALESCE(x.duplicate_of, x.id) AS root, {len} AS len, x.published
                 FROM entries x WHERE x.first_seen >= ?1
             ),
             before AS (
                 SELECT f.id, MAX({len}) AS len, MAX(x.read_at IS NOT NULL) AS was_read
                 FROM fresh f JOIN entries x ON (x.id = f.root OR x.duplicate_of = f.root) AND x.first_seen < ?1
                 GROUP BY f.id
             )
             SELECT f.id FROM fresh f JOIN before b ON b.id = f.id
             WHERE b.was_read AND f.len >= ?2 * b.len AND f.len >= b.len + ?3
             ORDER BY f.published DESC, f.id DESC"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let ids = stmt
            .query_map(params![since.timestamp(), LONGER_FACTOR, LONGER_BY], |r| Ok(EntryId(r.get(0)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Another entry of `id`'s story with substantially more text than it
    /// (see [`LONGER_FACTOR`], [`LONGER_BY`]): its id, feed name and length
    /// in characters, with the length of `id`'s own text.
    pub fn longer_version(&self, id: EntryId) -> Result<Option<(EntryId, String, usize, usize)>> {
        let len = "x.text_len";
        let sql = format!(
            "WITH me AS (SELECT x.id, COALESCE(x.duplicate_of, x.id) AS root, {len} AS len FROM entries x WHERE x.id = ?1)
             SELECT x.id, COALESCE(f.name, f.title, f.url), {len}, me.len
             FROM me JOIN entries x ON (x.id = me.root OR x.duplicate_of = me.root) AND x.id != me.id
                     JOIN feeds f ON f.id = x.feed_id
             WHERE {len} >= ?2 * me.len AND {len} >= me.len + ?3
             ORDER BY {len} DESC, x.id LIMIT 1"
        );
        Ok(self
            .conn
            .query_row(&sql, params![id.0, LONGER_FACTOR, LONGER_BY], |r| {
                Ok((EntryId(r.get(0)?), r.get(1)?, r.get::<_, i64>(2)? as usize, r.get::<_, i64>(3)? as usize))
            })
            .optional()?)
    }

    /// Deletes the feed with URL `url`, its entries and all its state. A
    /// story whose original was the feed's keeps its copies in other feeds,
    /// regrouped under a new original (see `stories_kept_without`). Returns `None` if the store has
    /// no such feed.
    pub fn purge_feed(&mut self, url: &str) -> Result<Option<PurgeReport>> {
        let tx = self.conn.transaction()?;
        let Some(feed_id) =
            tx.query_row("SELECT id FROM feeds WHERE url = ?1", [url], |r| r.get::<_, i64>(0)).optional()?
        else {
            return Ok(None);
        };
        let rerooted = stories_kept_without(&tx, feed_id)?;
        let ids: Vec<i64> = tx
            .prepare("SELECT id FROM entries WHERE feed_id = ?1")?
            .query_map([feed_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let entries = super::maintenance::delete_entries(&tx, &ids)?;
        tx.execute("DELETE FROM feeds WHERE id = ?1", [feed_id])?;
        tx.commit()?;
        Ok(Some(PurgeReport { entries, rerooted }))
    }
}

/// The SQL and parameters of [`Store::count`]: newest first, so that the
/// stories' index answers it without reading the rows.
pub(super) fn count_sql(q: &ListQuery, cap: usize) -> (String, Vec<Value>) {
    let mut sql = "SELECT COUNT(*) FROM (SELECT 1 FROM entries e WHERE 1 = 1".to_owned();
    let mut values: Vec<Value> = Vec::new();
    filters(q, &mut sql, &mut values);
    sql.push_str(" ORDER BY e.published DESC, e.id DESC LIMIT ?)");
    values.push(Value::Integer(cap.min(i64::MAX as usize) as i64));
    (sql, values)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{DateSource, EntryKey, FeedId, NewEntry};
    use crate::store::{FetchState, TaggedEntry};

    const TEXT: &str = "Gwadar port handled a record volume of cargo this month as new shipping lines \
        called at the deep-sea port, officials of the port authority said on Tuesday in a statement \
        that also announced a second berth and a desalination plant for the growing city.";

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
    }

    fn save(s: &mut Store, feed: FeedId, key: &str, d: u32) -> EntryId {
        let e = NewEntry {
            key: EntryKey(key.into()),
            title: "Gwadar record cargo".into(),
            url: Some(format!("https://{key}.example/gwadar")),
            author: None,
            published: day(d),
            date_source: DateSource::Published,
            summary_html: None,
            summary_text: None,
            content_html: None,
            content_text: Some(TEXT.into()),
            source_url: None,
            text_hash: crate::dedup::text_hash(TEXT),
            item_hash: None,
        };
        s.save_feed(feed, &FetchState::default(), &[TaggedEntry::new(e, vec![])], day(d)).unwrap();
        EntryId(s.conn.query_row("SELECT id FROM entries WHERE entry_key = ?1", [key], |r| r.get(0)).unwrap())
    }

    fn setup() -> (Store, Vec<FeedId>) {
        let mut s = Store::open_in_memory().unwrap();
        let feeds: Vec<_> = (0..3).map(|i| (format!("https://f{i}.example/feed"), Some(format!("F{i}")))).collect();
        let ids = s.upsert_feeds(&feeds).unwrap().into_iter().map(|f| f.id).collect();
        (s, ids)
    }

    fn root_of(s: &Store, id: EntryId) -> i64 {
        s.conn.query_row("SELECT COALESCE(duplicate_of, id) FROM entries WHERE id = ?1", [id.0], |r| r.get(0)).unwrap()
    }

    fn unread(s: &Store) -> usize {
        s.count(&ListQuery { unread: true, limit: 100, ..ListQuery::default() }, 100).unwrap()
    }

    #[test]
    fn reading_marks_the_story_and_late_copies_arrive_read() {
        let (mut s, f) = setup();
        let original = save(&mut s, f[0], "a", 1);
        let copy = save(&mut s, f[1], "b", 2);
        assert_eq!(root_of(&s, copy), original.0, "the copy joins the story");
        assert_eq!(unread(&s), 1);
        let all = ListQuery { all: true, ..ListQuery::default() };
        assert_eq!((s.count(&all, 10).unwrap(), s.count(&all, 1).unwrap()), (2, 1), "counted up to the cap");
        assert_eq!(s.mark_read(&[copy], day(3)).unwrap(), 2, "both members are marked");
        assert_eq!(unread(&s), 0);
        let late = save(&mut s, f[2], "c", 4);
        assert_eq!(root_of(&s, late), original.0);
        assert_eq!(unread(&s), 0, "a late copy does not make the story unread");
        let read_at: Option<i64> =
            s.conn.query_row("SELECT read_at FROM entries WHERE id = ?1", [late.0], |r| r.get(0)).unwrap();
        assert_eq!(read_at, Some(day(4).timestamp()));
        assert_eq!(s.mark_unread(&[original]).unwrap(), 3);
        assert_eq!(unread(&s), 1);
        assert!(matches!(s.mark_read(&[EntryId(99)], day(5)), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn purging_the_original_re_roots_on_the_earliest_copy() {
        let (mut s, f) = setup();
        let original = save(&mut s, f[0], "a", 1);
        let late = save(&mut s, f[2], "c", 3);
        let early = save(&mut s, f[1], "b", 2);
        assert_eq!((root_of(&s, early), root_of(&s, late)), (original.0, original.0));
        let report = s.purge_feed("https://f0.example/feed").unwrap().unwrap();
        assert_eq!(report, PurgeReport { entries: 1, rerooted: 1 });
        assert_eq!(root_of(&s, early), early.0, "the earliest copy is the new original");
        assert_eq!(root_of(&s, late), early.0);
        let left: i64 = s.conn.query_row("SELECT COUNT(*) FROM entries_fts", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 2, "the search index lost the purged entry");
        assert!(s.feeds().unwrap().iter().all(|r| r.url != "https://f0.example/feed"));
        assert_eq!(s.purge_feed("https://f0.example/feed").unwrap(), None);
    }

    #[test]
    fn sync_starts_are_remembered() {
        let (mut s, _) = setup();
        assert_eq!(s.last_sync_start().unwrap(), None);
        s.record_sync_start(day(1)).unwrap();
        s.record_sync_start(day(2)).unwrap();
        assert_eq!(s.last_sync_start().unwrap(), Some(day(2)));
        assert_eq!(s.meta(PREVIOUS_SYNC_START).unwrap(), Some(day(1).timestamp().to_string()));
    }
}
