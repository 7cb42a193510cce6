//! The parse workers' look at what a feed's entries already are, so that a
//! feed whose document changed by one item does not have all its items
//! prepared (shingled, fingerprinted, packed) only for the writer to find
//! them unchanged.
//!
//! A cron sync every 15 minutes finds most feeds changed (a new item, a
//! new `lastBuildDate`) while nearly all their items are the ones stored:
//! measured on 200 feeds of 50 items with 50 new ones, the parse workers
//! ran 14.8 G instructions preparing 10,000 entries and the writer 0.3 G
//! finding 9,950 of them unchanged.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::entries::Stored;
use super::{Result, Store};
use crate::model::{EntryKey, FeedId, NewEntry};
use crate::parse::ItemHead;

/// A reader's page cache, in SQLite's unit (negative: KiB). A feed's
/// entries are a few index pages and their rows: this bounds what each
/// parse worker's connection adds to a sync's memory.
const READER_CACHE_SIZE: i64 = -1024;

/// How long a reader waits for a lock (only a checkpoint that restarts the
/// log takes one a reader waits on) before it leaves the feed's entries to
/// the writer to judge.
const READER_BUSY_TIMEOUT: Duration = Duration::from_millis(200);

/// An entry of a feed as stored (for [`Stored::from_row`]).
pub(super) const STORED: &str =
    "SELECT title, url, author, body, published, item_hash FROM entries WHERE feed_id = ?1 AND entry_key = ?2";

/// A key of a feed whose entry was deleted for good.
pub(super) const TOMBSTONED: &str = "SELECT 1 FROM tombstones WHERE feed_id = ?1 AND entry_key = ?2";

/// Read-only connections to a store's file, one for each parse worker
/// that needs one at once, opened when first needed.
pub struct KnownEntries {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Store {
    /// A view of this store's entries for the parse workers, if it is a file
    /// (an in-memory store has no other connection).
    pub fn known_entries(&self) -> Option<KnownEntries> {
        self.path.as_ref().map(|path| KnownEntries { path: path.clone(), idle: Mutex::new(Vec::new()) })
    }

    /// Gives the entries of `feed` that a parse worker found unchanged but
    /// stored without the hash of the item they now come from
    /// ([`Look::finish`]) that hash, so that the next sync leaves them out
    /// before sanitising them. Nothing else of them changes.
    pub fn record_item_hashes(&mut self, feed: FeedId, hashes: &[(EntryKey, i64)]) -> Result<()> {
        let mut update =
            self.conn.prepare_cached("UPDATE entries SET item_hash = ?3 WHERE feed_id = ?1 AND entry_key = ?2")?;
        for (key, hash) in hashes {
            update.execute(params![feed.0, key.0, hash])?;
        }
        Ok(())
    }
}

impl KnownEntries {
    /// A look at the entries of `feed`, in one read transaction (one
    /// snapshot: the last committed state of the store). `None` when the
    /// store cannot be read (busy, damaged): the worker then prepares every
    /// item and the writer judges them all, as without this look.
    pub fn look(&self, feed: FeedId) -> Option<Look<'_>> {
        let conn = match self.take().and_then(|conn| {
            conn.execute_batch("BEGIN")?;
            Ok(conn)
        }) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::debug!(error = %e, "entries not looked up before preparing them");
                return None;
            }
        };
        Some(Look { known: self, conn: Some(conn), feed, hashes: Vec::new(), compared: 0, unchanged: 0 })
    }

    /// Removes from `entries` (one document's entries of feed `feed`) those
    /// that the store holds as they are and those deleted for good: see
    /// [`Look::drop_unchanged`]. Returns how many it removed.
    pub fn drop_unchanged(&self, feed: FeedId, entries: &mut Vec<NewEntry>) -> usize {
        self.look(feed).map_or(0, |mut look| {
            let dropped = look.drop_unchanged(entries);
            look.finish();
            dropped
        })
    }

    fn take(&self) -> Result<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop() {
            return Ok(conn);
        }
        open_reader(&self.path)
    }
}

