//! Repairs for documents feed-rs would reject or read as empty. Pure.
//!
//! [`repair_xml`] and [`repair_json`] run only when the document as sent
//! fails to parse or yields no entries, so a well-formed feed is never
//! rewritten.

use std::borrow::Cow;
use std::sync::LazyLock;

use quick_xml::events::Event;
use regex::Regex;

/// An `<rss>` element (not `<rss:channel>`: RSS 1.0 elements under an
/// `rss:` prefix are no RSS 2.0 root).
static RSS_ROOT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<rss((?:\s[^>]*)?)>").expect("valid pattern"));
static DEFAULT_NS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\sxmlns\s*=\s*["'][^"']*["']"#).expect("valid pattern"));
static VERSION_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\sversion\s*=\s*["'][^"']*["']"#).expect("valid pattern"));
static RDF_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)(<item\b(?:[^>]*?rdf:about\s*=\s*["']([^"']*)["'])?[^>]*>)(.*?)</item>"#).expect("valid pattern")
});
static TEXT_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<((?:[a-zA-Z]+:)?(?:title|subtitle|summary|content|rights|tagline|info|copyright)|media:description)(\s[^>]*?)?\stype\s*=\s*(["'])([^"']*)(["'])"#)
        .expect("valid pattern")
});

/// Repairs an XML feed that feed-rs rejects or reads as empty; `None` when
/// there is nothing to repair.
pub fn repair_xml(doc: &str) -> Option<String> {
    let mut out = Cow::Borrowed(doc);
    // RSS 1.1: `<Channel>` root, items inside `<items>`.
    if out.contains("http://purl.org/net/rss1.1#") {
        let s = RSS11_ROOT.replace(&out, "<rss version=\"2.0\"><channel>");
        let s = s.replace("</Channel>", "</channel></rss>");
        let s = RSS11_ITEMS.replace_all(&s, "");
        out = Cow::Owned(s.into_owned());
    }
    // A bare `<rdf>` root (no RDF namespace) around items: RSS.
    if let Some(range) = BARE_RDF_ROOT.find(&out).map(|m| m.start() + m.as_str().rfind("<rdf").unwrap_or(0)..m.end()) {
        let (open, end) = (range.start, range.end);
        let mut s = out.into_owned();
        s.replace_range(open..end, "<rss>");
        if let Some(close) = s.rfind("</rdf>") {
            s.replace_range(close..close + 6, "</rss>");
        }
        out = Cow::Owned(s);
    }
    // `&#X41;`: XML wants a lower-case x.
    if out.contains("&#X") {
        out = Cow::Owned(out.replace("&#X", "&#x"));
    }
    // RSS elements prefixed with Userland's RSS 2.0 namespace (`<r:item>`).
    if let Some(caps) = USERLAND_PREFIX.captures(&out) {
        let prefix = caps[1].to_owned();
        let decl = caps.get(0).expect("group 0 exists").as_str().to_owned();
        let s = out.replace(&decl, "").replace(&format!("<{prefix}:"), "<").replace(&format!("</{prefix}:"), "</");
        out = Cow::Owned(s);
    }
    // An Atom root in a misspelt namespace (wrong case, a trailing slash).
    if let Some(caps) = ATOM_WRONG_NS.captures(&out) {
        let ns = caps[1].to_owned();
        // A `<feed>` root in any other namespace is read as Atom, as feedparser does.
        if ns != "http://www.w3.org/2005/Atom" && ns != "http://purl.org/atom/ns#" {
            out = Cow::Owned(out.replacen(&format!("\"{ns}\""), "\"http://www.w3.org/2005/Atom\"", 1));
        }
    }
    // CDF (Microsoft's Channel Definition Format), as RSS 2.0.
    if let Some(rss) = cdf_to_rss(&out) {
        out = Cow::Owned(rss);
    }
    // `<rss>` without a version, or one feed-rs does not know (0.93, 0.94, 2.01…).
    if let Some(caps) = RSS_ROOT.captures(&out) {
        // A default namespace on `<rss>` (Userland's RSS 2.0 namespace) hides
        // every element from feed-rs: RSS 0.9x/2.0 have none.
        let attrs = DEFAULT_NS.replace_all(&caps[1], "").into_owned();
        let attrs = attrs.as_str();
        let version = VERSION_ATTR.find(attrs).map(|m| m.as_str().to_owned());
        let known = version.as_deref().is_some_and(|v| ["2.0", "0.91", "0.92"].iter().any(|k| v.contains(k)));
        if !known || attrs != &caps[1] {
            let new_attrs = match &version {
                Some(v) if !known => attrs.replacen(v.as_str(), " version=\"2.0\"", 1),
                Some(_) => attrs.to_owned(),
                None => format!(" version=\"2.0\"{attrs}"),
            };
            let whole = caps.get(0).expect("group 0 exists").range();
            let mut s = out.into_owned();
            s.replace_range(whole, &format!("<rss{new_attrs}>"));
            out = Cow::Owned(s);
        }
    }
    // Items directly under `<rss>`, with no `<channel>` around them.
    if RSS_ROOT.is_match(&out) && !out.contains("<channel") {
        if let Some(caps) = RSS_ROOT.captures(&out) {
            let end = caps.get(0).expect("group 0 exists").end();
            let mut s = out.into_owned();
            s.insert_str(end, "<channel>");
            match s.rfind("</rss") {
                Some(close) => s.insert_str(close, "</channel>"),
                None => s.push_str("</channel>"),
            }
            out = Cow::Owned(s);
        }
    }
    // RSS 0.90 (Netscape's namespace, under either of its host names) reads as RSS 1.0.
    for netscape in ["http://my.netscape.com/rdf/simple/0.9/", "http://channel.netscape.com/rdf/simple/0.9/"] {
        if out.contains(netscape) {
            out = Cow::Owned(out.replace(netscape, "http://purl.org/rss/1.0/"));
        }
    }
    // Atom content that lives elsewhere (`src`) but also holds text or an
    // odd type: feed-rs rejects the whole feed; the entry is read without it.
    if CONTENT_SRC.is_match(&out) {
        out = Cow::Owned(CONTENT_SRC.replace_all(&out, "").into_owned());
    }
    // RSS 1.0 items written inside `<channel>`: feed-rs looks for them
    // beside it.
    if out.contains("rdf:RDF") {
        let first_item = ITEM_START.find(&out).map(|m| m.start());
        let close = out.rfind("</channel>");
        if let (Some(item), Some(close)) = (first_item, close) {
            if close > item && out[..item].contains("<channel") {
                let mut s = out.into_owned();
                s.replace_range(close..close + "</channel>".len(), "");
                s.insert_str(item, "</channel>");
                out = Cow::Owned(s);
            }
        }
    }
    // An RSS 1.0 item that is only its `rdf:about`.
    if out.contains("rdf:RDF") && RDF_EMPTY_ITEM.is_match(&out) {
        out = Cow::Owned(RDF_EMPTY_ITEM.replace_all(&out, "<item$1><link>$2</link></item>").into_owned());
    }
    // RSS 1.0 items without `<link>` are dropped by feed-rs: their
    // `rdf:about` is their link.
    if out.contains("rdf:RDF") || out.contains("purl.org/rss/1.0") {
        let fixed = RDF_ITEM.replace_all(&out, |c: &regex::Captures<'_>| {
            let (start, body) = (&c[1], &c[3]);
            if body.contains("<link") {
                c[0].to_owned()
            } else {
                // Without rdf:about either, a placeholder that canonical links drop.
                let about = c.get(2).map_or("about:blank", |m| m.as_str());
                format!("{start}<link>{about}</link>{body}</item>")
            }
        });
        if fixed != out {
            out = Cow::Owned(fixed.into_owned());
        }
    }
    // Atom 0.3 parses as an empty feed: move it to the Atom 1.0 namespace.
    if out.contains("http://purl.org/atom/ns#") {
        let mut s = out.replace("http://purl.org/atom/ns#", "http://www.w3.org/2005/Atom");
        if !s.contains("<entry") {
            s = s.replace("<item>", "<entry>").replace("<item ", "<entry ").replace("</item>", "</entry>");
        }
        for (old, new) in
            [("issued", "published"), ("modified", "updated"), ("tagline", "subtitle"), ("copyright", "rights")]
        {
            s = s.replace(&format!("<{old}>"), &format!("<{new}>")).replace(&format!("</{old}>"), &format!("</{new}>"));
            s = s.replace(&format!("<{old} "), &format!("<{new} "));
        }
        out = Cow::Owned(s);
    }
    // Text constructs whose `type` feed-rs rejects (blank, text/plain,
    // application/octet-stream, image/*): read them as text or HTML.
    if TEXT_TYPE.is_match(&out) {
        let fixed = TEXT_TYPE.replace_all(&out, |c: &regex::Captures<'_>| {
            let value = c[4].trim().to_ascii_lowercase();
            // Media RSS knows two types, and calls text "plain".
            let media = c[1].starts_with("media:");
            let mapped = match value.as_str() {
                v if media && v.contains("html") => "html".to_owned(),
                _ if media => "plain".to_owned(),
                "text" | "html" | "xhtml" | "text/html" => value.clone(),
                v if v.contains("xhtml") => "xhtml".to_owned(),
                v if v.contains("html") => "html".to_owned(),
                _ => "text".to_owned(),
            };
            format!("<{}{} type={}{}{}", &c[1], c.get(2).map_or("", |m| m.as_str()), &c[3], mapped, &c[5])
        });
        if fixed != out {
            out = Cow::Owned(fixed.into_owned());
        }
    }
    // A document cut short: close the elements still open.
    if let Some(closed) = close_open_elements(&out) {
        out = Cow::Owned(closed);
    }
    match out {
        Cow::Borrowed(_) => None,
        Cow::Owned(s) if s == doc => None,
        Cow::Owned(s) => Some(s),
    }
}

