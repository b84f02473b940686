//! Chunked responses and trailers, uploads from the read callback (chunked and
//! with Content-Length), and `Expect: 100-continue` in all its outcomes.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use curlew::{Ctx, Easy, Flow, Handler, ReadResult, EXPECT_100_THRESHOLD};
use support::client::*;
use support::http_server::*;

/// Writes `bytes` one at a time, flushing each.
fn drip(c: &mut Conn, bytes: &[u8]) -> bool {
    bytes.iter().all(|b| c.write_all(&[*b]).is_ok())
}

/// Asserts the client sends nothing (and does not close) for a moment.
fn assert_nothing_arrives(c: &mut Conn) {
    use std::io::{ErrorKind, Read};
    c.set_read_timeout(Some(Duration::from_millis(200)));
    match c.read(&mut [0u8; 1]) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected silence from the client, got {other:?}"),
    }
    c.set_read_timeout(Some(support::TIMEOUT));
}

#[test]
fn chunked_body_in_one_byte_writes() {
    let big = pattern(3000);
    let mut body = Vec::new();
    body.extend_from_slice(b"6;name=value\r\nhello \r\n");
    body.extend_from_slice(b"5\r\nworld\r\n");
    body.extend_from_slice(format!("{:X}\r\n", big.len()).as_bytes());
    body.extend_from_slice(&big);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut want = b"hello world".to_vec();
    want.extend_from_slice(&big);
    let srv = Server::start(move |c: &mut Conn| {
        while c.read_request().is_some() {
            if !drip(
                c,
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
            ) || !drip(c, &body)
            {
                return;
            }
        }
    });
    let mut m = curlew::Multi::new();
    let id = m.add(rec_easy(&srv.url("/")));
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_same_bytes(f.body(), &want);
    assert_eq!(f.easy.info().size_download, want.len() as u64);
    assert_eq!(f.easy.info().content_length_download, None);
    assert_eq!(
        f.headers(),
        [
            "HTTP/1.1 200 OK\r\n",
            "Transfer-Encoding: chunked\r\n",
            "X-A: 1\r\n",
            "\r\n"
        ]
    );
    // The chunked body ended cleanly: the connection is reused.
    let id = m.add(rec_easy(&srv.url("/")));
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_same_bytes(f.body(), &want);
    assert!(f.easy.info().reused);
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn trailers_go_to_the_header_callback() {
    let srv = Server::start(|c: &mut Conn| {
        while c.read_request().is_some() {
            let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n\
                        4\r\ndata\r\n0\r\nX-Sum: 42\r\nX-Other: a b\r\n\r\n";
            if !drip(c, raw) {
                return;
            }
        }
    });
    let mut m = curlew::Multi::new();
    for _ in 0..2 {
        let id = m.add(rec_easy(&srv.url("/")));
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), b"data");
        assert_eq!(
            f.headers(),
            [
                "HTTP/1.1 200 OK\r\n",
                "Transfer-Encoding: chunked\r\n",
                "Trailer: X-Sum\r\n",
                "\r\n",
                "X-Sum: 42\r\n",
                "X-Other: a b\r\n",
            ]
        );
    }
    // Trailers were consumed: the connection carried the second request.
    assert_eq!(srv.accepted(), 1);
}

/// Uploads `data` through `Handler::read`, in pieces of at most `piece`
/// bytes; supports rewind.
struct Uploader {
    data: Vec<u8>,
    pos: usize,
    piece: usize,
    reads: Arc<AtomicUsize>,
    body: Vec<u8>,
}

impl Uploader {
    fn new(data: Vec<u8>, piece: usize) -> (Uploader, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        (
            Uploader {
                data,
                pos: 0,
                piece,
                reads: reads.clone(),
                body: Vec::new(),
            },
            reads,
        )
    }
}

impl Handler for Uploader {
    fn read(&mut self, _ctx: &mut Ctx<'_>, buf: &mut [u8]) -> ReadResult {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let n = buf.len().min(self.piece).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        ReadResult::Data(n)
    }
    fn rewind(&mut self) -> bool {
        self.pos = 0;
        true
    }
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.body.extend_from_slice(data);
        Flow::Continue
    }
}

