//! The stored form of an entry's four texts (sanitised HTML and plain text
//! of its summary and content): one compressed blob in `entries.body`
//! (migration 008). Pure code, no SQL: packing runs in the parse workers
//! ([`crate::store::TaggedEntry::new`]), so the single writer only binds bytes;
//! unpacking runs for the rows a read shows.
//!
//! The layout: one format byte, then the payload: as is ([`STORED`], when
//! compressing would not make it smaller), deflated ([`DEFLATE`], what
//! syndic wrote from migration 008 to 013: still read, no longer written) or
//! as one Zstandard frame ([`ZSTD`]). The payload is four LEB128 lengths (0
//! for a missing text, else its length in bytes plus one), then the texts one
//! after the other, plain texts first: a read that needs only the plain text
//! (a list's summary, a snippet, copy detection) stops decompressing before
//! the HTML.
//!
//! Why Zstandard with a dictionary (migration 014): an entry is a few
//! kilobytes, too short for a compressor to learn the language, the markup
//! and the feeds' recurring lines from the entry alone. A dictionary trained
//! on the store's own entries ([`Dictionary::train`]) gives it that
//! context up front. Measured with level 6 against deflate at level 6: the
//! 200 × 50 benchmark corpus packs 2.5 times smaller (its generated text
//! repeats a small grammar, which the dictionary learns), and real blog
//! posts (the JSON feeds of `../shared/corpus`, a dictionary trained on half
//! of them, the other half packed) 22% smaller; packing takes about half
//! deflate's time. Until a store has a dictionary its bodies are Zstandard
//! frames without one, packed fast ([`LEVEL_WITHOUT_DICTIONARY`]) since
//! they are packed again with the first dictionary. A frame names its
//! dictionary by id (content-derived, as zstd's trainer makes it); the dictionaries a
//! process has read are kept in a registry ([`register`]) that every read
//! looks the id up in.
//!
//! Bytes from the database are not trusted: a damaged or foreign blob is a
//! [`BodyError`], never a panic, and no more memory is taken than the data
//! actually unpacks to (a frame may not ask for a window over
//! [`WINDOW_LOG_MAX`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{OnceLock, RwLock};

use flate2::read::DeflateDecoder;
use zstd::zstd_safe;

/// Format byte: the payload follows as is.
pub const STORED: u8 = 0;
/// Format byte: the payload follows deflated (RFC 1951, no header). Read,
/// no longer written.
pub const DEFLATE: u8 = 1;
/// Format byte: the payload follows as one Zstandard frame (RFC 8878), made
/// with the dictionary its header names, if any.
pub const ZSTD: u8 = 2;

/// The Zstandard level, with a dictionary. Measured against level 3: 6
/// packs the benchmark corpus 17% smaller and real blog posts 7% smaller,
/// in 3 to 5 times the time (about 60 µs for a benchmark entry, 170 µs
/// for a real post), spent in the parse workers; 5 lies between. A store
/// keeps its texts for years: the smaller wins.
const LEVEL: i32 = 6;

/// The Zstandard level without a dictionary: the texts a store holds
/// before its first dictionary are packed again with it when it is trained
/// ([`crate::store::Store::repack_texts_since`]), so the first packing is
/// made fast, not small.
const LEVEL_WITHOUT_DICTIONARY: i32 = 1;

/// The largest window a stored frame may ask for when unpacked (8 MiB; the
/// frames syndic writes at [`LEVEL`] ask for at most 2 MiB): a forged frame
/// cannot make a read allocate more.
pub const WINDOW_LOG_MAX: u32 = 23;

/// Largest dictionary trained, in bytes. 64 KiB packed the benchmark corpus
/// 5% smaller than 32 KiB, and real blog posts 8% smaller than 16 KiB
/// (112 KiB gained 2-3% more on the corpus).
pub const DICTIONARY_SIZE: usize = 64 * 1024;

/// The longest text a body may declare: SQLite's own limit on one value, so
/// nothing a database could ever have held is refused.
const MAX_TEXT: u64 = 1_000_000_000;

/// A trained Zstandard dictionary, ready to pack and unpack with.
pub struct Dictionary {
    id: u32,
    bytes: Vec<u8>,
    decoder: zstd::dict::DecoderDictionary<'static>,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionary").field("id", &self.id).field("bytes", &self.bytes.len()).finish()
    }
}

