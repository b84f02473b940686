#[test]
fn send_buffer_can_be_taken_only_when_the_queue_is_empty() {
    let mut s = session(WsConfig::default());
    assert!(!s.has_send_buffer());
    assert!(s.take_send_buffer().is_none());
    assert!(s.give_send_buffer(vec![0; 64]).is_none());
    assert!(s.has_send_buffer());
    // A second buffer is refused and handed back.
    assert_eq!(s.give_send_buffer(vec![0; 32]).map(|b| b.len()), Some(32));
    s.send(b"hello", TEXT, 0).unwrap();
    assert!(s.take_send_buffer().is_none(), "bytes are queued");
    let n = s.send_queue_len();
    s.consume_transmit(n);
    let b = s
        .take_send_buffer()
        .expect("empty queue gives its storage back");
    assert_eq!(b.len(), 64);
    assert!(!s.has_send_buffer());
    // Sending again without storage allocates its own.
    s.send(b"again", TEXT, 0).unwrap();
    assert!(s.has_send_buffer());
}

use super::super::flags::{BINARY, CLOSE, CONT, OFFSET, PING, PONG, TEXT};
use super::*;

fn session(cfg: WsConfig) -> WsSession {
    WsSession::new(cfg, SecureRng::new().unwrap())
}

fn bounded(max_send_queue: usize) -> WsConfig {
    WsConfig {
        max_send_queue,
        ..WsConfig::default()
    }
}

/// A server frame, unmasked unless `mask` is given.
fn srv_masked(fin: bool, op: OpCode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let h = FrameHeader {
        fin,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: op,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut hdr = [0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut hdr);
    let mut v = hdr[..n].to_vec();
    let start = v.len();
    v.extend_from_slice(payload);
    if let Some(k) = mask {
        super::super::mask::apply_mask(&mut v[start..], k, 0);
    }
    v
}

fn srv(fin: bool, op: OpCode, payload: &[u8]) -> Vec<u8> {
    srv_masked(fin, op, payload, None)
}

fn close_body(code: u16, reason: &str) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(reason.as_bytes());
    v
}

/// Feeds `pieces` in order through a caller-style receive buffer; returns
/// the delivered frames (curl flags, reassembled payload) and the error.
fn recv(s: &mut WsSession, pieces: &[&[u8]]) -> (Vec<(u32, Vec<u8>)>, Option<ProtocolError>) {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut cur: Option<(u32, Vec<u8>)> = None;
    for p in pieces {
        buf.extend_from_slice(p);
        loop {
            let (n, got) = match s.handle_input(&mut buf) {
                Err(e) => return (out, Some(e)),
                Ok((n, None)) => (n, false),
                Ok((n, Some(c))) => {
                    assert_eq!(c.meta.len, c.payload.len());
                    let f = cur.get_or_insert_with(|| (c.meta.curl_flags(), Vec::new()));
                    assert_eq!(
                        (f.0, f.1.len() as u64),
                        (c.meta.curl_flags(), c.meta.offset)
                    );
                    f.1.extend_from_slice(c.payload);
                    if c.meta.bytes_left == 0 {
                        out.extend(cur.take());
                    }
                    (n, true)
                }
            };
            buf.drain(..n);
            if n == 0 && !got {
                break;
            }
        }
    }
    (out, None)
}

/// A frame as the server sees it (wire opcode, so continuations show).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    op: OpCode,
    fin: bool,
    payload: Vec<u8>,
}

fn sent(op: OpCode, fin: bool, payload: &[u8]) -> Sent {
    Sent {
        op,
        fin,
        payload: payload.to_vec(),
    }
}

/// Server-role peer decoding what the session transmits (masked frames).
struct Peer {
    dec: Decoder,
    buf: Vec<u8>,
    raw: Vec<u8>,
    keep_raw: bool,
    frames: Vec<Sent>,
    cur: Option<Sent>,
}

impl Peer {
    fn new() -> Self {
        Self {
            dec: Decoder::new(DecoderConfig {
                allow_masked: true,
                max_message_size: MAX_PAYLOAD_LEN,
                ..DecoderConfig::default()
            }),
            buf: Vec::new(),
            raw: Vec::new(),
            keep_raw: true,
            frames: Vec::new(),
            cur: None,
        }
    }

    /// Writes up to `max` queued bytes (poll/consume steps) and decodes.
    fn pump_max(&mut self, s: &mut WsSession, max: usize) -> usize {
        let mut taken = 0;
        while taken < max {
            let b = s.poll_transmit();
            if b.is_empty() {
                break;
            }
            let n = b.len().min(max - taken);
            self.buf.extend_from_slice(&b[..n]);
            if self.keep_raw {
                self.raw.extend_from_slice(&b[..n]);
            }
            s.consume_transmit(n);
            taken += n;
            assert!(s.send_queue_len() <= s.tx.bound);
            assert!(s.tx.buf.len() <= s.tx.bound);
        }
        self.decode();
        taken
    }

    fn pump(&mut self, s: &mut WsSession) -> Vec<Sent> {
        self.pump_max(s, usize::MAX);
        assert!(!s.wants_write());
        std::mem::take(&mut self.frames)
    }

    fn decode(&mut self) {
        loop {
            let (n, chunk) = self
                .dec
                .decode(&mut self.buf)
                .expect("the session sent invalid frames");
            let got = chunk.is_some();
            if let Some(c) = chunk {
                let op = if c.meta.is_continuation {
                    OpCode::Continuation
                } else {
                    c.meta.opcode
                };
                let f = self.cur.get_or_insert_with(|| sent(op, c.meta.fin, b""));
                assert_eq!((f.op, f.fin), (op, c.meta.fin));
                assert_eq!(c.meta.offset, f.payload.len() as u64);
                f.payload.extend_from_slice(c.payload);
                if c.meta.bytes_left == 0 {
                    self.frames.extend(self.cur.take());
                }
            }
            self.buf.drain(..n);
            if n == 0 && !got {
                break;
            }
        }
    }
}

/// Parses raw transmitted bytes into (header, unmasked payload).
fn raw_frames(mut bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut v = Vec::new();
    while !bytes.is_empty() {
        let (h, n) = FrameHeader::parse(bytes).unwrap().unwrap();
        let end = n + h.payload_len as usize;
        let mut p = bytes[n..end].to_vec();
        super::super::mask::apply_mask(&mut p, h.mask.expect("client frames are masked"), 0);
        v.push((h, p));
        bytes = &bytes[end..];
    }
    v
}

