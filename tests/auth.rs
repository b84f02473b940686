//! Credentials: Basic from `Easy::userpwd`, the URL and `.netrc`, Bearer tokens, Digest
//! (RFC 7616, against the hypercorn app's own check), accepted by
//! nginx's `auth_basic` and a bearer check (over TLS, HTTP/2 by ALPN), and what a scripted
//! server receives across redirects: never sent to another origin unless
//! `unrestricted_auth`, as curl. The tool's `-u`, `--oauth2-bearer`, `-n`, `--netrc-file`,
//! `--location-trusted`.

mod support;

use curlew::{Easy, NetrcMode};
use support::client::{rec_easy, run_one};
use support::h2_servers::{pattern, H2Fixture, Nginx, TempDir, NGINX_BASIC, NGINX_BEARER};
use support::http_server::{routes, Response, Server};
use support::tls::ca_path;

fn nginx_easy(url: &str) -> Easy {
    let mut e = rec_easy(url);
    e.ca_file(ca_path());
    e
}

#[test]
fn nginx_takes_basic_from_the_option_the_url_and_netrc_and_a_bearer_token() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let (u, p) = NGINX_BASIC;
    let url = ngx.tls_url("/basic");
    let f = run_one(nginx_easy(&url));
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 401, "no credentials");
    let mut e = nginx_easy(&url);
    e.userpwd(Some((u, p))).unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 200);
    assert_eq!(f.body(), pattern(1024));
    let in_url = url.replacen("https://", &format!("https://{u}:{p}@"), 1);
    let f = run_one(nginx_easy(&in_url));
    assert_eq!(f.easy.info().response_code, 200, "user info in the URL");
    let mut e = nginx_easy(&in_url);
    e.userpwd(Some((u, "wrong"))).unwrap();
    assert_eq!(run_one(e).easy.info().response_code, 401, "the option wins");
    // .netrc: optional (the URL has none), required.
    let dir = TempDir::new("netrc");
    let netrc = dir.path().join("netrc");
    std::fs::write(
        &netrc,
        format!("machine other login x password y\nmachine 127.0.0.1\n login {u}\n password {p}\n"),
    )
    .unwrap();
    for mode in [NetrcMode::Optional, NetrcMode::Required] {
        let mut e = nginx_easy(&url);
        e.netrc(mode).netrc_file(&netrc);
        assert_eq!(run_one(e).easy.info().response_code, 200, "{mode:?}");
    }
    let mut e = nginx_easy(&url);
    e.netrc_file(&netrc);
    assert_eq!(
        run_one(e).easy.info().response_code,
        401,
        "netrc ignored by default"
    );
    // Bearer.
    let burl = ngx.tls_url("/bearer");
    assert_eq!(run_one(nginx_easy(&burl)).easy.info().response_code, 401);
    let mut e = nginx_easy(&burl);
    e.bearer_token(Some(NGINX_BEARER)).unwrap();
    let f = run_one(e);
    assert_eq!(f.easy.info().response_code, 200);
    assert!(rec_easy(&burl).bearer_token(Some("a\r\nX: y")).is_err());
}

#[test]
fn credentials_stay_with_the_first_origin_unless_unrestricted() {
    let other = Server::start(routes(|req| {
        Response::ok(req.header("authorization").unwrap_or("none").to_owned())
    }));
    let to = other.url("/landing");
    let first = Server::start(routes(move |req| match req.path() {
        "/same" => Response::redirect(302, "/landing"),
        "/away" => Response::redirect(302, &to),
        _ => Response::ok(req.header("authorization").unwrap_or("none").to_owned()),
    }));
    let basic = "Basic dTpw";
    for (path, unrestricted, want) in [
        ("/same", false, basic),
        ("/away", false, "none"),
        ("/away", true, basic),
    ] {
        let mut e = rec_easy(&first.url(path));
        e.userpwd(Some(("u", "p")))
            .unwrap()
            .follow_location(true)
            .unrestricted_auth(unrestricted);
        let f = run_one(e);
        f.unwrap();
        assert_eq!(
            f.body(),
            want.as_bytes(),
            "{path} unrestricted={unrestricted}"
        );
    }
    // A bearer token follows the same rule.
    let mut e = rec_easy(&first.url("/away"));
    e.bearer_token(Some("tok")).unwrap().follow_location(true);
    assert_eq!(run_one(e).body(), b"none");
}

fn tool(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
        .args(args)
        .env_remove("HOME")
        .output()
        .unwrap()
}

