//! One module per subcommand: each resolves its arguments, calls the core
//! and hands the result to `output`. Errors carry a hint for the user.

mod dedup;
mod discover;
mod doctor;
mod export;
mod feeds;
mod list;
mod prune;
mod search;
mod show;
mod sync;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::store::Store;

/// An error for the user: what went wrong, and what to do about it.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// A [`UserError`] as an `anyhow::Error`.
pub fn user_error(message: impl Into<String>, hint: Option<String>) -> anyhow::Error {
    anyhow::Error::new(UserError { message: message.into(), hint })
}

/// Exit status of a sync in which some feeds failed.
pub const EXIT_SOME_FAILED: u8 = 2;

/// Runs the command line; `Ok` carries the exit status.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context { cli: &cli, now: now()? };
    match &cli.command {
        Command::Sync(args) => sync::run(&ctx, args),
        Command::Feeds(args) => feeds::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Search(args) => search::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Export(cmd) => export::run(&ctx, cmd),
        Command::Dedup(args) => dedup::run(&ctx, args),
        Command::Discover(args) => discover::run(&ctx, args),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Prune(args) => prune::run(&ctx, args),
    }
}

/// What every command may need.
pub(crate) struct Context<'a> {
    pub cli: &'a Cli,
    /// The time of this run (`SYNDIC_NOW` pins it, for tests).
    pub now: DateTime<Utc>,
}

impl Context<'_> {
    pub fn config(&self) -> anyhow::Result<Config> {
        Config::load(&self.cli.config).map_err(|e| {
            let hint = e.hint();
            user_error(e.to_string(), hint)
        })
    }

    /// The database path: --db / SYNDIC_DB, else settings.database, else
    /// the platform data directory.
    pub fn db_path(&self, config: Option<&Config>) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.cli.db {
            return Ok(p.clone());
        }
        if let Some(p) = config.and_then(|c| c.settings.database.clone()) {
            return Ok(p);
        }
        match dirs::data_dir() {
            Some(d) => Ok(d.join("syndic").join("syndic.db")),
            None => Err(user_error(
                "cannot find the platform data directory for the database",
                Some("pass --db PATH, set SYNDIC_DB, or set settings.database in feeds.toml".into()),
            )),
        }
    }

    pub fn open_store(&self, path: &Path) -> anyhow::Result<Store> {
        Store::open_at(path).map_err(|e| {
            user_error(e.to_string(), Some("check that the directory exists and is writable, or pass --db PATH".into()))
        })
    }

    /// For read commands: the config if its file exists (a missing file is
    /// fine when --db names the database), and the existing database.
    pub fn read_store(&self) -> anyhow::Result<(Option<Config>, Store)> {
        let config = if self.cli.config.exists() || self.cli.db.is_none() { Some(self.config()?) } else { None };
        let db = self.db_path(config.as_ref())?;
        if !db.exists() {
            return Err(user_error(
                format!("no database at {}", db.display()),
                Some("run `syndic sync` first, or point --db / SYNDIC_DB at an existing database".into()),
            ));
        }
        let store = self.open_store(&db)?;
        Ok((config, store))
    }

    pub fn style(&self) -> crate::output::Style {
        crate::output::Style { color: self.cli.color.enabled() }
    }
}

fn now() -> anyhow::Result<DateTime<Utc>> {
    match std::env::var("SYNDIC_NOW") {
        Ok(v) if !v.is_empty() => DateTime::parse_from_rfc3339(&v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| user_error(format!("SYNDIC_NOW=\"{v}\" is not an RFC 3339 time: {e}"), None)),
        _ => Ok(Utc::now()),
    }
}

/// Checks `--topic` values against the configured and stored topics.
pub(crate) fn check_topics(wanted: &[String], config: Option<&Config>, store: &Store) -> anyhow::Result<()> {
    // Only an unknown topic needs the list of all (a scan of entry_topics).
    let configured = |t: &String| config.is_some_and(|c| c.topics.iter().any(|k| k.name == *t));
    if wanted.iter().try_fold(true, |ok, t| Ok::<_, anyhow::Error>(ok && (configured(t) || store.has_topic(t)?)))? {
        return Ok(());
    }
    let mut known: Vec<String> = store.stored_topics()?;
    if let Some(c) = config {
        known.extend(c.topics.iter().map(|t| t.name.clone()));
    }
    known.sort();
    known.dedup();
    for t in wanted {
        if !known.iter().any(|k| k == t) {
            let list = if known.is_empty() { "none yet".to_owned() } else { known.join(", ") };
            return Err(user_error(format!("unknown topic \"{t}\"; known topics: {list}"), None));
        }
    }
    Ok(())
}

/// Resolves `--feed` values (names, case-insensitive, or URLs) to feed URLs.
pub(crate) fn resolve_feeds(wanted: &[String], store: &Store) -> anyhow::Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(Vec::new()); // without reading every feed and counting its entries
    }
    let feeds = store.feeds()?;
    wanted
        .iter()
        .map(|w| {
            feeds
                .iter()
                .find(|f| f.url == *w || f.display_name().eq_ignore_ascii_case(w))
                .map(|f| f.url.clone())
                .ok_or_else(|| {
                    let known = feeds.iter().map(|f| f.display_name().to_owned()).collect::<Vec<_>>().join(", ");
                    user_error(format!("unknown feed \"{w}\"; known feeds: {known}"), None)
                })
        })
        .collect()
}

/// Builds the store query for the shared `list`/`search` filters.
pub(crate) fn list_query(
    ctx: &Context,
    filters: &crate::cli::Filters,
    limit: usize,
    config: Option<&Config>,
    store: &Store,
) -> anyhow::Result<crate::store::ListQuery> {
    check_topics(&filters.topics, config, store)?;
    Ok(crate::store::ListQuery {
        topics: filters.topics.clone(),
        feed_urls: resolve_feeds(&filters.feeds, store)?,
        since: filters.since.map(|s| s.resolve(ctx.now)),
        until: filters.until.map(|s| s.resolve(ctx.now)),
        limit,
        all: filters.all,
    })
}
