//! The connection: a non-blocking byte stream over one socket.
//!
//! `Stream` is the shape of the byte stream: plain TCP or a unix domain socket, or TLS (rustls
//! 0.23) over either;
//! [`chain`] connects it as a chain of filters (curl's connection filters). The rules we keep
//! from curl's `cfilters.h` and mio's "draining readiness" contract:
//!
//! - connect runs bottom-up: TCP first, then the TLS handshake ([`chain`]);
//! - readiness is edge-triggered: [`Conn::readable`] stays true from a readable event until a
//!   read returns `WouldBlock`, so a reader that stops early (pause, fairness budget, full
//!   buffer) keeps the right to read without a new event. TLS plaintext buffered inside rustls
//!   is covered by the same rule, because a TLS read only reports `WouldBlock` when rustls has
//!   no plaintext left *and* the socket has no bytes;
//! - interest is derived from state ([`Conn::interest`]), never stored ad hoc.
//!
//! This is the only file that names rustls' connection type, so the rustls 0.24 migration is
//! local to it.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

/// Unit tests: a real socket or an in-memory one from the simulated network ([`crate::sim`]).
#[cfg(test)]
pub(crate) use crate::sim::TcpStream;
#[cfg(not(test))]
pub(crate) use mio::net::TcpStream;
/// A unix domain socket (`CURLOPT_UNIX_SOCKET_PATH`): always mio's, in tests too.
pub(crate) use mio::net::UnixStream;
use mio::Interest;

use crate::id::{ConnId, TransferId};
use crate::proto::http1::ResponseParser;

mod chain;
pub(crate) mod connector;
pub(crate) mod h2link;
pub(crate) mod pin;
pub(crate) mod socket;
pub(crate) mod tls;
pub(crate) mod tunnel;

use chain::Chain;

/// The byte stream of one connection.
///
/// A unix domain socket is a variant of its own rather than a generic socket under `Tcp`, so
/// the plain TCP arm of the hot path (reads and writes) is what it was: one match on the
/// variant, then the TCP call.
pub(crate) enum Stream {
    Tcp(TcpStream),
    /// A unix domain socket, in the clear.
    Unix(UnixStream),
    Tls(Box<TlsStream>),
}

/// A socket just opened, its connect under way: what [`connector`] wraps into a [`Stream`].
pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// The socket at the bottom of a connection, borrowed for what is not reading or writing
/// (the connect's outcome, the liveness probe, shutdown).
pub(crate) enum SocketRef<'a> {
    Tcp(&'a TcpStream),
    Unix(&'a UnixStream),
}

impl SocketRef<'_> {
    /// A pending socket error (a failed connect).
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            SocketRef::Tcp(s) => s.take_error(),
            SocketRef::Unix(s) => s.take_error(),
        }
    }

    /// The connect completed: the socket has a peer (`NotConnected` while it is under way).
    pub(crate) fn check_connected(&self) -> io::Result<()> {
        match self {
            SocketRef::Tcp(s) => s.peer_addr().map(drop),
            SocketRef::Unix(s) => s.peer_addr().map(drop),
        }
    }

    /// Bytes (or EOF) waiting on an idle socket, without taking them. `WouldBlock`: none.
    pub(crate) fn peek(&self) -> io::Result<usize> {
        let mut probe = [0u8; 1];
        match self {
            SocketRef::Tcp(s) => s.peek(&mut probe),
            SocketRef::Unix(s) => {
                let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
                socket2::SockRef::from(*s).peek(&mut probe)
            }
        }
    }

    pub(crate) fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        match self {
            SocketRef::Tcp(s) => s.shutdown(how),
            SocketRef::Unix(s) => s.shutdown(how),
        }
    }

    /// The descriptor (what `socket_action` reports).
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            SocketRef::Tcp(s) => s.as_raw_fd(),
            SocketRef::Unix(s) => s.as_raw_fd(),
        }
    }
}

pub(crate) struct TlsStream {
    /// What the TLS records travel on: the socket, or TLS to an HTTPS proxy (TLS in TLS).
    tcp: Wire,
    tls: rustls::ClientConnection,
    /// The TCP side reported EOF.
    tcp_eof: bool,
    /// Ciphertext read from the socket that did not fit the last read's buffer (rare; empty
    /// and unallocated otherwise).
    pending: Vec<u8>,
}

