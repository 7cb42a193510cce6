//! Lenient date parsing for feeds: RFC 3339 and RFC 2822 as the specs
//! allow and as feeds get them wrong, W3C-DTF partial dates, asctime, SQL
//! timestamps and other formats found in the wild. Pure.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Parses a feed's date; `None` when nothing sensible can be read.
///
/// ```
/// use syndic::parse::parse_date;
/// let rfc = parse_date("Sat, 28 Nov 2026 10:00:00 +0500").unwrap();
/// assert_eq!(rfc.to_rfc3339(), "2026-11-28T05:00:00+00:00");
/// assert_eq!(parse_date("2003-12").unwrap().to_rfc3339(), "2003-12-01T00:00:00+00:00");
/// ```
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let s = s.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    rfc3339(s)
        .or_else(|| rfc2822(s))
        .or_else(|| w3dtf_partial(s))
        .or_else(|| iso_lenient(s))
        .or_else(|| other_formats(s))
        .or_else(|| localised(s))
        .filter(|d| plausible(*d))
}

fn plausible(d: DateTime<Utc>) -> bool {
    (1970..=2100).contains(&chrono::Datelike::year(&d))
}

/// RFC 3339 / ISO 8601, tolerating a space for `T`, spaces around it,
/// missing seconds, a lower-case `z` and two-digit years.
fn rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let first = s.chars().next()?;
    if !first.is_ascii_digit() {
        return None;
    }
    let mut t = s.replace(" T ", "T").replace(" T", "T").replace("T ", "T");
    // Google's "2003-012-31": a three-digit month.
    if t.len() > 8 && t.as_bytes()[4] == b'-' && &t[5..6] == "0" && t.as_bytes().get(8) == Some(&b'-') {
        t.remove(5);
    }
    // Two-digit years ("03-12-31T…"): 70-99 are the 1900s, the rest the 2000s.
    if t.len() > 3 && t.as_bytes()[2] == b'-' && t.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
        let yy: u32 = t[..2].parse().ok()?;
        t.insert_str(0, if yy >= 70 { "19" } else { "20" });
    }
    // "2004-07-08 23:56:58" (SQL) and "2004-07-08 23:56:58 +02:00"
    if t.len() > 10 && t.as_bytes().get(10) == Some(&b' ') && t.as_bytes()[4] == b'-' {
        t.replace_range(10..11, "T");
    }
    let t = t.replace(" +", "+").replace(" -", "-").replace('z', "Z");
    if let Ok(d) = DateTime::parse_from_rfc3339(&t) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(d) = DateTime::parse_from_str(&t.replace('Z', "+00:00"), fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t.trim_end_matches('Z'), fmt) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    None
}

/// RFC 2822 (and RFC 822's two-digit years), tolerating a wrong or missing
/// day name, a missing time, comments, and the usual US zone names.
fn rfc2822(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    // Without the day name (it is often wrong, or localised).
    let rest = match s.split_once(',') {
        Some((day, rest)) if day.chars().all(char::is_alphabetic) => rest.trim(),
        _ => s,
    };
    let rest = rest.split(" (").next().unwrap_or(rest).trim();
    if let Ok(d) = DateTime::parse_from_rfc2822(rest) {
        return Some(d.with_timezone(&Utc));
    }
    let parts: Vec<&str> = rest.split(' ').collect();
    // "01 Jan 2004" (no time) and "01 Jan 2004 10:00" (no zone: taken as UTC)
    if (3..=5).contains(&parts.len()) {
        let date = NaiveDate::parse_from_str(&parts[..3].join(" "), "%d %b %Y")
            .or_else(|_| NaiveDate::parse_from_str(&parts[..3].join(" "), "%d %B %Y"))
            .ok()?;
        let time = match parts.get(3) {
            Some(t) => {
                NaiveTime::parse_from_str(t, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(t, "%H:%M")).ok()?
            }
            None => NaiveTime::MIN,
        };
        let offset = parts.get(4).map_or(Some(0), |z| zone_offset(z))?;
        return Some(Utc.from_utc_datetime(&(date.and_time(time) - chrono::Duration::seconds(offset))));
    }
    None
}

