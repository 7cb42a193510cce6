//! Near-duplicate bookkeeping: paragraph counts (learnt boilerplate),
//! fingerprints, candidate lookup and clusters. The decisions themselves are
//! the pure functions of [`crate::dedup`].

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;
use crate::dedup::{self, OriginInfo, Prepared, Verdict};
use crate::text::comparable_words;
use crate::urls::site_host;

/// How far apart in time an original and its copy may be published.
#[derive(Debug, Clone, Copy)]
pub struct DedupSettings {
    pub window_days: i64,
}

impl Default for DedupSettings {
    fn default() -> Self {
        DedupSettings { window_days: 7 }
    }
}

/// Roots verified per new entry at most (the best-supported first).
const MAX_ROOTS: usize = 30;

/// An entry must share this many lead shingles with the newcomer to be a
/// lead candidate (one or two are chance: a shared stock phrase)...
const LEAD_MIN_SHARED: usize = 4;

/// ...and at least this share of the newcomer's lead: an excerpt shares
/// nearly all of it with its full article, while unrelated articles share
/// stock phrases (a fifth of the lead at most in the benchmark corpus).
/// Verification asks for 0.7 of the shorter lead anyway.
const LEAD_MIN_SHARE: f64 = 0.5;

const SECONDS_PER_DAY: i64 = 86_400;

/// What the dedup logic needs to know about a stored entry.
#[derive(Debug, Clone)]
pub struct Facts {
    pub id: i64,
    pub feed_id: i64,
    pub feed: String,
    pub title: String,
    pub url: Option<String>,
    pub source_url: Option<String>,
    pub text_hash: Option<i64>,
    pub published: i64,
    pub body: String,
    /// Feed name and title, then hosts of the site and of the entry's link.
    pub feed_names: Vec<String>,
    /// How many of `feed_names` are names (the rest are hosts).
    pub named: usize,
    pub duplicate_of: Option<i64>,
    pub dup_reason: Option<String>,
    pub dup_score: Option<f64>,
    pub attribution: Option<String>,
}

/// [`facts_without_body`] with the entry's plain text.
pub(crate) fn facts(conn: &Connection, id: i64) -> Result<Option<Facts>> {
    let Some(mut f) = facts_without_body(conn, id)? else { return Ok(None) };
    f.body = conn
        .prepare_cached("SELECT COALESCE(content_text, summary_text, '') FROM entries WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(Some(f))
}

/// What the dedup logic needs to know about a stored entry (`body` empty).
pub(crate) fn facts_without_body(conn: &Connection, id: i64) -> Result<Option<Facts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.feed_id, COALESCE(f.name, f.title, f.url), e.title, e.url, e.source_url, e.text_hash,
                e.published, '', f.name, f.title, f.site_url,
                e.duplicate_of, e.dup_reason, e.dup_score, e.attribution
         FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.id = ?1",
    )?;
    let found = stmt
        .query_row([id], |r| {
            let url: Option<String> = r.get(4)?;
            let mut feed_names: Vec<String> = Vec::new();
            for n in [r.get::<_, Option<String>>(9)?, r.get::<_, Option<String>>(10)?].into_iter().flatten() {
                feed_names.push(n);
            }
            let named = feed_names.len();
            for u in [r.get::<_, Option<String>>(11)?, url.clone()].into_iter().flatten() {
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
                published: r.get(7)?,
                body: r.get(8)?,
                feed_names,
                named,
                duplicate_of: r.get(12)?,
                dup_reason: r.get(13)?,
                dup_score: r.get(14)?,
                attribution: r.get(15)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// Adds one entry's paragraphs to its feed's counts; returns true if a
/// paragraph just became boilerplate.
pub(crate) fn count_paragraphs(conn: &Connection, feed_id: i64, body: &str) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO paragraph_counts (hash, feed_id, entries) VALUES (?1, ?2, 1)
         ON CONFLICT(hash, feed_id) DO UPDATE SET entries = entries + 1
         RETURNING entries",
    )?;
    let mut crossed = false;
    for h in dedup::paragraph_hashes(body) {
        let n: i64 = stmt.query_row(params![h, feed_id], |r| r.get(0))?;
        crossed |= n == dedup::BOILERPLATE_MIN_ENTRIES;
    }
    Ok(crossed)
}

/// The entry's comparison text, with the boilerplate known now.
pub(crate) fn prepare(conn: &Connection, body: &str) -> Result<Prepared> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM paragraph_counts WHERE hash = ?1 AND entries >= ?2 LIMIT 1")?;
    let mut failure = None;
    let prepared = dedup::prepare(body, |h| match stmt.exists(params![h, dedup::BOILERPLATE_MIN_ENTRIES]) {
        Ok(b) => b,
        Err(e) => {
            failure = Some(e);
            false
        }
    });
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(prepared),
    }
}

