//! The `syndic` binary: parse arguments, start logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use syndic::cli::Cli;
use syndic::commands::UserError;

fn main() -> ExitCode {
    // An empty `SYNDIC_DB=` or `SYNDIC_CONFIG=` means unset (clap would take
    // it as an empty value and refuse it). Nothing else runs yet.
    for var in ["SYNDIC_DB", "SYNDIC_CONFIG"] {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            std::env::remove_var(var);
        }
    }
    let cli = Cli::parse();
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
            let hint = e.downcast_ref::<UserError>().and_then(|u| u.hint.clone()).or_else(|| {
                e.chain().find_map(|c| c.downcast_ref::<syndic::error::StoreError>()).and_then(|s| s.hint())
            });
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
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
