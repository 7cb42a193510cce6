//! Rendering for people and for programs: terminal-safe text, colour
//! choice, aligned tables that fit the terminal, and JSON.
//!
//! Feed text is hostile. Everything that came from a feed passes
//! [`safe_text`] before it is styled or printed.

pub mod entries;
pub mod pager;

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

/// How `list` and `search` print their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned table for people, cut to fit the terminal.
    Table,
    /// One whole line per row, tab-separated, no header (as sfeed does).
    Tsv,
    /// A JSON array.
    Json,
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
/// For wrapping text; tables and one-line rows use [`table_width`].
pub fn terminal_width() -> usize {
    columns_env().or_else(terminal_size_cols).unwrap_or(80)
}

/// The width tables and one-line rows are cut to: `COLUMNS` if set, else
/// the terminal's when stdout is a terminal; when stdout is a pipe or a
/// file, nothing is cut (`usize::MAX`), so `syndic list | grep` sees whole
/// titles.
pub fn table_width() -> usize {
    width_for(columns_env(), io::stdout().is_terminal(), terminal_size_cols())
}

/// Decides [`table_width`]: an explicit `COLUMNS` wins, then the terminal's
/// size; a pipe is never cut.
fn width_for(columns: Option<usize>, stdout_is_terminal: bool, terminal: Option<usize>) -> usize {
    match (columns, stdout_is_terminal) {
        (Some(n), _) => n,
        (None, true) => terminal.unwrap_or(80),
        (None, false) => usize::MAX,
    }
}

/// `COLUMNS`, when it is a number (kept within 20-1000).
fn columns_env() -> Option<usize> {
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).map(|n| n.clamp(20, 1000))
}

fn terminal_size_cols() -> Option<usize> {
    console::Term::stdout().size_checked().map(|(_, cols)| cols as usize)
}

/// One field of a `--format tsv` line: terminal-safe, on one line, and
/// without tabs, so that every row is one line of tab-separated columns.
///
/// ```
/// use syndic::output::tsv_field;
/// assert_eq!(tsv_field("a\tb\nc\x1b[2J"), "a b c");
/// ```
pub fn tsv_field(s: &str) -> String {
    safe_text(s).replace(['\t', '\n', '\r'], " ")
}

/// Writes one `--format tsv` line.
pub fn write_tsv_row(out: &mut dyn Write, fields: &[String]) -> io::Result<()> {
    let cleaned: Vec<String> = fields.iter().map(|f| tsv_field(f)).collect();
    writeln!(out, "{}", cleaned.join("\t"))
}

/// A column of a [`Table`]. When a table is too wide, it is cut in stages:
///
/// | stage | column | down to |
/// |---|---|---|
/// | 0 | URLs; secondary text | 10; 8 |
/// | 1 | names | 16 |
/// | 2 | other text (titles) | 24 |
/// | 3 | names | 8 |
/// | 4 | dates | 10 (the time of day goes) |
/// | 5 | other text | 12 |
///
/// within a stage the widest column first, one column of width at a time,
/// so long cells share the cut. If that is not enough, the columns with a
/// `drop_order` are left out, lowest first (URLs, then dates), and the
/// stages start again.
pub struct Column {
    pub header: &'static str,
    /// Right-aligned (numbers).
    pub right: bool,
    /// `(stage, floor)`: in that stage, cut down to at most that width. Empty: never cut.
    pub cuts: &'static [(u8, usize)],
    /// Left out when the table cannot fit otherwise (lowest first); `None`: always shown.
    pub drop_order: Option<u8>,
    /// Cut without the `…` mark, at a space (dates: `2021-10-20 04:15` → `2021-10-20`).
    pub clip: bool,
}

impl Column {
    fn new(header: &'static str, right: bool, cuts: &'static [(u8, usize)]) -> Column {
        Column { header, right, cuts, drop_order: None, clip: false }
    }
    /// Left-aligned text (a title): cut to 24 columns after URLs and names, then to 12.
    pub fn text(header: &'static str) -> Column {
        Column::new(header, false, &[(2, 24), (5, 12)])
    }
    /// A name (of a feed, an author): cut before titles, to 16 then 8 columns.
    pub fn name(header: &'static str) -> Column {
        Column::new(header, false, &[(1, 16), (3, 8)])
    }
    /// A URL: the first column cut (to 10 columns) and the first left out.
    pub fn url(header: &'static str) -> Column {
        Column { drop_order: Some(0), ..Column::new(header, false, &[(0, 10)]) }
    }
    /// Secondary text (a list of topics): cut with URLs, to 8 columns, and
    /// left out after URLs and dates.
    pub fn secondary(header: &'static str) -> Column {
        Column { drop_order: Some(2), ..Column::new(header, false, &[(0, 8)]) }
    }
    /// A right-aligned column that is never cut (numbers).
    pub fn number(header: &'static str) -> Column {
        Column::new(header, true, &[])
    }
    /// A left-aligned column that is never cut (ids, markers).
    pub fn fixed(header: &'static str) -> Column {
        Column::new(header, false, &[])
    }
    /// A `YYYY-MM-DD HH:MM` time: loses its time of day when space is short,
    /// and is left out (after URLs) when even that does not fit.
    pub fn date(header: &'static str) -> Column {
        Column { drop_order: Some(1), clip: true, ..Column::new(header, false, &[(4, 10)]) }
    }
    /// Left out, in this order among droppable columns, when the table cannot fit otherwise.
    pub fn droppable(self, order: u8) -> Column {
        Column { drop_order: Some(order), ..self }
    }
}

