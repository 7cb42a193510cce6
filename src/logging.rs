//! Diagnostics on stderr through `tracing`; results never go here.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Starts logging: errors only by default, `-v` info, `-vv` debug, `-vvv`
/// trace, `-q` nothing; `SYNDIC_LOG` (an `EnvFilter`) overrides.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "off",
        (false, 0) => "error",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("SYNDIC_LOG").unwrap_or_else(|_| EnvFilter::new(format!("syndic={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
