//! The digest as one Atom 1.0 feed (RFC 4287), a "planet": one entry per
//! story, each with `atom:source` naming the feed it came from and
//! `link rel="related"` to the copies other feeds carried.
//!
//! Every feed and entry has the required `id`, `title` and `updated`; an
//! entry without an author of its own is credited to its feed; ids are
//! unique within the document. Text passes [`xml_chars`] first.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::digest::{is_web_link, xml_chars, DigestStory};
use crate::output::rfc3339;

/// The Atom namespace.
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// A planet to write.
#[derive(Debug, Clone)]
pub struct Planet {
    pub title: String,
    /// The feed's id: the URL it is published at (`--feed-url`), else a
    /// URN derived from its title, stable from one export to the next.
    pub feed_url: Option<String>,
    /// A page for people (`--home-page-url`).
    pub home_page_url: Option<String>,
    /// When the digest was made (the feed's `updated` when it has no entries).
    pub generated: DateTime<Utc>,
    pub stories: Vec<DigestStory>,
}

/// A stable `urn:uuid:` (RFC 9562 version 8, a hash of `parts`).
pub fn urn_uuid(parts: &[&str]) -> String {
    let h = xxhash_rust::xxh3::xxh3_128(parts.join("\u{0}").as_bytes()).to_be_bytes();
    let mut b = h;
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("urn:uuid:{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn text_el(w: &mut Writer<Vec<u8>>, name: &str, attrs: &[(&str, &str)], value: &str) -> std::io::Result<()> {
    let mut start = BytesStart::new(name);
    for (k, v) in attrs {
        start.push_attribute((*k, *v));
    }
    w.write_event(Event::Start(start))?;
    w.write_event(Event::Text(BytesText::new(&xml_chars(value))))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn link_el(w: &mut Writer<Vec<u8>>, rel: &str, href: &str, title: Option<&str>) -> std::io::Result<()> {
    let mut el = BytesStart::new("link");
    el.push_attribute(("rel", rel));
    el.push_attribute(("href", xml_chars(href).as_str()));
    if let Some(t) = title {
        el.push_attribute(("title", xml_chars(t).as_str()));
    }
    w.write_event(Event::Empty(el))
}

fn author_el(w: &mut Writer<Vec<u8>>, name: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new("author")))?;
    text_el(w, "name", &[], name)?;
    w.write_event(Event::End(BytesEnd::new("author")))
}

/// One line of plain text (titles, names).
fn line(s: &str) -> String {
    let flat = crate::text::strip_controls(s).split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        "(untitled)".to_owned()
    } else {
        flat
    }
}

/// Writes the planet as an Atom document.
pub fn render(p: &Planet) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let result: std::io::Result<()> = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        let mut root = BytesStart::new("feed");
        root.push_attribute(("xmlns", ATOM_NS));
        w.write_event(Event::Start(root))?;
        let feed_id = match p.feed_url.as_deref() {
            Some(u) => u.to_owned(),
            None => urn_uuid(&["syndic planet", &p.title]),
        };
        text_el(&mut w, "id", &[], &feed_id)?;
        text_el(&mut w, "title", &[("type", "text")], &line(&p.title))?;
        let updated = p.stories.iter().map(|s| s.published).max().unwrap_or(p.generated);
        text_el(&mut w, "updated", &[], &rfc3339(updated))?;
        // Every entry has its own author; the feed's is there for readers
        // that look no further.
        author_el(&mut w, "syndic")?;
        text_el(&mut w, "generator", &[("version", env!("CARGO_PKG_VERSION"))], "syndic")?;
        if let Some(u) = &p.feed_url {
            link_el(&mut w, "self", u, None)?;
        }
        if let Some(u) = &p.home_page_url {
            link_el(&mut w, "alternate", u, None)?;
        }
        let mut ids = HashSet::new();
        for s in &p.stories {
            // The original's link is the natural id; a second story with the
            // same link (split by hand) gets one of its own.
            let id = match s.url.as_deref().filter(|u| is_web_link(u) && !ids.contains(*u)) {
                Some(u) => u.to_owned(),
                None => urn_uuid(&["syndic entry", &s.source.url, &s.id.to_string()]),
            };
            ids.insert(id.clone());
            write_entry(&mut w, s, &id)?;
        }
        w.write_event(Event::End(BytesEnd::new("feed")))?;
        Ok(())
    })();
    result.expect("writing XML to a Vec cannot fail");
    let mut doc = String::from_utf8(w.into_inner()).expect("the XML writer writes UTF-8");
    doc.push('\n');
    doc
}

