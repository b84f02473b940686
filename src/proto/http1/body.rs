//! Body framing: a sans-IO decoder for `Content-Length`, chunked (RFC 9112
//! §7.1) and read-until-close bodies, and helpers to chunk-encode uploads.
//!
//! [`BodyDecoder::decode`] never copies body data: [`Decoded::Data`] is a
//! sub-slice of the input. A line that is not complete yet (chunk size line,
//! CRLF after data, trailer line) is left unconsumed for the caller to keep
//! and extend; its length is bounded by [`MAX_CHUNK_SIZE_DIGITS`] plus
//! [`Limits::max_chunk_ext_bytes`] plus 2, or by
//! [`Limits::max_trailer_bytes`], and exceeding it is an error right away.

use super::{find_lf, is_tchar, BodyKind, Limits, ParseError};

/// Most hex digits accepted in a chunk size (leading zeros included), as in
/// curl: 16 digits already fill a u64.
pub const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// The line ending written after each chunk's data.
pub const CHUNK_TRAILER: &[u8] = b"\r\n";

/// The last chunk plus an empty trailer section: ends a chunked upload.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// One step of output from [`BodyDecoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// Body bytes: a non-empty sub-slice of the input (zero copy).
    Data(&'a [u8]),
    /// One raw trailer line of a chunked body, line ending included (for the
    /// header callback). Only returned once the whole line is in the input.
    Trailer(&'a [u8]),
    /// The body is complete; input after `consumed` belongs to the next
    /// response.
    Done,
    /// The input is used up (any unconsumed tail is an incomplete line):
    /// call again with the tail plus more bytes.
    NeedMore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `Content-Length` body with this many bytes left.
    Length(u64),
    /// Read until the connection closes.
    Eof,
    /// Expecting a chunk size line.
    Size,
    /// Inside chunk data with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// Reading trailer lines or the final empty line.
    Trailer,
    /// Complete.
    Done,
}

/// Sans-IO decoder of one response body; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
    expected: Option<u64>,
    received: u64,
    /// Length of the [`Decoded::Data`] the last call returned (0 after any
    /// other step): what [`BodyDecoder::give_back`] may take back.
    last_data: usize,
    trailer_bytes: usize,
    max_chunk_ext_bytes: usize,
    max_trailer_bytes: usize,
}

impl BodyDecoder {
    /// A decoder for a body delimited as `kind`.
    pub fn new(kind: BodyKind, limits: &Limits) -> Self {
        let (state, expected) = match kind {
            BodyKind::None => (State::Done, None),
            BodyKind::Length(0) => (State::Done, Some(0)),
            BodyKind::Length(n) => (State::Length(n), Some(n)),
            BodyKind::Chunked => (State::Size, None),
            BodyKind::Eof => (State::Eof, None),
        };
        BodyDecoder {
            state,
            expected,
            received: 0,
            last_data: 0,
            trailer_bytes: 0,
            max_chunk_ext_bytes: limits.max_chunk_ext_bytes,
            max_trailer_bytes: limits.max_trailer_bytes,
        }
    }

