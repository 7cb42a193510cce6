//! The store's text dictionary (migration 014): trained once the store
//! holds [`DICTIONARY_MIN_ENTRIES`] entries, on the newest of them, then
//! used to pack every new entry's texts ([`super::body`]).
//!
//! A sync trains it after a batch commits (the parse workers pack with it
//! from then on) and, at its end, packs again with it the texts of its own
//! new entries that were packed before it existed
//! ([`Store::repack_texts_since`]), and those of the syncs before, unless
//! the store is large ([`Store::repack_from_with_a_new_dictionary`]).
//! Texts left without a dictionary stay readable, only larger.

use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension};

use super::body::{self, Dictionary};
use super::{Result, Store};

/// Entries a store holds before a dictionary is trained on them: enough
/// for zstd's trainer to tell recurring text from one article's own, few
/// enough that a new store gets one in its first sync of a few dozen feeds.
pub const DICTIONARY_MIN_ENTRIES: i64 = 1_000;

/// The newest entries a dictionary is trained on, at most (the 4 MiB of
/// [`SAMPLES_MAX_BYTES`] hold about 750 of the benchmark corpus's; 0.1 s).
const DICTIONARY_SAMPLES: i64 = 2_000;

/// Bytes of an entry's payload trained on: its start (the plain texts, then
/// the HTML), so that a few very long entries do not make up the sample.
const SAMPLE_BYTES: usize = 16 * 1024;

/// Most bytes trained on in all, about 64 times the dictionary: on the
/// benchmark corpus a dictionary trained on 4 MiB packs 1.4% larger than
/// one trained on 9 MiB, and training holds the samples in memory (with
/// zstd's trainer's own 10 MiB of tables) while a sync runs.
const SAMPLES_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Most entries with text a store without a dictionary holds for its first
/// dictionary to pack all their texts again, those of the syncs before as
/// well as the sync's own ([`Store::repack_from_with_a_new_dictionary`]):
/// a store gets its dictionary once it holds [`DICTIONARY_MIN_ENTRIES`],
/// so one with more has none for want of training (a trainer that failed
/// on its texts) or is one upgraded from before dictionaries, whose texts
/// a sync would take minutes to pack.
const REPACK_ALL_MAX_ENTRIES: i64 = 4 * DICTIONARY_MIN_ENTRIES;

/// Texts [`Store::repack_texts_since`] reads at a time (about 2.5 MB of
/// the benchmark corpus's, and as much again packed).
const REPACK_CHUNK: usize = 512;