/// Where a connection is in its life (in the order it gets there).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// TCP connect in progress.
    TcpConnecting,
    /// TLS handshake with an HTTPS proxy in progress.
    ProxyHandshaking,
    /// A proxy handshake in progress (HTTP `CONNECT`, SOCKS).
    Tunneling,
    /// TLS handshake in progress.
    Handshaking,
    /// Ready for requests.
    Ready,
}

/// One connection, owned by the multi's connection table and lent to its transfer while that
/// transfer is stepped.
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    /// The filters still to connect ([`chain`]), and where that puts the connection.
    chain: Chain,
    /// The proxy handshake of the tunnel filter, while it runs and after (for its status).
    pub(crate) tunnel: Option<Box<tunnel::Tunnel>>,
    /// The outermost TLS layer is the origin's (`false`: there is none, or it is an HTTPS
    /// proxy's and the origin is plain HTTP).
    pub(crate) origin_tls: bool,
    pub(crate) phase: Phase,
    /// Edge-triggered read readiness: set by an event, cleared by `WouldBlock`.
    pub(crate) readable: bool,
    /// New bytes arrived since the keepalive of a connect-only WebSocket last looked: set by a
    /// readable event and by the application's own reads (`WsHandle::recv`), taken by the
    /// keepalive. Unlike `readable` it is not about unread bytes waiting, only about arrivals.
    pub(crate) arrived: bool,
    /// The peer half-closed or the socket failed (EPOLLRDHUP/ERR seen): read to EOF.
    pub(crate) read_closed: bool,
    /// Edge-triggered write readiness: set by an event, cleared by `WouldBlock`.
    pub(crate) writable: bool,
    /// The interest currently registered with the reactor.
    pub(crate) registered: Option<Interest>,
    /// Readiness comes from our own edge-triggered epoll, which reports peer hang-up
    /// (EPOLLRDHUP): a short read may then skip the `WouldBlock` read. Not with `socket_action`,
    /// where the application's loop may not report hang-ups.
    pub(crate) short_read_ok: bool,
    /// Its place in the multi's connection table (`None` until registered); the poller token
    /// is derived from it.
    pub(crate) id: Option<ConnId>,
    /// Pool key: scheme class, host, port, TLS config id.
    pub(crate) key: Arc<PoolKey>,
    /// Receive buffer: bytes `rbuf[rpos..rend]` are read but not yet consumed.
    pub(crate) rbuf: Vec<u8>,
    /// What `rbuf` may grow to: [`RECV_BUFFER_MAX`] or the transfer's `buffer_size`.
    pub(crate) rbuf_max: usize,
    /// Most bytes one read takes (a receive speed limit's share; `usize::MAX`: no limit).
    pub(crate) read_cap: usize,
    pub(crate) rpos: usize,
    pub(crate) rend: usize,
    /// Number of requests completed on this connection.
    pub(crate) uses: u32,
    pub(crate) local: Option<SocketAddr>,
    pub(crate) remote: SocketAddr,
    /// A connection-level serial for the debug callback ("#0", "#1", ...).
    pub(crate) serial: u64,
    /// The server said `Connection: close` or the transfer could not finish cleanly.
    pub(crate) no_reuse: bool,
    /// Per-request storage left by the last transfer on this connection for the next one:
    /// the request head buffer and the response parser (with its head storage; boxed, so
    /// that handing it over moves a pointer, not the parser).
    pub(crate) head_buf: Vec<u8>,
    pub(crate) parser: Option<Box<ResponseParser>>,
    /// HTTP/2 on this connection ([`h2link`]): its streams and their transfers.
    pub(crate) h2: Option<Box<h2link::H2Link>>,
    /// Whether the connection may turn out to multiplex while it is still connecting.
    pub(crate) mux: Mux,
    /// Transfers waiting for this connection to be ready so as to share it rather than open
    /// their own (curl's PIPEWAIT).
    pub(crate) waiters: Vec<TransferId>,
    /// Queued for the multi's next look at its HTTP/2 connections (read, write, timers).
    pub(crate) h2_queued: bool,
}

