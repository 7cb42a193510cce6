//! `syndic import opml FILE`.
use std::process::ExitCode;

use super::Context;
use crate::cli::ImportCommand;

pub(crate) fn run(_ctx: &Context, _cmd: &ImportCommand) -> anyhow::Result<ExitCode> {
    Err(super::user_error("not implemented yet", None))
}
