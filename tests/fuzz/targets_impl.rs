//! The logic of every fuzz target, as plain functions over `&[u8]`.
//!
//! This file is compiled twice: by the cargo-fuzz crate in `tests/fuzz/`
//! (each `fuzz_targets/<name>.rs` includes it with `#[path]` and calls one
//! function from `fuzz_target!`), and by `tests/fuzz_replay.rs`, which runs
//! the checked-in corpora through the same functions as an ordinary
//! `cargo test`. It must therefore depend on nothing but `curlew` and `std`.
//!
//! Every function panics when an invariant is violated; inputs that are
//! merely invalid protocol data must be handled (an error is an outcome,
//! not a failure).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use curlew::proto::h2::conn::{
    DEFAULT_CONN_WINDOW, DEFAULT_MAX_HEADER_LIST, DEFAULT_STREAM_WINDOW, MAX_CONTROL_QUEUE,
    MAX_EVENTS as H2_MAX_EVENTS, MAX_HEADER_BLOCK, MAX_SEND_QUEUE, PREFACE as H2_PREFACE,
};
use curlew::proto::h2::frame::{MAX_MAX_FRAME_SIZE, MAX_STREAM_ID};
use curlew::proto::h2::hpack::{
    Decoder as H2Decoder, Encoder as H2Encoder, HeaderList, HpackError,
};
use curlew::proto::h2::{
    self, Config as H2Config, Connection, ErrorCode, Event, Frame as H2Frame,
    FrameHeader as H2FrameHeader, H2Error, Request as H2Request, DEFAULT_MAX_FRAME_SIZE,
    FRAME_HEADER_LEN as H2_HEADER_LEN,
};
use curlew::proto::http1::{
    body_kind, BodyDecoder, BodyKind, ContentCoding, ContentDecoder, Decoded, Limits, ParseError,
    ResponseParser,
};
use curlew::proto::ws::deflate::{negotiate, Compressor, DeflateConfig, Inflater, Negotiated};
use curlew::proto::ws::{
    expected_accept, parse_close_payload, validate_response, CloseState, Decoder, DecoderConfig,
    FrameHeader, OpCode, ProtocolError, WsConfig, WsSession, MAX_CLOSE_FINISH, MAX_CONTROL_PAYLOAD,
    MAX_FRAME_SIZE, MAX_MESSAGE_SIZE, MIN_RECV_BUFFER, MIN_SEND_QUEUE,
};
use curlew::rng::SecureRng;

// ----- helpers ---------------------------------------------------------------

/// Reads fuzz input front to back; past the end it yields zeros.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.pos = start + n.min(self.data.len() - start);
        &self.data[start..end]
    }
}

/// Size of one simulated socket read, from one byte of the input.
fn read_size(b: u8) -> usize {
    match b {
        0..=0xef => usize::from(b % 32) + 1,
        _ => usize::from(b - 0xef) * 512,
    }
}

/// Hands out `wire` in reads whose sizes cycle through `splits` (all at once
/// without splits).
struct Feeder<'a> {
    wire: &'a [u8],
    pos: usize,
    splits: Option<&'a [u8]>,
    i: usize,
}

impl<'a> Feeder<'a> {
    fn new(wire: &'a [u8], splits: Option<&'a [u8]>) -> Self {
        Self {
            wire,
            pos: 0,
            splits: splits.filter(|s| !s.is_empty()),
            i: 0,
        }
    }

    /// Appends the next read to `buf`; false at end of stream.
    fn feed(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.pos >= self.wire.len() {
            return false;
        }
        let n = match self.splits {
            None => self.wire.len(),
            Some(s) => read_size(s[self.i % s.len()]),
        };
        self.i += 1;
        let end = self.pos.saturating_add(n).min(self.wire.len());
        buf.extend_from_slice(&self.wire[self.pos..end]);
        self.pos = end;
        true
    }

    fn done(&self) -> bool {
        self.pos >= self.wire.len()
    }
}

// ----- ws_decoder --------------------------------------------------------------

/// One received frame, its chunks joined.
#[derive(Debug, PartialEq, Eq)]
struct WsFrame {
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    is_continuation: bool,
    payload: Vec<u8>,
}

#[derive(Debug, Default)]
struct WsRun {
    frames: Vec<WsFrame>,
    error: Option<ProtocolError>,
    closed: bool,
}

fn ws_config(opts: u8) -> DecoderConfig {
    DecoderConfig {
        validate_utf8: opts & 1 != 0,
        allow_rsv1: opts & 2 != 0,
        allow_masked: opts & 4 != 0,
        max_frame_size: [MAX_FRAME_SIZE, 0, 125, 1000][usize::from(opts >> 3 & 3)],
        max_message_size: [MAX_MESSAGE_SIZE, 0, 200, 4000][usize::from(opts >> 5 & 3)],
    }
}

fn run_ws_decoder(cfg: DecoderConfig, wire: &[u8], splits: Option<&[u8]>) -> WsRun {
    let mut dec = Decoder::new(cfg);
    let mut feeder = Feeder::new(wire, splits);
    let mut buf: Vec<u8> = Vec::new();
    let mut run = WsRun::default();
    // Bytes of the current data message (for the size and UTF-8 checks).
    let mut message: Vec<u8> = Vec::new();
    let mut message_len: u64 = 0;
    let mut message_text_plain = false;
    // The previous chunk, while its frame is unfinished.
    let mut open_frame: Option<(u64, u64)> = None; // (next offset, bytes_left)
    loop {
        feeder.feed(&mut buf);
        for _ in 0..1_000_000 {
            let len = buf.len();
            let step = dec.decode(&mut buf);
            match step {
                Err(e) => {
                    assert_eq!(dec.decode(&mut buf), Err(e), "errors must be sticky");
                    run.error = Some(e);
                    return run;
                }
                Ok((0, None)) => {
                    assert!(
                        dec.is_closed() || len < MIN_RECV_BUFFER,
                        "decoder stalled with {len} bytes buffered"
                    );
                    break;
                }
                Ok((n, chunk)) => {
                    assert!(n <= len, "consumed {n} of {len}");
                    if let Some(c) = chunk {
                        let m = c.meta;
                        assert_eq!(c.payload.len(), m.len);
                        assert_ne!(m.opcode, OpCode::Continuation);
                        assert!(cfg.allow_rsv1 || !m.rsv1);
                        let total = m.offset + m.len as u64 + m.bytes_left;
                        // Control frames (at most 125 bytes) are exempt.
                        assert!(
                            m.opcode.is_control() || total <= cfg.max_frame_size,
                            "frame over max_frame_size"
                        );
                        match open_frame {
                            Some((off, left)) => {
                                assert_eq!(m.offset, off, "chunk offset");
                                assert_eq!(m.bytes_left + m.len as u64, left, "bytes_left");
                                let f = run.frames.last_mut().expect("open frame");
                                assert_eq!(f.opcode, m.opcode);
                                f.payload.extend_from_slice(c.payload);
                            }
                            None => {
                                assert_eq!(m.offset, 0, "first chunk of a frame");
                                run.frames.push(WsFrame {
                                    opcode: m.opcode,
                                    fin: m.fin,
                                    rsv1: m.rsv1,
                                    is_continuation: m.is_continuation,
                                    payload: c.payload.to_vec(),
                                });
                            }
                        }
                        open_frame =
                            (m.bytes_left > 0).then_some((m.offset + m.len as u64, m.bytes_left));
                        if m.opcode.is_control() {
                            assert!(m.fin && m.offset == 0 && m.bytes_left == 0);
                            assert!(m.len <= MAX_CONTROL_PAYLOAD);
                            assert!(!m.is_continuation && !m.rsv1);
                            if m.opcode == OpCode::Close {
                                assert!(parse_close_payload(c.payload).is_ok());
                            }
                        } else {
                            if message_len == 0 && m.offset == 0 && !m.is_continuation {
                                message_text_plain =
                                    cfg.validate_utf8 && m.opcode == OpCode::Text && !m.rsv1;
                            }
                            message_len += m.len as u64;
                            assert!(message_len <= cfg.max_message_size, "message too big");
                            if message_text_plain {
                                message.extend_from_slice(c.payload);
                            }
                            if m.is_message_end() {
                                if message_text_plain {
                                    assert!(std::str::from_utf8(&message).is_ok(), "bad UTF-8");
                                }
                                message.clear();
                                message_len = 0;
                            }
                        }
                    }
                    buf.drain(..n);
                }
            }
        }
        if dec.is_closed() {
            run.closed = true;
            let mut more = buf.clone();
            more.extend_from_slice(b"\x81\x01x");
            assert_eq!(dec.decode(&mut more), Ok((0, None)), "closed decoder");
            return run;
        }
        if feeder.done() {
            return run;
        }
    }
}

