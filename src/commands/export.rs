//! `syndic export opml` and `syndic export json`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::{check_topics, user_error, Context};
use crate::cli::{ExportCommand, ExportJsonArgs, ExportOpmlArgs};
use crate::export::{self, CopyRef, JsonFeed, JsonFeedAuthor, JsonFeedItem, OpmlFeed, SyndicExtension};
use crate::output::rfc3339;
use crate::store::{ListQuery, Store};

pub(crate) fn run(ctx: &Context, cmd: &ExportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ExportCommand::Opml(args) => opml(ctx, args),
        ExportCommand::Json(args) => json(ctx, args),
    }
}

fn opml(ctx: &Context, args: &ExportOpmlArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    // The feeds' own titles and site links are used when a database exists.
    let db = ctx.db_path(Some(&config))?;
    let rows = if db.exists() { ctx.open_store(&db)?.feeds()? } else { Vec::new() };
    let feeds: Vec<OpmlFeed> = config
        .feeds
        .iter()
        .map(|f| {
            let row = rows.iter().find(|r| r.url == f.url);
            OpmlFeed {
                title: f.name.clone().or_else(|| row.and_then(|r| r.title.clone())).unwrap_or_else(|| f.url.clone()),
                xml_url: f.url.clone(),
                html_url: row.and_then(|r| r.site_url.clone()),
                topics: f.topics.clone(),
            }
        })
        .collect();
    let topics: Vec<String> = config.topics.iter().map(|t| t.name.clone()).collect();
    let doc = export::opml("syndic feeds", &feeds, &topics, ctx.now);
    emit(args.output.as_deref(), doc.as_bytes())
}

fn json(ctx: &Context, args: &ExportJsonArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = ctx.read_store()?;
    check_topics(&args.topics, config.as_ref(), &store)?;
    let (since, seen_since) = ctx.since(args.since, &store)?;
    let query = ListQuery { topics: args.topics.clone(), since, seen_since, limit: args.limit, ..ListQuery::default() };
    let title = if args.topics.is_empty() {
        "syndic digest".to_owned()
    } else {
        format!("syndic digest: {}", args.topics.join(", "))
    };
    let doc = JsonFeed {
        version: export::JSON_FEED_VERSION,
        title,
        description: Some(format!(
            "Stories as of {}, syndicated copies grouped under their original",
            rfc3339(ctx.now)
        )),
        items: digest_items(&store, &query)?,
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    emit(args.output.as_deref(), text.as_bytes())
}

fn digest_items(store: &Store, query: &ListQuery) -> anyhow::Result<Vec<JsonFeedItem>> {
    let mut items = Vec::new();
    for row in store.list(query)? {
        let Some(d) = store.entry(row.id)? else { continue };
        items.push(JsonFeedItem {
            id: row.url.clone().unwrap_or_else(|| format!("syndic:entry:{}", row.id)),
            url: row.url.clone(),
            title: row.title.clone(),
            content_html: d.content_html.clone(),
            content_text: d.text.clone(),
            summary: row.summary.clone(),
            date_published: rfc3339(row.published),
            authors: row.author.iter().map(|a| JsonFeedAuthor { name: a.clone() }).collect(),
            tags: row.topics.clone(),
            syndic: SyndicExtension {
                id: row.id.0,
                feed: row.feed.clone(),
                feed_url: row.feed_url.clone(),
                copies: d
                    .copies
                    .iter()
                    .map(|c| CopyRef { url: c.url.clone(), feed: c.feed.clone(), attribution: c.attribution.clone() })
                    .collect(),
            },
        });
    }
    Ok(items)
}

/// Writes to stdout, or to `path` atomically (a temporary file in the same
/// directory, renamed over it), so a reader never sees half a document.
fn emit(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<ExitCode> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
        }
        Some(path) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let fail = |e: std::io::Error| {
                user_error(
                    format!("cannot write {}: {e}", path.display()),
                    Some("check that the directory exists and is writable".into()),
                )
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
            tmp.write_all(bytes).map_err(fail)?;
            tmp.as_file().sync_all().map_err(fail)?;
            tmp.persist(path).map_err(|e| fail(e.error))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
