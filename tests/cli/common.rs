//! The test environment: a temp dir holding feeds.toml and the database,
//! and a `syndic` command with a clean, pinned environment.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// "Now" for every test run, so dates and `--since` are reproducible.
pub const NOW: &str = "2021-10-25T12:00:00Z";

pub struct TestEnv {
    pub dir: TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("feeds.toml")
    }

    pub fn db_path(&self) -> PathBuf {
        self.path("syndic.db")
    }

    /// Writes feeds.toml (with a short timeout unless the text sets one).
    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.config_path(), toml).expect("write config");
    }

    /// Copies a fixture into the temp dir and returns its file:// URL.
    pub fn fixture_file(&self, name: &str) -> String {
        let dest = self.path(name);
        std::fs::copy(fixture_path(name), &dest).expect("copy fixture");
        url::Url::from_file_path(&dest).unwrap().to_string()
    }

    /// `syndic ARGS` in a clean environment pointing at this test's files.
    pub fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_cmd(args))
    }

    /// The same as a `std::process::Command`, for spawning in the background.
    pub fn std_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("syndic"));
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.path("xdg-data"))
            .env("SYNDIC_CONFIG", self.config_path())
            .env("SYNDIC_DB", self.db_path())
            .env("SYNDIC_NOW", NOW)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("TZ", "UTC")
            .current_dir(self.dir.path())
            .args(args);
        cmd
    }

    /// Runs `syndic ARGS`, returning (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().expect("run syndic");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a query on the database and returns the rows as strings.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let conn = rusqlite::Connection::open(self.db_path()).expect("open db");
        let mut stmt = conn.prepare(sql).expect("prepare");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        let v: rusqlite::types::Value = r.get(i)?;
                        Ok(match v {
                            rusqlite::types::Value::Null => "NULL".to_owned(),
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Real(f) => f.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            rusqlite::types::Value::Blob(_) => "<blob>".to_owned(),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.query(sql)[0][0].parse().expect("a number")
    }
}

/// Ends a test whose resource (a namespace, a tool, a corpus) is not
/// available here. When `CI` is set that is a failure. Elsewhere the note is
/// written straight to stderr, which the test harness does not capture, so
/// that `cargo test` shows it (an `eprintln!` would show only with
/// `--nocapture`).
pub fn skip(reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{reason}: not available, and CI is set, where nothing may be skipped");
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("\nSKIPPED {test}: {reason}\n").as_bytes());
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds").join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).expect("fixture")
}
