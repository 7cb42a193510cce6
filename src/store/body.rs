//! The stored form of an entry's four texts (sanitised HTML and plain text
//! of its summary and content): one compressed blob in `entries.body`
//! (migration 008). Pure code, no SQL: packing runs in the parse workers
//! ([`crate::store::TaggedEntry::new`]), so the single writer only binds bytes;
//! unpacking runs for the rows a read shows.
//!
//! The layout: one format byte, then the payload, deflated ([`DEFLATE`]) or
//! as is ([`STORED`], when deflate would not make it smaller). The payload is
//! four LEB128 lengths (0 for a missing text, else its length in bytes plus
//! one), then the texts one after the other, plain texts first: a read that
//! needs only the plain text (a list's summary, a snippet, copy detection)
//! stops decompressing before the HTML.
//!
//! Why deflate (flate2, already built for reqwest's gzip): on the 200 × 50
//! benchmark corpus the four texts of an entry (5,472 bytes on average) take
//! 1,151 bytes deflated at level 6, and 1,230 with zstd at level 1 (1,166 at
//! level 6): without a trained dictionary zstd gains nothing on texts this
//! short, and it would be a C library more to build. Level 6 costs about
//! 70 µs per entry against 40 µs for level 1, which packs 20% larger (1,387
//! bytes); the time is spent in the parse workers, not in the writer.
//! Unpacking takes about 20 µs per entry (README "Store size").
//!
//! Bytes from the database are not trusted: a damaged or foreign blob is a
//! [`BodyError`], never a panic, and no more memory is taken than the data
//! actually unpacks to.

use std::cell::RefCell;
use std::io::Read;

use flate2::read::DeflateDecoder;
use flate2::{Compress, Compression, FlushCompress, Status};

/// Format byte: the payload follows as is.
pub const STORED: u8 = 0;
/// Format byte: the payload follows deflated (RFC 1951, no header).
pub const DEFLATE: u8 = 1;

/// The deflate level: 6 (zlib's default) packs the benchmark corpus 17%
/// smaller than level 1 for 30 µs more per entry (see the module's doc).
const LEVEL: u32 = 6;

/// The longest text a body may declare: SQLite's own limit on one value, so
/// nothing a database could ever have held is refused.
const MAX_TEXT: u64 = 1_000_000_000;

/// The four texts of an entry. `None` (the feed gave no such text) and
/// `Some("")` are kept apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    pub summary_text: Option<String>,
    pub content_text: Option<String>,
    pub summary_html: Option<String>,
    pub content_html: Option<String>,
}

impl Texts {
    /// The entry's plain text: the content's, else the summary's (what
    /// `show` prints and copy detection compares).
    pub fn text(&self) -> &str {
        self.content_text.as_deref().or(self.summary_text.as_deref()).unwrap_or("")
    }

    /// The entry's HTML: the content's, else the summary's.
    pub fn html(&self) -> Option<&str> {
        self.content_html.as_deref().or(self.summary_html.as_deref())
    }
}

/// The plain texts of an entry, without its HTML (see [`unpack_plain`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainTexts {
    pub summary: Option<String>,
    pub content: Option<String>,
}

/// An entry's texts packed for storage (the bytes of `entries.body`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed(Vec<u8>);

impl Packed {
    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Why a stored body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("unknown format {0} (written by a newer syndic?)")]
    UnknownFormat(u8),
    #[error("empty")]
    Empty,
    #[error("cut short or not deflate data: {0}")]
    Truncated(#[source] std::io::Error),
    #[error("a text length of {0} bytes is out of range")]
    TooLong(u64),
    #[error("bytes after the last text")]
    TrailingBytes,
    #[error("a text is not UTF-8")]
    NotUtf8,
    #[error("not a blob")]
    NotABlob,
}