#[test]
fn auto_pong_echoes_ping_and_hides_it() {
    let mut s = session(WsConfig::default());
    let mut input = srv(true, OpCode::Ping, b"hi");
    input.extend(srv(true, OpCode::Text, b"x"));
    input.extend(srv(true, OpCode::Pong, b"unsolicited"));
    let (frames, err) = recv(&mut s, &[&input]);
    assert_eq!(err, None);
    assert_eq!(
        frames,
        vec![(TEXT, b"x".to_vec()), (PONG, b"unsolicited".to_vec())]
    );
    assert!(s.wants_write());
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![sent(OpCode::Pong, true, b"hi")]
    );
    assert_eq!(s.close_state(), CloseState::Open);
    assert!(!s.is_done());
}

#[test]
fn auto_pong_off_delivers_pings() {
    let mut s = session(WsConfig {
        auto_pong: false,
        ..WsConfig::default()
    });
    let input = srv(true, OpCode::Ping, b"hi");
    assert_eq!(recv(&mut s, &[&input]).0, vec![(PING, b"hi".to_vec())]);
    assert!(!s.wants_write());
    // The application answers itself.
    assert_eq!(s.send(b"hi", PONG, 0), Ok(2));
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![sent(OpCode::Pong, true, b"hi")]
    );
}

#[test]
fn every_ping_answered_until_the_queue_bound() {
    let ping = |i: u32| srv(true, OpCode::Ping, &i.to_be_bytes());
    const PONG_LEN: usize = CONTROL_HEADER_LEN + 4;
    // Room in the queue: every Ping is answered (Autobahn 2.10).
    let mut s = session(WsConfig::default());
    for i in 0..10 {
        assert_eq!(recv(&mut s, &[&ping(i)]), (vec![], None));
    }
    assert_eq!(s.send_queue_len(), 10 * PONG_LEN);
    let mut peer = Peer::new();
    assert_eq!(
        peer.pump(&mut s),
        (0..10u32)
            .map(|i| sent(OpCode::Pong, true, &i.to_be_bytes()))
            .collect::<Vec<_>>()
    );

    // A full queue of Pongs: a newer Ping replaces the last unwritten one.
    let mut s = session(bounded(MIN_SEND_QUEUE));
    let cap = MIN_SEND_QUEUE / PONG_LEN;
    for i in 0..1000 {
        assert_eq!(recv(&mut s, &[&ping(i)]), (vec![], None));
        assert_eq!(s.send_queue_len(), (i as usize + 1).min(cap) * PONG_LEN);
    }
    // A Pong partly written is no longer replaceable; the next one is.
    let mut peer = Peer::new();
    peer.pump_max(&mut s, 3);
    recv(&mut s, &[&ping(1000)]); // fits again
    recv(&mut s, &[&ping(1001)]); // replaces 1000
    assert_eq!(s.send_queue_len(), (cap + 1) * PONG_LEN - 3);
    let want: Vec<Sent> = (0..cap as u32 - 1)
        .chain([999, 1001])
        .map(|i| sent(OpCode::Pong, true, &i.to_be_bytes()))
        .collect();
    assert_eq!(peer.pump(&mut s), want);

    // While a data frame is half-queued the Pong waits in its slot.
    let mut s = session(WsConfig::default());
    let mut peer = Peer::new();
    s.start_frame(BINARY, 4).unwrap();
    assert_eq!(s.send(b"ab", 0, 0), Ok(2));
    let before = s.send_queue_len();
    for i in 0..1000 {
        recv(&mut s, &[&ping(i)]);
    }
    assert_eq!(s.send_queue_len(), before);
    assert_eq!(s.send(b"cd", 0, 0), Ok(2));
    assert_eq!(
        peer.pump(&mut s),
        vec![
            sent(OpCode::Binary, true, b"abcd"),
            sent(OpCode::Pong, true, &999u32.to_be_bytes())
        ]
    );

    // Queue full of data: the Pong waits for room, and data waits for it.
    let mut s = session(bounded(MIN_SEND_QUEUE));
    assert_eq!(s.send(&[1; 127], BINARY, 0), Ok(127));
    assert_eq!(s.send_room(), 4); // a 10-byte Pong does not fit
    for i in 0..1000 {
        recv(&mut s, &[&ping(i)]);
    }
    assert_eq!(s.send_queue_len(), 135);
    assert_eq!(s.send(b"z", BINARY, 0), Err(SendError::WouldBlock));
    let mut peer = Peer::new();
    assert_eq!(
        peer.pump(&mut s),
        vec![
            sent(OpCode::Binary, true, &[1; 127]),
            sent(OpCode::Pong, true, &999u32.to_be_bytes())
        ]
    );
}

#[test]
fn close_echo_same_code() {
    let mut s = session(WsConfig::default());
    let body = close_body(1001, "bye");
    let (frames, err) = recv(&mut s, &[&srv(true, OpCode::Close, &body)]);
    assert_eq!((frames, err), (vec![(CLOSE, body)], None));
    assert_eq!(s.peer_close(), Some((1001, "bye")));
    assert_eq!(s.close_state(), CloseState::Closed);
    assert!(!s.is_done());
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![sent(OpCode::Close, true, &1001u16.to_be_bytes())]
    );
    assert!(s.is_done());
    assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::Closed));
    assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
    assert_eq!(s.handle_eof(), Ok(()));

    // No status code: empty echo, reported as 1005.
    let mut s = session(WsConfig::default());
    recv(&mut s, &[&srv(true, OpCode::Close, b"")]);
    assert_eq!(s.peer_close(), Some((1005, "")));
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![sent(OpCode::Close, true, b"")]
    );
    assert!(s.is_done());
}

#[test]
fn app_close_then_peer_close() {
    let mut s = session(WsConfig::default());
    assert_eq!(s.close(Some(1000), "done"), Ok(()));
    assert_eq!(s.close_state(), CloseState::CloseSent);
    assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::Closed));
    assert_eq!(s.start_frame(TEXT, 1), Err(SendError::Closed));
    assert_eq!(s.ping(b""), Err(SendError::Closed));
    assert_eq!(s.close(None, ""), Err(SendError::Closed));
    let mut peer = Peer::new();
    assert_eq!(
        peer.pump(&mut s),
        vec![sent(OpCode::Close, true, &close_body(1000, "done"))]
    );
    assert!(!s.is_done());
    // Pings after our Close are not answered; data still arrives.
    let mut input = srv(true, OpCode::Ping, b"p");
    input.extend(srv(true, OpCode::Text, b"late"));
    input.extend(srv(true, OpCode::Close, &close_body(1000, "")));
    let (frames, _) = recv(&mut s, &[&input]);
    assert_eq!(
        frames,
        vec![(TEXT, b"late".to_vec()), (CLOSE, close_body(1000, ""))]
    );
    assert_eq!(s.close_state(), CloseState::Closed);
    assert!(!s.wants_write());
    assert!(s.is_done());
    assert_eq!(s.handle_eof(), Ok(()));
}

