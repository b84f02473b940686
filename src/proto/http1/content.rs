//! Transparent content decoding (RFC 9110 §8.4.1) for transfers that sent
//! `Accept-Encoding`: gzip (several members in a row allowed) and deflate
//! (zlib-wrapped, or raw deflate when the first two bytes are not a valid
//! zlib header, as curl tolerates). After a gzip member, bytes that start with
//! the gzip magic byte 0x1f must form another member; any other bytes after
//! the last member, or after the end of a deflate stream, are ignored, as
//! gzip(1) and browsers do.
//!
//! The decoder is streaming and sans-IO. Output is limited in total by
//! `max_output` (decompression bomb guard), not per call: deflate expands at
//! most about 1032:1, so callers should feed bounded input slices (a 16 KiB
//! read becomes at most ~16 MiB of output in one call).

use flate2::{Decompress, FlushDecompress, Status};

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
    /// The stream ended; the rest of the body is ignored.
    Ended,
}

/// Streaming decoder of one body's content coding.
#[derive(Debug)]
pub struct ContentDecoder {
    state: State,
    max_output: u64,
    total_in: u64,
    total_out: u64,
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
            ContentCoding::Unsupported => State::Unsupported,
        };
        ContentDecoder {
            state,
            max_output,
            total_in: 0,
            total_out: 0,
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

    /// Decodes `input` (the next body bytes), appending the output to `out`.
    /// After an error the decoder must not be used further.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ParseError> {
        self.total_in = self.total_in.saturating_add(input.len() as u64);
        let mut input = input;
        while !input.is_empty() {
            match &mut self.state {
                State::Identity => {
                    self.account(input.len() as u64)?;
                    out.extend_from_slice(input);
                    return Ok(());
                }
                State::Unsupported => return Err(ParseError::BadContentEncoding),
                State::Ended => return Ok(()),
                State::GzipBetween => {
                    if input.first() == Some(&0x1f) {
                        self.state = State::GzipMember(new_gzip());
                    } else {
                        self.state = State::Ended;
                    }
                }
                State::DeflateSniff(pending) => {
                    let (first, second) = match (*pending, input) {
                        (Some(a), [b, ..]) => (a, *b),
                        (None, [a, b, ..]) => (*a, *b),
                        (None, [a]) => {
                            *pending = Some(*a);
                            return Ok(());
                        }
                        (_, []) => return Ok(()),
                    };
                    let held = *pending;
                    let mut d = Box::new(Decompress::new(is_zlib_header(first, second)));
                    if let Some(a) = held {
                        let (_, ended) = self.inflate_with(&mut d, &[a], out)?;
                        if ended {
                            self.state = State::Ended;
                            continue;
                        }
                    }
                    self.state = State::Deflate(d);
                }
                State::GzipMember(_) | State::Deflate(_) => {
                    let (used, ended) = self.inflate(input, out)?;
                    input = input.get(used..).unwrap_or(&[]);
                    if ended {
                        self.state = match self.state {
                            State::GzipMember(_) => State::GzipBetween,
                            _ => State::Ended,
                        };
                    }
                }
            }
        }
        Ok(())
    }

    /// The body ended: an unfinished gzip or deflate stream (truncated) is
    /// [`ParseError::BadContentEncoding`]. An empty body is fine.
    pub fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), ParseError> {
        match self.state {
            State::Identity | State::Unsupported | State::GzipBetween | State::Ended => Ok(()),
            State::GzipMember(_) | State::DeflateSniff(_) if self.total_in == 0 => Ok(()),
            State::GzipMember(_) | State::DeflateSniff(_) | State::Deflate(_) => {
                Err(ParseError::BadContentEncoding)
            }
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
    fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool), ParseError> {
        let mut state = std::mem::replace(&mut self.state, State::Ended);
        let result = match &mut state {
            State::GzipMember(d) | State::Deflate(d) => self.inflate_with(d, input, out),
            _ => Ok((0, false)),
        };
        self.state = state;
        result
    }

    /// Inflates as much of `input` as possible. Returns the bytes consumed
    /// and whether the stream (or gzip member) ended.
    fn inflate_with(
        &mut self,
        d: &mut Decompress,
        mut input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), ParseError> {
        const MIN_SPARE: usize = 1024;
        const GROW: usize = 32 * 1024;
        let mut used = 0;
        loop {
            if out.capacity() - out.len() < MIN_SPARE {
                out.reserve(GROW);
            }
            let (in_before, out_before) = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(input, out, FlushDecompress::None)
                .map_err(|_| ParseError::BadContentEncoding)?;
            let consumed = usize::try_from(d.total_in() - in_before).unwrap_or(input.len());
            let produced = d.total_out() - out_before;
            self.account(produced)?;
            input = input.get(consumed..).unwrap_or(&[]);
            used += consumed;
            match status {
                Status::StreamEnd => return Ok((used, true)),
                Status::Ok | Status::BufError => {
                    let full = out.capacity() == out.len();
                    if consumed == 0 && produced == 0 {
                        if input.is_empty() || full {
                            return Ok((used, false));
                        }
                        return Err(ParseError::BadContentEncoding);
                    }
                    if input.is_empty() && !full {
                        return Ok((used, false));
                    }
                }
            }
        }
    }
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

    fn run(coding: ContentCoding, parts: &[&[u8]]) -> Result<Vec<u8>, ParseError> {
        let mut d = ContentDecoder::new(coding, MAX_TEST_OUTPUT);
        let mut out = Vec::new();
        for p in parts {
            d.decode(p, &mut out)?;
        }
        d.finish(&mut out)?;
        assert_eq!(d.decoded_len(), out.len() as u64);
        Ok(out)
    }
    const MAX_TEST_OUTPUT: u64 = 1 << 30;

    /// Decodes `enc` whole, at every two-part split, and in 1-byte pieces.
    fn every_split(coding: ContentCoding, enc: &[u8]) -> Result<Vec<u8>, ParseError> {
        let whole = run(coding, &[enc]);
        for cut in 0..=enc.len() {
            let (a, b) = enc.split_at(cut);
            assert_eq!(run(coding, &[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = enc.chunks(1).collect();
        assert_eq!(run(coding, &bytes), whole, "bytewise");
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
            d.decode(&enc, &mut out),
            Err(ParseError::DecodedTooLarge { limit: 100_000 })
        );
        assert!(out.len() < 200_000);
        let mut d = ContentDecoder::new(ContentCoding::Identity, 3);
        assert_eq!(d.decode(b"abc", &mut out), Ok(()));
        assert_eq!(
            d.decode(b"d", &mut out),
            Err(ParseError::DecodedTooLarge { limit: 3 })
        );
        let limits = Limits::default();
        let d = ContentDecoder::with_limits(ContentCoding::Gzip, &limits);
        assert_eq!(d.max_output, super::super::MAX_DECODED_BYTES);
    }
}