/// Packs the four texts into one blob (deterministic: the same texts give
/// the same bytes with the same syndic).
///
/// ```
/// use syndic::store::body::{pack, unpack, Texts};
/// let texts = Texts { content_text: Some("Hello".into()), content_html: Some("<p>Hello</p>".into()), ..Texts::default() };
/// assert_eq!(unpack(pack(&texts).as_bytes()).unwrap(), texts);
/// ```
pub fn pack(texts: &Texts) -> Packed {
    let fields = fields(texts);
    let mut payload = Vec::with_capacity(16 + fields.iter().map(|f| f.map_or(0, str::len)).sum::<usize>());
    for f in fields {
        write_varint(&mut payload, f.map_or(0, |s| s.len() as u64 + 1));
    }
    for f in fields.into_iter().flatten() {
        payload.extend_from_slice(f.as_bytes());
    }
    let deflated = deflate(&payload);
    if deflated.len() < payload.len() + 1 {
        return Packed(deflated);
    }
    let mut stored = Vec::with_capacity(payload.len() + 1);
    stored.push(STORED);
    stored.extend_from_slice(&payload);
    Packed(stored)
}

/// `payload` deflated, after the [`DEFLATE`] format byte. Each thread keeps
/// one compressor and resets it: a fresh one allocates a few hundred
/// kilobytes of tables, which cost more than compressing a short entry.
fn deflate(payload: &[u8]) -> Vec<u8> {
    thread_local! {
        static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(LEVEL), false));
    }
    COMPRESSOR.with_borrow_mut(|c| {
        c.reset();
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        out.push(DEFLATE);
        loop {
            let done = c.total_in() as usize;
            let status = c
                .compress_vec(&payload[done..], &mut out, FlushCompress::Finish)
                .expect("deflating into memory cannot fail");
            if status == Status::StreamEnd {
                return out;
            }
            // compress_vec fills spare capacity only: make more room.
            out.reserve(out.capacity().max(64));
        }
    })
}

/// The texts in the order they are packed: plain texts first.
fn fields(t: &Texts) -> [Option<&str>; 4] {
    [t.summary_text.as_deref(), t.content_text.as_deref(), t.summary_html.as_deref(), t.content_html.as_deref()]
}

/// Unpacks all four texts of a stored body (`None`: the column is NULL, a
/// row written without text).
pub fn unpack(bytes: &[u8]) -> Result<Texts, BodyError> {
    let mut reader = Reader::new(bytes)?;
    let texts = Texts {
        summary_text: reader.next_text(usize::MAX)?,
        content_text: reader.next_text(usize::MAX)?,
        summary_html: reader.next_text(usize::MAX)?,
        content_html: reader.next_text(usize::MAX)?,
    };
    reader.finish()?;
    Ok(texts)
}

/// Unpacks the plain texts only, each cut to at most `limit` bytes (at a
/// character boundary): the HTML is never decompressed.
pub fn unpack_plain(bytes: &[u8], limit: usize) -> Result<PlainTexts, BodyError> {
    let mut reader = Reader::new(bytes)?;
    let summary = reader.next_text(limit)?;
    let content = reader.next_text(limit)?;
    Ok(PlainTexts { summary, content })
}

/// The plain summary, else (no summary) the plain content, cut to at most
/// `limit` bytes: what a listed row shows. Reads no further than needed.
pub fn unpack_summary(bytes: &[u8], limit: usize) -> Result<String, BodyError> {
    let mut reader = Reader::new(bytes)?;
    if let Some(summary) = reader.next_text(limit)? {
        return Ok(summary);
    }
    Ok(reader.next_text(limit)?.unwrap_or_default())
}

