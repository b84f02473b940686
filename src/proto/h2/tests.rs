//! Connection tests: a scripted server writes frames with the codec, the
//! connection's output is decoded back; plus a seeded fuzz loop.

use std::time::{Duration, Instant};

use super::conn::*;
use super::error::ErrorCode;
use super::frame::{self, flag, kind, Frame, FrameHeader};
use super::hpack::Encoder;
use super::settings::id;

/// The origin of each test's timeline. The connection reads no clock: it only compares the
/// instants it is given, so any instant serves; this is the one place the tests take one.
fn t0() -> Instant {
    Instant::now()
}

fn req() -> Request<'static> {
    Request {
        method: b"GET",
        scheme: b"https",
        authority: b"example.org",
        path: b"/",
        protocol: None,
        headers: &[(b"user-agent", b"curlew")],
    }
}

/// A connected client: preface exchanged, server SETTINGS applied and acked.
fn connected(server: &[(u16, u32)]) -> (Connection, Instant) {
    let now = t0();
    let mut c = Connection::new(Config::default(), now);
    assert!(c.poll_transmit().starts_with(PREFACE));
    let n = c.poll_transmit().len();
    c.consume_transmit(n);
    let mut b = Vec::new();
    frame::encode_settings(&mut b, server);
    frame::encode_settings_ack(&mut b);
    assert_eq!(c.handle_input(&b), b.len());
    assert!(matches!(c.poll_event(), Some(Event::RemoteSettings(_))));
    assert_eq!(c.poll_event(), Some(Event::SettingsAcked));
    assert_eq!(c.next_timeout(), None);
    drain(&mut c);
    (c, now)
}

/// The frames the client wrote, as (kind, flags, stream, payload).
fn drain(c: &mut Connection) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let out = c.poll_transmit().to_vec();
    c.consume_transmit(out.len());
    let mut v = Vec::new();
    let mut rest = out.strip_prefix(PREFACE).unwrap_or(&out);
    while let Some(h) = FrameHeader::parse(rest) {
        let end = 9 + h.len as usize;
        v.push((h.kind, h.flags, h.stream, rest[9..end].to_vec()));
        rest = &rest[end..];
    }
    v
}

fn response(stream: u32, status: &[u8], end: bool) -> Vec<u8> {
    let mut block = Vec::new();
    Encoder::new().encode([(&b":status"[..], status)], &mut block);
    let mut b = Vec::new();
    frame::encode_header_block(&mut b, stream, &block, end, 16384);
    b
}

fn goaway_code(c: &mut Connection) -> Option<ErrorCode> {
    drain(c).into_iter().find_map(|(k, _, _, p)| {
        (k == kind::GOAWAY).then(|| ErrorCode(u32::from_be_bytes([p[4], p[5], p[6], p[7]])))
    })
}

#[test]
fn preface_settings_and_window() {
    let now = t0();
    let mut c = Connection::new(Config::default(), now);
    let out = c.poll_transmit()[PREFACE.len()..].to_vec();
    let (f, n) = frame::decode(&out, 16384).unwrap().unwrap();
    let Frame::Settings { ack: false, params } = f else {
        panic!("{f:?}")
    };
    let p: Vec<_> = frame::settings_params(params).collect();
    assert!(p.contains(&(id::ENABLE_PUSH, 0)));
    assert!(p.contains(&(id::INITIAL_WINDOW_SIZE, DEFAULT_STREAM_WINDOW)));
    let (f, _) = frame::decode(&out[n..], 16384).unwrap().unwrap();
    assert_eq!(
        f,
        Frame::WindowUpdate {
            stream: 0,
            increment: DEFAULT_CONN_WINDOW - 65_535
        }
    );
    // The SETTINGS ACK deadline.
    assert_eq!(c.next_timeout(), Some(now + DEFAULT_SETTINGS_TIMEOUT));
    c.handle_timeout(now + DEFAULT_SETTINGS_TIMEOUT);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::SETTINGS_TIMEOUT));
}

