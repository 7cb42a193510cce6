//! Rendering entries: `list`, `search` and `show`, for people and as JSON.
//!
//! The JSON field names are a public interface (documented in the README):
//! add fields, never rename or remove them.

use std::io::{self, Write};

use serde::Serialize;

use unicode_width::UnicodeWidthStr;

use super::pager::hyperlink;
use super::{
    human_time, pad, rfc3339, safe_multiline, safe_text, terminal_width, truncate_width, wrap, Column, Style, Table,
};
use crate::store::{EntryDetail, EntryRow, Related, SearchHit, HIGHLIGHT_END, HIGHLIGHT_START};

/// One entry in `list --json` (and the base of `search` and `show`).
#[derive(Debug, Serialize)]
pub struct EntryJson {
    pub id: i64,
    pub feed: String,
    pub feed_url: String,
    pub title: String,
    pub url: Option<String>,
    pub author: Option<String>,
    pub published: String,
    pub topics: Vec<String>,
    pub summary: String,
    pub duplicate_of: Option<i64>,
    pub copies: u32,
    pub attribution: Option<String>,
    /// The story has been read (shown, opened or marked).
    pub read: bool,
}

impl From<&EntryRow> for EntryJson {
    fn from(r: &EntryRow) -> Self {
        EntryJson {
            id: r.id.0,
            feed: r.feed.clone(),
            feed_url: r.feed_url.clone(),
            title: r.title.clone(),
            url: r.url.clone(),
            author: r.author.clone(),
            published: rfc3339(r.published),
            topics: r.topics.clone(),
            summary: r.summary.clone(),
            duplicate_of: r.duplicate_of.map(|d| d.0),
            copies: r.copies,
            attribution: r.attribution.clone(),
            read: r.read,
        }
    }
}

/// One hit in `search --json`.
#[derive(Debug, Serialize)]
pub struct SearchJson {
    #[serde(flatten)]
    pub entry: EntryJson,
    /// The text around the match, plain.
    pub snippet: String,
    /// Relevance (negated bm25): higher is better; hits come best first.
    pub rank: f64,
}

/// Another place of a story in `show --json`.
#[derive(Debug, Serialize)]
pub struct RelatedJson {
    pub id: i64,
    pub feed: String,
    pub title: String,
    pub url: Option<String>,
    pub published: String,
    pub attribution: Option<String>,
}

impl From<&Related> for RelatedJson {
    fn from(r: &Related) -> Self {
        RelatedJson {
            id: r.id.0,
            feed: r.feed.clone(),
            title: r.title.clone(),
            url: r.url.clone(),
            published: rfc3339(r.published),
            attribution: r.attribution.clone(),
        }
    }
}

/// `show --json`.
#[derive(Debug, Serialize)]
pub struct ShowJson {
    #[serde(flatten)]
    pub entry: EntryJson,
    /// The full plain text.
    pub text: String,
    /// The sanitised HTML of the content (else the summary).
    pub content_html: Option<String>,
    /// For a copy: its original.
    pub original: Option<RelatedJson>,
    /// For an original, its copies; for a copy, the story's other copies.
    pub other_copies: Vec<RelatedJson>,
}

/// Removes the highlight markers of a snippet.
pub fn plain_snippet(snippet: &str) -> String {
    safe_text(&snippet.replace([HIGHLIGHT_START, HIGHLIGHT_END], ""))
}

/// A snippet with its matches styled bold (markers removed, text made safe).
fn styled_snippet(snippet: &str, width: usize, style: Style) -> String {
    // Cut the plain text first, then re-apply the highlights within the cut.
    let mut out = String::new();
    let mut used = 0;
    let mut highlighted = false;
    for part in snippet.split_inclusive([HIGHLIGHT_START, HIGHLIGHT_END]) {
        let (text, marker) = match part.chars().last() {
            Some(c @ (HIGHLIGHT_START | HIGHLIGHT_END)) => (&part[..part.len() - c.len_utf8()], Some(c)),
            _ => (part, None),
        };
        let text = safe_text(text);
        let room = width.saturating_sub(used);
        let cut = truncate_width(&text, room);
        used += unicode_width::UnicodeWidthStr::width(cut.as_str());
        out.push_str(&if highlighted { style.bold(&cut) } else { cut.clone() });
        if cut != text {
            break;
        }
        match marker {
            Some(HIGHLIGHT_START) => highlighted = true,
            Some(_) => highlighted = false,
            None => {}
        }
    }
    out
}

fn copies_cell(row: &EntryRow) -> String {
    match row.duplicate_of {
        Some(orig) => format!("copy of {orig}"),
        None if row.copies > 0 => format!("+{}", row.copies),
        None => String::new(),
    }
}

/// `list` as a table: ID, DATE, FEED, TITLE, COPIES.
pub fn write_list(rows: &[EntryRow], style: Style, out: &mut dyn Write) -> io::Result<()> {
    let table = Table {
        columns: vec![
            Column::number("ID"),
            Column::fixed("DATE"),
            Column::text("FEED"),
            Column::text("TITLE"),
            Column::fixed("COPIES"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![r.id.to_string(), human_time(r.published), safe_text(&r.feed), safe_text(&r.title), copies_cell(r)]
            })
            .collect(),
    };
    table.render(terminal_width(), style, out)
}

