//! `syndic sync`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use super::{user_error, Context, EXIT_SOME_FAILED};
use crate::cli::SyncArgs;
use crate::output::safe_text;
use crate::sync::{self, FeedResult, SyncError, SyncOptions, SyncReport};

pub(crate) fn run(ctx: &Context, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    // Unknown --feed names are a mistake in the command: say so before
    // writing anything (feeds' own titles come from an existing database).
    let db = ctx.db_path(Some(&config))?;
    if !args.feeds.is_empty() {
        let rows = if db.exists() { ctx.open_store(&db)?.feeds()? } else { Vec::new() };
        sync::select_feeds(&config, &rows, &args.feeds).map_err(|e| {
            user_error(e.to_string(), Some("name a feed as `syndic feeds` shows it, or by its URL".into()))
        })?;
    }
    let mut store = ctx.open_store(&db)?;
    let _lock = store.lock_for_sync(config.settings.lock_wait).map_err(super::store_error)?;

    let progress = if std::io::stderr().is_terminal() && !ctx.cli.quiet {
        let bar = ProgressBar::new(config.feeds.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    if !args.feeds.is_empty() {
        progress.set_length(args.feeds.len() as u64);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| user_error(format!("cannot start the async runtime: {e}"), None))?;
    let options = SyncOptions { only: args.feeds.clone(), force: args.force };
    let report = runtime
        .block_on(sync::run(&config, &mut store, &options, ctx.now, |outcome| {
            progress.set_message(safe_text(&outcome.name));
            progress.inc(1);
        }))
        .map_err(|e| match e {
            // Full, locked, damaged: the hint says which, and that feeds saved so far are kept.
            SyncError::Store(e) => super::store_error(e),
            e => user_error(e.to_string(), None),
        })?;
    // A parse over its deadline may still run on a blocking thread: do not wait for it.
    runtime.shutdown_background();
    progress.finish_and_clear();
    // Retention: entries older than settings.keep go (with tombstones).
    if let Some(keep) = config.settings.keep {
        let cutoff = crate::config::time_ago(ctx.now, keep);
        let pruned = store.prune(cutoff, ctx.now, false).map_err(super::store_error)?;
        if pruned > 0 {
            tracing::info!(pruned, "old entries pruned");
        }
    }
    print_report(&report, ctx.cli.quiet)?;
    Ok(if report.failures().next().is_some() { ExitCode::from(EXIT_SOME_FAILED) } else { ExitCode::SUCCESS })
}

fn print_report(report: &SyncReport, quiet: bool) -> std::io::Result<()> {
    let mut stderr = std::io::stderr().lock();
    if !quiet {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", summary_line(report))?;
        for o in report.outcomes.iter() {
            if let Some(to) = &o.moved_to {
                writeln!(
                    stderr,
                    "moved: {} <{}> now answers at <{}> (permanent redirect); update feeds.toml, or run `syndic feeds --fix-redirects`",
                    safe_text(&o.name),
                    safe_text(&o.url),
                    safe_text(to)
                )?;
            }
        }
    }
    for o in report.failures() {
        if let FeedResult::Failed { reason } = &o.result {
            writeln!(stderr, "failed: {} <{}>: {}", safe_text(&o.name), safe_text(&o.url), safe_text(reason))?;
        }
    }
    Ok(())
}

/// `synced 18 feeds: 240 new, 35 copies, 2 unchanged, 1 failed in 3.2s`
pub(crate) fn summary_line(r: &SyncReport) -> String {
    let n = r.outcomes.len() - r.skipped();
    let mut parts = vec![format!("{} new", r.new_entries()), format!("{} copies", r.copies())];
    if r.updated() > 0 {
        parts.push(format!("{} updated", r.updated()));
    }
    parts.push(format!("{} unchanged", r.unchanged()));
    if r.skipped() > 0 {
        parts.push(format!("{} not due", r.skipped()));
    }
    parts.push(format!("{} failed", r.failures().count()));
    format!("synced {n} feed{}: {} in {:.1}s", if n == 1 { "" } else { "s" }, parts.join(", "), r.elapsed.as_secs_f64())
}
