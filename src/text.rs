//! Feed HTML to safe HTML and to plain text, and the text normalisation used
//! for comparing entries. Pure functions.

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use html5ever::{local_name, LocalName};

// Element names are html5ever's interned atoms: comparing them is comparing
// two integers, which keeps the per-tag work small even in a debug build.

/// Returns true if and only if the text of `name` elements is never content.
fn is_skipped(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("script")
            | local_name!("style")
            | local_name!("noscript")
            | local_name!("template")
            | local_name!("iframe")
            | local_name!("object")
            | local_name!("svg")
            | local_name!("head")
    )
}

/// Returns true if and only if a `name` element starts a new paragraph in the plain text.
fn is_block(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("p")
            | local_name!("div")
            | local_name!("li")
            | local_name!("ul")
            | local_name!("ol")
            | local_name!("dl")
            | local_name!("dt")
            | local_name!("dd")
            | local_name!("h1")
            | local_name!("h2")
            | local_name!("h3")
            | local_name!("h4")
            | local_name!("h5")
            | local_name!("h6")
            | local_name!("blockquote")
            | local_name!("pre")
            | local_name!("table")
            | local_name!("tr")
            | local_name!("section")
            | local_name!("article")
            | local_name!("aside")
            | local_name!("header")
            | local_name!("footer")
            | local_name!("figure")
            | local_name!("figcaption")
            | local_name!("hr")
            | local_name!("address")
            | local_name!("main")
            | local_name!("nav")
            | local_name!("details")
            | local_name!("summary")
    )
}

/// Returns true if and only if a `name` element is a table cell: its words
/// are not run into the next cell's.
fn is_cell(name: &LocalName) -> bool {
    matches!(*name, local_name!("td") | local_name!("th"))
}

/// Returns true if and only if a `name` element adds no nesting depth: void
/// elements (no content) and those the tree builder closes by itself when
/// the next of their kind starts (`<p>a<p>b`).
fn adds_no_depth(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
            | local_name!("p")
            | local_name!("li")
            | local_name!("dt")
            | local_name!("dd")
            | local_name!("option")
            | local_name!("optgroup")
            | local_name!("tr")
            | local_name!("td")
            | local_name!("th")
            | local_name!("rt")
            | local_name!("rp")
    )
}

/// Converts an HTML fragment to plain text: entities decoded, tags removed,
/// scripts and styles dropped, one paragraph per block element separated by
/// a blank line, whitespace inside a paragraph collapsed.
///
/// It reads the HTML with the tokenizer only, never building a tree: its
/// work is linear in the input, however deep or unclosed the nesting
/// (html5ever's tree builder is quadratic in the depth, and 200,000
/// unclosed `<div>`s would hold a sync for many minutes).
///
/// ```
/// assert_eq!(syndic::text::html_to_text("<p>A &amp; B</p><p>C<br>D</p>"), "A & B\n\nC\nD");
/// assert_eq!(syndic::text::html_to_text("<table><tr><td>Gwadar</td><td>60%</td></tr></table>"), "Gwadar 60%");
/// ```
pub fn html_to_text(html: &str) -> String {
    html_text_and_depth(html).0
}

/// [`html_to_text`] and [`html_depth`] in one pass of the tokenizer.
fn html_text_and_depth(html: &str) -> (String, usize) {
    let mut out = TextBuilder::default();
    let mut depth = DepthCounter::default();
    let mut skip_depth = 0usize;
    tokenize(html, |token| {
        depth.see(&token);
        match token {
            HtmlToken::Start { name, self_closing, .. } => {
                if is_skipped(name) {
                    if !self_closing {
                        skip_depth += 1;
                    }
                } else if skip_depth > 0 {
                } else if *name == local_name!("br") {
                    out.line_break();
                } else if is_block(name) {
                    out.paragraph_break();
                } else if is_cell(name) {
                    out.word_break();
                }
            }
            HtmlToken::End { name } => {
                if is_skipped(name) {
                    skip_depth = skip_depth.saturating_sub(1);
                } else if skip_depth == 0 && is_block(name) {
                    out.paragraph_break();
                } else if skip_depth == 0 && is_cell(name) {
                    out.word_break();
                }
            }
            HtmlToken::Text(t) if skip_depth == 0 => out.push_text(t),
            HtmlToken::Text(_) => {}
        }
    });
    (out.finish(), depth.deepest)
}

