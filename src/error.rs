//! The library's error types, one per concern, so callers can branch on what
//! happened and the user gets a plain reason.

use std::time::Duration;

use bytesize::ByteSize;

/// Why fetching a feed failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}{}", reason_suffix(*.status))]
    Status { status: u16 },
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("timed out after {} (no answer)", humantime::format_duration(*.0))]
    NoAnswer(Duration),
    #[error("body over {}", ByteSize(*.0).display().iec())]
    TooLarge(u64),
    #[error("empty response (HTTP 200 with no body)")]
    Empty,
    #[error("too many redirects (more than 10)")]
    Redirects,
    #[error("redirect loop (back to {0})")]
    RedirectLoop(String),
    #[error("HTTP {status}{}; the server asks to wait{}", reason_suffix(*.status), retry_hint(*.retry_after))]
    RateLimited { status: u16, retry_after: Option<Duration> },
    #[error("HTTP 410 (gone: the feed was removed); remove it from feeds.toml, or `sync --force` to try again")]
    Gone,
    #[error("cannot resolve host {0}")]
    Dns(String),
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("cannot read local file: {0}")]
    File(String),
    #[error("{0}")]
    Other(String),
}

fn retry_hint(after: Option<Duration>) -> String {
    match after {
        Some(d) => format!(" {}", humantime::format_duration(Duration::from_secs(d.as_secs()))),
        None => String::new(),
    }
}

fn reason_suffix(status: u16) -> &'static str {
    match status {
        401 => " (authentication required)",
        403 => " (forbidden)",
        404 => " (not found)",
        410 => " (gone: the feed was removed)",
        429 => " (too many requests)",
        500 => " (server error)",
        502 => " (bad gateway)",
        503 => " (service unavailable)",
        504 => " (gateway timeout)",
        _ => "",
    }
}

/// Why a fetched document yielded no feed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed (got an HTML page){}", discovered_hint(.0))]
    HtmlPage(Vec<String>),
    #[error("not a feed ({0})")]
    Invalid(String),
    #[error("the feed parser crashed on this document")]
    Panicked,
}

fn discovered_hint(feeds: &[String]) -> String {
    match feeds.first() {
        Some(f) => format!("; the page links to a feed: put {f} in feeds.toml"),
        None => String::new(),
    }
}

/// A failure of the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {message}")]
    Open { path: String, message: String },
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("another `syndic sync` is running on {path} and did not finish within {}", humantime::format_duration(*.waited))]
    Locked { path: String, waited: Duration },
    #[error("{0}")]
    NotFound(String),
}

/// Everything that can go wrong for one feed during a sync.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl FeedError {
    /// The HTTP status that went with it, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            FeedError::Fetch(FetchError::Status { status } | FetchError::RateLimited { status, .. }) => Some(*status),
            FeedError::Fetch(FetchError::Gone) => Some(410),
            _ => None,
        }
    }
}