static ITEM_START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<item[\s>/]").expect("valid pattern"));
static RDF_EMPTY_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<item\b([^>]*?\brdf:about\s*=\s*["']([^"'<>]*)["'][^>]*?)\s*/>"#).expect("valid pattern")
});
static BARE_RDF_ROOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\s|<\?[^>]*\?>|<!--(?s:.*?)-->|<!DOCTYPE[^>]*>)*<rdf\s*>").expect("valid pattern")
});
static CONTENT_SRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)<content\b[^>]*?\ssrc\s*=\s*["'][^>]*?(?:/>|>.*?</content\s*>)"#).expect("valid pattern")
});
static USERLAND_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\s+xmlns:([A-Za-z][\w.-]*)\s*=\s*["']http://backend\.userland\.com/rss2["']"#).expect("valid pattern")
});
static ATOM_WRONG_NS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<feed\b[^>]*?\sxmlns\s*=\s*"([^"]*)""#).expect("valid pattern"));
static RSS11_ROOT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<Channel\b[^>]*>").expect("valid pattern"));
static RSS11_ITEMS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"</?items\b[^>]*>").expect("valid pattern"));
static CDF_ROOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\s|<\?[^>]*\?>|<!--(?s:.*?)-->|<!DOCTYPE[^>]*>)*<CHANNEL\b").expect("valid pattern")
});
static CDF_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<(/?)(channel|item|title|abstract)\b([^>]*?)(/?)>").expect("valid pattern"));
static CDF_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\b(href|lastmod)\s*=\s*["']([^"']*)["']"#).expect("valid pattern"));

