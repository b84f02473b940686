//! The address walk of a new connection (curl's `cf-socket` and happy-eyeballs filter, RFC
//! 8305): the resolved addresses are ordered to alternate families (the first answer's
//! family first), and their connects race. The first attempt starts at once; the next one
//! starts when the happy-eyeballs delay has passed without a winner
//! ([`HAPPY_EYEBALLS_TIMEOUT`] by default, `CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS`), or at once
//! when an attempt fails. The first socket to connect wins; the others are closed, and TLS
//! (or a proxy tunnel) is set up over the winner only, as curl does. Each attempt also gives
//! up on its address after its share of the connect timeout (at most
//! [`CONNECT_ATTEMPT_MAX`] while other addresses remain).
//!
//! Unlike curl, which races the two families and walks each family's addresses one after the
//! other, every next address here starts after the delay (RFC 8305's "connection attempt
//! delay"), whatever its family: one rule, and a stalled address never holds up the next of
//! its own family for longer than the delay.
//!
//! The [`Connector`] owns that state and the racing connections; the caller (the transfer)
//! opens and registers each attempt's socket, steps the race, and closes the losers.

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

/// How long an attempt has before the next address starts beside it (curl's default of
/// `CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS`, 200 ms; RFC 8305 recommends 250 ms).
pub const HAPPY_EYEBALLS_TIMEOUT: Duration = Duration::from_millis(200);

/// One racing connect: the connection (its socket connecting) and when it gives up.
struct Attempt {
    conn: Box<Conn>,
    deadline: Instant,
}

/// What one look at the racing connects found.
#[derive(Default)]
pub(crate) struct RaceStep {
    /// The first attempt whose socket connected; the others are in `losers`.
    pub(crate) winner: Option<Box<Conn>>,
    /// Attempts to close because another won.
    #[allow(clippy::vec_box)] // boxed as the connection table holds them
    pub(crate) losers: Vec<Box<Conn>>,
    /// Attempts that failed, and why.
    pub(crate) failed: Vec<(Box<Conn>, Error)>,
}

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

