//! Entry identity and copy recognition. Pure functions: the store supplies
//! candidates and records the verdicts.
//!
//! A story is a connected component of verified "same article" pairs:
//!
//! 1. [`reduce`] turns an entry's plain text into what identifies the
//!    article: without the attribution line and what follows it (author bio,
//!    comments), without stock lines ("Leave a Reply") and a trailing "[…]"
//!    or "Read more", each paragraph as word hashes. [`Reduced::prepare`]
//!    then drops the paragraphs its feed repeats on posts that are different
//!    articles (learnt boilerplate) and hashes the word 5-shingles.
//! 2. The store looks the entry up by index keys that any two versions of
//!    one article share ([`Prepared::index_keys`]: sampled shingles of the
//!    whole text and of the lead) and by exact evidence (same link, same
//!    text, a feed naming the other's link as its source). Every lookup is
//!    symmetric, so which entry arrived first does not matter.
//! 3. [`verify`] decides on the two [`Fingerprint`]s whether two entries
//!    carry the same article and how ([`PairKind`]).
//! 4. [`cluster::cluster`] turns the verified pairs into stories, guarding
//!    against chaining (a roundup carrying several stories does not join
//!    them), and [`choose_original`] picks each story's original by evidence.

use std::sync::LazyLock;

use regex::Regex;
use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64_with_seed};

use crate::model::EntryKey;
use crate::text::comparable_words;

pub mod cluster;
mod rice;

/// Seed of every stored hash. Changing it invalidates stored fingerprints,
/// so it never changes.
pub const HASH_SEED: u64 = 0x5359_4e44_4943_0001;

/// Version of the fingerprints, thresholds and clustering below. When it
/// changes, the next `sync` rebuilds every fingerprint and story.
pub const DEDUP_VERSION: u32 = 3;

/// Texts shorter than this many words are not compared for exact copies:
/// short summaries ("Read more", a one-line teaser) are too often equal
/// between unrelated items.
pub const MIN_WORDS_FOR_TEXT_MATCH: usize = 25;

/// Words per shingle. Five words are specific enough that unrelated
/// articles on the same event share few shingles (independent reports of
/// one event share names and figures, but few 5-word runs), and short
/// enough that a lightly edited sentence still keeps most of its shingles.
pub const SHINGLE_WORDS: usize = 5;

/// Words of an article's lead. WordPress excerpts carry the first 55 words
/// and Atom summaries about 40: comparing leads lets them find the full
/// article, whose whole text they share little of (a 55-word excerpt of an
/// 800-word article has Jaccard ≈ 0.06).
pub const LEAD_WORDS: usize = 60;

/// Words of the lead that are looked up in the index: an excerpt and its
/// full article share their first words.
pub const LEAD_INDEX_WORDS: usize = 30;

/// Texts with fewer shingles than this are never near-duplicates: a few
/// words occur by chance inside unrelated articles.
pub const MIN_SHINGLES: usize = 16;

/// A fingerprint keeps every shingle of a text with at most this many...
pub const SKETCH_FULL_MAX: usize = 256;

/// ...and of a longer text one shingle in this many: those whose hash is a
/// multiple of it, the same ones in every text, so that what two texts
/// share stays shared in their samples. An 800-word article keeps ~200
/// samples, which estimate a containment of 0.7 to within ±0.06; texts up
/// to ~250 words (briefs, excerpts, roundup items) are compared exactly.
pub const SKETCH_RATE: u32 = 4;

/// One lead shingle in this many is an index key (by hash, as above):
/// an excerpt shares all ~13 keys of its article's first 30 words.
pub const LEAD_KEY_RATE: u64 = 2;

/// One shingle in this many of the whole text is an index key. Two versions
/// of an 800-word article share ~20 keys; a 100-word item carried inside a
/// roundup shares ~3 with it (a run of 40 shared shingles has at least one
/// key with probability 0.72, a run of 100 with 0.96).
pub const BODY_KEY_RATE: u64 = 32;

/// Lead keys two entries must share to be compared through the lead alone
/// (one or two are chance: a stock opening phrase).
pub const LEAD_MIN_SHARED_KEYS: usize = 3;

/// Two texts are the same text when what they share is at least this share
/// of each, so of the longer too. Such a pair cannot chain stories: a text
/// that is 70% of A and 70% of B makes A and B share 40% of it. A copy with a
/// rewritten headline, an edited lead or a trimmed end keeps ~0.9;
/// independent reports of one event share < 0.2.
pub const SAME_COVER: f64 = 0.7;

/// Versions of comparable length (the shorter at least [`PART_RATIO`] of the
/// longer) are one article when this share of the shorter is in the longer.
/// A wire story re-edited as it develops (paragraphs added on top, the end
/// trimmed, a local paragraph, an updated figure) keeps 0.6 to 0.9; two
/// reports of one event quoting the same 80-word statement share ~0.15.
pub const VERSION_CONTAINMENT: f64 = 0.6;

/// Below this length ratio the shorter text is a part of the longer: a brief
/// of the full version, an item carried in a roundup, an excerpt.
pub const PART_RATIO: f64 = 0.5;

/// A part must be almost entirely in the longer text (a brief cut from the
/// full version keeps 0.8 to 1.0, a roundup carries its items verbatim)...
pub const PART_CONTAINMENT: f64 = 0.75;

/// ...and share at least this many shingles with it (~35 words verbatim):
/// a short quote or stock sentence occurs inside unrelated articles.
pub const PART_MIN_SHARED: usize = 30;

/// A text cut short ("[…]") is only ever an excerpt: found inside a longer
/// text but not at its start, it is stock sentences or a background
/// paragraph that another article reuses, not a part of it.
///
/// An excerpt is a short text almost all of whose words are in the longer
/// text...
pub const EXCERPT_CONTAINMENT: f64 = 0.8;

/// ...at its start: this share of the shorter lead's shingles is in the
/// longer text's lead...
pub const LEAD_CONTAINMENT: f64 = 0.7;

/// ...and either the titles agree (share of the shorter title's words in
/// the longer one; "Repost: T" and "T | Site" keep 1.0)...
pub const TITLE_SIMILARITY: f64 = 0.6;

/// ...or the excerpt is long enough to be specific (aggregators carry 40 to
/// 55 words) and nearly all of its lead is the other's lead: an excerpt under
/// a rewritten headline.
pub const EXCERPT_SPECIFIC_WORDS: usize = 30;
pub const EXCERPT_SPECIFIC_LEAD: f64 = 0.9;

/// Figures: the share of the figures of the text with fewer figures found
/// in the other. Templated reports ("Gold price in Lahore today") repeat
/// their sentences with other figures: most of their figures differ (a few,
/// like "24-karat" or the year, stay). A wire story updated with a new toll
/// changes one or two of a dozen. Below this share the pair is refused...
pub const NUMBERS_KEPT_MIN: f64 = 0.5;

/// ...and below this one it needs [`NUMBERS_OVERRIDE`] containment: the rest
/// of the text must be the same article almost word for word.
pub const NUMBERS_KEPT: f64 = 0.75;
pub const NUMBERS_OVERRIDE: f64 = 0.8;

/// A short text is mostly its figures when it is a templated report ("Air
/// quality in Lakeview on 29 May: AQI 177, PM2.5 …"): two such reports of one
/// day in two feeds can share the date and the index and differ in the rest.
/// Below this many words, any figure in ten that differs refuses the pair,
/// unless the texts are the same almost word for word.
pub const NUMBERS_STRICT_WORDS: usize = 150;
pub const NUMBERS_KEPT_SHORT: f64 = 0.9;
pub const NUMBERS_OVERRIDE_SHORT: f64 = 0.9;

/// A paragraph is a feed's boilerplate (a footer, an author bio, a fixed
/// column intro) once it recurs in this many entries of the feed that are
/// different articles apart from it. Versions of one wire story that a site
/// runs under several URLs share most paragraphs, but they are one article,
/// so their paragraphs stay.
pub const BOILERPLATE_MIN_ENTRIES: i64 = 3;