impl Dictionary {
    /// Trains a dictionary of at most [`DICTIONARY_SIZE`] bytes on
    /// `samples` (payloads, see [`payload`]); `None` if zstd's trainer
    /// finds too little to learn from.
    pub fn train<S: AsRef<[u8]>>(samples: &[S]) -> Option<Dictionary> {
        let mut data = Vec::with_capacity(samples.iter().map(|s| s.as_ref().len()).sum());
        let mut sizes = Vec::with_capacity(samples.len());
        for s in samples {
            data.extend_from_slice(s.as_ref());
            sizes.push(s.as_ref().len());
        }
        Dictionary::train_continuous(&data, &sizes)
    }

    /// [`Dictionary::train`] on samples laid end to end in `data`, the
    /// length of each in `sizes` (no copy of them is made).
    pub fn train_continuous(data: &[u8], sizes: &[usize]) -> Option<Dictionary> {
        Dictionary::train_with(data, sizes, TRAIN_K, TRAIN_F)
    }

    /// [`Dictionary::train_continuous`] with fastCover's segment size `k`
    /// and frequency table of `2^f` entries.
    pub fn train_with(data: &[u8], sizes: &[usize], k: u32, f: u32) -> Option<Dictionary> {
        let bytes = fast_cover(data, sizes, k, f)
            .map_err(|e| tracing::debug!(error = %e, samples = sizes.len(), "no dictionary trained"))
            .ok()?;
        Dictionary::from_bytes(bytes).ok()
    }

    /// A dictionary as stored; an error if the bytes are not a Zstandard
    /// dictionary with an id.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Dictionary, BodyError> {
        let id = zstd_safe::get_dict_id(&bytes).ok_or(BodyError::NotADictionary)?.get();
        // zstd refuses a dictionary whose entropy tables are damaged (a null
        // DDict), which `DecoderDictionary::copy` turns into a panic: every
        // command, doctor included, died opening the store.
        if zstd_safe::DDict::try_create(&bytes).is_none() {
            return Err(BodyError::NotADictionary);
        }
        let decoder = zstd::dict::DecoderDictionary::copy(&bytes);
        Ok(Dictionary { id, bytes, decoder })
    }

    /// The id frames packed with it carry.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// fastCover's segment size, in bytes. Measured on the benchmark corpus (a
/// dictionary trained on 4 MiB of its first entries, 8,000 others packed)
/// and on real blog posts (the corpus's JSON feeds, half trained on, half
/// packed): any of 200 to 1,000 packs within 1% of the others on both, and
/// up to 1% smaller than zstd's default training, which searches four
/// sizes from 50 to 2,000 for the best (and takes 2 to 4 times as long).
const TRAIN_K: u32 = 500;

/// fastCover's frequency table: `2^TRAIN_F` entries, 6 bytes each while
/// training. zstd's default (20) took 10 MB more at the peak of a sync
/// (training happens while the parse workers hold the most); 15 to 20
/// pack within 1% of each other on the texts above.
const TRAIN_F: u32 = 17;

/// zstd's fastCover dictionary trainer with fixed parameters: what
/// `zstd::dict::from_continuous` runs, minus its search over four segment
/// sizes (four times the work) and with a smaller frequency table (see
/// [`TRAIN_F`]). The content of the dictionary gets the same entropy
/// tables and a content-derived id as zstd's default.
#[allow(unsafe_code)]
fn fast_cover(data: &[u8], sizes: &[usize], k: u32, f: u32) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    if sizes.is_empty() || sizes.iter().sum::<usize>() != data.len() {
        return Err(Error::new(ErrorKind::InvalidInput, "samples and sizes disagree"));
    }
    let count = u32::try_from(sizes.len()).map_err(|_| Error::new(ErrorKind::InvalidInput, "too many samples"))?;
    let params = zstd_sys::ZDICT_fastCover_params_t {
        k,
        d: 8,
        f,
        steps: 0,
        nbThreads: 0,
        splitPoint: 1.0,
        accel: 1,
        shrinkDict: 0,
        shrinkDictMaxRegression: 0,
        zParams: zstd_sys::ZDICT_params_t { compressionLevel: LEVEL, notificationLevel: 0, dictID: 0 },
    };
    let mut dictionary = vec![0u8; DICTIONARY_SIZE];
    // SAFETY: `dictionary` is a writable buffer of the capacity passed;
    // `data` holds `count` samples whose lengths, in `sizes`, sum to its
    // length (checked above); zstd reads no further than those and writes
    // no further than the capacity, and keeps no pointer after returning.
    let written = unsafe {
        zstd_sys::ZDICT_trainFromBuffer_fastCover(
            dictionary.as_mut_ptr().cast(),
            dictionary.len(),
            data.as_ptr().cast(),
            sizes.as_ptr(),
            count,
            params,
        )
    };
    // SAFETY: a pure function of the returned code.
    if unsafe { zstd_sys::ZDICT_isError(written) } != 0 {
        return Err(Error::other(format!("zstd's dictionary trainer failed (code {written})")));
    }
    dictionary.truncate(written);
    Ok(dictionary)
}

