//! Reading comfort for `show`: a pager when the text is longer than the
//! screen, and clickable links (OSC 8) on terminals.

use std::io::{self, Write};
use std::process::{Command, Stdio};

/// The pager run when `$PAGER` is unset.
pub const DEFAULT_PAGER: &str = "less -R";

/// `text` as an OSC 8 hyperlink to `url`: terminals that support it make
/// the text clickable, others show it as it is. A URL that is not plain
/// printable ASCII (or is empty) gives the text alone, so nothing from a
/// feed can end the sequence early.
///
/// ```
/// use syndic::output::pager::hyperlink;
/// assert_eq!(hyperlink("https://x.example/a", "x"), "\x1b]8;;https://x.example/a\x1b\\x\x1b]8;;\x1b\\");
/// assert_eq!(hyperlink("https://x.example/\x07", "x"), "x");
/// ```
pub fn hyperlink(url: &str, text: &str) -> String {
    if url.is_empty() || !url.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return text.to_owned();
    }
    format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
}

/// The number of rows of the terminal on stdout: `LINES` if set, else the
/// terminal's; `None` when unknown.
pub fn terminal_height() -> Option<usize> {
    if let Some(n) = std::env::var("LINES").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|n| *n > 0) {
        return Some(n);
    }
    console::Term::stdout().size_checked().map(|(rows, _)| rows as usize).filter(|r| *r > 0)
}

/// The pager command: `$PAGER`, else [`DEFAULT_PAGER`]; `None` when
/// `$PAGER` is set but empty (paging turned off).
pub fn pager_command() -> Option<String> {
    match std::env::var("PAGER") {
        Ok(p) if p.trim().is_empty() => None,
        Ok(p) => Some(p),
        Err(_) => Some(DEFAULT_PAGER.to_owned()),
    }
}

/// Returns true if and only if `text` needs more rows than `height` (one row
/// is kept for the shell's prompt).
pub fn is_longer_than(text: &[u8], height: usize) -> bool {
    text.iter().filter(|&&b| b == b'\n').count() >= height.max(2)
}

/// Shows `text` through `pager` (run by `sh -c`), waiting for it to quit.
/// Returns `Ok(false)` if the pager could not be started or does not exist
/// (the caller then prints the text itself).
pub fn page(pager: &str, text: &[u8]) -> io::Result<bool> {
    let Ok(mut child) = Command::new("sh").arg("-c").arg(pager).stdin(Stdio::piped()).spawn() else {
        return Ok(false);
    };
    if let Some(mut stdin) = child.stdin.take() {
        // Quitting the pager early closes the pipe: that is not an error.
        match stdin.write_all(text) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e),
            _ => {}
        }
    }
    let status = child.wait()?;
    // 127: the shell found no such program (no `less` installed); the
    // text was not shown, so the caller prints it.
    Ok(status.code() != Some(127))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_than_the_screen() {
        assert!(!is_longer_than(b"a\nb\n", 24));
        assert!(is_longer_than("x\n".repeat(24).as_bytes(), 24));
        assert!(!is_longer_than("x\n".repeat(23).as_bytes(), 24));
    }

    #[test]
    fn hyperlinks_refuse_what_could_break_out() {
        assert_eq!(hyperlink("", "t"), "t");
        assert_eq!(hyperlink("https://x.example/ a", "t"), "t");
        assert_eq!(hyperlink("https://x.example/\x1b\\", "t"), "t");
        assert_eq!(hyperlink("https://例.example/", "t"), "t");
    }
}