/// `ws_decoder`: the client-role frame decoder under every
/// [`DecoderConfig`] combination (byte 0), fed the rest of the input once in
/// one piece and once in reads sized by bytes 1-3; both runs must agree.
pub fn ws_decoder(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let cfg = ws_config(data[0]);
    let splits = &data[1..4];
    let wire = &data[4..];
    let whole = run_ws_decoder(cfg, wire, None);
    let split = run_ws_decoder(cfg, wire, Some(splits));
    assert_eq!(whole.error, split.error, "error depends on read sizes");
    assert_eq!(whole.closed, split.closed);
    if whole.error.is_none() {
        assert_eq!(whole.frames, split.frames, "frames depend on read sizes");
    }
}

// ----- http1_response ----------------------------------------------------------

#[derive(Debug, Default, PartialEq, Eq)]
struct HttpRun {
    statuses: Vec<u16>,
    /// Every head, whole (bytes, spans, indexes): the same whether it was scanned or, given
    /// back with `recycle` (opts bit 0x40), compared with the one before.
    heads: Vec<String>,
    kinds: Vec<BodyKind>,
    body: Vec<u8>,
    trailers: Vec<Vec<u8>>,
    error: Option<ParseError>,
    incomplete_head: bool,
}

fn http_limits(opts: u8) -> Limits {
    if opts & 1 != 0 {
        Limits {
            max_header_bytes: 256,
            max_headers: 8,
            max_chunk_ext_bytes: 16,
            max_trailer_bytes: 64,
            max_decoded_bytes: 4096,
            max_response_heads_bytes: 512,
        }
    } else {
        Limits {
            max_decoded_bytes: 1 << 20,
            ..Limits::default()
        }
    }
}

/// Content-decodes `data` into `out` following the driving contract, in output
/// pieces of `piece` bytes (at most that many per call).
fn decode_pieces(
    c: &mut ContentDecoder,
    mut data: &[u8],
    piece: usize,
    out: &mut Vec<u8>,
) -> Result<(), ParseError> {
    let mut buf = vec![0u8; piece];
    loop {
        let (used, made) = c.decode(data, &mut buf)?;
        assert!(used <= data.len() && made <= piece);
        out.extend_from_slice(&buf[..made]);
        data = &data[used..];
        if data.is_empty() && !c.output_pending() {
            return Ok(());
        }
        assert!(used > 0 || made > 0, "content decoder made no progress");
    }
}

fn content_step(
    cdec: &mut Option<ContentDecoder>,
    limits: &Limits,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), ParseError> {
    match cdec {
        Some(c) => {
            let r = decode_pieces(c, data, 4096, out);
            if r.is_ok() {
                assert!(c.decoded_len() <= limits.max_decoded_bytes);
            }
            r
        }
        None => {
            out.extend_from_slice(data);
            Ok(())
        }
    }
}

fn run_http1(opts: u8, wire: &[u8], splits: Option<&[u8]>) -> HttpRun {
    let limits = http_limits(opts);
    let mut run = HttpRun::default();
    let mut parser = ResponseParser::new(&limits);
    let mut feeder = Feeder::new(wire, splits);
    let mut buf: Vec<u8> = Vec::new();
    let mut body: Option<(BodyDecoder, Option<ContentDecoder>)> = None;
    let mut steps = 0u32;
    loop {
        steps += 1;
        assert!(steps < 1_000_000, "no progress");
        let Some((dec, cdec)) = body.as_mut() else {
            let head = match parser.parse(&buf) {
                Err(e) => {
                    run.error = Some(e);
                    return run;
                }
                Ok(None) => {
                    assert!(buf.len() <= limits.max_header_bytes + 4096 || feeder.splits.is_none());
                    if !feeder.feed(&mut buf) {
                        run.incomplete_head = !buf.is_empty();
                        return run;
                    }
                    continue;
                }
                Ok(Some(head)) => head,
            };
            let hl = head.head_len();
            assert!(hl > 0 && hl <= buf.len() && hl <= limits.max_header_bytes);
            assert!(head.header_count() <= limits.max_headers);
            assert_eq!(head.headers().count(), head.header_count());
            let _ = (head.reason(), head.version(), head.keep_alive(), head.raw());
            let _ = (
                head.content_length(),
                head.is_chunked(),
                head.lines().count(),
            );
            run.statuses.push(head.status());
            run.heads.push(format!("{head:?}"));
            buf.drain(..hl);
            if head.is_informational() {
                continue;
            }
            let kind = match body_kind(&head, opts & 2 != 0, opts & 4 != 0) {
                Ok(k) => k,
                Err(e) => {
                    run.error = Some(e);
                    return run;
                }
            };
            run.kinds.push(kind);
            let cdec = if opts & 8 != 0 {
                head.content_encoding()
                    .map(|c| ContentDecoder::with_limits(c, &limits))
            } else {
                None
            };
            body = Some((BodyDecoder::new(kind, &limits), cdec));
            if opts & 0x40 != 0 {
                parser.recycle(head);
            }
            if run.statuses.len() >= 16 {
                return run;
            }
            continue;
        };
        let len = buf.len();
        let (used, step) = match dec.decode(&buf) {
            Ok(x) => x,
            Err(e) => {
                run.error = Some(e);
                return run;
            }
        };
        assert!(used <= len);
        let mut need_more = false;
        let mut done = false;
        match step {
            Decoded::Data(d) => {
                assert!(!d.is_empty());
                if let Err(e) = content_step(cdec, &limits, d, &mut run.body) {
                    run.error = Some(e);
                    return run;
                }
            }
            Decoded::Trailer(t) => run.trailers.push(t.to_vec()),
            Decoded::Done => done = true,
            Decoded::NeedMore => need_more = true,
        }
        buf.drain(..used);
        if need_more && !feeder.feed(&mut buf) {
            // End of stream.
            if let Err(e) = dec.decode_eof() {
                run.error = Some(e);
                return run;
            }
            done = true;
        }
        if done {
            assert!(dec.is_done());
            if let Some(c) = cdec.as_mut() {
                if let Err(e) = c.finish() {
                    run.error = Some(e);
                    return run;
                }
            }
            body = None;
            if feeder.done() && buf.is_empty() {
                return run;
            }
        }
    }
}