#[test]
fn close_arguments() {
    let mut s = session(WsConfig::default());
    assert_eq!(s.close(None, "why"), Err(SendError::InvalidArgument));
    assert_eq!(s.close(Some(1005), ""), Err(SendError::InvalidArgument));
    assert_eq!(s.close(Some(999), ""), Err(SendError::InvalidArgument));
    let long = "x".repeat(MAX_CLOSE_REASON + 1);
    assert_eq!(s.close(Some(1000), &long), Err(SendError::TooLarge));
    assert_eq!(s.send(&[0; 126], PING, 0), Err(SendError::TooLarge));
    assert_eq!(s.send(b"\x03", CLOSE, 0), Err(SendError::InvalidArgument));
    assert_eq!(
        s.send(b"\x03\xe8\xff", CLOSE, 0),
        Err(SendError::InvalidArgument)
    );
    assert_eq!(s.close_state(), CloseState::Open);
    let max = "é".repeat(MAX_CLOSE_REASON / 2) + "x";
    assert_eq!(s.close(Some(4000), &max), Ok(()));
    let f = Peer::new().pump(&mut s);
    assert_eq!(f[0].payload.len(), MAX_CONTROL_PAYLOAD);
}

#[test]
fn protocol_errors_queue_close_codes_and_are_sticky() {
    let too_big = WsConfig {
        max_message_size: 10,
        ..WsConfig::default()
    };
    let cases: Vec<(WsConfig, Vec<u8>, ProtocolError)> = vec![
        (
            WsConfig::default(),
            srv_masked(true, OpCode::Text, b"hi", Some([1, 2, 3, 4])),
            ProtocolError::MaskedFrame,
        ),
        (
            WsConfig::default(),
            srv(true, OpCode::Text, b"ok\xff"),
            ProtocolError::InvalidUtf8,
        ),
        (
            too_big,
            srv(true, OpCode::Binary, &[0; 11]),
            ProtocolError::MessageTooBig,
        ),
        (
            WsConfig::default(),
            srv(true, OpCode::Continuation, b""),
            ProtocolError::UnexpectedContinuation,
        ),
        (
            WsConfig::default(),
            vec![0x83, 0x00],
            ProtocolError::ReservedOpcode(3),
        ),
    ];
    for (cfg, input, want) in cases {
        let mut s = session(cfg);
        s.ping(b"queued before").unwrap();
        assert_eq!(recv(&mut s, &[&input]).1, Some(want));
        assert_eq!(s.error(), Some(want));
        assert_eq!(s.handle_input(&mut [0x81, 0x00]), Err(want));
        assert_eq!(s.handle_input(&mut []), Err(want));
        assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
        assert_eq!(s.ping(b""), Err(SendError::Closed));
        assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
        assert_eq!(s.close_state(), CloseState::CloseSent);
        assert!(!s.is_done());
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![
                sent(OpCode::Ping, true, b"queued before"),
                sent(OpCode::Close, true, &want.close_code().to_be_bytes())
            ]
        );
        assert!(s.is_done());
    }
    assert_eq!(ProtocolError::MaskedFrame.close_code(), 1002);
    assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
    assert_eq!(ProtocolError::MessageTooBig.close_code(), 1009);
}

#[test]
fn protocol_error_mid_frame_drops_the_close() {
    let mut s = session(WsConfig::default());
    s.start_frame(BINARY, 4).unwrap();
    s.send(b"ab", 0, 0).unwrap();
    let bad = srv_masked(true, OpCode::Text, b"x", Some([9; 4]));
    assert_eq!(recv(&mut s, &[&bad]).1, Some(ProtocolError::MaskedFrame));
    assert_eq!(s.send(b"cd", 0, 0), Err(SendError::Closed));
    let mut peer = Peer::new();
    assert_eq!(peer.pump(&mut s), vec![]); // a frame fragment, no Close
    assert_eq!(peer.raw.len(), 6 + 2);
    assert!(s.is_done());
}

#[test]
fn eof_before_close_is_abnormal() {
    let mut s = session(WsConfig::default());
    assert_eq!(s.handle_eof(), Err(AbnormalClosure));
    assert_eq!(AbnormalClosure.close_code(), 1006);
    assert!(s.is_done());
    assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::Closed));
    let mut s = session(WsConfig::default());
    s.close(Some(1000), "").unwrap();
    assert_eq!(s.handle_eof(), Err(AbnormalClosure));
}

#[test]
fn peer_close_mid_frame_waits_for_frame_end() {
    let mut s = session(WsConfig::default());
    s.start_frame(BINARY, 4).unwrap();
    s.send(b"ab", BINARY, 0).unwrap();
    recv(&mut s, &[&srv(true, OpCode::Close, &close_body(1000, ""))]);
    assert_eq!(s.close_state(), CloseState::CloseReceived);
    assert_eq!(s.send(b"cd", TEXT, 0), Err(SendError::FrameInProgress));
    assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
    assert_eq!(s.send(b"cd", BINARY, 0), Ok(2));
    assert_eq!(s.close_state(), CloseState::Closed);
    assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![
            sent(OpCode::Binary, true, b"abcd"),
            sent(OpCode::Close, true, &1000u16.to_be_bytes())
        ]
    );
    assert!(s.is_done());
}

/// The peer closes while a frame cut short by the queue bound is in progress: the
/// application finishes it (the remainder is under the bound), then our Close follows the
/// complete frame.
#[test]
fn peer_close_mid_partial_send_finishes_the_frame_then_closes() {
    let mut s = session(bounded(1000));
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 13) as u8).collect();
    let mut off = s.send(&data, BINARY, 0).unwrap();
    let mut peer = Peer::new();
    peer.pump_max(&mut s, 500);
    let (chunks, err) = recv(&mut s, &[&srv(true, OpCode::Close, &close_body(1001, ""))]);
    assert_eq!((chunks, err), (vec![(CLOSE, close_body(1001, ""))], None));
    assert_eq!(s.close_state(), CloseState::CloseReceived);
    assert_eq!(s.abandoned(), None);
    assert!(!s.is_done());
    // Nothing new may start; the frame in progress may be finished.
    assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::FrameInProgress));
    assert_eq!(s.ping(b"p"), Err(SendError::Closed));
    while off < data.len() {
        peer.pump_max(&mut s, 300);
        off += s.send(&data[off..], BINARY, 0).unwrap();
    }
    assert_eq!(s.close_state(), CloseState::Closed);
    assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
    assert_eq!(
        peer.pump(&mut s),
        vec![
            sent(OpCode::Binary, true, &data),
            sent(OpCode::Close, true, &1001u16.to_be_bytes())
        ]
    );
    assert!(s.is_done());
}