/// The TLS-configuration part of the pool key of a plain connection that speaks HTTP/2 with
/// prior knowledge (no TLS config has this id), so it is never taken for an HTTP/1.1 one.
pub(crate) const H2C_KEY_ID: u64 = u64::MAX;

/// What a connection being made is expected to speak.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mux {
    /// HTTP/1.1 only (one transfer at a time).
    No,
    /// TLS with `h2` offered in ALPN: HTTP/2 if the server picks it.
    Alpn,
    /// HTTP/2 with prior knowledge (h2c): the preface as soon as TCP is up.
    Prior,
}

/// What [`Conn::pull`] got.
#[derive(Debug)]
pub(crate) enum Pull {
    /// New bytes are buffered.
    Data,
    /// The peer closed its side (end of stream).
    Eof,
    /// Nothing to read until the next readiness event.
    Idle,
    /// The step's receive budget is spent: yield to the other transfers.
    Spent,
    /// The read failed.
    Failed(io::Error),
    /// The HTTP/2 stream was reset, or its connection failed.
    Reset(h2link::StreamEnd),
}

/// What makes two connections interchangeable (curl's connection-reuse match).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PoolKey {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Identity of the TLS configuration (0 for plain TCP).
    pub(crate) tls_id: u64,
    /// The proxy the connection goes through (its id, see `Proxy::id`; 0: direct). An HTTP
    /// proxy's absolute-form connection has the proxy's host and port as its origin.
    pub(crate) route: u64,
    /// The other fields hashed once, when the key is made: the pool looks a key up twice
    /// per request (checkout and release).
    hash: u64,
}

impl PoolKey {
    #[cfg(test)]
    pub(crate) fn new(tls: bool, host: String, port: u16, tls_id: u64) -> PoolKey {
        Self::via(tls, host, port, tls_id, 0)
    }

    /// The key of a connection through proxy `route` (0: direct).
    pub(crate) fn via(tls: bool, host: String, port: u16, tls_id: u64, route: u64) -> PoolKey {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::hash::DefaultHasher::new();
        (tls, &host, port, tls_id, route).hash(&mut h);
        PoolKey {
            tls,
            host,
            port,
            tls_id,
            route,
            hash: h.finish(),
        }
    }
}

impl std::hash::Hash for PoolKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Initial receive buffer size. It grows when reads keep filling it, up to
/// [`RECV_BUFFER_MAX`], and shrinks back when the connection goes idle.
pub const RECV_BUFFER_MIN: usize = 16 * 1024;
/// Largest receive buffer a connection grows to unless [`Easy::buffer_size`] says otherwise
/// (on loopback bulk downloads 1 MiB reads beat 256 KiB ones by ~12% and hyper by ~5%: the
/// socket queue usually holds more than 256 KiB, and fewer, larger reads cost the kernel less).
///
/// [`Easy::buffer_size`]: crate::Easy::buffer_size
pub const RECV_BUFFER_MAX: usize = 1024 * 1024;
/// The most [`Easy::buffer_size`] accepts (curl's `CURLOPT_BUFFERSIZE` maximum, 10 MiB).
///
/// [`Easy::buffer_size`]: crate::Easy::buffer_size
pub const BUFFER_SIZE_MAX: usize = 10 * 1024 * 1024;

/// Most bytes of idle receive and send buffers a multi keeps for reuse (connections borrow
/// them while bytes are in flight and give them back once drained).
pub const BUF_POOL_MAX_BYTES: usize = 2 << 20;

/// Receive and send buffers lent to connections while they have bytes in flight.
///
/// A connection gives its receive buffer back when it has consumed every byte (and a
/// WebSocket session its send queue's storage when the queue is empty), so an idle connection
/// holds no buffer at all; the next read (or send) borrows one again. The pool is the multi's,
/// so its size follows the number of connections active *at once*, not the number open, and
/// the steady state allocates nothing: buffers go round between the pool and the connections.
/// At most [`BUF_POOL_MAX_BYTES`] are kept.
#[derive(Default)]
pub(crate) struct BufPool {
    rx: Vec<Vec<u8>>,
    tx: Vec<Vec<u8>>,
    bytes: usize,
}

