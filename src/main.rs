//! The `syndic` binary: parse arguments, start logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use syndic::cli::Cli;
use syndic::commands::UserError;

fn main() -> ExitCode {
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
            let message = syndic::output::safe_text(&format!("{e:#}"));
            eprintln!("error: {message}");
            if let Some(hint) = e.downcast_ref::<UserError>().and_then(|u| u.hint.as_deref()) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
