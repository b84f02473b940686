//! Content decoding: gzip, deflate (zlib and raw), garbage, and pass-through
//! when decoding is off.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use curlew::{Ctx, Direction, Easy, ErrorKind, Flow, Handler, Multi, DECODE_PIECE_SIZE};
use support::client::*;
use support::http_server::*;

fn text() -> Vec<u8> {
    b"The quick brown fox jumps over the lazy dog. ".repeat(2000)
}

/// Answers every request with `body` under `Content-Encoding: coding`,
/// chunked when `chunked`, and records the Accept-Encoding it got.
fn encoded_server(coding: &'static str, body: Vec<u8>, chunked: bool) -> Server {
    Server::start(move |c: &mut Conn| {
        while c.read_request().is_some() {
            let hs = [("Content-Encoding", coding)];
            if chunked {
                let pieces: Vec<&[u8]> = body.chunks(333).collect();
                c.respond_chunked(200, &hs, &pieces);
            } else {
                c.respond(200, &hs, &body);
            }
        }
    })
}

fn fetch(srv: &Server, decode: bool) -> Finished {
    let mut e = rec_easy(&srv.url("/"));
    e.accept_encoding(decode);
    run_one(e)
}

#[test]
fn gzip_is_decoded() {
    let plain = text();
    let gz = support::gzip(&plain);
    for chunked in [false, true] {
        let srv = encoded_server("gzip", gz.clone(), chunked);
        let f = fetch(&srv, true);
        f.unwrap();
        assert_same_bytes(f.body(), &plain);
        // Sizes count the bytes on the wire.
        assert_eq!(f.easy.info().size_download, gz.len() as u64);
        assert_eq!(
            srv.last_request().unwrap().header("accept-encoding"),
            Some("gzip, deflate, br, zstd")
        );
    }
}

/// Brotli-encode `data` (the `brotli` crate's encoder, quality 9, window 22).
fn brotli(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
        w.write_all(data).unwrap();
    }
    out
}

#[test]
fn brotli_is_decoded() {
    let plain = text();
    let br = brotli(&plain);
    for chunked in [false, true] {
        let srv = encoded_server("br", br.clone(), chunked);
        let f = fetch(&srv, true);
        f.unwrap();
        assert_same_bytes(f.body(), &plain);
        assert_eq!(f.easy.info().size_download, br.len() as u64);
    }
    let srv = encoded_server("br", br[..br.len() - 3].to_vec(), false);
    assert_eq!(
        fetch(&srv, true).kind(),
        Some(ErrorKind::BadContentEncoding),
        "truncated"
    );
}

#[test]
fn zstd_is_decoded() {
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};
    let plain = text();
    let z = compress_to_vec(&plain[..], CompressionLevel::Fastest);
    for chunked in [false, true] {
        let srv = encoded_server("zstd", z.clone(), chunked);
        let f = fetch(&srv, true);
        f.unwrap();
        assert_same_bytes(f.body(), &plain);
        assert_eq!(f.easy.info().size_download, z.len() as u64);
    }
    let srv = encoded_server("zstd", z[..z.len() - 5].to_vec(), false);
    assert_eq!(
        fetch(&srv, true).kind(),
        Some(ErrorKind::BadContentEncoding),
        "truncated"
    );
}

#[test]
fn deflate_zlib_is_decoded() {
    let plain = text();
    let srv = encoded_server("deflate", support::zlib(&plain), false);
    let f = fetch(&srv, true);
    f.unwrap();
    assert_same_bytes(f.body(), &plain);
}

#[test]
fn deflate_raw_is_decoded() {
    let plain = text();
    let srv = encoded_server("deflate", support::deflate_raw(&plain), true);
    let f = fetch(&srv, true);
    f.unwrap();
    assert_same_bytes(f.body(), &plain);
}

#[test]
fn gzip_delivered_one_byte_at_a_time() {
    let plain = text();
    let gz = support::gzip(&plain);
    let srv = Server::start(move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            gz.len()
        );
        let _ = c.write_all(head.as_bytes());
        for b in &gz {
            if c.write_all(&[*b]).is_err() {
                return;
            }
        }
    });
    let f = fetch(&srv, true);
    f.unwrap();
    assert_same_bytes(f.body(), &plain);
}

#[test]
fn garbage_gzip_is_bad_content_encoding() {
    let srv = encoded_server(
        "gzip",
        b"this is not gzip at all, not even close".to_vec(),
        false,
    );
    assert_eq!(
        fetch(&srv, true).kind(),
        Some(ErrorKind::BadContentEncoding)
    );
}

#[test]
fn truncated_gzip_is_bad_content_encoding() {
    let gz = support::gzip(&text());
    let srv = encoded_server("gzip", gz[..gz.len() / 2].to_vec(), false);
    assert_eq!(
        fetch(&srv, true).kind(),
        Some(ErrorKind::BadContentEncoding)
    );
}

#[test]
fn unknown_coding_is_bad_content_encoding() {
    let srv = encoded_server("compress", b"\x1f\x9d\x90hello".to_vec(), false);
    assert_eq!(
        fetch(&srv, true).kind(),
        Some(ErrorKind::BadContentEncoding)
    );
}

