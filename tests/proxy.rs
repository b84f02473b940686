//! Transfers through independent proxies started by the tests: tinyproxy (HTTP in absolute
//! form, `CONNECT` tunnels, Basic auth), dante (SOCKS4, SOCKS5, SOCKS5h) and microsocks
//! (SOCKS5 with user and password), to hypercorn as the origin for http, https, ws and wss.
//! Bodies and echoes are checked byte for byte and each proxy's own log shows it carried
//! the traffic. The tool's proxy flags and environment variables run the binary.
//! tests/proxy_hostile.rs has scripted misbehaving proxies.

mod support;

use std::time::Duration;

use curlew::ws::{WsFrame, BINARY, TEXT};
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi};
use support::client::{finish, run_one};
use support::h2_servers::{pattern, H2Fixture, Hypercorn};
use support::proxies::ProxyServer;
use support::tls::ca_path;

const USER: (&str, &str) = ("alice", "s3cret");

fn easy(url: &str, proxy: &str) -> Easy {
    let mut e = Easy::new(url).unwrap();
    e.proxy(proxy)
        .unwrap()
        .ca_file(ca_path())
        .timeout(Some(Duration::from_secs(20)));
    e
}

/// A WebSocket that sends a text and a 100 KB binary, closes after both echoes.
#[derive(Default)]
struct Echo {
    got: Vec<(u32, Vec<u8>)>,
}

impl Handler for Echo {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let mut ws = ctx.ws().unwrap();
        ws.send(b"through the proxy", TEXT).unwrap();
        ws.send(&pattern(100_000), BINARY).unwrap();
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
}

fn ws_easy(url: &str, proxy: &str) -> Easy {
    let mut e = Easy::with_handler(url, Echo::default()).unwrap();
    e.proxy(proxy)
        .unwrap()
        .ca_file(ca_path())
        .ws_message_mode(true)
        .timeout(Some(Duration::from_secs(20)));
    e
}

fn check_echo(e: &Easy, what: &str) {
    let h = e.handler::<Echo>().unwrap();
    assert_eq!(h.got.len(), 2, "{what}");
    assert_eq!(h.got[0], (TEXT, b"through the proxy".to_vec()), "{what}");
    assert_eq!(h.got[1], (BINARY, pattern(100_000)), "{what}");
}

/// http, https (GET and a 1 MiB POST), ws and wss through `proxy`, all in one multi.
fn all_schemes(origin: &Hypercorn, proxy: &str) {
    let http = origin.h2c_url("/bytes/100000");
    let https = origin.tls_url("/bytes/100000");
    let ws = origin.h2c_url("/ws").replacen("http:", "ws:", 1);
    let wss = origin.tls_url("/ws").replacen("https:", "wss:", 1);
    let mut m = Multi::new();
    let ids = [
        m.add(easy(&http, proxy)),
        m.add(easy(&https, proxy)),
        m.add({
            let mut e = easy(&origin.tls_url("/echo"), proxy);
            e.method("POST").unwrap().body(pattern(1 << 20));
            e
        }),
        m.add(ws_easy(&ws, proxy)),
        m.add(ws_easy(&wss, proxy)),
    ];
    let mut done = finish(&mut m);
    for (i, id) in ids.iter().enumerate().take(3) {
        let f = done.remove(id).unwrap();
        f.unwrap();
        let want = if i == 2 { 1 << 20 } else { 100_000 };
        assert_eq!(f.body(), pattern(want), "{proxy}: transfer {i}");
        assert_eq!(f.easy.info().used_proxy, !proxy.is_empty());
    }
    for (i, id) in ids.iter().enumerate().skip(3) {
        let f = done.remove(id).unwrap();
        f.unwrap();
        check_echo(&f.easy, &format!("{proxy}: websocket {i}"));
    }
}

#[test]
fn tinyproxy_carries_every_scheme_with_and_without_basic_auth() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some(open) = ProxyServer::tinyproxy(None) else {
        return;
    };
    all_schemes(&origin, &open.url("http", None));
    let p = origin.h2c_port();
    let log = open.wait_log(&format!("GET http://127.0.0.1:{p}/bytes/100000"));
    assert!(log.contains(&format!("CONNECT 127.0.0.1:{}", origin.tls_port())));
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{p}")),
        "ws:// tunnels"
    );

    let Some(auth) = ProxyServer::tinyproxy(Some(USER)) else {
        return;
    };
    all_schemes(&origin, &auth.url("http", Some(USER)));
    // The credentials from the option instead of the URL.
    let mut e = easy(&origin.tls_url("/1k"), &auth.url("http", None));
    e.proxy_userpwd(Some(USER)).unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().http_connectcode, 200);
}

