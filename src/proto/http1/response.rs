//! Incremental response-head parser (RFC 9112 §4, §5) and the body framing
//! rules of RFC 9112 §6.3.
//!
//! [`ResponseParser::parse`] is called with the whole receive buffer after
//! every read. It remembers how far it has scanned for the end of the header
//! section (an empty line: CRLF CRLF, or bare LF as RFC 9112 §2.2 allows), so
//! repeated calls with a growing buffer cost O(new bytes); `httparse` runs
//! once, on the complete head.
//!
//! Three ways to a head, cheapest first, all giving exactly what `httparse`
//! gives (tests compare them on generated heads, the fuzz target on whole
//! against split reads):
//!
//! 1. After [`ResponseParser::recycle`], the next head is compared with the
//!    last one eight bytes at a time: when only bytes inside header values
//!    changed (a `Date`), and not to CR, LF or edge whitespace, the stored
//!    spans hold and nothing is scanned.
//! 2. A one-pass scanner for heads of the usual shape (no folding, no odd
//!    spacing), eight bytes at a time through values.
//! 3. `httparse`, for everything else, and for heads arriving in pieces.

use std::mem::MaybeUninit;

use bytes::Bytes;

use super::{find_lf, trim_ows, Limits, ParseError};

/// The HTTP version of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
    /// `HTTP/2`: a head the HTTP/2 driver wrote from a HEADERS frame (curl's `HTTP/2 200`).
    Http2,
}

/// How the body of a response is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// There is no body: the next response (or the tunnel) starts right after
    /// the head.
    None,
    /// Exactly this many bytes (`Content-Length`, never 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes the connection.
    Eof,
}

/// The content coding announced by `Content-Encoding` (RFC 9110 §8.4).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentCoding {
    /// `identity` only: the body is not encoded.
    Identity,
    /// `gzip` or `x-gzip` (RFC 1952).
    Gzip,
    /// `deflate`: zlib-wrapped deflate (RFC 1950), raw deflate tolerated.
    Deflate,
    /// `br`: Brotli (RFC 7932), with the standard window (at most 16 MiB).
    Brotli,
    /// `zstd`: Zstandard (RFC 8878), windows of at most 8 MiB (RFC 9659).
    Zstd,
    /// A coding this module cannot decode (`br`, `zstd`, `compress`, ...), or
    /// more than one coding stacked.
    Unsupported,
}

/// Byte range inside the head buffer.
type Span = (usize, usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeaderSpan {
    name: Span,
    value: Span,
}

/// The header fields the engine looks up on every response, indexed once while the head
/// is built so that framing and reuse checks never rescan the header list.
const KNOWN: [&str; 6] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "content-type",
    "content-encoding",
    "location",
];
const K_CONTENT_LENGTH: usize = 0;
const K_TRANSFER_ENCODING: usize = 1;
const K_CONNECTION: usize = 2;
const K_CONTENT_TYPE: usize = 3;
const K_CONTENT_ENCODING: usize = 4;

/// Index of `name` in [`KNOWN`] (case-insensitive).
fn known_index(name: &[u8]) -> Option<usize> {
    let i = match name.len() {
        14 => 0,
        17 => 1,
        10 => 2,
        12 => 3,
        16 => 4,
        8 => 5,
        _ => return None,
    };
    // For token names (what httparse accepts) OR-ing 0x20 lowercases letters and leaves
    // every other token byte distinct from the lowercase letters and '-' of KNOWN.
    let k = KNOWN[i].as_bytes();
    let diff = name
        .iter()
        .zip(k)
        .fold(0u8, |d, (&a, &b)| d | ((a | 0x20) ^ b));
    (diff == 0).then_some(i)
}

/// Where the [`KNOWN`] fields are: the first occurrence and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Known {
    first: [u32; KNOWN.len()],
    count: [u8; KNOWN.len()],
}

impl Known {
    /// Counts the field at `index` named `name`, if it is a [`KNOWN`] one.
    #[inline]
    fn note(&mut self, name: &[u8], index: usize) {
        if let Some(k) = known_index(name) {
            if self.count[k] == 0 {
                self.first[k] = index as u32;
            }
            self.count[k] = self.count[k].saturating_add(1);
        }
    }
}

/// A complete response head. It owns one copy of the head bytes (from the
/// status line to the final empty line) and indexes into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    raw: Vec<u8>,
    /// Copy of `raw` with CR/LF inside header values replaced by SP; only
    /// present when a value used obsolete line folding.
    unfolded: Option<Bytes>,
    head_len: usize,
    version: Version,
    status: u16,
    reason: Span,
    headers: Vec<HeaderSpan>,
    known: Known,
    /// A line of the head may be a continuation (starts with SP or HTAB): [`lines`]
    /// scans for line ends instead of using the header spans.
    ///
    /// [`lines`]: ResponseHead::lines
    may_fold: bool,
}

impl ResponseHead {
    /// A head with no bytes: the storage a parser fills.
    fn empty() -> Self {
        ResponseHead {
            raw: Vec::new(),
            unfolded: None,
            head_len: 0,
            version: Version::Http11,
            status: 0,
            reason: (0, 0),
            headers: Vec::new(),
            known: Known::default(),
            may_fold: false,
        }
    }

    /// The status code (100..=999).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The HTTP version of the status line.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The reason phrase, without the separating space and line ending
    /// (possibly empty).
    pub fn reason(&self) -> &[u8] {
        self.raw.get(self.reason.0..self.reason.1).unwrap_or(&[])
    }

