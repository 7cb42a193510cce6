//! `syndic list`.

use std::io::Write;
use std::process::ExitCode;

use super::{list_query, Context};
use crate::cli::ListArgs;
use crate::output::entries::{write_list, write_list_tsv, EntryJson};
use crate::output::{write_json, OutputFormat};

pub(crate) fn run(ctx: &Context, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = ctx.read_store()?;
    let query = list_query(ctx, &args.filters, args.limit, config.as_ref(), &store)?;
    let rows = store.list(&query)?;
    let mut out = std::io::stdout().lock();
    match args.filters.output_format() {
        OutputFormat::Json => {
            let json: Vec<EntryJson> = rows.iter().map(EntryJson::from).collect();
            write_json(&mut out, &json)?;
        }
        OutputFormat::Tsv => write_list_tsv(&rows, &mut out)?,
        OutputFormat::Table if rows.is_empty() => eprintln!("no entries match"),
        OutputFormat::Table => write_list(&rows, args.filters.all, ctx.style(), &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
