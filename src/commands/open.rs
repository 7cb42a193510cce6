//! `syndic open ID`: the entry's link in the browser, and the story read.

use std::process::{Command, ExitCode, Stdio};

use super::reading::not_found;
use super::{user_error, Context};
use crate::cli::OpenArgs;
use crate::model::EntryId;
use crate::output::safe_text;

pub(crate) fn run(ctx: &Context, args: &OpenArgs) -> anyhow::Result<ExitCode> {
    let (_, mut store) = ctx.read_store()?;
    let id = EntryId(args.id);
    let Some(detail) = store.entry(id)? else {
        return Err(not_found(crate::error::StoreError::NotFound(format!("no entry with id {}", args.id))));
    };
    let Some(link) = detail.row.url.clone() else {
        return Err(user_error(format!("entry {id} has no link"), Some(format!("`syndic show {id}` shows its text"))));
    };
    let Some(url) = web_link(&link) else {
        return Err(user_error(
            format!("entry {id} links to {}, not a web page; not opening it", safe_text(&link)),
            None,
        ));
    };
    let browser = std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty());
    let candidates = match &browser {
        Some(b) => browser_commands(b, &url),
        None if cfg!(target_os = "macos") => vec![vec!["open".to_owned(), url.clone()]],
        None => vec![vec!["xdg-open".to_owned(), url.clone()]],
    };
    let mut failures = Vec::new();
    for argv in &candidates {
        let Some((program, rest)) = argv.split_first() else { continue };
        match Command::new(program).args(rest).stdin(Stdio::inherit()).status() {
            Ok(status) if status.success() => {
                super::reading::mark_shown(&mut store, id, ctx.now);
                return Ok(ExitCode::SUCCESS);
            }
            Ok(status) => failures.push(format!("{program}: {status}")),
            Err(e) => failures.push(format!("{program}: {e}")),
        }
    }
    Err(user_error(
        format!("cannot open {url}: {}", failures.join("; ")),
        Some(if browser.is_some() {
            "check $BROWSER: a program (with arguments; %s stands for the link), or several separated by ':'".into()
        } else {
            "set $BROWSER to your browser, e.g. BROWSER=firefox".into()
        }),
    ))
}

/// `link` if it is an http(s) URL, normalised. Feed links are hostile: only
/// web pages are handed to a program (no `file:`, `javascript:`, or an
/// argument that starts with `-`).
fn web_link(link: &str) -> Option<String> {
    match url::Url::parse(link.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u.to_string()),
        _ => None,
    }
}

/// The commands `$BROWSER` names for `url`, to try in order: the variable is
/// a `:`-separated list of commands; in each, `%s` stands for the link (else
/// it is the last argument). Split on whitespace, run without a shell, so a
/// link never reaches one.
fn browser_commands(browser: &str, url: &str) -> Vec<Vec<String>> {
    browser
        .split(':')
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let mut argv: Vec<String> = c.split_whitespace().map(|w| w.replace("%s", url)).collect();
            if !c.contains("%s") {
                argv.push(url.to_owned());
            }
            argv
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{browser_commands, web_link};

    #[test]
    fn only_web_links_are_opened() {
        assert_eq!(web_link("https://x.example/a b").as_deref(), Some("https://x.example/a%20b"));
        for bad in ["javascript:alert(1)", "file:///etc/passwd", "--help", "/etc/passwd", "mailto:a@x.example", ""] {
            assert_eq!(web_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn browser_variable_forms() {
        let u = "https://x.example/a?b=1&c=2";
        assert_eq!(browser_commands("firefox", u), [vec!["firefox", u]]);
        assert_eq!(browser_commands("firefox --new-tab", u), [vec!["firefox", "--new-tab", u]]);
        assert_eq!(browser_commands("lynx -dump %s:w3m", u), [vec!["lynx", "-dump", u], vec!["w3m", u]]);
        assert!(browser_commands(" : ", u).is_empty());
    }
}
