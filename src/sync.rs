//! The sync pipeline: fetch → not modified? → parse → tag → store, for every
//! feed concurrently; one feed failing never stops the others.
//!
//! Fetching, parsing and topic tagging run in tokio tasks (at most
//! `concurrency` feeds at once, `per_host` per host; a feed keeps its slot
//! until it is written, which also caps the parsed feeds held in memory).
//! This task is the single writer: it writes each feed as it arrives, whole
//! (its entries and its state together), and groups the feeds that arrive
//! within [`BATCH_TIME`] or [`BATCH_ENTRIES`] entries into one transaction.

pub mod order;
pub mod pool;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::{Config, FeedConfig};
use crate::dedup::{self, Comparison};
use crate::error::{FeedError, FetchError, StoreError};
use crate::fetch::{FetchOutcome, Fetcher, Slot, Validators};
use crate::lookup::FeedKey;
use crate::model::{EntryKey, FeedId, FeedMeta, NewEntry};
use crate::parse;
use crate::store::{body, Failure, FeedRow, FetchState, KnownEntries, Samples, Store, TaggedEntry};
use crate::topics::Topics;
use order::InOrder;

/// What one feed's sync came to.
#[derive(Debug, Clone)]
pub enum FeedResult {
    /// Fetched, parsed and saved.
    Saved { new: usize, copies: usize, updated: usize },
    /// The server or file said nothing changed.
    Unchanged,
    /// Fetching or parsing failed; the reason is plain text for the user.
    /// `unresolved`: the feed's host name did not resolve (DNS).
    Failed { reason: String, unresolved: bool },
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
    /// The entries this sync stored, as they stand at its end: originals and
    /// copies. A copy that arrived before its original counts as a copy,
    /// whichever feed finished first.
    pub stored: Option<(usize, usize)>,
}

