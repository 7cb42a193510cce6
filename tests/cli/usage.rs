//! A well-behaved command line: exit statuses, `--help` with examples,
//! shell completions and the manual page, output that pipes, and the
//! "no network?" message.

use std::io::Write;
use std::process::{Command, Stdio};

use clap::CommandFactory;
use unicode_width::UnicodeWidthStr;

use crate::common::TestEnv;

/// A tool a test needs is missing: in CI (`CI` set) that is a failure, since
/// `.ci/run` installs it; elsewhere the test says so and passes.
fn missing_tool(tool: &str) {
    assert!(std::env::var_os("CI").is_none(), "{tool} is not installed; .ci/run installs it");
    eprintln!("skipped: {tool} is not installed (CI installs it)");
}

fn has_tool(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Every subcommand path (`["sync"]`, `["export", "opml"]`...), from the
/// same definitions the binary parses with.
fn subcommand_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&syndic::cli::Cli::command(), &[], &mut out);
    out
}

/// The offline demo as this environment's feeds.toml, synced (see readme.rs).
fn demo() -> TestEnv {
    let env = TestEnv::new();
    crate::readme::copy_demo(&env);
    crate::readme::sync_demo_as_default(&env);
    env
}

#[test]
fn usage_errors_exit_64_and_help_and_version_exit_0() {
    let env = TestEnv::new();
    env.write_config("");
    // (arguments, exit status, where the text goes: true = stdout)
    let cases: &[(&[&str], i32, bool)] = &[
        (&["--help"], 0, true),
        (&["-h"], 0, true),
        (&["--version"], 0, true),
        (&["help", "list"], 0, true),
        (&["list", "--help"], 0, true),
        (&[], 64, false),
        (&["lsit"], 64, false),
        (&["list", "--bogus"], 64, false),
        (&["list", "--since", "yesterday"], 64, false),
        (&["list", "--limit", "0"], 64, false),
        (&["list", "--json", "--format", "tsv"], 64, false),
        (&["show"], 64, false),
        (&["completions", "tcsh"], 64, false),
    ];
    for (args, status, on_stdout) in cases {
        let (code, out, err) = env.run(args);
        assert_eq!(code, *status, "{args:?}: {out}{err}");
        let text = if *on_stdout { &out } else { &err };
        assert!(!text.is_empty(), "{args:?} printed nothing on {}", if *on_stdout { "stdout" } else { "stderr" });
        if *status == 64 {
            assert!(err.starts_with("error:") || err.contains("Usage:"), "{args:?}: {err}");
        }
    }
}