#[test]
fn first_frame_must_be_settings() {
    let mut c = Connection::new(Config::default(), t0());
    drain(&mut c);
    let mut b = Vec::new();
    frame::encode_ping(&mut b, false, [0; 8]);
    c.handle_input(&b);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn request_response_with_trailers_and_window_updates() {
    let (mut c, _) = connected(&[]);
    let s = c.open_stream(&req(), true).unwrap();
    assert_eq!(s, 1);
    let f = drain(&mut c);
    assert_eq!(f[0].0, kind::HEADERS);
    assert_eq!(f[0].1, flag::END_STREAM | flag::END_HEADERS);
    let mut b = response(1, b"200", false);
    frame::encode_data(&mut b, 1, &[7; 5000], false);
    let mut block = Vec::new();
    Encoder::new().encode([(&b"grpc-status"[..], &b"0"[..])], &mut block);
    frame::encode_header_block(&mut b, 1, &block, true, 16384);
    assert_eq!(c.handle_input(&b), b.len());
    let Some(Event::Headers {
        stream: 1,
        head,
        end_stream: false,
    }) = c.poll_event()
    else {
        panic!()
    };
    assert_eq!(head.value(b":status"), Some(&b"200"[..]));
    let Some(Event::Data {
        stream: 1,
        bytes,
        end_stream: false,
    }) = c.poll_event()
    else {
        panic!()
    };
    assert_eq!(bytes.len(), 5000);
    assert!(matches!(
        c.poll_event(),
        Some(Event::Trailers { stream: 1, .. })
    ));
    assert_eq!(c.open_streams(), 0);
    // Small releases are batched; the connection's window is granted later.
    c.release_data(1, 5000);
    assert!(drain(&mut c).is_empty());
}

#[test]
fn paused_stream_stops_its_own_window_only() {
    let (mut c, _) = connected(&[]);
    let a = c.open_stream(&req(), true).unwrap();
    let b = c.open_stream(&req(), true).unwrap();
    let mut input = response(a, b"200", false);
    input.extend(response(b, b"200", false));
    c.handle_input(&input);
    let chunk = vec![0u8; 16384];
    // Stream b receives its whole window and is never released.
    let mut flood = Vec::new();
    for _ in 0..(DEFAULT_STREAM_WINDOW as usize / chunk.len()) {
        frame::encode_data(&mut flood, b, &chunk, false);
    }
    assert_eq!(c.handle_input(&flood), flood.len());
    // One more byte on b is a stream error, not a connection error.
    let mut over = Vec::new();
    frame::encode_data(&mut over, b, b"x", false);
    c.handle_input(&over);
    assert!(c.error().is_none());
    let f = drain(&mut c);
    assert!(f.iter().any(|x| x.0 == kind::RST_STREAM && x.2 == b));
    // Stream a still flows, and releasing it grants both windows.
    let mut more = Vec::new();
    frame::encode_data(&mut more, a, &chunk, false);
    c.handle_input(&more);
    c.release_data(a, DEFAULT_STREAM_WINDOW as usize);
    let f = drain(&mut c);
    assert!(f.iter().any(|x| x.0 == kind::WINDOW_UPDATE && x.2 == a));
}

#[test]
fn send_data_respects_windows_and_reports_writable() {
    let (mut c, _) = connected(&[(id::INITIAL_WINDOW_SIZE, 1000)]);
    let s = c.open_stream(&req(), false).unwrap();
    assert_eq!(c.send_data(s, &[1; 3000], true), Ok(1000));
    assert_eq!(c.send_data(s, &[1; 2000], true), Ok(0));
    let mut b = Vec::new();
    frame::encode_window_update(&mut b, s, 5000);
    c.handle_input(&b);
    assert_eq!(c.poll_event(), Some(Event::StreamWritable { stream: s }));
    assert_eq!(c.send_data(s, &[1; 2000], true), Ok(2000));
    let f = drain(&mut c);
    let last = f.last().unwrap();
    assert_eq!(
        (last.0, last.1 & flag::END_STREAM),
        (kind::DATA, flag::END_STREAM)
    );
    assert_eq!(c.send_data(s, b"x", false), Err(SendError::StreamClosed));
}

#[test]
fn max_concurrent_streams_and_extended_connect() {
    let (mut c, _) = connected(&[(id::MAX_CONCURRENT_STREAMS, 1)]);
    let mut ws = req();
    ws.method = b"CONNECT";
    ws.protocol = Some(b"websocket");
    c.open_stream(&req(), false).unwrap();
    assert_eq!(c.open_stream(&req(), false), Err(SendError::TooManyStreams));
    let (mut c, _) = connected(&[(id::ENABLE_CONNECT_PROTOCOL, 1)]);
    assert!(c.open_stream(&ws, false).is_ok());
    let (mut c, _) = connected(&[]);
    assert_eq!(
        c.open_stream(&ws, false),
        Err(SendError::ConnectProtocolDisabled)
    );
    let mut bad = req();
    bad.headers = &[(b"connection", b"close")];
    assert_eq!(c.open_stream(&bad, false), Err(SendError::BadHeader));
}

#[test]
fn goaway_marks_later_streams_retryable() {
    let (mut c, _) = connected(&[]);
    for _ in 0..3 {
        c.open_stream(&req(), true).unwrap();
    }
    let mut b = Vec::new();
    frame::encode_goaway(&mut b, 1, ErrorCode::NO_ERROR, b"");
    c.handle_input(&b);
    let ev: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert_eq!(
        ev,
        [
            Event::Reset {
                stream: 3,
                code: ErrorCode::REFUSED_STREAM,
                retryable: true
            },
            Event::Reset {
                stream: 5,
                code: ErrorCode::REFUSED_STREAM,
                retryable: true
            },
            Event::GoAway {
                last_stream: 1,
                code: ErrorCode::NO_ERROR
            },
        ]
    );
    assert_eq!(c.open_stream(&req(), true), Err(SendError::Closed));
    assert_eq!(c.open_streams(), 1);
}

#[test]
fn ping_both_ways_and_timeout() {
    let (mut c, now) = connected(&[]);
    let mut b = Vec::new();
    frame::encode_ping(&mut b, false, [9; 8]);
    c.handle_input(&b);
    assert_eq!(drain(&mut c), [(kind::PING, flag::ACK, 0, vec![9; 8])]);
    assert!(c.ping(now));
    let sent = drain(&mut c).remove(0).3;
    b.clear();
    frame::encode_ping(&mut b, true, sent.try_into().unwrap());
    c.handle_input(&b);
    assert_eq!(c.poll_event(), Some(Event::PingAcked));
    assert!(c.ping(now));
    assert_eq!(c.next_timeout(), Some(now + DEFAULT_PING_TIMEOUT));
    c.handle_timeout(now + DEFAULT_PING_TIMEOUT - Duration::from_millis(1));
    assert!(c.error().is_none());
    c.handle_timeout(now + DEFAULT_PING_TIMEOUT);
    assert!(c.error().is_some());
}

#[test]
fn connection_and_stream_errors() {
    let (mut c, _) = connected(&[]);
    c.open_stream(&req(), true).unwrap();
    // RST_STREAM from the server.
    let mut b = Vec::new();
    frame::encode_rst_stream(&mut b, 1, ErrorCode::REFUSED_STREAM);
    c.handle_input(&b);
    assert_eq!(
        c.poll_event(),
        Some(Event::Reset {
            stream: 1,
            code: ErrorCode::REFUSED_STREAM,
            retryable: true
        })
    );
    // DATA before the head is a stream error.
    c.open_stream(&req(), true).unwrap();
    b.clear();
    frame::encode_data(&mut b, 3, b"x", false);
    c.handle_input(&b);
    assert!(matches!(
        c.poll_event(),
        Some(Event::Reset { stream: 3, .. })
    ));
    // PUSH_PROMISE is a connection error.
    b.clear();
    FrameHeader {
        len: 4,
        kind: kind::PUSH_PROMISE,
        flags: flag::END_HEADERS,
        stream: 1,
    }
    .encode(&mut b);
    b.extend_from_slice(&[0, 0, 0, 2]);
    c.handle_input(&b);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::PROTOCOL_ERROR));
    // A frame on an idle stream.
    let (mut c, _) = connected(&[]);
    c.handle_input(&response(7, b"200", true));
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::PROTOCOL_ERROR));
    // Garbage HPACK is a COMPRESSION_ERROR.
    let (mut c, _) = connected(&[]);
    c.open_stream(&req(), true).unwrap();
    b.clear();
    frame::encode_header_block(&mut b, 1, &[0x80], true, 16384);
    c.handle_input(&b);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::COMPRESSION_ERROR));
}

