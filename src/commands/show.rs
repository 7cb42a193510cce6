//! `syndic show`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use super::{user_error, Context};
use crate::cli::ShowArgs;
use crate::model::EntryId;
use crate::output::entries::{write_show, EntryJson, RelatedJson, ShowJson};
use crate::output::pager::{is_longer_than, page, pager_command, terminal_height};
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
        // Links are clickable only on a terminal with colour on (never piped,
        // never with NO_COLOR, TERM=dumb or --color never).
        let terminal = std::io::stdout().is_terminal();
        let style = ctx.style();
        let mut text = Vec::new();
        write_show(&detail, style, terminal && style.color, &mut text)?;
        if let Some((id, feed, chars, own)) = store.longer_version(detail.row.id)? {
            writeln!(
                text,
                "{}",
                style.bold(&format!(
                    "A longer version: {id}  {} ({chars} characters; this one {own})",
                    crate::output::safe_text(&feed)
                ))
            )?;
        }
        // Longer than the screen: through the pager, as git and man do.
        let paged = match (terminal, terminal_height(), pager_command()) {
            (true, Some(height), Some(pager)) if is_longer_than(&text, height) => {
                out.flush()?;
                page(&pager, &text)?
            }
            _ => false,
        };
        if !paged {
            out.write_all(&text)?;
        }
    }
    out.flush()?;
    super::warn_damaged(detail.row.text_damaged.then_some(detail.row.id));
    // Shown is read: the whole story.
    super::reading::mark_shown(&mut store, detail.row.id, ctx.now);
    Ok(ExitCode::SUCCESS)
}
