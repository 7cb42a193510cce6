//! Copy detection's bookkeeping: paragraph counts (learnt boilerplate),
//! fingerprints and their index keys, candidate lookup, the verified pairs,
//! and the stories made of them. The decisions are the pure functions of
//! [`crate::dedup`] (is this pair the same article? which entry is the
//! original?) and [`crate::dedup::cluster`] (which entries form a story?):
//! this module loads what they need and writes what they decide.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Result, TaggedEntry};
use crate::dedup::cluster::{self, Node, Pair};
use crate::dedup::{self, Comparison, Fingerprint, OriginInfo, PairKind, Prepared, Reduced, Verdict};
use crate::text::comparable_words;
use crate::urls;

/// How far apart in time two versions of an article may be published.
#[derive(Debug, Clone)]
pub struct DedupSettings {
    pub window_days: i64,
    /// Which large tables the lookups read besides the staged ones: both,
    /// unless [`process`] found one empty (a new store's first sync).
    pub(crate) merged: Merged,
    /// The keys the large table `dedup_keys` holds, if read for the
    /// transaction these settings are used in ([`LargeKeys`]): a lookup of
    /// a key it does not hold reads the staged table only.
    pub(crate) large_keys: Option<Arc<LargeKeys>>,
}

impl Default for DedupSettings {
    fn default() -> Self {
        DedupSettings { window_days: 7, merged: Merged::BOTH, large_keys: None }
    }
}

/// The distinct keys of the large table `dedup_keys`, sorted, read in one
/// pass. A sync into a store of years looks up some 30 keys per new entry,
/// nearly all of which that table does not hold (a new article's shingles);
/// each such lookup still walked the table's B-tree (at a million entries,
/// 11 MB on 2,822 pages, more than the page cache holds), and those walks
/// were the most of the page reads that made a sync into a million entries
/// slower than into an empty store (180,000 of 422,000, evicting the pages
/// of the other tables). 528,000 distinct keys take 2 MB.
///
/// A key left out would lose a copy, so the set is used only where it is
/// known to hold every key of the table: read inside a write transaction
/// before it writes, it is checked at the start of every later one against
/// [`KeysStamp`] (another connection's commit, or a merge or swap of the
/// large tables on this one, made since it was read). Within a sync's
/// transactions the table only loses rows (an entry filed again), which
/// leaves the set a superset; a transaction rolled back leaves the table as
/// it was when the set was read, or a superset again.
#[derive(Debug)]
pub(crate) struct LargeKeys {
    keys: Vec<i32>,
    stamp: KeysStamp,
}

/// What [`LargeKeys`] were read from: the connection's `PRAGMA
/// data_version` (it changes when another connection commits) and the
/// store's count of merges and swaps of the large tables
/// ([`large_tables_changed`]), which this connection's own ones change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeysStamp {
    data_version: i64,
    merges: i64,
}

/// The store's count of merges and swaps of the large tables: a row of
/// `meta`, written in the merge's own transaction (so a merge rolled back
/// takes its counting back with it), kept by a compaction (a temporary
/// table was not: changing `temp_store` drops them all, and a count back
/// at 0 made an old set look right again; a review found that).
const MERGES_KEY: &str = "large_table_merges";

impl KeysStamp {
    fn now(conn: &Connection) -> Result<KeysStamp> {
        let merges = conn
            .prepare_cached("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1")?
            .query_row([MERGES_KEY], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
            .unwrap_or(0);
        let data_version = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        Ok(KeysStamp { data_version, merges })
    }
}

impl LargeKeys {
    /// Reads the keys of `dedup_keys`.
    fn read(conn: &Connection, stamp: KeysStamp) -> Result<LargeKeys> {
        let mut stmt = conn.prepare("SELECT key FROM dedup_keys")?;
        let mut keys: Vec<i32> = Vec::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            // A key that is not an integer of 32 bits (written by hand or
            // damaged) is not one of [`crate::dedup::Prepared::index_keys`]:
            // no lookup asks for it (and it must not fail the sync).
            if let rusqlite::types::ValueRef::Integer(k) = r.get_ref(0)? {
                if let Ok(k) = i32::try_from(k) {
                    if keys.last() != Some(&k) {
                        keys.push(k);
                    }
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        keys.shrink_to_fit();
        Ok(LargeKeys { keys, stamp })
    }

    /// Returns true if the table may hold `key` (false: it does not).
    fn may_hold(&self, key: i64) -> bool {
        i32::try_from(key).is_ok_and(|k| self.keys.binary_search(&k).is_ok())
    }

    /// How many distinct keys.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// The [`LargeKeys`] for the write transaction just begun on `conn` (before
/// it writes): `kept` if still right, else read again if `wanted`, else
/// none (every lookup reads the large table). `kept` is updated.
pub(crate) fn large_keys_for(
    conn: &Connection,
    kept: &mut Option<Arc<LargeKeys>>,
    wanted: bool,
) -> Result<Option<Arc<LargeKeys>>> {
    let stamp = KeysStamp::now(conn)?;
    if kept.as_ref().is_some_and(|k| k.stamp != stamp) {
        *kept = None;
    }
    if kept.is_none() && wanted {
        let started = std::time::Instant::now();
        let keys = LargeKeys::read(conn, stamp)?;
        tracing::debug!(keys = keys.keys.len(), elapsed = ?started.elapsed(), "lookup keys of the large table read");
        *kept = Some(Arc::new(keys));
    }
    Ok(kept.clone())
}

/// Records a change of the large tables' rows other than a delete (a merge,
/// a swap): a [`LargeKeys`] read before is read again.
fn large_tables_changed(conn: &Connection) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(COALESCE(CAST(value AS INTEGER), 0) + 1 AS TEXT)",
    )?
    .execute([MERGES_KEY])?;
    Ok(())
}

/// Whether each of the large tables `dedup_keys` and `paragraph_counts`
/// may hold rows. In a new store's first sync both are empty until its end
/// (a sync writes staged rows; only [`merge_staged`] writes the large
/// tables, after the sync's last batch), and a lookup that reads only the
/// staged table saves an index seek in an empty table per key and three per
/// paragraph count: some 7% of such a sync's CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Merged {
    pub(crate) keys: bool,
    pub(crate) counts: bool,
}

impl Merged {
    /// Read both tables: right whatever they hold.
    pub(crate) const BOTH: Merged = Merged { keys: true, counts: true };

    /// Which large tables hold a row now.
    pub(crate) fn probe(conn: &Connection) -> Result<Merged> {
        let holds = |table: &str| -> Result<bool> {
            Ok(conn.prepare_cached(&format!("SELECT 1 FROM {table} LIMIT 1"))?.exists([])?)
        };
        Ok(Merged { keys: holds("dedup_keys")?, counts: holds("paragraph_counts")? })
    }
}

/// An index key shared by more entries than this within the window says
/// nothing about any of them (a stock phrase, a feed of identical items): it
/// is not looked at. This also bounds the work per entry whatever the input.
const KEY_MAX_ENTRIES: usize = 64;

/// Entries with the same link, source or text looked at per entry: these are
/// exact equivalences, so linking to a few of them keeps the story connected.
const EXACT_MAX: usize = 16;

/// Index keys are kept for entries published up to this many days before
/// the end of the dedup window of the newest entry (see
/// [`forget_old_keys`]). A newcomer is looked up within its window, so what
/// is older only matters for entries that arrive weeks late (a feed's
/// archive): they are still grouped by exact evidence (link, text, source,
/// title) and by `dedup --rebuild`, which files every entry again.
pub const KEY_HORIZON_DAYS: i64 = 30;

/// Body keys two entries must share to be compared. One shared key is
/// usually a stock phrase ("the prime minister said on"): requiring two cuts
/// the comparisons per entry several times over. Versions of an article share
/// a dozen or more, a brief and its full version about nine; what is lost is
/// some short items carried inside roundups (a 100-word item shares two keys
/// with probability 0.8), which join no story anyway when the roundup
/// carries others (see dedup::cluster).
const BODY_MIN_SHARED_KEYS: usize = 2;

/// Candidates verified per entry at most, the best supported first.
const MAX_CANDIDATES: usize = 200;

const SECONDS_PER_DAY: i64 = 86_400;

/// Paragraphs a connection has found to be boilerplate, and those not yet
/// handed to the parse workers ([`crate::store::Store::take_learnt`]).
#[derive(Debug, Default)]
pub(crate) struct Learnt {
    pub set: HashSet<i64>,
    pub log: Vec<i64>,
}

impl Learnt {
    fn add(&mut self, key: i64) {
        if self.set.insert(key) {
            self.log.push(key);
        }
    }
}

/// What copy detection needs to know about a stored entry.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub id: i64,
    pub feed_id: i64,
    pub feed: String,
    pub feed_url: String,
    pub key: String,
    pub title: String,
    pub url: Option<String>,
    pub source_url: Option<String>,
    pub text_hash: Option<i64>,
    /// The hash of its title's words, as stored ([`title_key`]).
    pub title_key: Option<i64>,
    pub published: i64,
    /// The entry's plain text (empty unless loaded with it).
    pub body: String,
    /// Feed name and title, then hosts of the feed's site and of the entry's link.
    pub feed_names: Vec<String>,
    /// How many of `feed_names` are names (the rest are hosts).
    pub named: usize,
    /// Hosts of the feed's site and URL.
    pub own_hosts: Vec<String>,
    pub duplicate_of: Option<i64>,
    pub dup_reason: Option<String>,
    pub dup_score: Option<f64>,
    pub attribution: Option<String>,
}

impl Facts {
    /// The attribution it carries, unless it credits its own site (as
    /// WordPress's "appeared first on" does).
    fn credit(&self, p: &Prepared) -> Option<String> {
        p.attribution.clone().filter(|a| !dedup::credits(a, &self.feed_names))
    }

    fn origin(&self, attribution: Option<String>, fp: Option<&Fingerprint>, manual_copy: bool) -> OriginInfo {
        let own_site = self
            .url
            .as_deref()
            .and_then(site_host)
            .is_some_and(|h| self.own_hosts.iter().any(|o| *o == h || h.ends_with(&format!(".{o}"))));
        OriginInfo {
            id: self.id,
            url: self.url.clone(),
            source_url: self.source_url.clone(),
            attribution,
            feed_names: self.feed_names.clone(),
            named: self.named,
            own_site,
            manual_copy,
            published: self.published,
            truncated: fp.is_some_and(|f| f.truncated),
            words: fp.map_or(0, |f| f.words as usize),
            feed_url: self.feed_url.clone(),
            key: self.key.clone(),
        }
    }

    fn stable(&self) -> String {
        format!("{}\n{}", self.feed_url, self.key)
    }
}

/// How many URLs' hosts [`site_host`] keeps per thread before it starts over.
const SITE_HOSTS_KEPT: usize = 4_096;

thread_local! {
    /// Hosts of the URLs [`site_host`] parsed last. Copy detection asks for
    /// the same ones again and again (each entry's feed site and feed URL,
    /// a candidate's link each time it is a candidate): parsing them took
    /// 2.4% of the writer's instructions. Parsing is a pure function, so
    /// what is kept changes nothing but the time.
    static SITE_HOSTS: std::cell::RefCell<HashMap<String, Option<String>>> = std::cell::RefCell::default();
}

/// [`urls::site_host`], remembered per thread.
fn site_host(url: &str) -> Option<String> {
    SITE_HOSTS.with_borrow_mut(|hosts| {
        if let Some(host) = hosts.get(url) {
            return host.clone();
        }
        if hosts.len() >= SITE_HOSTS_KEPT {
            hosts.clear();
        }
        let host = urls::site_host(url);
        hosts.insert(url.to_owned(), host.clone());
        host
    })
}

/// [`facts_without_body`] with the entry's plain text.
pub(crate) fn facts(conn: &Connection, id: i64) -> Result<Option<Facts>> {
    let Some(mut f) = facts_without_body(conn, id)? else { return Ok(None) };
    // A damaged body compares as no text: one bad row must not fail every
    // sync that meets it (`show` and `list` report it).
    let plain = conn
        .prepare_cached("SELECT body FROM entries WHERE id = ?1")?
        .query_row([id], |r| Ok(super::entries::plain_texts(r.get_ref(0)?, usize::MAX)))?
        .unwrap_or_else(|e| {
            tracing::warn!(entry = id, error = %crate::error::StoreError::from(e), "comparing the entry without its text");
            Default::default()
        });
    f.body = plain.content.or(plain.summary).unwrap_or_default();
    Ok(Some(f))
}

