//! `syndic list`.

use std::io::Write;
use std::process::ExitCode;

use super::{list_query, Context};
use crate::cli::ListArgs;
use crate::output::entries::{write_list, write_list_tsv, EntryJson};
use crate::output::{write_json, OutputFormat};

/// The "N more" line counts at most this many rows beyond the limit.
const MORE_COUNTED: usize = 200;

pub(crate) fn run(ctx: &Context, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = ctx.read_store()?;
    let query = list_query(ctx, &args.filters, args.limit, config.as_ref(), &store)?;
    let rows = store.list(&query)?;
    let mut out = std::io::stdout().lock();
    let format = args.filters.output_format();
    match format {
        OutputFormat::Json => {
            let json: Vec<EntryJson> = rows.iter().map(EntryJson::from).collect();
            write_json(&mut out, &json)?;
        }
        OutputFormat::Tsv => write_list_tsv(&rows, &mut out)?,
        OutputFormat::Table if rows.is_empty() => eprintln!("no entries match"),
        OutputFormat::Table => write_list(&rows, args.filters.all, ctx.style(), &mut out)?,
    }
    out.flush()?;
    super::warn_damaged(rows.iter().filter(|r| r.text_damaged).map(|r| r.id));
    // Say what --limit left out (on stderr: the table stays clean for pipes).
    if !matches!(format, OutputFormat::Json) && rows.len() == args.limit {
        let cap = args.limit.saturating_add(MORE_COUNTED);
        let matching = store.count(&query, cap)?;
        let more = matching.saturating_sub(rows.len());
        if matching >= cap {
            eprintln!("... over {more} more; use --limit");
        } else if more > 0 {
            eprintln!("... {more} more; use --limit");
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
