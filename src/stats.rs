//! `syndic stats`: what the store holds over the last days, per topic and
//! per feed, as plain data (the store counts, [`crate::output`] draws).
//! Pure functions.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::{FeedActivity, FeedDay, Republished, TopicDay};

/// The longest window `--days` accepts (ten years).
pub const MAX_DAYS: u32 = 3650;

/// How many of the most republished stories are shown.
pub const MOST_REPUBLISHED: usize = 10;

/// Everything `syndic stats` shows. The JSON field names are a public
/// interface: add fields, never rename or remove them.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    /// The number of days covered, today included.
    pub days: usize,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The zone days are cut in ("UTC", "UTC+05:00").
    pub zone: String,
    /// All stories (originals), per day.
    pub stories: Series,
    /// Stories per topic, most first.
    pub topics: Vec<TopicStats>,
    /// Entries per feed (originals and copies), most first.
    pub feeds: Vec<FeedStats>,
    /// The stories of the window with the most copies.
    pub most_republished: Vec<RepublishedStory>,
    /// Feeds without an entry in the window, longest silent first.
    pub silent_feeds: Vec<SilentFeed>,
    /// Stored entries that `[filters]` hide (whatever their date).
    pub filtered: u64,
}

/// A total and its count for each day of the window, oldest first.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Series {
    pub total: u64,
    pub per_day: Vec<u64>,
}

impl Series {
    fn new(days: usize) -> Series {
        Series { total: 0, per_day: vec![0; days] }
    }

    fn add(&mut self, index: usize, n: u64) {
        if let Some(slot) = self.per_day.get_mut(index) {
            *slot += n;
            self.total += n;
        }
    }
}

/// One topic's stories per day.
#[derive(Debug, Clone, Serialize)]
pub struct TopicStats {
    pub topic: String,
    #[serde(flatten)]
    pub stories: Series,
}

/// One feed's entries per day, and how much it copies or is copied.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStats {
    pub feed: String,
    pub feed_url: String,
    /// Its entries per day.
    #[serde(flatten)]
    pub entries: Series,
    /// Of its entries, copies of another feed's story.
    pub copies: u64,
    /// `copies / total` (0 without entries).
    pub copy_share: f64,
    /// Of its entries, originals that other feeds copied.
    pub copied: u64,
}

/// A story carried by several feeds.
#[derive(Debug, Clone, Serialize)]
pub struct RepublishedStory {
    /// The original's id (for `syndic show`).
    pub id: i64,
    pub title: String,
    pub feed: String,
    pub published: DateTime<Utc>,
    pub copies: u64,
}

/// A configured feed that published nothing in the window.
#[derive(Debug, Clone, Serialize)]
pub struct SilentFeed {
    pub feed: String,
    pub feed_url: String,
    /// Its newest entry (`null`: it never had one).
    pub last_published: Option<DateTime<Utc>>,
}

/// The rows the store counted, for [`build`].
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Stories per day number.
    pub stories: Vec<(i64, u64)>,
    pub topics: Vec<TopicDay>,
    pub feeds: Vec<FeedDay>,
    /// The most republished stories, most first.
    pub republished: Vec<Republished>,
    /// The feeds to report on (the configured ones), with their newest entry.
    pub activity: Vec<FeedActivity>,
    /// Entries `[filters]` hide.
    pub filtered: u64,
}

/// The window of `days` days ending with the day of `now` in a zone
/// `offset_secs` east of UTC: (first day number, the instants it spans).
pub fn window(now: DateTime<Utc>, days: u32, offset_secs: i64) -> (i64, DateTime<Utc>, DateTime<Utc>) {
    let today = (now.timestamp() + offset_secs).div_euclid(86_400);
    let first = today - i64::from(days.max(1)) + 1;
    let at = |day: i64| DateTime::from_timestamp(day * 86_400 - offset_secs, 0).unwrap_or(DateTime::UNIX_EPOCH);
    (first, at(first), at(today + 1))
}

