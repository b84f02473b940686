//! The address walk of a new connection (curl's `cf-socket` and the happy-eyeballs filter,
//! sequential here): the resolved addresses are tried one after the other, each under its
//! share of the connect timeout, until one connects or none is left. The [`Connector`] owns
//! that state; the caller registers each attempt's socket, connects its filter chain
//! ([`super::chain`]) and reports the outcome.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use super::socket::UnixTarget;
use super::{Conn, PoolKey, Socket, Stream};
use crate::error::{Error, ErrorKind, Result};

/// Longest a single address may take to connect when others remain to try.
pub const CONNECT_ATTEMPT_MAX: Duration = Duration::from_secs(10);

/// A socket just opened to `peer` (an address or a unix socket's path), or why it could not
/// be: `CURLE_INTERFACE_FAILED` for a bind, else `CURLE_COULDNT_CONNECT`, the peer named.
pub(crate) fn opened(peer: &dyn std::fmt::Display, sock: io::Result<Socket>) -> Result<Socket> {
    sock.map_err(|e| {
        let kind = match super::socket::is_bind_error(&e) {
            true => ErrorKind::InterfaceFailed,
            false => ErrorKind::CouldntConnect,
        };
        Error::new(kind, format!("{peer}: {e}")).with_source(e)
    })
}

/// TLS to set up over each attempt: the configuration and the server name.
pub(crate) type TlsPlan = (Arc<ClientConfig>, ServerName<'static>);

/// A connection being made: the addresses, the one being tried, the last failure.
pub(crate) struct Connector {
    addrs: Arc<[SocketAddr]>,
    next: usize,
    /// When the attempt under way gives up on its address.
    attempt_deadline: Option<Instant>,
    last_error: Option<Error>,
    tls: Option<TlsPlan>,
    /// TLS to an HTTPS proxy, under the origin's if there is one.
    pub(crate) proxy_tls: Option<TlsPlan>,
    key: Arc<PoolKey>,
    /// Through a proxy: what is being resolved now, and what comes next.
    pub(crate) resolving: Resolving,
    /// The target's address, resolved here for a SOCKS4 or SOCKS5 proxy.
    pub(crate) socks_addr: Option<std::net::IpAddr>,
    /// The addresses were shuffled already.
    shuffled: bool,
    /// A unix domain socket to connect to instead of addresses (taken by its one attempt).
    unix: Option<UnixTarget>,
}

/// Which name a connection is waiting for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Resolving {
    /// The origin's (direct), or nothing yet.
    #[default]
    Origin,
    /// The target's, for a SOCKS proxy that takes addresses; the proxy's comes next.
    SocksTarget,
    /// The proxy's name is to be looked up next.
    ProxyNext,
    /// The proxy's.
    Proxy,
}

impl Connector {
    /// A connection to the origin `key`, with TLS over each attempt if `tls`; its addresses
    /// come with [`resolved`](Self::resolved).
    pub(crate) fn new(key: Arc<PoolKey>, tls: Option<TlsPlan>) -> Self {
        Connector {
            addrs: Arc::from([]),
            next: 0,
            attempt_deadline: None,
            last_error: None,
            tls,
            proxy_tls: None,
            key,
            resolving: Resolving::Origin,
            socks_addr: None,
            shuffled: false,
            unix: None,
        }
    }

    /// Connect to the unix socket `target` instead (no name is resolved).
    pub(crate) fn set_unix(&mut self, target: UnixTarget) {
        self.unix = Some(target);
    }

    /// The unix socket to try, once (`None` after its attempt, or without one).
    pub(crate) fn take_unix(&mut self) -> Option<UnixTarget> {
        self.unix.take()
    }

    /// The resolver's answer: the addresses to walk, or why there are none (reported when
    /// the walk finds no address).
    pub(crate) fn resolved(&mut self, answer: std::result::Result<Arc<[SocketAddr]>, Error>) {
        self.next = 0;
        match answer {
            Ok(addrs) => {
                self.addrs = addrs;
                self.last_error = None;
            }
            Err(e) => {
                self.addrs = Arc::from([]);
                self.last_error = Some(e);
            }
        }
    }

    /// Shuffle the addresses before the first is tried (`CURLOPT_DNS_SHUFFLE_ADDRESSES`); a
    /// no-op once the walk has begun.
    pub(crate) fn shuffle_once(&mut self, rng: &mut crate::rng::SecureRng) {
        if self.next > 0 || self.addrs.len() < 2 || self.shuffled {
            return;
        }
        self.shuffled = true;
        let mut v: Vec<SocketAddr> = self.addrs.to_vec();
        for i in (1..v.len()).rev() {
            let mut b = [0u8; 4];
            rng.fill(&mut b);
            let j = (u32::from_le_bytes(b) as usize) % (i + 1);
            v.swap(i, j);
        }
        self.addrs = v.into();
    }

    /// The next address to try, or `None` when none is left.
    pub(crate) fn next_addr(&mut self) -> Option<SocketAddr> {
        let addr = self.addrs.get(self.next).copied()?;
        self.next += 1;
        Some(addr)
    }

