//! Entry identity and copy recognition. Pure functions: the store supplies
//! candidates and records the verdicts.
//!
//! A copy is recognised in three steps:
//!
//! 1. [`prepare`] reduces an entry to the text that identifies the article:
//!    its plain text without the attribution line and what follows it
//!    (author bio, comments), without paragraphs its feed repeats on every
//!    post (learnt boilerplate) or stock lines ("Leave a Reply"), without a
//!    trailing "[…]" or "Read more". It hashes the word 5-shingles of that
//!    text, a MinHash signature of them (banded for LSH), and the shingles of
//!    the lead (the first [`LEAD_WORDS`] words) so that an excerpt finds its
//!    full article.
//! 2. The store finds candidates (same link or text, an LSH band, shared lead
//!    shingles, the same title) in other feeds within a time window.
//! 3. [`verify`] decides on the real shingle sets; [`prefer_original`] picks
//!    which of two matching entries is the original.

use std::sync::LazyLock;

use regex::Regex;
use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64_with_seed};

use crate::model::EntryKey;
use crate::text::comparable_words;

/// Seed of every stored hash. Changing it invalidates stored fingerprints,
/// so it never changes.
pub const HASH_SEED: u64 = 0x5359_4e44_4943_0001;

/// Version of the fingerprints and thresholds below. When it changes, the
/// next `sync` rebuilds every fingerprint and cluster.
pub const DEDUP_VERSION: u32 = 1;

/// Texts shorter than this many words are not compared for exact copies:
/// short summaries ("Read more", a one-line teaser) are too often equal
/// between unrelated items.
pub const MIN_WORDS_FOR_TEXT_MATCH: usize = 25;

/// Words per shingle. Five words are specific enough that unrelated
/// articles on the same event share few shingles, and short enough that a
/// lightly edited sentence still keeps most of its shingles.
pub const SHINGLE_WORDS: usize = 5;

/// MinHash signature length, as [`LSH_BANDS`] bands of [`LSH_ROWS`] values.
/// With 32 bands of 4, a pair with Jaccard 0.5 becomes a candidate with
/// probability 0.87, one with 0.7 with 0.9996, one with 0.2 with 0.05.
pub const MINHASH_SIZE: usize = LSH_BANDS * LSH_ROWS;
pub const LSH_BANDS: usize = 32;
pub const LSH_ROWS: usize = 4;

/// Words of an article's lead. WordPress excerpts carry the first 55 words
/// and Atom summaries about 40: the lead index lets them find the full
/// article, which MinHash cannot (a 55-word excerpt of an 800-word article
/// has Jaccard ≈ 0.06).
pub const LEAD_WORDS: usize = 60;

/// Words of the lead that go into the lead index. An excerpt and its full
/// article share their first words, so a short prefix finds the pair while
/// keeping the index (and the writes per entry) small; verification still
/// compares the whole [`LEAD_WORDS`] lead.
pub const LEAD_INDEX_WORDS: usize = 30;

/// Texts with fewer shingles than this are never near-duplicates: a few
/// words occur by chance inside unrelated articles.
pub const MIN_SHINGLES: usize = 16;

/// Two texts of comparable length (the shorter at least [`EXCERPT_RATIO`]
/// of the longer) are the same article when this share of the shorter
/// one's shingles occurs in the longer one (Broder's containment). A copy
/// with a rewritten headline or an edited first paragraph keeps ~0.9;
/// independent reports of one event share names and figures but few
/// 5-word runs (< 0.2 in the benchmark corpus).
pub const FULL_CONTAINMENT: f64 = 0.6;

/// Below this length ratio the shorter text is taken as an excerpt.
pub const EXCERPT_RATIO: f64 = 0.5;

/// An excerpt must be almost entirely contained in the longer text...
pub const EXCERPT_CONTAINMENT: f64 = 0.8;

/// ...at its start: this share of the excerpt's lead shingles must be in the
/// longer text's lead, so a short item whose words occur inside a long
/// article or a round-up page is not an excerpt of it...
pub const LEAD_CONTAINMENT: f64 = 0.7;

