//! `syndic sync`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use super::{usage_error, user_error, Context, EXIT_SOME_FAILED};
use crate::cli::SyncArgs;
use crate::output::safe_text;
use crate::sync::{self, FeedResult, SyncError, SyncOptions, SyncReport};

pub(crate) fn run(ctx: &Context, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    // Unknown --feed names are a mistake in the command: say so before
    // writing anything (feeds' own titles come from an existing database).
    if let Some(t) = args.topics.iter().find(|t| !config.has_topic(t)) {
        let known = config.topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(usage_error(format!("unknown topic \"{t}\"; known topics: {known}"), None));
    }
    let db = ctx.db_path(Some(&config))?;
    if !args.feeds.is_empty() {
        let rows = if db.exists() { ctx.open_store(&db)?.feeds()? } else { Vec::new() };
        sync::select_feeds(&config, &rows, &args.feeds).map_err(|e| {
            usage_error(e.to_string(), Some("name a feed as `syndic feeds` shows it, or by its URL".into()))
        })?;
    }
    let mut store = ctx.open_store(&db)?;
    let _lock = store.lock_for_sync(config.settings.lock_wait).map_err(super::store_error)?;
    // feeds.toml as it is now: the command this sync waited for may have
    // changed it (`remove --purge` took a feed out and deleted its entries,
    // which the feeds.toml read before the wait would write back).
    let config = ctx.config()?;
    if ctx.db_path(Some(&config))? != db {
        return Err(user_error(
            "feeds.toml changed its database while this sync waited for another command",
            Some("run the sync again".into()),
        ));
    }
    // The sync this one waited for may have trained the store's dictionary:
    // without it, its texts would be unreadable here (copy detection
    // comparing without them, a second dictionary trained).
    store.reload_text_dictionaries().map_err(super::store_error)?;
    // `--since last-sync` and --print-new: what this sync brings is first seen from now.
    store.record_sync_start(ctx.now).map_err(|e| user_error(e.to_string(), None))?;

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
            // Full, locked, damaged: the hint says which. Batches committed before are kept;
            // the batch being written is rolled back whole.
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
    // With --print-new stdout carries the new stories only (cron mails only news).
    print_report(&report, ctx.cli.quiet || args.print_new, ctx.cli.verbose > 0)?;
    let mut failed = report.failures().next().is_some();
    if args.print_new || config.settings.on_new.is_some() {
        let stories = store.new_stories(ctx.now, &args.topics)?;
        if args.print_new {
            print_new(&stories, "")?;
            // An excerpt was read, the full article arrived: say so.
            let mut longer = Vec::new();
            for id in store.longer_versions(ctx.now)? {
                if let Some(d) = store.entry(id)? {
                    if args.topics.is_empty() || d.row.topics.iter().any(|t| args.topics.contains(t)) {
                        longer.push(d.row);
                    }
                }
            }
            print_new(&longer, "  (a longer version of a story you read)")?;
        }
        if let (Some(command), false) = (&config.settings.on_new, stories.is_empty()) {
            if let Err(reason) = run_on_new(command, &stories) {
                eprintln!("failed: settings.on_new command `{}`: {reason}", safe_text(command));
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::from(EXIT_SOME_FAILED) } else { ExitCode::SUCCESS })
}

/// One line per new story: `ID  FEED  TITLE  LINK` and `note`.
fn print_new(stories: &[crate::store::EntryRow], note: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for s in stories {
        let mut line = format!("{}  {}  {}", s.id, safe_text(&s.feed), safe_text(&s.title));
        if let Some(url) = &s.url {
            line.push_str(&format!("  {}", safe_text(url)));
        }
        writeln!(out, "{line}{note}")?;
    }
    out.flush()
}

/// Runs `command` with `sh -c`, the stories as a JSON array (the fields of
/// `list --json`) on its stdin; waits for it. The error says why it failed.
fn run_on_new(command: &str, stories: &[crate::store::EntryRow]) -> Result<(), String> {
    let json: Vec<crate::output::entries::EntryJson> = stories.iter().map(Into::into).collect();
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is not an error.
        let _ = stdin.write_all(text.as_bytes()).and_then(|()| stdin.write_all(b"\n"));
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

fn print_report(report: &SyncReport, quiet: bool, verbose: bool) -> std::io::Result<()> {
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
    // Every host unresolvable: one message about the machine instead of one
    // line per feed (which -v still lists).
    let offline = report.is_offline();
    if offline {
        let n = report.failures().count();
        writeln!(stderr, "error: none of the {n} feeds' hosts could be resolved: no network?")?;
        writeln!(
            stderr,
            "hint: check the network connection and DNS (/etc/resolv.conf), then run `syndic sync` again"
        )?;
        if !verbose {
            return Ok(());
        }
    }
    for o in report.failures() {
        if let FeedResult::Failed { reason, .. } = &o.result {
            writeln!(stderr, "failed: {} <{}>: {}", safe_text(&o.name), safe_text(&o.url), safe_text(reason))?;
        }
    }
    Ok(())
}

/// `synced 18 feeds: 240 new, 35 copies, 2 unchanged, 1 failed in 3.2s` (with
/// `N re-tagged` before `failed` when feeds.toml's topics changed)
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
    if r.retagged > 0 {
        parts.push(format!("{} re-tagged", r.retagged));
    }
    parts.push(format!("{} failed", r.failures().count()));
    format!("synced {n} feed{}: {} in {:.1}s", if n == 1 { "" } else { "s" }, parts.join(", "), r.elapsed.as_secs_f64())
}
