//! Turning what a person types into an FTS5 query, and the snippet shown
//! for a hit. Pure functions.
//!
//! Plain words work without knowing FTS5 syntax: every word is quoted, so
//! `ML-1`, `China-Pakistan`, `Dr. Baige`, apostrophes and stray quotes are
//! searched as text. Quoted phrases, `OR`, `NOT`, `AND` and a trailing `*`
//! for prefixes keep their meaning.
//!
//! A query is bounded before it reaches the index (issue 9, "search hangs"):
//! at most [`MAX_QUERY_CHARS`] characters and [`MAX_TERMS`] distinct terms,
//! and a prefix needs [`MIN_PREFIX_CHARS`] characters. A repeated word of a
//! plain query (`solar solar solar …`) counts once.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::text::{is_cjk, spaced_cjk};

/// Longest query searched, in characters: far more than anyone types; a
/// pasted document is refused rather than searched for minutes.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most distinct words and phrases in one query: each one is a doclist
/// FTS5 reads and merges.
pub const MAX_TERMS: usize = 32;
/// Fewest characters before a `*`: `s*` would merge the doclists of every
/// word starting with s.
pub const MIN_PREFIX_CHARS: usize = 2;
/// Words of text a snippet shows.
pub const SNIPPET_WORDS: usize = 16;
/// Longest piece of an entry's text that a snippet is looked for in, in
/// bytes: a 20 MB entry costs no more than a long article.
pub const SNIPPET_SCAN_BYTES: usize = 64 * 1024;

/// Marks the start of a highlighted match in a snippet.
pub const HIGHLIGHT_START: char = '\u{1}';
/// Marks the end of a highlighted match in a snippet.
pub const HIGHLIGHT_END: char = '\u{2}';

/// Why a query cannot be searched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query has no words to search for")]
    Empty,
    #[error("the query is {chars} characters long; at most {MAX_QUERY_CHARS} are searched")]
    TooLong { chars: usize },
    #[error("the query has {terms} different words or phrases; at most {MAX_TERMS} are searched")]
    TooManyTerms { terms: usize },
    #[error("\"{term}*\" is too short a prefix; a prefix needs at least {MIN_PREFIX_CHARS} characters before the *")]
    ShortPrefix { term: String },
}

impl QueryError {
    /// Returns true if and only if the query simply has nothing to look for
    /// (an empty result, not an error).
    pub fn is_empty_query(&self) -> bool {
        matches!(self, QueryError::Empty)
    }