/// The dictionaries this process has read, by id: each lives as long as
/// the process (a few per store, 64 KiB each).
fn registry() -> &'static RwLock<HashMap<u32, &'static Dictionary>> {
    static REGISTRY: OnceLock<RwLock<HashMap<u32, &'static Dictionary>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Makes `dictionary` known to every read of this process; returns the one
/// registered under its id (the first one registered: ids are derived from
/// the content, so another with the same id is the same dictionary, but
/// for odds of one in two billion).
pub fn register(dictionary: Dictionary) -> &'static Dictionary {
    let mut map = registry().write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = map.get(&dictionary.id) {
        if known.bytes != dictionary.bytes {
            tracing::warn!(id = dictionary.id, "two different text dictionaries with one id; the first is kept");
        }
        return known;
    }
    let leaked: &'static Dictionary = Box::leak(Box::new(dictionary));
    map.insert(leaked.id, leaked);
    leaked
}

/// The registered dictionary with `id`.
fn registered(id: u32) -> Option<&'static Dictionary> {
    registry().read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id).copied()
}

/// The dictionary a stored body was packed with: `None` for a body packed
/// without one (or not a Zstandard frame at all).
pub fn dictionary_id(bytes: &[u8]) -> Option<u32> {
    match bytes.split_first() {
        Some((&ZSTD, frame)) => zstd_safe::get_dict_id_from_frame(frame).map(|id| id.get()),
        _ => None,
    }
}

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
    #[error("cut short or not compressed data: {0}")]
    Truncated(#[source] std::io::Error),
    #[error("a text length of {0} bytes is out of range")]
    TooLong(u64),
    #[error("bytes after the last text")]
    TrailingBytes,
    #[error("a text is not UTF-8")]
    NotUtf8,
    #[error("not a blob")]
    NotABlob,
    #[error("packed with text dictionary {0}, which is not in this database")]
    UnknownDictionary(u32),
    #[error("not a Zstandard dictionary")]
    NotADictionary,
}

/// Packs the four texts into one blob without a dictionary (see
/// [`pack_with`]).
///
/// ```
/// use syndic::store::body::{pack, unpack, Texts};
/// let texts = Texts { content_text: Some("Hello".into()), content_html: Some("<p>Hello</p>".into()), ..Texts::default() };
/// assert_eq!(unpack(pack(&texts).as_bytes()).unwrap(), texts);
/// ```
pub fn pack(texts: &Texts) -> Packed {
    pack_with(texts, None)
}

/// Packs the four texts into one blob, with `dictionary` if given (it must
/// be [`register`]ed for the blob to be read). Deterministic: the same
/// texts and dictionary give the same bytes with the same syndic.
pub fn pack_with(texts: &Texts, dictionary: Option<&Dictionary>) -> Packed {
    let payload = payload_of(texts);
    match compress(&payload, dictionary) {
        Some(packed) if packed.len() < payload.len() + 1 => Packed(packed),
        _ => {
            let mut stored = Vec::with_capacity(payload.len() + 1);
            stored.push(STORED);
            stored.extend_from_slice(&payload);
            Packed(stored)
        }
    }
}

/// The uncompressed payload of `texts`.
fn payload_of(texts: &Texts) -> Vec<u8> {
    let fields = fields(texts);
    let mut payload = Vec::with_capacity(16 + fields.iter().map(|f| f.map_or(0, str::len)).sum::<usize>());
    for f in fields {
        write_varint(&mut payload, f.map_or(0, |s| s.len() as u64 + 1));
    }
    for f in fields.into_iter().flatten() {
        payload.extend_from_slice(f.as_bytes());
    }
    payload
}