fn run_content(
    coding: ContentCoding,
    max: u64,
    wire: &[u8],
    splits: Option<&[u8]>,
) -> Option<Vec<u8>> {
    let mut dec = ContentDecoder::new(coding, max);
    // Output pieces of 1 to 256 bytes, from the read sizes.
    let piece = splits.map_or(4096, |s| usize::from(s[0]) + 1);
    let mut feeder = Feeder::new(wire, splits);
    let mut out = Vec::new();
    let mut input = Vec::new();
    while feeder.feed(&mut input) {
        decode_pieces(&mut dec, &input, piece, &mut out).ok()?;
        assert!(dec.decoded_len() <= max && out.len() as u64 == dec.decoded_len());
        input.clear();
    }
    dec.finish().ok()?;
    Some(out)
}

/// `http1_response`: byte 0 selects limits (bit 0), HEAD/CONNECT request
/// (bits 1-2), content decoding (bit 3) and, with bit 7, the content decoder
/// alone (coding from bits 4-5); bytes 1-3 give read sizes. The rest is a
/// byte stream of responses on one connection, parsed whole and split; both
/// runs must agree.
pub fn http1_response(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let opts = data[0];
    let splits = &data[1..4];
    let wire = &data[4..];
    if opts & 0x80 != 0 {
        let coding = [
            ContentCoding::Gzip,
            ContentCoding::Deflate,
            ContentCoding::Identity,
            ContentCoding::Unsupported,
        ][usize::from(opts >> 4 & 3)];
        let max = http_limits(opts).max_decoded_bytes;
        let whole = run_content(coding, max, wire, None);
        let split = run_content(coding, max, wire, Some(splits));
        assert_eq!(whole, split, "content decoding depends on read sizes");
        return;
    }
    let whole = run_http1(opts, wire, None);
    let split = run_http1(opts, wire, Some(splits));
    assert_eq!(
        whole.error.is_some(),
        split.error.is_some(),
        "outcome depends on read sizes: {:?} vs {:?}",
        whole.error,
        split.error
    );
    if whole.error.is_none() {
        assert_eq!(whole, split, "result depends on read sizes");
    }
}

// ----- handshake ---------------------------------------------------------------

fn window_bits(b: u8) -> Option<u8> {
    match b % 10 {
        0 | 9 => None,
        n => Some(n + 7),
    }
}

fn deflate_offer(opts: u8, b1: u8, b2: u8) -> DeflateConfig {
    DeflateConfig {
        client_no_context_takeover: opts & 0x10 != 0,
        server_no_context_takeover: opts & 0x20 != 0,
        client_max_window_bits: window_bits(b1),
        server_max_window_bits: window_bits(b2),
        ..DeflateConfig::default()
    }
}

fn check_negotiated(offer: &DeflateConfig, n: &Negotiated, sample: &[u8]) {
    for bits in [n.client_max_window_bits, n.server_max_window_bits] {
        assert!((8..=15).contains(&bits), "window bits {bits}");
    }
    // Not checked: `server_max_window_bits` is 15 when the server omits it,
    // even if the offer limited it (harmless: the inflater always uses a
    // 32 KiB window).
    if let Some(max) = offer.client_max_window_bits {
        assert!(n.client_max_window_bits <= max);
    }
    assert!(n.client_no_context_takeover || !offer.client_no_context_takeover);
    assert!(n.server_no_context_takeover || !offer.server_no_context_takeover);
    round_trip(n, sample);
}

/// Compresses `sample` as a few messages with our compressor and inflates
/// them with an inflater configured as the peer's mirror: the bytes must
/// come back unchanged.
fn round_trip(n: &Negotiated, sample: &[u8]) {
    let mut comp = Compressor::new(n);
    if !comp.is_enabled() {
        return;
    }
    let mirror = Negotiated {
        server_no_context_takeover: n.client_no_context_takeover,
        ..*n
    };
    let mut inf = Inflater::new(&mirror, 1 << 20);
    let mut wire = Vec::new();
    let mut out = vec![0u8; 97];
    for msg in sample.chunks(sample.len() / 3 + 1) {
        let mut got = Vec::new();
        let frags: Vec<&[u8]> = msg.chunks(msg.len() / 2 + 1).collect();
        for (i, frag) in frags.iter().enumerate() {
            let last = i + 1 == frags.len();
            comp.compress(frag, last, &mut wire);
            inf.feed(&wire, last);
            loop {
                let (k, done) = inf.drain(&mut out).expect("own compressed data inflates");
                got.extend_from_slice(&out[..k]);
                if done || k == 0 {
                    assert!(done || !last, "inflater stalled at end of message");
                    break;
                }
            }
        }
        assert_eq!(got, msg, "deflate round trip");
    }
}

