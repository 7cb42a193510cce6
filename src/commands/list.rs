//! `syndic list`.

use std::io::Write;
use std::process::ExitCode;

use super::{list_query, Context};
use crate::cli::ListArgs;
use crate::output::entries::{write_list, EntryJson};
use crate::output::write_json;

pub(crate) fn run(ctx: &Context, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = ctx.read_store()?;
    let query = list_query(ctx, &args.filters, args.limit, config.as_ref(), &store)?;
    let rows = store.list(&query)?;
    let mut out = std::io::stdout().lock();
    if args.filters.json {
        let json: Vec<EntryJson> = rows.iter().map(EntryJson::from).collect();
        write_json(&mut out, &json)?;
    } else if rows.is_empty() {
        eprintln!("no entries match");
    } else {
        write_list(&rows, ctx.style(), &mut out)?;
        out.flush()?;
        // Say what --limit left out (on stderr: the table stays clean for pipes).
        if rows.len() == args.limit {
            let more = store.count(&query)?.saturating_sub(rows.len());
            if more > 0 {
                eprintln!("... {more} more; use --limit");
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
