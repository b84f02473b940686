//! SOCKS 4 and 4a (the de-facto protocol of NEC's 1992 paper and its 4a extension) and
//! SOCKS 5 (RFC 1928) with username/password authentication (RFC 1929): the `CONNECT`
//! command only, as curl uses them. Replies have known lengths, so a handshake takes exactly
//! its own bytes; a wrong version, a refusal or a short reply is a [`ProxyError::Socks`] with
//! the reason in words.

use std::net::{IpAddr, Ipv4Addr};

use super::{Handshake, ProxyError, Status};

/// Where the proxy is to connect: an address we resolved, or a name it resolves
/// (SOCKS4a, SOCKS5h).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocksTarget {
    /// An address (resolved here).
    Addr(IpAddr, u16),
    /// A host name for the proxy to resolve (at most 255 bytes).
    Name(String, u16),
}

fn socks_err(msg: impl Into<String>) -> ProxyError {
    ProxyError::Socks(msg.into())
}

/// Fill `buf` up to `want` bytes from `input` (from `at`); how many it took.
fn gather(buf: &mut Vec<u8>, want: usize, input: &[u8]) -> usize {
    let take = want.saturating_sub(buf.len()).min(input.len());
    buf.extend_from_slice(&input[..take]);
    take
}

/// The SOCKS4 / SOCKS4a handshake: one request, one 8-byte reply.
#[derive(Debug)]
pub struct Socks4 {
    out: Vec<u8>,
    sent: usize,
    reply: Vec<u8>,
}

impl Socks4 {
    /// A `CONNECT` to `target` as `user` (the USERID field; empty is allowed). A name
    /// target is SOCKS4a; an address must be IPv4.
    pub fn new(target: &SocksTarget, user: &str) -> Result<Socks4, ProxyError> {
        let mut out = vec![4, 1];
        let (ip, name, port) = match target {
            SocksTarget::Addr(IpAddr::V4(ip), port) => (*ip, None, *port),
            SocksTarget::Addr(IpAddr::V6(_), _) => {
                return Err(socks_err(
                    "SOCKS4 connection to an IPv6 address is not supported",
                ))
            }
            // 0.0.0.1: "the name follows" (SOCKS4a).
            SocksTarget::Name(n, port) => (Ipv4Addr::new(0, 0, 0, 1), Some(n), *port),
        };
        out.extend_from_slice(&port.to_be_bytes());
        out.extend_from_slice(&ip.octets());
        if user.contains('\0') || name.is_some_and(|n| n.contains('\0') || n.len() > 255) {
            return Err(socks_err("SOCKS4: a NUL byte or a name over 255 bytes"));
        }
        out.extend_from_slice(user.as_bytes());
        out.push(0);
        if let Some(n) = name {
            out.extend_from_slice(n.as_bytes());
            out.push(0);
        }
        Ok(Socks4 {
            out,
            sent: 0,
            reply: Vec::with_capacity(8),
        })
    }
}

impl Handshake for Socks4 {
    fn output(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    fn sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.out.len());
    }

    fn input(&mut self, input: &[u8]) -> Result<Status, ProxyError> {
        if input.is_empty() {
            return Err(socks_err(
                "SOCKS4: the proxy closed the connection before its reply",
            ));
        }
        let took = gather(&mut self.reply, 8, input);
        if self.reply.len() < 8 {
            return Ok(Status::More(took));
        }
        if self.reply[0] != 0 {
            return Err(socks_err(format!(
                "SOCKS4 reply has wrong version, version should be 0, was {}",
                self.reply[0]
            )));
        }
        match self.reply[1] {
            90 => Ok(Status::Done(took)),
            91 => Err(socks_err("SOCKS4 request rejected or failed (91)")),
            92 => Err(socks_err(
                "SOCKS4 request rejected: the proxy cannot reach our identd (92)",
            )),
            93 => Err(socks_err(
                "SOCKS4 request rejected: identd reports a different user id (93)",
            )),
            n => Err(socks_err(format!("SOCKS4 reply has an unknown code {n}"))),
        }
    }
}

/// Where a SOCKS5 handshake is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum S5 {
    /// Waiting for the method choice (2 bytes).
    Method,
    /// Waiting for the username/password verdict (2 bytes).
    Auth,
    /// Waiting for the reply's first 5 bytes (enough to know its length).
    ReplyHead,
    /// Waiting for the rest of the reply: this many bytes in all.
    Reply(usize),
}

/// The SOCKS5 handshake: method negotiation, optional username/password, `CONNECT`.
#[derive(Debug)]
pub struct Socks5 {
    out: Vec<u8>,
    sent: usize,
    state: S5,
    buf: Vec<u8>,
    creds: Option<(String, String)>,
    request: Vec<u8>,
}

