//! The multi's connections: one table owns every connection, busy or idle, under
//! generation-checked ids ([`ConnId`]); the pool is an index over that table (origin key →
//! idle connections), and the connection limits are counted here.
//!
//! A connection in use is attached to its transfer (HTTP/1.1: one at a time) and lent to it
//! only while the transfer is stepped: the multi takes it out of its slot before the step and
//! puts it back after (the way a transfer itself is taken out of its slot), so between steps
//! the table is the only owner. Readiness goes from the token to the connection here, then to
//! the transfers attached to it.

use std::collections::HashMap;
use std::sync::Arc;

use slab::Slab;

use crate::id::{ConnId, TransferId};
use crate::transport::{Conn, Mux, PoolKey};

/// What [`ConnTable::find_mux`] found.
pub(crate) enum MuxFind {
    /// An HTTP/2 connection with a free stream.
    Link(ConnId),
    /// A connection still connecting that may speak HTTP/2.
    Connecting(ConnId),
    None,
}

/// Default cap on idle connections kept in the pool (curl's `CURLMOPT_MAXCONNECTS` default is
/// 4 × the number of added handles; a fixed cap is simpler to reason about).
pub const DEFAULT_MAX_IDLE: usize = 256;

/// One connection's place in the table.
pub(crate) struct ConnSlot {
    gen: u32,
    /// The connection; `None` while it is lent to the transfer being stepped.
    pub(crate) conn: Option<Box<Conn>>,
    /// The transfer attached to it; `None` while it idles in the pool.
    pub(crate) user: Option<TransferId>,
}

/// Every connection of a multi, the pool index over them, and the limits.
#[derive(Default)]
pub(crate) struct ConnTable {
    slots: Slab<ConnSlot>,
    next_gen: u32,
    /// Idle connections by key (slot indexes), most recently used last.
    idle: HashMap<Arc<PoolKey>, Vec<usize>, KeyHash>,
    idle_count: usize,
    /// Connections that multiplex (HTTP/2) or may (still connecting with `h2` offered), by
    /// origin: where a transfer looks for a free stream first. Ids of closed connections are
    /// dropped as they are met.
    mux: HashMap<Arc<PoolKey>, Vec<ConnId>, KeyHash>,
    /// Open connections (in use + idle + being connected) by key, and in total.
    open_by_key: HashMap<Arc<PoolKey>, usize, KeyHash>,
    open_total: usize,
    /// The key handed out last: transfers to the same origin share it (no allocation per
    /// request).
    last_key: Option<Arc<PoolKey>>,
    /// `CURLMOPT_MAX_TOTAL_CONNECTIONS` (0: no limit).
    pub(crate) max_total: usize,
    /// `CURLMOPT_MAX_HOST_CONNECTIONS` (0: no limit).
    pub(crate) max_host: usize,
    /// `CURLMOPT_MAXCONNECTS`.
    pub(crate) max_idle: usize,
}

impl ConnTable {
    pub(crate) fn new() -> ConnTable {
        ConnTable {
            next_gen: 1,
            max_idle: DEFAULT_MAX_IDLE,
            ..ConnTable::default()
        }
    }

    /// The pool key for an origin; the same `Arc` as last time when the origin repeats.
    pub(crate) fn pool_key(
        &mut self,
        tls: bool,
        host: &str,
        port: u16,
        tls_id: u64,
        route: u64,
    ) -> Arc<PoolKey> {
        if let Some(k) = &self.last_key {
            if k.tls == tls
                && k.port == port
                && k.tls_id == tls_id
                && k.route == route
                && (k.host == host || k.host.eq_ignore_ascii_case(host))
            {
                return k.clone();
            }
        }
        let k = Arc::new(PoolKey::via(
            tls,
            host.to_ascii_lowercase(),
            port,
            tls_id,
            route,
        ));
        self.last_key = Some(k.clone());
        k
    }

    // ----- the table ---------------------------------------------------------------------

    /// A place for a new connection, attached to `user` and lent to it (it is being stepped).
    pub(crate) fn insert_lent(&mut self, user: TransferId) -> ConnId {
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        let index = self.slots.insert(ConnSlot {
            gen,
            conn: None,
            user: Some(user),
        });
        ConnId {
            index: index as u32,
            gen,
        }
    }

