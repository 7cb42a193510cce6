//! `syndic init`: a commented starter feeds.toml.

use std::io::Write;
use std::process::ExitCode;

use super::{user_error, Context};

/// The starter file: every line a comment, so it loads as an empty feed
/// list and `syndic add` appends below it.
pub(crate) const STARTER: &str = r#"# syndic's feed list. Every key is described in the README.
# Add feeds with `syndic add URL` (a site's home page works too) or
# `syndic import opml FILE`, or by hand below; then run `syndic sync`.

# [settings]                    # every key is optional
# database = "syndic.db"        # relative to this file (default: the platform data directory)
# timeout = "30s"               # per request
# keep = "180d"                 # delete entries older than this after each sync
# on_new = "cat > ~/new.json"   # run after a sync with new stories, as JSON on stdin

# A topic: an entry belongs to it when one of the keywords occurs in its
# title or text (a whole word, any case), or when its feed lists the topic.
# [topics.climate]
# keywords = ["climate", "carbon", "heatwave"]

# [[feeds]]
# url = "https://example.com/feed.xml"
# name = "Example"              # optional; default: the feed's own title
# topics = ["climate"]          # optional
"#;

pub(crate) fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    let path = &ctx.cli.config;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            user_error(format!("cannot create {}: {e}", dir.display()), Some("pass --config PATH".into()))
        })?;
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(user_error(
                format!("{} already exists; init never overwrites it", path.display()),
                Some("add feeds with `syndic add URL`, or move the file away to start over".into()),
            ));
        }
        Err(e) => {
            return Err(user_error(
                format!("cannot create {}: {e}", path.display()),
                Some("check that the directory is writable, or pass --config PATH".into()),
            ))
        }
    };
    file.write_all(STARTER.as_bytes())?;
    println!("wrote {}; add a feed with `syndic add URL`", path.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn starter_loads_as_an_empty_feed_list() {
        let c = crate::config::Config::parse(super::STARTER, std::path::Path::new("/x/feeds.toml")).unwrap();
        assert!(c.feeds.is_empty() && c.topics.is_empty());
        // Each commented example is valid once uncommented.
        let uncommented: String = super::STARTER
            .lines()
            .filter_map(|l| l.strip_prefix("# ").filter(|l| l.starts_with('[') || l.contains(" = ")))
            .map(|l| format!("{l}\n"))
            .collect();
        let c = crate::config::Config::parse(&uncommented, std::path::Path::new("/x/feeds.toml")).unwrap();
        assert_eq!(c.feeds.len(), 1);
        assert_eq!(c.settings.on_new.as_deref(), Some("cat > ~/new.json"));
    }
}
