//! HTTP/2 against independent servers started by the tests (`tests/support/h2_servers.rs`):
//! nginx (TLS with ALPN and h2c), hypercorn and Node's `http2` (uploads, trailers, redirects,
//! streaming), and a scripted hostile server (`tests/interop/h2_hostile.py`) for the failure
//! paths. Multiplexing is checked by the servers' own view where they have one (the hostile
//! server counts connections) and by `num_connects` (a transfer that joined a connection
//! made none).

mod support;

use std::time::Duration;

use curlew::{ErrorKind, HttpVersion, HttpVersionOption, Multi};
use support::client::{finish, rec_easy, run_one, Finished};
use support::h2_servers::{pattern, H2Fixture, Hostile, Hypercorn, Nginx, NodeH2, Scenario};
use support::tls::ca_path;

/// An HTTP/2 request to `url` trusting the test CA.
fn h2_easy(url: &str) -> curlew::Easy {
    let mut e = rec_easy(url);
    e.ca_file(ca_path());
    if url.starts_with("http:") {
        e.http_version(HttpVersionOption::Http2PriorKnowledge);
    }
    e
}

/// Runs `n` transfers of `url` at once on one multi; returns them and the connections made.
fn many(url: &str, n: usize) -> (Vec<Finished>, u32) {
    let mut m = Multi::new();
    for _ in 0..n {
        m.add(h2_easy(url));
    }
    let done: Vec<Finished> = finish(&mut m).into_values().collect();
    let conns = done.iter().map(|f| f.easy.info().num_connects).sum();
    (done, conns)
}

fn assert_h2_ok(f: &Finished, body: &[u8]) {
    f.unwrap();
    assert_eq!(f.easy.info().http_version, Some(HttpVersion::Http2));
    assert_eq!(f.easy.info().response_code, 200);
    assert!(f.body() == body, "body of {} bytes differs", f.body().len());
}

#[test]
fn nginx_multiplexes_many_transfers_on_one_connection() {
    let Some(ngx) = Nginx::start() else { return };
    for url in [ngx.tls_url("/1k"), ngx.h2c_url("/1k")] {
        let (done, conns) = many(&url, 60);
        assert_eq!(done.len(), 60);
        for f in &done {
            assert_h2_ok(f, &pattern(1024));
        }
        // PIPEWAIT: the 59 others waited for the first connection's ALPN and joined it.
        assert_eq!(conns, 1, "{url}: one connection for all transfers");
    }
}

#[test]
fn nginx_bodies_of_every_size_and_the_head_as_curl_shows_it() {
    let Some(ngx) = Nginx::start() else { return };
    for (path, len) in [("/1k", 1024usize), ("/100k", 100 << 10), ("/10m", 10 << 20)] {
        let f = run_one(h2_easy(&ngx.tls_url(path)));
        assert_h2_ok(&f, &pattern(len));
        let heads = f.headers();
        assert_eq!(heads[0], "HTTP/2 200 \r\n", "status line as curl shows it");
        assert!(heads.iter().any(|l| l.starts_with("content-length: ")));
        // Field names in lowercase, as HTTP/2 carries them (and curl shows them).
        for l in heads.iter().skip(1).filter(|l| l.contains(':')) {
            let name = l.split(':').next().unwrap();
            assert_eq!(name, name.to_ascii_lowercase(), "{l:?}");
        }
    }
}

#[test]
fn http11_asked_for_gets_http11_from_an_h2_server() {
    let Some(ngx) = Nginx::start() else { return };
    let mut e = h2_easy(&ngx.tls_url("/1k"));
    e.http_version(HttpVersionOption::Http11);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().http_version, Some(HttpVersion::Http11));
    assert_eq!(f.body(), &pattern(1024)[..]);
}

