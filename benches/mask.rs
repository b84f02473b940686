//! Masking (RFC 6455 §5.3): the cost of a fresh key from the engine's generator
//! (`curlew::rng::SecureRng`, ChaCha20) next to the cost of applying one
//! (`curlew::proto::ws::{apply_mask, copy_masked}`).
//!
//! `cargo bench --bench mask` (add `-- --quick` for a short run). The key phase is 1, so the
//! word loop starts from a rotated key, as it does for the second piece of a streamed frame.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use curlew::proto::ws::{apply_mask, copy_masked};
use curlew::rng::SecureRng;

const SIZES: &[(usize, &str)] = &[
    (16, "16B"),
    (1 << 10, "1KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
];

/// One key per frame: the buffered keystream, refilled 64 keys at a time.
fn bench_keys(c: &mut Criterion) {
    let mut rng = SecureRng::new().expect("OS random source");
    let mut g = c.benchmark_group("mask_key");
    g.throughput(Throughput::Elements(1));
    g.bench_function("secure_rng", |b| b.iter(|| black_box(rng.mask_key())));
    // Key plus masking of a 16-byte payload: what one small frame pays.
    let src = [0x5au8; 16];
    let mut dst = [0u8; 16];
    g.bench_function("secure_rng+copy_masked_16B", |b| {
        b.iter(|| copy_masked(black_box(&mut dst), black_box(&src), rng.mask_key(), 0))
    });
    g.finish();
}

fn bench_mask(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut g = c.benchmark_group("apply_mask");
    for &(size, name) in SIZES {
        let mut buf = vec![0x5au8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), black_box(key), black_box(1)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("copy_masked");
    for &(size, name) in SIZES {
        let src = vec![0x5au8; size];
        let mut dst = vec![0u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, _| {
            b.iter(|| {
                copy_masked(
                    black_box(&mut dst),
                    black_box(&src),
                    black_box(key),
                    black_box(1),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_keys, bench_mask);
criterion_main!(benches);