/// What copy detection needs to know about a stored entry (`body` empty).
pub(crate) fn facts_without_body(conn: &Connection, id: i64) -> Result<Option<Facts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.feed_id, COALESCE(f.name, f.title, f.url), e.title, e.url, e.source_url, e.text_hash,
                e.published, f.name, f.title, f.site_url, f.url, e.entry_key,
                e.duplicate_of, e.dup_reason, e.dup_score, e.attribution, e.title_key
         FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.id = ?1",
    )?;
    let found = stmt
        .query_row([id], |r| {
            let url: Option<String> = r.get(4)?;
            let mut feed_names: Vec<String> = Vec::new();
            for n in [r.get::<_, Option<String>>(8)?, r.get::<_, Option<String>>(9)?].into_iter().flatten() {
                feed_names.push(n);
            }
            let named = feed_names.len();
            let site: Option<String> = r.get(10)?;
            let feed_url: String = r.get(11)?;
            let own_hosts: Vec<String> =
                [site.as_deref(), Some(feed_url.as_str())].into_iter().flatten().filter_map(site_host).collect();
            for u in [site.clone(), url.clone()].into_iter().flatten() {
                if let Some(h) = site_host(&u) {
                    feed_names.push(h);
                }
            }
            Ok(Facts {
                id: r.get(0)?,
                feed_id: r.get(1)?,
                feed: r.get(2)?,
                title: r.get(3)?,
                url,
                source_url: r.get(5)?,
                text_hash: r.get(6)?,
                // Not an integer (damaged): computed again from the title.
                title_key: match r.get_ref(17)? {
                    rusqlite::types::ValueRef::Integer(k) => Some(k),
                    _ => None,
                },
                published: r.get(7)?,
                body: String::new(),
                feed_names,
                named,
                own_hosts,
                feed_url,
                key: r.get(12)?,
                duplicate_of: r.get(13)?,
                dup_reason: r.get(14)?,
                dup_score: r.get(15)?,
                attribution: r.get(16)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// A paragraph's sample of entry ids: each a LEB128 number (an id of a
/// million entries in 3 bytes), so that SQL appends one by concatenation
/// (migration 016; 8 bytes each before).
pub(super) fn ids_to_blob(ids: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() * 3);
    for &id in ids {
        let mut v = id as u64;
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    out
}

/// The ids of [`ids_to_blob`]; a damaged end is left out.
pub(super) fn ids_from_blob(blob: &[u8]) -> Vec<i64> {
    let mut out = Vec::new();
    let (mut v, mut shift) = (0u64, 0u32);
    for &b in blob {
        if shift > 63 {
            break;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            out.push(v as i64);
            (v, shift) = (0, 0);
        } else {
            shift += 7;
        }
    }
    out
}

/// The ids of a sample stored before migration 016 (8 bytes each).
pub(super) fn ids_from_blob_before_016(blob: &[u8]) -> Vec<i64> {
    blob.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("chunks of 8"))).collect()
}

/// Migration 016: copies `paragraph_counts` into `paragraph_counts_16` with
/// 32-bit keys (the upper half of the old) and LEB128 samples. Rows of a
/// feed whose keys become one are merged: their counts added, boilerplate
/// if either was, their samples joined and cut to
/// [`dedup::BOILERPLATE_SAMPLES`] ids. Rows of feeds that no longer exist
/// (the cascade would have deleted them) and rows of values syndic never
/// writes (not an integer key or count, not a blob sample) are left out.
pub(super) fn convert_paragraph_counts_before_016(tx: &Connection) -> Result<()> {
    use rusqlite::types::ValueRef;
    // In key order: the rows whose new keys are one are next to each other
    // (the new key is the old one shifted), so they are merged as they come.
    let mut read = tx.prepare(
        "SELECT hash, feed_id, entries, boilerplate, sample FROM paragraph_counts
         WHERE feed_id IN (SELECT id FROM feeds) ORDER BY hash, feed_id",
    )?;
    let mut write = tx.prepare(
        "INSERT INTO paragraph_counts_16 (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // The rows of the current key, by feed: (entries, boilerplate, ids).
    type Counts = (i64, bool, Vec<i64>);
    let mut key: Option<i64> = None;
    let mut group: Vec<(i64, Counts)> = Vec::new();
    let mut flush = |key: i64, group: &mut Vec<(i64, Counts)>| -> Result<()> {
        for (feed, (entries, boilerplate, ids)) in group.drain(..) {
            write.execute(params![key, feed, entries, i64::from(boilerplate), ids_to_blob(&ids)])?;
        }
        Ok(())
    };
    let mut skipped = 0usize;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let (ValueRef::Integer(hash), ValueRef::Integer(feed), ValueRef::Integer(entries), ValueRef::Integer(flag)) =
            (row.get_ref(0)?, row.get_ref(1)?, row.get_ref(2)?, row.get_ref(3)?)
        else {
            skipped += 1;
            continue;
        };
        let sample = match row.get_ref(4)? {
            ValueRef::Blob(b) => b,
            _ => {
                skipped += 1;
                continue;
            }
        };
        let new_key = hash >> 32;
        if key != Some(new_key) {
            if let Some(k) = key {
                flush(k, &mut group)?;
            }
            key = Some(new_key);
        }
        let ids = ids_from_blob_before_016(sample);
        match group.iter_mut().find(|(f, _)| *f == feed) {
            Some((_, (n, b, kept))) => {
                *n = n.saturating_add(entries);
                *b |= flag != 0;
                for id in ids {
                    if kept.len() < dedup::BOILERPLATE_SAMPLES && !kept.contains(&id) {
                        kept.push(id);
                    }
                }
            }
            None => {
                let mut kept = ids;
                kept.truncate(dedup::BOILERPLATE_SAMPLES);
                group.push((feed, (entries, flag != 0, kept)));
            }
        }
    }
    if let Some(k) = key {
        flush(k, &mut group)?;
    }
    if skipped > 0 {
        tracing::warn!(rows = skipped, "paragraph counts of values syndic never writes were left out");
    }
    Ok(())
}

/// Returns true if and only if the paragraph `key` is known boilerplate of
/// some feed (a copy carries its original site's footer too).
fn is_boilerplate(conn: &Connection, key: i64) -> Result<bool> {
    Ok(conn.prepare_cached(IS_BOILERPLATE_SQL)?.exists([key])?)
}

/// Whether a paragraph is boilerplate of some feed: in the large table or
/// in the counts staged since the last merge (see [`merge_staged`]).
const IS_BOILERPLATE_SQL: &str = "SELECT 1 FROM paragraph_counts WHERE hash = ?1 AND boilerplate = 1
    UNION ALL SELECT 1 FROM paragraph_counts_staged WHERE hash = ?1 AND boilerplate = 1 LIMIT 1";

/// Every paragraph known to be boilerplate, in either table.
const BOILERPLATE_KEYS_SQL: &str = "SELECT hash FROM paragraph_counts WHERE boilerplate = 1
    UNION ALL SELECT hash FROM paragraph_counts_staged WHERE boilerplate = 1";

/// The entry's comparison data, with the boilerplate known now.
pub(crate) fn comparison(conn: &Connection, reduced: Reduced) -> Result<Comparison> {
    let mut known = HashMap::new();
    for key in reduced.paragraph_keys() {
        known.insert(key, is_boilerplate(conn, key)?);
    }
    Ok(Comparison::new(reduced, |k| known.get(&k).copied().unwrap_or(false)))
}

/// Every paragraph known to be boilerplate (of any feed), for the parse
/// workers to compute comparison data with.
pub(crate) fn boilerplate_keys(conn: &Connection) -> Result<HashSet<i64>> {
    let mut stmt = conn.prepare_cached(BOILERPLATE_KEYS_SQL)?;
    let keys = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(keys)
}

/// Adds entry `id`'s paragraphs to its feed's counts; returns the paragraphs
/// that just became boilerplate.
pub(crate) fn count_paragraphs(
    conn: &Connection,
    merged: Merged,
    feed_id: i64,
    id: i64,
    reduced: &Reduced,
) -> Result<Vec<i64>> {
    // Per paragraph, its count read and written again: counted, and the
    // entry added to the sample of those that carry it while the sample has
    // room. The count is staged (see [`merge_staged`]): the paragraph's
    // first count of this sync starts from the large table's row, if there
    // is one (not read while that table is empty, [`Merged`]). Two plain
    // statements, not one `INSERT ... ON CONFLICT ... RETURNING`: SQLite
    // buffers what RETURNING returns in a temporary table, which made each
    // count cost half as much again.
    // Each statement taken from the cache once for the entry's paragraphs,
    // not once per paragraph.
    let mut staged = conn.prepare_cached(
        "SELECT entries, boilerplate, sample FROM paragraph_counts_staged WHERE hash = ?1 AND feed_id = ?2",
    )?;
    let mut update = conn.prepare_cached(
        "UPDATE paragraph_counts_staged SET entries = ?3, sample = ?4 WHERE hash = ?1 AND feed_id = ?2",
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO paragraph_counts_staged (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut large = match merged.counts {
        true => Some(conn.prepare_cached(
            "SELECT entries, boilerplate, sample FROM paragraph_counts WHERE hash = ?1 AND feed_id = ?2",
        )?),
        false => None,
    };
    let me = ids_to_blob(&[id]);
    let mut learnt = Vec::new();
    for key in reduced.paragraph_keys() {
        let (n, known, sample) = match staged.query_row(params![key, feed_id], count_row).optional()? {
            Some((n, known, sample)) => {
                let sample = sample_with(n, sample, &me);
                update.execute(params![key, feed_id, n + 1, sample])?;
                (n + 1, known, sample)
            }
            None => {
                let merged_row = match &mut large {
                    Some(large) => large.query_row(params![key, feed_id], count_row).optional()?,
                    None => None,
                };
                let (n, known, sample) = match merged_row {
                    Some((n, known, sample)) => (n + 1, known, sample_with(n, sample, &me)),
                    None => (1, false, me.clone()),
                };
                insert.execute(params![key, feed_id, n, known, sample])?;
                (n, known, sample)
            }
        };
        if known || n < dedup::BOILERPLATE_MIN_ENTRIES {
            continue;
        }
        let mut ids = ids_from_blob(&sample);
        ids.dedup();
        if distinct_articles_around(conn, key, &ids)? >= dedup::BOILERPLATE_MIN_ENTRIES as usize {
            conn.prepare_cached("UPDATE paragraph_counts_staged SET boilerplate = 1 WHERE hash = ?1 AND feed_id = ?2")?
                .execute(params![key, feed_id])?;
            learnt.push(key);
        }
    }
    Ok(learnt)
}

/// A paragraph count's row: entries, boilerplate, sample (a sample that is
/// not a blob, which syndic never writes, is read as its bytes).
fn count_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, bool, Vec<u8>)> {
    let sample = match r.get_ref(2)? {
        rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => b.to_vec(),
        _ => Vec::new(),
    };
    Ok((r.get(0)?, r.get(1)?, sample))
}

/// The sample of a paragraph counted `entries` times, once one more entry
/// (`me`, as [`ids_to_blob`] writes it) is counted: with it while it has
/// room ([`dedup::BOILERPLATE_SAMPLES`] entries, ten bytes each at most).
fn sample_with(entries: i64, mut sample: Vec<u8>, me: &[u8]) -> Vec<u8> {
    if entries < dedup::BOILERPLATE_SAMPLES as i64 && sample.len() < 10 * dedup::BOILERPLATE_SAMPLES {
        sample.extend_from_slice(me);
    }
    sample
}

/// Never called during [`process`], whose lookups skip a large table it
/// found empty at its start ([`Merged`]).
///
/// Moves the lookup keys, paragraph counts and exact keys staged by syncs
/// into the large tables (a staged count replaces the large table's row: it started
/// from it), each table once its staged rows are [`MERGE_FRACTION`] of
/// its rows or more. A sync calls it at its end, after dropping old keys
/// ([`forget_old_keys`]); until merged, staged rows are read as they are.
///
/// Why staged: the large tables are keyed by hashes, so each new entry's
/// rows land on pages all over them. Written there directly, every
/// transaction of a sync into a store of years dirtied (and logged, and
/// checkpointed) most of their pages again; staged, a sync's transactions
/// write the pages of its own rows, and the merge visits each page of the
/// large table once, in key order.
/// Why not at every sync's end: a merge visits nearly every page of the
/// large table whether it moves 2,000 rows or 200,000 (at a million
/// entries, 2.7 million paragraph counts on some 13,000 pages: 0.8 s), so
/// the rows of many syncs are merged at once. Returns the lookup keys,
/// paragraph counts and exact keys merged.
pub(crate) fn merge_staged(conn: &Connection) -> Result<Merges> {
    merge_staged_from(conn, MERGE_FRACTION)
}

/// A table's staged rows are merged into it once they are at least this
/// share of its rows: the staged tables stay small (their pages are those
/// a sync's transactions write), and a store of a million entries merges
/// its paragraph counts every 330,000 or so (some 35,000 new entries, at
/// nine counts each) and
/// its keys every 80,000 (some 2,500 new entries), instead of at each sync.
pub(crate) const MERGE_FRACTION: (i64, i64) = (1, 8);

/// Exact keys staged are merged once they are this many too (unless the
/// merge is asked for whatever their number): their table is never
/// swapped with the staged one, so a new store's first sync would move
/// every row it staged (2% of its writer's instructions at 60 feeds) to
/// save nothing; a staged table of this size is 2 MB.
pub(crate) const EXACT_MERGE_MIN: i64 = 65_536;

/// The staged rows [`merge_staged`] moved, per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Merges {
    pub(crate) keys: usize,
    pub(crate) counts: usize,
    pub(crate) exact: usize,
    /// The paragraph counts moved the other way (the large table was the
    /// smaller, and the two swapped names).
    pub(crate) counts_swapped: bool,
}

impl Merges {
    /// Lookup keys, paragraph counts and exact keys merged.
    pub(crate) fn rows(&self) -> (usize, usize, usize) {
        (self.keys, self.counts, self.exact)
    }
}

/// [`merge_staged`], merging a table once its staged rows are `fraction`
/// of its rows or more (`(0, 1)`: whatever their number).
pub(crate) fn merge_staged_from(conn: &Connection, fraction: (i64, i64)) -> Result<Merges> {
    let counts_due = merge_due(conn, "paragraph_counts", fraction, Swap::Allowed)?.is_some();
    merge_staged_deciding(conn, fraction, counts_due)
}

/// [`merge_staged_from`], with whether the paragraph counts merge decided
/// beforehand (see [`forget_old_keys`]).
fn merge_staged_deciding(conn: &Connection, fraction: (i64, i64), counts_due: bool) -> Result<Merges> {
    let (keys, _) =
        merge_table(conn, "dedup_keys", "key, day, entry_id", "", "", "OR IGNORE", fraction, Swap::Allowed)?;
    let (counts, counts_swapped) = if counts_due {
        merge_table(
            conn,
            "paragraph_counts",
            "hash, feed_id",
            ", entries, boilerplate, sample",
            "WHERE feed_id IN (SELECT id FROM feeds)",
            "OR REPLACE",
            (0, 1),
            Swap::Allowed,
        )?
    } else {
        (0, false)
    };
    // Not swapped: the triggers that file the exact keys name the tables,
    // and a renamed table takes the triggers' mentions of it along.
    let (exact, _) = merge_table(
        conn,
        "exact_keys",
        "key, day, entry_id",
        "",
        "WHERE entry_id IN (SELECT id FROM entries)",
        "OR IGNORE",
        fraction,
        Swap::Never,
    )?;
    Ok(Merges { keys, counts, exact, counts_swapped })
}

/// Whether [`merge_table`] may exchange a table with its staged one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Swap {
    Allowed,
    Never,
}

/// Merges `{table}_staged` into `table`, whose primary key is `key` and
/// other columns `values`, the rows that pass `valid` (a WHERE clause:
/// a count of a feed deleted behind syndic's back, foreign keys off, would
/// fail the whole merge, every sync); `conflict`: what a staged row does to
/// the large table's row of the same key; `fraction`: the share of the
/// large table's rows the staged ones must reach to be merged (see
/// [`merge_staged`]). Returns the staged rows merged (0 if they wait).
/// When the large table holds no more rows than the staged one (a new
/// store's first sync), its rows move instead, and the two tables swap
/// names: the fewer rows are moved either way (unless `swap` is
/// [`Swap::Never`]).
#[allow(clippy::too_many_arguments)]
fn merge_table(
    conn: &Connection,
    table: &str,
    key: &str,
    values: &str,
    valid: &str,
    conflict: &str,
    fraction: (i64, i64),
    swap: Swap,
) -> Result<(usize, bool)> {
    let columns = format!("{key}{values}");
    let staged_table = format!("{table}_staged");
    let Some((staged, large)) = merge_due(conn, table, fraction, swap)? else { return Ok((0, false)) };
    let swapped = large <= staged && swap == Swap::Allowed;
    large_tables_changed(conn)?;
    let (from, into, conflict) = if swapped {
        // The staged row wins a conflict either way.
        (table, staged_table.as_str(), "OR IGNORE")
    } else {
        (staged_table.as_str(), table, conflict)
    };
    // Row by row, in key order: one statement over every row would keep a
    // statement journal of every page it changes (tens of MB in memory at a
    // million entries) to undo it should it fail half way.
    let n = columns.split(',').count();
    let mut read = conn.prepare_cached(&format!("SELECT {columns} FROM {from} {valid} ORDER BY {key}"))?;
    let placeholders: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    let mut put = conn
        .prepare_cached(&format!("INSERT {conflict} INTO {into} ({columns}) VALUES ({})", placeholders.join(", ")))?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let values: Vec<rusqlite::types::Value> = (0..n).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
        put.execute(rusqlite::params_from_iter(values))?;
    }
    drop(rows);
    conn.prepare_cached(&format!("DELETE FROM {from}"))?.execute([])?;
    if from == table {
        swap_with_staged(conn, table)?;
    }
    Ok((staged as usize, swapped))
}