/// Sanitised HTML ([`sanitize_html`]) and plain text ([`html_to_text`]) of
/// one fragment, reading it with the tokenizer once for both.
pub fn sanitize_and_text(html: &str) -> (String, String) {
    let (text, depth) = html_text_and_depth(html);
    let safe = if depth > MAX_HTML_DEPTH { text_to_html(&text) } else { SANITIZER.clean(html).to_string() };
    (safe, text)
}

/// How deep HTML may nest before [`sanitize_html`] stops building a tree
/// for it. Real articles stay far below (a few dozen levels); each level
/// beyond costs the tree builder more than the one before.
pub const MAX_HTML_DEPTH: usize = 512;

/// The deepest element nesting of `html`, counted with the tokenizer
/// (linear time), the way the tree builder would open elements: void
/// elements and those that end themselves do not count, and an end tag
/// closes its element only if that is open near the top (a stray `</span>`
/// after each `<div>` does not hide 200,000 open `<div>`s).
pub fn html_depth(html: &str) -> usize {
    let mut depth = DepthCounter::default();
    tokenize(html, |token| depth.see(&token));
    depth.deepest
}

/// How far below the top of the open elements an end tag looks for its
/// element (the tree builder looks further, but at a cost per level).
const END_TAG_REACH: usize = 64;

#[derive(Default)]
struct DepthCounter {
    open: Vec<LocalName>,
    deepest: usize,
}

impl DepthCounter {
    fn see(&mut self, token: &HtmlToken<'_>) {
        match *token {
            HtmlToken::Start { name, self_closing: false, .. } if !adds_no_depth(name) => {
                self.open.push(name.clone());
                self.deepest = self.deepest.max(self.open.len());
            }
            HtmlToken::End { name } => {
                let reach = self.open.len().saturating_sub(END_TAG_REACH);
                if let Some(i) = self.open[reach..].iter().rposition(|n| n == name) {
                    self.open.truncate(reach + i);
                }
            }
            _ => {}
        }
    }
}

/// The attributes of every `<link>` tag of an HTML page, in page order
/// (for feed discovery), found with the tokenizer: linear time, whatever
/// the page's nesting.
pub fn link_tags(html: &str) -> Vec<Vec<(String, String)>> {
    let mut links = Vec::new();
    tokenize(html, |token| {
        if let HtmlToken::Start { name: &local_name!("link"), attrs, .. } = token {
            links.push(attrs.iter().map(|a| (a.name.local.to_string(), a.value.to_string())).collect());
        }
    });
    links
}

