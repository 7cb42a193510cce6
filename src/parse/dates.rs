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
    rfc3339(s).or_else(|| rfc2822(s)).or_else(|| other_formats(s)).filter(|d| plausible(*d))
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
        "IST" => 5,
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
    // Half-hour zones aside, named zones are whole hours.
    Some(named * 3600)
}

/// Formats seen in feeds that are neither RFC.
fn other_formats(s: &str) -> Option<DateTime<Utc>> {
    // W3C-DTF partial dates and compact dates: 2003, 2003-12, 2003-12-31, 20031231.
    let digits_only = s.chars().all(|c| c.is_ascii_digit() || c == '-');
    if digits_only {
        let date = match s.len() {
            4 => NaiveDate::from_ymd_opt(s.parse().ok()?, 1, 1),
            7 => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok(),
            10 => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            8 => NaiveDate::parse_from_str(s, "%Y%m%d").ok(),
            _ => None,
        }?;
        return Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)));
    }
    // asctime: "Sun Jan  4 16:29:06 2004" (optionally with a zone before the year)
    if let Ok(d) = NaiveDateTime::parse_from_str(s, "%a %b %e %H:%M:%S %Y") {
        return Some(Utc.from_utc_datetime(&d));
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
        ];
        for (input, want) in cases {
            assert_eq!(iso(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn nonsense_is_none() {
        for s in ["", "yesterday", "99999", "2004-13-45", "Thu, 45 Foo 2004", "1066-10-14"] {
            assert_eq!(iso(s), None, "{s}");
        }
    }
}
