//! Command-line arguments (clap derive types only; commands resolve them).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::ColorChoice;

/// syndic: a feed aggregator that groups syndicated copies under their original.
#[derive(Debug, Parser)]
#[command(name = "syndic", version, about, long_about = None, after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    /// The configuration file.
    #[arg(short, long, global = true, env = "SYNDIC_CONFIG", default_value = "feeds.toml", value_name = "PATH")]
    pub config: PathBuf,

    /// The database (default: settings.database in the config, else syndic.db in the platform data directory).
    #[arg(long, global = true, env = "SYNDIC_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Print only failures and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace); SYNDIC_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

const EXIT_STATUS_HELP: &str = "Exit status: 0 success; 1 a fatal error (bad configuration, database not writable); \
2 sync finished but some feeds failed.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch every feed, store new entries and group syndicated copies.
    Sync(SyncArgs),
    /// List the configured feeds and how their last sync went.
    Feeds(FeedsArgs),
    /// List stories newest first, one row per story with its copies counted.
    List(ListArgs),
    /// Full-text search, best match first.
    Search(SearchArgs),
    /// Show one entry in full, with the other places of its story.
    Show(ShowArgs),
    /// Write the feed list (OPML) or a digest (JSON Feed, HTML page, Atom planet) for other tools.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Inspect and correct how copies are grouped into stories.
    Dedup(DedupArgs),
    /// Find the feeds a web page links to (or check that a URL is a feed).
    Discover(DiscoverArgs),
    /// Check the database and the configuration.
    Doctor(DoctorArgs),
    /// Delete old entries (settings.keep, or --older-than), keeping tombstones.
    Prune(PruneArgs),
    /// Stories per day per topic and feed, copies per feed, the most republished stories, silent feeds.
    Stats(StatsArgs),
}

fn parse_days(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=crate::stats::MAX_DAYS).contains(&n) => Ok(n),
        _ => Err(format!("\"{s}\" is not a number of days: write a whole number from 1 to {}", crate::stats::MAX_DAYS)),
    }
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// How many days back, today included.
    #[arg(long, default_value_t = 30, value_parser = parse_days, value_name = "N")]
    pub days: u32,

    /// Include entries that the filters of feeds.toml hide.
    #[arg(long)]
    pub include_filtered: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Fix what can be fixed: orphan rows, the search index, the stories.
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete entries published longer ago than this (default: settings.keep).
    #[arg(long, value_name = "AGE")]
    pub older_than: Option<humantime::Duration>,

    /// Only say how many entries would go.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A site's page or a feed's URL.
    pub url: String,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync only this feed (its name or URL); repeatable.
    #[arg(long = "feed", value_name = "NAME_OR_URL")]
    pub feeds: Vec<String>,

    /// Fetch every selected feed now, even those not due (Retry-After, backoff, max-age) or gone.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct FeedsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Rewrite feeds.toml so that feeds moved by a permanent redirect use their new URL (comments and layout kept).
    #[arg(long, conflicts_with = "json")]
    pub fix_redirects: bool,
}

/// A point in time on the command line: `24h` / `7d` (that long ago),
/// `2026-11-01` (midnight UTC) or an RFC 3339 time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeSpec {
    Ago(std::time::Duration),
    At(chrono::DateTime<chrono::Utc>),
}

impl TimeSpec {
    /// The instant this names, relative to `now`.
    pub fn resolve(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            TimeSpec::Ago(d) => now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX),
            TimeSpec::At(t) => t,
        }
    }
}

/// Parses a [`TimeSpec`]; the error says what is accepted.
pub fn parse_time_spec(s: &str) -> Result<TimeSpec, String> {
    let s = s.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(TimeSpec::At(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(TimeSpec::At(t.with_timezone(&chrono::Utc)));
    }
    humantime::parse_duration(s).map(TimeSpec::Ago).map_err(|_| {
        format!(
            "\"{s}\" is not a time: write a duration ago like 24h or 7d, a date like 2026-11-01, or an RFC 3339 time"
        )
    })
}

fn parse_limit(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("\"{s}\" is not a limit: write a whole number of at least 1")),
    }
}

/// Filters shared by `list` and `search`.
#[derive(Debug, Args)]
pub struct Filters {
    /// Only stories in this topic; repeatable (any of them).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,

    /// Only entries of this feed (name or URL); repeatable.
    #[arg(long = "feed", value_name = "NAME")]
    pub feeds: Vec<String>,

    /// Only entries published since: 24h, 7d, 2026-11-01 or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub since: Option<TimeSpec>,

    /// Only entries published before: same forms as --since.
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub until: Option<TimeSpec>,

    /// List copies too, each marked as a copy of its original.
    #[arg(long)]
    pub all: bool,

    /// Include entries that the filters of feeds.toml hide.
    #[arg(long)]
    pub include_filtered: bool,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filters: Filters,