impl BufPool {
    /// A receive buffer (at least [`RECV_BUFFER_MIN`], zeroed once when first made).
    pub(crate) fn take_rx(&mut self) -> Vec<u8> {
        match self.rx.pop() {
            Some(b) => {
                self.bytes -= b.len();
                b
            }
            None => vec![0; RECV_BUFFER_MIN],
        }
    }

    /// Send-queue storage for a WebSocket session.
    pub(crate) fn take_tx(&mut self) -> Vec<u8> {
        match self.tx.pop() {
            Some(b) => {
                self.bytes -= b.len();
                b
            }
            None => vec![0; TX_BUFFER_MIN],
        }
    }

    pub(crate) fn put_rx(&mut self, b: Vec<u8>) {
        if b.len() >= RECV_BUFFER_MIN && self.bytes + b.len() <= BUF_POOL_MAX_BYTES {
            self.bytes += b.len();
            self.rx.push(b);
        }
    }

    pub(crate) fn put_tx(&mut self, b: Vec<u8>) {
        if !b.is_empty() && self.bytes + b.len() <= BUF_POOL_MAX_BYTES {
            self.bytes += b.len();
            self.tx.push(b);
        }
    }

    /// Take back a connection's receive buffer if it holds no unconsumed bytes.
    pub(crate) fn park_rx(&mut self, conn: &mut Conn) {
        if conn.rpos >= conn.rend && !conn.rbuf.is_empty() {
            conn.rpos = 0;
            conn.rend = 0;
            self.put_rx(std::mem::take(&mut conn.rbuf));
        }
    }

    /// Buffers kept now (for tests and the debug output).
    #[allow(dead_code)]
    pub(crate) fn kept_bytes(&self) -> usize {
        self.bytes
    }
}

/// The send-queue storage handed to a WebSocket session that has none.
pub(crate) const TX_BUFFER_MIN: usize = 512;

impl Conn {
    pub(crate) fn new(stream: Stream, remote: SocketAddr, key: Arc<PoolKey>, serial: u64) -> Conn {
        let chain = Chain::for_stream(&stream);
        let origin_tls = matches!(stream, Stream::Tls(_));
        Conn {
            stream,
            phase: chain.phase(),
            origin_tls,
            chain,
            tunnel: None,
            readable: false,
            arrived: false,
            read_closed: false,
            writable: false,
            registered: None,
            short_read_ok: false,
            id: None,
            key,
            rbuf: Vec::new(),
            rbuf_max: RECV_BUFFER_MAX,
            read_cap: usize::MAX,
            rpos: 0,
            rend: 0,
            uses: 0,
            local: None,
            remote,
            serial,
            no_reuse: false,
            head_buf: Vec::new(),
            parser: None,
            h2: None,
            mux: Mux::No,
            waiters: Vec::new(),
            h2_queued: false,
        }
    }

    /// The mio source of this connection.
    pub(crate) fn source(&mut self) -> &mut dyn mio::event::Source {
        match &mut self.stream {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
            Stream::Tls(t) => t.tcp.source(),
        }
    }