/// The most rows [`count_rows_up_to`] counts one by one: past about this
/// many, counting the whole table page by page takes less time (a review
/// measured 2.6 million paragraph counts: the whole table 24 ms, 65,537
/// rows one by one 3.1 ms, 160,001 rows 9.6 ms).
const COUNT_ROWS_MAX: i64 = 393_216;

/// The rows of `table`, counted no further than `limit` (the count reads
/// those rows' pages only) while that is at most [`COUNT_ROWS_MAX`]; past
/// it, all of them, which SQLite counts from its pages' cell counts
/// without reading each row: some ten times fewer instructions a row.
fn count_rows_up_to(conn: &Connection, table: &str, limit: i64) -> Result<i64> {
    Ok(if limit <= COUNT_ROWS_MAX {
        conn.prepare_cached(&format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT ?1)"))?
            .query_row([limit], |r| r.get(0))?
    } else {
        conn.prepare_cached(&format!("SELECT COUNT(*) FROM {table}"))?.query_row([], |r| r.get(0))?
    })
}

/// Whether [`merge_table`] merges `table`'s staged rows now: if so, how
/// many are staged and how many the large table holds (counted no further
/// than the decision needs).
fn merge_due(conn: &Connection, table: &str, fraction: (i64, i64), swap: Swap) -> Result<Option<(i64, i64)>> {
    let staged: i64 =
        conn.prepare_cached(&format!("SELECT COUNT(*) FROM {table}_staged"))?.query_row([], |r| r.get(0))?;
    if staged == 0 || (swap == Swap::Never && fraction.0 > 0 && staged < EXACT_MERGE_MIN) {
        return Ok(None);
    }
    // Counted no further than it matters: past `staged / fraction` rows
    // the staged ones wait ([`count_rows_up_to`]: at a million entries,
    // 65,536 staged exact keys or more had every sync's end step through
    // 524,288 of the large table's rows or more, up to 1.8 million, 550 M
    // instructions, 80 ms).
    // (Merged whatever their number: counted as far as the choice to swap
    // the tables needs, one row past the staged ones.)
    let most = if fraction.0 > 0 { staged.saturating_mul(fraction.1) / fraction.0 } else { staged };
    let large = count_rows_up_to(conn, table, most.saturating_add(1).max(staged + 1))?;
    if staged.saturating_mul(fraction.1) < large.saturating_mul(fraction.0) {
        return Ok(None);
    }
    Ok(Some((staged, large)))
}

/// Exchanges the names of `table` and `{table}_staged` (same columns, keys
/// and constraints). An index keeps its name when its table is renamed:
/// the paragraph counts' partial indexes are made again under the names of
/// their tables (the staged one is empty; the boilerplate rows are few), so
/// that the schema reads as migration 018 wrote it.
fn swap_with_staged(conn: &Connection, table: &str) -> Result<()> {
    large_tables_changed(conn)?;
    conn.execute_batch(&format!(
        "ALTER TABLE {table} RENAME TO {table}_swapping;
         ALTER TABLE {table}_staged RENAME TO {table};
         ALTER TABLE {table}_swapping RENAME TO {table}_staged;"
    ))?;
    if table == "paragraph_counts" {
        name_count_indexes_again(conn)?;
    }
    Ok(())
}

/// The paragraph counts' partial indexes made again under the names of
/// their tables (see [`swap_with_staged`]).
fn name_count_indexes_again(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DROP INDEX IF EXISTS paragraph_counts_boilerplate;
         DROP INDEX IF EXISTS paragraph_counts_staged_boilerplate;
         CREATE INDEX paragraph_counts_boilerplate ON paragraph_counts(hash) WHERE boilerplate = 1;
         CREATE INDEX paragraph_counts_staged_boilerplate ON paragraph_counts_staged(hash) WHERE boilerplate = 1;",
    )?;
    Ok(())
}

/// Puts `{table}_staged` in the place of `table`, whose rows have all moved
/// into it or gone, and makes a new, empty staged table from the old one's
/// SQL. `table` is dropped, not emptied: SQLite deletes the rows of a table
/// with a foreign key one by one when foreign keys are on (no truncation:
/// the 101,000 paragraph counts of a million-entry store cost 500 M
/// instructions), where dropping it frees its pages as they are.
fn replace_with_staged(conn: &Connection, table: &str) -> Result<()> {
    large_tables_changed(conn)?;
    let staged = format!("{table}_staged");
    let sql: String = conn
        .prepare_cached("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1")?
        .query_row([&staged], |r| r.get(0))?;
    conn.execute_batch(&format!("DROP TABLE {table}; ALTER TABLE {staged} RENAME TO {table};"))?;
    conn.execute_batch(&sql)?;
    if table == "paragraph_counts" {
        name_count_indexes_again(conn)?;
    }
    Ok(())
}

/// How many different articles the entries `ids` carry once the paragraph
/// `key` (and the boilerplate known now) is left out of each.
fn distinct_articles_around(conn: &Connection, key: i64, ids: &[i64]) -> Result<usize> {
    let mut articles: Vec<Fingerprint> = Vec::new();
    let mut distinct = 0;
    for id in ids {
        let Some(f) = facts(conn, *id)? else { continue };
        let reduced = dedup::reduce(&f.body);
        let mut known = HashMap::new();
        for k in reduced.paragraph_keys() {
            known.insert(k, k == key || is_boilerplate(conn, k)?);
        }
        let fp = reduced.prepare(|k| known.get(&k).copied().unwrap_or(false)).fingerprint();
        if !fp.is_comparable() {
            // Nothing but the paragraph: it is all the post has in common.
            distinct += 1;
            continue;
        }
        if !articles.iter().any(|a| dedup::verify(a, "", &fp, "").is_copy()) {
            articles.push(fp);
            distinct += 1;
        }
    }
    Ok(distinct)
}

/// The entries known to carry one of the paragraphs `keys` (in any feed).
fn entries_with_paragraphs(conn: &Connection, keys: &[i64]) -> Result<BTreeSet<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sample FROM paragraph_counts WHERE hash = ?1 UNION ALL SELECT sample FROM paragraph_counts_staged WHERE hash = ?1",
    )?;
    let mut out = BTreeSet::new();
    for k in keys {
        for blob in stmt.query_map([k], |r| r.get::<_, Vec<u8>>(0))? {
            out.extend(ids_from_blob(&blob?));
        }
    }
    Ok(out)
}

/// The kinds of exact keys (migration 021, tables `exact_keys` and
/// `exact_keys_staged`, filed by triggers on entries): a key is the hash
/// of an entry's link (`url_key`), text (`text_hash`) or title
/// (`title_key`) with its two low bits replaced by its kind, so that the
/// three share one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExactKey {
    Link = 1,
    Text = 2,
    Title = 3,
}

impl ExactKey {
    /// The key of `hash`, as the triggers file it (`(hash & -4) | kind`).
    pub(crate) fn of(self, hash: i64) -> i64 {
        (hash & -4) | self as i64
    }
}

pub(crate) fn title_key(title: &str) -> Option<i64> {
    let words = comparable_words(title);
    (words.len() >= 3)
        .then(|| xxhash_rust::xxh3::xxh3_64_with_seed(words.join(" ").as_bytes(), dedup::HASH_SEED) as i64)
}

/// Stores (or replaces) an entry's fingerprint and index keys, its title key
/// and the attribution it carries. Returns true if the fingerprint changed.
/// `is_new`: the entry has none yet (nothing to compare or remove).
/// `filing`: whether its keys are filed if it is dated before the horizon.
pub(crate) fn write_fingerprint(
    conn: &Connection,
    f: &Facts,
    c: &Comparison,
    is_new: bool,
    filing: Filing,
) -> Result<bool> {
    conn.prepare_cached("UPDATE entries SET attribution = ?2 WHERE id = ?1")?
        .execute(params![f.id, f.credit(&c.prepared)])?;
    // Set when the entry was stored (`store::entries::save_entry`); here
    // for an entry stored without it (by an older syndic). Only then: the
    // trigger that files it again (migration 021) runs for every row a
    // statement setting it updates.
    let key = f.title_key.or_else(|| title_key(&f.title));
    if key != f.title_key {
        conn.prepare_cached("UPDATE entries SET title_key = ?2 WHERE id = ?1")?.execute(params![f.id, key])?;
    }
    let data = c.fingerprint.encode();
    let keys = &c.keys;
    let day = f.published.div_euclid(SECONDS_PER_DAY);
    // A row syndic did not write (data that is not a blob, keys or day
    // that cannot be read) is filed again, not the sync failed ("Invalid
    // column type"): its unknown keys are deleted wherever they are.
    let old: Option<(Vec<u8>, Option<KeysOfDay>)> = if is_new {
        None
    } else {
        conn.prepare_cached("SELECT data, keys, day FROM fingerprints WHERE entry_id = ?1")?
            .query_row([f.id], |r| Ok((blob_or_empty(r, 0)?, stored_keys(r, 1, 2)?)))
            .optional()?
    };
    if let Some((old_data, old_keys)) = &old {
        // Unchanged, even when filed in an earlier form (compared as read:
        // the bytes differ, not the fingerprint). Such a fingerprint stays
        // in its form; refiling it would unpair and pair the entry again.
        let same_data = *old_data == data || Fingerprint::decode(old_data).as_ref() == Some(&c.fingerprint);
        match old_keys {
            Some((old_keys, old_day)) if same_data && old_keys == keys && *old_day == day => return Ok(false),
            Some((old_keys, old_day)) => delete_keys(conn, old_keys, *old_day, f.id)?,
            None => delete_all_keys_of(conn, f.id)?,
        }
    }
    let file_keys = match filing {
        Filing::Within { keys_from } => day >= keys_from,
        Filing::ThisSync { keys_from } => {
            if day < keys_from {
                lower_day_meta(conn, KEYS_BELOW_HORIZON, day)?;
            }
            true
        }
    };
    if file_keys {
        file_keys_staged(conn, keys, day, f.id)?;
    }
    // An upsert, not INSERT OR REPLACE: a replace deletes the old row, which
    // makes SQLite run the statement with a statement journal (a copy of
    // each page it changes), as it may cascade.
    conn.prepare_cached(
        "INSERT INTO fingerprints (entry_id, data, keys, day) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (entry_id) DO UPDATE SET data = excluded.data, keys = excluded.keys, day = excluded.day",
    )?
    .execute(params![f.id, data, dedup::encode_keys(keys), day])?;
    Ok(true)
}

/// Files an entry's lookup keys in the staged table, several rows to a
/// statement: an entry has some twenty keys, and one `INSERT` each spent
/// about half of its instructions binding, starting and resetting the
/// statement rather than inserting the row. The keys go in chunks of
/// [`KEY_CHUNKS`] rows (at most five statements an entry, each prepared
/// once), each row `INSERT OR IGNORE`d as before.
pub(super) fn file_keys_staged(conn: &Connection, keys: &[i64], day: i64, id: i64) -> Result<()> {
    let mut rest = keys;
    for (n, sql) in KEY_CHUNKS.iter().enumerate().map(|(i, sql)| (1 << (KEY_CHUNKS.len() - 1 - i), sql)) {
        if rest.len() < n {
            continue;
        }
        let mut ins = conn.prepare_cached(sql)?;
        while rest.len() >= n {
            let (chunk, tail) = rest.split_at(n);
            ins.raw_bind_parameter(1, day)?;
            ins.raw_bind_parameter(2, id)?;
            for (i, k) in chunk.iter().enumerate() {
                ins.raw_bind_parameter(i + 3, k)?;
            }
            ins.raw_execute()?;
            rest = tail;
        }
    }
    debug_assert!(rest.is_empty());
    Ok(())
}

/// The statements of [`file_keys_staged`]: 16, 8, 4, 2 and 1 rows; `?1` is
/// the day, `?2` the entry, the keys follow.
static KEY_CHUNKS: std::sync::LazyLock<[String; 5]> = std::sync::LazyLock::new(|| {
    [16, 8, 4, 2, 1].map(|n: usize| {
        let rows: Vec<String> = (0..n).map(|i| format!("(?{}, ?1, ?2)", i + 3)).collect();
        format!("INSERT OR IGNORE INTO dedup_keys_staged (key, day, entry_id) VALUES {}", rows.join(", "))
    })
});

/// Column `i` of `r` if it is a blob, else no bytes.
fn blob_or_empty(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    Ok(match r.get_ref(i)? {
        rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
        _ => Vec::new(),
    })
}

/// An entry's lookup keys and the day they are filed under.
type KeysOfDay = (Vec<i64>, i64);