#[test]
fn uploads_trailers_and_redirects_on_hypercorn_and_node() {
    let servers: Vec<Box<dyn H2Fixture>> = [
        Hypercorn::start().map(|s| Box::new(s) as Box<dyn H2Fixture>),
        NodeH2::start().map(|s| Box::new(s) as Box<dyn H2Fixture>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for s in &servers {
        for url in [s.tls_url("/echo"), s.h2c_url("/echo")] {
            // A body in memory.
            let body = pattern(300 << 10);
            let mut e = h2_easy(&url);
            e.body(body.clone());
            let f = run_one(e);
            assert_h2_ok(&f, &body);
            assert_eq!(f.easy.info().size_upload, body.len() as u64);
        }
        // Trailers after the body, to the header callback.
        let mut e = h2_easy(&s.tls_url("/trailers"));
        e.header("TE", "trailers").unwrap();
        let f = run_one(e);
        f.unwrap();
        assert_eq!(f.body(), b"trailers body\n");
        let heads = f.headers();
        assert!(
            heads.iter().any(|l| l == "x-trailer-one: 1\r\n"),
            "{}: trailers in {heads:?}",
            s.name()
        );
        // A redirect followed on the same connection.
        let mut e = h2_easy(&s.tls_url("/redirect?to=/bytes/5"));
        e.follow_location(true);
        let f = run_one(e);
        assert_h2_ok(&f, &pattern(5));
        assert_eq!(f.easy.info().redirect_count, 1);
        // A streamed body without content-length.
        let f = run_one(h2_easy(&s.h2c_url("/stream/100000/7")));
        assert_h2_ok(&f, &pattern(100000));
    }
}

/// One transfer per path against a hostile scenario, all on one multi.
fn hostile_run(s: Scenario, paths: &[&str]) -> Option<(Hostile, Vec<Finished>)> {
    let srv = Hostile::start(s)?;
    let mut m = Multi::new();
    for p in paths {
        let mut e = h2_easy(&srv.url(p));
        e.timeout(Some(Duration::from_secs(20)));
        m.add(e);
    }
    let done = finish(&mut m).into_values().collect();
    Some((srv, done))
}

#[test]
fn goaway_mid_run_retries_the_unprocessed_streams() {
    let paths: Vec<String> = (0..10).map(|i| format!("/p{i}")).collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let Some((srv, done)) = hostile_run(Scenario::GoawayMid(3), &refs) else {
        return;
    };
    for f in &done {
        f.unwrap();
        assert_eq!(f.easy.info().response_code, 200);
    }
    // The server's event lines come through a pipe and may trail the transfers' ends; its
    // connections are numbered from 0.
    assert!(
        srv.wait_event("conn 1 open", Duration::from_secs(10))
            .is_some(),
        "the rest went to a new connection: {:?}",
        srv.events()
    );
}

#[test]
fn refused_streams_are_sent_again_and_max_streams_1_is_respected() {
    for s in [Scenario::Refused, Scenario::MaxStreams1] {
        let Some((srv, done)) = hostile_run(s, &["/a", "/b", "/c", "/d"]) else {
            return;
        };
        for f in &done {
            f.unwrap();
        }
        assert!(
            !srv.events().iter().any(|e| e.contains("violation")),
            "{s:?}: {:?}",
            srv.events()
        );
    }
}

#[test]
fn a_reset_stream_fails_only_its_transfer_with_code_92() {
    let Some((_srv, done)) = hostile_run(Scenario::Rst, &["/a", "/b"]) else {
        return;
    };
    for f in &done {
        assert_eq!(f.kind(), Some(ErrorKind::Http2Stream), "{:?}", f.result);
        assert_eq!(ErrorKind::Http2Stream.curl_code(), 92);
    }
}

#[test]
fn protocol_violations_are_connection_errors_with_code_16() {
    for s in [
        Scenario::WindowOverflowConnection,
        Scenario::OversizeFrame,
        Scenario::HpackBomb,
        Scenario::ContinuationFlood,
        Scenario::PushPromise,
        Scenario::BadPrefaceHttp1,
        Scenario::BadPrefaceFrame,
        Scenario::ContinuationFloodEmpty,
    ] {
        let Some((_srv, done)) = hostile_run(s, &["/a"]) else {
            return;
        };
        let f = &done[0];
        assert!(
            matches!(f.kind(), Some(ErrorKind::Http2 | ErrorKind::Http2Stream)),
            "{s:?}: {:?}",
            f.result
        );
    }
}

#[test]
fn a_header_list_over_our_limit_is_refused() {
    let Some((_srv, done)) = hostile_run(Scenario::HugeHeaders, &["/a"]) else {
        return;
    };
    assert!(done[0].result.is_err(), "{:?}", done[0].result);
}

#[test]
fn a_zero_window_reopened_lets_an_upload_finish() {
    let Some(srv) = Hostile::start(Scenario::ZeroWindow) else {
        return;
    };
    let mut e = h2_easy(&srv.url("/up"));
    e.body(pattern(200 << 10));
    e.timeout(Some(Duration::from_secs(20)));
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().size_upload, 200 << 10);
}

#[test]
fn data_after_the_end_of_a_stream_harms_no_finished_transfer() {
    // The answer was complete; what the server sends on the closed stream afterwards is
    // dropped (RFC 9113 §5.1: frames on a closed stream may arrive for a while).
    let Some((_srv, done)) = hostile_run(Scenario::DataClosed, &["/a", "/b"]) else {
        return;
    };
    let mut bodies: Vec<Vec<u8>> = done.iter().map(|f| f.unwrap().body().to_vec()).collect();
    bodies.sort();
    assert_eq!(bodies, vec![b"ok /a".to_vec(), b"ok /b".to_vec()]);
}

#[test]
fn ping_and_settings_floods_leave_memory_bounded_and_fail_or_serve() {
    for s in [Scenario::PingFlood, Scenario::SettingsFlood] {
        let Some((_srv, done)) = hostile_run(s, &["/a"]) else {
            return;
        };
        // Either served (we kept up with the ACKs) or ENHANCE_YOUR_CALM: never a hang.
        let f = &done[0];
        assert!(
            f.result.is_ok() || f.kind() == Some(ErrorKind::Http2),
            "{s:?}: {:?}",
            f.result
        );
    }
}

#[test]
fn the_tool_speaks_http2_and_says_so() {
    let Some(ngx) = Nginx::start() else { return };
    let tool = env!("CARGO_BIN_EXE_curlew");
    let ca = ca_path();
    let cases: [(&[&str], String, &str); 3] = [
        (&["--http2"], ngx.tls_url("/1k"), "2"),
        (&["--http1.1"], ngx.tls_url("/1k"), "1.1"),
        (&["--http2-prior-knowledge"], ngx.h2c_url("/1k"), "2"),
    ];
    for (flags, url, want) in cases {
        let out = std::process::Command::new(tool)
            .args(flags)
            .arg("--cacert")
            .arg(&ca)
            .args(["-s", "-o", "/dev/null", "-w", "%{http_version}", &url])
            .output()
            .expect("run curlew");
        assert!(out.status.success(), "{flags:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{flags:?}");
    }
    // -Z to one host: one connection for all (PIPEWAIT), -i shows the HTTP/2 status line.
    let urls: Vec<String> = (0..5).map(|_| ngx.tls_url("/1k")).collect();
    let out = std::process::Command::new(tool)
        .arg("--cacert")
        .arg(&ca)
        .args(["-s", "-Z", "-w", "%{num_connects}\\n"])
        .args(urls.iter().flat_map(|u| ["-o", "/dev/null", u.as_str()]))
        .output()
        .expect("run curlew");
    let total: u32 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse::<u32>().unwrap_or(99))
        .sum();
    assert_eq!(total, 1, "{out:?}");
    let out = std::process::Command::new(tool)
        .arg("--cacert")
        .arg(&ca)
        .args(["-s", "-i", &ngx.tls_url("/1k")])
        .output()
        .expect("run curlew");
    assert!(out.stdout.starts_with(b"HTTP/2 200 \r\n"), "{out:?}");
}