/// Paragraphs shorter than this many words are not counted as boilerplate
/// candidates (they are dropped by the stock-line rules or are harmless).
pub const BOILERPLATE_MIN_WORDS: usize = 3;

/// Entries remembered per paragraph to decide whether it is boilerplate.
pub const BOILERPLATE_SAMPLES: usize = 8;

/// The stable identity of an entry within its feed: the feed's own id (RSS
/// guid, Atom id, JSON Feed id), else the canonical link, else a hash of the
/// title and text.
pub fn entry_key(guid: Option<&str>, canonical_link: Option<&str>, title: &str, text: &str) -> EntryKey {
    if let Some(g) = guid.map(str::trim).filter(|g| !g.is_empty()) {
        return EntryKey(format!("guid:{g}"));
    }
    if let Some(l) = canonical_link {
        return EntryKey(format!("link:{l}"));
    }
    let mut bytes = Vec::with_capacity(title.len() + text.len() + 1);
    bytes.extend_from_slice(title.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(text.as_bytes());
    EntryKey(format!("hash:{:032x}", xxh3_128_with_seed(&bytes, HASH_SEED)))
}

/// Hash of the comparable words of `text` (see [`comparable_words`]); two
/// entries with the same hash carry the same text up to case, width,
/// punctuation and whitespace. `None` for texts too short to identify an
/// article ([`MIN_WORDS_FOR_TEXT_MATCH`]).
pub fn text_hash(text: &str) -> Option<i64> {
    text_hash_of_words(&word_hashes(text).0)
}

/// [`text_hash`] of the text whose word hashes are `words`.
fn text_hash_of_words(words: &[u64]) -> Option<i64> {
    (words.len() >= MIN_WORDS_FOR_TEXT_MATCH).then(|| hash_words(words) as i64)
}

/// The hashes of the comparable words of `text` (see [`comparable_words`]),
/// and of those among them that contain a digit (its figures).
pub fn word_hashes(text: &str) -> (Vec<u64>, Vec<u64>) {
    let normalised = match unicode_normalization::is_nfkc_quick(text.chars()) {
        unicode_normalization::IsNormalized::Yes => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(unicode_normalization::UnicodeNormalization::nfkc(text).collect::<String>()),
    };
    let folded = crate::text::lowercase(&normalised);
    let mut words = Vec::new();
    let mut numbers = Vec::new();
    crate::text::for_each_word(&folded, |w| {
        let h = xxh3_64_with_seed(w.as_bytes(), HASH_SEED);
        if w.bytes().any(|b| b.is_ascii_digit()) {
            numbers.push(h);
        }
        words.push(h);
    });
    (words, numbers)
}

/// One hash for a run of word hashes (a shingle, a paragraph, a text).
fn hash_words(words: &[u64]) -> u64 {
    let mut buf = [0u8; 8 * SHINGLE_WORDS];
    if words.len() <= SHINGLE_WORDS {
        for (chunk, w) in buf.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        return xxh3_64_with_seed(&buf[..8 * words.len()], HASH_SEED);
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    xxh3_64_with_seed(&bytes, HASH_SEED)
}

/// The paragraphs of a plain text (as produced by `text::html_to_text`).
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    crate::text::split_paragraphs(text).map(str::trim).filter(|p| !p.is_empty())
}

/// Hash of a paragraph for boilerplate counting; `None` for paragraphs too
/// short to count.
pub fn paragraph_hash(paragraph: &str) -> Option<i64> {
    paragraph_key(&word_hashes(paragraph).0)
}

/// A paragraph's key as versions before migration 016 filed it (all 64
/// bits of the hash), for the migration's tests.
#[cfg(test)]
pub(crate) fn paragraph_hash_before_016(paragraph: &str) -> Option<i64> {
    let words = word_hashes(paragraph).0;
    (words.len() >= BOILERPLATE_MIN_WORDS).then(|| hash_words(&words) as i64)
}

/// The boilerplate key of a paragraph of these words: the upper 32 bits of
/// their hash (SQLite stores it in 4 bytes, not 8). Two paragraphs share
/// one by chance once in 4 billion pairs: one that shares it with a footer
/// (of any feed) is left out of its entry's comparison text, as the footer
/// is; two of one feed count as one paragraph.
fn paragraph_key(words: &[u64]) -> Option<i64> {
    (words.len() >= BOILERPLATE_MIN_WORDS).then(|| (hash_words(words) as i64) >> 32)
}

/// The boilerplate-countable paragraph hashes of a text, each once.
pub fn paragraph_hashes(text: &str) -> Vec<i64> {
    let mut hashes: Vec<i64> = paragraphs(text).filter_map(paragraph_hash).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

static ATTRIBUTION: LazyLock<regex_automata::meta::Regex> = LazyLock::new(|| {
    // Each alternative ends the paragraph; it starts the paragraph or a new
    // sentence within it (WordPress appends "The post … appeared first on
    // …" to the excerpt itself). The credited source is group `src<N>`.
    // The free spans are counted in characters, each matched as its bytes
    // (`ANY`: a byte that starts a character, other than a line break, and
    // the bytes that continue it): as Unicode classes, their hundreds of
    // repetitions made an automaton whose matching caches took tens of
    // megabytes per thread. Counted in bytes, a name or title in another
    // script was held to a half or a third of the length of a Latin one.
    // The text is UTF-8, so a captured span is whole characters.
    let alternatives = [
        r"(?:this (?:article|story|post|piece) (?:was |is )?)?(?:originally|first) (?:published|appeared|posted)(?: (?:at|on|in|by))? SRC",
        r"the post ANY{1,300}? appeared first on SRC",
        r"this (?:article|story|post|piece) (?:first )?appeared (?:first )?(?:at|on|in) SRC",
        r"this (?:article|story|post|piece) (?:is|was|has been) republished from SRC under ANY{1,200}",
        r"(?:re-?published|reprinted|reproduced) (?:here )?(?:with (?:kind )?permission )?(?:from|of|by|courtesy of) SRC",
        r"(?:source|courtesy|credit)\s*:\s*SRC",
    ];
    let pattern = alternatives
        .iter()
        .enumerate()
        .map(|(i, a)| {
            a.replace("SRC", &format!(r"(?P<src{i}>ANY{{2,100}}?)")).replace("ANY", r"(?-u:[^\n\x80-\xBF][\x80-\xBF]*)")
        })
        .collect::<Vec<_>>()
        .join("|");
    regex_automata::meta::Regex::builder()
        // `ANY` is written with bytes (a pattern that could match invalid UTF-8).
        .syntax(regex_automata::util::syntax::Config::new().utf8(false))
        .configure(
            regex_automata::meta::Regex::config()
                .utf8_empty(false)
                // A megabyte of lazy DFA per search cache is enough for the
                // paragraphs that pass the keyword filter.
                .hybrid_cache_capacity(1 << 20),
        )
        .build(&format!(r"(?i)(?:^|[.!?…\]»”)]\s+)(?:{pattern})[\s.]*$"))
        .expect("the attribution pattern is valid")
});

/// Search caches of [`ATTRIBUTION`], reused: as many as searches ran at
/// once (a sync parses one feed per core), where the regex crate keeps one
/// per thread that ever searched, each of a few megabytes.
static ATTRIBUTION_CACHES: std::sync::Mutex<Vec<regex_automata::meta::Cache>> = std::sync::Mutex::new(Vec::new());

/// The attribution match in `paragraph`: the whole match's start and the
/// credited source's byte range.
fn attribution_match(paragraph: &str) -> Option<(usize, std::ops::Range<usize>)> {
    let re = &*ATTRIBUTION;
    let taken = ATTRIBUTION_CACHES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
    let mut cache = taken.unwrap_or_else(|| re.create_cache());
    let mut caps = re.create_captures();
    re.search_captures_with(&mut cache, &regex_automata::Input::new(paragraph.as_bytes()), &mut caps);
    ATTRIBUTION_CACHES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(cache);
    let whole = caps.get_match()?;
    let src = (0..8).find_map(|i| caps.get_group_by_name(&format!("src{i}")))?;
    Some((whole.start(), src.range()))
}

/// Every attribution line contains one of these (lower case): a phrase of
/// one of [`ATTRIBUTION`]'s alternatives, in order: "originally/first
/// published/appeared/posted", "the post … appeared first on", "this
/// article (first) appeared (first) at/on/in", "republished from",
/// "republished/reprinted/reproduced". The sixth, "source/courtesy/credit:",
/// is [`ATTRIBUTION_LABELS`].
const ATTRIBUTION_PHRASES: &[&str] = &[
    "originally published",
    "originally appeared",
    "originally posted",
    "first published",
    "first appeared",
    "first posted",
    "appeared first ",
    "appeared at ",
    "appeared on ",
    "appeared in ",
    "republished",
    "re-published",
    "reprinted",
    "re-printed",
    "reproduced",
    "re-produced",
];

/// Words that credit a source when a colon follows them ("Source: APP").
const ATTRIBUTION_LABELS: &[&str] = &["source", "courtesy", "credit"];

/// Returns true if and only if `lower` (lower-cased text) contains one of
/// the phrases every attribution line has; many more paragraphs mention
/// sources, or something published, than credit one.
fn may_credit_a_source(lower: &str) -> bool {
    ATTRIBUTION_PHRASES.iter().any(|p| lower.contains(p))
        || ATTRIBUTION_LABELS.iter().any(|label| {
            lower.match_indices(label).any(|(i, _)| lower[i + label.len()..].trim_start().starts_with(':'))
        })
}

/// An attribution's key word lies within this many characters of the end of
/// its paragraph (trailing spaces and dots aside): the farthest is that of
/// "…republished from SRC under ANY{1,200}", 322 characters at most (the
/// credited source is at most 100), a run of white space counted as one
/// character ([`attribution_tail`]).
const ATTRIBUTION_REACH_CHARS: usize = 400;

/// The end of `body` where an attribution's key words can be, as
/// [`may_credit_a_source`] looks at it: its last [`ATTRIBUTION_REACH_CHARS`]
/// characters, a run of white space counted (and kept) as one (the
/// pattern's `\s*` has no bound), in lower case, with the long s folded to
/// s as the pattern's case-insensitive matching folds it (`ſ` is its own
/// lower case).
fn attribution_tail(body: &str) -> String {
    // Where those characters start, and whether a run of white space is among them.
    let (mut kept, mut start, mut after_space, mut runs) = (0, body.len(), false, false);
    for (i, c) in body.char_indices().rev() {
        let space = c.is_whitespace();
        start = i;
        if space && after_space {
            runs = true;
            continue;
        }
        after_space = space;
        kept += 1;
        if kept == ATTRIBUTION_REACH_CHARS {
            break;
        }
    }
    let mut tail = body[start..].to_lowercase();
    if tail.contains('\u{17f}') {
        tail = tail.replace('\u{17f}', "s");
    }
    if runs {
        let mut after_space = false;
        tail.retain(|c| {
            let space = c.is_whitespace();
            let keep = !(space && after_space);
            after_space = space;
            keep
        });
    }
    tail
}

/// Attribution lines are looked for in the first and last paragraphs only.
const ATTRIBUTION_HEAD: usize = 2;
const ATTRIBUTION_TAIL: usize = 10;

/// Stock lines are short.
const STOCK_LINE_MAX_CHARS: usize = 120;

static STOCK_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:leave a (?:reply|comment)|share this:?|like this:?|related(?: posts| articles)?:?|loading\.*|click to share.*|share on (?:facebook|twitter|x|whatsapp|linkedin).*|your email address will not be published.*|required fields are marked.*|(?:tags|filed under|categories)\s*:.*)$",
    )
    .expect("the stock line pattern is valid")
});