impl SyncReport {
    fn sum(&self, f: impl Fn(&FeedResult) -> usize) -> usize {
        self.outcomes.iter().map(|o| f(&o.result)).sum()
    }
    /// New entries that are originals.
    pub fn new_entries(&self) -> usize {
        match self.stored {
            Some((new, _)) => new,
            None => self.sum(|r| if let FeedResult::Saved { new, .. } = r { *new } else { 0 }),
        }
    }
    /// New entries stored as copies.
    pub fn copies(&self) -> usize {
        match self.stored {
            Some((_, copies)) => copies,
            None => self.sum(|r| if let FeedResult::Saved { copies, .. } = r { *copies } else { 0 }),
        }
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
    /// Returns true if and only if every feed fetched in this run failed
    /// because its host name did not resolve, and they were on at least
    /// [`OFFLINE_MIN_HOSTS`] different hosts: then the machine, not the
    /// feeds, is the likely cause ("no network?"). One feed whose host does
    /// not resolve is that feed's problem.
    pub fn is_offline(&self) -> bool {
        let fetched: Vec<&FeedOutcome> =
            self.outcomes.iter().filter(|o| !matches!(o.result, FeedResult::Skipped { .. })).collect();
        let all_unresolved = !fetched.is_empty()
            && fetched.iter().all(|o| matches!(o.result, FeedResult::Failed { unresolved: true, .. }));
        let mut hosts: Vec<String> = fetched
            .iter()
            .map(|o| url::Url::parse(&o.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default())
            .collect();
        hosts.sort();
        hosts.dedup();
        all_unresolved && hosts.len() >= OFFLINE_MIN_HOSTS
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

/// A write transaction is committed once it is this old...
pub const BATCH_TIME: Duration = Duration::from_millis(250);

/// ...or holds this many new or changed entries.
pub const BATCH_ENTRIES: usize = 1_000;

/// Largest store compacted by the sync that trains its text dictionary and
/// packs its texts again: a store of 10,000 entries (35 MB) takes 0.3 s; one
/// upgraded with years of entries is left as it is (its freed pages are
/// reused by the next syncs).
pub const COMPACT_MAX_BYTES: u64 = 256 << 20;

/// How many different hosts must all fail to resolve before a sync says
/// "no network?" rather than blaming each feed.
pub const OFFLINE_MIN_HOSTS: usize = 2;

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
    #[error(transparent)]
    UnknownFeed(#[from] crate::lookup::UnknownFeed),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Client(#[from] FetchError),
}

/// Selects the configured feeds named by `only` (see [`crate::lookup`]:
/// URL, local path, name, or the feed's own title as stored in `rows`); all
/// feeds when `only` is empty.
pub fn select_feeds<'a>(
    config: &'a Config,
    rows: &[FeedRow],
    only: &[String],
) -> Result<Vec<&'a FeedConfig>, SyncError> {
    if only.is_empty() {
        return Ok(config.feeds.iter().collect());
    }
    let keys: Vec<FeedKey<'_>> = config
        .feeds
        .iter()
        .map(|f| FeedKey {
            url: &f.url,
            name: f.name.as_deref(),
            title: rows.iter().find(|r| r.url == f.url).and_then(|r| r.title.as_deref()),
        })
        .collect();
    let config_dir = config.path.parent().unwrap_or(std::path::Path::new(""));
    Ok(crate::lookup::find_feeds(&keys, only, config_dir)?.into_iter().map(|i| &config.feeds[i]).collect())
}

/// A fingerprint of the topic rules (names and keywords): when it changes,
/// every stored entry is re-tagged. A topic only named by feeds has no rule
/// (adding a feed with a new topic changes nothing here); which feed carries
/// which topics is [`feed_topics_fingerprint`]'s, feed by feed.
pub fn topics_fingerprint(config: &Config) -> String {
    let mut s = String::from("rules v3\n");
    for t in config.topics.iter().filter(|t| !t.keywords.is_empty()) {
        s.push_str(&format!("topic {:?} {:?}\n", t.name, t.keywords));
    }
    format!("{:016x}", xxh3_64(s.as_bytes()))
}

/// A fingerprint of the topics a feed gives all its entries (none for a
/// feed not in the configuration): when it changes, that feed's stored
/// entries are re-tagged.
pub fn feed_topics_fingerprint(topics: &[String]) -> String {
    let mut sorted: Vec<&String> = topics.iter().collect();
    sorted.sort();
    format!("{:016x}", xxh3_64(format!("feed topics {sorted:?}").as_bytes()))
}

/// Re-tags the stored entries whose topics the configuration changed since
/// the last run: every entry if the topic rules changed, else the entries of
/// the feeds whose own topics changed (added, removed or edited in
/// feeds.toml). Returns the number of entries re-tagged.
pub fn retag_if_changed(config: &Config, topics: &Topics, store: &mut Store) -> Result<usize, StoreError> {
    let by_url: HashMap<&str, &[String]> = config.feeds.iter().map(|f| (f.url.as_str(), &f.topics[..])).collect();
    let feed_topics = |url: &str| by_url.get(url).copied().unwrap_or_default();
    let retagged = store.retag(
        &topics_fingerprint(config),
        |url| feed_topics_fingerprint(feed_topics(url)),
        |url, texts| topics.tag(feed_topics(url), texts),
    )?;
    if retagged > 0 {
        tracing::info!(entries = retagged, "topics changed: entries re-tagged");
    }
    Ok(retagged)
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
    let all: Vec<(String, Option<String>)> = config.feeds.iter().map(|f| (f.url.clone(), f.name.clone())).collect();
    let rows = store.upsert_feeds(&all)?;
    let selected = select_feeds(config, &rows, &options.only)?;
    let topics = Arc::new(Topics::new(&config.topics));
    // Parsing is CPU work: as many at once as there are cores. More threads
    // would not parse faster, and each keeps its own regex caches (megabytes).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let parsers = Arc::new(Semaphore::new(cores));
    let parse_pool = Arc::new(pool::ParsePool::new(cores));
    let retagged = retag_if_changed(config, &topics, store)?;
    store.set_dedup_settings(config.dedup_settings());
    if store.ensure_dedup_current()? {
        tracing::info!("copy detection changed: stories rebuilt");
    }
    // The parse workers compute each entry's comparison data with the
    // boilerplate known now (after any rebuild, which recounts it); the
    // writer redoes it only if it learns more.
    let boilerplate = Arc::new(RwLock::new(store.boilerplate_keys()?));

    // The text dictionary the parse workers pack with: the store's, or one
    // trained now (a store upgraded from before dictionaries) or after a
    // batch of this sync (a new store), see `Batch::commit`.
    let last_before = store.last_entry_id()?;
    // The texts a dictionary trained now is to pack again: this sync's, and
    // those of a small store's syncs before.
    let repack_from = store.repack_from_with_a_new_dictionary(last_before)?;
    let dictionary: Arc<OnceLock<&'static body::Dictionary>> = Arc::default();
    match store.text_dictionary() {
        Some(d) => {
            let _ = dictionary.set(d);
        }
        None => train_dictionary(store, &dictionary, repack_from),
    }
    let had_dictionary = dictionary.get().is_some();
    if had_dictionary {
        // What a sync killed after training (or while) left packed without it.
        let repacked = store.repack_pending_texts()?;
        if repacked > 0 {
            tracing::info!(entries = repacked, "texts packed again with the dictionary a killed sync trained");
        }
    }
    let fetcher = Arc::new(Fetcher::new(&config.settings)?.at(now));
    let known = store.known_entries().map(Arc::new);
    // Computed now, once (5 ms), not by the first parse worker while the
    // others wait for it and the feeds' turns run out.
    parse::texts_signature();
    let mut tasks = JoinSet::new();
    // Which feed (its position in the selection, its row) each task fetches.
    let mut feeds_by_task: HashMap<tokio::task::Id, (usize, FeedRow)> = HashMap::new();
    let mut not_fetched = Vec::new();
    let mut report = SyncReport { retagged, ..SyncReport::default() };
    let parse_deadline = config.settings.timeout;
    for (position, feed) in selected.iter().enumerate() {
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
            not_fetched.push(position);
            continue;
        }
        let fetcher = Arc::clone(&fetcher);
        let topics = Arc::clone(&topics);
        let boilerplate = Arc::clone(&boilerplate);
        let dictionary = Arc::clone(&dictionary);
        let parsers = Arc::clone(&parsers);
        let pool = Arc::clone(&parse_pool);
        let feed_topics = feed.topics.clone();
        // A feed that never succeeded has no entries to compare with.
        let known = known.as_ref().filter(|_| row.last_success.is_some()).map(|k| (Arc::clone(k), row.id));
        let task_row = row.clone();
        let handle = tasks.spawn(async move {
            // The feed's own URL or where it moved: its host decides the permit.
            let slot = fetcher.slot(task_row.moved_to.as_deref().unwrap_or(&task_row.url)).await;
            let prep = Prep { topics, boilerplate, dictionary, feed_topics, known, parsers, pool };
            let result = fetch_and_parse(&fetcher, &slot, &task_row, prep, now, parse_deadline).await;
            (result, slot)
        });
        feeds_by_task.insert(handle.id(), (position, row));
    }

    // Feeds are written in the order of feeds.toml (each waiting a moment at
    // most for those before it), so that the same documents get the same ids.
    let mut order: InOrder<(FeedRow, Result<Fetched, FeedError>, Option<Slot>)> =
        InOrder::new(selected.len(), not_fetched, config.settings.concurrency);
    // Feeds written but not yet committed, reported once they are.
    let mut batch = Batch { dictionary: Arc::clone(&dictionary), repack_from, ..Batch::default() };
    store.defer_checkpoints()?;
    store.defer_recompare();
    let mut finished = false;
    loop {
        while let Some((_, (row, result, slot))) = order.pop(tokio::time::Instant::now()) {
            write_feed(store, &mut batch, &mut report, &mut on_progress, &row, result, now)?;
            share_learnt(store, &boilerplate);
            // Written: its parsed entries are gone, its slot free for the next feed.
            drop(slot);
        }
        if finished {
            break;
        }
        let deadline = batch.deadline().into_iter().chain(order.deadline()).min();
        let next = join_next_keyed(&mut tasks, &mut feeds_by_task);
        let joined = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, next).await {
                Ok(joined) => joined,
                Err(_) => {
                    if batch.deadline().is_some_and(|d| d <= tokio::time::Instant::now()) {
                        batch.commit(store, &mut report, &mut on_progress)?;
                    }
                    continue;
                }
            },
            None => next.await,
        };
        let Some(((position, row), joined)) = joined else {
            // Every task is done: write what still waits, in order.
            for (_, (row, result, slot)) in order.drain() {
                write_feed(store, &mut batch, &mut report, &mut on_progress, &row, result, now)?;
                share_learnt(store, &boilerplate);
                drop(slot);
            }
            finished = true;
            continue;
        };
        // A panic in one feed's task is that feed's failure: it is reported
        // and recorded like any other, and the exit status says so.
        let (result, slot) = match joined {
            Ok((result, slot)) => (result, Some(slot)),
            Err(e) => {
                tracing::error!(feed_url = %row.url, error = %e, "a feed task panicked");
                (Err(FeedError::Crashed), None)
            }
        };
        // A feed not modified gives no entry an id and changes nothing that
        // copy detection reads (a feed parsed without items may change its
        // title or site, which the choice of a story's original reads, so
        // it keeps its turn): written at once, it frees its fetch slot
        // instead of holding it while the feeds listed before it arrive. In
        // a warm sync nearly every feed is such a one (1,000 feeds over
        // loopback: 11.3 s with the waits, 3.3 s without).
        if has_nothing_to_store(&result) {
            order.forget(position);
            write_feed(store, &mut batch, &mut report, &mut on_progress, &row, result, now)?;
            drop(slot);
            continue;
        }
        order.push(position, (row, result, slot), tokio::time::Instant::now());
    }
    batch.commit(store, &mut report, &mut on_progress)?;
    // The parse workers' connections are closed before the sync's end
    // rewrites the store (the repacking, a compaction, the checkpoint).
    drop(known);
    batch.training.step(store, &dictionary, repack_from, true);
    // The older entries that carry a paragraph learnt as boilerplate during
    // the sync, compared again once each (and those a sync stopped early left).
    let settled = store.settle(last_before, now)?;
    if settled > 0 {
        tracing::debug!(entries = settled, "entries compared again with the boilerplate learnt");
    }
    // This sync's texts packed before its dictionary reached the parse
    // workers (and a small store's before this sync), packed again with it.
    if !had_dictionary {
        let repacked = store.repack_texts_since(repack_from)?;
        if repacked > 0 {
            tracing::debug!(entries = repacked, "texts packed again with the new dictionary");
        }
    }
    // [filters]: decide which new entries are hidden (all of them if the rules changed).
    crate::filters::apply(config, store)?;
    // One checkpoint for the whole run (it also syncs the WAL to disk).
    // Copy detection's lookup keys stay a few weeks long.
    let dropped = store.forget_old_keys(now)?;
    tracing::debug!(keys = dropped, "old copy-detection keys dropped");
    // Texts packed again in place leave their pages part empty: once in a
    // small store's life (after the sync that trains its dictionary, or the
    // next that succeeds), it is compacted. A failure loses nothing: the
    // store stays as it was, only larger, and the next sync tries again.
    match store.compact_if_pending(COMPACT_MAX_BYTES) {
        Ok(Some((before, after))) => tracing::debug!(before, after, "store compacted"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "store not compacted; the next sync tries again"),
    }
    store.checkpoint()?;
    report.stored = Some(store.stored_since(last_before)?);
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

