//! Writers for other tools: the feed list as OPML 2.0 and a digest of
//! stories as JSON Feed 1.1. They take plain data and return a document;
//! every value is escaped by the XML or JSON writer.

use chrono::{DateTime, Utc};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde::Serialize;

pub mod atom;
pub mod digest;
pub mod html;

/// A feed as exported to OPML.
#[derive(Debug, Clone)]
pub struct OpmlFeed {
    pub title: String,
    pub xml_url: String,
    pub html_url: Option<String>,
    pub topics: Vec<String>,
}

/// Removes what XML 1.0 cannot carry at all, escaped or not: control
/// characters other than tab and line breaks (C0, DEL and C1, which XML
/// allows escaped but readers choke on), and the non-characters U+FFFE
/// and U+FFFF (surrogates cannot occur in a Rust string). Every value any
/// XML writer of syndic writes passes through it.
///
/// ```
/// assert_eq!(syndic::export::xml_safe("a\u{fffe}b\u{ffff}c\u{1}d\te"), "abcd\te");
/// ```
pub fn xml_safe(s: &str) -> String {
    s.chars().filter(|&c| is_xml_char(c) && (!c.is_control() || matches!(c, '\t' | '\n' | '\r'))).collect()
}

/// Returns true if and only if XML 1.0 allows `c` in a document (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The feed list as OPML 2.0: one outline per topic holding its feeds (a
/// feed with several topics appears under each, with a `category`
/// attribute listing them), then the feeds without a topic.
pub fn opml(title: &str, feeds: &[OpmlFeed], topics: &[String], created: DateTime<Utc>) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let result: std::io::Result<()> = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut root = BytesStart::new("opml");
        root.push_attribute(("version", "2.0"));
        w.write_event(Event::Start(root))?;
        w.write_event(Event::Start(BytesStart::new("head")))?;
        text_element(&mut w, "title", &xml_safe(title))?;
        text_element(&mut w, "dateCreated", &created.to_rfc2822())?;
        text_element(&mut w, "docs", "https://opml.org/spec2.opml")?;
        w.write_event(Event::End(BytesEnd::new("head")))?;
        w.write_event(Event::Start(BytesStart::new("body")))?;
        for topic in topics {
            let members: Vec<&OpmlFeed> = feeds.iter().filter(|f| f.topics.contains(topic)).collect();
            if members.is_empty() {
                continue;
            }
            let mut outline = BytesStart::new("outline");
            outline.push_attribute(("text", xml_safe(topic).as_str()));
            outline.push_attribute(("title", xml_safe(topic).as_str()));
            w.write_event(Event::Start(outline))?;
            for f in members {
                w.write_event(Event::Empty(feed_outline(f)))?;
            }
            w.write_event(Event::End(BytesEnd::new("outline")))?;
        }
        for f in feeds.iter().filter(|f| f.topics.is_empty()) {
            w.write_event(Event::Empty(feed_outline(f)))?;
        }
        w.write_event(Event::End(BytesEnd::new("body")))?;
        w.write_event(Event::End(BytesEnd::new("opml")))?;
        Ok(())
    })();
    result.expect("writing XML to a Vec cannot fail");
    let mut doc = String::from_utf8(w.into_inner()).expect("the XML writer writes UTF-8");
    doc.push('\n');
    doc
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn feed_outline(f: &OpmlFeed) -> BytesStart<'static> {
    let mut o = BytesStart::new("outline");
    let title = xml_safe(&f.title);
    o.push_attribute(("type", "rss"));
    o.push_attribute(("text", title.as_str()));
    o.push_attribute(("title", title.as_str()));
    o.push_attribute(("xmlUrl", xml_safe(&f.xml_url).as_str()));
    if let Some(h) = &f.html_url {
        o.push_attribute(("htmlUrl", xml_safe(h).as_str()));
    }
    if !f.topics.is_empty() {
        // OPML 2.0: comma-separated, slash-delimited category strings.
        let category = f.topics.iter().map(|t| format!("/{}", xml_safe(t))).collect::<Vec<_>>().join(",");
        o.push_attribute(("category", category.as_str()));
    }
    o
}