    /// Number of bytes of the receive buffer that the head occupied, including
    /// any empty lines tolerated before the status line. The body (or the
    /// next response) starts at this offset.
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// The head as received, from the status line through the final empty
    /// line.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The value of the first header field called `name` (compared
    /// case-insensitively), without surrounding whitespace.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        if let Some(k) = known_index(name.as_bytes()) {
            if name.eq_ignore_ascii_case(KNOWN[k]) {
                return self.known_first(k);
            }
        }
        self.headers
            .iter()
            .find(|h| self.span(h.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| self.value(h.value))
    }

    /// The first `Content-Type` value (what [`header`](Self::header) gives for that name,
    /// without the name lookup).
    pub fn content_type(&self) -> Option<&[u8]> {
        self.known_first(K_CONTENT_TYPE)
    }

    /// The values of every header field called `name` (compared
    /// case-insensitively), in order of appearance.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| self.span(h.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(move |h| self.value(h.value))
    }

    /// Every header field as `(name, value)`, in order of appearance.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.headers.iter().map(move |h| {
            let name = std::str::from_utf8(self.span(h.name)).unwrap_or("");
            (name, self.value(h.value))
        })
    }

    /// Number of header fields.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// Every raw line of the head including its line ending: the status line,
    /// each header line (continuation lines of a folded header separately),
    /// then the final empty line. This is what curl hands to
    /// `CURLOPT_HEADERFUNCTION`, one call per line.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        // Without folded lines every header line starts where its name does, so the line
        // boundaries are known from the parse: no second scan of the head.
        let spans = !self.may_fold && !self.headers.is_empty();
        let final_len = if self.raw.ends_with(b"\n\r\n") { 2 } else { 1 };
        let mut next = 0usize;
        let mut pos = 0usize;
        let mut rest: &[u8] = &self.raw;
        std::iter::from_fn(move || {
            if spans {
                let raw = &self.raw[..];
                if pos >= raw.len() {
                    return None;
                }
                let end = match self.headers.get(next) {
                    Some(h) => h.name.0,
                    None if pos + final_len < raw.len() => raw.len() - final_len,
                    None => raw.len(),
                };
                next += 1;
                let line = raw.get(pos..end)?;
                pos = end;
                return Some(line);
            }
            if rest.is_empty() {
                return None;
            }
            let end = find_lf(rest).map_or(rest.len(), |i| i + 1);
            let (line, tail) = rest.split_at(end);
            rest = tail;
            Some(line)
        })
    }

    /// True for an interim 1xx response other than `101 Switching
    /// Protocols`: another head follows on the same connection.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// The `Content-Length`, if present. Repeated fields and comma lists are
    /// accepted when every value is the same (RFC 9112 §6.3 item 5).
    pub fn content_length(&self) -> Result<Option<u64>, ParseError> {
        match self.known.count[K_CONTENT_LENGTH] {
            0 => return Ok(None),
            1 => {
                let v = self.known_first(K_CONTENT_LENGTH).unwrap_or(&[]);
                if let Some(n) = parse_decimal(trim_ows(v)) {
                    return Ok(Some(n));
                }
            }
            _ => {}
        }
        let mut found: Option<u64> = None;
        for value in self.header_all("content-length") {
            let mut any = false;
            for item in value.split(|&b| b == b',') {
                let n = parse_decimal(trim_ows(item)).ok_or(ParseError::BadContentLength)?;
                any = true;
                match found {
                    Some(prev) if prev != n => return Err(ParseError::BadContentLength),
                    _ => found = Some(n),
                }
            }
            if !any {
                return Err(ParseError::BadContentLength);
            }
        }
        Ok(found)
    }

    /// Whether the body is chunked. `Ok(false)` without `Transfer-Encoding`;
    /// `Ok(true)` when its coding list (over all fields) is exactly
    /// `chunked`; [`ParseError::TransferEncodingUnsupported`] for any other
    /// list, since no other transfer coding can be undone here.
    pub fn is_chunked(&self) -> Result<bool, ParseError> {
        if self.known.count[K_TRANSFER_ENCODING] == 0 {
            return Ok(false);
        }
        let mut codings = tokens(self.header_all("transfer-encoding"));
        match (codings.next(), codings.next()) {
            (Some(c), None) if c.eq_ignore_ascii_case(b"chunked") => Ok(true),
            _ => Err(ParseError::TransferEncodingUnsupported),
        }
    }

    /// Whether the comma-separated `Connection` lists (over all fields) hold
    /// `token`, compared case-insensitively.
    pub fn connection_has(&self, token: &str) -> bool {
        match self.known.count[K_CONNECTION] {
            0 => return false,
            1 => {
                let v = self.known_first(K_CONNECTION).unwrap_or(&[]);
                // A plain scan: the value is a word or two, shorter than memchr's setup.
                if !v.contains(&b',') {
                    return trim_ows(v).eq_ignore_ascii_case(token.as_bytes());
                }
            }
            _ => {}
        }
        tokens(self.header_all("connection")).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Whether the server lets the connection be reused after this response
    /// (RFC 9112 §9.3): HTTP/1.1 unless `Connection: close`; HTTP/1.0 only
    /// with `Connection: keep-alive`. Also false when both
    /// `Transfer-Encoding` and `Content-Length` are present, or an HTTP/1.0
    /// response has `Transfer-Encoding` (RFC 9112 §6.1, §6.3: framing that
    /// cannot be trusted). The caller must still close after a body of kind
    /// [`BodyKind::Eof`] or any error.
    pub fn keep_alive(&self) -> bool {
        if self.connection_has("close") {
            return false;
        }
        let te = self.known.count[K_TRANSFER_ENCODING] > 0;
        if te && self.known.count[K_CONTENT_LENGTH] > 0 {
            return false;
        }
        match self.version {
            Version::Http11 | Version::Http2 => true,
            Version::Http10 => !te && self.connection_has("keep-alive"),
        }
    }

    /// The content coding from `Content-Encoding`, or `None` without one.
    /// `identity` entries are ignored; several real codings stacked give
    /// [`ContentCoding::Unsupported`].
    pub fn content_encoding(&self) -> Option<ContentCoding> {
        if self.known.count[K_CONTENT_ENCODING] == 0 {
            return None;
        }
        let mut codings = tokens(self.header_all("content-encoding"))
            .filter(|c| !c.eq_ignore_ascii_case(b"identity"));
        let coding = match (codings.next(), codings.next()) {
            (None, _) => ContentCoding::Identity,
            (Some(c), None) => {
                if c.eq_ignore_ascii_case(b"gzip") || c.eq_ignore_ascii_case(b"x-gzip") {
                    ContentCoding::Gzip
                } else if c.eq_ignore_ascii_case(b"deflate") {
                    ContentCoding::Deflate
                } else if c.eq_ignore_ascii_case(b"br") {
                    ContentCoding::Brotli
                } else if c.eq_ignore_ascii_case(b"zstd") {
                    ContentCoding::Zstd
                } else {
                    ContentCoding::Unsupported
                }
            }
            (Some(_), Some(_)) => ContentCoding::Unsupported,
        };
        Some(coding)
    }

    /// The value of the first [`KNOWN`] field number `k`, if any.
    fn known_first(&self, k: usize) -> Option<&[u8]> {
        if self.known.count[k] == 0 {
            return None;
        }
        let h = self.headers.get(self.known.first[k] as usize)?;
        Some(self.value(h.value))
    }

    fn span(&self, (a, b): Span) -> &[u8] {
        self.raw.get(a..b).unwrap_or(&[])
    }

    fn value(&self, (a, b): Span) -> &[u8] {
        self.unfolded
            .as_deref()
            .unwrap_or(&self.raw)
            .get(a..b)
            .unwrap_or(&[])
    }
}

/// The non-empty, whitespace-trimmed elements of comma-separated lists.
fn tokens<'a>(values: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = &'a [u8]> {
    values
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|t| !t.is_empty())
}

/// Parses `1*DIGIT` into a u64; `None` when empty, not digits, or too large.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    if s.len() <= 19 {
        // Cannot overflow: 19 digits stay below 2^64.
        return s.iter().try_fold(0u64, |acc, &b| {
            let d = b.wrapping_sub(b'0');
            (d < 10).then(|| acc * 10 + u64::from(d))
        });
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// How the body of `head` is delimited, per RFC 9112 §6.3: none for a
/// response to HEAD, any 1xx, 204 and 304, and a 2xx response to CONNECT
/// (the tunnel starts); chunked when `Transfer-Encoding: chunked` (which wins
/// over `Content-Length`); `Content-Length` bytes (0 gives
/// [`BodyKind::None`]); otherwise until the connection closes.
pub fn body_kind(
    head: &ResponseHead,
    request_was_head: bool,
    request_was_connect: bool,
) -> Result<BodyKind, ParseError> {
    let status = head.status();
    if request_was_head
        || (100..200).contains(&status)
        || status == 204
        || status == 304
        || (request_was_connect && (200..300).contains(&status))
    {
        return Ok(BodyKind::None);
    }
    if head.is_chunked()? {
        return Ok(BodyKind::Chunked);
    }
    Ok(match head.content_length()? {
        Some(0) => BodyKind::None,
        Some(n) => BodyKind::Length(n),
        None => BodyKind::Eof,
    })
}

/// Incremental response-head parser; see the [module docs](self).
#[derive(Debug)]
pub struct ResponseParser {
    max_header_bytes: usize,
    max_headers: usize,
    config: httparse::ParserConfig,
    /// The same without obsolete line folding, for the one-pass first attempt.
    fast_config: httparse::ParserConfig,
    /// The one-pass attempt was made for the current head.
    fast_tried: bool,
    /// Header slots for httparse, allocated when the first complete head
    /// arrives (a parser waiting for an answer holds nothing), then kept;
    /// always empty between calls (httparse fills the spare capacity).
    slots: Vec<httparse::Header<'static>>,
    /// How many slots to allocate.
    nslots: usize,
    /// Offset of the status line once it started (after leading empty lines).
    start: Option<usize>,
    /// Scan position: no head terminator starts before it.
    scanned: usize,
    /// A scanned line started with SP or HTAB: a header value may be folded.
    fold_seen: bool,
    /// Storage of a head given back with [`ResponseParser::recycle`], reused by the next
    /// (its bytes and header spans are filled in place). Boxed, so that the engine hands
    /// heads around by pointer: the box goes out with a head and comes back with it.
    spare: Option<Box<ResponseHead>>,
    /// `spare` is the whole last head given back, and the next one may be checked against
    /// it instead of scanned (see [`ResponseParser::same_shape`]).
    memo: bool,
    /// Heads come from the HTTP/2 driver (`HTTP/2 200`); on an HTTP/1.1 connection an
    /// `HTTP/2` status line is a bad version.
    http2: bool,
}

impl ResponseParser {
    /// A parser enforcing `limits.max_header_bytes` and `limits.max_headers`.
    pub fn new(limits: &Limits) -> Self {
        let mut config = httparse::ParserConfig::default();
        config
            .allow_obsolete_multiline_headers_in_responses(true)
            .allow_spaces_after_header_name_in_responses(true);
        let mut fast_config = httparse::ParserConfig::default();
        fast_config.allow_spaces_after_header_name_in_responses(true);
        // A header line takes at least 3 bytes ("a:\n"), so no head within
        // the byte cap can need more slots than this.
        let slots = limits.max_headers.min(limits.max_header_bytes / 3 + 1);
        ResponseParser {
            max_header_bytes: limits.max_header_bytes,
            max_headers: limits.max_headers,
            config,
            fast_config,
            fast_tried: false,
            http2: false,
            slots: Vec::new(),
            nslots: slots,
            start: None,
            scanned: 0,
            fold_seen: false,
            spare: None,
            memo: false,
        }
    }

    /// Whether this parser enforces exactly `limits` (so it can serve another transfer).
    pub(crate) fn has_limits(&self, limits: &Limits) -> bool {
        self.max_header_bytes == limits.max_header_bytes && self.max_headers == limits.max_headers
    }

