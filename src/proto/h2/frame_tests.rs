//! Unit tests of the frame codec.

use super::*;

const MAX: u32 = DEFAULT_MAX_FRAME_SIZE;

fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    header(&mut v, payload.len(), kind, flags, stream);
    v.extend_from_slice(payload);
    v
}

/// Decodes a whole frame from a copy that lives for the test (a small leak
/// keeps the assertions free of lifetime plumbing).
fn one(buf: &[u8]) -> Result<Frame<'static>, H2Error> {
    let buf: &'static [u8] = Box::leak(buf.to_vec().into_boxed_slice());
    let (f, n) = decode(buf, MAX)?.expect("whole frame");
    assert_eq!(n, buf.len());
    Ok(f)
}

fn code(r: Result<Frame<'_>, H2Error>) -> (bool, ErrorCode) {
    match r.expect_err("error") {
        H2Error::Connection(e) => (true, e.code),
        H2Error::Stream(e) => (false, e.code),
    }
}

#[test]
fn header_roundtrip_and_reserved_bit() {
    let h = FrameHeader {
        len: 0x123456,
        kind: 7,
        flags: 0xab,
        stream: 0x7fff_fffe,
    };
    let mut v = Vec::new();
    h.encode(&mut v);
    assert_eq!(v.len(), FRAME_HEADER_LEN);
    assert_eq!(FrameHeader::parse(&v), Some(h));
    v[5] |= 0x80; // reserved bit is ignored on receipt (§4.1)
    assert_eq!(FrameHeader::parse(&v).unwrap().stream, 0x7fff_fffe);
    assert_eq!(FrameHeader::parse(&v[..8]), None);
}

#[test]
fn partial_frames_consume_nothing() {
    let mut buf = Vec::new();
    encode_data(&mut buf, 1, b"hello", true);
    encode_ping(&mut buf, false, [7; 8]);
    let total = buf.len();
    for cut in 0..14 {
        assert_eq!(decode(&buf[..cut], MAX).unwrap(), None, "cut {cut}");
    }
    let (f, n) = decode(&buf, MAX).unwrap().unwrap();
    assert_eq!(n, 14);
    assert_eq!(
        f,
        Frame::Data {
            stream: 1,
            data: b"hello",
            end_stream: true,
            flow_len: 5
        }
    );
    let (f, m) = decode(&buf[n..], MAX).unwrap().unwrap();
    assert_eq!(n + m, total);
    assert_eq!(
        f,
        Frame::Ping {
            ack: false,
            payload: [7; 8]
        }
    );
}

#[test]
fn padding_is_removed_and_counted() {
    let f = one(&raw(kind::DATA, flag::PADDED, 3, b"\x02abcXY")).unwrap();
    assert_eq!(
        f,
        Frame::Data {
            stream: 3,
            data: b"abc",
            end_stream: false,
            flow_len: 6
        }
    );
    // Pad length equal to the rest: empty data, fine.
    let f = one(&raw(kind::DATA, flag::PADDED, 3, b"\x02XY")).unwrap();
    assert!(matches!(f, Frame::Data { data: b"", .. }));
    // Padding longer than the payload (§6.1): PROTOCOL_ERROR.
    let r = one(&raw(kind::DATA, flag::PADDED, 3, b"\x03XY"));
    assert_eq!(code(r), (true, ErrorCode::PROTOCOL_ERROR));
    let r = one(&raw(kind::DATA, flag::PADDED, 3, b""));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
}

#[test]
fn headers_with_padding_and_priority() {
    let mut p = vec![1u8]; // pad length
    p.extend_from_slice(&[0x80, 0, 0, 1, 16]); // exclusive dep on 1, weight
    p.extend_from_slice(b"block");
    p.push(0); // padding
    let flags = flag::PADDED | flag::PRIORITY | flag::END_HEADERS | flag::END_STREAM;
    let f = one(&raw(kind::HEADERS, flags, 5, &p)).unwrap();
    assert_eq!(
        f,
        Frame::Headers {
            stream: 5,
            fragment: b"block",
            end_stream: true,
            end_headers: true
        }
    );
    let r = one(&raw(kind::HEADERS, flag::PRIORITY, 5, b"abc"));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
}

#[test]
fn stream_zero_rules() {
    for k in [
        kind::DATA,
        kind::HEADERS,
        kind::PRIORITY,
        kind::RST_STREAM,
        kind::PUSH_PROMISE,
        kind::CONTINUATION,
    ] {
        let r = one(&raw(k, 0, 0, &[0; 5]));
        assert_eq!(code(r), (true, ErrorCode::PROTOCOL_ERROR), "kind {k}");
    }
    for k in [kind::SETTINGS, kind::PING, kind::GOAWAY] {
        let r = one(&raw(k, 0, 1, &[0; 8]));
        assert_eq!(code(r), (true, ErrorCode::PROTOCOL_ERROR), "kind {k}");
    }
}