/// A fingerprint row's lookup keys (column `keys`) and their day (column
/// `day`), or `None` if either is not as syndic writes it (a blob of 4-byte
/// keys; an integer).
fn stored_keys(r: &rusqlite::Row<'_>, keys: usize, day: usize) -> rusqlite::Result<Option<KeysOfDay>> {
    use rusqlite::types::ValueRef;
    Ok(match (r.get_ref(keys)?, r.get_ref(day)?) {
        (ValueRef::Blob(b), ValueRef::Integer(day)) if b.len() % 4 == 0 => Some((dedup::decode_keys(b), day)),
        _ => None,
    })
}

/// Deletes every lookup key of entry `id`, staged or merged, whatever its
/// day: for a fingerprint row whose keys cannot be read (two scans of the
/// key tables; syndic never writes such a row).
fn delete_all_keys_of(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM dedup_keys WHERE entry_id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM dedup_keys_staged WHERE entry_id = ?1")?.execute([id])?;
    Ok(())
}

/// Fingerprint rows that syndic would not read as one: data that is not a
/// blob or does not decode, keys that are not a blob of 4-byte keys, a day
/// that is not an integer (for `doctor`). Each such entry's copies may be
/// missed until `doctor --repair` (or a new text at its source) computes
/// it again.
pub(crate) fn damaged_fingerprints(conn: &Connection) -> Result<usize> {
    let mut stmt = conn.prepare("SELECT data, keys, day FROM fingerprints")?;
    let mut rows = stmt.query([])?;
    let mut damaged = 0;
    while let Some(r) = rows.next()? {
        let data_ok = match r.get_ref(0)? {
            rusqlite::types::ValueRef::Blob(b) => Fingerprint::decode(b).is_some(),
            _ => false,
        };
        damaged += usize::from(!(data_ok && stored_keys(r, 1, 2)?.is_some()));
    }
    Ok(damaged)
}

/// Which of its lookup keys [`write_fingerprint`] files for an entry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Filing {
    /// An entry of this sync (new, or changed at its source): its keys are
    /// filed whatever its day.
    /// Two entries of one sync then find each other whichever is written
    /// first: had the older of them, dated before the horizon, filed none,
    /// only its own lookup could find the pair, and the stories would hang on
    /// the order in which the feeds arrived. Keys dated before the horizon
    /// (`keys_from`, see [`keys_from`]) are recorded in meta
    /// [`KEYS_BELOW_HORIZON`] and dropped at the sync's end with their
    /// fingerprints ([`forget_old_keys`]).
    ThisSync { keys_from: i64 },
    /// An older entry whose fingerprint is computed again (a story
    /// regrouped, a paragraph it carries learnt as boilerplate): keys only
    /// within the horizon, as the store's other old entries have none. It
    /// is compared after the sync's new entries are in, and one dated
    /// before the horizon verifies again the partners it had.
    Within { keys_from: i64 },
}

/// Meta key: the first day whose lookup keys were filed though before the
/// horizon, by a sync that has not ended yet (or was interrupted): the next
/// [`forget_old_keys`] drops them, and keeps the fingerprints that list them
/// until then.
const KEYS_BELOW_HORIZON: &str = "dedup_keys_below_from";

/// Old lookup keys deleted at a time, sorted (1.2 MB).
const FORGET_CHUNK: usize = 50_000;

/// The first day whose index keys are filed: the keys of older entries
/// were dropped by [`forget_old_keys`].
pub(crate) fn keys_from(conn: &Connection) -> Result<i64> {
    day_from_meta(conn, "dedup_keys_from")
}

/// The first day whose entries keep a fingerprint though they are in no
/// large story (meta `fingerprints_from`, see [`forget_old_keys`]). A store
/// that has no such day yet (the first sync after an upgrade) keeps every
/// fingerprint it has, but may lack those before the keys' horizon: their
/// entries' fingerprints are computed again, as past the day.
pub(crate) fn fingerprints_from(conn: &Connection) -> Result<i64> {
    let recorded: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'fingerprints_from'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    match recorded.and_then(|v| v.parse().ok()) {
        Some(day) => Ok(day),
        None => keys_from(conn),
    }
}

fn day_from_meta(conn: &Connection, key: &str) -> Result<i64> {
    Ok(recorded_day(conn, key)?.unwrap_or(i64::MIN))
}

/// The day of meta `key`, if recorded.
fn recorded_day(conn: &Connection, key: &str) -> Result<Option<i64>> {
    let from: Option<String> =
        conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?;
    Ok(from.and_then(|v| v.parse().ok()))
}

/// Records `day` in meta `key` unless an earlier day is recorded.
fn lower_day_meta(conn: &Connection, key: &str, day: i64) -> Result<()> {
    if recorded_day(conn, key)?.is_none_or(|d| day < d) {
        set_day_meta(conn, key, day)?;
    }
    Ok(())
}

/// The first day from which a fingerprint past the horizon is kept to the
/// end of the sync, though its entry is in no large story: the fingerprints
/// of entries whose keys this sync filed list the keys [`forget_old_keys`]
/// drops. Before it (and before `fingerprints_from`), such a fingerprint
/// goes as soon as the entry's story is known.
fn fingerprints_dropped_before(conn: &Connection, fingerprints_from: i64) -> Result<i64> {
    Ok(recorded_day(conn, KEYS_BELOW_HORIZON)?.map_or(fingerprints_from, |d| d.min(fingerprints_from)))
}

fn set_day_meta(conn: &Connection, key: &str, day: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, day.to_string()])?;
    Ok(())
}

/// Past the keys' horizon, the members of a story this large keep their
/// fingerprints (see [`forget_old_keys`]); a smaller story's are computed
/// again when it is regrouped (a few milliseconds).
pub(crate) const KEEP_FINGERPRINTS_STORY: usize = 16;

/// A fingerprint row of an entry alone or in a story of fewer than
/// [`KEEP_FINGERPRINTS_STORY`] members (its original's copies counted
/// through `entries_by_duplicate_of`).
static IN_SMALL_STORY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "(SELECT COUNT(*) FROM entries c WHERE c.duplicate_of =
            (SELECT COALESCE(e.duplicate_of, e.id) FROM entries e WHERE e.id = fingerprints.entry_id)) + 1 < {}",
        KEEP_FINGERPRINTS_STORY
    )
});

/// Drops the index keys of entries published more than the window plus
/// [`KEY_HORIZON_DAYS`] before the newest entry filed (not after `now`: a
/// date in the future says nothing). The key table stays a few weeks long
/// whatever the size of the store. The entries are found by day through
/// their fingerprints, from the first day not yet forgotten (meta
/// `dedup_keys_from`), so each is visited once. The keys a sync filed
/// for its entries dated before the horizon go too ([`Filing::ThisSync`]).
/// Then the rows staged by the sync are merged ([`merge_staged`]).
/// Returns the number of keys dropped.
pub(crate) fn forget_old_keys(conn: &Connection, now: i64, settings: &DedupSettings) -> Result<usize> {
    let newest: Option<i64> = conn
        .prepare_cached("SELECT MAX(day) FROM fingerprints WHERE day <= ?1")?
        .query_row([now.div_euclid(SECONDS_PER_DAY) + 1], |r| r.get(0))?;
    let from = keys_from(conn)?;
    let below = recorded_day(conn, KEYS_BELOW_HORIZON)?;
    // Without a dated fingerprint, the horizon stays where it is.
    let cutoff = newest.map_or(from, |newest| newest - settings.window_days - KEY_HORIZON_DAYS);
    let end = cutoff.max(from);
    let start = below.map_or(from, |b| b.min(from));
    let dropped = if end > start { forget_keys_between(conn, start, from, end)? } else { 0 };
    if end > from {
        set_day_meta(conn, "dedup_keys_from", end)?;
    }
    // When the paragraph counts are due to be merged (the merge visits the
    // large table's pages anyway, so once per eighth of growth), the
    // paragraphs counted once past the horizon are forgotten first, in both
    // tables: the merge does not move rows only for them to be deleted (a
    // sync after five weeks without one would move most of the staged
    // rows into a table about to lose most of its own, and the smaller
    // table is the one whose rows move).
    // Decided once: forgetting can take the staged rows under their eighth,
    // and a sync that read the large table for its lone rows then merges
    // (a review found it could read it whole, sync after sync, and merge
    // nothing). Not in a young store's first merge, whose large table is
    // empty: what the staged one holds is new.
    let counts_due = merge_due(conn, "paragraph_counts", MERGE_FRACTION, Swap::Allowed)?.is_some();
    if counts_due && Merged::probe(conn)?.counts {
        let horizon = (settings.window_days + KEY_HORIZON_DAYS) * SECONDS_PER_DAY;
        let cutoff = now.saturating_sub(horizon);
        // The staged table's first: the large one's may take its rows.
        let forgotten = forget_lone_paragraphs(conn, "paragraph_counts_staged", cutoff)?
            + forget_large_lone_paragraphs(conn, cutoff)?;
        tracing::debug!(forgotten, "paragraphs counted once before the horizon forgotten");
    }
    // The old keys gone (fewer rows to move), the staged ones are merged.
    let merged = merge_staged_deciding(conn, MERGE_FRACTION, counts_due)?;
    let (keys, counts, exact) = merged.rows();
    tracing::debug!(keys, paragraph_counts = counts, exact_keys = exact, "staged copy-detection rows merged");
    // Then (the keys were read from them) the fingerprints of entries past
    // the horizon go too, but for the members of large stories: nothing
    // looks them up by key any more, and the few comparisons that still
    // meet such an entry (a late copy naming its link, its story regrouped)
    // compute its fingerprint again from its text ([`fingerprint_of`]). A
    // third of a store of years was these fingerprints. A large story's
    // members keep theirs: each sync that touches a story reads every
    // member's, and computing those of a 400-member story again made each
    // such sync four times slower. From the first day not yet visited (meta
    // `fingerprints_from`; those filed since for entries dated earlier go
    // when their story is regrouped, or here, below).
    // (The first time, from the first day: a store of an older syndic may
    // hold a few, written for entries dated before the horizon.)
    // Those of this sync's entries dated before the horizon were kept to
    // its end (they listed the keys just dropped), from the day in `below`.
    let fingerprints_from = day_from_meta(conn, "fingerprints_from")?;
    let (start, end) = (below.map_or(fingerprints_from, |b| b.min(fingerprints_from)), cutoff.max(fingerprints_from));
    if end > start {
        conn.prepare_cached(&format!("DELETE FROM fingerprints WHERE day >= ?1 AND day < ?2 AND {}", *IN_SMALL_STORY))?
            .execute([start, end])?;
        if end > fingerprints_from {
            set_day_meta(conn, "fingerprints_from", end)?;
        }
    }
    if below.is_some() {
        conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?.execute([KEYS_BELOW_HORIZON])?;
    }
    Ok(dropped)
}

/// The first entry first seen at ?1 or later, through the index on
/// `first_seen` (`+id`: `MIN(id)` alone walks the table in id order
/// instead, reading every older entry's row).
const FIRST_SEEN_SINCE_SQL: &str = "SELECT MIN(+id) FROM entries WHERE first_seen >= ?1";

/// Drops from `table` (the paragraph counts, large or staged) the
/// paragraphs a feed carried once, in an entry first seen before the time
/// `cutoff` (the key horizon's length before now, see
/// [`forget_old_keys`]); returns how many. Run when the counts are due to
/// be merged (the merge visits the large table's pages anyway), so once
/// per eighth of growth, just before (not in a young store's first
/// merge, whose large table is empty: what it counted is new). Nearly every paragraph of a news site is counted
/// once: at a million entries the table held 2.6 million such rows on
/// 12,800 pages, and each new paragraph's lookup read a page of them that
/// the page cache no longer held. Paragraphs counted twice or more stay:
/// they are a feed's footer in the making. What is lost: a paragraph
/// that comes back in the same feed after more than the horizon counts
/// from 1 again. An entry numbered below the first one first seen since
/// the cutoff was first seen before it (ids and first-seen times grow
/// together; not the dates, which a feed may move: one old entry dated
/// again would hold back every id after its own). Read in chunks, in key
/// order, to keep the memory bounded.
pub(crate) fn forget_lone_paragraphs(conn: &Connection, table: &str, cutoff: i64) -> Result<usize> {
    let below = first_seen_since(conn, cutoff)?;
    let mut delete = conn.prepare_cached(&format!("DELETE FROM {table} WHERE hash = ?1 AND feed_id = ?2"))?;
    let mut dropped = 0;
    each_lone_paragraph(conn, table, below, |old| {
        for (hash, feed) in old {
            dropped += delete.execute([hash, feed])?;
        }
        Ok(())
    })?;
    Ok(dropped)
}

/// The lone paragraphs [`forget_lone_paragraphs`] forgets (counted once, in
/// entries numbered below `below` only), handed to `doomed` a chunk at a
/// time, in key order; the chunk's rows may be deleted before the next is
/// read.
fn each_lone_paragraph(
    conn: &Connection,
    table: &str,
    below: i64,
    mut doomed: impl FnMut(&[(i64, i64)]) -> Result<()>,
) -> Result<()> {
    let mut read = conn.prepare_cached(&format!(
        "SELECT hash, feed_id, sample FROM {table} WHERE entries = 1 AND (hash, feed_id) > (?1, ?2)
         ORDER BY hash, feed_id LIMIT {LONE_CHUNK}"
    ))?;
    let mut after = (i64::MIN, i64::MIN);
    let mut old: Vec<(i64, i64)> = Vec::with_capacity(LONE_CHUNK);
    loop {
        old.clear();
        let mut last = None;
        let mut rows = read.query(params![after.0, after.1])?;
        while let Some(r) = rows.next()? {
            let key: (i64, i64) = (r.get(0)?, r.get(1)?);
            last = Some(key);
            if lone_before(1, &blob_or_empty(r, 2)?, below) {
                old.push(key);
            }
        }
        drop(rows);
        doomed(&old)?;
        match last {
            Some(key) => after = key,
            None => return Ok(()),
        }
    }
}

/// Paragraph counts read at a time by [`each_lone_paragraph`] and
/// [`forget_large_lone_paragraphs`].
const LONE_CHUNK: usize = 4096;

/// Whether a paragraph count (`entries`, `sample`) is one that
/// [`forget_lone_paragraphs`] forgets: counted once, in entries numbered
/// below `below` only.
fn lone_before(entries: i64, sample: &[u8], below: i64) -> bool {
    entries == 1 && ids_from_blob(sample).iter().all(|&id| id < below)
}