/// ...and the titles must agree (share of the shorter title's words in the
/// longer one; "Repost: T" and "T | Site" keep 1.0).
pub const TITLE_SIMILARITY: f64 = 0.6;

/// Share of the figures of the text with fewer figures that must occur in
/// the other. A copy keeps its figures; templated daily reports ("Gold price in Lahore
/// today") share their sentences but not their figures.
pub const NUMBERS_KEPT: f64 = 0.9;

/// Texts this similar are the same article whatever their figures (a
/// wire story updated with a new toll keeps almost every shingle; templated
/// reports on different days share far fewer, as each figure breaks the
/// five shingles around it).
pub const NUMBERS_OVERRIDE: f64 = 0.9;

/// A paragraph found in this many entries of one feed is that feed's
/// boilerplate (a feed does not syndicate itself): site footers, author
/// bios, newsletter boxes.
pub const BOILERPLATE_MIN_ENTRIES: i64 = 3;

/// Paragraphs shorter than this many words are not counted as boilerplate
/// candidates (they are dropped by the stock-line rules or are harmless).
pub const BOILERPLATE_MIN_WORDS: usize = 3;

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
    let words = word_hashes(text).0;
    if words.len() < MIN_WORDS_FOR_TEXT_MATCH {
        return None;
    }
    Some(hash_words(&words) as i64)
}

/// The hashes of the comparable words of `text` (see [`comparable_words`]),
/// and of those among them that contain a digit (its figures).
pub fn word_hashes(text: &str) -> (Vec<u64>, Vec<u64>) {
    use unicode_segmentation::UnicodeSegmentation;
    let normalised = match unicode_normalization::is_nfkc_quick(text.chars()) {
        unicode_normalization::IsNormalized::Yes => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(unicode_normalization::UnicodeNormalization::nfkc(text).collect::<String>()),
    };
    let folded = normalised.to_lowercase();
    let mut words = Vec::new();
    let mut numbers = Vec::new();
    for w in folded.unicode_words() {
        let h = xxh3_64_with_seed(w.as_bytes(), HASH_SEED);
        if w.bytes().any(|b| b.is_ascii_digit()) {
            numbers.push(h);
        }
        words.push(h);
    }
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
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty())
}

/// Hash of a paragraph for boilerplate counting; `None` for paragraphs too
/// short to count.
pub fn paragraph_hash(paragraph: &str) -> Option<i64> {
    let words = word_hashes(paragraph).0;
    (words.len() >= BOILERPLATE_MIN_WORDS).then(|| hash_words(&words) as i64)
}

/// The boilerplate-countable paragraph hashes of a text, each once.
pub fn paragraph_hashes(text: &str) -> Vec<i64> {
    let mut hashes: Vec<i64> = paragraphs(text).filter_map(paragraph_hash).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    // Each alternative ends the paragraph; it starts the paragraph or a new
    // sentence within it (WordPress appends "The post … appeared first on
    // …" to the excerpt itself). The credited source is group `src<N>`.
    let alternatives = [
        r"(?:this (?:article|story|post|piece) (?:was |is )?)?(?:originally|first) (?:published|appeared|posted)(?: (?:at|on|in|by))? SRC",
        r"the post .{1,300}? appeared first on SRC",
        r"this (?:article|story|post|piece) (?:first )?appeared (?:first )?(?:at|on|in) SRC",
        r"this (?:article|story|post|piece) (?:is|was|has been) republished from SRC under .{1,200}",
        r"(?:re-?published|reprinted|reproduced) (?:here )?(?:with (?:kind )?permission )?(?:from|of|by|courtesy of) SRC",
        r"(?:source|courtesy|credit)\s*:\s*SRC",
    ];
    let pattern = alternatives
        .iter()
        .enumerate()
        .map(|(i, a)| a.replace("SRC", &format!(r"(?P<src{i}>[^\n]{{2,100}}?)")))
        .collect::<Vec<_>>()
        .join("|");
    regex::RegexBuilder::new(&format!(r"(?i)(?:^|[.!?…\]»”)]\s+)(?:{pattern})[\s.]*$"))
        .dfa_size_limit(16 << 20)
        .build()
        .expect("the attribution pattern is valid")
});

