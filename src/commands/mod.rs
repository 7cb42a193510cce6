//! One module per subcommand: each resolves its arguments, calls the core
//! and hands the result to `output`. Errors carry a hint for the user.

mod feeds;
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
