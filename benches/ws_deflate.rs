//! permessage-deflate (RFC 7692) cost per message and compression ratio, for 1 KiB JSON-like
//! text messages (`support/json_msgs.rs`: 1000 different, deterministic messages), through the
//! session paths the engine runs per message:
//!
//! * `send/plain`: `WsSession::send` of a text message (header + masked copy into the transmit
//!   ring), the ring drained as a socket write would;
//! * `send/deflate`: the same with permessage-deflate, context takeover, 15-bit window (what
//!   `DeflateConfig::default()` ends up with against most servers);
//! * `send/deflate_no_ctx`: with `client_no_context_takeover` (the compressor reset after
//!   every message);
//! * `recv/plain`: `WsSession::handle_input_into` of an unmasked server text frame (header
//!   parse + UTF-8 validation);
//! * `recv/inflate`: the same for a compressed server frame (inflate + UTF-8 validation of the
//!   output), the server compressing with context takeover;
//! * `recv/inflate_no_ctx`: the server compressing with `server_no_context_takeover`.
//!
//! Each iteration is one message, the next one of the 1000 (so the compressor sees varied
//! input, as in real traffic). Before the measurements, a summary of the compression ratio
//! (compressed payload bytes / raw bytes, and the same on the wire with frame headers) over
//! the 1000 messages is printed to stderr.
//!
//! `cargo bench --bench ws_deflate` (about 30 s). Figures: `benches/RESULTS-deflate.md`.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use curlew::proto::ws::deflate::Compressor;
use curlew::proto::ws::flags::TEXT;
use curlew::proto::ws::{FrameHeader, Negotiated, OpCode, WsConfig, WsSession, MAX_HEADER_LEN};
use curlew::rng::SecureRng;

#[allow(dead_code)]
#[path = "support/json_msgs.rs"]
mod json_msgs;

/// Number of different messages, and their size.
const N: usize = 1000;
const SIZE: usize = 1024;
const SEED: u64 = 0x00c0_ffee;

const TAKEOVER: Negotiated = Negotiated {
    client_no_context_takeover: false,
    server_no_context_takeover: false,
    client_max_window_bits: 15,
    server_max_window_bits: 15,
};

const NO_CTX: Negotiated = Negotiated {
    client_no_context_takeover: true,
    server_no_context_takeover: true,
    ..TAKEOVER
};

fn messages() -> Vec<Vec<u8>> {
    let m = json_msgs::json_messages(SEED, N, SIZE);
    assert!(m
        .iter()
        .all(|x| x.len() == SIZE && std::str::from_utf8(x).is_ok()));
    m
}

/// A session, with permessage-deflate when `deflate` is given (threshold 0).
fn session(deflate: Option<Negotiated>) -> WsSession {
    let mut s = WsSession::new(WsConfig::default(), SecureRng::new().unwrap());
    if let Some(n) = deflate {
        s.set_deflate(n, 0);
    }
    s
}