/// `addrs` reordered to alternate address families, the first one's family first (RFC 8305
/// section 4), each family in its own order.
fn interleave(addrs: &[SocketAddr]) -> Arc<[SocketAddr]> {
    let Some(first) = addrs.first() else {
        return Arc::from([]);
    };
    let (mut same, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().partition(|a| a.is_ipv4() == first.is_ipv4());
    same.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    while !same.is_empty() || !other.is_empty() {
        out.extend(same.pop());
        out.extend(other.pop());
    }
    out.into()
}

/// TLS to set up over each attempt: the configuration and the server name.
pub(crate) type TlsPlan = (Arc<ClientConfig>, ServerName<'static>);

/// A connection being made: the addresses, the one being tried, the last failure.
pub(crate) struct Connector {
    addrs: Arc<[SocketAddr]>,
    next: usize,
    /// The connects under way, oldest first.
    attempts: Vec<Attempt>,
    /// When the next address starts even though attempts are still connecting.
    next_start: Option<Instant>,
    /// The happy-eyeballs delay.
    delay: Duration,
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
            attempts: Vec::new(),
            next_start: None,
            delay: HAPPY_EYEBALLS_TIMEOUT,
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

    /// The happy-eyeballs delay (`CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS`).
    pub(crate) fn set_delay(&mut self, delay: Duration) {
        self.delay = delay;
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
                self.addrs = interleave(&addrs);
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
        self.addrs = interleave(&v);
    }

    /// Whether an attempt is to start now: none is under way, or the delay passed since the
    /// last one started, or one failed; and an address (or the unix socket) is left.
    pub(crate) fn start_due(&self, now: Instant) -> bool {
        let left = self.unix.is_some() || self.next < self.addrs.len();
        left && (self.attempts.is_empty() || self.next_start.is_some_and(|at| now >= at))
    }

    /// No attempt is under way and none is left to start: the connection failed.
    pub(crate) fn exhausted(&self) -> bool {
        self.attempts.is_empty() && self.unix.is_none() && self.next >= self.addrs.len()
    }

    /// The next address to try, or `None` when none is left.
    pub(crate) fn next_addr(&mut self) -> Option<SocketAddr> {
        let addr = self.addrs.get(self.next).copied()?;
        self.next += 1;
        Some(addr)
    }

    /// Make the connection of an attempt on `sock`, the socket opened to `addr` (connect in
    /// progress; see [`opened`] for its error), with this walk's filters; `serial` names the
    /// connection in messages. It races once registered ([`race`](Self::race)).
    pub(crate) fn open(
        &mut self,
        addr: SocketAddr,
        sock: Result<Socket>,
        serial: u64,
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
        let mut conn = Box::new(Conn::new(stream, addr, self.key.clone(), serial));
        if self.proxy_tls.is_some() && self.tls.is_none() {
            conn.proxy_tls_only();
        }
        Ok(conn)
    }

    /// Enter a registered attempt in the race at `now`. Its deadline is its share of what is
    /// left of the connect timeout (`connect_deadline`), at most [`CONNECT_ATTEMPT_MAX`] while
    /// other addresses remain; the next address starts after the happy-eyeballs delay.
    pub(crate) fn race(
        &mut self,
        conn: Box<Conn>,
        now: Instant,
        connect_deadline: Option<Instant>,
    ) {
        let left = self.addrs.len().saturating_sub(self.next);
        let remaining = connect_deadline
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(CONNECT_ATTEMPT_MAX);
        let share = if left > 0 {
            (remaining / (left as u32 + 1)).min(CONNECT_ATTEMPT_MAX)
        } else {
            remaining
        };
        self.attempts.push(Attempt {
            conn,
            deadline: now + share,
        });
        self.next_start = Some(now + self.delay);
    }

    /// Look at every racing connect (oldest first); the caller reports each failure with
    /// [`attempt_failed`](Self::attempt_failed). Their sockets get no readiness of their
    /// own while they race (they are the transfer's, not in the connection table), so each is
    /// probed: a connect under way costs two system calls and says `NotConnected`.
    pub(crate) fn step(&mut self) -> RaceStep {
        let mut out = RaceStep::default();
        let mut i = 0;
        while i < self.attempts.len() {
            let conn = &mut self.attempts[i].conn;
            conn.writable = true;
            match conn.connect_socket() {
                Ok(true) => {
                    let mut won = self.attempts.remove(i).conn;
                    // Readiness that came while it raced was not recorded: look again.
                    won.readable = true;
                    out.winner = Some(won);
                    out.losers = self.attempts.drain(..).map(|a| a.conn).collect();
                    self.next_start = None;
                    return out;
                }
                Ok(false) => i += 1,
                Err(e) => {
                    let a = self.attempts.remove(i);
                    out.failed.push((a.conn, e));
                }
            }
        }
        out
    }

    /// The attempts whose time is up, taken out of the race (the next address starts at
    /// once).
    #[allow(clippy::vec_box)] // boxed as the connection table holds them
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Box<Conn>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.attempts.len() {
            if now >= self.attempts[i].deadline {
                out.push(self.attempts.remove(i).conn);
            } else {
                i += 1;
            }
        }
        if !out.is_empty() {
            self.last_error = Some(Error::new(
                ErrorKind::OperationTimedout,
                "the connect attempt timed out",
            ));
            self.next_start = Some(now);
        }
        out
    }

    /// Every racing connection (to close: the transfer is over).
    #[allow(clippy::vec_box)] // boxed as the connection table holds them
    pub(crate) fn drain(&mut self) -> Vec<Box<Conn>> {
        self.attempts.drain(..).map(|a| a.conn).collect()
    }

    /// The next instant the race needs a look without an event: an attempt's deadline, or
    /// the start of the next address.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let start = self.next_start.filter(|_| {
            !self.attempts.is_empty() && (self.unix.is_some() || self.next < self.addrs.len())
        });
        self.attempts.iter().map(|a| a.deadline).chain(start).min()
    }

    /// An attempt failed, or could not even be made (no socket, no registration): the next
    /// address follows at once.
    pub(crate) fn attempt_failed(&mut self, e: Error, now: Instant) {
        self.last_error = Some(e);
        self.next_start = Some(now);
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

    fn race_next(c: &mut Connector, now: Instant, deadline: Option<Instant>) -> SocketAddr {
        assert!(c.start_due(now));
        let a = c.next_addr().unwrap();
        let conn = c.open(a, tcp(a), 0).unwrap();
        c.race(conn, now, deadline);
        a
    }

    #[test]
    fn the_next_address_starts_after_the_delay_and_each_has_a_share_of_the_timeout() {
        let mut c = Connector::new(key(), None);
        c.resolved(Ok(addrs(3)));
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let deadline = Some(t0 + Duration::from_secs(9));
        assert_eq!(race_next(&mut c, t0, deadline).port(), 9);
        // Two addresses left: the attempt has a third of what remains; the next starts first.
        assert_eq!(c.next_deadline(), Some(t0 + HAPPY_EYEBALLS_TIMEOUT));
        assert!(!c.start_due(t0 + HAPPY_EYEBALLS_TIMEOUT - ms(1)));
        let t1 = t0 + HAPPY_EYEBALLS_TIMEOUT;
        race_next(&mut c, t1, deadline);
        // The first attempt's 3 s are up: it gives up and the last address starts at once.
        let t2 = t0 + Duration::from_secs(3);
        assert_eq!(c.expire(t2 - ms(1)).len(), 0);
        assert_eq!(c.expire(t2).len(), 1);
        assert!(c.start_due(t2), "no delay after a failure");
        race_next(&mut c, t2, deadline);
        // The second had half of the 8.8 s left when it started.
        assert_eq!(c.next_deadline(), Some(t1 + ms(4400)));
        assert_eq!(c.expire(t1 + ms(4400)).len(), 1);
        assert_eq!(
            c.next_deadline(),
            deadline,
            "the last gets all that is left"
        );
        assert!(!c.start_due(t2) && !c.exhausted());
        assert_eq!(c.drain().len(), 1);
        assert!(c.exhausted());
        assert_eq!(c.take_error().unwrap().kind(), ErrorKind::OperationTimedout);
    }

    #[test]
    fn an_attempt_never_waits_longer_than_the_cap_while_others_remain() {
        let mut c = Connector::new(key(), None);
        c.set_delay(Duration::from_secs(3600));
        c.resolved(Ok(addrs(2)));
        let now = Instant::now();
        race_next(&mut c, now, Some(now + Duration::from_secs(3600)));
        assert_eq!(c.next_deadline(), Some(now + CONNECT_ATTEMPT_MAX));
    }

    #[test]
    fn a_failed_attempt_starts_the_next_address_at_once() {
        let mut c = Connector::new(key(), None);
        c.resolved(Ok(addrs(2)));
        let now = Instant::now();
        race_next(&mut c, now, None);
        drop(c.drain());
        c.attempt_failed(Error::new(ErrorKind::CouldntConnect, "refused"), now);
        assert!(c.start_due(now));
    }

    #[test]
    fn families_alternate_the_first_answers_first() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        let got = interleave(&[
            a("[::1]:1"),
            a("[::2]:1"),
            a("10.0.0.1:1"),
            a("[::3]:1"),
            a("10.0.0.2:1"),
        ]);
        let want = [
            a("[::1]:1"),
            a("10.0.0.1:1"),
            a("[::2]:1"),
            a("10.0.0.2:1"),
            a("[::3]:1"),
        ];
        assert_eq!(got[..], want[..]);
        let v4_first = interleave(&[a("10.0.0.1:1"), a("[::1]:1")]);
        assert_eq!(v4_first[..], [a("10.0.0.1:1"), a("[::1]:1")][..]);
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
