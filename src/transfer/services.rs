//! What a transfer needs from the multi that drives it, as one narrow interface: connection
//! slots and the pool, registration with the poller, name resolution, TLS configurations, the
//! buffer pool, the random source, and (through [`Host`], its supertrait) what callbacks may
//! do to the multi. The multi implements it; the transfer code never names the multi, so it
//! compiles without it and a test can hand it a stand-in.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::ctx::Host;
use crate::dns::Resolver;
use crate::error::Result;
use crate::id::TransferId;
use crate::proto::ws::WsSession;
use crate::rng::SecureRng;
use crate::transport::tls::TlsConfigs;
use crate::transport::{BufPool, Conn, Mux, PoolKey, TcpStream};

/// The outcome of asking for a connection.
pub(crate) enum Checkout {
    /// A pooled connection to the same origin, probed and ready.
    Reused(Box<Conn>),
    /// A new connection may be opened; the limits have been charged.
    New,
    /// Over a limit: wait in the pending queue.
    Wait,
    /// An HTTP/2 connection with a free stream, lent for this step.
    Joined(Box<Conn>),
    /// A connection to the origin is being made and may multiplex: wait for it (PIPEWAIT).
    WaitConn,
}

/// The multi as a transfer sees it; see the [module docs](self).
pub(crate) trait Services: Host {
    /// The pool key of an origin (the same `Arc` while the origin repeats).
    fn pool_key(
        &mut self,
        tls: bool,
        host: &str,
        port: u16,
        tls_id: u64,
        route: u64,
    ) -> Arc<PoolKey>;
    /// A pooled connection, the right to open one, or a place in the queue.
    fn checkout(
        &mut self,
        key: &Arc<PoolKey>,
        fresh: bool,
        id: TransferId,
        mux: Mux,
        pipewait: bool,
    ) -> Checkout;
    /// A new connection's protocol is known (`h2`: HTTP/2 was agreed): it becomes shared or
    /// stays the transfer's, and the transfers waiting for it run again.
    fn settle_mux(&mut self, conn: &mut Conn, h2: bool, now: Instant);
    /// Give back a right to open a connection that never became one.
    fn release_slot(&mut self, key: &Arc<PoolKey>);
    /// Start a TCP connect to `addr` (it completes later, see `Conn::connect_step`).
    fn connect_tcp(
        &mut self,
        addr: SocketAddr,
        opts: &crate::transport::socket::SocketOptions,
    ) -> io::Result<TcpStream>;
    /// Register a new connection with the poller, owned by `owner`.
    fn register(&mut self, conn: &mut Conn, owner: TransferId) -> io::Result<()>;
    /// Close a connection attempt that failed (its slot stays charged for the next address).
    fn drop_attempt(&mut self, conn: Box<Conn>);
    /// A connection the transfer is done with: to the pool when `reusable`, else closed.
    fn release(&mut self, conn: Box<Conn>, reusable: bool);
    /// A number for the next connection (`Connected to ... #N`).
    fn next_serial(&mut self) -> u64;
    /// The resolver threads.
    fn resolver(&mut self) -> &mut Resolver;
    /// The TLS client configurations, one per distinct set of TLS options.
    fn tls(&mut self) -> &mut TlsConfigs;
    /// The pool of receive and send buffers.
    fn bufs(&mut self) -> &mut BufPool;
    /// The secure random source (keyed from the OS on first use).
    fn rng(&mut self) -> Result<&mut SecureRng>;
    /// The cookie engine shared by the multi's transfers.
    fn cookies(&mut self) -> &mut crate::cookie::CookieJar;
    /// Wall-clock time in seconds since the Unix epoch (cookie expiry).
    fn unix_time(&self) -> u64;
}

/// Give a WebSocket session send-queue storage from the pool if it has none.
#[inline]
pub(crate) fn lend_send_buffer(bufs: &mut BufPool, session: &mut WsSession) {
    if !session.has_send_buffer() {
        if let Some(b) = session.give_send_buffer(bufs.take_tx()) {
            bufs.put_tx(b);
        }
    }
}