/// `handshake`: [`validate_response`] on an arbitrary status and header
/// list, then permessage-deflate negotiation of what it accepted.
///
/// Byte 0: add a correct `Sec-WebSocket-Accept` (bit 0), `Upgrade` (bit 1),
/// `Connection` (bit 2), offered extensions (bit 3), the no-context-takeover
/// offers (bits 4-5); bytes 1-2: offered window bits. The rest is text
/// lines: the status, the key, the offered protocols (comma-separated), then
/// `name: value` headers.
pub fn handshake(data: &[u8]) {
    let mut r = Reader::new(data);
    let opts = r.u8();
    let offer = deflate_offer(opts, r.u8(), r.u8());
    assert!(offer.validate().is_ok());
    let _ = offer.offer();
    let rest = &data[data.len().min(3)..];
    let mut lines = rest.split(|&b| b == b'\n');
    let status_line = lines.next().unwrap_or_default();
    let status = std::str::from_utf8(status_line)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .unwrap_or(101);
    let key = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let protocols: Vec<String> = String::from_utf8_lossy(lines.next().unwrap_or_default())
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.trim().to_string())
        .collect();
    let owned: Vec<(String, Vec<u8>)> = lines
        .map(|l| {
            let (n, v) = match l.iter().position(|&b| b == b':') {
                Some(i) => (&l[..i], &l[i + 1..]),
                None => (l, &[][..]),
            };
            (String::from_utf8_lossy(n).into_owned(), v.to_vec())
        })
        .collect();
    let accept = expected_accept(key.trim());
    let mut headers: Vec<(&str, &[u8])> = owned.iter().map(|(n, v)| (n.as_str(), &v[..])).collect();
    if opts & 1 != 0 {
        headers.push(("Sec-WebSocket-Accept", accept.as_bytes()));
    }
    if opts & 2 != 0 {
        headers.push(("Upgrade", b"websocket"));
    }
    if opts & 4 != 0 {
        headers.push(("Connection", b"Upgrade"));
    }
    let offered_ext = opts & 8 != 0;
    let sample = rest;

    // The extension values as a server might send them, negotiated even when
    // the rest of the response is invalid.
    let ext: Vec<String> = headers
        .iter()
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, v)| String::from_utf8_lossy(v).trim().to_string())
        .collect();
    if let Ok(Some(n)) = negotiate(&offer, &ext) {
        check_negotiated(&offer, &n, sample);
    }

    match validate_response(status, &headers, &key, &protocols, offered_ext) {
        Ok(acc) => {
            assert_eq!(status, 101);
            if let Some(p) = &acc.protocol {
                assert!(protocols.contains(p));
            }
            assert!(offered_ext || acc.extensions.is_empty());
            if let Ok(Some(n)) = negotiate(&offer, &acc.extensions) {
                check_negotiated(&offer, &n, sample);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ----- inflate -----------------------------------------------------------------

/// `inflate`: the permessage-deflate inflater with its size cap. Byte 0:
/// `server_no_context_takeover` (bit 0), the cap (bits 1-2), the output
/// buffer size (bits 3-5) and, with bit 6, a compressor round trip of the
/// rest instead. Otherwise the rest is records `h, data[h & 0x3f]` fed with
/// end-of-message = bit 6 of `h`; bit 7 defers draining.
pub fn inflate(data: &[u8]) {
    let mut r = Reader::new(data);
    let opts = r.u8();
    let n = Negotiated {
        client_no_context_takeover: opts & 1 != 0,
        server_no_context_takeover: opts & 1 != 0,
        client_max_window_bits: 15 - (opts >> 3 & 7),
        server_max_window_bits: 15,
    };
    if opts & 0x40 != 0 {
        round_trip(&n, &data[1..]);
        return;
    }
    let cap: u64 = [64, 1000, 65536, 1 << 20][usize::from(opts >> 1 & 3)];
    let out_len = [1usize, 7, 64, 1024, 4096, 16384, 65536, 3][usize::from(opts >> 3 & 7)]
        .max((cap / 64) as usize);
    let mut out = vec![0u8; out_len];
    let mut inf = Inflater::new(&n, cap);
    let mut total: u64 = 0;
    let mut end_fed = false;
    while !r.is_empty() {
        let h = r.u8();
        let len = match h & 0x3f {
            0x3f => usize::from(r.u8()) * 4,
            l => usize::from(l),
        };
        let piece = r.take(len);
        let end = h & 0x40 != 0;
        inf.feed(piece, end);
        end_fed |= end;
        if h & 0x80 != 0 && !end_fed && !r.is_empty() {
            continue;
        }
        loop {
            match inf.drain(&mut out) {
                Err(_) => return,
                Ok((k, done)) => {
                    assert!(k <= out.len());
                    total += k as u64;
                    assert!(total <= cap, "inflated past the cap");
                    if done {
                        assert!(end_fed, "message done before its end was fed");
                        end_fed = false;
                        total = 0;
                        assert!(!inf.has_pending());
                        break;
                    }
                    assert_eq!(inf.message_len(), total);
                    if k == 0 {
                        assert!(!end_fed, "inflater stalled after the end of message");
                        break;
                    }
                }
            }
        }
    }
}

// ----- ws_session_ops ----------------------------------------------------------

/// Checks the client's outgoing byte stream: well-formed masked frames,
/// control frames whole and unfragmented, continuation frames only inside a
/// message, and nothing at all after our Close frame.
#[derive(Default)]
struct WireCheck {
    hdr: Vec<u8>,
    skip: u64,
    close_pending: bool,
    closed: bool,
    in_message: bool,
}

impl WireCheck {
    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            assert!(!self.closed, "bytes written after our Close frame");
            if self.skip > 0 {
                let n = (bytes.len() as u64).min(self.skip) as usize;
                self.skip -= n as u64;
                bytes = &bytes[n..];
                if self.skip == 0 && self.close_pending {
                    self.closed = true;
                }
                continue;
            }
            self.hdr.push(bytes[0]);
            bytes = &bytes[1..];
            let (h, _) = match FrameHeader::parse(&self.hdr) {
                Err(e) => panic!("session wrote a bad frame header: {e:?}"),
                Ok(None) => continue,
                Ok(Some(x)) => x,
            };
            self.hdr.clear();
            assert!(h.mask.is_some(), "unmasked client frame");
            if h.opcode.is_control() {
                assert!(h.fin && h.payload_len <= MAX_CONTROL_PAYLOAD as u64);
                self.close_pending = h.opcode == OpCode::Close;
            } else {
                assert_eq!(
                    h.opcode == OpCode::Continuation,
                    self.in_message,
                    "frame sequence"
                );
                self.in_message = !h.fin;
            }
            self.skip = h.payload_len;
            if self.skip == 0 && self.close_pending {
                self.closed = true;
            }
        }
    }
}

fn session_config(o1: u8, o2: u8) -> WsConfig {
    WsConfig {
        max_frame_size: [MAX_FRAME_SIZE, 125, 4096, 0][usize::from(o1 & 3)],
        max_message_size: [MAX_MESSAGE_SIZE, 300, 8192, 0][usize::from(o1 >> 2 & 3)],
        max_send_queue: [0, 200, 1000, 65536][usize::from(o1 >> 4 & 3)],
        auto_pong: o1 & 0x40 == 0,
        validate_utf8: o1 & 0x80 == 0,
        allow_rsv1: o2 & 1 != 0,
        raw_mode: o2 & 0x0e == 0x0e,
        max_close_finish: [MAX_CLOSE_FINISH, 0, 100, 4096][usize::from(o2 >> 4 & 3)],
    }
}

fn payload(r: &mut Reader<'_>, len: usize) -> Vec<u8> {
    let mut p = r.take(len).to_vec();
    p.resize(len, b'a');
    p
}

fn drive_input(s: &mut WsSession, rx: &mut Vec<u8>) {
    for _ in 0..100_000 {
        let len = rx.len();
        match s.handle_input(rx) {
            Err(e) => {
                assert_eq!(s.error(), Some(e));
                return;
            }
            Ok((0, None)) => return,
            Ok((n, chunk)) => {
                assert!(n <= len);
                if let Some(c) = chunk {
                    assert_eq!(c.payload.len(), c.meta.len);
                    if c.meta.opcode == OpCode::Close {
                        assert!(s.peer_close().is_some());
                    }
                }
                rx.drain(..n);
                if n == 0 {
                    return;
                }
            }
        }
    }
    panic!("handle_input made no progress");
}

/// Moves up to `n` queued bytes to the "wire" and reports them written.
fn transmit(s: &mut WsSession, wire: &mut WireCheck, n: usize, check: bool) {
    let (a, b) = s.transmit_slices();
    let na = n.min(a.len());
    let nb = (n - na).min(b.len());
    if check {
        wire.push(&a[..na]);
        wire.push(&b[..nb]);
    }
    s.consume_transmit(n);
}

/// `ws_session_ops`: a [`WsSession`] driven by an operation sequence
/// (send / start_frame / ping / close / peer bytes / peer frames / partial
/// writes / EOF / writable notifications) read from the input; bytes 0-1
/// select the configuration.
///
/// Invariants: no panic; the transmit queue never exceeds its bound; every
/// written byte belongs to a well-formed masked frame and nothing follows
/// our Close frame; once the Close is committed (or the connection failed
/// or hit EOF) no new frame is accepted.
/// Interleaved send / start_frame / ping / close / receive (paused or not) / partial writes /
/// EOF against arbitrary peer bytes, with the queue bound and wire well-formedness checked.
pub fn ws_session_ops(data: &[u8]) {
    let mut r = Reader::new(data);
    let (o1, o2) = (r.u8(), r.u8());
    let cfg = session_config(o1, o2);
    let bound = cfg.max_send_queue.max(MIN_SEND_QUEUE);
    // The masks come from the OS-keyed generator; the wire check unmasks whatever they are.
    let mut s = WsSession::new(cfg, SecureRng::new().expect("OS random source"));
    let mut rx: Vec<u8> = Vec::new();
    let mut wire = WireCheck::default();
    let check = !cfg.raw_mode;
    let mut eof = false;
    let mut ops = 0;
    while !r.is_empty() && ops < 4096 {
        ops += 1;
        let op = r.u8();
        let in_frame = s.frame_in_progress().is_some();
        let closing = s.close_state() != CloseState::Open || s.error().is_some() || eof;
        let mut accepted_new = false;
        match op % 10 {
            0 => {
                let len = usize::from(r.u8()) * if op & 0x10 != 0 { 32 } else { 1 };
                let flags = u32::from(r.u8() & 0x7f) | if op & 0x20 != 0 { 0x80 } else { 0 };
                let fragsize = if flags & 0x20 != 0 {
                    len as u64 + u64::from(r.u8()) * if op & 0x40 != 0 { 1 << 20 } else { 1 }
                } else {
                    u64::from(op >> 7)
                };
                let p = payload(&mut r, len);
                if let Ok(n) = s.send(&p, flags, fragsize) {
                    assert!(n <= p.len());
                    accepted_new = !in_frame;
                }
            }
            1 => {
                let flags = u32::from(r.u8() & 0x7f);
                let len = match op >> 4 {
                    0..=11 => u64::from(r.u8()),
                    12 | 13 => u64::from(r.u16()) * 64,
                    14 => u64::MAX >> (r.u8() % 3),
                    _ => 0,
                };
                if s.start_frame(flags, len).is_ok() {
                    accepted_new = !in_frame;
                }
            }
            2 => {
                let len = usize::from(r.u8() % 130);
                let p = payload(&mut r, len);
                if s.ping(&p).is_ok() {
                    accepted_new = true;
                }
            }
            3 => {
                let code = match r.u8() % 6 {
                    0 => None,
                    1 => Some(1000),
                    2 => Some(1001),
                    3 => Some(3000),
                    4 => Some(1005),
                    _ => Some(r.u16()),
                };
                let reason = "bye!".repeat(usize::from(r.u8() % 33));
                if s.close(code, &reason).is_ok() {
                    accepted_new = true;
                }
            }
            4 => {
                let len = usize::from(r.u8());
                rx.extend_from_slice(r.take(len));
                // The high bit pauses receiving: the peer's bytes pile up unread while the
                // other operations (sends, pings, close, writes) go on; the next unpaused
                // input op delivers them all.
                if op & 0x80 == 0 {
                    drive_input(&mut s, &mut rx);
                }
            }
            5 => {
                // A well-formed (unmasked) frame header, then its payload.
                let b0 = r.u8();
                let len = usize::from(r.u8());
                rx.push(b0);
                if len < 126 {
                    rx.push(len as u8);
                } else {
                    rx.push(126);
                    rx.extend_from_slice(&(len as u16).to_be_bytes());
                }
                let p = payload(&mut r, len);
                let split = usize::from(op >> 4) * len / 16;
                rx.extend_from_slice(&p[..split]);
                drive_input(&mut s, &mut rx);
                rx.extend_from_slice(&p[split..]);
                drive_input(&mut s, &mut rx);
            }
            6 => {
                let n = usize::from(r.u8()) * (usize::from(op >> 4) + 1);
                transmit(&mut s, &mut wire, n, check);
            }
            7 => {
                let n = s.send_queue_len();
                transmit(&mut s, &mut wire, n, check);
            }
            8 => {
                if op & 0x10 != 0 {
                    eof = true;
                    let _ = s.handle_eof();
                    assert!(s.is_done());
                }
            }
            _ => {
                if op & 0x10 != 0 {
                    s.mark_blocked();
                } else {
                    let _ = s.take_writable();
                }
            }
        }
        if accepted_new && !cfg.raw_mode {
            assert!(!closing, "op {} accepted after close/failure/EOF", op % 10);
        }
        let (a, b) = s.transmit_slices();
        assert_eq!(a.len() + b.len(), s.send_queue_len());
        assert_eq!(s.poll_transmit(), a);
        assert!(s.send_queue_len() <= bound, "send queue over its bound");
        assert_eq!(s.send_room(), bound - s.send_queue_len());
        assert_eq!(s.wants_write(), s.send_queue_len() > 0);
    }
    // Write everything out; the stream must stay well-formed.
    for _ in 0..16 {
        let n = s.send_queue_len();
        if n == 0 {
            break;
        }
        transmit(&mut s, &mut wire, n, check);
    }
}

// ----- h2_frames ---------------------------------------------------------------

/// `h2_frames` limits from byte 0: our MAX_FRAME_SIZE (bits 0-1), the HPACK
/// table size we announce (bits 2-3), the header list limit (bits 4-5).
fn h2_frame_limits(opts: u8) -> (u32, usize, usize) {
    let max_frame = [DEFAULT_MAX_FRAME_SIZE, 1 << 16, 1 << 20, MAX_MAX_FRAME_SIZE];
    let table = [4096, 0, 256, 65_536];
    let list = [DEFAULT_MAX_HEADER_LIST as usize, 0, 100, 4096];
    (
        max_frame[usize::from(opts & 3)],
        table[usize::from(opts >> 2 & 3)],
        list[usize::from(opts >> 4 & 3)],
    )
}

/// What only the frame itself decides (RFC 9113 §6) holds of a decoded frame.
fn check_h2_frame(h: &H2FrameHeader, f: &H2Frame<'_>) {
    let len = h.len as usize;
    match *f {
        H2Frame::Data {
            stream,
            data,
            flow_len,
            ..
        } => {
            assert!(stream != 0 && stream == h.stream && flow_len == h.len);
            assert!(data.len() <= len);
        }
        H2Frame::Headers {
            stream, fragment, ..
        }
        | H2Frame::Continuation {
            stream, fragment, ..
        } => assert!(stream != 0 && stream == h.stream && fragment.len() <= len),
        H2Frame::Priority { stream } => assert!(stream != 0 && len == 5),
        H2Frame::RstStream { stream, .. } => assert!(stream != 0 && len == 4),
        H2Frame::Settings { ack, params } => {
            assert!(h.stream == 0 && params.len() == len && len % 6 == 0);
            assert!(!ack || len == 0);
        }
        H2Frame::PushPromise { stream, promised } => {
            assert!(stream != 0 && promised <= MAX_STREAM_ID && len >= 4);
        }
        H2Frame::Ping { .. } => assert!(h.stream == 0 && len == 8),
        H2Frame::GoAway {
            last_stream, debug, ..
        } => assert!(h.stream == 0 && last_stream <= MAX_STREAM_ID && debug.len() + 8 == len),
        H2Frame::WindowUpdate { stream, increment } => {
            assert!(stream == h.stream && (1..=MAX_STREAM_ID).contains(&increment));
        }
        H2Frame::Unknown { kind, stream } => assert!(kind > 9 && stream == h.stream),
    }
}

/// Frames with one encoding (no padding, no priority fields) encode back to
/// bytes that decode to the same frame.
fn check_h2_reencode(f: &H2Frame<'_>) {
    let mut b = Vec::new();
    match *f {
        H2Frame::RstStream { stream, code } => h2::frame::encode_rst_stream(&mut b, stream, code),
        H2Frame::Ping { ack, payload } => h2::frame::encode_ping(&mut b, ack, payload),
        H2Frame::GoAway {
            last_stream,
            code,
            debug,
        } => h2::frame::encode_goaway(&mut b, last_stream, code, debug),
        H2Frame::WindowUpdate { stream, increment } => {
            h2::frame::encode_window_update(&mut b, stream, increment)
        }
        H2Frame::Settings { ack: true, .. } => h2::frame::encode_settings_ack(&mut b),
        H2Frame::Settings { ack: false, params } => {
            let p: Vec<(u16, u32)> = h2::frame::settings_params(params).collect();
            h2::frame::encode_settings(&mut b, &p);
        }
        H2Frame::Data {
            stream,
            data,
            end_stream,
            flow_len,
        } if flow_len as usize == data.len() => {
            h2::frame::encode_data(&mut b, stream, data, end_stream)
        }
        _ => return,
    }
    let again = h2::frame::decode(&b, MAX_MAX_FRAME_SIZE);
    assert_eq!(again, Ok(Some((*f, b.len()))), "frame does not re-encode");
}

/// Header blocks gathered from HEADERS and CONTINUATION frames, decoded with
/// our limits, and every decoded list re-encoded by an [`H2Encoder`] and
/// decoded again by a second context that must agree.
struct H2Blocks {
    dec: H2Decoder,
    table: usize,
    max_list: usize,
    pending: Option<(u32, Vec<u8>)>,
    list: HeaderList,
    enc: H2Encoder,
    peer: H2Decoder,
}

impl H2Blocks {
    fn new(table: usize, max_list: usize) -> Self {
        Self {
            dec: H2Decoder::new(table, max_list),
            table,
            max_list,
            pending: None,
            list: HeaderList::new(),
            enc: H2Encoder::new(),
            peer: H2Decoder::new(4096, usize::MAX),
        }
    }

    fn on_frame(&mut self, f: &H2Frame<'_>) {
        let (stream, fragment, end) = match *f {
            H2Frame::Headers {
                stream,
                fragment,
                end_headers,
                ..
            } => {
                self.pending = Some((stream, Vec::new()));
                (stream, fragment, end_headers)
            }
            H2Frame::Continuation {
                stream,
                fragment,
                end_headers,
            } => (stream, fragment, end_headers),
            _ => return,
        };
        let Some((s, block)) = self.pending.as_mut() else {
            return;
        };
        if *s != stream || block.len() + fragment.len() > MAX_HEADER_BLOCK {
            self.pending = None;
            return;
        }
        block.extend_from_slice(fragment);
        if end {
            let (_, block) = self.pending.take().expect("pending block");
            self.decode(&block);
        }
    }

    fn decode(&mut self, block: &[u8]) {
        self.list.clear();
        let r = self.dec.decode(block, &mut self.list);
        let t = self.dec.table();
        assert!(t.size() <= t.max_size() && t.max_size() <= self.table);
        assert!(
            self.list.size() <= self.max_list,
            "header list over its limit"
        );
        let size: usize = self.list.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
        assert_eq!(size, self.list.size());
        match r {
            Ok(()) => self.round_trip(),
            Err(HpackError::ListTooLarge) => {}
            // The context is lost (a connection error): start a new one.
            Err(_) => self.dec = H2Decoder::new(self.table, self.max_list),
        }
    }

    fn round_trip(&mut self) {
        let mut block = Vec::new();
        self.enc.encode(self.list.iter(), &mut block);
        let mut back = HeaderList::new();
        assert_eq!(
            self.peer.decode(&block, &mut back),
            Ok(()),
            "re-encoded block"
        );
        assert!(back.iter().eq(self.list.iter()), "HPACK round trip differs");
    }
}

/// `h2_frames`: the frame decoder and HPACK decoding of the header blocks,
/// over a byte stream of frames; byte 0 selects the limits
/// ([`h2_frame_limits`]). A frame that fails to decode is skipped (even a
/// connection error) so the rest is explored too.
///
/// Invariants: no panic; a partial frame is `Ok(None)` and a whole one
/// consumes exactly its length; decoded frames obey their size and stream
/// rules and re-encode to themselves; decoded lists stay within the list
/// limit and the table within the announced size, and survive an
/// encode/decode round trip.
pub fn h2_frames(data: &[u8]) {
    let Some((&opts, mut rest)) = data.split_first() else {
        return;
    };
    let (max_frame, table, max_list) = h2_frame_limits(opts);
    let mut blocks = H2Blocks::new(table, max_list);
    while !rest.is_empty() {
        let h = H2FrameHeader::parse(rest);
        match h2::frame::decode(rest, max_frame) {
            Ok(None) => {
                assert!(h.is_none_or(|h| rest.len() < H2_HEADER_LEN + h.len as usize));
                return;
            }
            Ok(Some((f, n))) => {
                let h = h.expect("a frame without a header");
                assert_eq!(n, H2_HEADER_LEN + h.len as usize);
                let partial = h2::frame::decode(&rest[..n - 1], max_frame);
                assert!(matches!(partial, Ok(None)), "partial frame decoded");
                check_h2_frame(&h, &f);
                check_h2_reencode(&f);
                blocks.on_frame(&f);
                rest = &rest[n..];
            }
            Err(e) => {
                let h = h.expect("an error without a header");
                if h.len > max_frame {
                    assert_eq!(e.code(), ErrorCode::FRAME_SIZE_ERROR);
                    return;
                }
                if let H2Error::Stream(s) = e {
                    assert!(s.stream != 0 && s.stream == h.stream);
                }
                rest = &rest[H2_HEADER_LEN + h.len as usize..];
            }
        }
    }
}

// ----- h2_conn -----------------------------------------------------------------

/// Bytes one handled frame may add to the transmit queue after the queue
/// check (ACKs, window updates, a reset, our GOAWAY with its reason).
const H2_FRAME_SLACK: usize = 1024;

/// `h2_conn` configuration from byte 0: windows (bits 0-1, 2), HPACK table
/// (bit 3), header list limit (bits 4-5), MAX_FRAME_SIZE (bit 6); bit 7 keeps
/// DATA unreleased until an operation releases it.
fn h2_config(opts: u8) -> H2Config {
    H2Config {
        stream_window: [DEFAULT_STREAM_WINDOW, 65_535, 100, 0][usize::from(opts & 3)],
        conn_window: [DEFAULT_CONN_WINDOW, 1000][usize::from(opts >> 2 & 1)],
        header_table_size: [4096, 0][usize::from(opts >> 3 & 1)],
        max_header_list_size: [DEFAULT_MAX_HEADER_LIST, 200, 0, 4096][usize::from(opts >> 4 & 3)],
        max_frame_size: [DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE][usize::from(opts >> 6 & 1)],
        ..H2Config::default()
    }
}

/// A stream as the events told it.
#[derive(Debug, Default)]
struct SeenStream {
    final_head: bool,
    ended: bool,
    reset: bool,
    unreleased: u64,
}

/// Checks the events and the written bytes of one [`Connection`].
struct H2Check {
    cfg: H2Config,
    streams: BTreeMap<u32, SeenStream>,
    unreleased: Vec<(u32, usize)>,
    conn_unreleased: u64,
    release_now: bool,
    closed: bool,
    /// Bytes our own calls queued since the queue was last empty.
    allowance: usize,
    /// The client's written byte stream, not yet a whole frame.
    wire: Vec<u8>,
    preface_seen: bool,
    /// The connection failed and its queue was written out.
    sealed: bool,
}

impl H2Check {
    fn live(&mut self, stream: u32) -> &mut SeenStream {
        let s = self
            .streams
            .get_mut(&stream)
            .expect("event for a stream never opened");
        assert!(!s.reset, "event for stream {stream} after its reset");
        s
    }

    fn head(&mut self, stream: u32, head: &HeaderList, end: bool, trailers: bool) {
        let max = self.cfg.max_header_list_size as usize;
        assert!(head.size() <= max, "head over the list limit");
        let s = self.live(stream);
        assert!(!s.ended && s.final_head == trailers, "head out of order");
        if trailers {
            s.ended = true;
            return;
        }
        let status = head
            .get(0)
            .filter(|(n, _)| *n == b":status")
            .expect("no :status");
        let informational = status.1.first() == Some(&b'1');
        assert!(!(informational && end));
        s.final_head = !informational;
        s.ended = end;
    }

    fn data(&mut self, c: &mut Connection, stream: u32, n: usize, end: bool) {
        let stream_max = u64::from(self.cfg.stream_window);
        let conn_max = u64::from(self.cfg.conn_window.max(65_535));
        let s = self.live(stream);
        assert!(s.final_head && !s.ended, "DATA out of order");
        s.ended = end;
        s.unreleased += n as u64;
        assert!(s.unreleased <= stream_max, "DATA beyond the stream window");
        self.conn_unreleased += n as u64;
        assert!(
            self.conn_unreleased <= conn_max,
            "DATA beyond the connection window"
        );
        self.unreleased.push((stream, n));
        if self.release_now {
            self.release(c);
        }
    }

    fn release(&mut self, c: &mut Connection) {
        for (stream, n) in self.unreleased.drain(..) {
            c.release_data(stream, n);
            if let Some(s) = self.streams.get_mut(&stream) {
                s.unreleased -= n as u64;
            }
            self.conn_unreleased -= n as u64;
        }
    }

    fn event(&mut self, c: &mut Connection, e: Event) {
        assert!(!self.closed, "event after Closed: {e:?}");
        match e {
            Event::Headers {
                stream,
                head,
                end_stream,
            } => self.head(stream, &head, end_stream, false),
            Event::Trailers { stream, head } => self.head(stream, &head, true, true),
            Event::Data {
                stream,
                bytes,
                end_stream,
            } => self.data(c, stream, bytes.len(), end_stream),
            Event::DataAt {
                stream,
                len,
                end_stream,
                ..
            } => self.data(c, stream, len, end_stream),
            Event::Reset { stream, .. } => self.live(stream).reset = true,
            Event::StreamWritable { stream } => {
                self.live(stream);
            }
            Event::Closed(_) => {
                assert!(c.error().is_some());
                self.closed = true;
            }
            Event::GoAway { .. } => assert!(!c.can_open()),
            Event::RemoteSettings(_) | Event::SettingsAcked | Event::PingAcked => {}
        }
    }

    /// Takes every event; the queue holds at most [`MAX_EVENTS`] plus what a
    /// failure adds (a reset per open stream and [`Event::Closed`]).
    fn events(&mut self, c: &mut Connection) {
        let bound = H2_MAX_EVENTS + c.open_streams() + 1;
        let mut n = 0;
        while let Some(e) = c.poll_event() {
            n += 1;
            assert!(n <= bound, "event queue over its bound");
            self.event(c, e);
        }
    }

    /// Every byte the client writes is the preface, then well-formed frames
    /// on streams it opened.
    fn written(&mut self, bytes: &[u8]) {
        self.wire.extend_from_slice(bytes);
        if !self.preface_seen {
            if self.wire.len() < H2_PREFACE.len() {
                return;
            }
            assert!(self.wire.starts_with(H2_PREFACE), "no preface");
            self.wire.drain(..H2_PREFACE.len());
            self.preface_seen = true;
        }
        let mut pos = 0;
        loop {
            let (f, n) = match h2::frame::decode(&self.wire[pos..], MAX_MAX_FRAME_SIZE) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(e) => panic!("the client wrote a bad frame: {e}"),
            };
            check_written(&self.streams, &f);
            pos += n;
        }
        self.wire.drain(..pos);
    }

    /// Writes `n` of the queued bytes (all with `n` = `usize::MAX`). Once a
    /// failed connection's queue (ending in its GOAWAY) is written, nothing
    /// more is queued.
    fn transmit(&mut self, c: &mut Connection, n: usize) {
        let out = c.poll_transmit();
        assert!(
            !self.sealed || out.is_empty(),
            "bytes queued after the GOAWAY"
        );
        let n = n.min(out.len());
        let bytes = out[..n].to_vec();
        c.consume_transmit(n);
        self.written(&bytes);
        if c.poll_transmit().is_empty() {
            self.allowance = 0;
            self.sealed = c.error().is_some();
        }
    }

    fn check_queue(&self, c: &Connection) {
        let bound = MAX_CONTROL_QUEUE + MAX_SEND_QUEUE + H2_FRAME_SLACK + self.allowance;
        assert!(
            c.poll_transmit().len() <= bound,
            "transmit queue over its bound"
        );
    }
}