    /// The socket at the bottom of the connection.
    pub(crate) fn socket(&self) -> SocketRef<'_> {
        match &self.stream {
            Stream::Tcp(s) => SocketRef::Tcp(s),
            Stream::Unix(s) => SocketRef::Unix(s),
            Stream::Tls(t) => t.tcp.socket_ref(),
        }
    }

    /// The connection runs over a unix domain socket (no IP addresses, no TCP options).
    pub(crate) fn is_unix(&self) -> bool {
        matches!(self.socket(), SocketRef::Unix(_))
    }

    /// The socket's descriptor (what `socket_action` reports).
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.socket().fd()
    }

    /// Unconsumed received bytes.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..self.rend]
    }

    /// Mark `n` buffered bytes consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.rpos += n;
        debug_assert!(self.rpos <= self.rend);
        if self.rpos >= self.rend {
            self.rpos = 0;
            self.rend = 0;
        }
    }

    /// Read once from the stream, appending to the receive buffer. `Ok(0)` is EOF.
    /// `WouldBlock` clears [`Conn::readable`].
    ///
    /// The buffer is zeroed once when it grows, never per read: `rbuf.len()` is its capacity
    /// and `rend` the end of the valid bytes. It starts at [`RECV_BUFFER_MIN`] and doubles while
    /// reads keep filling it, up to `rbuf_max` ([`RECV_BUFFER_MAX`] by default) (a 16 KiB buffer halves libcurl's rate
    /// on 100 KiB bodies).
    #[inline(never)]
    fn fill(&mut self) -> io::Result<usize> {
        if self.rbuf.is_empty() {
            self.rbuf = vec![0; RECV_BUFFER_MIN];
        }
        let free = self.rbuf.len() - self.rend;
        if free < self.rbuf.len() / 4 {
            if self.rpos > 0 {
                self.rbuf.copy_within(self.rpos..self.rend, 0);
                self.rend -= self.rpos;
                self.rpos = 0;
            }
            if self.rbuf.len() - self.rend < self.rbuf.len() / 4 && self.rbuf.len() < self.rbuf_max
            {
                let grown = (self.rbuf.len() * 2).min(self.rbuf_max);
                self.rbuf.resize(grown, 0);
            }
        }
        if self.rend == self.rbuf.len() {
            // Full of unconsumed bytes at the maximum size: the consumer must make progress
            // first (it only stops consuming when paused or over a limit).
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "receive buffer full",
            ));
        }
        let end = self.rend;
        let asked = (self.rbuf.len() - end).min(self.read_cap);
        match self.stream.read(&mut self.rbuf[end..end + asked]) {
            Ok(n) => {
                self.rend += n;
                // The kernel queue is empty now, and epoll (edge-triggered) reports the next
                // arrival; skip the EAGAIN read.
                if !self.read_closed && self.short_read_ok && self.stream.drained(n, asked) {
                    self.readable = false;
                }
                if n == self.rbuf.len() - end && n == asked && self.rbuf.len() < self.rbuf_max {
                    // The read filled the buffer: the peer sends faster than we drain, grow.
                    let grown = (self.rbuf.len() * 2).min(self.rbuf_max);
                    self.rbuf.resize(grown, 0);
                }
                Ok(n)
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.readable = false;
                }
                Err(e)
            }
        }
    }

    /// The crate's one read from a connection: every reader (a response, an open WebSocket
    /// in the callback model, a connect-only WebSocket's `recv`) pulls through here. Reads
    /// once into the receive buffer (taking one from `bufs` if it has none) when the socket
    /// may have bytes and the step's `budget` is not spent, retrying an interrupted read.
    #[inline(always)]
    pub(crate) fn pull(&mut self, bufs: &mut BufPool, budget: &mut usize) -> Pull {
        if self.h2.is_some() {
            return self.pull_stream(budget);
        }
        if !self.readable {
            return Pull::Idle;
        }
        if *budget == 0 {
            return Pull::Spent;
        }
        if self.rbuf.is_empty() {
            self.rbuf = bufs.take_rx();
        }
        loop {
            return match self.fill() {
                Ok(0) => Pull::Eof,
                Ok(n) => {
                    *budget = budget.saturating_sub(n);
                    Pull::Data
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Pull::Idle,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Pull::Failed(e),
            };
        }
    }

    /// Write from several buffers at once. `WouldBlock` clears [`Conn::writable`].
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.h2.is_some() {
            return self.write_stream(bufs);
        }
        let r = self.stream.write_vectored(bufs);
        if let Err(e) = &r {
            if e.kind() == io::ErrorKind::WouldBlock {
                self.writable = false;
            }
        }
        r
    }

    /// Push buffered TLS records to the socket. `Ok(true)` when nothing is left buffered.
    pub(crate) fn flush_tls(&mut self) -> io::Result<bool> {
        let r = self.stream.flush_tls();
        if let Err(e) = &r {
            if e.kind() == io::ErrorKind::WouldBlock {
                self.writable = false;
                return Ok(false);
            }
        }
        r
    }

    /// The protocol the server picked in ALPN.
    pub(crate) fn alpn(&self) -> Option<&[u8]> {
        match &self.stream {
            Stream::Tcp(_) | Stream::Unix(_) => None,
            Stream::Tls(t) => t.tls.alpn_protocol(),
        }
    }

    /// Whether the stream has bytes of its own to write (TLS records, handshake messages).
    pub(crate) fn wants_write(&self) -> bool {
        match &self.stream {
            Stream::Tcp(_) | Stream::Unix(_) => false,
            Stream::Tls(t) => t.wants_write(),
        }
    }

    /// Is this idle pooled connection still usable? A readable idle socket means the server
    /// closed it (or sent garbage): either way it cannot carry a new request.
    pub(crate) fn is_alive(&mut self) -> bool {
        if !self.buffered().is_empty() {
            return false;
        }
        if let Stream::Tls(t) = &self.stream {
            if t.tcp_eof || !t.pending.is_empty() {
                return false;
            }
        }
        // Bytes on an idle TLS socket are most likely a close_notify alert.
        match self.socket().peek() {
            Ok(_) => false,
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        }
    }

    /// Best-effort orderly close (TLS close_notify); never blocks.
    pub(crate) fn close(&mut self) {
        if let Stream::Tls(t) = &mut self.stream {
            if self.phase == Phase::Ready {
                t.tls.send_close_notify();
                let _ = t.tls.write_tls(&mut t.tcp);
            }
        }
        let _ = self.socket().shutdown(std::net::Shutdown::Both);
    }
}