/// xorshift64*: the deterministic source of the fuzz loop.
fn next(s: &mut u64) -> u64 {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    s.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Random frame sequences, valid-looking and mutated, into the decoder and
/// the connection: no panic, and the transmit queue and events stay bounded.
#[test]
fn fuzz_frames_seeded() {
    let mut seed = 0x1234_5678_9abc_def1u64;
    for _ in 0..300 {
        let (mut c, _) = connected(&[]);
        let _ = c.open_stream(&req(), false);
        let _ = c.open_stream(&req(), true);
        let mut input = Vec::new();
        for _ in 0..(next(&mut seed) % 40) {
            let r = next(&mut seed);
            let k = (r % 12) as u8;
            let flags = (r >> 8) as u8;
            let stream = ((r >> 16) % 6) as u32;
            let len = ((r >> 24) % 40) as usize;
            FrameHeader {
                len: len as u32,
                kind: k,
                flags,
                stream,
            }
            .encode(&mut input);
            input.extend((0..len).map(|_| next(&mut seed) as u8));
        }
        if next(&mut seed) % 2 == 0 && !input.is_empty() {
            let i = (next(&mut seed) as usize) % input.len();
            input[i] ^= next(&mut seed) as u8;
        }
        let mut pos = 0;
        while pos < input.len() {
            let end = (pos + 1 + (next(&mut seed) % 64) as usize).min(input.len());
            let n = c.handle_input(&input[pos..end]);
            if n == 0 && end == input.len() {
                break;
            }
            pos += n.max(if n == 0 { 0 } else { 1 }).min(end - pos);
            if n == 0 {
                // Not a whole frame yet: hand over the rest at once.
                let n = c.handle_input(&input[pos..]);
                pos += n.max(1);
            }
            let _ = frame::decode(&input[pos.min(input.len())..], 16384);
        }
        assert!(c.poll_transmit().len() <= MAX_CONTROL_QUEUE + MAX_SEND_QUEUE + 1024);
        let mut events = 0;
        while c.poll_event().is_some() {
            events += 1;
        }
        assert!(events <= MAX_EVENTS + 64);
    }
}

fn frame_bytes(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    FrameHeader {
        len: payload.len() as u32,
        kind,
        flags,
        stream,
    }
    .encode(&mut b);
    b.extend_from_slice(payload);
    b
}

/// Frames the decoder rejects with a stream error: the stream is reset only
/// when it is one we opened and no header block is open; otherwise the
/// connection fails (no RST_STREAM on an idle stream, §5.1; nothing between
/// HEADERS and its CONTINUATION, §6.10).
#[test]
fn decoder_stream_errors_reset_only_open_streams() {
    let bad_priority = |stream| frame_bytes(kind::PRIORITY, 0, stream, &[0]);
    // On an open stream, outside a block: that stream is reset.
    let (mut c, _) = connected(&[]);
    c.open_stream(&req(), true).unwrap();
    drain(&mut c);
    c.handle_input(&bad_priority(1));
    let f = drain(&mut c);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].0, f[0].2), (kind::RST_STREAM, 1));
    assert_eq!(c.error(), None);
    // On an idle stream: a connection error, no RST_STREAM.
    for (input, code) in [
        (bad_priority(2), ErrorCode::FRAME_SIZE_ERROR),
        (
            frame_bytes(kind::WINDOW_UPDATE, 0, 7, &[0; 4]),
            ErrorCode::PROTOCOL_ERROR,
        ),
    ] {
        let (mut c, _) = connected(&[]);
        c.open_stream(&req(), true).unwrap();
        drain(&mut c);
        c.handle_input(&input);
        let f = drain(&mut c);
        assert!(f.iter().all(|x| x.0 != kind::RST_STREAM), "{f:?}");
        assert_eq!(c.error().map(|e| e.code), Some(code));
    }
    // Between HEADERS and its CONTINUATION, even on an open stream.
    let (mut c, _) = connected(&[]);
    c.open_stream(&req(), true).unwrap();
    c.open_stream(&req(), true).unwrap();
    drain(&mut c);
    let mut b = frame_bytes(kind::HEADERS, 0, 1, &[0x88]);
    b.extend(bad_priority(3));
    c.handle_input(&b);
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::PROTOCOL_ERROR));
}

