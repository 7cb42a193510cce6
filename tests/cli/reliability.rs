//! Nothing lost, nothing corrupted: kill -9 at random moments, reads during
//! a sync, doctor, retention with tombstones, rewriting moved feeds.

use std::time::Duration;

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

/// A feed of `n` items with some text each, distinct per feed.
fn big_feed(feed: usize, n: usize) -> String {
    let mut items = String::new();
    for i in 0..n {
        let words: String = (0..120).map(|w| format!("word{} ", (feed * 7919 + i * 104_729 + w * 31) % 5000)).collect();
        items.push_str(&format!(
            "<item><title>Feed {feed} item {i}</title><guid>f{feed}-{i}</guid><link>https://f{feed}.example/{i}</link>\
             <pubDate>Mon, 18 Oct 2021 {:02}:00:00 GMT</pubDate><description>{words}</description></item>",
            i % 24
        ));
    }
    format!("<rss version=\"2.0\"><channel><title>Feed {feed}</title>{items}</channel></rss>")
}

const FEEDS: usize = 40;
const ITEMS: usize = 20;

fn many_feeds(server: &Server, env: &TestEnv) {
    let mut config = String::from("[settings]\nconcurrency = 8\n\n");
    for f in 0..FEEDS {
        let path = format!("/f{f}");
        server.route(&path, Reply::Slow { delay: Duration::from_millis(150), body: big_feed(f, ITEMS).into_bytes() });
        config.push_str(&format!("[[feeds]]\nurl = \"{}\"\nname = \"Feed {f}\"\n\n", server.url(&path)));
    }
    env.write_config(&config);
}

#[test]
fn kill_9_at_any_moment_loses_nothing_committed_and_a_rerun_completes() {
    let server = Server::start();
    let env = TestEnv::new();
    many_feeds(&server, &env);
    let mut interrupted = 0;
    for delay_ms in [30u64, 120, 250, 400, 600, 900] {
        let mut child = env
            .std_cmd(&["sync", "-q"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Killed before the database (or its first migration) was written: nothing to lose.
        if !env.db_path().exists() || env.count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'feeds'") == 0 {
            continue;
        }
        assert_eq!(env.query("PRAGMA integrity_check"), [["ok"]], "after kill at {delay_ms} ms");
        // Killed before the schema's first transaction committed (a loaded
        // machine starts slowly): an empty database, which the rerun fills.
        if env.count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'feeds'") == 0 {
            continue;
        }
        // Every feed's entries were written whole or not at all, with its state.
        for row in env.query(
            "SELECT f.name, f.last_success IS NOT NULL, (SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id) FROM feeds f",
        ) {
            let (synced, n) = (row[1] == "1", row[2].parse::<usize>().unwrap());
            assert!(n == 0 || n == ITEMS, "{} has {n} entries after kill at {delay_ms} ms", row[0]);
            assert_eq!(synced, n == ITEMS, "{}: state and entries agree", row[0]);
        }
        let done = env.count("SELECT COUNT(*) FROM feeds WHERE last_success IS NOT NULL") as usize;
        interrupted += usize::from(done < FEEDS);
    }
    assert!(interrupted >= 2, "the kills must land while syncs are running ({interrupted})");
    let (code, _, err) = env.run(&["sync", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), (FEEDS * ITEMS) as i64);
    assert_eq!(env.query("PRAGMA integrity_check"), [["ok"]]);
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn list_and_search_work_while_a_sync_writes() {
    let server = Server::start();
    let env = TestEnv::new();
    many_feeds(&server, &env);
    env.cmd(&["sync", "-q", "--feed", "Feed 0"]).assert().success();
    let mut child = env.std_cmd(&["sync", "-q"]).stdout(std::process::Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        let (code, out, err) = env.run(&["list", "--json", "--limit", "5"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with('['));
        env.cmd(&["search", "word1"]).assert().success();
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(child.wait().unwrap().success());
}

#[test]
fn doctor_finds_and_repairs_damage() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    env.write_config(&format!("[[feeds]]\nurl = \"{}\"\nname = \"Bol\"\n", server.url("/bol.xml")));
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("does not exist yet"), "{out}");
    env.cmd(&["sync"]).assert().success();
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok       integrity") && out.contains("ok       schema"), "{out}");

    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute("DELETE FROM entries_fts WHERE rowid = (SELECT MIN(id) FROM entries)", []).unwrap();
    drop(conn);
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 1);
    assert!(out.contains("PROBLEM  search index   1 entries missing from the search index"), "{out}");
    assert!(out.contains("run `syndic doctor --repair`"), "{out}");
    let (code, out, _) = env.run(&["doctor", "--repair"]);
    assert_eq!(code, 0, "{out}");
    env.run(&["search", "Gwadar"]).1.contains("Gwadar").then_some(()).expect("search works again");

    env.write_config("[[feeds]]\nurl = \"nope\"\n");
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 1);
    assert!(out.contains("PROBLEM  config") && out.contains("has no scheme"), "{out}");
}

