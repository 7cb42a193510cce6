//! The README's examples are what the build prints: every fenced block that
//! follows a `<!-- check -->` line is run against the offline demo and its
//! output compared with the block.
//!
//! A checked block holds one or more `$ COMMAND` lines, each followed by
//! what it prints (stdout, then stderr). A command is a shell command line
//! (pipes to `head`, `cut` or `jq` work) in which `syndic` is the binary
//! under test; it runs in a copy of the repository's `demo/` under
//! `/tmp/syndic-XXXXXX/` (the six random characters are written `XXXXXX` in
//! the README), with the test environment's pinned clock, `TZ=UTC`,
//! `COLUMNS=100` and `NO_COLOR`.
//!
//! - `<!-- check -->`: runs in the demo synced once for the whole README;
//! - `<!-- check: fresh -->`: runs in a copy of the demo not synced yet.
//!
//! After a change of output, regenerate every checked block with
//! `UPDATE_README=1 cargo test --test cli readme` and read the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TestEnv;

/// The repository's demo directory.
fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo")
}

/// Copies `demo/feeds.toml` and `demo/feeds/` into `env`'s directory as `demo/`.
pub fn copy_demo(env: &TestEnv) {
    let to = env.path("demo");
    std::fs::create_dir_all(to.join("feeds")).unwrap();
    std::fs::copy(demo_dir().join("feeds.toml"), to.join("feeds.toml")).unwrap();
    for file in std::fs::read_dir(demo_dir().join("feeds")).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), to.join("feeds").join(file.file_name())).unwrap();
    }
}

/// Syncs the demo copied into `env` as a reader would
/// (`--config demo/feeds.toml`, database `demo/demo.db`).
///
/// One plain `sync`: feeds are written in the order of feeds.toml (see
/// `sync::order`), so the ids are the same every time (issue 10: "the demo
/// is reproducible").
pub fn sync_demo(env: &TestEnv) {
    // One plain sync, as the README's first command: feeds are written in
    // the order of feeds.toml, so the ids are the same every time.
    env.cmd(&["--config", "demo/feeds.toml", "sync"]).env_remove("SYNDIC_DB").assert().success();
}

/// Makes `env`'s own feeds.toml the demo's (feeds in `demo/feeds/`, the
/// database the test environment's) and syncs it the same way.
pub fn sync_demo_as_default(env: &TestEnv) {
    let toml = std::fs::read_to_string(demo_dir().join("feeds.toml")).unwrap();
    let toml = toml.replace("\"./feeds/", "\"./demo/feeds/").replace("database = \"demo.db\"", "");
    env.write_config(&toml);
    env.cmd(&["sync"]).assert().success();
}

/// A test environment under `/tmp/syndic-XXXXXX`, so that paths in the
/// output have the same width as in the README.
fn readme_env() -> TestEnv {
    let dir = tempfile::Builder::new().prefix("syndic-").rand_bytes(6).tempdir_in("/tmp").expect("temp dir in /tmp");
    let env = TestEnv { dir };
    copy_demo(&env);
    env
}

/// A checked block of the README: the lines between its fences.
struct Block {
    /// Index of the first line after the opening fence.
    start: usize,
    /// Index of the closing fence.
    end: usize,
    fresh: bool,
}

fn checked_blocks(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(rest) = line.strip_prefix("<!-- check").and_then(|r| r.strip_suffix("-->")) {
            let fresh = match rest.trim() {
                "" => false,
                ": fresh" => true,
                other => panic!("README.md:{}: unknown check mode {other:?}", i + 1),
            };
            assert!(
                lines.get(i + 1).is_some_and(|l| l.starts_with("```")),
                "README.md:{}: no fence after check",
                i + 1
            );
            let start = i + 2;
            let end = (start..lines.len())
                .find(|&j| lines[j].starts_with("```"))
                .unwrap_or_else(|| panic!("README.md:{}: unclosed block", i + 2));
            blocks.push(Block { start, end, fresh });
            i = end;
        }
        i += 1;
    }
    blocks
}

/// `(command, expected output)` pairs of a block.
fn commands(lines: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in lines {
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.push((cmd.to_owned(), Vec::new()));
        } else {
            out.last_mut().expect("a checked block starts with `$ command`").1.push(line);
        }
    }
    out.into_iter().map(|(c, o)| (c, o.join("\n"))).collect()
}

