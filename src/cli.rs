//! Command-line arguments (clap derive types only; commands resolve them).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::{ColorChoice, OutputFormat};

/// syndic: a feed aggregator that groups syndicated copies under their original.
#[derive(Debug, Parser)]
#[command(name = "syndic", version, about, long_about = None, after_help = MAIN_HELP)]
pub struct Cli {
    /// The configuration file.
    #[arg(short, long, global = true, env = "SYNDIC_CONFIG", default_value = "feeds.toml", value_name = "PATH")]
    #[arg(help_heading = GLOBAL)]
    pub config: PathBuf,

    /// The database (default: settings.database in the config, else syndic.db in the platform data directory).
    #[arg(long, global = true, env = "SYNDIC_DB", value_name = "PATH", help_heading = GLOBAL)]
    pub db: Option<PathBuf>,

    /// Print only failures and errors.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace); SYNDIC_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    #[arg(help_heading = GLOBAL)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

/// The heading of the options every subcommand takes, listed after its own.
const GLOBAL: &str = "Global options";

/// The exit statuses, as the main `--help` and the README give them.
macro_rules! exit_status_help {
    () => {
        "\
Exit status:
  0   success (an empty listing is still success)
  1   a fatal error: bad configuration, database not writable, another sync holding the lock
  2   sync finished but some feeds failed
  64  a usage error: unknown option, subcommand or value; unknown --topic or --feed"
    };
}

const MAIN_HELP: &str = concat!(
    "\
Examples:
  syndic init                                 write a starter feeds.toml here
  syndic sync && syndic list                  fetch every feed, then list the newest stories
  syndic --config demo/feeds.toml sync        the offline demo
  syndic list --topic cpec --since 24h        one topic, the last day
  syndic search --format tsv gwadar | cut -f1,4
  syndic help list                            every subcommand has examples

",
    exit_status_help!()
);

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch every feed, store new entries and group syndicated copies.
    #[command(after_help = SYNC_HELP)]
    Sync(SyncArgs),
    /// List the configured feeds and how their last sync went.
    #[command(after_help = FEEDS_HELP)]
    Feeds(FeedsArgs),
    /// Write a commented starter feeds.toml (never overwrites one).
    #[command(after_help = INIT_HELP)]
    Init,
    /// Add a feed to feeds.toml (a site's home page works too: its feed is found).
    #[command(after_help = ADD_HELP)]
    Add(AddArgs),
    /// Remove a feed from feeds.toml; --purge also deletes its entries.
    #[command(after_help = REMOVE_HELP)]
    Remove(RemoveArgs),
    /// Add the feeds of another reader's export to feeds.toml.
    #[command(subcommand, after_help = IMPORT_HELP)]
    Import(ImportCommand),
    /// List stories newest first, one row per story with its copies counted.
    #[command(after_help = LIST_HELP)]
    List(ListArgs),
    /// Full-text search, best match first.
    #[command(after_help = SEARCH_HELP)]
    Search(SearchArgs),
    /// Show one entry in full, with the other places of its story.
    #[command(after_help = SHOW_HELP)]
    Show(ShowArgs),
    /// Open an entry's link in the browser ($BROWSER, else xdg-open / open) and mark it read.
    #[command(after_help = OPEN_HELP)]
    Open(OpenArgs),
    /// Mark stories read: by id, or all of them (narrowed by --topic, --feed, --before).
    #[command(after_help = READ_HELP)]
    Read(ReadArgs),
    /// Mark stories unread again.
    #[command(after_help = UNREAD_HELP)]
    Unread(UnreadArgs),
    /// Write the feed list (OPML) or a digest (JSON Feed) for other tools.
    #[command(subcommand, after_help = EXPORT_HELP)]
    Export(ExportCommand),
    /// Inspect and correct how copies are grouped into stories.
    #[command(after_help = DEDUP_HELP)]
    Dedup(DedupArgs),
    /// Find the feeds a web page links to (or check that a URL is a feed).
    #[command(after_help = DISCOVER_HELP)]
    Discover(DiscoverArgs),
    /// Check the database and the configuration.
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),
    /// Delete old entries (settings.keep, or --older-than), keeping tombstones.
    #[command(after_help = PRUNE_HELP)]
    Prune(PruneArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per subcommand.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

/// `syndic completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `syndic man [--out-dir DIR]`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write syndic.1 and a syndic-SUBCOMMAND.1 page for every subcommand into this directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

// The examples of each subcommand's --help.

const INIT_HELP: &str = "\
Examples:
  syndic init                             write ./feeds.toml to start from
  syndic --config ~/news/feeds.toml init";

const ADD_HELP: &str = "\
Examples:
  syndic add https://www.bolnews.com/feed/ --topic cpec
  syndic add https://www.dawn.com/ --name Dawn     a home page: its feed is found";

const REMOVE_HELP: &str = "\
Examples:
  syndic remove Dawn                      from feeds.toml; its entries stay
  syndic remove Dawn --purge              and delete its entries too";

const IMPORT_HELP: &str = "\
Examples:
  syndic import opml newsboat.opml        folders and categories become topics";

const OPEN_HELP: &str = "\
Examples:
  syndic open 5                           in $BROWSER, and mark its story read
  BROWSER=firefox syndic open 5";

const READ_HELP: &str = "\
Examples:
  syndic read 5 8                         mark these stories read
  syndic read --all --topic cpec          every unread CPEC story
  syndic read --all --before last-sync    what was there before the latest sync";

const UNREAD_HELP: &str = "\
Examples:
  syndic unread 5";

const SYNC_HELP: &str = "\
Examples:
  syndic sync                             fetch every feed of ./feeds.toml
  syndic -q sync                          for cron: print only failures
  syndic sync --feed \"Bol News\" --force   one feed, even if it is not due

Exit status: 0 every feed synced; 2 some feeds failed; 1 a fatal error; 64 a usage error.";

const FEEDS_HELP: &str = "\
Examples:
  syndic feeds                            a table: entries, last success, last error
  syndic feeds --json | jq '.[] | select(.last_error) | .url'
  syndic feeds --fix-redirects            put moved feeds' new URLs in feeds.toml";

const LIST_HELP: &str = "\
Examples:
  syndic list                             the 50 newest stories
  syndic list --topic cpec --since 24h    one topic, the last day
  syndic list --all --feed \"Bol News\"     a feed's entries, copies under their original
  syndic list --format tsv | cut -f2,4    published and title, one line per story
  syndic list --json | jq '.[].title'

--format tsv columns: id, published (RFC 3339, UTC), feed, title, url, duplicate_of, copies, topics.";

const SEARCH_HELP: &str = "\
Examples:
  syndic search gwadar                    best match first
  syndic search '\"enterprise alliance\"'   a phrase
  syndic search 'gwad*' --topic cpec --since 7d
  syndic search --format tsv karachi | cut -f1,4

--format tsv columns: those of list, then rank and snippet.";

const SHOW_HELP: &str = "\
Examples:
  syndic show 5                           the entry, its text and its copies
  syndic show 5 --json | jq .text";

const EXPORT_HELP: &str = "\
Examples:
  syndic export opml -o feeds.opml
  syndic export json --topic cpec --since 24h -o digest.json";

const DEDUP_HELP: &str = "\
Examples:
  syndic dedup --explain 8                why entry 8 is (not) a copy
  syndic dedup --split 8                  entry 8 is its own story
  syndic dedup --merge 8 5                entry 8 is a copy of entry 5's story
  syndic dedup --rebuild";

const DISCOVER_HELP: &str = "\
Examples:
  syndic discover https://www.bolnews.com/";

const DOCTOR_HELP: &str = "\
Examples:
  syndic doctor
  syndic doctor --repair";

const PRUNE_HELP: &str = "\
Examples:
  syndic prune --older-than 180d --dry-run
  syndic prune --older-than 90d";

const EXPORT_OPML_HELP: &str = "\
Examples:
  syndic export opml > feeds.opml
  syndic export opml -o feeds.opml";

const COMPLETIONS_HELP: &str = "\
Examples:
  syndic completions bash > ~/.local/share/bash-completion/completions/syndic
  syndic completions zsh > ~/.zfunc/_syndic     (and fpath+=~/.zfunc before compinit in ~/.zshrc)
  syndic completions fish > ~/.config/fish/completions/syndic.fish
  syndic completions powershell >> $PROFILE";

const MAN_HELP: &str = "\
Examples:
  syndic man | man -l -                              read it now
  syndic man --out-dir ~/.local/share/man/man1       install syndic(1), syndic-sync(1)...; then: man syndic";

const EXPORT_JSON_HELP: &str = "\
Examples:
  syndic export json --since 24h -o digest.json
  syndic export json --topic cpec | jq '.items[].title'";

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The feed's URL, or a web page that links to its feed.
    pub url: String,

    /// The name to show and to use with --feed (default: the feed's title).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A topic every entry of the feed belongs to; repeatable.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The feed's name (as `syndic feeds` shows it) or URL.
    pub feed: String,

    /// Also delete its entries and state from the database (stories it
    /// originated keep their copies); works on feeds no longer in feeds.toml.
    #[arg(long)]
    pub purge: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Feeds from an OPML file (newsboat, miniflux, FreshRSS, Feedly...); categories become topics.
    #[command(after_help = IMPORT_HELP)]
    Opml(ImportOpmlArgs),
}