fn title_key(title: &str) -> Option<i64> {
    let words = comparable_words(title);
    (words.len() >= 3)
        .then(|| xxhash_rust::xxh3::xxh3_64_with_seed(words.join(" ").as_bytes(), dedup::HASH_SEED) as i64)
}

fn to_blob(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_blob(blob: &[u8]) -> Vec<u64> {
    blob.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("chunks of 8"))).collect()
}

/// Stores (or replaces) an entry's fingerprint, LSH buckets and lead index,
/// its title key and the attribution it carries (unless it credits its own
/// site, as WordPress's "appeared first on" does).
pub(crate) fn write_fingerprint(conn: &Connection, f: &Facts, p: &Prepared, buckets: &[i64]) -> Result<()> {
    let attribution = p.attribution.clone().filter(|a| !dedup::credits(a, &f.feed_names));
    conn.prepare_cached("UPDATE entries SET attribution = ?2, title_key = ?3 WHERE id = ?1")?.execute(params![
        f.id,
        attribution,
        title_key(&f.title)
    ])?;
    for sql in ["DELETE FROM lsh_buckets WHERE entry_id = ?1", "DELETE FROM lead_shingles WHERE entry_id = ?1"] {
        conn.prepare_cached(sql)?.execute([f.id])?;
    }
    conn.prepare_cached(
        "INSERT OR REPLACE INTO fingerprints (entry_id, shingles, lead, numbers, words, truncated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        f.id,
        to_blob(&p.shingles),
        to_blob(&p.lead),
        to_blob(&p.numbers),
        p.words as i64,
        p.truncated
    ])?;
    let day = f.published.div_euclid(SECONDS_PER_DAY);
    let mut lsh =
        conn.prepare_cached("INSERT OR IGNORE INTO lsh_buckets (bucket, day, entry_id) VALUES (?1, ?2, ?3)")?;
    for b in buckets {
        lsh.execute(params![b, day, f.id])?;
    }
    let mut lead =
        conn.prepare_cached("INSERT OR IGNORE INTO lead_shingles (shingle, day, entry_id) VALUES (?1, ?2, ?3)")?;
    if p.is_comparable() || p.lead_index.len() >= LEAD_MIN_SHARED {
        for s in &p.lead_index {
            lead.execute(params![*s as i64, day, f.id])?;
        }
    }
    Ok(())
}