static ISO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?x)^
        (?: (?P<y4>\d{4}) -? (?P<m>\d{2}) -? (?P<d>\d{2})      # 2003-12-31, 20031231
          | (?P<y2>\d{2}) -? (?P<m2>\d{2}) -? (?P<d2>\d{2})    # 03-12-31, 031231
          | - (?P<y2m>\d{2}) -? (?P<mm>\d{2})                   # -03-12, -0312 (year and month)
          | (?P<y2o>\d{2}) (?P<ord>\d{3})                       # 03335 (ordinal day)
        )
        (?: \s* T? \s* (?P<h>\d{2}) :? (?P<mi>\d{2}) (?: :? (?P<s>\d{2}) (?: \.\d+ )? )? )?
        \s* (?P<z> Z | [+-]\d{2}:?\d{2} )?
        $",
    )
    .expect("valid pattern")
});

/// ISO 8601 in its basic and extended forms, with two-digit years, ordinal
/// dates and year-month dates; out-of-range fields roll over (the 32nd of
/// July is the 1st of August), as feedparser does.
fn iso_lenient(s: &str) -> Option<DateTime<Utc>> {
    let c = ISO.captures(s)?;
    let num = |name: &str| c.name(name).and_then(|m| m.as_str().parse::<i64>().ok());
    let century = |yy: i64| if yy >= 70 { 1900 + yy } else { 2000 + yy };
    let (year, month, day) = if let Some(y) = num("y4") {
        (y, num("m")?, num("d")?)
    } else if let Some(y) = num("y2") {
        (century(y), num("m2")?, num("d2")?)
    } else if let Some(y) = num("y2m") {
        (century(y), num("mm")?, 1)
    } else {
        if !(1..=366).contains(&num("ord")?) {
            return None;
        }
        let start = NaiveDate::from_ymd_opt(century(num("y2o")?) as i32, 1, 1)?;
        let date = start + chrono::Duration::days(num("ord")? - 1);
        (
            chrono::Datelike::year(&date) as i64,
            chrono::Datelike::month(&date) as i64,
            chrono::Datelike::day(&date) as i64,
        )
    };
    // A field one step out of range rolls over; further out is nonsense.
    if !(1..=13).contains(&month) || !(1..=32).contains(&day) {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year as i32 + ((month - 1) / 12) as i32, ((month - 1) % 12 + 1) as u32, 1)?;
    let (h, mi, sec) = (num("h").unwrap_or(0), num("mi").unwrap_or(0), num("s").unwrap_or(0));
    if h > 25 || mi > 61 || sec > 61 {
        return None;
    }
    let offset = match c.name("z").map(|m| m.as_str()) {
        None | Some("Z") => 0,
        Some(z) => zone_offset(&z.replace(':', ""))?,
    };
    let local = first.and_time(NaiveTime::MIN)
        + chrono::Duration::days(day - 1)
        + chrono::Duration::seconds(h * 3600 + mi * 60 + sec - offset);
    Some(Utc.from_utc_datetime(&local))
}

/// Month names in Greek (abbreviated) and Hungarian, as feeds write them.
const MONTHS: &[(&str, u32)] = &[
    ("ιαν", 1),
    ("φεβ", 2),
    ("μάρ", 3),
    ("μαρ", 3),
    ("απρ", 4),
    ("μάι", 5),
    ("μαΐ", 5),
    ("μαι", 5),
    ("ιούν", 6),
    ("ιουν", 6),
    ("ιούλ", 7),
    ("ιουλ", 7),
    ("αύγ", 8),
    ("αυγ", 8),
    ("σεπ", 9),
    ("οκτ", 10),
    ("νοέ", 11),
    ("νοε", 11),
    ("δεκ", 12),
    ("január", 1),
    ("február", 2),
    ("március", 3),
    ("április", 4),
    ("május", 5),
    ("június", 6),
    ("július", 7),
    ("augusztus", 8),
    ("szeptember", 9),
    ("október", 10),
    ("november", 11),
    ("december", 12),
];

