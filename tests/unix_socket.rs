//! Transfers over a unix domain socket (`CURLOPT_UNIX_SOCKET_PATH`, tool `--unix-socket`):
//! a server on a `UnixListener` started by the test records what it received and counts the
//! connections it accepted. The URL still gives the `Host`, the scheme and the TLS name.

mod support;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use curlew::ws::{BINARY, TEXT};
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi, TransferId};
use support::client::{rec_easy, run_one};
use support::http_server::Server;
use support::tls::{ca_path, server_config};

/// Bound on a server connection's reads, so a broken client never hangs a test.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// What one request looked like: its head and its body.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// How the server speaks on each accepted connection.
#[derive(Clone)]
enum Mode {
    Http,
    Https(Arc<rustls::ServerConfig>),
    WsEcho,
}

/// A server on a unix socket in a directory of its own.
struct UnixServer {
    dir: PathBuf,
    path: PathBuf,
    accepted: Arc<AtomicUsize>,
    seen: Seen,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UnixServer {
    fn start(mode: Mode) -> UnixServer {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "curlew-unix-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("http.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (accepted, seen, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Seen::default(),
            Arc::new(AtomicBool::new(false)),
        );
        let (a, s, st) = (accepted.clone(), seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                let (s, mode) = (s.clone(), mode.clone());
                std::thread::spawn(move || match mode {
                    Mode::Http => serve_http(stream, &s),
                    Mode::Https(cfg) => {
                        let tls = rustls::ServerConnection::new(cfg).unwrap();
                        serve_http(rustls::StreamOwned::new(tls, stream), &s)
                    }
                    Mode::WsEcho => {
                        if let Ok(mut ws) = tungstenite::accept(stream) {
                            while let Ok(m) = ws.read() {
                                if (m.is_text() || m.is_binary()) && ws.send(m).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        UnixServer {
            dir,
            path,
            accepted,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for UnixServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A keep-alive HTTP/1.1 loop: each request (head, and a `Content-Length` body) is recorded
/// and answered with `request N over unix`.
fn serve_http(mut s: impl Read + Write, seen: &Mutex<Vec<(String, Vec<u8>)>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let len: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.trim().parse().unwrap());
        while buf.len() < head_end + len {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push((head, body));
            seen.len()
        };
        let reply = format!("request {n} over unix");
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if s.write_all(resp.as_bytes())
            .and_then(|()| s.flush())
            .is_err()
        {
            return;
        }
    }
}

fn over(srv: &UnixServer, url: &str) -> Easy {
    let mut e = rec_easy(url);
    e.unix_socket_path(Some(&srv.path));
    e
}

/// The head's value of `name`.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

#[test]
fn a_post_goes_over_the_socket_with_the_urls_host() {
    let srv = UnixServer::start(Mode::Http);
    let mut e = over(&srv, "http://example.invalid:8080/upload?x=1");
    e.body(b"name=curlew&over=unix".to_vec());
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"request 1 over unix");
    let seen = srv.seen.lock().unwrap();
    let (head, body) = &seen[0];
    assert!(head.starts_with("POST /upload?x=1 HTTP/1.1\r\n"), "{head}");
    // The name was never looked up (example.invalid does not resolve): Host is the URL's.
    assert_eq!(header(head, "host"), Some("example.invalid:8080"));
    assert_eq!(body, b"name=curlew&over=unix");
    // No IP address to report.
    assert_eq!(f.easy.info().remote_addr, None);
}

#[test]
fn two_requests_share_one_connection_over_the_socket() {
    let srv = UnixServer::start(Mode::Http);
    let mut m = Multi::new();
    for i in 1..=2 {
        let id = m.add(over(&srv, "http://localhost/again"));
        let mut done = support::client::finish(&mut m);
        let f = done.remove(&id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), format!("request {i} over unix").as_bytes());
        assert_eq!(f.easy.info().reused, i == 2);
    }
    assert_eq!(
        srv.accepted(),
        1,
        "the second request reused the connection"
    );
}

#[test]
fn unix_and_tcp_connections_to_the_same_host_are_pooled_apart() {
    let srv = UnixServer::start(Mode::Http);
    let tcp = Server::start(support::http_server::keep_alive_responder(b"tcp".to_vec()));
    let tcp_url = tcp.url("/");
    let mut m = Multi::new();
    let order = [true, false, true, false];
    for unix in order {
        let mut e = rec_easy(&tcp_url);
        if unix {
            e.unix_socket_path(Some(&srv.path));
        }
        let id = m.add(e);
        let f = support::client::finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        let want: &[u8] = if unix { b"over unix" } else { b"tcp" };
        assert!(f.body().ends_with(want), "{:?}", f.body());
    }
    assert_eq!(srv.accepted(), 1);
    assert_eq!(tcp.accepted(), 1);
    assert_eq!(srv.seen.lock().unwrap().len(), 2);
}

#[test]
fn proxies_are_not_used_over_a_unix_socket() {
    let srv = UnixServer::start(Mode::Http);
    let mut e = over(&srv, "http://localhost/p");
    // Nothing listens there: were the proxy used, the transfer would fail.
    e.proxy(&format!("http://{}", support::refused_addr()))
        .unwrap();
    run_one(e).unwrap();
    assert_eq!(srv.seen.lock().unwrap().len(), 1);
}

#[test]
fn https_runs_tls_over_the_socket_with_the_urls_name() {
    let srv = UnixServer::start(Mode::Https(server_config("server.pem", "server.key")));
    let mut e = over(&srv, "https://localhost/secure");
    e.ca_file(ca_path());
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"request 1 over unix");
    // The certificate names localhost only among names: a wrong name fails verification.
    let mut e = over(&srv, "https://example.invalid/secure");
    e.ca_file(ca_path());
    assert_eq!(run_one(e).kind(), Some(ErrorKind::PeerFailedVerification));
}

#[test]
fn a_missing_socket_is_couldnt_connect_with_its_path() {
    let dir = std::env::temp_dir().join(format!("curlew-unix-missing-{}", std::process::id()));
    let path = dir.join("nobody.sock");
    let mut e = rec_easy("http://localhost/");
    e.unix_socket_path(Some(&path));
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::CouldntConnect));
    let msg = f.result.as_ref().unwrap_err().to_string();
    assert!(msg.contains(path.to_str().unwrap()), "{msg}");
}

#[cfg(target_os = "linux")]
#[test]
fn an_abstract_socket_is_reached_by_name() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("curlew-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = UnixListener::bind_addr(&addr).unwrap();
    let seen = Seen::default();
    let s = seen.clone();
    let t = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        serve_http(stream, &s);
    });
    let mut e = rec_easy("http://localhost/abstract");
    e.abstract_unix_socket(Some(&name)).forbid_reuse(true);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"request 1 over unix");
    t.join().unwrap();
    assert!(seen.lock().unwrap()[0].0.starts_with("GET /abstract "));
}