/// A frame the client wrote: stream frames only on streams it opened.
fn check_written(opened: &BTreeMap<u32, SeenStream>, f: &H2Frame<'_>) {
    let stream = match *f {
        H2Frame::Data { stream, .. }
        | H2Frame::Headers { stream, .. }
        | H2Frame::Continuation { stream, .. }
        | H2Frame::RstStream { stream, .. } => stream,
        H2Frame::WindowUpdate { stream, .. } if stream != 0 => stream,
        H2Frame::Settings { .. }
        | H2Frame::Ping { .. }
        | H2Frame::GoAway { .. }
        | H2Frame::WindowUpdate { .. } => return,
        _ => panic!("the client wrote {f:?}"),
    };
    assert!(
        opened.contains_key(&stream),
        "frame on stream {stream} never opened: {f:?}"
    );
}

fn h2_request(end: bool) -> H2Request<'static> {
    H2Request {
        method: if end { b"GET" } else { b"POST" },
        scheme: b"https",
        authority: b"example.org",
        path: b"/fuzz",
        protocol: None,
        headers: &[(b"user-agent", b"curlew-fuzz")],
    }
}

impl H2Check {
    fn new(cfg: H2Config, release_now: bool) -> Self {
        Self {
            cfg,
            streams: BTreeMap::new(),
            unreleased: Vec::new(),
            conn_unreleased: 0,
            release_now,
            closed: false,
            allowance: 0,
            wire: Vec::new(),
            preface_seen: false,
            sealed: false,
        }
    }

