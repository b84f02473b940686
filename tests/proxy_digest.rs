//! Digest authentication to an HTTP proxy (`CURLOPT_PROXYAUTH`, RFC 7616) against
//! `tests/interop/digest_proxy.py`, which checks each answer with its own computation:
//! a refused `CONNECT` is tried again once on a new connection with the answer, a plain
//! request in absolute form is sent again; MD5 and SHA-256; Any picks Digest over the Basic
//! also offered; a wrong password or Basic alone stays refused (56, connect code 407). The
//! tool's `--proxy-digest`.

mod support;

use std::time::Duration;

use curlew::{Easy, ErrorKind, HttpAuth};
use support::client::run_one;
use support::http_server::{routes, Response, Server};
use support::proxies::ProxyServer;
use support::tls::{ca_path, server_config};

const USER: (&str, &str) = ("prox", "s3cr3t");

fn origin(tls: bool) -> Server {
    let h = routes(|req| Response::new(200).body(format!("origin saw {}", req.target)));
    match tls {
        true => Server::start_tls(server_config("server.pem", "server.key"), h),
        false => Server::start(h),
    }
}

fn easy(url: &str, proxy: &ProxyServer, creds: (&str, &str), auth: HttpAuth) -> Easy {
    let mut e = Easy::new(url).unwrap();
    e.ca_file(ca_path())
        .proxy(&proxy.url("http", None))
        .unwrap()
        .proxy_userpwd(Some(creds))
        .unwrap()
        .proxy_auth(auth);
    e
}

/// The proxy's verdicts so far, in order (`ok CONNECT host:port`, `bad GET url`...).
fn verdicts(proxy: &ProxyServer) -> Vec<String> {
    proxy
        .log()
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("bad "))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_tunnel_answers_the_proxys_digest_challenge() {
    let Some(proxy) = ProxyServer::digest(USER.0, USER.1, "MD5") else {
        return;
    };
    let srv = origin(true);
    let url = srv.url("/tunnelled");
    let f = run_one(easy(&url, &proxy, USER, HttpAuth::Digest));
    f.unwrap();
    assert_eq!(f.body(), b"origin saw /tunnelled");
    assert_eq!(f.easy.info().http_connectcode, 200);
    let authority = format!("127.0.0.1:{}", srv.addr.port());
    proxy.wait_log(&format!("ok CONNECT {authority}"));
    assert_eq!(
        verdicts(&proxy),
        [
            format!("bad CONNECT {authority}"),
            format!("ok CONNECT {authority}")
        ]
    );
}

#[test]
fn absolute_form_and_sha256_and_any() {
    let Some(proxy) = ProxyServer::digest(USER.0, USER.1, "SHA-256") else {
        return;
    };
    let srv = origin(false);
    let url = srv.url("/plain");
    // Any: the proxy offers Digest and Basic; Digest is taken.
    let f = run_one(easy(&url, &proxy, USER, HttpAuth::Any));
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 200);
    assert_eq!(f.body(), b"origin saw /plain");
    proxy.wait_log(&format!("ok GET {url}"));
    assert_eq!(
        verdicts(&proxy),
        [format!("bad GET {url}"), format!("ok GET {url}")]
    );
}

#[test]
fn wrong_credentials_or_basic_alone_stay_refused() {
    let Some(proxy) = ProxyServer::digest(USER.0, USER.1, "MD5") else {
        return;
    };
    let srv = origin(true);
    let url = srv.url("/");
    let f = run_one(easy(&url, &proxy, (USER.0, "wrong"), HttpAuth::Digest));
    assert_eq!(f.kind(), Some(ErrorKind::RecvError));
    assert_eq!(f.easy.info().http_connectcode, 407);
    // Basic is what the option says: no second try.
    let f = run_one(easy(&url, &proxy, USER, HttpAuth::Basic));
    assert_eq!(f.kind(), Some(ErrorKind::RecvError));
    let authority = format!("127.0.0.1:{}", srv.addr.port());
    let bad = format!("bad CONNECT {authority}");
    // Wrong password: the first try and the one answer; Basic: one. (The proxy's output is
    // read by another thread: wait for the lines, bounded.)
    support::wait_until("the proxy's verdicts", Duration::from_secs(10), || {
        verdicts(&proxy).len() >= 3
    });
    assert_eq!(verdicts(&proxy), [bad.clone(), bad.clone(), bad]);
    // A plain request in absolute form: the 407 is the response (56 is only for CONNECT).
    let plain = origin(false);
    let f = run_one(easy(
        &plain.url("/"),
        &proxy,
        (USER.0, "wrong"),
        HttpAuth::Digest,
    ));
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 407);
}

#[test]
fn the_tool_takes_proxy_digest() {
    let Some(proxy) = ProxyServer::digest(USER.0, USER.1, "MD5") else {
        return;
    };
    let srv = origin(true);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
        .args([
            "-s",
            "--proxy-digest",
            "-U",
            &format!("{}:{}", USER.0, USER.1),
        ])
        .args(["-x", &proxy.url("http", None), "--cacert"])
        .arg(ca_path())
        .arg(srv.url("/tool"))
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"origin saw /tool");
}