/// `payload` as a Zstandard frame after the [`ZSTD`] format byte, with a
/// checksum of its content (a damaged body, or one read with the wrong
/// dictionary, is an error, not wrong text). Each thread keeps one
/// compressor with the dictionary it last used: setting one up costs more
/// than packing a short entry. `None` if zstd fails (it only could for
/// want of memory): the payload is then stored as is.
fn compress(payload: &[u8], dictionary: Option<&Dictionary>) -> Option<Vec<u8>> {
    thread_local! {
        static COMPRESSOR: RefCell<Option<(Option<u32>, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    }
    COMPRESSOR.with_borrow_mut(|slot| {
        let wanted = dictionary.map(Dictionary::id);
        if slot.as_ref().is_none_or(|(id, _)| *id != wanted) {
            *slot = None;
            let mut compressor = match dictionary {
                Some(d) => zstd::bulk::Compressor::with_dictionary(LEVEL, &d.bytes),
                None => zstd::bulk::Compressor::new(LEVEL_WITHOUT_DICTIONARY),
            }
            .ok()?;
            compressor.include_checksum(true).ok()?;
            *slot = Some((wanted, compressor));
        }
        let (_, compressor) = slot.as_mut()?;
        let mut out = vec![0u8; 1 + zstd_safe::compress_bound(payload.len())];
        out[0] = ZSTD;
        let written = compressor.compress_to_buffer(payload, &mut out[1..]).ok()?;
        out.truncate(1 + written);
        Some(out)
    })
}

/// The whole uncompressed payload of a stored body (what a dictionary is
/// trained on), at most `limit` bytes of it.
pub fn payload(bytes: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    append_payload(bytes, limit, &mut out)?;
    Ok(out)
}

/// [`payload`] appended to `out`; returns how many bytes. On an error `out`
/// is left as it was.
pub fn append_payload(bytes: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<usize, BodyError> {
    let start = out.len();
    let read = open_payload(bytes).and_then(|p| p.take(limit as u64).read_to_end(out).map_err(BodyError::Truncated));
    if read.is_err() {
        out.truncate(start);
    }
    read
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
    reader.verify_rest()?;
    Ok(PlainTexts { summary, content })
}

/// The plain summary, else (no summary) the plain content, cut to at most
/// `limit` bytes: what a listed row shows. Reads no further than needed.
pub fn unpack_summary(bytes: &[u8], limit: usize) -> Result<String, BodyError> {
    let mut reader = Reader::new(bytes)?;
    let text = match reader.next_text(limit)? {
        Some(summary) => summary,
        None => reader.next_text(limit)?.unwrap_or_default(),
    };
    reader.verify_rest()?;
    Ok(text)
}

/// Most bytes of a body unpacked past what a read needs, only to check it
/// (see [`Reader::verify_rest`]): a longer rest is not checked.
const VERIFY_MAX: u64 = 16 * 1024 * 1024;

/// A reader of a stored body's payload.
fn open_payload(bytes: &[u8]) -> Result<Box<dyn Read + '_>, BodyError> {
    let (&format, rest) = bytes.split_first().ok_or(BodyError::Empty)?;
    Ok(match format {
        STORED => Box::new(rest),
        DEFLATE => Box::new(DeflateDecoder::new(rest)),
        ZSTD => {
            if let Some(whole) = unpack_frame_at_once(rest) {
                return Ok(Box::new(std::io::Cursor::new(whole?)));
            }
            let mut decoder = match zstd_safe::get_dict_id_from_frame(rest) {
                Some(id) => {
                    let dictionary = registered(id.get()).ok_or(BodyError::UnknownDictionary(id.get()))?;
                    zstd::stream::read::Decoder::with_prepared_dictionary(rest, &dictionary.decoder)
                }
                None => zstd::stream::read::Decoder::with_buffer(rest),
            }
            .map_err(BodyError::Truncated)?;
            decoder.window_log_max(WINDOW_LOG_MAX).map_err(BodyError::Truncated)?;
            Box::new(decoder.single_frame())
        }
        other => return Err(BodyError::UnknownFormat(other)),
    })
}

/// Largest payload [`unpack_frame_at_once`] unpacks (nearly every entry's:
/// the 200 x 50 corpus's are 5 KB); a larger one is streamed, so that a
/// read that needs only its start does not hold all of it.
const AT_ONCE_MAX: u64 = 1 << 20;

/// The payload of a Zstandard frame that states its size (syndic's packer
/// writes it), at most [`AT_ONCE_MAX`], unpacked in one call with a context
/// this thread keeps: a streaming decoder sets up a context of its own,
/// which cost more than unpacking an entry's text (the repacking at a
/// sync's end, and the stored texts a sync compares, unpack thousands).
/// `None` for a frame that does not say its size, says a larger one or asks
/// for a window over [`WINDOW_LOG_MAX`]: the streaming decoder takes it (and
/// refuses the last). Like it, only the first frame is read and its checksum
/// is verified. The size the frame states is allocated before it is
/// unpacked: at most [`AT_ONCE_MAX`], whatever the frame holds.
fn unpack_frame_at_once(frame: &[u8]) -> Option<Result<Vec<u8>, BodyError>> {
    thread_local! {
        static DECOMPRESSOR: RefCell<Option<zstd_safe::DCtx<'static>>> = const { RefCell::new(None) };
    }
    let size = zstd_safe::get_frame_content_size(frame).ok()??;
    if size > AT_ONCE_MAX || !window_within_limit(frame) {
        return None;
    }
    let frame = &frame[..zstd_safe::find_frame_compressed_size(frame).ok()?.min(frame.len())];
    let dictionary = match zstd_safe::get_dict_id_from_frame(frame) {
        Some(id) => match registered(id.get()) {
            Some(dictionary) => Some(dictionary),
            None => return Some(Err(BodyError::UnknownDictionary(id.get()))),
        },
        None => None,
    };
    let mut out = Vec::with_capacity(size as usize);
    let unpacked = DECOMPRESSOR.with_borrow_mut(|slot| {
        let context = slot.get_or_insert_with(zstd_safe::DCtx::create);
        match dictionary {
            Some(d) => context.decompress_using_ddict(&mut out, frame, d.decoder.as_ddict()),
            None => context.decompress(&mut out, frame),
        }
    });
    Some(match unpacked {
        Ok(n) if n as u64 == size => Ok(out),
        Ok(_) => Err(BodyError::Truncated(std::io::ErrorKind::UnexpectedEof.into())),
        Err(code) => Err(BodyError::Truncated(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            zstd_safe::get_error_name(code),
        ))),
    })
}