/// Pauses on its first write; records the body.
#[derive(Default)]
struct PauseOnce {
    body: Vec<u8>,
    paused: bool,
}

impl curlew::Handler for PauseOnce {
    fn write(&mut self, _ctx: &mut curlew::Ctx<'_>, data: &[u8]) -> curlew::Flow {
        if !self.paused {
            self.paused = true;
            return curlew::Flow::Pause;
        }
        self.body.extend_from_slice(data);
        curlew::Flow::Continue
    }
}

#[test]
fn a_paused_stream_stops_only_itself() {
    let Some(ngx) = Nginx::start() else { return };
    let mut m = Multi::new();
    let mut e = curlew::Easy::with_handler(&ngx.tls_url("/10m"), PauseOnce::default()).unwrap();
    e.ca_file(ca_path());
    let paused = m.add(e);
    // A neighbour on the same connection (it waits for the first one's handshake).
    let other = m.add(h2_easy(&ngx.tls_url("/10m")));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // Run until the neighbour is done: the paused stream must not hold it back.
    let mut other_done = false;
    while !other_done {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        while let Some(msg) = m.info_read() {
            assert_eq!(
                msg.id, other,
                "only the neighbour can finish while one is paused"
            );
            msg.result.unwrap();
            other_done = true;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the neighbour stalled"
        );
    }
    assert!(m.info(paused).unwrap().size_download < 10 << 20);
    let neighbour = m.remove(other).unwrap();
    assert_eq!(neighbour.info().num_connects, 0, "it joined the connection");
    m.unpause(paused, curlew::Direction::Recv);
    let done = finish(&mut m);
    let f = &done[&paused];
    f.unwrap();
    let h = f.easy.handler::<PauseOnce>().unwrap();
    // The first chunk was refused by the pause and delivered again after it.
    assert_eq!(h.body, pattern(10 << 20));
}

