//! `feeds.toml`: read once, validated once, turned into a [`Config`].
//!
//! Every mistake is reported as one line naming the file, the line and what to
//! write instead (`feeds.toml:12: unknown field `urll`, expected one of …`),
//! before anything is fetched.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// Defaults for `[settings]`.
pub const DEFAULT_CONCURRENCY: usize = 16;
pub const DEFAULT_PER_HOST: usize = 4;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_BODY: u64 = 20 * 1024 * 1024;
/// How long a second `sync` waits for a running one before giving up.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(120);
/// How far apart in time an original and its copies may be published.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// The furthest back an age may reach (`--since`, `--until`, `--older-than`,
/// `keep`): 2,000 years (of 365.25 days, as `2000y` reads). Beyond it date arithmetic overflows (chrono stops at
/// year 262,143), and no feed has entries that old.
pub const MAX_AGO: Duration = Duration::from_secs(2_000 * 31_557_600);

/// The longest `timeout` and `lock_wait`: a day. Longer ones overflow the
/// clock arithmetic of the runtime, and no cron job wants them.
pub const MAX_WAIT: Duration = Duration::from_secs(86_400);

/// Checks that an age written as `written` (like `30d`) is at most
/// [`MAX_AGO`]; the error names the earliest date that can be reached.
pub fn check_ago(d: Duration, written: &str) -> Result<Duration, String> {
    if d <= MAX_AGO {
        return Ok(d);
    }
    let earliest = time_ago(chrono::Utc::now(), MAX_AGO);
    Err(format!(
        "\"{written}\" is too far back; the earliest date is {}: write at most \"2000y\", or a date",
        earliest.format("%Y-%m-%d")
    ))
}

/// The instant `d` before `now`; never panics (the earliest instant chrono
/// knows when `d` reaches past it).
pub fn time_ago(now: chrono::DateTime<chrono::Utc>, d: Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

/// A problem with the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid { path: PathBuf, line: usize, message: String },
    #[error("{path} is not a regular file (a device, FIFO or directory cannot be a configuration)")]
    NotAFile { path: PathBuf },
    #[error("{path} is over {} (the most a configuration may hold)", bytesize::ByteSize(MAX_CONFIG_BYTES).display().iec())]
    TooLarge { path: PathBuf },
}

/// The largest configuration read: far more than 10,000 feeds need.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

impl ConfigError {
    /// What the user should do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Some("create feeds.toml (see the README), or point --config / SYNDIC_CONFIG at one".into())
            }
            ConfigError::NotAFile { .. } | ConfigError::TooLarge { .. } => {
                Some("point --config / SYNDIC_CONFIG at your feeds.toml".into())
            }
            _ => None,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub settings: Settings,
    /// Topic rules, sorted by name; includes topics only named by feeds.
    pub topics: Vec<TopicRule>,
    pub feeds: Vec<FeedConfig>,
    /// `[filters]`: exclude rules for every feed.
    pub filters: crate::filters::FilterRules,
}

/// `[settings]`, defaults applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `settings.database`, resolved against the config file's directory.
    pub database: Option<PathBuf>,
    pub concurrency: usize,
    pub per_host: usize,
    pub timeout: Duration,
    pub max_body: u64,
    pub lock_wait: Duration,
    pub dedup_window: Duration,
    /// Entries older than this are pruned after each sync (None: keep all).
    pub keep: Option<Duration>,
    /// A shell command run after a sync that brought new stories, with
    /// them as a JSON array on its stdin.
    pub on_new: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: None,
            concurrency: DEFAULT_CONCURRENCY,
            per_host: DEFAULT_PER_HOST,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            lock_wait: DEFAULT_LOCK_WAIT,
            dedup_window: DEFAULT_DEDUP_WINDOW,
            keep: None,
            on_new: None,
        }
    }
}

/// One topic and the keywords (words or phrases) that put an entry in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicRule {
    pub name: String,
    pub keywords: Vec<String>,
}