    /// What to do instead.
    pub fn hint(&self) -> Option<String> {
        match self {
            QueryError::Empty => None,
            QueryError::TooLong { .. } | QueryError::TooManyTerms { .. } => {
                Some("search for the few words that matter most; every word must match".into())
            }
            QueryError::ShortPrefix { .. } => Some("type more of the word before the *".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Term { text: String, prefix: bool },
    Phrase(String),
    Op(&'static str),
}

fn tokens(input: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        match w.as_str() {
            "OR" => tokens.push(Token::Op("OR")),
            "AND" => tokens.push(Token::Op("AND")),
            "NOT" => tokens.push(Token::Op("NOT")),
            _ => {
                let prefix = w.ends_with('*');
                let text = w.trim_end_matches('*').trim_matches(|c| c == '(' || c == ')').to_owned();
                if has_word_chars(&text) {
                    tokens.push(Token::Term { text, prefix });
                }
            }
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                flush(&mut word, &mut tokens);
                let mut phrase = String::new();
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    phrase.push(c);
                }
                if has_word_chars(&phrase) {
                    tokens.push(Token::Phrase(phrase));
                }
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

/// Translates a user query into FTS5 syntax.
///
/// ```
/// use syndic::search::fts_query;
/// assert_eq!(fts_query("ML-1 gwad*").unwrap(), r#""ML-1" "gwad"*"#);
/// assert_eq!(fts_query(r#""Dr. Baige" OR CPEC"#).unwrap(), r#""Dr. Baige" OR "CPEC""#);
/// assert_eq!(fts_query("solar solar solar").unwrap(), r#""solar""#);
/// ```
pub fn fts_query(input: &str) -> Result<String, QueryError> {
    let chars = input.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong { chars });
    }
    let mut tokens = tokens(input);
    // Without operators every word must match, so a repeated one adds nothing.
    if !tokens.iter().any(|t| matches!(t, Token::Op(_))) {
        let mut seen = Vec::new();
        tokens.retain(|t| {
            let fresh = !seen.contains(t);
            if fresh {
                seen.push(t.clone());
            }
            fresh
        });
    }
    let mut distinct: Vec<&Token> = tokens.iter().filter(|t| !matches!(t, Token::Op(_))).collect();
    distinct.sort_by_key(|t| format!("{t:?}"));
    distinct.dedup();
    if distinct.len() > MAX_TERMS {
        return Err(QueryError::TooManyTerms { terms: distinct.len() });
    }
    for t in &tokens {
        if let Token::Term { text, prefix: true } = t {
            if text.chars().filter(|c| c.is_alphanumeric()).count() < MIN_PREFIX_CHARS {
                return Err(QueryError::ShortPrefix { term: text.clone() });
            }
        }
    }

    // Operators only between two terms; anywhere else they are words.
    let mut out: Vec<String> = Vec::new();
    let n = tokens.len();
    for (i, tok) in tokens.iter().enumerate() {
        match tok {
            Token::Op(op) => {
                let prev_is_term = i > 0 && !matches!(tokens[i - 1], Token::Op(_));
                let next_is_term = i + 1 < n && !matches!(tokens[i + 1], Token::Op(_));
                if prev_is_term && next_is_term {
                    out.push((*op).to_owned());
                } else {
                    out.push(quote(op));
                }
            }
            Token::Term { text, prefix } => out.push(if *prefix { format!("{}*", quote(text)) } else { quote(text) }),
            Token::Phrase(p) => out.push(quote(p)),
        }
    }
    if out.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(out.join(" "))
}

fn has_word_chars(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// An FTS5 string: double quotes doubled, CJK characters spaced as indexed.
fn quote(s: &str) -> String {
    format!("\"{}\"", spaced_cjk(s).replace('"', "\"\""))
}

/// A word to highlight in a snippet, folded as the index folds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    word: String,
    prefix: bool,
}

impl Highlight {
    fn matches(&self, folded: &str) -> bool {
        if self.prefix {
            folded.starts_with(&self.word)
        } else {
            folded == self.word
        }
    }
}

/// The words of a user query that a snippet highlights: every word and
/// phrase word, except those after `NOT`.
///
/// ```
/// use syndic::search::highlights;
/// assert_eq!(highlights("Gwadar NOT port").len(), 1);
/// ```
pub fn highlights(input: &str) -> Vec<Highlight> {
    let tokens = tokens(input);
    let mut out: Vec<Highlight> = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        if i > 0 && tokens[i - 1] == Token::Op("NOT") {
            continue;
        }
        let (text, prefix) = match tok {
            Token::Term { text, prefix } => (text.as_str(), *prefix),
            Token::Phrase(p) => (p.as_str(), false),
            Token::Op(_) => continue,
        };
        let words = words(text);
        let last = words.len().saturating_sub(1);
        for (j, (start, end)) in words.into_iter().enumerate() {
            let h = Highlight { word: fold(&text[start..end]), prefix: prefix && j == last };
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

/// Byte ranges of the words of `text` as FTS5's unicode61 tokenizer sees
/// them: runs of letters and digits, each CJK character a word of its own.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let wordy = c.is_alphanumeric() || is_combining_mark(c);
        if is_cjk(c) {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
            out.push((i, i + c.len_utf8()));
        } else if wordy {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push((s, i));
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// Lower case without diacritics (unicode61 `remove_diacritics 2`).
fn fold(word: &str) -> String {
    word.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// The part of `text` (its first [`SNIPPET_SCAN_BYTES`]) with the most
/// query words in [`SNIPPET_WORDS`] words, matches between
/// [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`], `…` where text was cut.
/// `None` when no query word occurs there.
///
/// ```
/// use syndic::search::{highlights, snippet};
/// let s = snippet("The port of Gwadar opened.", &highlights("gwadar")).unwrap();
/// assert_eq!(s, "The port of \u{1}Gwadar\u{2} opened.");
/// ```
pub fn snippet(text: &str, highlights: &[Highlight]) -> Option<String> {
    scored_snippet(text, highlights).map(|(s, _)| s)
}

/// Of several texts of one entry (title, summary, content: the columns of
/// the index), the snippet of the one with the most different query words,
/// the first of equals (as FTS5's `snippet()` chooses); without any match,
/// the start of the last non-empty text.
///
/// ```
/// use syndic::search::{best_snippet, highlights};
/// let hl = highlights("gwadar port");
/// assert_eq!(best_snippet(&["Gwadar news", "Port of Gwadar"], &hl), "\u{1}Port\u{2} of \u{1}Gwadar\u{2}");
/// assert_eq!(best_snippet(&["Title", "Body text"], &hl), "Body text");
/// ```
pub fn best_snippet(texts: &[&str], highlights: &[Highlight]) -> String {
    let mut best: Option<(String, usize)> = None;
    for text in texts {
        if let Some((s, n)) = scored_snippet(text, highlights) {
            if best.as_ref().is_none_or(|(_, m)| n > *m) {
                best = Some((s, n));
            }
        }
    }
    match best {
        Some((s, _)) => s,
        None => lead(texts.iter().rev().find(|t| !t.trim().is_empty()).copied().unwrap_or("")),
    }
}

fn scored_snippet(text: &str, highlights: &[Highlight]) -> Option<(String, usize)> {
    let scanned = scan_window(text);
    let words = words(scanned);
    let hits: Vec<Option<usize>> =
        words.iter().map(|&(s, e)| highlights.iter().position(|h| h.matches(&fold(&scanned[s..e])))).collect();
    // The window with the most different query words, the earliest of equals.
    let mut best: Option<(usize, usize)> = None;
    for (i, hit) in hits.iter().enumerate() {
        if hit.is_none() {
            continue;
        }
        let mut found: Vec<usize> = hits[i..(i + SNIPPET_WORDS).min(hits.len())].iter().flatten().copied().collect();
        found.sort_unstable();
        found.dedup();
        if best.is_none_or(|(_, n)| found.len() > n) {
            best = Some((i, found.len()));
        }
    }
    let (first_hit, found) = best?;
    // A little context before the first match; more when the text ends soon after.
    let start = first_hit.saturating_sub(SNIPPET_WORDS / 4).min(words.len().saturating_sub(SNIPPET_WORDS));
    let end = (start + SNIPPET_WORDS).min(words.len());
    Some((render(scanned, &words, &hits, start, end), found))
}

/// The first [`SNIPPET_SCAN_BYTES`] of `text`, cut at a character.
fn scan_window(text: &str) -> &str {
    let mut cut = text.len().min(SNIPPET_SCAN_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// The first [`SNIPPET_WORDS`] words of `text`, for a hit whose match is
/// not in the text shown.
pub fn lead(text: &str) -> String {
    let scanned = scan_window(text);
    let words = words(scanned);
    let hits = vec![None; words.len()];
    render(scanned, &words, &hits, 0, SNIPPET_WORDS.min(words.len()))
}

fn render(text: &str, words: &[(usize, usize)], hits: &[Option<usize>], start: usize, end: usize) -> String {
    if start >= end {
        return String::new();
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let from = if start == 0 { 0 } else { words[start].0 };
    let mut pos = from;
    for i in start..end {
        let (s, e) = words[i];
        push_flat(&mut out, &text[pos..s]);
        if hits[i].is_some() {
            out.push(HIGHLIGHT_START);
            out.push_str(&text[s..e]);
            out.push(HIGHLIGHT_END);
        } else {
            out.push_str(&text[s..e]);
        }
        pos = e;
    }
    if end < words.len() {
        out.push('…');
    } else {
        // The end of the text: its closing punctuation.
        push_flat(&mut out, text[pos..].trim_end());
    }
    out
}

/// Appends `gap` with every run of whitespace as one space.
fn push_flat(out: &mut String, gap: &str) {
    let mut space = false;
    for c in gap.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() && !out.ends_with(' ') && !out.ends_with('…') {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    if space && !out.is_empty() && !out.ends_with(' ') && !out.ends_with('…') {
        out.push(' ');
    }
}

/// Marks of a summary cut short, as feeds end their excerpts.
const EXCERPT_ENDS: &[&str] = &["[…]", "[...]", "[&hellip;]", "…", "..."];

/// The summary as the search index holds it: nothing when it is an excerpt
/// of the content (its words, up to a closing "[…]", are a stretch of the
/// content's), else all of it. WordPress and most news sites send the first
/// 55 words of an article as its summary beside the article itself:
/// indexed twice, they took a tenth of the index and ranked an article's
/// lead words higher in such feeds than in feeds that send the article
/// alone. A summary of words of its own (a standfirst) is indexed as before,
/// with its weight. Nothing can be found by the summary that cannot be
/// found by the content.
pub fn indexed_summary<'a>(summary: &'a str, content: Option<&str>) -> &'a str {
    let Some(content) = content else { return summary };
    let mut core = summary.trim_end();
    while let Some(rest) = EXCERPT_ENDS.iter().find_map(|end| core.strip_suffix(end)) {
        core = rest.trim_end();
    }
    let core: Vec<&str> = core.split_whitespace().collect();
    if core.is_empty() || words_contain(content, &core) {
        ""
    } else {
        summary
    }
}

/// Whether `text` with its runs of whitespace made single spaces contains
/// the words `core` joined by single spaces, as a string: the first word
/// may end a word of `text` and the last begin one (an excerpt cut short
/// mid-word), the others are whole words; a single word may stand anywhere
/// in one. Without building either string (a parse worker does this for
/// every entry with a summary and a content).
fn words_contain(text: &str, core: &[&str]) -> bool {
    let (Some(first), Some(last)) = (core.first(), core.last()) else { return true };
    if core.len() == 1 {
        return text.split_whitespace().any(|w| w.contains(first));
    }
    let mut words = text.split_whitespace();
    while words.clone().next().is_some() {
        let mut from_here = words.clone();
        words.next();
        if !from_here.next().is_some_and(|w| w.ends_with(first)) {
            continue;
        }
        let middle = &core[1..core.len() - 1];
        if middle.iter().all(|m| from_here.next() == Some(*m)) && from_here.next().is_some_and(|w| w.starts_with(last))
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    /// What [`super::words_contain`] answers, the simple way: both made
    /// strings.
    fn flat_contains(text: &str, core: &[&str]) -> bool {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        flat.contains(&core.join(" "))
    }

    #[test]
    fn words_are_contained_as_the_flattened_strings_are() {
        let text = "The vote came after months of debate,\n 8 to 4, with the\tpatients filling the chamber. debate";
        let words: Vec<&str> = text.split_whitespace().collect();
        // Every stretch of words, cut anywhere in its first and last word,
        // and stretches that are not there.
        let mut cases: Vec<Vec<String>> = Vec::new();
        for i in 0..words.len() {
            for j in i..words.len() {
                let (first, last) = (words[i], words[j]);
                for a in 0..first.len() {
                    for b in 1..=last.len() {
                        if !first.is_char_boundary(a) || !last.is_char_boundary(b) {
                            continue;
                        }
                        let mut stretch: Vec<String> = words[i..=j].iter().map(|w| w.to_string()).collect();
                        if i == j {
                            if a < b {
                                stretch[0] = first[a..b].to_string();
                            } else {
                                continue;
                            }
                        } else {
                            stretch[0] = first[a..].to_string();
                            let n = stretch.len() - 1;
                            stretch[n] = last[..b].to_string();
                        }
                        cases.push(stretch.clone());
                        // The same, a word changed or dropped: mostly not there.
                        let mut changed = stretch.clone();
                        changed[0].push('x');
                        cases.push(changed);
                        if stretch.len() > 2 {
                            let mut dropped = stretch.clone();
                            dropped.remove(1);
                            cases.push(dropped);
                        }
                    }
                }
            }
        }
        cases.push(vec!["chamber.".into(), "debate".into()]);
        cases.push(vec!["debate".into(), "debate".into()]);
        let mut found = 0;
        for case in &cases {
            let core: Vec<&str> = case.iter().map(String::as_str).collect();
            assert_eq!(super::words_contain(text, &core), flat_contains(text, &core), "{core:?}");
            found += usize::from(flat_contains(text, &core));
        }
        assert!(found > 1000 && found < cases.len(), "{found} of {}", cases.len());
        assert!(super::words_contain(text, &[]));
        assert!(!super::words_contain("", &["a"]));
    }

    #[test]
    fn a_summary_that_is_an_excerpt_of_the_content_is_not_indexed_twice() {
        let content = "The vote came after months of debate, 8 to 4, with patients filling the chamber.\n\n\
                       Critics said the bridge repairs could wait.";
        for excerpt in [
            "The vote came after months of debate, 8 to 4, with patients filling the chamber. Critics said the […]",
            "The vote came after months of debate, 8 to 4, with patients filling the chamber. Critics said the bri [...]",
            "The vote came after months of debate, 8 to 4,\n with patients filling the chamber…",
            "Critics said the bridge repairs could wait.",
            content,
            "  […] ",
        ] {
            assert_eq!(indexed_summary(excerpt, Some(content)), "", "{excerpt:?}");
        }
        for own in [
            "A council split over the bridge: what the vote means for patients.",
            "The vote came after months of debate, 9 to 4 […]",
            "The vote came after years of debate […]",
        ] {
            assert_eq!(indexed_summary(own, Some(content)), own);
        }
        assert_eq!(indexed_summary("A summary alone.", None), "A summary alone.");
        assert_eq!(indexed_summary("A summary alone.", Some("")), "A summary alone.");
    }

    use super::*;

    #[test]
    fn plain_words_are_quoted() {
        assert_eq!(fts_query("ML-1").unwrap(), "\"ML-1\"");
        assert_eq!(fts_query("China-Pakistan corridor").unwrap(), "\"China-Pakistan\" \"corridor\"");
        assert_eq!(fts_query("Dr. Baige").unwrap(), "\"Dr.\" \"Baige\"");
        assert_eq!(fts_query("Pakistan's").unwrap(), "\"Pakistan's\"");
    }

    #[test]
    fn operators_phrases_and_prefixes_keep_their_meaning() {
        assert_eq!(fts_query("gwadar OR karachi").unwrap(), "\"gwadar\" OR \"karachi\"");
        assert_eq!(fts_query("cpec NOT gwadar").unwrap(), "\"cpec\" NOT \"gwadar\"");
        assert_eq!(fts_query("\"economic corridor\"").unwrap(), "\"economic corridor\"");
        assert_eq!(fts_query("gwad*").unwrap(), "\"gwad\"*");
    }

    #[test]
    fn hostile_input_never_yields_invalid_syntax() {
        assert_eq!(fts_query("*"), Err(QueryError::Empty));
        assert_eq!(fts_query("  \"  "), Err(QueryError::Empty));
        assert_eq!(fts_query("NOT cpec").unwrap(), "\"NOT\" \"cpec\"");
        assert_eq!(fts_query("cpec OR").unwrap(), "\"cpec\" \"OR\"");
        assert_eq!(fts_query("a OR OR b").unwrap(), "\"a\" \"OR\" \"OR\" \"b\"");
        assert_eq!(fts_query("unbalanced \"quote").unwrap(), "\"unbalanced\" \"quote\"");
        assert_eq!(fts_query("(gwadar)").unwrap(), "\"gwadar\"");
        assert_eq!(fts_query("col:umn ^start").unwrap(), "\"col:umn\" \"^start\"");
    }

    #[test]
    fn cjk_is_spaced_like_the_index() {
        assert_eq!(fts_query("经济走廊").unwrap(), "\"经 济 走 廊\"");
    }

    // See issue 9, "search hangs on big entries or long queries".
    #[test]
    fn huge_queries_are_bounded() {
        assert_eq!(fts_query(&"solar ".repeat(300)), Err(QueryError::TooLong { chars: 1800 }));
        assert_eq!(fts_query(&"solar ".repeat(80)).unwrap(), "\"solar\"");
        assert_eq!(fts_query(&"s* ".repeat(100)), Err(QueryError::ShortPrefix { term: "s".into() }));
        let or50 = (0..50).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" OR ");
        assert_eq!(fts_query(&or50), Err(QueryError::TooManyTerms { terms: 50 }));
        let or32 = (0..32).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" OR ");
        assert!(fts_query(&or32).is_ok());
        assert_eq!(fts_query(&"x".repeat(100_000)), Err(QueryError::TooLong { chars: 100_000 }));
        assert!(fts_query("so*").is_ok());
    }

    #[test]
    fn snippets_highlight_folded_words_in_a_bounded_window() {
        let hl = highlights("gwadar port*");
        let s = snippet("Ships reach the PORTS of Gwádar\n\nat last.", &hl).unwrap();
        assert_eq!(s, "Ships reach the \u{1}PORTS\u{2} of \u{1}Gwádar\u{2} at last.");
        assert_eq!(snippet("nothing here", &hl), None);
        let long = format!("{} gwadar {}", "word ".repeat(100), "tail ".repeat(100));
        let s = snippet(&long, &hl).unwrap();
        assert!(s.starts_with('…') && s.ends_with('…') && s.contains("\u{1}gwadar\u{2}"), "{s}");
        assert_eq!(s.split_whitespace().count(), SNIPPET_WORDS, "{s}");
        // A match past the scanned window is not looked for.
        let huge = format!("{} gwadar", "word ".repeat(SNIPPET_SCAN_BYTES / 5));
        assert_eq!(snippet(&huge, &hl), None);
        assert_eq!(lead("one two\nthree"), "one two three");
    }

    #[test]
    fn snippets_find_cjk_and_skip_not_terms() {
        let s = snippet("中巴经济走廊建设", &highlights("经济")).unwrap();
        assert_eq!(s, "中巴\u{1}经\u{2}\u{1}济\u{2}走廊建设");
        assert_eq!(highlights("a NOT b"), vec![Highlight { word: "a".into(), prefix: false }]);
    }
}