#[test]
fn fixed_lengths() {
    let r = one(&raw(kind::PRIORITY, 0, 1, &[0; 4]));
    assert_eq!(code(r), (false, ErrorCode::FRAME_SIZE_ERROR));
    assert_eq!(
        one(&raw(kind::PRIORITY, 0, 1, &[0; 5])).unwrap(),
        Frame::Priority { stream: 1 }
    );
    let r = one(&raw(kind::RST_STREAM, 0, 1, &[0; 5]));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
    let r = one(&raw(kind::PING, 0, 0, &[0; 7]));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
    let r = one(&raw(kind::GOAWAY, 0, 0, &[0; 7]));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
    let r = one(&raw(kind::WINDOW_UPDATE, 0, 0, &[0; 3]));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
    let r = one(&raw(kind::SETTINGS, 0, 0, &[0; 7]));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
    let r = one(&raw(kind::SETTINGS, flag::ACK, 0, &[0; 6]));
    assert_eq!(code(r), (true, ErrorCode::FRAME_SIZE_ERROR));
}

#[test]
fn window_update_zero_increment() {
    let r = one(&raw(kind::WINDOW_UPDATE, 0, 0, &[0x80, 0, 0, 0]));
    assert_eq!(code(r), (true, ErrorCode::PROTOCOL_ERROR));
    let r = one(&raw(kind::WINDOW_UPDATE, 0, 3, &[0, 0, 0, 0]));
    assert_eq!(code(r), (false, ErrorCode::PROTOCOL_ERROR));
    let mut v = Vec::new();
    encode_window_update(&mut v, 3, 1000);
    assert_eq!(
        one(&v).unwrap(),
        Frame::WindowUpdate {
            stream: 3,
            increment: 1000
        }
    );
}

#[test]
fn max_frame_size_checked_on_the_header() {
    let mut v = Vec::new();
    header(&mut v, MAX as usize + 1, kind::DATA, 0, 1);
    // Only the header is there: the error does not wait for the payload.
    let r = decode(&v, MAX);
    assert!(matches!(
        r,
        Err(H2Error::Connection(e)) if e.code == ErrorCode::FRAME_SIZE_ERROR
    ));
    assert_eq!(decode(&v, MAX + 1).unwrap(), None);
}

#[test]
fn unknown_types_are_returned_for_ignoring() {
    let f = one(&raw(0xfa, 0xff, 9, b"whatever")).unwrap();
    assert_eq!(
        f,
        Frame::Unknown {
            kind: 0xfa,
            stream: 9
        }
    );
}

#[test]
fn control_frames_roundtrip() {
    let mut v = Vec::new();
    encode_settings(&mut v, &[(1, 4096), (4, 1 << 20)]);
    let f = one(&v).unwrap();
    let Frame::Settings { ack: false, params } = f else {
        panic!("{f:?}")
    };
    let got: Vec<_> = settings_params(params).collect();
    assert_eq!(got, [(1, 4096), (4, 1 << 20)]);
    v.clear();
    encode_settings_ack(&mut v);
    assert_eq!(
        one(&v).unwrap(),
        Frame::Settings {
            ack: true,
            params: b""
        }
    );
    v.clear();
    encode_goaway(&mut v, 7, ErrorCode::ENHANCE_YOUR_CALM, b"bye");
    assert_eq!(
        one(&v).unwrap(),
        Frame::GoAway {
            last_stream: 7,
            code: ErrorCode::ENHANCE_YOUR_CALM,
            debug: b"bye"
        }
    );
    v.clear();
    encode_rst_stream(&mut v, 9, ErrorCode::CANCEL);
    assert_eq!(
        one(&v).unwrap(),
        Frame::RstStream {
            stream: 9,
            code: ErrorCode::CANCEL
        }
    );
    let f = one(&raw(
        kind::PUSH_PROMISE,
        flag::END_HEADERS,
        1,
        &[0, 0, 0, 2, 0x82],
    ))
    .unwrap();
    assert_eq!(
        f,
        Frame::PushPromise {
            stream: 1,
            promised: 2
        }
    );
}

#[test]
fn header_block_split_into_continuations() {
    let block: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    let mut v = Vec::new();
    encode_header_block(&mut v, 1, &block, true, MAX);
    let mut rest = &v[..];
    let mut got = Vec::new();
    let mut kinds = Vec::new();
    while !rest.is_empty() {
        let (f, n) = decode(rest, MAX).unwrap().unwrap();
        match f {
            Frame::Headers {
                fragment,
                end_stream,
                end_headers,
                ..
            } => {
                assert!(end_stream && !end_headers);
                got.extend_from_slice(fragment);
            }
            Frame::Continuation {
                fragment,
                end_headers,
                ..
            } => {
                got.extend_from_slice(fragment);
                kinds.push(end_headers);
            }
            f => panic!("{f:?}"),
        }
        rest = &rest[n..];
    }
    assert_eq!(got, block);
    assert_eq!(kinds, [false, true]);
    // A small block is one HEADERS with END_HEADERS.
    v.clear();
    encode_header_block(&mut v, 3, b"ab", false, MAX);
    assert_eq!(
        one(&v).unwrap(),
        Frame::Headers {
            stream: 3,
            fragment: b"ab",
            end_stream: false,
            end_headers: true
        }
    );
}
