//! Broken servers. Each bad transfer runs in a multi beside a healthy one,
//! which must finish fine; the bad one must end with the exact error kind.

mod support;

use std::time::Duration;

use curlew::{Easy, ErrorKind, Multi};
use support::client::*;
use support::http_server::*;

/// Runs `bad` (configured by `setup`) beside three healthy transfers; returns
/// the bad transfer's outcome.
#[track_caller]
fn beside_healthy(bad: &Server, setup: impl FnOnce(&mut Easy)) -> Finished {
    let good_body = pattern(200_000);
    let body = good_body.clone();
    let good = Server::start(routes(move |_| Response::ok(body.clone())));
    let mut m = Multi::new();
    let mut e = rec_easy(&bad.url("/bad"));
    e.timeout(Some(Duration::from_secs(20)));
    setup(&mut e);
    let bad_id = m.add(e);
    let good_ids: Vec<_> = (0..3)
        .map(|_| m.add(rec_easy(&good.url("/good"))))
        .collect();
    let mut r = finish(&mut m);
    for id in good_ids {
        assert_same_bytes(r[&id].unwrap().body(), &good_body);
    }
    r.remove(&bad_id).unwrap()
}

#[track_caller]
fn expect_kind(bad: &Server, kind: ErrorKind) -> Finished {
    let f = beside_healthy(bad, |_| {});
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

/// Sends a status line and then header lines (each `line`) until the client
/// goes away or `max` bytes were sent; never ends the head.
fn header_flood(line: &'static [u8], max: usize) -> Server {
    Server::start(move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        if c.write_all(b"HTTP/1.1 200 OK\r\n").is_err() {
            return;
        }
        let mut sent = 0;
        while sent < max {
            if c.write_all(line).is_err() {
                return;
            }
            sent += line.len();
        }
        c.peer_closed();
    })
}

#[test]
fn header_flood_past_max_header_bytes() {
    let line: &[u8] =
        b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    // Default limit (100 KiB): the server sends up to 1 MiB and never ends.
    let srv = header_flood(line, 1 << 20);
    let f = beside_healthy(&srv, |e| {
        e.max_headers(1 << 20);
    });
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    // A small explicit limit.
    let srv = header_flood(line, 1 << 20);
    let f = beside_healthy(&srv, |e| {
        e.max_header_bytes(4096);
    });
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    // One single huge header line.
    let srv = header_flood(
        b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        1 << 20,
    );
    let f = beside_healthy(&srv, |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
}

#[test]
fn head_within_the_limit_is_fine() {
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..50 {
        raw.extend_from_slice(format!("X-H{i}: {}\r\n", "v".repeat(100)).as_bytes());
    }
    raw.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    let srv = raw_server(raw);
    let f = beside_healthy(&srv, |_| {});
    f.unwrap();
    assert_eq!(f.body(), b"ok");
    assert_eq!(f.headers().len(), 53);
}

#[test]
fn too_many_headers() {
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..500 {
        raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let srv = raw_server(raw.clone());
    expect_kind(&srv, ErrorKind::TooLarge);
    // With a low explicit cap.
    let srv =
        raw_server(&b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n"[..]);
    let f = beside_healthy(&srv, |e| {
        e.max_headers(3);
    });
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
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
fn body_shorter_than_content_length() {
    let srv = raw_server(&b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this"[..]);
    let f = expect_kind(&srv, ErrorKind::PartialFile);
    assert_eq!(f.body(), b"only this");
    assert_eq!(f.easy.info().size_download, 9);
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
fn server_closing_mid_body_abruptly() {
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            let _ = c.write_all(&[b'q'; 5000]);
            c.close_abruptly();
        }
    });
    expect_kind(&srv, ErrorKind::PartialFile);
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
    let f = beside_healthy(&srv, |e| {
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
    let f = beside_healthy(&srv, |e| {
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
    let f = beside_healthy(&srv, |e| {
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
fn garbage_after_a_response_does_not_poison_the_pool() {
    // A response followed by junk: the connection must not be reused.
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNKJUNK");
            c.peer_closed();
        }
    });
    let mut m = Multi::new();
    for _ in 0..2 {
        let id = m.add(rec_easy(&srv.url("/")));
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), b"ok");
        assert!(!f.easy.info().reused);
    }
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn fail_on_error_and_max_filesize() {
    let srv = Server::start(routes(|req| match req.path() {
        "/bad" => Response::new(500).body("server error body"),
        _ => Response::ok(vec![b'b'; 5000]),
    }));
    let f = beside_healthy(&srv, |e| {
        e.fail_on_error(true);
    });
    assert_eq!(f.kind(), Some(ErrorKind::HttpReturnedError));
    assert!(f.body().is_empty());
    let mut e = rec_easy(&srv.url("/big"));
    e.max_filesize(Some(1000));
    assert_eq!(run_one(e).kind(), Some(ErrorKind::TooLarge));
    // Counted as it arrives when there is no Content-Length.
    let srv = raw_server(&b"HTTP/1.0 200 OK\r\n\r\n0123456789"[..]);
    let mut e = rec_easy(&srv.url("/"));
    e.max_filesize(Some(5));
    assert_eq!(run_one(e).kind(), Some(ErrorKind::TooLarge));
}
