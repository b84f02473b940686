//! Cookies (RFC 6265) against nginx, whose `$http_cookie` shows what it received: the engine
//! stores `Set-Cookie` from every head of a redirect chain before the next hop, matches
//! paths, keeps Secure cookies off plain HTTP, refuses another domain; `CURLOPT_COOKIE`
//! strings; cookie files read and written, and a jar round trip with the system `curl` both
//! ways (skipped with a message where `curl` is not installed). The tool's `-b`, `-c`, `-j`.

mod support;

use std::process::Command;

use curlew::{Easy, HttpVersionOption, Multi};
use support::client::{finish, rec_easy};
use support::h2_servers::{H2Fixture, Nginx, TempDir};
use support::tls::ca_path;

fn easy(url: &str) -> Easy {
    let mut e = rec_easy(url);
    e.ca_file(ca_path());
    e
}

/// Run `e` on `m` alone; the body as text, and the response code.
#[track_caller]
fn run(m: &mut Multi, e: Easy) -> (String, u16, Vec<String>) {
    m.add(e);
    let mut done = finish(m);
    assert_eq!(done.len(), 1);
    let (_, f) = done.drain().next().unwrap();
    f.unwrap();
    let body = String::from_utf8(f.body().to_vec()).unwrap();
    let code = f.easy.info().response_code;
    (body, code, f.headers())
}

fn sorted(header: &str) -> Vec<String> {
    let mut v: Vec<String> = header
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn set_cookies_are_sent_back_by_path_and_security() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let mut m = Multi::new();
    let mut e = easy(&ngx.tls_url("/cookie/set"));
    e.cookie_file("");
    assert_eq!(run(&mut m, e).1, 200);
    // The other domain's cookie was refused; the rest are kept.
    let names: Vec<String> = m
        .cookies()
        .cookies()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names, ["plain", "sec", "deep", "keep"]);
    let sec = m.cookies().cookies()[1].clone();
    assert!(sec.secure && sec.http_only && sec.domain == "127.0.0.1" && !sec.include_subdomains);
    let mut e = easy(&ngx.tls_url("/cookie/echo"));
    e.cookie_file("");
    assert_eq!(sorted(&run(&mut m, e).0), ["keep=4", "plain=1", "sec=2"]);
    // A longer path first.
    let mut e = easy(&ngx.tls_url("/cookie/deep/echo"));
    e.cookie_file("");
    let body = run(&mut m, e).0;
    assert!(body.starts_with("deep=3; "), "{body}");
    assert_eq!(sorted(&body), ["deep=3", "keep=4", "plain=1", "sec=2"]);
    // Plain HTTP (h2c here) to another name for the same address: nothing of 127.0.0.1's.
    let url = format!("http://localhost:{}/cookie/echo", ngx.h2c_port());
    let mut e = easy(&url);
    e.cookie_file("")
        .http_version(HttpVersionOption::Http2PriorKnowledge);
    assert_eq!(run(&mut m, e).0, "");
    // A transfer without the engine sends none.
    assert_eq!(run(&mut m, easy(&ngx.tls_url("/cookie/echo"))).0, "");
}

#[test]
fn a_redirect_chain_stores_before_each_hop() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let mut m = Multi::new();
    let mut e = easy(&ngx.tls_url("/cookie/hop1"));
    e.cookie_file("").follow_location(true);
    e.cookie(Some("fixed=x")).unwrap();
    let (body, code, headers) = run(&mut m, e);
    assert_eq!(code, 200);
    // hop2 got hop1's cookie; the echo got hop2's, and hop1's was deleted at hop2.
    let got: Vec<&String> = headers
        .iter()
        .filter(|h| h.to_ascii_lowercase().starts_with("x-got-cookie:"))
        .collect();
    assert_eq!(got.len(), 1, "{headers:?}");
    assert_eq!(got[0].trim_end(), "x-got-cookie: hop1=a; fixed=x");
    assert_eq!(body, "hop2=b; fixed=x");
}

