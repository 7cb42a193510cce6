//! What's new and what's read: `read`, `unread`, `show` marking read,
//! `--unread`, `--since last-sync`, the "N more" line, `sync --print-new`
//! and `settings.on_new`.
//!
//! Bol News is synced first (ids 1 Sino Pak, 2 Gwadar, 3 PSX), then Tech
//! Frontier (4 a copy of 1, 5 Graphene).

use serde_json::Value;

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

/// Times of the first and second sync.
const T1: &str = "2021-10-25T12:00:00Z";
const T2: &str = "2021-10-25T13:00:00Z";
const T3: &str = "2021-10-25T14:00:00Z";

struct Setup {
    env: TestEnv,
    _server: Server,
}

fn setup(settings: &str) -> Setup {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/blog.xml", Reply::xml(fixture("republisher-exact.xml")));
    let env = TestEnv::new();
    env.write_config(&format!(
        "{settings}\n[topics.cpec]\nkeywords = [\"CPEC\", \"Gwadar\"]\n\n\
         [[feeds]]\nurl = \"{}\"\nname = \"Bol News\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"Tech Frontier\"\n",
        server.url("/bol.xml"),
        server.url("/blog.xml")
    ));
    Setup { env, _server: server }
}

fn sync_at(env: &TestEnv, now: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["sync"];
    all.extend_from_slice(args);
    let out = env.cmd(&all).env("SYNDIC_NOW", now).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ids(env: &TestEnv, args: &[&str]) -> Vec<i64> {
    let (code, stdout, stderr) = env.run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    let rows: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"));
    rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

fn both_synced() -> Setup {
    let s = setup("");
    assert_eq!(sync_at(&s.env, T1, &["--feed", "Bol News"]).0, 0);
    assert_eq!(sync_at(&s.env, T2, &["--feed", "Tech Frontier"]).0, 0);
    assert_eq!(ids(&s.env, &["list", "--all", "--json"]), [4, 1, 2, 3, 5], "fixture ids as documented above");
    s
}

#[test]
fn show_marks_the_whole_story_read_and_unread_undoes_it() {
    let s = both_synced();
    let env = &s.env;
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [1, 2, 3, 5]);
    // Showing the copy reads the story: its original is no longer unread.
    env.cmd(&["show", "4"]).assert().success();
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [2, 3, 5]);
    let (_, out, _) = env.run(&["list", "--all", "--json"]);
    let read: Vec<(i64, bool)> = serde_json::from_str::<Vec<Value>>(&out)
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["read"].as_bool().unwrap()))
        .collect();
    assert_eq!(read, [(4, true), (1, true), (2, false), (3, false), (5, false)], "the JSON says it");
    let (_, out, _) = env.run(&["show", "--json", "1"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["read"], true);
    assert_eq!(ids(env, &["list", "--unread", "--all", "--json"]), [2, 3, 5]);
    assert_eq!(ids(env, &["search", "--unread", "--json", "graphene OR friendship"]), [5]);
    assert_eq!(ids(env, &["search", "--json", "graphene OR friendship"]).len(), 2);
    // Showing as JSON reads too.
    env.cmd(&["show", "--json", "2"]).assert().success();
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [3, 5]);

    env.cmd(&["unread", "1", "2"]).assert().success().stdout("");
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [1, 2, 3, 5]);
    env.cmd(&["read", "3", "5"]).assert().success();
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [1, 2]);
}

#[test]
fn read_all_narrowed_by_feed_topic_and_date() {
    let s = both_synced();
    let env = &s.env;
    // A feed's entries include its copies: Tech Frontier's copy reads story 1.
    let (code, out, _) = env.run(&["read", "--all", "--feed", "Tech Frontier"]);
    assert_eq!((code, out.as_str()), (0, "marked 2 stories read\n"));
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [2, 3]);
    // 1 Sino Pak and 2 Gwadar are about CPEC; 1 is read already.
    let (_, out, _) = env.run(&["read", "--all", "--topic", "cpec"]);
    assert_eq!(out, "marked 1 story read\n");
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [3]);
    // Before 10-19: PSX (10-18 12:30).
    let (_, out, _) = env.run(&["read", "--all", "--before", "2021-10-19"]);
    assert_eq!(out, "marked 1 story read\n");
    assert!(ids(env, &["list", "--unread", "--json"]).is_empty());
    let (_, out, _) = env.run(&["read", "--all"]);
    assert_eq!(out, "marked 0 stories read\n");
}