/// A parse worker's look at one feed's stored entries (see
/// [`KnownEntries::look`]). Every question it cannot answer (an error
/// reading) is answered "not stored as it is": the item is prepared and
/// the writer judges it.
pub struct Look<'a> {
    known: &'a KnownEntries,
    /// `None` once an error made it give up.
    conn: Option<Connection>,
    feed: FeedId,
    /// Entries found unchanged by their HTML whose item hash is not the one stored.
    hashes: Vec<(EntryKey, i64)>,
    /// Stored entries compared with their items by [`Look::drop_unchanged`],
    /// and how many of them were unchanged.
    compared: usize,
    unchanged: usize,
}

/// After comparing this many of a feed's stored entries with their items
/// and finding every one changed, [`Look::drop_unchanged`] leaves the rest
/// to the writer: a feed whose items all change at each fetch (a count of
/// comments, a time in each) would otherwise have each stored text read
/// back for nothing (9% more CPU measured on such a feed).
const ALL_CHANGED_AFTER: usize = 4;

impl Look<'_> {
    /// Returns true if the store holds `item` as it is, told before its HTML
    /// is sanitised (the same item hash, see
    /// `entries::Stored::is_unchanged_by_item`), or deleted it for good:
    /// the writer would leave it alone.
    pub fn holds(&mut self, item: &ItemHead<'_>) -> bool {
        self.ask(item.key, |old| old.is_unchanged_by_item(item)).unwrap_or(false)
    }

    /// Removes from `entries` (parsed and sanitised) those the store holds as
    /// they are, by the writer's own test (`save_entry`'s,
    /// `entries::Stored::is_unchanged_by`), and those deleted for good.
    /// Returns how many it removed.
    ///
    /// Once [`ALL_CHANGED_AFTER`] stored entries were compared and all found
    /// changed, the rest are kept without a look (the writer judges them).
    pub fn drop_unchanged(&mut self, entries: &mut Vec<NewEntry>) -> usize {
        let before = entries.len();
        entries.retain(|e| {
            if self.compared >= ALL_CHANGED_AFTER && self.unchanged == 0 {
                return true;
            }
            let (mut lacks_hash, mut stored) = (false, false);
            let unchanged = self
                .ask(&e.key, |old| {
                    stored = true;
                    lacks_hash = old.lacks_item_hash(e);
                    old.is_unchanged_by(e, None)
                })
                .unwrap_or(false);
            if stored {
                self.compared += 1;
                self.unchanged += usize::from(unchanged);
            }
            if unchanged && lacks_hash {
                self.hashes.extend(e.item_hash.map(|h| (e.key.clone(), h)));
            }
            !unchanged
        });
        before - entries.len()
    }

    /// How many stored entries [`Look::drop_unchanged`] compared with their items.
    pub fn compared(&self) -> usize {
        self.compared
    }

    /// Ends the look; returns the entries found unchanged whose item hash
    /// is not the one stored, for [`Store::record_item_hashes`].
    pub fn finish(mut self) -> Vec<(EntryKey, i64)> {
        // Its connection goes back to the idle ones as it is dropped.
        std::mem::take(&mut self.hashes)
    }

    /// Whether the entry of `key` is stored and `same` says it is unchanged,
    /// or deleted for good. `None` after an error (logged).
    fn ask(&mut self, key: &EntryKey, same: impl FnOnce(&Stored) -> bool) -> Option<bool> {
        let conn = self.conn.as_ref()?;
        let feed = self.feed;
        let read = || -> Result<bool> {
            let found = conn
                .prepare_cached(STORED)?
                .query_row(params![feed.0, key.0], |r| Stored::from_row(r, 0))
                .optional()?;
            Ok(match found {
                Some(old) => same(&old),
                None => conn.prepare_cached(TOMBSTONED)?.exists(params![feed.0, key.0])?,
            })
        };
        match read() {
            Ok(answer) => Some(answer),
            Err(e) => {
                tracing::debug!(error = %e, "entries not looked up before preparing them");
                // Not given back: its transaction may be in any state.
                self.conn = None;
                None
            }
        }
    }
}

