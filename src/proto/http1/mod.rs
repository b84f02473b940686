//! Sans-IO HTTP/1.1 message framing for the client side (RFC 9112).
//!
//! This module does no I/O, reads no clock and owns no socket: the transfer
//! engine reads bytes from the connection into its own buffer and hands them
//! to the parsers here, and writes out the bytes that the encoders produce.
//! Nothing here panics on any peer input; every resource bound is a named
//! `pub const` default plus a field in [`Limits`].
//!
//! # Driving contract
//!
//! 1. **Request** ([`request`]): build a [`RequestHead`] and call
//!    [`RequestHead::encode`] to append the request line and header section
//!    (RFC 9112 §3, §5) to the send buffer. [`framing::decide`] says how the
//!    body is delimited, from the body and the framing the caller asked for:
//!    sent raw (with `Content-Length`) or framed with [`encode_chunk_header`] /
//!    [`CHUNK_TRAILER`] / [`LAST_CHUNK`] (RFC 9112 §7.1).
//! 2. **Response head** ([`response`]): append received bytes to a buffer and
//!    call [`ResponseParser::parse`] with the *whole* buffer after each read.
//!    It returns `Ok(None)` until the header section is complete (the scan is
//!    resumed where it stopped, so repeated calls cost O(new bytes)), then
//!    `Ok(Some(head))`; drop `head.head_len()` bytes from the front of the
//!    buffer and call [`ResponseParser::reset`] before the next response.
//!    An informational head ([`ResponseHead::is_informational`], 1xx except
//!    101) is followed by another head on the same connection
//!    (RFC 9110 §15.2).
//! 3. **Body framing**: [`body_kind`] applies RFC 9112 §6.3 to the head and
//!    the request method. Build a [`BodyDecoder`] from it and call
//!    [`BodyDecoder::decode`] on the unconsumed bytes in a loop: drop
//!    `consumed` bytes, deliver [`Decoded::Data`] (a zero-copy sub-slice of
//!    the input) and [`Decoded::Trailer`] lines, and stop on
//!    [`Decoded::NeedMore`] (read more, append, call again with whatever was
//!    left unconsumed plus the new bytes) or [`Decoded::Done`] (anything after
//!    `consumed` belongs to the next response). On EOF from the peer call
//!    [`BodyDecoder::decode_eof`]: it completes a read-until-close body and
//!    reports [`ParseError::TruncatedBody`] for an unfinished one.
//!    A partial line left unconsumed is bounded by the limits, so the caller's
//!    buffer cannot grow without bound.
//! 4. **Content coding** ([`content`]): if the transfer asked for decoding,
//!    feed the body data through a [`ContentDecoder`] built from
//!    [`ResponseHead::content_encoding`] (RFC 9110 §8.4), one bounded output
//!    piece per call, and call [`ContentDecoder::finish`] at the end of the
//!    body. A caller that stops in the middle of a [`Decoded::Data`] slice
//!    (its consumer paused) gives the undecoded rest back with
//!    [`BodyDecoder::give_back`] and keeps those bytes buffered: decoded
//!    output never has to be stored, whatever the compression ratio.
//! 5. **Connection reuse**: [`ResponseHead::keep_alive`] (RFC 9112 §9.3) says
//!    whether the peer allows reuse; a body of kind [`BodyKind::Eof`] always
//!    ends the connection, and so does any [`ParseError`].
//!
//! # Choices and deviations from the original brief
//!
//! * `Transfer-Encoding` whose coding list is anything other than exactly
//!   `chunked` (e.g. `gzip`, `gzip, chunked`, `chunked, chunked`) is rejected
//!   with [`ParseError::TransferEncodingUnsupported`] instead of falling back
//!   to read-until-close (RFC 9112 §6.3 item 4): this engine cannot undo
//!   other transfer codings, and silently handing the still-encoded bytes on
//!   as the body would corrupt data. `chunked` wins over `Content-Length`
//!   (which is then not validated).
//! * [`ParseError::DecodedTooLarge`] was added (decompression bomb guard), and
//!   [`Limits`] gained `max_decoded_bytes` for it.
//! * [`ContentCoding`] has an extra `Unsupported` variant for unknown or
//!   stacked content codings; a [`ContentDecoder`] for it fails on the first
//!   byte, like curl's "Unrecognized content encoding type".
//! * [`RequestHead::encode`] returns `Result<(), RequestError>` (it rejects
//!   CR/LF/NUL in names and values, a method that is not a token, and a target
//!   or host with whitespace or control bytes).
//! * [`ChunkedEncoder`] is a small stateful helper; the free function
//!   [`encode_chunk_header`] and the constants are the zero-copy primitives.
//! * [`ResponseHead::raw`] and [`ResponseHead::lines`] start at the status
//!   line: empty lines received before it (tolerated, RFC 9112 §2.2) are
//!   counted in [`ResponseHead::head_len`] but not shown.
//! * Obsolete line folding (RFC 9112 §5.2) is accepted in responses: the
//!   header *values* returned have each CR/LF replaced by SP, while `raw()` and
//!   `lines()` show the bytes as received.
//! * A chunk size line may hold at most [`MAX_CHUNK_SIZE_DIGITS`] hex digits
//!   (curl's limit, a u64 cannot hold more), whitespace before `;`, and no
//!   control bytes in its extensions.
//! * Additions: [`ResponseHead::header_count`], [`RequestHead::validate`],
//!   [`BodyDecoder::received`], [`ContentDecoder::with_limits`],
//!   [`ContentDecoder::decoded_len`], [`ChunkedEncoder::new`] /
//!   [`ChunkedEncoder::encode`] / [`ChunkedEncoder::finish`].
//! * [`ResponseParser`] resets itself after returning a head, so `reset()` is
//!   only needed to abandon a partial head.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod body;
pub mod content;
pub mod exchange;
pub mod framing;
pub mod request;
pub mod response;
mod zstd;