impl Stream {
    pub(crate) fn tcp(addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect(addr)
    }

    /// The stream of a plain socket.
    pub(crate) fn plain(sock: Socket) -> Stream {
        match sock {
            Socket::Tcp(s) => Stream::Tcp(s),
            Socket::Unix(s) => Stream::Unix(s),
        }
    }

    pub(crate) fn new_tls(sock: Socket, tls: rustls::ClientConnection) -> Stream {
        Stream::Tls(Box::new(TlsStream::over(Wire::from(sock), tls)))
    }

    /// TLS to the origin inside TLS to an HTTPS proxy.
    pub(crate) fn new_tls_in_tls(
        sock: Socket,
        proxy: rustls::ClientConnection,
        origin: rustls::ClientConnection,
    ) -> Stream {
        let inner = TlsStream::over(Wire::from(sock), proxy);
        Stream::Tls(Box::new(TlsStream::over(
            Wire::Tls(Box::new(inner)),
            origin,
        )))
    }

    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => loop {
                match s.read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return r,
                }
            },
            Stream::Unix(s) => unix_io(|| s.read(buf)),
            Stream::Tls(t) => t.read(buf),
        }
    }

    /// A read that returned `n` bytes into a buffer of `asked` left the socket's kernel queue
    /// empty: a plain socket filled less than it was given. Edge-triggered epoll then reports
    /// the next arrival, so the read that would say `WouldBlock` can be skipped. (Not applied
    /// to TLS: on a core shared with the server, skipping that read there made h2-small 10%
    /// slower, the client waking for fewer responses at a time.)
    #[inline]
    fn drained(&self, n: usize, asked: usize) -> bool {
        n > 0 && n < asked && matches!(self, Stream::Tcp(_))
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => loop {
                match s.write_vectored(bufs) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return r,
                }
            },
            Stream::Unix(s) => unix_io(|| s.write_vectored(bufs)),
            Stream::Tls(t) => t.write_vectored(bufs),
        }
    }

    fn flush_tls(&mut self) -> io::Result<bool> {
        match self {
            Stream::Tcp(_) | Stream::Unix(_) => Ok(true),
            Stream::Tls(t) => {
                t.flush()?;
                Ok(!t.wants_write())
            }
        }
    }
}

