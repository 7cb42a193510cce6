//! The sync pipeline: fetch → not modified? → parse → tag → store, for every
//! feed concurrently; one feed failing never stops the others.
//!
//! Fetching and parsing run in tokio tasks (at most `concurrency` at once,
//! `per_host` per host); the results are written by this task, one feed per
//! transaction, as they arrive.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::{Config, FeedConfig};
use crate::error::{FeedError, FetchError, StoreError};
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::model::ParsedFeed;
use crate::parse;
use crate::store::{Failure, FeedRow, FetchState, Store, TaggedEntry};
use crate::topics::Topics;

/// What one feed's sync came to.
#[derive(Debug, Clone)]
pub enum FeedResult {
    /// Fetched, parsed and saved.
    Saved { new: usize, copies: usize, updated: usize },
    /// The server or file said nothing changed.
    Unchanged,
    /// Fetching or parsing failed; the reason is plain text for the user.
    Failed { reason: String },
    /// Not due yet (Retry-After, backoff, max-age, ttl) or gone: not fetched.
    Skipped { until: Option<DateTime<Utc>>, gone: bool },
}

/// One feed's outcome, for the report.
#[derive(Debug, Clone)]
pub struct FeedOutcome {
    pub name: String,
    pub url: String,
    pub result: FeedResult,
    /// A permanent redirect moved the feed here: feeds.toml should say so.
    pub moved_to: Option<String>,
}

/// What a whole sync did.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    pub outcomes: Vec<FeedOutcome>,
    pub elapsed: Duration,
    /// Entries whose topics were recomputed because feeds.toml's topics changed.
    pub retagged: usize,
}

impl SyncReport {
    fn sum(&self, f: impl Fn(&FeedResult) -> usize) -> usize {
        self.outcomes.iter().map(|o| f(&o.result)).sum()
    }
    /// New entries that are originals.
    pub fn new_entries(&self) -> usize {
        self.sum(|r| if let FeedResult::Saved { new, .. } = r { *new } else { 0 })
    }
    /// New entries stored as copies.
    pub fn copies(&self) -> usize {
        self.sum(|r| if let FeedResult::Saved { copies, .. } = r { *copies } else { 0 })
    }
    /// Entries updated in place.
    pub fn updated(&self) -> usize {
        self.sum(|r| if let FeedResult::Saved { updated, .. } = r { *updated } else { 0 })
    }
    /// Feeds that had not changed.
    pub fn unchanged(&self) -> usize {
        self.sum(|r| usize::from(matches!(r, FeedResult::Unchanged)))
    }
    /// Feeds not fetched because they are not due or gone.
    pub fn skipped(&self) -> usize {
        self.sum(|r| usize::from(matches!(r, FeedResult::Skipped { .. })))
    }
    /// The feeds that failed.
    pub fn failures(&self) -> impl Iterator<Item = &FeedOutcome> {
        self.outcomes.iter().filter(|o| matches!(o.result, FeedResult::Failed { .. }))
    }
}

/// Which feeds to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only the feeds with these names or URLs (all when empty).
    pub only: Vec<String>,
    /// Fetch even feeds that are not due (Retry-After, backoff, max-age) or gone.
    pub force: bool,
}

/// Consecutive failures after which a feed is tried less often...
pub const BACKOFF_AFTER_FAILURES: u32 = 3;
/// ...first waiting this long, doubling with each further failure...
pub const BACKOFF_BASE: Duration = Duration::from_secs(30 * 60);
/// ...up to a day.
pub const BACKOFF_MAX: Duration = Duration::from_secs(24 * 3600);
/// A server's freshness hint (max-age, ttl) is honoured up to a day.
pub const MAX_FRESHNESS: Duration = Duration::from_secs(24 * 3600);
/// A Retry-After is honoured up to a week.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// When a feed that failed `failures` times in a row may be tried again.
pub fn backoff_until(failures: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failures < BACKOFF_AFTER_FAILURES {
        return None;
    }
    let doublings = (failures - BACKOFF_AFTER_FAILURES).min(16);
    let wait = BACKOFF_BASE.saturating_mul(2u32.pow(doublings)).min(BACKOFF_MAX);
    Some(now + chrono::Duration::from_std(wait).expect("a day fits"))
}

/// Errors that stop the whole sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no feed is named or has the URL \"{wanted}\"; known feeds: {known}")]
    UnknownFeed { wanted: String, known: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Client(#[from] FetchError),
}

/// Selects the configured feeds named by `only` (by name, case-insensitively,
/// or by URL); all feeds when `only` is empty.
pub fn select_feeds<'a>(config: &'a Config, only: &[String]) -> Result<Vec<&'a FeedConfig>, SyncError> {
    if only.is_empty() {
        return Ok(config.feeds.iter().collect());
    }
    let mut selected: Vec<&FeedConfig> = Vec::new();
    for wanted in only {
        let found = config.feeds.iter().find(|f| {
            f.url == *wanted
                || f.url.trim_end_matches('/') == wanted.trim_end_matches('/')
                || f.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        });
        match found {
            Some(f) if !selected.iter().any(|s| s.url == f.url) => selected.push(f),
            Some(_) => {}
            None => {
                let known = config
                    .feeds
                    .iter()
                    .map(|f| f.name.clone().unwrap_or_else(|| f.url.clone()))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(SyncError::UnknownFeed { wanted: wanted.clone(), known });
            }
        }
    }
    Ok(selected)
}

