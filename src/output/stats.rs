//! Rendering `syndic stats` for people: sparklines per topic and per feed,
//! the most republished stories and the silent feeds.

use std::io::{self, Write};

use super::{human_time, safe_text, truncate_width, Column, Style, Table};
use crate::stats::{sparkline, StatsReport};

/// The widest sparkline drawn (longer windows are bucketed).
const MAX_SPARK: usize = 60;

fn spark_width(terminal: usize) -> usize {
    // Room left after the name and number columns of the tables.
    terminal.saturating_sub(40).clamp(10, MAX_SPARK)
}

/// Writes the report as text fitting `width` columns.
pub fn write_stats(r: &StatsReport, width: usize, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let spark = spark_width(width);
    let per = r.days.div_ceil(spark);
    let unit = if per > 1 { format!(", one mark per {per} days") } else { String::new() };
    let title = format!("Last {} days: {} to {} ({}{unit})", r.days, r.first_day, r.last_day, r.zone);
    for line in super::wrap(&title, width).lines() {
        writeln!(out, "{}", style.bold(line))?;
    }
    writeln!(out)?;

    let mut rows = vec![vec!["(all)".to_owned(), r.stories.total.to_string(), sparkline(&r.stories.per_day, spark)]];
    for t in &r.topics {
        rows.push(vec![safe_text(&t.topic), t.stories.total.to_string(), sparkline(&t.stories.per_day, spark)]);
    }
    let table =
        Table { columns: vec![Column::text("TOPIC"), Column::number("STORIES"), Column::fixed("PER DAY")], rows };
    table.render(width, style, out)?;
    writeln!(out)?;

    let rows = r
        .feeds
        .iter()
        .map(|f| {
            let share = if f.entries.total == 0 {
                String::new()
            } else {
                format!("{} ({:.0}%)", f.copies, f.copy_share * 100.0)
            };
            vec![
                safe_text(&f.feed),
                f.entries.total.to_string(),
                share,
                f.copied.to_string(),
                sparkline(&f.entries.per_day, spark),
            ]
        })
        .collect();
    let table = Table {
        columns: vec![
            Column::text("FEED"),
            Column::number("ENTRIES"),
            Column::number("COPIES"),
            Column::number("COPIED"),
            Column::fixed("PER DAY"),
        ],
        rows,
    };
    table.render(width, style, out)?;
    let legend = "COPIES: its entries that copy another feed's story; COPIED: its stories others copied.";
    for line in super::wrap(legend, width).lines() {
        writeln!(out, "{}", style.dim(line))?;
    }

    writeln!(out)?;
    writeln!(out, "{}", style.bold("Most republished"))?;
    if r.most_republished.is_empty() {
        writeln!(out, "  {}", style.dim("no story was carried by more than one feed"))?;
    }
    for s in &r.most_republished {
        let copies = if s.copies == 1 { "1 copy".to_owned() } else { format!("{} copies", s.copies) };
        let head = format!("  {:>5}  {copies:<9}  ", s.id);
        let rest = format!("{}  ({})", safe_text(&s.title), safe_text(&s.feed));
        let room = width.saturating_sub(unicode_width::UnicodeWidthStr::width(head.as_str()));
        writeln!(out, "{head}{}", truncate_width(&rest, room.max(20)))?;
    }

    writeln!(out)?;
    writeln!(out, "{}", style.bold(&format!("Silent for the last {} days", r.days)))?;
    if r.silent_feeds.is_empty() {
        writeln!(out, "  {}", style.dim("every feed published"))?;
    }
    for f in &r.silent_feeds {
        let last = f.last_published.map_or_else(|| "never published".to_owned(), |t| format!("last {}", human_time(t)));
        let name = truncate_width(&safe_text(&f.feed), width.saturating_sub(30).max(20));
        writeln!(out, "  {name}  {}", style.dim(&last))?;
    }
    if r.filtered > 0 {
        writeln!(out)?;
        let n = if r.filtered == 1 { "1 stored entry".to_owned() } else { format!("{} stored entries", r.filtered) };
        writeln!(out, "{}", style.dim(&format!("[filters] hide {n}; --include-filtered counts them.")))?;
    }
    Ok(())
}