    /// Decodes the front of `input`. Returns how many bytes were consumed and
    /// one step of output; call again with `&input[consumed..]` (plus newly
    /// read bytes) until [`Decoded::NeedMore`] or [`Decoded::Done`]. After an
    /// error the decoder must not be used further.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Decoded<'a>), ParseError> {
        let mut pos = 0;
        self.last_data = 0;
        loop {
            let rest = input.get(pos..).unwrap_or(&[]);
            // Framing (the line end after chunk data, a chunk size line) is consumed and
            // the loop goes on; every other state gives one step.
            let framing = match self.state {
                State::Done => return Ok((pos, Decoded::Done)),
                State::Eof => return Ok(self.until_close(pos, rest)),
                State::Length(left) | State::Data(left) => return Ok(self.data(pos, rest, left)),
                State::DataEnd => self.chunk_data_end(rest)?,
                State::Size => self.chunk_size_line(rest)?,
                State::Trailer => return self.trailer_line(pos, rest),
            };
            match framing {
                Some(n) => pos += n,
                None => return Ok((pos, Decoded::NeedMore)),
            }
        }
    }

    /// A read-until-close body: all of `rest` (at `pos` in the input) is data.
    fn until_close<'a>(&mut self, pos: usize, rest: &'a [u8]) -> (usize, Decoded<'a>) {
        if rest.is_empty() {
            return (pos, Decoded::NeedMore);
        }
        self.received = self.received.saturating_add(rest.len() as u64);
        self.last_data = rest.len();
        (pos + rest.len(), Decoded::Data(rest))
    }

    /// Up to `left` bytes of `Content-Length` body or chunk data from `rest` (at `pos` in
    /// the input).
    fn data<'a>(&mut self, pos: usize, rest: &'a [u8], left: u64) -> (usize, Decoded<'a>) {
        if rest.is_empty() {
            return (pos, Decoded::NeedMore);
        }
        let n = usize::try_from(left).map_or(rest.len(), |l| l.min(rest.len()));
        let (data, _) = rest.split_at(n);
        let left = left - n as u64;
        self.received = self.received.saturating_add(n as u64);
        self.last_data = n;
        self.state = match (self.state, left) {
            (State::Length(_), 0) => State::Done,
            (State::Length(_), l) => State::Length(l),
            (_, 0) => State::DataEnd,
            (_, l) => State::Data(l),
        };
        (pos + n, Decoded::Data(data))
    }

    /// The CRLF (or LF) after chunk data: how many bytes it took, `None` if it is not all
    /// there yet.
    fn chunk_data_end(&mut self, rest: &[u8]) -> Result<Option<usize>, ParseError> {
        let n = match rest {
            [] | [b'\r'] => return Ok(None),
            [b'\n', ..] => 1,
            [b'\r', b'\n', ..] => 2,
            _ => return Err(ParseError::BadChunkTerminator),
        };
        self.state = State::Size;
        Ok(Some(n))
    }

    /// A chunk size line: how many bytes it took, `None` if it is not complete yet (what
    /// there is of it is checked already, so a bad or overlong line fails early).
    fn chunk_size_line(&mut self, rest: &[u8]) -> Result<Option<usize>, ParseError> {
        let Some(lf) = find_lf(rest) else {
            size_line(without_cr(rest), self.max_chunk_ext_bytes)?;
            return Ok(None);
        };
        let line = without_cr(rest.get(..lf).unwrap_or(&[]));
        self.state = match size_line(line, self.max_chunk_ext_bytes)? {
            Some(0) => State::Trailer,
            Some(n) => State::Data(n),
            None => return Err(ParseError::BadChunkSize),
        };
        Ok(Some(lf + 1))
    }

    /// One trailer line, or the empty line that ends the body, from `rest` (at `pos` in the
    /// input).
    fn trailer_line<'a>(
        &mut self,
        pos: usize,
        rest: &'a [u8],
    ) -> Result<(usize, Decoded<'a>), ParseError> {
        let Some(lf) = find_lf(rest) else {
            if self.trailer_bytes.saturating_add(rest.len()) > self.max_trailer_bytes {
                return Err(ParseError::TrailerTooLarge);
            }
            return Ok((pos, Decoded::NeedMore));
        };
        let (line, _) = rest.split_at(lf + 1);
        self.trailer_bytes = self.trailer_bytes.saturating_add(line.len());
        if self.trailer_bytes > self.max_trailer_bytes {
            return Err(ParseError::TrailerTooLarge);
        }
        let pos = pos + line.len();
        let content = match line {
            [c @ .., b'\r', b'\n'] | [c @ .., b'\n'] => c,
            c => c,
        };
        if content.is_empty() {
            self.state = State::Done;
            return Ok((pos, Decoded::Done));
        }
        if !is_field_line(content) {
            return Err(ParseError::BadTrailer);
        }
        Ok((pos, Decoded::Trailer(line)))
    }

    /// The peer closed the connection. Completes a read-until-close body;
    /// [`ParseError::TruncatedBody`] if a `Content-Length` or chunked body is
    /// unfinished.
    pub fn decode_eof(&mut self) -> Result<(), ParseError> {
        match self.state {
            State::Done => Ok(()),
            State::Eof => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(ParseError::TruncatedBody {
                expected: self.expected,
                received: self.received,
            }),
        }
    }

    /// Takes back the last `n` bytes of the [`Decoded::Data`] slice that the
    /// last [`decode`](Self::decode) returned, bytes the caller did not use
    /// (its consumer paused in the middle): drop `consumed - n` bytes of the
    /// input instead of `consumed`, and the next call returns the `n` bytes
    /// again. `n` is capped at that slice's length; after any other step
    /// nothing can be given back.
    pub fn give_back(&mut self, n: usize) {
        let n = n.min(self.last_data);
        if n == 0 {
            return;
        }
        self.last_data -= n;
        let k = n as u64;
        self.received = self.received.saturating_sub(k);
        self.state = match self.state {
            State::Length(left) => State::Length(left.saturating_add(k)),
            // Only a `Content-Length` body ends right after its data.
            State::Done => State::Length(k),
            State::Data(left) => State::Data(left.saturating_add(k)),
            State::DataEnd => State::Data(k),
            other => other,
        };
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes still expected for a `Content-Length` body; `None` for
    /// other kinds.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            _ => self.expected.map(|_| 0),
        }
    }

    /// Body bytes delivered so far (chunk framing excluded).
    pub fn received(&self) -> u64 {
        self.received
    }
}