/// Every attribution line contains one of these (lower case).
const ATTRIBUTION_WORDS: &[&str] =
    &["publish", "appeared", "posted", "printed", "produced", "source", "courtesy", "credit"];

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

/// Finds an attribution at the end of a paragraph: the credited source and
/// the byte offset where the attribution sentence starts.
pub fn find_attribution(paragraph: &str) -> Option<(String, usize)> {
    // The regex is costly on long paragraphs: look for its key words first.
    let lower = paragraph.to_lowercase();
    if !ATTRIBUTION_WORDS.iter().any(|w| lower.contains(w)) {
        return None;
    }
    let caps = ATTRIBUTION.captures(paragraph)?;
    let src = (0..8).find_map(|i| caps.name(&format!("src{i}")))?;
    let whole = caps.get(0)?;
    // The match may start with the end of the previous sentence.
    let start = paragraph[whole.start()..src.start()]
        .char_indices()
        .find(|(_, c)| c.is_alphabetic())
        .map_or(whole.start(), |(i, _)| whole.start() + i);
    let name = src.as_str().trim().trim_end_matches(['.', ',', ';', ':', '!']).trim();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.split_whitespace().count() > 12 {
        return None;
    }
    Some((name, start))
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
    /// Shingles of the first [`LEAD_INDEX_WORDS`] words, in text order:
    /// what the lead index stores and is searched with.
    pub lead_index: Vec<u64>,
    /// Numbers in the text (hashed), sorted, each once.
    pub numbers: Vec<u64>,
    /// The text looked cut short ("[…]", "Read more").
    pub truncated: bool,
}

impl Prepared {
    /// Returns true if and only if there is enough text to compare.
    pub fn is_comparable(&self) -> bool {
        self.shingles.len() >= MIN_SHINGLES
    }

