//! Checks the HTTP/2 test servers of `tests/support/h2_servers.rs` themselves, with the
//! system `curl` (built with nghttp2) as an independent client: nginx, hypercorn and Node
//! serve the pattern files over TLS (ALPN h2) and h2c with prior knowledge as HTTP/2 and
//! echo request bodies; hypercorn and Node also send trailers and stream bodies, and accept
//! an RFC 8441 WebSocket (checked with `tests/interop/h2_ws_probe.py`); every hostile
//! scenario starts, accepts a connection and opens with the preface its scenario says.
//!
//! Without curl (or one without HTTP/2) the tests print `SKIPPED` and pass; without a server
//! runtime likewise, unless `CURLEW_REQUIRE_INTEROP=1` (see `h2_servers`).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::h2_servers::{
    interop_script, pattern, probe_python, H2Fixture, Hostile, Hypercorn, Nginx, NodeH2, Scenario,
    TempDir, SIZES,
};
use support::tls::ca_path;

/// Bound on one curl run (`--max-time`), in seconds.
const CURL_MAX_TIME_S: &str = "20";
/// Bound on reading the hostile server's first frame.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Separates the body from curl's `--write-out` on stdout.
const MARK: &[u8] = b"\n@@curl-write-out@@ ";

/// The system curl if it speaks HTTP/2, else a SKIPPED line.
fn curl(test: &str) -> Option<PathBuf> {
    let bin = ["/usr/bin/curl", "curl"]
        .into_iter()
        .map(PathBuf::from)
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("HTTP2"))
        });
    if bin.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: {test}: no curl with HTTP/2 support ***"
        );
    }
    bin
}

