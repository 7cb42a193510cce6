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
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync only this feed (its name or URL); repeatable.
    #[arg(long = "feed", value_name = "NAME_OR_URL")]
    pub feeds: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FeedsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}
