//! Fetching feed documents politely: conditional GET, a total deadline per
//! request, a cap on the (decoded) body, a limit of requests per host,
//! retries with backoff for transient failures, `Retry-After`, redirects
//! followed by hand (so that a permanent move is known and a loop caught),
//! and `file://` feeds that behave like HTTP ones.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::Settings;
use crate::error::FetchError;

/// The `User-Agent` syndic sends.
pub const USER_AGENT: &str = concat!("syndic/", env!("CARGO_PKG_VERSION"), " (feed aggregator)");

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// Attempts per fetch for transient failures (connection refused or reset,
/// HTTP 500/502/503/504). A server that gave no answer within the timeout
/// gets one more try; one that answered too slowly gets none (the total
/// deadline is the limit, or a trickling server would hold the run).
const MAX_ATTEMPTS: u32 = 3;

/// First wait before a retry; doubled each time, plus up to half as much jitter.
const RETRY_BASE: Duration = Duration::from_millis(500);

/// A `Retry-After` up to this long is waited for within the run; a longer
/// one makes the feed wait until a later run.
const MAX_INLINE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// What the store remembers from the last successful fetch.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A document that was fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// Where permanent redirects (301/308 all the way) led.
    pub moved_to: Option<String>,
    /// How long the answer stays fresh (`Cache-Control: max-age`).
    pub fresh_for: Option<Duration>,
}

/// The result of a fetch that did not fail.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// The server (or file) says nothing changed since the validators.
    NotModified {
        status: u16,
        moved_to: Option<String>,
        fresh_for: Option<Duration>,
    },
    Fetched(Fetched),
}

/// An HTTP client shared by all feeds of one run.
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body: u64,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// The time of the run: a `Retry-After` date is measured from it.
    now: chrono::DateTime<chrono::Utc>,
    /// The run's `concurrency`: feeds fetched (and parsed) at once.
    slots: Arc<Semaphore>,
}

/// Leave to fetch one feed: its host's permit and one of the run's slots.
/// Held through fetching and parsing, so it also caps the parsed feeds in
/// memory; dropped when the feed is written.
pub struct Slot {
    _host: Option<OwnedSemaphorePermit>,
    _global: OwnedSemaphorePermit,
}

