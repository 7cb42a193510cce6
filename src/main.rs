//! The `syndic` binary: parse arguments, start logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use syndic::cli::Cli;
use syndic::commands::{UserError, EXIT_USAGE};

/// SQLite keeps memory statistics by default: every allocation it makes
/// takes a global mutex to count itself. syndic never reads them.
fn no_sqlite_memory_statistics() {
    // SAFETY: sqlite3_config may only be called before SQLite initialises,
    // which it does when the first connection opens; nothing has opened
    // one yet and no other thread exists. SQLite refuses a late call with
    // SQLITE_MISUSE, which changes nothing.
    unsafe {
        rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0);
    }
}

fn main() -> ExitCode {
    no_sqlite_memory_statistics();
    // An empty `SYNDIC_DB=` or `SYNDIC_CONFIG=` means unset (clap would take
    // it as an empty value and refuse it). Nothing else runs yet.
    for var in ["SYNDIC_DB", "SYNDIC_CONFIG"] {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            // SAFETY (edition 2021: safe fn): no other thread exists yet.
            std::env::remove_var(var);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    syndic::logging::init(cli.verbose, cli.quiet);
    match syndic::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`syndic list | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let message = syndic::output::safe_text(&error_chain(&e));
            eprintln!("error: {message}");
            // A user error's own hint, else that of a database error in the chain.
            let user = e.downcast_ref::<UserError>();
            let hint = user.and_then(|u| u.hint.clone()).or_else(|| {
                e.chain().find_map(|c| c.downcast_ref::<syndic::error::StoreError>()).and_then(|s| s.hint())
            });
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            if user.is_some_and(|u| u.usage) {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Prints clap's message; `--help` and `--version` succeed, anything else is
/// a usage error (64), never 2, which says "some feeds failed".
fn clap_exit(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    // Printing can only fail on a closed pipe (`syndic --help | head`): nothing to say then.
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_USAGE),
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose
/// words are already there, and what lies below a database error (whose
/// message already says what SQLite said; below it are SQLite's codes).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        if cause.is::<syndic::error::StoreError>() {
            break;
        }
    }
    out
}
