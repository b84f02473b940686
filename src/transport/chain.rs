//! Connecting as a chain of filters (curl's `lib/cfilters.c`): a connection is made by
//! connecting its filters bottom-up, each over the stream the ones below it made ready. Today
//! the chain is TCP, then a proxy tunnel (HTTP `CONNECT`, SOCKS) when the transfer goes
//! through one, then TLS to the origin for `https` and `wss`.
//!
//! The filters still to connect are a list ([`Chain`]); the head is the one being connected.
//! The stream's shape is fixed when the connection is made (TCP, or rustls over TCP, see
//! [`Stream`]); a filter works on the layer it belongs to, so a tunnel below TLS talks on the
//! socket itself, in the clear, before the handshake starts.

use std::io;

use super::{tls, Conn, Phase, SocketRef, Stream};
use crate::error::{Error, ErrorKind};

/// One step on the way to a ready connection.
pub(crate) enum Filter {
    /// The socket's connect: TCP to the address being tried, or the unix socket.
    Tcp,
    /// The TLS handshake with an HTTPS proxy, right over TCP.
    ProxyTls,
    /// A proxy handshake (HTTP `CONNECT`, SOCKS) on the socket or over TLS to the proxy,
    /// before TLS to the origin.
    Tunnel,
    /// The TLS handshake over the layer below.
    Tls,
}

/// The filters of a connection still to connect, bottom first.
#[derive(Default)]
pub(crate) struct Chain {
    todo: Vec<Filter>,
}

impl Chain {
    /// The chain of a stream: TCP, then TLS if the stream is a TLS one.
    pub(crate) fn for_stream(stream: &Stream) -> Chain {
        // Stored top first: the head (the filter to connect now) is the last element.
        let todo = match stream {
            Stream::Tcp(_) | Stream::Unix(_) => vec![Filter::Tcp],
            Stream::Tls(t) if t.is_nested() => vec![Filter::Tls, Filter::ProxyTls, Filter::Tcp],
            Stream::Tls(_) => vec![Filter::Tls, Filter::Tcp],
        };
        Chain { todo }
    }

    /// The only TLS layer is an HTTPS proxy's (the origin is plain HTTP).
    pub(crate) fn proxy_tls_only(&mut self) {
        for f in &mut self.todo {
            if matches!(f, Filter::Tls) {
                *f = Filter::ProxyTls;
            }
        }
    }

    /// Put a tunnel right above TCP or TLS to the proxy (the chain has not gone past them).
    pub(crate) fn add_tunnel(&mut self) {
        let below = self
            .todo
            .iter()
            .position(|f| matches!(f, Filter::ProxyTls))
            .unwrap_or(self.todo.len().saturating_sub(1));
        self.todo.insert(below, Filter::Tunnel);
    }

    /// Where the chain is: the phase of its head filter, or ready.
    pub(crate) fn phase(&self) -> Phase {
        match self.todo.last() {
            Some(Filter::Tcp) => Phase::TcpConnecting,
            Some(Filter::ProxyTls) => Phase::ProxyHandshaking,
            Some(Filter::Tunnel) => Phase::Tunneling,
            Some(Filter::Tls) => Phase::Handshaking,
            None => Phase::Ready,
        }
    }
}

impl Conn {
    /// Drive the connection towards `Ready`, one filter after the other. `Ok(true)` once
    /// ready; `Ok(false)` when a filter waits for the socket.
    pub(crate) fn connect_step(&mut self) -> Result<bool, Error> {
        loop {
            let done = match self.chain.todo.last() {
                None => return Ok(true),
                Some(Filter::Tcp) => self.tcp_step()?,
                Some(Filter::Tunnel) => self.tunnel_step()?,
                Some(Filter::ProxyTls) => self.tls_step(true)?,
                Some(Filter::Tls) => self.tls_step(false)?,
            };
            if !done {
                return Ok(false);
            }
            self.chain.todo.pop();
            self.phase = self.chain.phase();
        }
    }

    /// Connect the socket only (the chain's first filter; what racing attempts do). `Ok(true)`
    /// once it is connected.
    pub(crate) fn connect_socket(&mut self) -> Result<bool, Error> {
        if !matches!(self.chain.todo.last(), Some(Filter::Tcp)) {
            return Ok(true);
        }
        if !self.tcp_step()? {
            return Ok(false);
        }
        self.chain.todo.pop();
        self.phase = self.chain.phase();
        Ok(true)
    }

    /// The socket's connect: done once the socket reports a peer.
    fn tcp_step(&mut self) -> Result<bool, Error> {
        if !self.writable && !self.readable {
            return Ok(false);
        }
        let s = self.socket();
        if let Some(e) = s.take_error().map_err(connect_err)? {
            return Err(connect_err(e));
        }
        match s.check_connected() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                self.writable = false;
                return Ok(false);
            }
            Err(e) => return Err(connect_err(e)),
        }
        // TCP only: a unix socket has no Nagle and no IP address.
        if let SocketRef::Tcp(s) = s {
            let _ = s.set_nodelay(true);
            self.local = s.local_addr().ok();
        }
        Ok(true)
    }

    /// The TLS handshake (the proxy's, the innermost layer, when `proxy`): done once rustls
    /// is.
    fn tls_step(&mut self, proxy: bool) -> Result<bool, Error> {
        let Stream::Tls(t) = &mut self.stream else {
            return Err(Error::from_kind(ErrorKind::Internal));
        };
        // The proxy's layer is the one right over the socket: below the origin's when
        // nested, else the only one.
        let t = if proxy && t.is_nested() {
            t.proxy_layer()
                .ok_or_else(|| Error::from_kind(ErrorKind::Internal))?
        } else {
            t
        };
        loop {
            while t.tls.wants_write() {
                match t.tls.write_tls(&mut t.tcp) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        break;
                    }
                    Err(e) => return Err(send_err(e)),
                }
            }
            // TLS in TLS: our records may wait in the proxy's layer.
            match std::io::Write::flush(&mut t.tcp) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) => return Err(send_err(e)),
            }
            if !t.tls.is_handshaking() {
                return Ok(true);
            }
            if !t.tls.wants_read() {
                return Ok(false);
            }
            match t.tls.read_tls(&mut t.tcp) {
                Ok(0) => {
                    return Err(Error::new(
                        ErrorKind::SslConnectError,
                        "connection closed during the TLS handshake",
                    ))
                }
                Ok(_) => {
                    if let Err(e) = t.tls.process_new_packets() {
                        // Flush the alert we owe the server, then fail.
                        let _ = t.tls.write_tls(&mut t.tcp);
                        return Err(tls::handshake_error(e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(false);
                }
                Err(e) => {
                    return Err(
                        Error::new(ErrorKind::SslConnectError, "TLS handshake receive")
                            .with_source(e),
                    )
                }
            }
        }
    }
}

fn send_err(e: io::Error) -> Error {
    Error::new(ErrorKind::SslConnectError, "TLS handshake send").with_source(e)
}

fn connect_err(e: io::Error) -> Error {
    Error::new(ErrorKind::CouldntConnect, e.to_string()).with_source(e)
}
