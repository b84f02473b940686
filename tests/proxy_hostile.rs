//! Misbehaving proxies, scripted on raw sockets: each gets a precise error of curl's kind
//! within a bounded wait, and a neighbour transfer in the same multi finishes untouched. Also
//! SOCKS4a, which no packaged proxy here speaks, scripted byte for byte.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use curlew::{Easy, ErrorKind, Multi};
use support::client::finish;
use support::http_server::Server;
use support::tls::ca_path;

/// A proxy that runs `script` on every connection (thread per connection); the port and
/// how many connections it took.
fn proxy<F>(script: F) -> (u16, Arc<AtomicUsize>)
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let n = Arc::new(AtomicUsize::new(0));
    let (script, count) = (Arc::new(script), n.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { break };
            count.fetch_add(1, Ordering::SeqCst);
            let script = script.clone();
            std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(20))).ok();
                script(s)
            });
        }
    });
    (port, n)
}

/// Read a request head (up to the blank line).
fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    head
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    let _ = s.read_exact(&mut b);
    b
}

/// Runs `target` through `proxy_url` beside a direct neighbour in one multi; the target's
/// error kind, message and connect code. The neighbour must succeed.
fn run(target: &str, proxy_url: &str, tunnel: bool) -> (Option<ErrorKind>, String, u16) {
    let neighbour = Server::start(|c| {
        while let Some(req) = c.read_request() {
            c.respond(200, &[], req.path().as_bytes());
        }
    });
    let mut m = Multi::new();
    let mut e = Easy::new(target).unwrap();
    e.proxy(proxy_url)
        .unwrap()
        .http_proxy_tunnel(tunnel)
        .ca_file(ca_path())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Some(Duration::from_secs(20)));
    let id = m.add(e);
    let mut n = Easy::new(&neighbour.url("/neighbour")).unwrap();
    n.timeout(Some(Duration::from_secs(20)));
    let nid = m.add(n);
    let mut done = finish(&mut m);
    let nb = done.remove(&nid).unwrap();
    nb.unwrap();
    assert_eq!(nb.body(), b"/neighbour");
    let f = done.remove(&id).unwrap();
    let msg = f
        .result
        .as_ref()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    (f.kind(), msg, f.easy.info().http_connectcode)
}

