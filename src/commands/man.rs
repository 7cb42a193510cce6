//! `syndic man`: the manual page in roff, generated from the clap
//! definitions (clap_mangen), so it says what `--help` says.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

pub(crate) fn run(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&page)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
            // syndic.1, then syndic-sync.1, syndic-export-opml.1, ...
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("could not write pages in {}", dir.display()))?;
            println!("wrote the manual pages to {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
