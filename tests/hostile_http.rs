//! Hostile HTTP servers that attack the limits: a head dripped a byte at a
//! time, an endless header line, endless header lines, an endless chunked
//! body, Content-Length lies in both directions, and a connection reset in the
//! middle of a body.
//!
//! Every bad transfer runs in one `Multi` beside healthy transfers, which must
//! finish intact; the bad one must end with the exact [`ErrorKind`], and what
//! reached the callbacks must stay within the limit that stopped it (bounded
//! memory: the servers send far more than the limit). Malformed syntax is in
//! `bad_input.rs`; TLS truncation without close_notify in `tls_failures.rs`.

mod support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use curlew::proto::http1::MAX_HEADER_BYTES;
use curlew::{Easy, ErrorKind, Multi};
use support::client::*;
use support::http_server::*;

/// Total bytes of the header lines a [`Rec`] received.
fn header_bytes(f: &Finished) -> usize {
    f.easy
        .handler::<Rec>()
        .expect("Rec handler")
        .headers
        .iter()
        .map(Vec::len)
        .sum()
}

/// Sends a status line, then `line` over and over until the client goes away
/// or `max` bytes were sent; never ends the head.
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
fn slow_head_drip_hits_the_low_speed_limit() {
    // One byte of the head every 50 ms (20 B/s), for at most 10 s; the limit is
    // 100 B/s over 1 s.
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        for b in b"HTTP/1.1 200 OK\r\nX-Slow: "
            .iter()
            .chain([b'a'; 200].iter())
        {
            if c.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let f = beside_healthy(&srv.url("/slow"), |e| {
        e.low_speed(100, Duration::from_secs(1));
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::OperationTimedout),
        "{:?}",
        f.result
    );
    assert!(f.body().is_empty());
}

#[test]
fn endless_header_line_is_too_large() {
    // One header line that never ends: 1 MiB against the default 100 KiB.
    let srv = header_flood(
        b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        1 << 20,
    );
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    assert!(header_bytes(&f) <= MAX_HEADER_BYTES);
    assert!(f.body().is_empty());
}

#[test]
fn endless_header_lines_are_too_large() {
    let line: &[u8] =
        b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    // Default byte limit (100 KiB); the count limit raised out of the way.
    let srv = header_flood(line, 1 << 20);
    let f = beside_healthy(&srv.url("/"), |e| {
        e.max_headers(1 << 20);
    });
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    assert!(header_bytes(&f) <= MAX_HEADER_BYTES);
    // A small explicit byte limit.
    let srv = header_flood(line, 1 << 20);
    let f = beside_healthy(&srv.url("/"), |e| {
        e.max_header_bytes(4096).max_headers(1 << 20);
    });
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    assert!(header_bytes(&f) <= 4096, "{}", header_bytes(&f));
    // The default count limit (128 fields) with short lines.
    let srv = header_flood(b"X: v\r\n", 1 << 20);
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
}

#[test]
fn too_many_headers() {
    let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..500 {
        raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let srv = raw_server(raw);
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    // With a low explicit cap.
    let srv =
        raw_server(&b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n"[..]);
    let f = beside_healthy(&srv.url("/"), |e| {
        e.max_headers(3);
    });
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
}

#[test]
fn endless_chunked_body_stops_at_max_filesize() {
    // 16 KiB chunks until the client goes away (at most 64 MiB).
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        if c.write_all(head).is_err() {
            return;
        }
        let mut chunk = b"4000\r\n".to_vec();
        chunk.extend_from_slice(&[b'z'; 0x4000]);
        chunk.extend_from_slice(b"\r\n");
        for _ in 0..4096 {
            if c.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    const MAX: u64 = 1 << 20;
    let f = beside_healthy(&srv.url("/"), |e| {
        e.max_filesize(Some(MAX));
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::FileSizeExceeded),
        "{:?}",
        f.result
    );
    assert!(
        f.body().len() as u64 <= MAX,
        "{} bytes delivered",
        f.body().len()
    );
    assert!(f.body().iter().all(|&b| b == b'z'));
}

#[test]
fn max_filesize_with_content_length_and_read_until_close() {
    // Known up front: refused before a byte of body is delivered.
    let srv = Server::start(routes(|_| Response::ok(vec![b'b'; 5000])));
    let f = beside_healthy(&srv.url("/"), |e| {
        e.max_filesize(Some(1000));
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::FileSizeExceeded),
        "{:?}",
        f.result
    );
    assert!(f.body().is_empty());
    // Counted as it arrives when there is no Content-Length.
    let srv = raw_server(&b"HTTP/1.0 200 OK\r\n\r\n0123456789"[..]);
    let f = beside_healthy(&srv.url("/"), |e| {
        e.max_filesize(Some(5));
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::FileSizeExceeded),
        "{:?}",
        f.result
    );
    assert!(f.body().len() <= 5);
}

#[test]
fn content_length_longer_than_the_body_is_partial_file() {
    let srv = raw_server(&b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this"[..]);
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::PartialFile), "{:?}", f.result);
    assert_eq!(f.body(), b"only this");
    assert_eq!(f.easy.info().size_download, 9);
}

#[test]
fn close_in_the_middle_of_a_body_is_partial_file() {
    // FIN (shutdown of both directions, no drain) after 5,000 of 100,000 bytes.
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            let _ = c.write_all(&[b'q'; 5000]);
            c.close_abruptly();
        }
    });
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::PartialFile), "{:?}", f.result);
    assert_eq!(f.body(), &[b'q'; 5000][..]);
}