/// A fingerprint of everything that decides topics: the rules and which
/// feed carries which topics. When it changes, stored entries are re-tagged.
pub fn topics_fingerprint(config: &Config) -> String {
    let mut s = String::new();
    for t in &config.topics {
        s.push_str(&format!("topic {:?} {:?}\n", t.name, t.keywords));
    }
    for f in &config.feeds {
        s.push_str(&format!("feed {:?} {:?}\n", f.url, f.topics));
    }
    format!("{:016x}", xxh3_64(s.as_bytes()))
}

/// Re-tags every stored entry if the topic rules changed since the last run.
pub fn retag_if_changed(config: &Config, topics: &Topics, store: &mut Store) -> Result<usize, StoreError> {
    let fingerprint = topics_fingerprint(config);
    if store.meta("topics_fingerprint")?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(0);
    }
    store.retag_all(&fingerprint, |feed_url, texts| {
        let feed_topics = config.feeds.iter().find(|f| f.url == feed_url).map_or(&[][..], |f| &f.topics[..]);
        topics.tag(feed_topics, texts)
    })
}

/// Syncs the selected feeds of `config` into `store`. `on_progress` is
/// called after each feed with its name. `now` is the time of the run.
pub async fn run(
    config: &Config,
    store: &mut Store,
    options: &SyncOptions,
    now: DateTime<Utc>,
    mut on_progress: impl FnMut(&FeedOutcome),
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let selected = select_feeds(config, &options.only)?;
    let all: Vec<(String, Option<String>)> = config.feeds.iter().map(|f| (f.url.clone(), f.name.clone())).collect();
    let rows = store.upsert_feeds(&all)?;
    let topics = Topics::new(&config.topics);
    let retagged = retag_if_changed(config, &topics, store)?;
    store.set_dedup_settings(config.dedup_settings());
    if store.ensure_dedup_current()? {
        tracing::info!("copy detection changed: stories rebuilt");
    }

    let fetcher = Arc::new(Fetcher::new(&config.settings)?);
    let limit = Arc::new(Semaphore::new(config.settings.concurrency));
    let mut tasks = JoinSet::new();
    let mut report = SyncReport { retagged, ..SyncReport::default() };
    for feed in &selected {
        let row = rows.iter().find(|r| r.url == feed.url).expect("every configured feed has a row").clone();
        let not_due = row.next_attempt.filter(|t| *t > now);
        if !options.force && (row.gone || not_due.is_some()) {
            let outcome = FeedOutcome {
                name: row.display_name().to_owned(),
                url: row.url.clone(),
                result: FeedResult::Skipped { until: not_due, gone: row.gone },
                moved_to: None,
            };
            on_progress(&outcome);
            report.outcomes.push(outcome);
            continue;
        }
        let fetcher = Arc::clone(&fetcher);
        let limit = Arc::clone(&limit);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore is never closed");
            let result = fetch_and_parse(&fetcher, &row, now).await;
            (row, result)
        });
    }

    while let Some(joined) = tasks.join_next().await {
        let (row, result) = match joined {
            Ok(done) => done,
            // A panic in one feed's task is that feed's problem, but we no
            // longer know which feed it was: it is logged and the run goes on.
            Err(e) => {
                tracing::error!(error = %e, "a feed task failed");
                continue;
            }
        };
        let feed_cfg = selected.iter().find(|f| f.url == row.url).expect("task rows come from the selection");
        let outcome = record(store, &topics, feed_cfg, &row, result, now)?;
        on_progress(&outcome);
        report.outcomes.push(outcome);
    }
    // [filters]: decide which new entries are hidden (all of them if the rules changed).
    crate::filters::apply(config, store)?;
    // Report in the order of feeds.toml, not of completion.
    report.outcomes.sort_by_key(|o| selected.iter().position(|f| f.url == o.url));
    report.elapsed = started.elapsed();
    tracing::info!(
        feeds = report.outcomes.len(),
        new = report.new_entries(),
        copies = report.copies(),
        failed = report.failures().count(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        "sync finished"
    );
    Ok(report)
}

enum Fetched {
    NotModified {
        status: u16,
        moved_to: Option<String>,
        fresh_for: Option<Duration>,
    },
    Parsed {
        status: u16,
        validators: Validators,
        feed: ParsedFeed,
        moved_to: Option<String>,
        fresh_for: Option<Duration>,
    },
}