static KOREAN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(\d{4})년\s*(\d{1,2})월\s*(\d{1,2})일\s+(\d{1,2}):(\d{2}):(\d{2})").expect("valid pattern")
});

/// Dates in other languages, rewritten into a form parsed above: Greek
/// ("Κυρ, 11 Ιούλ 2004 12:00:00 EST"), Hungarian ("2004-július-13T9:15-05:00")
/// and Korean ("2004-05-25 오후 11:23:17", Korea time).
fn localised(s: &str) -> Option<DateTime<Utc>> {
    if s.is_ascii() {
        return None;
    }
    // Korean: 오전 (morning), 오후 (afternoon).
    for (marker, pm) in [("오전", false), ("오후", true)] {
        if let Some((date, time)) = s.split_once(&format!(" {marker} ")) {
            let t = NaiveTime::parse_from_str(time.trim(), "%H:%M:%S").ok()?;
            let t = if pm && chrono::Timelike::hour(&t) < 12 { t + chrono::Duration::hours(12) } else { t };
            let d = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
            return Some(Utc.from_utc_datetime(&(d.and_time(t) - chrono::Duration::hours(9))));
        }
    }
    // Korean: 2004년 05월 28일 01:31:15 (Korea time).
    if let Some(c) = KOREAN.captures(s) {
        let n = |i: usize| c[i].parse::<u32>().ok();
        let d = NaiveDate::from_ymd_opt(c[1].parse().ok()?, n(2)?, n(3)?)?;
        let t = NaiveTime::from_hms_opt(n(4)?, n(5)?, n(6)?)?;
        return Some(Utc.from_utc_datetime(&(d.and_time(t) - chrono::Duration::hours(9))));
    }
    let lower = s.to_lowercase();
    let (name, month) = MONTHS.iter().find(|(name, _)| lower.contains(name))?;
    let at = lower.find(name)?;
    // The whole word holding the month name goes.
    let end = lower[at..].find(|c: char| !c.is_alphabetic()).map_or(lower.len(), |i| at + i);
    let start = lower[..at].rfind(|c: char| !c.is_alphabetic()).map_or(0, |i| i + 1);
    let rewritten = if lower.as_bytes().get(end) == Some(&b'-') {
        // Hungarian ISO-like: 2004-július-13T9:15-05:00
        let rest = &s[end + 1..];
        let (day, time) = rest.split_once('T')?;
        let (hm, zone) = time.split_at(time.find(['+', '-', 'Z']).unwrap_or(time.len()));
        let (h, m) = hm.split_once(':')?;
        format!("{}{month:02}-{day}T{:0>2}:{m}:00{zone}", &s[..start], h)
    } else {
        // Greek RFC 822: drop the day name, name the month in English.
        const EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let body = s.split_once(", ").map_or(s, |(_, r)| r);
        let lower_body = body.to_lowercase();
        let i = lower_body.find(name)?;
        let j = lower_body[i..].find(' ').map_or(lower_body.len(), |k| i + k);
        format!("{}{}{}", &body[..i], EN[*month as usize - 1], &body[j..])
    };
    rfc3339(&rewritten).or_else(|| rfc2822(&rewritten))
}