/// An I/O call on a unix socket, retried when interrupted (kept out of line: the TCP arms of
/// [`Stream::read`] and [`Stream::write_vectored`] stay as they were).
#[inline(never)]
fn unix_io(mut f: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

impl TlsStream {
    /// Plaintext into rustls, records out to the socket (kept out of line: the plain TCP
    /// path of [`Stream::write_vectored`] stays small enough to inline).
    #[inline(never)]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // Flush older records first so plaintext does not pile up inside rustls.
        self.flush()?;
        let n = self.tls.writer().write_vectored(bufs)?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // TLS in TLS: the proxy's layer may still hold records of ours.
        io::Write::flush(&mut self.tcp)
    }

    /// TLS over TLS (an HTTPS proxy's layer below this one).
    pub(crate) fn is_nested(&self) -> bool {
        matches!(self.tcp, Wire::Tls(_))
    }

    /// The HTTPS proxy's layer below this one, if any.
    pub(crate) fn proxy_layer(&mut self) -> Option<&mut TlsStream> {
        match &mut self.tcp {
            Wire::Tls(t) => Some(t),
            Wire::Tcp(_) | Wire::Unix(_) => None,
        }
    }

    /// Records are waiting to go out, in this layer or the one below.
    pub(crate) fn wants_write(&self) -> bool {
        self.tls.wants_write()
            || match &self.tcp {
                Wire::Tcp(_) | Wire::Unix(_) => false,
                Wire::Tls(t) => t.wants_write(),
            }
    }

    #[inline(never)]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "TLS connection closed without close_notify (truncation)",
                    ))
                }
                Err(e) => return Err(e),
            }
            if !self.pending.is_empty() {
                let pending = std::mem::take(&mut self.pending);
                let n = self.feed(&pending, buf)?;
                if n > 0 {
                    return Ok(n);
                }
                continue;
            }
            if self.tcp_eof {
                // rustls has seen EOF and holds no plaintext: the reader above reported it.
                return Ok(0);
            }
            let n = match self.tcp {
                Wire::Tcp(_) | Wire::Unix(_) => self.decrypt_batch(buf)?,
                Wire::Tls(_) => self.decrypt_from_wire(buf)?,
            };
            if n > 0 {
                return Ok(n);
            }
        }
    }

    /// One socket read of up to [`TLS_READ_BATCH`] bytes (at most `buf.len()`, so that all
    /// its plaintext fits `buf`), all of it fed to rustls and decrypted into `buf`. rustls
    /// reads at most one record (~16 KiB) per `read_tls` from a socket; reading the socket
    /// into a scratch buffer first takes a quarter of the `recvfrom` calls on bulk bodies.
    /// Returns the plaintext bytes (0: none yet, or EOF seen: the caller looks again).
    fn decrypt_batch(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCRATCH.with(|s| {
            let mut scratch = s.borrow_mut();
            if scratch.len() < TLS_READ_BATCH {
                scratch.resize(TLS_READ_BATCH, 0);
            }
            let want = buf.len().clamp(1, TLS_READ_BATCH);
            let got = loop {
                match self.tcp.read(&mut scratch[..want]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r?,
                }
            };
            if got == 0 {
                self.tcp_eof = true;
            }
            self.feed(&scratch[..got], buf)
        })
    }

    /// TLS in TLS: the records come out of the proxy's TLS layer (no scratch batch: that
    /// layer has its own, and the scratch is borrowed by this read already).
    fn decrypt_from_wire(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = self.tls.read_tls(&mut self.tcp)?;
        if got == 0 {
            self.tcp_eof = true;
        }
        if let Err(e) = self.tls.process_new_packets() {
            let _ = self.tls.write_tls(&mut self.tcp);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        let mut out = 0;
        while out < buf.len() {
            match self.tls.reader().read(&mut buf[out..]) {
                Ok(0) => break,
                Ok(n) => out += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Truncation is reported by the next read (once the plaintext is taken).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// TLS over `tcp`.
    fn over(tcp: Wire, tls: rustls::ClientConnection) -> TlsStream {
        TlsStream {
            tcp,
            tls,
            tcp_eof: false,
            pending: Vec::new(),
        }
    }

    /// Hand `ciphertext` to rustls (an empty one means EOF) and move the plaintext to `buf`.
    fn feed(&mut self, mut ciphertext: &[u8], buf: &mut [u8]) -> io::Result<usize> {
        let mut out = 0;
        let mut eof = ciphertext.is_empty();
        loop {
            let mut took = 0;
            if !ciphertext.is_empty() || eof {
                eof = false;
                took = self.tls.read_tls(&mut ciphertext)?;
            }
            if let Err(e) = self.tls.process_new_packets() {
                let _ = self.tls.write_tls(&mut self.tcp);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            let before = out;
            while out < buf.len() {
                match self.tls.reader().read(&mut buf[out..]) {
                    Ok(0) => break,
                    Ok(n) => out += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // Truncation is reported by the next read (once the plaintext is taken).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
            }
            if ciphertext.is_empty() && out == before {
                return Ok(out);
            }
            if out == buf.len() && !ciphertext.is_empty() {
                // `buf` is full (a record begun in the last batch added to this one): the
                // rest waits here for the next read.
                self.pending.extend_from_slice(ciphertext);
                return Ok(out);
            }
            if took == 0 && out == before {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "TLS records that rustls does not take",
                ));
            }
        }
    }
}

/// What a TLS layer's records travel on: the socket, or the plaintext of TLS to an HTTPS
/// proxy (the origin's TLS inside the proxy's).
pub(crate) enum Wire {
    /// The socket.
    Tcp(TcpStream),
    /// A unix domain socket.
    Unix(UnixStream),
    /// TLS to the proxy.
    Tls(Box<TlsStream>),
}

impl From<Socket> for Wire {
    fn from(sock: Socket) -> Wire {
        match sock {
            Socket::Tcp(s) => Wire::Tcp(s),
            Socket::Unix(s) => Wire::Unix(s),
        }
    }
}

impl Wire {
    /// The socket at the bottom, as the poller's source.
    pub(crate) fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Wire::Tcp(s) => s,
            Wire::Unix(s) => s,
            Wire::Tls(t) => t.tcp.source(),
        }
    }

    /// The socket at the bottom, shared.
    pub(crate) fn socket_ref(&self) -> SocketRef<'_> {
        match self {
            Wire::Tcp(s) => SocketRef::Tcp(s),
            Wire::Unix(s) => SocketRef::Unix(s),
            Wire::Tls(t) => t.tcp.socket_ref(),
        }
    }
}