/// The first entry first seen at `cutoff` or later ([`i64::MAX`]: none).
fn first_seen_since(conn: &Connection, cutoff: i64) -> Result<i64> {
    let first: Option<i64> = conn.prepare_cached(FIRST_SEEN_SINCE_SQL)?.query_row([cutoff], |r| r.get(0))?;
    Ok(first.unwrap_or(i64::MAX))
}

/// [`forget_lone_paragraphs`] for the large table, run after the staged
/// one's. After weeks without a sync (the horizon moves weeks at once) the
/// lone paragraphs past it are most of the large table (at a million
/// entries, 100,000 of 101,000 rows, deleted one by one: 930 M instructions
/// of a 200-feed sync). The table is read once, its lone rows past the
/// horizon told from the others (up to 65,536 of the first and 16,384 of
/// the others held). When the lone ones are half of the rows or more, the
/// others move into the staged table instead (a staged row wins: it went on
/// from the large one's), and the staged table takes the large one's place
/// ([`replace_with_staged`]), as when old lookup keys are dropped
/// ([`forget_keys_between`]); else the lone ones are deleted where they are.
/// Past what is held, the table is read a second time. The rows of feeds
/// deleted behind syndic's back do not move. Returns how many rows went.
pub(crate) fn forget_large_lone_paragraphs(conn: &Connection, cutoff: i64) -> Result<usize> {
    forget_large_lone_paragraphs_holding(conn, cutoff, 65_536)
}

/// Rows held in memory up to a bound; past it, only counted.
struct Held<T> {
    rows: Vec<T>,
    seen: usize,
    most: usize,
}

impl<T> Held<T> {
    fn new(most: usize) -> Held<T> {
        Held { rows: Vec::new(), seen: 0, most }
    }

    /// Whether every row seen is held.
    fn all(&self) -> bool {
        self.seen <= self.most
    }

    fn push(&mut self, row: impl FnOnce() -> rusqlite::Result<T>) -> rusqlite::Result<()> {
        self.seen += 1;
        if self.all() {
            self.rows.push(row()?);
        } else if !self.rows.is_empty() {
            self.rows = Vec::new();
        }
        Ok(())
    }
}

/// A paragraph count's row as read to move it: its key, and its other
/// columns as they are (a damaged value moves as it is, unread).
type CountRow = (i64, i64, rusqlite::types::Value, rusqlite::types::Value, rusqlite::types::Value);

/// [`forget_large_lone_paragraphs`], holding at most `held_most` lone rows
/// and a quarter as many others (tests: fewer).
pub(crate) fn forget_large_lone_paragraphs_holding(conn: &Connection, cutoff: i64, held_most: usize) -> Result<usize> {
    let table = "paragraph_counts";
    let below = first_seen_since(conn, cutoff)?;
    let mut read = conn.prepare_cached(&format!(
        "SELECT hash, feed_id, entries, boilerplate, sample FROM {table} WHERE (hash, feed_id) > (?1, ?2)
         ORDER BY hash, feed_id LIMIT {LONE_CHUNK}"
    ))?;
    // Whether a row is counted once, in entries first seen before the cutoff.
    let lone = |r: &rusqlite::Row<'_>| -> rusqlite::Result<bool> {
        let entries = r.get_ref(2)?.as_i64().unwrap_or(0);
        Ok(entries == 1 && lone_before(entries, &blob_or_empty(r, 4)?, below))
    };
    let count_row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<CountRow> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    };
    // Each row read, in key order, a chunk at a time, to `each`.
    let mut each_row = |each: &mut dyn FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>| -> Result<()> {
        let mut after = (i64::MIN, i64::MIN);
        loop {
            let mut last = None;
            let mut rows = read.query(params![after.0, after.1])?;
            while let Some(r) = rows.next()? {
                last = Some((r.get(0)?, r.get(1)?));
                each(r)?;
            }
            match last {
                Some(key) => after = key,
                None => return Ok(()),
            }
        }
    };
    let (mut doomed, mut others) = (Held::<(i64, i64)>::new(held_most), Held::<CountRow>::new(held_most / 4));
    each_row(&mut |r| match lone(r)? {
        true => doomed.push(|| Ok((r.get(0)?, r.get(1)?))),
        false => others.push(|| count_row(r)),
    })?;
    if doomed.seen == 0 {
        return Ok(0);
    }
    if doomed.seen < others.seen {
        // Fewer than half: deleted where they are.
        if !doomed.all() {
            return forget_lone_paragraphs(conn, table, cutoff);
        }
        let mut delete = conn.prepare_cached(&format!("DELETE FROM {table} WHERE hash = ?1 AND feed_id = ?2"))?;
        let mut dropped = 0;
        for (hash, feed) in doomed.rows {
            dropped += delete.execute([hash, feed])?;
        }
        return Ok(dropped);
    }
    let feeds: HashSet<i64> =
        conn.prepare_cached("SELECT id FROM feeds")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut keep = conn.prepare_cached(
        "INSERT OR IGNORE INTO paragraph_counts_staged (hash, feed_id, entries, boilerplate, sample)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut moved = 0;
    let mut move_row = |(hash, feed, entries, boilerplate, sample): CountRow| -> rusqlite::Result<()> {
        if feeds.contains(&feed) {
            moved += keep.execute(params![hash, feed, entries, boilerplate, sample])?;
        }
        Ok(())
    };
    if others.all() {
        others.rows.into_iter().try_for_each(&mut move_row)?;
    } else {
        // Moved as they are read (into the other table).
        each_row(&mut |r| if lone(r)? { Ok(()) } else { move_row(count_row(r)?) })?;
    }
    replace_with_staged(conn, table)?;
    Ok((doomed.seen + others.seen).saturating_sub(moved))
}

/// Drops the keys of the days from `from` to `cutoff` (excluded): the
/// staged ones (staged since the last merge, at most an eighth of the large
/// table) by a scan; the large table's one by one, found through their
/// entries' fingerprints, or, when they are at least half of it (a sync
/// after weeks without one), by keeping the others: they move into the
/// staged table, which then takes the large one's name.
/// The large table holds no key dated before `keys_from` but those an older
/// syndic filed for a sync it did not finish: its share to drop is counted
/// from `keys_from` (the keys a sync files for its entries dated before it
/// are staged, and the fingerprints large stories keep past it list keys
/// dropped long ago), less the staged ones just dropped.
pub(crate) fn forget_keys_between(conn: &Connection, from: i64, keys_from: i64, cutoff: i64) -> Result<usize> {
    let counted_from = from.max(keys_from).min(cutoff);
    let mut staged = conn.prepare_cached("DELETE FROM dedup_keys_staged WHERE day >= ?1 AND day < ?2")?;
    let below = staged.execute([from, counted_from])?;
    let counted_staged = staged.execute([counted_from, cutoff])?;
    let mut dropped = below + counted_staged;
    let listed: i64 = conn
        .prepare_cached("SELECT COALESCE(SUM(length(keys)), 0) / 4 FROM fingerprints WHERE day >= ?1 AND day < ?2")?
        .query_row([counted_from, cutoff], |r| r.get(0))?;
    let doomed = listed.saturating_sub(counted_staged as i64).max(0);
    // Counted no further than it matters.
    let most = if doomed > 0 {
        count_rows_up_to(conn, "dedup_keys", doomed.saturating_mul(2).saturating_add(1))?
    } else {
        i64::MAX
    };
    if most <= 2 * doomed {
        let kept = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO dedup_keys_staged (key, day, entry_id)
                 SELECT key, day, entry_id FROM dedup_keys WHERE day < ?1 OR day >= ?2",
            )?
            .execute([from, cutoff])?;
        let all = conn.prepare_cached("DELETE FROM dedup_keys")?.execute([])?;
        swap_with_staged(conn, "dedup_keys")?;
        return Ok(dropped + all.saturating_sub(kept));
    }
    let mut old = conn.prepare_cached("SELECT entry_id, keys, day FROM fingerprints WHERE day >= ?1 AND day < ?2")?;
    let mut del = conn.prepare_cached("DELETE FROM dedup_keys WHERE key = ?1 AND day = ?2 AND entry_id = ?3")?;
    // Deleted in key order, a chunk at a time: the rows of one leaf page
    // go together instead of one page visited (and logged) per key.
    let mut chunk: Vec<(i64, i64, i64)> = Vec::with_capacity(FORGET_CHUNK);
    let mut flush = |chunk: &mut Vec<(i64, i64, i64)>| -> Result<usize> {
        chunk.sort_unstable();
        let mut n = 0;
        for (k, day, id) in chunk.drain(..) {
            n += del.execute(params![k, day, id])?;
        }
        Ok(n)
    };
    let mut rows = old.query(params![from, cutoff])?;
    let mut unreadable = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let Some((keys, day)) = stored_keys(r, 1, 2)? else {
            unreadable.push(id);
            continue;
        };
        chunk.extend(keys.into_iter().map(|k| (k, day, id)));
        if chunk.len() >= FORGET_CHUNK {
            dropped += flush(&mut chunk)?;
        }
    }
    dropped += flush(&mut chunk)?;
    drop(rows);
    // A row whose keys cannot be read (syndic never writes one; its day is
    // in the range, so the keys are old): all of the entry's go.
    for id in unreadable {
        dropped += conn.prepare_cached("DELETE FROM dedup_keys WHERE entry_id = ?1")?.execute([id])?;
    }
    Ok(dropped)
}

/// Removes the index keys of the entries `ids` (before they are deleted).
pub(crate) fn forget_keys(conn: &Connection, ids: &[i64]) -> Result<()> {
    let mut get = conn.prepare_cached("SELECT keys, day FROM fingerprints WHERE entry_id = ?1")?;
    for id in ids {
        match get.query_row([id], |r| stored_keys(r, 0, 1)).optional()? {
            Some(Some((keys, day))) => delete_keys(conn, &keys, day, *id)?,
            Some(None) => delete_all_keys_of(conn, *id)?,
            None => {}
        }
    }
    Ok(())
}

/// Deletes entry `id`'s lookup `keys` of `day`, staged or merged.
fn delete_keys(conn: &Connection, keys: &[i64], day: i64, id: i64) -> Result<()> {
    let mut merged = conn.prepare_cached("DELETE FROM dedup_keys WHERE key = ?1 AND day = ?2 AND entry_id = ?3")?;
    let mut staged =
        conn.prepare_cached("DELETE FROM dedup_keys_staged WHERE key = ?1 AND day = ?2 AND entry_id = ?3")?;
    for k in keys {
        staged.execute(params![k, day, id])?;
        merged.execute(params![k, day, id])?;
    }
    Ok(())
}

/// An entry's fingerprint: the stored one, or for an entry past the key
/// horizon, whose fingerprint [`forget_old_keys`] dropped, the one its text
/// gives with the boilerplate known now. `None`: no such entry, a damaged
/// fingerprint, or an entry within the horizon not fingerprinted yet (a new
/// entry of the batch, compared when its own turn comes).
pub(crate) fn fingerprint_of(conn: &Connection, id: i64) -> Result<Option<Rc<Fingerprint>>> {
    let mut stored = conn.prepare_cached(STORED_FINGERPRINT_SQL)?;
    fingerprint_with(conn, &mut stored, id)
}

/// [`fingerprint_of`] with its statement ([`STORED_FINGERPRINT_SQL`])
/// prepared by the caller, for a loop over candidates: taking it from the
/// statement cache and giving it back cost a fifth of each read.
fn fingerprint_with(
    conn: &Connection,
    stored: &mut rusqlite::Statement<'_>,
    id: i64,
) -> Result<Option<Rc<Fingerprint>>> {
    Ok(match found_fingerprint_with(conn, stored, id)? {
        Some(Found::Stored(fp)) => Some(fp),
        Some(Found::Computed(_, c)) => Some(Rc::new(c.fingerprint)),
        None => None,
    })
}

/// Where [`fingerprint_of`] found a fingerprint.
enum Found {
    /// Decoded from its stored bytes (or read again: [`Fingerprint::decode_shared`]).
    Stored(Rc<Fingerprint>),
    /// Computed again from the text of an entry past the horizon.
    Computed(Box<Facts>, Box<Comparison>),
}

/// What [`found_fingerprint`] reads first.
const STORED_FINGERPRINT_SQL: &str = "SELECT data FROM fingerprints WHERE entry_id = ?1";

fn found_fingerprint(conn: &Connection, id: i64) -> Result<Option<Found>> {
    let mut stored = conn.prepare_cached(STORED_FINGERPRINT_SQL)?;
    found_fingerprint_with(conn, &mut stored, id)
}