/// Offset from UTC in seconds of a numeric or named zone.
fn zone_offset(z: &str) -> Option<i64> {
    let named = match z.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "AKST" => -9,
        "AKDT" => -8,
        "HST" => -10,
        "BST" => 1,
        "CET" => 1,
        "CEST" => 2,
        "PKT" => 5,
        // Generic US zone names ("Disney" dates): standard time.
        "ET" => -5,
        "CT" => -6,
        "MT" => -7,
        "PT" => -8,
        "AT" => -4,
        "KST" => 9,
        // India Standard Time is half an hour off the hour.
        "IST" => return Some(5 * 3600 + 30 * 60),
        _ => {
            let sign = match z.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            let h: i64 = digits[..2].parse().ok()?;
            let m: i64 = digits[2..].parse().ok()?;
            return Some(sign * (h * 3600 + m * 60));
        }
    };
    // IST aside, the named zones are whole hours.
    Some(named * 3600)
}

/// W3C-DTF partial dates and compact dates: 2003, 2003-12, 2003-12-31, 20031231.
fn w3dtf_partial(s: &str) -> Option<DateTime<Utc>> {
    if !s.starts_with(|c: char| c.is_ascii_digit()) || !s.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return None;
    }
    let date = match s.len() {
        4 => NaiveDate::from_ymd_opt(s.parse().ok()?, 1, 1),
        7 => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok(),
        10 => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        8 => NaiveDate::parse_from_str(s, "%Y%m%d").ok(),
        _ => None,
    }?;
    Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)))
}