/// An HTTPS proxy: stunnel on the test certificate in front of tinyproxy.
fn https_proxy(auth: Option<(&str, &str)>) -> Option<(ProxyServer, ProxyServer)> {
    let tp = ProxyServer::tinyproxy(auth)?;
    let st = ProxyServer::stunnel(tp.port)?;
    Some((st, tp))
}

#[test]
fn an_https_proxy_carries_every_scheme_tls_in_tls() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some((st, tp)) = https_proxy(Some(USER)) else {
        return;
    };
    let url = st.url("https", Some(USER));
    let ca = ca_path();
    // With its own roots option (the origin's are separate).
    let mut m = Multi::new();
    let mut e = easy(&origin.tls_url("/10m"), &url);
    e.proxy_ca_file(&ca);
    let big = m.add(e);
    let done = finish(&mut m);
    let f = &done[&big];
    f.unwrap();
    assert_eq!(f.body(), pattern(10 << 20), "10 MiB through TLS in TLS");
    assert_eq!(f.easy.info().http_connectcode, 200);
    tp.wait_log(&format!("CONNECT 127.0.0.1:{}", origin.tls_port()));
    // Every scheme, the proxy's certificate checked against the test CA.
    let with_ca = |mut e: Easy| {
        e.proxy_ca_file(&ca);
        e
    };
    let mut m = Multi::new();
    let ids = [
        m.add(with_ca(easy(&origin.h2c_url("/bytes/3000"), &url))),
        m.add(with_ca(easy(&origin.tls_url("/bytes/3000"), &url))),
        m.add(with_ca(ws_easy(
            &origin.h2c_url("/ws").replacen("http:", "ws:", 1),
            &url,
        ))),
        m.add(with_ca(ws_easy(
            &origin.tls_url("/ws").replacen("https:", "wss:", 1),
            &url,
        ))),
    ];
    let mut done = finish(&mut m);
    for id in &ids[..2] {
        let f = done.remove(id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), pattern(3000));
    }
    for id in &ids[2..] {
        let f = done.remove(id).unwrap();
        f.unwrap();
        check_echo(&f.easy, "websocket through an HTTPS proxy");
    }
    tp.wait_log(&format!(
        "GET http://127.0.0.1:{}/bytes/3000",
        origin.h2c_port()
    ));
    // The proxy's certificate is not trusted by default: curl's 60; the option turns the
    // check off for the proxy only.
    let f = run_one(easy(&origin.tls_url("/1k"), &url));
    assert_eq!(f.kind(), Some(ErrorKind::PeerFailedVerification));
    let mut e = easy(&origin.tls_url("/1k"), &url);
    e.proxy_insecure(true);
    run_one(e).unwrap();
    // The tool: --proxy-cacert, --proxy-insecure, and curl's 60 without either.
    let cas = ca.to_str().unwrap();
    let https = origin.tls_url("/1k");
    let w = [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{http_connect}",
    ];
    let (code, out, _) =
        tool_out(
            tool()
                .args(w)
                .args(["--cacert", cas, "--proxy-cacert", cas, "-x", &url, &https]),
        );
    assert_eq!((code, out.as_str()), (0, "200 200"));
    let (code, out, _) =
        tool_out(
            tool()
                .args(w)
                .args(["--cacert", cas, "--proxy-insecure", "-x", &url, &https]),
        );
    assert_eq!((code, out.as_str()), (0, "200 200"));
    let (code, _, _) = tool_out(tool().args(w).args(["--cacert", cas, "-x", &url, &https]));
    assert_eq!(code, 60);
}

#[test]
fn a_407_fails_a_tunnel_with_56_and_is_an_ordinary_answer_in_absolute_form() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some(proxy) = ProxyServer::tinyproxy(Some(USER)) else {
        return;
    };
    let url = proxy.url("http", None);
    let f = run_one(easy(&origin.tls_url("/1k"), &url));
    assert_eq!(f.kind(), Some(ErrorKind::RecvError));
    assert_eq!(ErrorKind::RecvError.curl_code(), 56);
    assert_eq!(f.easy.info().http_connectcode, 407);
    let msg = f.result.as_ref().unwrap_err().to_string();
    assert!(msg.contains("CONNECT tunnel failed, response 407"), "{msg}");
    let wrong = proxy.url("http", Some(("alice", "wrong")));
    let f = run_one(easy(&origin.tls_url("/1k"), &wrong));
    assert_eq!(f.kind(), Some(ErrorKind::RecvError));
    // tinyproxy 1.11 answers a wrong password with 401, whatever RFC 9110 says.
    let code = f.easy.info().http_connectcode;
    assert!(code == 401 || code == 407, "wrong password: {code}");
    let f = run_one(easy(&origin.h2c_url("/1k"), &url));
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 407);
    assert_eq!(f.easy.info().http_connectcode, 0);
}