    /// Takes back the storage of a head that is no longer needed, for the next one. A head
    /// without folded lines that started at the front of its buffer is kept as it is: the
    /// next head on the connection is usually the same but for a few value bytes (a `Date`),
    /// and the parser's first look at it compares it with this one eight bytes at a time
    /// instead of scanning it again: only changed bytes inside header values, that leave
    /// every value's ends as they were, are accepted that way; anything else is scanned.
    pub fn recycle(&mut self, head: ResponseHead) {
        let head = self.boxed(head);
        self.recycle_boxed(head);
    }

    /// [`recycle`](Self::recycle) for a head from [`parse_boxed`](Self::parse_boxed): its box
    /// is the storage of the next head.
    pub(crate) fn recycle_boxed(&mut self, mut head: Box<ResponseHead>) {
        let keep = head.unfolded.is_none()
            && !head.may_fold
            && head.raw.len() == head.head_len
            && head.head_len <= self.max_header_bytes
            && head.headers.len() <= self.max_headers;
        if !keep {
            head.unfolded = None;
        }
        self.memo = keep;
        self.spare = Some(head);
    }

    /// `head` in the spare box (a new box when there is none).
    fn boxed(&mut self, head: ResponseHead) -> Box<ResponseHead> {
        match self.spare.take() {
            Some(mut b) => {
                *b = head;
                b
            }
            None => Box::new(head),
        }
    }

    /// The head at the front of `buf` when it has the previous head's shape: the same length
    /// and the same bytes, except inside header values, where each changed byte is a value
    /// byte (HTAB, SP, VCHAR, obs-text) and not SP or HTAB at a value's first or last
    /// position. Such a head has the same lines, names and value spans (no line end, colon
    /// or trimmed whitespace moved), so it is what a scan would give: the stored spans are
    /// reused and only the changed bytes are copied. `None` (and the storage is left for a
    /// scan) for anything else. Compared eight bytes at a time.
    fn same_shape(&mut self, buf: &[u8]) -> Option<Box<ResponseHead>> {
        let spare = self.spare.as_deref_mut()?;
        let len = spare.raw.len();
        let new = buf.get(..len)?;
        let old = &mut spare.raw[..];
        let spans = &spare.headers;
        let mut k = 0;
        // Position `pos` changed to `b`: allowed inside a value, as a value byte, and not as
        // whitespace at the value's ends.
        let mut allowed = |pos: usize, b: u8| -> bool {
            while spans.get(k).is_some_and(|s| s.value.1 <= pos) {
                k += 1;
            }
            let Some(&HeaderSpan { value: (a, e), .. }) = spans.get(k) else {
                return false;
            };
            pos >= a
                && CLASS[b as usize] & C_VALUE != 0
                && !((pos == a || pos + 1 == e) && (b == b' ' || b == b'\t'))
        };
        let mut i = 0;
        while let (Some(x), Some(y)) = (word_at(new, i), word_at(old, i)) {
            let mut d = x ^ y;
            if d != 0 {
                while d != 0 {
                    let j = (d.trailing_zeros() / 8) as usize;
                    if !allowed(i + j, new[i + j]) {
                        return None;
                    }
                    d &= !(0xff << (j * 8));
                }
                old[i..i + 8].copy_from_slice(&new[i..i + 8]);
            }
            i += 8;
        }
        for j in i..len {
            if new[j] != old[j] {
                if !allowed(j, new[j]) {
                    return None;
                }
                old[j] = new[j];
            }
        }
        // The rest of the spare head (status line, spans, known fields) is the last head's.
        self.spare.take()
    }

    /// Accept the `HTTP/2` heads of the HTTP/2 driver (and no others), or HTTP/1.x only.
    pub fn set_http2(&mut self, on: bool) {
        self.http2 = on;
    }

    /// Forgets any partial scan, for a new buffer. The parser also resets
    /// itself after returning a head.
    pub fn reset(&mut self) {
        self.start = None;
        self.scanned = 0;
        self.fold_seen = false;
        self.fast_tried = false;
    }

    /// Parses the head at the front of `buf`, which must be the same buffer
    /// as on the previous call with bytes appended (or a new buffer after
    /// [`reset`](Self::reset) or a returned head). `Ok(None)`: incomplete,
    /// call again with more bytes. `Ok(Some(head))`: complete; the head
    /// occupies `buf[..head.head_len()]`.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<ResponseHead>, ParseError> {
        Ok(self.parse_boxed(buf)?.map(|mut b| {
            let head = std::mem::replace(&mut *b, ResponseHead::empty());
            self.spare.get_or_insert(b);
            head
        }))
    }

    /// [`parse`](Self::parse) giving the head in a box that goes back with
    /// [`recycle_boxed`](Self::recycle_boxed): the head is built in the parser's storage and
    /// never copied.
    pub(crate) fn parse_boxed(
        &mut self,
        buf: &[u8],
    ) -> Result<Option<Box<ResponseHead>>, ParseError> {
        if buf.len() < self.scanned {
            self.reset();
        }
        let start = match self.start {
            Some(s) => s,
            None => {
                let rest = buf.get(self.scanned..).unwrap_or(&[]);
                self.scanned += rest
                    .iter()
                    .take_while(|&&b| b == b'\r' || b == b'\n')
                    .count();
                if self.scanned >= buf.len() {
                    return self.incomplete(buf.len());
                }
                self.start = Some(self.scanned);
                self.scanned
            }
        };
        // Reject non-HTTP/1 peers (and HTTP/0.9) without waiting for a head.
        let line = buf.get(start..).unwrap_or(&[]);
        // Byte by byte (at most five): a slice comparison of unknown length calls memcmp.
        if line.iter().zip(b"HTTP/").any(|(a, b)| a != b)
            || (line.len() > 5 && (line[5] == b'2') != self.http2)
        {
            return Err(ParseError::BadVersion);
        }
        if !self.fast_tried {
            // First look at this head: it usually arrived whole, so let httparse find its
            // end in one pass (no line-by-line terminator scan first). Folded lines are not
            // allowed here, so a head that parses has none; anything else (incomplete,
            // folded, malformed, too many headers) goes the careful way below, which also
            // keeps a head arriving in many pieces linear.
            self.fast_tried = true;
            // The memo is for this first look only: whatever happens next may take or
            // change the storage it describes.
            let memo = std::mem::take(&mut self.memo);
            if start == 0 && memo {
                if let Some(head) = self.same_shape(buf) {
                    self.reset();
                    return Ok(Some(head));
                }
            }
            let slots = recycle(std::mem::take(&mut self.slots));
            let (result, slots) = self.fast_head(buf, start, slots);
            self.slots = recycle(slots);
            if let Some(head) = result {
                self.reset();
                return Ok(Some(self.boxed(head)));
            }
        }
        loop {
            match find_terminator(buf, self.scanned, &mut self.fold_seen) {
                Ok(end) => {
                    if end > self.max_header_bytes {
                        return Err(ParseError::HeadTooLarge);
                    }
                    if let Some(head) = self.parse_head(buf, start, end)? {
                        self.reset();
                        return Ok(Some(self.boxed(head)));
                    }
                    // httparse wants more than this empty line: keep looking.
                    self.scanned = end;
                }
                Err(resume) => {
                    self.scanned = resume;
                    return self.incomplete(buf.len());
                }
            }
        }
    }

    /// The one-pass attempt of [`parse`](Self::parse): `Some` only for a complete,
    /// well-formed head without folded lines within the limits.
    fn fast_head<'b>(
        &mut self,
        buf: &'b [u8],
        start: usize,
        mut slots: Vec<httparse::Header<'b>>,
    ) -> (Option<ResponseHead>, Vec<httparse::Header<'b>>) {
        let head = buf
            .get(..buf.len().min(self.max_header_bytes))
            .unwrap_or(&[]);
        let spare = self
            .spare
            .get_or_insert_with(|| Box::new(ResponseHead::empty()));
        if start == 0 {
            if let Some(h) = scan_simple(head, self.max_headers, &mut spare.raw, &mut spare.headers)
            {
                return (Some(h), slots);
            }
        }
        if slots.capacity() < self.nslots {
            slots.reserve_exact(self.nslots);
        }
        let result = build_head(
            &self.fast_config,
            head,
            start,
            &mut slots,
            self.max_headers,
            false,
            (&mut spare.raw, &mut spare.headers),
        );
        (result.ok().flatten(), slots)
    }

    fn incomplete(&self, len: usize) -> Result<Option<Box<ResponseHead>>, ParseError> {
        if len > self.max_header_bytes {
            Err(ParseError::HeadTooLarge)
        } else {
            Ok(None)
        }
    }

    fn parse_head(
        &mut self,
        buf: &[u8],
        start: usize,
        end: usize,
    ) -> Result<Option<ResponseHead>, ParseError> {
        let head = buf.get(..end).ok_or(ParseError::BadHeader)?;
        let mut slots = recycle(std::mem::take(&mut self.slots));
        if slots.capacity() < self.nslots {
            slots.reserve_exact(self.nslots);
        }
        let spare = self
            .spare
            .get_or_insert_with(|| Box::new(ResponseHead::empty()));
        let result = build_head(
            &self.config,
            head,
            start,
            &mut slots,
            self.max_headers,
            self.fold_seen,
            (&mut spare.raw, &mut spare.headers),
        );
        self.slots = recycle(slots);
        result
    }
}