/// One `[[feeds]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedConfig {
    /// Absolute `http(s)://` or `file://` URL.
    pub url: String,
    pub name: Option<String>,
    pub topics: Vec<String>,
    /// `[feeds.filters]`: exclude rules for this feed, on top of the global ones.
    pub filters: crate::filters::FilterRules,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    topics: BTreeMap<String, Spanned<RawTopic>>,
    #[serde(default)]
    feeds: Vec<RawFeed>,
    #[serde(default)]
    filters: crate::filters::RawFilters,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    database: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<String>>,
    lock_wait: Option<Spanned<String>>,
    dedup_window: Option<Spanned<String>>,
    keep: Option<Spanned<String>>,
    on_new: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    #[serde(default)]
    keywords: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    url: Spanned<String>,
    name: Option<Spanned<String>>,
    #[serde(default)]
    topics: Vec<Spanned<String>>,
    #[serde(default)]
    filters: crate::filters::RawFilters,
}

impl Config {
    /// Reads and validates the file at `path`.
    /// Only a regular file is read (checked before opening, as opening a
    /// FIFO blocks), and at most [`MAX_CONFIG_BYTES`] of it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        use std::io::Read;
        let read_err = |source| ConfigError::Read { path: path.to_owned(), source };
        if !std::fs::metadata(path).map_err(read_err)?.is_file() {
            return Err(ConfigError::NotAFile { path: path.to_owned() });
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(read_err)?
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge { path: path.to_owned() });
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            read_err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8 text ({e})")))
        })?;
        Config::parse(&text, path)
    }

    /// Validates `text` as if read from `path` (relative paths in it resolve
    /// against `path`'s directory).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line: line_of(text, span.start),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            invalid(span, e.message().trim().replace('\n', " "))
        })?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();

        let mut settings = Settings::default();
        let s = raw.settings;
        if let Some(db) = s.database {
            if db.get_ref().trim().is_empty() {
                return Err(invalid(db.span(), "`database` is empty: write a file name such as \"syndic.db\"".into()));
            }
            settings.database = Some(base_dir.join(db.get_ref()));
        }
        if let Some(c) = s.concurrency {
            settings.concurrency = bounded(&c, "concurrency", 1, 256).map_err(|m| invalid(c.span(), m))?;
        }
        if let Some(c) = s.per_host {
            settings.per_host = bounded(&c, "per_host", 1, 64).map_err(|m| invalid(c.span(), m))?;
        }
        if let Some(t) = s.timeout {
            settings.timeout = duration(&t, "timeout")
                .and_then(|d| at_most(d, MAX_WAIT, "timeout", "1d"))
                .map_err(|m| invalid(t.span(), m))?;
        }
        if let Some(t) = s.lock_wait {
            settings.lock_wait = duration(&t, "lock_wait")
                .and_then(|d| at_most(d, MAX_WAIT, "lock_wait", "1d"))
                .map_err(|m| invalid(t.span(), m))?;
        }
        if let Some(t) = s.dedup_window {
            settings.dedup_window = duration(&t, "dedup_window")
                .and_then(|d| at_most(d, MAX_AGO, "dedup_window", "2000y"))
                .map_err(|m| invalid(t.span(), m))?;
            if settings.dedup_window < Duration::from_secs(86_400) {
                return Err(invalid(t.span(), "`dedup_window` must be at least a day: write it like \"7d\"".into()));
            }
        }
        if let Some(t) = s.keep {
            let keep = duration(&t, "keep")
                .and_then(|d| check_ago(d, t.get_ref().trim()).map_err(|m| format!("`keep`: {m}")))
                .map_err(|m| invalid(t.span(), m))?;
            if keep < Duration::from_secs(86_400) {
                return Err(invalid(t.span(), "`keep` must be at least a day: write it like \"180d\"".into()));
            }
            settings.keep = Some(keep);
        }
        if let Some(c) = s.on_new {
            if c.get_ref().trim().is_empty() {
                return Err(invalid(c.span(), "`on_new` is empty: write a command, or remove the key".into()));
            }
            settings.on_new = Some(c.into_inner());
        }
        if let Some(b) = s.max_body {
            settings.max_body = size(&b, "max_body").map_err(|m| invalid(b.span(), m))?;
        }

        let mut topics: BTreeMap<String, TopicRule> = BTreeMap::new();
        for (name, topic) in raw.topics {
            check_topic_name(&name).map_err(|m| invalid(topic.span(), m))?;
            let mut keywords = Vec::new();
            for k in &topic.get_ref().keywords {
                let word = k.get_ref().trim();
                if word.is_empty() {
                    return Err(invalid(k.span(), format!("topic `{name}` has an empty keyword: remove it")));
                }
                keywords.push(word.to_owned());
            }
            topics.insert(name.clone(), TopicRule { name, keywords });
        }

        let mut feeds = Vec::with_capacity(raw.feeds.len());
        let mut seen_urls = HashSet::new();
        let mut seen_names = HashSet::new();
        for f in raw.feeds {
            let url = feed_url(f.url.get_ref(), &base_dir).map_err(|m| invalid(f.url.span(), m))?;
            // Without its #fragment (feed_url): `feed#a` and `feed#b` are one feed.
            if !seen_urls.insert(url.clone()) {
                return Err(invalid(
                    f.url.span(),
                    format!("feed {url} is listed twice: remove one of the [[feeds]] tables"),
                ));
            }
            let name = match f.name {
                Some(n) => {
                    let trimmed = n.get_ref().trim().to_owned();
                    if trimmed.is_empty() {
                        return Err(invalid(
                            n.span(),
                            "`name` is empty: give the feed a name or remove the key".into(),
                        ));
                    }
                    if !seen_names.insert(trimmed.to_lowercase()) {
                        return Err(invalid(
                            n.span(),
                            format!("feed name \"{trimmed}\" is used twice: give each feed its own name"),
                        ));
                    }
                    Some(trimmed)
                }
                None => None,
            };
            let mut feed_topics = Vec::new();
            for t in f.topics {
                let t_name = t.get_ref().trim().to_owned();
                check_topic_name(&t_name).map_err(|m| invalid(t.span(), m))?;
                topics
                    .entry(t_name.clone())
                    .or_insert_with(|| TopicRule { name: t_name.clone(), keywords: Vec::new() });
                if !feed_topics.contains(&t_name) {
                    feed_topics.push(t_name);
                }
            }
            let filters = crate::filters::validate(f.filters).map_err(|(span, m)| invalid(span, m))?;
            feeds.push(FeedConfig { url, name, topics: feed_topics, filters });
        }
        let filters = crate::filters::validate(raw.filters).map_err(|(span, m)| invalid(span, m))?;

        Ok(Config { path: path.to_owned(), settings, topics: topics.into_values().collect(), feeds, filters })
    }

    /// The copy-detection settings for the store.
    pub fn dedup_settings(&self) -> crate::store::DedupSettings {
        crate::store::DedupSettings {
            window_days: (self.settings.dedup_window.as_secs() / 86_400).max(1) as i64,
            ..Default::default()
        }
    }

    /// Returns true if and only if a topic of this name is configured.
    pub fn has_topic(&self, name: &str) -> bool {
        self.topics.iter().any(|t| t.name == name)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

fn bounded(v: &Spanned<i64>, key: &str, lo: i64, hi: i64) -> Result<usize, String> {
    let n = *v.get_ref();
    if (lo..=hi).contains(&n) {
        Ok(n as usize)
    } else {
        Err(format!("`{key}` = {n} is out of range: write a whole number from {lo} to {hi}"))
    }
}

fn duration(v: &Spanned<String>, key: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(v.get_ref().trim()).map_err(|e| {
        format!("`{key}` = \"{}\" is not a duration ({e}): write it like \"30s\", \"2m\" or \"1h\"", v.get_ref())
    })?;
    if d.is_zero() {
        return Err(format!("`{key}` must be longer than zero: write it like \"30s\""));
    }
    Ok(d)
}

fn at_most(d: Duration, max: Duration, key: &str, max_written: &str) -> Result<Duration, String> {
    if d <= max {
        Ok(d)
    } else {
        Err(format!("`{key}` = \"{}\" is too long: write at most \"{max_written}\"", humantime::format_duration(d)))
    }
}

fn size(v: &Spanned<String>, key: &str) -> Result<u64, String> {
    let b: bytesize::ByteSize = v.get_ref().trim().parse().map_err(|_| {
        format!("`{key}` = \"{}\" is not a size: write it like \"20MiB\", \"512KiB\" or \"1GB\"", v.get_ref())
    })?;
    if b.as_u64() == 0 {
        return Err(format!("`{key}` must be larger than zero: write it like \"20MiB\""));
    }
    Ok(b.as_u64())
}

fn check_topic_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("topic name \"{name}\" is not allowed: use letters, digits, '-' and '_' only (e.g. \"cpec\")"))
    }
}

