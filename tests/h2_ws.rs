//! WebSockets over HTTP/2 (RFC 8441) against hypercorn and Node's `http2` (both announce
//! SETTINGS_ENABLE_CONNECT_PROTOCOL), in both WebSocket models, many streams on one
//! connection beside HTTP streams; and the fallback to the HTTP/1.1 upgrade against nginx,
//! which speaks HTTP/2 but not extended CONNECT.

mod support;

use std::time::{Duration, Instant};

use curlew::ws::{WsError, WsFrame, BINARY, TEXT};
use curlew::{Ctx, Easy, Flow, Handler, HttpVersion, HttpVersionOption, Multi};
use support::client::finish;
use support::h2_servers::{pattern, H2Fixture, Hypercorn, Nginx, NodeH2};
use support::tls::ca_path;

/// Sends a text, a fragmented-size binary and closes after both echoes.
#[derive(Default)]
struct Echo {
    got: Vec<(u32, Vec<u8>)>,
    debug: Vec<u8>,
    heads: Vec<u8>,
}

impl Handler for Echo {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let mut ws = ctx.ws().unwrap();
        ws.send(b"hello over h2", TEXT).unwrap();
        ws.send(&pattern(200_000), BINARY).unwrap();
        Flow::Continue
    }
    fn ws_message(&mut self, ctx: &mut Ctx<'_>, msg: &[u8], frame: WsFrame) -> Flow {
        if frame.is_close() {
            return Flow::Continue;
        }
        self.got.push((frame.flags, msg.to_vec()));
        if self.got.len() == 2 {
            ctx.ws().unwrap().close(1000, "").unwrap();
        }
        Flow::Continue
    }
    fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        self.heads.extend_from_slice(line);
        Flow::Continue
    }
    fn debug(&mut self, _kind: curlew::DebugKind, data: &[u8]) {
        self.debug.extend_from_slice(data);
    }
}

fn ws_easy(url: &str, v: HttpVersionOption) -> Easy {
    let mut e = Easy::with_handler(url, Echo::default()).unwrap();
    e.ca_file(ca_path())
        .http_version(v)
        .ws_message_mode(true)
        .verbose(true)
        .timeout(Some(Duration::from_secs(20)));
    e
}