/// Finds the end of the header section in `buf`, scanning from `from`:
/// `Ok(end)` just past the empty line, or `Err(resume)`, where the next scan
/// has to start.
/// Sets `fold_seen` when a line starts with SP or HTAB (obsolete line folding).
fn find_terminator(buf: &[u8], from: usize, fold_seen: &mut bool) -> Result<usize, usize> {
    let mut i = from;
    loop {
        let Some(lf) = buf.get(i..).and_then(find_lf).map(|r| r + i) else {
            return Err(buf.len().max(from));
        };
        match buf.get(lf + 1) {
            None => return Err(lf),
            Some(b'\n') => return Ok(lf + 2),
            Some(b'\r') => match buf.get(lf + 2) {
                None => return Err(lf),
                Some(b'\n') => return Ok(lf + 3),
                Some(_) => i = lf + 1,
            },
            Some(b' ' | b'\t') => {
                *fold_seen = true;
                i = lf + 1;
            }
            Some(_) => i = lf + 1,
        }
    }
}

/// Empties `v` and changes the lifetime of its (absent) elements, keeping
/// the allocation: the in-place `collect` reuses the buffer since the element
/// layout is the same. This lets the header slots be reused without `unsafe`.
fn recycle<'b>(mut v: Vec<httparse::Header<'_>>) -> Vec<httparse::Header<'b>> {
    v.clear();
    v.into_iter().map(|_| httparse::EMPTY_HEADER).collect()
}

fn map_httparse_error(e: httparse::Error) -> ParseError {
    match e {
        httparse::Error::Status | httparse::Error::Token => ParseError::BadStatusLine,
        httparse::Error::Version => ParseError::BadVersion,
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::HeaderName | httparse::Error::HeaderValue | httparse::Error::NewLine => {
            ParseError::BadHeader
        }
    }
}

/// Offset of `part` (a sub-slice of `whole`) inside `whole`.
fn offset_in(whole: &[u8], part: &[u8]) -> Result<Span, ParseError> {
    let a = (part.as_ptr() as usize)
        .checked_sub(whole.as_ptr() as usize)
        .ok_or(ParseError::BadHeader)?;
    let b = a + part.len();
    if b > whole.len() {
        return Err(ParseError::BadHeader);
    }
    Ok((a, b))
}

/// Byte classes for [`scan_simple`]: a header-name byte (tchar) and a header-value byte
/// (HTAB, SP, VCHAR, obs-text), as httparse defines them.
const C_NAME: u8 = 1;
const C_VALUE: u8 = 2;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if super::tchar_slow(b) {
            c |= C_NAME;
        }
        if b == b'\t' || (b >= 0x20 && b != 0x7f) {
            c |= C_VALUE;
        }
        t[i] = c;
        i += 1;
    }
    t
};

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The 8 bytes of `s` from `i` as a little-endian word, if there are 8.
#[inline]
fn word_at(s: &[u8], i: usize) -> Option<u64> {
    let w: [u8; 8] = s.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(w))
}