/// One token of HTML, as [`tokenize`] hands it over.
enum HtmlToken<'a> {
    Start { name: &'a LocalName, self_closing: bool, attrs: &'a [html5ever::Attribute] },
    End { name: &'a LocalName },
    Text(&'a str),
}

/// Runs html5ever's tokenizer over `html`, switching it into raw-text
/// states after `<script>`, `<style>`, `<textarea>`… as the tree builder
/// would, so their content is text and not tags.
fn tokenize(html: &str, on_token: impl FnMut(HtmlToken<'_>)) {
    use html5ever::tokenizer::states::RawKind;
    use html5ever::tokenizer::{BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
    use std::cell::RefCell;

    struct Sink<F>(RefCell<F>);
    impl<F: FnMut(HtmlToken<'_>)> TokenSink for Sink<F> {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            let mut on_token = self.0.borrow_mut();
            match token {
                Token::TagToken(tag) => {
                    let name = &tag.name;
                    match tag.kind {
                        html5ever::tokenizer::StartTag => {
                            on_token(HtmlToken::Start { name, self_closing: tag.self_closing, attrs: &tag.attrs });
                            if tag.self_closing {
                                return TokenSinkResult::Continue;
                            }
                            match *name {
                                local_name!("script") => return TokenSinkResult::RawData(RawKind::ScriptData),
                                local_name!("style")
                                | local_name!("xmp")
                                | local_name!("iframe")
                                | local_name!("noembed")
                                | local_name!("noframes")
                                | local_name!("noscript") => return TokenSinkResult::RawData(RawKind::Rawtext),
                                local_name!("textarea") | local_name!("title") => {
                                    return TokenSinkResult::RawData(RawKind::Rcdata)
                                }
                                local_name!("plaintext") => return TokenSinkResult::Plaintext,
                                _ => {}
                            }
                        }
                        html5ever::tokenizer::EndTag => on_token(HtmlToken::End { name }),
                    }
                }
                Token::CharacterTokens(t) => on_token(HtmlToken::Text(&t)),
                _ => {}
            }
            TokenSinkResult::Continue
        }
    }

    let tokenizer = Tokenizer::new(Sink(RefCell::new(on_token)), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(html.into());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
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

    /// Words on either side stay apart (table cells: `<td>a</td><td>b</td>` is "a b").
    fn word_break(&mut self) {
        self.pending_space = true;
    }

    fn paragraph_break(&mut self) {
        self.pending_break = 2;
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Every change here changes what items are stored as: the item hashes
/// follow it (`parse::texts_signature` reads [`sanitizer_profile`]). Keep
/// its output a function of its input: ammonia's `set_tag_attribute_values`
/// with two attributes on one tag writes them in a random order.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"));
    b
});

/// The sanitiser's settings written out in a fixed order, and markup that
/// uses each tag it allows with each attribute it allows there, and links
/// of many schemes: what `parse::texts_signature` hashes, so that a change
/// to the allow-lists, or to what ammonia makes of them, changes every
/// item's hash.
pub fn sanitizer_profile() -> (String, Vec<String>) {
    let b = &*SANITIZER;
    let sorted = |set: std::collections::HashSet<&str>| {
        let mut v: Vec<&str> = set.into_iter().collect();
        v.sort_unstable();
        v.join(",")
    };
    let nested = |map: std::collections::HashMap<&str, std::collections::HashSet<&str>>| {
        let mut v: Vec<String> = map.into_iter().map(|(k, set)| format!("{k}:[{}]", sorted(set))).collect();
        v.sort_unstable();
        v.join(";")
    };
    let mut values: Vec<String> = b
        .clone_set_tag_attribute_values()
        .into_iter()
        .flat_map(|(t, m)| m.into_iter().map(move |(a, v)| format!("{t}.{a}={v}")))
        .collect();
    values.sort_unstable();
    let settings = format!(
        "tags={}\nclean={}\nattributes={}\ngeneric={}\nprefixes={}\nschemes={}\nclasses={}\nset={}\nrel={:?}\ncomments={}\nrelative={}",
        sorted(b.clone_tags()),
        sorted(b.clone_clean_content_tags()),
        nested(b.clone_tag_attributes()),
        sorted(b.clone_generic_attributes()),
        b.clone_generic_attribute_prefixes().map(sorted).unwrap_or_default(),
        sorted(b.clone_url_schemes()),
        nested(b.clone_allowed_classes()),
        values.join(";"),
        b.get_link_rel(),
        b.will_strip_comments(),
        [
            b.is_url_relative_deny(),
            b.is_url_relative_pass_through(),
            b.is_url_relative_custom(),
            b.is_url_relative_rewrite_with_base(),
            b.is_url_relative_rewrite_with_root()
        ]
        .map(|x| if x { '1' } else { '0' })
        .iter()
        .collect::<String>(),
    );
    let mut tags: Vec<&str> = b.clone_tags().into_iter().collect();
    tags.sort_unstable();
    let attributes = b.clone_tag_attributes();
    let mut generic: Vec<&str> = b.clone_generic_attributes().into_iter().collect();
    generic.sort_unstable();
    let mut probes: Vec<String> = tags
        .iter()
        .map(|tag| {
            let mut own: Vec<&str> = attributes.get(tag).map(|a| a.iter().copied().collect()).unwrap_or_default();
            own.sort_unstable();
            let attrs: String =
                own.iter().chain(&generic).map(|a| format!(" {a}=\"https://x.example/{a}?v=1\"")).collect();
            format!("<p>Before {tag}</p><{tag}{attrs} class=\"c\" style=\"color:red\" onclick=\"x()\">In {tag}</{tag}> after")
        })
        .collect();
    let mut schemes: Vec<&str> = b.clone_url_schemes().into_iter().collect();
    schemes.extend(["data", "javascript", "vbscript", "file", "blob", "chrome", "about", "tel", "ftp", "magnet"]);
    schemes.sort_unstable();
    schemes.dedup();
    probes.extend(schemes.iter().map(|s| format!("<a href=\"{s}:x\">{s}</a> <img src=\"{s}:y\" alt=\"{s} image\">")));
    (settings, probes)
}

/// Cleans feed HTML down to an allow-list of harmless tags and attributes
/// (no scripts, styles, event handlers or `javascript:` links).
///
/// HTML nested deeper than [`MAX_HTML_DEPTH`] is not given to the tree
/// builder (whose work grows with the square of the depth): it is kept as
/// its text, one paragraph per block.
pub fn sanitize_html(html: &str) -> String {
    // Fewer tags than the limit cannot nest deeper than it: skip the count.
    let tags = html.bytes().filter(|&b| b == b'<').count();
    if tags > MAX_HTML_DEPTH && html_depth(html) > MAX_HTML_DEPTH {
        return text_to_html(&html_to_text(html));
    }
    SANITIZER.clean(html).to_string()
}

/// `text` split at each blank line (`"\n\n"`), as `text.split("\n\n")`
/// splits it, found with memchr's vectorised search (the standard library's
/// two-way searcher took 2.6% of a parse worker's instructions, finding the
/// paragraphs of every entry).
pub fn split_paragraphs(text: &str) -> impl Iterator<Item = &str> {
    let mut ends = memchr::memmem::find_iter(text.as_bytes(), b"\n\n").chain(std::iter::once(text.len()));
    let mut start = 0;
    std::iter::from_fn(move || {
        let end = ends.next()?;
        // Each end is at a "\n\n" or the end of the text: a character boundary.
        let piece = &text[start..end];
        start = end + 2;
        Some(piece)
    })
}

/// Escapes plain text for inclusion in HTML, one `<p>` per paragraph.
pub fn text_to_html(text: &str) -> String {
    split_paragraphs(text)
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
    let folded = lowercase(&normalised);
    let mut words = Vec::new();
    for_each_word(&folded, |w| words.push(w.to_owned()));
    words
}

/// Calls `f` with each word of `text` in order, exactly as
/// `text.unicode_words()` gives them (Unicode word boundaries, UAX #29;
/// pieces without a letter or digit left out), but a stretch of ASCII
/// between spaces, which is most of what feeds carry, is split by the
/// rules as they apply to ASCII, without the Unicode tables (a sixth of
/// the CPU of a cold sync went to looking characters up in them).
/// UAX #29 always breaks at ASCII white space, so each stretch can be
/// split on its own.
pub fn for_each_word<'a>(text: &'a str, mut f: impl FnMut(&'a str)) {
    // Split on the bytes: an ASCII byte is never part of a longer UTF-8
    // sequence, so every slice starts and ends on a character boundary.
    let mut split = |chunk: &'a str, ascii: bool| {
        if ascii {
            ascii_words(chunk, &mut f);
        } else {
            chunk.unicode_words().for_each(&mut f);
        }
    };
    let (mut start, mut high) = (0, 0u8);
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if b.is_ascii_whitespace() {
            split(&text[start..i], high < 0x80);
            (start, high) = (i + 1, 0);
        } else {
            high |= b;
        }
    }
    split(&text[start..], high < 0x80);
}

/// `text.to_lowercase()`, with runs of ASCII lower-cased a byte at a
/// time: the standard library's goes character by character after the
/// first non-ASCII one, and feed text has a curly quote or a dash in most
/// paragraphs. The same result: each character maps as
/// `char::to_lowercase` maps it, which `str::to_lowercase` does too but for
/// a capital sigma (its form depends on the letters around it), so text
/// with one is left to it.
pub fn lowercase(text: &str) -> String {
    if text.contains('\u{3a3}') {
        return text.to_lowercase();
    }
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let end = bytes[i..].iter().position(|b| !b.is_ascii()).map_or(bytes.len(), |n| i + n);
        out.extend(bytes[i..end].iter().map(u8::to_ascii_lowercase));
        let Some(c) = text[end..].chars().next() else { break };
        let mut buf = [0u8; 4];
        for lower in c.to_lowercase() {
            out.extend_from_slice(lower.encode_utf8(&mut buf).as_bytes());
        }
        i = end + c.len_utf8();
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_lowercase())
}

