//! Raw feed bytes to UTF-8 text, before feed-rs sees them. Pure.
//!
//! The order is feedparser's: a byte order mark, else UTF-16/32 recognised
//! from the first bytes, else the XML declaration's encoding, else the HTTP
//! `charset`; a document that declares nothing is UTF-8 when its bytes are
//! valid UTF-8 and otherwise detected (chardetng, the detector Firefox uses
//! for unlabelled pages). Two mislabels are corrected: a document declared
//! UTF-8 whose bytes are not, and valid UTF-8 declared as a single-byte
//! charset such as ISO-8859-1 (decoded as declared, its multibyte characters
//! would become mojibake whose C1 controls the terminal guard then drops).

use std::sync::LazyLock;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use regex::Regex;

/// Decodes a feed document to UTF-8 text (see the module documentation).
/// `tld` is the top-level domain the feed came from (`"ru"`, `"jp"`), a
/// hint for the detector. The XML declaration is rewritten to say UTF-8 and
/// a BOM is dropped.
pub fn to_utf8(body: &[u8], http_charset: Option<&str>, tld: Option<&str>) -> String {
    let text = decode(body, http_charset, tld);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    rewrite_declaration(text)
}

fn decode(body: &[u8], http_charset: Option<&str>, tld: Option<&str>) -> String {
    if let Some((enc, bom)) = Encoding::for_bom(body) {
        return enc.decode_without_bom_handling(&body[bom..]).0.into_owned();
    }
    match body {
        [0, 0, 0, b'<', ..] => return decode_utf32(body, true),
        [b'<', 0, 0, 0, ..] => return decode_utf32(body, false),
        [0, b'<', 0, b'?', ..] | [0, b'<', 0, _, ..] => {
            return UTF_16BE.decode_without_bom_handling(body).0.into_owned()
        }
        [b'<', 0, b'?', 0, ..] | [b'<', 0, _, 0, ..] => {
            return UTF_16LE.decode_without_bom_handling(body).0.into_owned()
        }
        _ => {}
    }
    let declared = declared_encoding(body).or_else(|| http_charset.and_then(encoding_for_label));
    match declared {
        // UTF-8 in name only: feedparser falls back too.
        Some(enc) if enc == UTF_8 => utf8_or_detected(body, tld),
        // UTF-16 declared in an ASCII-compatible document is a mislabel.
        Some(enc) if enc == UTF_16LE || enc == UTF_16BE => utf8_or_detected(body, tld),
        // Multibyte UTF-8 sequences are next to impossible in real text of
        // a single-byte charset ("Ã©" for "é"): it is UTF-8, mislabelled.
        Some(enc) if enc.is_single_byte() && is_utf8_with_multibyte(body) => {
            String::from_utf8(body.to_vec()).expect("checked to be UTF-8")
        }
        Some(enc) => enc.decode_without_bom_handling(body).0.into_owned(),
        None => utf8_or_detected(body, tld),
    }
}

/// Returns true if and only if `body` is valid UTF-8 holding at least one
/// character outside ASCII.
fn is_utf8_with_multibyte(body: &[u8]) -> bool {
    !body.is_ascii() && std::str::from_utf8(body).is_ok()
}

fn utf8_or_detected(body: &[u8], tld: Option<&str>) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => s.to_owned(),
        Err(_) => detect(body, tld).decode_without_bom_handling(body).0.into_owned(),
    }
}

/// The encoding chardetng guesses for bytes that are not UTF-8.
fn detect(body: &[u8], tld: Option<&str>) -> &'static Encoding {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(body, true);
    // chardetng panics on a TLD that is not a lower-case ASCII label.
    let tld =
        tld.filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    detector.guess(tld.map(str::as_bytes), Utf8Detection::Deny)
}

/// The top-level domain of a URL's host, lower-case, when it is a name.
pub fn tld_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let Some(url::Host::Domain(host)) = url.host() else { return None };
    let host = host.to_ascii_lowercase();
    let label = host.trim_end_matches('.').rsplit('.').next()?.to_owned();
    (!label.is_empty() && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        .then_some(label)
}

fn decode_utf32(body: &[u8], big_endian: bool) -> String {
    body.chunks_exact(4)
        .map(|c| {
            let v = if big_endian {
                u32::from_be_bytes([c[0], c[1], c[2], c[3]])
            } else {
                u32::from_le_bytes([c[0], c[1], c[2], c[3]])
            };
            char::from_u32(v).unwrap_or('\u{fffd}')
        })
        .collect()
}

