//! Property tests for the WebSocket core (needs the `proptest` dev-dependency).

use bytes::BytesMut;
use curlew::proto::ws::{
    apply_mask, encode_frame, Decoder, DecoderConfig, FrameHeader, OpCode, ProtocolError,
    StreamingFrame, Utf8Validator, MAX_HEADER_LEN,
};
use proptest::prelude::*;

/// Splits `data` at the (sorted, deduplicated, clamped) `cuts`.
fn split<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut prev = 0;
    for c in cuts {
        pieces.push(&data[prev..c]);
        prev = c;
    }
    pieces.push(&data[prev..]);
    pieces
}

fn utf8_bytes() -> impl Strategy<Value = Vec<u8>> {
    const INTERESTING: &[u8] = &[
        0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1,
        0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xf8, 0xff,
    ];
    prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        (any::<String>(), any::<usize>(), any::<u8>()).prop_map(|(s, i, b)| {
            let mut v = s.into_bytes();
            let i = i % (v.len() + 1);
            v.insert(i, b);
            v
        }),
        (any::<String>(), any::<usize>()).prop_map(|(s, i)| {
            let mut v = s.into_bytes();
            v.truncate(i % (v.len() + 1));
            v
        }),
        prop::collection::vec(prop::sample::select(INTERESTING), 0..12),
    ]
}