    /// Make the connection of an attempt on `sock`, the socket opened to `addr` (connect in
    /// progress; see [`opened`] for its error), with this walk's filters; `serial` names the
    /// connection in messages. The attempt's deadline is its share of what is left of the
    /// connect timeout (`connect_deadline`), at most [`CONNECT_ATTEMPT_MAX`] while other
    /// addresses remain.
    pub(crate) fn open(
        &mut self,
        addr: SocketAddr,
        sock: Result<Socket>,
        serial: u64,
        now: Instant,
        connect_deadline: Option<Instant>,
    ) -> Result<Box<Conn>> {
        let tcp = sock?;
        let client = |(cfg, name): &TlsPlan| {
            rustls::ClientConnection::new(cfg.clone(), name.clone())
                .map_err(|e| Error::new(ErrorKind::SslConnectError, e.to_string()).with_source(e))
        };
        let stream = match (&self.proxy_tls, &self.tls) {
            (None, Some(origin)) => Stream::new_tls(tcp, client(origin)?),
            (None, None) => Stream::plain(tcp),
            (Some(proxy), Some(origin)) => {
                Stream::new_tls_in_tls(tcp, client(proxy)?, client(origin)?)
            }
            (Some(proxy), None) => Stream::new_tls(tcp, client(proxy)?),
        };
        let left = self.addrs.len() - self.next;
        let remaining = connect_deadline
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(CONNECT_ATTEMPT_MAX);
        let share = if left > 0 {
            (remaining / (left as u32 + 1)).min(CONNECT_ATTEMPT_MAX)
        } else {
            remaining
        };
        self.attempt_deadline = Some(now + share);
        let mut conn = Box::new(Conn::new(stream, addr, self.key.clone(), serial));
        if self.proxy_tls.is_some() && self.tls.is_none() {
            conn.proxy_tls_only();
        }
        Ok(conn)
    }

    /// The attempt under way connected its socket: TLS runs under the connect timeout only (a
    /// slow handshake is not a bad address).
    pub(crate) fn tcp_connected(&mut self) {
        self.attempt_deadline = None;
    }

    /// The deadline of the attempt under way, if it has one.
    pub(crate) fn attempt_deadline(&self) -> Option<Instant> {
        self.attempt_deadline
    }

    /// The attempt under way failed with `e`: the next address follows.
    pub(crate) fn attempt_failed(&mut self, e: Error) {
        self.attempt_deadline = None;
        self.last_error = Some(e);
    }

    /// The last failure, when every address failed.
    pub(crate) fn take_error(&mut self) -> Option<Error> {
        self.last_error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Arc<PoolKey> {
        Arc::new(PoolKey::new(false, "h".into(), 80, 0))
    }

    fn tcp(a: SocketAddr) -> Result<Socket> {
        opened(&a, Stream::tcp(a).map(Socket::Tcp))
    }

    fn addrs(n: u16) -> Arc<[SocketAddr]> {
        (0..n)
            .map(|i| SocketAddr::from(([127, 0, 0, 1], 9 + i)))
            .collect()
    }

    #[test]
    fn walks_the_addresses_in_order_and_shares_the_timeout() {
        let mut c = Connector::new(key(), None);
        c.resolved(Ok(addrs(3)));
        let now = Instant::now();
        let deadline = Some(now + Duration::from_secs(9));
        let a = c.next_addr().unwrap();
        assert_eq!(a.port(), 9);
        c.open(a, tcp(a), 0, now, deadline).unwrap();
        // Two addresses left: a third of what remains.
        assert_eq!(c.attempt_deadline(), Some(now + Duration::from_secs(3)));
        c.attempt_failed(Error::new(ErrorKind::CouldntConnect, "refused"));
        assert_eq!(c.attempt_deadline(), None);
        let b = c.next_addr().unwrap();
        c.open(b, tcp(b), 1, now, deadline).unwrap();
        assert_eq!(
            c.attempt_deadline(),
            Some(now + Duration::from_millis(4500))
        );
        c.tcp_connected();
        assert_eq!(
            c.attempt_deadline(),
            None,
            "TLS runs under the connect timeout only"
        );
        let last = c.next_addr().unwrap();
        c.open(last, tcp(last), 2, now, deadline).unwrap();
        assert_eq!(
            c.attempt_deadline(),
            deadline,
            "the last address gets all that is left"
        );
        assert_eq!(c.next_addr(), None);
        assert_eq!(c.take_error().unwrap().kind(), ErrorKind::CouldntConnect);
    }

    #[test]
    fn an_attempt_never_waits_longer_than_the_cap_while_others_remain() {
        let mut c = Connector::new(key(), None);
        c.resolved(Ok(addrs(2)));
        let now = Instant::now();
        let a = c.next_addr().unwrap();
        c.open(a, tcp(a), 0, now, Some(now + Duration::from_secs(3600)))
            .unwrap();
        assert_eq!(c.attempt_deadline(), Some(now + CONNECT_ATTEMPT_MAX));
    }

    #[test]
    fn shuffling_keeps_every_address_and_happens_once_before_the_walk() {
        let mut rng = crate::rng::SecureRng::new().unwrap();
        let mut orders = std::collections::HashSet::new();
        for _ in 0..20 {
            let mut c = Connector::new(key(), None);
            c.resolved(Ok(addrs(8)));
            c.shuffle_once(&mut rng);
            let first = c.addrs.to_vec();
            c.shuffle_once(&mut rng);
            assert_eq!(c.addrs.to_vec(), first, "once");
            let mut sorted = first.clone();
            sorted.sort();
            assert_eq!(sorted, addrs(8).to_vec(), "the same addresses");
            orders.insert(first);
        }
        assert!(orders.len() > 1, "20 shuffles of 8 gave one order");
    }

    #[test]
    fn a_failed_resolve_is_the_error_of_an_empty_walk() {
        let mut c = Connector::new(key(), None);
        c.resolved(Err(Error::new(ErrorKind::CouldntResolveHost, "h: no")));
        assert_eq!(c.next_addr(), None);
        assert_eq!(
            c.take_error().unwrap().kind(),
            ErrorKind::CouldntResolveHost
        );
    }
}