    /// The MinHash signature of the shingles ([`MINHASH_SIZE`] values).
    pub fn minhash(&self) -> Vec<u64> {
        let mut sig = vec![u64::MAX; MINHASH_SIZE];
        for &s in &self.shingles {
            // The shingle is already an xxh3 hash: one multiply-xorshift per
            // permutation spreads it enough.
            for (slot, seed) in sig.iter_mut().zip(PERMUTATION_SEEDS.iter()) {
                let z = (s ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let h = z ^ (z >> 29);
                if h < *slot {
                    *slot = h;
                }
            }
        }
        sig
    }

    /// The LSH bucket keys of the signature, one per band (the band number
    /// is part of the key).
    pub fn lsh_buckets(&self) -> Vec<i64> {
        if !self.is_comparable() {
            return Vec::new();
        }
        let sig = self.minhash();
        sig.chunks(LSH_ROWS)
            .enumerate()
            .map(|(band, rows)| {
                let mut bytes = Vec::with_capacity(8 * (LSH_ROWS + 1));
                bytes.extend_from_slice(&(band as u64).to_le_bytes());
                for r in rows {
                    bytes.extend_from_slice(&r.to_le_bytes());
                }
                xxh3_64_with_seed(&bytes, HASH_SEED) as i64
            })
            .collect()
    }
}

/// splitmix64's finaliser: a fast, well-mixed permutation of u64.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

static PERMUTATION_SEEDS: LazyLock<[u64; MINHASH_SIZE]> = LazyLock::new(|| {
    let mut seeds = [0u64; MINHASH_SIZE];
    let mut state = HASH_SEED;
    for s in &mut seeds {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        *s = mix(state);
    }
    seeds
});

/// Reduces an entry's plain text for comparison (see the module doc).
/// `is_boilerplate` says whether a paragraph hash is boilerplate of some feed.
pub fn prepare(text: &str, mut is_boilerplate: impl FnMut(i64) -> bool) -> Prepared {
    let mut paras: Vec<String> = paragraphs(text).map(str::to_owned).collect();
    let mut attribution = None;
    // The last attribution line wins; what follows it in the second half of
    // the text (bio, comments, the copying site's footer) goes with it.
    let n = paras.len();
    if let Some((i, (name, start))) = paras
        .iter()
        .enumerate()
        .rev()
        .filter(|(i, _)| *i < ATTRIBUTION_HEAD || *i + ATTRIBUTION_TAIL >= n)
        .find_map(|(i, p)| find_attribution(p).map(|a| (i, a)))
    {
        attribution = Some(name);
        let head = paras[i][..start].trim().to_owned();
        if i * 2 >= paras.len().saturating_sub(1) {
            paras.truncate(i);
        } else {
            paras.remove(i);
        }
        if !head.is_empty() {
            paras.insert(i.min(paras.len()), head);
        }
    }
    paras.retain(|p| !(p.len() <= STOCK_LINE_MAX_CHARS && STOCK_LINE.is_match(p)));
    let truncated = paras.last_mut().is_some_and(strip_trailer);
    // Words once per paragraph: they give both the boilerplate hash and the text.
    let mut words: Vec<u64> = Vec::new();
    let mut numbers: Vec<u64> = Vec::new();
    for p in &paras {
        let (pw, pn) = word_hashes(p);
        let boilerplate = pw.len() >= BOILERPLATE_MIN_WORDS && is_boilerplate(hash_words(&pw) as i64);
        if !boilerplate {
            words.extend(pw);
            numbers.extend(pn);
        }
    }
    let shingles = shingle_set(&words);
    let lead = shingle_set(&words[..words.len().min(LEAD_WORDS)]);
    let lead_index = shingle_list(&words[..words.len().min(LEAD_INDEX_WORDS)]);
    numbers.sort_unstable();
    numbers.dedup();
    Prepared { attribution, words: words.len(), shingles, lead, lead_index, numbers, truncated }
}

/// Shingle hashes in text order, each once.
fn shingle_list(words: &[u64]) -> Vec<u64> {
    let mut seen = std::collections::HashSet::new();
    let all: Vec<u64> = if words.len() < SHINGLE_WORDS {
        if words.is_empty() {
            Vec::new()
        } else {
            vec![hash_words(words)]
        }
    } else {
        words.windows(SHINGLE_WORDS).map(hash_words).collect()
    };
    all.into_iter().filter(|h| seen.insert(*h)).collect()
}

fn shingle_set(words: &[u64]) -> Vec<u64> {
    let mut out = shingle_list(words);
    out.sort_unstable();
    out
}

/// Size of the intersection of two sorted, deduplicated lists.
fn intersection(a: &[u64], b: &[u64]) -> usize {
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

/// The evidence for or against two entries being the same article.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub copy: bool,
    /// Shared shingles / shingles of the shorter text.
    pub containment: f64,
    pub jaccard: f64,
    /// Shorter / longer shingle count.
    pub length_ratio: f64,
    /// Shared lead shingles / lead shingles of the shorter text.
    pub lead_containment: f64,
    pub title_similarity: f64,
    /// Shared numbers / numbers of the text with fewer numbers.
    pub numbers_kept: f64,
    /// Why: which rule decided.
    pub reason: &'static str,
}

/// Decides whether `a` and `b` (titled `title_a`, `title_b`) are the same
/// article; see the thresholds above for why each rule is what it is.
pub fn verify(a: &Prepared, title_a: &str, b: &Prepared, title_b: &str) -> Verdict {
    let (short, long) = if a.shingles.len() <= b.shingles.len() { (a, b) } else { (b, a) };
    let common = intersection(&short.shingles, &long.shingles);
    let union = short.shingles.len() + long.shingles.len() - common;
    let containment = if short.shingles.is_empty() { 0.0 } else { common as f64 / short.shingles.len() as f64 };
    let jaccard = if union == 0 { 0.0 } else { common as f64 / union as f64 };
    let length_ratio =
        if long.shingles.is_empty() { 0.0 } else { short.shingles.len() as f64 / long.shingles.len() as f64 };
    let lead_containment = if short.lead.is_empty() {
        0.0
    } else {
        intersection(&short.lead, &long.lead) as f64 / short.lead.len() as f64
    };
    // Symmetric, so that the verdict does not depend on which entry came
    // first: an edit may spell out a figure ("40 trucks" → "Forty trucks").
    let fewest = a.numbers.len().min(b.numbers.len());
    let numbers_kept = if fewest == 0 { 1.0 } else { intersection(&a.numbers, &b.numbers) as f64 / fewest as f64 };
    let title_similarity = title_similarity(title_a, title_b);
    let mut v = Verdict {
        copy: false,
        containment,
        jaccard,
        length_ratio,
        lead_containment,
        title_similarity,
        numbers_kept,
        reason: "",
    };
    let (copy, reason) = if !short.is_comparable() {
        (false, "too little text to compare")
    } else if length_ratio >= EXCERPT_RATIO {
        if containment >= FULL_CONTAINMENT {
            (true, "same text")
        } else {
            (false, "different text")
        }
    } else if containment < EXCERPT_CONTAINMENT {
        (false, "shorter text not contained in the longer")
    } else if lead_containment < LEAD_CONTAINMENT {
        (false, "shorter text is not the longer one's lead")
    } else if title_similarity < TITLE_SIMILARITY {
        (false, "excerpt with a different title")
    } else {
        (true, "excerpt of the longer text")
    };
    // The same sentences with other figures are another day's report.
    let (copy, reason) = if copy && numbers_kept < NUMBERS_KEPT && containment < NUMBERS_OVERRIDE {
        (false, "same sentences, different figures")
    } else {
        (copy, reason)
    };
    v.copy = copy;
    v.reason = reason;
    v
}

/// What decides which of two matching entries is the original.
#[derive(Debug, Clone)]
pub struct OriginInfo {
    pub id: i64,
    pub url: Option<String>,
    /// The original named by the feed (`<source url>`, `link rel="via"`).
    pub source_url: Option<String>,
    /// The source credited by an attribution line naming another site.
    pub attribution: Option<String>,
    /// Names the entry's feed is known by: feeds.toml name, the feed's own
    /// title, the host of its site and of its links.
    pub feed_names: Vec<String>,
    pub published: i64,
    pub truncated: bool,
    pub words: usize,
    /// Some entry of the story credits this entry's feed by its exact name
    /// or title (not merely its host, which a site's category feeds share).
    pub credited_by_story: bool,
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

/// Which of two matching entries is the original, and the evidence: `true`
/// when `a` is. First explicit evidence (a feed naming the other's link as
/// its source, an attribution naming the other's feed), then the entry
/// that credits no one, then the earliest published, then full text over
/// an excerpt, then the first stored.
pub fn prefer_original(a: &OriginInfo, b: &OriginInfo) -> (bool, &'static str) {
    let names_url = |src: &Option<String>, url: &Option<String>| src.is_some() && src == url;
    if names_url(&b.source_url, &a.url) {
        return (true, "the copy's feed names it as source");
    }
    if names_url(&a.source_url, &b.url) {
        return (false, "the copy's feed names it as source");
    }
    if b.attribution.as_deref().is_some_and(|x| credits(x, &a.feed_names)) {
        return (true, "the copy credits its feed");
    }
    if a.attribution.as_deref().is_some_and(|x| credits(x, &b.feed_names)) {
        return (false, "the copy credits its feed");
    }
    if a.credited_by_story != b.credited_by_story {
        return (a.credited_by_story, "the story's copies credit its feed by name");
    }
    match (a.attribution.is_some(), b.attribution.is_some()) {
        (false, true) => return (true, "the copy credits another source"),
        (true, false) => return (false, "the copy credits another source"),
        _ => {}
    }
    if a.published != b.published {
        return (a.published < b.published, "published first");
    }
    if a.truncated != b.truncated || a.words != b.words {
        let a_full = (!a.truncated, a.words);
        let b_full = (!b.truncated, b.words);
        return (a_full > b_full, "full text over an excerpt");
    }
    (a.id < b.id, "stored first")
}

#[cfg(test)]
mod tests;