/// A remainder of exactly `max_close_finish` bytes is still finished; one more is not.
#[test]
fn peer_close_mid_frame_over_the_finish_bound_abandons_the_frame() {
    let cfg = WsConfig {
        max_close_finish: 100,
        ..WsConfig::default()
    };
    let close = srv(true, OpCode::Close, &close_body(1000, "bye"));
    // At the bound: finished.
    let mut s = session(cfg);
    s.send(b"ab", BINARY | OFFSET, 102).unwrap();
    recv(&mut s, &[&close]);
    assert_eq!(s.abandoned(), None);
    assert_eq!(s.send(&[7; 100], 0, 0), Ok(100));
    assert_eq!(s.close_state(), CloseState::Closed);
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![
            sent(
                OpCode::Binary,
                true,
                &[b"ab".as_slice(), &[7; 100]].concat()
            ),
            sent(OpCode::Close, true, &1000u16.to_be_bytes())
        ]
    );
    assert!(s.is_done());

    // Over it (the application's own Close already waiting behind the frame, a Ping too):
    // abandoned, the queue emptied, nothing more written.
    for our_close_first in [false, true] {
        let mut s = session(cfg);
        s.send(b"ab", BINARY | OFFSET, 103).unwrap();
        s.ping(b"p").unwrap();
        if our_close_first {
            s.close(Some(1000), "").unwrap();
        }
        let (chunks, err) = recv(&mut s, &[&close]);
        assert_eq!(
            (chunks, err),
            (vec![(CLOSE, close_body(1000, "bye"))], None)
        );
        assert_eq!(s.abandoned(), Some(FrameAbandoned { remaining: 101 }));
        assert!(s.is_done());
        assert!(!s.wants_write());
        assert_eq!(s.frame_in_progress(), None);
        assert_eq!(s.send(&[7; 101], 0, 0), Err(SendError::Closed));
        assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
        assert_eq!(s.start_frame(BINARY, 1), Err(SendError::Closed));
        assert_eq!(s.ping(b"p"), Err(SendError::Closed));
        assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
        assert_eq!(Peer::new().pump(&mut s), vec![]);
        assert!(FrameAbandoned { remaining: 101 }
            .to_string()
            .contains("101 bytes"));
    }
}

/// Between the fragments of a message (no frame in progress) the Close goes out at once,
/// whatever the bound: the message stays unfinished.
#[test]
fn peer_close_between_fragments_answers_at_once() {
    let mut s = session(WsConfig {
        max_close_finish: 0,
        ..WsConfig::default()
    });
    s.send(b"first", TEXT | CONT, 0).unwrap();
    recv(&mut s, &[&srv(true, OpCode::Close, &close_body(1000, ""))]);
    assert_eq!(s.abandoned(), None);
    assert_eq!(s.close_state(), CloseState::Closed);
    assert_eq!(s.send(b"rest", TEXT, 0), Err(SendError::Closed));
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![
            sent(OpCode::Text, false, b"first"),
            sent(OpCode::Close, true, &1000u16.to_be_bytes())
        ]
    );
    assert!(s.is_done());
}

#[test]
fn partial_send_at_queue_bound() {
    let mut s = session(bounded(1000));
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let n = s.send(&data, BINARY, 0).unwrap();
    assert_eq!(n, 1000 - 8); // 16-bit length header + key
    assert_eq!(s.send_room(), 0);
    assert_eq!(s.frame_in_progress(), Some((BINARY, 5000 - n as u64)));
    let mut off = n;
    assert_eq!(s.send(&data[off..], BINARY, 0), Err(SendError::WouldBlock));
    assert_eq!(
        s.send(&data[off..], TEXT, 0),
        Err(SendError::FrameInProgress)
    );
    let mut peer = Peer::new();
    while off < data.len() {
        peer.pump_max(&mut s, 337);
        off += s.send(&data[off..], BINARY, 0).unwrap();
        assert!(s.send_queue_len() <= 1000);
    }
    assert_eq!(s.frame_in_progress(), None);
    assert_eq!(peer.pump(&mut s), vec![sent(OpCode::Binary, true, &data)]);
    assert!(s.tx.buf.len() <= 1000);
}

/// A `start_frame` or `ping` refused for lack of room asks for the "writable again"
/// notification, like a refused `send` (the soak example hung on a `start_frame` without).
#[test]
fn refused_start_frame_and_ping_ask_for_writable() {
    let mut s = session(bounded(0));
    assert_eq!(s.send(&[5; 127], BINARY, 0), Ok(127));
    assert!(!s.take_writable());
    assert_eq!(s.start_frame(TEXT, 10), Err(SendError::WouldBlock));
    let mut peer = Peer::new();
    peer.pump(&mut s);
    assert!(s.take_writable(), "a refused start_frame must be resumable");
    assert!(!s.take_writable());
    assert_eq!(s.send(&[5; 127], BINARY, 0), Ok(127));
    assert_eq!(s.ping(b"1"), Ok(()));
    assert_eq!(s.ping(b"2"), Err(SendError::WouldBlock));
    peer.pump(&mut s);
    assert!(s.take_writable(), "a refused ping must be resumable");
}

#[test]
fn would_block_only_when_nothing_accepted() {
    let mut s = session(bounded(0));
    assert_eq!(s.tx.bound, MIN_SEND_QUEUE);
    // 127 bytes: 8-byte header, 135 queued, room 4.
    assert_eq!(s.send(&[5; 127], BINARY, 0), Ok(127));
    assert_eq!(s.send_room(), 4);
    assert_eq!(s.send(b"", TEXT, 0), Err(SendError::WouldBlock));
    assert_eq!(s.send(b"a", TEXT, 0), Err(SendError::WouldBlock));
    assert_eq!(s.start_frame(TEXT, 0), Err(SendError::WouldBlock));
    assert_eq!(s.frame_in_progress(), None);
    let mut peer = Peer::new();
    peer.pump_max(&mut s, 2);
    assert_eq!(s.send(b"", TEXT, 0), Ok(0)); // a whole zero-length frame
    assert_eq!(s.send_room(), 0);
    assert_eq!(s.send(b"a", TEXT, 0), Err(SendError::WouldBlock));
    // A full queue still takes one Ping into the slot, not two.
    assert_eq!(s.ping(b"1"), Ok(()));
    assert_eq!(s.ping(b"2"), Err(SendError::WouldBlock));
    assert_eq!(
        peer.pump(&mut s),
        vec![
            sent(OpCode::Binary, true, &[5; 127]),
            sent(OpCode::Text, true, b""),
            sent(OpCode::Ping, true, b"1")
        ]
    );
}

