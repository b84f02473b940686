//! Content decoding: gzip, deflate (zlib and raw), garbage, and pass-through
//! when decoding is off.

mod support;

use curlew::{Easy, ErrorKind, Multi};
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
            Some("gzip, deflate")
        );
    }
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
    let srv = encoded_server("br", b"\x0b\x02\x80hello\x03".to_vec(), false);
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