/// A server that reads each request (answering 100-continue when asked) and
/// answers with the length of the decoded body.
fn echo_len_server() -> Server {
    Server::start(routes(|req| Response::ok(req.body.len().to_string())))
}

#[test]
fn chunked_upload_from_read_callback() {
    let srv = echo_len_server();
    let data = pattern(200_000);
    let (up, reads) = Uploader::new(data.clone(), 7_777);
    let mut e = Easy::with_handler(&srv.url("/up"), up).unwrap();
    e.upload(None);
    let f = run_one(e);
    f.unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.method, "PUT");
    assert_eq!(req.header("transfer-encoding"), Some("chunked"));
    assert_eq!(req.header("content-length"), None);
    // Unknown size: curl's rule sends Expect: 100-continue.
    assert_eq!(req.header("expect"), Some("100-continue"));
    assert_same_bytes(&req.body, &data);
    assert!(req.trailers.is_empty());
    assert!(reads.load(Ordering::SeqCst) > data.len() / 7_777);
    assert_eq!(f.easy.handler::<Uploader>().unwrap().body, b"200000");
    assert_eq!(f.easy.info().response_code, 200);
}

#[test]
fn chunked_upload_without_expect_and_empty() {
    let srv = echo_len_server();
    // Expect turned off with an empty value; the body is sent right away.
    let (up, _) = Uploader::new(b"small chunked body".to_vec(), 5);
    let mut e = Easy::with_handler(&srv.url("/up"), up).unwrap();
    e.upload(None).method("POST").unwrap();
    e.header("Expect", "").unwrap();
    run_one(e).unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("expect"), None);
    assert_eq!(req.body, b"small chunked body");
    assert_eq!(
        req.raw_body,
        b"5\r\nsmall\r\n5\r\n chun\r\n5\r\nked b\r\n3\r\nody\r\n0\r\n\r\n"
    );

    // An empty chunked upload is just the last chunk.
    let (up, _) = Uploader::new(Vec::new(), 5);
    let mut e = Easy::with_handler(&srv.url("/empty"), up).unwrap();
    e.upload(None);
    e.header("Expect", "").unwrap();
    run_one(e).unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.raw_body, b"0\r\n\r\n");
}

#[test]
fn content_length_upload_from_read_callback() {
    let srv = echo_len_server();
    let data = pattern(300_000);
    let (up, _) = Uploader::new(data.clone(), usize::MAX);
    let mut e = Easy::with_handler(&srv.url("/put"), up).unwrap();
    e.upload(Some(data.len() as u64));
    let f = run_one(e);
    f.unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.method, "PUT");
    assert_eq!(req.header("content-length"), Some("300000"));
    assert_eq!(req.header("transfer-encoding"), None);
    // Below the threshold: no Expect.
    assert_eq!(req.header("expect"), None);
    assert_same_bytes(&req.body, &data);
    assert_eq!(f.easy.info().size_upload, data.len() as u64);
}

#[test]
fn short_read_callback_fails_the_upload() {
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request_head().is_some() {
            c.peer_closed();
        }
    });
    // The callback ends the body after 10 of the 100 announced bytes.
    let (up, _) = Uploader::new(vec![b'x'; 10], 100);
    let mut e = Easy::with_handler(&srv.url("/short"), up).unwrap();
    e.upload(Some(100));
    let f = run_one(e);
    assert_eq!(f.kind(), Some(curlew::ErrorKind::ReadError));
}

#[test]
fn expect_100_continue_then_body() {
    let srv = Server::start(|c: &mut Conn| {
        while let Some(mut req) = c.read_request_head() {
            assert_eq!(req.header("expect"), Some("100-continue"));
            // Nothing of the body may arrive before the 100.
            assert_nothing_arrives(c);
            c.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
            c.read_body(&mut req).unwrap();
            let n = req.body.len().to_string();
            c.respond(201, &[], n.as_bytes());
        }
    });
    let size = EXPECT_100_THRESHOLD as usize + 1000;
    let data = pattern(size);
    let (up, _) = Uploader::new(data, usize::MAX);
    let mut e = Easy::with_handler(&srv.url("/big"), up).unwrap();
    e.upload(Some(size as u64))
        .expect_100_timeout(Duration::from_secs(60));
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 201);
    assert_eq!(
        f.easy.handler::<Uploader>().unwrap().body,
        size.to_string().as_bytes()
    );
    assert_eq!(f.easy.info().size_upload, size as u64);
}