/// An unmasked server text frame.
fn server_frame(payload: &[u8], rsv1: bool) -> Vec<u8> {
    let h = FrameHeader {
        fin: true,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::Text,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut hdr = [0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut hdr);
    let mut v = hdr[..n].to_vec();
    v.extend_from_slice(payload);
    v
}

/// The server's frames for `msgs`: compressed as a server would (a compressor with the
/// server's takeover setting; `Compressor` reads it from `client_no_context_takeover`), or
/// plain.
fn server_frames(msgs: &[Vec<u8>], deflate: Option<Negotiated>) -> Vec<Vec<u8>> {
    let Some(n) = deflate else {
        return msgs.iter().map(|m| server_frame(m, false)).collect();
    };
    let mut c = Compressor::new(&Negotiated {
        client_no_context_takeover: n.server_no_context_takeover,
        ..n
    });
    let mut out = Vec::new();
    msgs.iter()
        .map(|m| {
            c.compress(m, true, &mut out);
            server_frame(&out, true)
        })
        .collect()
}

/// Sends one message and drains the transmit ring; returns the wire bytes.
fn send_one(s: &mut WsSession, msg: &[u8]) -> usize {
    let n = s.send(msg, TEXT, 0).unwrap();
    debug_assert_eq!(n, msg.len());
    let queued = s.poll_transmit().len();
    s.consume_transmit(queued);
    queued
}

/// Feeds one whole server frame; returns the message bytes delivered.
fn recv_one(s: &mut WsSession, frame: &mut [u8], out: &mut Vec<u8>) -> usize {
    let mut pos = 0;
    let mut got = 0;
    loop {
        let (n, chunk) = s.handle_input_into(&mut frame[pos..], out).unwrap();
        pos += n;
        match chunk {
            Some(c) => {
                got += c.payload.len();
                if c.meta.fin && c.meta.bytes_left == 0 {
                    return got;
                }
            }
            None if n == 0 => panic!("frame not complete"),
            None => {}
        }
    }
}

/// Compression ratio over the 1000 messages, sent in order on one session.
fn print_ratios(msgs: &[Vec<u8>]) {
    let raw: usize = msgs.iter().map(Vec::len).sum();
    eprintln!(
        "ws_deflate: {N} JSON-like text messages of {SIZE} B (seed {SEED:#x}), ratio = \
         compressed / raw over all of them, sent in order on one session"
    );
    for (name, deflate) in [
        ("plain", None),
        ("deflate (context takeover, 15-bit window)", Some(TAKEOVER)),
        ("deflate client_no_context_takeover", Some(NO_CTX)),
    ] {
        let mut s = session(deflate);
        let wire: usize = msgs.iter().map(|m| send_one(&mut s, m)).sum();
        // Payload bytes: the compressor's output, without the frame headers (a masked frame
        // header is 6 bytes below 126 payload bytes, 8 up to 64 KiB).
        let payload: usize = match deflate {
            None => raw,
            Some(n) => {
                let mut c = Compressor::new(&n);
                let mut out = Vec::new();
                msgs.iter()
                    .map(|m| {
                        c.compress(m, true, &mut out);
                        out.len()
                    })
                    .sum()
            }
        };
        eprintln!(
            "ws_deflate:   {name:<44} payload {:>7} B ratio {:.3}  wire {:>7} B ratio {:.3}  \
             ({:.0} B/msg on the wire)",
            payload,
            payload as f64 / raw as f64,
            wire,
            wire as f64 / raw as f64,
            wire as f64 / msgs.len() as f64,
        );
    }
    let mut c = Compressor::with_level(&TAKEOVER, 1);
    let mut out = Vec::new();
    let payload: usize = msgs
        .iter()
        .map(|m| {
            c.compress(m, true, &mut out);
            out.len()
        })
        .sum();
    eprintln!(
        "ws_deflate:   {:<44} payload {:>7} B ratio {:.3}",
        "deflate level 1 (context takeover)",
        payload,
        payload as f64 / raw as f64
    );
}

fn bench_send(c: &mut Criterion) {
    let msgs = messages();
    print_ratios(&msgs);
    let mut g = c.benchmark_group("send");
    g.throughput(Throughput::Elements(1));
    for (name, deflate) in [
        ("plain", None),
        ("deflate", Some(TAKEOVER)),
        ("deflate_no_ctx", Some(NO_CTX)),
    ] {
        let mut s = session(deflate);
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                let m = &msgs[i % N];
                i += 1;
                black_box(send_one(&mut s, black_box(m)))
            })
        });
    }
    // `DeflateConfig::level`: the cheapest compressing level.
    let mut s = WsSession::new(WsConfig::default(), SecureRng::new().unwrap());
    s.set_deflate_with_level(TAKEOVER, 0, 1);
    let mut i = 0;
    g.bench_function("deflate_level1", |b| {
        b.iter(|| {
            let m = &msgs[i % N];
            i += 1;
            black_box(send_one(&mut s, black_box(m)))
        })
    });
    g.finish();
}

fn bench_recv(c: &mut Criterion) {
    let msgs = messages();
    let mut g = c.benchmark_group("recv");
    g.throughput(Throughput::Elements(1));
    for (name, deflate) in [
        ("plain", None),
        ("inflate", Some(TAKEOVER)),
        ("inflate_no_ctx", Some(NO_CTX)),
    ] {
        let mut frames = server_frames(&msgs, deflate);
        g.bench_function(name, |b| {
            // With context takeover the frames inflate only in order from a fresh inflater:
            // each pass over the 1000 starts a new session, outside the timed part.
            b.iter_custom(|iters| {
                let mut out = Vec::new();
                let mut s = session(deflate);
                let mut total = Duration::ZERO;
                let mut t = Instant::now();
                for k in 0..iters as usize {
                    let i = k % N;
                    if i == 0 && k > 0 {
                        total += t.elapsed();
                        s = session(deflate);
                        t = Instant::now();
                    }
                    let got = recv_one(&mut s, black_box(&mut frames[i]), &mut out);
                    debug_assert_eq!(got, SIZE);
                    black_box(got);
                }
                total + t.elapsed()
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_send, bench_recv
}
criterion_main!(benches);
