//! Redirects: method rewriting, relative Location, limits, credentials across
//! origins, and the not-following case.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, ReadResult};
use support::client::*;
use support::http_server::*;

/// `/rNNN` redirects with status NNN to `/target`; `/target` answers with the
/// method and the body it got.
fn redirect_server() -> Server {
    Server::start(routes(|req| {
        if let Some(code) = req.path().strip_prefix("/r") {
            return Response::redirect(code.parse().unwrap(), "/target").body("moved");
        }
        let mut body = format!("{} ", req.method).into_bytes();
        body.extend_from_slice(&req.body);
        Response::ok(body)
    }))
}

fn post(url: &str) -> Easy {
    let mut e = Easy::new(url).unwrap();
    e.body(&b"k=v"[..]).follow_location(true);
    e
}

#[test]
fn post_becomes_get_on_301_302_303() {
    for code in [301u16, 302, 303] {
        let srv = redirect_server();
        let f = run_one(post(&srv.url(&format!("/r{code}"))));
        f.unwrap();
        assert_eq!(f.body(), b"GET ", "status {code}");
        let info = f.easy.info();
        assert_eq!(info.response_code, 200);
        assert_eq!(info.redirect_count, 1);
        assert_eq!(info.effective_url, srv.url("/target"));
        let log = srv.request_log();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].method, "POST");
        assert_eq!(log[0].body, b"k=v");
        let second = &log[1];
        assert_eq!(second.method, "GET", "status {code}");
        assert!(second.body.is_empty());
        assert_eq!(second.header("content-length"), None, "status {code}");
        assert_eq!(second.header("content-type"), None, "status {code}");
        // The small redirect body was drained: one connection for both.
        assert_eq!(srv.accepted(), 1);
    }
}

#[test]
fn redirect_307_308_keep_method_and_body() {
    for code in [307u16, 308] {
        let srv = redirect_server();
        let f = run_one(post(&srv.url(&format!("/r{code}"))));
        f.unwrap();
        assert_eq!(f.body(), b"POST k=v", "status {code}");
        let log = srv.request_log();
        assert_eq!(log.len(), 2);
        assert_eq!(log[1].method, "POST");
        assert_eq!(log[1].header("content-length"), Some("3"));
        assert_eq!(
            log[1].header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }
    // PUT with a custom method stays PUT even on 301.
    let srv = redirect_server();
    let mut e = Easy::new(&srv.url("/r301")).unwrap();
    e.method("PUT")
        .unwrap()
        .body(&b"data"[..])
        .follow_location(true);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"PUT data");
}

/// Uploads a fixed body through the read callback; counts rewinds.
struct Up {
    data: &'static [u8],
    pos: usize,
    rewinds: Arc<AtomicUsize>,
    can_rewind: bool,
}

impl Handler for Up {
    fn read(&mut self, _ctx: &mut Ctx<'_>, buf: &mut [u8]) -> ReadResult {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        ReadResult::Data(n)
    }
    fn rewind(&mut self) -> bool {
        self.rewinds.fetch_add(1, Ordering::SeqCst);
        self.pos = 0;
        self.can_rewind
    }
    fn write(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
        Flow::Continue
    }
}

#[test]
fn redirect_307_resends_read_callback_upload_after_rewind() {
    let srv = redirect_server();
    let rewinds = Arc::new(AtomicUsize::new(0));
    let up = Up {
        data: b"streamed upload",
        pos: 0,
        rewinds: rewinds.clone(),
        can_rewind: true,
    };
    let mut e = Easy::with_handler(&srv.url("/r307"), up).unwrap();
    e.upload(Some(15)).follow_location(true);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(rewinds.load(Ordering::SeqCst), 1);
    let log = srv.request_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].method, "PUT");
    assert_eq!(log[1].body, b"streamed upload");

    // Without rewind support the redirect cannot be followed.
    let rewinds = Arc::new(AtomicUsize::new(0));
    let up = Up {
        data: b"streamed upload",
        pos: 0,
        rewinds,
        can_rewind: false,
    };
    let mut e = Easy::with_handler(&srv.url("/r308"), up).unwrap();
    e.upload(Some(15)).follow_location(true);
    assert_eq!(run_one(e).kind(), Some(ErrorKind::SendFailRewind));
}