#[test]
fn expect_100_shows_the_100_to_the_header_callback() {
    // The stock server answers 100 Continue itself.
    let srv = echo_len_server();
    struct H(Uploader, Vec<String>);
    impl Handler for H {
        fn read(&mut self, ctx: &mut Ctx<'_>, buf: &mut [u8]) -> ReadResult {
            self.0.read(ctx, buf)
        }
        fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
            self.1.push(String::from_utf8_lossy(line).into_owned());
            Flow::Continue
        }
    }
    let (up, _) = Uploader::new(b"0123456789".to_vec(), 3);
    let mut e = Easy::with_handler(&srv.url("/"), H(up, Vec::new())).unwrap();
    e.upload(Some(10))
        .expect_100_timeout(Duration::from_secs(60));
    e.header("Expect", "100-continue").unwrap();
    let f = run_one(e);
    f.unwrap();
    let lines = &f.easy.handler::<H>().unwrap().1;
    assert_eq!(lines[0], "HTTP/1.1 100 Continue\r\n");
    assert_eq!(lines[1], "\r\n");
    assert_eq!(lines[2], "HTTP/1.1 200 OK\r\n");
    assert_eq!(srv.last_request().unwrap().body, b"0123456789");
}

/// The server refuses with a final status before reading the body: the body
/// must never be sent, and the transfer completes with that status.
fn final_status_without_body(status: u16) {
    let srv = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request_head() else {
            return;
        };
        assert_eq!(req.header("expect"), Some("100-continue"));
        c.respond(
            status,
            &[("WWW-Authenticate", "Basic realm=\"x\"")],
            b"refused",
        );
        // The client must close the connection without sending any body.
        assert!(c.peer_closed(), "body bytes arrived after the final status");
    });
    let (up, reads) = Uploader::new(pattern(4096), usize::MAX);
    let mut e = Easy::with_handler(&srv.url("/refuse"), up).unwrap();
    e.upload(None).expect_100_timeout(Duration::from_secs(60));
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().response_code, status);
    assert_eq!(f.easy.handler::<Uploader>().unwrap().body, b"refused");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        0,
        "the read callback was called"
    );
    assert_eq!(f.easy.info().size_upload, 0);
    drop(srv); // re-raises the server's assertion
}

#[test]
fn expect_417_final_status_without_body() {
    final_status_without_body(417);
}

#[test]
fn expect_401_final_status_without_body() {
    final_status_without_body(401);
}