/// The UAX #29 word break property of an ASCII byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WordClass {
    Letter,
    Digit,
    /// `_` (ExtendNumLet).
    Connector,
    /// `:` (MidLetter): joins letters.
    MidLetter,
    /// `.` and `'` (MidNumLet, Single_Quote): join letters, and digits.
    MidBoth,
    /// `,` and `;` (MidNum): join digits.
    MidNum,
    Other,
}

fn word_class(b: u8) -> WordClass {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => WordClass::Letter,
        b'0'..=b'9' => WordClass::Digit,
        b'_' => WordClass::Connector,
        b':' => WordClass::MidLetter,
        b'.' | b'\'' => WordClass::MidBoth,
        b',' | b';' => WordClass::MidNum,
        _ => WordClass::Other,
    }
}

/// [`for_each_word`] for an ASCII stretch without white space.
fn ascii_words<'a>(chunk: &'a str, f: &mut impl FnMut(&'a str)) {
    use WordClass::*;
    let bytes = chunk.as_bytes();
    // Most stretches are a word, perhaps with punctuation after it ("said,"
    // "2024."): letters, digits and `_` all join (WB5 to WB13b), and what
    // follows them joins nothing when no letter or digit comes after it
    // (WB6, WB7, WB11 and WB12 need one), so that is one word and pieces
    // without a letter or digit, which are left out.
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let end = bytes.iter().position(|b| !word(b)).unwrap_or(bytes.len());
    if !bytes[end..].iter().any(word) {
        if bytes[..end].iter().any(u8::is_ascii_alphanumeric) {
            f(&chunk[..end]);
        }
        return;
    }
    let class = |i: usize| bytes.get(i).map_or(Other, |b| word_class(*b));
    let mut start = 0;
    for i in 1..=bytes.len() {
        let joined = i < bytes.len()
            && match (class(i - 1), class(i)) {
                // WB5, WB8, WB9, WB10, WB13a, WB13b
                (Letter | Digit | Connector, Letter | Digit | Connector) => true,
                // WB6, WB7: letter (MidLetter | MidNumLetQ) letter
                (Letter, MidLetter | MidBoth) => class(i + 1) == Letter,
                (MidLetter | MidBoth, Letter) => i >= 2 && class(i - 2) == Letter,
                // WB11, WB12: digit (MidNum | MidNumLetQ) digit
                (Digit, MidNum | MidBoth) => class(i + 1) == Digit,
                (MidNum | MidBoth, Digit) => i >= 2 && class(i - 2) == Digit,
                _ => false,
            };
        if !joined {
            let piece = &chunk[start..i];
            if piece.bytes().any(|b| b.is_ascii_alphanumeric()) {
                f(piece);
            }
            start = i;
        }
    }
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

/// Whether `text` may hold a CJK character ([`is_cjk`]): the UTF-8 of each
/// starts with one of these bytes, so text without them (Latin with its
/// quotes and dashes, Urdu) need not be decoded to know it has none.
fn may_have_cjk(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Eight ASCII bytes at a time: none of those lead bytes is ASCII.
        if word_at(b, i).is_some_and(|w| w & HIGH_BITS == 0) {
            i += 8;
            continue;
        }
        if matches!(b[i], 0xE3..=0xED | 0xEF | 0xF0) {
            return true;
        }
        i += 1;
    }
    false
}