#[test]
fn relative_locations() {
    let srv = Server::start(routes(|req| match req.path() {
        "/a/b/start" => Response::redirect(302, "next?x=1"),
        "/a/b/next" => Response::redirect(302, "../../c/./d"),
        "/c/d" => Response::redirect(302, "//127.0.0.1:1/ignored").header("X", "y"),
        _ => Response::ok(req.target.clone()),
    }));
    // Stop before the protocol-relative one: it points at a closed port.
    let mut e = Easy::new(&srv.url("/a/b/start")).unwrap();
    e.follow_location(true).max_redirects(2);
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::TooManyRedirects));
    let targets: Vec<String> = srv.request_log().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/a/b/start", "/a/b/next?x=1", "/c/d"]);
    assert_eq!(f.easy.info().redirect_count, 2);
    assert_eq!(f.easy.info().effective_url, srv.url("/c/d"));
}

#[test]
fn too_many_redirects() {
    let srv = Server::start(routes(|req| {
        let n: u32 = req.path()[1..].parse().unwrap();
        Response::redirect(302, &format!("/{}", n + 1))
    }));
    let mut e = Easy::new(&srv.url("/0")).unwrap();
    e.follow_location(true).max_redirects(3);
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::TooManyRedirects));
    assert_eq!(f.easy.info().redirect_count, 3);
    assert_eq!(f.easy.info().effective_url, srv.url("/3"));
    assert_eq!(srv.requests(), 4);

    // max_redirects(0): the first redirect is already too many.
    let mut e = Easy::new(&srv.url("/0")).unwrap();
    e.follow_location(true).max_redirects(0);
    assert_eq!(run_one(e).kind(), Some(ErrorKind::TooManyRedirects));
}

#[test]
fn redirect_chain_count_and_effective_url() {
    let srv = Server::start(routes(|req| match req.path() {
        "/1" => Response::redirect(301, "/2"),
        "/2" => Response::redirect(308, "/3"),
        "/3" => Response::redirect(303, "/end"),
        _ => Response::ok("end"),
    }));
    let mut e = rec_easy(&srv.url("/1"));
    e.follow_location(true);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"end");
    let info = f.easy.info();
    assert_eq!(info.redirect_count, 3);
    assert_eq!(info.effective_url, srv.url("/end"));
    assert_eq!(info.response_code, 200);
    assert_eq!(info.redirect_url, None);
    // Redirect bodies are not delivered; their headers are.
    let statuses: Vec<String> = f
        .headers()
        .into_iter()
        .filter(|l| l.starts_with("HTTP/"))
        .collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 301 Moved Permanently\r\n",
            "HTTP/1.1 308 Permanent Redirect\r\n",
            "HTTP/1.1 303 See Other\r\n",
            "HTTP/1.1 200 OK\r\n"
        ]
    );
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn not_following_reports_redirect_url() {
    let srv = Server::start(routes(|_| {
        Response::redirect(302, "/elsewhere?a=b").body("see elsewhere")
    }));
    let f = run_one(Easy::new(&srv.url("/here")).unwrap());
    f.unwrap();
    let info = f.easy.info();
    assert_eq!(info.response_code, 302);
    assert_eq!(
        info.redirect_url.as_deref(),
        Some(&srv.url("/elsewhere?a=b")[..])
    );
    assert_eq!(info.redirect_count, 0);
    assert_eq!(info.effective_url, srv.url("/here"));
    assert_eq!(f.body(), b"see elsewhere");
    assert_eq!(srv.requests(), 1);
}

