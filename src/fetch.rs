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
            return fetch_file(&parsed, validators, self.max_body);
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
                let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
                let Some(next) = location.and_then(|l| current.join(l).ok()) else {
                    return Err(FetchError::Status { status: status.as_u16() });
                };
                permanent &= matches!(status.as_u16(), 301 | 308);
                if !visited.insert(next.clone()) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                current = next;
                continue;
            }
            let moved_to = (permanent && hop > 0).then(|| current.to_string());
            let fresh_for = max_age(resp.headers());
            if status == StatusCode::NOT_MODIFIED {
                return Ok(FetchOutcome::NotModified { status: status.as_u16(), moved_to, fresh_for });
            }
            match status.as_u16() {
                410 => return Err(FetchError::Gone),
                429 | 503 => {
                    return Err(FetchError::RateLimited {
                        status: status.as_u16(),
                        retry_after: retry_after(resp.headers(), self.now),
                    })
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
        let chain = error_chain(&e);
        let lower = chain.to_lowercase();
        if lower.contains("dns error") || lower.contains("failed to lookup address") {
            let host = e.url().and_then(|u| u.host_str()).unwrap_or("?").to_owned();
            return FetchError::Dns(host);
        }
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return FetchError::Tls(root_cause(&e));
        }
        if e.is_connect() {
            return FetchError::Connect(root_cause(&e));
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
        FetchError::Connect(_) | FetchError::Status { status: 500 | 502 | 504 } => Some(backoff()),
        FetchError::NoAnswer(_) if attempt == 1 => Some(backoff()),
        FetchError::RateLimited { retry_after: Some(d), .. } if *d <= MAX_INLINE_RETRY_AFTER => Some(*d),
        FetchError::RateLimited { status: 503, retry_after: None } => Some(backoff()),
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

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
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
    let etag = format!("file:{mtime}:{}", meta.len());
    if validators.etag.as_deref() == Some(etag.as_str()) {
        return Ok(FetchOutcome::NotModified { status: 304, moved_to: None, fresh_for: None });
    }
    if meta.len() > max_body {
        return Err(FetchError::TooLarge(max_body));
    }
    let body = std::fs::read(&path).map_err(|e| FetchError::File(format!("{}: {e}", path.display())))?;
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
        validators: Validators { etag: Some(etag), last_modified: None },
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
        assert!(retry_wait(&FetchError::Status { status: 502 }, 2).is_some());
        assert!(retry_wait(&FetchError::NoAnswer(Duration::from_secs(1)), 1).is_some());
        assert!(retry_wait(&FetchError::NoAnswer(Duration::from_secs(1)), 2).is_none());
        assert!(retry_wait(&FetchError::Timeout(Duration::from_secs(1)), 1).is_none());
        assert!(retry_wait(&FetchError::Status { status: 404 }, 1).is_none());
        assert!(retry_wait(&FetchError::Gone, 1).is_none());
        let long = FetchError::RateLimited { status: 429, retry_after: Some(Duration::from_secs(60)) };
        assert!(retry_wait(&long, 1).is_none());
        let short = FetchError::RateLimited { status: 429, retry_after: Some(Duration::from_secs(2)) };
        assert_eq!(retry_wait(&short, 1), Some(Duration::from_secs(2)));
        let backoff = retry_wait(&FetchError::Status { status: 500 }, 2).unwrap();
        assert!(backoff >= Duration::from_millis(1000) && backoff < Duration::from_millis(1500), "{backoff:?}");
    }
}