impl Fetcher {
    /// A fetcher with the limits of `settings`.
    pub fn new(settings: &Settings) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // Redirects are followed in fetch_http, to see permanent moves and loops.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(15)))
            // Our own resolver, so that a failed lookup is known by its type.
            .dns_resolver(Arc::new(SystemResolver))
            .build()
            .map_err(|e| FetchError::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            timeout: settings.timeout,
            max_body: settings.max_body,
            per_host: settings.per_host,
            hosts: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            now: chrono::Utc::now(),
        })
    }

    /// The same fetcher measuring `Retry-After` dates from `now`, the time
    /// of the run (which tests pin), instead of the wall clock.
    pub fn at(mut self, now: chrono::DateTime<chrono::Utc>) -> Fetcher {
        self.now = now;
        self
    }

    /// Waits for leave to fetch `url`: first its host's permit, then a slot
    /// of the run. In that order, a feed waiting for a busy host holds no
    /// slot that a feed of an idle host could use (issue 11: 16 feeds on 4
    /// hosts, 7.0 s listed host by host, 4.0 s interleaved). Local files
    /// need no host permit.
    pub async fn slot(&self, url: &str) -> Slot {
        let host = Url::parse(url).ok().filter(|u| u.scheme() != "file").map(|u| {
            let host = u.host_str().unwrap_or_default().to_owned();
            let mut hosts = self.hosts.lock().expect("host map lock is never poisoned");
            hosts.entry(host).or_insert_with(|| Arc::new(Semaphore::new(self.per_host.max(1)))).clone()
        });
        let host = match host {
            Some(h) => Some(h.acquire_owned().await.expect("semaphore is never closed")),
            None => None,
        };
        let global = Arc::clone(&self.slots).acquire_owned().await.expect("semaphore is never closed");
        Slot { _host: host, _global: global }
    }

    /// Fetches `url` unless it is unchanged since `validators`, once given
    /// leave ([`Fetcher::slot`]).
    pub async fn fetch(&self, url: &str, validators: &Validators) -> Result<FetchOutcome, FetchError> {
        let slot = self.slot(url).await;
        self.fetch_in_slot(url, validators, &slot).await
    }

    /// Fetches `url` with the leave `_slot` already taken.
    pub async fn fetch_in_slot(
        &self,
        url: &str,
        validators: &Validators,
        _slot: &Slot,
    ) -> Result<FetchOutcome, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::Other(format!("invalid URL: {e}")))?;
        if parsed.scheme() == "file" {
            // Local files get the same limits: at most max_body bytes (the
            // size a file reports proves nothing: /dev/zero says 0) and the
            // timeout (opening a FIFO waits for a writer). A read past the
            // deadline is left to finish on its own thread.
            let (validators, max_body) = (validators.clone(), self.max_body);
            let read = tokio::task::spawn_blocking(move || fetch_file(&parsed, &validators, max_body));
            return match tokio::time::timeout(self.timeout, read).await {
                Err(_) => Err(FetchError::Timeout(self.timeout)),
                Ok(Err(_)) => Err(FetchError::File("reading the file crashed".into())),
                Ok(Ok(result)) => result,
            };
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            // One deadline for the whole attempt, body included, so a server
            // trickling one byte a second cannot hold us.
            let deadline = tokio::time::Instant::now() + self.timeout;
            let result = self.fetch_http(url, validators, deadline).await;
            if let Err(e) = &result {
                if attempt < MAX_ATTEMPTS {
                    if let Some(wait) = retry_wait(e, attempt) {
                        tracing::debug!(feed_url = url, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
            }
            return result;
        }
    }

    async fn fetch_http(
        &self,
        url: &str,
        validators: &Validators,
        deadline: tokio::time::Instant,
    ) -> Result<FetchOutcome, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, \
                 application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
            ),
        );
        if let Some(v) = validators.etag.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        if let Some(v) = validators.last_modified.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(header::IF_MODIFIED_SINCE, v);
        }
        let mut current = Url::parse(url).map_err(|e| FetchError::Other(format!("invalid URL: {e}")))?;
        let mut visited = HashSet::from([current.clone()]);
        let mut permanent = true;
        for hop in 0..=MAX_REDIRECTS {
            // A server that does not start answering within the deadline is
            // worth another try; one that answers too slowly (below) is not.
            let send = self.client.get(current.clone()).headers(headers.clone()).send();
            let mut resp = match tokio::time::timeout_at(deadline, send).await {
                Err(_) => return Err(FetchError::NoAnswer(self.timeout)),
                Ok(Err(e)) if e.is_timeout() => return Err(FetchError::NoAnswer(self.timeout)),
                Ok(Err(e)) => return Err(self.classify(e)),
                Ok(Ok(resp)) => resp,
            };
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                // Raw UTF-8 in Location is common enough: read it as UTF-8
                // (the URL parser percent-encodes it), not only as ASCII.
                let Some(raw) = resp.headers().get(header::LOCATION) else {
                    return Err(FetchError::BadRedirect { status: status.as_u16(), location: None });
                };
                let location = String::from_utf8_lossy(raw.as_bytes()).trim().to_owned();
                let Ok(next) = current.join(&location) else {
                    return Err(FetchError::BadRedirect { status: status.as_u16(), location: Some(location) });
                };
                permanent &= matches!(status.as_u16(), 301 | 308);
                if !visited.insert(next.clone()) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                current = next;
                continue;
            }
            // Without its #fragment, as feeds.toml URLs are read: a fragment
            // never reaches the server, and a Location may carry one.
            let moved_to = (permanent && hop > 0).then(|| {
                let mut to = current.clone();
                to.set_fragment(None);
                to.to_string()
            });
            let fresh_for = max_age(resp.headers());
            if status == StatusCode::NOT_MODIFIED {
                return Ok(FetchOutcome::NotModified { status: status.as_u16(), moved_to, fresh_for });
            }
            match status.as_u16() {
                410 => return Err(FetchError::Gone),
                429 | 503 => {
                    let retry_after = retry_after(resp.headers(), self.now);
                    // Kept to say what was wrong with it, if it was not a time.
                    let unreadable = resp
                        .headers()
                        .get(header::RETRY_AFTER)
                        .filter(|_| retry_after.is_none())
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).chars().take(40).collect());
                    return Err(FetchError::RateLimited { status: status.as_u16(), retry_after, unreadable });
                }
                _ if !status.is_success() => return Err(FetchError::Status { status: status.as_u16() }),
                _ => {}
            }
            let header_str =
                |name: header::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let new_validators =
                Validators { etag: header_str(header::ETAG), last_modified: header_str(header::LAST_MODIFIED) };
            let content_type = header_str(header::CONTENT_TYPE);
            // Content-Length is the compressed size; the decoded size is checked while reading.
            if resp.content_length().is_some_and(|n| n > self.max_body) {
                return Err(FetchError::TooLarge(self.max_body));
            }
            let mut body = Vec::new();
            loop {
                let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
                    Err(_) => return Err(FetchError::Timeout(self.timeout)),
                    Ok(chunk) => chunk.map_err(|e| self.classify(e))?,
                };
                let Some(chunk) = chunk else { break };
                if body.len() as u64 + chunk.len() as u64 > self.max_body {
                    return Err(FetchError::TooLarge(self.max_body));
                }
                body.extend_from_slice(&chunk);
            }
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err(FetchError::Empty);
            }
            return Ok(FetchOutcome::Fetched(Fetched {
                status: status.as_u16(),
                body,
                content_type,
                validators: new_validators,
                moved_to,
                fresh_for,
            }));
        }
        Err(FetchError::Redirects)
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        if e.is_redirect() {
            return FetchError::Redirects;
        }
        if let Some(dns) = find_source::<DnsFailure>(&e) {
            return FetchError::Dns(dns.host.clone());
        }
        if let Some(tls) = find_source::<rustls::Error>(&e) {
            return FetchError::Tls(tls.to_string());
        }
        // Connected over TCP (else the kind would be "refused" or the
        // like), then the peer hung up or spoke nonsense during the TLS
        // handshake: often a plain-HTTP server on an https:// URL.
        let https = e.url().is_some_and(|u| u.scheme() == "https");
        if https
            && e.is_connect()
            && matches!(io_kind(&e), Some(std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData))
        {
            return FetchError::Tls(root_cause(&e));
        }
        if e.is_connect() {
            return FetchError::Connect(root_cause(&e));
        }
        // A connection the server reset or dropped mid-answer: decided by the
        // I/O error's kind, anywhere in the chain.
        if io_kind(&e).is_some_and(|k| {
            matches!(
                k,
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        }) {
            return FetchError::Reset(root_cause(&e));
        }
        FetchError::Other(root_cause(&e))
    }
}

