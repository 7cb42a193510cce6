//! Reading other readers' feed lists: OPML as newsboat, miniflux, FreshRSS
//! and Feedly write it. Pure: a document in, the feeds it lists out.
//!
//! A feed is an `<outline>` with an `xmlUrl`. Its topics are its `category`
//! attribute (OPML 2.0: comma-separated, each a `/`-separated path; every
//! segment counts) followed by the outlines it sits in (folders, tags), each
//! turned into a valid topic name by [`topic_name`]. The readers' catch-all
//! folders ("All" in miniflux, "Uncategorized" in FreshRSS) are no topic.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// One feed listed by an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlOutline {
    /// `xmlUrl`, as written.
    pub url: String,
    /// `title`, else `text` (trimmed; `None` when empty).
    pub title: Option<String>,
    /// Topic names, category attribute first, then enclosing outlines.
    pub topics: Vec<String>,
}

/// Why a document could not be read as OPML.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not well-formed XML at byte {position}: {message}")]
    Xml { position: u64, message: String },
    #[error("no <opml> element: this is not an OPML file")]
    NotOpml,
}

/// Folder names that readers give feeds without a folder: no topic.
const CATCH_ALL: &[&str] = &["all", "uncategorized", "uncategorised"];

/// Turns a category or folder name into a topic name (letters, digits, `-`
/// and `_`): other characters become `-`, runs collapse, case is kept.
/// `None` for a name with nothing left, or a catch-all folder.
///
/// ```
/// use syndic::import::topic_name;
/// assert_eq!(topic_name("Tech & Science").as_deref(), Some("Tech-Science"));
/// assert_eq!(topic_name(" cpec ").as_deref(), Some("cpec"));
/// assert_eq!(topic_name("Uncategorized"), None);
/// assert_eq!(topic_name("✓"), None);
/// ```
pub fn topic_name(category: &str) -> Option<String> {
    let mut name = String::new();
    for c in category.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() || CATCH_ALL.iter().any(|c| name.eq_ignore_ascii_case(c)) {
        None
    } else {
        Some(name)
    }
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.local_name().as_ref().eq_ignore_ascii_case(name)).map(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| a.value.to_string())
    })
}

fn push_unique(topics: &mut Vec<String>, t: String) {
    if !topics.contains(&t) {
        topics.push(t);
    }
}

/// The feeds of an OPML document, in document order, each once: a feed
/// listed in several folders (Feedly does that) gets all their topics.
pub fn opml_feeds(xml: &str) -> Result<Vec<OpmlOutline>, OpmlError> {
    let mut reader = Reader::from_str(xml);
    // The names of the enclosing outlines; `None` for an enclosing feed.
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut feeds: Vec<OpmlOutline> = Vec::new();
    let mut seen_opml = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| OpmlError::Xml { position: reader.error_position(), message: e.to_string() })?;
        let (e, open) = match &event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(e) if e.local_name().as_ref() == "outline" => {
                folders.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        match e.local_name().as_ref() {
            "opml" => seen_opml = true,
            "outline" => {
                let label = attr(e, "title").or_else(|| attr(e, "text")).map(|t| t.trim().to_owned());
                match attr(e, "xmlUrl").map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()) {
                    Some(url) => {
                        let mut topics = Vec::new();
                        for item in attr(e, "category").unwrap_or_default().split(',') {
                            for segment in item.split('/') {
                                if let Some(t) = topic_name(segment) {
                                    push_unique(&mut topics, t);
                                }
                            }
                        }
                        for folder in folders.iter().flatten() {
                            if let Some(t) = topic_name(folder) {
                                push_unique(&mut topics, t);
                            }
                        }
                        match feeds.iter_mut().find(|f| f.url == url) {
                            Some(known) => topics.into_iter().for_each(|t| push_unique(&mut known.topics, t)),
                            None => feeds.push(OpmlOutline { url, title: label.filter(|t| !t.is_empty()), topics }),
                        }
                        if open {
                            folders.push(None);
                        }
                    }
                    None if open => folders.push(label),
                    None => {}
                }
            }
            _ => {}
        }
    }
    if seen_opml {
        Ok(feeds)
    } else {
        Err(OpmlError::NotOpml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_categories_and_duplicates() {
        let doc = r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>x</title></head><body>
  <outline text="News">
    <outline text="Pakistan &amp; Region" title="Pakistan &amp; Region">
      <outline type="rss" text="Bol" xmlUrl="https://bol.example/feed/" category="/cpec,/business/markets"></outline>
    </outline>
  </outline>
  <outline text="All"><outline title="Dawn" xmlUrl=" https://dawn.example/rss " /></outline>
  <outline text="Tech"><outline text="Bol again" xmlUrl="https://bol.example/feed/"/></outline>
  <outline text="Loose" xmlURL="https://loose.example/atom"/>
  <outline text="a folder with no feeds"><outline text="note"/></outline>
</body></opml>"#;
        let feeds = opml_feeds(doc).unwrap();
        assert_eq!(
            feeds,
            [
                OpmlOutline {
                    url: "https://bol.example/feed/".into(),
                    title: Some("Bol".into()),
                    topics: vec![
                        "cpec".into(),
                        "business".into(),
                        "markets".into(),
                        "News".into(),
                        "Pakistan-Region".into(),
                        "Tech".into()
                    ],
                },
                OpmlOutline { url: "https://dawn.example/rss".into(), title: Some("Dawn".into()), topics: vec![] },
                OpmlOutline { url: "https://loose.example/atom".into(), title: Some("Loose".into()), topics: vec![] },
            ]
        );
    }

    #[test]
    fn what_is_not_opml() {
        assert!(matches!(opml_feeds("<rss><channel/></rss>"), Err(OpmlError::NotOpml)));
        assert!(matches!(opml_feeds("<opml><body><outline></body>"), Err(OpmlError::Xml { .. })));
        assert_eq!(opml_feeds("<opml version=\"1.0\"><body/></opml>").unwrap(), []);
    }
}