#[test]
fn offset_streaming_of_a_10_mib_frame() {
    const TOTAL: usize = 10 << 20;
    const PIECE: usize = 65_521;
    let data: Vec<u8> = (0..TOTAL)
        .map(|p| (p.wrapping_mul(31) ^ (p >> 11)) as u8)
        .collect();
    let mut s = session(WsConfig::default());
    let mut peer = Peer::new();
    peer.keep_raw = false;
    let (mut off, mut first, mut blocked) = (0usize, true, 0);
    while off < TOTAL {
        let end = (off + PIECE).min(TOTAL);
        let fragsize = if first { TOTAL as u64 } else { 0 };
        match s.send(&data[off..end], BINARY | OFFSET, fragsize) {
            Ok(n) => {
                first = false;
                off += n;
            }
            Err(SendError::WouldBlock) => {
                blocked += 1;
                peer.pump_max(&mut s, 1 << 20);
            }
            Err(e) => panic!("{e}"),
        }
        assert!(s.send_queue_len() <= MAX_SEND_QUEUE);
        if off < TOTAL {
            assert_eq!(s.frame_in_progress(), Some((BINARY, (TOTAL - off) as u64)));
        }
    }
    assert!(blocked > 0);
    let frames = peer.pump(&mut s);
    assert_eq!(frames.len(), 1);
    assert!((frames[0].op, frames[0].fin) == (OpCode::Binary, true));
    assert!(frames[0].payload == data);
    assert!(s.tx.buf.len() <= MAX_SEND_QUEUE);
}

#[test]
fn start_frame_and_zero_length_frames() {
    let mut s = session(WsConfig::default());
    assert_eq!(s.start_frame(TEXT, 0), Ok(()));
    assert_eq!(s.frame_in_progress(), None);
    assert_eq!(s.start_frame(BINARY, 5), Ok(()));
    assert_eq!(s.frame_in_progress(), Some((BINARY, 5)));
    assert_eq!(s.start_frame(TEXT, 1), Err(SendError::FrameInProgress));
    assert_eq!(s.send(b"abcdef", 0, 0), Err(SendError::InvalidArgument));
    assert_eq!(s.send(b"ab", 0, 0), Ok(2));
    assert_eq!(s.send(b"", 0, 0), Ok(0));
    assert_eq!(s.send(b"cde", TEXT, 0), Err(SendError::FrameInProgress));
    assert_eq!(
        s.send(b"cde", BINARY | CONT, 0),
        Err(SendError::FrameInProgress)
    );
    assert_eq!(s.send(b"cde", BINARY | OFFSET, 0), Ok(3));
    assert_eq!(s.frame_in_progress(), None);
    assert_eq!(s.start_frame(PING, 1), Err(SendError::InvalidArgument));
    assert_eq!(s.start_frame(0, 3), Err(SendError::InvalidArgument));
    assert_eq!(
        s.start_frame(TEXT | BINARY, 3),
        Err(SendError::InvalidArgument)
    );
    assert_eq!(
        s.start_frame(BINARY, MAX_PAYLOAD_LEN + 1),
        Err(SendError::InvalidArgument)
    );
    assert_eq!(s.send(b"", BINARY, 0), Ok(0));
    assert_eq!(
        s.send(b"xy", BINARY | OFFSET, 1),
        Err(SendError::InvalidArgument)
    );
    // OFFSET with an empty first piece only queues the header.
    assert_eq!(s.send(b"", TEXT | OFFSET, 2), Ok(0));
    assert_eq!(s.frame_in_progress(), Some((TEXT, 2)));
    assert_eq!(s.send(b"hi", TEXT | OFFSET, 0), Ok(2));
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![
            sent(OpCode::Text, true, b""),
            sent(OpCode::Binary, true, b"abcde"),
            sent(OpCode::Binary, true, b""),
            sent(OpCode::Text, true, b"hi")
        ]
    );
}

#[test]
fn control_frames_wait_for_the_frame_to_end() {
    let mut s = session(WsConfig::default());
    s.start_frame(BINARY, 10).unwrap();
    assert_eq!(s.send(&[1; 4], 0, 0), Ok(4));
    let queued = s.send_queue_len();
    assert_eq!(s.ping(b"p"), Ok(()));
    assert_eq!(s.send(b"q", PONG, 0), Err(SendError::FrameInProgress));
    assert_eq!(s.send_queue_len(), queued);
    assert_eq!(s.close(Some(1000), ""), Ok(()));
    assert_eq!(s.close_state(), CloseState::CloseSent);
    assert_eq!(s.send_queue_len(), queued);
    // The current frame may still be finished.
    assert_eq!(s.send(&[2; 4], BINARY, 0), Ok(4));
    assert_eq!(s.send_queue_len(), queued + 4);
    assert_eq!(s.send(&[3; 2], 0, 0), Ok(2));
    assert_eq!(s.send(b"new", BINARY, 0), Err(SendError::Closed));
    let mut payload = vec![1; 4];
    payload.extend([2; 4]);
    payload.extend([3; 2]);
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![
            sent(OpCode::Binary, true, &payload),
            sent(OpCode::Ping, true, b"p"),
            sent(OpCode::Close, true, &1000u16.to_be_bytes())
        ]
    );
}

#[test]
fn fragmented_messages() {
    let mut s = session(WsConfig::default());
    assert_eq!(s.send(b"", CONT, 0), Err(SendError::InvalidArgument));
    assert_eq!(s.send(b"x", 0, 0), Err(SendError::InvalidArgument));
    assert_eq!(s.send(b"ab", TEXT | CONT, 0), Ok(2));
    assert!(s.message_in_progress());
    assert_eq!(s.send(b"cd", CONT, 0), Ok(2)); // type omitted: tolerated
    assert_eq!(
        s.send(b"x", BINARY | CONT, 0),
        Err(SendError::InvalidArgument)
    );
    assert_eq!(s.ping(b"between"), Ok(())); // between fragments: at once
    assert_eq!(s.send(b"ef", TEXT | CONT, 0), Ok(2));
    assert_eq!(s.send(b"gh", TEXT, 0), Ok(2));
    assert!(!s.message_in_progress());
    assert_eq!(s.send(b"ij", TEXT, 0), Ok(2));
    assert_eq!(s.send(b"1", BINARY | CONT, 0), Ok(1));
    assert_eq!(s.send(b"2", 0, 0), Ok(1)); // no flags: final fragment
    assert_eq!(
        s.send(b"x", PING | PONG, 0),
        Err(SendError::InvalidArgument)
    );
    assert_eq!(
        s.send(b"x", PING | CONT, 0),
        Err(SendError::InvalidArgument)
    );
    assert_eq!(s.send(b"x", 1 << 7, 0), Err(SendError::InvalidArgument));
    use OpCode::*;
    assert_eq!(
        Peer::new().pump(&mut s),
        vec![
            sent(Text, false, b"ab"),
            sent(Continuation, false, b"cd"),
            sent(Ping, true, b"between"),
            sent(Continuation, false, b"ef"),
            sent(Continuation, true, b"gh"),
            sent(Text, true, b"ij"),
            sent(Binary, false, b"1"),
            sent(Continuation, true, b"2"),
        ]
    );
}