#[test]
fn unknown_names_on_the_command_line_are_usage_errors_with_a_hint() {
    let env = demo();
    for args in [&["list", "--topic", "nope"][..], &["search", "gwadar", "--feed", "Nope"], &["sync", "--feed", "Nope"]]
    {
        let (code, _, err) = env.run(args);
        assert_eq!(code, 64, "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(lines[0].starts_with("error: unknown") || lines[0].starts_with("error: no feed"), "{err}");
        assert!(lines[1].starts_with("hint: "), "{err}");
    }
}

#[test]
fn help_documents_exit_statuses() {
    let env = TestEnv::new();
    let (_, out, _) = env.run(&["--help"]);
    for line in [
        "Exit status:",
        "0   success",
        "1   a fatal error",
        "2   sync finished but some feeds failed",
        "64  a usage error",
    ] {
        assert!(out.contains(line), "{line:?} missing from --help:\n{out}");
    }
}

#[test]
fn every_subcommand_help_has_examples_and_its_own_options_first() {
    let env = TestEnv::new();
    let paths = subcommand_paths();
    assert!(paths.len() >= 12, "{paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        let examples = out.find("\nExamples:\n").unwrap_or_else(|| panic!("{args:?} has no Examples:\n{out}"));
        // An example runs the subcommand itself.
        let example = &out[examples..];
        assert!(example.contains(&format!("syndic {}", path.join(" "))), "{args:?} examples:\n{example}");
        // Subcommands with subcommands of their own (export) carry no options but --help.
        if out.contains("\nCommands:\n") {
            continue;
        }
        let own = out.find("\nOptions:\n").unwrap_or_else(|| panic!("{args:?}:\n{out}"));
        let global = out.find("\nGlobal options:\n").unwrap_or_else(|| panic!("{args:?}:\n{out}"));
        assert!(own < global && global < examples, "{args:?}: own options, global options, examples:\n{out}");
        assert!(out[global..].contains("--config <PATH>"), "{out}");
        assert!(!out[own..global].contains("--config"), "{args:?}: --config listed among its own options:\n{out}");
    }
}

fn completions(env: &TestEnv, shell: &str) -> String {
    let (code, out, err) = env.run(&["completions", shell]);
    assert_eq!(code, 0, "{err}");
    for sub in ["sync", "list", "search", "export", "completions", "man"] {
        assert!(out.contains(sub), "{shell} completions lack {sub}");
    }
    out
}

/// Runs `shell check_args FILE` on a completion script: it must parse.
fn shell_parses(env: &TestEnv, shell: &str, check_args: &[&str], script: &str) {
    if !has_tool(shell) {
        return missing_tool(shell);
    }
    let path = env.path(&format!("completion.{shell}"));
    std::fs::write(&path, script).unwrap();
    let out = Command::new(shell).args(check_args).arg(&path).output().expect("run the shell");
    assert!(out.status.success(), "{shell} rejects its completion script: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn completions_parse_in_their_shells() {
    let env = TestEnv::new();
    let bash = completions(&env, "bash");
    assert!(bash.contains("complete -F"), "{bash}");
    shell_parses(&env, "bash", &["-n"], &bash);
    // Loading it defines the completion function and registers it.
    if has_tool("bash") {
        let path = env.path("completion.bash");
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("source {} && complete -p syndic", path.display()))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("syndic"), "{out:?}");
    }
    let zsh = completions(&env, "zsh");
    assert!(zsh.starts_with("#compdef syndic"), "{zsh}");
    shell_parses(&env, "zsh", &["-n"], &zsh);
    let fish = completions(&env, "fish");
    shell_parses(&env, "fish", &["--no-execute"], &fish);
    let ps = completions(&env, "powershell");
    assert!(ps.contains("Register-ArgumentCompleter"), "{ps}");
}

#[test]
fn man_page_lists_every_subcommand_and_renders() {
    let env = TestEnv::new();
    let (code, page, err) = env.run(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(page.starts_with(".ie") || page.contains(".TH syndic 1"), "{page}");
    for path in subcommand_paths().iter().filter(|p| p.len() == 1 && p[0] != "help") {
        assert!(page.contains(&format!("syndic\\-{}", path[0])) || page.contains(&path[0]), "{} missing", path[0]);
    }
    // The examples and exit statuses of --help, as sections with their lines kept.
    assert!(page.contains(".SH \"EXAMPLES\"\n.nf\n  syndic init"), "{page}");
    assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    assert!(page.contains("64  a usage error"), "{page}");
    if has_tool("groff") {
        let mut child = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", String::from_utf8_lossy(&out.stderr));
    } else {
        missing_tool("groff");
    }

    // --out-dir: one page per subcommand, as `man` finds them.
    let dir = env.path("man1");
    let (code, _, err) = env.run(&["man", "--out-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for name in ["syndic.1", "syndic-sync.1", "syndic-list.1", "syndic-export-opml.1", "syndic-completions.1"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".TH"), "{name}");
    }
}

#[test]
fn tsv_is_one_whole_line_per_row() {
    let env = demo();
    let (code, out, err) = env.run(&["list", "--format", "tsv", "--all"]);
    assert_eq!(code, 0, "{err}");
    let json: Vec<serde_json::Value> = serde_json::from_str(&env.run(&["list", "--json", "--all"]).1).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), json.len());
    for (line, entry) in lines.iter().zip(&json) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 8, "{line}");
        assert_eq!(fields[0], entry["id"].to_string());
        assert_eq!(fields[1], entry["published"].as_str().unwrap());
        // Whole titles and URLs, even with COLUMNS=100 set: nothing is cut.
        assert_eq!(fields[3], entry["title"].as_str().unwrap());
        assert_eq!(fields[4], entry["url"].as_str().unwrap_or(""));
        assert_eq!(fields[5], entry["duplicate_of"].as_i64().map(|d| d.to_string()).unwrap_or_default());
        assert!(!line.contains('…') && !line.chars().any(|c| c.is_control() && c != '\t'), "{line:?}");
    }
    let (_, search, _) = env.run(&["search", "--format", "tsv", "gwadar"]);
    let first: Vec<&str> = search.lines().next().unwrap().split('\t').collect();
    assert_eq!(first.len(), 10, "{search}");
    assert!(first[8].parse::<f64>().is_ok() && first[9].to_lowercase().contains("gwadar"), "{first:?}");
    // No hits and --format tsv: nothing on stdout, success.
    assert_eq!(env.run(&["search", "--format", "tsv", "nosuchwordanywhere"]).0, 0);
}

