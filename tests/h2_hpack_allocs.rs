//! Heap allocations of HPACK on a warm connection, counted by dhat's allocator in testing
//! mode: encoding a request head into a reused buffer and decoding a response head into a
//! reused [`HeaderList`] allocate nothing once the context is warm, and a fresh context
//! allocates only its table entries and the list's storage.

use curlew::proto::h2::hpack::{Decoder, Encoder, HeaderList};

#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

const REQUEST: &[(&[u8], &[u8])] = &[
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"www.example.com"),
    (b":path", b"/assets/js/app.3f9a1c.js?v=20240611"),
    (b"user-agent", b"curlew/0.1"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
];

const RESPONSE: &[(&[u8], &[u8])] = &[
    (b":status", b"200"),
    (b"date", b"Tue, 11 Jun 2024 10:00:00 GMT"),
    (b"content-type", b"application/javascript; charset=utf-8"),
    (b"content-length", b"48213"),
    (b"cache-control", b"public, max-age=31536000, immutable"),
    (b"etag", b"\"5f3c-61aa-1a2b3c4d\""),
    (b"server", b"nginx"),
];

fn allocations(f: impl FnOnce()) -> u64 {
    let _p = dhat::Profiler::builder().testing().build();
    f();
    dhat::HeapStats::get().total_blocks
}

// One test function: one dhat profiler may run at a time in a process.
#[test]
fn warm_contexts_do_not_allocate() {
    let mut enc = Encoder::new();
    let mut out = Vec::with_capacity(1024);
    enc.encode(REQUEST.iter().copied(), &mut out);
    let encode = allocations(|| {
        for _ in 0..100 {
            out.clear();
            enc.encode(REQUEST.iter().copied(), &mut out);
        }
    });
    assert_eq!(encode, 0, "warm encode");

    let mut resp_enc = Encoder::new();
    let mut cold = Vec::new();
    resp_enc.encode(RESPONSE.iter().copied(), &mut cold);
    let mut warm = Vec::new();
    resp_enc.encode(RESPONSE.iter().copied(), &mut warm);
    let mut dec = Decoder::new(4096, 64 << 10);
    let mut list = HeaderList::new();
    let first = allocations(|| dec.decode(&cold, &mut list).unwrap());
    // The table's ring and its entries, the list's two vectors as they grow, and two
    // vectors per Huffman string the decoder remembers (its cache of coded strings).
    assert!(first > 0 && first <= 40, "cold decode: {first}");
    let again = allocations(|| {
        for _ in 0..100 {
            list.clear();
            dec.decode(&warm, &mut list).unwrap();
        }
    });
    assert_eq!(again, 0, "warm decode");
    eprintln!("allocations: cold decode {first}, warm encode {encode}, warm decode {again}");
}