impl io::Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Tcp(s) => s.read(buf),
            Wire::Unix(s) => s.read(buf),
            Wire::Tls(t) => t.read(buf),
        }
    }
}

impl io::Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Tcp(s) => s.write(buf),
            Wire::Unix(s) => s.write(buf),
            Wire::Tls(t) => t.write_vectored(&[IoSlice::new(buf)]),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Tcp(_) | Wire::Unix(_) => Ok(()),
            Wire::Tls(t) => t.flush(),
        }
    }
}

/// Most ciphertext one TLS read takes from the socket (see `TlsStream::decrypt_batch`).
pub const TLS_READ_BATCH: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        let key = Arc::new(PoolKey::new(false, "127.0.0.1".into(), addr.port(), 0));
        Conn::new(Stream::Tcp(tcp), addr, key, 0)
    }

    #[test]
    fn pool_lends_and_takes_back_drained_buffers_only() {
        let mut pool = BufPool::default();
        let mut c = conn();
        c.rbuf = pool.take_rx();
        assert_eq!(c.rbuf.len(), RECV_BUFFER_MIN);
        let ptr = c.rbuf.as_ptr();
        // Unconsumed bytes: the connection keeps its buffer.
        c.rend = 10;
        c.rpos = 4;
        pool.park_rx(&mut c);
        assert_eq!(c.rbuf.len(), RECV_BUFFER_MIN);
        assert_eq!(pool.kept_bytes(), 0);
        // Drained: the buffer goes back, and the next borrower gets the same one.
        c.consume(6);
        pool.park_rx(&mut c);
        assert!(c.rbuf.is_empty());
        assert_eq!(pool.kept_bytes(), RECV_BUFFER_MIN);
        let again = pool.take_rx();
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(pool.kept_bytes(), 0);
    }

    #[test]
    fn pool_keeps_at_most_its_byte_bound() {
        let mut pool = BufPool::default();
        for _ in 0..(BUF_POOL_MAX_BYTES / RECV_BUFFER_MIN + 10) {
            pool.put_rx(vec![0; RECV_BUFFER_MIN]);
            pool.put_tx(vec![0; TX_BUFFER_MIN]);
        }
        assert!(pool.kept_bytes() <= BUF_POOL_MAX_BYTES);
        // Undersized receive buffers and empty send buffers are never kept.
        let before = pool.kept_bytes();
        pool.put_tx(Vec::new());
        assert_eq!(pool.kept_bytes(), before);
        let mut small = BufPool::default();
        small.put_rx(vec![0; 100]);
        assert_eq!(small.kept_bytes(), 0);
    }
}
