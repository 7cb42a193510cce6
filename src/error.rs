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
    #[error("HTTP {status}{}; the server asks to wait{}", reason_suffix(*.status), retry_hint(*.retry_after, .unreadable.as_deref()))]
    RateLimited {
        status: u16,
        retry_after: Option<Duration>,
        /// A `Retry-After` that was not a time (cut to 40 characters).
        unreadable: Option<String>,
    },
    #[error("HTTP {status} redirect {}", match .location { Some(l) => format!("to \"{l}\", which is not a valid URL"), None => "without a Location header".into() })]
    BadRedirect { status: u16, location: Option<String> },
    #[error("the server dropped the connection: {0}")]
    Reset(String),
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

fn retry_hint(after: Option<Duration>, unreadable: Option<&str>) -> String {
    match (after, unreadable) {
        (Some(d), _) => format!(" {}", humantime::format_duration(Duration::from_secs(d.as_secs()))),
        (None, Some(raw)) => format!(", but its Retry-After \"{raw}\" is not a time (seconds or an HTTP date)"),
        (None, None) => " (it did not say how long)".into(),
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
    #[error("parsing took longer than {} (the timeout): the document is too complex", humantime::format_duration(*.0))]
    Deadline(Duration),
}

fn discovered_hint(feeds: &[String]) -> String {
    match feeds.first() {
        Some(f) => format!("; the page links to a feed: put {f} in feeds.toml"),
        None => String::new(),
    }
}

/// A failure of the database. SQLite's own error is kept as the source, so
/// what went wrong is decided by its code ([`StoreError::problem`]), never by
/// the words of its message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {message}")]
    Open {
        path: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("{path} is not a syndic database ({what}); it was left untouched")]
    Foreign { path: String, what: String },
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("another syndic command is writing to {path} and did not finish within {}", humantime::format_duration(*.waited))]
    Locked { path: String, waited: Duration },
    #[error("{0}")]
    NotFound(String),
    /// An entry's stored text (`entries.body`) cannot be unpacked.
    #[error("an entry's stored text is damaged: {0}")]
    Body(#[from] crate::store::body::BodyError),
}

/// What kind of database failure a [`StoreError`] is, for hints and exit paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreProblem {
    /// The disk (or quota) is full.
    Full,
    /// Another syndic command holds the sync lock.
    SyncLocked,
    /// Another connection holds SQLite's lock past the busy timeout.
    Busy,
    /// The file is damaged or is not a database at all.
    Corrupt,
    /// The file or its directory cannot be opened or written.
    NotWritable,
    /// Another program's SQLite database.
    Foreign,
    /// Anything else.
    Other,
}

impl From<rusqlite::Error> for StoreError {
    /// SQLite's errors, except a damaged entry body that a row closure
    /// returned as a conversion failure: that is [`StoreError::Body`].
    fn from(e: rusqlite::Error) -> StoreError {
        match e {
            rusqlite::Error::FromSqlConversionFailure(i, t, source) => {
                match source.downcast::<crate::store::body::BodyError>() {
                    Ok(body) => StoreError::Body(*body),
                    Err(source) => StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(i, t, source)),
                }
            }
            e => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// An error opening `path`, keeping `source` as the cause.
    pub fn open(
        path: &std::path::Path,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError::Open { path: path.display().to_string(), message: message.into(), source: Some(source.into()) }
    }

    /// Classifies the failure by SQLite's error code or the I/O error kind.
    pub fn problem(&self) -> StoreProblem {
        use rusqlite::ErrorCode as C;
        match self {
            StoreError::Locked { .. } => return StoreProblem::SyncLocked,
            StoreError::Foreign { .. } => return StoreProblem::Foreign,
            StoreError::NotFound(_) => return StoreProblem::Other,
            StoreError::Body(_) => return StoreProblem::Corrupt,
            _ => {}
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = source {
            if let Some(code) = e.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code) {
                return match code {
                    C::DiskFull => StoreProblem::Full,
                    C::DatabaseBusy | C::DatabaseLocked => StoreProblem::Busy,
                    C::DatabaseCorrupt | C::NotADatabase => StoreProblem::Corrupt,
                    C::ReadOnly | C::CannotOpen | C::PermissionDenied => StoreProblem::NotWritable,
                    _ => StoreProblem::Other,
                };
            }
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return match io.kind() {
                    std::io::ErrorKind::StorageFull => StoreProblem::Full,
                    std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::ReadOnlyFilesystem
                    | std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::NotADirectory => StoreProblem::NotWritable,
                    _ => StoreProblem::Other,
                };
            }
            source = e.source();
        }
        StoreProblem::Other
    }

    /// What the user should do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self.problem() {
            StoreProblem::Full => "free space on the disk holding the database, then try again; what was saved is kept".into(),
            StoreProblem::SyncLocked => {
                "wait for the other syndic command (a sync, prune, dedup, doctor --repair, remove --purge or feeds --fix-redirects) to finish, or raise settings.lock_wait in feeds.toml".into()
            }
            StoreProblem::Busy => "another program is using the database; try again when it is done".into(),
            StoreProblem::Corrupt => {
                "the database file is damaged: run `syndic doctor` to see what is wrong; if `syndic doctor --repair` cannot fix it, move the file away and sync again".into()
            }
            StoreProblem::NotWritable => {
                "check that the database's directory exists and is writable, or pass --db PATH".into()
            }
            StoreProblem::Foreign => {
                "point --db / SYNDIC_DB (or settings.database) at a file of syndic's own, e.g. a new syndic.db".into()
            }
            StoreProblem::Other => return None,
        })
    }
}

/// Everything that can go wrong for one feed during a sync.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("syndic crashed while syncing this feed (a bug: please report it with the feed's URL)")]
    Crashed,
}

impl FeedError {
    /// The HTTP status that went with it, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            FeedError::Fetch(
                FetchError::Status { status }
                | FetchError::RateLimited { status, .. }
                | FetchError::BadRedirect { status, .. },
            ) => Some(*status),
            FeedError::Fetch(FetchError::Gone) => Some(410),
            _ => None,
        }
    }
}