#[test]
fn read_errors_say_what_to_do() {
    let s = both_synced();
    let (code, _, err) = s.env.run(&["read", "99"]);
    assert_eq!(code, 1);
    assert!(err.contains("error: no entry with id 99") && err.contains("hint: ids are shown by"), "{err}");
    // Nothing was marked by the failed command, not even the good id before it.
    let (code, _, _) = s.env.run(&["read", "1", "99"]);
    assert_eq!(code, 1);
    assert_eq!(ids(&s.env, &["list", "--unread", "--json"]), [1, 2, 3, 5]);
    let (code, _, err) = s.env.run(&["read"]);
    assert_ne!(code, 0);
    assert!(err.contains("--all"), "{err}");
    let (code, _, err) = s.env.run(&["read", "1", "--topic", "cpec"]);
    assert_eq!(code, 1, "--topic needs --all: {err}");
    assert!(err.contains("hint: write `syndic read --all --topic T`"), "{err}");
    let (code, _, err) = s.env.run(&["unread", "42"]);
    assert_eq!(code, 1);
    assert!(err.contains("no entry with id 42"), "{err}");
}

#[test]
fn a_copy_arriving_after_its_story_was_read_stays_read() {
    let s = setup("");
    let env = &s.env;
    sync_at(env, T1, &["--feed", "Bol News"]);
    env.cmd(&["show", "1"]).assert().success();
    sync_at(env, T2, &["--feed", "Tech Frontier"]);
    assert_eq!(ids(env, &["list", "--all", "--json"])[0], 4, "the copy arrived");
    assert_eq!(ids(env, &["list", "--unread", "--all", "--json"]), [2, 3, 5]);
    assert_eq!(env.query("SELECT read_at IS NOT NULL FROM entries WHERE id = 4")[0][0], "1");
}