/// Turns what the user wrote as a feed `url` into an absolute URL: `http(s)://`
/// as given, `file://` as given, and `./x.xml` or `../x.xml` as a local file
/// relative to the config file's directory.
fn feed_url(raw: &str, base_dir: &Path) -> Result<String, String> {
    let raw = raw.trim();
    if raw.starts_with("./") || raw.starts_with("../") {
        let dir = if base_dir.as_os_str().is_empty() { Path::new(".") } else { base_dir };
        let abs =
            std::path::absolute(dir.join(raw)).map_err(|e| format!("cannot resolve local feed path \"{raw}\": {e}"))?;
        let url = Url::from_file_path(&abs)
            .map_err(|()| format!("cannot turn \"{raw}\" into a file:// URL: write an absolute file:///path"))?;
        return Ok(url.to_string());
    }
    let url = Url::parse(raw).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            format!("feed url \"{raw}\" has no scheme: write \"https://{raw}\" (or \"./{raw}\" for a local file)")
        }
        e => format!("feed url \"{raw}\" is not a valid URL ({e}): write it like \"https://example.com/feed/\""),
    })?;
    // A #fragment never reaches the server: `feed#a` and `feed#b` are one
    // feed, stored under its URL without it.
    let mut url = url;
    url.set_fragment(None);
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url.to_string()),
        "http" | "https" => Err(format!("feed url \"{raw}\" has no host: write it like \"https://example.com/feed/\"")),
        "file" => Ok(url.to_string()),
        other => Err(format!(
            "feed url \"{raw}\" uses the unsupported scheme `{other}`: write an http://, https:// or file:// URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/syndic/feeds.toml"))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn full_example_parses_with_defaults_applied() {
        let c = parse(
            r#"
[settings]
database = "syndic.db"
concurrency = 8
timeout = "10s"
max_body = "1MiB"

[topics.cpec]
keywords = ["CPEC", "Gwadar"]

[[feeds]]
url = "https://www.bolnews.com/feed/"
name = "Bol News"
topics = ["pakistan"]

[[feeds]]
url = "./local/feed.xml"
"#,
        )
        .unwrap();
        assert_eq!(c.settings.database, Some(PathBuf::from("/etc/syndic/syndic.db")));
        assert_eq!(c.settings.concurrency, 8);
        assert_eq!(c.settings.per_host, DEFAULT_PER_HOST);
        assert_eq!(c.settings.timeout, Duration::from_secs(10));
        assert_eq!(c.settings.max_body, 1024 * 1024);
        let names: Vec<_> = c.topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["cpec", "pakistan"]);
        assert_eq!(c.feeds[0].name.as_deref(), Some("Bol News"));
        assert_eq!(c.feeds[1].url, "file:///etc/syndic/local/feed.xml");
    }

    #[test]
    fn unknown_key_names_line_and_alternatives() {
        let e = err("[[feeds]]\nurl = \"https://a.example/\"\nurll = \"x\"\n");
        assert!(e.starts_with("/etc/syndic/feeds.toml:3: unknown field `urll`"), "{e}");
        assert!(e.contains("expected one of `url`, `name`, `topics`"), "{e}");
    }

    #[test]
    fn bad_url_is_explained() {
        let e = err("[[feeds]]\nurl = \"www.bolnews.com/feed\"\n");
        assert!(e.contains(":2: feed url \"www.bolnews.com/feed\" has no scheme"), "{e}");
        assert!(e.contains("https://www.bolnews.com/feed"), "{e}");
        let e = err("[[feeds]]\nurl = \"ftp://x.example/feed\"\n");
        assert!(e.contains("unsupported scheme `ftp`"), "{e}");
    }

    #[test]
    fn duplicate_url_and_name_are_rejected() {
        let e = err("[[feeds]]\nurl = \"https://a.example/f\"\n[[feeds]]\nurl = \"https://a.example/f\"\n");
        assert!(e.contains(":4: feed https://a.example/f is listed twice"), "{e}");
        let e = err(
            "[[feeds]]\nurl = \"https://a.example/1\"\nname = \"A\"\n[[feeds]]\nurl = \"https://a.example/2\"\nname = \"a\"\n",
        );
        assert!(e.contains(":6: feed name \"a\" is used twice"), "{e}");
        // See: issue 9: URLs differing only by #fragment are one feed.
        let e = err("[[feeds]]\nurl = \"https://a.example/f#x\"\n[[feeds]]\nurl = \"https://a.example/f#y\"\n");
        assert!(e.contains(":4: feed https://a.example/f is listed twice"), "{e}");
        // Stored without it: editing only the fragment keeps the feed.
        let c = parse("[[feeds]]\nurl = \"https://a.example/f?x=1#top\"\n").unwrap();
        assert_eq!(c.feeds[0].url, "https://a.example/f?x=1");
    }

    #[test]
    fn bad_duration_size_and_range_say_what_to_write() {
        let e = err("[settings]\ntimeout = \"30 seconds please\"\n");
        assert!(e.contains(":2: `timeout` = \"30 seconds please\" is not a duration"), "{e}");
        assert!(e.contains("\"30s\""), "{e}");
        let e = err("[settings]\nmax_body = \"lots\"\n");
        assert!(e.contains("`max_body` = \"lots\" is not a size"), "{e}");
        let e = err("[settings]\ndedup_window = \"2h\"\n");
        assert!(e.contains("`dedup_window` must be at least a day"), "{e}");
        let e = err("[settings]\nconcurrency = 0\n");
        assert!(e.contains("from 1 to 256"), "{e}");
    }

    // See: issue 9, "panics reachable from input".
    #[test]
    fn ages_and_waits_past_their_range_are_rejected() {
        let e = err("[settings]\nkeep = \"1000000y\"\n");
        assert!(e.contains(":2: `keep`: \"1000000y\" is too far back; the earliest date is "), "{e}");
        let e = err("[settings]\ntimeout = \"1000000y\"\n");
        assert!(e.contains("`timeout` = \"") && e.contains("is too long: write at most \"1d\""), "{e}");
        let e = err("[settings]\nlock_wait = \"99999999d\"\n");
        assert!(e.contains("`lock_wait`"), "{e}");
        assert!(parse("[settings]\nkeep = \"2000y\"\n").is_ok());
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().to_utc();
        assert_eq!(time_ago(now, Duration::MAX), chrono::DateTime::<chrono::Utc>::MIN_UTC);
    }

    #[test]
    fn bad_topic_name_and_empty_keyword() {
        let e = err("[topics.\"a b\"]\nkeywords = [\"x\"]\n");
        assert!(e.contains("topic name \"a b\" is not allowed"), "{e}");
        let e = err("[topics.cpec]\nkeywords = [\" \"]\n");
        assert!(e.contains(":2: topic `cpec` has an empty keyword"), "{e}");
    }

    // See: issue 9: `--config /dev/zero` read 4 GB.
    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_read_as_configuration() {
        let e = Config::load(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, ConfigError::NotAFile { .. }), "{e}");
        assert!(e.hint().is_some());
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_CONFIG_BYTES + 1).unwrap();
        assert!(matches!(Config::load(&big).unwrap_err(), ConfigError::TooLarge { .. }));
    }

    #[test]
    fn on_new_is_a_command() {
        assert_eq!(parse("[settings]\non_new = \"cat > x\"\n").unwrap().settings.on_new.as_deref(), Some("cat > x"));
        assert!(err("[settings]\non_new = \" \"\n").contains(":2: `on_new` is empty"));
    }

    #[test]
    fn syntax_error_is_one_line() {
        let e = err("[[feeds]\nurl = 1\n");
        assert!(!e.contains('\n'), "{e}");
        assert!(e.starts_with("/etc/syndic/feeds.toml:1:"), "{e}");
    }
}
