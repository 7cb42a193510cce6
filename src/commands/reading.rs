//! `syndic read`, `syndic unread`: marking stories read or unread.

use std::io::Write;
use std::process::ExitCode;

use super::{check_topics, resolve_feeds, user_error, Context};
use crate::cli::{ReadArgs, UnreadArgs};
use crate::error::StoreError;
use crate::model::EntryId;
use crate::store::ListQuery;

pub(crate) fn read(ctx: &Context, args: &ReadArgs) -> anyhow::Result<ExitCode> {
    let (config, mut store) = ctx.read_store()?;
    let mut out = std::io::stdout().lock();
    if args.all {
        check_topics(&args.topics, config.as_ref(), &store)?;
        // `--before last-sync`: what earlier syncs brought.
        let (until, seen_until) = ctx.since(args.before, &store)?;
        let query = ListQuery {
            topics: args.topics.clone(),
            feed_urls: resolve_feeds(&args.feeds, &store)?,
            until,
            seen_until,
            limit: usize::MAX,
            ..ListQuery::default()
        };
        let n = store.mark_read_matching(&query, ctx.now)?;
        writeln!(out, "marked {n} {} read", if n == 1 { "story" } else { "stories" })?;
    } else if !args.topics.is_empty() || !args.feeds.is_empty() || args.before.is_some() {
        return Err(user_error(
            "--topic, --feed and --before narrow --all; they cannot be used with ids",
            Some("write `syndic read --all --topic T`, or list the ids alone".into()),
        ));
    } else {
        let ids: Vec<EntryId> = args.ids.iter().copied().map(EntryId).collect();
        store.mark_read(&ids, ctx.now).map_err(not_found)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn unread(ctx: &Context, args: &UnreadArgs) -> anyhow::Result<ExitCode> {
    let (_, mut store) = ctx.read_store()?;
    let ids: Vec<EntryId> = args.ids.iter().copied().map(EntryId).collect();
    store.mark_unread(&ids).map_err(not_found)?;
    Ok(ExitCode::SUCCESS)
}

/// An unknown id is the user's mistake: say where ids come from.
pub(crate) fn not_found(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::NotFound(m) => user_error(m, Some("ids are shown by `syndic list` and `syndic search`".into())),
        e => user_error(e.to_string(), None),
    }
}

/// Marks the story of `id` read after it was shown or opened. The reading
/// has happened: a database that cannot be written (read-only, busy) is
/// worth a warning, not a failed command.
pub(crate) fn mark_shown(store: &mut crate::store::Store, id: EntryId, now: chrono::DateTime<chrono::Utc>) {
    if let Err(e) = store.mark_read(&[id], now) {
        eprintln!("warning: entry {id} was not marked read: {e}");
    }
}
