//! Transparent content decoding (RFC 9110 §8.4.1) for transfers that sent
//! `Accept-Encoding`: br (Brotli, RFC 7932, standard windows), zstd (RFC 8878,
//! fed one block at a time), gzip (several members in a row allowed) and deflate
//! (zlib-wrapped, or raw deflate when the first two bytes are not a valid
//! zlib header, as curl tolerates). After a gzip member, bytes that start with
//! the gzip magic byte 0x1f must form another member; any other bytes after
//! the last member, or after the end of a deflate stream, are ignored, as
//! gzip(1) and browsers do.
//!
//! The decoder is streaming and sans-IO, and its output comes in pieces no
//! larger than the caller's output buffer: encoded bytes in, a bounded piece of
//! decoded bytes out, per call (the shape of zlib's, brotli's and zstd's
//! streaming interfaces, so further codings fit the same loop). Memory is the
//! codec state (for deflate the 32 KiB window) plus the caller's buffer,
//! whatever the compression ratio: a 1 MB gzip body of 1 GiB of zeros is
//! decoded 64 KiB at a time like any other. The total output is limited by
//! `max_output` (decompression bomb guard).
//!
//! # Driving contract
//!
//! Call [`ContentDecoder::decode`] with the next body bytes and an output
//! buffer; hand the `produced` bytes on, then call again with the input not
//! yet `consumed` for as long as input is left **or** the call filled the
//! output buffer ([`ContentDecoder::output_pending`]): a full buffer may mean
//! that decoded output of input already consumed is waiting, so call again
//! even with empty input. A call with input and room for output always
//! consumes or produces something (or fails). At the end of the body, once
//! nothing is pending, call [`ContentDecoder::finish`].

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Decompress, FlushDecompress, Status};

use super::zstd::ZstdDecoder;

/// A Brotli decoder's state.
struct Brotli(BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>);

impl std::fmt::Debug for Brotli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Brotli")
    }
}

use super::{ContentCoding, Limits, ParseError};

#[derive(Debug)]
enum State {
    Identity,
    Unsupported,
    /// Inside a gzip member (header, data or trailer).
    GzipMember(Box<Decompress>),
    /// A gzip member ended; another may follow.
    GzipBetween,
    /// Fewer than two deflate bytes seen (the pending byte, if any).
    DeflateSniff(Option<u8>),
    /// Inside a zlib or raw deflate stream.
    Deflate(Box<Decompress>),
    /// Inside a Brotli stream.
    Brotli(Box<Brotli>),
    /// Inside zstd frames.
    Zstd(Box<ZstdDecoder>),
    /// The stream ended; the rest of the body is ignored.
    Ended,
}

/// Streaming decoder of one body's content coding; see the
/// [module docs](self) for the driving contract.
#[derive(Debug)]
pub struct ContentDecoder {
    state: State,
    max_output: u64,
    total_in: u64,
    total_out: u64,
    /// The last call filled its output buffer.
    full: bool,
}