/// Rewrites a CDF document (root `<CHANNEL>`) as RSS 2.0: CHANNEL and ITEM
/// with their HREF as link and LASTMOD as date, TITLE, ABSTRACT as description.
fn cdf_to_rss(doc: &str) -> Option<String> {
    if !CDF_ROOT.is_match(doc) {
        return None;
    }
    let body = CDF_TAG.replace_all(doc, |c: &regex::Captures<'_>| {
        let closing = !c[1].is_empty();
        let name = c[2].to_ascii_lowercase();
        let self_closing = !c[4].is_empty();
        let (open, close) = match name.as_str() {
            "channel" => ("<rss version=\"2.0\"><channel>", "</channel></rss>"),
            "item" => ("<item>", "</item>"),
            "title" => ("<title>", "</title>"),
            _ => ("<description>", "</description>"),
        };
        if closing {
            return close.to_owned();
        }
        let mut out = open.to_owned();
        if name == "channel" || name == "item" {
            for a in CDF_ATTR.captures_iter(&c[3]) {
                match a[1].to_ascii_lowercase().as_str() {
                    "href" => out.push_str(&format!("<link>{}</link>", &a[2])),
                    _ if name == "item" => out.push_str(&format!("<pubDate>{}</pubDate>", &a[2])),
                    _ => out.push_str(&format!("<lastBuildDate>{}</lastBuildDate>", &a[2])),
                }
            }
        }
        if self_closing {
            out.push_str(close);
        }
        out
    });
    Some(body.into_owned())
}

