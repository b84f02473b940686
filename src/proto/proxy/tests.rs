use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

/// Feed `reply` to `h` split at `at` (and whole when `at` is `None`): what the last call
/// said, and how many bytes were taken in all.
fn feed(h: &mut dyn Handshake, reply: &[u8], at: usize) -> (Result<Status, ProxyError>, usize) {
    let mut taken = 0;
    let mut last = Ok(Status::More(0));
    for part in [&reply[..at], &reply[at..]] {
        let mut part = part;
        while !part.is_empty() {
            last = h.input(part);
            match last {
                Ok(Status::More(n)) => {
                    taken += n;
                    part = &part[n..];
                    if n == 0 {
                        break;
                    }
                }
                Ok(Status::Done(n)) => return (last, taken + n),
                Err(_) => return (last, taken),
            }
        }
    }
    (last, taken)
}

#[test]
fn connect_request_is_curls() {
    let h = HttpConnect::new(&ConnectRequest {
        authority: "example.com:443",
        proxy_authorization: Some("Basic dTpw"),
        user_agent: Some("curlew/0.1"),
    });
    assert_eq!(
        h.output(),
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
          Proxy-Authorization: Basic dTpw\r\nUser-Agent: curlew/0.1\r\n\
          Proxy-Connection: Keep-Alive\r\n\r\n"
    );
}

#[test]
fn connect_2xx_opens_the_tunnel_at_every_split_and_leaves_the_tunnels_bytes() {
    let reply =
        b"HTTP/1.1 100 Wait\r\n\r\nHTTP/1.1 200 Connection established\r\nVia: x\r\n\r\nTLS";
    for at in 0..reply.len() {
        let mut h = HttpConnect::new(&ConnectRequest {
            authority: "h:1",
            ..Default::default()
        });
        let (r, taken) = feed(&mut h, reply, at);
        assert!(matches!(r, Ok(Status::Done(_))), "split at {at}: {r:?}");
        assert_eq!(taken, reply.len() - 3, "split at {at}");
        assert_eq!(h.status(), Some(200));
        assert!(h.response_head().starts_with(b"HTTP/1.1 200"));
    }
}

#[test]
fn connect_refusals_garbage_eof_and_huge_heads_are_errors() {
    let new = || {
        HttpConnect::new(&ConnectRequest {
            authority: "h:1",
            ..Default::default()
        })
    };
    let mut h = new();
    let r = h.input(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r, Err(ProxyError::Refused(407)));
    assert_eq!(h.status(), Some(407));
    assert_eq!(
        ProxyError::Refused(407).to_string(),
        "CONNECT tunnel failed, response 407"
    );
    assert!(matches!(
        new().input(b"SSH-2.0-OpenSSH\r\n\r\n"),
        Err(ProxyError::Malformed(_))
    ));
    assert_eq!(new().input(b""), Err(ProxyError::Closed));
    let mut h = new();
    let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    huge.resize(MAX_CONNECT_HEAD + 10, b'a');
    assert_eq!(h.input(&huge), Err(ProxyError::TooLarge));
    let mut h = new();
    let mut r = Ok(Status::More(0));
    for _ in 0..20 {
        r = h.input(b"HTTP/1.1 102 Processing\r\n\r\n");
        if r.is_err() {
            break;
        }
    }
    assert!(
        matches!(r, Err(ProxyError::Malformed(_))),
        "interims bounded"
    );
}

#[test]
fn socks4_and_4a_requests_and_replies() {
    let ip = SocksTarget::Addr(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 8080);
    let mut h = Socks4::new(&ip, "me").unwrap();
    assert_eq!(h.output(), [4, 1, 0x1f, 0x90, 10, 1, 2, 3, b'm', b'e', 0]);
    h.sent(11);
    assert!(h.output().is_empty());
    let ok = [0, 90, 0, 0, 0, 0, 0, 0, 0xAA];
    for at in 0..ok.len() {
        let mut h = Socks4::new(&ip, "").unwrap();
        let (r, taken) = feed(&mut h, &ok, at);
        assert!(matches!(r, Ok(Status::Done(_))), "split at {at}");
        assert_eq!(taken, 8, "split at {at}");
    }
    let name = SocksTarget::Name("example.com".into(), 80);
    let h = Socks4::new(&name, "").unwrap();
    assert_eq!(&h.output()[..8], [4, 1, 0, 80, 0, 0, 0, 1]);
    assert_eq!(&h.output()[8..], b"\0example.com\0");
    let mut h = Socks4::new(&ip, "").unwrap();
    let e = h.input(&[0, 91, 0, 0, 0, 0, 0, 0]).unwrap_err();
    assert!(e.to_string().contains("rejected"), "{e}");
    let mut h = Socks4::new(&ip, "").unwrap();
    let e = h.input(&[5, 90, 0, 0, 0, 0, 0, 0]).unwrap_err();
    assert!(e.to_string().contains("wrong version"), "{e}");
    let mut h = Socks4::new(&ip, "").unwrap();
    assert_eq!(h.input(&[0, 90, 0]), Ok(Status::More(3)));
    assert!(h.input(b"").is_err(), "a truncated reply then EOF");
    let v6 = SocksTarget::Addr(IpAddr::V6(Ipv6Addr::LOCALHOST), 1);
    assert!(Socks4::new(&v6, "").is_err());
}