impl Socks5 {
    /// A `CONNECT` to `target`, offering username/password when `creds` are given (each at
    /// most 255 bytes, RFC 1929).
    pub fn new(target: &SocksTarget, creds: Option<(&str, &str)>) -> Result<Socks5, ProxyError> {
        if let Some((u, p)) = creds {
            if u.len() > 255 || p.len() > 255 {
                return Err(socks_err(
                    "SOCKS5: user name or password over 255 bytes (RFC 1929)",
                ));
            }
        }
        let mut request = vec![5, 1, 0];
        let port = match target {
            SocksTarget::Addr(IpAddr::V4(ip), port) => {
                request.push(1);
                request.extend_from_slice(&ip.octets());
                *port
            }
            SocksTarget::Addr(IpAddr::V6(ip), port) => {
                request.push(4);
                request.extend_from_slice(&ip.octets());
                *port
            }
            SocksTarget::Name(n, port) => {
                let len = u8::try_from(n.len())
                    .map_err(|_| socks_err("SOCKS5: host name over 255 bytes"))?;
                request.push(3);
                request.push(len);
                request.extend_from_slice(n.as_bytes());
                *port
            }
        };
        request.extend_from_slice(&port.to_be_bytes());
        let out = match creds {
            Some(_) => vec![5, 2, 0, 2],
            None => vec![5, 1, 0],
        };
        Ok(Socks5 {
            out,
            sent: 0,
            state: S5::Method,
            buf: Vec::with_capacity(8),
            creds: creds.map(|(u, p)| (u.to_owned(), p.to_owned())),
            request,
        })
    }

    /// Send `bytes` next (the previous output is all sent: the proxy answered it).
    fn send(&mut self, bytes: Vec<u8>) {
        self.out = bytes;
        self.sent = 0;
    }

    fn on_method(&mut self) -> Result<(), ProxyError> {
        let [ver, method] = [self.buf[0], self.buf[1]];
        if ver != 5 {
            return Err(socks_err(format!(
                "SOCKS5 reply has wrong version, version should be 5, was {ver}"
            )));
        }
        match (method, self.creds.take()) {
            (0, _) => {
                let req = std::mem::take(&mut self.request);
                self.send(req);
                self.state = S5::ReplyHead;
            }
            (2, Some((u, p))) => {
                let mut auth = vec![1, u.len() as u8];
                auth.extend_from_slice(u.as_bytes());
                auth.push(p.len() as u8);
                auth.extend_from_slice(p.as_bytes());
                self.send(auth);
                self.state = S5::Auth;
            }
            (0xff, _) => {
                return Err(socks_err(
                    "SOCKS5: the proxy accepts none of our authentication methods",
                ))
            }
            (m, _) => {
                return Err(socks_err(format!(
                    "SOCKS5: the proxy chose a method we did not offer ({m})"
                )))
            }
        }
        Ok(())
    }

    fn on_auth(&mut self) -> Result<(), ProxyError> {
        if self.buf[0] != 1 {
            return Err(socks_err(format!(
                "SOCKS5 sub-negotiation reply has wrong version, should be 1, was {}",
                self.buf[0]
            )));
        }
        if self.buf[1] != 0 {
            return Err(socks_err(format!(
                "SOCKS5 user name and password rejected ({})",
                self.buf[1]
            )));
        }
        let req = std::mem::take(&mut self.request);
        self.send(req);
        self.state = S5::ReplyHead;
        Ok(())
    }

    /// The reply's first five bytes: version, code, and how long the rest is.
    fn on_reply_head(&mut self) -> Result<usize, ProxyError> {
        let b = &self.buf;
        if b[0] != 5 {
            return Err(socks_err(format!(
                "SOCKS5 reply has wrong version, version should be 5, was {}",
                b[0]
            )));
        }
        if b[1] != 0 {
            return Err(socks_err(format!(
                "Can't complete SOCKS5 connection: {} ({})",
                reply_reason(b[1]),
                b[1]
            )));
        }
        // VER REP RSV ATYP, then the address (4, 1+len, 16) and the port (2).
        match b[3] {
            1 => Ok(4 + 4 + 2),
            3 => Ok(4 + 1 + usize::from(b[4]) + 2),
            4 => Ok(4 + 16 + 2),
            t => Err(socks_err(format!(
                "SOCKS5 reply has an unknown address type {t}"
            ))),
        }
    }
}

/// RFC 1928 §6's reply codes in words.
fn reply_reason(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}

impl Handshake for Socks5 {
    fn output(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    fn sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.out.len());
    }

    fn input(&mut self, input: &[u8]) -> Result<Status, ProxyError> {
        if input.is_empty() {
            return Err(socks_err(
                "SOCKS5: the proxy closed the connection in the handshake",
            ));
        }
        let mut taken = 0;
        loop {
            let want = match self.state {
                S5::Method | S5::Auth => 2,
                S5::ReplyHead => 5,
                S5::Reply(n) => n,
            };
            taken += gather(&mut self.buf, want, &input[taken..]);
            if self.buf.len() < want {
                return Ok(Status::More(taken));
            }
            match self.state {
                S5::Method => self.on_method()?,
                S5::Auth => self.on_auth()?,
                S5::ReplyHead => {
                    let n = self.on_reply_head()?;
                    self.state = S5::Reply(n);
                    continue;
                }
                S5::Reply(_) => return Ok(Status::Done(taken)),
            }
            self.buf.clear();
            if taken == input.len() {
                return Ok(Status::More(taken));
            }
        }
    }
}
