//! The simulated network's sockets behave like non-blocking TCP: `WouldBlock` when empty or
//! still connecting, EOF after the server closes, refusal from an address nobody listens on,
//! a connect that never completes on a black hole, and `peek` that leaves bytes in place.

use std::io::{ErrorKind, IoSlice};
use std::net::SocketAddr;

use crate::sim::{Listen, Net};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn open_connection_reads_writes_peeks_and_ends() {
    let net = Net::default();
    net.listen(addr(1), Listen::Accept);
    let mut c = net.connect(addr(1));
    assert!(c.take_error().unwrap().is_none());
    assert_eq!(c.peer_addr().unwrap(), addr(1));
    let mut srv = net.accept().unwrap();
    assert_eq!(srv.id(), 0);
    let mut buf = [0u8; 8];
    assert_eq!(c.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(c.peek(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    let n = c
        .write_vectored(&[IoSlice::new(b"he"), IoSlice::new(b"llo")])
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(srv.read_all(), b"hello");
    let before = net.readiness(c.fd()).unwrap();
    assert!(!before.readable && before.writable);
    srv.write(b"abc");
    let after = net.readiness(c.fd()).unwrap();
    assert!(after.readable && after.events > before.events);
    assert_eq!(c.peek(&mut buf).unwrap(), 3);
    assert_eq!(c.read(&mut buf[..2]).unwrap(), 2);
    assert_eq!(&buf[..2], b"ab");
    srv.close();
    assert_eq!(c.read(&mut buf).unwrap(), 1);
    assert_eq!(c.read(&mut buf).unwrap(), 0, "EOF after the close");
    assert!(!srv.client_closed());
    drop(c);
    assert!(srv.client_closed());
}

#[test]
fn refused_and_black_holed_connects() {
    let net = Net::default();
    net.listen(addr(2), Listen::Blackhole);
    let refused = net.connect(addr(1));
    let r = net.readiness(refused.fd()).unwrap();
    assert!(r.error && r.readable && r.writable);
    let e = refused.take_error().unwrap().expect("the refusal");
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    assert!(refused.take_error().unwrap().is_none(), "reported once");
    let pending = net.connect(addr(2));
    let r = net.readiness(pending.fd()).unwrap();
    assert!(!r.readable && !r.writable && !r.error);
    assert_eq!(
        pending.peer_addr().unwrap_err().kind(),
        ErrorKind::NotConnected
    );
    assert!(net.accept().is_none(), "neither reached a server");
    assert_eq!(net.connects(), 2);
    assert!(net.readiness(3).is_none(), "not a simulated socket");
}