#[test]
fn prune_keeps_originals_of_newer_copies_and_tombstones_stop_them_returning() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/blog.xml", Reply::xml(fixture("republisher-exact.xml")));
    let env = TestEnv::new();
    env.write_config(&format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Bol\"\n[[feeds]]\nurl = \"{}\"\nname = \"Blog\"\n",
        server.url("/bol.xml"),
        server.url("/blog.xml")
    ));
    env.cmd(&["sync"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 5);
    let (code, _, err) = env.run(&["prune"]);
    assert_eq!(code, 1);
    assert!(err.contains("hint: set `keep = \"180d\"`"), "{err}");
    // NOW is 2021-10-25 12:00: 5 days ago is 10-20 12:00.
    let (_, out, _) = env.run(&["prune", "--older-than", "5d", "--dry-run"]);
    assert_eq!(out.trim(), "would delete 3 entries published before 2021-10-20 12:00");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 5);
    let (code, out, _) = env.run(&["prune", "--older-than", "5d"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("deleted 3 entries"), "{out}");
    // The seed original (10-20 04:15) stays: its copy (10-21) is newer.
    let left = env.query("SELECT title FROM entries ORDER BY published");
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|r| r[0].starts_with("Sino Pak")), "{left:?}");
    env.cmd(&["sync", "--force"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 2, "tombstones keep pruned entries out");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries_fts"), 2);

    // settings.keep prunes after each sync.
    env.write_config(&format!(
        "[settings]\nkeep = \"2d\"\n[[feeds]]\nurl = \"{}\"\nname = \"Bol\"\n",
        server.url("/bol.xml")
    ));
    env.cmd(&["sync", "--force"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 0);
}

#[test]
fn fix_redirects_rewrites_feeds_toml_keeping_comments() {
    let server = Server::start();
    server.route("/old", Reply::Redirect { status: 308, location: "/new".into() });
    server.route("/new", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    let config = format!(
        "# my feeds\n[[feeds]]\nurl = \"{}\"   # Bol's feed\nname = \"Bol\"\ntopics = [\"pakistan\"]\n",
        server.url("/old")
    );
    env.write_config(&config);
    // A file others read (a cron user's, a group's): it keeps its mode, as with `add` and
    // `remove` (it became 0600, the temporary file's).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    env.cmd(&["sync"]).assert().success();
    let (code, out, _) = env.run(&["feeds", "--fix-redirects"]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("{} -> {}", server.url("/old"), server.url("/new"))), "{out}");
    let rewritten = std::fs::read_to_string(env.config_path()).unwrap();
    assert_eq!(rewritten, config.replace("/old", "/new"));
    let mode = std::fs::metadata(env.config_path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "{mode:o}");
    // The feed keeps its entries under the new URL, and nothing is fetched twice.
    env.cmd(&["sync", "--force"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM feeds"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 3);
    assert_eq!(server.hits("/old"), 1);
    let (_, out, _) = env.run(&["feeds", "--fix-redirects"]);
    assert_eq!(out.trim(), "no feed has moved");
}

/// Moves that would list a URL twice in feeds.toml, or that the database
/// cannot follow, are planned away before anything is written: the file
/// stays valid, the database consistent, and each case says what to do.
#[test]
fn fix_redirects_never_lists_a_feed_twice_nor_half_applies() {
    let server = Server::start();
    for (from, to) in [("/a", "/main"), ("/b1", "/shared"), ("/b2", "/shared"), ("/d", "/new-d"), ("/e", "/main/")] {
        server.route(from, Reply::Redirect { status: 308, location: to.into() });
    }
    for path in ["/main", "/main/", "/shared", "/new-d"] {
        server.route(path, Reply::xml(fixture("bol-news.xml")));
    }
    let env = TestEnv::new();
    let feed = |path: &str, name: &str| format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n", server.url(path));
    // /new-d was followed once, then removed from feeds.toml without --purge.
    env.write_config(&feed("/new-d", "D new"));
    env.cmd(&["sync"]).assert().success();
    let config = [
        feed("/main", "Main"),
        feed("/a", "A"),
        feed("/b1", "B1"),
        feed("/b2", "B2"),
        feed("/d", "D"),
        feed("/e", "E"),
    ]
    .concat();
    env.write_config(&config);
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = env.run(&["feeds", "--fix-redirects"]);
    assert_eq!(code, 0, "{out}{err}");
    let (a, main) = (server.url("/a"), server.url("/main"));
    assert!(
        err.contains(&format!("note: A <{a}> moved to <{main}>, which feeds.toml already lists (as Main): left as it is; remove the old one with `syndic remove {a}`")),
        "{err}"
    );
    assert!(err.contains(&format!("<{}>, where another feed of feeds.toml moved too", server.url("/shared"))), "{err}");
    // The same URL but for a trailing slash is the same feed.
    let e = server.url("/e");
    assert!(
        err.contains(&format!("note: E <{e}> moved to <{main}/>, which feeds.toml already lists (as Main)")),
        "{err}"
    );
    let (d, new_d) = (server.url("/d"), server.url("/new-d"));
    assert!(err.contains(&format!("note: the database already holds <{new_d}>")), "{err}");
    assert!(out.contains(&format!("{d} -> {new_d}")) && out.contains("updated 2 feed URLs"), "{out}");
    let rewritten = std::fs::read_to_string(env.config_path()).unwrap();
    let once = |path: &str| rewritten.matches(&format!("\"{}\"", server.url(path))).count();
    assert_eq!(
        (once("/main"), once("/a"), once("/shared"), once("/d"), once("/new-d")),
        (1, 1, 1, 0, 1),
        "{rewritten}"
    );
    assert_eq!(once("/b1") + once("/b2"), 1, "{rewritten}");
    assert_eq!((once("/e"), once("/main/")), (1, 0), "{rewritten}");
    // The database: D's old row stays with its entries (an orphan now), its move forgotten.
    assert_eq!(env.count(&format!("SELECT COUNT(*) FROM feeds WHERE url = '{d}' AND moved_to IS NULL")), 1);
    assert_eq!(env.count(&format!("SELECT COUNT(*) FROM feeds WHERE url = '{new_d}'")), 1);
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "the rewritten feeds.toml is valid: {out}{err}");
    let (code, out, _) = env.run(&["feeds", "--orphans"]);
    assert!(code == 0 && out.contains(&d), "{out}");
}

/// A redirect whose Location carries a #fragment: feeds.toml URLs are read
/// without one, so the move must be recorded and written without it too.
/// It was written with it: a feed moved to a URL feeds.toml already lists
/// made feeds.toml list it twice (every command failed), and another one's
/// row kept the fragment, so the next sync stored all its entries again
/// under a new feed.
#[test]
fn fix_redirects_drops_the_fragment_of_a_redirects_location() {
    let server = Server::start();
    server.route("/a", Reply::Redirect { status: 308, location: "/main#top".into() });
    server.route("/d", Reply::Redirect { status: 301, location: "/new-d#x".into() });
    for path in ["/main", "/new-d"] {
        server.route(path, Reply::xml(fixture("bol-news.xml")));
    }
    let env = TestEnv::new();
    let feed = |path: &str, name: &str| format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n", server.url(path));
    env.write_config(&[feed("/main", "Main"), feed("/a", "A"), feed("/d", "D")].concat());
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (main, new_d) = (server.url("/main"), server.url("/new-d"));
    // `add` of a URL that moved to a listed one says so (it said the file would list it twice).
    server.route("/c", Reply::Redirect { status: 301, location: "/main#c".into() });
    let (code, _, err) = env.run(&["add", &server.url("/c")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("error: {main} is already in")) && err.contains("as \"Main\""), "{err}");
    let (code, out, err) = env.run(&["feeds", "--fix-redirects"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains(&format!("moved to <{main}>, which feeds.toml already lists (as Main)")), "{err}");
    assert!(out.contains(&format!("{} -> {new_d}\n", server.url("/d"))) && out.contains("updated 1 feed URL"), "{out}");
    let rewritten = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!rewritten.contains('#'), "{rewritten}");
    let entries = env.count("SELECT COUNT(*) FROM entries");
    let (code, out, err) = env.run(&["sync", "--force"]);
    assert_eq!(code, 0, "the rewritten feeds.toml is valid: {out}{err}");
    assert_eq!(env.count(&format!("SELECT COUNT(*) FROM feeds WHERE url = '{new_d}'")), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM feeds WHERE url LIKE '%#%'"), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), entries, "nothing stored twice");
}

/// When the database cannot follow (here a trigger stands in for a full disk
/// or a failing write), feeds.toml is left as it was: the file is written
/// inside the database's transaction. It was rewritten first, so the next
/// sync made a new feed of the new URL and fetched every entry again, and
/// `--fix-redirects` then had nothing left to fix.
#[test]
fn fix_redirects_leaves_feeds_toml_alone_when_the_database_cannot_follow() {
    let server = Server::start();
    server.route("/old", Reply::Redirect { status: 308, location: "/new".into() });
    server.route("/new", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    let config = format!("[[feeds]]\nurl = \"{}\"\nname = \"Bol\"\n", server.url("/old"));
    env.write_config(&config);
    env.cmd(&["sync"]).assert().success();
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER no_moves BEFORE UPDATE OF url ON feeds BEGIN SELECT RAISE(ABORT, 'cannot write'); END;",
    )
    .unwrap();
    let (code, out, err) = env.run(&["feeds", "--fix-redirects"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert!(!out.contains(" -> "), "nothing was rewritten: {out}");
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), config);
    conn.execute_batch("DROP TRIGGER no_moves").unwrap();
    drop(conn);
    let (code, out, err) = env.run(&["feeds", "--fix-redirects"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("updated 1 feed URL"), "{out}");
    env.cmd(&["sync", "--force"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM feeds"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 3);
}

/// Chained moves (A moved to B's old URL, B moved on to C) are both made,
/// whatever order the feeds are listed in, and each keeps its entries.
#[test]
fn fix_redirects_follows_chained_moves_in_any_order() {
    let server = Server::start();
    for path in ["/a", "/b", "/c"] {
        server.route(path, Reply::xml(fixture("bol-news.xml")));
    }
    let env = TestEnv::new();
    let feed = |path: &str, name: &str| format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n", server.url(path));
    env.write_config(&[feed("/a", "A"), feed("/b", "B")].concat());
    env.cmd(&["sync"]).assert().success();
    // B moved to /c (a redirect seen once), then A to B's old URL.
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    for (from, to) in [("/a", "/b"), ("/b", "/c")] {
        conn.execute("UPDATE feeds SET moved_to = ?2 WHERE url = ?1", [server.url(from), server.url(to)]).unwrap();
    }
    drop(conn);
    let entries_of = |env: &TestEnv, path: &str| {
        env.count(&format!(
            "SELECT COUNT(*) FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE f.url = '{}'",
            server.url(path)
        ))
    };
    let a_entries = entries_of(&env, "/a");
    assert!(a_entries > 0);
    let (code, out, err) = env.run(&["feeds", "--fix-redirects"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("note:"), "{err}");
    assert!(out.contains("updated 2 feed URLs"), "{out}");
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), [feed("/b", "A"), feed("/c", "B")].concat());
    // A's row is under /b now, B's under /c, each with its entries.
    assert_eq!((entries_of(&env, "/a"), entries_of(&env, "/b")), (0, a_entries));
    assert!(entries_of(&env, "/c") > 0);
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// A full disk: a 600 KiB tmpfs in a mount namespace of the test's own.
#[test]
fn a_full_disk_is_a_clear_fatal_error_and_loses_nothing() {
    let env = TestEnv::new();
    let small = env.fixture_file("bol-news.xml");
    let items: String = (0..300)
        .map(|i| {
            format!(
                "<item><title>Item {i}</title><guid>g{i}</guid><description>{}</description></item>",
                format!("word{i} ").repeat(200)
            )
        })
        .collect();
    std::fs::write(
        env.path("big.xml"),
        format!("<rss version=\"2.0\"><channel><title>Big</title>{items}</channel></rss>"),
    )
    .unwrap();
    let big = url::Url::from_file_path(env.path("big.xml")).unwrap();
    env.write_config(&format!(
        "[[feeds]]\nurl = \"{small}\"\nname = \"Small\"\n[[feeds]]\nurl = \"{big}\"\nname = \"Big\"\n"
    ));
    let mount = env.path("disk");
    std::fs::create_dir_all(&mount).unwrap();
    let db = mount.join("syndic.db");
    let bin = assert_cmd::cargo::cargo_bin("syndic");
    let script = format!(
        "mount -t tmpfs -o size=600k tmpfs '{m}' || exit 99\n\
         '{b}' --db '{d}' sync --feed Small >/dev/null || exit 98\n\
         '{b}' --db '{d}' sync; echo \"sync exit $?\"\n\
         '{b}' --db '{d}' doctor; echo \"doctor exit $?\"\n\
         '{b}' --db '{d}' list --json --feed Small | grep -c '\"id\"'",
        m = mount.display(),
        b = bin.display(),
        d = db.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SYNDIC_CONFIG", env.config_path())
        .env("HOME", env.dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run unshare");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.code() == Some(99) || stderr.contains("unshare failed") {
        crate::common::skip(&format!("a private tmpfs (unshare -m) to fill up ({})", stderr.trim()));
        return;
    }
    assert!(stdout.contains("sync exit 1"), "{stdout}{stderr}");
    assert!(stderr.contains("error: database error: database or disk is full"), "{stderr}");
    assert!(stderr.contains("hint: free space on the disk holding"), "{stderr}");
    assert!(stdout.contains("ok       integrity") && stdout.contains("doctor exit 0"), "{stdout}");
    assert!(stdout.trim_end().ends_with('3'), "the feed saved before the disk filled is kept: {stdout}");
}