#[test]
fn connect_answered_200_then_garbage_fails_the_tls_handshake() {
    let (port, _) = proxy(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\nthis is not TLS\r\n");
        let _ = s.read(&mut [0u8; 1024]);
    });
    let (kind, _, code) = run(
        "https://origin.test/",
        &format!("http://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::SslConnectError));
    assert_eq!(code, 200);
}

#[test]
fn a_407_loop_fails_at_the_first_refusal() {
    let (port, conns) = proxy(|mut s| {
        while !read_head(&mut s).is_empty() {
            let _ = s.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    let url = format!("http://u:p@127.0.0.1:{port}");
    let (kind, msg, code) = run("https://origin.test/", &url, false);
    assert_eq!(kind, Some(ErrorKind::RecvError));
    assert!(msg.contains("response 407"), "{msg}");
    assert_eq!(code, 407);
    assert_eq!(conns.load(Ordering::SeqCst), 1, "no retry loop");
}

#[test]
fn a_huge_or_garbled_connect_answer_is_too_large_or_weird() {
    let (port, _) = proxy(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Big: ");
        let chunk = vec![b'a'; 16 * 1024];
        for _ in 0..16 {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let (kind, _, _) = run(
        "https://origin.test/",
        &format!("http://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::TooLarge));

    let (port, _) = proxy(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
    });
    let (kind, _, _) = run(
        "https://origin.test/",
        &format!("http://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::WeirdServerReply));
}

#[test]
fn a_proxy_that_closes_or_stalls_is_an_error_in_bounded_time() {
    // Closed before answering CONNECT.
    let (port, _) = proxy(|mut s| {
        read_head(&mut s);
    });
    let (kind, msg, _) = run(
        "https://origin.test/",
        &format!("http://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::RecvError));
    assert!(msg.contains("Proxy CONNECT aborted"), "{msg}");
    // Closed mid-tunnel: the tunnel is up, then the connection ends before any answer.
    let (port, _) = proxy(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        read_head(&mut s);
    });
    let (kind, _, code) = run(
        "http://origin.test/",
        &format!("http://127.0.0.1:{port}"),
        true,
    );
    assert_eq!(kind, Some(ErrorKind::GotNothing));
    assert_eq!(code, 200);
    // Never answers: the connect timeout (2 s here) ends it.
    let (port, _) = proxy(|mut s| {
        read_head(&mut s);
        let _ = s.read(&mut [0u8; 1]);
    });
    let (kind, _, _) = run(
        "https://origin.test/",
        &format!("http://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::OperationTimedout));
}

#[test]
fn socks_servers_with_a_bad_version_or_a_truncated_reply_are_97() {
    let (port, _) = proxy(|mut s| {
        read_n(&mut s, 3);
        let _ = s.write_all(&[4, 0]);
    });
    let (kind, msg, _) = run(
        "http://origin.test/",
        &format!("socks5h://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::Proxy));
    assert!(msg.contains("wrong version"), "{msg}");

    // socks5h: the name goes to the proxy as it is (origin.test resolves nowhere here).
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let (port, _) = proxy(move |mut s| {
        read_n(&mut s, 3);
        let _ = s.write_all(&[5, 0]);
        let req = read_n(&mut s, 4 + 1 + 11 + 2);
        let _ = tx.lock().unwrap().send(req);
        let _ = s.write_all(&[5, 0, 0, 1, 127]);
    });
    let (kind, msg, _) = run(
        "http://origin.test/",
        &format!("socks5h://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::Proxy));
    assert!(msg.contains("closed"), "{msg}");
    let req = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(&req[..5], [5, 1, 0, 3, 11], "a CONNECT to a domain name");
    assert_eq!(&req[5..16], b"origin.test");
    assert_eq!(&req[16..], [0, 80]);

    let (port, _) = proxy(|mut s| {
        read_n(&mut s, 9);
        let _ = s.write_all(&[1, 90, 0, 0, 0, 0, 0, 0]);
    });
    let (kind, msg, _) = run(
        "http://127.0.0.1:9/",
        &format!("socks4://127.0.0.1:{port}"),
        false,
    );
    assert_eq!(kind, Some(ErrorKind::Proxy));
    assert!(msg.contains("wrong version"), "{msg}");
}

/// SOCKS4a, which dante does not do: a scripted server checks the request (the name after
/// the user id, 0.0.0.1 as the address) and then plays the origin inside the tunnel.
#[test]
fn socks4a_sends_the_name_and_the_tunnel_carries_the_exchange() {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let (port, _) = proxy(move |mut s| {
        // VN CD PORT(2) IP(4) USERID NUL NAME NUL
        let req = read_n(&mut s, 8 + 3 + 1 + 11 + 1);
        let _ = tx.lock().unwrap().send(req);
        let _ = s.write_all(&[0, 90, 0, 0, 0, 0, 0, 0]);
        let head = read_head(&mut s);
        let body = if head.starts_with(b"GET /via-4a HTTP/1.1\r\nHost: origin.test:8080\r\n") {
            "tunnelled"
        } else {
            "wrong request"
        };
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(resp.as_bytes());
        let _ = s.read(&mut [0u8; 1]);
    });
    let mut e = Easy::new("http://origin.test:8080/via-4a").unwrap();
    e.proxy(&format!("socks4a://bob@127.0.0.1:{port}"))
        .unwrap()
        .timeout(Some(Duration::from_secs(20)));
    let f = support::client::run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"tunnelled");
    let req = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(&req[..8], [4, 1, 0x1f, 0x90, 0, 0, 0, 1]);
    assert_eq!(&req[8..], b"bob\0origin.test\0");
}
