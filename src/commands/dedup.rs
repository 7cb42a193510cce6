//! `syndic dedup`: rebuild, explain and correct the grouping of copies.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use super::{user_error, Context};
use crate::cli::DedupArgs;
use crate::model::EntryId;
use crate::output::{safe_text, write_json};
use crate::store::{Explanation, Store};

pub(crate) fn run(ctx: &Context, args: &DedupArgs) -> anyhow::Result<ExitCode> {
    let (config, mut store) = ctx.read_store()?;
    if let Some(c) = &config {
        store.set_dedup_settings(c.dedup_settings());
    }
    let mut out = std::io::stdout().lock();
    let not_found = |e: crate::error::StoreError| {
        user_error(e.to_string(), Some("ids are shown by `syndic list --all` and `syndic search`".into()))
    };
    if args.rebuild {
        // Rebuilding rewrites every story: not while a sync writes.
        let wait = config.as_ref().map_or(crate::config::DEFAULT_LOCK_WAIT, |c| c.settings.lock_wait);
        let _lock = store.lock_for_sync(wait).map_err(super::store_error)?;
        let started = Instant::now();
        let copies = store.rebuild_dedup()?;
        let entries = store.feeds()?.iter().map(|f| f.entry_count).sum::<u64>();
        writeln!(
            out,
            "rebuilt stories of {entries} entries: {copies} copies in {:.1}s",
            started.elapsed().as_secs_f64()
        )?;
    } else if let Some(id) = args.explain {
        let Some(x) = store.explain_dedup(EntryId(id))? else {
            return Err(not_found(crate::error::StoreError::NotFound(format!("no entry with id {id}"))));
        };
        if args.json {
            write_json(&mut out, &ExplainJson::from(&x))?;
        } else {
            write_explanation(&x, &store, &mut out)?;
        }
    } else if let Some(id) = args.split {
        store.split_entry(EntryId(id), ctx.now).map_err(not_found)?;
        writeln!(out, "entry {id} now stands alone (kept across `syndic dedup --rebuild`)")?;
    } else if let Some(ids) = &args.merge {
        let (id, original) = (ids[0], ids[1]);
        let root = store.merge_entry(EntryId(id), EntryId(original), ctx.now).map_err(not_found)?;
        writeln!(out, "entry {id} is now a copy of {root} (kept across `syndic dedup --rebuild`)")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_explanation(x: &Explanation, _store: &Store, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}  {}  {}", x.id, safe_text(&x.feed), safe_text(&x.title))?;
    let others = x.story_size.saturating_sub(1);
    let status = match (x.duplicate_of, &x.override_) {
        (_, Some(None)) => "stands alone: split by the user".to_owned(),
        (Some(o), Some(Some(_))) => format!("copy of {o}: merged by the user"),
        (Some(o), None) => format!(
            "copy of {o} ({}, containment {}), in a story of {} entries",
            x.reason.as_deref().unwrap_or("?"),
            x.score.map_or("-".to_owned(), |s| format!("{s:.2}")),
            x.story_size
        ),
        (None, _) if others > 0 => format!("original of {others} copies"),
        (None, _) => "stands alone".to_owned(),
    };
    writeln!(out, "  status:      {status}")?;
    if let Some(a) = &x.attribution {
        writeln!(out, "  credits:     {}", safe_text(a))?;
    }
    let p = &x.prepared;
    writeln!(
        out,
        "  compared on: {} words, {} shingles, {} lead shingles, {} numbers{}{}",
        p.words,
        p.shingles.len(),
        p.lead.len(),
        p.numbers.len(),
        if p.truncated { ", cut short (excerpt)" } else { "" },
        if p.dropped.is_empty() {
            String::new()
        } else {
            format!(", {} boilerplate paragraphs left out", p.dropped.len())
        }
    )?;
    if let Some(why) = x.original_reason {
        let who = if x.root == x.id { format!("{} (this entry)", x.id) } else { x.root.to_string() };
        writeln!(out, "  original:    {who}, because {why}")?;
    }
    let write_pair = |out: &mut dyn Write, pv: &crate::store::PairView| -> std::io::Result<()> {
        writeln!(out, "    {}  {}  {}", pv.other, safe_text(&pv.feed), safe_text(&pv.title))?;
        let side = match (pv.kind.is_strong(), pv.this_is_shorter) {
            (true, _) => "",
            (false, true) => " (this entry is the shorter)",
            (false, false) => " (the other is the shorter)",
        };
        writeln!(out, "      {}, containment {:.2}{side}", pv.kind.as_str(), pv.containment)
    };
    let (held, apart): (Vec<_>, Vec<_>) = x.pairs.iter().partition(|p| p.in_story);
    if !held.is_empty() {
        writeln!(out, "  held in its story by these verified pairs:")?;
        for pv in held {
            write_pair(out, pv)?;
        }
    }
    if !apart.is_empty() {
        writeln!(
            out,
            "  verified pairs with entries of other stories (a roundup carrying several stories joins none):"
        )?;
        for pv in apart {
            write_pair(out, pv)?;
        }
    }
    if x.candidates.is_empty() {
        writeln!(out, "  candidates:  none within the window")?;
        return Ok(());
    }
    writeln!(out, "  candidates:")?;
    for a in &x.candidates {
        let Some(other) = &a.other else { continue };
        let story = other.duplicate_of.unwrap_or(a.id);
        writeln!(out, "    {}  {}  {}  (story {story})", a.id, safe_text(&other.feed), safe_text(&other.title))?;
        if a.strength > 0 {
            writeln!(out, "      found by {} ({} keys)", a.via.as_str(), a.strength)?;
        } else {
            writeln!(out, "      found by {}", a.via.as_str())?;
        }
        let v = &a.verdict;
        writeln!(
            out,
            "      containment {:.2}  cover {:.2}  length ratio {:.2}  lead {:.2}  title {:.2}  numbers {:.2}",
            v.containment,
            v.cover,
            v.length_ratio,
            v.lead_containment,
            v.title_similarity.unwrap_or_default(),
            v.numbers_kept
        )?;
        let verdict = match a.kind {
            Some(k) => format!("same story ({})", k.as_str()),
            None => format!("different: {}", v.reason),
        };
        writeln!(out, "      → {verdict}")?;
    }
    Ok(())
}

#[derive(Serialize)]
struct ExplainJson {
    id: i64,
    feed: String,
    title: String,
    duplicate_of: Option<i64>,
    original: i64,
    story_size: usize,
    original_because: Option<&'static str>,
    reason: Option<String>,
    score: Option<f64>,
    attribution: Option<String>,
    split_by_user: bool,
    merged_by_user: Option<i64>,
    words: usize,
    shingles: usize,
    lead_shingles: usize,
    truncated: bool,
    pairs: Vec<PairJson>,
    candidates: Vec<CandidateJson>,
}

#[derive(Serialize)]
struct PairJson {
    entry: i64,
    feed: String,
    title: String,
    kind: &'static str,
    containment: f64,
    this_is_shorter: bool,
    in_story: bool,
}

#[derive(Serialize)]
struct CandidateJson {
    entry: i64,
    /// The candidate's story (its original).
    story: i64,
    feed: String,
    title: String,
    found_by: &'static str,
    shared_keys: usize,
    containment: f64,
    cover: f64,
    length_ratio: f64,
    lead_containment: f64,
    title_similarity: f64,
    numbers_kept: f64,
    same_story: bool,
    kind: Option<&'static str>,
    reason: String,
}

impl From<&Explanation> for ExplainJson {
    fn from(x: &Explanation) -> Self {
        ExplainJson {
            id: x.id.0,
            feed: x.feed.clone(),
            title: x.title.clone(),
            duplicate_of: x.duplicate_of.map(|d| d.0),
            original: x.root.0,
            story_size: x.story_size,
            original_because: x.original_reason,
            reason: x.reason.clone(),
            score: x.score,
            attribution: x.attribution.clone(),
            split_by_user: matches!(x.override_, Some(None)),
            merged_by_user: x.override_.flatten().map(|o| o.0),
            words: x.prepared.words,
            shingles: x.prepared.shingles.len(),
            lead_shingles: x.prepared.lead.len(),
            truncated: x.prepared.truncated,
            pairs: x
                .pairs
                .iter()
                .map(|p| PairJson {
                    entry: p.other.0,
                    feed: p.feed.clone(),
                    title: p.title.clone(),
                    kind: p.kind.as_str(),
                    containment: p.containment,
                    this_is_shorter: p.this_is_shorter,
                    in_story: p.in_story,
                })
                .collect(),
            candidates: x
                .candidates
                .iter()
                .map(|a| CandidateJson {
                    entry: a.id,
                    story: a.other.as_ref().and_then(|o| o.duplicate_of).unwrap_or(a.id),
                    feed: a.other.as_ref().map(|o| o.feed.clone()).unwrap_or_default(),
                    title: a.other.as_ref().map(|o| o.title.clone()).unwrap_or_default(),
                    found_by: a.via.as_str(),
                    shared_keys: a.strength,
                    containment: a.verdict.containment,
                    cover: a.verdict.cover,
                    length_ratio: a.verdict.length_ratio,
                    lead_containment: a.verdict.lead_containment,
                    title_similarity: a.verdict.title_similarity.unwrap_or_default(),
                    numbers_kept: a.verdict.numbers_kept,
                    same_story: a.is_copy(),
                    kind: a.kind.map(|k| k.as_str()),
                    reason: match a.kind {
                        Some(k) => k.as_str().to_owned(),
                        None => a.verdict.reason.to_owned(),
                    },
                })
                .collect(),
        }
    }
}
