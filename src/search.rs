//! Turning what a person types into an FTS5 query. Pure functions.
//!
//! Plain words work without knowing FTS5 syntax: every word is quoted, so
//! `ML-1`, `China-Pakistan`, `Dr. Baige`, apostrophes and stray quotes are
//! searched as text. Quoted phrases, `OR`, `NOT`, `AND` and a trailing `*`
//! for prefixes keep their meaning.

use crate::text::spaced_cjk;

/// Why a query cannot be searched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query has no words to search for")]
    Empty,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Term { text: String, prefix: bool },
    Phrase(String),
    Op(&'static str),
}

/// Translates a user query into FTS5 syntax.
///
/// ```
/// use syndic::search::fts_query;
/// assert_eq!(fts_query("ML-1 gwad*").unwrap(), r#""ML-1" "gwad"*"#);
/// assert_eq!(fts_query(r#""Dr. Baige" OR CPEC"#).unwrap(), r#""Dr. Baige" OR "CPEC""#);
/// ```
pub fn fts_query(input: &str) -> Result<String, QueryError> {
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

#[cfg(test)]
mod tests {
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
}