/// Hands the boilerplate the writer learnt to the parse workers: the feeds
/// they parse from now on leave it out, and the writer need not recompute
/// their comparison data.
fn share_learnt(store: &mut Store, boilerplate: &RwLock<HashSet<i64>>) {
    let learnt = store.take_learnt();
    if !learnt.is_empty() {
        boilerplate.write().unwrap_or_else(std::sync::PoisonError::into_inner).extend(learnt);
    }
}

/// Trains the store's text dictionary if it is due and hands it to the
/// parse workers. A failure costs only the smaller texts: it is logged and
/// the sync goes on (the next batch tries again).
fn train_dictionary(store: &mut Store, dictionary: &OnceLock<&'static body::Dictionary>, repack_from: i64) {
    if dictionary.get().is_some() {
        return;
    }
    match store.train_text_dictionary_due_from(repack_from) {
        Ok(Some(d)) => {
            let _ = dictionary.set(d);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "no text dictionary trained"),
    }
}

/// The text dictionary of a store that has none, trained during a sync on
/// a thread of its own (0.1 s of compression work the writer need not
/// wait for): started after the batch that brings the store to
/// [`crate::store::DICTIONARY_MIN_ENTRIES`], stored after a later one (or
/// at the sync's end) and handed to the parse workers then.
struct Training {
    running: Option<std::thread::JoinHandle<Option<crate::store::Trained>>>,
    /// Entries the store holds before it is trained
    /// ([`crate::store::DICTIONARY_MIN_ENTRIES`]; fewer in tests).
    min_entries: i64,
    /// Behave as if no thread could be started (tests).
    refuse_threads: bool,
}