use std::fmt;

pub use body::{
    encode_chunk_header, BodyDecoder, ChunkedEncoder, Decoded, CHUNK_TRAILER, LAST_CHUNK,
    MAX_CHUNK_SIZE_DIGITS,
};
pub use content::ContentDecoder;
pub use exchange::{Exchange, ExchangeError, HeadEvent, RecvPhase, RequestShape, SendPhase};
pub use framing::{BodySource, Framing, FramingError};
pub(crate) use request::HeadWriter;
pub use request::{has_header, RequestError, RequestHead};
pub use response::{body_kind, BodyKind, ContentCoding, ResponseHead, ResponseParser, Version};
pub use zstd::ZSTD_MAX_WINDOW;

/// Default cap on the size of a response header section, including the status
/// line and the terminating empty line (curl's `CURL_MAX_HTTP_HEADER`).
pub const MAX_HEADER_BYTES: usize = 100 * 1024;

/// Default cap on the bytes of all response heads of one request, interim (1xx) ones included
/// (curl's `MAX_HTTP_RESP_HEADER_SIZE`).
pub const MAX_RESPONSE_HEADS_BYTES: usize = 300 * 1024;
/// Default cap on the number of header fields in one response head.
pub const MAX_HEADERS: usize = 128;
/// Default cap on the bytes that follow the hex digits on one chunk size line
/// (chunk extensions and the whitespace before them, line ending excluded).
pub const MAX_CHUNK_EXT_BYTES: usize = 4096;
/// Default cap on the whole trailer section of a chunked body, every trailer
/// line and the final empty line included.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// Default cap on the total output of one [`ContentDecoder`] (1 TiB): large
/// enough never to break a real download, so it only stops a runaway
/// decompression bomb. Integrators should lower it (e.g. to the transfer's
/// maximum file size) where one is known.
pub const MAX_DECODED_BYTES: u64 = 1 << 40;

/// Resource limits applied to everything a peer sends. `Limits::default()`
/// uses the `MAX_*` constants of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a response head in bytes ([`MAX_HEADER_BYTES`]).
    pub max_header_bytes: usize,
    /// Maximum number of header fields in a response head ([`MAX_HEADERS`]).
    pub max_headers: usize,
    /// Maximum bytes after the size on a chunk size line
    /// ([`MAX_CHUNK_EXT_BYTES`]).
    pub max_chunk_ext_bytes: usize,
    /// Maximum size of a chunked trailer section ([`MAX_TRAILER_BYTES`]).
    pub max_trailer_bytes: usize,
    /// Maximum decoded output of a content decoder ([`MAX_DECODED_BYTES`]).
    pub max_decoded_bytes: u64,
    /// Maximum bytes of all the heads answering one request, interim (1xx) heads included
    /// ([`MAX_RESPONSE_HEADS_BYTES`]): endless `102 Processing` answers end here.
    pub max_response_heads_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: MAX_HEADER_BYTES,
            max_headers: MAX_HEADERS,
            max_chunk_ext_bytes: MAX_CHUNK_EXT_BYTES,
            max_trailer_bytes: MAX_TRAILER_BYTES,
            max_decoded_bytes: MAX_DECODED_BYTES,
            max_response_heads_bytes: MAX_RESPONSE_HEADS_BYTES,
        }
    }
}

