//! `syndic open ID`.
use std::process::ExitCode;

use super::Context;
use crate::cli::OpenArgs;

pub(crate) fn run(_ctx: &Context, _args: &OpenArgs) -> anyhow::Result<ExitCode> {
    Err(super::user_error("not implemented yet", None))
}