/// One curl exchange.
#[derive(Debug)]
struct Reply {
    /// `%{http_version}`: "2" for HTTP/2.
    version: String,
    status: u16,
    /// The header section(s) and trailers as curl's `-D` writes them.
    headers: String,
    body: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Transport {
    Tls,
    H2c,
}

/// Runs curl against `url` over `t` with `extra` arguments; panics if curl fails.
fn fetch(curl: &Path, t: Transport, url: &str, extra: &[&str]) -> Reply {
    let dir = TempDir::new("smoke-curl");
    let hdr = dir.path().join("headers");
    let mut cmd = Command::new(curl);
    cmd.args(["-sS", "--max-time", CURL_MAX_TIME_S, "-D"])
        .arg(&hdr)
        .arg("-w")
        .arg(format!(
            "{}%{{http_version}} %{{http_code}}",
            String::from_utf8_lossy(MARK)
        ));
    match t {
        Transport::Tls => cmd.arg("--http2").arg("--cacert").arg(ca_path()),
        Transport::H2c => cmd.arg("--http2-prior-knowledge"),
    };
    let out = cmd.args(extra).arg(url).output().expect("run curl");
    assert!(
        out.status.success(),
        "curl {extra:?} {url}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let at = out
        .stdout
        .windows(MARK.len())
        .rposition(|w| w == MARK)
        .unwrap_or_else(|| panic!("curl {url}: no write-out in its output"));
    let tail = String::from_utf8_lossy(&out.stdout[at + MARK.len()..]).to_string();
    let (version, status) = tail.split_once(' ').expect("write-out");
    Reply {
        version: version.to_string(),
        status: status.trim().parse().expect("status"),
        headers: std::fs::read_to_string(&hdr).unwrap_or_default(),
        body: out.stdout[..at].to_vec(),
    }
}

fn url(f: &dyn H2Fixture, t: Transport, path: &str) -> String {
    match t {
        Transport::Tls => f.tls_url(path),
        Transport::H2c => f.h2c_url(path),
    }
}

/// What every real fixture does, on both transports: the pattern files over HTTP/2, and
/// `/echo` of a 100 KiB body.
fn check_common(curl: &Path, f: &dyn H2Fixture) {
    let name = f.name();
    let dir = TempDir::new("smoke-body");
    let sent = dir.path().join("body");
    let mut body = pattern(100 << 10);
    body.reverse();
    std::fs::write(&sent, &body).expect("write body");
    let data = format!("@{}", sent.display());
    for t in [Transport::Tls, Transport::H2c] {
        for (path, len) in SIZES {
            let r = fetch(curl, t, &url(f, t, path), &[]);
            assert_eq!((r.version.as_str(), r.status), ("2", 200), "{name} {path}");
            assert!(
                r.body == pattern(len),
                "{name} {path}: wrong body ({} bytes)",
                r.body.len()
            );
        }
        let r = fetch(curl, t, &url(f, t, "/echo"), &["--data-binary", &data]);
        assert_eq!((r.version.as_str(), r.status), ("2", 200), "{name} /echo");
        assert!(r.body == body, "{name} /echo: {} bytes back", r.body.len());
    }
}

/// hypercorn and Node: x-body-len, trailers, a streamed body, a status, a redirect, and a
/// WebSocket over an extended CONNECT on both transports.
fn check_routes(curl: &Path, f: &dyn H2Fixture) {
    let name = f.name();
    for t in [Transport::Tls, Transport::H2c] {
        let r = fetch(curl, t, &url(f, t, "/echo"), &["--data-binary", "hello"]);
        assert!(r.headers.contains("x-body-len: 5"), "{name}: {}", r.headers);
        let r = fetch(curl, t, &url(f, t, "/trailers"), &["-H", "te: trailers"]);
        assert_eq!(r.body, b"trailers body\n", "{name} /trailers");
        // curl's -D file: the header section, an empty line, then the trailers.
        let trailers = r.headers.split_once("\r\n\r\n").map_or("", |(_, t)| t);
        assert!(
            trailers.contains("x-trailer-one: 1") && trailers.contains("x-trailer-two: 2"),
            "{name}: no trailers after the body in {:?}",
            r.headers
        );
        let r = fetch(curl, t, &url(f, t, "/stream/100000/7"), &[]);
        assert!(
            !r.headers.to_ascii_lowercase().contains("content-length"),
            "{name}"
        );
        assert!(
            r.body == pattern(100000),
            "{name} /stream: {} bytes",
            r.body.len()
        );
        assert_eq!(fetch(curl, t, &url(f, t, "/status/418"), &[]).status, 418);
        let r = fetch(curl, t, &url(f, t, "/redirect?to=/1k"), &[]);
        assert_eq!(r.status, 302, "{name}");
        assert!(r.headers.contains("location: /1k"), "{name}: {}", r.headers);
        ws_probe(f, t);
    }
}

/// Runs the RFC 8441 probe: the server must announce ENABLE_CONNECT_PROTOCOL=1 and echo.
fn ws_probe(f: &dyn H2Fixture, t: Transport) {
    let Some(python) = probe_python() else { return };
    let mut cmd = Command::new(python);
    cmd.arg(interop_script("h2_ws_probe.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    match t {
        Transport::Tls => cmd
            .arg(f.tls_port().to_string())
            .arg("--tls")
            .arg(ca_path()),
        Transport::H2c => cmd.arg(f.h2c_port().to_string()),
    };
    // The probe bounds each of its reads (10 s).
    let out = cmd.output().expect("run the probe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} probe: {text}\n{}",
        f.name(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("enable_connect_protocol=1\nstatus=200\n"),
        "{text}"
    );
    assert!(text.ends_with("close 1000\ndone\n"), "{text}");
}

#[test]
fn nginx_serves_http2() {
    let Some(curl) = curl("nginx_serves_http2") else {
        return;
    };
    let Some(n) = Nginx::start() else { return };
    check_common(&curl, &n);
    for t in [Transport::Tls, Transport::H2c] {
        for (path, code) in [("/redirect", 302), ("/moved", 301)] {
            let r = fetch(&curl, t, &url(&n, t, path), &[]);
            assert_eq!(r.status, code, "nginx {path}");
            assert!(r.headers.contains("location: /1k"), "{}", r.headers);
        }
        let r = fetch(
            &curl,
            t,
            &url(&n, t, "/echo"),
            &["-X", "PUT", "--data-binary", "put"],
        );
        assert_eq!((r.status, r.body.as_slice()), (200, &b"put"[..]));
    }
}

#[test]
fn hypercorn_serves_http2() {
    let Some(curl) = curl("hypercorn_serves_http2") else {
        return;
    };
    let Some(h) = Hypercorn::start() else { return };
    check_common(&curl, &h);
    check_routes(&curl, &h);
    // Without `te: trailers` hypercorn drops the trailers (the Node server does not).
    let r = fetch(&curl, Transport::H2c, &h.h2c_url("/trailers"), &[]);
    assert!(!r.headers.contains("x-trailer-one: 1"), "{}", r.headers);
}

#[test]
fn node_serves_http2() {
    let Some(curl) = curl("node_serves_http2") else {
        return;
    };
    let Some(n) = NodeH2::start() else { return };
    check_common(&curl, &n);
    check_routes(&curl, &n);
}

/// Sends the client preface and an empty SETTINGS, and returns the server's first frame
/// (type, flags, payload) or its first 9 bytes raw when they are no frame header.
fn first_frame(port: u16) -> (u8, u8, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    s.write_all(PREFACE).expect("preface");
    s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).expect("settings");
    let mut h = [0u8; 9];
    s.read_exact(&mut h).expect("the server's first 9 bytes");
    if &h == b"HTTP/1.1 " {
        return (0xff, 0, h.to_vec());
    }
    let len = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
    assert!(len <= 16384, "first frame length {len}");
    let mut payload = vec![0; len];
    s.read_exact(&mut payload)
        .expect("the first frame's payload");
    (h[3], h[4], payload)
}

#[test]
fn hostile_scenarios_start() {
    for sc in Scenario::ALL {
        let Some(h) = Hostile::start(sc) else { return };
        let (ftype, flags, payload) = first_frame(h.port);
        let settings = |p: &[u8]| p.chunks(6).map(|c| c.to_vec()).collect::<Vec<_>>();
        match sc {
            Scenario::BadPrefaceHttp1 => assert_eq!(ftype, 0xff, "{sc:?}"),
            Scenario::BadPrefaceFrame => assert_eq!((ftype, flags), (6, 0), "{sc:?}: PING"),
            Scenario::MaxStreams1 => assert_eq!(settings(&payload), [vec![0, 3, 0, 0, 0, 1]]),
            Scenario::ZeroWindow => assert_eq!(settings(&payload), [vec![0, 4, 0, 0, 0, 0]]),
            _ => assert_eq!((ftype, flags, payload.len()), (4, 0, 0), "{sc:?}: SETTINGS"),
        }
        assert!(
            h.wait_event("conn 0 open", READ_TIMEOUT).is_some(),
            "{sc:?}: {:?}",
            h.events()
        );
    }
}

#[test]
fn hostile_normal_serves_curl() {
    let Some(curl) = curl("hostile_normal_serves_curl") else {
        return;
    };
    let Some(h) = Hostile::start(Scenario::Normal) else {
        return;
    };
    let r = fetch(
        &curl,
        Transport::H2c,
        &h.url("/x"),
        &["--data-binary", "abc"],
    );
    assert_eq!((r.version.as_str(), r.status), ("2", 200));
    assert_eq!(r.body, b"ok /x");
    assert!(r.headers.contains("x-body-len: 3"), "{}", r.headers);
    let ev = h.wait_event("request stream=1", READ_TIMEOUT);
    assert_eq!(
        ev.as_deref(),
        Some("conn 0 request stream=1 method=POST path=/x")
    );
}