/// Everything that can be wrong with what the peer sent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The status line is malformed: bad status code (not three digits, or
    /// below 100), bad separator, or forbidden bytes in the reason phrase.
    BadStatusLine,
    /// The response does not start with `HTTP/1.0` or `HTTP/1.1` (this also
    /// catches HTTP/0.9 responses and non-HTTP peers).
    BadVersion,
    /// A header line is malformed (bad field name, forbidden bytes in a value,
    /// missing colon, bare CR).
    BadHeader,
    /// The response head is larger than [`Limits::max_header_bytes`].
    HeadTooLarge,
    /// The response head has more fields than [`Limits::max_headers`].
    TooManyHeaders,
    /// `Content-Length` is empty, not a decimal number, too large for a u64,
    /// or repeated with different values (RFC 9112 §6.3 item 5).
    BadContentLength,
    /// A chunk size is empty, not hexadecimal, preceded by garbage, longer
    /// than [`MAX_CHUNK_SIZE_DIGITS`] digits, or followed by bytes that are
    /// not a chunk extension.
    BadChunkSize,
    /// The chunk extensions on one size line exceed
    /// [`Limits::max_chunk_ext_bytes`].
    ChunkExtTooLong,
    /// The chunk data is not followed by CRLF (or a bare LF).
    BadChunkTerminator,
    /// The trailer section exceeds [`Limits::max_trailer_bytes`].
    TrailerTooLarge,
    /// A trailer line is not a valid `name: value` field line.
    BadTrailer,
    /// The peer closed the connection before the body was complete.
    TruncatedBody {
        /// The declared body length, when `Content-Length` framed the body.
        expected: Option<u64>,
        /// The body bytes received before the end of the connection.
        received: u64,
    },
    /// `Transfer-Encoding` holds a coding list other than exactly `chunked`.
    TransferEncodingUnsupported,
    /// The body is not valid data in its content coding (gzip or deflate
    /// garbage, truncated stream, or an unsupported coding).
    BadContentEncoding,
    /// Content decoding produced more than the configured maximum output.
    DecodedTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::BadStatusLine => f.write_str("malformed HTTP status line"),
            ParseError::BadVersion => f.write_str("unsupported or malformed HTTP version"),
            ParseError::BadHeader => f.write_str("malformed HTTP header line"),
            ParseError::HeadTooLarge => f.write_str("HTTP response head too large"),
            ParseError::TooManyHeaders => f.write_str("too many HTTP response headers"),
            ParseError::BadContentLength => f.write_str("invalid Content-Length"),
            ParseError::BadChunkSize => f.write_str("invalid chunk size line"),
            ParseError::ChunkExtTooLong => f.write_str("chunk extension too long"),
            ParseError::BadChunkTerminator => f.write_str("chunk data not followed by CRLF"),
            ParseError::TrailerTooLarge => f.write_str("chunked trailer section too large"),
            ParseError::BadTrailer => f.write_str("malformed chunked trailer line"),
            ParseError::TruncatedBody {
                expected: Some(e),
                received,
            } => write!(f, "connection closed after {received} of {e} body bytes"),
            ParseError::TruncatedBody {
                expected: None,
                received,
            } => write!(
                f,
                "connection closed inside the chunked body after {received} bytes"
            ),
            ParseError::TransferEncodingUnsupported => {
                f.write_str("unsupported Transfer-Encoding (only chunked is supported)")
            }
            ParseError::BadContentEncoding => f.write_str("bad content encoding in body"),
            ParseError::DecodedTooLarge { limit } => {
                write!(f, "decoded body exceeds {limit} bytes")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// True for the bytes RFC 9110 §5.6.2 allows in a token (`tchar`); a table lookup (this
/// runs over the method and every header name of every request).
fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

const fn tchar_slow(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = tchar_slow(i as u8);
        i += 1;
    }
    t
};