/// Sends its messages once the WebSocket is open, closes when all came back.
#[derive(Default)]
struct Echo {
    send: Vec<(Vec<u8>, u32)>,
    got: Vec<Vec<u8>>,
    cur: Vec<u8>,
}

impl Handler for Echo {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let mut ws = ctx.ws().unwrap();
        for (m, flags) in &self.send {
            ws.send(m, *flags).unwrap();
        }
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().unwrap();
        if meta.is_close() {
            return Flow::Continue;
        }
        self.cur.extend_from_slice(data);
        if meta.is_message_end() {
            self.got.push(std::mem::take(&mut self.cur));
            if self.got.len() == self.send.len() {
                ctx.ws().unwrap().close(1000, "bye").unwrap();
            }
        }
        Flow::Continue
    }
}

fn wait_done(m: &mut Multi, id: TransferId) -> curlew::Result<()> {
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        while let Some(msg) = m.info_read() {
            if msg.id == id {
                return msg.result;
            }
        }
        assert!(Instant::now() < deadline, "transfer did not finish");
        m.poll(Some(Duration::from_millis(100))).unwrap();
    }
}

#[test]
fn a_websocket_echoes_over_the_socket() {
    let srv = UnixServer::start(Mode::WsEcho);
    let send = vec![
        (b"hello over unix".to_vec(), TEXT),
        (vec![7u8; 70_000], BINARY),
    ];
    let mut e = Easy::with_handler(
        "ws://localhost/echo",
        Echo {
            send: send.clone(),
            ..Echo::default()
        },
    )
    .unwrap();
    e.unix_socket_path(Some(&srv.path));
    let mut m = Multi::new();
    let id = m.add(e);
    wait_done(&mut m, id).expect("clean close");
    let easy = m.remove(id).unwrap();
    assert_eq!(easy.info().response_code, 101);
    let got = &easy.handler::<Echo>().unwrap().got;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], send[0].0);
    assert!(got[1] == send[1].0, "binary message differs");
}

/// Runs the tool to completion (bounded).
fn curlew(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("curlew {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_tool_takes_unix_socket_and_fails_with_7_on_a_missing_one() {
    let srv = UnixServer::start(Mode::Http);
    let path = srv.path.to_str().unwrap();
    let o = curlew(&["-s", "--unix-socket", path, "http://localhost/tool"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.stdout, b"request 1 over unix");
    assert!(srv.seen.lock().unwrap()[0].0.starts_with("GET /tool "));
    let missing = Path::new(path).with_file_name("missing.sock");
    let o = curlew(&[
        "-sS",
        "--unix-socket",
        missing.to_str().unwrap(),
        "http://localhost/",
    ]);
    assert_eq!(o.status.code(), Some(7));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
}
