//! Rendering for people and for programs: terminal-safe text, colour
//! choice, aligned tables that fit the terminal, and JSON.
//!
//! Feed text is hostile. Everything that came from a feed passes
//! [`safe_text`] before it is styled or printed.

pub mod entries;
pub mod stats;

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::text::strip_controls;

/// Removes everything that could drive a terminal: C0 and C1 control
/// characters (ESC, BEL, CSI U+009B…) together with the escape sequences
/// they start (CSI parameters, OSC 8 hyperlinks and OSC 52 clipboard
/// payloads up to their terminator), DEL, and bidirectional overrides.
/// Newlines and tabs become spaces; the result is one line.
///
/// ```
/// use syndic::output::safe_text;
/// assert_eq!(safe_text("a\x1b[2Jb\x07 \x1b]8;;http://evil\x07link\x1b]8;;\x07\nc"), "ab link c");
/// ```
pub fn safe_text(s: &str) -> String {
    let clean = strip_controls(s);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        if c == '\n' {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Like [`safe_text`] but keeps line breaks (for multi-line bodies).
pub fn safe_multiline(s: &str) -> String {
    strip_controls(s)
}

/// Cuts `s` to at most `width` terminal columns, ending with `…` when cut.
/// Wide (CJK) characters count two columns and are never split.
pub fn truncate_width(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Pads `s` with spaces to `width` columns.
pub fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    if w >= width {
        s.to_owned()
    } else {
        format!("{s}{}", " ".repeat(width - w))
    }
}

/// Wraps plain text to `width` columns, keeping paragraphs.
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(20);
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut lines = Vec::new();
        for source_line in para.split('\n') {
            let mut line = String::new();
            for word in source_line.split_whitespace() {
                if !line.is_empty() && line.width() + 1 + word.width() > width {
                    lines.push(std::mem::take(&mut line));
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if !line.is_empty() {
                lines.push(line);
            }
        }
        if !lines.is_empty() {
            out.push(lines.join("\n"));
        }
    }
    out.join("\n\n")
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb`.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Returns true if and only if stdout output should be coloured.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        }
    }
}

/// ANSI styling that is a no-op when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn wrap(self, code: &str, s: &str) -> String {
        if self.color && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    pub fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn dim(self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn red(self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn green(self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn cyan(self, s: &str) -> String {
        self.wrap("36", s)
    }
}

/// The width to render for: `COLUMNS` if set, else the terminal's, else 80.
pub fn terminal_width() -> usize {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()) {
        return n.clamp(20, 1000);
    }
    terminal_size_cols().unwrap_or(80)
}

fn terminal_size_cols() -> Option<usize> {
    console::Term::stdout().size_checked().map(|(_, cols)| cols as usize)
}

/// Columns are never cut narrower than this.
const MIN_COLUMN: usize = 12;

/// A column of a [`Table`].
pub struct Column {
    pub header: &'static str,
    /// Right-aligned (numbers).
    pub right: bool,
    /// Never cut below this many columns (0: the default of 12).
    pub min: usize,
}

impl Column {
    /// A left-aligned column that may be cut down to 12 columns.
    pub fn text(header: &'static str) -> Column {
        Column { header, right: false, min: 0 }
    }
    /// A right-aligned column that is never cut (numbers).
    pub fn number(header: &'static str) -> Column {
        Column { header, right: true, min: usize::MAX }
    }
    /// A left-aligned column that is never cut (dates, ids).
    pub fn fixed(header: &'static str) -> Column {
        Column { header, right: false, min: usize::MAX }
    }
}

/// An aligned table; cells must already be [`safe_text`].
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Renders the table to fit `width` columns, cutting the widest
    /// columns first, each no narrower than its minimum.
    pub fn render(&self, width: usize, style: Style, out: &mut dyn Write) -> io::Result<()> {
        let n = self.columns.len();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.header.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let gaps = 2 * n.saturating_sub(1);
        let total = |w: &[usize]| w.iter().sum::<usize>() + gaps;
        // Too wide: take one column at a time from the widest column, so
        // long cells share the cut instead of one column vanishing.
        while total(&widths) > width {
            let min = |i: usize| if self.columns[i].min == 0 { MIN_COLUMN } else { self.columns[i].min };
            let Some((i, _)) = widths.iter().enumerate().filter(|(i, w)| **w > min(*i)).max_by_key(|(_, w)| **w) else {
                break;
            };
            widths[i] -= 1;
        }
        let line = |cells: Vec<String>, header: bool| -> String {
            let mut parts = Vec::with_capacity(n);
            for (i, cell) in cells.into_iter().enumerate().take(n) {
                let cut = truncate_width(&cell, widths[i]);
                let last = i + 1 == n;
                let padded = if self.columns[i].right {
                    format!("{}{cut}", " ".repeat(widths[i].saturating_sub(cut.width())))
                } else if last {
                    cut
                } else {
                    pad(&cut, widths[i])
                };
                parts.push(if header { style.bold(&padded) } else { padded });
            }
            parts.join("  ").trim_end().to_owned()
        };
        let header: Vec<String> = self.columns.iter().map(|c| c.header.to_owned()).collect();
        writeln!(out, "{}", line(header, true))?;
        for row in &self.rows {
            writeln!(out, "{}", line(row.clone(), false))?;
        }
        Ok(())
    }
}

/// A time for people: local `YYYY-MM-DD HH:MM`.
pub fn human_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

/// A time for programs: RFC 3339 in UTC.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json<T: serde::Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    // Serialise first, so a closed pipe surfaces as a plain io::Error.
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    out.write_all(text.as_bytes())?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_text_strips_every_kind_of_escape() {
        let cases = [
            ("clear\x1b[2Jscreen", "clearscreen"),
            ("\x1b[31mred\x1b[0m", "red"),
            ("bell\x07", "bell"),
            ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
            ("\x1b]52;c;ZXZpbA==\x07copied", "copied"),
            ("c1\u{9b}2Jcsi", "c1csi"),
            ("bidi\u{202e}txt\u{2066}", "biditxt"),
            ("del\x7f nul\0", "del nul"),
            ("multi\nline\r\n\ttext", "multi line  text"),
            ("keeps edges ", "keeps edges "),
            ("keep 中文 اردو ✓", "keep 中文 اردو ✓"),
        ];
        for (input, want) in cases {
            assert_eq!(safe_text(input), want, "{input:?}");
        }
    }

    #[test]
    fn safe_text_output_has_no_control_characters() {
        let nasty: String = (0u32..0x200).filter_map(char::from_u32).collect();
        assert!(!safe_text(&nasty).chars().any(|c| c.is_control()));
    }

    #[test]
    fn truncate_width_respects_wide_characters() {
        assert_eq!(truncate_width("hello world", 8), "hello w…");
        assert_eq!(truncate_width("中巴经济走廊", 7), "中巴经…");
        assert_eq!(truncate_width("short", 10), "short");
        assert!(truncate_width("中巴经济走廊", 7).width() <= 7);
    }

    #[test]
    fn wrap_keeps_paragraphs() {
        assert_eq!(
            wrap("aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk\n\nz", 20),
            "aaa bbb ccc ddd eee\nfff ggg hhh iii jjj\nkkk\n\nz"
        );
    }

    #[test]
    fn table_fits_width() {
        let t = Table {
            columns: vec![Column::number("ID"), Column::text("TITLE")],
            rows: vec![vec!["1".into(), "a very long title that cannot possibly fit here".into()]],
        };
        let mut buf = Vec::new();
        t.render(30, Style { color: false }, &mut buf).unwrap();
        let s = String::from_utf8(buf).unwrap();
        assert!(s.lines().all(|l| l.width() <= 30), "{s}");
        assert!(s.contains('…'));
    }
}
