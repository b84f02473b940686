//! The tunnel filter (curl's `cf-h1-proxy` and `cf-socks-proxy`): between TCP and TLS to the
//! origin, a proxy handshake on the socket itself, in the clear (see
//! [`crate::proto::proxy`] for the handshakes). Bytes the proxy sent after its part (the
//! origin's, through the tunnel) go to the layer above: rustls for a TLS stream, the
//! receive buffer for a plain one.

use std::io::{self, Read as _, Write as _};

use super::{Conn, Stream, TcpStream, TlsStream, Wire};
use crate::error::{Error, ErrorKind};
use crate::proto::proxy::{Handshake, HttpConnect, ProxyError, Socks4, Socks5, Status};

/// Bytes read from the socket per read while the proxy answers.
const TUNNEL_READ: usize = 4096;

/// A proxy handshake under way on a connection.
pub(crate) enum Tunnel {
    /// HTTP `CONNECT`.
    Http(HttpConnect),
    /// SOCKS4 or SOCKS4a.
    Socks4(Socks4),
    /// SOCKS5 or SOCKS5h.
    Socks5(Socks5),
}

impl Tunnel {
    fn handshake(&mut self) -> &mut dyn Handshake {
        match self {
            Tunnel::Http(h) => h,
            Tunnel::Socks4(h) => h,
            Tunnel::Socks5(h) => h,
        }
    }

    /// The proxy's `CONNECT` status, once known (`CURLINFO_HTTP_CONNECTCODE`).
    pub(crate) fn connect_code(&self) -> Option<u16> {
        match self {
            Tunnel::Http(h) => h.status(),
            _ => None,
        }
    }
}

/// A handshake failure as the transfer's error, curl's codes: a refused or aborted `CONNECT`
/// is `CURLE_RECV_ERROR` (56), a garbled answer `CURLE_WEIRD_SERVER_REPLY`, an oversized one
/// `CURLE_TOO_LARGE`, any SOCKS failure `CURLE_PROXY` (97).
pub(crate) fn tunnel_error(e: ProxyError) -> Error {
    let kind = match &e {
        ProxyError::Refused(_) | ProxyError::Closed => ErrorKind::RecvError,
        ProxyError::Malformed(_) => ErrorKind::WeirdServerReply,
        ProxyError::TooLarge => ErrorKind::TooLarge,
        ProxyError::Socks(_) => ErrorKind::Proxy,
    };
    Error::new(kind, e.to_string())
}

impl Conn {
    /// The only TLS layer is an HTTPS proxy's: the origin is plain HTTP over it.
    pub(crate) fn proxy_tls_only(&mut self) {
        self.origin_tls = false;
        self.chain.proxy_tls_only();
        self.phase = self.chain.phase();
    }

    /// Start a proxy handshake once TCP is up (the chain's tunnel filter).
    pub(crate) fn set_tunnel(&mut self, t: Tunnel) {
        self.tunnel = Some(Box::new(t));
        self.chain.add_tunnel();
        self.phase = self.chain.phase();
    }

    /// The tunnel filter: send what the handshake has, read what the proxy says, until the
    /// tunnel is up. `Ok(false)` while it waits for the socket.
    pub(crate) fn tunnel_step(&mut self) -> Result<bool, Error> {
        let mut buf = [0u8; TUNNEL_READ];
        loop {
            let Some(t) = self.tunnel.as_deref_mut() else {
                return Err(Error::from_kind(ErrorKind::Internal));
            };
            let mut below = match &mut self.stream {
                Stream::Tcp(s) => Below::Socket(s),
                // Proxies are not used over unix sockets (as in curl).
                Stream::Unix(_) => return Err(Error::from_kind(ErrorKind::Internal)),
                Stream::Tls(t) if self.origin_tls => Below::Wire(&mut t.tcp),
                Stream::Tls(t) => Below::ProxyTls(t),
            };
            let hs = t.handshake();
            while !hs.output().is_empty() {
                match below.write(hs.output()) {
                    Ok(n) => hs.sent(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        return Ok(false);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(send_err(e)),
                }
            }
            match below.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    return Ok(false);
                }
                Err(e) => return Err(send_err(e)),
            }
            let n = match below.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(recv_err(e)),
            };
            let mut input = &buf[..n];
            loop {
                match hs.input(input).map_err(tunnel_error)? {
                    Status::More(k) if k < input.len() && k > 0 => input = &input[k..],
                    Status::More(_) => break,
                    Status::Done(k) => {
                        let rest = input.get(k..).unwrap_or_default().to_vec();
                        self.hand_up(&rest)?;
                        return Ok(true);
                    }
                }
            }
        }
    }

    /// Bytes that came through the new tunnel go to the layer above it.
    fn hand_up(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.is_empty() {
            return Ok(());
        }
        match &mut self.stream {
            Stream::Tls(t) if self.origin_tls => {
                // The origin's server never speaks first in TLS: whatever this is, rustls
                // judges it (a hostile proxy's garbage fails the handshake here).
                let mut rd = bytes;
                while !rd.is_empty() {
                    if t.tls.read_tls(&mut rd).map_err(recv_err)? == 0 {
                        break;
                    }
                    t.tls
                        .process_new_packets()
                        .map_err(super::tls::handshake_error)?;
                }
            }
            // Plain HTTP, on the socket or over TLS to an HTTPS proxy.
            _ => {
                self.rbuf.clear();
                self.rbuf.extend_from_slice(bytes);
                self.rpos = 0;
                self.rend = bytes.len();
                self.readable = true;
            }
        }
        Ok(())
    }
}

/// Where the proxy handshake talks: the socket, what the origin's TLS will run on (the
/// socket, or TLS to an HTTPS proxy), or the HTTPS proxy's TLS when the origin is plain.
enum Below<'a> {
    Socket(&'a mut TcpStream),
    Wire(&'a mut Wire),
    ProxyTls(&'a mut TlsStream),
}

impl io::Read for Below<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Below::Socket(s) => s.read(buf),
            Below::Wire(w) => w.read(buf),
            Below::ProxyTls(t) => t.read(buf),
        }
    }
}

impl io::Write for Below<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Below::Socket(s) => s.write(buf),
            Below::Wire(w) => w.write(buf),
            Below::ProxyTls(t) => t.write_vectored(&[io::IoSlice::new(buf)]),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Below::Socket(_) => Ok(()),
            Below::Wire(w) => w.flush(),
            Below::ProxyTls(t) => t.flush(),
        }
    }
}

fn send_err(e: io::Error) -> Error {
    Error::new(ErrorKind::SendError, format!("proxy handshake: {e}")).with_source(e)
}

fn recv_err(e: io::Error) -> Error {
    Error::new(ErrorKind::RecvError, format!("proxy handshake: {e}")).with_source(e)
}