impl Default for Training {
    fn default() -> Training {
        Training { running: None, min_entries: crate::store::DICTIONARY_MIN_ENTRIES, refuse_threads: false }
    }
}

impl Training {
    /// Starts the training if it is due, or stores the dictionary if it is
    /// trained (`wait`: waiting for it). Failures are logged: the texts are
    /// only larger, and the next batch tries again.
    fn step(
        &mut self,
        store: &mut Store,
        dictionary: &OnceLock<&'static body::Dictionary>,
        repack_from: i64,
        wait: bool,
    ) {
        if dictionary.get().is_some() {
            return;
        }
        let Some(handle) = self.running.take() else {
            match store.dictionary_samples(self.min_entries) {
                Ok(Some(samples)) => {
                    // Killed before the dictionary is stored, the sync leaves
                    // its texts to be packed by the next that has one.
                    if let Err(e) = store.note_texts_to_repack_after(repack_from) {
                        tracing::warn!(error = %e, "no text dictionary trained");
                        return;
                    }
                    let shared = Arc::new(std::sync::Mutex::new(Some(samples)));
                    let theirs = Arc::clone(&shared);
                    let spawned = match self.refuse_threads {
                        true => Err(std::io::Error::other("no thread (a test)")),
                        false => std::thread::Builder::new().name("syndic-train".into()).spawn(move || {
                            theirs
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .take()
                                .and_then(Samples::train)
                        }),
                    };
                    match spawned {
                        Ok(handle) => self.running = Some(handle),
                        Err(e) => {
                            // No thread to spare: trained here, as before threads.
                            tracing::debug!(error = %e, "the text dictionary trained by the writer");
                            let samples = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                            store_trained(store, dictionary, samples.and_then(Samples::train), repack_from);
                            return;
                        }
                    }
                    if wait {
                        self.step(store, dictionary, repack_from, true);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "no text dictionary trained"),
            }
            return;
        };
        if !wait && !handle.is_finished() {
            self.running = Some(handle);
            return;
        }
        match handle.join() {
            Ok(trained) => store_trained(store, dictionary, trained, repack_from),
            Err(_) => tracing::warn!("the text dictionary's training failed"),
        }
    }
}

/// Stores a dictionary trained during the sync and hands it to the parse
/// workers; `None` (zstd's trainer failed, logged) stores nothing.
fn store_trained(
    store: &mut Store,
    dictionary: &OnceLock<&'static body::Dictionary>,
    trained: Option<crate::store::Trained>,
    repack_from: i64,
) {
    let Some(trained) = trained else { return };
    match store.store_text_dictionary(trained, repack_from) {
        Ok(Some(d)) => {
            let _ = dictionary.set(d);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "text dictionary not stored"),
    }
}

/// Whether `result` stores nothing that another feed's writing reads: a
/// feed not modified (its fetch state only), and not redirected.
fn has_nothing_to_store(result: &Result<Fetched, FeedError>) -> bool {
    matches!(result, Ok(Fetched::NotModified { moved_to: None, .. }))
}

/// Writes one feed's result into the open batch (starting one if needed),
/// committing the batch when it is full.
fn write_feed(
    store: &mut Store,
    batch: &mut Batch,
    report: &mut SyncReport,
    on_progress: &mut impl FnMut(&FeedOutcome),
    row: &FeedRow,
    result: Result<Fetched, FeedError>,
    now: DateTime<Utc>,
) -> Result<(), SyncError> {
    batch.begin(store)?;
    tracing::debug!(feed = %row.url, "writing the feed");
    let written = match record(store, row, result, now) {
        Ok(written) => written,
        Err(e) => {
            // The batch is rolled back: none of its feeds is written, as
            // after a crash; the next sync fetches them again.
            store.rollback_batch();
            batch.abandon();
            return Err(e.into());
        }
    };
    batch.add(written);
    if batch.is_full() {
        batch.commit(store, report, on_progress)?;
    }
    Ok(())
}

/// The next finished task of `tasks` with the key it was spawned under
/// (removed from `keys`), whether it returned or panicked.
async fn join_next_keyed<K, T: 'static>(
    tasks: &mut JoinSet<T>,
    keys: &mut HashMap<tokio::task::Id, K>,
) -> Option<(K, Result<T, tokio::task::JoinError>)> {
    loop {
        let (id, result) = match tasks.join_next_with_id().await? {
            Ok((id, value)) => (id, Ok(value)),
            Err(e) => (e.id(), Err(e)),
        };
        // Every task is spawned with a key; one without is skipped, never lost silently.
        match keys.remove(&id) {
            Some(key) => return Some((key, result)),
            None => tracing::error!(task = %id, "a task finished that was not spawned with a key"),
        }
    }
}