/// Endings that mark a text as cut short, in lower case.
const TRAILERS: &[&str] = &[
    "[…]",
    "[...]",
    "[ … ]",
    "[ ... ]",
    "…",
    "...",
    "read more",
    "continue reading",
    "read the full story",
    "read the full article",
    "read full article",
    "read the rest",
];

/// Removes "[…]", "Read more »", "Continue reading →" and the like from the
/// end of `text`; returns true if there was one.
fn strip_trailer(text: &mut String) -> bool {
    let mut found = false;
    loop {
        let trimmed = text.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '»' | '→' | '›' | '>' | ':'));
        let lower = trimmed.to_lowercase();
        match TRAILERS.iter().find(|t| lower.ends_with(*t)) {
            // Lower-casing can change byte lengths: cut by characters.
            Some(t) => {
                let keep = trimmed.chars().count() - t.chars().count();
                let cut = trimmed.char_indices().nth(keep).map_or(trimmed.len(), |(i, _)| i);
                text.truncate(cut);
                found = true;
            }
            None => {
                let len = trimmed.len();
                text.truncate(len);
                return found;
            }
        }
    }
}

/// Letters every phrase of [`ATTRIBUTION_PHRASES`] and every label of
/// [`ATTRIBUTION_LABELS`] contains one of, in ASCII.
const ATTRIBUTION_ANCHORS: &[&str] =
    &["publish", "appeared", "posted", "print", "produc", "source", "courtesy", "credit"];

/// [`ATTRIBUTION_ANCHORS`], matched without regard to ASCII case.
static ANCHORS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(ATTRIBUTION_ANCHORS)
        .expect("the attribution anchors are valid")
});

/// Returns false only if [`may_credit_a_source`] would find nothing near
/// the end of `body`: none of the [`ATTRIBUTION_ANCHORS`] is anywhere in
/// it, ASCII letters in either case. Lower-casing makes ASCII letters of
/// two other characters only, neither of which can complete an anchor: the
/// Kelvin sign (`k`, in none) and `İ` (`i` followed by a combining dot); a
/// long s, which [`attribution_tail`] folds to `s`, makes this answer true.
/// One pass over the bytes, where the tail costs a lower-cased copy and
/// sixteen substring searches (a tenth of a parse worker's time).
fn may_have_attribution_words(body: &str) -> bool {
    ANCHORS.is_match(body) || body.contains('\u{17f}')
}

/// Finds an attribution at the end of a paragraph: the credited source and
/// the byte offset where the attribution sentence starts.
pub fn find_attribution(paragraph: &str) -> Option<(String, usize)> {
    // The regex is costly (its automaton is built as it runs, and paragraphs
    // that merely mention "sources" or "published" kept rebuilding it): look
    // for its key words first, where they can be, near the end.
    let body = paragraph.trim_end_matches(|c: char| c.is_whitespace() || c == '.');
    if !may_have_attribution_words(body) || !may_credit_a_source(&attribution_tail(body)) {
        return None;
    }
    let (whole_start, src_range) = attribution_match(paragraph)?;
    let src_start = src_range.start;
    // Whole UTF-8 (see ATTRIBUTION); were it not, no attribution.
    let src = paragraph.get(src_range)?;
    // The match may start with the end of the previous sentence.
    let start = paragraph
        .get(whole_start..src_start)?
        .char_indices()
        .find(|(_, c)| c.is_alphabetic())
        .map_or(whole_start, |(i, _)| whole_start + i);
    let name = src.trim().trim_end_matches(['.', ',', ';', ':', '!']).trim();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.split_whitespace().count() > 12 {
        return None;
    }
    Some((name, start))
}
/// An entry's text reduced to its article, paragraph by paragraph, before
/// the feed's boilerplate is known: the costly part (word segmentation and
/// hashing), computed where the feed is parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reduced {
    /// The source credited by an attribution line, if any.
    pub attribution: Option<String>,
    /// The text looked cut short ("[…]", "Read more").
    pub truncated: bool,
    pub paragraphs: Vec<ReducedParagraph>,
    /// [`text_hash`] of the whole text (before reduction), from the same
    /// word hashes.
    pub text_hash: Option<i64>,
}