/// Server A redirects to server B, which is reached by another host name
/// (`localhost` vs `127.0.0.1`): a different origin.
fn credentials_after_redirect(unrestricted: bool) -> (Request, Request) {
    let b = Server::start(routes(|_| Response::ok("at b")));
    let b_url = b.url_with_host("localhost", "/landing");
    let a = Server::start(routes(move |_| Response::redirect(302, &b_url)));
    let mut e = Easy::new(&a.url("/start")).unwrap();
    e.follow_location(true).unrestricted_auth(unrestricted);
    e.header("Authorization", "Bearer secret").unwrap();
    e.header("Cookie", "session=1").unwrap();
    e.header("X-Other", "kept").unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"at b");
    assert_eq!(
        f.easy.info().effective_url,
        b.url_with_host("localhost", "/landing")
    );
    let ra = a.last_request().unwrap();
    let rb = b.last_request().unwrap();
    assert_eq!(
        rb.header("host"),
        Some(&format!("localhost:{}", b.port())[..])
    );
    (ra, rb)
}

#[test]
fn credentials_not_sent_to_another_host() {
    let (a, b) = credentials_after_redirect(false);
    assert_eq!(a.header("authorization"), Some("Bearer secret"));
    assert_eq!(a.header("cookie"), Some("session=1"));
    assert_eq!(b.header("authorization"), None);
    assert_eq!(b.header("cookie"), None);
    assert_eq!(b.header("x-other"), Some("kept"));
}

#[test]
fn credentials_sent_to_another_host_when_unrestricted() {
    let (_, b) = credentials_after_redirect(true);
    assert_eq!(b.header("authorization"), Some("Bearer secret"));
    assert_eq!(b.header("cookie"), Some("session=1"));
}

#[test]
fn credentials_kept_on_same_origin_redirect() {
    let srv = Server::start(routes(|req| match req.path() {
        "/start" => Response::redirect(301, "/next"),
        _ => Response::ok("x"),
    }));
    let mut e = Easy::new(&srv.url("/start")).unwrap();
    e.follow_location(true);
    e.header("Authorization", "Basic dTpw").unwrap();
    run_one(e).unwrap();
    let last = srv.last_request().unwrap();
    assert_eq!(last.path(), "/next");
    assert_eq!(last.header("authorization"), Some("Basic dTpw"));
}

#[test]
fn redirect_to_other_port_is_cross_origin() {
    let b = Server::start(routes(|_| Response::ok("b")));
    let b_url = b.url("/");
    let a = Server::start(routes(move |_| Response::redirect(307, &b_url)));
    let mut e = Easy::new(&a.url("/")).unwrap();
    e.follow_location(true);
    e.header("Authorization", "Basic dTpw").unwrap();
    run_one(e).unwrap();
    assert_eq!(b.last_request().unwrap().header("authorization"), None);
}

#[test]
fn redirect_with_large_body_closes_instead_of_draining() {
    let srv = Server::start(routes(|req| match req.path() {
        "/big" => Response::redirect(302, "/small").body(vec![b'r'; 1 << 20]),
        _ => Response::ok("small"),
    }));
    let mut e = Easy::new(&srv.url("/big")).unwrap();
    e.follow_location(true);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"small");
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn easy_added_again_starts_fresh() {
    // The Easy carries its run state in and out of the multi; a second run must not see the
    // first one's: the POST becomes GET after the 302 each time, the count starts again.
    let srv = redirect_server();
    let mut m = curlew::Multi::new();
    let mut easy = post(&srv.url("/r302"));
    for round in 0..3 {
        let id = m.add(easy);
        let mut done = finish(&mut m);
        let f = done.remove(&id).expect("finished");
        f.unwrap();
        assert_eq!(f.body(), b"GET ", "round {round}");
        let info = f.easy.info();
        assert_eq!(info.redirect_count, 1, "round {round}");
        assert_eq!(info.effective_url, srv.url("/target"));
        easy = f.easy;
        easy.set_handler(Rec::default());
    }
    let methods: Vec<_> = srv.request_log().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET", "POST", "GET", "POST", "GET"]);
    // Removed mid-run (the server never answers), then added again elsewhere: it runs whole.
    let silent = silent_server();
    let id = m.add(post(&silent.url("/r302")));
    let mut stalled = m.remove(id).expect("still in the multi");
    stalled.url(&srv.url("/r302")).unwrap();
    let f = run_one(stalled);
    f.unwrap();
    assert_eq!(f.easy.info().redirect_count, 1);
}