#[test]
fn expect_final_status_then_next_request_uses_new_connection() {
    let srv = Server::start(|c: &mut Conn| {
        while let Some(req) = c.read_request_head() {
            if req.header("expect").is_some() {
                c.respond(413, &[], b"too big");
                c.peer_closed();
                return;
            }
            c.respond(200, &[], b"fine");
        }
    });
    let mut m = curlew::Multi::new();
    let (up, _) = Uploader::new(pattern(100), usize::MAX);
    let mut e = Easy::with_handler(&srv.url("/a"), up).unwrap();
    e.upload(None);
    let id = m.add(e);
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 413);
    let id = m.add(Easy::new(&srv.url("/b")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_eq!(f.body(), b"fine");
    assert!(!f.easy.info().reused);
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn expect_timeout_sends_the_body_anyway() {
    let srv = Server::start(|c: &mut Conn| {
        while let Some(mut req) = c.read_request_head() {
            assert_eq!(req.header("expect"), Some("100-continue"));
            // Never send 100: just wait for the body.
            c.read_body(&mut req).unwrap();
            let n = req.body.len().to_string();
            c.respond(200, &[], n.as_bytes());
        }
    });
    let data = pattern(50_000);
    let (up, _) = Uploader::new(data, 1000);
    let mut e = Easy::with_handler(&srv.url("/slow"), up).unwrap();
    e.upload(None).expect_100_timeout(Duration::from_millis(50));
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.handler::<Uploader>().unwrap().body, b"50000");
}

#[test]
fn early_final_response_during_an_upload() {
    // The server answers 413 right after the head, then drains whatever
    // comes until the client closes; the client stops uploading and
    // completes with the 413.
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request_head().is_some() {
            c.respond(413, &[("Connection", "close")], b"too large");
            c.read_to_eof();
        }
    });
    let size = 64u64 << 20;
    struct Endless(u64);
    impl Handler for Endless {
        fn read(&mut self, _ctx: &mut Ctx<'_>, buf: &mut [u8]) -> ReadResult {
            let n = (buf.len() as u64).min(self.0) as usize;
            buf[..n].fill(b'u');
            self.0 -= n as u64;
            ReadResult::Data(n)
        }
        fn write(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            Flow::Continue
        }
    }
    let mut e = Easy::with_handler(&srv.url("/"), Endless(size)).unwrap();
    e.upload(Some(size));
    e.header("Expect", "").unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 413);
}

#[test]
fn chunked_wins_over_content_length() {
    let srv = raw_server(
        &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..],
    );
    let f = run_one(rec_easy(&srv.url("/")));
    f.unwrap();
    assert_eq!(f.body(), b"hello");
}

/// A handler that asks for no header lines gets no `header` calls, trailers included, and
/// the transfer reads the head as always (status, Content-Type, framing, reuse); verbose
/// mode still shows the lines to the debug callback.
#[test]
fn wants_headers_false_skips_header_calls_and_trailers() {
    #[derive(Default)]
    struct NoHeaders {
        header_calls: usize,
        debug_in: Vec<u8>,
        body: Vec<u8>,
    }
    impl curlew::Handler for NoHeaders {
        fn wants_headers(&self) -> bool {
            false
        }
        fn header(&mut self, _ctx: &mut curlew::Ctx<'_>, _line: &[u8]) -> curlew::Flow {
            self.header_calls += 1;
            curlew::Flow::Continue
        }
        fn write(&mut self, _ctx: &mut curlew::Ctx<'_>, data: &[u8]) -> curlew::Flow {
            self.body.extend_from_slice(data);
            curlew::Flow::Continue
        }
        fn debug(&mut self, kind: curlew::DebugKind, data: &[u8]) {
            if kind == curlew::DebugKind::HeaderIn {
                self.debug_in.extend_from_slice(data);
            }
        }
    }
    let srv = Server::start(|c: &mut Conn| {
        while c.read_request().is_some() {
            let raw =
                b"HTTP/1.1 200 OK\r\nContent-Type: text/x\r\nTransfer-Encoding: chunked\r\n\r\n\
                        4\r\ndata\r\n0\r\nX-Sum: 42\r\n\r\n";
            if !drip(c, raw) {
                return;
            }
        }
    });
    let mut m = curlew::Multi::new();
    for verbose in [false, true] {
        let mut e = curlew::Easy::with_handler(&srv.url("/"), NoHeaders::default()).unwrap();
        e.verbose(verbose);
        let id = m.add(e);
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        let info = f.easy.info();
        assert_eq!(info.response_code, 200);
        assert_eq!(info.content_type.as_deref(), Some("text/x"));
        let h = f.easy.handler::<NoHeaders>().unwrap();
        assert_eq!(h.body, b"data");
        assert_eq!(h.header_calls, 0);
        if verbose {
            let seen = String::from_utf8_lossy(&h.debug_in).into_owned();
            assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen:?}");
            assert!(seen.contains("X-Sum: 42\r\n"), "{seen:?}");
        } else {
            assert!(h.debug_in.is_empty());
        }
    }
    // The chunked body and its trailers were consumed: one connection served both.
    assert_eq!(srv.accepted(), 1);
}
