//! Rendering entries: `list`, `search` and `show`, for people and as JSON.
//!
//! The JSON field names are a public interface (documented in the README):
//! add fields, never rename or remove them.

use std::io::{self, Write};

use serde::Serialize;

use std::collections::HashMap;

use unicode_width::UnicodeWidthStr;

use super::pager::hyperlink;
use super::{
    human_time, pad, rfc3339, safe_multiline, safe_text, table_width, terminal_width, truncate_width, wrap,
    write_tsv_row, Column, Style, Table,
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
    /// Present (true) only if the entry's stored text is damaged: it is
    /// shown without it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub text_damaged: bool,
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
            text_damaged: r.text_damaged,
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

/// Orders rows for `list --all`: each original is followed by those of its
/// copies that are among the rows, oldest first, marked `true` (nested); a
/// copy whose original is not among the rows stays where it is, unnested.
/// `row` gives each item's entry (items are rows, or search hits).
pub fn group_copies<T>(items: &[T], row: impl Fn(&T) -> &EntryRow) -> Vec<(&T, bool)> {
    let present: HashMap<i64, usize> = items.iter().enumerate().map(|(i, it)| (row(it).id.0, i)).collect();
    let is_nested = |r: &EntryRow| r.duplicate_of.is_some_and(|o| present.contains_key(&o.0));
    let mut copies: HashMap<i64, Vec<&T>> = HashMap::new();
    for it in items {
        if let Some(orig) = row(it).duplicate_of.filter(|_| is_nested(row(it))) {
            copies.entry(orig.0).or_default().push(it);
        }
    }
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        if is_nested(row(it)) {
            continue;
        }
        out.push((it, false));
        if let Some(mut mine) = copies.remove(&row(it).id.0) {
            mine.sort_by_key(|c| (row(c).published, row(c).id.0));
            out.extend(mine.into_iter().map(|c| (c, true)));
        }
    }
    out
}

/// `list` as a table: ID, DATE, FEED, TITLE, COPIES, fitted to
/// [`table_width`]. With `all`, copies come under their original, their
/// titles indented.
pub fn write_list(rows: &[EntryRow], all: bool, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let ordered: Vec<(&EntryRow, bool)> =
        if all { group_copies(rows, |r| r) } else { rows.iter().map(|r| (r, false)).collect() };
    let table = Table {
        columns: vec![
            Column::number("ID"),
            Column::date("DATE"),
            Column::name("FEED"),
            Column::text("TITLE"),
            Column::fixed("COPIES"),
        ],
        rows: ordered
            .iter()
            .map(|(r, nested)| {
                let title = safe_text(&r.title);
                let title = if *nested { format!("└ {title}") } else { title };
                vec![r.id.to_string(), human_time(r.published), safe_text(&r.feed), title, copies_cell(r)]
            })
            .collect(),
    };
    table.render(table_width(), style, out)
}

/// The `--format tsv` columns of `list`, in order.
pub const LIST_TSV_COLUMNS: [&str; 8] = ["id", "published", "feed", "title", "url", "duplicate_of", "copies", "topics"];

fn tsv_fields(r: &EntryRow) -> Vec<String> {
    vec![
        r.id.to_string(),
        rfc3339(r.published),
        r.feed.clone(),
        r.title.clone(),
        r.url.clone().unwrap_or_default(),
        r.duplicate_of.map(|d| d.to_string()).unwrap_or_default(),
        r.copies.to_string(),
        r.topics.join(","),
    ]
}

/// `list --format tsv`: one whole line per row, no header, the columns of
/// [`LIST_TSV_COLUMNS`]; in the order of the table without `--all` grouping
/// (newest first), so that `sort` and `head` work on it.
pub fn write_list_tsv(rows: &[EntryRow], out: &mut dyn Write) -> io::Result<()> {
    for r in rows {
        write_tsv_row(out, &tsv_fields(r))?;
    }
    Ok(())
}

/// `search --format tsv`: the `list` columns, then `rank` and `snippet`, best first.
pub fn write_search_tsv(hits: &[SearchHit], out: &mut dyn Write) -> io::Result<()> {
    for h in hits {
        let mut fields = tsv_fields(&h.row);
        fields.push(format!("{:.6}", h.score));
        fields.push(plain_snippet(&h.snippet));
        write_tsv_row(out, &fields)?;
    }
    Ok(())
}

/// `search`: a line per hit (id, date, feed, title, copies) and the snippet
/// below it, matches in bold; each line fits [`table_width`]. With `all`,
/// copies come under their original when both match, their titles indented.
pub fn write_search(hits: &[SearchHit], all: bool, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let width = table_width();
    let ordered: Vec<(&SearchHit, bool)> =
        if all { group_copies(hits, |h| &h.row) } else { hits.iter().map(|h| (h, false)).collect() };
    for (i, (hit, nested)) in ordered.into_iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let r = &hit.row;
        let copies = copies_cell(r);
        let title = safe_text(&r.title);
        let title = if nested { format!("└ {title}") } else { title };
        let (date, feed, title) =
            fit_search_line(width, &r.id.to_string(), &human_time(r.published), &safe_text(&r.feed), &title, &copies);
        let head = [r.id.to_string(), date, feed].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>();
        let mut line = format!("{}  {}", style.dim(&head.join("  ")), style.bold(&title));
        if !copies.is_empty() {
            line.push_str(&format!("  {}", style.cyan(&copies)));
        }
        writeln!(out, "{line}")?;
        writeln!(out, "    {}", styled_snippet(&hit.snippet, width.saturating_sub(4), style))?;
    }
    Ok(())
}