/// `line` without a CR at its end.
fn without_cr(line: &[u8]) -> &[u8] {
    match line {
        [line @ .., b'\r'] => line,
        line => line,
    }
}

/// Validates a chunk size line (without its line ending), or the part of it
/// received so far. Returns the size for a line with at least one digit and
/// `None` for an empty one. Every check runs in byte order, so a prefix fails
/// exactly when, and as, the complete line would.
fn size_line(line: &[u8], max_ext: usize) -> Result<Option<u64>, ParseError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits > MAX_CHUNK_SIZE_DIGITS {
        return Err(ParseError::BadChunkSize);
    }
    let (hex, ext) = line.split_at(digits);
    if digits == 0 && !ext.is_empty() {
        return Err(ParseError::BadChunkSize);
    }
    let mut in_ext = false;
    for (i, &b) in ext.iter().enumerate() {
        if i >= max_ext {
            return Err(ParseError::ChunkExtTooLong);
        }
        let ok = match (in_ext, b) {
            (false, b' ' | b'\t') => true,
            (false, b';') => {
                in_ext = true;
                true
            }
            (false, _) => false,
            (true, b) => b == b'\t' || (b >= 0x20 && b != 0x7f),
        };
        if !ok {
            return Err(ParseError::BadChunkSize);
        }
    }
    if digits == 0 {
        return Ok(None);
    }
    // At most 16 hex digits: cannot overflow.
    let hex = std::str::from_utf8(hex).map_err(|_| ParseError::BadChunkSize)?;
    u64::from_str_radix(hex, 16)
        .map(Some)
        .map_err(|_| ParseError::BadChunkSize)
}

/// Whether `line` (no line ending) is `token ":" value` with no control
/// bytes but HTAB in the value, and not an obs-fold continuation.
fn is_field_line(line: &[u8]) -> bool {
    let name_len = line.iter().take_while(|&&b| is_tchar(b)).count();
    match line.split_at(name_len) {
        ([], _) => false,
        (_, [b':', value @ ..]) => value
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
        _ => false,
    }
}