/// Cuts a document at its first malformed point (or its end) and closes the
/// elements open there; `None` when the document is complete.
fn close_open_elements(doc: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(doc);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<String> = Vec::new();
    let mut good = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.name().0.as_bytes()).into_owned());
                good = reader.buffer_position() as usize;
            }
            Ok(Event::End(e)) => {
                let name = String::from_utf8_lossy(e.name().0.as_bytes()).into_owned();
                if let Some(pos) = stack.iter().rposition(|n| *n == name) {
                    stack.truncate(pos);
                }
                good = reader.buffer_position() as usize;
            }
            Ok(Event::Eof) => break,
            Ok(_) => good = reader.buffer_position() as usize,
            Err(_) => break,
        }
        if stack.len() > 256 {
            return None;
        }
    }
    if stack.is_empty() {
        return None;
    }
    let mut out = doc[..good.min(doc.len())].to_owned();
    for name in stack.iter().rev() {
        out.push_str(&format!("</{name}>"));
    }
    Some(out)
}

static DCTERMS_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"<(/?)(?:(?:dcterms|dct|dc):(?:issued|created|modified|date|available)|atom:(?:published|updated))\b([^>]*)>",
    )
    .expect("valid pattern")
});

/// Makes entry dates feed-rs does not read readable: Dublin Core terms
/// (`dcterms:issued`, `dcterms:modified`…) become `pubDate` in RSS, and
/// Atom 0.3's `issued`/`modified` become `published`/`updated`. Used when a
/// document parses but none of its entries has a date.
pub fn repair_dates(doc: &str) -> Option<String> {
    let mut out = Cow::Borrowed(doc);
    if RSS_ROOT.is_match(&out) {
        let fixed = DCTERMS_DATE.replace_all(&out, |c: &regex::Captures<'_>| format!("<{}pubDate{}>", &c[1], &c[2]));
        if fixed != out {
            out = Cow::Owned(fixed.into_owned());
        }
    } else if out.contains("rdf:RDF") {
        // RSS 1.0 reads Dublin Core's date (declared on the root if need be),
        // also in place of an RSS 2.0 pubDate.
        let fixed = DCTERMS_DATE.replace_all(&out, |c: &regex::Captures<'_>| format!("<{}dc:date{}>", &c[1], &c[2]));
        let mut fixed = fixed.replace("<pubDate>", "<dc:date>").replace("</pubDate>", "</dc:date>");
        if !fixed.contains("xmlns:dc=") {
            fixed = fixed.replacen("<rdf:RDF", "<rdf:RDF xmlns:dc=\"http://purl.org/dc/elements/1.1/\"", 1);
        }
        if fixed != out {
            out = Cow::Owned(fixed);
        }
    }
    if out.contains("<feed") {
        let mut s = out.into_owned();
        for (old, new) in [("issued", "published"), ("modified", "updated"), ("created", "published")] {
            s = s.replace(&format!("<{old}>"), &format!("<{new}>")).replace(&format!("</{old}>"), &format!("</{new}>"));
        }
        out = Cow::Owned(s);
    }
    match out {
        Cow::Owned(s) if s != doc => Some(s),
        _ => None,
    }
}

/// Repairs a JSON Feed feed-rs rejects: a version written as "1" or "1.1"
/// instead of the spec's URL, a missing title.
pub fn repair_json(doc: &str) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(doc).ok()?;
    let obj = v.as_object_mut()?;
    let mut changed = false;
    let version_ok =
        obj.get("version").and_then(|x| x.as_str()).is_some_and(|s| s.starts_with("https://jsonfeed.org/version/"));
    if !version_ok {
        let version = match obj.get("version").and_then(|x| x.as_str()) {
            Some(s) if s.contains("1.1") => "https://jsonfeed.org/version/1.1",
            _ => "https://jsonfeed.org/version/1",
        };
        obj.insert("version".into(), version.into());
        changed = true;
    }
    if !obj.get("title").is_some_and(serde_json::Value::is_string) {
        obj.insert("title".into(), "".into());
        changed = true;
    }
    if !obj.get("items").is_some_and(serde_json::Value::is_array) {
        return None;
    }
    changed.then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_version_is_repaired() {
        assert_eq!(repair_xml("<rss><channel/></rss>").unwrap(), "<rss version=\"2.0\"><channel/></rss>");
        assert_eq!(
            repair_xml("<rss version=\"0.94\"><channel/></rss>").unwrap(),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(repair_xml("<rss version=\"2.0\"><channel/></rss>"), None);
        assert_eq!(
            repair_xml(
                "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\" xmlns:dc=\"x\"><channel/></rss>"
            )
            .unwrap(),
            "<rss version=\"2.0\" xmlns:dc=\"x\"><channel/></rss>"
        );
    }

    #[test]
    fn rss_without_channel_and_rdf_items_without_link() {
        assert_eq!(
            repair_xml("<rss version=\"2.0\"><item><title>a</title></item></rss>").unwrap(),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
        );
        let rdf = "<rdf:RDF><item rdf:about=\"http://e.x/1\"><title>a</title></item></rdf:RDF>";
        assert_eq!(
            repair_xml(rdf).unwrap(),
            "<rdf:RDF><item rdf:about=\"http://e.x/1\"><link>http://e.x/1</link><title>a</title></item></rdf:RDF>"
        );
    }

    #[test]
    fn rss_11_and_090_become_readable() {
        let doc = "<Channel xmlns=\"http://purl.org/net/rss1.1#\" rdf:about=\"http://x\"><title>X</title><items rdf:parseType=\"Collection\"><item rdf:about=\"http://x/1\"><title>T</title><link>http://x/1</link></item></items></Channel>";
        assert_eq!(repair_xml(doc).unwrap(), "<rss version=\"2.0\"><channel><title>X</title><item rdf:about=\"http://x/1\"><title>T</title><link>http://x/1</link></item></channel></rss>");
        let doc = "<rdf:RDF xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><item><title>T</title></item></rdf:RDF>";
        assert_eq!(repair_xml(doc).unwrap(), "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\"><item><link>about:blank</link><title>T</title></item></rdf:RDF>");
    }

    #[test]
    fn namespaces_and_char_refs_are_fixed() {
        assert_eq!(
            repair_xml("<r:rss version=\"2.0\" xmlns:r=\"http://backend.userland.com/rss2\"><r:channel><r:item/></r:channel></r:rss>").unwrap(),
            "<rss version=\"2.0\"><channel><item/></channel></rss>"
        );
        assert!(repair_xml("<feed xmlns=\"http://www.w3.org/2005/atom\"></feed>")
            .unwrap()
            .contains("\"http://www.w3.org/2005/Atom\""));
        assert_eq!(
            repair_xml("<rss version=\"2.0\"><channel><title>&#X41;</title></channel></rss>").unwrap(),
            "<rss version=\"2.0\"><channel><title>&#x41;</title></channel></rss>"
        );
    }

    #[test]
    fn dublin_core_and_atom_03_dates_become_readable() {
        let rss = "<rss version=\"2.0\"><channel><item><dcterms:modified>2003-12-31T10:14:55Z</dcterms:modified></item></channel></rss>";
        assert_eq!(
            repair_dates(rss).unwrap(),
            "<rss version=\"2.0\"><channel><item><pubDate>2003-12-31T10:14:55Z</pubDate></item></channel></rss>"
        );
        assert!(repair_dates("<feed><entry><issued>2003</issued></entry></feed>")
            .unwrap()
            .contains("<published>2003</published>"));
        assert_eq!(repair_dates("<rss><channel/></rss>"), None);
        let rdf = "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\"><item><pubDate>Sat, 01 Jan 2000 00:00:00 GMT</pubDate></item></rdf:RDF>";
        assert_eq!(
            repair_dates(rdf).unwrap(),
            "<rdf:RDF xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns=\"http://purl.org/rss/1.0/\"><item><dc:date>Sat, 01 Jan 2000 00:00:00 GMT</dc:date></item></rdf:RDF>"
        );
    }

    #[test]
    fn cdf_becomes_rss() {
        let cdf = "<CHANNEL HREF=\"http://e.x/\"><TITLE>c</TITLE><ITEM HREF=\"/1\" LASTMOD=\"2004-04-06T23:05:43-05:00\"><TITLE>i</TITLE><ABSTRACT>a</ABSTRACT></ITEM></CHANNEL>";
        assert_eq!(
            repair_xml(cdf).unwrap(),
            "<rss version=\"2.0\"><channel><link>http://e.x/</link><title>c</title><item><link>/1</link><pubDate>2004-04-06T23:05:43-05:00</pubDate><title>i</title><description>a</description></item></channel></rss>"
        );
    }

    #[test]
    fn atom_03_becomes_atom_10() {
        let doc = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><issued>2003</issued><modified>2004</modified></entry></feed>";
        let fixed = repair_xml(doc).unwrap();
        assert!(
            fixed.contains("http://www.w3.org/2005/Atom") && fixed.contains("<published>2003</published>"),
            "{fixed}"
        );
    }

    #[test]
    fn unknown_text_types_are_mapped() {
        let doc = "<feed><title type=\"text/plain\">a</title><content type='application/octet-stream'>b</content><link type=\"application/rss+xml\"/></feed>";
        let fixed = repair_xml(doc).unwrap();
        assert!(fixed.contains("<title type=\"text\">") && fixed.contains("<content type='text'>"), "{fixed}");
        assert!(fixed.contains("<link type=\"application/rss+xml\"/>"), "{fixed}");
    }

    #[test]
    fn content_elsewhere_netscape_and_bare_rdf_roots() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title><content src="http://e.x/a.pdf" type="pdf">extra</content></entry></feed>"#;
        assert_eq!(
            repair_xml(doc).unwrap(),
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title></entry></feed>"#
        );
        let doc = r#"<rdf:RDF xmlns="http://channel.netscape.com/rdf/simple/0.9/"><item><title>a</title><link>http://e.x/a</link></item></rdf:RDF>"#;
        assert!(repair_xml(doc).unwrap().contains("http://purl.org/rss/1.0/"));
        let doc = "<?xml version=\"1.0\"?>\n<rdf>\n<item><title>a</title></item>\n</rdf>";
        assert_eq!(
            repair_xml(doc).unwrap(),
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>\n<item><title>a</title></item>\n</channel></rss>"
        );
        let doc = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><item><media:title type="text/html">Yum</media:title><media:description type="text">d</media:description></item></channel></rss>"#;
        let fixed = repair_xml(doc).unwrap();
        assert!(
            fixed.contains(r#"<media:title type="html">"#) && fixed.contains(r#"<media:description type="plain">"#),
            "{fixed}"
        );
    }

    #[test]
    fn rss_10_items_inside_channel_or_only_an_about() {
        let doc = r#"<rdf:RDF><channel rdf:about="http://e.x/"><title>c</title><item rdf:about="http://e.x/1"><title>a</title><link>http://e.x/1</link></item></channel></rdf:RDF>"#;
        assert_eq!(
            repair_xml(doc).unwrap(),
            r#"<rdf:RDF><channel rdf:about="http://e.x/"><title>c</title></channel><item rdf:about="http://e.x/1"><title>a</title><link>http://e.x/1</link></item></rdf:RDF>"#
        );
        let doc = r#"<rdf:RDF><channel/><item rdf:about="http://e.x/1"/></rdf:RDF>"#;
        assert_eq!(
            repair_xml(doc).unwrap(),
            r#"<rdf:RDF><channel/><item rdf:about="http://e.x/1"><link>http://e.x/1</link></item></rdf:RDF>"#
        );
    }

    #[test]
    fn rss_10_under_a_prefix_is_not_taken_for_rss_20() {
        // See issue 9: `<rss:channel>` once got a `<channel>` and a version.
        let doc = "<rdf:RDF xmlns:rss=\"http://purl.org/rss/1.0/\"><rss:channel><rss:title>t</rss:title></rss:channel><rss:item rdf:about=\"http://e.x/1\"><rss:title>a</rss:title></rss:item></rdf:RDF";
        assert_eq!(repair_xml(doc).unwrap(), format!("{doc}>"));
    }

    #[test]
    fn truncated_documents_are_closed() {
        assert_eq!(
            repair_xml("<rss version=\"2.0\"><channel><item><title>x</title></item></channel></rss").unwrap(),
            "<rss version=\"2.0\"><channel><item><title>x</title></item></channel></rss>"
        );
        assert_eq!(
            repair_xml("<feed><entry><title>a</title></entry><entry><title>b").unwrap(),
            "<feed><entry><title>a</title></entry><entry><title>b</title></entry></feed>"
        );
    }

    #[test]
    fn json_versions_and_titles_are_repaired() {
        let fixed = repair_json("{\"version\":\"1.0\",\"items\":[]}").unwrap();
        assert!(fixed.contains("https://jsonfeed.org/version/1") && fixed.contains("\"title\":\"\""), "{fixed}");
        assert_eq!(
            repair_json("{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"t\",\"items\":[]}"),
            None
        );
        assert_eq!(repair_json("not json"), None);
    }
}
