//! WebSocket codec throughput, `curlew::proto::ws`: the frame encoder and decoder, and the
//! session paths the engine runs per message (`WsSession::send` into the transmit ring,
//! `WsSession::handle_input` on received bytes).
//!
//! `cargo bench --bench ws_codec` (add `-- --quick` for a short run).
//!
//! Reading the figures: decoding an unmasked binary frame is zero-copy (the chunk borrows the
//! input), so `decode_binary` and `session_recv` cost the same at every size and their GiB/s
//! only says "header parse, no per-byte work". `decode_text_utf8` adds UTF-8 validation, the
//! encoders a masked copy of every byte.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use curlew::proto::ws::flags::BINARY;
use curlew::proto::ws::{
    encode_frame, Decoder, FrameHeader, OpCode, WsConfig, WsSession, MAX_HEADER_LEN,
};
use curlew::rng::SecureRng;

const SIZES: &[(usize, &str)] = &[
    (16, "16B"),
    (1 << 10, "1KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
];

/// An unmasked server frame.
fn server_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let h = FrameHeader {
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut hdr = [0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut hdr);
    let mut v = hdr[..n].to_vec();
    v.extend_from_slice(payload);
    v
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_frame");
    for &(size, name) in SIZES {
        let payload = vec![b'a'; size];
        let mut out = BytesMut::with_capacity(size + MAX_HEADER_LEN);
        let mut rng = SecureRng::new().unwrap();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, _| {
            b.iter(|| {
                out.clear();
                let key = rng.mask_key();
                encode_frame(
                    &mut out,
                    OpCode::Binary,
                    true,
                    false,
                    black_box(&payload),
                    key,
                );
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn bench_decode(c: &mut Criterion) {
    for (group, opcode) in [
        ("decode_binary", OpCode::Binary),
        ("decode_text_utf8", OpCode::Text),
    ] {
        let mut g = c.benchmark_group(group);
        for &(size, name) in SIZES {
            let mut frame = server_frame(opcode, &vec![b'a'; size]);
            let mut dec = Decoder::default();
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, _| {
                b.iter(|| {
                    // Unmasked frames are not modified: the buffer is reused.
                    let (n, chunk) = dec.decode(black_box(&mut frame)).unwrap();
                    black_box((n, chunk.map(|c| c.payload.len())))
                })
            });
        }
        g.finish();
    }
}

/// The engine's send path: one binary message queued (header + masked copy into the
/// transmit ring), then the ring drained as a socket write would.
fn bench_session_send(c: &mut Criterion) {
    let mut g = c.benchmark_group("session_send");
    for &(size, name) in SIZES {
        let payload = vec![b'a'; size];
        let mut s = WsSession::new(WsConfig::default(), SecureRng::new().unwrap());
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, _| {
            b.iter(|| {
                let n = s.send(black_box(&payload), BINARY, 0).unwrap();
                let queued = s.poll_transmit().len();
                s.consume_transmit(queued);
                black_box((n, queued))
            })
        });
    }
    g.finish();
}

/// The engine's receive path: one whole binary server frame through `handle_input`.
fn bench_session_recv(c: &mut Criterion) {
    let mut g = c.benchmark_group("session_recv");
    for &(size, name) in SIZES {
        let mut frame = server_frame(OpCode::Binary, &vec![b'a'; size]);
        let mut s = WsSession::new(WsConfig::default(), SecureRng::new().unwrap());
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, _| {
            b.iter(|| {
                let (n, chunk) = s.handle_input(black_box(&mut frame)).unwrap();
                black_box((n, chunk.map(|c| c.payload.len())))
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_encode,
    bench_decode,
    bench_session_send,
    bench_session_recv
);
criterion_main!(benches);