/// The stored texts `bodies` (entry id, packed body) packed again with
/// `dictionary`, in order: `None` for one that does not unpack. Split
/// between the cores (at most 4): a sync does this at its end, when the
/// parse workers are done, and compression is nearly all of its cost.
fn pack_again(bodies: &[(i64, Vec<u8>)], dictionary: &Dictionary) -> Vec<Option<body::Packed>> {
    let one = |part: &[(i64, Vec<u8>)]| -> Vec<Option<body::Packed>> {
        part.iter().map(|(_, b)| body::unpack(b).ok().map(|t| body::pack_with(&t, Some(dictionary)))).collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let per = bodies.len().div_ceil(threads).max(1);
    let mut parts = bodies.chunks(per);
    let Some(first) = parts.next() else { return Vec::new() };
    std::thread::scope(|scope| {
        // A part whose thread cannot start is packed here; one whose thread
        // panicked is left as it was (readable, only larger).
        let others: Vec<_> = parts
            .map(|part| {
                (part, std::thread::Builder::new().name("syndic-repack".into()).spawn_scoped(scope, move || one(part)))
            })
            .collect();
        let mut out = one(first);
        for (part, handle) in others {
            match handle {
                Ok(h) => out.extend(h.join().unwrap_or_else(|_| vec![None; part.len()])),
                Err(_) => out.extend(one(part)),
            }
        }
        out
    })
}

/// Records `from` as meta `texts_repack_from` unless a lower entry is
/// recorded already (a sync killed while training noted its own start).
fn note_repack_from(conn: &rusqlite::Connection, from: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('texts_repack_from', ?1)
         ON CONFLICT(key) DO UPDATE SET value = MIN(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
        [from.to_string()],
    )?;
    Ok(())
}

/// What a text dictionary is trained on ([`Store::dictionary_samples`]).
pub struct Samples {
    /// The samples end to end.
    data: Vec<u8>,
    sizes: Vec<usize>,
}

/// A dictionary trained on [`Samples`], to be stored
/// ([`Store::store_text_dictionary`]).
pub struct Trained {
    dictionary: Dictionary,
    samples: usize,
    elapsed: std::time::Duration,
}

impl Samples {
    /// Trains a dictionary on them (about 0.1 s on 4 MiB); `None` if zstd's
    /// trainer fails (too few or too alike, logged).
    pub fn train(self) -> Option<Trained> {
        let started = std::time::Instant::now();
        let dictionary = Dictionary::train_continuous(&self.data, &self.sizes)?;
        Some(Trained { dictionary, samples: self.sizes.len(), elapsed: started.elapsed() })
    }
}

impl Store {
    /// Reads the store's dictionaries into the process's registry (every
    /// text that names one can then be read) and keeps the newest for
    /// packing. A damaged one is skipped with a warning: the texts packed
    /// with it read as damaged (`doctor` names them).
    pub(super) fn load_text_dictionaries(&mut self) -> Result<()> {
        self.dictionary = load_text_dictionaries(&self.conn)?.or(self.dictionary);
        Ok(())
    }
}

/// Reads the dictionaries stored in `conn` into the process's registry;
/// returns the newest readable one. A row that is not a readable dictionary
/// (damaged bytes, not even a blob) is skipped with a warning: the texts
/// packed with it read as damaged, the store still opens.
pub(super) fn load_text_dictionaries(conn: &rusqlite::Connection) -> Result<Option<&'static Dictionary>> {
    let mut newest = None;
    {
        let mut stmt = conn.prepare("SELECT id, data FROM text_dictionaries ORDER BY created, id")?;
        let rows: Vec<(i64, Option<Vec<u8>>)> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    match r.get_ref(1)? {
                        ValueRef::Blob(b) => Some(b.to_vec()),
                        _ => None,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (id, data) in rows {
            let Some(data) = data else {
                tracing::warn!(row = id, "a text dictionary is not a blob");
                continue;
            };
            match Dictionary::from_bytes(data) {
                Ok(d) if i64::from(d.id()) == id => newest = Some(body::register(d)),
                Ok(d) => {
                    tracing::warn!(row = id, id = d.id(), "a text dictionary does not have the id it is stored under")
                }
                Err(e) => tracing::warn!(row = id, error = %e, "a text dictionary cannot be read"),
            }
        }
    }
    Ok(newest)
}

impl Store {
    /// Reads again the dictionaries stored since the store was opened: a
    /// sync running meanwhile may have trained one, and the texts it packs
    /// with it are unreadable to a process that does not know it (shown
    /// without text, judged by their titles by `[filters]`, dropped as
    /// damaged by `doctor --repair`).
    pub fn reload_text_dictionaries(&mut self) -> Result<()> {
        self.load_text_dictionaries()
    }

    /// The dictionary new entry texts are packed with, if the store has one.
    pub fn text_dictionary(&self) -> Option<&'static Dictionary> {
        self.dictionary
    }

    /// Trains the store's text dictionary if it has none and holds at least
    /// [`DICTIONARY_MIN_ENTRIES`] entries with text; returns it if trained.
    /// Its own transaction: call it between batches. The entries after
    /// `repack_from` are to be packed again with it: until
    /// [`Store::repack_texts_since`] has done so, the store remembers it
    /// (meta `texts_repack_from`, in the dictionary's transaction), so that
    /// a sync killed in between has the next one do it
    /// ([`Store::repack_pending_texts`]).
    pub fn train_text_dictionary_due_from(&mut self, repack_from: i64) -> Result<Option<&'static Dictionary>> {
        self.train_text_dictionary(DICTIONARY_MIN_ENTRIES, repack_from)
    }

    /// [`Store::train_text_dictionary_due_from`] with nothing stored so far
    /// to pack again.
    pub fn train_text_dictionary_if_due(&mut self) -> Result<Option<&'static Dictionary>> {
        let last = self.last_entry_id()?;
        self.train_text_dictionary(DICTIONARY_MIN_ENTRIES, last)
    }

    pub(crate) fn train_text_dictionary(
        &mut self,
        min_entries: i64,
        repack_from: i64,
    ) -> Result<Option<&'static Dictionary>> {
        let Some(samples) = self.dictionary_samples(min_entries)? else {
            return Ok(None);
        };
        match samples.train() {
            Some(trained) => self.store_text_dictionary(trained, repack_from),
            None => Ok(None),
        }
    }

    /// The entry after which the texts are to be packed again when a sync
    /// that starts after entry `last_before` trains the store's first
    /// dictionary: 0 (all of them; the syncs before packed them fast,
    /// without a dictionary) unless the store holds more than
    /// [`REPACK_ALL_MAX_ENTRIES`] entries with text, then `last_before`
    /// (the sync's own). `last_before` if the store has a dictionary.
    pub fn repack_from_with_a_new_dictionary(&self, last_before: i64) -> Result<i64> {
        self.repack_from_with_a_new_dictionary_within(last_before, REPACK_ALL_MAX_ENTRIES)
    }

    /// [`Store::repack_from_with_a_new_dictionary`], all texts packed again
    /// in a store of at most `max_entries`.
    fn repack_from_with_a_new_dictionary_within(&self, last_before: i64, max_entries: i64) -> Result<i64> {
        if self.dictionary.is_some() {
            return Ok(last_before);
        }
        let held: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM entries WHERE body IS NOT NULL LIMIT ?1)",
            [max_entries + 1],
            |r| r.get(0),
        )?;
        Ok(if held <= max_entries { 0 } else { last_before })
    }

    /// What the store's text dictionary is to be trained on, if it has none
    /// and holds at least `min_entries` entries with text: the start of the
    /// newest entries' texts ([`DICTIONARY_SAMPLES`], [`SAMPLES_MAX_BYTES`]
    /// in all). The training itself ([`Samples::train`]) needs no store: a
    /// sync runs it on a thread of its own while it goes on writing.
    pub fn dictionary_samples(&self, min_entries: i64) -> Result<Option<Samples>> {
        if self.dictionary.is_some() {
            return Ok(None);
        }
        let held: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM entries WHERE body IS NOT NULL LIMIT ?1)",
            [min_entries],
            |r| r.get(0),
        )?;
        if held < min_entries {
            return Ok(None);
        }
        // The samples end to end in one buffer, newest first.
        let (mut data, mut sizes) = (Vec::new(), Vec::new());
        let mut stmt =
            self.conn.prepare("SELECT body FROM entries WHERE body IS NOT NULL ORDER BY id DESC LIMIT ?1")?;
        let mut rows = stmt.query([DICTIONARY_SAMPLES])?;
        while let Some(row) = rows.next()? {
            let ValueRef::Blob(bytes) = row.get_ref(0)? else { continue };
            let room = SAMPLES_MAX_BYTES - data.len();
            if let Ok(n) = body::append_payload(bytes, SAMPLE_BYTES.min(room), &mut data) {
                sizes.push(n);
            }
            if data.len() >= SAMPLES_MAX_BYTES {
                break;
            }
        }
        Ok(Some(Samples { data, sizes }))
    }

    /// Stores `trained` ([`Samples::train`]) as the store's text dictionary
    /// and packs new texts with it; returns it (the one stored under its id
    /// already, if another process trained the same; `None` if that one
    /// cannot be read). The entries after
    /// `repack_from` are to be packed again with it: until
    /// [`Store::repack_texts_since`] has done so, the store remembers it
    /// (meta `texts_repack_from`, in the dictionary's transaction), so that
    /// a sync killed in between has the next one do it
    /// ([`Store::repack_pending_texts`]).
    pub fn store_text_dictionary(&mut self, trained: Trained, repack_from: i64) -> Result<Option<&'static Dictionary>> {
        let Trained { dictionary, samples, elapsed } = trained;
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        note_repack_from(&tx, repack_from)?;
        // Packing texts again in place leaves their pages part empty: the
        // store is compacted once that is done (`Store::compact_if_pending`).
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('compact_pending', ?1)",
            [super::COMPACT_ATTEMPTS.to_string()],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO text_dictionaries (id, data, created, samples) VALUES (?1, ?2, strftime('%s', 'now'), ?3)",
            params![dictionary.id(), dictionary.as_bytes(), samples as i64],
        )?;
        // Stored under its id already (the same samples trained elsewhere):
        // the stored one is the one texts name.
        let stored: Option<Vec<u8>> = tx
            .query_row("SELECT data FROM text_dictionaries WHERE id = ?1", [dictionary.id()], |r| r.get(0))
            .optional()?;
        tx.commit()?;
        let dictionary = match stored {
            Some(bytes) if bytes != dictionary.as_bytes() => match Dictionary::from_bytes(bytes) {
                Ok(d) => d,
                Err(_) => return Ok(None),
            },
            _ => dictionary,
        };
        let dictionary = body::register(dictionary);
        tracing::debug!(
            id = dictionary.id(),
            bytes = dictionary.as_bytes().len(),
            samples,
            training_ms = elapsed.as_millis() as u64,
            "text dictionary trained"
        );
        self.dictionary = Some(dictionary);
        Ok(Some(dictionary))
    }

    /// Packs again, with the store's dictionary, the texts of the entries
    /// stored after entry `after` that were packed without it (those a sync
    /// packed before its dictionary was trained); returns how many. One
    /// transaction; a text that does not unpack is left as it is. The
    /// texts are read [`REPACK_CHUNK`] at a time and compressed on every
    /// core ([`pack_again`]).
    pub fn repack_texts_since(&mut self, after: i64) -> Result<usize> {
        self.repack_texts_in_chunks(after, REPACK_CHUNK)
    }

    /// [`Store::repack_texts_since`], reading `chunk` texts at a time.
    fn repack_texts_in_chunks(&mut self, after: i64, chunk: usize) -> Result<usize> {
        let Some(dictionary) = self.dictionary else {
            return Ok(0);
        };
        // Immediate: a deferred transaction that reads, then writes, cannot
        // wait for another writer (SQLite answers "busy" at once, whatever
        // the busy timeout), and the whole sync failed at its very end.
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut repacked = 0;
        {
            let mut read =
                tx.prepare("SELECT id, body FROM entries WHERE id > ?1 AND body IS NOT NULL ORDER BY id LIMIT ?2")?;
            let mut update = tx.prepare("UPDATE entries SET body = ?2 WHERE id = ?1")?;
            let mut from = after;
            loop {
                let (mut seen, mut texts) = (0, Vec::new());
                let mut rows = read.query(params![from, chunk as i64])?;
                while let Some(row) = rows.next()? {
                    seen += 1;
                    from = row.get(0)?;
                    let ValueRef::Blob(bytes) = row.get_ref(1)? else { continue };
                    if body::dictionary_id(bytes) != Some(dictionary.id()) {
                        texts.push((from, bytes.to_vec()));
                    }
                }
                drop(rows);
                if seen == 0 {
                    break;
                }
                for ((id, old), new) in texts.iter().zip(pack_again(&texts, dictionary)) {
                    // A text too short to compress stays as it is: not rewritten.
                    if let Some(new) = new.filter(|new| new.as_bytes() != old.as_slice()) {
                        update.execute(params![id, new.as_bytes()])?;
                        repacked += 1;
                    }
                }
            }
        }
        // Done from the entry the dictionary's training named, or before it.
        tx.execute("DELETE FROM meta WHERE key = 'texts_repack_from' AND CAST(value AS INTEGER) >= ?1", [after])?;
        tx.commit()?;
        Ok(repacked)
    }

    /// Remembers that the entries after `after` are to be packed again
    /// once the store has a dictionary (meta `texts_repack_from`; the
    /// lowest noted stands): a sync calls it when it starts training one
    /// on a thread of its own, so that a sync killed before the dictionary
    /// is stored has the next one pack its texts
    /// ([`Store::repack_pending_texts`]).
    pub fn note_texts_to_repack_after(&mut self, after: i64) -> Result<()> {
        note_repack_from(&self.conn, after)
    }

    /// How many entries with text [`Store::repack_pending_texts`] has to
    /// pack again (after meta `texts_repack_from`): 0 when none is noted.
    pub fn texts_waiting_for_the_dictionary(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM entries WHERE body IS NOT NULL
               AND id > (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'texts_repack_from')",
            [],
            |r| r.get(0),
        )?)
    }

    /// Packs again the texts a sync killed after training the dictionary
    /// (or starting to) left without it (see
    /// [`Store::train_text_dictionary_if_due`]); returns how many.
    pub fn repack_pending_texts(&mut self) -> Result<usize> {
        let from: Option<i64> = self
            .conn
            .query_row("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'texts_repack_from'", [], |r| r.get(0))
            .optional()?;
        match from {
            Some(from) if self.dictionary.is_some() => self.repack_texts_since(from),
            _ => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{DateSource, EntryId, EntryKey, NewEntry};
    use crate::store::{FetchState, TaggedEntry};

    /// An article of a made-up site: its own words, the site's markup and footer.
    fn article(n: u64, dictionary: Option<&Dictionary>) -> TaggedEntry {
        let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let words: Vec<String> = (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("w{}", x % 3_000)
            })
            .collect();
        let text = format!("{}\n\nThe post appeared first on The Harbor Gazette.", words.join(" "));
        TaggedEntry::packed_with(
            NewEntry {
                key: EntryKey(format!("guid:{n}")),
                title: format!("Article {n}"),
                url: Some(format!("https://gazette.example/{n}")),
                author: None,
                published: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(n as i64),
                date_source: DateSource::Published,
                summary_html: None,
                summary_text: None,
                content_html: Some(format!("<div class=\"entry-content\"><p>{text}</p></div>")),
                content_text: Some(text),
                source_url: None,
                text_hash: None,
                item_hash: None,
            },
            vec![],
            dictionary,
        )
    }

    /// The first dictionary packs again the texts of the syncs before in a
    /// small store, only the sync's own in a large one, none once the store
    /// has one.
    #[test]
    fn the_first_dictionary_packs_again_all_texts_of_a_small_store() {
        let mut s = Store::open_in_memory().unwrap();
        let feed = s.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        assert_eq!(s.repack_from_with_a_new_dictionary(0).unwrap(), 0, "an empty store");
        let first: Vec<TaggedEntry> = (0..150).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &first, now).unwrap();
        assert_eq!(s.repack_from_with_a_new_dictionary(150).unwrap(), 0);
        assert_eq!(s.repack_from_with_a_new_dictionary_within(150, 150).unwrap(), 0);
        assert_eq!(s.repack_from_with_a_new_dictionary_within(150, 149).unwrap(), 150, "a large store");
        s.train_text_dictionary(150, 0).unwrap().expect("150 entries: enough");
        assert_eq!(s.repack_from_with_a_new_dictionary(150).unwrap(), 150, "it has one");
    }

    fn bodies(s: &Store) -> Vec<(i64, Vec<u8>)> {
        let mut stmt = s.conn.prepare("SELECT id, body FROM entries ORDER BY id").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn a_dictionary_is_trained_once_enough_entries_are_stored_and_texts_are_packed_again_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let mut s = Store::open_at(&path).unwrap();
        let feed = s.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let first: Vec<TaggedEntry> = (0..150).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &first, now).unwrap();
        assert!(s.train_text_dictionary(200, 0).unwrap().is_none(), "150 entries: too few");
        assert!(s.text_dictionary().is_none());
        let trained = s.train_text_dictionary(150, 0).unwrap().expect("150 entries: enough");
        assert_eq!(s.text_dictionary().map(Dictionary::id), Some(trained.id()));
        assert!(s.train_text_dictionary(150, 0).unwrap().is_none(), "trained once");

        // Entries packed with it from then on; those before it packed again.
        let later: Vec<TaggedEntry> = (150..200).map(|n| article(n, Some(trained))).collect();
        s.save_feed(feed, &FetchState::default(), &later, now).unwrap();
        let shown_before: Vec<String> = (1..=200).map(|id| s.entry(EntryId(id)).unwrap().unwrap().text).collect();
        let before = bodies(&s);
        assert!(before[..150].iter().all(|(_, b)| body::dictionary_id(b).is_none()));
        assert!(before[150..].iter().all(|(_, b)| body::dictionary_id(b) == Some(trained.id())));
        assert_eq!(s.repack_texts_since(100).unwrap(), 50, "the 50 entries after id 100 without it");
        assert_eq!(s.repack_texts_since(0).unwrap(), 100);
        assert_eq!(s.repack_texts_since(0).unwrap(), 0, "nothing left to pack again");
        let after = bodies(&s);
        assert!(after.iter().all(|(_, b)| body::dictionary_id(b) == Some(trained.id())));
        let (size_before, size_after): (usize, usize) =
            (before[..150].iter().map(|(_, b)| b.len()).sum(), after[..150].iter().map(|(_, b)| b.len()).sum());
        assert!(size_after * 10 < size_before * 9, "{size_after} bytes with it, {size_before} without");
        let shown_after: Vec<String> = (1..=200).map(|id| s.entry(EntryId(id)).unwrap().unwrap().text).collect();
        assert_eq!(shown_after, shown_before);
        assert!(shown_after[0].starts_with('w') && shown_after[0].ends_with("Harbor Gazette."));
        drop(s);

        // Opened again: the stored dictionary is the one used.
        let s = Store::open_at(&path).unwrap();
        assert_eq!(s.text_dictionary().map(Dictionary::id), Some(trained.id()));
        let stored: i64 = s.conn.query_row("SELECT COUNT(*) FROM text_dictionaries", [], |r| r.get(0)).unwrap();
        assert_eq!(stored, 1);
        assert_eq!(s.entry(EntryId(7)).unwrap().unwrap().text, shown_before[6]);
    }

    /// Read a few at a time and packed on several threads, the texts come
    /// out as packing each alone gives, every one of them.
    #[test]
    fn texts_packed_again_in_chunks_on_several_threads_are_those_packed_one_by_one() {
        let mut s = Store::open_in_memory().unwrap();
        let feed = s.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let first: Vec<TaggedEntry> = (0..150).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &first, now).unwrap();
        let trained = s.train_text_dictionary(150, 0).unwrap().expect("trained");
        // Entries 151 to 160 packed with it already: read, not rewritten.
        let later: Vec<TaggedEntry> = (150..160).map(|n| article(n, Some(trained))).collect();
        s.save_feed(feed, &FetchState::default(), &later, now).unwrap();
        let wanted: Vec<Vec<u8>> = bodies(&s)
            .iter()
            .map(|(_, b)| body::pack_with(&body::unpack(b).unwrap(), Some(trained)).as_bytes().to_vec())
            .collect();
        assert_eq!(s.repack_texts_in_chunks(3, 7).unwrap(), 147, "entries 4 to 150");
        let after = bodies(&s);
        assert!(after[..3].iter().all(|(_, b)| body::dictionary_id(b).is_none()), "entries 1 to 3 kept");
        let after: Vec<Vec<u8>> = after.into_iter().map(|(_, b)| b).collect();
        assert_eq!(after[3..], wanted[3..]);
    }

    #[test]
    fn a_damaged_dictionary_leaves_its_texts_damaged_not_the_store_unopenable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let s = Store::open_at(&path).unwrap();
        s.conn
            .execute(
                "INSERT INTO text_dictionaries (id, data, created, samples) VALUES (12345678, x'00112233', 0, 0)",
                [],
            )
            .unwrap();
        drop(s);
        let s = Store::open_at(&path).unwrap();
        assert!(s.text_dictionary().is_none());
    }

    /// A dictionary this process has not read, as another process (a sync)
    /// trains and stores it: samples of `article`, under the id `id`.
    fn foreign_dictionary(id: u32) -> Dictionary {
        let samples: Vec<Vec<u8>> = (9_000..9_300)
            .map(|n| {
                let t = article(n, None);
                body::payload(t.stored.0.as_bytes(), usize::MAX).unwrap()
            })
            .collect();
        let mut bytes = zstd::dict::from_samples(&samples, body::DICTIONARY_SIZE).unwrap();
        bytes[4..8].copy_from_slice(&id.to_le_bytes());
        Dictionary::from_bytes(bytes).unwrap()
    }

    /// What a sync in another process leaves after the store was opened
    /// here: its dictionary stored, entries packed with it.
    fn store_from_elsewhere(s: &mut Store, d: &Dictionary) {
        s.conn
            .execute(
                "INSERT INTO text_dictionaries (id, data, created, samples) VALUES (?1, ?2, 0, 300)",
                params![d.id(), d.as_bytes()],
            )
            .unwrap();
        let feed = s.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let entries: Vec<TaggedEntry> = (0..20).map(|n| article(n, Some(d))).collect();
        s.save_feed(feed, &FetchState::default(), &entries, now).unwrap();
    }

    #[test]
    fn repair_does_not_drop_texts_packed_with_a_dictionary_stored_since_the_store_was_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let mut s = Store::open_at(&path).unwrap();
        store_from_elsewhere(&mut s, &foreign_dictionary(0x7fff_fe01));
        s.repair().unwrap();
        let kept: i64 =
            s.conn.query_row("SELECT COUNT(*) FROM entries WHERE body IS NOT NULL", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, 20, "texts dropped as damaged");
        assert!(s.entry(EntryId(3)).unwrap().unwrap().text.ends_with("Harbor Gazette."));
    }

    #[test]
    fn filters_judge_texts_packed_with_a_dictionary_stored_since_the_store_was_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let mut s = Store::open_at(&path).unwrap();
        store_from_elsewhere(&mut s, &foreign_dictionary(0x7fff_fe02));
        let report = s
            .apply_filters("rules", &std::collections::HashMap::new(), |_, t| t.content.contains("Harbor Gazette"))
            .unwrap();
        assert_eq!((report.evaluated, report.changed), (20, 20), "judged by their titles alone");
    }

    #[test]
    fn a_dictionary_with_damaged_tables_or_not_a_blob_leaves_the_store_openable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let s = Store::open_at(&path).unwrap();
        let mut damaged = foreign_dictionary(0x7fff_fe03).as_bytes().to_vec();
        for b in &mut damaged[8..40] {
            *b ^= 0xff;
        }
        s.conn
            .execute(
                "INSERT INTO text_dictionaries (id, data, created, samples) VALUES (?1, ?2, 0, 0)",
                params![0x7fff_fe03u32, damaged],
            )
            .unwrap();
        s.conn
            .execute("INSERT INTO text_dictionaries (id, data, created, samples) VALUES (5, 'text', 0, 0)", [])
            .unwrap();
        drop(s);
        let s = Store::open_at(&path).unwrap();
        assert!(s.text_dictionary().is_none());
    }

    /// `doctor`'s check of the entry texts: whether it passed, and what it says.
    fn texts_check(s: &Store) -> (bool, String) {
        let check = s.doctor().unwrap().into_iter().find(|c| c.name == "entry texts").unwrap();
        (check.ok, check.detail)
    }

    /// A sync killed between training the dictionary and packing its texts
    /// again: the next one packs them (the store remembered where from), and
    /// `doctor` says so until then.
    #[test]
    fn texts_left_by_a_sync_killed_after_training_are_packed_again_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let mut s = Store::open_at(&path).unwrap();
        let feed = s.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let old: Vec<TaggedEntry> = (0..100).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &old, now).unwrap();
        // This "sync" stored entries 101 to 150, then trained, then died.
        let first: Vec<TaggedEntry> = (100..150).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &first, now).unwrap();
        let trained = s.train_text_dictionary(150, 100).unwrap().expect("trained");
        drop(s);
        let mut s = Store::open_at(&path).unwrap();
        assert_eq!(
            texts_check(&s),
            (true, "no damaged entry texts; 50 entries' texts wait to be packed with the store's text dictionary (a sync stopped early): the next sync does it".to_owned())
        );
        assert_eq!(s.repack_pending_texts().unwrap(), 50, "entries 101 to 150");
        assert_eq!(s.repack_pending_texts().unwrap(), 0, "done once");
        assert_eq!(texts_check(&s), (true, "no damaged entry texts".to_owned()));
        let b = bodies(&s);
        assert!(b[..100].iter().all(|(_, b)| body::dictionary_id(b).is_none()), "entries before the sync kept");
        assert!(b[100..].iter().all(|(_, b)| body::dictionary_id(b) == Some(trained.id())));
    }

    /// A sync killed while its dictionary was training (noted, not
    /// stored): the next trains one at its start and packs the texts of
    /// both syncs.
    #[test]
    fn texts_left_by_a_sync_killed_while_training_are_packed_again_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let mut s = Store::open_at(&path).unwrap();
        let feed = s.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let old: Vec<TaggedEntry> = (0..100).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &old, now).unwrap();
        // This "sync" stored entries 101 to 150, started training, then died.
        let first: Vec<TaggedEntry> = (100..150).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &first, now).unwrap();
        s.note_texts_to_repack_after(100).unwrap();
        drop(s);
        // The next stores 10 more, trained at its start from its own first entry.
        let mut s = Store::open_at(&path).unwrap();
        assert_eq!(
            texts_check(&s),
            (true, "no damaged entry texts; 50 entries' texts wait to be packed with the store's text dictionary (a sync stopped early): the sync that trains the dictionary does it".to_owned())
        );
        // While another process syncs (holds the lock), they are its own.
        let running = Store::open_at(&path).unwrap();
        let lock = running.lock_for_sync(std::time::Duration::ZERO).unwrap();
        assert_eq!(
            texts_check(&s),
            (true, "no damaged entry texts; 50 entries' texts wait to be packed with the store's text dictionary (a sync is running): it does it at its end".to_owned())
        );
        drop((lock, running));
        let trained = s.train_text_dictionary(150, 150).unwrap().expect("trained");
        assert_eq!(s.meta("texts_repack_from").unwrap().as_deref(), Some("100"), "the lower one stands");
        assert_eq!(s.repack_pending_texts().unwrap(), 50, "entries 101 to 150");
        assert_eq!(s.meta("texts_repack_from").unwrap(), None);
        let b = bodies(&s);
        assert!(b[..100].iter().all(|(_, b)| body::dictionary_id(b).is_none()), "entries before the syncs kept");
        assert!(b[100..].iter().all(|(_, b)| body::dictionary_id(b) == Some(trained.id())));
    }

    #[test]
    fn packing_again_waits_for_another_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syndic.db");
        let mut s = Store::open_at(&path).unwrap();
        let feed = s.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let first: Vec<TaggedEntry> = (0..150).map(|n| article(n, None)).collect();
        s.save_feed(feed, &FetchState::default(), &first, now).unwrap();
        s.train_text_dictionary(150, 0).unwrap().expect("trained");
        // Another connection (a `show` marking an entry read) holds the write lock a moment.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; UPDATE entries SET read_at = 1 WHERE id = 1;").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        assert_eq!(s.repack_texts_since(0).unwrap(), 150);
        release.join().unwrap();
    }
}