fn found_fingerprint_with(conn: &Connection, stored: &mut rusqlite::Statement<'_>, id: i64) -> Result<Option<Found>> {
    let stored = stored
        .query_row([id], |r| {
            Ok(match r.get_ref(0)? {
                rusqlite::types::ValueRef::Blob(bytes) => Some(Fingerprint::decode_shared(bytes)),
                _ => None,
            })
        })
        .optional()?;
    if let Some(Some(fp)) = stored {
        return Ok(fp.map(Found::Stored));
    }
    let published: Option<i64> =
        conn.prepare_cached("SELECT published FROM entries WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
    match published {
        Some(p) if p.div_euclid(SECONDS_PER_DAY) < fingerprints_from(conn)? => {
            let Some(f) = facts(conn, id)? else { return Ok(None) };
            let c = comparison(conn, dedup::reduce(&f.body))?;
            Ok(Some(Found::Computed(Box::new(f), Box::new(c))))
        }
        _ => Ok(None),
    }
}

/// The candidate lookups, their limits written into the SQL.
struct LookupSql {
    by_url: String,
    by_source: String,
    by_text: String,
    by_key: String,
    by_staged_key: String,
    /// Whether [`LookupSql::by_key`] finds more than [`KEY_MAX_ENTRIES`]
    /// entries, found in SQLite.
    more_by_key: String,
    more_by_staged_key: String,
    by_title: String,
}

static LOOKUP_SQL: std::sync::LazyLock<LookupSql> = std::sync::LazyLock::new(|| LookupSql {
    // The exact keys (migration 021) of both tables; a link is compared
    // itself on the rows found by its hash.
    by_url: format!(
        "SELECT k.entry_id FROM exact_keys k JOIN entries e ON e.id = k.entry_id
          WHERE k.key = ?3 AND k.day = 0 AND e.url = ?1 AND k.entry_id != ?2
         UNION ALL SELECT k.entry_id FROM exact_keys_staged k JOIN entries e ON e.id = k.entry_id
          WHERE k.key = ?3 AND k.day = 0 AND e.url = ?1 AND k.entry_id != ?2 LIMIT {EXACT_MAX}"
    ),
    by_source: format!("SELECT id FROM entries WHERE source_url = ?1 AND id != ?2 LIMIT {EXACT_MAX}"),
    by_text: format!(
        "SELECT entry_id FROM exact_keys WHERE key = ?1 AND day = 0 AND entry_id != ?2
         UNION ALL SELECT entry_id FROM exact_keys_staged WHERE key = ?1 AND day = 0 AND entry_id != ?2
         LIMIT {EXACT_MAX}"
    ),
    by_key: format!(
        "SELECT entry_id FROM dedup_keys WHERE key = ?1 AND day >= ?2 AND day <= ?3
         UNION ALL SELECT entry_id FROM dedup_keys_staged WHERE key = ?1 AND day >= ?2 AND day <= ?3 LIMIT {}",
        KEY_MAX_ENTRIES + 1
    ),
    by_staged_key: format!(
        "SELECT entry_id FROM dedup_keys_staged WHERE key = ?1 AND day >= ?2 AND day <= ?3 LIMIT {}",
        KEY_MAX_ENTRIES + 1
    ),
    // One row past the most a key may have, found by skipping the others
    // (SQLite steps over an OFFSET's rows without producing them: a third
    // of what counting them costs).
    more_by_key: format!(
        "SELECT 1 FROM (SELECT entry_id FROM dedup_keys WHERE key = ?1 AND day >= ?2 AND day <= ?3
         UNION ALL SELECT entry_id FROM dedup_keys_staged WHERE key = ?1 AND day >= ?2 AND day <= ?3)
         LIMIT 1 OFFSET {KEY_MAX_ENTRIES}"
    ),
    more_by_staged_key: format!(
        "SELECT 1 FROM dedup_keys_staged WHERE key = ?1 AND day >= ?2 AND day <= ?3 LIMIT 1 OFFSET {KEY_MAX_ENTRIES}"
    ),
    // Days ?5..?6 hold the times ?2..?3, checked on the entries found.
    by_title: format!(
        "SELECT k.entry_id FROM exact_keys k JOIN entries e ON e.id = k.entry_id
          WHERE k.key = ?1 AND k.day >= ?5 AND k.day <= ?6 AND e.published >= ?2 AND e.published <= ?3
            AND k.entry_id != ?4
         UNION ALL SELECT k.entry_id FROM exact_keys_staged k JOIN entries e ON e.id = k.entry_id
          WHERE k.key = ?1 AND k.day >= ?5 AND k.day <= ?6 AND e.published >= ?2 AND e.published <= ?3
            AND k.entry_id != ?4
         LIMIT {EXACT_MAX}"
    ),
});

/// Whether `key` is among this thread's [`COMMON_KEYS`] (tests).
#[cfg(test)]
pub(crate) fn is_common_key(key: i64) -> bool {
    COMMON_KEYS.with_borrow(|common| common.contains_key(&key))
}

/// Forgets this thread's [`COMMON_KEYS`] (tests).
#[cfg(test)]
pub(crate) fn forget_common_keys() {
    COMMON_KEYS.with_borrow_mut(|common| common.clear());
}

/// Keys this thread found too common to look up (more than
/// [`KEY_MAX_ENTRIES`] entries in a window), at most this many.
const COMMON_KEYS_KEPT: usize = 65_536;

thread_local! {
    /// Keys found too common by an earlier lookup on this thread: a hint,
    /// not a verdict. A lookup of one first asks SQLite whether it has more
    /// entries than that (one step, which skips the first ones in SQLite,
    /// where fetching them is one step and one row each), and fetches them
    /// only if they are few enough after all (in another
    /// window, in another store, or after some were dropped). So the hint
    /// changes only how a lookup's answer is read, never the answer. In the
    /// benchmark corpus's cold sync of 200 feeds, most of the rows the
    /// lookups fetched (9 in 10) were of keys shared by more than 64 entries.
    static COMMON_KEYS: std::cell::RefCell<IdMap<()>> = std::cell::RefCell::default();
}

/// The statements a sync runs per entry to look up candidates and keep the
/// key table short, for the query-plan test (`store::read::tests`).
#[cfg(test)]
pub(crate) fn sync_queries() -> Vec<(&'static str, String)> {
    vec![
        ("sync: same link", LOOKUP_SQL.by_url.clone()),
        ("sync: naming as source", LOOKUP_SQL.by_source.clone()),
        ("sync: same text", LOOKUP_SQL.by_text.clone()),
        ("sync: shared key", LOOKUP_SQL.by_key.clone()),
        ("sync: shared key, first sync", LOOKUP_SQL.by_staged_key.clone()),
        ("sync: entries of a common key", LOOKUP_SQL.more_by_key.clone()),
        ("sync: entries of a common key, first sync", LOOKUP_SQL.more_by_staged_key.clone()),
        ("sync: same title", LOOKUP_SQL.by_title.clone()),
        ("sync: is boilerplate", IS_BOILERPLATE_SQL.into()),
        ("sync: known boilerplate", BOILERPLATE_KEYS_SQL.into()),
        (
            "sync: a paragraph's staged count",
            "SELECT entries, boilerplate, sample FROM paragraph_counts_staged WHERE hash = ?1 AND feed_id = ?2".into(),
        ),
        (
            "sync: a paragraph's count",
            "SELECT entries, boilerplate, sample FROM paragraph_counts WHERE hash = ?1 AND feed_id = ?2".into(),
        ),
        (
            "sync: count a paragraph again",
            "UPDATE paragraph_counts_staged SET entries = ?3, sample = ?4 WHERE hash = ?1 AND feed_id = ?2".into(),
        ),
        ("sync: old keys", "SELECT entry_id, keys, day FROM fingerprints WHERE day >= ?1 AND day < ?2".into()),
        ("sync: newest key day", "SELECT MAX(day) FROM fingerprints WHERE day <= ?1".into()),
        ("sync: first entry since the horizon", FIRST_SEEN_SINCE_SQL.into()),
        ("sync: candidate", "SELECT data FROM fingerprints WHERE entry_id = ?1".into()),
        ("sync: candidate's title", "SELECT title FROM entries WHERE id = ?1".into()),
        (
            "sync: pairs",
            "SELECT a, b, kind, shorter, containment FROM dedup_pairs WHERE a = ?1
         UNION ALL SELECT a, b, kind, shorter, containment FROM dedup_pairs WHERE b = ?1"
                .into(),
        ),
    ]
}

/// Why an entry became a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// The entry's feed names the candidate's link as its source (or the other way).
    Source,
    /// Same canonical link.
    Link,
    /// Same normalised text.
    Text,
    /// Shared lead keys.
    Lead,
    /// Shared keys of the whole text.
    Body,
    /// The same normalised title.
    Title,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Source => "source",
            Via::Link => "link",
            Via::Text => "text",
            Via::Lead => "lead",
            Via::Body => "body",
            Via::Title => "title",
        }
    }
    /// The pair kind of explicit evidence, which needs no comparison of texts.
    fn explicit(self) -> Option<PairKind> {
        match self {
            Via::Source => Some(PairKind::Source),
            Via::Link => Some(PairKind::Link),
            Via::Text => Some(PairKind::Text),
            _ => None,
        }
    }
}

/// A map keyed by entry id, hashed by one multiplication (SipHash, the
/// default, was 2% of the writer's instructions in the candidate lookups).
type IdMap<V> = HashMap<i64, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Hashes an entry id: Fibonacci hashing, which spreads consecutive ids
/// over the high bits too (hashbrown tells slots apart by the top seven).
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A candidate: the entry, why it was found, and how strongly (shared keys).
pub type Hit = (i64, Via, usize);

/// Entries that may be the same article as `f` (any feed, its own too):
/// explicit evidence whenever published, shared keys and titles within the
/// window. Each lookup is symmetric: if `b` is found from `a`, `a` would be
/// found from `b`.
pub(crate) fn candidates(conn: &Connection, f: &Facts, c: &Comparison, settings: &DedupSettings) -> Result<Vec<Hit>> {
    let day = f.published.div_euclid(SECONDS_PER_DAY);
    let (lo, hi) = (day - settings.window_days, day + settings.window_days);
    let (t_lo, t_hi) =
        (f.published - settings.window_days * SECONDS_PER_DAY, f.published + settings.window_days * SECONDS_PER_DAY);
    let mut found: IdMap<(Via, usize)> = IdMap::default();
    let mut add = |id: i64, via: Via, n: usize| {
        if id == f.id {
            return;
        }
        let e = found.entry(id).or_insert((via, n));
        if via < e.0 {
            *e = (via, e.1.max(n));
        } else if via == e.0 {
            e.1 = e.1.max(n);
        }
    };
    // The limits are in the SQL text, not bound: SQLite re-prepares a
    // statement whose LIMIT is a parameter every time it is bound.
    let mut by_url = conn.prepare_cached(&LOOKUP_SQL.by_url)?;
    if let Some(src) = &f.source_url {
        for id in by_url.query_map(params![src, f.id, ExactKey::Link.of(super::entries::url_key(src))], |r| r.get(0))? {
            add(id?, Via::Source, 0);
        }
    }
    if let Some(url) = &f.url {
        for id in by_url.query_map(params![url, f.id, ExactKey::Link.of(super::entries::url_key(url))], |r| r.get(0))? {
            add(id?, Via::Link, 0);
        }
        let mut naming = conn.prepare_cached(&LOOKUP_SQL.by_source)?;
        for id in naming.query_map(params![url, f.id], |r| r.get(0))? {
            add(id?, Via::Source, 0);
        }
    }
    if let Some(h) = f.text_hash {
        let mut stmt = conn.prepare_cached(&LOOKUP_SQL.by_text)?;
        for id in stmt.query_map(params![ExactKey::Text.of(h), f.id], |r| r.get(0))? {
            add(id?, Via::Text, 0);
        }
    }
    {
        let mut both = conn.prepare_cached(&LOOKUP_SQL.by_key)?;
        let mut staged = conn.prepare_cached(&LOOKUP_SQL.by_staged_key)?;
        let mut lead: IdMap<usize> = IdMap::default();
        let mut body: IdMap<usize> = IdMap::default();
        let mut ids: Vec<i64> = Vec::with_capacity(KEY_MAX_ENTRIES + 1);
        for &key in &c.keys {
            // The large table is read if it may hold the key.
            let large = settings.merged.keys && settings.large_keys.as_ref().is_none_or(|k| k.may_hold(key));
            if COMMON_KEYS.with_borrow(|common| common.contains_key(&key)) {
                let more = if large { &LOOKUP_SQL.more_by_key } else { &LOOKUP_SQL.more_by_staged_key };
                if conn.prepare_cached(more)?.exists(params![key, lo, hi])? {
                    continue;
                }
            }
            ids.clear();
            let stmt = if large { &mut both } else { &mut staged };
            let mut rows = stmt.query(params![key, lo, hi])?;
            while let Some(r) = rows.next()? {
                ids.push(r.get(0)?);
            }
            if ids.len() > KEY_MAX_ENTRIES {
                COMMON_KEYS.with_borrow_mut(|common| {
                    if common.len() >= COMMON_KEYS_KEPT {
                        common.clear();
                    }
                    common.insert(key, ());
                });
                continue;
            }
            let tally = if c.is_lead_key(key) { &mut lead } else { &mut body };
            for &id in &ids {
                *tally.entry(id).or_default() += 1;
            }
        }
        for (id, n) in lead {
            if n >= dedup::LEAD_MIN_SHARED_KEYS {
                add(id, Via::Lead, n);
            }
        }
        for (id, n) in body {
            if n >= BODY_MIN_SHARED_KEYS {
                add(id, Via::Body, n);
            }
        }
    }
    if let Some(key) = f.title_key.or_else(|| title_key(&f.title)) {
        let mut stmt = conn.prepare_cached(&LOOKUP_SQL.by_title)?;
        let days = (t_lo.div_euclid(SECONDS_PER_DAY), t_hi.div_euclid(SECONDS_PER_DAY));
        for id in stmt.query_map(params![ExactKey::Title.of(key), t_lo, t_hi, f.id, days.0, days.1], |r| r.get(0))? {
            add(id?, Via::Title, 0);
        }
    }
    let mut hits: Vec<Hit> = found.into_iter().map(|(id, (via, n))| (id, via, n)).collect();
    hits.sort_by(|a, b| {
        (a.1.explicit().is_none(), std::cmp::Reverse(a.2), a.0).cmp(&(
            b.1.explicit().is_none(),
            std::cmp::Reverse(b.2),
            b.0,
        ))
    });
    hits.truncate(MAX_CANDIDATES);
    Ok(hits)
}

/// One candidate, assessed.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub id: i64,
    /// The candidate's facts (loaded for `dedup --explain` only).
    pub other: Option<Facts>,
    pub via: Via,
    pub strength: usize,
    pub verdict: Verdict,
    /// The pair recorded: explicit evidence, or the verdict's kind.
    pub kind: Option<PairKind>,
}

impl Assessment {
    pub fn is_copy(&self) -> bool {
        self.kind.is_some()
    }
}