/// Assembles the report for the `days` days starting with day number
/// `first_day` (days since 1970-01-01 in the zone named `zone`).
pub fn build(days: usize, first_day: i64, zone: String, counts: Counts) -> StatsReport {
    let index = |day: i64| usize::try_from(day - first_day).ok().filter(|i| *i < days);
    let date = |day: i64| {
        NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + 719_163).unwrap_or(i32::MAX)).unwrap_or_default()
    };

    let mut stories = Series::new(days);
    for (day, n) in counts.stories {
        if let Some(i) = index(day) {
            stories.add(i, n);
        }
    }

    let mut topics: Vec<TopicStats> = Vec::new();
    for row in counts.topics {
        let Some(i) = index(row.day) else { continue };
        match topics.iter_mut().find(|t| t.topic == row.topic) {
            Some(t) => t.stories.add(i, row.stories),
            None => {
                let mut s = Series::new(days);
                s.add(i, row.stories);
                topics.push(TopicStats { topic: row.topic, stories: s });
            }
        }
    }
    topics.sort_by(|a, b| b.stories.total.cmp(&a.stories.total).then_with(|| a.topic.cmp(&b.topic)));

    let mut by_url: HashMap<&str, FeedStats> = counts
        .activity
        .iter()
        .map(|a| {
            let stats = FeedStats {
                feed: a.name.clone(),
                feed_url: a.url.clone(),
                entries: Series::new(days),
                copies: 0,
                copy_share: 0.0,
                copied: 0,
            };
            (a.url.as_str(), stats)
        })
        .collect();
    for row in &counts.feeds {
        let (Some(i), Some(f)) = (index(row.day), by_url.get_mut(row.feed_url.as_str())) else { continue };
        f.entries.add(i, row.entries);
        f.copies += row.copies;
        f.copied += row.copied;
    }
    let mut feeds: Vec<FeedStats> = by_url.into_values().collect();
    for f in &mut feeds {
        f.copy_share = if f.entries.total == 0 { 0.0 } else { f.copies as f64 / f.entries.total as f64 };
    }
    feeds.sort_by(|a, b| b.entries.total.cmp(&a.entries.total).then_with(|| a.feed.cmp(&b.feed)));

    let mut silent: Vec<SilentFeed> = counts
        .activity
        .iter()
        .filter(|a| feeds.iter().any(|f| f.feed_url == a.url && f.entries.total == 0))
        .map(|a| SilentFeed { feed: a.name.clone(), feed_url: a.url.clone(), last_published: a.last_published })
        .collect();
    // Never published first, then the longest silent.
    silent.sort_by(|a, b| a.last_published.cmp(&b.last_published).then_with(|| a.feed.cmp(&b.feed)));

    StatsReport {
        days,
        first_day: date(first_day),
        last_day: date(first_day + days as i64 - 1),
        zone,
        stories,
        topics,
        feeds,
        most_republished: counts
            .republished
            .into_iter()
            .map(|r| RepublishedStory {
                id: r.id,
                title: r.title,
                feed: r.feed,
                published: r.published,
                copies: r.copies,
            })
            .collect(),
        silent_feeds: silent,
        filtered: counts.filtered,
    }
}

/// Eighths of a block, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// A day (or bucket of days) with nothing.
const NOTHING: char = '·';

