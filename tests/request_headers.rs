//! The caller's headers that mean something to the origin or to the framing, one test per
//! row of the manual's table ("Request headers the engine also sets"): what is sent on the
//! first request, after a redirect to the same host and to another host, and what a conflict
//! with the engine's own framing does.

mod support;

use curlew::{Easy, ErrorKind, ReadResult};
use support::client::*;
use support::http_server::*;

/// Server A answers `/start` with a redirect (status `code`) to B's `/landing` by the host
/// name `localhost` (another host than A's 127.0.0.1), and `/same` with one to its own
/// `/landing`; both `/landing`s answer `landed`.
struct Pair {
    a: Server,
    b: Server,
}

fn pair(code: u16) -> Pair {
    let b = Server::start(routes(|_| Response::ok("landed")));
    let b_url = b.url_with_host("localhost", "/landing");
    let a = Server::start(routes(move |req| match req.path() {
        "/start" => Response::redirect(code, &b_url),
        "/same" => Response::redirect(code, "/landing"),
        _ => Response::ok("landed"),
    }));
    Pair { a, b }
}

fn follow(url: &str, headers: &[(&str, &str)]) -> Finished {
    let mut e = Easy::new(url).unwrap();
    e.follow_location(true);
    for (n, v) in headers {
        e.header(n, v).unwrap();
    }
    let f = run_one(e);
    assert!(f.result.is_ok(), "{:?}", f.result);
    assert_eq!(f.body(), b"landed");
    f
}

#[test]
fn host_is_kept_on_the_same_host_and_replaced_on_another() {
    let p = pair(302);
    // Another host: B receives its own name, not the custom one (curl sends the custom Host
    // only when this is not a redirect to another host).
    follow(&p.a.url("/start"), &[("Host", "intranet.example")]);
    let first = p.a.last_request().unwrap();
    assert_eq!(first.header("host"), Some("intranet.example"));
    let at_b = p.b.last_request().unwrap();
    assert_eq!(
        at_b.header_all("host"),
        [format!("localhost:{}", p.b.port())]
    );
    // The same host: the custom Host stays.
    follow(&p.a.url("/same"), &[("Host", "intranet.example")]);
    let log = p.a.request_log();
    let landing = log.last().unwrap();
    assert_eq!(landing.path(), "/landing");
    assert_eq!(landing.header_all("host"), ["intranet.example"]);
}

#[test]
fn credentials_go_to_the_first_origin_only() {
    let p = pair(302);
    let creds = [("Authorization", "Bearer secret"), ("Cookie", "s=1")];
    follow(&p.a.url("/start"), &creds);
    let at_b = p.b.last_request().unwrap();
    assert_eq!(at_b.header("authorization"), None);
    assert_eq!(at_b.header("cookie"), None);
    follow(&p.a.url("/same"), &creds);
    let landing = p.a.last_request().unwrap();
    assert_eq!(landing.header("authorization"), Some("Bearer secret"));
    assert_eq!(landing.header("cookie"), Some("s=1"));
}

#[test]
fn user_chunked_with_a_body_chunks_the_body() {
    // The smuggling probe from the report: a body that, sent unchunked, would be a second
    // request at the server.
    let body = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let srv = Server::start(routes(|_| Response::ok("ok")));
    let mut e = Easy::new(&srv.url("/upload")).unwrap();
    e.header("Transfer-Encoding", "chunked").unwrap();
    e.body(body.clone());
    run_one(e).unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.header_all("transfer-encoding"), ["chunked"]);
    assert_eq!(req.header("content-length"), None);
    assert_eq!(req.body, body, "the body arrives whole, chunk-decoded");
    assert_eq!(srv.requests(), 1, "no second request at the server");
    assert_eq!(
        req.raw_body,
        [
            format!("{:x}\r\n", body.len()).as_bytes(),
            &body,
            b"\r\n0\r\n\r\n"
        ]
        .concat()
    );
}

#[test]
fn user_chunked_without_a_body_sends_the_last_chunk() {
    let srv = Server::start(routes(|_| Response::ok("ok")));
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.method("POST").unwrap();
    e.header("Transfer-Encoding", "chunked").unwrap();
    run_one(e).unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.raw_body, b"0\r\n\r\n");
    // The connection stays in step: a second request on it works.
    let f = run_one(Easy::new(&srv.url("/again")).unwrap());
    f.unwrap();
}