/// Runs a README command line in `env`, `syndic` being the binary under test.
fn run(env: &TestEnv, cmdline: &str) -> String {
    let syndic = env.std_cmd(&[]);
    let bin_dir = Path::new(syndic.get_program()).parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    for tool in ["jq", "cut", "head"] {
        if cmdline.contains(&format!("| {tool}")) && which(tool).is_none() {
            assert!(std::env::var_os("CI").is_none(), "the README runs {tool}; .ci/run installs it");
            eprintln!("skipped: {tool} is not installed");
            return String::from("(skipped)");
        }
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmdline)
        .env_clear()
        .envs(syndic.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        // As a reader runs it: the database named by demo/feeds.toml.
        .env_remove("SYNDIC_DB")
        .env_remove("SYNDIC_CONFIG")
        .env("PATH", path)
        .current_dir(env.dir.path())
        .output()
        .expect("run sh");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let text = text.trim_end().to_owned();
    // The temp dir's random part, as the README writes it (also when a table cut it short).
    let name = env.dir.path().file_name().unwrap().to_str().unwrap();
    let random = name.strip_prefix("syndic-").unwrap();
    let mut text = text;
    for k in (1..=random.len()).rev() {
        text = text.replace(&format!("/tmp/syndic-{}", &random[..k]), &format!("/tmp/syndic-{}", "X".repeat(k)));
    }
    text
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(tool)).find(|p| p.is_file())
}

/// What may differ between two runs of the same build: the time a sync took.
fn normalise(text: &str) -> String {
    let elapsed = regex::Regex::new(r"in \d+\.\ds\b").unwrap();
    text.lines().map(|l| elapsed.replace_all(l.trim_end(), "in 0.0s").into_owned()).collect::<Vec<_>>().join("\n")
}

#[test]
fn readme_examples_are_the_real_output() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let blocks = checked_blocks(&lines);
    assert!(blocks.len() >= 8, "the README's examples are marked <!-- check --> ({} found)", blocks.len());
    let update = std::env::var_os("UPDATE_README").is_some_and(|v| !v.is_empty());

    let demo = readme_env();
    sync_demo(&demo);
    let mut new_lines: Vec<String> = Vec::new();
    let mut copied = 0;
    let mut failures = Vec::new();
    for block in &blocks {
        new_lines.extend(lines[copied..block.start].iter().map(|l| l.to_string()));
        let fresh_env;
        let env = if block.fresh {
            fresh_env = readme_env();
            &fresh_env
        } else {
            &demo
        };
        for (cmd, expected) in commands(&lines[block.start..block.end]) {
            let actual = run(env, &cmd);
            if actual == "(skipped)" {
                new_lines.push(format!("$ {cmd}"));
                new_lines.extend(expected.lines().map(str::to_owned));
                continue;
            }
            if normalise(&actual) != normalise(&expected) {
                failures.push(format!(
                    "README.md:{}: `{cmd}`\n--- README\n{expected}\n--- the build prints\n{actual}\n",
                    block.start + 1
                ));
            }
            new_lines.push(format!("$ {cmd}"));
            new_lines.extend(actual.lines().map(|l| l.trim_end().to_owned()));
        }
        copied = block.end;
    }
    new_lines.extend(lines[copied..].iter().map(|l| l.to_string()));
    if update {
        let mut text = new_lines.join("\n");
        text.push('\n');
        if text != readme {
            std::fs::write(&readme_path, text).unwrap();
            eprintln!("README.md: {} examples regenerated", failures.len());
        }
        return;
    }
    assert!(
        failures.is_empty(),
        "{} README examples differ from the build's output; regenerate them with \
         `UPDATE_README=1 cargo test --test cli readme` and review the diff:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn readme_checks_can_fail() {
    // The comparison sees a changed word, and only the elapsed time is forgiven.
    assert_ne!(normalise("ID  TITLE\n1  Gwadar"), normalise("ID  TITLE\n1  Gwadr"));
    assert_eq!(normalise("synced 6 feeds: 1 new in 0.4s"), normalise("synced 6 feeds: 1 new in 12.0s"));
    let lines = ["<!-- check: fresh -->", "```text", "$ syndic list", "out", "$ syndic feeds", "```"];
    let blocks = checked_blocks(&lines);
    assert_eq!((blocks.len(), blocks[0].start, blocks[0].end, blocks[0].fresh), (1, 2, 5, true));
    assert_eq!(
        commands(&lines[2..5]),
        [("syndic list".to_owned(), "out".to_owned()), ("syndic feeds".to_owned(), String::new())]
    );
}