/// Reads a body's payload text by text.
struct Reader<'a> {
    payload: Box<dyn Read + 'a>,
    lengths: [Option<u64>; 4],
    next: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Result<Reader<'a>, BodyError> {
        let (&format, rest) = bytes.split_first().ok_or(BodyError::Empty)?;
        let mut payload: Box<dyn Read + 'a> = match format {
            STORED => Box::new(rest),
            DEFLATE => Box::new(DeflateDecoder::new(rest)),
            other => return Err(BodyError::UnknownFormat(other)),
        };
        let mut lengths = [None; 4];
        for l in &mut lengths {
            let v = read_varint(&mut payload)?;
            if v > MAX_TEXT + 1 {
                return Err(BodyError::TooLong(v - 1));
            }
            *l = v.checked_sub(1);
        }
        Ok(Reader { payload, lengths, next: 0 })
    }

    /// The next text, cut to at most `limit` bytes at a character boundary;
    /// the rest of it is read past.
    fn next_text(&mut self, limit: usize) -> Result<Option<String>, BodyError> {
        let Some(len) = self.lengths.get(self.next).copied().flatten() else {
            self.next += 1;
            return Ok(None);
        };
        self.next += 1;
        // At most what the data unpacks to is allocated: a forged length
        // fails at the end of the data, not in the allocator.
        let keep = len.min(limit as u64);
        let mut buf = Vec::with_capacity(keep.min(1 << 20) as usize);
        let got = (&mut self.payload).take(keep).read_to_end(&mut buf).map_err(BodyError::Truncated)?;
        if got as u64 != keep {
            return Err(BodyError::Truncated(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let skip = len - keep;
        if skip > 0 {
            let skipped = std::io::copy(&mut (&mut self.payload).take(skip), &mut std::io::sink())
                .map_err(BodyError::Truncated)?;
            if skipped != skip {
                return Err(BodyError::Truncated(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        let text = if skip == 0 {
            String::from_utf8(buf).map_err(|_| BodyError::NotUtf8)?
        } else {
            // Cut inside the text: drop a character the cut split (an
            // incomplete sequence at the very end), nothing else.
            match String::from_utf8(buf) {
                Ok(s) => s,
                Err(e) if e.utf8_error().error_len().is_none() => {
                    let valid = e.utf8_error().valid_up_to();
                    let mut bytes = e.into_bytes();
                    bytes.truncate(valid);
                    String::from_utf8(bytes).map_err(|_| BodyError::NotUtf8)?
                }
                Err(_) => return Err(BodyError::NotUtf8),
            }
        };
        Ok(Some(text))
    }

    /// Checks that the payload ends after the last text.
    fn finish(mut self) -> Result<(), BodyError> {
        let mut byte = [0u8; 1];
        match self.payload.read(&mut byte).map_err(BodyError::Truncated)? {
            0 => Ok(()),
            _ => Err(BodyError::TrailingBytes),
        }
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(r: &mut impl Read) -> Result<u64, BodyError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let mut byte = [0u8; 1];
        r.read_exact(&mut byte).map_err(BodyError::Truncated)?;
        v |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(BodyError::TooLong(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: Option<&str>, c: Option<&str>, sh: Option<&str>, ch: Option<&str>) -> Texts {
        let own = |x: Option<&str>| x.map(str::to_owned);
        Texts { summary_text: own(s), content_text: own(c), summary_html: own(sh), content_html: own(ch) }
    }

    #[test]
    fn round_trip_keeps_none_apart_from_empty() {
        for t in [
            Texts::default(),
            texts(Some(""), None, None, Some("")),
            texts(None, Some(""), Some(""), None),
            texts(Some("a"), Some("b"), Some("<p>a</p>"), Some("<p>b</p>")),
            texts(Some("nul \0 inside"), None, Some("\0"), None),
            texts(None, Some("中巴经济走廊 — «ü» 🚀"), None, Some("<p>中巴经济走廊 — «ü» 🚀</p>")),
        ] {
            let packed = pack(&t);
            assert_eq!(unpack(packed.as_bytes()).unwrap(), t);
            let plain = unpack_plain(packed.as_bytes(), usize::MAX).unwrap();
            assert_eq!((plain.summary, plain.content), (t.summary_text.clone(), t.content_text.clone()));
        }
    }

    #[test]
    fn short_texts_are_stored_and_long_ones_deflated() {
        let short = pack(&texts(Some("a"), None, None, None));
        assert_eq!(short.as_bytes(), &[STORED, 2, 0, 0, 0, b'a']);
        let long = "the same words again and again ".repeat(100);
        let t = texts(Some(&long), Some(&long), Some(&long), Some(&long));
        let packed = pack(&t);
        assert_eq!(packed.as_bytes()[0], DEFLATE);
        assert!(packed.as_bytes().len() < long.len() / 10, "{}", packed.as_bytes().len());
        assert_eq!(pack(&t), packed, "deterministic");
        pack(&texts(Some("something else entirely"), None, Some(&long), None));
        assert_eq!(pack(&t), packed, "the same after other texts (the compressor is reused)");
        assert_eq!(unpack(packed.as_bytes()).unwrap(), t);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let text = "é中🚀".repeat(1000);
        for format in ["short", "long"] {
            let t = if format == "short" {
                texts(Some("é中🚀"), Some("ü中"), None, None)
            } else {
                texts(Some(&text), Some(&text), None, None)
            };
            let packed = pack(&t);
            for limit in 0..12 {
                let plain = unpack_plain(packed.as_bytes(), limit).unwrap();
                for (cut, whole) in [(plain.summary, &t.summary_text), (plain.content, &t.content_text)] {
                    let (cut, whole) = (cut.unwrap(), whole.as_deref().unwrap());
                    assert!(cut.len() <= limit && whole.starts_with(&cut), "{limit}: {cut:?}");
                    assert!(cut == whole || limit - cut.len() < 4, "at most one character dropped: {limit} {cut:?}");
                }
            }
        }
    }

    #[test]
    fn a_huge_text_round_trips() {
        // 4 MB of text and as much HTML (larger takes long in a debug build).
        let mut huge = String::with_capacity(4 << 20);
        let mut x: u64 = 1;
        while huge.len() < 4 << 20 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            huge.push_str(["lorem ", "ipsum ", "中巴 ", "dolor\n", "🚀 "][(x >> 60) as usize % 5]);
        }
        let t = texts(None, Some(&huge), None, Some(&format!("<p>{huge}</p>")));
        let packed = pack(&t);
        assert!(packed.as_bytes().len() < huge.len() / 2);
        assert_eq!(unpack(packed.as_bytes()).unwrap(), t);
        let plain = unpack_plain(packed.as_bytes(), 64 * 1024).unwrap();
        assert!(plain.content.unwrap().len() > 64 * 1024 - 4);
    }

    #[test]
    fn damaged_bytes_are_an_error_never_a_panic() {
        let t = texts(Some("summary"), Some(&"content ".repeat(200)), Some("<p>summary</p>"), None);
        let good = pack(&t).as_bytes().to_vec();
        assert!(matches!(unpack(&[]), Err(BodyError::Empty)));
        assert!(matches!(unpack(&[9, 1, 2]), Err(BodyError::UnknownFormat(9))));
        assert!(matches!(unpack(&[STORED, 0, 0, 0, 0, b'x']), Err(BodyError::TrailingBytes)));
        assert!(matches!(unpack(&[STORED, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0]), Err(BodyError::TooLong(_))));
        let mut long_varint = vec![STORED];
        long_varint.extend([0xff; 20]);
        assert!(matches!(unpack(&long_varint), Err(BodyError::TooLong(_))));
        assert!(matches!(unpack(&[STORED, 3, 0, 0, 0, 0xff, 0xfe]), Err(BodyError::NotUtf8)));
        assert!(matches!(unpack_plain(&[STORED, 5, 0, 0, 0, 0xff, 0xfe, 0xfd, 0xfc], 2), Err(BodyError::NotUtf8)));
        // A forged length far beyond the data: an error, no huge allocation.
        assert!(matches!(unpack(&[STORED, 0x80, 0x80, 0x80, 0x80, 0x02, 0, 0, 0, b'a']), Err(BodyError::Truncated(_))));
        // Every truncation and every flipped byte of a real body.
        for cut in 0..good.len() {
            assert!(unpack(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut x: u64 = 7;
        for i in 0..good.len() * 8 {
            let mut bad = good.clone();
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            bad[i / 8] ^= 1 << (i % 8);
            bad[(x >> 33) as usize % good.len()] ^= (x >> 20) as u8;
            let _ = unpack(&bad);
            let _ = unpack_plain(&bad, 100);
        }
    }
}