    /// Calls `f` on the connection, counting what it queues as ours.
    fn queue(&mut self, c: &mut Connection, f: impl FnOnce(&mut Connection)) {
        let before = c.poll_transmit().len();
        f(c);
        self.allowance += c.poll_transmit().len().saturating_sub(before);
    }

    fn open(&mut self, c: &mut Connection, end: bool) {
        let could = c.can_open();
        let mut r = None;
        self.queue(c, |c| r = Some(c.open_stream(&h2_request(end), end)));
        match r.expect("called") {
            Ok(id) => {
                assert!(could && id % 2 == 1 && !self.streams.contains_key(&id));
                self.streams.insert(id, SeenStream::default());
            }
            Err(e) => assert!(!could, "open refused ({e:?}) while can_open"),
        }
    }

    /// A stream that is still open as far as the events tell, from `pick`.
    fn pick(&self, pick: u8) -> Option<u32> {
        let live: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| !s.reset)
            .map(|(&id, _)| id)
            .collect();
        (!live.is_empty()).then(|| live[usize::from(pick) % live.len()])
    }

    /// One caller operation (`op` bits 0-2), before the next input.
    fn op(&mut self, c: &mut Connection, r: &mut Reader<'_>, op: u8, now: Instant) {
        match op & 7 {
            1 => self.open(c, op & 8 != 0),
            2 => {
                let _ = c.ping(now);
            }
            3 | 4 | 7 => {
                let Some(id) = self.pick(r.u8()) else { return };
                let len = usize::from(r.u8()) * 64;
                match op & 7 {
                    3 => self.queue(c, |c| {
                        if let Ok(n) = c.send_data(id, &vec![b'x'; len], op & 8 != 0) {
                            assert!(n <= len);
                        }
                    }),
                    4 => {
                        c.reset(id, ErrorCode::CANCEL);
                        self.live(id).reset = true;
                    }
                    _ => self.queue(c, |c| {
                        let _ = c.send_trailers(id, &[(b"x-check", b"1")]);
                    }),
                }
            }
            5 => self.release(c),
            6 => self.queue(c, |c| c.go_away(ErrorCode::NO_ERROR)),
            _ => {}
        }
    }
}

