//! `syndic import opml FILE`: add every feed of another reader's export to
//! feeds.toml; its folders and categories tag the feeds with topics.

use std::io::Write;
use std::process::ExitCode;

use super::add::{same_url, write_config};
use super::{user_error, Context};
use crate::cli::{ImportCommand, ImportOpmlArgs};
use crate::config::Config;
use crate::feeds_file::{append_feeds, FeedEntry};
use crate::import::opml_feeds;
use crate::output::safe_text;

pub(crate) fn run(ctx: &Context, cmd: &ImportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImportCommand::Opml(args) => opml(ctx, args),
    }
}

fn opml(ctx: &Context, args: &ImportOpmlArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file).map_err(|e| {
        user_error(format!("cannot read {}: {e}", args.file.display()), Some("check the file's path".into()))
    })?;
    let listed = opml_feeds(&String::from_utf8_lossy(&bytes)).map_err(|e| {
        user_error(
            format!("{}: {e}", args.file.display()),
            Some("export the feed list as OPML from your reader (newsboat -e, miniflux, FreshRSS, Feedly)".into()),
        )
    })?;
    // Importing into no configuration starts one.
    let path = ctx.cli.config.clone();
    let (config, text) = if path.exists() {
        let config = ctx.config()?;
        let text = std::fs::read_to_string(&path)?;
        (Some(config), text)
    } else {
        (None, String::new())
    };
    let configured: Vec<_> = config.as_ref().map(|c| c.feeds.clone()).unwrap_or_default();
    let mut names: Vec<String> = configured.iter().filter_map(|f| f.name.as_ref()).map(|n| n.to_lowercase()).collect();

    let mut added: Vec<FeedEntry> = Vec::new();
    let mut present = 0;
    let mut unusable: Vec<String> = Vec::new();
    for outline in listed {
        let url = match url::Url::parse(&outline.url) {
            // Without its #fragment, as feeds.toml reads URLs (two outlines
            // differing only by one are the same feed).
            Ok(mut u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                u.set_fragment(None);
                u.to_string()
            }
            // newsboat's query: / exec: / filter: feeds, relative or broken URLs.
            _ => {
                unusable.push(outline.url);
                continue;
            }
        };
        if configured.iter().any(|f| same_url(&f.url, &url)) || added.iter().any(|f| same_url(&f.url, &url)) {
            present += 1;
            continue;
        }
        // The title is the name unless it is only the URL or another feed's name.
        let name = outline.title.map(|t| safe_text(&t).trim().to_owned()).filter(|t| {
            !t.is_empty() && !same_url(t, &url) && !same_url(t, &outline.url) && !names.contains(&t.to_lowercase())
        });
        if let Some(n) = &name {
            names.push(n.to_lowercase());
        }
        added.push(FeedEntry { url, name, topics: outline.topics });
    }

    let mut out = std::io::stdout().lock();
    if !added.is_empty() {
        let new_text = append_feeds(&text, &added)
            .map_err(|e| user_error(format!("cannot edit {}: {e}", path.display()), None))?;
        // Never write a file that would not load.
        Config::parse(&new_text, &path).map_err(|e| user_error(e.to_string(), None))?;
        write_config(&path, &new_text)?;
        writeln!(out, "added {} {} to {}:", added.len(), feeds_word(added.len()), path.display())?;
        for f in &added {
            write!(out, "  {} <{}>", safe_text(f.name.as_deref().unwrap_or(&f.url)), safe_text(&f.url))?;
            if !f.topics.is_empty() {
                write!(out, " topics: {}", f.topics.join(", "))?;
            }
            writeln!(out)?;
        }
    } else {
        writeln!(out, "added no feeds")?;
    }
    if present > 0 {
        writeln!(out, "skipped {present} {} already in {}", feeds_word(present), path.display())?;
    }
    for u in &unusable {
        writeln!(out, "skipped {}: not an http(s) feed URL", safe_text(u))?;
    }
    if !added.is_empty() {
        writeln!(out, "run `syndic sync` to fetch them")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn feeds_word(n: usize) -> &'static str {
    if n == 1 {
        "feed"
    } else {
        "feeds"
    }
}