impl Drop for Look<'_> {
    /// Ends the read transaction and gives the connection back.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if conn.execute_batch("COMMIT").is_ok() {
                self.known.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(conn);
            }
        }
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(READER_BUSY_TIMEOUT)?;
    conn.execute_batch(&format!("PRAGMA cache_size = {READER_CACHE_SIZE}"))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::model::DateSource;
    use crate::store::{FetchState, SaveReport, TaggedEntry};

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
    }

    fn entry(key: &str, body: &str) -> NewEntry {
        let text = format!("{body} The corridor's second phase moves from roads and power plants to industry.");
        NewEntry {
            key: EntryKey(key.into()),
            title: format!("Title {key}"),
            url: Some(format!("https://bol.example/{key}")),
            author: Some("Staff".into()),
            published: at(1),
            date_source: DateSource::Published,
            summary_html: None,
            summary_text: None,
            content_html: Some(format!("<p>{text}</p>")),
            content_text: Some(text),
            source_url: None,
            text_hash: None,
            item_hash: None,
        }
    }

    fn keys(entries: &[NewEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.key.0.as_str()).collect()
    }

    fn tagged(entries: &[NewEntry]) -> Vec<TaggedEntry> {
        entries.iter().map(|e| TaggedEntry::new(e.clone(), Vec::new())).collect()
    }

    #[test]
    fn entries_left_out_are_exactly_those_the_writer_would_leave_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_at(&dir.path().join("syndic.db")).unwrap();
        let feed = store.upsert_feeds(&[("https://bol.example/feed".into(), None)]).unwrap()[0].id;
        let undated = |published| NewEntry { published, date_source: DateSource::FirstSeen, ..entry("undated", "U.") };
        // An excerpt beside the text, and entries without any text (no body stored).
        let excerpt = |html: &str| NewEntry {
            summary_html: Some(html.into()),
            summary_text: Some("Excerpt".into()),
            ..entry("excerpt", "X.")
        };
        let bare = |key: &str| NewEntry { content_html: None, content_text: None, ..entry(key, "") };
        // A drawing: its text is its title, which the sanitised HTML does not keep.
        let drawing = |title: &str| NewEntry {
            content_html: Some("<p>Chart:</p>".into()),
            content_text: Some(format!("Chart: {title}")),
            ..entry("drawing", "")
        };
        let first = [
            entry("same", "A."),
            undated(at(3)),
            entry("edited", "B."),
            entry("author", "C."),
            entry("deleted", "D."),
            entry("other-feed", "E."),
            excerpt("<p>Excerpt</p>"),
            bare("bare"),
            bare("textless"),
            entry("dropped", "G."),
            drawing("A"),
        ];
        store.save_feed(feed, &FetchState::default(), &tagged(&first), at(3)).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO tombstones (feed_id, entry_key, deleted_at) VALUES (1, 'deleted', 0);
                 DELETE FROM entries WHERE entry_key = 'deleted';
                 UPDATE entries SET body = NULL WHERE entry_key = 'dropped';",
            )
            .unwrap();

        // The next document: one as it was; one without a date of its own
        // (dated now: it keeps the time first seen); one whose text was
        // edited; one whose author changed; one the user deleted; one new;
        // one whose excerpt's HTML only changed; one still without text and
        // one that now has some; one whose text a repair dropped (stored again);
        // a drawing whose title, its text, changed while its HTML did not.
        let mut edited = entry("edited", "B, corrected.");
        edited.content_html = Some(edited.content_html.unwrap().replace("<p>", "<p class=\"x\">"));
        let next = vec![
            entry("same", "A."),
            undated(at(5)),
            edited,
            NewEntry { author: Some("Reuters".into()), ..entry("author", "C.") },
            entry("deleted", "D."),
            entry("new", "F."),
            excerpt("<p><em>Excerpt</em></p>"),
            bare("bare"),
            entry("textless", "Now with text."),
            entry("dropped", "G."),
            drawing("B"),
        ];
        let known = store.known_entries().expect("a file store has a view");
        let mut kept = next.clone();
        assert_eq!(known.drop_unchanged(feed, &mut kept), 4);
        assert_eq!(keys(&kept), ["edited", "author", "new", "excerpt", "textless", "dropped", "drawing"]);

        // What the writer makes of the whole document: the same seven.
        let report = store.save_feed(feed, &FetchState::default(), &tagged(&next), at(5)).unwrap();
        assert_eq!(report, SaveReport { new: 1, copies: 0, updated: 6 });
        // Another feed's entry of the same key is not this feed's.
        let other = store.upsert_feeds(&[("https://other.example/feed".into(), None)]).unwrap();
        let other = other.iter().find(|f| f.url.starts_with("https://other")).unwrap().id;
        let mut theirs = vec![entry("other-feed", "E.")];
        assert_eq!(known.drop_unchanged(other, &mut theirs), 0);
        // Once saved, the document is left out whole.
        let mut again = next.clone();
        assert_eq!(known.drop_unchanged(feed, &mut again), 11, "{:?}", keys(&again));
        assert!(again.is_empty());
    }

    fn head(e: &NewEntry) -> ItemHead<'_> {
        ItemHead {
            key: &e.key,
            title: &e.title,
            url: e.url.as_deref(),
            author: e.author.as_deref(),
            published: e.published,
            date_source: e.date_source,
            item_hash: e.item_hash.expect("a parsed item has a hash"),
        }
    }

    #[test]
    fn an_item_is_held_by_its_hash_while_its_stored_text_can_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_at(&dir.path().join("syndic.db")).unwrap();
        let feed = store.upsert_feeds(&[("https://bol.example/feed".into(), None)]).unwrap()[0].id;
        let hashed = |key: &str, hash: i64| NewEntry { item_hash: Some(hash), ..entry(key, key) };
        let undated = |published| NewEntry { published, date_source: DateSource::FirstSeen, ..hashed("undated", 4) };
        // "old" was stored before item hashes (migration 023).
        let first = [hashed("a", 1), entry("old", "old"), hashed("damaged", 3), undated(at(3)), hashed("deleted", 5)];
        store.save_feed(feed, &FetchState::default(), &tagged(&first), at(3)).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO tombstones (feed_id, entry_key, deleted_at) VALUES (1, 'deleted', 0);
                 DELETE FROM entries WHERE entry_key = 'deleted';
                 UPDATE entries SET body = substr(body, 1, length(body) / 2) WHERE entry_key = 'damaged';",
            )
            .unwrap();
        let known = store.known_entries().unwrap();
        let mut look = known.look(feed).unwrap();
        assert!(look.holds(&head(&hashed("a", 1))));
        assert!(look.holds(&head(&undated(at(9)))), "dated when first seen");
        assert!(look.holds(&head(&hashed("deleted", 6))), "deleted for good");
        assert!(!look.holds(&head(&hashed("a", 2))), "other texts");
        assert!(!look.holds(&head(&NewEntry { title: "Corrected".into(), ..hashed("a", 1) })));
        assert!(!look.holds(&head(&NewEntry { url: None, ..hashed("a", 1) })));
        assert!(!look.holds(&head(&NewEntry { author: None, ..hashed("a", 1) })));
        assert!(!look.holds(&head(&NewEntry { published: at(2), ..hashed("a", 1) })));
        assert!(!look.holds(&head(&hashed("old", 7))), "stored without a hash");
        assert!(!look.holds(&head(&hashed("damaged", 3))), "its text is stored again");
        assert!(!look.holds(&head(&hashed("new", 8))));

        // Compared by its HTML, the entry stored without a hash is unchanged:
        // its hash is handed to the writer, and the next look holds it.
        let mut parsed = vec![hashed("old", 7), hashed("damaged", 3), hashed("new", 8)];
        assert_eq!(look.drop_unchanged(&mut parsed), 1);
        assert_eq!(keys(&parsed), ["damaged", "new"]);
        assert_eq!(look.finish(), [(EntryKey("old".into()), 7)]);
        store.record_item_hashes(feed, &[(EntryKey("old".into()), 7)]).unwrap();
        let report = store.save_feed(feed, &FetchState::default(), &tagged(&parsed), at(4)).unwrap();
        assert_eq!(report, SaveReport { new: 1, copies: 0, updated: 1 });
        let mut look = known.look(feed).unwrap();
        for (key, hash) in [("old", 7), ("damaged", 3), ("new", 8)] {
            assert!(look.holds(&head(&hashed(key, hash))), "{key}");
        }
        // What `doctor --repair` drops, it drops with its hash.
        drop(look);
        store.conn.execute_batch("UPDATE entries SET body = x'09' WHERE entry_key = 'a'").unwrap();
        store.repair().unwrap();
        assert!(!known.look(feed).unwrap().holds(&head(&hashed("a", 1))));
    }

    #[test]
    fn a_feed_whose_every_item_changed_has_only_a_few_stored_texts_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_at(&dir.path().join("syndic.db")).unwrap();
        let feed = store.upsert_feeds(&[("https://bol.example/feed".into(), None)]).unwrap()[0].id;
        let doc = |n: usize, text: &str| (0..n).map(|i| entry(&format!("k{i}"), text)).collect::<Vec<_>>();
        store.save_feed(feed, &FetchState::default(), &tagged(&doc(10, "Comments: 1.")), at(3)).unwrap();
        let known = store.known_entries().unwrap();
        // Every item changed (and a new one): four compared, the rest kept unread.
        let mut look = known.look(feed).unwrap();
        let mut changed = doc(11, "Comments: 2.");
        assert_eq!(look.drop_unchanged(&mut changed), 0);
        assert_eq!((changed.len(), look.compared()), (11, ALL_CHANGED_AFTER));
        // One unchanged among the first four: every stored entry is compared.
        let mut look = known.look(feed).unwrap();
        let mut mixed = doc(11, "Comments: 2.");
        mixed[2] = entry("k2", "Comments: 1.");
        assert_eq!(look.drop_unchanged(&mut mixed), 1);
        assert_eq!((mixed.len(), look.compared()), (10, 10));
    }

    #[test]
    fn the_writer_records_the_item_hash_of_an_entry_it_finds_unchanged() {
        // As the parse worker does (`Look::finish`), for the entries it left to the writer.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_at(&dir.path().join("syndic.db")).unwrap();
        let feed = store.upsert_feeds(&[("https://bol.example/feed".into(), None)]).unwrap()[0].id;
        store.save_feed(feed, &FetchState::default(), &tagged(&[entry("a", "A.")]), at(3)).unwrap();
        let hashed = NewEntry { item_hash: Some(9), ..entry("a", "A.") };
        let report =
            store.save_feed(feed, &FetchState::default(), &tagged(std::slice::from_ref(&hashed)), at(4)).unwrap();
        assert_eq!(report, SaveReport::default());
        let (hash, updated_at): (Option<i64>, i64) = store
            .conn
            .query_row("SELECT item_hash, updated_at FROM entries", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((hash, updated_at), (Some(9), at(3).timestamp()), "the hash, and nothing else");
        assert!(store.known_entries().unwrap().look(feed).unwrap().holds(&head(&hashed)));
    }

    #[test]
    fn what_the_writer_has_not_committed_is_not_seen_and_so_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_at(&dir.path().join("syndic.db")).unwrap();
        let feed = store.upsert_feeds(&[("https://bol.example/feed".into(), None)]).unwrap()[0].id;
        let known = store.known_entries().unwrap();
        store.begin_batch().unwrap();
        let doc = vec![entry("a", "A.")];
        store.save_feed(feed, &FetchState::default(), &tagged(&doc), at(3)).unwrap();
        let mut seen = doc.clone();
        assert_eq!(known.drop_unchanged(feed, &mut seen), 0);
        store.commit_batch().unwrap();
        assert_eq!(known.drop_unchanged(feed, &mut seen), 1);
        // An in-memory store has no other connection to look through.
        assert!(Store::open_in_memory().unwrap().known_entries().is_none());
    }
}