/// Run a SOCKS5 handshake against scripted proxy replies; the bytes we sent.
fn socks5_run(h: &mut Socks5, replies: &[&[u8]]) -> (Vec<Vec<u8>>, Result<Status, ProxyError>) {
    let mut sent = Vec::new();
    let mut last = Ok(Status::More(0));
    for r in replies {
        let out = h.output().to_vec();
        h.sent(out.len());
        sent.push(out);
        last = h.input(r);
        if last.is_err() {
            break;
        }
    }
    (sent, last)
}

#[test]
fn socks5_without_and_with_credentials() {
    let name = SocksTarget::Name("example.com".into(), 443);
    let mut h = Socks5::new(&name, None).unwrap();
    let reply = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];
    let (sent, r) = socks5_run(&mut h, &[&[5, 0], &reply]);
    assert_eq!(sent[0], [5, 1, 0]);
    let mut req = vec![5, 1, 0, 3, 11];
    req.extend_from_slice(b"example.com");
    req.extend_from_slice(&[1, 187]);
    assert_eq!(sent[1], req);
    assert_eq!(r, Ok(Status::Done(10)));

    let ip = SocksTarget::Addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 80);
    let mut h = Socks5::new(&ip, Some(("user", "pw"))).unwrap();
    let (sent, r) = socks5_run(&mut h, &[&[5, 2], &[1, 0], &reply]);
    assert_eq!(sent[0], [5, 2, 0, 2]);
    assert_eq!(sent[1], b"\x01\x04user\x02pw");
    assert_eq!(sent[2], [5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);
    assert_eq!(r, Ok(Status::Done(10)));
}

#[test]
fn socks5_replies_split_anywhere_and_with_a_domain_address() {
    let ip = SocksTarget::Addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 80);
    let mut all = vec![5, 0];
    let reply = [5, 0, 0, 3, 4, b'h', b'o', b's', b't', 0, 80];
    all.extend_from_slice(&reply);
    all.extend_from_slice(b"tunnel");
    for at in 0..all.len() {
        let mut h = Socks5::new(&ip, None).unwrap();
        let (r, taken) = feed(&mut h, &all, at);
        assert!(matches!(r, Ok(Status::Done(_))), "split at {at}: {r:?}");
        assert_eq!(taken, 2 + reply.len(), "split at {at}");
    }
}

#[test]
fn socks5_failures_say_why() {
    let ip = SocksTarget::Addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 80);
    type Case<'a> = (&'a [&'a [u8]], Option<(&'a str, &'a str)>, &'a str);
    let cases: &[Case<'_>] = &[
        (&[&[4, 0]], None, "wrong version"),
        (&[&[5, 0xff]], None, "none of our authentication"),
        (&[&[5, 2]], None, "did not offer"),
        (&[&[5, 2], &[1, 1]], Some(("u", "p")), "rejected"),
        (
            &[&[5, 0], &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]],
            None,
            "connection refused",
        ),
        (&[&[5, 0], &[5, 0, 0, 9, 0]], None, "unknown address type"),
        (&[&[5, 0], &[6, 0, 0, 1, 0]], None, "wrong version"),
    ];
    for (replies, creds, want) in cases {
        let mut h = Socks5::new(&ip, *creds).unwrap();
        let (_, r) = socks5_run(&mut h, replies);
        let e = r.unwrap_err().to_string();
        assert!(e.contains(want), "{replies:?}: {e}");
    }
    let mut h = Socks5::new(&ip, None).unwrap();
    assert_eq!(h.input(&[5]), Ok(Status::More(1)));
    assert!(h.input(b"").is_err(), "a truncated reply then EOF");
    let long = "x".repeat(256);
    assert!(Socks5::new(&ip, Some((&long, "p"))).is_err());
    assert!(Socks5::new(&SocksTarget::Name(long, 1), None).is_err());
}