/// Trims optional whitespace (SP / HTAB) from both ends.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Position of the first LF in `s`.
fn find_lf(s: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Content-decodes `data` in 512-byte output pieces (the driving contract of
    /// [`content`]), appending to `body`.
    fn decode_into(
        c: &mut ContentDecoder,
        mut data: &[u8],
        body: &mut Vec<u8>,
    ) -> Result<(), ParseError> {
        let mut piece = [0u8; 512];
        while !data.is_empty() || c.output_pending() {
            let (used, made) = c.decode(data, &mut piece)?;
            body.extend_from_slice(&piece[..made]);
            data = &data[used..];
        }
        Ok(())
    }

    #[test]
    fn limits_default_to_the_constants() {
        let l = Limits::default();
        assert_eq!(l.max_header_bytes, 100 * 1024);
        assert_eq!(l.max_headers, MAX_HEADERS);
        assert_eq!(l.max_chunk_ext_bytes, MAX_CHUNK_EXT_BYTES);
        assert_eq!(l.max_trailer_bytes, MAX_TRAILER_BYTES);
        assert_eq!(l.max_decoded_bytes, MAX_DECODED_BYTES);
    }

    #[test]
    fn errors_display() {
        let all = [
            ParseError::BadStatusLine,
            ParseError::BadVersion,
            ParseError::BadHeader,
            ParseError::HeadTooLarge,
            ParseError::TooManyHeaders,
            ParseError::BadContentLength,
            ParseError::BadChunkSize,
            ParseError::ChunkExtTooLong,
            ParseError::BadChunkTerminator,
            ParseError::TrailerTooLarge,
            ParseError::BadTrailer,
            ParseError::TruncatedBody {
                expected: Some(10),
                received: 3,
            },
            ParseError::TruncatedBody {
                expected: None,
                received: 3,
            },
            ParseError::TransferEncodingUnsupported,
            ParseError::BadContentEncoding,
            ParseError::DecodedTooLarge { limit: 5 },
        ];
        for e in all {
            let boxed: Box<dyn std::error::Error> = Box::new(e.clone());
            assert!(!boxed.to_string().is_empty(), "{e:?}");
        }
        assert_eq!(
            ParseError::TruncatedBody {
                expected: Some(10),
                received: 3
            }
            .to_string(),
            "connection closed after 3 of 10 body bytes"
        );
    }

    /// The whole driving contract on one connection's byte stream: a 100
    /// Continue, a gzip'd chunked 200 with a trailer, then a pipelined 304,
    /// delivered in small reads.
    #[test]
    fn end_to_end_connection() {
        use std::io::Write;
        let payload = b"hello hello hello hello, decoded world".repeat(20);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&payload).unwrap();
        let gz = gz.finish().unwrap();

        let mut wire = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
        wire.extend_from_slice(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        let mut enc = ChunkedEncoder::new();
        for part in gz.chunks(37) {
            enc.encode(part, &mut wire);
        }
        wire.extend_from_slice(b"0\r\nX-Sum: 1\r\n\r\n");
        wire.extend_from_slice(b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");

        for read_size in [1, 3, 7, 64, wire.len()] {
            let limits = Limits::default();
            let mut parser = ResponseParser::new(&limits);
            let mut reads = wire.chunks(read_size);
            let mut buf: Vec<u8> = Vec::new();
            let mut statuses = Vec::new();
            let mut header_lines = Vec::new();
            let mut body = Vec::new();
            while statuses.len() < 3 {
                let head = loop {
                    if let Some(h) = parser.parse(&buf).unwrap() {
                        break h;
                    }
                    buf.extend_from_slice(reads.next().expect("head incomplete"));
                };
                buf.drain(..head.head_len());
                statuses.push(head.status());
                header_lines.extend(head.lines().map(<[u8]>::to_vec));
                if head.is_informational() {
                    continue;
                }
                let kind = body_kind(&head, false, false).unwrap();
                let mut dec = BodyDecoder::new(kind, &limits);
                let mut cdec = head
                    .content_encoding()
                    .map(|c| ContentDecoder::with_limits(c, &limits));
                loop {
                    let (used, step) = dec.decode(&buf).unwrap();
                    let step = match step {
                        Decoded::Data(d) => match cdec.as_mut() {
                            Some(c) => decode_into(c, d, &mut body).map(|()| None),
                            None => {
                                body.extend_from_slice(d);
                                Ok(None)
                            }
                        },
                        Decoded::Trailer(t) => {
                            header_lines.push(t.to_vec());
                            Ok(None)
                        }
                        Decoded::Done => Ok(Some(true)),
                        Decoded::NeedMore => Ok(Some(false)),
                    }
                    .unwrap();
                    buf.drain(..used);
                    match step {
                        Some(true) => break,
                        Some(false) => buf.extend_from_slice(reads.next().expect("body")),
                        None => {}
                    }
                }
                if let Some(c) = cdec.as_mut() {
                    c.finish().unwrap();
                }
                assert!(head.keep_alive());
            }
            assert_eq!(statuses, [100, 200, 304]);
            assert_eq!(body, payload);
            assert!(header_lines.contains(&b"X-Sum: 1\r\n".to_vec()));
            assert_eq!(header_lines.last().unwrap(), b"\r\n");
            assert!(buf.is_empty() && reads.next().is_none());
        }
    }
}