#[test]
fn user_length_declares_the_length_of_a_reader() {
    struct Reader(Vec<u8>);
    impl curlew::Handler for Reader {
        fn read(&mut self, _: &mut curlew::Ctx<'_>, buf: &mut [u8]) -> ReadResult {
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            ReadResult::Data(n)
        }
    }
    let srv = Server::start(routes(|_| Response::ok("ok")));
    let mut e = Easy::with_handler(&srv.url("/put"), Reader(pattern(3000))).unwrap();
    e.upload(None);
    e.header("Content-Length", "3000").unwrap();
    run_one(e).unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.header_all("content-length"), ["3000"]);
    assert_eq!(req.header("transfer-encoding"), None);
    assert_same_bytes(&req.body, &pattern(3000));
}

#[test]
fn framing_that_would_desynchronise_is_refused_before_sending() {
    let srv = Server::start(routes(|_| Response::ok("ok")));
    for (headers, body) in [
        (&[("Content-Length", "5")][..], Some(&b"hello world"[..])),
        (&[("Content-Length", "5")][..], None),
        (&[("Content-Length", "x")][..], Some(&b"hello"[..])),
        (
            &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")][..],
            Some(&b"hello"[..]),
        ),
        (&[("Transfer-Encoding", "gzip")][..], Some(&b"hello"[..])),
        (&[("Transfer-Encoding", "gzip, chunked")][..], None),
    ] {
        let mut e = Easy::new(&srv.url("/")).unwrap();
        for (n, v) in headers {
            e.header(n, v).unwrap();
        }
        if let Some(b) = body {
            e.body(b.to_vec());
        }
        let f = run_one(e);
        assert_eq!(
            f.kind(),
            Some(ErrorKind::BadFunctionArgument),
            "{headers:?} {body:?}"
        );
    }
    assert_eq!(srv.requests(), 0, "nothing reached the server");
    // The matching length is fine (and written once).
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.header("Content-Length", "5").unwrap().body(&b"hello"[..]);
    run_one(e).unwrap();
    let req = srv.last_request().unwrap();
    assert_eq!(req.header_all("content-length"), ["5"]);
    assert_eq!(req.body, b"hello");
}

#[test]
fn a_body_dropped_by_a_redirect_takes_its_headers_along() {
    // 303 (and 301/302 for POST) turn the request into a GET without a body: the caller's
    // Content-Type and framing headers described that body and are not sent again.
    let p = pair(303);
    let mut e = Easy::new(&p.a.url("/same")).unwrap();
    e.follow_location(true);
    e.header("Content-Type", "application/json").unwrap();
    e.header("Transfer-Encoding", "chunked").unwrap();
    e.header("X-Kept", "1").unwrap();
    e.body(&b"{\"a\":1}"[..]);
    let f = run_one(e);
    f.unwrap();
    let log = p.a.request_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].header("content-type"), Some("application/json"));
    assert_eq!(log[0].body, b"{\"a\":1}");
    let get = &log[1];
    assert_eq!(get.method, "GET");
    assert_eq!(get.header("content-type"), None);
    assert_eq!(get.header("transfer-encoding"), None);
    assert_eq!(get.header("content-length"), None);
    assert_eq!(get.header("x-kept"), Some("1"));
}

#[test]
fn connection_close_and_expect_are_honoured() {
    let srv = Server::start(routes(|_| Response::ok("ok")));
    let mut m = curlew::Multi::new();
    for _ in 0..2 {
        let mut e = Easy::new(&srv.url("/")).unwrap();
        e.header("Connection", "close").unwrap();
        m.add(e);
        run_multi(&mut m);
    }
    assert_eq!(srv.accepted(), 2, "Connection: close is never reused");
    // `Expect:` with no value removes the engine's 100-continue for a large upload.
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.header("Expect", "").unwrap();
    e.body(pattern(2 << 20));
    run_one(e).unwrap();
    assert_eq!(srv.last_request().unwrap().header("expect"), None);
}