#[test]
fn dante_carries_socks4_socks5_and_socks5h() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some(dante) = ProxyServer::dante() else {
        return;
    };
    for scheme in ["socks5", "socks5h"] {
        all_schemes(&origin, &dante.url(scheme, None));
    }
    // SOCKS4 takes IPv4 addresses: a name resolved here.
    let url = format!("http://localhost:{}/bytes/5000", origin.h2c_port());
    let f = run_one(easy(&url, &dante.url("socks4", None)));
    f.unwrap();
    assert_eq!(f.body(), pattern(5000));
    let log = dante.wait_log(&format!("127.0.0.1.{}", origin.tls_port()));
    assert!(
        log.contains(&format!("127.0.0.1.{}", origin.h2c_port())),
        "{log}"
    );
    // dante does not do SOCKS4a: it refuses, and that is curl's 97.
    let f = run_one(easy(&url, &dante.url("socks4a", None)));
    assert_eq!(f.kind(), Some(ErrorKind::Proxy));
    assert_eq!(ErrorKind::Proxy.curl_code(), 97);
}

#[test]
fn microsocks_checks_socks5_user_and_password() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some(ms) = ProxyServer::microsocks(Some(("bob", "pw"))) else {
        return;
    };
    all_schemes(&origin, &ms.url("socks5h", Some(("bob", "pw"))));
    ms.wait_log(&format!("connected to 127.0.0.1:{}", origin.tls_port()));
    let f = run_one(easy(
        &origin.h2c_url("/1k"),
        &ms.url("socks5h", Some(("bob", "nope"))),
    ));
    assert_eq!(f.kind(), Some(ErrorKind::Proxy));
    let msg = f.result.as_ref().unwrap_err().to_string();
    assert!(msg.contains("rejected"), "{msg}");
    let f = run_one(easy(&origin.h2c_url("/1k"), &ms.url("socks5h", None)));
    assert_eq!(f.kind(), Some(ErrorKind::Proxy), "no credentials offered");
}

#[test]
fn tunnels_are_reused_for_the_same_proxy_and_target_only() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some(dante) = ProxyServer::dante() else {
        return;
    };
    let proxy = dante.url("socks5h", None);
    let mut m = Multi::new();
    let mut run = |url: &str, proxy: &str| {
        let id = m.add(easy(url, proxy));
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        f.easy.info().reused
    };
    assert!(!run(&origin.tls_url("/1k"), &proxy));
    assert!(
        run(&origin.tls_url("/1k"), &proxy),
        "same proxy, same target"
    );
    assert!(!run(&origin.h2c_url("/1k"), &proxy), "another target");
    assert!(!run(&origin.tls_url("/1k"), ""), "direct is another route");
    assert!(run(&origin.tls_url("/1k"), &proxy));
}

#[test]
fn an_unreachable_or_unresolvable_proxy_is_7_or_5() {
    let refused = support::refused_addr();
    let f = run_one(easy(
        "http://127.0.0.1:9/",
        &format!("http://127.0.0.1:{}", refused.port()),
    ));
    assert_eq!(f.kind(), Some(ErrorKind::CouldntConnect));
    let msg = f.result.as_ref().unwrap_err().to_string();
    assert!(msg.contains("proxy 127.0.0.1"), "{msg}");
    let f = run_one(easy(
        "http://127.0.0.1:9/",
        "http://no-such-proxy.invalid:3128",
    ));
    assert_eq!(f.kind(), Some(ErrorKind::CouldntResolveProxy));
    assert_eq!(ErrorKind::CouldntResolveProxy.curl_code(), 5);
}

/// The `curlew` binary.
fn tool() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_curlew"));
    for v in [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        c.env_remove(v);
    }
    c
}