#[test]
fn fresh_mask_key_per_frame() {
    let mut s = session(WsConfig::default());
    for i in 0..50u8 {
        s.send(&[i; 20], BINARY, 0).unwrap();
    }
    s.ping(b"ping").unwrap();
    s.close(Some(1000), "").unwrap();
    let mut peer = Peer::new();
    assert_eq!(peer.pump(&mut s).len(), 52);
    let frames = raw_frames(&peer.raw);
    let mut keys: Vec<[u8; 4]> = frames.iter().map(|(h, _)| h.mask.unwrap()).collect();
    assert_eq!(frames[7].1, vec![7; 20]);
    keys.sort();
    keys.dedup();
    assert!(keys.len() >= 50, "{} distinct keys", keys.len());
    // Another session gives other keys.
    let mut t = session(WsConfig::default());
    t.send(&[0; 20], BINARY, 0).unwrap();
    let mut p2 = Peer::new();
    p2.pump(&mut t);
    assert_ne!(raw_frames(&p2.raw)[0].0.mask, frames[0].0.mask);
}

#[test]
fn every_split_point_gives_the_same_chunks() {
    let mut input = srv(true, OpCode::Text, "héllo".as_bytes());
    input.extend(srv(true, OpCode::Ping, b"p"));
    input.extend(srv(false, OpCode::Binary, b"ab"));
    input.extend(srv(true, OpCode::Pong, b""));
    input.extend(srv(true, OpCode::Continuation, b"cd"));
    input.extend(srv(true, OpCode::Text, &[b'z'; 300]));
    input.extend(srv(true, OpCode::Close, &close_body(1000, "bye")));
    let run = |pieces: &[&[u8]]| {
        let mut s = session(WsConfig::default());
        let (frames, err) = recv(&mut s, pieces);
        assert_eq!(err, None);
        let out = Peer::new().pump(&mut s);
        assert!(s.is_done());
        (frames, out)
    };
    let whole = run(&[&input]);
    assert_eq!(
        whole.0,
        vec![
            (TEXT, "héllo".as_bytes().to_vec()),
            (BINARY | CONT, b"ab".to_vec()),
            (PONG, vec![]),
            (BINARY, b"cd".to_vec()),
            (TEXT, vec![b'z'; 300]),
            (CLOSE, close_body(1000, "bye")),
        ]
    );
    assert_eq!(
        whole.1,
        vec![
            sent(OpCode::Pong, true, b"p"),
            sent(OpCode::Close, true, &1000u16.to_be_bytes())
        ]
    );
    for i in 0..=input.len() {
        assert_eq!(run(&[&input[..i], &input[i..]]), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes), whole, "bytewise");
}

#[test]
fn raw_mode() {
    let mut s = session(WsConfig {
        raw_mode: true,
        max_send_queue: 200,
        ..WsConfig::default()
    });
    let mut input = srv(true, OpCode::Ping, b"not decoded");
    let len = input.len();
    let (n, chunk) = s.handle_input(&mut input).unwrap();
    let chunk = chunk.unwrap();
    assert_eq!((n, chunk.meta.len, chunk.payload.len()), (len, len, len));
    assert_eq!(s.handle_input(&mut []).unwrap(), (0, None));
    assert!(!s.wants_write());
    assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::InvalidArgument));
    assert_eq!(s.send(b"x", 0, 5), Err(SendError::InvalidArgument));
    assert_eq!(s.start_frame(BINARY, 1), Err(SendError::InvalidArgument));
    assert_eq!(s.ping(b""), Err(SendError::InvalidArgument));
    assert_eq!(s.close(None, ""), Err(SendError::InvalidArgument));
    assert_eq!(s.send(&[9; 150], 0, 0), Ok(150));
    assert_eq!(s.send(&[8; 100], 0, 0), Ok(50));
    assert_eq!(s.send(&[8; 50], 0, 0), Err(SendError::WouldBlock));
    assert_eq!(s.send(b"", 0, 0), Ok(0));
    assert_eq!(s.poll_transmit()[..150], [9; 150]);
    s.consume_transmit(200);
    assert_eq!(s.handle_eof(), Ok(()));
    assert!(s.is_done());
}

#[test]
fn ring_wraps_and_reports_both_slices() {
    let mut s = session(bounded(MIN_SEND_QUEUE));
    let mut peer = Peer::new();
    let mut want = Vec::new();
    for i in 0..200u32 {
        let msg = vec![i as u8; (i as usize * 13) % 90];
        assert_eq!(s.send(&msg, BINARY, 0), Ok(msg.len()));
        want.push(sent(OpCode::Binary, true, &msg));
        let (a, b) = s.transmit_slices();
        assert_eq!(a.len() + b.len(), s.send_queue_len());
        assert_eq!(a, s.poll_transmit());
        peer.pump_max(&mut s, 17 + i as usize % 50);
        if s.send_room() < 100 {
            peer.pump_max(&mut s, usize::MAX);
        }
    }
    let got = peer.pump(&mut s);
    assert!(got == want, "frames differ");
    assert_eq!(s.tx.buf.len(), MIN_SEND_QUEUE);
}

/// Deterministic pseudo-random generator for the robustness tests.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn garbage_input_never_panics() {
    let mut rng = Lcg(1);
    for round in 0..2000 {
        let mut s = session(WsConfig {
            auto_pong: round % 2 == 0,
            max_message_size: 1000,
            ..WsConfig::default()
        });
        let len = rng.below(300) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Bias towards plausible headers.
        if let Some(b) = bytes.get_mut(1) {
            *b &= 0x7f;
        }
        let mut pos = 0;
        let mut buf = Vec::new();
        while pos < bytes.len() {
            let step = 1 + rng.below(40) as usize;
            buf.extend_from_slice(&bytes[pos..(pos + step).min(bytes.len())]);
            pos += step;
            loop {
                match s.handle_input(&mut buf) {
                    Ok((0, None)) => break,
                    Ok((n, _)) => {
                        buf.drain(..n);
                    }
                    Err(_) => break,
                }
            }
        }
        let _ = s.handle_eof();
        Peer::new().pump(&mut s);
    }
}

