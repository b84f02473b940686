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