/// Fits `ID  DATE  FEED  TITLE  COPIES` into `width`: the title keeps at
/// least 20 columns; the feed name is cut first (to 8), then the date
/// loses its time, then goes; last, the title is cut to what is left.
fn fit_search_line(
    width: usize,
    id: &str,
    date: &str,
    feed: &str,
    title: &str,
    copies: &str,
) -> (String, String, String) {
    let fixed = id.width() + if copies.is_empty() { 0 } else { copies.width() + 2 };
    let used = |date: &str, feed: &str| {
        fixed + [date, feed].iter().map(|p| if p.is_empty() { 0 } else { p.width() + 2 }).sum::<usize>() + 2
    };
    let room = |date: &str, feed: &str| width.saturating_sub(used(date, feed));
    let want_title = title.width().min(20);
    let mut date = date.to_owned();
    let mut feed = feed.to_owned();
    if room(&date, &feed) < want_title {
        let spare = width.saturating_sub(used(&date, "") + want_title + 2);
        feed = truncate_width(&feed, spare.max(8).min(feed.width()));
    }
    if room(&date, &feed) < want_title {
        date = date.split(' ').next().unwrap_or_default().to_owned();
    }
    if room(&date, &feed) < want_title {
        date.clear();
    }
    let title = truncate_width(title, room(&date, &feed).max(1));
    (date, feed, title)
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

    fn row(id: i64, hour: u32, duplicate_of: Option<i64>) -> EntryRow {
        use chrono::TimeZone;
        EntryRow {
            id: crate::model::EntryId(id),
            feed: format!("feed {id}"),
            feed_url: format!("https://f{id}.example/"),
            title: format!("title {id}"),
            url: None,
            author: None,
            published: chrono::Utc.with_ymd_and_hms(2021, 10, 20, hour, 0, 0).unwrap(),
            topics: vec![],
            summary: String::new(),
            duplicate_of: duplicate_of.map(crate::model::EntryId),
            copies: 0,
            attribution: None,
            read: false,
            text_damaged: false,
        }
    }

    #[test]
    fn copies_come_under_their_original_oldest_first() {
        // Newest first, as the store lists them: 4 and 2 are copies of 3; 6 copies 1, absent.
        let rows = [row(5, 9, None), row(4, 8, Some(3)), row(2, 7, Some(3)), row(3, 5, None), row(6, 4, Some(1))];
        let grouped: Vec<(i64, bool)> =
            group_copies(&rows, |r| r).into_iter().map(|(r, nested)| (r.id.0, nested)).collect();
        assert_eq!(grouped, [(5, false), (3, false), (2, true), (4, true), (6, false)]);
    }

    #[test]
    fn list_tsv_is_one_line_per_row_in_the_documented_order() {
        let mut r = row(7, 4, Some(3));
        r.title = "tab\there\nnewline \x1b[31mred".into();
        r.url = Some("https://x.example/a".into());
        r.topics = vec!["cpec".into(), "china".into()];
        let mut out = Vec::new();
        write_list_tsv(&[r], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), LIST_TSV_COLUMNS.len());
        assert_eq!(
            fields,
            [
                "7",
                "2021-10-20T04:00:00Z",
                "feed 7",
                "tab here newline red",
                "https://x.example/a",
                "3",
                "0",
                "cpec,china"
            ]
        );
    }

    #[test]
    fn search_lines_fit_narrow_terminals() {
        for width in 40..=120 {
            let (date, feed, title) = fit_search_line(
                width,
                "123",
                "2021-10-20 04:15",
                "China Economic Net",
                "Sino Pak Friendship Strengthen With The Technology Revolution",
                "copy of 5",
            );
            let line = [String::from("123"), date, feed, title, "copy of 5".into()]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("  ");
            assert!(line.width() <= width, "{width}: {line}");
            assert!(line.contains("Sino"), "{line}");
        }
    }

    #[test]
    fn snippets_lose_markers_and_controls() {
        let s = "a \u{1}match\u{2} and \x1b[2J\u{1}more\u{2}";
        assert_eq!(plain_snippet(s), "a match and more");
        assert_eq!(styled_snippet(s, 100, Style { color: false }), "a match and more");
        assert_eq!(styled_snippet(s, 100, Style { color: true }), "a \x1b[1mmatch\x1b[0m and \x1b[1mmore\x1b[0m");
        assert_eq!(styled_snippet(s, 8, Style { color: false }), "a match…");
    }
}
