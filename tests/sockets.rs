//! Socket options of new connections, checked from the server's side: the local address
//! (`CURLOPT_INTERFACE`), the local port range (`CURLOPT_LOCALPORT`, `LOCALPORTRANGE`), TCP
//! keepalive (`CURLOPT_TCP_KEEPALIVE`, seen with `ss`); binds that cannot be done are
//! `CURLE_INTERFACE_FAILED` (45).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use curlew::{Easy, ErrorKind};
use support::client::run_one;
use support::http_server::{Conn, Response, Server};

/// A server that records each connection's peer address and, while it is open, what `ss`
/// says of the client's socket (`None` without `ss`).
/// Each connection's peer and what `ss` said of the client's socket.
type Seen = Arc<Mutex<Vec<(std::net::SocketAddr, Option<String>)>>>;

fn recording() -> (Server, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let peer = c.peer_addr();
        let ss = std::process::Command::new("ss")
            .args([
                "-tnoH",
                "state",
                "established",
                "sport",
                "=",
                &format!(":{}", peer.port()),
            ])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        s.lock().unwrap().push((peer, ss));
        while let Some(req) = c.read_request() {
            c.send(&req, &Response::ok("bound"));
        }
    });
    (srv, seen)
}

#[test]
fn the_local_address_and_port_range_are_what_the_server_sees() {
    let (srv, seen) = recording();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.interface(Some("127.0.0.2")).unwrap();
    run_one(e).unwrap();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.local_port(Some((47_100, 20)));
    run_one(e).unwrap();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.interface(Some("host!127.0.0.3"))
        .unwrap()
        .local_port(Some((47_200, 20)));
    run_one(e).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].0.ip().to_string(), "127.0.0.2");
    assert!(
        (47_100..47_120).contains(&seen[1].0.port()),
        "{}",
        seen[1].0
    );
    assert_eq!(seen[2].0.ip().to_string(), "127.0.0.3");
    assert!(
        (47_200..47_220).contains(&seen[2].0.port()),
        "{}",
        seen[2].0
    );
}

#[test]
fn keepalive_probes_are_armed_on_the_socket() {
    let (srv, seen) = recording();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.tcp_keepalive(Some((Duration::from_secs(45), Duration::from_secs(10))));
    run_one(e).unwrap();
    let mut plain = Easy::new(&srv.url("/")).unwrap();
    plain.fresh_connect(true);
    run_one(plain).unwrap();
    let seen = seen.lock().unwrap();
    let (Some(with), Some(without)) = (&seen[0].1, &seen[1].1) else {
        eprintln!("*** SKIPPED: no ss to look at the socket ***");
        return;
    };
    assert!(with.contains("keepalive"), "{with}");
    assert!(!without.contains("keepalive"), "{without}");
}

#[test]
fn binds_that_cannot_be_done_are_45() {
    // Every port of the range taken by listeners.
    let taken: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let (srv, _) = recording();
    let port = taken[0].local_addr().unwrap().port();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.interface(Some("127.0.0.1"))
        .unwrap()
        .local_port(Some((port, 1)));
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::InterfaceFailed));
    assert_eq!(ErrorKind::InterfaceFailed.curl_code(), 45);
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.interface(Some("if!curlew-none0")).unwrap();
    assert_eq!(run_one(e).kind(), Some(ErrorKind::InterfaceFailed));
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.interface(Some("192.0.2.1")).unwrap();
    assert_eq!(
        run_one(e).kind(),
        Some(ErrorKind::InterfaceFailed),
        "not ours"
    );
    assert!(Easy::new(&srv.url("/"))
        .unwrap()
        .interface(Some("host!x"))
        .is_err());
}

#[test]
fn the_tool_takes_interface_local_port_and_keepalive_flags() {
    let (srv, seen) = recording();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
            .args(args)
            .output()
            .unwrap()
    };
    let url = srv.url("/");
    let o = run(&[
        "-s",
        "--interface",
        "127.0.0.4",
        "--local-port",
        "47300-47320",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, b"bound");
    let o = run(&["-s", "--no-keepalive", &url]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["-s", "--interface", "if!curlew-none0", &url]);
    assert_eq!(o.status.code(), Some(45));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].0.ip().to_string(), "127.0.0.4");
    assert!((47_300..=47_320).contains(&seen[0].0.port()));
    if let (Some(default_on), Some(off)) = (&seen[0].1, &seen[1].1) {
        assert!(
            default_on.contains("keepalive"),
            "the tool's default: {default_on}"
        );
        assert!(!off.contains("keepalive"), "{off}");
    }
}
