//! `syndic export opml|json|html|atom`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::{check_topics, user_error, Context};
use crate::cli::{ExportAtomArgs, ExportCommand, ExportHtmlArgs, ExportJsonArgs, ExportOpmlArgs};
use crate::export::digest::{Carrier, DigestFeed, DigestStory};
use crate::export::{self, CopyRef, JsonFeed, JsonFeedAuthor, JsonFeedItem, OpmlFeed, SyndicExtension};
use crate::output::rfc3339;
use crate::store::{ListQuery, Store};

pub(crate) fn run(ctx: &Context, cmd: &ExportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ExportCommand::Opml(args) => opml(ctx, args),
        ExportCommand::Json(args) => json(ctx, args),
        ExportCommand::Html(args) => html(ctx, args),
        ExportCommand::Atom(args) => atom(ctx, args),
    }
}

fn opml(ctx: &Context, args: &ExportOpmlArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    // The feeds' own titles and site links are used when a database exists.
    let db = ctx.db_path(Some(&config))?;
    let rows = if db.exists() { feeds_by_url(&ctx.open_store(&db)?)? } else { Default::default() };
    let feeds: Vec<OpmlFeed> = config
        .feeds
        .iter()
        .map(|f| {
            let row = rows.get(f.url.as_str());
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
    let query = ListQuery {
        topics: args.topics.clone(),
        since,
        seen_since,
        limit: args.limit,
        include_filtered: args.include_filtered,
        ..ListQuery::default()
    };
    let title = if args.topics.is_empty() {
        "syndic digest".to_owned()
    } else {
        format!("syndic digest: {}", args.topics.join(", "))
    };
    let doc = JsonFeed {
        version: export::JSON_FEED_VERSION,
        title,
        home_page_url: args.home_page_url.clone(),
        feed_url: args.feed_url.clone(),
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

/// The stored feeds by URL, for a digest's sites and dates (their entries
/// are not counted: a digest reads only the rows it shows).
fn feeds_by_url(store: &Store) -> anyhow::Result<std::collections::HashMap<String, crate::store::FeedRow>> {
    Ok(store.feeds_uncounted()?.into_iter().map(|f| (f.url.clone(), f)).collect())
}

fn digest_items(store: &Store, query: &ListQuery) -> anyhow::Result<Vec<JsonFeedItem>> {
    let feeds = feeds_by_url(store)?;
    let mut items = Vec::new();
    let mut damaged = Vec::new();
    for row in store.list(query)? {
        let Some(d) = store.entry(row.id)? else { continue };
        if d.row.text_damaged {
            damaged.push(row.id);
        }
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
                home_page_url: feeds.get(row.feed_url.as_str()).and_then(|f| f.site_url.clone()),
                copies: d
                    .copies
                    .iter()
                    .map(|c| CopyRef { url: c.url.clone(), feed: c.feed.clone(), attribution: c.attribution.clone() })
                    .collect(),
            },
        });
    }
    super::warn_damaged(damaged);
    Ok(items)
}

fn html(ctx: &Context, args: &ExportHtmlArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = ctx.read_store()?;
    check_topics(&args.topics, config.as_ref(), &store)?;
    let (since, seen_since) = ctx.since(args.since, &store)?;
    let query = ListQuery {
        topics: args.topics.clone(),
        since,
        seen_since,
        limit: args.limit,
        include_filtered: args.include_filtered,
        unread: args.unread,
        ..ListQuery::default()
    };
    let digest = export::html::HtmlDigest {
        title: digest_title("syndic digest", &args.topics),
        generated: ctx.now,
        sections: export::html::group_by_topic(digest_stories(&store, &query)?, &args.topics),
    };
    let zone = *ctx.now.with_timezone(&chrono::Local).offset();
    emit(args.output.as_deref(), export::html::render(&digest, zone).as_bytes())
}

fn atom(ctx: &Context, args: &ExportAtomArgs) -> anyhow::Result<ExitCode> {
    let (config, store) = ctx.read_store()?;
    check_topics(&args.topics, config.as_ref(), &store)?;
    let (since, seen_since) = ctx.since(args.since, &store)?;
    let query = ListQuery {
        topics: args.topics.clone(),
        since,
        seen_since,
        limit: args.limit,
        include_filtered: args.include_filtered,
        ..ListQuery::default()
    };
    let planet = export::atom::Planet {
        title: digest_title("syndic planet", &args.topics),
        feed_url: args.feed_url.clone(),
        home_page_url: args.home_page_url.clone(),
        generated: ctx.now,
        stories: digest_stories(&store, &query)?,
    };
    emit(args.output.as_deref(), export::atom::render(&planet).as_bytes())
}

fn digest_title(base: &str, topics: &[String]) -> String {
    if topics.is_empty() {
        base.to_owned()
    } else {
        format!("{base}: {}", topics.join(", "))
    }
}

/// The stories `query` selects, each with its feed and its copies.
fn digest_stories(store: &Store, query: &ListQuery) -> anyhow::Result<Vec<DigestStory>> {
    let feeds = feeds_by_url(store)?;
    let mut stories = Vec::new();
    let mut damaged = Vec::new();
    for row in store.list(query)? {
        let Some(d) = store.entry(row.id)? else { continue };
        if d.row.text_damaged {
            damaged.push(row.id);
        }
        let feed = feeds.get(row.feed_url.as_str());
        stories.push(DigestStory {
            id: row.id.0,
            title: row.title.clone(),
            url: row.url.clone(),
            author: row.author.clone(),
            published: row.published,
            summary: row.summary.clone(),
            content_html: d.content_html.clone(),
            topics: row.topics.clone(),
            source: DigestFeed {
                name: row.feed.clone(),
                url: row.feed_url.clone(),
                site_url: feed.and_then(|f| f.site_url.clone()),
                updated: feed.and_then(|f| f.feed_updated.or(f.last_success)),
            },
            copies: d
                .copies
                .iter()
                .map(|c| Carrier { feed: c.feed.clone(), url: c.url.clone(), attribution: c.attribution.clone() })
                .collect(),
        });
    }
    super::warn_damaged(damaged);
    Ok(stories)
}

/// Writes to stdout, or to `path`: see [`write_output_file`].
fn emit(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<ExitCode> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
        }
        Some(path) => write_output_file(path, bytes).map_err(|e| {
            user_error(
                format!("cannot write {}: {e}", path.display()),
                Some("check that the directory exists and is writable".into()),
            )
        })?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` the way a user expects of `-o FILE`:
/// - a regular file (or a new one) is replaced atomically (a temporary file
///   in the same directory, renamed over it), so a reader never sees half a
///   document, keeping the old file's permissions, or for a new file
///   0666 less the umask (as any program creating a file);
/// - a symlink is written through: its target is replaced, the link stays;
/// - anything else (a FIFO, a device, `/dev/stdout`) is written straight,
///   as renaming over it would replace it with a regular file.
pub(crate) fn write_output_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = resolve_symlinks(path)?;
    let existing = match std::fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = existing.as_ref().filter(|m| !m.is_file()) {
        if meta.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"));
        }
        let mut f = std::fs::OpenOptions::new().write(true).open(&target)?;
        f.write_all(bytes)?;
        return f.flush();
    }
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // Created with 0666 less the umask, like any new file (tempfile's default is 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    if let Some(meta) = &existing {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// Follows `path` through symlinks (relative ones against their link's
/// directory) to the file they name, which need not exist yet.
fn resolve_symlinks(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}