    /// The slot of a connection id, unless the connection is gone.
    pub(crate) fn slot_mut(&mut self, id: ConnId) -> Option<&mut ConnSlot> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.gen == id.gen)
    }

    /// The slot behind a poller token (the slot index).
    pub(crate) fn by_token(&self, tok: usize) -> Option<&ConnSlot> {
        self.slots.get(tok)
    }

    /// The slot behind a poller token, mutably.
    pub(crate) fn by_token_mut(&mut self, tok: usize) -> Option<&mut ConnSlot> {
        self.slots.get_mut(tok)
    }

    /// A connection, unless it is gone or lent.
    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.slot_mut(id).and_then(|s| s.conn.as_deref_mut())
    }

    /// Lend a connection to the transfer about to be stepped.
    #[inline]
    pub(crate) fn lend(&mut self, id: ConnId) -> Option<Box<Conn>> {
        self.slot_mut(id).and_then(|s| s.conn.take())
    }

    /// Take back a lent connection; returns its id.
    #[inline]
    pub(crate) fn give_back(&mut self, conn: Box<Conn>) -> Option<ConnId> {
        let id = conn.id?;
        let slot = self.slot_mut(id)?;
        slot.conn = Some(conn);
        Some(id)
    }

    /// Forget a connection's place (it is closed or never got going).
    pub(crate) fn remove(&mut self, id: ConnId) {
        if self.slot_mut(id).is_some() {
            self.slots.remove(id.index as usize);
        }
    }

    // ----- the pool ----------------------------------------------------------------------

    /// The most recently used idle connection to `key`, attached to `user` and lent to it.
    pub(crate) fn take_idle(&mut self, key: &Arc<PoolKey>, user: TransferId) -> Option<Box<Conn>> {
        loop {
            let index = self.idle.get_mut(key).and_then(Vec::pop)?;
            self.idle_count -= 1;
            if let Some(slot) = self.slots.get_mut(index) {
                if let Some(conn) = slot.conn.take() {
                    slot.user = Some(user);
                    return Some(conn);
                }
            }
        }
    }

    /// Put a connection (lent, now given back) into the pool as idle.
    pub(crate) fn park_idle(&mut self, conn: Box<Conn>) {
        let key = conn.key.clone();
        let Some(id) = conn.id else {
            return;
        };
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        slot.conn = Some(conn);
        slot.user = None;
        self.idle.entry(key).or_default().push(id.index as usize);
        self.idle_count += 1;
    }

    /// Whether the pool is at its bound of idle connections.
    /// List a connection that multiplexes or may.
    pub(crate) fn add_mux(&mut self, key: &Arc<PoolKey>, id: ConnId) {
        self.mux.entry(key.clone()).or_default().push(id);
    }

    /// A connection of `key` to share: one speaking HTTP/2 with a free stream, else (with
    /// `pipewait`) one still connecting that may speak it and has fewer than `max_waiters`
    /// transfers waiting for it already.
    pub(crate) fn find_mux(
        &mut self,
        key: &Arc<PoolKey>,
        pipewait: bool,
        max_waiters: usize,
    ) -> MuxFind {
        let Some(list) = self.mux.get_mut(key) else {
            return MuxFind::None;
        };
        let slots = &self.slots;
        list.retain(|id| {
            slots
                .get(id.index as usize)
                .filter(|s| s.gen == id.gen)
                .is_some_and(|s| s.conn.as_deref().is_none_or(|c| c.mux != Mux::No))
        });
        let mut found = MuxFind::None;
        for &id in list.iter() {
            let Some(c) = slots[id.index as usize].conn.as_deref() else {
                continue;
            };
            match c.h2.as_deref() {
                Some(link) if link.has_room() => return MuxFind::Link(id),
                Some(_) => {}
                None if pipewait && c.waiters.len() < max_waiters => {
                    found = MuxFind::Connecting(id)
                }
                None => {}
            }
        }
        if list.is_empty() {
            self.mux.remove(key);
        }
        found
    }

    /// Take an HTTP/2 connection without streams out of the table (to close it and make
    /// room under the total limit).
    pub(crate) fn evict_unused_link(&mut self) -> Option<Box<Conn>> {
        let index = self.slots.iter().find_map(|(i, s)| {
            let c = s.conn.as_deref()?;
            c.h2.as_deref().filter(|l| l.is_unused()).map(|_| i)
        })?;
        self.slots.try_remove(index).and_then(|s| s.conn)
    }

    pub(crate) fn idle_full(&self) -> bool {
        self.idle_count >= self.max_idle
    }

    /// Take the oldest idle connection of any host out of the table (to close it).
    pub(crate) fn evict_idle(&mut self) -> Option<Box<Conn>> {
        if self.idle_count == 0 {
            return None;
        }
        let index = self
            .idle
            .values_mut()
            .find_map(|v| (!v.is_empty()).then(|| v.remove(0)))?;
        self.idle_count -= 1;
        self.slots.try_remove(index).and_then(|s| s.conn)
    }

    /// Take an idle connection that went bad (readable while idle) out of the table.
    pub(crate) fn remove_idle(&mut self, tok: usize) -> Option<Box<Conn>> {
        let slot = self.slots.get(tok)?;
        if slot.user.is_some() {
            return None;
        }
        let key = slot.conn.as_ref()?.key.clone();
        if let Some(v) = self.idle.get_mut(&key) {
            v.retain(|&t| t != tok);
        }
        self.idle_count -= 1;
        self.slots.try_remove(tok).and_then(|s| s.conn)
    }

    // ----- limits ------------------------------------------------------------------------

    /// Charge a new connection to `key` if the limits allow one (closing an idle connection
    /// to another host to make room, as curl does): `Some(evicted)` on success.
    pub(crate) fn charge(&mut self, key: &Arc<PoolKey>) -> Option<Option<Box<Conn>>> {
        let host_ok =
            self.max_host == 0 || self.open_by_key.get(key).copied().unwrap_or(0) < self.max_host;
        if !host_ok {
            return None;
        }
        let mut evicted = None;
        if self.max_total != 0 && self.open_total >= self.max_total {
            evicted = Some(self.evict_idle().or_else(|| self.evict_unused_link())?);
        }
        *self.open_by_key.entry(key.clone()).or_insert(0) += 1;
        self.open_total += 1;
        Some(evicted)
    }

    /// Give back a connection's charge against the limits.
    pub(crate) fn uncharge(&mut self, key: &Arc<PoolKey>) {
        if let Some(n) = self.open_by_key.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.open_by_key.remove(key);
            }
        }
        self.open_total = self.open_total.saturating_sub(1);
    }

    /// Counts for tests and the demo: (open, idle).
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.open_total, self.idle_count)
    }
}