/// Random command sequences: whatever the session accepts, the bytes it
/// transmits are a valid client stream (one frame at a time, control
/// frames only between frames, nothing after the Close) and the queue
/// stays bounded.
#[test]
fn random_commands_produce_a_valid_stream() {
    let mut rng = Lcg(42);
    let flag_choices = [
        0,
        TEXT,
        BINARY,
        TEXT | CONT,
        BINARY | CONT,
        CONT,
        BINARY | OFFSET,
        PING,
        PONG,
        TEXT | BINARY,
        CLOSE,
    ];
    for round in 0..300 {
        let bound = MIN_SEND_QUEUE + rng.below(600) as usize;
        let mut s = session(bounded(bound));
        let mut peer = Peer::new();
        peer.keep_raw = false;
        for _ in 0..200 {
            let max_len = if rng.below(8) == 0 { 600 } else { 60 };
            let len = rng.below(max_len) as usize;
            let data = vec![b'a' + (rng.below(26) as u8); len];
            match rng.below(10) {
                0..=4 => {
                    let mut flags = flag_choices[rng.below(10) as usize];
                    if round % 7 == 0 && rng.below(20) == 0 {
                        flags = CLOSE;
                    }
                    let fragsize = len as u64 + rng.below(3);
                    let body: &[u8] = if flags == CLOSE { b"" } else { &data };
                    let _ = s.send(body, flags, fragsize);
                }
                5 => {
                    let _ = s.start_frame(flag_choices[rng.below(6) as usize], rng.below(50));
                }
                6 => {
                    let _ = s.ping(&data[..len.min(125)]);
                }
                7 => {
                    let op = if rng.below(2) == 0 {
                        OpCode::Ping
                    } else {
                        OpCode::Pong
                    };
                    let mut f = srv(true, op, &data[..len.min(125)]);
                    let _ = s.handle_input(&mut f);
                }
                _ => {
                    let n = rng.below(200) as usize;
                    peer.pump_max(&mut s, n);
                }
            }
            assert!(s.send_queue_len() <= bound);
            assert!(s.tx.buf.len() <= bound);
        }
        peer.pump(&mut s);
        // Nothing after our Close.
        assert!(peer.buf.is_empty(), "bytes after the close frame");
    }
}

// ----- permessage-deflate ----------------------------------------------

const PMD: Negotiated = Negotiated {
    client_no_context_takeover: false,
    server_no_context_takeover: false,
    client_max_window_bits: 15,
    server_max_window_bits: 15,
};

fn deflate_session(cfg: WsConfig, n: Negotiated, threshold: usize) -> WsSession {
    let mut s = session(cfg);
    s.set_deflate(n, threshold);
    s
}

fn drain_raw(s: &mut WsSession) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut raw = Vec::new();
    while s.wants_write() {
        let b = s.poll_transmit().to_vec();
        raw.extend_from_slice(&b);
        s.consume_transmit(b.len());
    }
    raw_frames(&raw)
}

/// The server side of our compressed stream.
fn server_inflater(n: Negotiated) -> Inflater {
    Inflater::new(
        &Negotiated {
            server_no_context_takeover: n.client_no_context_takeover,
            ..n
        },
        u64::MAX >> 1,
    )
}

fn inflate_msg(inf: &mut Inflater, payload: &[u8]) -> Vec<u8> {
    inf.feed(payload, true);
    let mut out = vec![0; 1000];
    let mut msg = Vec::new();
    loop {
        let (n, done) = inf.drain(&mut out).unwrap();
        msg.extend_from_slice(&out[..n]);
        if done {
            return msg;
        }
    }
}

/// Reassembles the client's data messages: (opcode, compressed, payload).
fn client_messages(
    frames: &[(FrameHeader, Vec<u8>)],
    n: Negotiated,
) -> Vec<(OpCode, bool, Vec<u8>)> {
    let mut inf = server_inflater(n);
    let mut out = Vec::new();
    let mut cur: Option<(OpCode, bool, Vec<u8>)> = None;
    for (h, p) in frames {
        if h.opcode.is_control() {
            assert!(!h.rsv1);
            continue;
        }
        match cur.as_mut() {
            None => cur = Some((h.opcode, h.rsv1, p.clone())),
            Some(c) => {
                assert_eq!(h.opcode, OpCode::Continuation);
                assert!(!h.rsv1, "RSV1 on a continuation frame");
                c.2.extend_from_slice(p);
            }
        }
        if h.fin {
            let (op, z, p) = cur.take().unwrap();
            let p = if z { inflate_msg(&mut inf, &p) } else { p };
            out.push((op, z, p));
        }
    }
    out
}

#[test]
fn deflate_sends_compressed_messages_and_fragments() {
    for cnt in [false, true] {
        let n = Negotiated {
            client_no_context_takeover: cnt,
            ..PMD
        };
        let mut s = deflate_session(WsConfig::default(), n, 10);
        let big = "curlew ".repeat(2000);
        assert_eq!(s.send(big.as_bytes(), TEXT, 0), Ok(big.len()));
        assert_eq!(s.send(big.as_bytes(), TEXT, 0), Ok(big.len()));
        assert_eq!(s.send(b"tiny", BINARY, 0), Ok(4));
        assert_eq!(s.send(b"", TEXT, 0), Ok(0));
        assert_eq!(
            s.send(b"first fragment, long enough", TEXT | CONT, 0),
            Ok(27)
        );
        assert_eq!(s.ping(b"p"), Ok(()));
        assert_eq!(s.start_frame(TEXT, 3), Err(SendError::InvalidArgument));
        assert_eq!(
            s.send(b"x", TEXT | OFFSET, 1),
            Err(SendError::InvalidArgument)
        );
        assert_eq!(s.send(b"2nd", CONT, 0), Ok(3));
        assert_eq!(s.send(b"last", TEXT, 0), Ok(4));
        // OFFSET streaming and start_frame go uncompressed.
        assert_eq!(s.send(b"abcdefghijkl", BINARY | OFFSET, 12), Ok(12));
        let frames = drain_raw(&mut s);
        let msgs = client_messages(&frames, n);
        let want: Vec<(OpCode, bool, Vec<u8>)> = vec![
            (OpCode::Text, true, big.clone().into_bytes()),
            (OpCode::Text, true, big.clone().into_bytes()),
            (OpCode::Binary, false, b"tiny".to_vec()),
            (OpCode::Text, false, vec![]),
            (
                OpCode::Text,
                true,
                b"first fragment, long enough2ndlast".to_vec(),
            ),
            (OpCode::Binary, false, b"abcdefghijkl".to_vec()),
        ];
        assert!(msgs == want, "{cnt}");
        let sizes: Vec<usize> = frames.iter().map(|f| f.1.len()).collect();
        assert!(sizes[0] < 200, "{sizes:?}");
        if !cnt {
            assert!(sizes[1] < sizes[0], "{sizes:?}");
        }
    }
}

#[test]
fn deflate_send_respects_the_queue_bound() {
    let bound = 2000;
    let mut s = deflate_session(bounded(bound), PMD, 0);
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let mut raw = Vec::new();
    let mut off = 0;
    while off < data.len() {
        match s.send(&data[off..], BINARY, 0) {
            Ok(n) => off += n,
            Err(SendError::WouldBlock) => {}
            Err(e) => panic!("{e}"),
        }
        assert!(s.send_queue_len() <= bound);
        let b = s.poll_transmit().to_vec();
        raw.extend_from_slice(&b);
        s.consume_transmit(b.len());
    }
    let frames = raw_frames(&raw);
    assert!(frames.len() > 20);
    let msgs = client_messages(&frames, PMD);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].2 == data);
}