/// One paragraph's word hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReducedParagraph {
    /// The boilerplate key of the paragraph (`None` when too short to be one).
    pub key: Option<i64>,
    pub words: Vec<u64>,
    pub numbers: Vec<u64>,
}

/// Reduces an entry's plain text for comparison (see the module doc).
pub fn reduce(text: &str) -> Reduced {
    // Every paragraph's words are hashed once: for the hash of the whole
    // text (words never span paragraphs), and for each paragraph the
    // reduction leaves as it was.
    let mut hashed: Vec<Option<(Vec<u64>, Vec<u64>)>> = paragraphs(text).map(|p| Some(word_hashes(p))).collect();
    let all: Vec<u64> = hashed.iter().flatten().flat_map(|(words, _)| words.iter().copied()).collect();
    let text_hash = text_hash_of_words(&all);
    drop(all);
    // Each paragraph with the index of its hashes while it is unchanged.
    let mut paras: Vec<(String, Option<usize>)> =
        paragraphs(text).enumerate().map(|(i, p)| (p.to_owned(), Some(i))).collect();
    let mut attribution = None;
    // The last attribution line wins; what follows it in the second half of
    // the text (bio, comments, the copying site's footer) goes with it.
    let n = paras.len();
    if let Some((i, (name, start))) = paras
        .iter()
        .enumerate()
        .rev()
        .filter(|(i, _)| *i < ATTRIBUTION_HEAD || *i + ATTRIBUTION_TAIL >= n)
        .find_map(|(i, (p, _))| find_attribution(p).map(|a| (i, a)))
    {
        attribution = Some(name);
        let head = paras[i].0[..start].trim().to_owned();
        if i * 2 >= paras.len().saturating_sub(1) {
            paras.truncate(i);
        } else {
            paras.remove(i);
        }
        if !head.is_empty() {
            paras.insert(i.min(paras.len()), (head, None));
        }
    }
    paras.retain(|(p, _)| !(p.len() <= STOCK_LINE_MAX_CHARS && STOCK_LINE.is_match(p)));
    let truncated = paras.last_mut().is_some_and(|(p, hashes)| {
        let cut = strip_trailer(p);
        if cut {
            *hashes = None;
        }
        cut
    });
    let paragraphs = paras
        .iter()
        .map(|(p, i)| {
            let (words, numbers) = i.and_then(|i| hashed[i].take()).unwrap_or_else(|| word_hashes(p));
            let key = paragraph_key(&words);
            ReducedParagraph { key, words, numbers }
        })
        .filter(|p| !p.words.is_empty())
        .collect();
    Reduced { attribution, truncated, paragraphs, text_hash }
}

impl Reduced {
    /// The boilerplate keys of its paragraphs, each once, sorted.
    pub fn paragraph_keys(&self) -> Vec<i64> {
        let mut keys: Vec<i64> = self.paragraphs.iter().filter_map(|p| p.key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The comparison text without the paragraphs `is_boilerplate` names.
    pub fn prepare(&self, mut is_boilerplate: impl FnMut(i64) -> bool) -> Prepared {
        let mut words: Vec<u64> = Vec::new();
        let mut numbers: Vec<u64> = Vec::new();
        let mut dropped = Vec::new();
        for p in &self.paragraphs {
            if p.key.is_some_and(&mut is_boilerplate) {
                dropped.extend(p.key);
                continue;
            }
            words.extend_from_slice(&p.words);
            numbers.extend_from_slice(&p.numbers);
        }
        let shingles = shingle_set(&words);
        let lead = shingle_set(&words[..words.len().min(LEAD_WORDS)]);
        let lead_index = shingle_list(&words[..words.len().min(LEAD_INDEX_WORDS)]);
        numbers.sort_unstable();
        numbers.dedup();
        dropped.sort_unstable();
        dropped.dedup();
        Prepared {
            attribution: self.attribution.clone(),
            words: words.len(),
            shingles,
            lead,
            lead_index,
            numbers,
            truncated: self.truncated,
            dropped,
        }
    }
}

/// An entry's comparison data: its reduced text and, for the boilerplate
/// known when it was computed, the comparison text, fingerprint and index
/// keys. Computed where the feed is parsed, off the single writer, which
/// recomputes it only if boilerplate learnt since touches one of its
/// paragraphs (see `store::dedup::process`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    pub reduced: Reduced,
    pub prepared: Prepared,
    pub fingerprint: Fingerprint,
    /// [`Prepared::index_keys`].
    pub keys: Vec<i64>,
    /// The lead keys among `keys`, sorted.
    pub lead_keys: Vec<i64>,
    /// See [`Comparison::lighten`].
    light: bool,
}

impl Comparison {
    /// The comparison data of `reduced` without the paragraphs `is_boilerplate` names.
    pub fn new(reduced: Reduced, is_boilerplate: impl FnMut(i64) -> bool) -> Comparison {
        let prepared = reduced.prepare(is_boilerplate);
        let fingerprint = prepared.fingerprint();
        let keys = prepared.index_keys();
        let mut lead_keys: Vec<i64> = keys.iter().copied().filter(|k| prepared.is_lead_key(*k)).collect();
        lead_keys.sort_unstable();
        Comparison { reduced, prepared, fingerprint, keys, lead_keys, light: false }
    }

    /// `reduced` alone, its comparison data to be computed once the
    /// boilerplate is known (`store::dedup::comparison`).
    pub fn unprepared(reduced: Reduced) -> Comparison {
        Comparison { reduced, ..Comparison::default() }
    }

    /// Returns true if and only if `key` is one of the lead keys.
    pub fn is_lead_key(&self, key: i64) -> bool {
        self.lead_keys.binary_search(&key).is_ok()
    }

    /// Drops what only served to compute the fingerprint and keys (the
    /// words and shingles, most of its size), keeping the paragraph keys,
    /// the attribution and the counts: what a parse worker hands the
    /// writer, which recomputes from the entry's text in the rare case it
    /// must ([`Comparison::is_light`]).
    pub fn lighten(mut self) -> Comparison {
        for p in &mut self.reduced.paragraphs {
            p.words = Vec::new();
            p.numbers = Vec::new();
        }
        self.prepared.shingles = Vec::new();
        self.prepared.lead = Vec::new();
        self.prepared.lead_index = Vec::new();
        self.prepared.numbers = Vec::new();
        self.light = true;
        self
    }

    /// Returns true if and only if [`Comparison::lighten`] dropped its words:
    /// it cannot be recomputed from itself.
    pub fn is_light(&self) -> bool {
        self.light
    }