/// A JSON Feed 1.1 document.
#[derive(Debug, Serialize)]
pub struct JsonFeed {
    pub version: &'static str,
    pub title: String,
    /// The page the digest stands for (`--home-page-url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_page_url: Option<String>,
    /// Where the digest itself is published (`--feed-url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub items: Vec<JsonFeedItem>,
}

/// The JSON Feed version written.
pub const JSON_FEED_VERSION: &str = "https://jsonfeed.org/version/1.1";

/// One story of the digest.
#[derive(Debug, Serialize)]
pub struct JsonFeedItem {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_html: Option<String>,
    pub content_text: String,
    pub summary: String,
    pub date_published: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<JsonFeedAuthor>,
    pub tags: Vec<String>,
    /// syndic's extension: where the story came from and its copies.
    #[serde(rename = "_syndic")]
    pub syndic: SyndicExtension,
}

#[derive(Debug, Serialize)]
pub struct JsonFeedAuthor {
    pub name: String,
}

/// The `_syndic` extension object of an item.
#[derive(Debug, Serialize)]
pub struct SyndicExtension {
    /// syndic's id of the story's original (for `syndic show`).
    pub id: i64,
    pub feed: String,
    pub feed_url: String,
    /// The site of the feed the story came from.
    pub home_page_url: Option<String>,
    pub copies: Vec<CopyRef>,
}

/// A copy of the story in another feed.
#[derive(Debug, Serialize)]
pub struct CopyRef {
    pub url: Option<String>,
    pub feed: String,
    pub attribution: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: issue 9: U+FFFE/U+FFFF in one feed's title made the whole export invalid XML.
    #[test]
    fn opml_drops_xml_non_characters() {
        let feeds = vec![OpmlFeed {
            title: "Bad\u{fffe}\u{ffff}\u{0}\u{1b}[31m title \u{85}".into(),
            xml_url: "https://x.example/\u{ffff}".into(),
            html_url: Some("https://x.example/\u{fffe}".into()),
            topics: vec!["t\u{ffff}".into()],
        }];
        let doc = opml("syndic\u{fffe}", &feeds, &["t\u{ffff}".into()], DateTime::UNIX_EPOCH);
        assert!(!doc.chars().any(|c| !is_xml_char(c)), "{doc:?}");
        assert!(doc.contains("Bad[31m title"), "{doc}");
    }

    #[test]
    fn opml_groups_by_topic_and_escapes() {
        let feeds = vec![
            OpmlFeed {
                title: "Bol \"News\" & <Co>\u{7}".into(),
                xml_url: "https://x.example/feed?a=1&b=2".into(),
                html_url: Some("https://x.example/".into()),
                topics: vec!["cpec".into(), "pakistan".into()],
            },
            OpmlFeed { title: "Loose".into(), xml_url: "https://y.example/rss".into(), html_url: None, topics: vec![] },
        ];
        let doc = opml("syndic", &feeds, &["cpec".into(), "pakistan".into()], DateTime::UNIX_EPOCH);
        assert_eq!(doc.matches("xmlUrl=\"https://x.example/feed?a=1&amp;b=2\"").count(), 2, "{doc}");
        assert!(doc.contains("text=\"Bol &quot;News&quot; &amp; &lt;Co&gt;\""), "{doc}");
        assert!(doc.contains("category=\"/cpec,/pakistan\""), "{doc}");
        assert!(!doc.contains('\u{7}'));
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">"), "{doc}");
        // Parses back as XML.
        let mut reader = quick_xml::Reader::from_str(&doc);
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("invalid XML: {e}\n{doc}"),
            }
        }
    }
}