/// The feeds written in the open transaction.
#[derive(Default)]
struct Batch {
    /// The text dictionary of the sync, trained after a commit if due.
    dictionary: Arc<OnceLock<&'static body::Dictionary>>,
    training: Training,
    /// The texts of the entries after this one are packed again when the
    /// dictionary is trained ([`Store::repack_from_with_a_new_dictionary`]).
    repack_from: i64,
    started: Option<tokio::time::Instant>,
    entries: usize,
    outcomes: Vec<FeedOutcome>,
}

impl Batch {
    /// When the open transaction is due to commit; `None` when none is open.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.started.map(|t| t + BATCH_TIME)
    }

    fn begin(&mut self, store: &mut Store) -> Result<(), StoreError> {
        if self.started.is_none() {
            store.begin_batch()?;
            self.started = Some(tokio::time::Instant::now());
        }
        Ok(())
    }

    fn add(&mut self, (outcome, entries): (FeedOutcome, usize)) {
        self.entries += entries;
        self.outcomes.push(outcome);
    }

    fn is_full(&self) -> bool {
        self.entries >= BATCH_ENTRIES || self.started.is_some_and(|t| t.elapsed() >= BATCH_TIME)
    }

    /// Forgets the open transaction, rolled back.
    fn abandon(&mut self) {
        self.started = None;
        self.entries = 0;
        self.outcomes.clear();
    }

    /// Commits the open transaction, then reports its feeds.
    fn commit(
        &mut self,
        store: &mut Store,
        report: &mut SyncReport,
        on_progress: &mut impl FnMut(&FeedOutcome),
    ) -> Result<(), StoreError> {
        if self.started.take().is_none() {
            return Ok(());
        }
        store.commit_batch()?;
        tracing::debug!(feeds = self.outcomes.len(), entries = self.entries, "batch committed");
        release_freed_memory();
        // The texts this sync stores without it are packed again at its
        // end, on every core (`Store::repack_texts_since`).
        self.training.step(store, &self.dictionary, self.repack_from, false);
        self.entries = 0;
        for outcome in self.outcomes.drain(..) {
            on_progress(&outcome);
            report.outcomes.push(outcome);
        }
        Ok(())
    }
}