/// Advances the clock by the step in `op` bits 6-7 and fires what is due: a
/// deadline that passed fails the connection, none fires early.
fn h2_time(c: &mut Connection, now: &mut Instant, op: u8) {
    *now += [0, 1, 10, 60][usize::from(op >> 6)] * Duration::from_secs(1);
    let due = c.next_timeout().is_some_and(|t| *now >= t);
    let failed = c.error().is_some();
    c.handle_timeout(*now);
    assert_eq!(c.error().is_some(), failed || due, "deadline");
}

/// `h2_conn`: a client [`Connection`] (configuration from byte 0, see
/// [`h2_config`]) opens streams (byte 1: none, one or two, END_STREAM or
/// not), then each step reads an operation byte, the size of the next read
/// ([`read_size`], none for 0) and that many bytes of the server's side: the operation
/// runs (open, ping, send, reset, trailers, release, GOAWAY), the bytes are
/// handed to the connection, events are taken, the written bytes checked
/// (all, part, or none: a stalled writer) and the clock advanced.
///
/// Invariants: no panic; what is left unconsumed is less than one frame;
/// events come in order per stream and never for a reset or unopened
/// stream, nothing after [`Event::Closed`]; DATA stays within the windows we
/// grant; heads within the list limit; the event and transmit queues within
/// [`MAX_EVENTS`], [`MAX_CONTROL_QUEUE`] and [`MAX_SEND_QUEUE`]; every written
/// frame is well-formed, on a stream we opened; nothing is queued after a
/// failure's GOAWAY; deadlines fire when due and not before.
pub fn h2_conn(data: &[u8]) {
    let mut r = Reader::new(data);
    let (opts, start) = (r.u8(), r.u8());
    let cfg = h2_config(opts);
    let mut now = Instant::now();
    let mut c = Connection::new(cfg.clone(), now);
    let mut chk = H2Check::new(cfg.clone(), opts & 0x80 == 0);
    for i in 0..start % 3 {
        chk.open(&mut c, start >> (2 + i) & 1 != 0);
    }
    let mut rx: Vec<u8> = Vec::new();
    let mut steps = 0;
    while !r.is_empty() && steps < 4096 {
        steps += 1;
        let op = r.u8();
        chk.op(&mut c, &mut r, op, now);
        // Size byte 0 is a step without input (a read size of 1 is also 32).
        let n = match r.u8() {
            0 => 0,
            b => read_size(b),
        };
        rx.extend_from_slice(r.take(n));
        let used = c.handle_input(&rx);
        assert!(used <= rx.len());
        rx.drain(..used);
        if c.error().is_none() {
            assert_eq!(h2::frame::decode(&rx, cfg.max_frame_size), Ok(None));
            assert!(rx.len() < H2_HEADER_LEN + cfg.max_frame_size as usize);
        } else {
            assert!(rx.is_empty() && c.next_timeout().is_none());
        }
        chk.events(&mut c);
        chk.check_queue(&c);
        match op >> 4 & 3 {
            0 | 1 => chk.transmit(&mut c, usize::MAX),
            2 => chk.transmit(&mut c, usize::from(r.u8()) * 16),
            _ => {}
        }
        h2_time(&mut c, &mut now, op);
        chk.events(&mut c);
    }
    chk.transmit(&mut c, usize::MAX);
}