impl ContentDecoder {
    /// A decoder for `coding` that fails with [`ParseError::DecodedTooLarge`]
    /// once it has produced more than `max_output` bytes in total.
    /// [`ContentCoding::Unsupported`] fails on the first body byte.
    pub fn new(coding: ContentCoding, max_output: u64) -> Self {
        let state = match coding {
            ContentCoding::Identity => State::Identity,
            ContentCoding::Gzip => State::GzipMember(new_gzip()),
            ContentCoding::Deflate => State::DeflateSniff(None),
            ContentCoding::Zstd => State::Zstd(Box::new(ZstdDecoder::new())),
            // The strict state: RFC 7932's windows of at most 16 MiB, not the large-window
            // extension (up to 1 GiB) a bomb could ask for.
            ContentCoding::Brotli => State::Brotli(Box::new(Brotli(BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            )))),
            ContentCoding::Unsupported => State::Unsupported,
        };
        ContentDecoder {
            state,
            max_output,
            total_in: 0,
            total_out: 0,
            full: false,
        }
    }

    /// [`new`](Self::new) with `limits.max_decoded_bytes`.
    pub fn with_limits(coding: ContentCoding, limits: &Limits) -> Self {
        Self::new(coding, limits.max_decoded_bytes)
    }

    /// Decoded bytes produced so far.
    pub fn decoded_len(&self) -> u64 {
        self.total_out
    }

    /// True when the last [`decode`](Self::decode) filled its output buffer:
    /// more output of input already consumed may be waiting, so call `decode`
    /// again (with empty input if there is no more) before
    /// [`finish`](Self::finish).
    pub fn output_pending(&self) -> bool {
        self.full
    }

    /// Decodes from `input` (the next body bytes) into `out`. Returns
    /// `(consumed, produced)`: the input bytes used and the decoded bytes
    /// written to the front of `out`, never more than `out.len()`. Call again
    /// with `&input[consumed..]` while input is left or
    /// [`output_pending`](Self::output_pending) (see the
    /// [module docs](self)). After an error the decoder must not be used
    /// further.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), ParseError> {
        let (mut used, mut made) = (0, 0);
        while made < out.len() {
            let rest = input.get(used..).unwrap_or(&[]);
            let room = out.get_mut(made..).unwrap_or(&mut []);
            let (u, m, more) = self.step(rest, room)?;
            used += u;
            made += m;
            if !more {
                break;
            }
        }
        self.total_in = self.total_in.saturating_add(used as u64);
        self.full = made > 0 && made == out.len();
        Ok((used, made))
    }

    /// One step of the state machine over `input` into `out` (which has
    /// room). Returns the bytes consumed and produced, and whether another
    /// step could make progress now.
    fn step(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize, bool), ParseError> {
        match &mut self.state {
            State::Identity => {
                let n = input.len().min(out.len());
                self.account(n as u64)?;
                out[..n].copy_from_slice(&input[..n]);
                Ok((n, n, false))
            }
            State::Unsupported if input.is_empty() => Ok((0, 0, false)),
            State::Unsupported => Err(ParseError::BadContentEncoding),
            State::Ended => Ok((input.len(), 0, false)),
            State::GzipBetween => match input.first() {
                None => Ok((0, 0, false)),
                Some(0x1f) => {
                    self.state = State::GzipMember(new_gzip());
                    Ok((0, 0, true))
                }
                Some(_) => {
                    self.state = State::Ended;
                    Ok((0, 0, true))
                }
            },
            State::DeflateSniff(pending) => {
                let (first, second) = match (*pending, input) {
                    (Some(a), [b, ..]) => (a, *b),
                    (None, [a, b, ..]) => (*a, *b),
                    (None, [a]) => {
                        *pending = Some(*a);
                        return Ok((1, 0, false));
                    }
                    (_, []) => return Ok((0, 0, false)),
                };
                let held = *pending;
                let mut d = Box::new(Decompress::new(is_zlib_header(first, second)));
                let mut made = 0;
                if let Some(a) = held {
                    let (used, m, ended) = self.inflate_with(&mut d, &[a], out)?;
                    made = m;
                    if used == 0 && m == 0 {
                        return Err(ParseError::BadContentEncoding);
                    }
                    if ended {
                        self.state = State::Ended;
                        return Ok((0, made, true));
                    }
                }
                self.state = State::Deflate(d);
                Ok((0, made, true))
            }
            State::Zstd(z) => {
                let (used, made, more) = z
                    .step(input, out)
                    .map_err(|_| ParseError::BadContentEncoding)?;
                self.account(made as u64)?;
                Ok((used, made, more))
            }
            State::Brotli(s) => {
                let (used, made, r) = brotli_step(s, input, out);
                self.account(made as u64)?;
                match r {
                    BrotliResult::ResultSuccess => {
                        self.state = State::Ended;
                        Ok((used, made, true))
                    }
                    BrotliResult::ResultFailure => Err(ParseError::BadContentEncoding),
                    BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {
                        Ok((used, made, false))
                    }
                }
            }
            State::GzipMember(_) | State::Deflate(_) => {
                let (used, made, ended) = self.inflate(input, out)?;
                if ended {
                    self.state = match self.state {
                        State::GzipMember(_) => State::GzipBetween,
                        _ => State::Ended,
                    };
                    return Ok((used, made, true));
                }
                if used == 0 && made == 0 && !input.is_empty() {
                    // Input and room for output, yet no progress: not a valid stream.
                    return Err(ParseError::BadContentEncoding);
                }
                Ok((used, made, false))
            }
        }
    }

    /// The body ended: an unfinished gzip or deflate stream (truncated) is
    /// [`ParseError::BadContentEncoding`]. An empty body is fine. Call it once
    /// no output is [pending](Self::output_pending).
    pub fn finish(&mut self) -> Result<(), ParseError> {
        match self.state {
            State::Identity | State::Unsupported | State::GzipBetween | State::Ended => Ok(()),
            State::GzipMember(_) | State::DeflateSniff(_) if self.total_in == 0 => Ok(()),
            State::Brotli(_) if self.total_in == 0 => Ok(()),
            State::Zstd(ref z) => z.finish().map_err(|_| ParseError::BadContentEncoding),
            State::GzipMember(_)
            | State::DeflateSniff(_)
            | State::Deflate(_)
            | State::Brotli(_) => Err(ParseError::BadContentEncoding),
        }
    }

    fn account(&mut self, produced: u64) -> Result<(), ParseError> {
        self.total_out = self.total_out.saturating_add(produced);
        if self.total_out > self.max_output {
            return Err(ParseError::DecodedTooLarge {
                limit: self.max_output,
            });
        }
        Ok(())
    }

    /// Runs the current inflater over `input`.
    fn inflate(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize, bool), ParseError> {
        let mut state = std::mem::replace(&mut self.state, State::Ended);
        let result = match &mut state {
            State::GzipMember(d) | State::Deflate(d) => self.inflate_with(d, input, out),
            _ => Ok((0, 0, false)),
        };
        self.state = state;
        result
    }

    /// One inflate call: as much of `input` as fits decoded in `out`. Returns
    /// the bytes consumed and produced, and whether the stream (or gzip
    /// member) ended.
    fn inflate_with(
        &mut self,
        d: &mut Decompress,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize, bool), ParseError> {
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let status = d
            .decompress(input, out, FlushDecompress::None)
            .map_err(|_| ParseError::BadContentEncoding)?;
        let used = usize::try_from(d.total_in() - in_before).unwrap_or(input.len());
        let made = usize::try_from(d.total_out() - out_before).unwrap_or(out.len());
        self.account(made as u64)?;
        Ok((used, made, status == Status::StreamEnd))
    }
}

