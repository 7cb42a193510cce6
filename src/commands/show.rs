//! `syndic show`.

use std::io::Write;
use std::process::ExitCode;

use super::{user_error, Context};
use crate::cli::ShowArgs;
use crate::model::EntryId;
use crate::output::entries::{write_show, EntryJson, RelatedJson, ShowJson};
use crate::output::write_json;

pub(crate) fn run(ctx: &Context, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let (_, mut store) = ctx.read_store()?;
    let Some(detail) = store.entry(EntryId(args.id))? else {
        return Err(user_error(
            format!("no entry with id {}", args.id),
            Some("ids are shown by `syndic list` and `syndic search`".into()),
        ));
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = ShowJson {
            entry: EntryJson::from(&detail.row),
            text: detail.text.clone(),
            content_html: detail.content_html.clone(),
            original: detail.original.as_ref().map(RelatedJson::from),
            other_copies: detail.copies.iter().map(RelatedJson::from).collect(),
        };
        write_json(&mut out, &json)?;
    } else {
        write_show(&detail, ctx.style(), &mut out)?;
    }
    out.flush()?;
    // Shown is read: the whole story.
    store.mark_read(&[detail.row.id], ctx.now)?;
    Ok(ExitCode::SUCCESS)
}