/// An aligned table; cells must already be [`safe_text`].
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The width of each column to fit `width`, `None` for a column left out.
    fn layout(&self, width: usize) -> Vec<Option<usize>> {
        let n = self.columns.len();
        let mut natural: Vec<usize> = self.columns.iter().map(|c| c.header.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                natural[i] = natural[i].max(cell.width());
            }
        }
        let mut drops: Vec<(u8, usize)> =
            self.columns.iter().enumerate().filter_map(|(i, c)| c.drop_order.map(|o| (o, i))).collect();
        drops.sort();
        let mut drops = drops.into_iter();
        let mut shown = vec![true; n];
        loop {
            let widths = self.cut(&natural, &shown, width);
            if total_width(&widths) <= width {
                return widths;
            }
            match drops.next() {
                Some((_, i)) => shown[i] = false,
                // Nothing left to leave out: the lines are cut at `width` as a last resort.
                None => return widths,
            }
        }
    }

    /// Cuts the shown columns stage by stage until they fit `width`.
    fn cut(&self, natural: &[usize], shown: &[bool], width: usize) -> Vec<Option<usize>> {
        let mut widths: Vec<Option<usize>> = natural.iter().zip(shown).map(|(w, s)| s.then_some(*w)).collect();
        let mut stages: Vec<u8> = self.columns.iter().flat_map(|c| c.cuts.iter().map(|(s, _)| *s)).collect();
        stages.sort();
        stages.dedup();
        for stage in stages {
            let floor = |i: usize| self.columns[i].cuts.iter().find(|(s, _)| *s == stage).map(|(_, f)| *f);
            loop {
                if total_width(&widths) <= width {
                    return widths;
                }
                let widest = widths
                    .iter()
                    .enumerate()
                    .filter_map(|(i, w)| Some((i, (*w)?)))
                    .filter(|(i, w)| floor(*i).is_some_and(|f| *w > f))
                    .max_by_key(|(_, w)| *w)
                    .map(|(i, _)| i);
                let Some(i) = widest else { break };
                widths[i] = widths[i].map(|w| w - 1);
            }
        }
        widths
    }

    /// Renders the table to fit `width` columns (`usize::MAX`: never cut):
    /// URLs are cut first, then names, then the other text; if that is not
    /// enough, droppable columns (URLs, then dates) are left out.
    pub fn render(&self, width: usize, style: Style, out: &mut dyn Write) -> io::Result<()> {
        let n = self.columns.len();
        let widths = self.layout(width);
        let last_shown = widths.iter().rposition(Option::is_some);
        let line = |cells: &[String], header: bool| -> String {
            let mut plain = Vec::with_capacity(n);
            for (i, cell) in cells.iter().enumerate().take(n) {
                let Some(w) = widths[i] else { continue };
                let column = &self.columns[i];
                let cut = if column.clip && !header && cell.width() > w {
                    clip_width(cell, w)
                } else {
                    truncate_width(cell, w)
                };
                let padded = if column.right {
                    format!("{}{cut}", " ".repeat(w.saturating_sub(cut.width())))
                } else if Some(i) == last_shown {
                    cut
                } else {
                    pad(&cut, w)
                };
                plain.push(padded);
            }
            let joined = plain.join("  ");
            let joined = joined.trim_end();
            if joined.width() > width {
                // Narrower than the columns' floors allow: cut the line itself.
                return truncate_width(joined, width);
            }
            if header {
                plain.iter().map(|p| style.bold(p)).collect::<Vec<_>>().join("  ").trim_end().to_owned()
            } else {
                joined.to_owned()
            }
        };
        let header: Vec<String> = self.columns.iter().map(|c| c.header.to_owned()).collect();
        writeln!(out, "{}", line(&header, true))?;
        for row in &self.rows {
            writeln!(out, "{}", line(row, false))?;
        }
        Ok(())
    }
}