#[test]
fn content_length_shorter_than_the_body_extra_bytes_dropped_no_reuse() {
    // The body is "ok" by its Content-Length; the junk after it is neither
    // delivered nor taken for the next response: the connection is not reused.
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNKJUNK");
            c.peer_closed();
        }
    });
    let good = Server::start(keep_alive_responder(pattern(100_000)));
    let mut m = Multi::new();
    for _ in 0..2 {
        let bad = m.add(rec_easy(&srv.url("/")));
        let ok = m.add(rec_easy(&good.url("/")));
        let mut r = finish(&mut m);
        assert_same_bytes(r[&ok].unwrap().body(), &pattern(100_000));
        let f = r.remove(&bad).unwrap();
        f.unwrap();
        assert_eq!(f.body(), b"ok");
        assert!(!f.easy.info().reused);
    }
    assert_eq!(srv.accepted(), 2);
}

/// A raw server: waits for the request to arrive, does not read it, writes a
/// response head announcing 100,000 bytes and 5,000 of them, then closes the
/// socket with the request still unread, which makes the kernel send RST
/// instead of FIN (RFC 2525, section 2.17) without SO_LINGER tricks.
fn resetting_server() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(support::TIMEOUT)).unwrap();
        let mut b = [0u8; 1];
        if s.peek(&mut b).unwrap_or(0) == 0 {
            return;
        }
        let mut out = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
        out.extend_from_slice(&[b'r'; 5000]);
        let _ = s.write_all(&out);
        reset(s);
    });
    (addr, t)
}

/// Drops `s`, whose receive queue must hold unread bytes: the close is a RST.
fn reset(s: TcpStream) {
    let mut b = [0u8; 1];
    assert!(s.peek(&mut b).unwrap_or(0) > 0, "nothing unread: no RST");
    drop(s);
}

#[test]
fn reset_in_the_middle_of_a_body_is_recv_error() {
    let (addr, t) = resetting_server();
    let f = beside_healthy(&format!("http://{addr}/"), |_| {});
    t.join().unwrap();
    // ECONNRESET on a read. (Linux may drop received-but-unread bytes on RST,
    // so how much of the body arrived first is not asserted beyond its shape.)
    assert_eq!(f.kind(), Some(ErrorKind::RecvError), "{:?}", f.result);
    assert!(f.body().len() <= 5000 && f.body().iter().all(|&b| b == b'r'));
}