/// Formats seen in feeds that are neither RFC nor ISO 8601.
fn other_formats(s: &str) -> Option<DateTime<Utc>> {
    // asctime: "Sun Jan  4 16:29:06 2004", optionally with a zone before the year
    if let Ok(d) = NaiveDateTime::parse_from_str(s, "%a %b %e %H:%M:%S %Y") {
        return Some(Utc.from_utc_datetime(&d));
    }
    let words: Vec<&str> = s.split(' ').collect();
    if words.len() == 6 {
        if let Some(offset) = zone_offset(words[4]) {
            let without = [&words[..4], &words[5..]].concat().join(" ");
            if let Ok(d) = NaiveDateTime::parse_from_str(&without, "%a %b %e %H:%M:%S %Y") {
                return Some(Utc.from_utc_datetime(&(d - chrono::Duration::seconds(offset))));
            }
        }
    }
    // "Fri, 2006/09/15 08:19:53 EDT" and "2006/09/15 08:19:53"
    let rest = s.split_once(", ").map_or(s, |(_, r)| r);
    let parts: Vec<&str> = rest.split(' ').collect();
    if parts.len() >= 2 && parts[0].contains('/') {
        let d = NaiveDateTime::parse_from_str(&format!("{} {}", parts[0], parts[1]), "%Y/%m/%d %H:%M:%S").ok()?;
        let offset = parts.get(2).map_or(Some(0), |z| zone_offset(z))?;
        return Some(Utc.from_utc_datetime(&(d - chrono::Duration::seconds(offset))));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> Option<String> {
        parse_date(s).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    #[test]
    fn formats_found_in_feeds() {
        let cases = [
            ("2003-12-31T10:14:55Z", "2003-12-31T10:14:55Z"),
            ("2003-12-31T10:14:55-08:00", "2003-12-31T18:14:55Z"),
            ("2003-12-31 T 10:14:55Z", "2003-12-31T10:14:55Z"),
            ("2003-12-31T10:14Z", "2003-12-31T10:14:00Z"),
            ("2003-12-31t10:14:55z", "2003-12-31T10:14:55Z"),
            ("03-12-31T10:14:55Z", "2003-12-31T10:14:55Z"),
            ("2004-07-08 23:56:58", "2004-07-08T23:56:58Z"),
            ("2004-07-08 23:56:58.7", "2004-07-08T23:56:58Z"),
            ("2003", "2003-01-01T00:00:00Z"),
            ("2003-12", "2003-12-01T00:00:00Z"),
            ("20031231", "2003-12-31T00:00:00Z"),
            ("Thu, 01 Jan 2004 19:48:21 GMT", "2004-01-01T19:48:21Z"),
            ("Mon, 01 Jan 2004 19:48:21 GMT", "2004-01-01T19:48:21Z"),
            ("01 Jan 04 19:48:21 EST", "2004-01-02T00:48:21Z"),
            ("Thu, 01 Jan 2004", "2004-01-01T00:00:00Z"),
            ("Thu, 01 January 2004 10:00", "2004-01-01T10:00:00Z"),
            ("Sun Jan  4 16:29:06 2004", "2004-01-04T16:29:06Z"),
            ("Fri, 2006/09/15 08:19:53 EDT", "2006-09-15T12:19:53Z"),
            ("  Sat, 28 Nov 2026 10:00:00 +0500  ", "2026-11-28T05:00:00Z"),
            // India Standard Time is +05:30.
            ("Sat, 28 Nov 2026 10:00:00 IST", "2026-11-28T04:30:00Z"),
        ];
        for (input, want) in cases {
            assert_eq!(iso(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn more_formats_from_the_corpus() {
        let cases = [
            ("2003-07-01T01:55:07-0500", "2003-07-01T06:55:07Z"),
            ("2003-07-01T01:55:07 -05:00", "2003-07-01T06:55:07Z"),
            ("2003-07-01T 01:55:07-05:00", "2003-07-01T06:55:07Z"),
            ("2003-07-01 T01:55:07-05:00", "2003-07-01T06:55:07Z"),
            ("2002-12-31T19:20+01:00", "2002-12-31T18:20:00Z"),
            ("20021231T19:20:30.45+01:00", "2002-12-31T18:20:30Z"),
            ("2002-12-31T192030+01:00", "2002-12-31T18:20:30Z"),
            ("031231", "2003-12-31T00:00:00Z"),
            ("03-12-31", "2003-12-31T00:00:00Z"),
            ("-03-12", "2003-12-01T00:00:00Z"),
            ("-0312", "2003-12-01T00:00:00Z"),
            ("03335", "2003-12-01T00:00:00Z"),
            ("Sun Jan  4 16:29:06 PST 2004", "2004-01-05T00:29:06Z"),
            ("2004-05-25 ", "2004-05-25T00:00:00Z"),
            ("2004-07-08 23:56:58.0", "2004-07-08T23:56:58Z"),
            // Out-of-range fields roll over, as feedparser does.
            ("2003-07-32T15:51:30-0500", "2003-08-01T20:51:30Z"),
            ("2003-07-01T25:51:30-0500", "2003-07-02T06:51:30Z"),
            ("2003-07-01T01:61:30-0500", "2003-07-01T07:01:30Z"),
            ("2003-07-01T01:55:61-0500", "2003-07-01T06:56:01Z"),
            ("2003-13-01T15:51:30-0500", "2004-01-01T20:51:30Z"),
            ("2003-06-31T15:51:30-0500", "2003-07-01T20:51:30Z"),
            ("2003-012-31T10:14:55+00:00", "2003-12-31T10:14:55Z"),
            ("Mon, 26 January 2004 16:31:00 ET", "2004-01-26T21:31:00Z"),
            ("Mon, 26 January 2004 16:31:00 PT", "2004-01-27T00:31:00Z"),
            ("Κυρ, 11 Ιούλ 2004 12:00:00 EST", "2004-07-11T17:00:00Z"),
            ("2004-július-13T9:15-05:00", "2004-07-13T14:15:00Z"),
            ("2004-05-25 오후 11:23:17", "2004-05-25T14:23:17Z"),
            ("2004년 05월 28일  01:31:15", "2004-05-27T16:31:15Z"),
        ];
        let mut wrong = Vec::new();
        for (input, want) in cases {
            if iso(input).as_deref() != Some(want) {
                wrong.push(format!("{input:?} -> {:?} (want {want})", iso(input)));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn nonsense_is_none() {
        for s in ["", "yesterday", "99999", "2004-13-45", "Thu, 45 Foo 2004", "1066-10-14"] {
            assert_eq!(iso(s), None, "{s}");
        }
    }
}