/// The high bit of each of a word's eight bytes.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `b` from `i` as one word, if there are eight.
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// Returns true if all eight bytes of `w` are printable ASCII (`0x20` to
/// `0x7e`): no high bit, no byte below `0x20` (a byte `x < n` for `n <= 128`
/// is the one where `x - n` borrows into a clear high bit), no `0x7f` (a zero
/// byte once `0x7f` is xored away).
fn is_printable_ascii(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let below_space = w.wrapping_sub(0x20 * ONES) & !w;
    let del = w ^ (0x7f * ONES);
    let has_del = del.wrapping_sub(ONES) & !del;
    (w | below_space | has_del) & HIGH_BITS == 0
}

/// Whether `text` has a CJK character ([`is_cjk`]).
pub fn has_cjk(text: &str) -> bool {
    may_have_cjk(text) && text.chars().any(is_cjk)
}

/// Puts a space around every CJK character, so that a word-based full-text
/// index sees each one as a token and a phrase of them matches anywhere in
/// a run of text (`中巴经济走廊建设` is then found by `经济走廊`).
///
/// ```
/// assert_eq!(syndic::text::spaced_cjk("CPEC中巴走廊ok"), "CPEC 中 巴 走 廊 ok");
/// ```
pub fn spaced_cjk(text: &str) -> std::borrow::Cow<'_, str> {
    // Most text has no CJK at all: no copy then (the writer indexes every entry's text).
    if !has_cjk(text) {
        return std::borrow::Cow::Borrowed(text);
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
    std::borrow::Cow::Owned(out)
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
    // Most text holds nothing to remove or replace: copied whole, not char
    // by char (the parse workers pass every entry's content through here).
    if !needs_stripping(s) {
        return s.to_owned();
    }
    strip_controls_by_char(s)
}

