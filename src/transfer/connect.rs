//! Getting a connection: pool checkout or a connection slot (`Init`), name resolution
//! (`Resolving`), and the address walk with TCP and TLS (`Connecting`), with curl's messages
//! when every address failed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::services::{Checkout, Services};
use crate::dns::Answer;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::id::TransferId;
use crate::transport::connector::{opened, Connector, Resolving};
use crate::transport::tunnel::Tunnel;
use crate::transport::{tls, Mux, Phase, Socket, H2C_KEY_ID};

use super::{internal, Next, State, Transfer};

impl Transfer {
    // ----- Init --------------------------------------------------------------------------

    pub(super) fn on_init<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        if self.started.is_none() {
            self.started = Some(now);
            self.timers.total = self.opts.timeout.map(|t| now + t);
            if self.opts.progress {
                self.timers.progress = Some(now + Duration::from_secs(1));
            }
            self.fresh = self.opts.fresh_connect;
            self.load_cookie_files(core, h);
        }
        self.proxy =
            crate::proxy::proxy_for(&self.opts.proxy, target!(self).scheme, &target!(self).host)?;
        if self.opts.socket.unix.is_some() {
            // curl does not mix proxies and unix sockets: the proxy is dropped.
            self.proxy = None;
        }
        self.info.used_proxy = self.proxy.is_some();
        let mux = self.mux();
        let tls_id = if target!(self).scheme.is_tls() {
            core.tls().get(&self.tls_options())?.0
        } else if mux == Mux::Prior {
            H2C_KEY_ID
        } else {
            0
        };
        let proxy_tls = self.proxy_tls(core)?;
        // The route: the proxy and, for an HTTPS one, its TLS settings.
        let route = match (self.proxy.as_deref(), &proxy_tls) {
            (Some(p), Some((id, _))) => (p.id ^ id.rotate_left(32)) | 1,
            (Some(p), None) => p.id,
            (None, _) => 0,
        };
        // CURLOPT_CONNECT_TO (direct connections): another route per connect-to target.
        let route = match self.proxy.is_none() {
            true => self.connect_to_route(),
            false => route,
        };
        let key = match self.proxy.as_deref() {
            Some(p) if self.absolute_form() => {
                let (tls, id) = proxy_tls.as_ref().map_or((false, 0), |(id, _)| (true, *id));
                core.pool_key(tls, &p.host, p.port, id, route)
            }
            _ => core.pool_key(
                target!(self).scheme.is_tls(),
                &target!(self).host,
                target!(self).port,
                tls_id,
                route,
            ),
        };
        match core.checkout(&key, self.fresh, id, mux, self.opts.pipewait) {
            Checkout::Joined(conn) => {
                self.take_conn(conn, "Multiplexed connection found: re-using", h);
                self.begin_request(core, id, h, now)?;
                Ok(Next::Again)
            }
            Checkout::WaitConn => {
                self.text(h, || {
                    "Waiting for a connection being made, to multiplex on it".into()
                });
                self.state = State::Pending;
                Ok(Next::Yield)
            }
            Checkout::Reused(conn) => {
                self.slot_key = Some(key);
                self.take_conn(conn, "Re-using existing", h);
                self.begin_request(core, id, h, now)?;
                Ok(Next::Again)
            }
            Checkout::New => {
                self.timers.connect = Some(now + self.opts.connect_timeout);
                // The slot is this transfer's from here: a failure below gives it back.
                self.slot_key = Some(key.clone());
                let tls = match target!(self).scheme.is_tls() {
                    true => Some((
                        core.tls().get(&self.tls_options())?.1,
                        tls::server_name(&target!(self).host)?,
                    )),
                    false => None,
                };
                let mut connector = Box::new(Connector::new(key, tls));
                connector.set_delay(self.opts.happy_eyeballs_timeout);
                connector.resolving = self.first_lookup();
                connector.proxy_tls = proxy_tls.map(|(_, plan)| plan);
                self.info.reused = false;
                if let Some(unix) = self.opts.socket.unix.clone() {
                    // No name to resolve: the socket is the peer.
                    connector.set_unix(unix);
                    self.connector = Some(connector);
                    self.state = State::Connecting;
                    return Ok(Next::Again);
                }
                self.connector = Some(connector);
                Ok(self.resolve_next(core, id, h, now))
            }
            Checkout::Wait => {
                self.text(h, || "No connection available, the transfer waits".into());
                self.state = State::Pending;
                Ok(Next::Yield)
            }
        }
    }

    /// The TLS options of this run: the Easy's, with ALPN `http/1.1` alone once a WebSocket
    /// fell back from HTTP/2 to the HTTP/1.1 upgrade.
    fn tls_options(&self) -> std::borrow::Cow<'_, tls::TlsOptions> {
        if !self.ws_h1 {
            return std::borrow::Cow::Borrowed(&self.opts.tls);
        }
        let mut t = self.opts.tls.clone();
        t.alpn = vec![crate::options::ALPN_H1.to_vec()];
        std::borrow::Cow::Owned(t)
    }

    /// A connection from the pool (or a stream on a shared one) is this transfer's now.
    #[inline(always)]
    fn take_conn(&mut self, conn: Box<crate::transport::Conn>, how: &str, h: &mut dyn Handler) {
        self.text(h, || {
            format!(
                "{how} connection #{} with host {}",
                conn.serial,
                target!(self).host
            )
        });
        self.info.reused = true;
        self.info.local_addr = conn.local;
        self.info.remote_addr = (!conn.is_unix()).then_some(conn.remote);
        self.conn = Some(conn);
    }

    /// The resolver answered.
    pub(crate) fn on_resolved(&mut self, answer: Answer, now: Instant) {
        self.info.namelookup_time = now.saturating_duration_since(self.started.unwrap_or(now));
        let resolving = self
            .connector
            .as_deref()
            .map_or(Resolving::Origin, |c| c.resolving);
        let (kind, host) = match (resolving, self.proxy.as_deref()) {
            (Resolving::Proxy, Some(p)) => (ErrorKind::CouldntResolveProxy, p.host.clone()),
            _ => (ErrorKind::CouldntResolveHost, target!(self).host.clone()),
        };
        let answer = answer.map_err(|msg| {
            // Display reads "could not resolve host: HOST: why".
            let msg = if msg.starts_with(host.as_str()) {
                msg
            } else {
                format!("{host}: {msg}")
            };
            Error::new(kind, msg)
        });
        self.state = State::Connecting;
        let Some(c) = self.connector.as_deref_mut() else {
            return;
        };
        if resolving == Resolving::SocksTarget {
            // SOCKS4 takes an IPv4 address only; SOCKS5 either.
            let v4_only = self
                .proxy
                .as_deref()
                .is_some_and(|p| p.kind == crate::ProxyKind::Socks4);
            match answer {
                Ok(addrs) => {
                    c.socks_addr = addrs
                        .iter()
                        .map(|a| a.ip())
                        .find(|ip| ip.is_ipv4() || !v4_only);
                    c.resolving = Resolving::ProxyNext;
                    if c.socks_addr.is_none() {
                        c.resolved(Err(Error::new(
                            ErrorKind::CouldntResolveHost,
                            format!("{host}: no IPv4 address for SOCKS4"),
                        )));
                    }
                }
                Err(e) => c.resolved(Err(e)),
            }
            return;
        }
        // A failure is reported by the Connecting step so that the failure path is the same.
        c.resolved(answer);
    }

    /// Where a direct connection for the current target goes: the URL's host and port, or
    /// what `CURLOPT_CONNECT_TO` says instead.
    fn connect_host(&self) -> (String, u16) {
        let t = target!(self);
        match self.proxy.is_none() {
            true => crate::overrides::connect_to(&self.opts.connect_to, &t.host, t.port),
            false => None,
        }
        .unwrap_or_else(|| (t.host.clone(), t.port))
    }

    /// The pool route of a direct connection: 0, or the hash of the connect-to target and
    /// the socket options (connections bound or tuned otherwise are not interchangeable).
    fn connect_to_route(&self) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        if !self.opts.socket.is_default() {
            let mut h = std::hash::DefaultHasher::new();
            self.opts.socket.hash(&mut h);
            let t = target!(self);
            crate::overrides::connect_to(&self.opts.connect_to, &t.host, t.port).hash(&mut h);
            return h.finish() | 1;
        }
        if self.opts.connect_to.is_empty() {
            return 0;
        }
        let t = target!(self);
        match crate::overrides::connect_to(&self.opts.connect_to, &t.host, t.port) {
            None => 0,
            Some(to) => {
                let mut h = std::hash::DefaultHasher::new();
                to.hash(&mut h);
                h.finish() | 1
            }
        }
    }

    /// The name to look up first: the origin's, or the proxy's, or the target's first for a
    /// SOCKS proxy that is given addresses (SOCKS4, SOCKS5) when the target is a name.
    fn first_lookup(&self) -> Resolving {
        let Some(p) = self.proxy.as_deref() else {
            return Resolving::Origin;
        };
        let local = matches!(p.kind, crate::ProxyKind::Socks4 | crate::ProxyKind::Socks5);
        if local && target!(self).host.parse::<std::net::IpAddr>().is_err() {
            Resolving::SocksTarget
        } else {
            Resolving::Proxy
        }
    }

    /// Ask the resolver for the name the connector waits for: `Again` if it answered at
    /// once, else `Yield` in `Resolving`.
    fn resolve_next<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Next {
        let resolving = self
            .connector
            .as_deref()
            .map_or(Resolving::Origin, |c| c.resolving);
        let (host, port) = match (resolving, self.proxy.as_deref()) {
            (Resolving::Proxy, Some(p)) => (p.host.clone(), p.port),
            _ => {
                let (host, port) = self.connect_host();
                if host != target!(self).host || port != target!(self).port {
                    self.text(h, || format!("Connecting to hostname: {host}, port {port}"));
                }
                (host, port)
            }
        };
        if let Some(addrs) = crate::overrides::resolve_override(&self.opts.resolve, &host, port) {
            self.text(h, || format!("Added {host}:{port} from the resolve list"));
            self.on_resolved(Ok(addrs), now);
            return Next::Again;
        }
        let max_age = self.opts.dns_cache_timeout;
        match core
            .resolver()
            .resolve(&host, port, id.as_u64(), now, max_age)
        {
            Some(ans) => {
                self.on_resolved(ans, now);
                Next::Again
            }
            None => {
                self.text(h, || format!("Resolving {host}"));
                self.state = State::Resolving;
                Next::Yield
            }
        }
    }

    // ----- Connecting ----------------------------------------------------------------------

    pub(super) fn on_connecting<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        if let Some(c) = self
            .connector
            .as_deref_mut()
            .filter(|c| c.resolving == Resolving::ProxyNext)
        {
            c.resolving = Resolving::Proxy;
            return Ok(self.resolve_next(core, id, h, now));
        }
        if self.conn.is_none() && !self.race(core, id, h, now)? {
            return Ok(Next::Yield);
        }
        // The winner's socket is connected: the rest of its filters (tunnel, TLS).
        let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
        let before = conn.phase;
        match conn.connect_step() {
            Ok(ready) => {
                let (after, tunnel) = (conn.phase, conn.tunnel.is_some());
                if before < Phase::Tunneling && after >= Phase::Tunneling {
                    self.on_proxy_tls_done(h);
                }
                if tunnel && before <= Phase::Tunneling && after > Phase::Tunneling {
                    self.on_tunnel_done(h);
                }
                if !ready {
                    return Ok(Next::Yield);
                }
                if target!(self).scheme.is_tls() {
                    self.info.appconnect_time =
                        now.saturating_duration_since(self.started.unwrap_or(now));
                    self.text(h, || "TLS handshake done".into());
                }
                self.connector = None;
                self.settle_protocol(core, h, now)?;
                self.begin_request(core, id, h, now)?;
                Ok(Next::Again)
            }
            Err(e) => {
                let c = self.conn.take().ok_or_else(internal)?;
                let code = c.tunnel.as_deref().and_then(|t| t.connect_code());
                if let Some(code) = code {
                    self.info.http_connectcode = code;
                }
                let again = match c.tunnel.as_deref() {
                    Some(Tunnel::Http(hs)) if code == Some(407) => {
                        self.proxy_challenged(h, hs.header_values("proxy-authenticate"))
                    }
                    _ => false,
                };
                core.drop_attempt(c);
                if again {
                    // A new connection for the CONNECT with the answer (the refused one
                    // may have a body to skip, or be closed by the proxy).
                    if let Some(key) = self.slot_key.take() {
                        core.release_slot(&key);
                    }
                    self.connector = None;
                    self.fresh = true;
                    self.state = State::Init;
                    return Ok(Next::Again);
                }
                Err(e)
            }
        }
    }

    /// The race of the socket connects (happy eyeballs, see [`Connector`]): start the
    /// attempts that are due, look at those under way, close the failed ones and, once one
    /// connects, the others. `Ok(true)`: the winner is `self.conn`; `Ok(false)`: waiting for
    /// the sockets or the next start; every address failed: the transfer fails.
    fn race<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<bool> {
        loop {
            while self.connector.as_deref().is_some_and(|c| c.start_due(now)) {
                self.open_attempt(core, id, h, now)?;
            }
            let connector = self.connector.as_deref_mut().ok_or_else(internal)?;
            let step = connector.step();
            let failed = !step.failed.is_empty();
            for (c, e) in step.failed {
                self.text(h, || format!("connect to {} failed: {e}", self.peer_of(&c)));
                core.drop_attempt(c);
                let connector = self.connector.as_deref_mut().ok_or_else(internal)?;
                connector.attempt_failed(e, now);
            }
            if let Some(won) = step.winner {
                for c in step.losers {
                    self.text(h, || {
                        format!("closing the connect to {}: another won", self.peer_of(&c))
                    });
                    core.drop_attempt(c);
                }
                self.conn = Some(won);
                self.on_tcp_connected(h, now);
                return Ok(true);
            }
            let connector = self.connector.as_deref().ok_or_else(internal)?;
            if connector.exhausted() {
                return Err(self.connect_failed(now));
            }
            if !failed {
                return Ok(false);
            }
        }
    }

    /// What a connection goes to, for messages: its address, or the unix socket's path.
    fn peer_of(&self, c: &crate::transport::Conn) -> String {
        match &self.opts.socket.unix {
            Some(unix) if c.is_unix() => unix.to_string(),
            _ => c.remote.to_string(),
        }
    }

    /// Open and register a socket to the next address and enter it in the race (a socket
    /// that cannot even be made counts as a failed attempt).
    fn open_attempt<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        if self.opts.dns_shuffle {
            let rng = core.rng()?;
            let connector = self.connector.as_deref_mut().ok_or_else(internal)?;
            connector.shuffle_once(rng);
        }
        let connector = self.connector.as_deref_mut().ok_or_else(internal)?;
        let (addr, sock) = match connector.take_unix() {
            Some(unix) => {
                self.text(h, || format!("Trying {unix}..."));
                let sock = crate::transport::socket::connect_unix(&unix).map(Socket::Unix);
                // A unix socket has no address: the connection's is unspecified.
                let none = SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0));
                (none, opened(&unix, sock))
            }
            None => {
                let Some(addr) = connector.next_addr() else {
                    return Ok(());
                };
                self.text(h, || format!("Trying {addr}..."));
                let tcp = core.connect_tcp(addr, &self.opts.socket);
                (addr, opened(&addr, tcp.map(Socket::Tcp)))
            }
        };
        let serial = core.next_serial();
        let connector = self.connector.as_deref_mut().ok_or_else(internal)?;
        match connector.open(addr, sock, serial) {
            Ok(mut conn) => {
                conn.mux = self.mux();
                if let Some(t) = self.tunnel_for(core)? {
                    conn.set_tunnel(t);
                }
                core.register(&mut conn, id)
                    .map_err(|e| Error::new(ErrorKind::CouldntConnect, e.to_string()))?;
                let connector = self.connector.as_deref_mut().ok_or_else(internal)?;
                connector.race(conn, now, self.timers.connect);
            }
            Err(e) => connector.attempt_failed(e, now),
        }
        Ok(())
    }

    /// The new connection is up: HTTP/2 when ALPN picked `h2` or by prior knowledge (then
    /// the connection is shared), else HTTP/1.1.
    fn settle_protocol<S: Services>(
        &mut self,
        core: &mut S,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
        if target!(self).scheme.is_tls() && self.opts.verbose {
            let offer: Vec<String> = self
                .opts
                .tls
                .alpn
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            let got = conn.alpn().map(|p| String::from_utf8_lossy(p).into_owned());
            self.text(h, || format!("ALPN: curlew offers {}", offer.join(",")));
            self.text(h, || match &got {
                Some(p) => format!("ALPN: server accepted {p}"),
                None => "ALPN: server did not agree on a protocol, using http/1.1".into(),
            });
        }
        let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
        let h2 = match conn.mux {
            Mux::No => return Ok(()),
            Mux::Prior => true,
            Mux::Alpn => conn.alpn() == Some(crate::options::ALPN_H2),
        };
        core.settle_mux(conn, h2, now);
        if h2 {
            self.text(h, || {
                "[HTTP/2] using HTTP/2, the connection multiplexes".into()
            });
        }
        Ok(())
    }

    /// The socket of the winning attempt connected.
    fn on_tcp_connected(&mut self, h: &mut dyn Handler, now: Instant) {
        let Some(conn) = self.conn.as_deref() else {
            return;
        };
        let (serial, remote) = (conn.serial, conn.remote);
        let peer = match &self.opts.socket.unix {
            Some(unix) if conn.is_unix() => unix.to_string(),
            _ => remote.to_string(),
        };
        self.info.connect_time = now.saturating_duration_since(self.started.unwrap_or(now));
        self.info.local_addr = conn.local;
        self.info.remote_addr = (!conn.is_unix()).then_some(remote);
        self.info.num_connects += 1;
        let host = match self.proxy.as_deref() {
            Some(p) => &p.host,
            None => &target!(self).host,
        };
        self.text(h, || format!("Connected to {host} ({peer}) #{serial}"));
        if self
            .proxy
            .as_deref()
            .is_some_and(|p| p.kind != crate::ProxyKind::Https)
        {
            self.announce_tunnel(h);
        }
    }

    /// Every address failed (or there was none): the last failure, said the way curl says
    /// it ("Failed to connect to HOST port PORT after N ms: why").
    pub(super) fn connect_failed(&mut self, now: Instant) -> Error {
        let last = self
            .connector
            .as_deref_mut()
            .and_then(Connector::take_error);
        if let Some(e) = last.as_ref().filter(|e| {
            matches!(
                e.kind(),
                ErrorKind::CouldntResolveHost | ErrorKind::CouldntResolveProxy
            )
        }) {
            return Error::new(e.kind(), e.detail().unwrap_or_default().to_owned());
        }
        let kind = last.as_ref().map_or(ErrorKind::CouldntConnect, Error::kind);
        let why = last
            .as_ref()
            .and_then(Error::detail)
            .unwrap_or("no address to connect to");
        let msg = format!(
            "failed to connect to {} after {} ms: {why}",
            self.peer_text(),
            self.elapsed_ms(now)
        );
        match last.and_then(|e| e.into_source()) {
            Some(src) => Error::new(kind, msg).with_source(src),
            None => Error::new(kind, msg),
        }
    }

    /// `HOST port PORT` of the current target (the proxy when there is one), for messages.
    pub(super) fn peer_text(&self) -> String {
        match self.proxy.as_deref() {
            Some(p) => format!("proxy {} port {}", p.host, p.port),
            None => format!("{} port {}", target!(self).host, target!(self).port),
        }
    }

    /// Milliseconds since the transfer started.
    pub(super) fn elapsed_ms(&self, now: Instant) -> u128 {
        now.saturating_duration_since(self.started.unwrap_or(now))
            .as_millis()
    }
}