#[test]
fn without_accept_encoding_the_body_is_raw() {
    let gz = support::gzip(&text());
    let srv = encoded_server("gzip", gz.clone(), false);
    let f = fetch(&srv, false);
    f.unwrap();
    assert_same_bytes(f.body(), &gz);
    assert_eq!(srv.last_request().unwrap().header("accept-encoding"), None);
    // Garbage is not looked at either.
    let srv = encoded_server("gzip", b"not gzip".to_vec(), false);
    let f = fetch(&srv, false);
    f.unwrap();
    assert_eq!(f.body(), b"not gzip");
}

#[test]
fn identity_and_empty_bodies_pass_through() {
    let srv = Server::start(routes(|req| match req.path() {
        "/identity" => Response::ok("plain").header("Content-Encoding", "identity"),
        "/empty" => Response::ok("").header("Content-Encoding", "gzip"),
        _ => Response::new(204).header("Content-Encoding", "gzip"),
    }));
    let mut m = Multi::new();
    m.set_max_host_connections(1);
    let mut ids = Vec::new();
    for p in ["/identity", "/empty", "/nocontent"] {
        let mut e = Easy::new(&srv.url(p)).unwrap();
        e.accept_encoding(true);
        ids.push(m.add(e));
    }
    let r = finish(&mut m);
    assert_eq!(r[&ids[0]].unwrap().body(), b"plain");
    assert_eq!(r[&ids[1]].unwrap().body(), b"");
    assert_eq!(r[&ids[2]].unwrap().body(), b"");
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn user_accept_encoding_header_wins() {
    let srv = encoded_server("gzip", support::gzip(b"hi"), false);
    let mut e = rec_easy(&srv.url("/"));
    e.accept_encoding(true);
    e.header("Accept-Encoding", "gzip").unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"hi");
    assert_eq!(
        srv.last_request().unwrap().header_all("accept-encoding"),
        ["gzip"]
    );
}

/// Pauses at every new piece of body; the piece delivered again after the unpause is checked
/// against the one paused on and not counted twice.
#[derive(Default)]
struct PauseEach {
    body: Vec<u8>,
    last: usize,
    largest: usize,
    paused: Arc<AtomicBool>,
}

impl Handler for PauseEach {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        if self.paused.swap(false, Ordering::SeqCst) {
            assert_eq!(data, &self.body[self.body.len() - self.last..]);
            return Flow::Continue;
        }
        self.body.extend_from_slice(data);
        self.last = data.len();
        self.largest = self.largest.max(data.len());
        self.paused.store(true, Ordering::SeqCst);
        Flow::Pause
    }
}

/// Serves `body` gzip-encoded with a Content-Length (`/length`), chunked (`/chunked`) or until
/// the connection closes (`/close`).
fn framed_gzip_server(gz: Vec<u8>) -> Server {
    Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else {
            return;
        };
        let hs = [("Content-Encoding", "gzip")];
        match req.path() {
            "/length" => c.respond(200, &hs, &gz),
            "/chunked" => c.respond_chunked(200, &hs, &gz.chunks(16 * 1024).collect::<Vec<_>>()),
            _ => {
                let head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n";
                let _ = c.write_all(head.as_bytes());
                let _ = c.write_all(&gz);
                c.close();
            }
        }
    })
}

#[test]
fn pausing_at_every_decoded_piece_loses_nothing() {
    // Several pieces' worth, so that a pause stops decoding in the middle of the body bytes
    // (given back, decoded after the unpause) and with decoded output of consumed bytes still
    // waiting in the decoder. With a 16 KiB buffer size the pieces are 16 KiB.
    let plain = pattern((1 << 20) + 1000);
    let srv = framed_gzip_server(support::gzip(&plain));
    for (path, buffer) in [
        ("/length", None),
        ("/chunked", None),
        ("/close", None),
        ("/length", Some(16 * 1024)),
    ] {
        let paused = Arc::new(AtomicBool::new(false));
        let h = PauseEach {
            paused: paused.clone(),
            ..PauseEach::default()
        };
        let mut e = Easy::with_handler(&srv.url(path), h).unwrap();
        e.accept_encoding(true);
        if let Some(b) = buffer {
            e.buffer_size(b);
        }
        let mut m = Multi::new();
        let id = m.add(e);
        let deadline = Instant::now() + RUN_BOUND;
        let result = loop {
            assert!(Instant::now() < deadline, "{path} still running");
            m.poll(Some(Duration::from_millis(10))).unwrap();
            if let Some(msg) = m.info_read() {
                break msg.result;
            }
            if paused.load(Ordering::SeqCst) {
                m.unpause(id, Direction::Recv);
            }
        };
        result.unwrap_or_else(|e| panic!("{path}: {e}"));
        let e = m.remove(id).unwrap();
        let h = e.handler::<PauseEach>().unwrap();
        assert_same_bytes(&h.body, &plain);
        assert!(
            h.largest <= buffer.unwrap_or(DECODE_PIECE_SIZE),
            "{}",
            h.largest
        );
    }
}
