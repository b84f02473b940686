//! Masking throughput (RFC 6455 §5.3): `curlew::proto::ws::{apply_mask, copy_masked}`.
//!
//! `cargo bench --bench mask` (add `-- --quick` for a short run). The key phase is 1, so the
//! word loop starts from a rotated key, as it does for the second piece of a streamed frame.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use curlew::proto::ws::{apply_mask, copy_masked};

const SIZES: &[(usize, &str)] = &[
    (16, "16B"),
    (1 << 10, "1KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
];

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

criterion_group!(benches, bench_mask);
criterion_main!(benches);
