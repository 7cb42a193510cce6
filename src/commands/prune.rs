//! `syndic prune`: delete old entries, keeping tombstones.

use std::io::Write;
use std::process::ExitCode;

use super::{user_error, Context};
use crate::cli::PruneArgs;

pub(crate) fn run(ctx: &Context, args: &PruneArgs) -> anyhow::Result<ExitCode> {
    let (config, mut store) = ctx.read_store()?;
    let keep = match (&args.older_than, config.as_ref().and_then(|c| c.settings.keep)) {
        (Some(d), _) => *d,
        (None, Some(k)) => k,
        (None, None) => {
            return Err(user_error(
                "nothing to prune: no age given",
                Some("set `keep = \"180d\"` under [settings] in feeds.toml, or pass --older-than 180d".into()),
            ))
        }
    };
    let cutoff = crate::config::time_ago(ctx.now, keep);
    let wait = config.as_ref().map_or(crate::config::DEFAULT_LOCK_WAIT, |c| c.settings.lock_wait);
    let _lock = store.lock_for_sync(wait).map_err(super::store_error)?;
    let n = store.prune(cutoff, ctx.now, args.dry_run)?;
    let mut out = std::io::stdout().lock();
    let when = crate::output::human_time(cutoff);
    if args.dry_run {
        writeln!(out, "would delete {n} entries published before {when}")?;
    } else {
        writeln!(out, "deleted {n} entries published before {when} (originals of newer copies kept)")?;
    }
    Ok(ExitCode::SUCCESS)
}