#[test]
fn list_says_how_many_more_rows_there_are() {
    let s = both_synced();
    let (code, out, err) = s.env.run(&["list", "--limit", "2"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "header and two rows: {out}");
    assert_eq!(err, "... 2 more; use --limit\n");
    let (_, out, err) = s.env.run(&["list", "--limit", "2", "--all"]);
    assert_eq!((out.lines().count(), err.as_str()), (3, "... 3 more; use --limit\n"));
    // Not when everything fits, and never in JSON.
    assert_eq!(s.env.run(&["list", "--limit", "4"]).2, "");
    let (_, out, err) = s.env.run(&["list", "--limit", "2", "--json"]);
    assert_eq!(err, "");
    assert_eq!(serde_json::from_str::<Vec<Value>>(&out).unwrap().len(), 2);
}

#[test]
fn since_last_sync_lists_what_the_latest_sync_brought() {
    let s = both_synced();
    // The latest sync brought Tech Frontier: the copy 4 and Graphene 5.
    assert_eq!(ids(&s.env, &["list", "--since", "last-sync", "--all", "--json"]), [4, 5]);
    // One row per story: the copy's story is older, so only Graphene is new.
    assert_eq!(ids(&s.env, &["list", "--since", "last-sync", "--json"]), [5]);
    assert_eq!(ids(&s.env, &["search", "--since", "last-sync", "--json", "graphene OR friendship"]), [5]);
    // Before it: what the earlier sync brought.
    assert_eq!(ids(&s.env, &["list", "--until", "last-sync", "--all", "--json"]), [1, 2, 3]);
    let (_, out, _) = s.env.run(&["read", "--all", "--before", "last-sync"]);
    assert_eq!(out, "marked 3 stories read\n");
    assert_eq!(ids(&s.env, &["list", "--unread", "--json"]), [5]);
    // A sync that brings nothing: nothing since it.
    sync_at(&s.env, T3, &[]);
    assert!(ids(&s.env, &["list", "--since", "last-sync", "--json"]).is_empty());
    let (code, _, err) = s.env.run(&["list", "--since", "last-synced"]);
    assert_ne!(code, 0);
    assert!(err.contains("or last-sync"), "{err}");
}

#[test]
fn print_new_prints_one_line_per_new_story_and_nothing_else() {
    let s = setup("");
    let env = &s.env;
    let (code, out, err) = sync_at(env, T1, &["--print-new", "--feed", "Bol News"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with(
            "1  Bol News  Sino Pak Friendship Strengthen With The Technology Revolution  https://www.bolnews.com/"
        ),
        "{out}"
    );
    assert!(!out.contains("synced") && err.is_empty(), "no summary: {out} {err}");
    // Nothing new: nothing at all on stdout (cron sends no mail).
    let (code, out, err) = sync_at(env, T2, &["--print-new", "--feed", "Bol News"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    // A copy of a known story is not a new story; Graphene is.
    let (_, out, _) = sync_at(env, T3, &["--print-new"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("5  Tech Frontier  Graphene"), "{out}");
}

#[test]
fn print_new_can_be_narrowed_to_topics() {
    let s = setup("");
    let (code, out, err) = sync_at(&s.env, T1, &["--print-new", "--topic", "cpec"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "Sino Pak and Gwadar are about CPEC, PSX is not: {out}");
    assert!(out.contains("Gwadar port handles record cargo volume") && !out.contains("PSX"), "{out}");
    let (code, _, err) = sync_at(&s.env, T2, &["--print-new", "--topic", "nope"]);
    assert_eq!(code, 64);
    assert!(err.contains("unknown topic \"nope\"; known topics: cpec"), "{err}");
}

#[test]
fn on_new_gets_the_new_stories_as_json_on_stdin() {
    let s = setup("[settings]\non_new = \"cat > new.json\"\n");
    let env = &s.env;
    let (code, out, err) = sync_at(env, T1, &["--feed", "Bol News"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("synced 1 feed"), "the summary is still printed: {out}");
    let text = std::fs::read_to_string(env.path("new.json")).unwrap();
    let stories: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(stories.len(), 3);
    assert_eq!(stories[0]["title"], "Sino Pak Friendship Strengthen With The Technology Revolution");
    assert_eq!(stories[0]["feed"], "Bol News");
    assert!(stories[0]["url"].as_str().unwrap().starts_with("https://www.bolnews.com/"));
    // Not run when nothing is new.
    std::fs::remove_file(env.path("new.json")).unwrap();
    sync_at(env, T2, &["--feed", "Bol News"]);
    assert!(!env.path("new.json").exists());
}

#[test]
fn a_failing_on_new_command_is_reported() {
    let s = setup("[settings]\non_new = \"cat >/dev/null; exit 3\"\n");
    let (code, _, err) = sync_at(&s.env, T1, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("failed: settings.on_new command `cat >/dev/null; exit 3`: exit status: 3"), "{err}");
}

/// A fake browser: records its arguments in `opened`, one per line, and
/// exits with `status`.
fn fake_browser(env: &TestEnv, status: i32) -> String {
    let script = env.path("browser.sh");
    let record = env.path("opened");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit {status}\n", record.display()))
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script.display().to_string()
}

#[test]
fn open_hands_the_link_to_the_browser_and_marks_the_story_read() {
    let s = both_synced();
    let env = &s.env;
    let browser = fake_browser(env, 0);
    let out = env.cmd(&["open", "4"]).env("BROWSER", &browser).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(env.path("opened")).unwrap(),
        "https://techfrontier.example/2021/10/21/sino-pak-friendship/\n"
    );
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [2, 3, 5], "the story of the copy is read");
    // %s places the link among the browser's arguments.
    let out = env.cmd(&["open", "2"]).env("BROWSER", format!("{browser} --new-tab %s --x")).output().unwrap();
    assert!(out.status.success());
    let opened = std::fs::read_to_string(env.path("opened")).unwrap();
    assert!(opened.starts_with("--new-tab\nhttps://www.bolnews.com/") && opened.ends_with("\n--x\n"), "{opened}");
}

#[test]
fn open_failures_leave_the_story_unread() {
    let s = both_synced();
    let env = &s.env;
    let out = env.cmd(&["open", "3"]).env("BROWSER", fake_browser(env, 1)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("error: cannot open https://www.bolnews.com/") && err.contains("hint: check $BROWSER"),
        "{err}"
    );
    // No $BROWSER and no xdg-open on PATH.
    let empty = env.path("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let out = env.cmd(&["open", "3"]).env("PATH", &empty).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("xdg-open") && err.contains("hint: set $BROWSER"), "{err}");
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [1, 2, 3, 5]);
    let (code, _, err) = env.run(&["open", "77"]);
    assert_eq!(code, 1);
    assert!(err.contains("no entry with id 77"), "{err}");
}

/// Runs `syndic ARGS` on a pseudo-terminal of `rows` rows and 80 columns
/// (util-linux `script`), with `vars` as its whole environment; returns
/// what the terminal showed. `None` (with a note) when `script` is missing;
/// with CI set that is a failure.
fn on_terminal(env: &TestEnv, rows: u16, vars: &[(&str, &str)], args: &[&str]) -> Option<String> {
    let available = std::process::Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success());
    if !available {
        assert!(std::env::var_os("CI").is_none(), "util-linux `script` is needed for the terminal tests");
        eprintln!("note: skipping a terminal test: util-linux `script` is not installed");
        return None;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    vars.extend([
        ("SYNDIC_CONFIG".into(), env.config_path().display().to_string()),
        ("SYNDIC_DB".into(), env.db_path().display().to_string()),
        ("SYNDIC_NOW".into(), crate::common::NOW.into()),
        ("TZ".into(), "UTC".into()),
        ("HOME".into(), env.dir.path().display().to_string()),
    ]);
    let assignments: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
    let binary = assert_cmd::cargo::cargo_bin("syndic").display().to_string();
    let command = format!(
        "stty rows {rows} cols 80; exec env -i {} {} {}",
        assignments.join(" "),
        quote(&binary),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

const OSC8: &str = "\x1b]8;;";

#[test]
fn show_pages_a_long_text_with_clickable_links_on_a_terminal() {
    let s = both_synced();
    let env = &s.env;
    let paged = env.path("paged");
    let pager = format!("cat > '{}'", paged.display());
    let Some(screen) = on_terminal(env, 10, &[("PAGER", &pager), ("TERM", "xterm")], &["show", "1"]) else { return };
    let text = std::fs::read_to_string(&paged).expect("the pager got the text");
    assert!(!screen.contains("Sino Pak"), "nothing but the pager wrote: {screen}");
    assert!(text.contains("Sino Pak Friendship Strengthen With The Technology Revolution"), "{text}");
    assert!(
        text.contains(&format!("{OSC8}https://www.bolnews.com/business/2021/10/sino-pak-friendship-strengthen-with-the-technology-revolution/\x1b\\")),
        "the link is clickable: {text:?}"
    );
    assert!(
        text.contains(&format!("{OSC8}https://techfrontier.example/2021/10/21/sino-pak-friendship/\x1b\\")),
        "{text:?}"
    );
    // Shown through a pager is shown: read.
    assert_eq!(ids(env, &["list", "--unread", "--json"]), [2, 3, 5]);
}

#[test]
fn show_does_not_page_what_fits_nor_link_without_colour() {
    let s = both_synced();
    let env = &s.env;
    let paged = env.path("paged");
    let pager = format!("cat > '{}'", paged.display());
    // 5 Graphene is short: it fits 40 rows.
    let Some(screen) = on_terminal(env, 40, &[("PAGER", &pager), ("TERM", "xterm")], &["show", "5"]) else {
        return;
    };
    assert!(!paged.exists(), "not paged");
    assert!(screen.contains("Graphene membranes for water filtration") && screen.contains(OSC8), "{screen:?}");
    // NO_COLOR: no escape sequences at all; an empty PAGER turns paging off.
    let screen = on_terminal(env, 10, &[("PAGER", ""), ("NO_COLOR", "1"), ("TERM", "xterm")], &["show", "1"]).unwrap();
    assert!(screen.contains("Sino Pak Friendship") && !screen.contains('\x1b'), "{screen:?}");
    assert!(!paged.exists());
    // A pager that does not exist: the text is shown all the same.
    let screen = on_terminal(env, 10, &[("PAGER", "no-such-pager-here"), ("NO_COLOR", "1")], &["show", "1"]).unwrap();
    assert!(screen.contains("Sino Pak Friendship") && screen.contains("Dr Baige added"), "{screen:?}");
    // Piped (the other tests): never a link, even with colour forced.
    let (_, out, _) = env.run(&["show", "1"]);
    assert!(!out.contains('\x1b'), "{out:?}");
    let (_, out, _) = env.run(&["--color", "always", "show", "1"]);
    assert!(out.contains("\x1b[1m") && !out.contains(OSC8), "{out:?}");
}

#[test]
fn show_aligns_the_copies_and_keeps_the_credit_visible_at_80_columns() {
    let env = TestEnv::new();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/feeds.toml").display().to_string();
    env.cmd(&["-c", &demo, "sync"]).assert().success();
    let (_, out, _) = env.run(&["-c", &demo, "list", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let story = rows.iter().find(|r| r["copies"] == 3).expect("the seed story has 3 copies");
    let id = story["id"].to_string();
    let out = env.cmd(&["-c", &demo, "show", &id]).env("COLUMNS", "80").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let places: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("Copies (3)")).skip(1).collect();
    assert_eq!(places.len(), 3, "{text}");
    for line in &places {
        assert!(unicode_width::UnicodeWidthStr::width(*line) <= 80, "fits 80 columns: {line}");
    }
    let credited = places.iter().find(|l| l.contains("Tech Frontier")).unwrap();
    assert!(credited.contains("(credits Bol news)"), "the credit is visible: {credited}");
    // Every link starts in the same column.
    let starts: Vec<usize> = places.iter().map(|l| l.find("http").expect("a link")).collect();
    assert!(starts.iter().all(|s| *s == starts[0]), "aligned: {places:#?}");
}

#[test]
fn print_new_says_when_a_read_story_gains_a_longer_version() {
    let env = TestEnv::new();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/feeds.toml").display().to_string();
    // The aggregator's 55-word excerpt arrives first and is read...
    let sync = |now: &str, feed: &str| {
        let out =
            env.cmd(&["-c", &demo, "sync", "--print-new", "--feed", feed]).env("SYNDIC_NOW", now).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    sync(T1, "CPEC Watch");
    let (_, out, _) = env.run(&["-c", &demo, "list", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let excerpt = rows.iter().find(|r| r["title"].as_str().unwrap().starts_with("Sino Pak")).unwrap()["id"].to_string();
    env.cmd(&["-c", &demo, "read", &excerpt]).assert().success();
    // ...then the full article: not a new story, but said.
    let out = sync(T2, "Bol News");
    let line = out.lines().find(|l| l.contains("Sino Pak")).unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("  Bol News  Sino Pak") && line.ends_with("  (a longer version of a story you read)"),
        "{out}"
    );
    // A copy of the same length (Bol's CPEC feed) is not.
    let out = sync(T3, "Bol News: CPEC");
    assert!(!out.contains("longer version"), "{out}");
    // show says so on the excerpt, not on the full article.
    let (_, shown, _) = env.run(&["-c", &demo, "show", &excerpt]);
    let note = shown.lines().last().unwrap();
    assert!(note.starts_with("A longer version: ") && note.contains("  Bol News ("), "{shown}");
    let full = note.trim_start_matches("A longer version: ").split(' ').next().unwrap().to_owned();
    let (_, shown, _) = env.run(&["-c", &demo, "show", &full]);
    assert!(!shown.contains("A longer version"), "{shown}");
}
