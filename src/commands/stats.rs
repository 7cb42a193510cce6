//! `syndic stats`.

use std::io::Write;
use std::process::ExitCode;

use super::Context;
use crate::cli::StatsArgs;
use crate::output::stats::write_stats;
use crate::output::{terminal_width, write_json};
use crate::stats::{build, window, Counts, MOST_REPUBLISHED};
use crate::store::StatsQuery;

pub(crate) fn run(ctx: &Context, args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = ctx.read_store()?;
    // Days are the reader's local days.
    let zone = *ctx.now.with_timezone(&chrono::Local).offset();
    let offset_secs = i64::from(zone.local_minus_utc());
    let (first_day, since, until) = window(ctx.now, args.days, offset_secs);
    let q = StatsQuery { since, until, offset_secs, include_filtered: args.include_filtered };
    let mut activity = store.feed_activity()?;
    // The configured feeds (a feed removed from feeds.toml is not "silent").
    if let Some(c) = &config {
        activity.retain(|a| c.feeds.iter().any(|f| f.url == a.url));
    }
    let counts = Counts {
        stories: store.stories_per_day(&q)?,
        topics: store.stories_per_topic_day(&q)?,
        feeds: store.entries_per_feed_day(&q)?,
        republished: store.most_republished(&q, MOST_REPUBLISHED)?,
        activity,
        filtered: store.filtered_count()?,
    };
    let zone_name = if offset_secs == 0 { "UTC".to_owned() } else { format!("UTC{zone}") };
    let report = build(args.days as usize, first_day, zone_name, counts);
    let mut out = std::io::stdout().lock();
    if args.json {
        write_json(&mut out, &report)?;
    } else {
        write_stats(&report, terminal_width(), ctx.style(), &mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