fn servers() -> Vec<Box<dyn H2Fixture>> {
    [
        Hypercorn::start().map(|s| Box::new(s) as Box<dyn H2Fixture>),
        NodeH2::start().map(|s| Box::new(s) as Box<dyn H2Fixture>),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn ws_url(s: &dyn H2Fixture, tls: bool) -> String {
    match tls {
        true => s.tls_url("/ws").replacen("https:", "wss:", 1),
        false => s.h2c_url("/ws").replacen("http:", "ws:", 1),
    }
}

fn check_echo(e: &Easy, what: &str) {
    let h = e.handler::<Echo>().unwrap();
    assert_eq!(h.got.len(), 2, "{what}");
    assert_eq!(h.got[0], (TEXT, b"hello over h2".to_vec()), "{what}");
    assert_eq!(h.got[1], (BINARY, pattern(200_000)), "{what}");
}

#[test]
fn websocket_streams_and_http_streams_share_one_connection() {
    for s in servers() {
        for tls in [true, false] {
            let v = match tls {
                true => HttpVersionOption::Http2,
                false => HttpVersionOption::Http2PriorKnowledge,
            };
            let mut m = Multi::new();
            let mut ids = Vec::new();
            for _ in 0..5 {
                ids.push(m.add(ws_easy(&ws_url(&*s, tls), v)));
            }
            for _ in 0..5 {
                let url = match tls {
                    true => s.tls_url("/1k"),
                    false => s.h2c_url("/1k"),
                };
                let mut e = Easy::new(&url).unwrap();
                e.ca_file(ca_path()).http_version(v);
                m.add(e);
            }
            let done = finish(&mut m);
            let mut conns = 0;
            for (id, f) in &done {
                let what = format!("{} tls={tls}: {:?}", s.name(), f.result);
                f.unwrap();
                assert_eq!(
                    f.easy.info().http_version,
                    Some(HttpVersion::Http2),
                    "{what}"
                );
                conns += f.easy.info().num_connects;
                if ids.contains(id) {
                    check_echo(&f.easy, &what);
                    assert_eq!(f.easy.info().response_code, 200, "{what}");
                }
            }
            assert_eq!(conns, 1, "{} tls={tls}: one connection for all", s.name());
        }
    }
}

#[test]
fn connect_only_over_http2() {
    for s in servers() {
        let mut m = Multi::new();
        let mut e = Easy::new(&ws_url(&*s, true)).unwrap();
        e.ca_file(ca_path())
            .http_version(HttpVersionOption::Http2)
            .connect_only(true);
        let id = m.add(e);
        let deadline = Instant::now() + Duration::from_secs(20);
        let msg = loop {
            if let Some(msg) = m.info_read() {
                break msg;
            }
            m.poll(Some(Duration::from_millis(50))).unwrap();
            assert!(Instant::now() < deadline, "{}: no upgrade", s.name());
        };
        msg.result.unwrap();
        assert_eq!(m.info(id).unwrap().http_version, Some(HttpVersion::Http2));
        let big = pattern(150_000);
        let mut off = 0;
        while off < big.len() {
            let flags = if off == 0 { BINARY } else { 0 };
            match m.ws(id).unwrap().send(&big[off..], flags) {
                Ok(n) => off += n,
                Err(WsError::WouldBlock) => {}
                Err(e) => panic!("{e}"),
            }
            m.poll(Some(Duration::from_millis(10))).unwrap();
        }
        let mut buf = Vec::new();
        let flags = loop {
            m.poll(Some(Duration::from_millis(20))).unwrap();
            match m.ws(id).unwrap().recv_message(&mut buf) {
                Ok(f) => break f,
                Err(WsError::WouldBlock) => assert!(Instant::now() < deadline, "no echo"),
                Err(e) => panic!("{}: {e}", s.name()),
            }
        };
        assert_eq!(flags, BINARY);
        assert_eq!(buf, big, "{}", s.name());
    }
}

#[test]
fn without_extended_connect_the_upgrade_goes_over_http11() {
    let Some(ngx) = Nginx::start() else { return };
    // nginx speaks HTTP/2 but announces no ENABLE_CONNECT_PROTOCOL, and serves no
    // WebSocket: the fallback upgrade reaches it over HTTP/1.1 and is refused with its
    // status (a 404 or 405 from the static handler), which shows the path taken.
    let url = ngx.tls_url("/1k").replacen("https:", "wss:", 1);
    let mut e = ws_easy(&url, HttpVersionOption::Http2);
    e.timeout(Some(Duration::from_secs(10)));
    let mut m = Multi::new();
    m.add(e);
    let (_, f) = finish(&mut m).into_iter().next().unwrap();
    assert!(f.result.is_err());
    assert_eq!(f.easy.info().http_version, Some(HttpVersion::Http11));
    let text = String::from_utf8_lossy(&f.easy.handler::<Echo>().unwrap().debug).into_owned();
    assert!(text.contains("does not take extended CONNECT"), "{text}");
}

#[test]
fn permessage_deflate_over_http2_on_hypercorn() {
    let Some(s) = Hypercorn::start() else { return };
    let mut e = ws_easy(&ws_url(&s, true), HttpVersionOption::Http2);
    e.ws_compress(Some(curlew::ws::DeflateConfig::default()))
        .unwrap();
    let mut m = Multi::new();
    m.add(e);
    let (_, f) = finish(&mut m).into_iter().next().unwrap();
    f.unwrap();
    assert_eq!(f.easy.info().http_version, Some(HttpVersion::Http2));
    check_echo(&f.easy, "deflate");
    let heads = String::from_utf8_lossy(&f.easy.handler::<Echo>().unwrap().heads).into_owned();
    assert!(heads.starts_with("HTTP/2 200 \r\n"), "{heads}");
    assert!(
        heads.contains("sec-websocket-extensions: permessage-deflate"),
        "the server accepted compression: {heads}"
    );
}
