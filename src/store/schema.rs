//! Opening the database: connection settings, migrations, the sync lock.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{DedupSettings, Result, Store, SyncLock};
use crate::error::StoreError;

/// Ordered migrations; `PRAGMA user_version` is the number applied.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_near_duplicates.sql"),
    include_str!("migrations/003_feed_health.sql"),
    include_str!("migrations/004_reading.sql"),
    include_str!("migrations/005_filters.sql"),
    include_str!("migrations/006_stories.sql"),
    CONTENTLESS_SEARCH,
    COMPRESSED_TEXT,
    include_str!("migrations/009_compact_dedup_keys.sql"),
    include_str!("migrations/010_feed_topics.sql"),
    include_str!("migrations/011_feed_filters.sql"),
    include_str!("migrations/012_feed_url_fragments.sql"),
    include_str!("migrations/013_entry_ids_not_reused.sql"),
    include_str!("migrations/014_text_dictionaries.sql"),
    LINK_KEYS,
    PARAGRAPH_COUNTS,
    include_str!("migrations/017_dedup_pending.sql"),
    include_str!("migrations/018_staged_dedup_rows.sql"),
    include_str!("migrations/019_filter_queue_written_by_the_store.sql"),
    include_str!("migrations/020_search_index_merges_eight.sql"),
    include_str!("migrations/021_staged_exact_keys.sql"),
    include_str!("migrations/022_search_index_merges_sixteen.sql"),
    include_str!("migrations/023_item_hash.sql"),
];

/// The migration that makes the search index contentless; the index is
/// refilled from the entries after it (the spacing of CJK text is Rust).
const CONTENTLESS_SEARCH: &str = include_str!("migrations/007_contentless_search.sql");

/// The migration that packs each entry's four texts into one compressed
/// blob; the packing itself is Rust ([`super::body`]), run where the file's
/// [`PACK_MARK`] line stands, before the old columns are dropped.
const COMPRESSED_TEXT: &str = include_str!("migrations/008_compressed_text.sql");

/// The line of [`COMPRESSED_TEXT`] where the store packs the texts.
const PACK_MARK: &str = "-- (the store packs the texts here)";

/// The migration that finds entries by a hash of their link; the hashes
/// are Rust ([`super::entries::url_key`]), computed where the file's
/// [`LINK_KEYS_MARK`] line stands, before the index is built.
const LINK_KEYS: &str = include_str!("migrations/015_link_keys.sql");

/// The line of [`LINK_KEYS`] where the store fills the link keys.
const LINK_KEYS_MARK: &str = "-- (the store fills the link keys here)";

/// The migration that stores paragraph counts in fewer bytes; the samples
/// are converted by Rust ([`super::dedup::convert_paragraph_counts_before_016`])
/// where the file's [`PARAGRAPH_COUNTS_MARK`] line stands.
const PARAGRAPH_COUNTS: &str = include_str!("migrations/016_compact_paragraph_counts.sql");

/// The line of [`PARAGRAPH_COUNTS`] where the store converts the rows.
const PARAGRAPH_COUNTS_MARK: &str = "-- (the store converts the paragraph counts here)";

/// How long a reader or writer waits for SQLite's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// `PRAGMA application_id` of a syndic database ("SYNd"), so that another
/// program's SQLite file is recognised and left alone.
pub const APPLICATION_ID: i32 = 0x5359_4e64;