/// A chunked response whose body is `body` followed by `line` over and over
/// (at most `max` bytes), never finishing.
fn chunked_flood(body: &'static [u8], line: &'static [u8], max: usize) -> Server {
    Server::start(move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        out.extend_from_slice(body);
        if c.write_all(&out).is_err() {
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
fn endless_trailer_section_is_bounded() {
    // The last chunk, then trailer lines forever (1 MiB against 16 KiB).
    let srv = chunked_flood(
        b"2\r\nok\r\n0\r\n",
        b"X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        1 << 20,
    );
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert!(f.kind().is_some(), "an endless trailer section must fail");
    assert_eq!(f.body(), b"ok");
}

#[test]

fn endless_trailer_section_is_too_large() {
    let srv = chunked_flood(
        b"2\r\nok\r\n0\r\n",
        b"X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        1 << 20,
    );
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
}

#[test]

fn endless_chunk_extension_is_too_large() {
    // A chunk size line whose extension never ends (1 MiB against 4 KiB).
    let srv = chunked_flood(b"2;ext=", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 << 20);
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    assert!(f.body().is_empty());
}

/// A response whose gzip body (a few KiB on the wire, Content-Length
/// honest) inflates to 8 MiB.
fn gzip_bomb_server() -> Server {
    let bomb = support::gzip(&vec![0u8; 8 << 20]);
    assert!(bomb.len() < 100_000);
    Server::start(routes(move |_| {
        Response::ok(bomb.clone()).header("Content-Encoding", "gzip")
    }))
}

#[test]
fn gzip_bomb_stops_at_max_filesize() {
    const MAX: u64 = 1 << 20;
    let srv = gzip_bomb_server();
    let f = beside_healthy(&srv.url("/"), |e| {
        e.accept_encoding(true).max_filesize(Some(MAX));
    });
    assert!(f.kind().is_some(), "the bomb must fail the transfer");
    assert!(
        f.body().len() as u64 <= MAX,
        "{} bytes delivered",
        f.body().len()
    );
}

#[test]

fn gzip_bomb_over_max_filesize_is_filesize_exceeded() {
    let srv = gzip_bomb_server();
    let f = beside_healthy(&srv.url("/"), |e| {
        e.accept_encoding(true).max_filesize(Some(1 << 20));
    });
    assert_eq!(
        f.kind(),
        Some(ErrorKind::FileSizeExceeded),
        "{:?}",
        f.result
    );
}

#[test]

fn endless_interim_responses_are_too_large() {
    // 102 Processing forever (200,000 of them, 5.4 MB): each head is tiny, so only a
    // cumulative cap stops the header callback from being fed without end.
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let interim = b"HTTP/1.1 102 Processing\r\n\r\n".repeat(1000);
        for _ in 0..200 {
            if c.write_all(&interim).is_err() {
                return;
            }
        }
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    let f = beside_healthy(&srv.url("/"), |_| {});
    assert_eq!(f.kind(), Some(ErrorKind::TooLarge), "{:?}", f.result);
    assert!(
        header_bytes(&f) <= 3 * MAX_HEADER_BYTES,
        "{}",
        header_bytes(&f)
    );
}

#[test]
fn a_paused_transfer_stops_reading_from_a_fast_server() {
    // The application pauses at the first body bytes; the server streams up to 256 MiB.
    // The client must stop reading (TCP pushes back), not buffer the stream: the server's
    // writes block after the socket buffers (a few MiB) are full.
    let sent: Arc<Mutex<Option<usize>>> = Arc::default();
    let s2 = sent.clone();
    let srv = Server::start(move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        *s2.lock().unwrap() = Some(pump_until_blocked(c, &[b'x'; 1 << 16]));
    });
    let good_body = pattern(200_000);
    let b = good_body.clone();
    let good = Server::start(routes(move |_| Response::ok(b.clone())));
    let paused = Easy::with_handler(&srv.url("/"), PauseForever::default()).unwrap();
    let healthy = (0..3).map(|_| rec_easy(&good.url("/"))).collect();
    let n = paused_beside_healthy(paused, &sent, healthy, |f| {
        assert_same_bytes(f.unwrap().body(), &good_body)
    });
    assert!(
        n < 64 << 20,
        "the server wrote {n} bytes to a paused client"
    );
}