/// Index of the first byte of `s` at or after `i` that is not a header-value byte (or
/// `s.len()`). Eight bytes at a time: the lowest byte flagged as below 0x20 or DEL is a
/// real one (bytes from 0x80 up are obs-text and never flagged).
#[inline]
fn value_end(s: &[u8], mut i: usize) -> usize {
    while let Some(x) = word_at(s, i) {
        let low = x.wrapping_sub(0x20 * LO) & !x & HI;
        let d = x ^ (0x7f * LO);
        let del = d.wrapping_sub(LO) & !d & HI;
        let m = low | del;
        if m == 0 {
            i += 8;
            continue;
        }
        i += (m.trailing_zeros() / 8) as usize;
        if s[i] != b'\t' {
            return i;
        }
        i += 1;
    }
    while let Some(&b) = s.get(i) {
        if CLASS[b as usize] & C_VALUE == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// Index of the first `:` in `s` at or after `i`, or `s.len()`.
#[inline]
fn colon_at(s: &[u8], mut i: usize) -> usize {
    while let Some(x) = word_at(s, i) {
        let d = x ^ (u64::from(b':') * LO);
        let m = d.wrapping_sub(LO) & !d & HI;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    s.get(i..)
        .and_then(|r| r.iter().position(|&b| b == b':'))
        .map_or(s.len(), |p| i + p)
}

/// Past the CRLF or LF at `i`; `None` if something else is there (or nothing yet), and for
/// a line continued by SP or HTAB (folding).
#[inline]
fn line_end(buf: &[u8], i: usize) -> Option<usize> {
    let next = match *buf.get(i)? {
        b'\r' if *buf.get(i + 1)? == b'\n' => i + 2,
        b'\n' => i + 1,
        _ => return None,
    };
    if matches!(buf.get(next), Some(b' ' | b'\t')) {
        return None;
    }
    Some(next)
}

/// One pass over a head of the common shape: `HTTP/1.0` or `HTTP/1.1`, a three-digit status,
/// an optional reason, then `name: value` lines, CRLF or LF line ends, no folding, at most
/// `max_headers` fields, nothing before the status line. It gives what httparse (with this
/// module's settings) gives for such a head, without its per-call overhead (about half the
/// instructions per response in the small-request benchmark); `None` for anything else or
/// an incomplete head, which then goes to httparse. `raw` and `headers` are the storage to
/// fill.
///
/// Kept out of line: a keep-alive response usually has the last one's shape and is taken
/// by [`ResponseParser::same_shape`] without a scan, and inlined, this function made that
/// common path in its caller dearer (about 15 instructions per response in the
/// small-request benchmark) than the call costs here.
#[inline(never)]
fn scan_simple(
    buf: &[u8],
    max_headers: usize,
    raw: &mut Vec<u8>,
    headers: &mut Vec<HeaderSpan>,
) -> Option<ResponseHead> {
    let (version, status, reason, mut i) = scan_status_line(buf)?;
    headers.clear();
    let mut known = Known::default();
    // Field lines up to the empty line.
    let head_len = loop {
        match *buf.get(i)? {
            b'\r' if *buf.get(i + 1)? == b'\n' => break i + 2,
            b'\r' => return None,
            b'\n' => break i + 1,
            _ => {}
        }
        if headers.len() == max_headers {
            return None;
        }
        let (field, next) = scan_field(buf, i)?;
        known.note(&buf[field.name.0..field.name.1], headers.len());
        headers.push(field);
        i = next;
    };
    raw.clear();
    raw.extend_from_slice(buf.get(..head_len)?);
    Some(ResponseHead {
        raw: std::mem::take(raw),
        unfolded: None,
        head_len,
        version,
        status,
        reason,
        headers: std::mem::take(headers),
        known,
        may_fold: false,
    })
}

/// The status line at the front of `buf` for [`scan_simple`]: version, status, the reason's
/// span and where the next line starts.
#[inline]
fn scan_status_line(buf: &[u8]) -> Option<(Version, u16, Span, usize)> {
    let (version, at) = match buf.get(..9)? {
        b"HTTP/1.1 " => (Version::Http11, 9),
        b"HTTP/1.0 " => (Version::Http10, 9),
        [b'H', b'T', b'T', b'P', b'/', b'2', b' ', ..] => (Version::Http2, 7),
        _ => return None,
    };
    let d = buf.get(at..at + 3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status =
        u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0');
    if status < 100 {
        return None;
    }
    // The reason: SP, then HTAB / SP / VCHAR / obs-text up to the line end.
    let (reason, end) = match *buf.get(at + 3)? {
        b' ' => {
            let e = value_end(buf, at + 4);
            ((at + 4, e), e)
        }
        _ => ((at + 3, at + 3), at + 3),
    };
    Some((version, status, reason, line_end(buf, end)?))
}

/// The `name: value` line at `i` for [`scan_simple`]: its spans and where the next line
/// starts.
#[inline]
fn scan_field(buf: &[u8], mut i: usize) -> Option<(HeaderSpan, usize)> {
    // The name runs to the colon and must be all tchar (a space before the colon,
    // allowed in responses, is left to httparse).
    let colon = colon_at(buf, i);
    let name = buf.get(i..colon)?;
    if colon == buf.len()
        || name.is_empty()
        || !name.iter().all(|&b| CLASS[b as usize] & C_NAME != 0)
    {
        return None;
    }
    let name = (i, colon);
    i = colon + 1;
    while matches!(*buf.get(i)?, b' ' | b'\t') {
        i += 1;
    }
    let value_start = i;
    let mut end = value_end(buf, i);
    let next = line_end(buf, end)?;
    // Trailing SP and HTAB are not part of the value (httparse trims them too).
    while end > value_start && matches!(buf[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    Some((
        HeaderSpan {
            name,
            value: (value_start, end),
        },
        next,
    ))
}

/// Runs httparse on `buf` (the head from `start`) and builds the head from what it found,
/// in the spare storage; `Ok(None)` for an incomplete head. `slots` is httparse's header
/// array; `may_fold`: a line may be a continuation, so values are checked for line ends.
fn build_head<'b>(
    config: &httparse::ParserConfig,
    buf: &'b [u8],
    start: usize,
    slots: &mut Vec<httparse::Header<'b>>,
    max_headers: usize,
    may_fold: bool,
    (spare_raw, spare_headers): (&mut Vec<u8>, &mut Vec<HeaderSpan>),
) -> Result<Option<ResponseHead>, ParseError> {
    if buf.get(start..).is_some_and(|b| b.starts_with(b"HTTP/2 ")) {
        // The HTTP/2 driver writes whole heads of valid fields only (it resets a stream whose
        // fields are not), which the one-pass scan takes unless they are too many.
        return Err(ParseError::TooManyHeaders);
    }
    let spare: &mut [MaybeUninit<httparse::Header<'b>>] = slots.spare_capacity_mut();
    let n = spare.len().min(max_headers);
    let (spare, _) = spare.split_at_mut(n);
    let mut resp = httparse::Response::new(&mut []);
    let head_len = match config.parse_response_with_uninit_headers(&mut resp, buf, spare) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(map_httparse_error(e)),
    };
    let version = match resp.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(ParseError::BadVersion),
    };
    let status = match resp.code {
        Some(c) if c >= 100 => c,
        _ => return Err(ParseError::BadStatusLine),
    };
    let raw_slice = buf.get(start..head_len).ok_or(ParseError::BadHeader)?;
    let mut headers = std::mem::take(spare_headers);
    let (known, folded) = header_spans(raw_slice, resp.headers, may_fold, &mut headers)?;
    let unfolded = folded.then(|| unfold(raw_slice, &headers));
    let mut raw = std::mem::take(spare_raw);
    raw.clear();
    raw.extend_from_slice(raw_slice);
    Ok(Some(ResponseHead {
        raw,
        unfolded,
        head_len,
        version,
        status,
        reason: reason_span(raw_slice),
        headers,
        known,
        may_fold,
    }))
}

/// Fills `headers` with the spans in `raw` of the fields httparse found, and counts the
/// [`KNOWN`] ones. Also says whether a value has a line end in it (a folded line; only
/// looked for when `may_fold`). Always inlined: its one caller is on the per-response path
/// (heads `scan_simple` leaves to httparse), where a call cost 12 instructions a head.
#[inline(always)]
fn header_spans(
    raw: &[u8],
    found: &[httparse::Header<'_>],
    may_fold: bool,
    headers: &mut Vec<HeaderSpan>,
) -> Result<(Known, bool), ParseError> {
    headers.clear();
    headers.reserve(found.len());
    let mut folded = false;
    let mut known = Known::default();
    for (i, h) in found.iter().enumerate() {
        let name = offset_in(raw, h.name.as_bytes())?;
        let value = offset_in(raw, h.value)?;
        folded |= may_fold && memchr::memchr2(b'\r', b'\n', h.value).is_some();
        known.note(h.name.as_bytes(), i);
        headers.push(HeaderSpan { name, value });
    }
    Ok((known, folded))
}

/// The span of the reason phrase in the status line at the front of `raw`.
fn reason_span(raw: &[u8]) -> Span {
    let status_line = raw.get(..find_lf(raw).unwrap_or(raw.len())).unwrap_or(&[]);
    let line_end = match status_line {
        [rest @ .., b'\r'] => rest.len(),
        _ => status_line.len(),
    };
    // "HTTP/1.x SSS" is 12 bytes; a reason phrase follows a 13th byte (SP).
    if line_end > 12 {
        (13, line_end)
    } else {
        (line_end, line_end)
    }
}

/// A copy of `raw` with the line ends inside the `headers` values (folded lines) made SP.
fn unfold(raw: &[u8], headers: &[HeaderSpan]) -> Bytes {
    let mut copy = raw.to_vec();
    for h in headers {
        if let Some(v) = copy.get_mut(h.value.0..h.value.1) {
            for b in v.iter_mut().filter(|b| **b == b'\r' || **b == b'\n') {
                *b = b' ';
            }
        }
    }
    Bytes::from(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPICAL: &[u8] = b"HTTP/1.1 200 OK\r\n\
        Date: Mon, 27 Jul 2009 12:28:53 GMT\r\n\
        Server: Apache/2.2.14 (Win32)\r\n\
        Last-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\n\
        Content-Length: 88\r\n\
        Content-Type: text/html\r\n\
        Connection: keep-alive\r\n\
        \r\n";

    fn parse_all(buf: &[u8]) -> Result<Option<ResponseHead>, ParseError> {
        ResponseParser::new(&Limits::default()).parse(buf)
    }

    fn head(buf: &[u8]) -> ResponseHead {
        parse_all(buf).unwrap().unwrap()
    }

    /// Feeds every prefix of `buf` in turn to one parser (a growing buffer).
    fn parse_growing(
        buf: &[u8],
        limits: &Limits,
        step: usize,
    ) -> Result<Option<ResponseHead>, ParseError> {
        let mut p = ResponseParser::new(limits);
        let mut n = 0;
        loop {
            n = (n + step).min(buf.len());
            match p.parse(&buf[..n])? {
                Some(h) => return Ok(Some(h)),
                None if n == buf.len() => return Ok(None),
                None => {}
            }
        }
    }

    #[test]
    fn typical_head() {
        let mut buf = TYPICAL.to_vec();
        buf.extend_from_slice(b"body bytes");
        let h = head(&buf);
        assert_eq!(h.status(), 200);
        assert_eq!(h.version(), Version::Http11);
        assert_eq!(h.reason(), b"OK");
        assert_eq!(h.head_len(), TYPICAL.len());
        assert_eq!(h.raw(), TYPICAL);
        assert_eq!(h.header("content-length"), Some(&b"88"[..]));
        assert_eq!(h.header("CONTENT-TYPE"), Some(&b"text/html"[..]));
        assert_eq!(h.header("missing"), None);
        assert_eq!(h.header_count(), 6);
        let names: Vec<&str> = h.headers().map(|(n, _)| n).collect();
        assert_eq!(names[0], "Date");
        assert_eq!(names[5], "Connection");
        assert_eq!(h.content_length(), Ok(Some(88)));
        assert_eq!(h.is_chunked(), Ok(false));
        assert!(h.keep_alive());
        assert_eq!(body_kind(&h, false, false), Ok(BodyKind::Length(88)));
        assert_eq!(body_kind(&h, true, false), Ok(BodyKind::None));
    }

    #[test]
    fn every_split_point_same_result() {
        let full = head(TYPICAL);
        for step in 1..=TYPICAL.len() {
            let h = parse_growing(TYPICAL, &Limits::default(), step)
                .unwrap()
                .unwrap();
            assert_eq!(h.raw(), full.raw());
            assert_eq!(h.head_len(), TYPICAL.len());
        }
        // Every prefix alone is incomplete; two-part splits complete.
        for cut in 0..TYPICAL.len() {
            assert_eq!(parse_all(&TYPICAL[..cut]), Ok(None), "cut {cut}");
            let mut p = ResponseParser::new(&Limits::default());
            assert_eq!(p.parse(&TYPICAL[..cut]), Ok(None));
            assert_eq!(p.parse(TYPICAL).unwrap().unwrap().raw(), TYPICAL);
        }
    }

    #[test]
    fn lines_are_curl_header_callback_lines() {
        let h = head(TYPICAL);
        let lines: Vec<&[u8]> = h.lines().collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0], b"HTTP/1.1 200 OK\r\n");
        assert_eq!(lines[1], b"Date: Mon, 27 Jul 2009 12:28:53 GMT\r\n");
        assert_eq!(lines[7], b"\r\n");
        assert_eq!(lines.concat(), TYPICAL);
    }

    #[test]
    fn bare_lf_and_mixed_line_endings() {
        let buf = b"HTTP/1.1 404 Not Found\nA: 1\nB: 2\r\n\nrest";
        for step in 1..buf.len() {
            let h = parse_growing(buf, &Limits::default(), step)
                .unwrap()
                .unwrap();
            assert_eq!(h.status(), 404);
            assert_eq!(h.reason(), b"Not Found");
            assert_eq!(h.head_len(), buf.len() - 4);
            assert_eq!(h.header("b"), Some(&b"2"[..]));
            let lines: Vec<&[u8]> = h.lines().collect();
            assert_eq!(
                lines,
                [
                    &b"HTTP/1.1 404 Not Found\n"[..],
                    b"A: 1\n",
                    b"B: 2\r\n",
                    b"\n"
                ]
            );
        }
        let h = head(b"HTTP/1.0 200 OK\n\n");
        assert_eq!(h.header_count(), 0);
        assert_eq!(h.version(), Version::Http10);
        let h = head(b"HTTP/1.1 200 OK\n\r\n");
        assert_eq!(h.head_len(), 18);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let buf = b"\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        for step in 1..=buf.len() {
            let h = parse_growing(buf, &Limits::default(), step)
                .unwrap()
                .unwrap();
            assert_eq!(h.status(), 204);
            assert_eq!(h.head_len(), buf.len());
            assert_eq!(h.raw(), &buf[4..]);
            assert_eq!(h.lines().next(), Some(&b"HTTP/1.1 204 No Content\r\n"[..]));
        }
    }

    #[test]
    fn status_line_variants() {
        let h = head(b"HTTP/1.1 200\r\n\r\n");
        assert_eq!(h.reason(), b"");
        let h = head(b"HTTP/1.1 200 \r\n\r\n");
        assert_eq!(h.reason(), b"");
        let h = head(b"HTTP/1.1 599 Very  Odd \xff\r\n\r\n");
        assert_eq!(h.reason(), b"Very  Odd \xff");
        assert_eq!(
            parse_all(b"HTTP/1.1 20 OK\r\n\r\n"),
            Err(ParseError::BadStatusLine)
        );
        assert_eq!(
            parse_all(b"HTTP/1.1 099 x\r\n\r\n"),
            Err(ParseError::BadStatusLine)
        );
        assert_eq!(
            parse_all(b"HTTP/1.1 2000 OK\r\n\r\n"),
            Err(ParseError::BadStatusLine)
        );
        assert_eq!(
            parse_all(b"HTTP/1.1 200 O\x01K\r\n\r\n"),
            Err(ParseError::BadStatusLine)
        );
        assert_eq!(
            parse_all(b"HTTP/2 200 OK\r\n\r\n"),
            Err(ParseError::BadVersion)
        );
        assert_eq!(
            parse_all(b"HTTP/1.2 200 OK\r\n\r\n"),
            Err(ParseError::BadVersion)
        );
        assert_eq!(parse_all(b"HTTP/1.1\r\n\r\n"), Err(ParseError::BadVersion));
        // Non-HTTP peers fail early, before any terminator.
        assert_eq!(parse_all(b"<html>"), Err(ParseError::BadVersion));
        assert_eq!(parse_all(b"HTX"), Err(ParseError::BadVersion));
        assert_eq!(parse_all(b"HTT"), Ok(None));
        assert_eq!(
            parse_all(b"SSH-2.0-OpenSSH\r\n"),
            Err(ParseError::BadVersion)
        );
    }

    #[test]
    fn bad_headers() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nBad\x01Name: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: x\x00y\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n",
        ] {
            assert_eq!(parse_all(bad), Err(ParseError::BadHeader), "{bad:?}");
        }
    }

    #[test]
    fn obs_fold_is_unfolded_in_values() {
        let buf = b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nY: c\r\n\r\n";
        let h = head(buf);
        assert_eq!(h.header("x-long"), Some(&b"a    b"[..]));
        assert_eq!(h.header("y"), Some(&b"c"[..]));
        assert_eq!(h.raw(), buf);
        assert_eq!(h.lines().count(), 5);
        // Space before the colon is tolerated in responses.
        let h = head(b"HTTP/1.1 200 OK\r\nA : 1\r\n\r\n");
        assert_eq!(h.header("a"), Some(&b"1"[..]));
    }

    #[test]
    fn header_flood_past_byte_cap() {
        let limits = Limits {
            max_header_bytes: 1024,
            ..Limits::default()
        };
        let mut buf = b"HTTP/1.1 200 OK\r\n".to_vec();
        while buf.len() <= 2048 {
            buf.extend_from_slice(b"X-Flood: aaaaaaaaaaaaaaaa\r\n");
        }
        // Errors as soon as the buffer holds more than the cap.
        let mut p = ResponseParser::new(&limits);
        for n in 1..=buf.len() {
            let r = p.parse(&buf[..n]);
            if n <= 1024 {
                assert_eq!(r, Ok(None), "n={n}");
            } else {
                assert_eq!(r, Err(ParseError::HeadTooLarge));
                break;
            }
        }
        // A complete head over the cap is rejected too (split-invariant).
        buf.extend_from_slice(b"\r\n");
        assert_eq!(
            ResponseParser::new(&limits).parse(&buf),
            Err(ParseError::HeadTooLarge)
        );
        // A head of exactly the cap is fine.
        let mut exact = b"HTTP/1.1 200 OK\r\nA: ".to_vec();
        exact.resize(1024 - 4, b'a');
        exact.extend_from_slice(b"\r\n\r\n");
        assert_eq!(exact.len(), 1024);
        assert!(ResponseParser::new(&limits)
            .parse(&exact)
            .unwrap()
            .is_some());
        // Leading empty lines count against the cap as well.
        assert_eq!(
            ResponseParser::new(&limits).parse(&[b'\n'; 1025]),
            Err(ParseError::HeadTooLarge)
        );
    }

    #[test]
    fn too_many_headers() {
        let limits = Limits {
            max_headers: 4,
            ..Limits::default()
        };
        let ok = b"HTTP/1.1 200 OK\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
        let h = ResponseParser::new(&limits).parse(ok).unwrap().unwrap();
        assert_eq!(h.header_count(), 4);
        let bad = b"HTTP/1.1 200 OK\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\ne: 5\r\n\r\n";
        assert_eq!(
            ResponseParser::new(&limits).parse(bad),
            Err(ParseError::TooManyHeaders)
        );
        let mut p = ResponseParser::new(&Limits::default());
        let mut flood = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS_FOR_TEST {
            flood.extend_from_slice(format!("h{i}: v\r\n").as_bytes());
        }
        flood.extend_from_slice(b"\r\n");
        assert_eq!(p.parse(&flood), Err(ParseError::TooManyHeaders));
    }
    const MAX_HEADERS_FOR_TEST: usize = super::super::MAX_HEADERS;

    #[test]
    fn parser_reuse_keeps_slot_allocation() {
        let mut p = ResponseParser::new(&Limits::default());
        // Nothing is allocated until a head arrives, and a head of the common shape never
        // needs httparse's slots; a recycled head's storage serves the next one.
        assert_eq!(p.slots.capacity(), 0);
        let h = p.parse(TYPICAL).unwrap().unwrap();
        assert_eq!(h.status(), 200);
        let (raw, spans) = (h.raw.as_ptr(), h.headers.as_ptr());
        p.recycle(h);
        for _ in 0..3 {
            let h = p.parse(TYPICAL).unwrap().unwrap();
            assert_eq!(h.status(), 200);
            assert_eq!((h.raw.as_ptr(), h.headers.as_ptr()), (raw, spans));
            p.recycle(h);
        }
        assert_eq!(p.slots.capacity(), 0);
        // A folded head goes through httparse: its slots are allocated once, then kept.
        let folded = b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n";
        assert_eq!(
            p.parse(folded).unwrap().unwrap().header("a"),
            Some(&b"b   c"[..])
        );
        let ptr = p.slots.as_ptr();
        let cap = p.slots.capacity();
        assert!(cap > 0);
        for _ in 0..3 {
            assert!(p.parse(folded).unwrap().is_some());
            assert_eq!(p.slots.as_ptr(), ptr);
            assert_eq!(p.slots.capacity(), cap);
        }
        // A pipelined second head after the first one.
        let mut two = TYPICAL.to_vec();
        two.extend_from_slice(b"HTTP/1.1 304 Not Modified\r\n\r\n");
        let h1 = p.parse(&two).unwrap().unwrap();
        let h2 = p.parse(&two[h1.head_len()..]).unwrap().unwrap();
        assert_eq!(h2.status(), 304);
        // reset() after a partial parse.
        assert_eq!(p.parse(&TYPICAL[..30]), Ok(None));
        p.reset();
        assert_eq!(
            p.parse(b"HTTP/1.1 200 OK\r\n\r\n")
                .unwrap()
                .unwrap()
                .status(),
            200
        );
    }

    #[test]
    fn content_length_rules() {
        let cl = |v: &str| {
            let raw = format!("HTTP/1.1 200 OK\r\n{v}\r\n");
            head(raw.as_bytes()).content_length()
        };
        assert_eq!(cl(""), Ok(None));
        assert_eq!(cl("Content-Length: 0\r\n"), Ok(Some(0)));
        assert_eq!(
            cl("Content-Length: 5\r\ncontent-length: 5\r\n"),
            Ok(Some(5))
        );
        assert_eq!(cl("Content-Length: 5, 5\r\n"), Ok(Some(5)));
        assert_eq!(
            cl("Content-Length: 18446744073709551615\r\n"),
            Ok(Some(u64::MAX))
        );
        assert_eq!(
            cl("Content-Length: 9999999999999999999\r\n"),
            Ok(Some(9_999_999_999_999_999_999))
        );
        assert_eq!(
            cl("Content-Length: 0000000000000000000012\r\n"),
            Ok(Some(12))
        );
        for bad in ["Content-Length: 12/\r\n", "Content-Length: 1:2\r\n"] {
            assert_eq!(cl(bad), Err(ParseError::BadContentLength), "{bad}");
        }
        for bad in [
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 5, 6\r\n",
            "Content-Length: 5,\r\n",
            "Content-Length: \r\n",
            "Content-Length: -1\r\n",
            "Content-Length: +1\r\n",
            "Content-Length: 1 2\r\n",
            "Content-Length: 0x10\r\n",
            "Content-Length: 18446744073709551616\r\n",
        ] {
            assert_eq!(cl(bad), Err(ParseError::BadContentLength), "{bad}");
        }
    }

    #[test]
    fn transfer_encoding_rules() {
        let te = |v: &str| {
            let raw = format!("HTTP/1.1 200 OK\r\n{v}\r\n");
            head(raw.as_bytes())
        };
        assert_eq!(te("Transfer-Encoding: chunked\r\n").is_chunked(), Ok(true));
        assert_eq!(te("Transfer-Encoding: Chunked \r\n").is_chunked(), Ok(true));
        assert_eq!(te("Transfer-Encoding: ,chunked\r\n").is_chunked(), Ok(true));
        for bad in [
            "Transfer-Encoding: gzip\r\n",
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked, gzip\r\n",
            "Transfer-Encoding: chunked, chunked\r\n",
            "Transfer-Encoding: \r\n",
        ] {
            let h = te(bad);
            assert_eq!(h.is_chunked(), Err(ParseError::TransferEncodingUnsupported));
            assert_eq!(
                body_kind(&h, false, false),
                Err(ParseError::TransferEncodingUnsupported)
            );
        }
        // chunked wins over Content-Length (even an invalid one), but the
        // connection is not reused.
        let h = te("Transfer-Encoding: chunked\r\nContent-Length: nope\r\n");
        assert_eq!(body_kind(&h, false, false), Ok(BodyKind::Chunked));
        assert!(!h.keep_alive());
    }

    #[test]
    fn body_kind_rules() {
        let kind = |status: &str, extra: &str, head_req: bool, connect: bool| {
            let raw = format!("HTTP/1.1 {status}\r\n{extra}\r\n");
            body_kind(&head(raw.as_bytes()), head_req, connect)
        };
        let cl = "Content-Length: 10\r\n";
        let ch = "Transfer-Encoding: chunked\r\n";
        assert_eq!(kind("200 OK", cl, false, false), Ok(BodyKind::Length(10)));
        assert_eq!(kind("200 OK", ch, false, false), Ok(BodyKind::Chunked));
        assert_eq!(kind("200 OK", "", false, false), Ok(BodyKind::Eof));
        assert_eq!(
            kind("200 OK", "Content-Length: 0\r\n", false, false),
            Ok(BodyKind::None)
        );
        assert_eq!(kind("200 OK", cl, true, false), Ok(BodyKind::None));
        assert_eq!(kind("200 OK", ch, true, false), Ok(BodyKind::None));
        assert_eq!(kind("100 Continue", "", false, false), Ok(BodyKind::None));
        assert_eq!(kind("101 Switching", "", false, false), Ok(BodyKind::None));
        assert_eq!(kind("204 No Content", cl, false, false), Ok(BodyKind::None));
        assert_eq!(
            kind("304 Not Modified", cl, false, false),
            Ok(BodyKind::None)
        );
        assert_eq!(kind("200 OK", "", false, true), Ok(BodyKind::None));
        assert_eq!(kind("407 Auth", cl, false, true), Ok(BodyKind::Length(10)));
        assert_eq!(
            kind("200 OK", "Content-Length: x\r\n", false, false),
            Err(ParseError::BadContentLength)
        );
        // HEAD ignores even broken framing headers.
        assert_eq!(
            kind("200 OK", "Content-Length: x\r\n", true, false),
            Ok(BodyKind::None)
        );
    }

    #[test]
    fn informational() {
        assert!(head(b"HTTP/1.1 100 Continue\r\n\r\n").is_informational());
        assert!(head(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").is_informational());
        assert!(!head(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").is_informational());
        assert!(!head(b"HTTP/1.1 200 OK\r\n\r\n").is_informational());
    }

    #[test]
    fn connection_and_keep_alive() {
        let h = |raw: &str| head(raw.as_bytes());
        assert!(h("HTTP/1.1 200 OK\r\n\r\n").keep_alive());
        assert!(!h("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").keep_alive());
        assert!(!h("HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\n\r\n").keep_alive());
        assert!(!h("HTTP/1.1 200 OK\r\nConnection: x\r\nConnection: close\r\n\r\n").keep_alive());
        assert!(h("HTTP/1.1 200 OK\r\nConnection: closed\r\n\r\n").keep_alive());
        assert!(!h("HTTP/1.0 200 OK\r\n\r\n").keep_alive());
        assert!(h("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
        assert!(h("HTTP/1.0 200 OK\r\nConnection: foo,keep-alive\r\n\r\n").keep_alive());
        assert!(!h("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n\r\n").keep_alive());
        assert!(!h(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .keep_alive());
        let up = h("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n");
        assert!(up.connection_has("Upgrade"));
        assert!(!up.connection_has("keep-alive"));
    }

    #[test]
    fn content_encoding_values() {
        let ce = |v: &str| {
            let raw = format!("HTTP/1.1 200 OK\r\n{v}\r\n");
            head(raw.as_bytes()).content_encoding()
        };
        assert_eq!(ce(""), None);
        assert_eq!(ce("Content-Encoding: gzip\r\n"), Some(ContentCoding::Gzip));
        assert_eq!(
            ce("Content-Encoding: X-GZIP\r\n"),
            Some(ContentCoding::Gzip)
        );
        assert_eq!(
            ce("Content-Encoding: deflate\r\n"),
            Some(ContentCoding::Deflate)
        );
        assert_eq!(
            ce("Content-Encoding: identity\r\n"),
            Some(ContentCoding::Identity)
        );
        assert_eq!(ce("Content-Encoding: \r\n"), Some(ContentCoding::Identity));
        assert_eq!(
            ce("Content-Encoding: identity, gzip\r\n"),
            Some(ContentCoding::Gzip)
        );
        assert_eq!(ce("Content-Encoding: br\r\n"), Some(ContentCoding::Brotli));
        assert_eq!(ce("Content-Encoding: ZSTD\r\n"), Some(ContentCoding::Zstd));
        assert_eq!(
            ce("Content-Encoding: compress\r\n"),
            Some(ContentCoding::Unsupported)
        );
        assert_eq!(
            ce("Content-Encoding: gzip\r\nContent-Encoding: gzip\r\n"),
            Some(ContentCoding::Unsupported)
        );
    }

    #[test]
    fn header_all_and_iteration() {
        let h = head(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX: y\r\nset-cookie: b=2\r\n\r\n");
        let cookies: Vec<&[u8]> = h.header_all("Set-Cookie").collect();
        assert_eq!(cookies, [&b"a=1"[..], b"b=2"]);
        let all: Vec<(&str, &[u8])> = h.headers().collect();
        assert_eq!(all[1], ("X", &b"y"[..]));
        assert_eq!(h.header("set-cookie"), Some(&b"a=1"[..]));
    }

    #[test]
    fn never_panics_on_garbage() {
        // Deterministic pseudo-random bytes biased towards framing bytes.
        let alphabet = b"HTP/1.0 2\r\n:abc\x00\xff\t ";
        let mut seed: u32 = 12345;
        for _ in 0..3000 {
            let mut buf = b"HTTP/1.1 ".to_vec();
            let len = (seed % 64) as usize;
            for _ in 0..len {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                buf.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            let whole = parse_all(&buf);
            let growing = parse_growing(&buf, &Limits::default(), 1);
            // The one-pass path (whole buffer) and the careful one (byte by byte) agree on
            // everything, and the lines taken from the parse are the LF-split head.
            assert_eq!(whole.as_ref().ok(), growing.as_ref().ok(), "{buf:?}");
            assert_eq!(whole.is_err(), growing.is_err(), "{buf:?}");
            if let Ok(Some(h)) = whole {
                let _ = (h.content_length(), h.is_chunked(), h.keep_alive());
                let _ = body_kind(&h, false, false);
                let scanned: Vec<&[u8]> = h.raw().split_inclusive(|&b| b == b'\n').collect();
                assert_eq!(h.lines().collect::<Vec<_>>(), scanned, "{buf:?}");
            }
        }
    }

    /// Heads built from plausible pieces (line endings, spaces, folds, odd names, body bytes
    /// after the head), some with a byte flipped: the one-pass path (whole buffer at once)
    /// and the careful path (one byte at a time) give the same head or the same failure,
    /// and the header-callback lines are the LF-split head.
    #[test]
    fn fast_and_careful_paths_agree() {
        const STATUS: [&[u8]; 10] = [
            b"HTTP/1.1 200 OK",
            b"HTTP/1.0 404 Not Found",
            b"HTTP/1.1 204",
            b"HTTP/1.1 301 ",
            b"\r\nHTTP/1.1 100 Continue",
            b"HTTP/1.1 099 Low",
            b"HTTP/1.1 2000",
            b"HTTP/1.2 200 OK",
            b"HTTP/1.1 200 \xe9t\xe9\t",
            b"HTTP/1.1  200 OK",
        ];
        const NAMES: [&[u8]; 6] = [
            b"Content-Length",
            b"content-type",
            b"X-A",
            b"Set-Cookie",
            b"Transfer-Encoding",
            b"Location",
        ];
        const VALUES: [&[u8]; 10] = [
            b"12",
            b" text/html ",
            b"",
            b"a=1; b",
            b"chunked",
            b"/x y",
            b"\tv\t \t",
            b"caf\xc3\xa9 \x80\xff",
            b"a long value, longer than a few words of eight bytes each, to cross the SWAR loop",
            b"x\x7fy",
        ];
        let mut seed: u32 = 7;
        let mut rnd = |n: usize| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as usize % n
        };
        let (mut complete, mut folded, mut simple) = (0, 0, 0);
        for _ in 0..20_000 {
            let eol: &[u8] = if rnd(4) == 0 { b"\n" } else { b"\r\n" };
            let mut buf = STATUS[rnd(STATUS.len())].to_vec();
            buf.extend_from_slice(eol);
            for _ in 0..rnd(9) {
                buf.extend_from_slice(NAMES[rnd(NAMES.len())]);
                if rnd(8) == 0 {
                    buf.push(b' ');
                }
                buf.push(b':');
                if rnd(2) == 0 {
                    buf.push(b' ');
                }
                buf.extend_from_slice(VALUES[rnd(VALUES.len())]);
                if rnd(10) == 0 {
                    buf.extend_from_slice(eol);
                    buf.extend_from_slice(b" continued");
                }
                buf.extend_from_slice(eol);
            }
            buf.extend_from_slice(if rnd(4) == 0 { b"\n" } else { b"\r\n" });
            buf.extend_from_slice(&b"body\r\n\r\nmore"[..rnd(13)]);
            if rnd(5) == 0 {
                let i = rnd(buf.len());
                buf[i] = b"\r\n :\x00\xffA\t\x7f\x1f"[rnd(10)];
            }
            // Sometimes few header slots, so that heads run out of them.
            let limits = Limits {
                max_headers: if rnd(4) == 0 {
                    3
                } else {
                    Limits::default().max_headers
                },
                ..Limits::default()
            };
            let whole = ResponseParser::new(&limits).parse(&buf);
            let growing = parse_growing(&buf, &limits, 1);
            assert_eq!(whole.as_ref().ok(), growing.as_ref().ok(), "{buf:?}");
            assert_eq!(whole.is_err(), growing.is_err(), "{buf:?}");
            // The one-pass scanner, called directly: whatever it accepts, httparse (byte by
            // byte above) accepts the same way.
            if let Some(h) = scan_simple(&buf, limits.max_headers, &mut Vec::new(), &mut Vec::new())
            {
                simple += 1;
                assert_eq!(Some(&Some(h)), growing.as_ref().ok(), "{buf:?}");
            }
            if let Ok(Some(h)) = whole {
                complete += 1;
                if h.raw().windows(2).any(|w| w == b"\n ") {
                    folded += 1;
                }
                let scanned: Vec<&[u8]> = h.raw().split_inclusive(|&b| b == b'\n').collect();
                assert_eq!(h.lines().collect::<Vec<_>>(), scanned, "{buf:?}");
            }
        }
        // Not vacuous: most inputs are complete heads, some of them folded.
        assert!(
            complete > 5_000 && folded > 500 && simple > 2_000,
            "{complete} complete, {folded} folded, {simple} by the one-pass scanner"
        );
    }

    #[test]
    fn same_shape_agrees_with_a_scan() {
        // Heads of every shape the scanners accept, each given back to its parser, then a
        // copy with a few bytes changed (anywhere: values, names, line ends, the status
        // line) parsed by that parser: the result must be what a fresh parser gives, and a
        // head taken by `same_shape` exactly what a scan gives.
        const HEADS: [&[u8]; 6] = [
            b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 21:27:57 GMT\r\n\
              Content-Type: application/octet-stream\r\nContent-Length: 1024\r\n\
              Connection: keep-alive\r\nETag: \"6925ab3c-400\"\r\n\r\n",
            b"HTTP/1.0 404 Not Found\nX-A: \tv\tw \nX-Empty:\nLocation: /x y\n\n",
            b"HTTP/1.1 204\r\nX-Obs: caf\xc3\xa9 \x80\xff\r\nX-B : spaced name\r\n\r\n",
            b"HTTP/1.1 200 \xe9t\xe9\r\nContent-Length: 12\r\n\r\n",
            b"HTTP/1.1 301 \r\nA: 1\r\nB: 22\r\nC: 333\r\nD: a long value, longer than a few words\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\r\n Folded: no\r\n\r\n",
        ];
        const BYTES: &[u8] = b"\r\n \t:\x00\x7f\x80\xffaZ09,;\"";
        let mut seed: u32 = 11;
        let mut rnd = |n: usize| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as usize % n
        };
        let limits = Limits::default();
        let (mut taken, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let base = HEADS[rnd(HEADS.len())];
            let mut p = ResponseParser::new(&limits);
            let Ok(Some(first)) = p.parse(base) else {
                continue;
            };
            p.recycle(first);
            let kept = p.memo;
            let mut buf = base.to_vec();
            for _ in 0..1 + rnd(3) {
                let i = rnd(buf.len());
                buf[i] = if rnd(2) == 0 {
                    BYTES[rnd(BYTES.len())]
                } else {
                    b'0' + rnd(10) as u8
                };
            }
            match rnd(6) {
                0 => buf.truncate(rnd(buf.len())),
                1 => buf.extend_from_slice(b"body"),
                _ => {}
            }
            let fresh = ResponseParser::new(&limits).parse(&buf);
            if kept {
                // The comparison alone, on a parser in the same state.
                let mut q = ResponseParser::new(&limits);
                let h = q.parse(base).unwrap().unwrap();
                q.recycle(h);
                assert!(std::mem::take(&mut q.memo), "kept as in p");
                match q.same_shape(&buf) {
                    Some(h) => {
                        taken += 1;
                        assert_eq!(fresh.as_ref().ok(), Some(&Some(*h)), "{buf:?}");
                    }
                    None => refused += 1,
                }
            }
            let got = p.parse(&buf);
            assert_eq!(got.as_ref().ok(), fresh.as_ref().ok(), "{buf:?}");
            assert_eq!(got.is_err(), fresh.is_err(), "{buf:?}");
        }
        // Not vacuous: many changed heads are taken by the comparison, many refused.
        assert!(
            taken > 1_500 && refused > 5_000,
            "{taken} taken, {refused} refused"
        );
    }

    #[test]
    fn a_boxed_head_goes_back_as_the_storage_of_the_next() {
        let mut p = ResponseParser::new(&Limits::default());
        let h = p.parse_boxed(TYPICAL).unwrap().unwrap();
        assert_eq!(*h, head(TYPICAL));
        let at: *const ResponseHead = &*h;
        p.recycle_boxed(h);
        // The next head differs in its Date: taken by the comparison, in the same box.
        let mut next = TYPICAL.to_vec();
        let i = next.windows(8).position(|w| w == b"12:28:53").unwrap();
        next[i + 7] = b'4';
        let h = p.parse_boxed(&next).unwrap().unwrap();
        assert!(std::ptr::eq(at, &*h), "no copy, no new box");
        assert_eq!(*h, head(&next));
        // A head of another shape is scanned into the same box.
        p.recycle_boxed(h);
        let other = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let h = p.parse_boxed(other).unwrap().unwrap();
        assert!(std::ptr::eq(at, &*h));
        assert_eq!(*h, head(other));
    }

    #[test]
    fn same_shape_is_used_for_the_next_head() {
        let limits = Limits::default();
        let mut p = ResponseParser::new(&limits);
        let a = TYPICAL.to_vec();
        let h = p.parse(&a).unwrap().unwrap();
        p.recycle(h);
        assert!(p.memo);
        // A folded head is not kept; an unchanged one is taken as it is.
        let h = p.parse(&a).unwrap().unwrap();
        assert_eq!(h, head(&a));
        assert!(!p.memo, "the memo is spent on the first look");
        p.recycle(h);
        let mut p2 = ResponseParser::new(&limits);
        let folded = b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n";
        let h = p2.parse(folded).unwrap().unwrap();
        p2.recycle(h);
        assert!(!p2.memo);
    }
}