/// `search`: a line per hit (id, date, feed, title, copies) and the snippet
/// below it, matches in bold.
pub fn write_search(hits: &[SearchHit], style: Style, out: &mut dyn Write) -> io::Result<()> {
    let width = terminal_width();
    for (i, hit) in hits.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let r = &hit.row;
        let copies = copies_cell(r);
        let head = format!("{}  {}  {}", r.id, human_time(r.published), safe_text(&r.feed));
        let room = width.saturating_sub(unicode_width::UnicodeWidthStr::width(head.as_str()) + 2 + copies.len() + 2);
        let title = truncate_width(&safe_text(&r.title), room.max(20));
        let mut line = format!("{}  {}", style.dim(&head), style.bold(&title));
        if !copies.is_empty() {
            line.push_str(&format!("  {}", style.cyan(&copies)));
        }
        writeln!(out, "{line}")?;
        writeln!(out, "    {}", styled_snippet(&hit.snippet, width.saturating_sub(4), style))?;
    }
    Ok(())
}

/// `show`: the entry's fields, its wrapped text, then its story's other
/// places. With `links`, the links are clickable (OSC 8).
pub fn write_show(d: &EntryDetail, style: Style, links: bool, out: &mut dyn Write) -> io::Result<()> {
    let width = terminal_width();
    let r = &d.row;
    writeln!(out, "{}", style.bold(&safe_text(&r.title)))?;
    let field = |out: &mut dyn Write, name: &str, value: &str| -> io::Result<()> {
        writeln!(out, "{} {}", style.dim(&format!("{name:<10}")), value)
    };
    field(out, "id", &r.id.to_string())?;
    field(out, "feed", &safe_text(&r.feed))?;
    if let Some(url) = &r.url {
        let text = safe_text(url);
        field(out, "link", &if links { hyperlink(&text, &text) } else { text })?;
    }
    if let Some(a) = &r.author {
        field(out, "author", &safe_text(a))?;
    }
    let date_note = match d.date_source.as_str() {
        "updated" => " (updated)",
        "first_seen" => " (first seen; the feed gives no date)",
        _ => "",
    };
    field(out, "published", &format!("{}{date_note}", human_time(r.published)))?;
    if !r.topics.is_empty() {
        field(out, "topics", &r.topics.join(", "))?;
    }
    if let Some(a) = &r.attribution {
        field(out, "credits", &safe_text(a))?;
    }
    writeln!(out)?;
    let text = safe_multiline(&d.text);
    if !text.trim().is_empty() {
        writeln!(out, "{}", wrap(&text, width.min(100)))?;
        writeln!(out)?;
    }
    let places = Places::new(d.original.iter().chain(&d.copies), width);
    if let Some(o) = &d.original {
        writeln!(out, "{}", style.bold("Copy of"))?;
        places.write(o, links, out)?;
        if !d.copies.is_empty() {
            writeln!(out, "{}", style.bold(&format!("Other copies ({})", d.copies.len())))?;
        }
    } else if !d.copies.is_empty() {
        writeln!(out, "{}", style.bold(&format!("Copies ({})", d.copies.len())))?;
    } else {
        writeln!(out, "{}", style.dim("No copies in other feeds."))?;
    }
    for c in &d.copies {
        places.write(c, links, out)?;
    }
    Ok(())
}

/// Widest feed name shown in the list of a story's places.
const PLACE_FEED_MAX: usize = 24;
/// Widest credit ("(credits Bol news)") shown there.
const PLACE_CREDIT_MAX: usize = 28;
/// The link is cut first, but not below this.
const PLACE_LINK_MIN: usize = 12;

/// The column widths of a story's places: id, feed, credit, link, so that
/// the rows align and the credit stays visible (the link is cut first).
struct Places {
    id: usize,
    feed: usize,
    credit: usize,
    link: usize,
}

fn credit_cell(rel: &Related) -> String {
    rel.attribution.as_deref().map(|a| format!("(credits {})", safe_text(a))).unwrap_or_default()
}

impl Places {
    fn new<'a>(rows: impl Iterator<Item = &'a Related> + Clone, width: usize) -> Places {
        let max = |f: &dyn Fn(&Related) -> usize| rows.clone().map(f).max().unwrap_or(0);
        let id = max(&|r| r.id.to_string().len());
        let feed = max(&|r| safe_text(&r.feed).width()).min(PLACE_FEED_MAX);
        let credit = max(&|r| credit_cell(r).width()).min(PLACE_CREDIT_MAX);
        let used = 2 + id + 2 + feed + 2 + if credit > 0 { credit + 2 } else { 0 };
        Places { id, feed, credit, link: width.saturating_sub(used).max(PLACE_LINK_MIN) }
    }

    fn write(&self, rel: &Related, links: bool, out: &mut dyn Write) -> io::Result<()> {
        let mut line = format!(
            "  {:>w$}  {}",
            rel.id,
            pad(&truncate_width(&safe_text(&rel.feed), self.feed), self.feed),
            w = self.id
        );
        if self.credit > 0 {
            line.push_str(&format!("  {}", pad(&truncate_width(&credit_cell(rel), self.credit), self.credit)));
        }
        if let Some(u) = &rel.url {
            let url = safe_text(u);
            let shown = truncate_width(&url, self.link);
            line.push_str(&format!("  {}", if links { hyperlink(&url, &shown) } else { shown }));
        }
        writeln!(out, "{}", line.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_lose_markers_and_controls() {
        let s = "a \u{1}match\u{2} and \x1b[2J\u{1}more\u{2}";
        assert_eq!(plain_snippet(s), "a match and more");
        assert_eq!(styled_snippet(s, 100, Style { color: false }), "a match and more");
        assert_eq!(styled_snippet(s, 100, Style { color: true }), "a \x1b[1mmatch\x1b[0m and \x1b[1mmore\x1b[0m");
        assert_eq!(styled_snippet(s, 8, Style { color: false }), "a match…");
    }
}