/// A stored fingerprint as a [`Prepared`] (with the stored attribution).
pub(crate) fn stored_prepared(conn: &Connection, id: i64) -> Result<Option<Prepared>> {
    let mut stmt = conn.prepare_cached(
        "SELECT fp.shingles, fp.lead, fp.numbers, fp.words, fp.truncated, e.attribution
         FROM fingerprints fp JOIN entries e ON e.id = fp.entry_id WHERE fp.entry_id = ?1",
    )?;
    let found = stmt
        .query_row([id], |r| {
            Ok(Prepared {
                lead_index: Vec::new(),
                shingles: from_blob(&r.get::<_, Vec<u8>>(0)?),
                lead: from_blob(&r.get::<_, Vec<u8>>(1)?),
                numbers: from_blob(&r.get::<_, Vec<u8>>(2)?),
                words: r.get::<_, i64>(3)? as usize,
                truncated: r.get(4)?,
                attribution: r.get(5)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// A candidate entry, why it was found and how strongly (shared lead
/// shingles or LSH bands; 0 for the other kinds).
pub type Hit = (i64, Via, usize);

/// Candidate entries by the story (root) they belong to.
pub type CandidateRoots = BTreeMap<i64, Vec<Hit>>;

/// Why an entry became a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// The entry's feed names the candidate's link as its source.
    Source,
    /// Same canonical link.
    Link,
    /// Same normalised text.
    Text,
    /// A shared MinHash LSH band.
    Lsh,
    /// Shared lead shingles.
    Lead,
    /// The same normalised title.
    Title,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Source => "source",
            Via::Link => "link",
            Via::Text => "text",
            Via::Lsh => "lsh",
            Via::Lead => "lead",
            Via::Title => "title",
        }
    }
    /// Evidence strong enough without comparing texts.
    fn is_explicit(self) -> bool {
        matches!(self, Via::Source | Via::Link | Via::Text)
    }
}

/// Entries of other feeds, within the window, that may be the same article
/// as `f`, by the story (root) they belong to.
pub(crate) fn candidate_roots(
    conn: &Connection,
    f: &Facts,
    p: &Prepared,
    buckets: &[i64],
    settings: DedupSettings,
) -> Result<CandidateRoots> {
    let day = f.published.div_euclid(SECONDS_PER_DAY);
    let (lo, hi) = (day - settings.window_days, day + settings.window_days);
    let (t_lo, t_hi) =
        (f.published - settings.window_days * SECONDS_PER_DAY, f.published + settings.window_days * SECONDS_PER_DAY);
    let mut found: Vec<Hit> = Vec::new();

    let mut by_url = conn.prepare_cached("SELECT id FROM entries WHERE url = ?1 AND id != ?2")?;
    if let Some(src) = &f.source_url {
        for id in by_url.query_map(params![src, f.id], |r| r.get(0))? {
            found.push((id?, Via::Source, 0));
        }
    }
    if let Some(url) = &f.url {
        for id in by_url.query_map(params![url, f.id], |r| r.get(0))? {
            found.push((id?, Via::Link, 0));
        }
        // Entries that name this one's link as their source.
        let mut naming = conn.prepare_cached("SELECT id FROM entries WHERE source_url = ?1 AND id != ?2")?;
        for id in naming.query_map(params![url, f.id], |r| r.get(0))? {
            found.push((id?, Via::Source, 0));
        }
    }
    if let Some(h) = f.text_hash {
        let mut stmt = conn.prepare_cached("SELECT id FROM entries WHERE text_hash = ?1 AND id != ?2")?;
        for id in stmt.query_map(params![h, f.id], |r| r.get(0))? {
            found.push((id?, Via::Text, 0));
        }
    }
    {
        let mut stmt =
            conn.prepare_cached("SELECT entry_id FROM lsh_buckets WHERE bucket = ?1 AND day BETWEEN ?2 AND ?3")?;
        let mut bands: HashMap<i64, usize> = HashMap::new();
        for &b in buckets {
            for id in stmt.query_map(params![b, lo, hi], |r| r.get::<_, i64>(0))? {
                *bands.entry(id?).or_default() += 1;
            }
        }
        found.extend(bands.into_iter().filter(|(id, _)| *id != f.id).map(|(id, n)| (id, Via::Lsh, n)));
    }
    {
        let mut stmt =
            conn.prepare_cached("SELECT entry_id FROM lead_shingles WHERE shingle = ?1 AND day BETWEEN ?2 AND ?3")?;
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for s in &p.lead_index {
            for id in stmt.query_map(params![*s as i64, lo, hi], |r| r.get::<_, i64>(0))? {
                *counts.entry(id?).or_default() += 1;
            }
        }
        let n = p.lead_index.len();
        let need = LEAD_MIN_SHARED.max((n as f64 * LEAD_MIN_SHARE).ceil() as usize).min(n.max(1));
        let mut leads: Vec<(i64, usize)> = counts.into_iter().filter(|(id, n)| *id != f.id && *n >= need).collect();
        leads.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        found.extend(leads.into_iter().take(MAX_ROOTS * 2).map(|(id, n)| (id, Via::Lead, n)));
    }
    if let Some(key) = title_key(&f.title) {
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM entries WHERE title_key = ?1 AND published BETWEEN ?2 AND ?3 AND id != ?4 LIMIT 50",
        )?;
        for id in stmt.query_map(params![key, t_lo, t_hi, f.id], |r| r.get(0))? {
            found.push((id?, Via::Title, 0));
        }
    }

    // Candidates of other feeds, by their story's root (also of another feed),
    // leaving out entries the user split off.
    let mut root_of = conn.prepare_cached(
        "SELECT e.feed_id, COALESCE(e.duplicate_of, e.id), r.feed_id,
                EXISTS (SELECT 1 FROM dedup_overrides o WHERE o.entry_id = e.id AND o.original_id IS NULL),
                EXISTS (SELECT 1 FROM fingerprints fp WHERE fp.entry_id = e.id)
         FROM entries e JOIN entries r ON r.id = COALESCE(e.duplicate_of, e.id) WHERE e.id = ?1",
    )?;
    let mut roots: CandidateRoots = BTreeMap::new();
    for (id, via, strength) in found {
        let Some((feed, root, root_feed, split, printed)) = root_of
            .query_row([id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?
        else {
            continue;
        };
        let (split, printed): (bool, bool) = (split, printed);
        // Only entries already fingerprinted take part (during a rebuild, the
        // ones not yet reached are in the future of this one).
        if feed == f.feed_id || root_feed == f.feed_id || split || !printed || root == f.id {
            continue;
        }
        let vias = roots.entry(root).or_default();
        if !vias.iter().any(|(i, v, _)| (*i, *v) == (id, via)) {
            vias.push((id, via, strength));
        }
    }
    Ok(roots)
}

/// One candidate story, assessed.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub root: Facts,
    /// Which entries of the story were found, how, and how strongly (shared
    /// lead shingles or LSH bands).
    pub via: Vec<Hit>,
    pub verdict: Verdict,
    /// The explicit evidence that makes it a copy whatever the texts say.
    pub explicit: Option<Via>,
}

impl Assessment {
    pub fn is_copy(&self) -> bool {
        self.explicit.is_some() || self.verdict.copy
    }
    /// The reason stored with a copy.
    pub fn reason(&self) -> &'static str {
        self.explicit.map_or("near", Via::as_str)
    }
}

/// Compares `f` with the root of every candidate story.
pub(crate) fn assess(conn: &Connection, f: &Facts, p: &Prepared, roots: CandidateRoots) -> Result<Vec<Assessment>> {
    let mut ranked: Vec<(i64, Vec<Hit>)> = roots.into_iter().collect();
    // Explicit evidence first, then the strongest: shared lead shingles and
    // LSH bands (each band stands for several shingles), a same title.
    let strength = |vias: &[Hit]| -> usize {
        vias.iter()
            .map(|(_, v, n)| match v {
                Via::Lead => *n,
                Via::Lsh => 8 * n,
                Via::Title => 8,
                _ => 0,
            })
            .sum()
    };
    ranked.sort_by_key(|(root, vias)| {
        let explicit = vias.iter().any(|(_, v, _)| v.is_explicit());
        (!explicit, std::cmp::Reverse(strength(vias)), *root)
    });
    let mut out = Vec::new();
    for (root, via) in ranked.into_iter().take(MAX_ROOTS) {
        let (Some(root_facts), Some(root_prep)) = (facts_without_body(conn, root)?, stored_prepared(conn, root)?)
        else {
            continue;
        };
        let verdict = dedup::verify(p, &f.title, &root_prep, &root_facts.title);
        let explicit = via.iter().map(|(_, v, _)| *v).filter(|v| v.is_explicit()).min();
        out.push(Assessment { root: root_facts, via, verdict, explicit });
    }
    Ok(out)
}

/// The best matching story: explicit evidence first, then the highest
/// containment.
pub(crate) fn best(assessments: &[Assessment]) -> Option<&Assessment> {
    assessments.iter().filter(|a| a.is_copy()).min_by(|a, b| {
        a.explicit
            .cmp(&b.explicit)
            .reverse()
            .then_with(|| b.verdict.containment.total_cmp(&a.verdict.containment))
            .then(a.root.id.cmp(&b.root.id))
    })
}

/// The attributions carried by the entries of `root`'s story.
pub(crate) fn story_credits(conn: &Connection, root: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT attribution FROM entries WHERE (id = ?1 OR duplicate_of = ?1) AND attribution IS NOT NULL",
    )?;
    let rows = stmt.query_map([root], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which of `f` (the newcomer, prepared as `p`) and the story of `root` is
/// the original, with the evidence (see [`dedup::prefer_original`]).
pub(crate) fn compare_origins(
    conn: &Connection,
    f: &Facts,
    p: &Prepared,
    root: &Facts,
) -> Result<(bool, &'static str)> {
    let root_prep = stored_prepared(conn, root.id)?.unwrap_or_default();
    let mut credits = story_credits(conn, root.id)?;
    credits.extend(origin_info(f, p, &[]).attribution);
    Ok(dedup::prefer_original(&origin_info(f, p, &credits), &origin_info(root, &root_prep, &credits)))
}

/// Returns true if and only if one of `credits` names `f`'s feed exactly
/// (its feeds.toml name or its own title).
fn credited(f: &Facts, credits: &[String]) -> bool {
    let names: Vec<String> = f.feed_names.iter().take(f.named).map(|n| dedup::name_key(n)).collect();
    credits.iter().any(|c| names.contains(&dedup::name_key(c)))
}

pub(crate) fn origin_info(f: &Facts, p: &Prepared, credits: &[String]) -> OriginInfo {
    OriginInfo {
        credited_by_story: credited(f, credits),
        id: f.id,
        url: f.url.clone(),
        source_url: f.source_url.clone(),
        attribution: p.attribution.clone().filter(|a| !dedup::credits(a, &f.feed_names)),
        feed_names: f.feed_names.clone(),
        published: f.published,
        truncated: p.truncated,
        words: p.words,
    }
}

/// Fingerprints the stored entry `id` and groups it with the story it is a
/// copy of, if any. Returns true if it was stored as a copy.
pub(crate) fn process(conn: &Connection, id: i64, settings: DedupSettings) -> Result<bool> {
    let Some(f) = facts(conn, id)? else { return Ok(false) };
    let p = prepare(conn, &f.body)?;
    let buckets = p.lsh_buckets();
    write_fingerprint(conn, &f, &p, &buckets)?;

    let override_: Option<Option<i64>> = conn
        .prepare_cached("SELECT original_id FROM dedup_overrides WHERE entry_id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    match override_ {
        Some(None) => return Ok(false),
        Some(Some(original)) => {
            let root: i64 = conn
                .prepare_cached("SELECT COALESCE(duplicate_of, id) FROM entries WHERE id = ?1")?
                .query_row([original], |r| r.get(0))?;
            set_copy(conn, id, root, "manual", None)?;
            return Ok(true);
        }
        None => {}
    }

    let roots = candidate_roots(conn, &f, &p, &buckets, settings)?;
    let assessments = assess(conn, &f, &p, roots)?;
    let Some(best) = best(&assessments) else { return Ok(false) };
    let (new_is_original, _) = compare_origins(conn, &f, &p, &best.root)?;
    let score = Some(best.verdict.containment);
    if new_is_original {
        reroot(conn, best.root.id, id, best.reason(), score)?;
        // Copies that arrived before their original may have formed several
        // stories (one started by an excerpt, one by a full copy). Every other
        // story whose original was verified against the newcomer, and that it
        // is the original of too, comes under it.
        for other in assessments.iter().filter(|a| a.is_copy() && a.root.id != best.root.id) {
            if compare_origins(conn, &f, &p, &other.root)?.0 {
                reroot(conn, other.root.id, id, other.reason(), Some(other.verdict.containment))?;
            }
        }
        Ok(false)
    } else {
        set_copy(conn, id, best.root.id, best.reason(), score)?;
        if let Some(credit) = origin_info(&f, &p, &[]).attribution {
            promote_credited(conn, best.root.id, &credit)?;
        }
        Ok(true)
    }
}

/// A copy that just joined `root`'s story credits `credit`: if that names
/// another entry of the story by its feed's exact name or title while the
/// root is not so named (a category feed stored before the site's main feed),
/// that entry becomes the original.
fn promote_credited(conn: &Connection, root: i64, credit: &str) -> Result<()> {
    let credits = [credit.to_owned()];
    let Some(root_facts) = facts_without_body(conn, root)? else { return Ok(()) };
    if credited(&root_facts, &credits) {
        return Ok(());
    }
    let members: Vec<i64> = conn
        .prepare_cached("SELECT id FROM entries WHERE duplicate_of = ?1 ORDER BY published, id")?
        .query_map([root], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for m in members {
        let Some(mf) = facts_without_body(conn, m)? else { continue };
        if credited(&mf, &credits) && mf.attribution.is_none() {
            reroot(conn, root, m, "credited", mf.dup_score)?;
            return Ok(());
        }
    }
    Ok(())
}

fn set_copy(conn: &Connection, id: i64, root: i64, reason: &str, score: Option<f64>) -> Result<()> {
    conn.prepare_cached("UPDATE entries SET duplicate_of = ?2, dup_reason = ?3, dup_score = ?4 WHERE id = ?1")?
        .execute(params![id, root, reason, score])?;
    // Its own copies, if it had any, follow it to the new root.
    conn.prepare_cached("UPDATE entries SET duplicate_of = ?2 WHERE duplicate_of = ?1")?.execute(params![id, root])?;
    Ok(())
}

/// Makes `new_root` the original of `old_root`'s story.
fn reroot(conn: &Connection, old_root: i64, new_root: i64, reason: &str, score: Option<f64>) -> Result<()> {
    conn.prepare_cached("UPDATE entries SET duplicate_of = ?2 WHERE duplicate_of = ?1")?
        .execute(params![old_root, new_root])?;
    conn.prepare_cached("UPDATE entries SET duplicate_of = ?2, dup_reason = ?3, dup_score = ?4 WHERE id = ?1")?
        .execute(params![old_root, new_root, reason, score])?;
    conn.prepare_cached("UPDATE entries SET duplicate_of = NULL, dup_reason = NULL, dup_score = NULL WHERE id = ?1")?
        .execute([new_root])?;
    Ok(())
}

/// Re-fingerprints a feed's entries published since `since` (its
/// boilerplate changed), without regrouping them.
pub(crate) fn refresh_feed(conn: &Connection, feed_id: i64, since: i64) -> Result<usize> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT e.id FROM entries e JOIN fingerprints fp ON fp.entry_id = e.id WHERE e.feed_id = ?1 AND e.published >= ?2")?
        .query_map(params![feed_id, since], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        if let Some(f) = facts(conn, *id)? {
            let p = prepare(conn, &f.body)?;
            write_fingerprint(conn, &f, &p, &p.lsh_buckets())?;
        }
    }
    Ok(ids.len())
}

/// Splits `id` off its story: it stands alone from now on (and across
/// rebuilds). If it was an original, its earliest copy takes its place.
pub(crate) fn split(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO dedup_overrides (entry_id, original_id, created) VALUES (?1, NULL, ?2)
         ON CONFLICT(entry_id) DO UPDATE SET original_id = NULL, created = excluded.created",
        params![id, now],
    )?;
    let copies: Vec<i64> = conn
        .prepare_cached("SELECT id FROM entries WHERE duplicate_of = ?1 ORDER BY published, id")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if let Some((&first, rest)) = copies.split_first() {
        conn.execute(
            "UPDATE entries SET duplicate_of = NULL, dup_reason = NULL, dup_score = NULL WHERE id = ?1",
            [first],
        )?;
        for c in rest {
            conn.execute("UPDATE entries SET duplicate_of = ?2 WHERE id = ?1", params![c, first])?;
        }
    }
    conn.execute("UPDATE entries SET duplicate_of = NULL, dup_reason = NULL, dup_score = NULL WHERE id = ?1", [id])?;
    Ok(())
}

/// Makes `id` (and its copies) a copy of `original`'s story, across rebuilds.
pub(crate) fn merge(conn: &Connection, id: i64, original: i64, now: i64) -> Result<i64> {
    let root: i64 =
        conn.query_row("SELECT COALESCE(duplicate_of, id) FROM entries WHERE id = ?1", [original], |r| r.get(0))?;
    conn.execute(
        "INSERT INTO dedup_overrides (entry_id, original_id, created) VALUES (?1, ?2, ?3)
         ON CONFLICT(entry_id) DO UPDATE SET original_id = excluded.original_id, created = excluded.created",
        params![id, root, now],
    )?;
    set_copy(conn, id, root, "manual", None)?;
    Ok(root)
}
