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
    let status = match (x.duplicate_of, &x.override_) {
        (_, Some(None)) => "stands alone: split by the user".to_owned(),
        (Some(o), Some(Some(_))) => format!("copy of {o}: merged by the user"),
        (Some(o), None) => format!(
            "copy of {o} ({}, containment {})",
            x.reason.as_deref().unwrap_or("?"),
            x.score.map_or("-".to_owned(), |s| format!("{s:.2}"))
        ),
        (None, _) if x.copies > 0 => format!("original of {} copies", x.copies),
        (None, _) => "stands alone".to_owned(),
    };
    writeln!(out, "  status:      {status}")?;
    if let Some(a) = &x.attribution {
        writeln!(out, "  credits:     {}", safe_text(a))?;
    }
    let p = &x.prepared;
    writeln!(
        out,
        "  compared on: {} words, {} shingles, {} lead shingles, {} numbers{}",
        p.words,
        p.shingles.len(),
        p.lead.len(),
        p.numbers.len(),
        if p.truncated { ", cut short (excerpt)" } else { "" }
    )?;
    if x.candidates.is_empty() {
        writeln!(out, "  candidates:  none in other feeds within the window")?;
        return Ok(());
    }
    writeln!(out, "  candidates:")?;
    let mut originals = x.originals.iter();
    for a in &x.candidates {
        let vias: Vec<String> = a
            .via
            .iter()
            .map(
                |(id, v, n)| {
                    if *n > 0 {
                        format!("{} of {id} ({n})", v.as_str())
                    } else {
                        format!("{} of {id}", v.as_str())
                    }
                },
            )
            .collect();
        writeln!(out, "    story {}  {}  {}", a.root.id, safe_text(&a.root.feed), safe_text(&a.root.title))?;
        writeln!(out, "      found by {}", vias.join(", "))?;
        let v = &a.verdict;
        writeln!(
            out,
            "      containment {:.2}  jaccard {:.2}  length ratio {:.2}  lead {:.2}  title {:.2}  numbers {:.2}",
            v.containment, v.jaccard, v.length_ratio, v.lead_containment, v.title_similarity, v.numbers_kept
        )?;
        let verdict = match (a.explicit, v.copy) {
            (Some(e), _) => format!("same story: same {}", e.as_str()),
            (None, true) => format!("same story: {}", v.reason),
            (None, false) => format!("different: {}", v.reason),
        };
        writeln!(out, "      → {verdict}")?;
        if a.is_copy() {
            if let Some((this_first, why)) = originals.next() {
                let who = if *this_first { format!("{} (this entry)", x.id) } else { a.root.id.to_string() };
                writeln!(out, "      original: {who}, because {why}")?;
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct ExplainJson {
    id: i64,
    feed: String,
    title: String,
    duplicate_of: Option<i64>,
    reason: Option<String>,
    score: Option<f64>,
    attribution: Option<String>,
    copies: u32,
    split_by_user: bool,
    merged_by_user: Option<i64>,
    words: usize,
    shingles: usize,
    lead_shingles: usize,
    truncated: bool,
    candidates: Vec<CandidateJson>,
}

#[derive(Serialize)]
struct CandidateJson {
    story: i64,
    feed: String,
    title: String,
    found_by: Vec<(i64, &'static str, usize)>,
    containment: f64,
    jaccard: f64,
    length_ratio: f64,
    lead_containment: f64,
    title_similarity: f64,
    numbers_kept: f64,
    same_story: bool,
    reason: String,
    /// For a match: whether this entry would be the original, and why.
    this_is_original: Option<bool>,
    original_because: Option<&'static str>,
}

impl From<&Explanation> for ExplainJson {
    fn from(x: &Explanation) -> Self {
        let mut originals = x.originals.iter();
        ExplainJson {
            id: x.id.0,
            feed: x.feed.clone(),
            title: x.title.clone(),
            duplicate_of: x.duplicate_of.map(|d| d.0),
            reason: x.reason.clone(),
            score: x.score,
            attribution: x.attribution.clone(),
            copies: x.copies,
            split_by_user: matches!(x.override_, Some(None)),
            merged_by_user: x.override_.flatten().map(|o| o.0),
            words: x.prepared.words,
            shingles: x.prepared.shingles.len(),
            lead_shingles: x.prepared.lead.len(),
            truncated: x.prepared.truncated,
            candidates: x
                .candidates
                .iter()
                .map(|a| {
                    let original = if a.is_copy() { originals.next().copied() } else { None };
                    CandidateJson {
                        story: a.root.id,
                        feed: a.root.feed.clone(),
                        title: a.root.title.clone(),
                        found_by: a.via.iter().map(|(id, v, n)| (*id, v.as_str(), *n)).collect(),
                        containment: a.verdict.containment,
                        jaccard: a.verdict.jaccard,
                        length_ratio: a.verdict.length_ratio,
                        lead_containment: a.verdict.lead_containment,
                        title_similarity: a.verdict.title_similarity,
                        numbers_kept: a.verdict.numbers_kept,
                        same_story: a.is_copy(),
                        reason: match a.explicit {
                            Some(e) => format!("same {}", e.as_str()),
                            None => a.verdict.reason.to_owned(),
                        },
                        this_is_original: original.map(|o| o.0),
                        original_because: original.map(|o| o.1),
                    }
                })
                .collect(),
        }
    }
}