/// A response head over SETTINGS_MAX_HEADER_LIST_SIZE resets its stream
/// (PROTOCOL_ERROR) without being kept: the list is bounded while decoding,
/// and the block is still decoded to the end so the HPACK context stays in
/// step; the next stream's head refers to the table entry the rejected block
/// added and arrives whole.
#[test]
fn response_head_over_the_list_limit_resets_the_stream_only() {
    let now = t0();
    let cfg = Config {
        max_header_list_size: 1024,
        ..Config::default()
    };
    let mut c = Connection::new(cfg, now);
    let mut b = Vec::new();
    frame::encode_settings(&mut b, &[]);
    frame::encode_settings_ack(&mut b);
    c.handle_input(&b);
    while c.poll_event().is_some() {}
    let a = c.open_stream(&req(), true).unwrap();
    drain(&mut c);
    // One 900-byte field indexed into the dynamic table (62), then 200
    // references to it: 6 KiB of block, 190 KB of list if it were kept.
    let mut block = vec![0x40, 0x01, b'x'];
    super::hpack::encoder::encode_int(&mut block, 0, 7, 900);
    block.resize(block.len() + 900, b'v');
    block.extend([0xbe; 200]);
    let mut b = Vec::new();
    frame::encode_header_block(&mut b, a, &block, true, 16384);
    assert_eq!(c.handle_input(&b), b.len());
    let reset = Event::Reset {
        stream: a,
        code: ErrorCode::PROTOCOL_ERROR,
        retryable: false,
    };
    assert_eq!(c.poll_event(), Some(reset));
    assert_eq!(c.poll_event(), None);
    let f = drain(&mut c);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].0, f[0].2), (kind::RST_STREAM, a));
    assert_eq!(f[0].3, ErrorCode::PROTOCOL_ERROR.0.to_be_bytes());
    assert_eq!(c.error(), None);
    assert!(c.block_buf.capacity() <= 2 * block.len());
    // The connection goes on, its HPACK context in step.
    let next = c.open_stream(&req(), true).unwrap();
    let mut b = Vec::new();
    frame::encode_header_block(&mut b, next, &[0x88, 0xbe], true, 16384);
    assert_eq!(c.handle_input(&b), b.len());
    let Some(Event::Headers { stream, head, .. }) = c.poll_event() else {
        panic!("no head")
    };
    assert_eq!(stream, next);
    assert_eq!(head.value(b":status"), Some(&b"200"[..]));
    assert_eq!(head.value(b"x").map(<[u8]>::len), Some(900));
    assert!(head.size() <= 1024);
}

