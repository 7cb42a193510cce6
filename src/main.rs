//! The `syndic` binary: parse arguments, start logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use syndic::cli::Cli;
use syndic::commands::{UserError, EXIT_USAGE};

fn main() -> ExitCode {
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
            let message = syndic::output::safe_text(&format!("{e:#}"));
            eprintln!("error: {message}");
            let user = e.downcast_ref::<UserError>();
            if let Some(hint) = user.and_then(|u| u.hint.as_deref()) {
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