#[test]
fn cookie_strings_and_files_without_the_engine_storing() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let dir = TempDir::new("cookies");
    let file = dir.path().join("in.txt");
    std::fs::write(
        &file,
        "# Netscape HTTP Cookie File\n\
         127.0.0.1\tFALSE\t/\tFALSE\t0\tfromfile\t1\n\
         127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tlasting\t2\n\
         .other.test\tTRUE\t/\tFALSE\t0\tforeign\t3\n",
    )
    .unwrap();
    let mut m = Multi::new();
    let mut e = easy(&ngx.tls_url("/cookie/echo"));
    e.cookie_file(&file).cookie(Some("a=b")).unwrap();
    assert_eq!(run(&mut m, e).0, "fromfile=1; lasting=2; a=b");
    // -j: a new session leaves the session cookie of the file out (a new multi reads it).
    let mut m = Multi::new();
    let mut e = easy(&ngx.tls_url("/cookie/echo"));
    e.cookie_file(&file).cookie_session(true);
    assert_eq!(run(&mut m, e).0, "lasting=2");
    // A missing file is no cookies, not an error.
    let mut e = easy(&ngx.tls_url("/cookie/echo"));
    e.cookie_file(dir.path().join("missing"));
    assert_eq!(run(&mut Multi::new(), e).0, "");
}

#[test]
fn the_jar_is_written_when_the_transfer_is_done() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let dir = TempDir::new("cookies");
    let jar = dir.path().join("jar.txt");
    let mut e = easy(&ngx.tls_url("/cookie/set"));
    e.cookie_jar(&jar);
    run(&mut Multi::new(), e);
    let text = std::fs::read_to_string(&jar).unwrap();
    assert!(text.starts_with("# Netscape HTTP Cookie File\n"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains('\t')).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "127.0.0.1\tFALSE\t/\tFALSE\t0\tplain\t1");
    assert_eq!(lines[1], "#HttpOnly_127.0.0.1\tFALSE\t/\tTRUE\t0\tsec\t2");
    let keep: Vec<&str> = lines[3].split('\t').collect();
    assert_eq!((keep[5], keep[6]), ("keep", "4"));
    let expires: u64 = keep[4].parse().unwrap();
    assert!(expires > 1_700_000_000, "{expires}");
}

fn system_curl() -> Option<()> {
    match Command::new("curl").arg("--version").output() {
        Ok(o) if o.status.success() => Some(()),
        _ => {
            eprintln!("SKIPPED: no system curl for the cookie-jar round trip");
            None
        }
    }
}

#[test]
fn jars_round_trip_with_curl() {
    let (Some(ngx), Some(())) = (Nginx::start(), system_curl()) else {
        return;
    };
    let dir = TempDir::new("cookies");
    let ca = ca_path();
    // curl writes, curlew reads.
    let curl_jar = dir.path().join("curl.txt");
    let st = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--cacert"])
        .arg(&ca)
        .arg("-c")
        .arg(&curl_jar)
        .arg(ngx.tls_url("/cookie/set"))
        .status()
        .unwrap();
    assert!(st.success());
    let mut e = easy(&ngx.tls_url("/cookie/deep/echo"));
    e.cookie_file(&curl_jar);
    let body = run(&mut Multi::new(), e).0;
    assert_eq!(sorted(&body), ["deep=3", "keep=4", "plain=1", "sec=2"]);
    // curlew writes, curl reads.
    let our_jar = dir.path().join("ours.txt");
    let mut e = easy(&ngx.tls_url("/cookie/set"));
    e.cookie_jar(&our_jar);
    run(&mut Multi::new(), e);
    let out = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(&ca)
        .arg("-b")
        .arg(&our_jar)
        .arg(ngx.tls_url("/cookie/deep/echo"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let body = String::from_utf8(out.stdout).unwrap();
    assert_eq!(sorted(&body), ["deep=3", "keep=4", "plain=1", "sec=2"]);
}

#[test]
fn the_tool_takes_b_c_and_j() {
    let Some(ngx) = Nginx::start() else {
        return;
    };
    let dir = TempDir::new("cookies");
    let jar = dir.path().join("jar.txt");
    let ca = ca_path();
    let tool = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_curlew"))
            .args(["-s", "--cacert", ca.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {:?}", out);
        String::from_utf8(out.stdout).unwrap()
    };
    // -c with two URLs: the second sends what the first set; the jar is written at the end.
    let set = ngx.tls_url("/cookie/set");
    let echo = ngx.tls_url("/cookie/echo");
    let out = tool(&["-c", jar.to_str().unwrap(), &set, &echo]);
    assert_eq!(out.lines().next(), Some("set"));
    assert_eq!(sorted(&out[4..]), ["keep=4", "plain=1", "sec=2"]);
    assert!(std::fs::read_to_string(&jar).unwrap().contains("\tkeep\t4"));
    // -b FILE -b STRING, and -j.
    let out = tool(&["-b", jar.to_str().unwrap(), "-b", "x=y", &echo]);
    assert_eq!(sorted(&out), ["keep=4", "plain=1", "sec=2", "x=y"]);
    let out = tool(&["-j", "-b", jar.to_str().unwrap(), &echo]);
    assert_eq!(out, "keep=4");
}