/// Runs one migration (the SQL of [`MIGRATIONS`] and the Rust steps that
/// go with it) inside `tx`.
pub(super) fn apply(tx: &Connection, sql: &str) -> Result<()> {
    if sql == COMPRESSED_TEXT {
        let (before, after) = sql.split_once(PACK_MARK).expect("migration 008 has its marker");
        tx.execute_batch(before)?;
        super::entries::pack_all_texts(tx)?;
        tx.execute_batch(after)?;
        return Ok(());
    }
    if sql == LINK_KEYS {
        let (before, after) = sql.split_once(LINK_KEYS_MARK).expect("migration 015 has its marker");
        tx.execute_batch(before)?;
        super::entries::fill_url_keys(tx)?;
        tx.execute_batch(after)?;
        return Ok(());
    }
    if sql == PARAGRAPH_COUNTS {
        let (before, after) = sql.split_once(PARAGRAPH_COUNTS_MARK).expect("migration 016 has its marker");
        tx.execute_batch(before)?;
        super::dedup::convert_paragraph_counts_before_016(tx)?;
        tx.execute_batch(after)?;
        return Ok(());
    }
    tx.execute_batch(sql)?;
    if sql == CONTENTLESS_SEARCH {
        super::entries::reindex_search_before_008(tx)?;
    }
    Ok(())
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the
    /// database at `path`. Another program's database is refused untouched;
    /// several processes opening a new database at once all succeed (the
    /// schema is created in one immediate transaction, checked again inside it).
    pub fn open_at(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::open(path, format!("cannot create directory {}: {e}", dir.display()), e))?;
        }
        let conn = Connection::open(path).map_err(|e| StoreError::open(path, e.to_string(), e))?;
        let mut store = Store {
            conn,
            path: Some(path.to_owned()),
            dedup: DedupSettings::default(),
            learnt: Default::default(),
            pending_search: Vec::new(),
            dictionary: None,
            recompare: super::dedup::Recompare::Now,
            large_keys: None,
            saved_new: 0,
            large_keys_after: super::LARGE_KEYS_AFTER,
        };
        store.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Before anything writes (WAL mode included): is it ours?
        store.check_ownership()?;
        store.configure()?;
        store.migrate()?;
        store.load_text_dictionaries()?;
        Ok(store)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store {
            conn,
            path: None,
            dedup: DedupSettings::default(),
            learnt: Default::default(),
            pending_search: Vec::new(),
            dictionary: None,
            recompare: super::dedup::Recompare::Now,
            large_keys: None,
            saved_new: 0,
            large_keys_after: super::LARGE_KEYS_AFTER,
        };
        store.conn.busy_timeout(BUSY_TIMEOUT)?;
        store.configure()?;
        store.migrate()?;
        store.load_text_dictionaries()?;
        Ok(store)
    }

    /// Refuses a database that belongs to another program: one with another
    /// application id, or without syndic's id and with tables that are not
    /// syndic's (a syndic database from before the id has `feeds`, `entries`
    /// and a schema version).
    fn check_ownership(&self) -> Result<()> {
        let foreign = |what: String| StoreError::Foreign { path: self.path_display(), what };
        let app_id: i32 = match self.conn.query_row("PRAGMA application_id", [], |r| r.get(0)) {
            Ok(id) => id,
            // Not SQLite at all (a feeds.toml given as --db, say): not ours to touch.
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                return Err(foreign("it is not an SQLite database".into()))
            }
            Err(e) => return Err(e.into()),
        };
        if app_id == APPLICATION_ID {
            return Ok(());
        }
        if app_id != 0 {
            return Err(foreign(format!("its application id is {app_id:#x}")));
        }
        let tables: Vec<String> = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let has = |t: &str| tables.iter().any(|n| n == t);
        if tables.is_empty() || (version >= 1 && has("feeds") && has("entries")) {
            return Ok(());
        }
        let mut shown: Vec<&str> = tables.iter().map(String::as_str).take(3).collect();
        if tables.len() > 3 {
            shown.push("…");
        }
        Err(foreign(format!("it holds other tables: {}", shown.join(", "))))
    }

    fn configure(&mut self) -> Result<()> {
        // Saving an entry uses a few dozen statements; the default cache of 16
        // would re-prepare them all the time.
        self.conn.set_prepared_statement_cache_capacity(256);
        // journal_mode answers with a row, so it is queried, not executed. A
        // new database being switched by another process at the same moment
        // answers "busy" without waiting for the busy timeout: try again.
        let started = Instant::now();
        loop {
            match self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = {};",
            super::CACHE_SIZE
        ))?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let version = |conn: &Connection| -> Result<usize> {
            Ok(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?.max(0) as usize)
        };
        let path = self.path_display();
        let too_new = |v: usize| StoreError::Open {
            path: path.clone(),
            message: format!(
                "schema version {v} is newer than this syndic knows ({}): upgrade syndic",
                MIGRATIONS.len()
            ),
            source: None,
        };
        let current = version(&self.conn)?;
        if current > MIGRATIONS.len() {
            return Err(too_new(current));
        }
        let app_id: i32 = self.conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if current == MIGRATIONS.len() {
            if app_id != APPLICATION_ID {
                // A syndic database from before the mark: mark it if we may
                // write (a read-only copy is still read).
                if let Err(e) = self.conn.pragma_update(None, "application_id", APPLICATION_ID) {
                    tracing::debug!(error = %e, "cannot mark the database as syndic's");
                }
            }
            return Ok(());
        }
        // Each migration of an existing store in an immediate transaction of
        // its own (a new store's all in one): it waits for
        // any other process creating or upgrading the schema, then reads the
        // version again and sees what that one did.
        loop {
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let current = version(&tx)?;
            if current > MIGRATIONS.len() {
                return Err(too_new(current));
            }
            if current == 0 {
                // A new store: its whole schema in this one transaction, so
                // that the log holds each page once (150 KB; 450 KB with a
                // transaction per migration, which filled a small disk
                // before the first sync wrote anything).
                for sql in MIGRATIONS {
                    apply(&tx, sql)?;
                }
                tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
            } else if let Some(sql) = MIGRATIONS.get(current) {
                apply(&tx, sql)?;
                tx.pragma_update(None, "user_version", (current + 1) as i64)?;
            }
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.commit()?;
            if current >= MIGRATIONS.len() {
                // The log holds every page the migrations wrote (a new
                // store's schema: 150 KB): copied into the database and
                // emptied now, not left to grow until the first checkpoint.
                // Another connection reading it only makes this a no-op.
                if let Err(e) = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "no checkpoint after the migrations");
                }
                return Ok(());
            }
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Returns true if another process holds the sync lock now (a sync is
    /// running); false if it is free, or cannot be tried (an in-memory
    /// store, a lock file that cannot be opened).
    pub fn sync_running(&self) -> bool {
        matches!(self.lock_for_sync(Duration::ZERO), Err(StoreError::Locked { .. }))
    }

    /// Takes the sync lock (a lock file beside the database), waiting up to
    /// `wait` for another `sync` to finish. The lock file is named after the
    /// database's real path, so that two processes that reach it by other
    /// paths (a symbolic link, `..`) take the same lock.
    pub fn lock_for_sync(&self, wait: Duration) -> Result<Option<SyncLock>> {
        let Some(path) = &self.path else { return Ok(None) };
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let mut lock_path = real.into_os_string();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::open(&lock_path, e.to_string(), e))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(SyncLock { _file: file })),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked { path: path.display().to_string(), waited: wait });
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::open(&lock_path, e.to_string(), e));
                }
            }
        }
    }
}