/// Returns true if `frame`'s header asks for a window of at most
/// 2^[`WINDOW_LOG_MAX`] bytes, the streaming decoder's limit (RFC 8878,
/// 3.1.1.1: the window descriptor follows the frame header descriptor
/// unless the frame is a single segment, whose window is its content size).
/// Unpacking in one call needs no window, but a frame the stream refuses is
/// refused either way.
fn window_within_limit(frame: &[u8]) -> bool {
    let Some(&descriptor) = frame.get(4) else { return false };
    if descriptor & 0x20 != 0 {
        return true;
    }
    let Some(&window) = frame.get(5) else { return false };
    let base = 1u64 << (10 + u32::from(window >> 3));
    base + base / 8 * u64::from(window & 7) <= 1 << WINDOW_LOG_MAX
}

/// Reads a body's payload text by text.
struct Reader<'a> {
    payload: Box<dyn Read + 'a>,
    lengths: [Option<u64>; 4],
    next: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Result<Reader<'a>, BodyError> {
        let mut payload = open_payload(bytes)?;
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

    /// Unpacks the rest of the payload (up to [`VERIFY_MAX`] bytes) only to
    /// reach the end of the frame, where zstd checks the content against
    /// its checksum: a read that stops early (a list's summary, a snippet)
    /// would otherwise show the text of a damaged body or of one read with
    /// a damaged dictionary without a word. About 10 µs for an article.
    fn verify_rest(mut self) -> Result<(), BodyError> {
        let rest: u64 = self.lengths.iter().skip(self.next).flatten().sum();
        if rest > VERIFY_MAX {
            return Ok(());
        }
        let skipped =
            std::io::copy(&mut (&mut self.payload).take(rest), &mut std::io::sink()).map_err(BodyError::Truncated)?;
        if skipped != rest {
            return Err(BodyError::Truncated(std::io::ErrorKind::UnexpectedEof.into()));
        }
        self.finish()
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
    fn short_texts_are_stored_and_long_ones_compressed() {
        let short = pack(&texts(Some("a"), None, None, None));
        assert_eq!(short.as_bytes(), &[STORED, 2, 0, 0, 0, b'a']);
        let long = "the same words again and again ".repeat(100);
        let t = texts(Some(&long), Some(&long), Some(&long), Some(&long));
        let packed = pack(&t);
        assert_eq!(packed.as_bytes()[0], ZSTD);
        assert_eq!(dictionary_id(packed.as_bytes()), None);
        assert!(packed.as_bytes().len() < long.len() / 10, "{}", packed.as_bytes().len());
        assert_eq!(pack(&t), packed, "deterministic");
        pack(&texts(Some("something else entirely"), None, Some(&long), None));
        assert_eq!(pack(&t), packed, "the same after other texts (the compressor is reused)");
        assert_eq!(unpack(packed.as_bytes()).unwrap(), t);
    }

    #[test]
    fn bodies_deflated_by_earlier_versions_are_still_read() {
        use std::io::Write;
        let t = texts(Some("summary"), Some(&"content ".repeat(200)), None, Some("<p>content</p>"));
        let mut plain = Vec::new();
        open_payload(pack(&t).as_bytes()).unwrap().read_to_end(&mut plain).unwrap();
        let mut deflater = flate2::write::DeflateEncoder::new(vec![DEFLATE], flate2::Compression::new(6));
        deflater.write_all(&plain).unwrap();
        let old = deflater.finish().unwrap();
        assert_eq!(unpack(&old).unwrap(), t);
        assert_eq!(payload(&old, usize::MAX).unwrap(), plain);
        assert_eq!(payload(&old, 10).unwrap(), plain[..10]);
    }

    /// Articles of one made-up site: shared markup, a recurring footer,
    /// each with its own words (what a store's feeds look like to a
    /// dictionary; `n` picks the words).
    fn article(n: u64) -> Texts {
        let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut words = Vec::new();
        for _ in 0..400 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            words.push(format!("w{}", x % 5_000));
        }
        let text = words.join(" ");
        let footer =
            "The post appeared first on The Harbor Gazette. Leave a Reply. Your email address will not be published.";
        texts(
            None,
            Some(&format!("{text}\n\n{footer}")),
            None,
            Some(&format!("<div class=\"entry-content\"><p>{text}</p><p class=\"footer\">{footer}</p></div>")),
        )
    }

    #[test]
    fn a_dictionary_trained_on_the_store_packs_smaller_and_round_trips() {
        let samples: Vec<Vec<u8>> =
            (0..300).map(|n| payload(pack(&article(n)).as_bytes(), usize::MAX).unwrap()).collect();
        let dictionary = register(Dictionary::train(&samples).expect("enough samples"));
        assert!(dictionary.as_bytes().len() <= DICTIONARY_SIZE);
        let (mut with, mut without) = (0, 0);
        for n in 1_000..1_050 {
            let t = article(n);
            let plain = pack(&t);
            let packed = pack_with(&t, Some(dictionary));
            assert_eq!(dictionary_id(packed.as_bytes()), Some(dictionary.id()));
            assert_eq!(unpack(packed.as_bytes()).unwrap(), t);
            let cut = unpack_plain(packed.as_bytes(), 50).unwrap();
            assert_eq!(cut.content.as_deref(), Some(&t.content_text.as_deref().unwrap()[..50]));
            assert_eq!(pack_with(&t, Some(dictionary)), packed, "deterministic");
            with += packed.as_bytes().len();
            without += plain.as_bytes().len();
        }
        // The footer and the markup cost next to nothing with the dictionary.
        assert!(with * 100 < without * 97, "{with} bytes with the dictionary, {without} without");
        // Registering the same dictionary again gives the one registered.
        let again = register(Dictionary::from_bytes(dictionary.as_bytes().to_vec()).unwrap());
        assert!(std::ptr::eq(again, dictionary));
    }

    /// What the streaming decoder makes of `frame` (the path a frame that
    /// does not state its size takes).
    fn streamed(frame: &[u8], dictionary: Option<&Dictionary>) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut decoder = match dictionary {
            Some(d) => zstd::stream::read::Decoder::with_prepared_dictionary(frame, &d.decoder)?,
            None => zstd::stream::read::Decoder::with_buffer(frame)?,
        };
        decoder.window_log_max(WINDOW_LOG_MAX)?;
        decoder.single_frame().read_to_end(&mut out)?;
        Ok(out)
    }

    /// A frame of `payload` in one raw block, stating its size, with the
    /// window descriptor `window` (not a single segment).
    fn raw_frame(payload: &[u8], window: u8) -> Vec<u8> {
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x80, window];
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&(((payload.len() as u32) << 3) | 1).to_le_bytes()[..3]);
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn a_frame_stating_its_size_and_asking_for_a_huge_window_is_refused_too() {
        let t = article(4);
        let payload = payload_of(&t);
        // 2^22 and 2^23 + 7/8 of it would be refused; 2^23 is the limit.
        for (window, ok) in
            [(12 << 3, true), (13 << 3, true), ((13 << 3) | 1, false), (14 << 3, false), (21 << 3, false)]
        {
            let frame = raw_frame(&payload, window);
            assert_eq!(streamed(&frame, None).is_ok(), ok, "window {window:#x}: the stream");
            let mut body = vec![ZSTD];
            body.extend_from_slice(&frame);
            match unpack(&body) {
                Ok(got) => assert!(ok && got == t, "window {window:#x}"),
                Err(e) => assert!(!ok && matches!(e, BodyError::Truncated(_)), "window {window:#x}: {e}"),
            }
        }
    }

    #[test]
    fn packed_bodies_are_unpacked_at_once_as_the_stream_unpacks_them() {
        let samples: Vec<Vec<u8>> =
            (9_000..9_300).map(|n| payload(pack(&article(n)).as_bytes(), usize::MAX).unwrap()).collect();
        let dictionary = register(Dictionary::train(&samples).unwrap());
        for d in [None, Some(dictionary)] {
            for n in 0..20 {
                let packed = pack_with(&article(n), d);
                let frame = &packed.as_bytes()[1..];
                let at_once = unpack_frame_at_once(frame).expect("syndic's frames state their size").unwrap();
                assert_eq!(at_once, streamed(frame, d).unwrap());
                assert_eq!(at_once, payload_of(&article(n)));
                // What follows the frame is not read, as with the stream.
                let mut longer = frame.to_vec();
                longer.extend_from_slice(frame);
                assert_eq!(unpack_frame_at_once(&longer).unwrap().unwrap(), at_once);
                // Damaged: an error where the stream gives one, the same payload where it does not.
                let mut x: u64 = n + 1;
                for i in 0..frame.len() {
                    let mut bad = frame.to_vec();
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    bad[i] ^= ((x >> 33) as u8) | 1;
                    if let Some(got) = unpack_frame_at_once(&bad) {
                        match (got, streamed(&bad, d)) {
                            (Ok(a), Ok(b)) => assert_eq!(a, b, "byte {i}"),
                            (Ok(_), Err(e)) => panic!("byte {i}: unpacked at once, the stream says {e}"),
                            (Err(e), Ok(_)) => panic!("byte {i}: the stream unpacks it, at once it is {e}"),
                            (Err(_), Err(_)) => {}
                        }
                    }
                }
            }
        }
        // A payload over AT_ONCE_MAX is left to the stream, and still round-trips.
        let long = "word ".repeat(AT_ONCE_MAX as usize / 5 + 1);
        let t = texts(None, Some(&long), None, None);
        let packed = pack(&t);
        assert!(unpack_frame_at_once(&packed.as_bytes()[1..]).is_none());
        assert_eq!(unpack(packed.as_bytes()).unwrap(), t);
    }

    #[test]
    fn a_text_packed_with_a_dictionary_the_process_does_not_know_is_an_error() {
        let samples: Vec<Vec<u8>> =
            (5_000..5_300).map(|n| payload(pack(&article(n)).as_bytes(), usize::MAX).unwrap()).collect();
        let mut bytes = zstd::dict::from_samples(&samples, DICTIONARY_SIZE).unwrap();
        // Another id than any registered one (bytes 4..8 of a dictionary).
        bytes[4..8].copy_from_slice(&0x7fff_fff1u32.to_le_bytes());
        let unknown = Dictionary::from_bytes(bytes).unwrap();
        assert_eq!(unknown.id(), 0x7fff_fff1);
        let packed = pack_with(&article(1), Some(&unknown));
        assert!(matches!(unpack(packed.as_bytes()), Err(BodyError::UnknownDictionary(0x7fff_fff1))));
        assert!(matches!(unpack_plain(packed.as_bytes(), 10), Err(BodyError::UnknownDictionary(_))));
        assert!(matches!(Dictionary::from_bytes(b"not a dictionary".to_vec()), Err(BodyError::NotADictionary)));
        assert!(Dictionary::train(&[b"too little".to_vec()]).is_none());
    }

    /// A damaged body never reads as other text, not even by a read that
    /// stops early: each of its bytes flipped in turn, every read either
    /// fails or gives the true text (the frame's checksum is checked).
    #[test]
    fn a_flipped_bit_is_an_error_even_for_a_read_that_stops_early() {
        let samples: Vec<Vec<u8>> =
            (8_000..8_300).map(|n| payload(pack(&article(n)).as_bytes(), usize::MAX).unwrap()).collect();
        let dictionary = register(Dictionary::train(&samples).unwrap());
        let t = article(4);
        for good in [pack(&t).as_bytes().to_vec(), pack_with(&t, Some(dictionary)).as_bytes().to_vec()] {
            let (mut errors, mut wrong) = (0, 0);
            for i in 1..good.len() {
                let mut bad = good.clone();
                bad[i] ^= 0x10;
                for read in [
                    unpack_summary(&bad, 40).map(|s| s == t.content_text.as_deref().unwrap()[..40]),
                    unpack_plain(&bad, 40)
                        .map(|p| p.content.as_deref() == Some(&t.content_text.as_deref().unwrap()[..40])),
                ] {
                    match read {
                        Err(_) => errors += 1,
                        Ok(true) => {}
                        Ok(false) => wrong += 1,
                    }
                }
            }
            assert_eq!(wrong, 0, "{wrong} reads gave other text ({errors} failed)");
            assert!(errors > good.len(), "{errors}");
        }
    }

    #[test]
    fn the_trainer_is_never_called_with_sizes_that_overrun_the_samples() {
        assert!(fast_cover(b"abc", &[5], TRAIN_K, TRAIN_F).is_err());
        assert!(fast_cover(b"abcdef", &[2, 2], TRAIN_K, TRAIN_F).is_err());
        assert!(fast_cover(b"", &[], TRAIN_K, TRAIN_F).is_err());
        // Sizes that fit but samples too few to learn from: zstd's own error.
        let err = fast_cover(b"abcdef", &[3, 3], TRAIN_K, TRAIN_F).unwrap_err();
        assert!(err.to_string().contains("trainer failed"), "{err}");
    }

    #[test]
    fn a_frame_asking_for_a_huge_window_is_refused() {
        // A frame packed with a 128 MiB window (syndic never writes one).
        let t = article(3);
        let data = payload(pack(&t).as_bytes(), usize::MAX).unwrap();
        // Streamed without a size: the window stays as asked.
        let mut c = zstd::stream::write::Encoder::new(vec![ZSTD], 3).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::WindowLog(27)).unwrap();
        std::io::Write::write_all(&mut c, &data).unwrap();
        let forged = c.finish().unwrap();
        let header = zstd::zstd_safe::get_frame_content_size(&forged[1..]);
        assert!(matches!(header, Ok(None)), "no content size in the header: {header:?}");
        assert!(matches!(unpack(&forged), Err(BodyError::Truncated(_))), "{:?}", unpack(&forged).map(|_| ()));
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
        let samples: Vec<Vec<u8>> =
            (7_000..7_300).map(|n| payload(pack(&article(n)).as_bytes(), usize::MAX).unwrap()).collect();
        let dictionary = register(Dictionary::train(&samples).unwrap());
        for good in [pack(&t).as_bytes().to_vec(), pack_with(&article(2), Some(dictionary)).as_bytes().to_vec()] {
            damaged_versions_fail(&good);
        }
    }

    fn damaged_versions_fail(good: &[u8]) {
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
        let good = good.to_vec();
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
