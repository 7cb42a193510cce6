//! `syndic feeds`.

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use super::Context;
use crate::cli::FeedsArgs;
use crate::output::{human_time, rfc3339, safe_text, table_width, write_json, Column, Table};
use crate::store::FeedRow;

/// One feed in `syndic feeds --json`.
#[derive(Serialize)]
struct FeedJson {
    name: String,
    url: String,
    title: Option<String>,
    site_url: Option<String>,
    topics: Vec<String>,
    entries: u64,
    last_attempt: Option<String>,
    last_success: Option<String>,
    http_status: Option<u16>,
    last_error: Option<String>,
    consecutive_failures: u32,
    /// Not fetched before this time (Retry-After, backoff, max-age, ttl).
    next_attempt: Option<String>,
    /// 410 Gone: not fetched until `sync --force`.
    gone: bool,
    /// Where a permanent redirect moved the feed.
    moved_to: Option<String>,
    /// The feed an HTML page at the URL links to.
    discovered: Option<String>,
    /// The feed's own date (when it says it was last updated).
    updated: Option<String>,
}

pub(crate) fn run(ctx: &Context, args: &FeedsArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let db = ctx.db_path(Some(&config))?;
    if args.fix_redirects {
        return fix_redirects(ctx, &config, &db);
    }
    if args.orphans {
        return orphans(ctx, &config, &db, args.json);
    }
    // Listing never creates a database: a feed that was never synced shows no state.
    let rows = if db.exists() { ctx.open_store(&db)?.feeds()? } else { Vec::new() };
    let feeds: Vec<FeedJson> = config
        .feeds
        .iter()
        .map(|f| {
            let row: Option<&FeedRow> = rows.iter().find(|r| r.url == f.url);
            FeedJson {
                name: f.name.clone().or_else(|| row.and_then(|r| r.title.clone())).unwrap_or_else(|| f.url.clone()),
                url: f.url.clone(),
                title: row.and_then(|r| r.title.clone()),
                site_url: row.and_then(|r| r.site_url.clone()),
                topics: f.topics.clone(),
                entries: row.map_or(0, |r| r.entry_count),
                last_attempt: row.and_then(|r| r.last_attempt).map(rfc3339),
                last_success: row.and_then(|r| r.last_success).map(rfc3339),
                http_status: row.and_then(|r| r.http_status),
                last_error: row.and_then(|r| r.last_error.clone()),
                consecutive_failures: row.map_or(0, |r| r.consecutive_failures),
                next_attempt: row.and_then(|r| r.next_attempt).map(rfc3339),
                gone: row.is_some_and(|r| r.gone),
                moved_to: row.and_then(|r| r.moved_to.clone()),
                discovered: row.and_then(|r| r.discovered.clone()),
                updated: row.and_then(|r| r.feed_updated).map(rfc3339),
            }
        })
        .collect();

    let mut out = std::io::stdout().lock();
    if args.json {
        write_json(&mut out, &feeds)?;
        return Ok(ExitCode::SUCCESS);
    }
    let table = Table {
        columns: vec![
            Column::name("NAME"),
            Column::secondary("TOPICS"),
            Column::number("ENTRIES"),
            Column::date("LAST SUCCESS"),
            Column::url("URL"),
            Column::text("LAST ERROR"),
        ],
        rows: feeds
            .iter()
            .zip(&config.feeds)
            .map(|(f, cfg)| {
                let row = rows.iter().find(|r| r.url == cfg.url);
                let mut status = match row {
                    Some(r) if r.last_attempt.is_some() => match &r.last_error {
                        Some(e) if r.consecutive_failures > 1 => format!("{e} ({}x)", r.consecutive_failures),
                        Some(e) => e.clone(),
                        None => "-".to_owned(),
                    },
                    _ => "never synced".to_owned(),
                };
                if let Some(r) = row {
                    if let Some(to) = &r.moved_to {
                        status = format!("moved to {to}; {status}");
                    }
                    if let Some(next) = r.next_attempt.filter(|t| *t > ctx.now).filter(|_| r.last_error.is_some()) {
                        status = format!("{status}; next try {}", human_time(next));
                    }
                }
                vec![
                    safe_text(&f.name),
                    f.topics.join(","),
                    f.entries.to_string(),
                    row.and_then(|r| r.last_success).map(human_time).unwrap_or_else(|| "-".into()),
                    safe_text(&f.url),
                    safe_text(&status),
                ]
            })
            .collect(),
    };
    table.render(table_width(), ctx.style(), &mut out)?;
    out.flush()?;
    let orphans = rows.iter().filter(|r| !config.feeds.iter().any(|f| f.url == r.url)).count();
    if orphans > 0 {
        let (them, it) = if orphans == 1 { ("feed", "it") } else { ("feeds", "them") };
        eprintln!(
            "note: {orphans} {them} in the database no longer in {}; `syndic feeds --orphans` lists {it}",
            config.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Rewrites the `url` of every feed a permanent redirect moved, in place:
/// comments, order and layout of feeds.toml are kept (toml_edit). Planned
/// first, so that nothing is half done: a feed whose new URL feeds.toml
/// already lists (another feed, or another moved feed's new URL) is left
/// as it is, with a note; the database follows the file in one transaction.
fn fix_redirects(ctx: &Context, config: &crate::config::Config, db: &std::path::Path) -> anyhow::Result<ExitCode> {
    let mut store = if db.exists() { Some(ctx.open_store(db)?) } else { None };
    // A sync running now could record a move or add a feed under the new
    // URL while the file is rewritten: wait for it.
    let _lock = match &store {
        Some(s) => Some(s.lock_for_sync(config.settings.lock_wait).map_err(super::store_error)?),
        None => None,
    };
    let rows = match &store {
        Some(s) => s.feeds()?,
        None => Vec::new(),
    };
    let configured: HashSet<&str> = config.feeds.iter().map(|f| f.url.as_str()).collect();
    // Only feeds feeds.toml lists can be rewritten; a removed feed's move is history.
    let moved: Vec<(String, String)> = rows
        .iter()
        .filter(|r| configured.contains(r.url.as_str()))
        // Without a #fragment (one recorded by an older syndic may have it):
        // feeds.toml reads URLs without it.
        .filter_map(|r| r.moved_to.as_deref().map(|to| (r.url.clone(), without_fragment(to))))
        .filter(|(from, to)| from != to)
        .collect();
    let mut out = std::io::stdout().lock();
    if moved.is_empty() {
        writeln!(out, "no feed has moved")?;
        return Ok(ExitCode::SUCCESS);
    }
    // The plan: each move that leaves every URL in the file once.
    // (A trailing slash makes no difference, as for `add`.)
    let listed = |set: &HashSet<&str>, url: &str| set.iter().any(|t| super::add::same_url(t, url));
    let mut taken: HashSet<&str> = configured.clone();
    let mut planned: Vec<(&str, &str)> = Vec::new();
    // A move to a URL another feed leaves (it moved on too: A to B, B to C)
    // waits for that one, whatever their order: passes until none is planned.
    // The database follows in the same order, each new URL free by then.
    let mut pending: Vec<(&str, &str)> = moved.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
    loop {
        let before = planned.len();
        pending.retain(|&(from, to)| {
            if listed(&taken, to) {
                return true;
            }
            taken.remove(from);
            taken.insert(to);
            planned.push((from, to));
            false
        });
        if planned.len() == before {
            break;
        }
    }
    for (from, to) in pending {
        let name_of =
            |url: &str| config.feeds.iter().find(|f| super::add::same_url(&f.url, url)).and_then(|f| f.name.clone());
        let already = if listed(&configured, to) {
            match name_of(to) {
                Some(n) => format!("which feeds.toml already lists (as {})", safe_text(&n)),
                None => "which feeds.toml already lists".to_owned(),
            }
        } else {
            "where another feed of feeds.toml moved too".to_owned()
        };
        let from_name = name_of(from).map_or(String::new(), |n| format!("{} ", safe_text(&n)));
        eprintln!(
            "note: {from_name}<{from}> moved to <{to}>, {already}: left as it is; \
             remove the old one with `syndic remove {from}`"
        );
    }
    let path = &config.path;
    let text = std::fs::read_to_string(path)?;
    let mut doc: toml_edit::DocumentMut = text.parse()?;
    let mut rewritten: Vec<String> = Vec::new();
    if let Some(feeds) = doc.get_mut("feeds").and_then(|f| f.as_array_of_tables_mut()) {
        for table in feeds.iter_mut() {
            let Some(raw) = table.get("url").and_then(|u| u.as_str()).map(str::to_owned) else { continue };
            // The file may say it differently (no trailing slash...): compare as URLs.
            // (feeds.toml URLs are read without their #fragment.)
            let normalised = without_fragment(raw.trim());
            if let Some((_, to)) = planned.iter().find(|(from, _)| *from == normalised || *from == raw) {
                let decor = table.get("url").and_then(|u| u.as_value()).map(|v| v.decor().clone());
                let mut value = toml_edit::Value::from(*to);
                if let Some(d) = decor {
                    *value.decor_mut() = d;
                }
                table["url"] = toml_edit::Item::Value(value);
                rewritten.push(format!("{raw} -> {to}"));
            }
        }
    }
    if !rewritten.is_empty() {
        // As `add` and `remove` write it: atomically, synced, keeping its
        // permissions; inside the database's transaction, so that if either
        // fails neither changes.
        let text = doc.to_string();
        let write = || super::add::write_config(path, &text);
        // The feeds keep their entries and state under their new URL. One
        // the database already holds under the new URL (a feed removed from
        // feeds.toml but not purged) keeps its own: the old one's entries
        // stay under the old URL, listed by `feeds --orphans`.
        let kept = match store.as_mut() {
            Some(store) => store.move_feeds(&planned, write)?,
            None => {
                write()?;
                Vec::new()
            }
        };
        for line in &rewritten {
            writeln!(out, "{line}")?;
        }
        for (from, to) in kept {
            eprintln!(
                "note: the database already holds <{to}>: it is that feed's from now on; the entries stored \
                 under <{from}> stay (`syndic remove --purge {from}` drops them)"
            );
        }
        writeln!(out, "updated {} feed URLs in {}", rewritten.len(), path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `url` as feeds.toml reads it: parsed, without its #fragment (as it is
/// when it does not parse).
fn without_fragment(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// One feed of `syndic feeds --orphans --json`.
#[derive(Serialize)]
struct OrphanJson {
    name: String,
    url: String,
    entries: u64,
    last_success: Option<String>,
}

/// The feeds the database holds but feeds.toml no longer names: their
/// entries still show in `list` and `search` until `remove --purge`.
fn orphans(
    ctx: &Context,
    config: &crate::config::Config,
    db: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let rows = if db.exists() { ctx.open_store(db)?.feeds()? } else { Vec::new() };
    let orphans: Vec<OrphanJson> = rows
        .iter()
        .filter(|r| !config.feeds.iter().any(|f| f.url == r.url))
        .map(|r| OrphanJson {
            name: r.display_name().to_owned(),
            url: r.url.clone(),
            entries: r.entry_count,
            last_success: r.last_success.map(rfc3339),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        write_json(&mut out, &orphans)?;
    } else if orphans.is_empty() {
        eprintln!("no orphan feeds: every feed in the database is in {}", config.path.display());
    } else {
        let table = Table {
            columns: vec![Column::text("NAME"), Column::number("ENTRIES"), Column::text("URL")],
            rows: orphans.iter().map(|o| vec![safe_text(&o.name), o.entries.to_string(), safe_text(&o.url)]).collect(),
        };
        table.render(crate::output::table_width(), ctx.style(), &mut out)?;
        out.flush()?;
        eprintln!("remove one with `syndic remove --purge NAME_OR_URL`");
    }
    Ok(ExitCode::SUCCESS)
}