/// One Brotli call over `input` into `out`: consumed, produced, and what the decoder said.
fn brotli_step(s: &mut Brotli, input: &[u8], out: &mut [u8]) -> (usize, usize, BrotliResult) {
    let (mut avail_in, mut in_off) = (input.len(), 0);
    let (mut avail_out, mut out_off) = (out.len(), 0);
    let mut total = 0;
    let r = BrotliDecompressStream(
        &mut avail_in,
        &mut in_off,
        input,
        &mut avail_out,
        &mut out_off,
        out,
        &mut total,
        &mut s.0,
    );
    (in_off, out_off, r)
}

/// Decodes `input` fed in `chunk`-byte parts into `piece`-byte outputs, following the
/// driving contract, then drains what is left and finishes (tests of every coding).
#[cfg(test)]
pub(super) fn decode_in_parts(
    coding: ContentCoding,
    input: &[u8],
    chunk: usize,
    piece: usize,
    max: u64,
) -> Result<Vec<u8>, ParseError> {
    let mut d = ContentDecoder::new(coding, max);
    let mut out = Vec::new();
    let mut buf = vec![0u8; piece];
    for mut part in input.chunks(chunk.max(1)) {
        loop {
            let (used, made) = d.decode(part, &mut buf)?;
            assert!(made <= piece);
            out.extend_from_slice(&buf[..made]);
            part = &part[used..];
            if part.is_empty() && !d.output_pending() {
                break;
            }
            assert!(used > 0 || made > 0, "no progress");
        }
    }
    // Output of the last input may still wait after the input ran out.
    loop {
        let (_, made) = d.decode(&[], &mut buf)?;
        out.extend_from_slice(&buf[..made]);
        if made == 0 {
            break;
        }
    }
    d.finish()?;
    Ok(out)
}

