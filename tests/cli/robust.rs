//! Issue 9, robustness: input that used to panic, hang or corrupt, and the
//! errors that must say what is wrong and what to do. Every test here failed
//! before its fix.

use std::time::{Duration, Instant};

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

fn env_with(server: &Server, feeds: &[(&str, &str)], settings: &str) -> TestEnv {
    let env = TestEnv::new();
    let mut config = format!("[settings]\ntimeout = \"3s\"\n{settings}\n");
    for (path, name) in feeds {
        config.push_str(&format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n\n", server.url(path)));
    }
    env.write_config(&config);
    env
}

/// An env whose one feed is bol-news.xml as a local file, already synced.
fn synced_env() -> TestEnv {
    let env = TestEnv::new();
    let url = env.fixture_file("bol-news.xml");
    env.write_config(&format!("[settings]\nlock_wait = \"1s\"\n[[feeds]]\nurl = \"{url}\"\nname = \"Bol\"\n"));
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    env
}

// --- Panics reachable from input -------------------------------------------

#[test]
fn ages_too_far_back_are_an_error_not_a_panic() {
    let env = synced_env();
    for args in [
        &["list", "--since", "1000000y"][..],
        &["list", "--until", "99999999d"],
        &["search", "rupee", "--since", "1000000y"],
        &["prune", "--older-than", "1000000y"],
        &["export", "json", "--since", "1000000y"],
    ] {
        let (code, _, err) = env.run(args);
        assert_ne!(code, 101, "{args:?} panicked: {err}");
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains("is too far back; the earliest date is "), "{args:?}: {err}");
    }
    // The furthest allowed still works.
    let (code, _, err) = env.run(&["list", "--since", "2000y"]);
    assert_eq!(code, 0, "{err}");
    // The same in feeds.toml, once the feeds are in the database.
    let url = url::Url::from_file_path(env.path("bol-news.xml")).unwrap();
    env.write_config(&format!("[settings]\nkeep = \"1000000y\"\n[[feeds]]\nurl = \"{url}\"\nname = \"Bol\"\n"));
    let (code, _, err) = env.run(&["sync"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`keep`: \"1000000y\" is too far back"), "{err}");
}

#[test]
fn discover_against_a_server_answering_304_is_an_error() {
    let server = Server::start();
    server.route("/", Reply::status(304, ""));
    let env = TestEnv::new();
    let (code, _, err) = env.run(&["discover", &server.url("/")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("HTTP 304") && err.contains("hint:"), "{err}");
}

// --- Hostile input that hangs ----------------------------------------------

fn deep_html(divs: usize) -> String {
    format!("<p>Before the flood.</p>{}<p>deep text</p>", "<div>".repeat(divs))
}

/// See: issue 9: a description of 200,000 unclosed `<div>`s kept `sync`
/// parsing for more than 5 minutes, holding the lock.
#[test]
fn unclosed_html_does_not_freeze_sync() {
    let server = Server::start();
    let item = format!(
        "<item><title>Deep</title><guid>deep-1</guid><description><![CDATA[{}]]></description></item>",
        deep_html(200_000)
    );
    server
        .route("/deep", Reply::xml(format!("<rss version=\"2.0\"><channel><title>Deep</title>{item}</channel></rss>")));
    server.route("/fine", Reply::xml(fixture("bol-news.xml")));
    let env = env_with(&server, &[("/deep", "Deep"), ("/fine", "Fine")], "");
    let started = Instant::now();
    let out = env.cmd(&["sync"]).timeout(Duration::from_secs(120)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "sync took {:?}", started.elapsed());
    // Either the feed's text is kept (degraded to plain paragraphs) or the feed failed; never a hang.
    match out.status.code() {
        Some(0) => {
            let (_, json, _) = env.run(&["list", "--json", "--feed", "Deep"]);
            assert!(json.contains("deep text") || json.contains("Before the flood"), "{json}");
        }
        Some(2) => assert!(err.contains("failed: Deep <"), "{err}"),
        other => panic!("exit {other:?}: {err}"),
    }
    assert_eq!(env.count("SELECT COUNT(*) FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE f.name = 'Fine'"), 3);
}

#[test]
fn discover_on_a_deeply_nested_page_is_fast() {
    let server = Server::start();
    let page = format!(
        "<html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/feed\"></head><body>{}</body></html>",
        deep_html(100_000)
    );
    server.route("/", Reply::html(&page));
    let env = TestEnv::new();
    let started = Instant::now();
    let out = env.cmd(&["discover", &server.url("/")]).timeout(Duration::from_secs(120)).output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "discover took {:?}", started.elapsed());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&server.url("/feed")), "{out:?}");
}