/// The pool maps' hasher: FxHash-style multiply-rotate over the key's few bytes. The keys are
/// origins the application asked for (or redirects it allowed, bounded in number), so a
/// DoS-resistant SipHash buys nothing on this per-request path.
type KeyHash = std::hash::BuildHasherDefault<KeyHasher>;

#[derive(Default)]
struct KeyHasher(u64);

impl KeyHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Stream, TcpStream};

    fn key(port: u16) -> Arc<PoolKey> {
        Arc::new(PoolKey::new(false, "h".into(), port, 0))
    }

    /// A connection registered in `t` for transfer `user` (lent to it, as after a connect).
    fn conn(t: &mut ConnTable, key: &Arc<PoolKey>, user: TransferId) -> Box<Conn> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        let mut c = Box::new(Conn::new(Stream::Tcp(tcp), addr, key.clone(), 0));
        c.id = Some(t.insert_lent(user));
        c
    }

    const A: TransferId = TransferId { index: 0, gen: 1 };
    const B: TransferId = TransferId { index: 1, gen: 1 };

    #[test]
    fn a_stale_id_never_names_the_connection_that_took_its_slot() {
        let mut t = ConnTable::new();
        let k = key(80);
        let c = conn(&mut t, &k, A);
        let old = c.id.unwrap();
        t.remove(old);
        drop(c);
        let c2 = conn(&mut t, &k, B);
        let new = c2.id.unwrap();
        assert_eq!(old.index, new.index, "the slot is reused");
        assert!(t.lend(old).is_none());
        assert!(t.slot_mut(old).is_none());
        assert!(t.give_back(c2).is_some());
        assert!(t.get_mut(new).is_some());
        assert!(t.get_mut(old).is_none());
    }

    #[test]
    fn lent_connections_are_not_in_the_table_until_given_back() {
        let mut t = ConnTable::new();
        let k = key(80);
        let c = conn(&mut t, &k, A);
        let id = c.id.unwrap();
        assert!(t.get_mut(id).is_none(), "lent out");
        assert_eq!(t.by_token(id.token()).unwrap().user, Some(A));
        assert_eq!(t.give_back(c), Some(id));
        let lent = t.lend(id).expect("in the table");
        assert!(t.lend(id).is_none(), "lent once");
        t.give_back(lent);
    }

    #[test]
    fn the_pool_hands_out_the_most_recent_idle_connection_and_evicts_the_oldest() {
        let mut t = ConnTable::new();
        let k = key(80);
        let first = conn(&mut t, &k, A);
        let second = conn(&mut t, &k, B);
        let (id1, id2) = (first.id.unwrap(), second.id.unwrap());
        t.park_idle(first);
        t.park_idle(second);
        assert_eq!(t.by_token(id1.token()).unwrap().user, None);
        let got = t.take_idle(&k, A).unwrap();
        assert_eq!(got.id, Some(id2), "most recently used first");
        assert_eq!(t.by_token(id2.token()).unwrap().user, Some(A));
        t.give_back(got);
        let evicted = t.evict_idle().unwrap();
        assert_eq!(evicted.id, Some(id1));
        assert!(t.evict_idle().is_none(), "the other one is in use");
        assert!(t.take_idle(&key(81), A).is_none(), "another origin");
    }

    #[test]
    fn limits_charge_per_host_and_in_total_and_make_room_from_idle() {
        let mut t = ConnTable::new();
        t.max_host = 1;
        t.max_total = 2;
        let (a, b, c) = (key(80), key(81), key(82));
        assert!(matches!(t.charge(&a), Some(None)));
        assert!(t.charge(&a).is_none(), "one per host");
        assert!(matches!(t.charge(&b), Some(None)));
        assert!(t.charge(&c).is_none(), "two in total and none idle");
        // An idle connection to another host makes room.
        let idle = conn(&mut t, &b, A);
        t.park_idle(idle);
        let evicted = t
            .charge(&c)
            .expect("room made")
            .expect("an idle one closed");
        assert_eq!(evicted.key.port, 81);
        t.uncharge(&b);
        assert_eq!(t.counts(), (2, 0));
    }
}
