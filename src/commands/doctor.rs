//! `syndic doctor`: check (and repair) the database and the configuration.

use std::io::Write;
use std::process::ExitCode;

use super::Context;
use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::store::Check;

pub(crate) fn run(ctx: &Context, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let mut checks = Vec::new();
    let config = match Config::load(&ctx.cli.config) {
        Ok(c) => {
            checks.push(Check {
                name: "config",
                ok: true,
                detail: format!("{}: {} feeds, {} topics", ctx.cli.config.display(), c.feeds.len(), c.topics.len()),
            });
            Some(c)
        }
        Err(e) => {
            checks.push(Check { name: "config", ok: false, detail: e.to_string() });
            None
        }
    };
    let db = ctx.db_path(config.as_ref())?;
    if db.exists() {
        // A database that cannot even be opened is a finding, not the end of the report.
        match ctx.open_store(&db) {
            Ok(mut store) => {
                if args.repair {
                    if let Some(c) = &config {
                        store.set_dedup_settings(c.dedup_settings());
                    }
                    let wait = config.as_ref().map_or(crate::config::DEFAULT_LOCK_WAIT, |c| c.settings.lock_wait);
                    let _lock = store.lock_for_sync(wait).map_err(super::store_error)?;
                    store.repair().map_err(super::store_error)?;
                }
                checks.push(Check { name: "database", ok: true, detail: db.display().to_string() });
                checks.extend(store.doctor().map_err(super::store_error)?);
            }
            Err(e) => checks.push(Check { name: "database", ok: false, detail: format!("{e:#}") }),
        }
    } else {
        checks.push(Check {
            name: "database",
            ok: true,
            detail: format!("{} does not exist yet (run `syndic sync`)", db.display()),
        });
    }
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for c in &checks {
        failed |= !c.ok;
        writeln!(
            out,
            "{}  {:<14} {}",
            if c.ok { "ok     " } else { "PROBLEM" },
            c.name,
            crate::output::safe_text(&c.detail)
        )?;
    }
    if failed && !args.repair {
        writeln!(out, "run `syndic doctor --repair` to fix what can be fixed")?;
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
