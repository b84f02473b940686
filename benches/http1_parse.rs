//! Benchmarks for the sans-IO HTTP/1 framing module (`curlew::proto::http1`): response-head
//! parsing and chunked body decoding, as bytes/s.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use curlew::proto::http1 as h1;

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Mon, 27 Jul 2009 12:28:53 GMT\r\n\
Server: Apache/2.2.14 (Win32)\r\n\
Last-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\n\
ETag: \"34aa387-d-1568eb00\"\r\n\
Accept-Ranges: bytes\r\n\
Content-Length: 51234\r\n\
Vary: Accept-Encoding\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Cache-Control: max-age=3600, public\r\n\
Connection: keep-alive\r\n\
\r\n";

fn head_parse(c: &mut Criterion) {
    let limits = h1::Limits::default();
    let mut group = c.benchmark_group("response_head");
    group.throughput(Throughput::Bytes(HEAD.len() as u64));
    let mut parser = h1::ResponseParser::new(&limits);
    group.bench_function("typical_10_headers", |b| {
        b.iter(|| {
            let head = parser.parse(black_box(HEAD)).unwrap().unwrap();
            black_box(h1::body_kind(&head, false, false).unwrap())
        })
    });
    group.finish();
}

fn chunked_decode(c: &mut Criterion) {
    const BODY: usize = 1 << 20;
    const CHUNK: usize = 8 * 1024;
    let limits = h1::Limits::default();
    let mut wire = Vec::with_capacity(BODY + BODY / CHUNK * 10 + 8);
    let data: Vec<u8> = (0..CHUNK).map(|i| (i % 251) as u8).collect();
    for _ in 0..BODY / CHUNK {
        h1::encode_chunk_header(CHUNK, &mut wire);
        wire.extend_from_slice(&data);
        wire.extend_from_slice(h1::CHUNK_TRAILER);
    }
    wire.extend_from_slice(h1::LAST_CHUNK);

    let mut group = c.benchmark_group("chunked_body");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("1MiB_in_8KiB_chunks", |b| {
        b.iter(|| {
            let mut dec = h1::BodyDecoder::new(h1::BodyKind::Chunked, &limits);
            let mut input: &[u8] = black_box(&wire);
            let mut total = 0usize;
            loop {
                let (used, step) = dec.decode(input).unwrap();
                input = &input[used..];
                match step {
                    h1::Decoded::Data(d) => total += d.len(),
                    h1::Decoded::Trailer(_) => {}
                    h1::Decoded::Done | h1::Decoded::NeedMore => break,
                }
            }
            assert_eq!(total, BODY);
            black_box(total)
        })
    });
    group.finish();
}

criterion_group!(benches, head_parse, chunked_decode);
criterion_main!(benches);