#[test]
fn an_idle_connection_pings_and_says_goodbye() {
    let Some(srv) = Hostile::start(Scenario::Normal) else {
        return;
    };
    let mut m = Multi::new();
    m.set_upkeep_interval(Some(Duration::from_millis(50)));
    let id = m.add(h2_easy(&srv.url("/a")));
    let done = finish(&mut m);
    done[&id].unwrap();
    // The connection is idle in the pool now: the loop's timer sends its PINGs.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !srv.events().iter().any(|e| e.contains("recv PING")) {
        m.poll(Some(Duration::from_millis(20))).unwrap();
        assert!(std::time::Instant::now() < deadline, "{:?}", srv.events());
    }
    // A transfer that forbids reuse: its connection says GOAWAY once its stream is done.
    let mut e = h2_easy(&srv.url("/b"));
    e.fresh_connect(true).forbid_reuse(true);
    let id = m.add(e);
    finish(&mut m)[&id].unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !srv.events().iter().any(|e| e.contains("recv GOAWAY")) {
        m.poll(Some(Duration::from_millis(20))).unwrap();
        assert!(std::time::Instant::now() < deadline, "{:?}", srv.events());
    }
}

/// Uploads `body` from the read callback; records the response.
struct Upload {
    body: Vec<u8>,
    at: usize,
    got: Vec<u8>,
    heads: Vec<String>,
}

impl curlew::Handler for Upload {
    fn read(&mut self, _ctx: &mut curlew::Ctx<'_>, buf: &mut [u8]) -> curlew::ReadResult {
        let n = buf.len().min(self.body.len() - self.at).min(10_000);
        buf[..n].copy_from_slice(&self.body[self.at..self.at + n]);
        self.at += n;
        curlew::ReadResult::Data(n)
    }
    fn write(&mut self, _ctx: &mut curlew::Ctx<'_>, data: &[u8]) -> curlew::Flow {
        self.got.extend_from_slice(data);
        curlew::Flow::Continue
    }
    fn header(&mut self, _ctx: &mut curlew::Ctx<'_>, line: &[u8]) -> curlew::Flow {
        self.heads.push(String::from_utf8_lossy(line).into_owned());
        curlew::Flow::Continue
    }
}

#[test]
fn an_upload_of_unknown_size_waits_for_100_continue_over_http2() {
    // Node answers `expect: 100-continue` on HTTP/2 with a 100 HEADERS frame (hypercorn 0.18
    // does not: there the expect timeout would release the body).
    let Some(s) = NodeH2::start() else { return };
    let body = pattern(1 << 20);
    let up = Upload {
        body: body.clone(),
        at: 0,
        got: Vec::new(),
        heads: Vec::new(),
    };
    let mut e = curlew::Easy::with_handler(&s.tls_url("/echo"), up).unwrap();
    e.ca_file(ca_path())
        .upload(None)
        .method("POST")
        .unwrap()
        // Only the server's 100 can release the body in time.
        .expect_100_timeout(Duration::from_secs(60))
        .timeout(Some(Duration::from_secs(20)));
    let f = run_one(e);
    f.unwrap();
    let h = f.easy.handler::<Upload>().unwrap();
    assert_eq!(h.heads.first().map(String::as_str), Some("HTTP/2 100 \r\n"));
    assert!(
        h.heads.iter().any(|l| l == "HTTP/2 200 \r\n"),
        "{:?}",
        h.heads
    );
    assert!(h.got == body, "echo of {} bytes", h.got.len());
    assert_eq!(f.easy.info().size_upload, 1 << 20);
}

/// An upload that fills the stream's window beside a download on the same connection: the
/// WINDOW_UPDATE that reopens it may be read by the uploading transfer's own step, which then
/// must run again (a wake-up of the transfer being stepped was once lost here, and the
/// upload hung until its timeout).
#[test]
fn an_upload_beside_a_download_on_one_connection_goes_on_when_its_window_reopens() {
    let Some(s) = Hypercorn::start() else {
        return;
    };
    for round in 0..10 {
        let mut m = Multi::new();
        let mut get = rec_easy(&s.tls_url("/bytes/100000"));
        get.ca_file(ca_path())
            .timeout(Some(Duration::from_secs(10)));
        let mut post = rec_easy(&s.tls_url("/echo"));
        post.ca_file(ca_path())
            .timeout(Some(Duration::from_secs(10)))
            .method("POST")
            .unwrap()
            .body(pattern(1 << 20));
        let (a, b) = (m.add(get), m.add(post));
        let mut done = finish(&mut m);
        done.remove(&a).unwrap().unwrap();
        let f = done.remove(&b).unwrap();
        if let Err(e) = &f.result {
            panic!("round {round}: {e}");
        }
        assert_eq!(f.body(), pattern(1 << 20), "round {round}");
    }
}