#[test]
fn a_pipe_gets_whole_lines_and_a_terminal_width_is_respected() {
    let env = demo();
    // COLUMNS unset and stdout a pipe: nothing is cut.
    let out = env.cmd(&["list", "--all"]).env_remove("COLUMNS").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Sino Pak Friendship Strengthen With The Technology Revolution"), "{text}");
    assert!(!text.contains('…'), "{text}");
    // COLUMNS set: every table fits, down to 40.
    for columns in [40, 50, 64, 80, 120] {
        for args in [&["list", "--all"][..], &["list"], &["feeds"], &["search", "gwadar"]] {
            let out = env.cmd(args).env("COLUMNS", columns.to_string()).output().unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(!text.is_empty(), "{args:?}");
            for line in text.lines() {
                assert!(line.width() <= columns, "{args:?} at {columns}: {line:?} is {} wide", line.width());
            }
        }
    }
}

#[test]
fn all_shows_copies_indented_under_their_original() {
    let env = demo();
    for args in [&["list", "--all"][..], &["search", "--all", "gwadar OR technology"]] {
        let (_, out, _) = env.run(args);
        // The rows (search: without the snippets under them).
        let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty() && !l.starts_with("    ")).collect();
        let copies: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains("copy of")).collect();
        assert!(copies.len() >= 2, "{args:?}:\n{out}");
        for i in copies {
            assert!(lines[i].contains("└ "), "{}", lines[i]);
            let original: &str = lines[i].rsplit("copy of ").next().unwrap().trim();
            // The original is the nearest row above that is not itself a copy.
            let above = lines[..i].iter().rev().find(|l| !l.contains("copy of")).unwrap();
            assert!(
                above.trim_start().starts_with(&format!("{original} ")),
                "{args:?}: {original} is not above:\n{out}"
            );
        }
    }
}

/// Every feed failing to resolve is one "no network?" message, not a wall
/// of per-feed lines. Run in a network namespace of its own (`unshare -n`,
/// no interface but a down loopback), so no DNS query leaves the machine.
#[test]
fn no_network_is_said_once() {
    let env = TestEnv::new();
    let mut toml = String::from("[settings]\ntimeout = \"3s\"\n");
    for i in 1..=4 {
        toml.push_str(&format!("[[feeds]]\nurl = \"https://feed{i}.syndic-test.invalid/rss\"\nname = \"F{i}\"\n"));
    }
    env.write_config(&toml);
    let run = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.push("sync");
        let syndic = env.std_cmd(&args);
        Command::new("unshare")
            .arg("-n")
            .arg(syndic.get_program())
            .args(syndic.get_args())
            .env_clear()
            .envs(syndic.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .current_dir(env.dir.path())
            .output()
    };
    let out = match run(&[]) {
        Ok(out) => out,
        Err(e) => return missing_tool(&format!("unshare ({e})")),
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("unshare failed") || err.contains("Operation not permitted") {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root and can make a network namespace: {err}");
        eprintln!("skipped: this machine does not allow a private network namespace ({err})");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(lines[0], "error: none of the 4 feeds' hosts could be resolved: no network?");
    assert!(lines[1].starts_with("hint: check the network connection and DNS"), "{err}");
    // -v lists the feeds too.
    let out = run(&["-v"]).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed: F3 <https://feed3.syndic-test.invalid/rss>: cannot resolve host"), "{err}");
}