/// Draws `values` as a sparkline at most `width` characters wide: days are
/// summed into equal buckets when there are more of them than characters;
/// nothing is `·`, the largest value a full block.
///
/// ```
/// use syndic::stats::sparkline;
/// assert_eq!(sparkline(&[0, 1, 2, 4, 8], 80), "·▁▂▄█");
/// assert_eq!(sparkline(&[1, 1, 0, 0, 5, 3], 3), "▂·█");
/// ```
pub fn sparkline(values: &[u64], width: usize) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let per = values.len().div_ceil(width);
    let buckets: Vec<u64> = values.chunks(per).map(|c| c.iter().sum()).collect();
    let max = buckets.iter().copied().max().unwrap_or(0);
    buckets
        .iter()
        .map(|&v| {
            if v == 0 {
                NOTHING
            } else {
                // 1..=max onto the eight bars, the smallest count still visible.
                let level = (v * 8).div_ceil(max).clamp(1, 8) as usize;
                BARS[level - 1]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn sparkline_scales_and_buckets() {
        assert_eq!(sparkline(&[], 10), "");
        assert_eq!(sparkline(&[0, 0], 10), "··");
        assert_eq!(sparkline(&[3, 3, 3], 10), "███");
        assert_eq!(sparkline(&[1, 100], 10), "▁█");
        assert_eq!(sparkline(&vec![1; 365], 60).chars().count(), 53);
        assert_eq!(sparkline(&[u64::MAX / 16, 1], 10).chars().count(), 2);
    }

    #[test]
    fn window_is_whole_local_days_ending_today() {
        let (first, since, until) = window(t("2021-10-25T12:00:00Z"), 30, 0);
        assert_eq!(since, t("2021-09-26T00:00:00Z"));
        assert_eq!(until, t("2021-10-26T00:00:00Z"));
        assert_eq!(first, since.timestamp() / 86_400);
        // 20:00 UTC on the 24th is already the 25th at UTC+05:00, whose midnight is 19:00 UTC.
        let (_, since, until) = window(t("2021-10-24T20:00:00Z"), 1, 5 * 3600);
        assert_eq!((since, until), (t("2021-10-24T19:00:00Z"), t("2021-10-25T19:00:00Z")));
    }

    #[test]
    fn build_places_counts_on_their_days_and_finds_silent_feeds() {
        let (first, _, _) = window(t("2021-10-25T12:00:00Z"), 3, 0);
        let day = |s: &str| t(s).timestamp() / 86_400;
        let feed = |url: &str, last: Option<&str>| FeedActivity {
            url: url.into(),
            name: url.to_uppercase(),
            last_published: last.map(t),
        };
        let counts = Counts {
            stories: vec![(day("2021-10-23T01:00:00Z"), 2), (day("2021-10-25T01:00:00Z"), 1), (first - 1, 9)],
            topics: vec![TopicDay { topic: "cpec".into(), day: day("2021-10-25T01:00:00Z"), stories: 1 }],
            feeds: vec![
                FeedDay { feed_url: "a".into(), day: first, entries: 2, copies: 0, copied: 1 },
                FeedDay { feed_url: "b".into(), day: first + 2, entries: 4, copies: 3, copied: 0 },
                FeedDay { feed_url: "gone".into(), day: first, entries: 7, copies: 0, copied: 0 },
            ],
            republished: vec![],
            filtered: 0,
            activity: vec![
                feed("a", Some("2021-10-23T01:00:00Z")),
                feed("b", Some("2021-10-25T01:00:00Z")),
                feed("c", Some("2021-01-01T00:00:00Z")),
                feed("d", None),
            ],
        };
        let r = build(3, first, "UTC".into(), counts);
        assert_eq!(r.first_day.to_string(), "2021-10-23");
        assert_eq!(r.last_day.to_string(), "2021-10-25");
        assert_eq!(r.stories, Series { total: 3, per_day: vec![2, 0, 1] });
        assert_eq!(r.topics[0].stories.per_day, [0, 0, 1]);
        let names: Vec<&str> = r.feeds.iter().map(|f| f.feed.as_str()).collect();
        assert_eq!(names, ["B", "A", "C", "D"], "only the given feeds, most entries first");
        assert_eq!((r.feeds[0].copies, r.feeds[0].copy_share), (3, 0.75));
        assert_eq!(r.feeds[1].copied, 1);
        let silent: Vec<&str> = r.silent_feeds.iter().map(|f| f.feed.as_str()).collect();
        assert_eq!(silent, ["D", "C"]);
    }
}
