//! Shared test support for curlew's integration tests.
//!
//! Every test file does `mod support;` and uses what it needs:
//!
//! * [`http_server`]: a scripted, blocking HTTP/1.1 server (plain or TLS) on
//!   127.0.0.1:0, one thread per connection, stopped when dropped.
//! * [`client`]: driving curlew with bounded waits, a recording handler.
//! * [`h2_servers`]: independent HTTP/2 servers (nginx, hypercorn, Node, a scripted
//!   hostile one) started as child processes on ephemeral ports.
//! * [`proxies`]: tinyproxy, dante and microsocks started as child processes.
//! * [`ping_counter`]: a WebSocket server that counts keepalive pings and
//!   answers them with pongs, or not.
//! * [`tls`]: rustls server configs (and a verifying client config) built from
//!   the PEM files in `tests/support/data/` (see `data/make-certs.sh`).
//! * [`tool`]: running the `curlew` tool, bounded, its output collected.
//! * [`ws_peer`]: a tungstenite WebSocket server; [`ws_raw`]: scripted WebSocket
//!   servers frame by frame, without a WebSocket library.
//! * helpers here: [`data_path`], [`wait_until`], [`chunked`], [`gzip`],
//!   [`zlib`], [`deflate_raw`], [`refused_addr`].
//!
//! Not every test binary uses every item, hence the module-wide
//! `allow(dead_code)`.
#![allow(dead_code)]

pub mod client;
pub mod h2_servers;
pub mod http_server;
pub mod ping_counter;
pub mod proxies;
pub mod tls;
pub mod tool;
pub mod ws_peer;
pub mod ws_raw;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Default bound for waits in tests (server socket read/write timeouts too).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Absolute path of a file in `tests/support/data/` (e.g. `"ca.pem"`).
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/data")
        .join(name)
}

/// Polls `f` (about every millisecond) until it returns true; panics naming
/// `what` if that has not happened within `timeout`.
#[track_caller]
pub fn wait_until<F: FnMut() -> bool>(what: &str, timeout: Duration, mut f: F) {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Encodes `chunks` with HTTP/1.1 chunked transfer coding, including the final
/// zero-size chunk and empty trailer section. Empty input chunks are skipped
/// (a zero-size chunk would end the body).
pub fn chunked(chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks.iter().filter(|c| !c.is_empty()) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// `Content-Encoding: gzip` body for `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// `Content-Encoding: deflate` body for `data` as RFC 9110 defines it (zlib
/// wrapper, RFC 1950).
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}

/// Raw RFC 1951 deflate stream (no wrapper), as some servers wrongly send for
/// `Content-Encoding: deflate`.
pub fn deflate_raw(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("deflate");
    e.finish().expect("deflate")
}

/// A 127.0.0.1 address on which nothing listened a moment ago, for
/// "connection refused" tests. (Inherently racy: another process may bind
/// the port in between; good enough on a test machine.)
pub fn refused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr")
}

/// The `Sec-WebSocket-Accept` value for `key` (RFC 6455 §4.2.2), computed here with sha1 and
/// base64 directly, independently of the library's own handshake code, for scripted servers.
pub fn ws_accept(key: &str) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}
