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
    include_str!("migrations/006_stories.sql"),
    CONTENTLESS_SEARCH,
];

/// The migration that makes the search index contentless; the index is
/// refilled from the entries after it (the spacing of CJK text is Rust).
const CONTENTLESS_SEARCH: &str = include_str!("migrations/007_contentless_search.sql");

/// How long a reader or writer waits for SQLite's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the
    /// database at `path`.
    pub fn open_at(path: &Path) -> Result<Store> {
        let open_err = |message: String| StoreError::Open { path: path.display().to_string(), message };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create directory {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        let mut store = Store { conn, path: Some(path.to_owned()), dedup: DedupSettings::default() };
        store.configure().map_err(|e| open_err(e.to_string()))?;
        store.migrate()?;
        Ok(store)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store { conn, path: None, dedup: DedupSettings::default() };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Saving an entry uses a few dozen statements; the default cache of 16
        // would re-prepare them all the time.
        self.conn.set_prepared_statement_cache_capacity(128);
        // journal_mode answers with a row, so it is queried, not executed.
        let _mode: String = self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // A 64 MiB page cache: the dedup indexes are read and written on every new entry.
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;")?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = self.conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if version > MIGRATIONS.len() {
            return Err(StoreError::Open {
                path: self.path_display(),
                message: format!(
                    "schema version {version} is newer than this syndic knows ({}): upgrade syndic",
                    MIGRATIONS.len()
                ),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            if *sql == CONTENTLESS_SEARCH {
                super::entries::reindex_search(&tx)?;
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Takes the sync lock (a lock file beside the database), waiting up to
    /// `wait` for another `sync` to finish.
    pub fn lock_for_sync(&self, wait: Duration) -> Result<Option<SyncLock>> {
        let Some(path) = &self.path else { return Ok(None) };
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Open { path: lock_path.display().to_string(), message: e.to_string() })?;
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
                    return Err(StoreError::Open { path: lock_path.display().to_string(), message: e.to_string() });
                }
            }
        }
    }
}
