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
use crate::store::{FeedRow, FetchState, Store, TaggedEntry};
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
}

/// One feed's outcome, for the report.
#[derive(Debug, Clone)]
pub struct FeedOutcome {
    pub name: String,
    pub url: String,
    pub result: FeedResult,
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
    for feed in &selected {
        let row = rows.iter().find(|r| r.url == feed.url).expect("every configured feed has a row").clone();
        let fetcher = Arc::clone(&fetcher);
        let limit = Arc::clone(&limit);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore is never closed");
            let result = fetch_and_parse(&fetcher, &row, now).await;
            (row, result)
        });
    }

    let mut report = SyncReport { retagged, ..SyncReport::default() };
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
    NotModified { status: u16 },
    Parsed { status: u16, validators: Validators, feed: ParsedFeed },
}

async fn fetch_and_parse(fetcher: &Fetcher, row: &FeedRow, now: DateTime<Utc>) -> Result<Fetched, FeedError> {
    let validators = Validators { etag: row.etag.clone(), last_modified: row.last_modified.clone() };
    match fetcher.fetch(&row.url, &validators).await? {
        FetchOutcome::NotModified { status } => Ok(Fetched::NotModified { status }),
        FetchOutcome::Fetched(doc) => {
            let url = row.url.clone();
            let (status, validators, content_type) = (doc.status, doc.validators, doc.content_type);
            let body = doc.body;
            let feed =
                tokio::task::spawn_blocking(move || parse::parse_feed(&body, &url, content_type.as_deref(), now))
                    .await
                    .map_err(|_| crate::error::ParseError::Panicked)??;
            Ok(Fetched::Parsed { status, validators, feed })
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
    let mut outcome =
        FeedOutcome { name: row.display_name().to_owned(), url: row.url.clone(), result: FeedResult::Unchanged };
    match result {
        Ok(Fetched::NotModified { status }) => {
            tracing::debug!(feed_url = %row.url, status, "feed not modified");
            store.record_not_modified(row.id, status, now)?;
        }
        Ok(Fetched::Parsed { status, validators, feed: parsed }) => {
            let tagged: Vec<TaggedEntry> = parsed
                .entries
                .into_iter()
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
            let state = FetchState {
                http_status: Some(status),
                etag: validators.etag,
                last_modified: validators.last_modified,
                title: parsed.meta.title.clone(),
                site_url: parsed.meta.site_url,
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
            store.record_failure(row.id, e.status(), &reason, now)?;
            outcome.result = FeedResult::Failed { reason };
        }
    }
    Ok(outcome)
}