#[test]
fn a_header_block_waits_for_room_in_the_send_queue_and_a_huge_one_is_refused() {
    let (mut c, _) = connected(&[]);
    // '~' takes 13 bits in Huffman: these values go out as raw literals, as long as they are.
    let big = vec![b'~'; 200 << 10];
    let fields: [(&[u8], &[u8]); 1] = [(b"x-big", &big)];
    let mut r = req();
    r.headers = &fields;
    let first = c.open_stream(&r, true).unwrap();
    // The first block fills most of the queue: the next one must wait, and nothing of it
    // (not even its stream id or the encoder's table) is spent meanwhile.
    let half = vec![b'~'; 100 << 10];
    let fields2: [(&[u8], &[u8]); 1] = [(b"x-half", &half)];
    r.headers = &fields2;
    assert_eq!(c.open_stream(&r, true), Err(SendError::WouldBlock));
    let frames = drain(&mut c);
    assert!(
        frames.iter().all(|f| f.2 == first),
        "only the first stream went out"
    );
    let second = c.open_stream(&r, true).unwrap();
    assert_eq!(second, first + 2);
    drain(&mut c);
    // A block that could never fit the queue is refused outright.
    let huge = vec![b'c'; MAX_SEND_QUEUE];
    let fields3: [(&[u8], &[u8]); 1] = [(b"x-huge", &huge)];
    r.headers = &fields3;
    assert_eq!(c.open_stream(&r, true), Err(SendError::HeadTooLarge));
    assert_eq!(c.open_stream(&req(), true).unwrap(), second + 2);
}

