//! The multi's side of the transfer's narrow interfaces: [`Services`] (what a transfer needs
//! to get and give back connections, buffers, names and keys) and [`Host`] (what callbacks may
//! do to the multi), both implemented by the [`Core`] by delegation to its own methods.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::ctx::{Direction, Host};
use crate::dns::Resolver;
use crate::easy::Easy;
use crate::error::Result;
use crate::id::TransferId;
use crate::info::TransferInfo;
use crate::proto::ws::WsSession;
use crate::rng::SecureRng;
use crate::transfer::services::{lend_send_buffer, Checkout, Services};
use crate::transport::tls::TlsConfigs;
use crate::transport::{BufPool, Conn, Mux, PoolKey, Stream, TcpStream};
use crate::ws::{WsError, WsHandle};

use super::core::{Core, Deferred};

impl Services for Core {
    fn pool_key(
        &mut self,
        tls: bool,
        host: &str,
        port: u16,
        tls_id: u64,
        route: u64,
    ) -> Arc<PoolKey> {
        self.conns.pool_key(tls, host, port, tls_id, route)
    }
    fn checkout(
        &mut self,
        key: &Arc<PoolKey>,
        fresh: bool,
        id: TransferId,
        mux: Mux,
        pipewait: bool,
    ) -> Checkout {
        Core::checkout(self, key, fresh, id, mux, pipewait)
    }
    fn settle_mux(&mut self, conn: &mut Conn, h2: bool, now: Instant) {
        Core::settle_mux(self, conn, h2, now)
    }
    fn release_slot(&mut self, key: &Arc<PoolKey>) {
        Core::release_slot(self, key)
    }
    fn connect_tcp(
        &mut self,
        addr: SocketAddr,
        opts: &crate::transport::socket::SocketOptions,
    ) -> io::Result<TcpStream> {
        #[cfg(test)]
        if let Some(net) = &self.net {
            return Ok(TcpStream::Memory(net.connect(addr)));
        }
        if opts.is_default() {
            return Stream::tcp(addr);
        }
        let s = crate::transport::socket::connect_with(addr, opts)?;
        #[cfg(test)]
        let s = TcpStream::Real(s);
        Ok(s)
    }
    fn register(&mut self, conn: &mut Conn, owner: TransferId) -> io::Result<()> {
        Core::register(self, conn, owner)
    }
    fn drop_attempt(&mut self, conn: Box<Conn>) {
        Core::drop_attempt(self, conn)
    }
    fn release(&mut self, conn: Box<Conn>, reusable: bool) {
        Core::release(self, conn, reusable)
    }
    fn next_serial(&mut self) -> u64 {
        Core::next_serial(self)
    }
    fn resolver(&mut self) -> &mut Resolver {
        &mut self.resolver
    }
    fn tls(&mut self) -> &mut TlsConfigs {
        &mut self.tls
    }
    fn bufs(&mut self) -> &mut BufPool {
        &mut self.bufs
    }
    fn rng(&mut self) -> Result<&mut SecureRng> {
        Core::rng(self)
    }

    fn cookies(&mut self) -> &mut crate::cookie::CookieJar {
        &mut self.cookies
    }

    fn unix_time(&self) -> u64 {
        self.clock.unix_now()
    }
}

impl Host for Core {
    fn info_of(&self, id: TransferId) -> Option<&TransferInfo> {
        self.transfer(id).map(|x| &*x.info)
    }
    fn pause(&mut self, id: TransferId, dir: Direction) -> bool {
        Core::pause(self, id, dir)
    }
    fn unpause(&mut self, id: TransferId, dir: Direction) -> bool {
        Core::unpause(self, id, dir)
    }
    fn lend_send_buffer(&mut self, session: &mut WsSession) {
        lend_send_buffer(&mut self.bufs, session)
    }
    fn ws_handle(&mut self, id: TransferId) -> std::result::Result<WsHandle<'_>, WsError> {
        Core::ws_handle(self, id)
    }
    fn add(&mut self, easy: Easy) -> TransferId {
        self.reserve_and_defer_add(easy)
    }
    fn remove(&mut self, id: TransferId) {
        self.deferred.push(Deferred::Remove(id));
    }
}