/// Returns true if `s` holds a character [`strip_controls`] removes or
/// replaces: an ASCII control but `\n` (tab and `\r` included), DEL, a C1
/// control (UTF-8 `C2 80..9F`), a bidirectional control (U+061C, U+200E,
/// U+200F, U+202A..U+202E, U+2066..U+2069) or a line or paragraph separator
/// (U+2028, U+2029). Looked for by their UTF-8 bytes.
fn needs_stripping(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Eight printable ASCII characters at a time: none is one of those.
        if word_at(b, i).is_some_and(is_printable_ascii) {
            i += 8;
            continue;
        }
        match b[i] {
            b'\n' => {}
            0x00..=0x1f | 0x7f => return true,
            0xc2 if matches!(b.get(i + 1), Some(0x80..=0x9f)) => return true,
            0xd8 if b.get(i + 1) == Some(&0x9c) => return true,
            0xe2 => match (b.get(i + 1), b.get(i + 2)) {
                (Some(0x80), Some(0x8e | 0x8f | 0xa8..=0xae)) | (Some(0x81), Some(0xa6..=0xa9)) => return true,
                _ => {}
            },
            _ => {}
        }
        i += 1;
    }
    false
}

fn strip_controls_by_char(s: &str) -> String {
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

/// How far a control string (OSC, DCS…) may run before its terminator. A
/// starter with no terminator within this many characters is a lone control
/// character (mojibake: windows-1252 maps undefined bytes to U+0090, U+009D):
/// only it is dropped, never the text after it.
const MAX_CONTROL_STRING: usize = 4096;

fn skip_control_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut ahead = chars.clone();
    let mut taken = 0;
    while let Some(c) = ahead.next() {
        taken += 1;
        let end = match c {
            '\x07' | '\u{9c}' => true,
            '\x1b' if ahead.peek() == Some(&'\\') => {
                ahead.next();
                taken += 1;
                true
            }
            _ => false,
        };
        if end {
            for _ in 0..taken {
                chars.next();
            }
            return;
        }
        if taken >= MAX_CONTROL_STRING {
            break;
        }
    }
    // Unterminated: not a sequence a terminal would act on as a whole.
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so that the comparison
    /// below needs no extra crate and fails the same way every time.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn printable_ascii_words_are_told_apart_exactly() {
        // Each byte value at each of the eight places, among printable ones.
        for place in 0..8 {
            for byte in 0..=255u8 {
                let mut bytes = *b"abcXYZ~ ";
                bytes[place] = byte;
                let word = u64::from_le_bytes(bytes);
                assert_eq!(is_printable_ascii(word), (0x20..0x7f).contains(&byte), "{byte:#x} at {place}");
            }
        }
    }

    #[test]
    fn may_have_cjk_finds_each_lead_byte_wherever_it_is() {
        let alphabet: Vec<char> =
            "ab 1.\n\u{2019}\u{e9}\u{4e2d}\u{3042}\u{ac00}\u{ff21}\u{20000}\u{600}".chars().collect();
        let mut rng = Rng(0x6a09_e667_f3bc_c908);
        let mut found = [0; 2];
        for _ in 0..100_000 {
            let len = rng.next() % 40;
            let text: String = (0..len)
                .map(|_| match rng.next() % 16 {
                    0 => alphabet[(rng.next() % alphabet.len() as u64) as usize],
                    _ => char::from(b'a' + (rng.next() % 26) as u8),
                })
                .collect();
            let expected = text.bytes().any(|b| matches!(b, 0xE3..=0xED | 0xEF | 0xF0));
            assert_eq!(may_have_cjk(&text), expected, "{text:?}");
            found[usize::from(expected)] += 1;
        }
        assert!(found[0] > 1_000 && found[1] > 1_000, "{found:?}");
    }

    #[test]
    fn split_paragraphs_splits_as_the_standard_library_does() {
        let alphabet: Vec<char> = "a \n\n\n\r\u{2019}".chars().collect();
        let mut rng = Rng(0xbb67_ae85_84ca_a73b);
        for _ in 0..100_000 {
            let len = rng.next() % 24;
            let text: String = (0..len).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect();
            assert_eq!(split_paragraphs(&text).collect::<Vec<_>>(), text.split("\n\n").collect::<Vec<_>>(), "{text:?}");
        }
        assert_eq!(split_paragraphs("").collect::<Vec<_>>(), [""]);
        assert_eq!(split_paragraphs("a\n\n\n\nb\n\n").collect::<Vec<_>>(), ["a", "", "b", ""]);
    }

    #[test]
    fn lowercase_is_what_the_standard_library_gives() {
        // ASCII of both cases, characters whose lower case is longer or
        // shorter in UTF-8 or is two characters (İ), the capital sigma
        // whose form depends on its neighbours, title case, CJK, a dash.
        let alphabet: Vec<char> =
            "aZQ09 .,\u{2019}\u{2014}\u{3a3}\u{3c3}\u{130}\u{1e9e}\u{1c5}\u{c9}\u{4e2d}\u{212a}\u{2c2f}\u{10400}\u{a0}"
                .chars()
                .collect();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let len = (rng.next() % 16) as usize;
            let text: String = (0..len).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect();
            assert_eq!(lowercase(&text), text.to_lowercase(), "{text:?}");
        }
        for text in
            ["", "ASCII Only, Here.", "CPEC\u{2019}s \u{201c}Phase 1\u{201d} \u{2014} ÉTÉ", "ΟΔΥΣΣΕΥΣ", "İSTANBUL"]
        {
            assert_eq!(lowercase(text), text.to_lowercase(), "{text:?}");
        }
    }

    #[test]
    fn for_each_word_splits_as_unicode_words_does() {
        // Every ASCII class the fast path tells apart, white space, and a
        // few non-ASCII characters that send a stretch to the Unicode path
        // (curly apostrophe, NBSP, a combining accent, CJK, a middle dot,
        // an Arabic comma, a zero-width joiner).
        let alphabet: Vec<char> =
            "aZq09_:.',;\"-/()!? \n\t\r\x0b\x01\u{2019}\u{a0}\u{301}\u{4e2d}\u{b7}\u{60c}\u{200d}é".chars().collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            let len = (rng.next() % 12) as usize;
            let text: String = (0..len).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect();
            let mut ours = Vec::new();
            for_each_word(&text, |w| ours.push(w));
            let theirs: Vec<&str> = text.unicode_words().collect();
            assert_eq!(ours, theirs, "{text:?}");
        }
        let text = "U.S. officials said 1,000.5 don't a_b 3:30 co-op e-mail x.y.z 1.a a.1 'quoted' __ _1 fin";
        let mut ours = Vec::new();
        for_each_word(text, |w| ours.push(w));
        assert_eq!(ours, text.unicode_words().collect::<Vec<_>>());
        assert!(ours.contains(&"U.S") && ours.contains(&"1,000.5") && ours.contains(&"don't"));
    }

    #[test]
    fn strip_controls_copies_clean_text_whole_and_strips_the_rest_as_char_by_char() {
        // Every character the fast check looks for, its neighbours in UTF-8
        // (same lead bytes, other continuations), and ordinary text.
        let alphabet: Vec<char> = "ab \n\r\t\x00\x07\x1b\x1f\x7f[]P\u{80}\u{9b}\u{9d}\u{9f}\u{a0}\u{a9}\u{61c}\u{61b}\u{600}\u{200d}\u{200e}\u{200f}\u{2010}\u{2019}\u{201c}\u{2026}\u{2028}\u{2029}\u{202a}\u{202e}\u{202f}\u{2060}\u{2066}\u{2069}\u{206a}\u{4e2d}é"
            .chars()
            .collect();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut clean = 0;
        for n in 0..200_000 {
            // Half of the texts mostly printable ASCII and up to 40 bytes
            // long, so that the check's eight bytes at a time are taken
            // whole, and cut short by each special character at every offset.
            let (len, ascii) = if n % 2 == 0 { (rng.next() % 10, 0) } else { (rng.next() % 40, 7) };
            let text: String = (0..len)
                .map(|_| match rng.next() % 8 {
                    r if r < ascii => char::from(b' ' + (rng.next() % 95) as u8),
                    _ => alphabet[(rng.next() % alphabet.len() as u64) as usize],
                })
                .collect();
            let by_char = strip_controls_by_char(&text);
            assert_eq!(strip_controls(&text), by_char, "{text:?}");
            // The check says "nothing to strip" exactly when nothing changes.
            assert_eq!(!needs_stripping(&text), by_char == text, "{text:?}");
            clean += usize::from(!needs_stripping(&text));
        }
        assert!(clean > 1_000, "the fast path was taken {clean} times");
    }

    #[test]
    fn html_to_text_keeps_paragraphs_and_decodes_entities() {
        let html = "<div><h2>Title</h2><p>One&nbsp;two &lt;three&gt;</p>\n<p>  Four\n five </p><ul><li>a</li><li>b</li></ul></div>";
        assert_eq!(html_to_text(html), "Title\n\nOne two <three>\n\nFour five\n\na\n\nb");
    }

    // See: issue 9: 200,000 unclosed <div>s froze `sync` in the tree builder.
    #[test]
    fn deep_or_unclosed_html_takes_linear_time() {
        let deep = format!("<p>start</p>{}deep text{}", "<div>".repeat(200_000), "</div>".repeat(1000));
        let started = std::time::Instant::now();
        assert_eq!(html_depth(&deep), 200_000);
        assert!(html_to_text(&deep).ends_with("deep text"));
        let clean = sanitize_html(&deep);
        assert!(clean.contains("deep text") && !clean.contains("<div>"), "{}", &clean[..200.min(clean.len())]);
        // Linear: a few seconds in a debug build (the tree builder took minutes).
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
        // A stray end tag after each open one does not hide the depth.
        assert_eq!(html_depth(&"<div></span>".repeat(10_000)), 10_000);
        let (safe, text) = sanitize_and_text(&deep);
        assert!(text.ends_with("deep text") && !safe.contains("<div>"));
        // Ordinary HTML still goes through the sanitiser's allow-list.
        assert_eq!(html_depth("<p>a<p>b<ul><li>c<li>d</ul><br><img src=x>"), 1);
        assert_eq!(sanitize_html("<div><b>x</b></div>"), "<div><b>x</b></div>");
    }

    #[test]
    fn link_tags_are_found_without_a_tree() {
        let page = "<html><head><script>var s = '<link rel=x href=no>';</script><link rel=alternate type=application/rss+xml href=/feed></head>";
        let links = link_tags(page);
        assert_eq!(links.len(), 1, "{links:?}");
        assert!(links[0].contains(&("href".to_owned(), "/feed".to_owned())));
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
    fn every_cjk_character_passes_the_byte_filter() {
        let mut buf = [0u8; 4];
        let cjk: Vec<char> = (0..=0x10FFFFu32).filter_map(char::from_u32).filter(|c| is_cjk(*c)).collect();
        assert!(cjk.len() > 90_000, "{}", cjk.len());
        for c in cjk {
            assert!(super::may_have_cjk(c.encode_utf8(&mut buf)), "{c:?} U+{:04X}", c as u32);
        }
        assert!(!super::may_have_cjk("“Quotes” — dashes, é, and پشاور"));
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

    // See: issue 9: a lone C1 character (windows-1252 mojibake, `&#x9d;`) cut
    // off all the text after it.
    #[test]
    fn strip_controls_drops_a_lone_c1_character_only() {
        assert_eq!(strip_controls("Caf\u{9d} au lait, tout le reste"), "Caf au lait, tout le reste");
        assert_eq!(strip_controls("a\u{90}b\u{98}c\u{9e}d\u{9f}e"), "abcde");
        assert_eq!(strip_controls("x\x1b]unterminated osc and more"), "xunterminated osc and more");
        // A terminated control string still goes as a whole.
        assert_eq!(strip_controls("a\u{9d}8;;http://evil\u{9c}b"), "ab");
        assert_eq!(strip_controls(&clean_title("Caf&#x9d; au lait")), "Caf au lait");
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
