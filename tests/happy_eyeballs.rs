//! Happy eyeballs over real sockets: a name resolving first to an address whose connect
//! stalls (`[::1]` on a listener whose accept queue is full, so the kernel drops further
//! SYNs) and then to a server on `127.0.0.1`. The transfer connects over the second address
//! without waiting for the first to time out. The race itself is tested on fake time in
//! `src/sim/tests/eyeballs.rs`.

mod support;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use curlew::{Multi, CONNECT_ATTEMPT_MAX};
use support::client::rec_easy;
use support::http_server::{keep_alive_responder, Options, Server};

/// A listener on `[::1]:port` that takes no more connections: its accept queue (one
/// connection with a backlog of 0) is full, and nobody accepts. `None` without IPv6.
fn stalled_v6(port: u16) -> Option<(socket2::Socket, TcpStream)> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, None).ok()?;
    s.set_only_v6(true).ok()?;
    let addr: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    s.bind(&addr.into()).ok()?;
    s.listen(0).ok()?;
    // The one connection the queue holds.
    let filler = TcpStream::connect_timeout(&addr, support::TIMEOUT).ok()?;
    Some((s, filler))
}

#[test]
fn a_stalled_first_address_does_not_hold_up_the_second() {
    let srv = Server::start_with(
        Options {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ..Options::default()
        },
        keep_alive_responder(b"over v4".to_vec()),
    );
    let port = srv.port();
    let Some(_stalled) = stalled_v6(port) else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let mut e = rec_easy(&format!("http://dual.test:{port}/"));
    e.resolve(&[format!("dual.test:{port}:[::1],127.0.0.1")])
        .unwrap()
        .connect_timeout(Duration::from_secs(60));
    let mut m = Multi::new();
    let id = m.add(e);
    // Shorter than the first address's own attempt limit (its share of the 60 s, capped at
    // CONNECT_ATTEMPT_MAX): a walk that waited for it to give up would not finish in time.
    let bound = CONNECT_ATTEMPT_MAX - Duration::from_secs(2);
    let deadline = Instant::now() + bound;
    let result = loop {
        if let Some(msg) = m.info_read() {
            break msg.result;
        }
        assert!(
            Instant::now() < deadline,
            "not connected within {bound:?}: the stalled address held the transfer up"
        );
        m.poll(Some(Duration::from_millis(100))).unwrap();
    };
    result.unwrap();
    let easy = m.remove(id).unwrap();
    let info = easy.info();
    assert_eq!(
        info.remote_addr,
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    );
    assert_eq!(info.num_connects, 1);
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn the_tool_takes_happy_eyeballs_timeout_ms() {
    let srv = Server::start(keep_alive_responder(b"over v4".to_vec()));
    let port = srv.port();
    let Some(_stalled) = stalled_v6(port) else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
        .args([
            "-s",
            "--happy-eyeballs-timeout-ms",
            "50",
            "--connect-timeout",
            "60",
            "--max-time",
            "30",
            "--resolve",
            &format!("dual.test:{port}:[::1],127.0.0.1"),
            "-w",
            " %{remote_ip}",
            &format!("http://dual.test:{port}/"),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"over v4 127.0.0.1");
}