async fn fetch_and_parse(fetcher: &Fetcher, row: &FeedRow, now: DateTime<Utc>) -> Result<Fetched, FeedError> {
    let validators = Validators { etag: row.etag.clone(), last_modified: row.last_modified.clone() };
    // A feed a permanent redirect moved is fetched where it now is.
    let url = row.moved_to.clone().unwrap_or_else(|| row.url.clone());
    match fetcher.fetch(&url, &validators).await? {
        FetchOutcome::NotModified { status, moved_to, fresh_for } => {
            Ok(Fetched::NotModified { status, moved_to, fresh_for })
        }
        FetchOutcome::Fetched(doc) => {
            let (status, validators, content_type) = (doc.status, doc.validators, doc.content_type);
            let (moved_to, fresh_for) = (doc.moved_to, doc.fresh_for);
            let body = doc.body;
            let feed =
                tokio::task::spawn_blocking(move || parse::parse_feed(&body, &url, content_type.as_deref(), now))
                    .await
                    .map_err(|_| crate::error::ParseError::Panicked)??;
            Ok(Fetched::Parsed { status, validators, feed, moved_to, fresh_for })
        }
    }
}

fn record(
    store: &mut Store,
    topics: &Topics,
    feed: &FeedConfig,
    row: &FeedRow,
    result: Result<Fetched, FeedError>,
    now: DateTime<Utc>,
) -> Result<FeedOutcome, StoreError> {
    let mut outcome = FeedOutcome {
        name: row.display_name().to_owned(),
        url: row.url.clone(),
        result: FeedResult::Unchanged,
        moved_to: None,
    };
    let fresh_until = |fresh_for: Option<Duration>, ttl_minutes: Option<u32>| {
        let ttl = ttl_minutes.map(|m| Duration::from_secs(u64::from(m) * 60));
        let fresh = fresh_for.into_iter().chain(ttl).max().filter(|d| !d.is_zero())?;
        Some(now + chrono::Duration::from_std(fresh.min(MAX_FRESHNESS)).expect("a day fits"))
    };
    match result {
        Ok(Fetched::NotModified { status, moved_to, fresh_for }) => {
            tracing::debug!(feed_url = %row.url, status, "feed not modified");
            outcome.moved_to = moved_to.clone();
            let state = FetchState {
                http_status: Some(status),
                next_attempt: fresh_until(fresh_for, None),
                moved_to,
                ..FetchState::default()
            };
            store.record_not_modified(row.id, &state, now)?;
        }
        Ok(Fetched::Parsed { status, validators, feed: parsed, moved_to, fresh_for }) => {
            let tagged: Vec<TaggedEntry> = parsed
                .entries
                .into_iter()
                .filter(|e| !e.is_empty())
                .map(|entry| {
                    let texts = [
                        entry.title.as_str(),
                        entry.summary_text.as_deref().unwrap_or(""),
                        entry.content_text.as_deref().unwrap_or(""),
                    ];
                    let topics = topics.tag(&feed.topics, &texts);
                    TaggedEntry { entry, topics }
                })
                .collect();
            outcome.moved_to = moved_to.clone();
            let state = FetchState {
                http_status: Some(status),
                etag: validators.etag,
                last_modified: validators.last_modified,
                title: parsed.meta.title.clone(),
                site_url: parsed.meta.site_url,
                next_attempt: fresh_until(fresh_for, parsed.meta.ttl_minutes),
                moved_to,
                feed_updated: parsed.meta.updated,
            };
            let saved = store.save_feed(row.id, &state, &tagged, now)?;
            if row.name.is_none() {
                if let Some(title) = parsed.meta.title {
                    outcome.name = title;
                }
            }
            tracing::debug!(feed_url = %row.url, entries_new = saved.new, copies = saved.copies, "feed saved");
            outcome.result = FeedResult::Saved { new: saved.new, copies: saved.copies, updated: saved.updated };
        }
        Err(e) => {
            let reason = e.to_string();
            tracing::warn!(feed_url = %row.url, error = %reason, "feed failed");
            let retry_after = match &e {
                FeedError::Fetch(FetchError::RateLimited { retry_after: Some(d), .. }) => {
                    Some(now + chrono::Duration::from_std((*d).min(MAX_RETRY_AFTER)).expect("a week fits"))
                }
                _ => None,
            };
            let failure = Failure {
                http_status: e.status(),
                error: reason.clone(),
                next_attempt: retry_after,
                gone: matches!(e, FeedError::Fetch(FetchError::Gone)),
                discovered: match &e {
                    FeedError::Parse(crate::error::ParseError::HtmlPage(found)) => found.first().cloned(),
                    _ => None,
                },
            };
            let failures = store.record_failure(row.id, &failure, now)?;
            // Failing again and again: try less often, unless the server said when.
            if retry_after.is_none() {
                if let Some(until) = backoff_until(failures, now) {
                    store.set_next_attempt(row.id, Some(until))?;
                }
            }
            outcome.result = FeedResult::Failed { reason };
        }
    }
    Ok(outcome)
}