/// How long to wait before trying a failed fetch again within this run, if
/// the failure is worth another try.
fn retry_wait(e: &FetchError, attempt: u32) -> Option<Duration> {
    let backoff = || {
        let base = RETRY_BASE * 2u32.pow(attempt.saturating_sub(1));
        base + jitter(base / 2)
    };
    match e {
        FetchError::Connect(_) | FetchError::Reset(_) | FetchError::Status { status: 500 | 502 | 504 } => {
            Some(backoff())
        }
        FetchError::NoAnswer(_) if attempt == 1 => Some(backoff()),
        FetchError::RateLimited { retry_after: Some(d), .. } if *d <= MAX_INLINE_RETRY_AFTER => Some(*d),
        FetchError::RateLimited { status: 503, retry_after: None, .. } => Some(backoff()),
        _ => None,
    }
}

/// A pseudo-random duration below `max`, so that feeds failing together do
/// not retry together.
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let r = xxhash_rust::xxh3::xxh3_64(&nanos.to_le_bytes());
    Duration::from_nanos(r % (max.as_nanos().max(1) as u64))
}

/// `Retry-After` in seconds or as an HTTP date, which is measured from
/// `now` (the run's clock, so a pinned clock gives a pinned wait).
fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

/// `Cache-Control: max-age` (none with `no-cache` or `no-store`).
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let cc = headers.get(header::CACHE_CONTROL)?.to_str().ok()?.to_ascii_lowercase();
    if cc.contains("no-cache") || cc.contains("no-store") {
        return None;
    }
    cc.split(',').find_map(|d| d.trim().strip_prefix("max-age=")?.trim().parse().ok()).map(Duration::from_secs)
}

/// A host name that did not resolve (the system resolver's answer kept as the source).
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve host {host}")]
struct DnsFailure {
    host: String,
    #[source]
    source: std::io::Error,
}

/// Name resolution by the system (getaddrinfo, as reqwest's default), but
/// failing with a [`DnsFailure`], so that a DNS failure is recognised by its
/// type and not by the words of a message.
struct SystemResolver;

impl reqwest::dns::Resolve for SystemResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await.map(|a| a.collect::<Vec<_>>());
            match found {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(source) => Err(Box::new(DnsFailure { host, source }) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

/// The first error of type `T` in `e`'s chain of sources, looking inside
/// I/O errors too (an `io::Error`'s `source()` skips the error it wraps).
fn find_source<'a, T: std::error::Error + 'static>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(t) = s.downcast_ref::<T>() {
            return Some(t);
        }
        let inner = s.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if let Some(t) = inner.and_then(|i| find_source::<T>(i)) {
            return Some(t);
        }
        source = s.source();
    }
    None
}

