//! What feed-rs leaves out of an item, read straight from the XML. Pure.
//!
//! feed-rs maps each format's own elements; feeds in the wild (and
//! feedparser, which syndic aims to read at least as well as) also carry an
//! item's title, author or text in elements of other vocabularies:
//! `dc:title`, `dc:author`, `dc:description`, an XHTML `<body>`, Netscape's
//! `<fullitem>`, a `<description>` holding unescaped markup, an Atom 0.3
//! `<link>` whose URL is its text, an author known only by e-mail. One
//! linear pass over the document collects these for every item, in document
//! order, so they line up with feed-rs's entries; the caller uses them only
//! where feed-rs found nothing.

use quick_xml::events::Event;

/// Fallback fields of one `<item>` or `<entry>`, as found in the document.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ItemExtras {
    /// A title, as HTML (`dc:title`, `media:title`, a title holding markup).
    pub title: Option<String>,
    /// An author's name, else e-mail address.
    pub author: Option<String>,
    /// Full text, as HTML (`<body>`, `xhtml:body`, `<fullitem>`, `<content>`).
    pub content: Option<String>,
    /// A summary, as HTML (`<description>`, `dc:description`, `<summary>`).
    pub summary: Option<String>,
    /// A link written as text (`<link>URL</link>` in Atom) or an `href`.
    pub link: Option<String>,
}

/// Items deeper than this are not looked into (a hostile document's depth
/// costs nothing here, but nothing real is that deep either).
const MAX_ITEM_DEPTH: usize = 16;