fn write_entry(w: &mut Writer<Vec<u8>>, s: &DigestStory, id: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new("entry")))?;
    text_el(w, "id", &[], id)?;
    text_el(w, "title", &[("type", "text")], &line(&s.title))?;
    text_el(w, "updated", &[], &rfc3339(s.published))?;
    text_el(w, "published", &[], &rfc3339(s.published))?;
    let author = s.author.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&s.source.name);
    author_el(w, &line(author))?;
    if let Some(u) = s.url.as_deref().filter(|u| is_web_link(u)) {
        link_el(w, "alternate", u, None)?;
    }
    for c in &s.copies {
        if let Some(u) = c.url.as_deref().filter(|u| is_web_link(u)) {
            link_el(w, "related", u, Some(&line(&c.feed)))?;
        }
    }
    for t in &s.topics {
        let mut el = BytesStart::new("category");
        el.push_attribute(("term", xml_chars(t).as_str()));
        w.write_event(Event::Empty(el))?;
    }
    if !s.summary.trim().is_empty() {
        text_el(w, "summary", &[("type", "text")], &crate::text::strip_controls(&s.summary))?;
    }
    if let Some(html) = s.content_html.as_deref().filter(|h| !h.trim().is_empty()) {
        text_el(w, "content", &[("type", "html")], html)?;
    }
    // atom:source: where the entry came from, so a reader can credit it.
    w.write_event(Event::Start(BytesStart::new("source")))?;
    text_el(w, "id", &[], &s.source.url)?;
    text_el(w, "title", &[("type", "text")], &line(&s.source.name))?;
    if let Some(t) = s.source.updated {
        text_el(w, "updated", &[], &rfc3339(t))?;
    }
    link_el(w, "self", &s.source.url, None)?;
    if let Some(site) = s.source.site_url.as_deref().filter(|u| is_web_link(u)) {
        link_el(w, "alternate", site, None)?;
    }
    w.write_event(Event::End(BytesEnd::new("source")))?;
    w.write_event(Event::End(BytesEnd::new("entry")))
}

#[cfg(test)]
mod tests {
    use super::super::digest::{Carrier, DigestFeed};
    use super::*;

    fn story(id: i64, url: Option<&str>) -> DigestStory {
        DigestStory {
            id,
            title: format!("Story {id} \u{1b}[2J\u{0}\u{fffe}<&>"),
            url: url.map(str::to_owned),
            author: None,
            published: DateTime::from_timestamp(1_634_700_000 + id, 0).unwrap(),
            summary: "Sum\u{7}mary".into(),
            content_html: Some("<p>Body &amp; more</p>".into()),
            topics: vec!["cpec".into()],
            source: DigestFeed {
                name: "Bol News".into(),
                url: "https://bol.example/feed".into(),
                site_url: Some("https://bol.example/".into()),
                updated: None,
            },
            copies: vec![Carrier {
                feed: "Tech".into(),
                url: Some("https://tech.example/1".into()),
                attribution: None,
            }],
        }
    }

    fn planet(stories: Vec<DigestStory>) -> Planet {
        Planet {
            title: "syndic planet".into(),
            feed_url: None,
            home_page_url: None,
            generated: DateTime::UNIX_EPOCH,
            stories,
        }
    }

    #[test]
    fn parses_with_required_elements_and_unique_ids() {
        let doc = render(&planet(vec![
            story(1, Some("https://bol.example/1")),
            story(2, Some("https://bol.example/1")),
            story(3, None),
        ]));
        let feed = feed_rs::parser::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
        assert_eq!(feed.entries.len(), 3);
        let ids: HashSet<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), 3, "{doc}");
        assert!(ids.contains("https://bol.example/1"));
        for e in &feed.entries {
            let title = &e.title.as_ref().unwrap().content;
            assert!(title.starts_with("Story ") && title.ends_with(" <&>"), "{title:?}");
            assert!(e.updated.is_some());
            assert_eq!(e.authors[0].name.as_deref(), Some("Bol News"));
        }
        assert!(
            !doc.contains('\u{0}') && !doc.contains('\u{1b}') && !doc.contains('\u{fffe}') && !doc.contains('\u{7}')
        );
        assert!(doc.contains("<source>") && doc.contains("<id>https://bol.example/feed</id>"), "{doc}");
        assert!(doc.contains("<link rel=\"related\" href=\"https://tech.example/1\" title=\"Tech\"/>"), "{doc}");
    }

    #[test]
    fn ids_are_stable_and_well_formed() {
        let a = urn_uuid(&["x", "y"]);
        assert_eq!(a, urn_uuid(&["x", "y"]));
        assert_ne!(a, urn_uuid(&["xy"]));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a[9 + 14..9 + 15], "8", "{a}");
    }
}
