//! One module per subcommand: each resolves its arguments, calls the core
//! and hands the result to `output`. Errors carry a hint for the user.

mod add;
mod completions;
mod dedup;
mod discover;
mod doctor;
mod export;
mod feeds;
mod import;
mod init;
mod list;
mod man;
mod open;
mod prune;
mod reading;
mod remove;
mod search;
mod show;
mod stats;
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
    /// A mistake in the command line (exit status 64), not a failure to do the work.
    pub usage: bool,
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// Says, in one line on stderr, which entries were shown without their
/// stored text because it is damaged, and what mends it.
pub(crate) fn warn_damaged(ids: impl IntoIterator<Item = crate::model::EntryId>) {
    let mut ids: Vec<i64> = ids.into_iter().map(|id| id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return;
    }
    // Ten named, the rest counted, as `doctor` does: a damaged stretch of
    // the file can damage thousands, and this stays one short line.
    const NAMED: usize = 10;
    let mut list = ids.iter().take(NAMED).map(i64::to_string).collect::<Vec<_>>().join(", ");
    if ids.len() > NAMED {
        list.push_str(&format!(" and {} more", ids.len() - NAMED));
    }
    let (what, it) = if ids.len() == 1 {
        (format!("entry {list}'s stored text is"), "it")
    } else {
        (format!("the stored texts of entries {list} are"), "them")
    };
    eprintln!(
        "warning: {what} damaged (shown without {it}): run `syndic doctor --repair`, then `syndic sync` to fetch {it} again"
    );
}

/// A [`UserError`] as an `anyhow::Error`.
pub fn user_error(message: impl Into<String>, hint: Option<String>) -> anyhow::Error {
    anyhow::Error::new(UserError { message: message.into(), hint, usage: false })
}

/// A mistake in the command line (an unknown `--topic`, say): exit status 64.
pub fn usage_error(message: impl Into<String>, hint: Option<String>) -> anyhow::Error {
    anyhow::Error::new(UserError { message: message.into(), hint, usage: true })
}

/// A database error as a [`UserError`], with the hint for its kind (full,
/// locked, damaged, foreign…).
pub(crate) fn store_error(e: crate::error::StoreError) -> anyhow::Error {
    let hint = e.hint();
    user_error(e.to_string(), hint)
}

/// Exit status of a sync in which some feeds failed.
pub const EXIT_SOME_FAILED: u8 = 2;

/// Exit status of a usage error (sysexits.h `EX_USAGE`): a bad option, value or name.
pub const EXIT_USAGE: u8 = 64;

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
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Init => init::run(&ctx),
        Command::Add(args) => add::run(&ctx, args),
        Command::Remove(args) => remove::run(&ctx, args),
        Command::Import(cmd) => import::run(&ctx, cmd),
        Command::Open(args) => open::run(&ctx, args),
        Command::Read(args) => reading::read(&ctx, args),
        Command::Unread(args) => reading::unread(&ctx, args),
        Command::Stats(args) => stats::run(&ctx, args),
    }
}

type Time = DateTime<Utc>;

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
        if let Some(p) = self.cli_db() {
            return Ok(p.to_owned());
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

    /// `--db` / `SYNDIC_DB`, unless empty (an empty `SYNDIC_DB=` is unset).
    fn cli_db(&self) -> Option<&Path> {
        self.cli.db.as_deref().filter(|p| !p.as_os_str().is_empty())
    }

    pub fn open_store(&self, path: &Path) -> anyhow::Result<Store> {
        Store::open_at(path).map_err(store_error)
    }

    /// For read commands: the config if its file exists (a missing file is
    /// fine when --db names the database), and the existing database.
    pub fn read_store(&self) -> anyhow::Result<(Option<Config>, Store)> {
        let config = if self.cli.config.exists() || self.cli_db().is_none() { Some(self.config()?) } else { None };
        let db = self.db_path(config.as_ref())?;
        if !db.exists() {
            return Err(user_error(
                format!("no database at {}", db.display()),
                Some("run `syndic sync` first, or point --db / SYNDIC_DB at an existing database".into()),
            ));
        }
        let mut store = self.open_store(&db)?;
        // feeds.toml's [filters] may have changed since the last sync.
        if let Some(c) = &config {
            if let Err(e) = crate::filters::apply(c, &mut store) {
                tracing::warn!(error = %e, "could not apply [filters]; entries are shown as last filtered");
            }
        }
        // Applying the filters may have waited for a sync that trained the
        // store's dictionary meanwhile: the texts packed with it are read with it.
        store.reload_text_dictionaries().map_err(store_error)?;
        Ok((config, store))
    }

    /// Resolves a `--since` (or `--until`, `--before`) into (published, first
    /// seen) bounds: a time or duration bounds the publication time,
    /// `last-sync` the time the entries were stored (no bound when there was
    /// no sync yet).
    pub fn since(
        &self,
        spec: Option<crate::cli::TimeSpec>,
        store: &Store,
    ) -> anyhow::Result<(Option<Time>, Option<Time>)> {
        Ok(match spec {
            None => (None, None),
            Some(crate::cli::TimeSpec::LastSync) => (None, store.last_sync_start()?),
            Some(s) => (Some(s.resolve(self.now)), None),
        })
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
            return Err(usage_error(
                format!("unknown topic \"{t}\"; known topics: {list}"),
                Some("topics are the [topics] tables and feeds' topics in feeds.toml".into()),
            ));
        }
    }
    Ok(())
}

/// Resolves `--feed` values to feed URLs with the lookup every command
/// shares ([`crate::lookup`]): URL, local path, name or the feed's own title.
pub(crate) fn resolve_feeds(wanted: &[String], config: Option<&Config>, store: &Store) -> anyhow::Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(Vec::new()); // without reading every feed and counting its entries
    }
    let feeds = store.feeds()?;
    let keys: Vec<crate::lookup::FeedKey<'_>> = feeds
        .iter()
        .map(|f| crate::lookup::FeedKey { url: &f.url, name: f.name.as_deref(), title: f.title.as_deref() })
        .collect();
    let config_dir = config.and_then(|c| c.path.parent()).unwrap_or(Path::new(""));
    let found = crate::lookup::find_feeds(&keys, wanted, config_dir).map_err(|e| {
        usage_error(e.to_string(), Some("name a feed as `syndic feeds` shows it, or by its URL".into()))
    })?;
    Ok(found.into_iter().map(|i| feeds[i].url.clone()).collect())
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
    let (since, seen_since) = ctx.since(filters.since, store)?;
    let (until, seen_until) = ctx.since(filters.until, store)?;
    Ok(crate::store::ListQuery {
        topics: filters.topics.clone(),
        feed_urls: resolve_feeds(&filters.feeds, config, store)?,
        since,
        until,
        limit,
        all: filters.all,
        include_filtered: filters.include_filtered,
        unread: filters.unread,
        seen_since,
        seen_until,
    })
}