// --- Local files and the configuration file --------------------------------

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let ok = std::process::Command::new("mkfifo").arg(path).status().is_ok_and(|s| s.success());
    assert!(ok, "mkfifo failed");
}

/// See: issue 9: `file:///dev/zero` read until memory ran out; a FIFO
/// blocked past the timeout.
#[cfg(unix)]
#[test]
fn local_feeds_are_held_to_max_body_and_timeout() {
    let env = TestEnv::new();
    let fifo = env.path("feed.fifo");
    mkfifo(&fifo);
    let fifo_url = url::Url::from_file_path(&fifo).unwrap();
    env.write_config(&format!(
        "[settings]\ntimeout = \"2s\"\nmax_body = \"1MiB\"\n\
         [[feeds]]\nurl = \"file:///dev/zero\"\nname = \"Zero\"\n\
         [[feeds]]\nurl = \"{fifo_url}\"\nname = \"Fifo\"\n"
    ));
    let started = Instant::now();
    let out = env.cmd(&["sync"]).timeout(Duration::from_secs(60)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("failed: Zero <file:///dev/zero>: body over 1.0 MiB"), "{err}");
    assert!(err.contains("failed: Fifo <") && err.contains("timed out after 2s"), "{err}");
}

/// See: issue 9: `--config /dev/zero` read 4 GB.
#[cfg(unix)]
#[test]
fn a_config_that_is_not_a_regular_file_is_refused() {
    let env = TestEnv::new();
    let (code, _, err) = env.run(&["--config", "/dev/zero", "sync"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error: /dev/zero is not a regular file"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    let fifo = env.path("feeds.fifo");
    mkfifo(&fifo);
    let out =
        env.cmd(&["--config", fifo.to_str().unwrap(), "feeds"]).timeout(Duration::from_secs(20)).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

// --- export -o ---------------------------------------------------------------

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `syndic ARGS` under `umask 022`.
#[cfg(unix)]
fn run_with_umask(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let cmd = env.std_cmd(args);
    std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .current_dir(env.dir.path())
        .output()
        .unwrap()
}

/// See: issue 9: `export -o` wrote 0600 whatever the umask, replaced a
/// symlink instead of writing through it, and a FIFO with a regular file.
#[cfg(unix)]
#[test]
fn export_to_a_file_keeps_modes_symlinks_and_fifos() {
    use std::os::unix::fs::PermissionsExt;
    let env = synced_env();
    // A new file: 0666 less the umask.
    let new = env.path("new.opml");
    let out = run_with_umask(&env, &["export", "opml", "-o", new.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&new), 0o644);
    // An existing file keeps its mode.
    let old = env.path("old.json");
    std::fs::write(&old, "old").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run_with_umask(&env, &["export", "json", "-o", old.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&old), 0o640);
    assert!(std::fs::read_to_string(&old).unwrap().contains("jsonfeed.org"));
    // A symlink is written through: the link stays, its target changes.
    std::fs::create_dir(env.path("real")).unwrap();
    let target = env.path("real/feeds.opml");
    std::fs::write(&target, "old").unwrap();
    let link = env.path("link.opml");
    std::os::unix::fs::symlink("real/feeds.opml", &link).unwrap();
    env.cmd(&["export", "opml", "-o", link.to_str().unwrap()]).assert().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&target).unwrap().contains("<opml"));
    // A FIFO is written straight into, and stays a FIFO.
    let fifo = env.path("out.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    env.cmd(&["export", "opml", "-o", fifo.to_str().unwrap()]).timeout(Duration::from_secs(30)).assert().success();
    assert!(reader.join().unwrap().contains("<opml"));
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

/// See: issue 9: a U+FFFE/U+FFFF in one feed's own title (legal in JSON
/// Feed) made the OPML export invalid XML.
#[test]
fn opml_export_stays_valid_xml_with_non_characters_in_a_title() {
    let env = TestEnv::new();
    let json = String::from_utf8(fixture("jsonfeed.json")).unwrap().replacen(
        "\"title\": \"Dawn Business (JSON)\"",
        "\"title\": \"Dawn \\uFFFE Business \\uFFFF\"",
        1,
    );
    std::fs::write(env.path("feed.json"), json).unwrap();
    let url = url::Url::from_file_path(env.path("feed.json")).unwrap();
    env.write_config(&format!("[[feeds]]\nurl = \"{url}\"\n"));
    env.cmd(&["sync"]).assert().success();
    let (code, doc, err) = env.run(&["export", "opml"]);
    assert_eq!(code, 0, "{err}");
    assert!(doc.contains("Dawn  Business"), "{doc}");
    assert!(!doc.contains('\u{fffe}') && !doc.contains('\u{ffff}'), "{doc}");
    let mut reader = quick_xml::Reader::from_str(&doc);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("invalid XML: {e}\n{doc}"),
        }
    }
}

// --- The database ------------------------------------------------------------

/// See: issue 9: five syncs at once on a new database: 3-4 failed with
/// "table feeds already exists" or "database is locked".
#[test]
fn concurrent_first_syncs_all_succeed() {
    for _round in 0..3 {
        let env = TestEnv::new();
        let url = env.fixture_file("bol-news.xml");
        env.write_config(&format!("[[feeds]]\nurl = \"{url}\"\nname = \"Bol\"\n"));
        let children: Vec<_> = (0..5)
            .map(|_| {
                env.std_cmd(&["sync"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 3);
    }
}

/// See: issue 9: `--db` at another program's SQLite file printed migration
/// SQL or silently added 17 tables and switched it to WAL.
#[test]
fn another_programs_database_is_refused_and_left_untouched() {
    let env = TestEnv::new();
    let url = env.fixture_file("bol-news.xml");
    env.write_config(&format!("[[feeds]]\nurl = \"{url}\"\n"));
    let other = env.path("places.sqlite");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places (url) VALUES ('https://example.org/');").unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    for args in [&["sync"][..], &["list"], &["doctor"]] {
        let mut all = vec!["--db", other.to_str().unwrap()];
        all.extend_from_slice(args);
        let (code, out, err) = env.run(&all);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        // `doctor` reports it as a finding on stdout, the others as an error.
        let said = if args[0] == "doctor" { out } else { err };
        assert!(said.contains("is not a syndic database (it holds other tables: moz_places)"), "{said}");
        assert!(said.len() < 600, "{said}");
    }
    assert_eq!(std::fs::read(&other).unwrap(), before, "the foreign database was changed");
    assert!(!env.path("places.sqlite-wal").exists());
    // Nor is a file that is not SQLite at all touched.
    let text = env.path("notes.txt");
    std::fs::write(&text, "my notes, not a database\n".repeat(100)).unwrap();
    let (code, _, err) = env.run(&["--db", text.to_str().unwrap(), "sync"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a syndic database (it is not an SQLite database)"), "{err}");
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "my notes, not a database\n".repeat(100));
    // A syndic database is marked as such.
    env.cmd(&["sync"]).assert().success();
    assert_eq!(env.count("PRAGMA application_id"), 0x5359_4e64);
    // One from before the mark is recognised by its tables, and marked.
    rusqlite::Connection::open(env.db_path()).unwrap().pragma_update(None, "application_id", 0).unwrap();
    env.cmd(&["list"]).assert().success();
    assert_eq!(env.count("PRAGMA application_id"), 0x5359_4e64);
}

/// Overwrites the root page of the entries table with garbage.
fn damage(env: &TestEnv) {
    let page = env.count("SELECT rootpage FROM sqlite_master WHERE name = 'entries'") as usize;
    let size = env.count("PRAGMA page_size") as usize;
    let mut bytes = std::fs::read(env.db_path()).unwrap();
    assert!(bytes.len() >= page * size, "database smaller than expected");
    for b in &mut bytes[(page - 1) * size..page * size] {
        *b = 0x5a;
    }
    std::fs::write(env.db_path(), bytes).unwrap();
}

/// See: issue 9: `doctor` on a damaged page printed only "database disk
/// image is malformed"; `sync` said the database "must be writable".
#[test]
fn a_damaged_database_is_reported_as_damaged() {
    let env = synced_env();
    damage(&env);
    let (code, out, err) = env.run(&["doctor"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("PROBLEM  integrity"), "{out}{err}");
    assert!(out.contains("config"), "the report goes on after the damage: {out}");
    // The feed changed, so sync reads and writes entries.
    let feed = env.path("bol-news.xml");
    let text = std::fs::read_to_string(&feed).unwrap();
    std::fs::write(&feed, format!("{text}\n")).unwrap();
    let (code, _, err) = env.run(&["sync"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("malformed") || err.contains("not a database"), "{err}");
    assert!(err.contains("hint: the database file is damaged"), "{err}");
    assert!(!err.contains("must be writable"), "{err}");
    // Read commands say the same, once, with the hint.
    for args in [&["list"][..], &["search", "psx"]] {
        let (code, _, err) = env.run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert_eq!(err.matches("malformed").count(), 1, "{args:?}: {err}");
        assert!(err.contains("hint: the database file is damaged"), "{args:?}: {err}");
    }
}

/// See: issue 9: only `sync` said what to do when the lock is held.
#[test]
fn every_command_that_takes_the_lock_says_what_to_do_when_it_is_held() {
    let env = synced_env();
    let mut lock_path = env.db_path().into_os_string();
    lock_path.push(".lock");
    let lock = std::fs::File::options().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    lock.lock().unwrap();
    for args in [
        &["sync"][..],
        &["prune", "--older-than", "1d"],
        &["doctor", "--repair"],
        &["dedup", "--rebuild"],
        &["remove", "Bol", "--purge"],
    ] {
        let (code, _, err) = env.run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("did not finish within 1s"), "{args:?}: {err}");
        assert!(err.contains("hint: wait for the other syndic command"), "{args:?}: {err}");
    }
}

/// See: issue 9: an empty `SYNDIC_DB=` made every command fail.
#[test]
fn an_empty_syndic_db_is_unset() {
    let env = synced_env();
    let cfg = std::fs::read_to_string(env.config_path()).unwrap();
    env.write_config(&cfg.replace("[settings]\n", "[settings]\ndatabase = \"syndic.db\"\n"));
    let out = env.cmd(&["list"]).env("SYNDIC_DB", "").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("PSX"), "{out:?}");
}

// --- Fetching ----------------------------------------------------------------

/// See: issue 9: the README says a reset connection is retried; it was not.
#[test]
fn a_reset_connection_is_retried() {
    let server = Server::start();
    server.route("/reset", Reply::Sequence(vec![Reply::Reset, Reply::xml(fixture("bol-news.xml"))]));
    let env = env_with(&server, &[("/reset", "Reset")], "");
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(server.hits("/reset"), 2);
}

/// See: issue 9: a Location header with raw UTF-8 gave only "HTTP 301".
#[test]
fn a_location_in_raw_utf8_is_followed() {
    let server = Server::start();
    server.route("/old", Reply::Redirect { status: 302, location: "/café".into() });
    server.route("/caf%C3%A9", Reply::xml(fixture("bol-news.xml")));
    server.route("/nowhere", Reply::status(301, "moved, but where?"));
    let env = env_with(&server, &[("/old", "Moved"), ("/nowhere", "Nowhere")], "");
    let (code, _, err) = env.run(&["sync"]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("failed: Moved"), "{err}");
    assert_eq!(server.hits("/caf%C3%A9"), 1);
    assert!(err.contains("failed: Nowhere <") && err.contains("HTTP 301 redirect without a Location header"), "{err}");
}

/// See: issue 9: a garbage Retry-After gave "the server asks to wait" and nothing after.
#[test]
fn a_garbage_retry_after_is_named() {
    let server = Server::start();
    server.route("/busy", Reply::status(429, "slow down").with_header("Retry-After", "soon-ish"));
    let env = env_with(&server, &[("/busy", "Busy")], "");
    let (code, _, err) = env.run(&["sync"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the server asks to wait, but its Retry-After \"soon-ish\" is not a time"), "{err}");
}

// --- One feed lookup -----------------------------------------------------------

/// See: issue 9: `sync --feed "<feed's own title>"` failed where `list
/// --feed` found it; `--feed ./feeds/x.xml` as in feeds.toml was rejected.
#[test]
fn every_command_finds_a_feed_the_same_ways() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path("feeds")).unwrap();
    std::fs::copy(crate::common::fixture_path("bol-news.xml"), env.path("feeds/x.xml")).unwrap();
    env.write_config("[[feeds]]\nurl = \"./feeds/x.xml\"\n");
    env.cmd(&["sync"]).assert().success();
    for wanted in ["Bol News", "bol news", "./feeds/x.xml"] {
        let (code, _, err) = env.run(&["sync", "--force", "--feed", wanted]);
        assert_eq!(code, 0, "sync --feed {wanted}: {err}");
        let (code, out, err) = env.run(&["list", "--feed", wanted]);
        assert_eq!(code, 0, "list --feed {wanted}: {err}");
        assert!(out.contains("PSX"), "{out}");
    }
    let (code, _, err) = env.run(&["sync", "--feed", "nope"]);
    assert_eq!(code, 64, "an unknown --feed is a usage error");
    assert!(err.contains("no feed is named or has the URL \"nope\"; known feeds: Bol News"), "{err}");
    let (_, _, list_err) = env.run(&["list", "--feed", "nope"]);
    assert_eq!(list_err.lines().next(), err.lines().next(), "one lookup, one message");
}

/// See: issue 11 ("Store text once"): an entry's text is a compressed blob
/// (migration 008). Damaged bytes are never a panic and hide nothing else:
/// the entry is shown without its text, with one warning line that says what
/// mends it; `doctor` names it, and `doctor --repair` then a sync store it whole again.
#[test]
fn a_damaged_entry_text_is_shown_without_it_and_doctor_repair_then_sync_mends_it() {
    let env = synced_env();
    let id = env.count("SELECT MIN(id) FROM entries WHERE body IS NOT NULL").to_string();
    let entries = env.count("SELECT COUNT(*) FROM entries") as usize;
    let warning = format!(
        "warning: entry {id}'s stored text is damaged (shown without it): run `syndic doctor --repair`, then `syndic sync` to fetch it again\n"
    );
    let word = "Pakistan";
    assert!(env.run(&["search", word, "--json"]).1.contains(&format!("\"id\": {id},")), "the entry matches {word}");
    // A deflate stream cut short, an unknown format byte, text instead of a blob.
    for damage in ["substr(body, 1, length(body) / 2)", "X'09' || substr(body, 2)", "'not a blob'"] {
        let conn = rusqlite::Connection::open(env.db_path()).unwrap();
        conn.execute(&format!("UPDATE entries SET body = {damage} WHERE id = ?1"), [&id]).unwrap();
        drop(conn);
        let (code, out, err) = env.run(&["show", &id, "--json"]);
        assert_eq!((code, err.as_str()), (0, warning.as_str()), "{damage}: {out}");
        let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!((shown["text"].as_str(), shown["text_damaged"].as_bool()), (Some(""), Some(true)), "{out}");
        let (code, out, err) = env.run(&["show", &id]);
        assert_eq!((code, err.as_str()), (0, warning.as_str()), "{damage}: {out}");
        assert!(out.contains("Bol"), "the entry's header is shown: {out}");
        // Every other entry is listed, searched and exported as before.
        let (code, out, err) = env.run(&["list", "--all", "--json"]);
        assert_eq!(code, 0, "{damage}: {err}");
        let listed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(listed.len(), entries, "{out}");
        let flagged: Vec<_> =
            listed.iter().filter(|r| r["text_damaged"] == true).map(|r| r["id"].to_string()).collect();
        assert!(flagged.is_empty() || flagged == [id.clone()], "{flagged:?}");
        assert!(
            listed
                .iter()
                .filter(|r| r["id"].as_i64().map(|v| v.to_string()) != Some(id.clone()))
                .all(|r| r.get("text_damaged").is_none()),
            "{out}"
        );
        let (code, out, err) = env.run(&["search", word]);
        assert_eq!(code, 0, "{damage}: {err}");
        assert!(out.lines().count() > 1, "{out}");
        let (code, out, err) = env.run(&["export", "json"]);
        assert_eq!((code, err.as_str()), (0, warning.as_str()), "{damage}");
        let items = serde_json::from_str::<serde_json::Value>(&out).unwrap()["items"].as_array().unwrap().len();
        assert_eq!(items, entries);
        // doctor names it and says what mends it.
        let (code, out, _) = env.run(&["doctor"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("1 entry whose stored text is damaged ({id}: ")), "{out}");
        assert!(out.contains("): `doctor --repair`"), "{out}");
    }
    // doctor --repair makes the next sync fetch the feed whole (the file
    // did not change), and that sync stores the text again.
    let (code, out, err) = env.run(&["doctor", "--repair"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = env.run(&["show", &id, "--json"]);
    assert_eq!((code, err.as_str()), (0, ""), "mended");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(!shown["text"].as_str().unwrap().is_empty() && shown.get("text_damaged").is_none(), "{out}");
    let (code, out, _) = env.run(&["doctor"]);
    assert!(code == 0 && out.contains("no damaged entry texts"), "{out}");
}

/// `doctor --repair` says the next sync fetches the feeds of damaged texts
/// again: so it must, even when the server said its feed stays fresh for an
/// hour (Cache-Control: max-age), which made that sync skip the feed as not
/// due and the text stayed lost until the hour was over.
#[test]
fn doctor_repair_makes_the_next_sync_fetch_a_feed_the_server_called_fresh() {
    let server = Server::start();
    server.route("/cached", Reply::xml(fixture("bol-news.xml")).with_header("Cache-Control", "max-age=3600"));
    let env = env_with(&server, &[("/cached", "Cached")], "");
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let id = env.count("SELECT MIN(id) FROM entries WHERE body IS NOT NULL").to_string();
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute("UPDATE entries SET body = X'09' || substr(body, 2) WHERE id = ?1", [&id]).unwrap();
    drop(conn);
    let (code, out, err) = env.run(&["doctor", "--repair"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(server.hits("/cached"), 2, "{out}");
    let (code, out, err) = env.run(&["show", &id, "--json"]);
    assert_eq!((code, err.as_str()), (0, ""), "mended");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(!shown["text"].as_str().unwrap().is_empty(), "{out}");
}

/// A damaged stretch of the file damages many texts: the warning stays one
/// short line, naming ten entries and counting the rest as `doctor` does (it
/// named every one: `list --all --limit 5000` wrote a line of thousands of ids).
#[test]
fn the_warning_about_many_damaged_texts_names_ten_and_counts_the_rest() {
    let env = TestEnv::new();
    let items: String = (0..14)
        .map(|i| {
            format!(
                "<item><title>Story {i}</title><guid>s{i}</guid><link>https://x.example/{i}</link>\
                 <pubDate>Mon, 18 Oct 2021 {i:02}:00:00 GMT</pubDate>\
                 <description>Story number {i} of a long run about something else each time, item {i}.</description></item>"
            )
        })
        .collect();
    let path = env.path("many.xml");
    std::fs::write(&path, format!("<rss version=\"2.0\"><channel><title>Many</title>{items}</channel></rss>")).unwrap();
    let url = url::Url::from_file_path(&path).unwrap().to_string();
    env.write_config(&format!("[[feeds]]\nurl = \"{url}\"\nname = \"Many\"\n"));
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    assert_eq!(conn.execute("UPDATE entries SET body = X'09' || substr(body, 2)", []).unwrap(), 14);
    drop(conn);
    let (code, out, err) = env.run(&["list", "--all"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        err,
        "warning: the stored texts of entries 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 4 more are damaged (shown without them): \
         run `syndic doctor --repair`, then `syndic sync` to fetch them again\n"
    );
}
