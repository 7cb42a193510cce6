//! Finding feeds by what the user typed after `--feed`: one lookup for
//! every command (`sync`, `list`, `search`…), so that a feed found by one is
//! found by all. Pure functions over the feeds' URLs, names and titles.

use std::path::Path;

/// What a feed can be called by.
#[derive(Debug, Clone, Copy)]
pub struct FeedKey<'a> {
    /// The URL as feeds.toml resolves it (`./x.xml` is a `file://` URL).
    pub url: &'a str,
    /// feeds.toml's `name`.
    pub name: Option<&'a str>,
    /// The feed's own title (from its last fetch).
    pub title: Option<&'a str>,
}

impl FeedKey<'_> {
    /// The name to show: feeds.toml's, else the feed's title, else its URL.
    pub fn display_name(&self) -> &str {
        self.name.or(self.title).unwrap_or(self.url)
    }
}

/// How many known feeds an "unknown feed" error lists before counting the rest.
const KNOWN_SHOWN: usize = 5;

/// No feed answers to what was typed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no feed is named or has the URL \"{wanted}\"; known feeds: {}", known_list(.known))]
pub struct UnknownFeed {
    pub wanted: String,
    /// The display names of all known feeds.
    pub known: Vec<String>,
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        return "none".into();
    }
    let shown = known.iter().take(KNOWN_SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
    match known.len().saturating_sub(KNOWN_SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more (see `syndic feeds`)"),
    }
}

/// The index in `feeds` of the feed `wanted` names. Tried in order: the URL
/// as written; the URL without a trailing slash or `#fragment`; a local path
/// as feeds.toml would write it (`./feeds/x.xml`, relative to `config_dir`,
/// or absolute); feeds.toml's name; the feed's own title (names and titles
/// compared case-insensitively).
pub fn find_feed(feeds: &[FeedKey<'_>], wanted: &str, config_dir: &Path) -> Result<usize, UnknownFeed> {
    let wanted_trimmed = wanted.trim();
    let bare = |u: &str| -> String {
        let u = u.split_once('#').map_or(u, |(u, _)| u);
        u.trim_end_matches('/').to_owned()
    };
    let as_file_url = local_path_url(wanted_trimmed, config_dir);
    let tests: [&dyn Fn(&FeedKey<'_>) -> bool; 5] = [
        &|f| f.url == wanted_trimmed,
        &|f| bare(f.url) == bare(wanted_trimmed),
        &|f| as_file_url.as_deref() == Some(f.url),
        &|f| f.name.is_some_and(|n| n.eq_ignore_ascii_case(wanted_trimmed)),
        &|f| f.title.is_some_and(|t| t.trim().eq_ignore_ascii_case(wanted_trimmed)),
    ];
    for test in tests {
        if let Some(i) = feeds.iter().position(test) {
            return Ok(i);
        }
    }
    Err(UnknownFeed { wanted: wanted.to_owned(), known: feeds.iter().map(|f| f.display_name().to_owned()).collect() })
}

/// The indexes of the feeds named by `wanted`, each once, in the order asked.
pub fn find_feeds(feeds: &[FeedKey<'_>], wanted: &[String], config_dir: &Path) -> Result<Vec<usize>, UnknownFeed> {
    let mut found = Vec::new();
    for w in wanted {
        let i = find_feed(feeds, w, config_dir)?;
        if !found.contains(&i) {
            found.push(i);
        }
    }
    Ok(found)
}

/// `./x.xml`, `../x.xml` or `/abs/x.xml` as the `file://` URL feeds.toml makes of it.
fn local_path_url(raw: &str, config_dir: &Path) -> Option<String> {
    let path = if raw.starts_with("./") || raw.starts_with("../") {
        let dir = if config_dir.as_os_str().is_empty() { Path::new(".") } else { config_dir };
        std::path::absolute(dir.join(raw)).ok()?
    } else if raw.starts_with('/') {
        std::path::PathBuf::from(raw)
    } else {
        return None;
    };
    url::Url::from_file_path(path).ok().map(|u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feeds() -> Vec<FeedKey<'static>> {
        vec![
            FeedKey { url: "https://a.example/feed/", name: Some("Bol News"), title: Some("BOL") },
            FeedKey { url: "https://b.example/rss", name: None, title: Some("Dawn - Home") },
            FeedKey { url: "file:///etc/syndic/feeds/x.xml", name: None, title: None },
        ]
    }

    // See: issue 9: `sync --feed "<title>"` failed where `list --feed` found it,
    // and `--feed ./feeds/x.xml` as written in feeds.toml was rejected.
    #[test]
    fn every_way_of_naming_a_feed_finds_it() {
        let f = feeds();
        let dir = Path::new("/etc/syndic");
        let find = |w: &str| find_feed(&f, w, dir).map_err(|e| e.to_string());
        assert_eq!(find("https://a.example/feed/"), Ok(0));
        assert_eq!(find("https://a.example/feed"), Ok(0));
        assert_eq!(find("https://a.example/feed/#top"), Ok(0));
        assert_eq!(find("bol news"), Ok(0));
        assert_eq!(find("bol"), Ok(0));
        assert_eq!(find("Dawn - Home"), Ok(1));
        assert_eq!(find("./feeds/x.xml"), Ok(2));
        assert_eq!(find("/etc/syndic/feeds/x.xml"), Ok(2));
        assert_eq!(find_feeds(&f, &["bol".into(), "Bol News".into()], dir).unwrap(), [0]);
    }

    // See: issue 9: with 5,000 feeds the "known feeds" line was 54 KB.
    #[test]
    fn an_unknown_feed_lists_a_few_and_counts_the_rest() {
        let urls: Vec<String> = (0..5000).map(|i| format!("https://f{i}.example/")).collect();
        let many: Vec<FeedKey<'_>> = urls.iter().map(|u| FeedKey { url: u, name: None, title: None }).collect();
        let e = find_feed(&many, "nope", Path::new("")).unwrap_err().to_string();
        assert!(e.ends_with("https://f4.example/ and 4995 more (see `syndic feeds`)"), "{e}");
        assert!(e.len() < 300, "{e}");
    }
}
