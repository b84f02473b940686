//! Plain HTTP/1.1: the exact request bytes, the header callback, bodiless
//! responses, 1xx, HTTP/1.0 and the transfer info.

mod support;

use std::time::Duration;

use curlew::{Easy, HttpVersion, Multi, DEFAULT_USER_AGENT};
use support::client::*;
use support::http_server::*;

fn ok_server() -> Server {
    Server::start(routes(|_| Response::ok("ok")))
}

fn head_of(srv: &Server) -> String {
    let req = srv.last_request().expect("server saw a request");
    String::from_utf8(req.raw_head).expect("ASCII request head")
}

fn hostport(srv: &Server) -> String {
    format!("127.0.0.1:{}", srv.port())
}

#[test]
fn user_agent_only_when_set() {
    // libcurl sends no User-Agent without CURLOPT_USERAGENT; neither do we.
    let srv = ok_server();
    let mut e = Easy::new(&srv.url("/ua")).unwrap();
    e.user_agent(Some(DEFAULT_USER_AGENT)).unwrap();
    run_one(e).unwrap();
    assert_eq!(
        head_of(&srv),
        format!(
            "GET /ua HTTP/1.1\r\nHost: {}\r\nUser-Agent: {DEFAULT_USER_AGENT}\r\nAccept: */*\r\n\r\n",
            hostport(&srv)
        )
    );
    // Set, then unset.
    let mut e = Easy::new(&srv.url("/ua")).unwrap();
    e.user_agent(Some("x/1")).unwrap().user_agent(None).unwrap();
    run_one(e).unwrap();
    assert!(!head_of(&srv).contains("User-Agent"));
    assert!(Easy::new(&srv.url("/"))
        .unwrap()
        .user_agent(Some("a\r\nb"))
        .is_err());
}

#[test]
fn get_sends_exact_request() {
    let srv = ok_server();
    let f = run_one(Easy::new(&srv.url("/path/x?q=1&r=%20")).unwrap());
    f.unwrap();
    assert_eq!(f.body(), b"ok");
    assert_eq!(
        head_of(&srv),
        format!(
            "GET /path/x?q=1&r=%20 HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\n\r\n",
            hostport(&srv)
        )
    );
}

