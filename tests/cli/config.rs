//! Mistakes in feeds.toml: one line naming file and line, nothing fetched.

use crate::common::TestEnv;
use crate::server::{Reply, Server};

#[test]
fn typo_in_config_is_one_error_line_and_nothing_is_fetched() {
    let server = Server::start();
    server.route("/feed", Reply::xml(crate::common::fixture("bol-news.xml")));
    let env = TestEnv::new();
    env.write_config(&format!("[[feeds]]\nurl = \"{}\"\nnmae = \"Bol\"\n", server.url("/feed")));
    let (code, stdout, stderr) = env.run(&["sync"]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    let first = stderr.lines().next().unwrap();
    assert!(first.starts_with("error: ") && first.contains("feeds.toml:3: unknown field `nmae`"), "{stderr}");
    assert!(first.contains("expected one of `url`, `name`, `topics`"), "{stderr}");
    assert_eq!(server.hits("/feed"), 0);
    assert!(!env.db_path().exists(), "nothing is written on a bad config");
}

#[test]
fn bad_duration_says_what_to_write() {
    let env = TestEnv::new();
    env.write_config("[settings]\ntimeout = \"thirty\"\n");
    let (code, _, stderr) = env.run(&["sync"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("feeds.toml:2: `timeout` = \"thirty\" is not a duration"), "{stderr}");
    assert!(stderr.contains("write it like \"30s\""), "{stderr}");
}

#[test]
fn missing_config_has_a_hint() {
    let env = TestEnv::new();
    let (code, _, stderr) = env.run(&["sync"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("error: cannot read"), "{stderr}");
    assert!(stderr.contains("hint: create feeds.toml"), "{stderr}");
}

#[test]
fn database_location_follows_flag_then_env_then_settings() {
    let env = TestEnv::new();
    let feed = env.fixture_file("jsonfeed.json");
    env.write_config(&format!("[settings]\ndatabase = \"data/from-settings.db\"\n[[feeds]]\nurl = \"{feed}\"\n"));
    // settings.database, relative to feeds.toml's directory (not the working directory)
    let mut cmd = env.cmd(&["sync"]);
    cmd.env_remove("SYNDIC_DB").current_dir("/");
    cmd.assert().success();
    assert!(env.path("data/from-settings.db").exists());
    // SYNDIC_DB beats settings
    env.cmd(&["sync"]).assert().success();
    assert!(env.db_path().exists());
    // --db beats SYNDIC_DB
    let flag_db = env.path("flag.db");
    env.cmd(&["--db", flag_db.to_str().unwrap(), "sync"]).assert().success();
    assert!(flag_db.exists());
}

#[test]
fn default_database_is_in_the_data_directory() {
    let env = TestEnv::new();
    let feed = env.fixture_file("jsonfeed.json");
    env.write_config(&format!("[[feeds]]\nurl = \"{feed}\"\n"));
    env.cmd(&["sync"]).env_remove("SYNDIC_DB").assert().success();
    assert!(env.path("xdg-data/syndic/syndic.db").exists());
}

#[test]
fn unknown_feed_filter_lists_the_known_ones() {
    let env = TestEnv::new();
    let feed = env.fixture_file("jsonfeed.json");
    env.write_config(&format!("[[feeds]]\nurl = \"{feed}\"\nname = \"Dawn\"\n"));
    let (code, _, stderr) = env.run(&["sync", "--feed", "Daawn"]);
    assert_eq!(code, 64, "a usage error");
    assert!(stderr.contains("no feed is named or has the URL \"Daawn\"; known feeds: Dawn"), "{stderr}");
}
