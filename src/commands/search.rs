//! `syndic search`.

use std::io::Write;
use std::process::ExitCode;

use super::{list_query, user_error, Context};
use crate::cli::SearchArgs;
use crate::output::entries::{plain_snippet, write_search, write_search_tsv, EntryJson, SearchJson};
use crate::output::{write_json, OutputFormat};
use crate::search::fts_query;
use crate::store::SearchError;

pub(crate) fn run(ctx: &Context, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let user_query = args.query.join(" ");
    let (config, store) = ctx.read_store()?;
    // A query of only punctuation (a lone `*` or quote) finds nothing; it is not an error.
    let fts = match fts_query(&user_query) {
        Ok(fts) => fts,
        Err(e) if !e.is_empty_query() => return Err(user_error(e.to_string(), e.hint())),
        Err(e) => {
            match args.filters.output_format() {
                OutputFormat::Json => write_json(&mut std::io::stdout().lock(), &Vec::<SearchJson>::new())?,
                OutputFormat::Tsv => {}
                OutputFormat::Table => eprintln!("no entries match ({e})"),
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let query = list_query(ctx, &args.filters, args.limit, config.as_ref(), &store)?;
    let hits = store.search(&fts, &user_query, &query).map_err(|e| match e {
        SearchError::BadQuery(b) => user_error(b.to_string(), None),
        SearchError::Store(s) => super::store_error(s),
    })?;
    let mut out = std::io::stdout().lock();
    match args.filters.output_format() {
        OutputFormat::Json => {
            let json: Vec<SearchJson> = hits
                .iter()
                .map(|h| SearchJson {
                    entry: EntryJson::from(&h.row),
                    snippet: plain_snippet(&h.snippet),
                    rank: h.score,
                })
                .collect();
            write_json(&mut out, &json)?;
        }
        OutputFormat::Tsv => write_search_tsv(&hits, &mut out)?,
        OutputFormat::Table if hits.is_empty() => eprintln!("no entries match"),
        OutputFormat::Table => write_search(&hits, args.filters.all, ctx.style(), &mut out)?,
    }
    out.flush()?;
    super::warn_damaged(hits.iter().flat_map(|h| h.damaged.into_iter().chain(h.row.text_damaged.then_some(h.row.id))));
    Ok(ExitCode::SUCCESS)
}
