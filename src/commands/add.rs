//! `syndic add URL`: check that a URL is a feed (or find the feed a page
//! links to), then append it to feeds.toml keeping comments and layout.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::{user_error, Context};
use crate::cli::AddArgs;
use crate::config::Config;
use crate::error::ParseError;
use crate::feeds_file::{append_feeds, FeedEntry};
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::model::ParsedFeed;
use crate::output::safe_text;

pub(crate) fn run(ctx: &Context, args: &AddArgs) -> anyhow::Result<ExitCode> {
    let config = existing_config(ctx)?;
    let url = parse_url(&args.url)?;
    refuse_duplicate(&config, &url)?;
    if let Some(name) = &args.name {
        if let Some(f) = config.feeds.iter().find(|f| f.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name))) {
            return Err(user_error(
                format!("the name \"{name}\" is already used by {}", f.url),
                Some("choose another --name".into()),
            ));
        }
    }

    let fetcher = Fetcher::new(&config.settings).map_err(|e| user_error(e.to_string(), None))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let probe = |url: &str| runtime.block_on(probe(&fetcher, url, ctx.now));
    let (feed_url, feed, page) = match probe(&url) {
        Ok((feed_url, feed)) => (feed_url, feed, None),
        Err(Probe::Page(links)) if !links.is_empty() => {
            let link = links[0].clone();
            refuse_duplicate(&config, &link)?;
            match probe(&link) {
                Ok((feed_url, feed)) => (feed_url, feed, Some(url.clone())),
                Err(Probe::Page(_)) => {
                    return Err(user_error(format!("{link}, linked from {url}, is a web page, not a feed"), None))
                }
                Err(Probe::Failed(e)) => return Err(user_error(format!("cannot fetch {link}: {e}"), None)),
            }
        }
        Err(Probe::Page(_)) => {
            return Err(user_error(
                format!("{url} is a web page that links to no feed"),
                Some("look for an RSS or Atom link on the site and add that URL".into()),
            ))
        }
        Err(Probe::Failed(e)) => {
            return Err(user_error(
                format!("{url} is not a feed syndic can read: {e}"),
                Some("check the URL in a browser, or try `syndic discover URL`".into()),
            ))
        }
    };
    refuse_duplicate(&config, &feed_url)?;

    let title = feed.meta.title.as_deref().map(safe_text).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    // The feed's title becomes its name unless another feed has that name.
    let name = args.name.clone().or_else(|| {
        title
            .clone()
            .filter(|t| !config.feeds.iter().any(|f| f.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t))))
    });
    let entry = FeedEntry { url: feed_url.clone(), name: name.clone(), topics: args.topics.clone() };
    let text = std::fs::read_to_string(&config.path)?;
    let new_text = append_feeds(&text, &[entry])
        .map_err(|e| user_error(format!("cannot edit {}: {e}", config.path.display()), None))?;
    // Never write a file that would not load.
    Config::parse(&new_text, &config.path).map_err(|e| user_error(e.to_string(), None))?;
    write_config(&config.path, &new_text)?;

    let shown = name.or(title).unwrap_or_else(|| feed_url.clone());
    let mut out = std::io::stdout().lock();
    write!(out, "added {} <{}> ({} entries)", safe_text(&shown), safe_text(&feed_url), feed.entries.len())?;
    if let Some(page) = page {
        write!(out, ", the feed {} links to", safe_text(&page))?;
    }
    writeln!(out, "; run `syndic sync` to fetch it")?;
    Ok(ExitCode::SUCCESS)
}

/// The configuration, which must exist: add, remove and import edit it.
pub(crate) fn existing_config(ctx: &Context) -> anyhow::Result<Config> {
    if !ctx.cli.config.exists() {
        return Err(user_error(
            format!("no configuration at {}", ctx.cli.config.display()),
            Some("run `syndic init` to write a starter feeds.toml, or point --config at yours".into()),
        ));
    }
    ctx.config()
}

/// A URL as the user typed it, made absolute: `example.com/feed` means https.
fn parse_url(raw: &str) -> anyhow::Result<String> {
    let raw = raw.trim();
    // A local file, as feeds.toml accepts them.
    if raw.starts_with("./") || raw.starts_with("../") || raw.starts_with('/') {
        let path = std::path::absolute(raw).map_err(|e| user_error(format!("cannot resolve {raw}: {e}"), None))?;
        return url::Url::from_file_path(&path).map(|u| u.to_string()).map_err(|()| {
            user_error(format!("cannot turn {raw} into a file:// URL"), Some("write an absolute file:///path".into()))
        });
    }
    let parsed = match url::Url::parse(raw) {
        Err(url::ParseError::RelativeUrlWithoutBase) => url::Url::parse(&format!("https://{raw}")),
        other => other,
    };
    match parsed {
        // Without its #fragment, as feeds.toml reads URLs: it never reaches the server.
        Ok(mut u) if matches!(u.scheme(), "http" | "https" | "file") => {
            u.set_fragment(None);
            Ok(u.to_string())
        }
        _ => Err(user_error(
            format!("\"{raw}\" is not an http(s) or file URL"),
            Some("write it like https://example.com/feed.xml".into()),
        )),
    }
}

/// Returns true if and only if `a` and `b` name the same feed (a trailing
/// slash makes no difference).
pub(crate) fn same_url(a: &str, b: &str) -> bool {
    a == b || a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn refuse_duplicate(config: &Config, url: &str) -> anyhow::Result<()> {
    match config.feeds.iter().find(|f| same_url(&f.url, url)) {
        Some(f) => Err(user_error(
            format!(
                "{url} is already in {}{}",
                config.path.display(),
                f.name.as_deref().map(|n| format!(" as \"{n}\"")).unwrap_or_default()
            ),
            Some("nothing to do; `syndic feeds` lists the feeds".into()),
        )),
        None => Ok(()),
    }
}

enum Probe {
    /// An HTML page, with the feeds it links to.
    Page(Vec<String>),
    /// Not fetched or not parsed: why.
    Failed(String),
}

/// Fetches `url` once and parses it; returns the feed's URL (where a
/// permanent redirect led) and the feed.
async fn probe(
    fetcher: &Fetcher,
    url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, ParsedFeed), Probe> {
    let doc = match fetcher.fetch(url, &Validators::default()).await {
        Ok(FetchOutcome::Fetched(doc)) => doc,
        Ok(FetchOutcome::NotModified { .. }) => {
            return Err(Probe::Failed("the server answered 304 to a plain GET".into()))
        }
        Err(e) => return Err(Probe::Failed(e.to_string())),
    };
    let feed_url = doc.moved_to.clone().unwrap_or_else(|| url.to_owned());
    match crate::parse::parse_feed(&doc.body, &feed_url, doc.content_type.as_deref(), now) {
        Ok(feed) => Ok((feed_url, feed)),
        Err(ParseError::HtmlPage(links)) => Err(Probe::Page(links)),
        Err(e) => Err(Probe::Failed(e.to_string())),
    }
}

/// Replaces feeds.toml atomically (a temporary file renamed over it),
/// keeping the file's permissions.
pub(crate) fn write_config(path: &Path, text: &str) -> anyhow::Result<()> {
    let fail = |e: std::io::Error| {
        user_error(
            format!("cannot write {}: {e}", path.display()),
            Some("check that the file and its directory are writable".into()),
        )
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions()).map_err(fail)?;
    } else {
        // A new file: readable like any other (the temporary file is 0600).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(fail)?;
        }
    }
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