/// The kind of the first I/O error in `e`'s chain of sources, looking
/// through I/O errors that only wrap another (hyper wraps the socket's
/// `ConnectionReset` in an `Other`).
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut io = find_source::<std::io::Error>(e)?;
    while let Some(inner) = io.get_ref().and_then(|i| i.downcast_ref::<std::io::Error>()) {
        io = inner;
    }
    Some(io.kind())
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// A local feed file: its modification time and size act as its ETag.
fn fetch_file(url: &Url, validators: &Validators, max_body: u64) -> Result<FetchOutcome, FetchError> {
    let path = url.to_file_path().map_err(|()| FetchError::File(format!("{url} is not a local path")))?;
    let meta = std::fs::metadata(&path).map_err(|e| FetchError::File(format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        return Err(FetchError::File(format!("{} is a directory", path.display())));
    }
    let mtime =
        meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    // A FIFO or device has no meaningful date and size: it is always read.
    let etag = meta.is_file().then(|| format!("file:{mtime}:{}", meta.len()));
    if etag.is_some() && validators.etag == etag {
        return Ok(FetchOutcome::NotModified { status: 304, moved_to: None, fresh_for: None });
    }
    if meta.len() > max_body {
        return Err(FetchError::TooLarge(max_body));
    }
    let mut body = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, max_body.saturating_add(1)), &mut body))
        .map_err(|e| FetchError::File(format!("{}: {e}", path.display())))?;
    if body.len() as u64 > max_body {
        return Err(FetchError::TooLarge(max_body));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(FetchError::Empty);
    }
    Ok(FetchOutcome::Fetched(Fetched {
        status: 200,
        body,
        content_type: None,
        validators: Validators { etag, last_modified: None },
        moved_to: None,
        fresh_for: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // See issue 11, "The concurrency limits": a feed waiting for a busy
    // host must not hold one of the run's slots.
    #[tokio::test]
    async fn a_feed_waiting_for_its_host_holds_no_slot() {
        let settings = Settings { concurrency: 2, per_host: 1, ..Settings::default() };
        let fetcher = Arc::new(Fetcher::new(&settings).unwrap());
        let busy = fetcher.slot("http://a.example/1").await;
        let waiting = {
            let fetcher = Arc::clone(&fetcher);
            tokio::spawn(async move { fetcher.slot("http://a.example/2").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a.example allows one request at a time");
        let other = tokio::time::timeout(Duration::from_secs(5), fetcher.slot("http://b.example/1")).await;
        assert!(other.is_ok(), "b.example must get the free slot");
        drop((busy, other));
        tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
        // Local files wait only for a slot.
        let _files = (fetcher.slot("file:///a").await, fetcher.slot("file:///b").await);
    }

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let at = |v: &str| retry_after(&headers(header::RETRY_AFTER, v), now);
        assert_eq!(at("120"), Some(Duration::from_secs(120)));
        // Dates are measured from the run's clock, not the wall clock.
        assert_eq!(at("Sun, 29 Nov 2026 13:00:00 GMT"), Some(Duration::from_secs(3600)));
        assert_eq!(at("Sun, 29 Nov 2026 11:00:00 GMT"), None, "in the past");
        assert_eq!(at("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn max_age_is_read_unless_caching_is_forbidden() {
        assert_eq!(max_age(&headers(header::CACHE_CONTROL, "public, max-age=600")), Some(Duration::from_secs(600)));
        assert_eq!(max_age(&headers(header::CACHE_CONTROL, "no-cache, max-age=600")), None);
        assert_eq!(max_age(&headers(header::CACHE_CONTROL, "private")), None);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(retry_wait(&FetchError::Connect("refused".into()), 1).is_some());
        // See: issue 9: the README promised it, the code did not.
        assert!(retry_wait(&FetchError::Reset("connection reset by peer".into()), 1).is_some());
        assert!(retry_wait(&FetchError::Status { status: 502 }, 2).is_some());
        assert!(retry_wait(&FetchError::NoAnswer(Duration::from_secs(1)), 1).is_some());
        assert!(retry_wait(&FetchError::NoAnswer(Duration::from_secs(1)), 2).is_none());
        assert!(retry_wait(&FetchError::Timeout(Duration::from_secs(1)), 1).is_none());
        assert!(retry_wait(&FetchError::Status { status: 404 }, 1).is_none());
        assert!(retry_wait(&FetchError::Gone, 1).is_none());
        let long =
            FetchError::RateLimited { status: 429, retry_after: Some(Duration::from_secs(60)), unreadable: None };
        assert!(retry_wait(&long, 1).is_none());
        let short =
            FetchError::RateLimited { status: 429, retry_after: Some(Duration::from_secs(2)), unreadable: None };
        assert_eq!(retry_wait(&short, 1), Some(Duration::from_secs(2)));
        let backoff = retry_wait(&FetchError::Status { status: 500 }, 2).unwrap();
        assert!(backoff >= Duration::from_millis(1000) && backoff < Duration::from_millis(1500), "{backoff:?}");
    }
}
