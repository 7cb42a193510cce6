//! `syndic remove NAME_OR_URL [--purge]`: take a feed out of feeds.toml
//! and, with --purge, its entries out of the database.

use std::io::Write;
use std::process::ExitCode;

use super::add::{existing_config, same_url, write_config};
use super::{user_error, Context};
use crate::cli::RemoveArgs;
use crate::config::Config;
use crate::feeds_file::remove_feed_at;
use crate::output::safe_text;
use crate::store::FeedRow;

pub(crate) fn run(ctx: &Context, args: &RemoveArgs) -> anyhow::Result<ExitCode> {
    let config = existing_config(ctx)?;
    let db = ctx.db_path(Some(&config))?;
    let mut store = if db.exists() { Some(ctx.open_store(&db)?) } else { None };
    // A sync running now would write the purged feed's entries back (it
    // read feeds.toml before): wait for it, as `prune` does.
    let _lock = match &store {
        Some(s) if args.purge => Some(s.lock_for_sync(config.settings.lock_wait).map_err(super::store_error)?),
        _ => None,
    };
    let rows = match &store {
        Some(s) => s.feeds()?,
        None => Vec::new(),
    };
    let wanted = args.feed.trim();
    let matches = |url: &str, name: Option<&str>| {
        same_url(url, wanted)
            || name.is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            || rows.iter().any(|r| r.url == url && r.title.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(wanted)))
    };
    let mut out = std::io::stdout().lock();

    // A URL as feeds.toml writes it, #fragment and all (it is read without
    // it), unless the database holds a feed under that very URL (an orphan
    // that kept its fragment: that is the one meant).
    let configured = config.feeds.iter().position(|f| matches(&f.url, f.name.as_deref())).or_else(|| {
        let bare = url::Url::parse(wanted).ok().filter(|u| u.fragment().is_some()).map(|mut u| {
            u.set_fragment(None);
            u.to_string()
        })?;
        if rows.iter().any(|r| same_url(&r.url, wanted)) {
            return None;
        }
        config.feeds.iter().position(|f| same_url(&f.url, &bare))
    });
    let url = match configured {
        Some(index) => {
            let feed = &config.feeds[index];
            let text = std::fs::read_to_string(&config.path)?;
            let new_text = remove_feed_at(&text, index)
                .map_err(|e| user_error(format!("cannot edit {}: {e}", config.path.display()), None))?
                .ok_or_else(|| user_error(format!("cannot find {} in {}", feed.url, config.path.display()), None))?;
            Config::parse(&new_text, &config.path).map_err(|e| user_error(e.to_string(), None))?;
            write_config(&config.path, &new_text)?;
            let shown = feed.name.clone().unwrap_or_else(|| feed.url.clone());
            writeln!(out, "removed {} <{}> from {}", safe_text(&shown), safe_text(&feed.url), config.path.display())?;
            feed.url.clone()
        }
        None => {
            let orphan: Option<&FeedRow> = rows.iter().find(|r| matches(&r.url, r.name.as_deref()));
            match orphan {
                Some(r) if args.purge => r.url.clone(),
                Some(r) => {
                    return Err(user_error(
                        format!(
                            "{} is not in {}; its {} entries are still in the database",
                            r.url,
                            config.path.display(),
                            r.entry_count
                        ),
                        Some(format!("`syndic remove --purge {}` deletes them", r.url)),
                    ))
                }
                None => {
                    let known = config
                        .feeds
                        .iter()
                        .map(|f| f.name.clone().unwrap_or_else(|| f.url.clone()))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(user_error(
                        format!("no feed is named or has the URL \"{wanted}\"; known feeds: {known}"),
                        Some("`syndic feeds` lists them, `syndic feeds --orphans` the removed ones".into()),
                    ));
                }
            }
        }
    };

    let entries = rows.iter().find(|r| r.url == url).map_or(0, |r| r.entry_count);
    match store.as_mut() {
        Some(store) if args.purge => {
            if let Some(report) = store.purge_feed(&url)? {
                write!(out, "deleted {} entries", report.entries)?;
                if report.rerooted > 0 {
                    write!(
                        out,
                        "; {} {} it carried first {} on under a copy",
                        report.rerooted,
                        if report.rerooted == 1 { "story" } else { "stories" },
                        if report.rerooted == 1 { "lives" } else { "live" }
                    )?;
                }
                writeln!(out)?;
            }
        }
        _ if entries > 0 => {
            writeln!(out, "its {entries} entries stay in the database; `syndic remove --purge {url}` deletes them")?;
        }
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}