/// Gives the memory freed since the last batch back to the system.
/// glibc's malloc keeps what a thread frees in that thread's arena, ready
/// for its next allocation: each parse worker's arena grows to the largest
/// documents it parsed and the writer's to its largest batch, and the sum
/// of those high-water marks, not what is in use, made the peak.
#[allow(unsafe_code)]
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own
    // arenas to the kernel; it takes each arena's lock, like malloc.
    unsafe {
        libc::malloc_trim(0);
    }
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
        meta: FeedMeta,
        /// The new and changed entries (those stored as they are left out).
        entries: Vec<TaggedEntry>,
        /// Entries found unchanged whose item hash is to be recorded.
        hashes: Vec<(EntryKey, i64)>,
        moved_to: Option<String>,
        fresh_for: Option<Duration>,
    },
}

/// What the parse workers need besides the document.
struct Prep {
    topics: Arc<Topics>,
    /// Paragraphs known to be boilerplate: at the start of the sync, and
    /// learnt by the writer since (see `write_feed`).
    boilerplate: Arc<RwLock<HashSet<i64>>>,
    /// The store's text dictionary, once it has one.
    dictionary: Arc<OnceLock<&'static body::Dictionary>>,
    feed_topics: Vec<String>,
    /// The store's entries, for a feed that has some: those a changed
    /// document still carries as they are stored are left out before they
    /// are prepared (the writer would find them unchanged).
    known: Option<(Arc<KnownEntries>, FeedId)>,
    /// Leave to parse (one per core).
    parsers: Arc<Semaphore>,
    /// The threads that parse.
    pool: Arc<pool::ParsePool>,
}

/// Fetches, parses and prepares one feed: everything that needs no
/// database (topics, copy-detection data), in parallel, off the writer.
async fn fetch_and_parse(
    fetcher: &Fetcher,
    slot: &Slot,
    row: &FeedRow,
    prep: Prep,
    now: DateTime<Utc>,
    parse_deadline: Duration,
) -> Result<Fetched, FeedError> {
    let validators = Validators { etag: row.etag.clone(), last_modified: row.last_modified.clone() };
    // A feed a permanent redirect moved is fetched where it now is.
    let url = row.moved_to.clone().unwrap_or_else(|| row.url.clone());
    match fetcher.fetch_in_slot(&url, &validators, slot).await? {
        FetchOutcome::NotModified { status, moved_to, fresh_for } => {
            Ok(Fetched::NotModified { status, moved_to, fresh_for })
        }
        FetchOutcome::Fetched(doc) => {
            let (status, validators, content_type) = (doc.status, doc.validators, doc.content_type);
            let (moved_to, fresh_for) = (doc.moved_to, doc.fresh_for);
            let body = doc.body;
            // Waiting for a parser is not parsing: the deadline starts after.
            let _parsing = Arc::clone(&prep.parsers).acquire_owned().await.expect("the semaphore is never closed");
            // The body is dropped as soon as it is parsed; only entries travel on.
            // Parsing has a deadline too (the feed's timeout): a hostile
            // document is that feed's error, not a hung run holding the lock.
            // The parse thread cannot be stopped; the run goes on without it.
            let pool = Arc::clone(&prep.pool);
            let parsing = Arc::clone(&pool).run_owned(move || {
                let mut look = prep.known.as_ref().and_then(|(known, feed)| known.look(*feed));
                let mut held = 0;
                let parsed = match look.as_mut() {
                    Some(look) => {
                        let mut holds = |item: &parse::ItemHead<'_>| {
                            let holds = look.holds(item);
                            held += usize::from(holds);
                            holds
                        };
                        parse::parse_feed_skipping(&body, &url, content_type.as_deref(), now, &mut holds)?
                    }
                    None => parse::parse_feed(&body, &url, content_type.as_deref(), now)?,
                };
                drop(body);
                let mut entries = parsed.entries;
                let mut hashes = Vec::new();
                if let Some(mut look) = look {
                    let sanitised = entries.len();
                    let unchanged = look.drop_unchanged(&mut entries);
                    let compared = look.compared();
                    hashes = look.finish();
                    tracing::debug!(
                        feed_url = %url,
                        items = held + sanitised,
                        unchanged = held + unchanged,
                        unsanitised = held,
                        compared,
                        "items as stored left out"
                    );
                }
                Ok::<_, crate::error::ParseError>((parsed.meta, prepare(&prep, entries), hashes))
            });
            let (meta, entries, hashes) = tokio::time::timeout(parse_deadline, parsing)
                .await
                .map_err(|_| {
                    // The parse goes on, holding its thread: the others need one more.
                    pool.replace_one();
                    crate::error::ParseError::Deadline(parse_deadline)
                })?
                .ok_or(crate::error::ParseError::Panicked)??;
            Ok(Fetched::Parsed { status, validators, meta, entries, hashes, moved_to, fresh_for })
        }
    }
}