/// A compressed server frame (RSV1 on the first one).
fn srv_z(fin: bool, op: OpCode, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = srv(fin, op, payload);
    if rsv1 {
        v[0] |= 0x40;
    }
    v
}

fn recv_into(s: &mut WsSession, pieces: &[&[u8]]) -> (Vec<(u32, Vec<u8>)>, Option<ProtocolError>) {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut msgs = Vec::new();
    let mut cur: Option<(u32, Vec<u8>)> = None;
    for p in pieces {
        buf.extend_from_slice(p);
        loop {
            let r = s.handle_input_into(&mut buf, &mut out);
            let (n, chunk) = match r {
                Ok(v) => v,
                Err(e) => return (msgs, Some(e)),
            };
            let done = n == 0 && chunk.is_none();
            if let Some(c) = chunk {
                assert!(c.payload.len() <= INFLATE_CHUNK);
                let fl = c.meta.curl_flags();
                let e = cur.get_or_insert((fl & !CONT, Vec::new()));
                if c.meta.rsv1 {
                    assert_eq!(c.meta.offset, e.1.len() as u64);
                    assert_eq!(c.meta.bytes_left, 0);
                }
                e.1.extend_from_slice(c.payload);
                if c.meta.is_message_end() {
                    msgs.push(cur.take().unwrap());
                }
            }
            buf.drain(..n);
            if done {
                break;
            }
        }
    }
    (msgs, None)
}

#[test]
fn deflate_receives_inflated_messages_at_every_split_point() {
    for snt in [false, true] {
        let n = Negotiated {
            server_no_context_takeover: snt,
            ..PMD
        };
        // The server's compressor: its "client" side is our server side.
        let mut z = Compressor::new(&Negotiated {
            client_no_context_takeover: snt,
            ..n
        });
        let mut w = Vec::new();
        let mut input = Vec::new();
        z.compress("héllo héllo héllo".as_bytes(), true, &mut w);
        input.extend(srv_z(true, OpCode::Text, true, &w));
        input.extend(srv(true, OpCode::Text, b"plain"));
        z.compress(&[5u8; 300], false, &mut w);
        input.extend(srv_z(false, OpCode::Binary, true, &w));
        input.extend(srv(true, OpCode::Ping, b"p"));
        z.compress(&[6u8; 200_000], true, &mut w);
        input.extend(srv_z(true, OpCode::Continuation, false, &w));
        z.compress("héllo héllo héllo".as_bytes(), true, &mut w);
        input.extend(srv_z(true, OpCode::Text, true, &w));
        z.compress(b"", true, &mut w);
        input.extend(srv_z(true, OpCode::Binary, true, &w));
        input.extend(srv(true, OpCode::Close, &close_body(1000, "")));
        let mut big = vec![5u8; 300];
        big.extend([6u8; 200_000]);
        let want = vec![
            (TEXT, "héllo héllo héllo".as_bytes().to_vec()),
            (TEXT, b"plain".to_vec()),
            (BINARY, big),
            (TEXT, "héllo héllo héllo".as_bytes().to_vec()),
            (BINARY, vec![]),
            (CLOSE, close_body(1000, "")),
        ];
        let run = |pieces: &[&[u8]]| {
            let mut s = deflate_session(WsConfig::default(), n, 0);
            let (m, e) = recv_into(&mut s, pieces);
            assert_eq!(e, None);
            m
        };
        assert!(run(&[&input]) == want);
        for i in (0..=input.len()).step_by(7) {
            assert!(run(&[&input[..i], &input[i..]]) == want, "split at {i}");
        }
    }
}

#[test]
fn deflate_rsv1_rules_and_errors() {
    // RSV1 without negotiation.
    let mut s = session(WsConfig::default());
    let f = srv_z(true, OpCode::Text, true, b"\x00");
    assert_eq!(
        recv_into(&mut s, &[&f]).1,
        Some(ProtocolError::ReservedBits)
    );
    // RSV1 on a continuation frame, or on a control frame.
    let mut s = deflate_session(WsConfig::default(), PMD, 0);
    let mut f = srv(false, OpCode::Text, b"a");
    f.extend(srv_z(true, OpCode::Continuation, true, b"b"));
    assert_eq!(
        recv_into(&mut s, &[&f]).1,
        Some(ProtocolError::ReservedBits)
    );
    let mut s = deflate_session(WsConfig::default(), PMD, 0);
    let f = srv_z(true, OpCode::Ping, true, b"");
    assert_eq!(
        recv_into(&mut s, &[&f]).1,
        Some(ProtocolError::ReservedBits)
    );
    // Garbage: 1007.
    let mut s = deflate_session(WsConfig::default(), PMD, 0);
    let f = srv_z(true, OpCode::Binary, true, &[0xff; 10]);
    let e = recv_into(&mut s, &[&f]).1.unwrap();
    assert_eq!(
        (e, e.close_code()),
        (ProtocolError::InvalidCompressedData, 1007)
    );
    // Invalid UTF-8 after inflation.
    let mut z = Compressor::new(&PMD);
    let mut w = Vec::new();
    z.compress(b"ok \xff", true, &mut w);
    let mut s = deflate_session(WsConfig::default(), PMD, 0);
    let f = srv_z(true, OpCode::Text, true, &w);
    assert_eq!(recv_into(&mut s, &[&f]).1, Some(ProtocolError::InvalidUtf8));
    let frames = drain_raw(&mut s);
    assert_eq!(frames[0].1, 1007u16.to_be_bytes());
}

#[test]
fn deflate_bomb_closes_with_1009() {
    let mut z = Compressor::new(&PMD);
    let mut w = Vec::new();
    z.compress(&vec![0u8; 32 << 20], true, &mut w);
    assert!(w.len() < 100_000);
    let cfg = WsConfig {
        max_message_size: 1 << 20,
        ..WsConfig::default()
    };
    let mut s = deflate_session(cfg, PMD, 0);
    let f = srv_z(true, OpCode::Binary, true, &w);
    let (msgs, e) = recv_into(&mut s, &[&f]);
    assert!(msgs.is_empty());
    let e = e.unwrap();
    assert_eq!((e, e.close_code()), (ProtocolError::MessageTooBig, 1009));
    let frames = drain_raw(&mut s);
    assert_eq!(frames[0].0.opcode, OpCode::Close);
    assert_eq!(frames[0].1, 1009u16.to_be_bytes());
    assert!(s.handle_input_into(&mut [], &mut Vec::new()).is_err());
}
