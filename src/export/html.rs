//! The digest as one self-contained HTML page: inline CSS, no scripts, no
//! remote resources, no tables; readable on a phone and in an email client.
//! Every piece of feed text is escaped here, and only web links are linked.

use chrono::{DateTime, FixedOffset, Utc};

use super::digest::{is_web_link, DigestStory};
use crate::text::{escape_html, strip_controls};

/// A digest page to render.
#[derive(Debug, Clone)]
pub struct HtmlDigest {
    pub title: String,
    /// When the digest was made.
    pub generated: DateTime<Utc>,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// The stories of one topic (`None`: stories in no topic).
#[derive(Debug, Clone)]
pub struct Section {
    pub topic: Option<String>,
    pub stories: Vec<DigestStory>,
}

/// Groups `stories` (newest first) by topic: each story appears once, under
/// the first of its topics in `order`, else under its first topic; stories
/// without a topic come last.
pub fn group_by_topic(stories: Vec<DigestStory>, order: &[String]) -> Vec<Section> {
    let mut sections: Vec<Section> =
        order.iter().map(|t| Section { topic: Some(t.clone()), stories: vec![] }).collect();
    let mut untopical = Vec::new();
    for story in stories {
        let topic = order.iter().find(|t| story.topics.contains(t)).or(story.topics.first()).cloned();
        match topic {
            None => untopical.push(story),
            Some(t) => match sections.iter_mut().find(|s| s.topic.as_ref() == Some(&t)) {
                Some(s) => s.stories.push(story),
                None => sections.push(Section { topic: Some(t), stories: vec![story] }),
            },
        }
    }
    sections.retain(|s| !s.stories.is_empty());
    // Topics not named in `order` follow in alphabetical order.
    let named = order.len().min(sections.len());
    sections[named..].sort_by(|a, b| a.topic.cmp(&b.topic));
    if !untopical.is_empty() {
        sections.push(Section { topic: None, stories: untopical });
    }
    sections
}

/// The page's style: system fonts, one readable column, long words broken
/// so that nothing overflows a 320 px screen; dark when the reader is.
const CSS: &str = "\
*{box-sizing:border-box}
body{margin:0;padding:16px;background:#fff;color:#1b1b1b;\
font-family:-apple-system,BlinkMacSystemFont,\"Segoe UI\",Roboto,\"Noto Sans\",\"Helvetica Neue\",Arial,sans-serif;\
font-size:16px;line-height:1.5;overflow-wrap:break-word;word-wrap:break-word}
main{max-width:40em;margin:0 auto}
h1{font-size:1.5em;line-height:1.25;margin:0 0 .25em}
h2{font-size:1.15em;margin:1.75em 0 .75em;padding-bottom:.25em;border-bottom:1px solid #d0d0d0}
h3{font-size:1.05em;line-height:1.3;margin:0 0 .2em}
article{margin:0 0 1.5em}
p{margin:.25em 0}
a{color:#0b57d0}
h3 a{text-decoration:none}
.meta,.copies,nav,footer{color:#5f5f5f;font-size:.875em}
nav a{margin-right:.75em;white-space:nowrap}
footer{margin-top:2.5em;border-top:1px solid #d0d0d0;padding-top:.5em}
h1,h2,h3,p,a{overflow-wrap:anywhere}
@media (prefers-color-scheme:dark){body{background:#161616;color:#e6e6e6}a{color:#8ab4f8}\
.meta,.copies,nav,footer{color:#a8a8a8}h2,footer{border-color:#444}}
";

/// Feed text for the page: controls and non-characters gone, escaped.
fn text(s: &str) -> String {
    escape_html(&super::digest::xml_chars(&strip_controls(s)).replace('\n', " "))
}

/// A link when `url` is a web link, else the text alone.
fn link(url: Option<&str>, label: &str) -> String {
    match url.filter(|u| is_web_link(u)) {
        Some(u) => format!("<a href=\"{}\">{}</a>", text(u), label),
        None => label.to_owned(),
    }
}

/// An id for a topic's section, safe in a URL fragment.
fn anchor(topic: Option<&str>) -> String {
    match topic {
        Some(t) => format!(
            "topic-{}",
            t.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .collect::<String>()
        ),
        None => "other".to_owned(),
    }
}

/// Renders the page; times are shown in `zone`.
pub fn render(digest: &HtmlDigest, zone: FixedOffset) -> String {
    let time = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    let zone_name = if zone.local_minus_utc() == 0 { "UTC".to_owned() } else { format!("UTC{zone}") };
    let count: usize = digest.sections.iter().map(|s| s.stories.len()).sum();
    let mut feeds: Vec<&str> =
        digest.sections.iter().flat_map(|s| s.stories.iter().map(|st| st.source.url.as_str())).collect();
    feeds.sort_unstable();
    feeds.dedup();

    let mut h = String::with_capacity(4096 + count * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Belt and braces: even if feed text got through, nothing may load or run.
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    h.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    h.push_str(&format!("<meta name=\"generator\" content=\"syndic {}\">\n", env!("CARGO_PKG_VERSION")));
    h.push_str(&format!("<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n", text(&digest.title)));
    h.push_str(&format!("<header>\n<h1>{}</h1>\n", text(&digest.title)));
    let stories = if count == 1 { "1 story".to_owned() } else { format!("{count} stories") };
    let from = if feeds.len() == 1 { "1 feed".to_owned() } else { format!("{} feeds", feeds.len()) };
    h.push_str(&format!(
        "<p class=\"meta\">{stories} from {from}, as of <time datetime=\"{}\">{}</time> ({zone_name}).</p>\n",
        crate::output::rfc3339(digest.generated),
        time(digest.generated)
    ));
    if digest.sections.len() > 1 {
        h.push_str("<nav>");
        for s in &digest.sections {
            let name = s.topic.as_deref().map_or_else(|| "other".to_owned(), text);
            h.push_str(&format!("<a href=\"#{}\">{name}&nbsp;({})</a> ", anchor(s.topic.as_deref()), s.stories.len()));
        }
        h.push_str("</nav>\n");
    }
    h.push_str("</header>\n");
    if count == 0 {
        h.push_str("<p>No stories match.</p>\n");
    }
    for s in &digest.sections {
        let name = s.topic.as_deref().map_or_else(|| "Other stories".to_owned(), text);
        h.push_str(&format!("<section id=\"{}\">\n<h2>{name}</h2>\n", anchor(s.topic.as_deref())));
        for st in &s.stories {
            render_story(&mut h, st, &time);
        }
        h.push_str("</section>\n");
    }
    h.push_str(&format!(
        "<footer>Made by syndic {}; copies of a story found in several feeds are listed under its original.</footer>\n",
        env!("CARGO_PKG_VERSION")
    ));
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

fn render_story(h: &mut String, st: &DigestStory, time: &dyn Fn(DateTime<Utc>) -> String) {
    let title = if st.title.trim().is_empty() { "(untitled)".to_owned() } else { text(&st.title) };
    h.push_str(&format!("<article>\n<h3>{}</h3>\n", link(st.url.as_deref(), &title)));
    let mut meta = link(st.source.site_url.as_deref(), &text(&st.source.name));
    if let Some(a) = st.author.as_deref().filter(|a| !a.trim().is_empty() && *a != st.source.name) {
        meta.push_str(&format!(" · {}", text(a)));
    }
    meta.push_str(&format!(
        " · <time datetime=\"{}\">{}</time>",
        crate::output::rfc3339(st.published),
        time(st.published)
    ));
    h.push_str(&format!("<p class=\"meta\">{meta}</p>\n"));
    if !st.summary.trim().is_empty() {
        h.push_str(&format!("<p>{}</p>\n", text(&st.summary)));
    }
    if !st.copies.is_empty() {
        let carriers: Vec<String> = st
            .copies
            .iter()
            .map(|c| {
                let mut s = link(c.url.as_deref(), &text(&c.feed));
                if let Some(a) = c.attribution.as_deref().filter(|a| !a.trim().is_empty()) {
                    s.push_str(&format!(" (credits {})", text(a)));
                }
                s
            })
            .collect();
        h.push_str(&format!("<p class=\"copies\">Also carried by {}.</p>\n", carriers.join(", ")));
    }
    h.push_str("</article>\n");
}

#[cfg(test)]
mod tests {
    use super::super::digest::{Carrier, DigestFeed};
    use super::*;

    fn story(title: &str, topics: &[&str]) -> DigestStory {
        DigestStory {
            id: 1,
            title: title.into(),
            url: Some("https://a.example/1".into()),
            author: None,
            published: DateTime::UNIX_EPOCH,
            summary: "Summary".into(),
            content_html: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            source: DigestFeed {
                name: "A".into(),
                url: "https://a.example/feed".into(),
                site_url: None,
                updated: None,
            },
            copies: vec![],
        }
    }

    fn titles(sections: &[Section]) -> Vec<(Option<&str>, Vec<&str>)> {
        sections.iter().map(|s| (s.topic.as_deref(), s.stories.iter().map(|st| st.title.as_str()).collect())).collect()
    }

    #[test]
    fn each_story_once_under_its_first_topic() {
        let stories =
            vec![story("1", &["china", "cpec"]), story("2", &[]), story("3", &["zeta"]), story("4", &["cpec"])];
        let s = group_by_topic(stories.clone(), &[]);
        assert_eq!(
            titles(&s),
            [(Some("china"), vec!["1"]), (Some("cpec"), vec!["4"]), (Some("zeta"), vec!["3"]), (None, vec!["2"])]
        );
        let s = group_by_topic(stories, &["cpec".into()]);
        assert_eq!(titles(&s), [(Some("cpec"), vec!["1", "4"]), (Some("zeta"), vec!["3"]), (None, vec!["2"])]);
    }

    #[test]
    fn feed_text_is_escaped_and_only_web_links_are_links() {
        let mut st = story("<script>alert(1)</script> & \"q\"\u{1b}[2J\u{7}", &["t"]);
        st.url = Some("javascript:alert(1)".into());
        st.summary = "<img src=x onerror=alert(1)>".into();
        st.copies = vec![Carrier {
            feed: "B</a><b>".into(),
            url: Some("https://b.example/?a=1&b=\"2\"".into()),
            attribution: Some("A".into()),
        }];
        let page = render(
            &HtmlDigest { title: "d".into(), generated: DateTime::UNIX_EPOCH, sections: group_by_topic(vec![st], &[]) },
            FixedOffset::east_opt(0).unwrap(),
        );
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("javascript:"), "{page}");
        assert!(!page.contains('\u{1b}') && !page.contains('\u{7}'), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"), "{page}");
        assert!(page.contains("Also carried by <a href=\"https://b.example/?a=1&amp;b=&quot;2&quot;\">B&lt;/a&gt;&lt;b&gt;</a> (credits A)."), "{page}");
        assert!(!page.contains("src=\"") && !page.contains("<link"), "{page}");
    }

    #[test]
    fn an_empty_digest_says_so() {
        let page = render(
            &HtmlDigest { title: "d".into(), generated: DateTime::UNIX_EPOCH, sections: vec![] },
            FixedOffset::east_opt(0).unwrap(),
        );
        assert!(page.contains("0 stories from 0 feeds") && page.contains("<p>No stories match.</p>"), "{page}");
        assert!(!page.contains("<nav>") && !page.contains("<section"), "{page}");
    }

    #[test]
    fn times_are_shown_in_the_given_zone() {
        let page = render(
            &HtmlDigest {
                title: "d".into(),
                generated: DateTime::UNIX_EPOCH,
                sections: group_by_topic(vec![story("x", &[])], &[]),
            },
            FixedOffset::east_opt(5 * 3600).unwrap(),
        );
        assert!(page.contains("(UTC+05:00)"), "{page}");
        assert!(page.contains(">1970-01-01 05:00</time>"), "{page}");
        assert!(page.contains("1 story from 1 feed"), "{page}");
    }
}
