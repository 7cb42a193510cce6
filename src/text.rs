//! Feed HTML to safe HTML and to plain text, and the text normalisation used
//! for comparing entries. Pure functions.

use std::sync::LazyLock;

use ego_tree::iter::Edge;
use scraper::{Html, Node};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Elements whose text is never content.
const SKIPPED: &[&str] = &["script", "style", "noscript", "template", "iframe", "object", "svg", "head"];

/// Elements that start a new paragraph in the plain text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
    "section",
    "article",
    "aside",
    "header",
    "footer",
    "figure",
    "figcaption",
    "hr",
    "address",
    "main",
    "nav",
    "details",
    "summary",
];

/// Converts an HTML fragment to plain text: entities decoded, tags removed,
/// scripts and styles dropped, one paragraph per block element separated by
/// a blank line, whitespace inside a paragraph collapsed.
///
/// ```
/// assert_eq!(syndic::text::html_to_text("<p>A &amp; B</p><p>C<br>D</p>"), "A & B\n\nC\nD");
/// ```
pub fn html_to_text(html: &str) -> String {
    let doc = Html::parse_fragment(html);
    let mut out = TextBuilder::default();
    let mut skip_depth = 0usize;
    for edge in doc.root_element().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) => {
                    let name = e.name();
                    if skip_depth > 0 || SKIPPED.contains(&name) {
                        skip_depth += 1;
                    } else if name == "br" {
                        out.line_break();
                    } else if BLOCKS.contains(&name) {
                        out.paragraph_break();
                    }
                }
                Node::Text(t) if skip_depth == 0 => out.push_text(t),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    if skip_depth > 0 {
                        skip_depth -= 1;
                    } else if BLOCKS.contains(&e.name()) {
                        out.paragraph_break();
                    }
                }
            }
        }
    }
    out.finish()
}

#[derive(Default)]
struct TextBuilder {
    out: String,
    /// A break waiting to be written before the next word: 0 none, 1 line, 2 paragraph.
    pending_break: u8,
    pending_space: bool,
}

impl TextBuilder {
    fn push_text(&mut self, text: &str) {
        for (i, word) in text.split(char::is_whitespace).enumerate() {
            if i > 0 {
                self.pending_space = true;
            }
            if word.is_empty() {
                continue;
            }
            if !self.out.is_empty() {
                match self.pending_break {
                    2 => self.out.push_str("\n\n"),
                    1 => self.out.push('\n'),
                    _ if self.pending_space => self.out.push(' '),
                    _ => {}
                }
            }
            self.pending_break = 0;
            self.pending_space = false;
            self.out.push_str(word);
        }
    }

    fn line_break(&mut self) {
        self.pending_break = self.pending_break.max(1);
    }

    fn paragraph_break(&mut self) {
        self.pending_break = 2;
    }

    fn finish(self) -> String {
        self.out
    }
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"));
    b
});

/// Cleans feed HTML down to an allow-list of harmless tags and attributes
/// (no scripts, styles, event handlers or `javascript:` links).
pub fn sanitize_html(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// Escapes plain text for inclusion in HTML, one `<p>` per paragraph.
pub fn text_to_html(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape_html(p.trim()).replace('\n', "<br>")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Escapes `&`, `<`, `>` and quotes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Turns a title (which feeds often HTML-escape, sometimes twice) into one
/// line of plain text.
pub fn clean_title(raw: &str) -> String {
    let raw = strip_controls(raw);
    let text = if raw.contains('<') || raw.contains('&') { html_to_text(&raw) } else { raw };
    // Some feeds escape twice (`&amp;amp;`): decode one more level if entities remain.
    let text = if text.contains('&') && text.contains(';') { html_to_text(&text) } else { text };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The words of `text` for comparison: NFKC-normalised, lower-cased, split by
/// Unicode word boundaries, punctuation dropped.
pub fn comparable_words(text: &str) -> Vec<String> {
    // Most feed text is already in NFKC: skip the (costly) normalisation then.
    let normalised = match unicode_normalization::is_nfkc_quick(text.chars()) {
        unicode_normalization::IsNormalized::Yes => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(text.nfkc().collect::<String>()),
    };
    let folded = normalised.to_lowercase();
    folded.unicode_words().map(str::to_owned).collect()
}

/// Returns true if and only if `c` is a Chinese, Japanese or Korean
/// character, which are written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF       // Hiragana, Katakana
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified ideographs
        | 0xAC00..=0xD7AF     // Hangul syllables
        | 0xF900..=0xFAFF     // CJK compatibility ideographs
        | 0x20000..=0x3134F) // CJK extensions B..G
}

/// Puts a space around every CJK character, so that a word-based full-text
/// index sees each one as a token and a phrase of them matches anywhere in
/// a run of text (`中巴经济走廊建设` is then found by `经济走廊`).
///
/// ```
/// assert_eq!(syndic::text::spaced_cjk("CPEC中巴走廊ok"), "CPEC 中 巴 走 廊 ok");
/// ```
pub fn spaced_cjk(text: &str) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut prev_cjk = false;
    for c in text.chars() {
        let cjk = is_cjk(c);
        if (cjk || prev_cjk) && !out.is_empty() && !out.ends_with(' ') && !c.is_whitespace() {
            out.push(' ');
        }
        out.push(c);
        prev_cjk = cjk;
    }
    out
}