#[test]
fn trailers_wait_for_room_in_the_send_queue_too() {
    let (mut c, _) = connected(&[]);
    let id = c.open_stream(&req(), false).unwrap();
    let big = vec![b'~'; 250 << 10];
    let fields: [(&[u8], &[u8]); 1] = [(b"x-big", &big)];
    let mut r = req();
    r.headers = &fields;
    c.open_stream(&r, true).unwrap();
    let trailer: [(&[u8], &[u8]); 1] = [(b"x-checksum", &[b'~'; 8192][..])];
    assert_eq!(c.send_trailers(id, &trailer), Err(SendError::WouldBlock));
    drain(&mut c);
    c.send_trailers(id, &trailer).unwrap();
    let frames = drain(&mut c);
    assert!(frames
        .iter()
        .any(|f| f.2 == id && f.0 == kind::HEADERS && f.1 & flag::END_STREAM != 0));
}

/// A flood of empty CONTINUATION frames (they add nothing to the block, so the block size
/// limit never fires) fails the connection after MAX_CONTINUATIONS.
#[test]
fn empty_continuation_flood_is_bounded() {
    let (mut c, _) = connected(&[]);
    c.open_stream(&req(), true).unwrap();
    drain(&mut c);
    let mut b = frame_bytes(kind::HEADERS, 0, 1, &[0x88]);
    for _ in 0..MAX_CONTINUATIONS {
        b.extend(frame_bytes(kind::CONTINUATION, 0, 1, &[]));
    }
    c.handle_input(&b);
    assert_eq!(c.error(), None, "up to the limit is allowed");
    c.handle_input(&frame_bytes(kind::CONTINUATION, 0, 1, &[]));
    assert_eq!(goaway_code(&mut c), Some(ErrorCode::ENHANCE_YOUR_CALM));
}

/// With `data_in_place`, DATA is reported as a place in the input (padding left out).
#[test]
fn data_in_place_points_into_the_input() {
    let now = t0();
    let cfg = Config {
        data_in_place: true,
        ..Config::default()
    };
    let mut c = Connection::new(cfg, now);
    drain(&mut c);
    let mut b = Vec::new();
    frame::encode_settings(&mut b, &[]);
    frame::encode_settings_ack(&mut b);
    c.handle_input(&b);
    while c.poll_event().is_some() {}
    c.open_stream(&req(), true).unwrap();
    drain(&mut c);
    let mut b = response(1, b"200", false);
    let head_len = b.len();
    // A padded DATA frame: pad length 3, payload "abcdef", 3 bytes of padding.
    let mut payload = vec![3u8];
    payload.extend_from_slice(b"abcdef");
    payload.extend_from_slice(&[0, 0, 0]);
    b.extend(frame_bytes(
        kind::DATA,
        flag::PADDED | flag::END_STREAM,
        1,
        &payload,
    ));
    assert_eq!(c.handle_input(&b), b.len());
    assert!(matches!(c.poll_event(), Some(Event::Headers { .. })));
    let Some(Event::DataAt {
        stream: 1,
        offset,
        len: 6,
        end_stream: true,
    }) = c.poll_event()
    else {
        panic!()
    };
    assert_eq!(offset, head_len + 9 + 1);
    assert_eq!(&b[offset..offset + 6], b"abcdef");
}
