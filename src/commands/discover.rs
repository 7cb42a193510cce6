//! `syndic discover URL`: which feeds a page links to.

use std::io::Write;
use std::process::ExitCode;

use super::{user_error, Context};
use crate::cli::DiscoverArgs;
use crate::config::Settings;
use crate::error::ParseError;
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::output::safe_text;

pub(crate) fn run(ctx: &Context, args: &DiscoverArgs) -> anyhow::Result<ExitCode> {
    let url = url::Url::parse(args.url.trim())
        .map_err(|e| {
            user_error(
                format!("\"{}\" is not a URL ({e})", args.url),
                Some("write it like https://example.com/".into()),
            )
        })?
        .to_string();
    // The configured limits if there is a configuration, else the defaults.
    let settings = if ctx.cli.config.exists() { ctx.config()?.settings } else { Settings::default() };
    let fetcher = Fetcher::new(&settings).map_err(|e| user_error(e.to_string(), None))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let doc = match runtime.block_on(fetcher.fetch(&url, &Validators::default())) {
        Ok(FetchOutcome::Fetched(doc)) => doc,
        // No validators were sent, so a 304 makes no sense: the server is broken.
        Ok(FetchOutcome::NotModified { status, .. }) => {
            return Err(user_error(
                format!("cannot fetch {url}: HTTP {status} (not modified) to a request that asked for no comparison"),
                Some("the server answers wrongly; try the site's page or feed URL in a browser".into()),
            ))
        }
        Err(e) => return Err(user_error(format!("cannot fetch {url}: {e}"), None)),
    };
    // Parsing has the same deadline as fetching: a hostile page is an error, not a hang.
    let (body, content_type, page, now) = (doc.body, doc.content_type, url.clone(), ctx.now);
    let parsing = runtime.spawn_blocking(move || crate::parse::parse_feed(&body, &page, content_type.as_deref(), now));
    let parsed = runtime.block_on(async { tokio::time::timeout(settings.timeout, parsing).await });
    // A parse past its deadline may still run: do not wait for it.
    runtime.shutdown_background();
    let parsed = match parsed {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(_)) => Err(ParseError::Panicked),
        Err(_) => Err(ParseError::Deadline(settings.timeout)),
    };
    let mut out = std::io::stdout().lock();
    match parsed {
        Ok(feed) => {
            let title = feed.meta.title.as_deref().unwrap_or("(untitled)");
            writeln!(out, "{url} is a feed: {} ({} entries)", safe_text(title), feed.entries.len())?;
            writeln!(out, "add it to feeds.toml:\n\n[[feeds]]\nurl = \"{url}\"")?;
        }
        Err(ParseError::HtmlPage(feeds)) if feeds.is_empty() => {
            return Err(user_error(
                format!("{url} is a web page that links to no feed"),
                Some("look for an RSS or Atom link on the site".into()),
            ));
        }
        Err(ParseError::HtmlPage(feeds)) => {
            writeln!(
                out,
                "{url} is a web page; it links to {}:",
                if feeds.len() == 1 { "this feed" } else { "these feeds" }
            )?;
            for f in &feeds {
                writeln!(out, "  {}", safe_text(f))?;
            }
            writeln!(out, "add one to feeds.toml:\n\n[[feeds]]\nurl = \"{}\"", safe_text(&feeds[0]))?;
        }
        Err(e) => return Err(user_error(format!("{url}: {e}"), None)),
    }
    Ok(ExitCode::SUCCESS)
}