/// Compares `f` (prepared as `p`) with each of its candidates; with
/// `with_facts`, also loads what `dedup --explain` shows of them.
pub(crate) fn assess(
    conn: &Connection,
    f: &Facts,
    c: &Comparison,
    hits: &[Hit],
    with_facts: bool,
) -> Result<Vec<Assessment>> {
    let fp = &c.fingerprint;
    let mut title_of = conn.prepare_cached("SELECT title FROM entries WHERE id = ?1")?;
    let mut stored = conn.prepare_cached(STORED_FINGERPRINT_SQL)?;
    let mut out = Vec::with_capacity(hits.len());
    for &(id, via, strength) in hits {
        let Some(ofp) = fingerprint_with(conn, &mut stored, id)? else { continue };
        // The candidate's title is read only if a rule needs it.
        let mut failed = None;
        let mut title = || {
            title_of.query_row([id], |r| r.get::<_, String>(0)).unwrap_or_else(|e| {
                failed = Some(e);
                String::new()
            })
        };
        let mut verdict = dedup::verify_with(fp, &ofp, || dedup::title_similarity(&f.title, &title()));
        if with_facts && verdict.title_similarity.is_none() {
            // Shown by `dedup --explain` even where no rule needed it.
            verdict.title_similarity = Some(dedup::title_similarity(&f.title, &title()));
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
        let kind = via.explicit().or(verdict.kind);
        let other = if with_facts { facts_without_body(conn, id)? } else { None };
        out.push(Assessment { id, other, via, strength, verdict, kind });
    }
    Ok(out)
}

/// Verifies `f` against its candidates and records the pairs found.
/// Returns the entries it was paired with.
fn pair_entry(conn: &Connection, f: &Facts, c: &Comparison, settings: &DedupSettings) -> Result<Vec<i64>> {
    pair_entry_with(conn, f, c, settings, &[])
}

/// [`pair_entry`], with the entries `also` verified as candidates too.
fn pair_entry_with(
    conn: &Connection,
    f: &Facts,
    c: &Comparison,
    settings: &DedupSettings,
    also: &[i64],
) -> Result<Vec<i64>> {
    let mut hits = candidates(conn, f, c, settings)?;
    for id in also {
        if *id != f.id && !hits.iter().any(|h| h.0 == *id) {
            hits.push((*id, Via::Body, 0));
        }
    }
    let mut partners = Vec::new();
    let mut ins = conn.prepare_cached(
        "INSERT INTO dedup_pairs (a, b, kind, shorter, containment) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(a, b) DO UPDATE SET kind = excluded.kind, shorter = excluded.shorter,
             containment = excluded.containment
         WHERE dedup_pairs.kind != 0",
    )?;
    for a in assess(conn, f, c, &hits, false)? {
        let Some(kind) = a.kind else { continue };
        let shorter = (!kind.is_strong()).then_some(if a.verdict.first_is_shorter { f.id } else { a.id });
        ins.execute(params![f.id.min(a.id), f.id.max(a.id), kind.code(), shorter, a.verdict.containment])?;
        partners.push(a.id);
    }
    Ok(partners)
}

/// Forgets the verified pairs of `id` (not the user's merges); returns the
/// entries it was paired with.
fn unpair(conn: &Connection, id: i64) -> Result<Vec<i64>> {
    let partners = pair_partners(conn, id)?;
    conn.prepare_cached("DELETE FROM dedup_pairs WHERE (a = ?1 OR b = ?1) AND kind != 0")?.execute([id])?;
    Ok(partners)
}

fn pair_partners(conn: &Connection, id: i64) -> Result<Vec<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT b FROM dedup_pairs WHERE a = ?1 UNION SELECT a FROM dedup_pairs WHERE b = ?1")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The pairs of `id`.
pub(crate) fn pairs_of(conn: &Connection, id: i64) -> Result<Vec<Pair>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a, b, kind, shorter, containment FROM dedup_pairs WHERE a = ?1
         UNION ALL SELECT a, b, kind, shorter, containment FROM dedup_pairs WHERE b = ?1",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Pair {
            a: r.get(0)?,
            b: r.get(1)?,
            kind: PairKind::from_code(r.get(2)?).unwrap_or(PairKind::Part),
            shorter: r.get(3)?,
            containment: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Fingerprints, pairs and regroups a batch of entries of one feed: `new`
/// ones just inserted (with the comparison data their parse worker
/// computed, if any), `changed` ones whose text changed at the source.
/// `learnt` holds the paragraphs this connection found to be boilerplate:
/// a worker's comparison data that kept one of them is recomputed.
/// `recompare`: when the older entries that carry a paragraph learnt here
/// are compared again. Returns the new entries that ended up as copies.
pub(crate) fn process(
    conn: &Connection,
    feed_id: i64,
    new: &[(i64, Option<&TaggedEntry>)],
    changed: &[i64],
    settings: &DedupSettings,
    learnt: &mut Learnt,
    recompare: Recompare,
) -> Result<HashSet<i64>> {
    // The large tables gain rows only when staged ones are merged, never
    // during this call: those that are empty now need not be read.
    let settings = &DedupSettings { merged: Merged::probe(conn)?, ..settings.clone() };
    // Count the paragraphs of every new entry first, so that a footer the
    // feed repeats on each post is known as boilerplate before they are compared.
    // Each with its comparison data and, if a parse worker computed it, the text it came from.
    let mut batch: Vec<(Facts, Cow<'_, Comparison>, Option<&str>)> = Vec::with_capacity(new.len());
    let mut learnt_now = Vec::new();
    for (id, tagged) in new {
        let (f, c, stale) = match tagged.and_then(|t| t.comparison.as_ref().map(|c| (t, c))) {
            Some((t, c)) => {
                let Some(f) = facts_without_body(conn, *id)? else { continue };
                (f, Cow::Borrowed(c), Some(t.entry.comparison_text()))
            }
            None => {
                let Some(f) = facts(conn, *id)? else { continue };
                let c = Comparison::unprepared(dedup::reduce(&f.body));
                (f, Cow::Owned(c), None)
            }
        };
        learnt_now.extend(count_paragraphs(conn, settings.merged, feed_id, *id, &c.reduced)?);
        batch.push((f, c, stale));
    }
    for k in &learnt_now {
        learnt.add(*k);
    }
    // Every entry of the batch files its keys, whatever its day (see Filing).
    let keys_from = keys_from(conn)?;
    let filing = Filing::ThisSync { keys_from };
    let mut seeds: BTreeSet<i64> = BTreeSet::new();
    for (f, mut c, worker_text) in batch {
        // Computed by the store, or by a worker before boilerplate it
        // carries was learnt: (re)compute (a worker's words are gone: from its text).
        match worker_text {
            None => c = Cow::Owned(comparison(conn, c.into_owned().reduced)?),
            Some(text) if c.is_stale(&learnt.set, |k| is_boilerplate(conn, k))? => {
                let reduced = if c.is_light() { dedup::reduce(text) } else { c.into_owned().reduced };
                c = Cow::Owned(comparison(conn, reduced)?);
            }
            Some(_) => {}
        }
        let (f, c) = (&f, c.as_ref());
        write_fingerprint(conn, f, c, true, filing)?;
        let partners = pair_entry(conn, f, c, settings)?;
        // An entry paired with nothing is a story of its own already.
        if !partners.is_empty() {
            seeds.insert(f.id);
            seeds.extend(partners);
        }
    }
    // Entries whose text changed are compared afresh now. Those that carry
    // a paragraph just learnt as boilerplate (but the batch's new entries,
    // computed with it known) are compared afresh too: at once, or, during a
    // sync ([`Recompare::AtEnd`]), once at its end (see [`settle`]).
    let new_set: HashSet<i64> = new.iter().map(|(id, _)| *id).collect();
    let touched: Vec<i64> =
        entries_with_paragraphs(conn, &learnt_now)?.into_iter().filter(|id| !new_set.contains(id)).collect();
    let changed_set: BTreeSet<i64> = changed.iter().copied().collect();
    compare_again(conn, &changed_set, true, filing, settings, &mut seeds)?;
    match recompare {
        Recompare::Now => {
            let touched: BTreeSet<i64> = touched.into_iter().filter(|id| !changed_set.contains(id)).collect();
            compare_again(conn, &touched, false, Filing::Within { keys_from }, settings, &mut seeds)?;
        }
        Recompare::AtEnd => {
            // (A sample may still name an entry deleted since: not queued.)
            let mut pending = conn.prepare_cached(
                "INSERT OR IGNORE INTO dedup_pending (entry_id) SELECT id FROM entries WHERE id = ?1",
            )?;
            for id in touched.iter().filter(|id| !changed_set.contains(id)) {
                pending.execute([id])?;
            }
        }
    }
    // (The fingerprints written here for entries dated before the horizon
    // list the keys filed for them: they stay to the end of the sync.)
    regroup(conn, &seeds)?;
    let mut copies = HashSet::new();
    let mut is_copy = conn.prepare_cached("SELECT duplicate_of IS NOT NULL FROM entries WHERE id = ?1")?;
    for id in seeds.iter().filter(|id| new_set.contains(id)) {
        if is_copy.query_row([id], |r| r.get::<_, bool>(0)).optional()?.unwrap_or(false) {
            copies.insert(*id);
        }
    }
    // Nothing above merges: a large table read as empty still is (else
    // lookups narrowed by the probe would have missed its rows).
    debug_assert!({
        let now = Merged::probe(conn)?;
        (settings.merged.keys || !now.keys) && (settings.merged.counts || !now.counts)
    });
    Ok(copies)
}

/// When [`process`] compares again the entries that carry a paragraph
/// just learnt as boilerplate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recompare {
    /// In the same call (a feed saved on its own).
    Now,
    /// Once, at the end of the sync ([`settle`]): table `dedup_pending`.
    /// A sync of 1,000 feeds learns a footer in one feed after another, and
    /// a footer many feeds carry touches hundreds of entries each time:
    /// compared again at every footer learnt, 42,652 new entries made
    /// 106,612 comparisons again, and took 70 s instead of 39 s.
    AtEnd,
}

/// Computes again the comparison data of `ids` with the boilerplate known
/// now, and compares again those whose fingerprint changed (all of them if
/// `always`: their text changed), adding what they touch to `seeds`.
fn compare_again(
    conn: &Connection,
    ids: &BTreeSet<i64>,
    always: bool,
    filing: Filing,
    settings: &DedupSettings,
    seeds: &mut BTreeSet<i64>,
) -> Result<()> {
    let (Filing::ThisSync { keys_from } | Filing::Within { keys_from }) = filing;
    // All fingerprints first, so that pairing meets each entry's new one.
    // Kept for pairing below, which needs the fingerprint and keys only
    // (boxed: the map itself stays small): a footer learnt across many
    // feeds touches hundreds of entries, and their words, shingles and
    // texts held together made the peak of a 1,000-feed sync.
    let mut computed: BTreeMap<i64, Box<(Facts, Comparison)>> = BTreeMap::new();
    for id in ids {
        let Some(mut f) = facts(conn, *id)? else { continue };
        let c = comparison(conn, dedup::reduce(&f.body))?;
        if write_fingerprint(conn, &f, &c, false, filing)? || always {
            f.body = String::new();
            computed.insert(*id, Box::new((f, c.lighten())));
        }
    }
    for (id, done) in computed {
        let (f, c) = *done;
        seeds.insert(id);
        let partners = unpair(conn, id)?;
        // An entry whose window reaches past the lookup keys' horizon (one
        // past it, or one within it paired with an entry a few days older)
        // cannot find again the partners it was paired with by shared keys
        // (their keys are gone): they are verified again as candidates of its own.
        let past_horizon = f.published.div_euclid(SECONDS_PER_DAY) - settings.window_days < keys_from;
        seeds.extend(pair_entry_with(conn, &f, &c, settings, if past_horizon { &partners } else { &[] })?);
        seeds.extend(partners);
    }
    Ok(())
}

/// Entries compared again per call of [`settle`].
pub(crate) const SETTLE_CHUNK: usize = 500;

/// Compares again up to [`SETTLE_CHUNK`] of the entries [`process`] left
/// for the end of the sync ([`Recompare::AtEnd`]), in id order, and
/// regroups their stories. An entry stored by this sync (id above
/// `new_after`) that joins a story already read is marked read at `now`, as
/// when it joins one as it is stored. Returns how many it took (0: none is left).
/// (It reads the first rows of `dedup_pending`, a queue it empties: the
/// one scan of a sync, so not among `sync_queries`.)
pub(crate) fn settle(conn: &Connection, settings: &DedupSettings, new_after: i64, now: i64) -> Result<usize> {
    let ids: BTreeSet<i64> = conn
        .prepare_cached(&format!("SELECT entry_id FROM dedup_pending ORDER BY entry_id LIMIT {SETTLE_CHUNK}"))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Older entries: their keys are filed only within the horizon, as
    // before (they are compared again after every new entry of the sync is
    // in, so they meet them all whatever their day). Filing them all would
    // move `dedup_keys_below_from` to the first entries that carried a
    // footer, years back, and the sync's end would visit every fingerprint
    // kept since.
    let filing = Filing::Within { keys_from: keys_from(conn)? };
    let mut seeds = BTreeSet::new();
    compare_again(conn, &ids, false, filing, settings, &mut seeds)?;
    regroup(conn, &seeds)?;
    if !seeds.is_empty() {
        for id in region(conn, &seeds)?.into_iter().filter(|id| *id > new_after) {
            super::reading::inherit_story_read(conn, id, now)?;
        }
    }
    let mut done = conn.prepare_cached("DELETE FROM dedup_pending WHERE entry_id = ?1")?;
    for id in &ids {
        done.execute([id])?;
    }
    Ok(ids.len())
}

/// Every entry connected to `seeds` by verified pairs.
fn region(conn: &Connection, seeds: &BTreeSet<i64>) -> Result<BTreeSet<i64>> {
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    let mut todo: Vec<i64> = seeds.iter().copied().collect();
    // Entries that were in a story with a seed stay in the region too: their
    // story may have lost the pair that held it together.
    let mut members = conn.prepare_cached(
        "SELECT id FROM entries WHERE duplicate_of = ?1 UNION SELECT duplicate_of FROM entries WHERE id = ?1 AND duplicate_of IS NOT NULL",
    )?;
    for s in seeds {
        for id in members.query_map([s], |r| r.get::<_, i64>(0))? {
            todo.push(id?);
        }
    }
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        todo.extend(pair_partners(conn, id)?.into_iter().filter(|p| !seen.contains(p)));
    }
    Ok(seen)
}