#[test]
fn head_has_no_body_and_keeps_the_connection() {
    // The server announces the length of the full body but sends none.
    let srv = Server::start(routes(|_| Response::ok(vec![b'x'; 1234])));
    let mut m = Multi::new();
    let mut e = Easy::new(&srv.url("/h")).unwrap();
    e.nobody(true).timeout(Some(Duration::from_secs(10)));
    let id = m.add(e);
    let mut r = finish(&mut m);
    let f = r.remove(&id).unwrap();
    f.unwrap();
    assert!(f.body().is_empty());
    assert_eq!(f.easy.info().response_code, 200);
    assert_eq!(f.easy.info().content_length_download, Some(1234));
    assert_eq!(f.easy.info().size_download, 0);
    assert_eq!(
        head_of(&srv),
        format!(
            "HEAD /h HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\n\r\n",
            hostport(&srv)
        )
    );
    // The connection is clean: a GET reuses it and gets the whole body.
    let id = m.add(Easy::new(&srv.url("/g")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_eq!(f.body().len(), 1234);
    assert!(f.easy.info().reused);
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn method_head_is_nobody() {
    let srv = Server::start(routes(|_| Response::ok("abc")));
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.method("HEAD")
        .unwrap()
        .timeout(Some(Duration::from_secs(10)));
    let f = run_one(e);
    f.unwrap();
    assert!(f.body().is_empty());
    assert!(head_of(&srv).starts_with("HEAD / HTTP/1.1\r\n"));
}

#[test]
fn post_bytes_sends_length_type_and_body() {
    let srv = ok_server();
    let mut e = Easy::new(&srv.url("/form")).unwrap();
    e.body(&b"a=1&b=2"[..]);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(
        head_of(&srv),
        format!(
            "POST /form HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\n\
             Content-Length: 7\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n",
            hostport(&srv)
        )
    );
    assert_eq!(srv.last_request().unwrap().body, b"a=1&b=2");
    assert_eq!(f.easy.info().size_upload, 7);
}

#[test]
fn put_delete_and_custom_methods() {
    let srv = ok_server();
    let mut m = Multi::new();
    m.set_max_host_connections(1); // one after the other: the log order is the add order
    let mut put = Easy::new(&srv.url("/put")).unwrap();
    put.method("PUT").unwrap().body(&b"payload"[..]);
    let mut empty_put = Easy::new(&srv.url("/put0")).unwrap();
    empty_put.method("PUT").unwrap();
    let mut del = Easy::new(&srv.url("/del")).unwrap();
    del.method("DELETE").unwrap();
    let mut custom = Easy::new(&srv.url("/dav")).unwrap();
    custom.method("PROPFIND").unwrap();
    for e in [put, empty_put, del, custom] {
        m.add(e);
    }
    for f in finish(&mut m).values() {
        f.unwrap();
        assert_eq!(f.body(), b"ok");
    }
    let log = srv.request_log();
    let heads: Vec<String> = log
        .iter()
        .map(|r| String::from_utf8(r.raw_head.clone()).unwrap())
        .collect();
    let hp = hostport(&srv);
    let common = format!("Host: {hp}\r\nAccept: */*\r\n");
    assert_eq!(
        heads,
        vec![
            format!("PUT /put HTTP/1.1\r\n{common}Content-Length: 7\r\n\r\n"),
            format!("PUT /put0 HTTP/1.1\r\n{common}Content-Length: 0\r\n\r\n"),
            format!("DELETE /del HTTP/1.1\r\n{common}\r\n"),
            format!("PROPFIND /dav HTTP/1.1\r\n{common}\r\n"),
        ]
    );
    assert_eq!(log[0].body, b"payload");
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn bad_method_and_header_are_rejected() {
    let mut e = Easy::new("http://127.0.0.1:1/").unwrap();
    assert_eq!(
        e.method("GET X").unwrap_err().kind(),
        curlew::ErrorKind::BadFunctionArgument
    );
    assert_eq!(
        e.header("X-A", "a\r\nInjected: 1").unwrap_err().kind(),
        curlew::ErrorKind::BadFunctionArgument
    );
    assert_eq!(
        e.header("Bad Name", "v").unwrap_err().kind(),
        curlew::ErrorKind::BadFunctionArgument
    );
}

#[test]
fn user_headers_replace_internal_ones() {
    let srv = ok_server();
    let mut e = Easy::new(&srv.url("/u")).unwrap();
    e.body(&b"{}"[..]);
    e.header("User-Agent", "mine/1.0").unwrap();
    e.header("Accept", "application/json").unwrap();
    e.header("Content-Type", "application/json").unwrap();
    e.header("X-Custom", "v1").unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(
        head_of(&srv),
        format!(
            "POST /u HTTP/1.1\r\nHost: {}\r\nContent-Length: 2\r\nUser-Agent: mine/1.0\r\n\
             Accept: application/json\r\nContent-Type: application/json\r\nX-Custom: v1\r\n\r\n",
            hostport(&srv)
        )
    );
}

#[test]
fn user_host_header_replaces_host_and_comes_first() {
    let srv = ok_server();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.header("X-Before", "1").unwrap();
    e.header("Host", "example.test:8080").unwrap();
    let f = run_one(e);
    f.unwrap();
    // RFC 9112 §3.2: Host SHOULD be the first field after the request line.
    assert_eq!(
        head_of(&srv),
        format!(
            "GET / HTTP/1.1\r\nHost: example.test:8080\r\n\
             Accept: */*\r\nX-Before: 1\r\n\r\n"
        )
    );
}

#[test]
fn empty_value_removes_internal_headers() {
    let srv = ok_server();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.header("User-Agent", "").unwrap();
    e.header("Accept", "").unwrap();
    e.header("X-Keep", "yes").unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(
        head_of(&srv),
        format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nX-Keep: yes\r\n\r\n",
            hostport(&srv)
        )
    );

    // POST: Content-Type removed, Content-Length kept; user_agent(None) too.
    let mut e = Easy::new(&srv.url("/p")).unwrap();
    e.body(&b"xyz"[..]).user_agent(None).unwrap();
    e.header("Content-Type", "").unwrap();
    run_one(e).unwrap();
    assert_eq!(
        head_of(&srv),
        format!(
            "POST /p HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\nContent-Length: 3\r\n\r\n",
            hostport(&srv)
        )
    );
}

#[test]
fn empty_host_value_removes_host() {
    let srv = ok_server();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.header("Host", "").unwrap();
    run_one(e).unwrap();
    assert_eq!(
        head_of(&srv),
        format!("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")
    );
}

#[test]
fn header_callback_order() {
    let srv = raw_server(
        &b"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: two words\r\nContent-Length: 2\r\n\r\nhi"[..],
    );
    let f = run_one(rec_easy(&srv.url("/")));
    f.unwrap();
    assert_eq!(
        f.headers(),
        [
            "HTTP/1.1 200 OK\r\n",
            "X-A: 1\r\n",
            "X-B: two words\r\n",
            "Content-Length: 2\r\n",
            "\r\n"
        ]
    );
    assert_eq!(f.body(), b"hi");
}

#[test]
fn status_204_and_304_have_no_body() {
    let srv = Server::start(|c: &mut Conn| {
        while let Some(req) = c.read_request() {
            match req.path() {
                // A 204 never has a body, whatever the headers say.
                "/204" => c.respond(204, &[("X-N", "1")], b""),
                // A 304 may announce the representation's length.
                "/304" => c.respond(304, &[("Content-Length", "100"), ("ETag", "\"e\"")], b""),
                _ => c.respond(200, &[], b"after"),
            }
        }
    });
    let mut m = Multi::new();
    m.set_max_host_connections(1);
    let mut ids = Vec::new();
    for p in ["/204", "/304", "/next"] {
        let mut e = Easy::new(&srv.url(p)).unwrap();
        e.timeout(Some(Duration::from_secs(10)));
        ids.push(m.add(e));
    }
    let r = finish(&mut m);
    let codes: Vec<u16> = ids
        .iter()
        .map(|id| {
            r[id].unwrap();
            r[id].easy.info().response_code
        })
        .collect();
    assert_eq!(codes, [204, 304, 200]);
    assert!(r[&ids[0]].body().is_empty());
    assert!(r[&ids[1]].body().is_empty());
    assert_eq!(r[&ids[2]].body(), b"after");
    // The bodiless responses left the connection usable.
    assert_eq!(srv.accepted(), 1);
    assert!(r[&ids[2]].easy.info().reused);
}

#[test]
fn informational_103_is_skipped_but_shown() {
    let srv = raw_server(
        &b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n\
           HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"[..],
    );
    let f = run_one(rec_easy(&srv.url("/")));
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 200);
    assert_eq!(f.body(), b"body");
    assert_eq!(
        f.headers(),
        [
            "HTTP/1.1 103 Early Hints\r\n",
            "Link: </s.css>; rel=preload\r\n",
            "\r\n",
            "HTTP/1.1 200 OK\r\n",
            "Content-Length: 4\r\n",
            "\r\n"
        ]
    );
}

#[test]
fn http10_body_until_close() {
    let srv = raw_server(&b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello, until close"[..]);
    let mut m = Multi::new();
    let id = m.add(Easy::new(&srv.url("/")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_eq!(f.body(), b"hello, until close");
    let info = f.easy.info();
    assert_eq!(info.http_version, Some(HttpVersion::Http10));
    assert_eq!(info.content_length_download, None);
    assert_eq!(info.size_download, 18);
    // That connection ended with the body: the next transfer opens another.
    let id = m.add(Easy::new(&srv.url("/")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert!(!f.easy.info().reused);
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn getinfo_fields() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n";
    let mut raw = head.as_bytes().to_vec();
    raw.extend_from_slice(&[b'z'; 1000]);
    let srv = Server::start(move |c: &mut Conn| {
        while c.read_request().is_some() {
            let _ = c.write_all(&raw);
        }
    });
    let url = srv.url("/info");
    let f = run_one(Easy::new(&url).unwrap());
    f.unwrap();
    let info = f.easy.info();
    assert_eq!(info.response_code, 200);
    assert_eq!(info.http_version, Some(HttpVersion::Http11));
    assert_eq!(info.effective_url, url);
    assert_eq!(info.size_download, 1000);
    assert_eq!(info.header_size, head.len() as u64);
    assert_eq!(
        info.request_size,
        srv.last_request().unwrap().raw_head.len() as u64
    );
    assert_eq!(info.content_length_download, Some(1000));
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
    assert_eq!(info.num_connects, 1);
    assert!(!info.reused);
    assert_eq!(info.redirect_count, 0);
    assert_eq!(info.redirect_url, None);
    assert_eq!(info.remote_addr, Some(srv.addr));
    let local = info.local_addr.expect("local address");
    assert!(local.ip().is_loopback());
    assert_ne!(local.port(), 0);
    assert_eq!(info.appconnect_time, Duration::ZERO);
    assert!(info.namelookup_time <= info.connect_time, "{info:?}");
    assert!(info.connect_time <= info.pretransfer_time, "{info:?}");
    assert!(info.pretransfer_time <= info.starttransfer_time, "{info:?}");
    assert!(info.starttransfer_time <= info.total_time, "{info:?}");
    assert!(info.total_time > Duration::ZERO, "{info:?}");
}

#[test]
fn info_is_readable_while_running_and_from_multi() {
    let srv = ok_server();
    let mut m = Multi::new();
    let url = srv.url("/x");
    let id = m.add(Easy::new(&url).unwrap());
    assert_eq!(m.info(id).unwrap().effective_url, url);
    assert_eq!(m.info(id).unwrap().response_code, 0);
    let r = run_multi(&mut m);
    r[&id].as_ref().unwrap();
    // Finished transfers stay in the multi until removed.
    assert_eq!(m.info(id).unwrap().response_code, 200);
    assert!(m.remove(id).is_some());
    assert!(m.info(id).is_none());
    assert!(m.remove(id).is_none());
}

#[test]
fn http10_keep_alive_is_reused() {
    let srv = Server::start(|c: &mut Conn| {
        while c.read_request().is_some() {
            let _ = c.write_all(
                b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
            );
        }
    });
    let mut m = Multi::new();
    for i in 0..3 {
        let id = m.add(Easy::new(&srv.url("/")).unwrap());
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), b"ok");
        assert_eq!(f.easy.info().reused, i > 0);
    }
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn content_type_of_each_run() {
    // One Easy over one connection: each run reports its own response's Content-Type
    // (the string is reused between runs, never left over from the last one).
    let srv = Server::start(routes(|req| match req.path() {
        "/none" => Response::ok("x"),
        "/b" => Response::ok("x").header("Content-Type", "text/b; charset=utf-8"),
        "/bad" => Response::ok("x").header("Content-Type", "t\u{e9}xt"),
        _ => Response::ok("x").header("Content-Type", "text/a"),
    }));
    let mut m = Multi::new();
    let mut easy = Easy::new(&srv.url("/a")).unwrap();
    for (path, want) in [
        ("/a", Some("text/a")),
        ("/a", Some("text/a")),
        ("/b", Some("text/b; charset=utf-8")),
        ("/none", None),
        ("/a", Some("text/a")),
        ("/bad", Some("t\u{e9}xt")),
        ("/none", None),
    ] {
        easy.url(&srv.url(path)).unwrap();
        let id = m.add(easy);
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        assert_eq!(f.easy.info().content_type.as_deref(), want, "{path}");
        easy = f.easy;
    }
    assert_eq!(srv.accepted(), 1);
}

/// Records the largest write-callback chunk.
#[derive(Default)]
struct Chunks {
    body: Vec<u8>,
    largest: usize,
}

impl curlew::Handler for Chunks {
    fn write(&mut self, _ctx: &mut curlew::Ctx<'_>, data: &[u8]) -> curlew::Flow {
        self.largest = self.largest.max(data.len());
        self.body.extend_from_slice(data);
        curlew::Flow::Continue
    }
}

#[test]
fn buffer_size_bounds_the_receive_buffer() {
    // CURLOPT_BUFFERSIZE: a 4 MiB body through a 32 KiB buffer arrives whole, in chunks of
    // at most 32 KiB (by default the buffer grows to 1 MiB and chunks get much bigger).
    let body = pattern(4 << 20);
    let big_head: String = (0..60)
        .map(|i| format!("X-Filler-{i:02}: {}\r\n", "v".repeat(640)))
        .collect();
    let srv = Server::start(routes({
        let body = body.clone();
        let big_head = big_head.clone();
        move |req| match req.path() {
            "/big-head" => {
                let mut r = Response::ok("small");
                for line in big_head.lines() {
                    let (n, v) = line.split_once(": ").unwrap();
                    r = r.header(n, v);
                }
                r
            }
            _ => Response::ok(body.clone()),
        }
    }));
    let mut m = Multi::new();
    let mut easy = Easy::with_handler(&srv.url("/body"), Chunks::default()).unwrap();
    easy.buffer_size(32 * 1024);
    let id = m.add(easy);
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    let c = f.easy.handler::<Chunks>().unwrap();
    assert_same_bytes(&c.body, &body);
    assert!(c.largest <= 32 * 1024, "a chunk of {} bytes", c.largest);
    // A head longer than the buffer size still fits (heads may use max_header_bytes).
    assert!(big_head.len() > 36 * 1024);
    let mut easy = Easy::with_handler(&srv.url("/big-head"), Chunks::default()).unwrap();
    easy.buffer_size(16 * 1024);
    let id = m.add(easy);
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_eq!(f.easy.handler::<Chunks>().unwrap().body, b"small");
    assert!(f.easy.info().header_size as usize > big_head.len());
}