/// The width of a row of columns of these widths, two spaces apart.
fn total_width(widths: &[Option<usize>]) -> usize {
    let shown = widths.iter().flatten();
    shown.clone().sum::<usize>() + 2 * shown.count().saturating_sub(1)
}

/// Cuts `s` to at most `width` columns without a mark, at a space when
/// there is one (`2021-10-20 04:15` at 12 → `2021-10-20`).
fn clip_width(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    match out.rfind(' ') {
        Some(i) if s[out.len()..].chars().next().is_some_and(|c| c != ' ') => out[..i].to_owned(),
        _ => out.trim_end().to_owned(),
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

    fn render(t: &Table, width: usize) -> String {
        let mut buf = Vec::new();
        t.render(width, Style { color: false }, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn feeds_like() -> Table {
        Table {
            columns: vec![
                Column::name("NAME"),
                Column::secondary("TOPICS"),
                Column::number("ENTRIES"),
                Column::date("LAST SUCCESS"),
                Column::url("URL"),
                Column::text("LAST ERROR"),
            ],
            rows: vec![
                vec![
                    "China Economic Net".into(),
                    "china,business".into(),
                    "12".into(),
                    "2021-10-20 05:00".into(),
                    "https://en.ce.cn/rss/a-very-long-path/feed.xml".into(),
                    "HTTP 404 (not found) on the last three tries".into(),
                ],
                vec![
                    "中巴经济走廊新闻".into(),
                    "cpec".into(),
                    "3".into(),
                    "2021-10-19 09:00".into(),
                    "https://example.com/f".into(),
                    "-".into(),
                ],
            ],
        }
    }

    #[test]
    fn tables_fit_every_width_from_40() {
        let t = feeds_like();
        for width in 40..=200 {
            let s = render(&t, width);
            assert!(s.lines().all(|l| l.width() <= width), "{width}:\n{s}");
            assert_eq!(s.lines().count(), 3, "{s}");
        }
        // Narrower than every floor: the lines themselves are cut.
        let s = render(&t, 20);
        assert!(s.lines().all(|l| l.width() <= 20), "{s}");
    }

    #[test]
    fn tables_cut_urls_first_then_names_then_titles() {
        let t = feeds_like();
        // Wide enough once the URL gives way: nothing else is cut.
        let s = render(&t, 130);
        assert!(s.contains("China Economic Net") && s.contains("on the last three tries"), "{s}");
        assert!(s.contains("https://en.ce.cn/"), "{s}");
        assert!(!s.contains("feed.xml"), "{s}");
        // Narrower: the URL is down to 10 columns before the name is cut...
        let s = render(&t, 100);
        assert!(s.contains("China Economic …") && s.contains("https://e…  "), "{s}");
        // ...and names to 8 before the error text goes under 24.
        let s = render(&t, 80);
        assert!(s.contains("China E…") && s.contains("HTTP 404 (not found) on…"), "{s}");
        // Dates lose their time of day, then URLs go, then dates.
        let s = render(&t, 68);
        assert!(s.contains("2021-10-20  https://e…"), "{s}");
        let s = render(&t, 56);
        assert!(s.contains("2021-10-20  HTTP") && !s.contains("URL"), "{s}");
        assert!(!render(&t, 40).contains("2021"), "{}", render(&t, 40));
    }

    #[test]
    fn tables_are_never_cut_for_a_pipe() {
        let s = render(&feeds_like(), usize::MAX);
        assert!(s.contains("https://en.ce.cn/rss/a-very-long-path/feed.xml"), "{s}");
        assert!(!s.contains('…'), "{s}");
    }

    #[test]
    fn width_comes_from_columns_then_the_terminal_and_a_pipe_is_not_cut() {
        // (COLUMNS, stdout is a terminal, terminal size) -> width
        let cases = [
            (Some(60), false, None, 60),
            (Some(60), true, Some(120), 60),
            (None, true, Some(120), 120),
            (None, true, None, 80),
            (None, false, Some(120), usize::MAX),
            (None, false, None, usize::MAX),
        ];
        for (columns, tty, size, want) in cases {
            assert_eq!(width_for(columns, tty, size), want, "{columns:?} {tty} {size:?}");
        }
    }

    #[test]
    fn tsv_fields_are_one_clean_line() {
        assert_eq!(tsv_field("a\tb\r\nc"), "a b c");
        assert_eq!(tsv_field("\x1b]52;c;ZXZpbA==\x07x\u{9b}2J"), "x");
        let mut out = Vec::new();
        write_tsv_row(&mut out, &["1".into(), "t\ti\ntle".into(), String::new()]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "1\tt i tle\t\n");
    }

    #[test]
    fn dates_are_clipped_at_a_space() {
        assert_eq!(clip_width("2021-10-20 04:15", 12), "2021-10-20");
        assert_eq!(clip_width("2021-10-20 04:15", 10), "2021-10-20");
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