/// The entries worth keeping, each with its topics and copy-detection data.
///
/// The comparison data leaves out the boilerplate known and, as a guess, the
/// paragraphs that recur in [`dedup::BOILERPLATE_MIN_ENTRIES`] entries of
/// this document (a site's footer): the writer learns them as boilerplate
/// when it counts the feed's batch, unless the entries are versions of one
/// article, and recomputes whatever the guess got wrong
/// ([`Comparison::is_stale`]), so the guess changes the work, not the result.
fn prepare(prep: &Prep, entries: Vec<NewEntry>) -> Vec<TaggedEntry> {
    let entries: Vec<(NewEntry, dedup::Reduced)> = entries
        .into_iter()
        .filter(|e| !e.is_empty())
        .map(|mut e| {
            let reduced = dedup::reduce(e.comparison_text());
            e.text_hash = reduced.text_hash;
            (e, reduced)
        })
        .collect();
    let mut recurring: HashMap<i64, i64> = HashMap::new();
    for (_, reduced) in &entries {
        for k in reduced.paragraph_keys() {
            *recurring.entry(k).or_default() += 1;
        }
    }
    recurring.retain(|_, n| *n >= dedup::BOILERPLATE_MIN_ENTRIES);
    let dictionary = prep.dictionary.get().copied();
    entries
        .into_iter()
        .map(|(entry, reduced)| {
            let texts = [
                entry.title.as_str(),
                entry.summary_text.as_deref().unwrap_or(""),
                entry.content_text.as_deref().unwrap_or(""),
            ];
            let topics = prep.topics.tag(&prep.feed_topics, &texts);
            let comparison = {
                let known = prep.boilerplate.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                Comparison::new(reduced, |k| known.contains(&k) || recurring.contains_key(&k)).lighten()
            };
            TaggedEntry::packed_with(entry, topics, dictionary).with_comparison(comparison)
        })
        .collect()
}

