//! HPACK throughput, `curlew::proto::h2::hpack`: encoding a typical request head and decoding
//! typical response heads, first on a fresh context (literals, Huffman) and then repeated on a
//! warm one (mostly indexed fields), as every request after the first on a connection sees.
//!
//! `cargo bench --bench hpack` (add `-- --quick` for a short run). The allocation counts of the
//! same operations are asserted by `tests/h2_hpack_allocs.rs`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use curlew::proto::h2::hpack::{Decoder, Encoder, HeaderList};

/// A browser-like GET.
const REQUEST: &[(&[u8], &[u8])] = &[
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"www.example.com"),
    (b":path", b"/assets/js/app.3f9a1c.js?v=20240611"),
    (b"user-agent", b"curlew/0.1"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b"en-US,en;q=0.9"),
    (b"referer", b"https://www.example.com/index.html"),
];

/// A CDN-like 200.
const RESPONSE: &[(&[u8], &[u8])] = &[
    (b":status", b"200"),
    (b"date", b"Tue, 11 Jun 2024 10:00:00 GMT"),
    (b"content-type", b"application/javascript; charset=utf-8"),
    (b"content-length", b"48213"),
    (b"cache-control", b"public, max-age=31536000, immutable"),
    (b"etag", b"\"5f3c-61aa-1a2b3c4d\""),
    (b"last-modified", b"Mon, 10 Jun 2024 09:00:00 GMT"),
    (b"server", b"nginx"),
    (b"vary", b"Accept-Encoding"),
    (b"x-cache", b"HIT"),
];

fn block_of(fields: &[(&[u8], &[u8])], e: &mut Encoder) -> Vec<u8> {
    let mut out = Vec::new();
    e.encode(fields.iter().copied(), &mut out);
    out
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("hpack_encode_request");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(512);
    g.bench_function("cold", |b| {
        b.iter(|| {
            let mut e = Encoder::new();
            out.clear();
            e.encode(black_box(REQUEST).iter().copied(), &mut out);
            black_box(out.len())
        })
    });
    let mut e = Encoder::new();
    block_of(REQUEST, &mut e);
    g.bench_function("warm", |b| {
        b.iter(|| {
            out.clear();
            e.encode(black_box(REQUEST).iter().copied(), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("hpack_decode_response");
    g.throughput(Throughput::Elements(1));
    let mut e = Encoder::new();
    let cold = block_of(RESPONSE, &mut e);
    let warm = block_of(RESPONSE, &mut e);
    let mut list = HeaderList::new();
    g.bench_function("cold", |b| {
        b.iter(|| {
            let mut d = Decoder::new(4096, 64 << 10);
            list.clear();
            d.decode(black_box(&cold), &mut list).unwrap();
            black_box(list.len())
        })
    });
    let mut d = Decoder::new(4096, 64 << 10);
    list.clear();
    d.decode(&cold, &mut list).unwrap();
    g.bench_function("warm", |b| {
        b.iter(|| {
            list.clear();
            d.decode(black_box(&warm), &mut list).unwrap();
            black_box(list.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_encode, bench_decode);
criterion_main!(benches);
