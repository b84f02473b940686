//! Broken servers: malformed status lines, headers, lengths and chunk sizes.
//! Each bad transfer runs in a multi beside healthy ones, which must finish
//! fine; the bad one must end with the exact error kind. Servers that attack
//! the limits (floods, endless bodies, slow drips, length lies, resets) are in
//! `hostile_http.rs`.

mod support;

use std::time::Duration;

use curlew::{Easy, ErrorKind};
use support::client::*;
use support::http_server::*;

/// Runs `bad` (configured by `setup`) beside three healthy transfers; returns
/// the bad transfer's outcome.
#[track_caller]
fn beside_healthy_srv(bad: &Server, setup: impl FnOnce(&mut Easy)) -> Finished {
    beside_healthy(&bad.url("/bad"), setup)
}

#[track_caller]
fn expect_kind(bad: &Server, kind: ErrorKind) -> Finished {
    let f = beside_healthy_srv(bad, |_| {});
    assert_eq!(f.kind(), Some(kind), "{:?}", f.result);
    f
}

#[test]
fn malformed_status_line() {
    for raw in [
        &b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"[..],
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1200 OK\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"<html>hello</html>\r\n\r\n",
    ] {
        let srv = raw_server(raw);
        expect_kind(&srv, ErrorKind::WeirdServerReply);
    }
}

#[test]
fn malformed_header() {
    for raw in [
        &b"HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 0\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
    ] {
        let srv = raw_server(raw);
        expect_kind(&srv, ErrorKind::WeirdServerReply);
    }
}

#[test]
fn bad_content_length() {
    for raw in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
    ] {
        let srv = raw_server(raw);
        expect_kind(&srv, ErrorKind::WeirdServerReply);
    }
}

#[test]
fn head_within_the_limit_is_fine() {
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..50 {
        raw.extend_from_slice(format!("X-H{i}: {}\r\n", "v".repeat(100)).as_bytes());
    }
    raw.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    let srv = raw_server(raw);
    let f = beside_healthy_srv(&srv, |_| {});
    f.unwrap();
    assert_eq!(f.body(), b"ok");
    assert_eq!(f.headers().len(), 53);
}

#[test]
fn bad_chunk_size() {
    for raw in [
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111111\r\nx",
        // Chunk data not followed by CRLF.
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhelloXX\r\n0\r\n\r\n",
    ] {
        let srv = raw_server(raw);
        expect_kind(&srv, ErrorKind::WeirdServerReply);
    }
}

#[test]
fn server_closing_mid_chunked_body() {
    // Inside a chunk, and between chunks.
    for raw in [
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly half"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfull\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfull\r\n0\r\n",
    ] {
        let srv = raw_server(raw);
        expect_kind(&srv, ErrorKind::PartialFile);
    }
}

#[test]
fn server_closing_mid_head() {
    let srv = raw_server(&b"HTTP/1.1 200 OK\r\nContent-Le"[..]);
    expect_kind(&srv, ErrorKind::WeirdServerReply);
}

#[test]
fn gzip_garbage() {
    let srv = raw_server(
        &b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzip!!!!"[..],
    );
    let f = beside_healthy_srv(&srv, |e| {
        e.accept_encoding(true);
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::BadContentEncoding),
        "{:?}",
        f.result
    );
}

#[test]
fn server_that_never_answers() {
    let srv = silent_server();
    let f = beside_healthy_srv(&srv, |e| {
        e.timeout(Some(Duration::from_millis(300)));
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::OperationTimedout),
        "{:?}",
        f.result
    );
}

#[test]
fn server_sending_nothing_and_closing() {
    let srv = Server::start(|c: &mut Conn| {
        let _ = c.read_request();
    });
    expect_kind(&srv, ErrorKind::GotNothing);
}

#[test]
fn unexpected_101() {
    let srv = raw_server(&b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\n\r\n"[..]);
    expect_kind(&srv, ErrorKind::WeirdServerReply);
}

#[test]
fn bad_redirect_location_when_following() {
    let srv = raw_server(
        &b"HTTP/1.1 302 Found\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n"[..],
    );
    let f = beside_healthy_srv(&srv, |e| {
        e.follow_location(true);
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::WeirdServerReply),
        "{:?}",
        f.result
    );
}

#[test]
fn fail_on_error() {
    let srv = Server::start(routes(|req| match req.path() {
        "/bad" => Response::new(500).body("server error body"),
        _ => Response::ok(vec![b'b'; 5000]),
    }));
    let f = beside_healthy_srv(&srv, |e| {
        e.fail_on_error(true);
    });
    assert_eq!(f.kind(), Some(ErrorKind::HttpReturnedError));
    assert!(f.body().is_empty());
}