/// Writes one feed's result into the open transaction; returns its outcome
/// and how many entries it brought.
fn record(
    store: &mut Store,
    row: &FeedRow,
    result: Result<Fetched, FeedError>,
    now: DateTime<Utc>,
) -> Result<(FeedOutcome, usize), StoreError> {
    let mut entries = 0;
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
        Ok(Fetched::Parsed { status, validators, meta, entries: tagged, hashes, moved_to, fresh_for }) => {
            outcome.moved_to = moved_to.clone();
            let state = FetchState {
                http_status: Some(status),
                etag: validators.etag,
                last_modified: validators.last_modified,
                title: meta.title.clone(),
                site_url: meta.site_url,
                next_attempt: fresh_until(fresh_for, meta.ttl_minutes),
                moved_to,
                feed_updated: meta.updated,
            };
            let saved = store.save_feed(row.id, &state, &tagged, now)?;
            store.record_item_hashes(row.id, &hashes)?;
            entries = saved.new + saved.copies + saved.updated;
            if row.name.is_none() {
                if let Some(title) = meta.title {
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
            let unresolved = matches!(e, FeedError::Fetch(FetchError::Dns(_)));
            outcome.result = FeedResult::Failed { reason, unresolved };
        }
    }
    Ok((outcome, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(url: &str, result: FeedResult) -> FeedOutcome {
        FeedOutcome { name: url.into(), url: url.into(), result, moved_to: None }
    }

    /// A store of `n` entries of made-up articles, their texts packed
    /// without a dictionary.
    fn store_of_articles(n: u64) -> Store {
        use crate::model::{DateSource, EntryKey, NewEntry};
        use chrono::TimeZone;
        let mut store = Store::open_in_memory().unwrap();
        let feed = store.upsert_feeds(&[("https://gazette.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let entries: Vec<TaggedEntry> = (0..n)
            .map(|i| {
                let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                let words: Vec<String> = (0..200)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        format!("w{}", x % 2_000)
                    })
                    .collect();
                let text = format!("{}\n\nThe post appeared first on The Harbor Gazette.", words.join(" "));
                TaggedEntry::new(
                    NewEntry {
                        key: EntryKey(format!("guid:{i}")),
                        title: format!("Article {i}"),
                        url: Some(format!("https://gazette.example/{i}")),
                        author: None,
                        published: now - chrono::Duration::minutes(i as i64),
                        date_source: DateSource::Published,
                        summary_html: None,
                        summary_text: None,
                        content_html: Some(format!("<p>{text}</p>")),
                        content_text: Some(text),
                        source_url: None,
                        text_hash: None,
                        item_hash: None,
                    },
                    vec![],
                )
            })
            .collect();
        store.save_feed(feed, &FetchState::default(), &entries, now).unwrap();
        store
    }

    /// Trained on a thread of its own, or by the writer when no thread can
    /// be started (it once recursed until the stack ran out); either way
    /// the sync's texts are noted to be packed again from where it began.
    #[test]
    fn the_text_dictionary_is_trained_on_a_thread_or_by_the_writer_when_none_starts() {
        for refuse_threads in [false, true] {
            let mut store = store_of_articles(150);
            let dictionary = OnceLock::new();
            let mut training = Training { min_entries: 200, refuse_threads, ..Training::default() };
            training.step(&mut store, &dictionary, 0, true);
            assert!(dictionary.get().is_none() && training.running.is_none(), "150 entries: too few");
            training.min_entries = 150;
            training.step(&mut store, &dictionary, 0, false);
            if !refuse_threads {
                assert!(training.running.is_some(), "training on its thread");
                training.step(&mut store, &dictionary, 0, true);
            }
            let trained = dictionary.get().expect("trained and stored");
            assert_eq!(store.text_dictionary().map(body::Dictionary::id), Some(trained.id()));
            assert!(training.running.is_none());
            assert_eq!(store.meta("texts_repack_from").unwrap().as_deref(), Some("0"));
            assert_eq!(store.repack_pending_texts().unwrap(), 150);
        }
    }

    #[test]
    fn offline_only_when_every_fetched_feed_on_several_hosts_failed_to_resolve() {
        let dns = || FeedResult::Failed { reason: "cannot resolve host".into(), unresolved: true };
        let other = || FeedResult::Failed { reason: "HTTP 500".into(), unresolved: false };
        let skipped = || FeedResult::Skipped { until: None, gone: true };
        let cases: Vec<(Vec<FeedOutcome>, bool)> = vec![
            (vec![outcome("https://a.example/f", dns()), outcome("https://b.example/f", dns())], true),
            // A skipped feed was not fetched: it says nothing about the network.
            (
                vec![
                    outcome("https://a.example/f", dns()),
                    outcome("https://b.example/f", dns()),
                    outcome("https://c.example/f", skipped()),
                ],
                true,
            ),
            // One host (or one feed) not resolving is that host's problem.
            (vec![outcome("https://a.example/f", dns())], false),
            (vec![outcome("https://a.example/f", dns()), outcome("https://a.example/g", dns())], false),
            // Something answered: the network works.
            (vec![outcome("https://a.example/f", dns()), outcome("https://b.example/f", other())], false),
            (vec![outcome("https://a.example/f", dns()), outcome("https://b.example/f", FeedResult::Unchanged)], false),
            (vec![], false),
        ];
        for (outcomes, want) in cases {
            let report = SyncReport { outcomes, ..SyncReport::default() };
            assert_eq!(report.is_offline(), want, "{:?}", report.outcomes);
        }
    }

    // See: issue 9: a panicking feed task vanished from the report.
    #[tokio::test]
    async fn a_panicking_task_is_reported_under_its_key() {
        let mut tasks: JoinSet<u32> = JoinSet::new();
        let mut keys = HashMap::new();
        keys.insert(tasks.spawn(async { 7 }).id(), "calm");
        keys.insert(tasks.spawn(async { panic!("hostile input") }).id(), "hostile");
        let mut seen = Vec::new();
        while let Some((key, result)) = join_next_keyed(&mut tasks, &mut keys).await {
            seen.push((key, result.ok()));
        }
        seen.sort();
        assert_eq!(seen, [("calm", Some(7)), ("hostile", None)]);
    }

    // See: issue 9: parsing ran outside the deadline, so a hostile document
    // held the run (and the sync lock) for as long as it took.
    #[tokio::test]
    async fn parsing_past_the_deadline_is_the_feeds_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep.xml");
        let description = format!("<p>x</p>{}", "<div>".repeat(200_000));
        std::fs::write(
            &path,
            format!("<rss version=\"2.0\"><channel><title>D</title><item><title>D</title><guid>1</guid><description><![CDATA[{description}]]></description></item></channel></rss>"),
        )
        .unwrap();
        let url = url::Url::from_file_path(&path).unwrap().to_string();
        let row = FeedRow {
            id: crate::model::FeedId(1),
            url,
            name: None,
            title: None,
            site_url: None,
            etag: None,
            last_modified: None,
            last_attempt: None,
            last_success: None,
            http_status: None,
            last_error: None,
            consecutive_failures: 0,
            next_attempt: None,
            entry_count: 0,
            moved_to: None,
            gone: false,
            discovered: None,
            feed_updated: None,
        };
        let fetcher = Fetcher::new(&crate::config::Settings::default()).unwrap();
        let slot = fetcher.slot(&row.url).await;
        let prep = Prep {
            topics: Arc::new(Topics::new(&[])),
            boilerplate: Arc::default(),
            dictionary: Arc::default(),
            feed_topics: Vec::new(),
            known: None,
            parsers: Arc::new(Semaphore::new(1)),
            pool: Arc::new(pool::ParsePool::new(1)),
        };
        let result = fetch_and_parse(&fetcher, &slot, &row, prep, Utc::now(), Duration::from_millis(1)).await;
        assert!(matches!(result, Err(FeedError::Parse(crate::error::ParseError::Deadline(_)))), "{:?}", result.err());
    }
}