/// The [`ItemExtras`] of every top-level `<item>`/`<entry>` of `doc`, in
/// document order, up to the first malformed point (the caller uses them
/// only when there are as many as feed-rs found entries).
pub fn item_extras(doc: &str) -> Vec<ItemExtras> {
    let mut reader = quick_xml::Reader::from_str(doc);
    reader.config_mut().check_end_names = false;
    let mut items = Vec::new();
    let mut depth = 0usize;
    // Depth of the item being read, and what it has so far.
    let mut current: Option<(usize, ItemExtras)> = None;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => e,
            // A document cut short: the items before the cut are whole.
            Err(_) => break,
        };
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.name();
                let (prefix, local) = split_name(name.as_ref());
                match &mut current {
                    None if is_item(local) && depth <= MAX_ITEM_DEPTH => {
                        current = Some((depth, ItemExtras::default()));
                    }
                    Some((item_depth, extras)) if depth == *item_depth + 1 => {
                        let attrs = attributes(&e);
                        let start = reader.buffer_position() as usize;
                        let Some((end, has_children)) = skip_element(&mut reader) else { break };
                        depth -= 1;
                        let inner = &doc[start.min(doc.len())..end.min(doc.len())];
                        child(extras, prefix, local, &attrs, inner, has_children);
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => {
                let name = e.name();
                let (_, local) = split_name(name.as_ref());
                match &mut current {
                    // `<item/>`: an item all the same, with nothing to add.
                    None if is_item(local) && depth < MAX_ITEM_DEPTH => items.push(ItemExtras::default()),
                    Some((item_depth, extras)) if depth == *item_depth && local == "link" && extras.link.is_none() => {
                        extras.link = link_href(&attributes(&e));
                    }
                    _ => {}
                }
            }
            Event::End(_) => {
                if let Some((item_depth, _)) = &current {
                    if depth == *item_depth {
                        let (_, extras) = current.take().expect("checked to be some");
                        items.push(extras);
                    }
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    items
}

fn is_item(local: &str) -> bool {
    local == "item" || local == "entry"
}

fn split_name(name: &str) -> (&str, &str) {
    name.split_once(':').unwrap_or(("", name))
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes().flatten().map(|a| (split_name(a.key.0).1.to_owned(), unescape_text(&a.value))).collect()
}

fn link_href(attrs: &[(String, String)]) -> Option<String> {
    let rel = attrs.iter().find(|(k, _)| k == "rel").map(|(_, v)| v.as_str());
    if !matches!(rel, None | Some("alternate")) {
        return None;
    }
    attrs.iter().find(|(k, _)| k == "href").map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Reads up to the end of the element whose start tag was just read:
/// where its end tag starts, and whether it holds child elements.
fn skip_element(reader: &mut quick_xml::Reader<&[u8]>) -> Option<(usize, bool)> {
    let mut depth = 0usize;
    let mut has_children = false;
    loop {
        let before = reader.buffer_position() as usize;
        match reader.read_event().ok()? {
            Event::Start(_) => {
                depth += 1;
                has_children = true;
            }
            Event::Empty(_) => has_children = true,
            Event::End(_) if depth == 0 => return Some((before, has_children)),
            Event::End(_) => depth -= 1,
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Takes what a direct child of an item offers.
fn child(extras: &mut ItemExtras, prefix: &str, local: &str, attrs: &[(String, String)], inner: &str, nested: bool) {
    let set = |slot: &mut Option<String>, value: String| {
        if slot.is_none() && !value.trim().is_empty() {
            *slot = Some(value);
        }
    };
    match local {
        "title" => set(&mut extras.title, inner_html(inner, nested)),
        "body" | "fullitem" | "content" | "encoded" => set(&mut extras.content, inner_html(inner, nested)),
        "description" | "summary" | "subtitle" => set(&mut extras.summary, inner_html(inner, nested)),
        "creator" | "author" => {
            let name = if nested { person(inner) } else { unescape_text(inner) };
            set(&mut extras.author, name.trim().to_owned());
        }
        "link" if prefix.is_empty() || prefix == "atom" => {
            let href = link_href(attrs).or_else(|| {
                let rel = attrs.iter().find(|(k, _)| k == "rel").map(|(_, v)| v.as_str());
                (!nested && matches!(rel, None | Some("alternate"))).then(|| unescape_text(inner).trim().to_owned())
            });
            set(&mut extras.link, href.unwrap_or_default());
        }
        _ => {}
    }
}

/// An element's content as HTML: markup inside it is kept as markup;
/// text-only content is unescaped (feeds escape HTML in their text).
fn inner_html(inner: &str, nested: bool) -> String {
    if nested {
        unwrap_cdata(inner)
    } else {
        unescape_text(inner)
    }
}

/// The name of an Atom person (`<name>`), else its `<email>`.
fn person(inner: &str) -> String {
    let mut reader = quick_xml::Reader::from_str(inner);
    let (mut name, mut email) = (String::new(), String::new());
    let mut field: Option<bool> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let n = e.name();
                field = match split_name(n.as_ref()).1 {
                    "name" => Some(true),
                    "email" => Some(false),
                    _ => None,
                };
            }
            Ok(Event::Text(t)) => {
                let text: &str = &t;
                match field {
                    Some(true) => name.push_str(text),
                    Some(false) => email.push_str(text),
                    None => {}
                }
            }
            // Kept as written, for unescape_text below.
            Ok(Event::GeneralRef(r)) => {
                let reference = format!("&{};", &*r);
                match field {
                    Some(true) => name.push_str(&reference),
                    Some(false) => email.push_str(&reference),
                    None => {}
                }
            }
            Ok(Event::CData(c)) => {
                let text: &str = &c;
                match field {
                    Some(true) => name.push_str(text),
                    Some(false) => email.push_str(text),
                    None => {}
                }
            }
            Ok(Event::End(_)) => field = None,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    let name = unescape_text(name.trim());
    if name.is_empty() {
        unescape_text(email.trim())
    } else {
        name
    }
}

/// Text content with its character and entity references resolved and
/// CDATA sections opened; HTML entity names XML does not know are left for
/// the HTML reader.
fn unescape_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").unwrap_or(after.len());
            out.push_str(&after[..end]);
            rest = after.get(end + 3..).unwrap_or("");
        } else if rest.starts_with('&') {
            let end = rest.find(';').filter(|&i| i <= 12);
            match end.and_then(|i| resolve_reference(&rest[1..i]).map(|c| (i, c))) {
                Some((i, c)) => {
                    out.push(c);
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        } else {
            let next = rest.find(['&', '<']).filter(|&i| i > 0).unwrap_or_else(|| {
                if rest.starts_with('<') {
                    1
                } else {
                    rest.len()
                }
            });
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    out
}

fn resolve_reference(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)
        }
    }
}

/// Markup with its CDATA sections turned into escaped text.
fn unwrap_cdata(raw: &str) -> String {
    if !raw.contains("<![CDATA[") {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find("<![CDATA[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 9..];
        let end = after.find("]]>").unwrap_or(after.len());
        out.push_str(&crate::text::escape_html(&after[..end]));
        rest = after.get(end + 3..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(doc: &str) -> ItemExtras {
        let items = item_extras(doc);
        assert_eq!(items.len(), 1, "{doc}");
        items.into_iter().next().unwrap()
    }

    #[test]
    fn dublin_core_fields() {
        let e = one(r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><item>
<dc:title>Example &amp; title</dc:title><dc:author>Mark</dc:author><dc:description>&lt;p&gt;Text&lt;/p&gt;</dc:description>
</item></channel></rss>"#);
        assert_eq!(e.title.as_deref(), Some("Example & title"));
        assert_eq!(e.author.as_deref(), Some("Mark"));
        assert_eq!(e.summary.as_deref(), Some("<p>Text</p>"));
    }

    #[test]
    fn xhtml_body_fullitem_and_naked_markup() {
        let e = one(
            r#"<rss><channel><item><body xmlns="http://www.w3.org/1999/xhtml"><p>Example <b>content</b> &amp;c</p></body></item></channel></rss>"#,
        );
        assert_eq!(e.content.as_deref(), Some(r#"<p>Example <b>content</b> &amp;c</p>"#));
        let e = one("<rss><channel><item><fullitem>&lt;p&gt;Full&lt;/p&gt;</fullitem></item></channel></rss>");
        assert_eq!(e.content.as_deref(), Some("<p>Full</p>"));
        let e = one("<rss><item><description><p>Naked <![CDATA[a<b]]></p></description></item></rss>");
        assert_eq!(e.summary.as_deref(), Some("<p>Naked a&lt;b</p>"));
    }

    #[test]
    fn atom_links_as_text_and_authors_by_email() {
        let e = one(r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>
<link rel="alternate" type="text/html">http://www.example.com/</link>
<author><email>one@one.com</email></author></entry></feed>"#);
        assert_eq!(e.link.as_deref(), Some("http://www.example.com/"));
        assert_eq!(e.author.as_deref(), Some("one@one.com"));
        let e = one(
            r#"<feed><entry><link rel="self" href="/self"/><link href="/a"/><author><name>AT&amp;T <![CDATA[News]]></name><email>e@x</email></author></entry></feed>"#,
        );
        assert_eq!((e.link.as_deref(), e.author.as_deref()), (Some("/a"), Some("AT&T News")));
    }

    #[test]
    fn items_line_up_and_stop_where_the_document_breaks() {
        let items = item_extras(
            "<rss><channel><item><dc:title>a</dc:title></item><item/><item><title>c</title></item></channel></rss>",
        );
        assert_eq!(items.iter().map(|i| i.title.as_deref()).collect::<Vec<_>>(), [Some("a"), None, Some("c")]);
        let cut = item_extras("<rss><channel><item><dc:title>a</dc:title></item><item><title>b</channel></rss");
        assert_eq!(cut.len(), 1);
    }
}