#[test]
fn the_tool_takes_curls_credential_flags() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let ca = ca_path();
    let ca = ca.to_str().unwrap();
    let (u, p) = NGINX_BASIC;
    let w = [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        ca,
    ];
    let url = ngx.tls_url("/basic");
    let code = |args: &[&str]| String::from_utf8(tool(args).stdout).unwrap();
    let up = format!("{u}:{p}");
    assert_eq!(code(&[&w[..], &["-u", &up, &url]].concat()), "200");
    assert_eq!(
        code(&[&w[..], &["--basic", "-u", &up, &url]].concat()),
        "200"
    );
    assert_eq!(code(&[&w[..], &[url.as_str()]].concat()), "401");
    let burl = ngx.tls_url("/bearer");
    assert_eq!(
        code(&[&w[..], &["--oauth2-bearer", NGINX_BEARER, &burl]].concat()),
        "200"
    );
    let dir = TempDir::new("netrc-tool");
    let netrc = dir.path().join("netrc");
    std::fs::write(&netrc, format!("default login {u} password {p}\n")).unwrap();
    let nf = netrc.to_str().unwrap();
    assert_eq!(code(&[&w[..], &["--netrc-file", nf, &url]].concat()), "200");
    assert_eq!(
        code(&[&w[..], &["-n", "--netrc-file", nf, &url]].concat()),
        "200"
    );
}

#[test]
fn the_tools_location_trusted_sends_credentials_across_origins() {
    let other = Server::start(routes(|req| {
        Response::ok(req.header("authorization").unwrap_or("none").to_owned())
    }));
    let to = other.url("/landing");
    let first = Server::start(routes(move |_| Response::redirect(302, &to)));
    let url = first.url("/away");
    let out = |args: &[&str]| tool(args).stdout;
    assert_eq!(out(&["-s", "-L", "-u", "u:p", &url]), b"none");
    assert_eq!(
        out(&["-s", "--location-trusted", "-u", "u:p", &url]),
        b"Basic dTpw"
    );
}

/// RFC 7616 Digest against the hypercorn app's `/digest/ALG` (its own Python check of the
/// answer, also accepted from curl 7.88): MD5, SHA-256 and a `-sess` form, over HTTP/1.1 and
/// HTTP/2, a POST body sent again with the answer, one try only with a wrong password.
#[test]
fn digest_answers_the_servers_challenge_once() {
    use support::h2_servers::Hypercorn;
    let Some(hc) = Hypercorn::start() else {
        return;
    };
    for (url, alg) in [
        (hc.h2c_url("/digest/MD5"), "MD5"),
        (hc.tls_url("/digest/SHA-256"), "SHA-256"),
        (hc.h2c_url("/digest/SHA-256-sess?x=1"), "SHA-256-sess"),
    ] {
        let mut e = nginx_easy(&url);
        e.userpwd(Some(("digest", "s3cret")))
            .unwrap()
            .http_auth(curlew::HttpAuth::Digest);
        let f = run_one(e);
        f.unwrap();
        assert_eq!(f.easy.info().response_code, 200, "{url}");
        assert_eq!(f.body(), format!("digest ok {alg}\n").as_bytes());
        assert_eq!(f.easy.info().redirect_count, 0, "not a redirect");
        assert_eq!(
            f.easy.info().num_connects,
            1,
            "the 401 round trip on one connection"
        );
    }
    let mut e = nginx_easy(&hc.h2c_url("/digest/MD5-sess"));
    e.userpwd(Some(("digest", "s3cret")))
        .unwrap()
        .http_auth(curlew::HttpAuth::Any)
        .method("POST")
        .unwrap()
        .body(&b"the body, twice"[..]);
    let f = run_one(e);
    assert_eq!(f.body(), b"digest ok MD5-sess\nthe body, twice");
    let mut e = nginx_easy(&hc.h2c_url("/digest/MD5"));
    e.userpwd(Some(("digest", "wrong")))
        .unwrap()
        .http_auth(curlew::HttpAuth::Digest);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 401, "one answer, no loop");
    // The tool.
    let o = tool(&[
        "-s",
        "--digest",
        "-u",
        "digest:s3cret",
        &hc.h2c_url("/digest/SHA-256"),
    ]);
    assert_eq!(o.stdout, b"digest ok SHA-256\n");
}

#[test]
fn anyauth_sends_basic_when_the_server_asks_for_it() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let (u, p) = NGINX_BASIC;
    let mut e = nginx_easy(&ngx.tls_url("/basic"));
    e.userpwd(Some((u, p)))
        .unwrap()
        .http_auth(curlew::HttpAuth::Any);
    let f = run_one(e);
    assert_eq!(f.easy.info().response_code, 200);
    assert_eq!(f.body(), pattern(1024));
}