/// Recomputes the stories of every entry connected to `seeds` and writes
/// them: each member's original, and how it is tied to its story.
pub(crate) fn regroup(conn: &Connection, seeds: &BTreeSet<i64>) -> Result<()> {
    let ids = region(conn, seeds)?;
    let mut facts_by_id: HashMap<i64, Facts> = HashMap::new();
    let mut pairs: Vec<Pair> = Vec::new();
    let mut seen_pairs: HashSet<(i64, i64)> = HashSet::new();
    let mut overrides: HashMap<i64, Option<i64>> = HashMap::new();
    let mut get_override = conn.prepare_cached("SELECT original_id FROM dedup_overrides WHERE entry_id = ?1")?;
    for id in &ids {
        let Some(f) = facts_without_body(conn, *id)? else { continue };
        if let Some(o) = get_override.query_row([id], |r| r.get::<_, Option<i64>>(0)).optional()? {
            overrides.insert(*id, o);
        }
        for p in pairs_of(conn, *id)? {
            if ids.contains(&p.a) && ids.contains(&p.b) && seen_pairs.insert((p.a, p.b)) {
                pairs.push(p);
            }
        }
        facts_by_id.insert(*id, f);
    }
    let mut adjacency: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, p) in pairs.iter().enumerate() {
        adjacency.entry(p.a).or_default().push(i);
        adjacency.entry(p.b).or_default().push(i);
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(facts_by_id.len());
    let mut fingerprints: HashMap<i64, Fingerprint> = HashMap::new();
    let keys_from = keys_from(conn)?;
    let dropped_before = fingerprints_dropped_before(conn, fingerprints_from(conn)?)?;
    // Past the horizon, a large story's members keep their fingerprints
    // (see forget_old_keys): those computed again are stored if the region
    // is that large, and the stories found below smaller drop theirs (but
    // for those kept to the end of the sync, see fingerprints_dropped_before).
    let large_region = ids.len() >= KEEP_FINGERPRINTS_STORY;
    let mut past_horizon: HashSet<i64> = HashSet::new();
    for id in &ids {
        let Some(f) = facts_by_id.get(id) else { continue };
        if f.published.div_euclid(SECONDS_PER_DAY) < dropped_before {
            past_horizon.insert(*id);
        }
        let fp = match found_fingerprint(conn, *id)? {
            Some(Found::Stored(fp)) => Some(Rc::unwrap_or_clone(fp)),
            Some(Found::Computed(facts, c)) => {
                if large_region {
                    write_fingerprint(conn, &facts, &c, true, Filing::Within { keys_from })?;
                }
                Some(c.fingerprint)
            }
            None => None,
        };
        if let Some(fp) = &fp {
            fingerprints.insert(*id, fp.clone());
        }
        nodes.push(Node {
            id: *id,
            stable: f.stable(),
            title: f.title.clone(),
            split: matches!(overrides.get(id), Some(None)),
            words: fp.as_ref().map_or(0, |f| f.words),
            fingerprint: fp,
        });
    }
    let split: HashSet<i64> = nodes.iter().filter(|n| n.split).map(|n| n.id).collect();
    let mut update = conn.prepare_cached(
        "UPDATE entries SET duplicate_of = ?2, dup_reason = ?3, dup_score = ?4 WHERE id = ?1
         AND (duplicate_of IS NOT ?2 OR dup_reason IS NOT ?3 OR dup_score IS NOT ?4)",
    )?;
    let stories = cluster::cluster(&nodes, &pairs);
    if !past_horizon.is_empty() {
        let small: Vec<i64> = stories
            .iter()
            .filter(|story| story.len() < KEEP_FINGERPRINTS_STORY)
            .flatten()
            .filter(|id| past_horizon.contains(id))
            .copied()
            .collect();
        let mut forget = conn.prepare_cached("DELETE FROM fingerprints WHERE entry_id = ?1")?;
        for id in small {
            forget.execute([id])?;
        }
    }
    for story in stories {
        if story.len() == 1 {
            update.execute(params![story[0], None::<i64>, None::<String>, None::<f64>])?;
            continue;
        }
        let infos: Vec<OriginInfo> = story
            .iter()
            .map(|id| {
                let f = &facts_by_id[id];
                f.origin(f.attribution.clone(), fingerprints.get(id), matches!(overrides.get(id), Some(Some(_))))
            })
            .collect();
        let (root_index, _) = dedup::choose_original(&infos);
        let root = story[root_index];
        let members: HashSet<i64> = story.iter().copied().collect();
        for id in &story {
            if *id == root {
                update.execute(params![id, None::<i64>, None::<String>, None::<f64>])?;
                continue;
            }
            // How it is tied to its story: its strongest pair within it.
            let best = adjacency
                .get(id)
                .into_iter()
                .flatten()
                .map(|i| &pairs[*i])
                .filter(|p| members.contains(&p.a) && members.contains(&p.b))
                .filter(|p| !split.contains(&p.a) && !split.contains(&p.b))
                .min_by(|x, y| x.kind.cmp(&y.kind).then(y.containment.total_cmp(&x.containment)));
            let (reason, score) = best.map_or(("near", None), |p| (p.kind.reason(), Some(p.containment)));
            update.execute(params![id, root, reason, score])?;
        }
    }
    Ok(())
}

/// Why the original of the story made of `members` is the one it is.
pub(crate) fn original_reason(conn: &Connection, members: &[i64]) -> Result<Option<&'static str>> {
    let mut infos = Vec::new();
    for id in members {
        let Some(f) = facts_without_body(conn, *id)? else { continue };
        let manual: bool = conn
            .prepare_cached("SELECT 1 FROM dedup_overrides WHERE entry_id = ?1 AND original_id IS NOT NULL")?
            .exists([id])?;
        let fp = fingerprint_of(conn, *id)?;
        infos.push(f.origin(f.attribution.clone(), fp.as_deref(), manual));
    }
    if infos.len() < 2 {
        return Ok(None);
    }
    Ok(Some(dedup::choose_original(&infos).1))
}

/// The exact keys every entry calls for (migration 021: what its
/// triggers file), as rows `k, d, id`.
const EXACT_KEYS_WANTED: &str = "SELECT (url_key & -4) | 1 AS k, 0 AS d, id FROM entries WHERE url_key IS NOT NULL
    UNION ALL SELECT (text_hash & -4) | 2, 0, id FROM entries WHERE text_hash IS NOT NULL
    UNION ALL SELECT (title_key & -4) | 3, published / 86400 - (published % 86400 < 0), id
        FROM entries WHERE title_key IS NOT NULL";

/// How many exact keys the entries call for are filed in neither table,
/// and how many filed keys no entry calls for (`doctor`). The triggers
/// keep them in step; this finds what they could not (a store written by
/// something else). One index probe per key: 17 s at a million entries,
/// where the whole `doctor` took 50 s.
pub(crate) fn exact_keys_out_of_step(conn: &Connection) -> Result<(i64, i64)> {
    let missing: i64 = conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM ({EXACT_KEYS_WANTED}) w
             WHERE NOT EXISTS (SELECT 1 FROM exact_keys x WHERE x.key = w.k AND x.day = w.d AND x.entry_id = w.id)
               AND NOT EXISTS (SELECT 1 FROM exact_keys_staged x WHERE x.key = w.k AND x.day = w.d AND x.entry_id = w.id)"
        ),
        [],
        |r| r.get(0),
    )?;
    let stray: i64 = conn.query_row(
        "SELECT COUNT(*) FROM (SELECT key, day, entry_id FROM exact_keys
                               UNION ALL SELECT key, day, entry_id FROM exact_keys_staged) x
         WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = x.entry_id AND (
             ((x.key & 3) = 1 AND x.day = 0 AND ((e.url_key & -4) | 1) = x.key)
             OR ((x.key & 3) = 2 AND x.day = 0 AND ((e.text_hash & -4) | 2) = x.key)
             OR ((x.key & 3) = 3 AND ((e.title_key & -4) | 3) = x.key
                 AND x.day = e.published / 86400 - (e.published % 86400 < 0))))",
        [],
        |r| r.get(0),
    )?;
    Ok((missing, stray))
}

/// Rebuilds every fingerprint, pair and story from the stored entries,
/// keeping the user's splits and merges, and files every exact key again.
/// Returns the number of copies.
pub(crate) fn rebuild(conn: &Connection, settings: &DedupSettings) -> Result<usize> {
    conn.execute_batch(
        "DELETE FROM dedup_keys; DELETE FROM fingerprints; DELETE FROM dedup_pairs; DELETE FROM paragraph_counts;
         DELETE FROM dedup_keys_staged; DELETE FROM paragraph_counts_staged; DELETE FROM dedup_pending;
         DELETE FROM meta WHERE key IN ('dedup_keys_from', 'fingerprints_from', 'dedup_keys_below_from');
         UPDATE entries SET duplicate_of = NULL, dup_reason = NULL, dup_score = NULL, attribution = NULL;
         DELETE FROM exact_keys; DELETE FROM exact_keys_staged;",
    )?;
    conn.execute(
        &format!("INSERT OR IGNORE INTO exact_keys (key, day, entry_id) {EXACT_KEYS_WANTED} ORDER BY 1, 2, 3"),
        [],
    )?;
    let all: Vec<(i64, i64)> = conn
        .prepare("SELECT id, feed_id FROM entries ORDER BY published, id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, feed) in &all {
        if let Some(f) = facts(conn, *id)? {
            count_paragraphs(conn, Merged::BOTH, *feed, *id, &dedup::reduce(&f.body))?;
            // The title keys too, which copy detection takes as stored
            // (a damaged one, or one of an older way of keying titles).
            let key = title_key(&f.title);
            if key != f.title_key {
                conn.prepare_cached("UPDATE entries SET title_key = ?2 WHERE id = ?1")?.execute(params![id, key])?;
            }
        }
    }
    for (id, _) in &all {
        let Some(f) = facts(conn, *id)? else { continue };
        let c = comparison(conn, dedup::reduce(&f.body))?;
        write_fingerprint(conn, &f, &c, true, Filing::Within { keys_from: i64::MIN })?;
        pair_entry(conn, &f, &c, settings)?;
    }
    conn.execute(
        "INSERT OR REPLACE INTO dedup_pairs (a, b, kind, shorter, containment)
         SELECT MIN(entry_id, original_id), MAX(entry_id, original_id), 0, NULL, 1.0
         FROM dedup_overrides WHERE original_id IS NOT NULL AND original_id != entry_id",
        [],
    )?;
    let seeds: BTreeSet<i64> = all.iter().map(|(id, _)| *id).collect();
    regroup(conn, &seeds)?;
    merge_staged(conn)?;
    Ok(conn.query_row("SELECT COUNT(*) FROM entries WHERE duplicate_of IS NOT NULL", [], |r| r.get::<_, i64>(0))?
        as usize)
}

/// Splits `id` off its story: it stands alone from now on (and across
/// rebuilds); the rest of its story is regrouped without it.
pub(crate) fn split(conn: &Connection, id: i64, now: i64) -> Result<()> {
    forget_manual_pair(conn, id)?;
    conn.execute(
        "INSERT INTO dedup_overrides (entry_id, original_id, created) VALUES (?1, NULL, ?2)
         ON CONFLICT(entry_id) DO UPDATE SET original_id = NULL, created = excluded.created",
        params![id, now],
    )?;
    regroup(conn, &BTreeSet::from([id]))
}

/// Drops the pair an earlier `--merge` of `id` made.
fn forget_manual_pair(conn: &Connection, id: i64) -> Result<()> {
    let old: Option<Option<i64>> =
        conn.query_row("SELECT original_id FROM dedup_overrides WHERE entry_id = ?1", [id], |r| r.get(0)).optional()?;
    if let Some(Some(o)) = old {
        conn.execute("DELETE FROM dedup_pairs WHERE a = ?1 AND b = ?2 AND kind = 0", params![id.min(o), id.max(o)])?;
    }
    Ok(())
}

/// Makes `id` a copy in `original`'s story, across rebuilds. Returns the
/// story's original.
pub(crate) fn merge(conn: &Connection, id: i64, original: i64, now: i64) -> Result<i64> {
    forget_manual_pair(conn, id)?;
    conn.execute(
        "INSERT INTO dedup_overrides (entry_id, original_id, created) VALUES (?1, ?2, ?3)
         ON CONFLICT(entry_id) DO UPDATE SET original_id = excluded.original_id, created = excluded.created",
        params![id, original, now],
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO dedup_pairs (a, b, kind, shorter, containment) VALUES (?1, ?2, 0, NULL, 1.0)",
        params![id.min(original), id.max(original)],
    )?;
    regroup(conn, &BTreeSet::from([id, original]))?;
    Ok(conn.query_row("SELECT COALESCE(duplicate_of, id) FROM entries WHERE id = ?1", [original], |r| r.get(0))?)
}

/// After entries were deleted (prune, a removed feed): regroups the stories
/// they were in. `partners` are the entries they were paired or grouped with,
/// collected by [`story_neighbours`] before the deletion.
pub(crate) fn regroup_after_delete(conn: &Connection, partners: &BTreeSet<i64>) -> Result<()> {
    let alive: BTreeSet<i64> = partners
        .iter()
        .copied()
        .filter(|id| {
            conn.prepare_cached("SELECT 1 FROM entries WHERE id = ?1").and_then(|mut s| s.exists([id])).unwrap_or(false)
        })
        .collect();
    // Copies of a deleted original point nowhere until regrouped.
    for id in &alive {
        conn.prepare_cached(
            "UPDATE entries SET duplicate_of = NULL WHERE id = ?1 AND duplicate_of IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM entries o WHERE o.id = entries.duplicate_of)",
        )?
        .execute([id])?;
    }
    regroup(conn, &alive)
}

/// The entries paired or grouped with any of `ids` (to regroup after they go).
pub(crate) fn story_neighbours(conn: &Connection, ids: &[i64]) -> Result<BTreeSet<i64>> {
    let doomed: HashSet<i64> = ids.iter().copied().collect();
    let mut out = BTreeSet::new();
    let mut members = conn.prepare_cached(
        "SELECT id FROM entries WHERE duplicate_of = ?1 UNION SELECT duplicate_of FROM entries WHERE id = ?1 AND duplicate_of IS NOT NULL",
    )?;
    for id in ids {
        out.extend(pair_partners(conn, *id)?);
        for m in members.query_map([id], |r| r.get::<_, i64>(0))? {
            out.insert(m?);
        }
    }
    out.retain(|id| !doomed.contains(id));
    Ok(out)
}

#[cfg(test)]
mod site_host_tests {
    use super::*;

    #[test]
    fn remembered_site_hosts_are_what_parsing_gives_and_stay_bounded() {
        // Hosts that differ only at their end, hosts shared by many links,
        // text that is no URL, URLs without a host.
        let url = |i: usize| match i % 5 {
            0 => format!("https://www.Site{i}.example/post/{i}"),
            1 => format!("http://news{}.example:8080/a?b={i}", i % 7),
            2 => format!("not a url {i}"),
            3 => format!("https://www.a-long-prefix-common-to-every-one-of-these-sites-{i}.example/a"),
            _ => format!("file:///feeds/{i}.xml"),
        };
        for i in 0..2 * SITE_HOSTS_KEPT + 10 {
            // Each new one, then ones asked before (kept, or forgotten since).
            for j in [i, i / 2, i.saturating_sub(1)] {
                assert_eq!(site_host(&url(j)), urls::site_host(&url(j)), "{}", url(j));
            }
            assert!(SITE_HOSTS.with_borrow(HashMap::len) <= SITE_HOSTS_KEPT);
        }
        assert_eq!(site_host("https://www.Dawn.com/news/1"), Some("dawn.com".to_owned()));
    }
}