    /// At most this many rows.
    #[arg(long, default_value_t = 50, value_parser = parse_limit, value_name = "N")]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find; "quoted phrases", OR, NOT and prefix* work.
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,

    #[command(flatten)]
    pub filters: Filters,

    /// At most this many hits.
    #[arg(long, default_value_t = 20, value_parser = parse_limit, value_name = "N")]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The entry's id (from list or search).
    pub id: i64,

    /// Print JSON (with the sanitised HTML content).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true).multiple(false)))]
pub struct DedupArgs {
    /// Recompute every fingerprint and story from the stored entries (after upgrading syndic).
    #[arg(long, group = "action")]
    pub rebuild: bool,

    /// Show why an entry was or wasn't grouped: candidates, scores, evidence.
    #[arg(long, value_name = "ID", group = "action")]
    pub explain: Option<i64>,

    /// Take an entry out of its story; it stays alone, also after --rebuild.
    #[arg(long, value_name = "ID", group = "action")]
    pub split: Option<i64>,

    /// Make an entry a copy of another's story; kept after --rebuild.
    #[arg(long, num_args = 2, value_names = ["ID", "ORIGINAL_ID"], group = "action")]
    pub merge: Option<Vec<i64>>,

    /// With --explain: print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The configured feeds as OPML 2.0, one outline per topic.
    Opml(ExportOpmlArgs),
    /// A digest of stories as a JSON Feed 1.1 document.
    Json(ExportJsonArgs),
    /// A digest of stories as one self-contained HTML page, grouped by topic.
    Html(ExportHtmlArgs),
    /// A merged, deduplicated Atom feed of stories (a "planet").
    Atom(ExportAtomArgs),
}

/// Parses an absolute http(s) URL (`--feed-url`, `--home-page-url`).
fn parse_web_url(s: &str) -> Result<String, String> {
    match url::Url::parse(s.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u.to_string()),
        _ => Err(format!("\"{s}\" is not a web address: write an absolute URL like https://example.com/digest.xml")),
    }
}

#[derive(Debug, Args)]
pub struct ExportHtmlArgs {
    /// Only stories in this topic; repeatable (sections follow this order).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,

    /// Only stories published since: 24h, 7d, 2026-11-01 or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub since: Option<TimeSpec>,

    /// Only stories not read yet.
    #[arg(long)]
    pub unread: bool,

    /// At most this many stories.
    #[arg(long, default_value_t = 200, value_parser = parse_limit, value_name = "N")]
    pub limit: usize,

    /// Include entries that the filters of feeds.toml hide.
    #[arg(long)]
    pub include_filtered: bool,

    /// Write to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportAtomArgs {
    /// Only stories in this topic; repeatable.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,

    /// Only stories published since: 24h, 7d, 2026-11-01 or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub since: Option<TimeSpec>,

    /// At most this many stories.
    #[arg(long, default_value_t = 100, value_parser = parse_limit, value_name = "N")]
    pub limit: usize,

    /// Where the feed will be published: its id and rel="self" link.
    #[arg(long, value_parser = parse_web_url, value_name = "URL")]
    pub feed_url: Option<String>,

    /// A page for people the feed stands for: its rel="alternate" link.
    #[arg(long, value_parser = parse_web_url, value_name = "URL")]
    pub home_page_url: Option<String>,

    /// Include entries that the filters of feeds.toml hide.
    #[arg(long)]
    pub include_filtered: bool,

    /// Write to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportOpmlArgs {
    /// Write to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportJsonArgs {
    /// Only stories in this topic; repeatable.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,

    /// Only stories published since: 24h, 7d, 2026-11-01 or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub since: Option<TimeSpec>,

    /// At most this many stories.
    #[arg(long, default_value_t = 100, value_parser = parse_limit, value_name = "N")]
    pub limit: usize,

    /// Where the digest will be published (JSON Feed `feed_url`).
    #[arg(long, value_parser = parse_web_url, value_name = "URL")]
    pub feed_url: Option<String>,

    /// The page the digest stands for (JSON Feed `home_page_url`).
    #[arg(long, value_parser = parse_web_url, value_name = "URL")]
    pub home_page_url: Option<String>,

    /// Include entries that the filters of feeds.toml hide.
    #[arg(long)]
    pub include_filtered: bool,

    /// Write to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_specs() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let at = |s: &str| parse_time_spec(s).unwrap().resolve(now).to_rfc3339();
        assert_eq!(at("24h"), "2026-11-28T12:00:00+00:00");
        assert_eq!(at("7d"), "2026-11-22T12:00:00+00:00");
        assert_eq!(at("2026-11-01"), "2026-11-01T00:00:00+00:00");
        assert_eq!(at("2026-11-01T05:00:00+05:00"), "2026-11-01T00:00:00+00:00");
        assert!(parse_time_spec("yesterday").unwrap_err().contains("write a duration ago like 24h"));
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
