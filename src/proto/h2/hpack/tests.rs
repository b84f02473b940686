//! HPACK against RFC 7541 Appendix C, and the limits.

use super::encoder::encode_int;
use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn pairs(l: &HeaderList) -> Vec<(String, String)> {
    l.iter()
        .map(|(n, v)| {
            (
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn fields(s: &[(&str, &str)]) -> Vec<(String, String)> {
    s.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

const BIG: usize = 1 << 20;

fn decode_one(d: &mut Decoder, h: &str) -> Vec<(String, String)> {
    let mut l = HeaderList::new();
    d.decode(&hex(h), &mut l).unwrap();
    pairs(&l)
}

#[test]
fn c2_literals() {
    let mut d = Decoder::new(4096, BIG);
    let got = decode_one(
        &mut d,
        "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
    );
    assert_eq!(got, fields(&[("custom-key", "custom-header")]));
    assert_eq!((d.table().len(), d.table().size()), (1, 55));
    let mut d = Decoder::new(4096, BIG);
    let got = decode_one(&mut d, "040c 2f73 616d 706c 652f 7061 7468");
    assert_eq!(got, fields(&[(":path", "/sample/path")]));
    assert!(d.table().is_empty());
    let got = decode_one(&mut d, "1008 7061 7373 776f 7264 0673 6563 7265 74");
    assert_eq!(got, fields(&[("password", "secret")]));
    assert!(d.table().is_empty());
    assert_eq!(decode_one(&mut d, "82"), fields(&[(":method", "GET")]));
}

const REQ1: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
];
const REQ2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQ3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];

const C3: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];
const C4: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];

#[test]
fn c3_c4_requests_decode() {
    for blocks in [C3, C4] {
        let mut d = Decoder::new(4096, BIG);
        for (block, (want, size)) in blocks.iter().zip([(REQ1, 57), (REQ2, 110), (REQ3, 164)]) {
            assert_eq!(decode_one(&mut d, block), fields(want));
            assert_eq!(d.table().size(), size);
        }
    }
}

#[test]
fn c4_requests_encode_exactly() {
    let mut e = Encoder::new();
    for (req, want) in [REQ1, REQ2, REQ3].iter().zip(C4) {
        let mut out = Vec::new();
        e.encode(
            req.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut out,
        );
        assert_eq!(out, hex(want));
    }
    assert_eq!(e.table().size(), 164);
}

const DATE1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

fn responses() -> [Vec<(String, String)>; 3] {
    let loc = ("location", "https://www.example.com");
    [
        fields(&[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", DATE1),
            loc,
        ]),
        fields(&[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", DATE1),
            loc,
        ]),
        fields(&[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            loc,
            ("content-encoding", "gzip"),
            ("set-cookie", COOKIE),
        ]),
    ]
}

#[test]
fn c5_c6_responses_with_eviction() {
    let c5 = [
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
         3d31",
    ];
    let c6 = [
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ];
    for blocks in [c5, c6] {
        let mut d = Decoder::new(256, BIG);
        for ((block, want), size) in blocks.iter().zip(responses()).zip([222, 222, 215]) {
            assert_eq!(decode_one(&mut d, block), want);
            assert_eq!(d.table().size(), size);
        }
        let t: Vec<_> = (0..d.table().len())
            .map(|i| d.table().get(i).unwrap().0.to_vec())
            .collect();
        assert_eq!(t, [&b"set-cookie"[..], b"content-encoding", b"date"]);
    }
}

fn err(d: &mut Decoder, block: &[u8]) -> HpackError {
    d.decode(block, &mut HeaderList::new()).unwrap_err()
}

#[test]
fn table_size_update_rules() {
    let mut d = Decoder::new(4096, BIG);
    // At the start of a block: fine, even twice (§4.2).
    decode_one(&mut d, "3fe1 1f 20 82");
    assert_eq!(d.table().max_size(), 0);
    // After a field: COMPRESSION_ERROR material.
    assert_eq!(err(&mut d, &hex("82 20")), HpackError::LateSizeUpdate);
    // Above what we announced.
    let mut b = Vec::new();
    encode_int(&mut b, 0x20, 5, 4097);
    assert_eq!(err(&mut d, &b), HpackError::TableSizeTooLarge);
}

#[test]
fn malformed_blocks() {
    let mut d = Decoder::new(4096, BIG);
    assert_eq!(err(&mut d, &hex("80")), HpackError::BadIndex);
    assert_eq!(err(&mut d, &hex("be")), HpackError::BadIndex);
    assert_eq!(err(&mut d, &hex("ff")), HpackError::Truncated);
    assert_eq!(
        err(&mut d, &hex("ff ff ff ff ff ff 7f")),
        HpackError::IntegerOverflow
    );
    assert_eq!(err(&mut d, &hex("40 0a 6375")), HpackError::Truncated);
    assert_eq!(err(&mut d, &hex("40 81 ff 00")), HpackError::Huffman);
    assert_eq!(err(&mut d, &hex("7f 00 00")), HpackError::BadIndex);
}

#[test]
fn list_limit_bounds_memory_and_keeps_the_table_in_step() {
    // A small block that indexes one field, then names it 2000 times: a
    // decoded list of ~100 KB from a ~2 KB block (the classic HPACK bomb).
    let mut block = Vec::new();
    block.extend_from_slice(&[0x40, 0x01, b'x', 0x30]);
    block.extend_from_slice(&[b'y'; 48]);
    block.extend(std::iter::repeat_n(0xbe, 2000));
    let mut d = Decoder::new(4096, 8 * 1024);
    let mut l = HeaderList::new();
    assert_eq!(d.decode(&block, &mut l), Err(HpackError::ListTooLarge));
    assert!(l.size() <= 8 * 1024, "{}", l.size());
    assert!(!l.is_empty());
    // The table still holds the entry: the next block decodes.
    l.clear();
    d.decode(&hex("be"), &mut l).unwrap();
    assert_eq!(l.get(0).unwrap().0, b"x");
}

#[test]
fn encoder_choices_and_roundtrip() {
    let req: &[(&[u8], &[u8])] = &[
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":authority", b"example.org"),
        (b":path", b"/a/b?c=d"),
        (b"user-agent", b"curlew/0.1"),
        (b"accept", b"*/*"),
        (b"authorization", b"Bearer secret"),
    ];
    let mut e = Encoder::new();
    let mut d = Decoder::new(4096, BIG);
    let mut first = Vec::new();
    e.encode(req.iter().copied(), &mut first);
    let mut second = Vec::new();
    e.encode(req.iter().copied(), &mut second);
    // Path and credentials are literals again, the rest one byte each.
    assert!(
        second.len() * 3 < first.len() * 2,
        "{} {}",
        second.len(),
        first.len()
    );
    // Only the indexable ones went into the table.
    assert_eq!(e.table().len(), 3);
    for block in [first, second] {
        let mut l = HeaderList::new();
        d.decode(&block, &mut l).unwrap();
        let got: Vec<_> = l.iter().collect();
        assert_eq!(got, req);
    }
}

#[test]
fn encoder_announces_a_smaller_peer_table() {
    let mut e = Encoder::new();
    let mut d = Decoder::new(4096, BIG);
    let mut out = Vec::new();
    e.encode([(&b"x-a"[..], &b"1"[..])], &mut out);
    e.set_peer_table_size(0);
    e.set_peer_table_size(100);
    let mut second = Vec::new();
    e.encode([(&b"x-a"[..], &b"1"[..])], &mut second);
    assert_eq!(&second[..2], &[0x20, 0x3f]); // 0, then 100 (31 + 69)
    for b in [out, second] {
        let mut l = HeaderList::new();
        d.decode(&b, &mut l).unwrap();
        assert_eq!(l.get(0), Some((&b"x-a"[..], &b"1"[..])));
    }
    assert_eq!(d.table().max_size(), 100);
}