fn new_gzip() -> Box<Decompress> {
    Box::new(Decompress::new_gzip(15))
}

/// RFC 1950 header check: deflate method, window ≤ 32 KiB, check bits, no
/// preset dictionary.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8
        && cmf >> 4 <= 7
        && flg & 0x20 == 0
        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| {
                b"the quick brown fox jumps over the lazy dog 0123456789\n"[i % 55]
                    ^ (i / 997) as u8
            })
            .collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Decodes `input` following the driving contract, in output pieces of
    /// `piece` bytes, appending them to `out`.
    fn decode_all(
        d: &mut ContentDecoder,
        mut input: &[u8],
        piece: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ParseError> {
        let mut buf = vec![0u8; piece];
        loop {
            let (used, made) = d.decode(input, &mut buf)?;
            assert!(used <= input.len() && made <= piece);
            out.extend_from_slice(&buf[..made]);
            input = &input[used..];
            if input.is_empty() && !d.output_pending() {
                return Ok(());
            }
            assert!(used > 0 || made > 0, "no progress");
        }
    }

    fn run_pieces(
        coding: ContentCoding,
        parts: &[&[u8]],
        piece: usize,
    ) -> Result<Vec<u8>, ParseError> {
        let mut d = ContentDecoder::new(coding, MAX_TEST_OUTPUT);
        let mut out = Vec::new();
        for p in parts {
            decode_all(&mut d, p, piece, &mut out)?;
        }
        d.finish()?;
        assert_eq!(d.decoded_len(), out.len() as u64);
        Ok(out)
    }

    fn run(coding: ContentCoding, parts: &[&[u8]]) -> Result<Vec<u8>, ParseError> {
        run_pieces(coding, parts, 64 * 1024)
    }
    const MAX_TEST_OUTPUT: u64 = 1 << 30;

    /// Decodes `enc` whole, at every two-part split, and in 1-byte pieces, with
    /// output pieces of several sizes (1 byte included).
    fn every_split(coding: ContentCoding, enc: &[u8]) -> Result<Vec<u8>, ParseError> {
        let whole = run(coding, &[enc]);
        for cut in 0..=enc.len() {
            let (a, b) = enc.split_at(cut);
            assert_eq!(run(coding, &[a, b]), whole, "cut at {cut}");
            assert_eq!(run_pieces(coding, &[a, b], 997), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = enc.chunks(1).collect();
        assert_eq!(run(coding, &bytes), whole, "bytewise");
        assert_eq!(run_pieces(coding, &[enc], 1), whole, "1-byte output");
        assert_eq!(
            run_pieces(coding, &bytes, 3),
            whole,
            "bytewise, 3-byte output"
        );
        whole
    }

    #[test]
    fn gzip_round_trip_every_split() {
        let data = sample(20_000);
        let enc = gzip(&data);
        assert_eq!(every_split(ContentCoding::Gzip, &enc).unwrap(), data);
        // Large output in one call (output buffer growth).
        let big = sample(1 << 20);
        assert_eq!(run(ContentCoding::Gzip, &[&gzip(&big)]).unwrap(), big);
    }

    #[test]
    fn gzip_multi_member_and_trailing_garbage() {
        let mut enc = gzip(b"hello, ");
        enc.extend_from_slice(&gzip(b"world"));
        assert_eq!(
            every_split(ContentCoding::Gzip, &enc).unwrap(),
            b"hello, world"
        );
        let mut padded = gzip(b"data");
        padded.extend_from_slice(&[0, 0, 0, b'x']);
        assert_eq!(every_split(ContentCoding::Gzip, &padded).unwrap(), b"data");
        // A second member that starts like one but is broken is an error.
        let mut broken = gzip(b"data");
        broken.extend_from_slice(&[0x1f, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(
            run(ContentCoding::Gzip, &[&broken]),
            Err(ParseError::BadContentEncoding)
        );
    }

    #[test]
    fn gzip_garbage_and_truncation() {
        assert_eq!(
            run(ContentCoding::Gzip, &[b"this is not gzip at all"]),
            Err(ParseError::BadContentEncoding)
        );
        let enc = gzip(&sample(5000));
        // Corrupt the deflate data and the CRC.
        let mut bad = enc.clone();
        bad[20] ^= 0xff;
        assert_eq!(
            run(ContentCoding::Gzip, &[&bad]),
            Err(ParseError::BadContentEncoding)
        );
        let mut bad_crc = enc.clone();
        let n = bad_crc.len();
        bad_crc[n - 6] ^= 0x01;
        assert_eq!(
            run(ContentCoding::Gzip, &[&bad_crc]),
            Err(ParseError::BadContentEncoding)
        );
        for cut in [1, 5, 10, enc.len() / 2, enc.len() - 1] {
            assert_eq!(
                run(ContentCoding::Gzip, &[&enc[..cut]]),
                Err(ParseError::BadContentEncoding),
                "cut {cut}"
            );
        }
        // An empty body is fine.
        assert_eq!(run(ContentCoding::Gzip, &[]).unwrap(), b"");
        assert_eq!(run(ContentCoding::Gzip, &[b""]).unwrap(), b"");
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let data = sample(3000);
        assert_eq!(
            every_split(ContentCoding::Deflate, &zlib(&data)).unwrap(),
            data
        );
        assert_eq!(
            every_split(ContentCoding::Deflate, &raw_deflate(&data)).unwrap(),
            data
        );
        assert_eq!(
            run(ContentCoding::Deflate, &[b"\x78\x9cgarbage garbage"]),
            Err(ParseError::BadContentEncoding)
        );
        let enc = zlib(&data);
        assert_eq!(
            run(ContentCoding::Deflate, &[&enc[..enc.len() - 2]]),
            Err(ParseError::BadContentEncoding)
        );
        assert_eq!(
            run(ContentCoding::Deflate, &[&enc[..1]]),
            Err(ParseError::BadContentEncoding)
        );
        assert_eq!(run(ContentCoding::Deflate, &[]).unwrap(), b"");
        assert!(is_zlib_header(0x78, 0x9c));
        assert!(is_zlib_header(0x78, 0x01));
        assert!(!is_zlib_header(0x1f, 0x8b));
    }

    #[test]
    fn identity_and_unsupported() {
        assert_eq!(
            every_split(ContentCoding::Identity, b"plain").unwrap(),
            b"plain"
        );
        assert_eq!(
            run(ContentCoding::Unsupported, &[b"x"]),
            Err(ParseError::BadContentEncoding)
        );
        assert_eq!(run(ContentCoding::Unsupported, &[]).unwrap(), b"");
    }

    #[test]
    fn decompression_bomb_guard() {
        let zeros = vec![0u8; 1 << 20];
        let enc = gzip(&zeros);
        let mut d = ContentDecoder::new(ContentCoding::Gzip, 100_000);
        let mut out = Vec::new();
        assert_eq!(
            decode_all(&mut d, &enc, 4096, &mut out),
            Err(ParseError::DecodedTooLarge { limit: 100_000 })
        );
        assert!(out.len() <= 100_000);
        let mut d = ContentDecoder::new(ContentCoding::Identity, 3);
        assert_eq!(decode_all(&mut d, b"abc", 16, &mut out), Ok(()));
        assert_eq!(
            decode_all(&mut d, b"d", 16, &mut out),
            Err(ParseError::DecodedTooLarge { limit: 3 })
        );
        let limits = Limits::default();
        let d = ContentDecoder::with_limits(ContentCoding::Gzip, &limits);
        assert_eq!(d.max_output, super::super::MAX_DECODED_BYTES);
    }

    /// A bomb (1 KiB of gzip, 1 MiB of zeros) comes out in pieces of the
    /// output buffer's size, the input is consumed bit by bit as the output is
    /// taken, and output of consumed input is drained with empty input.
    #[test]
    fn a_bomb_comes_out_in_bounded_pieces() {
        let enc = gzip(&vec![0u8; 1 << 20]);
        assert!(enc.len() < 2048, "{}", enc.len());
        for coding_enc in [
            (ContentCoding::Gzip, enc),
            (ContentCoding::Deflate, zlib(&vec![0u8; 1 << 20])),
        ] {
            let (coding, enc) = coding_enc;
            let mut d = ContentDecoder::new(coding, MAX_TEST_OUTPUT);
            let mut buf = [0u8; 4096];
            let (mut input, mut total, mut calls) = (&enc[..], 0usize, 0);
            let first = d.decode(input, &mut buf).unwrap();
            assert!(first.0 < enc.len(), "one piece must not use all the input");
            assert!(d.output_pending());
            input = &input[first.0..];
            total += first.1;
            while !input.is_empty() || d.output_pending() {
                let (used, made) = d.decode(input, &mut buf).unwrap();
                assert!(buf[..made].iter().all(|&b| b == 0));
                input = &input[used..];
                total += made;
                calls += 1;
            }
            assert_eq!(total, 1 << 20);
            assert!(calls >= (1 << 20) / 4096 - 1, "{calls}");
            d.finish().unwrap();
        }
    }

    #[test]
    fn empty_output_buffer_makes_no_progress() {
        let mut d = ContentDecoder::new(ContentCoding::Gzip, MAX_TEST_OUTPUT);
        assert_eq!(d.decode(&gzip(b"data"), &mut []), Ok((0, 0)));
        assert!(!d.output_pending());
    }
}

#[cfg(test)]
mod brotli_tests {
    use super::*;
    use std::io::Write;

    fn br(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn run(input: &[u8], chunk: usize, piece: usize, max: u64) -> Result<Vec<u8>, ParseError> {
        decode_in_parts(ContentCoding::Brotli, input, chunk, piece, max)
    }

    #[test]
    fn brotli_decodes_in_any_split_and_piece_size() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
            .collect();
        let enc = br(&data);
        for (chunk, piece) in [(1, 7), (13, 4096), (4096, 65536), (enc.len(), 1 << 20)] {
            assert_eq!(
                run(&enc, chunk, piece, u64::MAX).unwrap(),
                data,
                "{chunk}/{piece}"
            );
        }
        assert_eq!(run(&[], 1, 16, u64::MAX).unwrap(), b"", "an empty body");
    }

    #[test]
    fn brotli_garbage_truncation_and_bombs_are_errors() {
        let data = vec![0u8; 4 << 20];
        let enc = br(&data);
        assert!(enc.len() < 1024, "a good bomb: {} bytes", enc.len());
        assert!(matches!(
            run(&enc, 4096, 65536, 1 << 20),
            Err(ParseError::DecodedTooLarge { .. })
        ));
        assert_eq!(run(&enc, 4096, 65536, u64::MAX).unwrap().len(), 4 << 20);
        assert_eq!(
            run(&enc[..enc.len() - 1], 4096, 65536, u64::MAX),
            Err(ParseError::BadContentEncoding),
            "truncated"
        );
        assert_eq!(
            run(b"definitely not brotli at all", 4, 64, u64::MAX),
            Err(ParseError::BadContentEncoding)
        );
    }
}