/// A charset label, tolerating what feeds write: `windows_1252`, `cp1252`,
/// `utf8`, surrounding quotes.
fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase().replace('_', "-");
    let l = match l.as_str() {
        "utf8" => "utf-8".to_owned(),
        "cp-1252" | "win-1252" | "windows1252" => "windows-1252".to_owned(),
        _ => l,
    };
    Encoding::for_label(l.as_bytes())
}

static DECLARATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']+)["'][^>]*\?>"#).expect("valid pattern"));

fn declared_encoding(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(512)];
    let head = String::from_utf8_lossy(head);
    let caps = DECLARATION.captures(&head)?;
    encoding_for_label(&caps[1])
}

fn rewrite_declaration(text: &str) -> String {
    match DECLARATION.captures(text) {
        Some(caps) => {
            let m = caps.get(1).expect("group 1 exists");
            let mut out = String::with_capacity(text.len());
            out.push_str(&text[..m.start()]);
            out.push_str("UTF-8");
            out.push_str(&text[m.end()..]);
            out
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_recognised() {
        let utf16be: Vec<u8> =
            "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss/>".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(to_utf8(&utf16be, None, None), "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss/>");
        let latin1 = b"<?xml version='1.0' encoding='windows_1252'?><t>caf\xe9 \x80</t>";
        assert_eq!(to_utf8(latin1, None, None), "<?xml version='1.0' encoding='UTF-8'?><t>café €</t>");
        // Charset only in the HTTP header.
        assert_eq!(to_utf8(b"<t>\xe9</t>", Some("iso-8859-1"), None), "<t>é</t>");
        // Declared UTF-8 with invalid bytes.
        assert_eq!(
            to_utf8(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>caf\xe9</t>", None, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>café</t>"
        );
        assert_eq!(to_utf8("\u{feff}{\"a\":1}".as_bytes(), None, None), "{\"a\":1}");
        let utf32: Vec<u8> = "<a>ü</a>".chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        assert_eq!(to_utf8(&utf32, None, None), "<a>ü</a>");
    }

    #[test]
    fn undeclared_legacy_text_is_detected_not_assumed_windows_1252() {
        // Russian in windows-1251 with no declaration: read as windows-1252
        // it would be "Ïðèâåò".
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("<t>Привет, как дела? Новости дня</t>");
        assert_eq!(to_utf8(&bytes, None, None), "<t>Привет, как дела? Новости дня</t>");
        // Japanese in Shift_JIS.
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("<t>こんにちは、今日のニュースです</t>");
        assert_eq!(to_utf8(&bytes, None, None), "<t>こんにちは、今日のニュースです</t>");
        // A declaration still wins over the detector.
        let doc = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>\xcf\xf0\xe8</t>";
        assert_eq!(to_utf8(doc, None, None), "<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>Ïðè</t>");
    }

    #[test]
    fn utf8_declared_as_a_single_byte_charset_is_read_as_utf8() {
        // See issue 9: the mojibake's C1 characters cut the text on output.
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>Café “quoted” — ok</t>";
        assert_eq!(to_utf8(doc.as_bytes(), None, None), doc.replace("ISO-8859-1", "UTF-8"));
        let doc = "<t>Ð½Ð¾Ð²Ð¾ÑÑ‚Ð¸ — Zürich</t>";
        assert_eq!(to_utf8(doc.as_bytes(), Some("windows-1252"), None), doc);
        // Plain ASCII and real Latin-1 bytes are left to the declaration.
        assert!(to_utf8(b"<?xml version='1.0' encoding='iso-8859-1'?><t>\xe9t\xe9</t>", None, None).contains("été"));
    }

    #[test]
    fn tld_is_a_lower_case_label_or_nothing() {
        assert_eq!(tld_of("https://news.example.RU/feed").as_deref(), Some("ru"));
        assert_eq!(tld_of("http://127.0.0.1:8080/feed"), None);
        assert_eq!(tld_of("file:///tmp/feed.xml"), None);
        assert_eq!(tld_of("http://xn--p1ai./x").as_deref(), Some("xn--p1ai"));
    }
}