fn tool_out(c: &mut std::process::Command) -> (i32, String, String) {
    let o = c.output().expect("run curlew");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_tool_takes_curls_proxy_flags_and_environment() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some(tp) = ProxyServer::tinyproxy(Some(USER)) else {
        return;
    };
    let Some(dante) = ProxyServer::dante() else {
        return;
    };
    let ca = ca_path();
    let ca = ca.to_str().unwrap();
    let w = [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{http_connect}",
    ];
    let https = origin.tls_url("/1k");
    let http = origin.h2c_url("/1k");
    let url = tp.url("http", None);
    let (code, out, _) =
        tool_out(
            tool()
                .args(w)
                .args(["--cacert", ca, "-x", &url, "-U", "alice:s3cret", &https]),
        );
    assert_eq!((code, out.as_str()), (0, "200 200"));
    let (code, out, _) = tool_out(tool().args(w).args(["--cacert", ca, "-x", &url, &https]));
    assert_eq!((code, out.as_str()), (56, "000 407"));
    // -p: plain http through CONNECT too.
    let (code, out, _) =
        tool_out(
            tool()
                .args(w)
                .args(["-p", "-x", &url, "-U", "alice:s3cret", &http]),
        );
    assert_eq!((code, out.as_str()), (0, "200 200"));
    let (code, out, _) = tool_out(tool().args(w).args([
        "--socks5-hostname",
        &format!("127.0.0.1:{}", dante.port),
        &http,
    ]));
    assert_eq!((code, out.as_str()), (0, "200 000"));
    // The environment: https_proxy / HTTPS_PROXY, http_proxy, and NO_PROXY.
    let authed = tp.url("http", Some(USER));
    let (code, out, _) = tool_out(
        tool()
            .args(w)
            .args(["--cacert", ca, &https])
            .env("HTTPS_PROXY", &authed),
    );
    assert_eq!((code, out.as_str()), (0, "200 200"));
    let (code, out, _) = tool_out(tool().args(w).arg(&http).env("http_proxy", &url));
    assert_eq!(
        (code, out.as_str()),
        (0, "407 000"),
        "through the proxy: 407"
    );
    let (code, out, _) = tool_out(
        tool()
            .args(w)
            .arg(&http)
            .env("http_proxy", &url)
            .env("NO_PROXY", "localhost,127.0.0.0/8"),
    );
    assert_eq!((code, out.as_str()), (0, "200 000"), "NO_PROXY: direct");
    let (code, out, _) = tool_out(
        tool()
            .args(w)
            .args(["--noproxy", "", &http])
            .env("http_proxy", &url)
            .env("NO_PROXY", "*"),
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "407 000"),
        "--noproxy wins over NO_PROXY"
    );
    let (code, _, err) = tool_out(tool().args([
        "-v",
        "-s",
        "-o",
        "/dev/null",
        "-x",
        &authed,
        &https,
        "--cacert",
        ca,
    ]));
    assert_eq!(code, 0);
    assert!(
        err.contains("Establish HTTP proxy tunnel to 127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("CONNECT tunnel established, response 200"),
        "{err}"
    );
}

#[test]
fn connections_to_a_proxy_count_in_the_limits() {
    let Some(origin) = Hypercorn::start() else {
        return;
    };
    let Some(dante) = ProxyServer::dante() else {
        return;
    };
    let proxy = dante.url("socks5h", None);
    let mut m = Multi::new();
    m.set_max_total_connections(1);
    let ids: Vec<_> = (0..4)
        .map(|i| {
            let port = if i % 2 == 0 {
                origin.h2c_port()
            } else {
                origin.tls_port()
            };
            let scheme = if i % 2 == 0 { "http" } else { "https" };
            let mut e = easy(&format!("{scheme}://127.0.0.1:{port}/bytes/{i}000"), &proxy);
            e.http_version(curlew::HttpVersionOption::Http11);
            m.add(e)
        })
        .collect();
    let mut done = finish(&mut m);
    let mut connects = 0;
    for (i, id) in ids.iter().enumerate() {
        let f = done.remove(id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), pattern(i * 1000));
        connects += f.easy.info().num_connects;
    }
    // Two targets cannot share a tunnel; with one connection allowed, the transfers to the
    // first target run (reusing it) before the second's connection opens.
    assert!((2..=4).contains(&connects), "{connects} connections");
    let log = dante.wait_log("tcp/connect [");
    let sessions = log.matches("tcp/connect [").count();
    assert_eq!(
        sessions as u32, connects,
        "every connection went through dante:\n{log}"
    );
}