/// Appends a chunk header for `len` data bytes: the size in hex and CRLF.
/// The caller then writes the data and [`CHUNK_TRAILER`]. `len` must not be
/// 0 (that is the last chunk: write [`LAST_CHUNK`]).
pub fn encode_chunk_header(len: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut n = len as u64;
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = HEX[(n & 0xf) as usize];
        start -= 1;
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
    out.extend_from_slice(b"\r\n");
}

/// Chunk-encodes an upload body into a send buffer.
#[derive(Debug, Clone, Default)]
pub struct ChunkedEncoder {
    finished: bool,
}

impl ChunkedEncoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `data` as one chunk (nothing for empty data, which would
    /// otherwise end the body).
    pub fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() || self.finished {
            return;
        }
        encode_chunk_header(data.len(), out);
        out.extend_from_slice(data);
        out.extend_from_slice(CHUNK_TRAILER);
    }

    /// Appends the last chunk and an empty trailer section, once.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.finished = true;
            out.extend_from_slice(LAST_CHUNK);
        }
    }

    /// Whether [`finish`](Self::finish) was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq, Default)]
    struct Out {
        data: Vec<u8>,
        trailers: Vec<Vec<u8>>,
        done: bool,
        leftover: Vec<u8>,
    }

    /// Drives a decoder the way the engine does, feeding `parts` in turn and
    /// keeping unconsumed bytes.
    fn drive(kind: BodyKind, limits: &Limits, parts: &[&[u8]]) -> Result<Out, ParseError> {
        let mut dec = BodyDecoder::new(kind, limits);
        let mut out = Out::default();
        let mut buf: Vec<u8> = Vec::new();
        for part in parts {
            buf.extend_from_slice(part);
            if out.done {
                continue;
            }
            loop {
                let (consumed, step) = dec.decode(&buf)?;
                let step = match step {
                    Decoded::Data(d) => {
                        assert!(!d.is_empty());
                        out.data.extend_from_slice(d);
                        false
                    }
                    Decoded::Trailer(t) => {
                        out.trailers.push(t.to_vec());
                        false
                    }
                    Decoded::Done => {
                        out.done = true;
                        true
                    }
                    Decoded::NeedMore => true,
                };
                buf.drain(..consumed);
                if step {
                    break;
                }
            }
        }
        assert_eq!(dec.is_done(), out.done);
        out.leftover = buf;
        Ok(out)
    }

    /// Result of feeding `input` whole, split in two at every point, and one
    /// byte at a time; asserts they all agree.
    fn all_splits(kind: BodyKind, limits: &Limits, input: &[u8]) -> Result<Out, ParseError> {
        let whole = drive(kind, limits, &[input]);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(drive(kind, limits, &[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(drive(kind, limits, &bytes), whole, "bytewise");
        whole
    }

    /// Like [`drive`] with the whole input at once, but the consumer takes at
    /// most `take` bytes of each data slice and gives the rest back.
    fn drive_taking(kind: BodyKind, input: &[u8], take: usize) -> Out {
        let mut dec = BodyDecoder::new(kind, &Limits::default());
        let mut out = Out::default();
        let mut buf = input;
        loop {
            let (consumed, step) = dec.decode(buf).unwrap();
            let mut used = consumed;
            let stop = match step {
                Decoded::Data(d) => {
                    let n = d.len().min(take);
                    out.data.extend_from_slice(&d[..n]);
                    dec.give_back(d.len() - n);
                    used -= d.len() - n;
                    assert_eq!(dec.received(), out.data.len() as u64);
                    false
                }
                Decoded::Trailer(t) => {
                    out.trailers.push(t.to_vec());
                    false
                }
                Decoded::Done => {
                    out.done = true;
                    true
                }
                Decoded::NeedMore => true,
            };
            buf = &buf[used..];
            if stop {
                break;
            }
        }
        assert_eq!(dec.is_done(), out.done);
        out.leftover = buf.to_vec();
        out
    }

    #[test]
    fn data_given_back_comes_again() {
        let chunked_body = b"5\r\nhello\r\n1\r\n \r\n5;x=y\r\nworld\r\n0\r\nA: b\r\n\r\nnext";
        let cases: [(BodyKind, &[u8]); 3] = [
            (BodyKind::Length(11), b"hello worldnext"),
            (BodyKind::Chunked, chunked_body),
            (BodyKind::Eof, b"hello world"),
        ];
        for (kind, input) in cases {
            let want = drive(kind, &Limits::default(), &[input]).unwrap();
            for take in [1, 2, 3, 4, 7, 100] {
                assert_eq!(
                    drive_taking(kind, input, take),
                    want,
                    "{kind:?} take {take}"
                );
            }
        }
        // Nothing can be given back after a step that was not data, nor more
        // than the slice.
        let mut dec = BodyDecoder::new(BodyKind::Length(3), &Limits::default());
        assert_eq!(dec.decode(b"ab").unwrap(), (2, Decoded::Data(b"ab")));
        dec.give_back(5);
        assert_eq!(dec.remaining(), Some(3));
        assert_eq!(dec.decode(b"").unwrap(), (0, Decoded::NeedMore));
        dec.give_back(1);
        assert_eq!(dec.remaining(), Some(3));
    }

    fn chunked(input: &[u8]) -> Result<Out, ParseError> {
        all_splits(BodyKind::Chunked, &Limits::default(), input)
    }

    #[test]
    fn content_length_body() {
        let out = all_splits(BodyKind::Length(5), &Limits::default(), b"helloHTTP/1.1").unwrap();
        assert_eq!(out.data, b"hello");
        assert!(out.done);
        assert_eq!(out.leftover, b"HTTP/1.1");
        let mut dec = BodyDecoder::new(BodyKind::Length(5), &Limits::default());
        assert_eq!(dec.remaining(), Some(5));
        assert_eq!(dec.decode(b"he").unwrap(), (2, Decoded::Data(b"he")));
        assert_eq!(dec.remaining(), Some(3));
        assert_eq!(dec.decode(b"").unwrap(), (0, Decoded::NeedMore));
        assert_eq!(
            dec.decode_eof(),
            Err(ParseError::TruncatedBody {
                expected: Some(5),
                received: 2
            })
        );
        assert_eq!(dec.decode(b"llo!").unwrap(), (3, Decoded::Data(b"llo")));
        assert_eq!(dec.remaining(), Some(0));
        assert_eq!(dec.decode(b"!").unwrap(), (0, Decoded::Done));
        assert_eq!(dec.decode_eof(), Ok(()));
        let mut big = BodyDecoder::new(BodyKind::Length(u64::MAX), &Limits::default());
        assert_eq!(big.decode(b"abc").unwrap(), (3, Decoded::Data(b"abc")));
        assert_eq!(big.remaining(), Some(u64::MAX - 3));
    }

    #[test]
    fn none_and_eof_bodies() {
        let mut none = BodyDecoder::new(BodyKind::None, &Limits::default());
        assert!(none.is_done());
        assert_eq!(none.decode(b"next").unwrap(), (0, Decoded::Done));
        assert_eq!(none.remaining(), None);
        let mut eof = BodyDecoder::new(BodyKind::Eof, &Limits::default());
        assert_eq!(eof.decode(b"abc").unwrap(), (3, Decoded::Data(b"abc")));
        assert_eq!(eof.decode(b"").unwrap(), (0, Decoded::NeedMore));
        assert!(!eof.is_done());
        assert_eq!(eof.decode_eof(), Ok(()));
        assert!(eof.is_done());
        assert_eq!(eof.received(), 3);
        let out = all_splits(BodyKind::Eof, &Limits::default(), b"all of it").unwrap();
        assert_eq!(out.data, b"all of it");
        assert!(!out.done);
    }

    #[test]
    fn chunked_basic_every_split() {
        let input =
            b"5\r\nhello\r\n1A;name=val;x=\"q\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nNEXT";
        let out = chunked(input).unwrap();
        assert_eq!(out.data, b"helloabcdefghijklmnopqrstuvwxyz");
        assert!(out.trailers.is_empty());
        assert!(out.done);
        assert_eq!(out.leftover, b"NEXT");
    }

    #[test]
    fn chunked_with_trailers_every_split() {
        let input = b"3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Other:\tv v\r\n\r\n";
        let out = chunked(input).unwrap();
        assert_eq!(out.data, b"abc");
        assert_eq!(
            out.trailers,
            vec![
                b"X-Checksum: 123\r\n".to_vec(),
                b"X-Other:\tv v\r\n".to_vec()
            ]
        );
        assert!(out.done);
        assert!(out.leftover.is_empty());
    }

    #[test]
    fn chunked_bare_lf_and_odd_sizes() {
        let out = chunked(b"3\nabc\n00000000000000A \t; e\nabcdefghij\n0\nT: 1\n\n").unwrap();
        assert_eq!(out.data, b"abcabcdefghij");
        assert_eq!(out.trailers, vec![b"T: 1\n".to_vec()]);
        assert!(out.done);
        let out = chunked(b"fF\r\n").unwrap();
        assert!(!out.done);
        let out = chunked(b"0;\r\n\r\n").unwrap();
        assert!(out.done);
    }

    #[test]
    fn bad_chunk_sizes() {
        for bad in [
            &b"\r\n"[..],
            b"x\r\n",
            b" 5\r\n",
            b"-5\r\n",
            b"+5\r\n",
            b"0x5\r\n",
            b"5x\r\n",
            b"5 x\r\n",
            b"5\r\r\n",
            b"5;a\rb\r\n",
            b"5;a\x00\r\n",
            b";ext\r\n",
            b"11111111111111111\r\n",
            b"00000000000000000\r\n",
        ] {
            assert_eq!(chunked(bad), Err(ParseError::BadChunkSize), "{bad:?}");
        }
        // 16 digits is the u64 maximum and fine.
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &Limits::default());
        assert_eq!(
            dec.decode(b"ffffffffffffffff\r\nab").unwrap(),
            (20, Decoded::Data(b"ab"))
        );
    }

    #[test]
    fn bad_chunk_terminator() {
        for bad in [
            &b"3\r\nabcX\r\n"[..],
            b"3\r\nabc\rX",
            b"3\r\nabc\r\r\n",
            b"3\r\nabc0\r\n\r\n",
        ] {
            assert_eq!(chunked(bad), Err(ParseError::BadChunkTerminator), "{bad:?}");
        }
    }

    #[test]
    fn chunk_ext_cap_bounds_partial_line() {
        let limits = Limits {
            max_chunk_ext_bytes: 10,
            ..Limits::default()
        };
        // Exactly 10 bytes of extension is fine.
        let ok = all_splits(BodyKind::Chunked, &limits, b"1;123456789\r\na\r\n0\r\n\r\n").unwrap();
        assert!(ok.done);
        let bad = b"1;1234567890\r\na\r\n0\r\n\r\n";
        assert_eq!(
            all_splits(BodyKind::Chunked, &limits, bad),
            Err(ParseError::ChunkExtTooLong)
        );
        // An endless size line fails without a line ending ever arriving.
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &limits);
        let mut line = b"1;".to_vec();
        let err = loop {
            line.push(b'x');
            match dec.decode(&line) {
                Ok((0, Decoded::NeedMore)) => assert!(line.len() <= 1 + 10),
                Ok(other) => panic!("{other:?}"),
                Err(e) => break e,
            }
        };
        assert_eq!(err, ParseError::ChunkExtTooLong);
        // So do endless leading zeros.
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &limits);
        assert_eq!(dec.decode(&[b'0'; 17]), Err(ParseError::BadChunkSize));
        assert_eq!(dec.decode(&[b'0'; 16]).unwrap(), (0, Decoded::NeedMore));
    }

    #[test]
    fn trailers_capped_and_validated() {
        let limits = Limits {
            max_trailer_bytes: 20,
            ..Limits::default()
        };
        // "A: 123456789012\r\n" (17) + "\r\n" (2) = 19 <= 20.
        let ok = all_splits(BodyKind::Chunked, &limits, b"0\r\nA: 123456789012\r\n\r\n").unwrap();
        assert!(ok.done);
        let exact =
            all_splits(BodyKind::Chunked, &limits, b"0\r\nA: 1234567890123\r\n\r\n").unwrap();
        assert!(exact.done);
        assert_eq!(
            all_splits(
                BodyKind::Chunked,
                &limits,
                b"0\r\nA: 12345678901234\r\n\r\n"
            ),
            Err(ParseError::TrailerTooLarge)
        );
        assert_eq!(
            all_splits(
                BodyKind::Chunked,
                &limits,
                b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
            ),
            Err(ParseError::TrailerTooLarge)
        );
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &limits);
        assert_eq!(dec.decode(b"0\r\n").unwrap(), (3, Decoded::NeedMore));
        assert_eq!(dec.decode(&[b'a'; 20]).unwrap(), (0, Decoded::NeedMore));
        assert_eq!(dec.decode(&[b'a'; 21]), Err(ParseError::TrailerTooLarge));
        for bad in [
            &b"0\r\nno colon\r\n\r\n"[..],
            b"0\r\n: v\r\n\r\n",
            b"0\r\nA b: v\r\n\r\n",
            b"0\r\n folded\r\n\r\n",
            b"0\r\nA: v\rx\r\n\r\n",
            b"0\r\nA: \x01\r\n\r\n",
        ] {
            assert_eq!(chunked(bad), Err(ParseError::BadTrailer), "{bad:?}");
        }
    }

    #[test]
    fn truncated_chunked() {
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &Limits::default());
        assert_eq!(dec.decode(b"5\r\nab").unwrap(), (5, Decoded::Data(b"ab")));
        assert_eq!(
            dec.decode_eof(),
            Err(ParseError::TruncatedBody {
                expected: None,
                received: 2
            })
        );
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &Limits::default());
        assert_eq!(dec.decode(b"0\r\n").unwrap(), (3, Decoded::NeedMore));
        assert!(dec.decode_eof().is_err());
        assert_eq!(dec.remaining(), None);
    }

    #[test]
    fn never_panics_on_garbage_chunked() {
        let alphabet = b"0123456789abcdefX\r\n;: \t=\"\x00";
        let mut seed: u32 = 7;
        for _ in 0..1500 {
            let len = (seed % 48) as usize;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                buf.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            let limits = Limits {
                max_chunk_ext_bytes: 6,
                max_trailer_bytes: 12,
                ..Limits::default()
            };
            let _ = all_splits(BodyKind::Chunked, &limits, &buf);
        }
    }

    #[test]
    fn chunk_header_encoding() {
        let enc = |n: usize| {
            let mut v = Vec::new();
            encode_chunk_header(n, &mut v);
            v
        };
        assert_eq!(enc(1), b"1\r\n");
        assert_eq!(enc(0), b"0\r\n");
        assert_eq!(enc(255), b"ff\r\n");
        assert_eq!(enc(8192), b"2000\r\n");
        assert_eq!(enc(usize::MAX), format!("{:x}\r\n", usize::MAX).as_bytes());
        let mut e = ChunkedEncoder::new();
        let mut out = Vec::new();
        e.encode(b"hello", &mut out);
        e.encode(b"", &mut out);
        e.encode(b"0123456789abcdef", &mut out);
        e.finish(&mut out);
        e.finish(&mut out);
        assert!(e.is_finished());
        assert_eq!(out, b"5\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
        // Round trip through the decoder.
        let back = chunked(&out).unwrap();
        assert_eq!(back.data, b"hello0123456789abcdef");
        assert!(back.done);
    }
}