#[derive(Debug, Args)]
pub struct ImportOpmlArgs {
    /// The OPML file.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The entry's id (from list or search).
    pub id: i64,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(false).args(["ids", "all"])))]
pub struct ReadArgs {
    /// The ids of entries (from list or search); their whole stories are marked.
    #[arg(value_name = "ID")]
    pub ids: Vec<i64>,

    /// Every unread story (narrowed by --topic, --feed and --before).
    #[arg(long)]
    pub all: bool,

    /// With --all: only stories in this topic; repeatable (any of them).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,

    /// With --all: only entries of this feed (name or URL); repeatable.
    #[arg(long = "feed", value_name = "NAME")]
    pub feeds: Vec<String>,

    /// With --all: only entries published before: 24h, 7d, 2026-11-01 or an RFC 3339 time; `last-sync`: stored before the latest sync.
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub before: Option<TimeSpec>,
}

#[derive(Debug, Args)]
pub struct UnreadArgs {
    /// The ids of entries; their whole stories become unread.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
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

    /// Print one line per new story (id, feed, title, link) and nothing else on stdout; for cron.
    #[arg(long)]
    pub print_new: bool,

    /// Only new stories in this topic for --print-new and settings.on_new; repeatable (any of them).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FeedsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Rewrite feeds.toml so that feeds moved by a permanent redirect use their new URL (comments and layout kept).
    #[arg(long, conflicts_with = "json")]
    pub fix_redirects: bool,