/// Smallest prefix length at which the input is known to be invalid.
fn detection_point(data: &[u8]) -> Option<usize> {
    (0..=data.len())
        .find(|&k| matches!(std::str::from_utf8(&data[..k]), Err(e) if e.error_len().is_some()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Message(OpCode, Vec<u8>),
    Control(OpCode, Vec<u8>),
}

/// Decodes `pieces` (appended one after the other) into messages and
/// control frames, checking the chunk bookkeeping.
fn decode_stream(cfg: DecoderConfig, pieces: &[&[u8]]) -> Result<Vec<Event>, ProtocolError> {
    let mut dec = Decoder::new(cfg);
    let mut buf: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    let mut msg: Vec<u8> = Vec::new();
    let mut frame_pos = 0u64;
    for p in pieces {
        buf.extend_from_slice(p);
        loop {
            let (n, chunk) = dec.decode(&mut buf)?;
            let got = chunk.is_some();
            if let Some(c) = chunk {
                assert_eq!(c.meta.len, c.payload.len());
                if c.meta.opcode.is_control() {
                    assert_eq!((c.meta.offset, c.meta.bytes_left), (0, 0));
                    events.push(Event::Control(c.meta.opcode, c.payload.to_vec()));
                } else {
                    assert_eq!(c.meta.offset, frame_pos);
                    msg.extend_from_slice(c.payload);
                    frame_pos = if c.meta.bytes_left == 0 {
                        0
                    } else {
                        frame_pos + c.meta.len as u64
                    };
                    if c.meta.is_message_end() {
                        events.push(Event::Message(c.meta.opcode, std::mem::take(&mut msg)));
                    }
                }
            }
            buf.drain(..n);
            if n == 0 && !got {
                break;
            }
        }
    }
    Ok(events)
}

/// Test-only server side: strips the masks of a client stream.
fn unmask_stream(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (mut h, n) = FrameHeader::parse(data).unwrap().unwrap();
        let key = h.mask.take().expect("client frames are masked");
        let len = h.payload_len as usize;
        let mut hdr = [0u8; MAX_HEADER_LEN];
        let hn = h.encode(&mut hdr);
        out.extend_from_slice(&hdr[..hn]);
        let start = out.len();
        out.extend_from_slice(&data[n..n + len]);
        apply_mask(&mut out[start..], key, 0);
        data = &data[n + len..];
    }
    out
}

#[derive(Debug, Clone)]
struct Msg {
    text: bool,
    payload: Vec<u8>,
    cuts: Vec<usize>,
    ping_after_first: bool,
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..200),
        1 => (0usize..70_000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

fn message() -> impl Strategy<Value = Msg> {
    (
        any::<bool>(),
        payload(),
        any::<String>(),
        prop::collection::vec(any::<usize>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(text, bin, s, cuts, ping_after_first)| Msg {
            text,
            payload: if text { s.into_bytes() } else { bin },
            cuts,
            ping_after_first,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn utf8_validator_equals_std(data in utf8_bytes(), cuts in prop::collection::vec(any::<usize>(), 0..6)) {
        let want_ok = std::str::from_utf8(&data).is_ok();
        let detect = detection_point(&data);
        let mut v = Utf8Validator::new();
        let mut fed = 0;
        let mut failed = None;
        for p in split(&data, &cuts) {
            let start = fed;
            fed += p.len();
            if v.feed(p).is_err() {
                failed = Some((start, fed));
                break;
            }
        }
        let ok = failed.is_none() && v.finish().is_ok();
        prop_assert_eq!(ok, want_ok);
        // Fails fast: on exactly the piece that reveals the invalid prefix.
        match (failed, detect) {
            (Some((s, e)), Some(k)) => prop_assert!(s < k && k <= e, "piece {}..{} k {}", s, e, k),
            (None, Some(_)) => prop_assert!(false, "invalid input not rejected by feed"),
            (Some(_), None) => prop_assert!(false, "rejected a valid prefix"),
            (None, None) => {}
        }
    }

    #[test]
    fn encode_decode_roundtrip(
        msgs in prop::collection::vec(message(), 1..5),
        keys in prop::collection::vec(any::<[u8; 4]>(), 1..16),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut keys = keys.iter().copied().cycle();
        let mut out = BytesMut::new();
        let mut want = Vec::new();
        for m in &msgs {
            let opcode = if m.text { OpCode::Text } else { OpCode::Binary };
            let frags = split(&m.payload, &m.cuts);
            let last = frags.len() - 1;
            for (i, f) in frags.iter().enumerate() {
                let op = if i == 0 { opcode } else { OpCode::Continuation };
                encode_frame(&mut out, op, i == last, false, f, keys.next().unwrap());
                if i == last {
                    want.push(Event::Message(opcode, m.payload.clone()));
                }
                if i == 0 && m.ping_after_first {
                    encode_frame(&mut out, OpCode::Ping, true, false, b"ping", keys.next().unwrap());
                    want.push(Event::Control(OpCode::Ping, b"ping".to_vec()));
                }
            }
        }
        encode_frame(&mut out, OpCode::Close, true, false, &[0x03, 0xe8], keys.next().unwrap());
        want.push(Event::Control(OpCode::Close, vec![0x03, 0xe8]));

        // Server role: masked frames unmasked in place by the decoder.
        let server = DecoderConfig { allow_masked: true, ..DecoderConfig::default() };
        let got = decode_stream(server, &split(&out, &cuts)).unwrap();
        prop_assert_eq!(&got, &want);
        // Client role on the unmasked stream.
        let plain = unmask_stream(&out);
        let got = decode_stream(DecoderConfig::default(), &split(&plain, &cuts)).unwrap();
        prop_assert_eq!(&got, &want);
        // And the client decoder refuses the masked stream.
        prop_assert_eq!(
            decode_stream(DecoderConfig::default(), &[&out]),
            Err(ProtocolError::MaskedFrame)
        );
    }

    #[test]
    fn streaming_frame_equals_encode_frame(
        data in payload(),
        key in any::<[u8; 4]>(),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut one = BytesMut::new();
        encode_frame(&mut one, OpCode::Binary, true, true, &data, key);
        let mut out = BytesMut::new();
        let mut sf = StreamingFrame::start(&mut out, OpCode::Binary, true, true, data.len() as u64, key);
        for p in split(&data, &cuts) {
            prop_assert_eq!(sf.write(&mut out, p), p.len());
        }
        prop_assert!(sf.is_complete());
        prop_assert_eq!(out, one);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_split_invariant(
        data in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        rsv1 in any::<bool>(),
    ) {
        let cfg = DecoderConfig { allow_rsv1: rsv1, max_message_size: 200, ..DecoderConfig::default() };
        let whole = decode_stream(cfg, &[&data]);
        let pieces = decode_stream(cfg, &split(&data, &cuts));
        // Complete events and the final error agree however the input is cut
        // (a stream cut short just yields fewer events).
        match (&whole, &pieces) {
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "{:?} vs {:?}", whole, pieces),
        }
    }
}