/// Removes the spaces [`spaced_cjk`] put between CJK characters. Control
/// characters next to a space (search highlight markers) are looked through.
pub fn unspace_cjk(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let neighbour = |mut i: isize, step: isize| -> Option<char> {
        while i >= 0 && (i as usize) < chars.len() {
            let c = chars[i as usize];
            if !c.is_control() {
                return Some(c);
            }
            i += step;
        }
        None
    };
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = neighbour(i as isize - 1, -1);
            let after = neighbour(i as isize + 1, 1);
            if before.is_some_and(is_cjk) && after.is_some_and(is_cjk) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Removes everything that could drive a terminal, keeping line breaks:
/// C0 and C1 control characters (ESC, BEL, CSI U+009B…) together with the
/// escape sequences they start (CSI parameters, OSC 8 hyperlinks and OSC 52
/// clipboard payloads up to their terminator), DEL, and bidirectional
/// overrides. Tabs and other line separators become spaces, `\r\n` a newline.
///
/// ```
/// use syndic::text::strip_controls;
/// assert_eq!(strip_controls("a\x1b[2Jb\x07\x1b]52;c;ZXZpbA==\x07\r\nc"), "ab\nc");
/// ```
pub fn strip_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.peek() {
                // CSI: parameters and intermediates, then one final byte.
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST.
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_control_string(&mut chars);
                }
                // Two-character escapes (ESC c, ESC 7…).
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_control_string(&mut chars),
            '\n' => out.push('\n'),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\t' => out.push(' '),
            c if is_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn is_forbidden(c: char) -> bool {
    c.is_control() // C0, DEL, C1
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next(); // parameter or intermediate byte
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next(); // final byte
            }
            break; // anything else cannot belong to the sequence: keep it
        }
    }
}

fn skip_control_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\x07' | '\u{9c}' => break,
            '\x1b' if chars.peek() == Some(&'\\') => {
                chars.next();
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_keeps_paragraphs_and_decodes_entities() {
        let html = "<div><h2>Title</h2><p>One&nbsp;two &lt;three&gt;</p>\n<p>  Four\n five </p><ul><li>a</li><li>b</li></ul></div>";
        assert_eq!(html_to_text(html), "Title\n\nOne two <three>\n\nFour five\n\na\n\nb");
    }

    #[test]
    fn html_to_text_drops_scripts_and_styles() {
        let html = "<p>Keep</p><script>alert('x')</script><style>p{}</style><p>this</p>";
        assert_eq!(html_to_text(html), "Keep\n\nthis");
    }

    #[test]
    fn html_to_text_inline_elements_do_not_split_words() {
        assert_eq!(html_to_text("<p>Gwa<b>dar</b> port <a href='x'>link</a>.</p>"), "Gwadar port link.");
    }

    #[test]
    fn html_to_text_of_plain_text_is_identity_modulo_whitespace() {
        assert_eq!(html_to_text("just  words\nhere"), "just words here");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn sanitize_html_removes_active_content() {
        let out = sanitize_html("<p onclick='x()'>Hi<script>evil()</script><a href='javascript:x'>l</a></p>");
        assert!(!out.contains("script") && !out.contains("onclick") && !out.contains("javascript"), "{out}");
        assert!(out.contains("<p>Hi"), "{out}");
    }

    #[test]
    fn clean_title_decodes_double_escaping() {
        assert_eq!(clean_title("Gold &amp;amp; Silver"), "Gold & Silver");
        assert_eq!(clean_title("A&nbsp;B\n C"), "A B C");
        assert_eq!(clean_title("AT&T <3 ML-1"), "AT&T <3 ML-1");
    }

    #[test]
    fn spaced_cjk_round_trips() {
        let s = "中巴经济走廊 CPEC 建设";
        assert_eq!(spaced_cjk(s), "中 巴 经 济 走 廊 CPEC 建 设");
        assert_eq!(unspace_cjk(&spaced_cjk(s)), "中巴经济走廊 CPEC 建设");
        assert_eq!(spaced_cjk("plain"), "plain");
        assert_eq!(unspace_cjk("\u{1}经\u{2} \u{1}济\u{2} 走"), "\u{1}经\u{2}\u{1}济\u{2}走");
    }

    #[test]
    fn strip_controls_keeps_text_and_line_breaks() {
        assert_eq!(strip_controls("a\x1b]8;;https://e\x1b\\link\x1b]8;;\x1b\\\tb\u{202e}c\r\nd\re"), "alink bc\nd\ne");
        assert_eq!(strip_controls("\u{9b}31mred\x1b[0m"), "red");
        assert_eq!(strip_controls("中文 اردو"), "中文 اردو");
        let nasty: String = (0u32..0x200).filter_map(char::from_u32).collect();
        assert!(!strip_controls(&nasty).chars().any(|c| c.is_control() && c != '\n'));
    }

    #[test]
    fn text_to_html_escapes() {
        assert_eq!(text_to_html("a<b\n\nc & d"), "<p>a&lt;b</p>\n<p>c &amp; d</p>");
    }

    #[test]
    fn comparable_words_fold_case_width_and_punctuation() {
        assert_eq!(comparable_words("CPEC’s “Phase 1”, ＡＢＣ!"), ["cpec’s", "phase", "1", "abc"]);
    }
}