    /// List the feeds the database holds entries of but feeds.toml no longer names.
    #[arg(long, conflicts_with = "fix_redirects")]
    pub orphans: bool,
}

/// A point in time on the command line: `24h` / `7d` (that long ago),
/// `2026-11-01` (midnight UTC), an RFC 3339 time, or `last-sync`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeSpec {
    Ago(std::time::Duration),
    At(chrono::DateTime<chrono::Utc>),
    /// The start of the latest sync: what it brought (by first-seen time,
    /// not publication). Resolved with the store: see
    /// `commands::Context::since`; [`TimeSpec::resolve`] cannot know it and
    /// answers the earliest time (everything).
    LastSync,
}

impl TimeSpec {
    /// The instant this names, relative to `now`.
    pub fn resolve(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            TimeSpec::Ago(d) => now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX),
            TimeSpec::At(t) => t,
            TimeSpec::LastSync => chrono::DateTime::<chrono::Utc>::MIN_UTC,
        }
    }
}

/// Parses a [`TimeSpec`]; the error says what is accepted.
pub fn parse_time_spec(s: &str) -> Result<TimeSpec, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("last-sync") {
        return Ok(TimeSpec::LastSync);
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(TimeSpec::At(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(TimeSpec::At(t.with_timezone(&chrono::Utc)));
    }
    humantime::parse_duration(s).map(TimeSpec::Ago).map_err(|_| {
        format!(
            "\"{s}\" is not a time: write a duration ago like 24h or 7d, a date like 2026-11-01, an RFC 3339 time, or last-sync"
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

    /// Only entries published since: 24h, 7d, 2026-11-01 or an RFC 3339 time; `last-sync`: the entries the latest sync brought.
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub since: Option<TimeSpec>,

    /// Only stories not read yet (not shown, opened or marked read).
    #[arg(long)]
    pub unread: bool,

    /// Only entries published before: same forms as --since (`last-sync`: stored before the latest sync).
    #[arg(long, value_parser = parse_time_spec, value_name = "WHEN")]
    pub until: Option<TimeSpec>,

    /// List copies too, each under its original and marked as a copy of it.
    #[arg(long)]
    pub all: bool,

    /// Print JSON instead of a table (the same as --format json).
    #[arg(long)]
    pub json: bool,

    /// How to print the rows (tsv: for cut, awk and sort; the columns are listed below).
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
    pub format: Option<OutputFormat>,
}

impl Filters {
    /// The output format asked for: `--format`, else `--json`, else a table.
    pub fn output_format(&self) -> OutputFormat {
        match (self.format, self.json) {
            (Some(f), _) => f,
            (None, true) => OutputFormat::Json,
            (None, false) => OutputFormat::Table,
        }
    }
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
    #[command(after_help = EXPORT_OPML_HELP)]
    Opml(ExportOpmlArgs),
    /// A digest of stories as a JSON Feed 1.1 document.
    #[command(after_help = EXPORT_JSON_HELP)]
    Json(ExportJsonArgs),
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
        assert_eq!(parse_time_spec("last-sync"), Ok(TimeSpec::LastSync));
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