    /// Returns true if and only if its comparison text left out other
    /// paragraphs than the boilerplate known now: it kept one of `learnt`
    /// (found to be boilerplate after it was computed), or left out one that
    /// is neither in `learnt` nor boilerplate in the store (`in_store`; a
    /// parse worker's guess, see `sync::prepare`). The paragraphs it left
    /// out were boilerplate when it was computed or guessed so; boilerplate
    /// is never forgotten during a sync, so nothing else can differ.
    pub fn is_stale<E>(
        &self,
        learnt: &std::collections::HashSet<i64>,
        mut in_store: impl FnMut(i64) -> Result<bool, E>,
    ) -> Result<bool, E> {
        for k in self.reduced.paragraphs.iter().filter_map(|p| p.key) {
            let left_out = self.prepared.dropped.binary_search(&k).is_ok();
            if left_out != learnt.contains(&k) && !(left_out && in_store(k)?) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Reduces and prepares in one go (see [`reduce`], [`Reduced::prepare`]).
pub fn prepare(text: &str, is_boilerplate: impl FnMut(i64) -> bool) -> Prepared {
    reduce(text).prepare(is_boilerplate)
}

/// An entry reduced for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prepared {
    /// The source credited by an attribution line, if any.
    pub attribution: Option<String>,
    /// Words left for comparison.
    pub words: usize,
    /// Word shingle hashes, sorted, each once.
    pub shingles: Vec<u64>,
    /// Shingles of the first [`LEAD_WORDS`] words, sorted, each once.
    pub lead: Vec<u64>,
    /// Shingles of the first [`LEAD_INDEX_WORDS`] words, in text order.
    pub lead_index: Vec<u64>,
    /// Numbers in the text (hashed), sorted, each once.
    pub numbers: Vec<u64>,
    /// The text looked cut short ("[…]", "Read more").
    pub truncated: bool,
    /// Boilerplate keys of the paragraphs left out, sorted.
    pub dropped: Vec<i64>,
}

/// Index key spaces: a lead key and a body key of the same shingle differ.
const LEAD_KEY_TAG: u64 = 0x4c45_4144_0000_0001;
const BODY_KEY_TAG: u64 = 0x424f_4459_0000_0002;

/// The index key of shingle hash `h` in the key space `tag`.
fn index_key(h: u64, tag: u64) -> i64 {
    i64::from(((h ^ tag) >> 32) as u32 as i32)
}

/// Index keys as stored with a fingerprint: 4 bytes each, little-endian.
pub fn encode_keys(keys: &[i64]) -> Vec<u8> {
    keys.iter().flat_map(|k| (*k as i32).to_le_bytes()).collect()
}

/// The keys [`encode_keys`] wrote (a trailing partial key is ignored).
pub fn decode_keys(bytes: &[u8]) -> Vec<i64> {
    bytes.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
}

/// The bits of a shingle hash kept in a fingerprint: 24 (bits 32 to 55;
/// the lowest two decide the sample, see [`SKETCH_RATE`]). Two texts of
/// 256 sampled shingles each share a value by chance 0.4% of the time,
/// one shingle of hundreds: no verdict moves. Stored in 3 bytes.
fn short_hash(h: u64) -> u32 {
    (h >> 32) as u32 & SHORT_HASH_MASK
}

/// The bits [`short_hash`] keeps.
const SHORT_HASH_MASK: u32 = 0x00ff_ffff;

impl Prepared {
    /// Returns true if and only if there is enough text to compare.
    pub fn is_comparable(&self) -> bool {
        self.shingles.len() >= MIN_SHINGLES
    }

    /// The keys the entry is filed under for candidate lookup: sampled
    /// shingles of its lead and of its whole text (see [`LEAD_KEY_RATE`],
    /// [`BODY_KEY_RATE`]). Content-defined, so two texts sharing a run of
    /// words share the keys of that run whichever arrives first.
    /// A key is the upper 32 bits of the tagged hash (SQLite stores it in
    /// 4 bytes); sampling looks at the lower bits.
    pub fn index_keys(&self) -> Vec<i64> {
        let mut keys: Vec<i64> = Vec::new();
        if self.lead_index.len() >= LEAD_MIN_SHARED_KEYS {
            keys.extend(
                self.lead_index.iter().filter(|h| *h % LEAD_KEY_RATE == 0).map(|h| index_key(*h, LEAD_KEY_TAG)),
            );
        }
        if self.is_comparable() {
            keys.extend(self.shingles.iter().filter(|h| *h % BODY_KEY_RATE == 0).map(|h| index_key(*h, BODY_KEY_TAG)));
        }
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Returns true if and only if `key` is one of the lead keys.
    pub fn is_lead_key(&self, key: i64) -> bool {
        self.lead_index.iter().any(|h| index_key(*h, LEAD_KEY_TAG) == key)
    }

    /// What is kept of the text for verification.
    pub fn fingerprint(&self) -> Fingerprint {
        let full = self.shingles.len() <= SKETCH_FULL_MAX;
        let mut sample: Vec<u32> =
            self.shingles.iter().map(|h| short_hash(*h)).filter(|s| full || s % SKETCH_RATE == 0).collect();
        sample.sort_unstable();
        sample.dedup();
        let to32 = |v: &[u64]| {
            let mut out: Vec<u32> = v.iter().map(|h| short_hash(*h)).collect();
            out.sort_unstable();
            out.dedup();
            out
        };
        Fingerprint {
            shingles: self.shingles.len() as u32,
            full,
            sample,
            lead: to32(&self.lead),
            numbers: to32(&self.numbers),
            words: self.words as u32,
            truncated: self.truncated,
        }
    }
}

/// What is stored of an entry's comparison text: the shingles (all of a
/// short text, a content-defined sample of a long one), the lead's, the
/// figures'. Compact: ~550 bytes for an 800-word article.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fingerprint {
    /// Distinct shingles of the text.
    pub shingles: u32,
    /// `sample` holds every shingle (else one in [`SKETCH_RATE`]).
    pub full: bool,
    pub sample: Vec<u32>,
    pub lead: Vec<u32>,
    pub numbers: Vec<u32>,
    pub words: u32,
    pub truncated: bool,
}

/// Fingerprints [`Fingerprint::decode_shared`] keeps in each generation:
/// two of them hold about 3 MB (a long text's fingerprint is about 1.5 KB
/// decoded).
const DECODED_KEPT: usize = 1024;

/// Values (4 bytes each) a generation of [`Decoded`] holds at most: a
/// fingerprint grows with its text (a quarter of its shingles past 256),
/// so that 1,024 of articles of 10,000 words would take 20 MB.
const DECODED_VALUES_KEPT: usize = 256 * 1024;

/// The fingerprints decoded last, by the hash of their bytes: the current
/// generation and the one before, whose fingerprints move to the current
/// when read again.
#[derive(Default)]
struct Decoded {
    current: std::collections::HashMap<u128, std::rc::Rc<Fingerprint>>,
    /// The values the current generation's fingerprints hold.
    current_values: usize,
    previous: std::collections::HashMap<u128, std::rc::Rc<Fingerprint>>,
}

/// The stored form of fingerprints filed before values were cut to 24 bits
/// (4-byte fields and values); read, their values cut on reading.
const FINGERPRINT_FORMAT_32: u8 = 1;
/// The stored form of fingerprints filed before their values were
/// Rice-coded: LEB128 counts, 3-byte values; read as they are.
const FINGERPRINT_FORMAT_24: u8 = 2;
/// The stored form: LEB128 counts, then the sorted values as Rice-coded
/// gaps ([`rice`]).
const FINGERPRINT_FORMAT: u8 = 3;
/// Flag: the sample's values are all multiples of [`SKETCH_RATE`] and are
/// stored divided by it.
const FLAG_SAMPLE_DIVIDED: u8 = 4;
/// The range of a fingerprint's values ([`short_hash`]).
const SHORT_HASH_RANGE: u32 = SHORT_HASH_MASK + 1;

/// A fingerprint's list as the set it holds: as it is when sorted, each
/// value once and in range (as computed and as read), else sorted anew.
fn as_set(list: &[u32]) -> std::borrow::Cow<'_, [u32]> {
    if list.windows(2).all(|w| w[0] < w[1]) && list.iter().all(|v| *v < SHORT_HASH_RANGE) {
        std::borrow::Cow::Borrowed(list)
    } else {
        let mut v: Vec<u32> = list.iter().map(|v| v & SHORT_HASH_MASK).collect();
        v.sort_unstable();
        v.dedup();
        std::borrow::Cow::Owned(v)
    }
}

impl Fingerprint {
    /// The stored form: a format byte, a flags byte, the counts (LEB128:
    /// shingles, words, then the lengths of the sample, the lead and the
    /// numbers), then the three sorted lists as Rice-coded gaps. About 420
    /// bytes for an 800-word article (560 with 3-byte values before, 740
    /// with 4-byte values before that); the lists are what they were.
    pub fn encode(&self) -> Vec<u8> {
        // The lists are sorted, each value once (as computed and as read):
        // a list that is not is written as the set it holds.
        let (sample, lead, numbers) = (as_set(&self.sample), as_set(&self.lead), as_set(&self.numbers));
        let shift = SKETCH_RATE.trailing_zeros();
        let divided = !sample.is_empty() && sample.iter().all(|v| v % SKETCH_RATE == 0);
        let mut out = Vec::with_capacity(16 + 3 * (sample.len() + lead.len() + numbers.len()));
        out.push(FINGERPRINT_FORMAT);
        out.push(u8::from(self.full) | (u8::from(self.truncated) << 1) | if divided { FLAG_SAMPLE_DIVIDED } else { 0 });
        for n in [self.shingles, self.words, sample.len() as u32, lead.len() as u32, numbers.len() as u32] {
            let mut n = n;
            while n >= 0x80 {
                out.push((n as u8 & 0x7f) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
        }
        let mut bits = rice::BitWriter::default();
        if divided {
            let divided: Vec<u32> = sample.iter().map(|v| v >> shift).collect();
            bits.push_set(&divided, SHORT_HASH_RANGE >> shift);
        } else {
            bits.push_set(&sample, SHORT_HASH_RANGE);
        }
        bits.push_set(&lead, SHORT_HASH_RANGE);
        bits.push_set(&numbers, SHORT_HASH_RANGE);
        out.extend(bits.into_bytes());
        out
    }

    /// [`Fingerprint::decode`], shared with the other reads of the same
    /// bytes on this thread: the fingerprints decoded last are kept
    /// ([`DECODED_KEPT`], or [`DECODED_VALUES_KEPT`] values, and as many
    /// before them), keyed by a 128-bit hash
    /// of their bytes, so that a fingerprint rewritten since is decoded
    /// anew and no store's can be mistaken for another's. A cold sync reads
    /// the same candidates' fingerprints again and again (the copies of one
    /// story, the entries that share its lines): on the 200 x 50 benchmark
    /// corpus more than half the reads are of one of the last 2,048.
    pub fn decode_shared(bytes: &[u8]) -> Option<std::rc::Rc<Fingerprint>> {
        thread_local! {
            static DECODED: std::cell::RefCell<Decoded> = std::cell::RefCell::default();
        }
        let key = xxh3_128_with_seed(bytes, HASH_SEED);
        DECODED.with_borrow_mut(|d| {
            if let Some(fp) = d.current.get(&key) {
                return Some(std::rc::Rc::clone(fp));
            }
            let fp = match d.previous.remove(&key) {
                Some(fp) => fp,
                None => std::rc::Rc::new(Fingerprint::decode(bytes)?),
            };
            if d.current.len() >= DECODED_KEPT || d.current_values >= DECODED_VALUES_KEPT {
                d.previous = std::mem::take(&mut d.current);
                d.current_values = 0;
            }
            d.current_values += fp.sample.len() + fp.lead.len() + fp.numbers.len();
            d.current.insert(key, std::rc::Rc::clone(&fp));
            Some(fp)
        })
    }

    /// Reads [`Fingerprint::encode`]'s form (or the 4-byte form of
    /// before); `None` if it is not one.
    pub fn decode(bytes: &[u8]) -> Option<Fingerprint> {
        let (&format, rest) = bytes.split_first()?;
        let (&flags, mut rest) = rest.split_first()?;
        let counts = match format {
            FINGERPRINT_FORMAT_32 => {
                let mut counts = [0u32; 5];
                for c in &mut counts {
                    let (head, tail) = rest.split_first_chunk::<4>()?;
                    *c = u32::from_le_bytes(*head);
                    rest = tail;
                }
                counts
            }
            FINGERPRINT_FORMAT_24 | FINGERPRINT_FORMAT => {
                let mut counts = [0u32; 5];
                for c in &mut counts {
                    let mut v: u32 = 0;
                    let mut shift = 0;
                    loop {
                        let (&b, tail) = rest.split_first()?;
                        rest = tail;
                        if shift > 28 {
                            return None;
                        }
                        v |= u32::from(b & 0x7f) << shift;
                        if b & 0x80 == 0 {
                            break;
                        }
                        shift += 7;
                    }
                    *c = v;
                }
                counts
            }
            _ => return None,
        };
        let [shingles, n_words, ns, nl, nn] = counts;
        let (ns, nl, nn) = (ns as usize, nl as usize, nn as usize);
        let (sample, lead, numbers) = if format == FINGERPRINT_FORMAT {
            let mut bits = rice::BitReader::new(rest);
            let sample = if flags & FLAG_SAMPLE_DIVIDED != 0 {
                let shift = SKETCH_RATE.trailing_zeros();
                bits.read_set(ns, SHORT_HASH_RANGE >> shift)?.into_iter().map(|v| v << shift).collect()
            } else {
                bits.read_set(ns, SHORT_HASH_RANGE)?
            };
            let lead = bits.read_set(nl, SHORT_HASH_RANGE)?;
            let numbers = bits.read_set(nn, SHORT_HASH_RANGE)?;
            if !bits.at_padding() {
                return None;
            }
            (sample, lead, numbers)
        } else {
            let width = if format == FINGERPRINT_FORMAT_32 { 4 } else { 3 };
            if rest.len() as u64 != width as u64 * (ns as u64 + nl as u64 + nn as u64) {
                return None;
            }
            let mut values = rest.chunks_exact(width).map(|c| {
                let mut b = [0u8; 4];
                b[..width].copy_from_slice(c);
                u32::from_le_bytes(b) & SHORT_HASH_MASK
            });
            let mut list = |n: usize| {
                let mut v: Vec<u32> = values.by_ref().take(n).collect();
                if width == 4 {
                    // Cut to 24 bits, the order and uniqueness may change.
                    v.sort_unstable();
                    v.dedup();
                }
                v
            };
            let lists = (list(ns), list(nl), list(nn));
            // Filed sorted, each value once: anything else is damage.
            if ![&lists.0, &lists.1, &lists.2].iter().all(|l| l.windows(2).all(|w| w[0] < w[1])) {
                return None;
            }
            lists
        };
        Some(Fingerprint {
            shingles,
            full: flags & 1 != 0,
            truncated: flags & 2 != 0,
            sample,
            lead,
            numbers,
            words: n_words,
        })
    }

    /// Returns true if and only if there is enough text to compare.
    pub fn is_comparable(&self) -> bool {
        self.shingles as usize >= MIN_SHINGLES
    }

    /// The sample as compared with `other`: all of it when both are full,
    /// else the shingles both samples keep.
    fn comparable<'a>(&'a self, other: &Fingerprint) -> std::borrow::Cow<'a, [u32]> {
        if other.full || !self.full {
            std::borrow::Cow::Borrowed(&self.sample)
        } else {
            std::borrow::Cow::Owned(self.sample.iter().copied().filter(|s| s % SKETCH_RATE == 0).collect())
        }
    }

