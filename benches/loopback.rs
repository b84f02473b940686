//! End-to-end benchmark: one [`Multi`] doing 10,000 small GETs over 50 keep-alive connections
//! against a tiny HTTP/1.1 server in this process (127.0.0.1, std threads, one per connection,
//! a fixed 1 KiB body with `Content-Length` for every request). Throughput is in requests
//! (criterion's elements/s = requests/s).
//!
//! The multi (and so its pool of 50 connections) lives across iterations: the figure is the
//! steady keep-alive cost per request, client and server together, not connection set-up.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use curlew::{Ctx, Easy, Flow, Handler, Multi};

const REQUESTS: u64 = 10_000;
const CONNS: usize = 50;
const BODY_LEN: usize = 1024;

/// Starts the server; it runs until the process exits.
fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY_LEN}\r\nContent-Type: application/octet-stream\r\n\r\n")
            .into_bytes();
    response.extend((0..BODY_LEN).map(|i| (i % 251) as u8));
    let response: &'static [u8] = Box::leak(response.into_boxed_slice());
    thread::spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(s) => {
                    thread::spawn(move || serve(s, response));
                }
                Err(_) => continue,
            }
        }
    });
    addr
}

/// One connection: answer every request head (up to `\r\n\r\n`) with `response`, until EOF.
fn serve(mut s: TcpStream, response: &[u8]) {
    let _ = s.set_nodelay(true);
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 4096];
    // Everything before `scan` holds no request end; every head ends with `\r\n\r\n`.
    let mut scan = 0;
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut consumed = 0;
        while let Some(end) = find_head_end(&buf, scan) {
            consumed = end;
            scan = end;
            if s.write_all(response).is_err() {
                return;
            }
        }
        buf.drain(..consumed);
        scan = buf.len().saturating_sub(3);
    }
}

/// The offset just past the first `\r\n\r\n` in `buf`, searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| from + i + 4)
}

#[derive(Default)]
struct Count {
    bytes: u64,
}

impl Handler for Count {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.bytes += data.len() as u64;
        Flow::Continue
    }
}

/// `REQUESTS` GETs of `url`, at most `CONNS` in flight; finished handles are re-added.
fn run_batch(multi: &mut Multi, url: &str) {
    let first = (CONNS as u64).min(REQUESTS);
    for _ in 0..first {
        multi.add(Easy::with_handler(url, Count::default()).unwrap());
    }
    let mut started = first;
    let mut done = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while done < REQUESTS {
        assert!(Instant::now() < deadline, "stalled at {done} of {REQUESTS}");
        multi.poll(Some(Duration::from_secs(1))).unwrap();
        while let Some(msg) = multi.info_read() {
            let mut easy = multi.remove(msg.id).unwrap();
            msg.result.unwrap();
            assert_eq!(easy.info().response_code, 200);
            let count = easy.handler_mut::<Count>().unwrap();
            assert_eq!(std::mem::take(&mut count.bytes), BODY_LEN as u64);
            done += 1;
            if started < REQUESTS {
                started += 1;
                multi.add(easy);
            }
        }
    }
}

fn loopback(c: &mut Criterion) {
    let addr = start_server();
    let url = format!("http://{addr}/1k");
    let mut multi = Multi::new();
    multi
        .set_max_host_connections(CONNS)
        .set_max_total_connections(CONNS);

    let mut group = c.benchmark_group("loopback");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(REQUESTS));
    group.bench_function("get_1KiB_x10k_over_50_keepalive", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                run_batch(&mut multi, &url);
            }
            start.elapsed()
        })
    });
    group.finish();
    let (open, _) = multi.connection_counts();
    assert!(open <= CONNS, "{open} connections open, limit {CONNS}");
}

criterion_group!(benches, loopback);
criterion_main!(benches);
