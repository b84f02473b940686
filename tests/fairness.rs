//! Fairness: a transfer receiving as fast as loopback allows does not starve the others in
//! the same Multi (each transfer reads at most `STEP_RECV_BUDGET` bytes per turn).
//!
//! Checked the other way round too: with the budget set to `usize::MAX` the firehose's first
//! step never ends (its consumer is slower than its sender, so the socket never runs dry) and
//! this test does not finish.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use curlew::{Ctx, Easy, Flow, Handler, Multi};
use support::http_server::{Conn, Server};
use support::ws_peer::WsPeer;
use tungstenite::Message;

/// Counts what a firehose delivered; shared so the test can read it while it runs. It also
/// hashes every byte a few times: a consumer slower than the sender, so the socket never runs
/// dry and only the per-turn budget can hand the turn to the others.
struct Meter(Arc<AtomicU64>, u64);

impl Handler for Meter {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        for _ in 0..8 {
            for &b in data {
                self.1 = (self.1 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        std::hint::black_box(self.1);
        self.0.fetch_add(data.len() as u64, Ordering::Relaxed);
        Flow::Continue
    }
}

/// An endless chunked body, written as fast as the socket takes it.
fn http_firehose() -> Server {
    Server::start(|c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        if c.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .is_err()
        {
            return;
        }
        let mut chunk = b"10000\r\n".to_vec();
        chunk.extend_from_slice(&[b'f'; 0x10000]);
        chunk.extend_from_slice(b"\r\n");
        while c.write_all(&chunk).is_ok() {}
    })
}

/// Endless 64 KiB binary messages.
fn ws_firehose() -> WsPeer {
    WsPeer::start(|mut ws| {
        let msg = vec![b'w'; 0x10000];
        while ws.send(Message::binary(msg.clone())).is_ok() {}
    })
}

/// Each response trickles: the head, then five small chunks with pauses between them.
fn slow_server() -> Server {
    Server::start(|c: &mut Conn| {
        while let Some(_req) = c.read_request() {
            if c.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .is_err()
            {
                return;
            }
            for _ in 0..5 {
                // Pacing of the server, not a wait for the client's sake.
                std::thread::sleep(Duration::from_millis(10));
                if c.write_all(b"2\r\nok\r\n").is_err() {
                    return;
                }
            }
            if c.write_all(b"0\r\n\r\n").is_err() {
                return;
            }
        }
    })
}

#[test]
fn firehoses_do_not_starve_100_slow_transfers() {
    let hose = http_firehose();
    let ws_hose = ws_firehose();
    let slow = slow_server();
    let mut m = Multi::new();
    m.set_max_host_connections(200);
    let http_bytes = Arc::new(AtomicU64::new(0));
    let ws_bytes = Arc::new(AtomicU64::new(0));
    let h1 = m.add(Easy::with_handler(&hose.url("/"), Meter(http_bytes.clone(), 0)).unwrap());
    let h2 = m.add(Easy::with_handler(&ws_hose.url("/"), Meter(ws_bytes.clone(), 0)).unwrap());
    let mut slow_ids: HashSet<_> = (0..100)
        .map(|i| m.add(Easy::new(&slow.url(&format!("/s{i}"))).unwrap()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !slow_ids.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} slow transfers starved: {m:?}",
            slow_ids.len()
        );
        m.poll(Some(Duration::from_millis(100))).unwrap();
        while let Some(msg) = m.info_read() {
            assert!(
                msg.id != h1 && msg.id != h2,
                "a firehose ended: {:?}",
                msg.result
            );
            msg.result.unwrap();
            assert!(slow_ids.remove(&msg.id));
            let easy = m.remove(msg.id).unwrap();
            assert_eq!(easy.collected().unwrap().body, b"okokokokok");
        }
    }
    // The firehoses ran meanwhile and are still running: neither side starved the other.
    // (How much they moved in those ~50 ms depends on the machine's load, so the megabyte
    // each must reach is checked over the rest of the deadline.)
    assert!(http_bytes.load(Ordering::Relaxed) > 0);
    assert!(ws_bytes.load(Ordering::Relaxed) > 0);
    while http_bytes.load(Ordering::Relaxed) <= 1 << 20
        || ws_bytes.load(Ordering::Relaxed) <= 1 << 20
    {
        assert!(Instant::now() < deadline, "a firehose stalled: {m:?}");
        m.poll(Some(Duration::from_millis(100))).unwrap();
        if let Some(msg) = m.info_read() {
            panic!("a firehose ended: {:?}", msg.result);
        }
    }
    assert_eq!(m.running(), 2);
    drop(m.remove(h1));
    drop(m.remove(h2));
}