    /// The shingles of `self` (as compared with `other`) that `other` has too.
    pub fn shared_with(&self, other: &Fingerprint) -> Vec<u32> {
        let (a, b) = (self.comparable(other), other.comparable(self));
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    out.push(a[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out
    }

    /// How many of its shingles are compared with `other`'s.
    pub fn compared_len(&self, other: &Fingerprint) -> usize {
        self.comparable(other).len()
    }

    /// In one pass, without allocating: how many compared shingles the two
    /// share, and how many of each are compared (see [`Fingerprint::shared_with`]).
    pub fn overlap(&self, other: &Fingerprint) -> (usize, usize, usize) {
        let filter_a = self.full && !other.full;
        let filter_b = other.full && !self.full;
        let kept = |filter: bool, x: u32| !filter || x.is_multiple_of(SKETCH_RATE);
        let (a, b) = (&self.sample, &other.sample);
        if !filter_a && !filter_b {
            // The common case (both samples whole, or both sampled), without
            // branches to mispredict: hashes compare at random.
            let (mut i, mut j, mut shared) = (0, 0, 0);
            while i < a.len() && j < b.len() {
                let (x, y) = (a[i], b[j]);
                shared += usize::from(x == y);
                i += usize::from(x <= y);
                j += usize::from(y <= x);
            }
            return (shared, a.len(), b.len());
        }
        let (mut i, mut j) = (0, 0);
        let (mut shared, mut na, mut nb) = (0, 0, 0);
        loop {
            while i < a.len() && !kept(filter_a, a[i]) {
                i += 1;
            }
            while j < b.len() && !kept(filter_b, b[j]) {
                j += 1;
            }
            if i >= a.len() || j >= b.len() {
                break;
            }
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => {
                    na += 1;
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    nb += 1;
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    shared += 1;
                    na += 1;
                    nb += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        na += a[i.min(a.len())..].iter().filter(|x| kept(filter_a, **x)).count();
        nb += b[j.min(b.len())..].iter().filter(|x| kept(filter_b, **x)).count();
        (shared, na, nb)
    }
}

/// Size of the intersection of two sorted, deduplicated lists.
fn intersection<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Shingle hashes in text order, each once.
/// The shingle hashes of `words`, in text order, repeats included.
fn shingles(words: &[u64]) -> Vec<u64> {
    if words.len() < SHINGLE_WORDS {
        if words.is_empty() {
            Vec::new()
        } else {
            vec![hash_words(words)]
        }
    } else {
        words.windows(SHINGLE_WORDS).map(hash_words).collect()
    }
}

/// Hashes a value that is already a hash (a shingle's): as it is. SipHash
/// of every shingle cost more than the shingles themselves.
#[derive(Default)]
struct AlreadyHashed(u64);

impl std::hash::Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The shingle hashes of `words` in text order, each once (its first time).
fn shingle_list(words: &[u64]) -> Vec<u64> {
    let all = shingles(words);
    let mut seen: std::collections::HashSet<u64, std::hash::BuildHasherDefault<AlreadyHashed>> =
        std::collections::HashSet::with_capacity_and_hasher(all.len(), Default::default());
    all.into_iter().filter(|h| seen.insert(*h)).collect()
}

/// The shingle hashes of `words`, sorted, each once.
fn shingle_set(words: &[u64]) -> Vec<u64> {
    let mut out = shingles(words);
    out.sort_unstable();
    out.dedup();
    out
}

/// Title similarity: the share of the shorter title's words found in the
/// longer one (so "Repost: T" and "T | Site" match T fully).
pub fn title_similarity(a: &str, b: &str) -> f64 {
    let mut wa = comparable_words(a);
    let mut wb = comparable_words(b);
    wa.sort();
    wa.dedup();
    wb.sort();
    wb.dedup();
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    let common = wa.iter().filter(|w| wb.binary_search(w).is_ok()).count();
    common as f64 / wa.len().min(wb.len()) as f64
}

/// How two entries carry the same article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PairKind {
    /// The user said so (`dedup --merge`).
    Manual,
    /// One entry's feed names the other's link as its source.
    Source,
    /// The same canonical link.
    Link,
    /// The same normalised text.
    Text,
    /// The same text: each covers most of the other.
    Same,
    /// An excerpt: the shorter is the start of the longer.
    Excerpt,
    /// The shorter text is inside the longer one (an edited version, a
    /// brief of the full version, an item of a roundup).
    Part,
}

impl PairKind {
    /// The number stored in the database.
    pub fn code(self) -> i64 {
        match self {
            PairKind::Manual => 0,
            PairKind::Source => 1,
            PairKind::Link => 2,
            PairKind::Text => 3,
            PairKind::Same => 4,
            PairKind::Excerpt => 5,
            PairKind::Part => 6,
        }
    }

    pub fn from_code(code: i64) -> Option<PairKind> {
        Some(match code {
            0 => PairKind::Manual,
            1 => PairKind::Source,
            2 => PairKind::Link,
            3 => PairKind::Text,
            4 => PairKind::Same,
            5 => PairKind::Excerpt,
            6 => PairKind::Part,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PairKind::Manual => "merged by the user",
            PairKind::Source => "named as source",
            PairKind::Link => "same link",
            PairKind::Text => "same text",
            PairKind::Same => "same article",
            PairKind::Excerpt => "excerpt",
            PairKind::Part => "contained",
        }
    }

    /// The reason stored with a copy (`dup_reason`).
    pub fn reason(self) -> &'static str {
        match self {
            PairKind::Manual => "manual",
            PairKind::Source => "source",
            PairKind::Link => "link",
            PairKind::Text => "text",
            PairKind::Same | PairKind::Excerpt | PairKind::Part => "near",
        }
    }

    /// Returns true if and only if the pair joins two stories by itself: the
    /// evidence is explicit, or each text is mostly the other. Excerpts and
    /// parts join only when the longer text does not carry other stories
    /// too (see [`cluster::cluster`]).
    pub fn is_strong(self) -> bool {
        !matches!(self, PairKind::Excerpt | PairKind::Part)
    }
}

/// The evidence for or against two entries being the same article.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// How they are the same article; `None` when they are not.
    pub kind: Option<PairKind>,
    /// Which side is the shorter (the part of an excerpt or part pair):
    /// `true` for the first argument of [`verify`].
    pub first_is_shorter: bool,
    /// Shared shingles / shingles of the shorter text.
    pub containment: f64,
    /// Shared shingles / shingles of the longer text.
    pub cover: f64,
    /// Shorter / longer shingle count.
    pub length_ratio: f64,
    /// Shared lead shingles / lead shingles of the shorter lead.
    pub lead_containment: f64,
    /// [`title_similarity`] of the titles, when a rule needed it (it is
    /// costly next to the rest, and most candidates are decided without it).
    pub title_similarity: Option<f64>,
    /// Shared figures / figures of the text with fewer figures.
    pub numbers_kept: f64,
    /// Estimated shingles shared.
    pub shared: usize,
    /// Why: which rule decided.
    pub reason: &'static str,
}

impl Verdict {
    pub fn is_copy(&self) -> bool {
        self.kind.is_some()
    }
}

/// Decides whether `a` and `b` (titled `title_a`, `title_b`) carry the same
/// article, and how; see the thresholds above for why each rule is what it
/// is. Symmetric: swapping the arguments swaps only `first_is_shorter`.
pub fn verify(a: &Fingerprint, title_a: &str, b: &Fingerprint, title_b: &str) -> Verdict {
    verify_with(a, b, || title_similarity(title_a, title_b))
}

/// [`verify`], with the [`title_similarity`] of the two titles computed by
/// `titles` if a rule needs it (a caller may have to load a title first).
pub fn verify_with(a: &Fingerprint, b: &Fingerprint, titles: impl FnOnce() -> f64) -> Verdict {
    // The shorter by shingle count; equal counts are ordered by content, so
    // that the verdict does not depend on which entry came first.
    let first_is_shorter = (a.shingles, &a.sample) <= (b.shingles, &b.sample);
    let (short, long) = if first_is_shorter { (a, b) } else { (b, a) };
    let (shared_sampled, short_n, long_n) = short.overlap(long);
    let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    let mut containment = ratio(shared_sampled, short_n);
    let cover = ratio(shared_sampled, long_n);
    let scale = if short.full && long.full { 1 } else { SKETCH_RATE as usize };
    let mut shared = shared_sampled * scale;
    let lead_containment = ratio(intersection(&short.lead, &long.lead), short.lead.len().min(long.lead.len()));
    // A text no longer than a lead is all lead: at the other's start, its
    // containment is known exactly from the leads.
    if short.words as usize <= LEAD_WORDS && !short.lead.is_empty() {
        let exact = ratio(intersection(&short.lead, &long.lead), short.lead.len());
        if exact > containment {
            containment = exact;
            shared = intersection(&short.lead, &long.lead);
        }
    }
    let length_ratio = ratio(short.shingles as usize, long.shingles as usize);
    let fewest = a.numbers.len().min(b.numbers.len());
    let numbers_kept = if fewest == 0 { 1.0 } else { ratio(intersection(&a.numbers, &b.numbers), fewest) };
    let mut titles = Some(titles);
    let mut similarity = None;
    let mut similar_titles = || {
        if let Some(f) = titles.take() {
            similarity = Some(f());
        }
        similarity.unwrap_or(0.0) >= TITLE_SIMILARITY
    };
    let (kind, reason) = if !short.is_comparable() {
        (None, "too little text to compare")
    } else if containment >= SAME_COVER && cover >= SAME_COVER {
        (Some(PairKind::Same), "same text")
    } else if length_ratio >= PART_RATIO && containment >= VERSION_CONTAINMENT {
        (Some(PairKind::Part), "edited version of the longer text")
    } else if length_ratio < PART_RATIO
        && containment >= EXCERPT_CONTAINMENT
        && lead_containment >= LEAD_CONTAINMENT
        && ((short.words as usize >= EXCERPT_SPECIFIC_WORDS && lead_containment >= EXCERPT_SPECIFIC_LEAD)
            || similar_titles())
    {
        (Some(PairKind::Excerpt), "excerpt of the longer text")
    } else if length_ratio < PART_RATIO
        && containment >= PART_CONTAINMENT
        && shared >= PART_MIN_SHARED
        && !short.truncated
    {
        (Some(PairKind::Part), "contained in the longer text")
    } else if length_ratio < PART_RATIO && containment >= PART_CONTAINMENT && short.truncated {
        (None, "an excerpt whose words occur in the longer text, but not at its start")
    } else if length_ratio < PART_RATIO && containment >= EXCERPT_CONTAINMENT && lead_containment >= LEAD_CONTAINMENT {
        (None, "excerpt with a different title, too short to be specific")
    } else if length_ratio < PART_RATIO && containment >= PART_CONTAINMENT {
        (None, "too little shared to be a part")
    } else {
        (None, "different text")
    };
    // The same sentences with other figures are another day's report.
    let figures_differ = if (short.words as usize) < NUMBERS_STRICT_WORDS {
        numbers_kept < NUMBERS_KEPT_SHORT && containment < NUMBERS_OVERRIDE_SHORT
    } else {
        numbers_kept < NUMBERS_KEPT_MIN || (numbers_kept < NUMBERS_KEPT && containment < NUMBERS_OVERRIDE)
    };
    let (kind, reason) = if kind.is_some() && fewest >= 2 && figures_differ {
        (None, "same sentences, different figures")
    } else {
        (kind, reason)
    };
    Verdict {
        kind,
        first_is_shorter,
        containment,
        cover,
        length_ratio,
        lead_containment,
        title_similarity: similarity,
        numbers_kept,
        shared,
        reason,
    }
}

/// What decides which entry of a story is the original.
#[derive(Debug, Clone, Default)]
pub struct OriginInfo {
    pub id: i64,
    pub url: Option<String>,
    /// The original named by the feed (`<source url>`, `link rel="via"`).
    pub source_url: Option<String>,
    /// The source credited by an attribution line naming another site.
    pub attribution: Option<String>,
    /// Names the entry's feed is known by: feeds.toml name and the feed's own
    /// title (the first `named`), then the hosts of its site and feed.
    pub feed_names: Vec<String>,
    pub named: usize,
    /// The entry links to its own feed's site (an aggregator links elsewhere).
    pub own_site: bool,
    /// The user made it a copy (`dedup --merge`).
    pub manual_copy: bool,
    pub published: i64,
    pub truncated: bool,
    pub words: usize,
    /// The feed's URL and the entry's key: a tie-break that does not depend
    /// on the order entries arrived in.
    pub feed_url: String,
    pub key: String,
}

/// Which member of a story is its original, and the evidence that set it
/// apart from the runner-up. First explicit evidence (another member's feed
/// names its link as source; another member credits its feed by name, then
/// by host), then an entry that credits no other source (an excerpt may have
/// lost its attribution with its end: it is not taken as crediting none),
/// then one that links
/// to its own site, then the earliest published, then full text over an
/// excerpt, then the shallowest feed URL and the shortest feed name (a
/// site's main feed, "Bol News", over its category feeds, "Bol News: CPEC"),
/// then feed URL and entry key. Never the order of arrival.
pub fn choose_original(members: &[OriginInfo]) -> (usize, &'static str) {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Rank<'a> {
        manual_copy: bool,
        evidence: u8,
        not_own_site: bool,
        published: i64,
        truncated: bool,
        fewer_words: std::cmp::Reverse<usize>,
        depth: usize,
        name_len: usize,
        feed_url: &'a str,
        key: &'a str,
    }
    // What the members say of each other, counted once (a story can have
    // thousands of members: a feed of identical items).
    let mut sources: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut attributions: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for m in members {
        if let Some(s) = m.source_url.as_deref() {
            *sources.entry(s).or_default() += 1;
        }
        if let Some(a) = m.attribution.as_deref() {
            *attributions.entry(a).or_default() += 1;
        }
    }
    let rank = |i: usize| -> Rank<'_> {
        let m = &members[i];
        let named_as_source = m.url.as_deref().is_some_and(|u| {
            let own = usize::from(m.source_url.as_deref() == Some(u));
            sources.get(u).is_some_and(|n| *n > own)
        });
        // Attributions of the other members.
        let others = attributions.iter().filter(|(a, n)| **n > usize::from(m.attribution.as_deref() == Some(**a)));
        let exact_names: Vec<String> =
            m.feed_names[..m.named.min(m.feed_names.len())].iter().map(|n| name_key(n)).collect();
        let credited_by_name = others.clone().any(|(a, _)| exact_names.contains(&name_key(a)));
        let credited = others.clone().any(|(a, _)| credits(a, &m.feed_names));
        // An excerpt is cut before any attribution line: it may credit
        // another source without showing it.
        let credits_other = m.attribution.is_some() || m.truncated;
        let evidence = if named_as_source {
            0
        } else if credited_by_name && !credits_other {
            1
        } else if credited && !credits_other {
            2
        } else if !credits_other {
            3
        } else {
            4
        };
        Rank {
            manual_copy: m.manual_copy,
            evidence,
            not_own_site: !m.own_site,
            published: m.published,
            truncated: m.truncated,
            fewer_words: std::cmp::Reverse(m.words),
            depth: url_depth(&m.feed_url),
            name_len: m.feed_names.first().filter(|_| m.named > 0).map_or(usize::MAX, |n| n.chars().count()),
            feed_url: &m.feed_url,
            key: &m.key,
        }
    };
    let mut order: Vec<(Rank<'_>, usize)> = (0..members.len()).map(|i| (rank(i), i)).collect();
    order.sort();
    let Some((best, index)) = order.first() else { return (0, "") };
    let Some((second, _)) = order.get(1) else { return (*index, "alone") };
    let why = if best.manual_copy != second.manual_copy {
        "the others were merged into its story by the user"
    } else if best.evidence != second.evidence {
        match best.evidence {
            0 => "another entry's feed names it as source",
            1 => "another entry credits its feed by name",
            2 => "another entry credits its site",
            _ => "it credits no other source",
        }
    } else if best.not_own_site != second.not_own_site {
        "it links to its own site"
    } else if best.published != second.published {
        "published first"
    } else if best.truncated != second.truncated || best.fewer_words != second.fewer_words {
        "full text over an excerpt"
    } else if best.depth != second.depth || best.name_len != second.name_len {
        "its feed is the site's main feed"
    } else {
        "first by feed URL"
    };
    (*index, why)
}

/// Path segments of a URL: a site's main feed has fewer than its category feeds.
fn url_depth(url: &str) -> usize {
    url::Url::parse(url).ok().and_then(|u| u.path_segments().map(|s| s.filter(|p| !p.is_empty()).count())).unwrap_or(0)
        + url.matches('?').count()
}

/// Normalises a site or feed name for matching: lower-case letters and
/// digits only, a leading "www" and a trailing top-level domain dropped.
pub fn name_key(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let lower = lower.strip_prefix("www.").unwrap_or(&lower);
    let lower = match lower.rsplit_once('.') {
        Some((head, tld))
            if !head.is_empty() && (2..=6).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            head
        }
        _ => lower,
    };
    lower.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Returns true if and only if `attribution` names a feed known by `names`.
pub fn credits(attribution: &str, names: &[String]) -> bool {
    let a = name_key(attribution);
    !a.is_empty()
        && names.iter().map(|n| name_key(n)).any(|n| !n.is_empty() && (n == a || (n.len() >= 5 && a.contains(&n))))
}
#[cfg(test)]
mod tests;
