//! The multi's shared state: transfers, connections, pool, dirty set, timers, messages.
//!
//! `Core` is the one owner (DESIGN P2). A transfer being stepped is taken out of its slot,
//! together with its handler, so a callback can get `&mut Core` (through [`Ctx`]) without
//! aliasing the transfer that is calling it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use mio::{Interest, Registry, Token};
use slab::Slab;

use crate::clock::Clock;
use crate::ctx::{Ctx, Direction};
use crate::dns::Resolver;
use crate::easy::Easy;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::multi::command::{Command, PendingCommand};
use crate::multi::external::{External, SocketWhat, INTERNAL};
use crate::multi::{Message, Multi, TransferId};
use crate::rng::SecureRng;
use crate::transfer::services::{lend_send_buffer, Checkout};
use crate::transfer::{State, Transfer};
use crate::transport::tls::TlsConfigs;
use crate::transport::{BufPool, Conn, PoolKey};

/// Both ends of the command channel (the sender is cloned into each [`CommandSender`]).
///
/// [`CommandSender`]: crate::multi::CommandSender
pub(crate) type CommandChannel = (
    crossbeam_channel::Sender<Command>,
    crossbeam_channel::Receiver<Command>,
);

/// Structural changes requested from callbacks, applied after the step.
pub(crate) enum Deferred {
    Remove(TransferId),
}

pub(crate) struct Slot {
    pub(crate) gen: u32,
    pub(crate) xfer: Option<Box<Transfer>>,
    pub(crate) handler: Option<Box<dyn Handler>>,
}

/// Who owns a registered connection.
pub(crate) enum ConnEntry {
    /// In use by a transfer (the transfer holds the `Conn`).
    Owned(TransferId),
    /// In the pool (the pool holds the `Conn`).
    Idle(Box<Conn>),
}

/// Default cap on idle connections kept in the pool (curl's `CURLMOPT_MAXCONNECTS` default is
/// 4 × the number of added handles; a fixed cap is simpler to reason about).
pub const DEFAULT_MAX_IDLE: usize = 256;

/// Rounds of dirty-set processing per turn before returning to the poller (callbacks can keep
/// marking each other dirty; this bounds the work of one turn).
const MAX_ROUNDS: usize = 8;

pub(crate) struct Core {
    pub(crate) slots: Slab<Slot>,
    next_gen: u32,
    pub(crate) conns: Slab<ConnEntry>,
    /// Idle connections by key, most recently used last.
    idle: HashMap<Arc<PoolKey>, Vec<usize>, KeyHash>,
    idle_count: usize,
    /// Open connections (active + idle + being connected) by key, and in total.
    open_by_key: HashMap<Arc<PoolKey>, usize, KeyHash>,
    open_total: usize,
    pending: HashMap<Arc<PoolKey>, VecDeque<TransferId>, KeyHash>,
    /// The key handed out last: transfers to the same origin share it (no allocation per
    /// request).
    last_key: Option<Arc<PoolKey>>,
    pending_count: usize,
    pub(crate) max_total: usize,
    pub(crate) max_host: usize,
    pub(crate) max_idle: usize,
    dirty: Vec<usize>,
    dirty_next: Vec<usize>,
    dirty_spare: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    pub(crate) msgs: VecDeque<Message>,
    pub(crate) deferred: Vec<Deferred>,
    pub(crate) resolver: Resolver,
    pub(crate) registry: Registry,
    pub(crate) tls: TlsConfigs,
    /// Buffers lent to connections with bytes in flight (idle ones hold none).
    pub(crate) bufs: BufPool,
    /// The socket table when an external loop drives the multi (`socket_action`).
    pub(crate) ext: Option<Box<External>>,
    /// Commands from other threads ([`CommandSender`](crate::CommandSender)): the channel is
    /// made by the first [`Multi::command_sender`] call (its array of `cmd_capacity` slots is
    /// not worth its memory to a multi that never gets commands).
    pub(crate) cmd: std::sync::OnceLock<CommandChannel>,
    /// Slots of that channel: [`COMMAND_CAPACITY`](crate::COMMAND_CAPACITY) unless
    /// [`Multi::set_command_capacity`] said otherwise.
    pub(crate) cmd_capacity: usize,
    /// A command that did not fit (a full send queue), retried first; later commands wait
    /// behind it, so each transfer's commands apply in order.
    stalled: Option<PendingCommand>,
    pub(crate) dropped_commands: u64,
    serial: u64,
    pub(crate) running: usize,
    /// The source of every random value this multi sends ([`crate::rng`]); keyed from the OS
    /// the first time one is needed, so a multi that never upgrades to WebSocket makes no
    /// syscall for it.
    rng: Option<SecureRng>,
    /// Where every `now` of this multi comes from ([`crate::clock`]).
    pub(crate) clock: Clock,
    /// Unit tests: the simulated network new connections go to, if any ([`crate::sim`]).
    #[cfg(test)]
    pub(crate) net: Option<crate::sim::Net>,
}

impl Core {
    pub(crate) fn new(registry: Registry, resolver: Resolver) -> Core {
        Core {
            slots: Slab::new(),
            next_gen: 1,
            conns: Slab::new(),
            idle: HashMap::default(),
            idle_count: 0,
            open_by_key: HashMap::default(),
            open_total: 0,
            pending: HashMap::default(),
            last_key: None,
            pending_count: 0,
            max_total: 0,
            max_host: 0,
            max_idle: DEFAULT_MAX_IDLE,
            dirty: Vec::new(),
            dirty_next: Vec::new(),
            dirty_spare: Vec::new(),
            timers: BinaryHeap::new(),
            msgs: VecDeque::new(),
            deferred: Vec::new(),
            resolver,
            registry,
            tls: TlsConfigs::default(),
            bufs: BufPool::default(),
            ext: None,
            cmd: std::sync::OnceLock::new(),
            cmd_capacity: crate::multi::COMMAND_CAPACITY,
            stalled: None,
            dropped_commands: 0,
            serial: 0,
            running: 0,
            rng: None,
            clock: Clock::default(),
            #[cfg(test)]
            net: None,
        }
    }

    /// The multi's secure generator, keyed from the OS at its first use.
    pub(crate) fn rng(&mut self) -> Result<&mut SecureRng> {
        match self.rng {
            Some(ref mut rng) => Ok(rng),
            None => {
                let rng = SecureRng::new().map_err(|e| {
                    Error::new(ErrorKind::Internal, "the OS gave no random bytes").with_source(e)
                })?;
                Ok(self.rng.insert(rng))
            }
        }
    }

    // ----- transfers -------------------------------------------------------------------

    pub(crate) fn add(&mut self, easy: Easy) -> TransferId {
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        let (mut xfer, handler) = easy.into_parts();
        xfer.start_run();
        let index = self.slots.insert(Slot {
            gen,
            xfer: Some(xfer),
            handler: Some(handler),
        });
        self.running += 1;
        let id = TransferId {
            index: index as u32,
            gen,
        };
        self.mark_dirty_idx(index);
        id
    }

    pub(crate) fn reserve_and_defer_add(&mut self, easy: Easy) -> TransferId {
        // Adding is safe mid-step: the current transfer is not in its slot, and a new slot is
        // only stepped once the dirty list reaches it.
        self.add(easy)
    }

    pub(crate) fn slot(&self, id: TransferId) -> Option<&Slot> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.gen == id.gen)
    }

    pub(crate) fn slot_mut(&mut self, id: TransferId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.gen == id.gen)
    }

    pub(crate) fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.slot(id).and_then(|s| s.xfer.as_deref())
    }

    pub(crate) fn transfer_mut(&mut self, id: TransferId) -> Option<&mut Transfer> {
        self.slot_mut(id).and_then(|s| s.xfer.as_deref_mut())
    }

    /// The WebSocket handle of a transfer (not the one being stepped), its send queue given
    /// storage from the pool; the transfer is marked dirty so the loop flushes what is queued
    /// and parks the buffers again.
    pub(crate) fn ws_handle(
        &mut self,
        id: TransferId,
    ) -> Result<crate::ws::WsHandle<'_>, crate::ws::WsError> {
        use crate::ws::WsError;
        if self.transfer(id).is_none() {
            return Err(WsError::UnknownTransfer);
        }
        self.mark_dirty(id);
        let Core { slots, bufs, .. } = self;
        let x = slots
            .get_mut(id.index as usize)
            .and_then(|s| s.xfer.as_deref_mut())
            .ok_or(WsError::UnknownTransfer)?;
        if let Some(ws) = x.ws.as_deref_mut() {
            lend_send_buffer(bufs, &mut ws.session);
            // Connect-only: `recv` reads from the socket itself; it gets a pooled buffer too
            // (the loop parks it again after its next step once drained).
            if x.opts.ws.connect_only {
                if let Some(c) = x.conn.as_deref_mut() {
                    if c.rbuf.is_empty() {
                        c.rbuf = bufs.take_rx();
                    }
                }
            }
        }
        x.ws_handle().ok_or(WsError::NotWebSocket)
    }

    pub(crate) fn pause(&mut self, id: TransferId, dir: Direction) -> bool {
        match self.transfer_mut(id) {
            Some(x) => {
                x.ctl.pause(dir);
                self.ext_mark(id);
                true
            }
            None => false,
        }
    }

    /// `socket_action` mode: what transfer `id`'s socket waits for may have changed.
    fn ext_mark(&mut self, id: TransferId) {
        if self.ext.is_none() {
            return;
        }
        let fd = self
            .transfer(id)
            .and_then(|x| x.conn.as_deref())
            .map(Conn::fd);
        if let (Some(ext), Some(fd)) = (self.ext.as_deref_mut(), fd) {
            ext.mark(fd);
        }
    }

    pub(crate) fn unpause(&mut self, id: TransferId, dir: Direction) -> bool {
        match self.transfer_mut(id) {
            Some(x) => {
                x.ctl.unpause(dir);
                self.mark_dirty(id);
                self.ext_mark(id);
                true
            }
            None => false,
        }
    }

    pub(crate) fn mark_dirty(&mut self, id: TransferId) {
        if self.slot(id).is_some() {
            self.mark_dirty_idx(id.index as usize);
        }
    }

    fn mark_dirty_idx(&mut self, index: usize) {
        if let Some(Slot { xfer: Some(x), .. }) = self.slots.get_mut(index) {
            if !x.dirty {
                x.dirty = true;
                self.dirty.push(index);
            }
        }
    }

    pub(crate) fn has_work(&self) -> bool {
        !self.dirty.is_empty() || !self.dirty_next.is_empty() || !self.deferred.is_empty()
    }

    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        // Drop stale heads so the poller never wakes for a timer nobody wants.
        while let Some(Reverse((at, idx, gen))) = self.timers.peek().copied() {
            if self.timer_live(at, idx, gen) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    fn timer_live(&self, at: Instant, idx: usize, gen: u32) -> bool {
        matches!(self.slots.get(idx), Some(Slot { gen: g, xfer: Some(x), .. }) if *g == gen && x.armed == Some(at))
    }

    // ----- the turn ----------------------------------------------------------------------

    /// One turn after the poller returned: DNS answers, timers, dirty transfers, deferred ops.
    pub(crate) fn run(&mut self, now: Instant) {
        self.apply_commands();
        let mut answers = Vec::new();
        self.resolver
            .drain(now, |req, ans| answers.push((req, ans)));
        for (req, ans) in answers {
            let id = TransferId::from_u64(req);
            if let Some(x) = self.transfer_mut(id) {
                if x.state == State::Resolving {
                    x.on_resolved(ans, now);
                    self.mark_dirty(id);
                }
            }
        }
        while let Some(Reverse((at, idx, gen))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.timer_live(at, idx, gen) {
                if let Some(x) = self.slots[idx].xfer.as_deref_mut() {
                    x.armed = None;
                }
                self.mark_dirty_idx(idx);
            }
        }
        // Transfers that used up their budget last turn go first this turn.
        if !self.dirty_next.is_empty() {
            self.dirty_next.append(&mut self.dirty);
            std::mem::swap(&mut self.dirty, &mut self.dirty_next);
        }
        for _ in 0..MAX_ROUNDS {
            if self.dirty.is_empty() {
                break;
            }
            let spare = std::mem::take(&mut self.dirty_spare);
            let mut list = std::mem::replace(&mut self.dirty, spare);
            for (i, &idx) in list.iter().enumerate() {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.step_one(idx, now))) {
                    // Transfers after the panicking one keep their turn (their dirty flag is
                    // still set, so they must stay listed).
                    self.dirty.extend_from_slice(&list[i + 1..]);
                    resume_unwind(panic);
                }
            }
            list.clear();
            self.dirty_spare = list;
            self.apply_deferred();
        }
        if self.stalled.is_some() {
            // The flushes of this turn may have made room.
            self.apply_commands();
        }
        // Whatever is still dirty runs next turn (the poller will not block).
        self.dirty_next.append(&mut self.dirty);
        if self.timers.len() > 64 + 4 * self.slots.len() {
            self.compact_timers();
        }
    }

    fn step_one(&mut self, idx: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        let gen = slot.gen;
        let (Some(mut x), Some(mut h)) = (slot.xfer.take(), slot.handler.take()) else {
            return;
        };
        let id = TransferId {
            index: idx as u32,
            gen,
        };
        x.dirty = false;
        // A panicking callback aborts its transfer and leaves the multi consistent: the
        // transfer is failed, its connection closed, it is reported, and it goes back into its
        // slot before the panic continues to the caller of perform/poll.
        let stepped = catch_unwind(AssertUnwindSafe(|| x.step(self, id, &mut *h, now)));
        let again = match stepped {
            Ok(again) => again,
            Err(panic) => {
                x.fail_after_panic(self, now);
                self.report(&mut x, None, id);
                self.put_back(idx, x, h);
                resume_unwind(panic);
            }
        };
        if (x.state == State::Done || x.established) && !x.reported {
            let done = catch_unwind(AssertUnwindSafe(|| self.report(&mut x, Some(&mut *h), id)));
            if let Err(panic) = done {
                self.put_back(idx, x, h);
                resume_unwind(panic);
            }
        }
        let removed = x.ctl.removed;
        let kick = std::mem::take(&mut x.ctl.kick);
        let deadline = if x.state == State::Done {
            None
        } else {
            x.next_deadline()
        };
        if deadline != x.armed {
            x.armed = deadline;
            if let Some(at) = deadline {
                self.timers.push(Reverse((at, idx, gen)));
            }
        }
        x.park_buffers(&mut self.bufs);
        if let (Some(ext), Some(c)) = (self.ext.as_deref_mut(), x.conn.as_deref_mut()) {
            ext.mark(c.fd());
        }
        let slot = &mut self.slots[idx];
        slot.xfer = Some(x);
        slot.handler = Some(h);
        if removed {
            return;
        }
        if kick {
            self.mark_dirty_idx(idx);
        } else if again {
            let x = self.slots[idx].xfer.as_deref_mut().expect("just put back");
            if !x.dirty {
                x.dirty = true;
                self.dirty_next.push(idx);
            }
        }
    }

    /// Queue the completion message (after the done callback, if any).
    fn report(&mut self, x: &mut Transfer, h: Option<&mut dyn Handler>, id: TransferId) {
        if x.reported {
            return;
        }
        x.reported = true;
        self.running -= 1;
        let result = x.result.take().unwrap_or(Ok(()));
        if let Some(h) = h {
            let Transfer { ctl, info, .. } = x;
            let mut ctx = Ctx::new(self, id, ctl, info, None, None);
            h.done(&mut ctx, &result);
        }
        self.msgs.push_back(Message { id, result });
    }

    fn put_back(&mut self, idx: usize, x: Box<Transfer>, h: Box<dyn Handler>) {
        if let Some(slot) = self.slots.get_mut(idx) {
            slot.xfer = Some(x);
            slot.handler = Some(h);
        }
    }

    fn apply_deferred(&mut self) {
        while let Some(op) = self.deferred.pop() {
            match op {
                Deferred::Remove(id) => {
                    drop(self.remove(id));
                }
            }
        }
    }

    fn compact_timers(&mut self) {
        let old = std::mem::take(&mut self.timers);
        self.timers = old
            .into_iter()
            .filter(|Reverse((at, idx, gen))| self.timer_live(*at, *idx, *gen))
            .collect();
    }

    /// Take a transfer out of the multi. An unfinished transfer is cancelled: its connection
    /// is closed (it is in an unknown state), its limits released.
    pub(crate) fn remove(&mut self, id: TransferId) -> Option<Easy> {
        let slot = self.slot_mut(id)?;
        let (Some(mut x), Some(h)) = (slot.xfer.take(), slot.handler.take()) else {
            // The transfer is being stepped (removal from its own callback): the step's
            // caller sees `ctl.removed` and calls us again later.
            return None;
        };
        self.slots.remove(id.index as usize);
        if !x.reported {
            self.running -= 1;
            let now = self.clock.now();
            x.abandon(self, now);
        } else if let Some(conn) = x.conn.take() {
            // A connect-only WebSocket reports completion at the upgrade and keeps its
            // connection until it is removed: close it (and free its slot in the limits).
            self.close_conn(conn);
        }
        x.end_run();
        Some(Easy::from_parts(x, h))
    }

    // ----- connections -------------------------------------------------------------------

    pub(crate) fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial - 1
    }

    /// The pool key for an origin; the same `Arc` as last time when the origin repeats.
    pub(crate) fn pool_key(
        &mut self,
        tls: bool,
        host: &str,
        port: u16,
        tls_id: u64,
    ) -> Arc<PoolKey> {
        if let Some(k) = &self.last_key {
            if k.tls == tls
                && k.port == port
                && k.tls_id == tls_id
                && (k.host == host || k.host.eq_ignore_ascii_case(host))
            {
                return k.clone();
            }
        }
        let k = Arc::new(PoolKey::new(tls, host.to_ascii_lowercase(), port, tls_id));
        self.last_key = Some(k.clone());
        k
    }

    /// Get a pooled connection, or the right to open one, or wait.
    pub(crate) fn checkout(&mut self, key: &Arc<PoolKey>, fresh: bool, id: TransferId) -> Checkout {
        if !fresh {
            while let Some(tok) = self.idle.get_mut(key).and_then(Vec::pop) {
                self.idle_count -= 1;
                let entry = std::mem::replace(&mut self.conns[tok], ConnEntry::Owned(id));
                let ConnEntry::Idle(mut conn) = entry else {
                    continue;
                };
                // Probed at every checkout (curl's `extract_if_dead`), whatever events were or
                // were not seen: bytes that arrived while the application was not polling (a
                // server's `408` or close on the idle connection) have raised no event yet.
                // What remains is the instant between this probe and the request reaching
                // the server: the retry on a reused connection covers that race.
                if conn.is_alive() {
                    return Checkout::Reused(conn);
                }
                self.close_conn(conn);
            }
        }
        let host_ok =
            self.max_host == 0 || self.open_by_key.get(key).copied().unwrap_or(0) < self.max_host;
        let mut total_ok = self.max_total == 0 || self.open_total < self.max_total;
        if host_ok && !total_ok && self.idle_count > 0 {
            // Make room by closing an idle connection to another host (curl does the same).
            if let Some(tok) = self.idle.iter_mut().find_map(|(_, v)| {
                if v.is_empty() {
                    None
                } else {
                    Some(v.remove(0))
                }
            }) {
                self.idle_count -= 1;
                if let ConnEntry::Idle(conn) = self.conns.remove(tok) {
                    self.close_unregistered(conn);
                }
                total_ok = true;
            }
        }
        if host_ok && total_ok {
            *self.open_by_key.entry(key.clone()).or_insert(0) += 1;
            self.open_total += 1;
            return Checkout::New;
        }
        self.pending.entry(key.clone()).or_default().push_back(id);
        self.pending_count += 1;
        Checkout::Wait
    }

    /// Give back a connection right obtained with [`Checkout::New`] that never became a
    /// pooled connection (connect failed, transfer cancelled, connection closed).
    pub(crate) fn release_slot(&mut self, key: &Arc<PoolKey>) {
        if let Some(n) = self.open_by_key.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.open_by_key.remove(key);
            }
        }
        self.open_total = self.open_total.saturating_sub(1);
        self.wake_pending(Some(key));
    }

    fn wake_pending(&mut self, prefer: Option<&Arc<PoolKey>>) {
        if self.pending_count == 0 {
            return;
        }
        let try_key = |core: &mut Core, key: &Arc<PoolKey>| -> bool {
            while let Some(id) = core.pending.get_mut(key).and_then(VecDeque::pop_front) {
                core.pending_count -= 1;
                if let Some(x) = core.transfer_mut(id) {
                    if x.state == State::Pending {
                        x.state = State::Init;
                        core.mark_dirty(id);
                        return true;
                    }
                }
            }
            core.pending.remove(key);
            false
        };
        if let Some(k) = prefer {
            if try_key(self, k) {
                return;
            }
        }
        let keys: Vec<Arc<PoolKey>> = self.pending.keys().cloned().collect();
        for k in keys {
            if try_key(self, &k) {
                return;
            }
        }
    }

    /// Register a new connection with the poller; edge-triggered, both directions, once.
    pub(crate) fn register(&mut self, conn: &mut Conn, owner: TransferId) -> io::Result<()> {
        let tok = self.conns.insert(ConnEntry::Owned(owner));
        conn.token = tok;
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Some(ext) = self.ext.as_deref_mut() {
            ext.add(conn.fd(), tok);
            conn.registered = Some(interest);
            return Ok(());
        }
        conn.short_read_ok = true;
        if let Err(e) = self.registry.register(conn.source(), Token(tok), interest) {
            self.conns.remove(tok);
            conn.token = usize::MAX;
            return Err(e);
        }
        conn.registered = Some(interest);
        Ok(())
    }

    /// Stop watching a connection's socket (it is about to be closed).
    fn deregister(&mut self, conn: &mut Conn) {
        match self.ext.as_deref_mut() {
            Some(ext) => ext.remove(conn.fd()),
            None => {
                let _ = self.registry.deregister(conn.source());
            }
        }
    }

    /// Forget a connection attempt that failed (it holds no slot of its own).
    #[allow(clippy::boxed_local)] // the caller's connection is boxed; no point unboxing it
    pub(crate) fn drop_attempt(&mut self, mut conn: Box<Conn>) {
        if conn.token != usize::MAX && self.conns.contains(conn.token) {
            self.deregister(&mut conn);
            self.conns.remove(conn.token);
        }
    }

    /// A transfer is done with its connection.
    pub(crate) fn release(&mut self, mut conn: Box<Conn>, reusable: bool) {
        if !reusable || conn.no_reuse {
            self.close_conn(conn);
            return;
        }
        conn.uses += 1;
        self.bufs.park_rx(&mut conn);
        let key = conn.key.clone();
        let tok = conn.token;
        if self.idle_count >= self.max_idle {
            // Evict the oldest idle connection of any host.
            if let Some(old) = self.idle.iter_mut().find_map(|(_, v)| {
                if v.is_empty() {
                    None
                } else {
                    Some(v.remove(0))
                }
            }) {
                self.idle_count -= 1;
                if let ConnEntry::Idle(c) = self.conns.remove(old) {
                    self.close_unregistered(c);
                }
            }
        }
        if let Some(ext) = self.ext.as_deref_mut() {
            ext.mark(conn.fd());
        }
        self.conns[tok] = ConnEntry::Idle(conn);
        self.idle.entry(key.clone()).or_default().push(tok);
        self.idle_count += 1;
        self.wake_pending(Some(&key));
    }

    /// Close a connection whose table entry still exists.
    pub(crate) fn close_conn(&mut self, mut conn: Box<Conn>) {
        self.deregister(&mut conn);
        if self.conns.contains(conn.token) {
            self.conns.remove(conn.token);
        }
        conn.close();
        let key = conn.key.clone();
        drop(conn);
        self.release_slot(&key);
    }

    fn close_unregistered(&mut self, mut conn: Box<Conn>) {
        self.deregister(&mut conn);
        conn.close();
        let key = conn.key.clone();
        drop(conn);
        self.release_slot(&key);
    }

    /// A readiness event from mio for connection `tok`.
    pub(crate) fn on_event(&mut self, tok: usize, ev: &mio::event::Event) {
        let closed = ev.is_read_closed() || ev.is_error();
        self.on_ready(
            tok,
            ev.is_readable() || closed,
            ev.is_writable() || ev.is_write_closed() || ev.is_error(),
            closed,
            ev.is_readable() && !ev.is_error(),
        );
    }

    /// Connection `tok` is readable and/or writable; `closed`: the peer hung up or the socket
    /// failed (read to EOF); `arrived`: the event says bytes came in (a sign of life for the
    /// keepalive of a connect-only WebSocket; not said of a mere "try both directions").
    pub(crate) fn on_ready(
        &mut self,
        tok: usize,
        readable: bool,
        writable: bool,
        closed: bool,
        arrived: bool,
    ) {
        let Some(entry) = self.conns.get_mut(tok) else {
            return;
        };
        match entry {
            ConnEntry::Owned(id) => {
                let id = *id;
                if let Some(x) = self.transfer_mut(id) {
                    if let Some(c) = x.conn.as_deref_mut() {
                        if c.token == tok {
                            c.readable |= readable;
                            c.arrived |= arrived;
                            c.read_closed |= closed;
                            c.writable |= writable;
                        }
                    }
                    self.mark_dirty(id);
                }
            }
            ConnEntry::Idle(conn) => {
                // The server closed (or wrote to) an idle connection: it is no longer usable.
                if readable {
                    let alive = conn.is_alive();
                    if !alive {
                        let key = conn.key.clone();
                        if let Some(v) = self.idle.get_mut(&key) {
                            v.retain(|&t| t != tok);
                        }
                        self.idle_count -= 1;
                        if let ConnEntry::Idle(c) = self.conns.remove(tok) {
                            self.close_unregistered(c);
                        }
                    }
                }
            }
        }
    }

    /// What the socket of connection `tok` waits for now (`socket_action` mode): read unless
    /// its transfer is paused, write while the socket refused bytes or is still connecting.
    pub(crate) fn want(&self, tok: usize) -> SocketWhat {
        if tok == INTERNAL {
            return SocketWhat::In;
        }
        match self.conns.get(tok) {
            Some(ConnEntry::Idle(_)) => SocketWhat::In,
            Some(ConnEntry::Owned(id)) => match self.transfer(*id) {
                Some(x) => match x.conn.as_deref() {
                    Some(c) if c.token == tok => {
                        External::interest(!x.ctl.recv_paused, !c.writable)
                    }
                    _ => SocketWhat::InOut,
                },
                None => SocketWhat::InOut,
            },
            None => SocketWhat::Remove,
        }
    }

    /// Apply the commands other threads queued, in order, until one does not fit.
    fn apply_commands(&mut self) {
        if self.stalled.is_none() && self.cmd.get().is_none() {
            // No sender was ever made and nothing waits: the common case, without moving a
            // (large) empty `Option<PendingCommand>` out and back every turn.
            return;
        }
        loop {
            let cmd = match self.stalled.take() {
                Some(c) => c,
                None => match self.cmd.get().map(|(_, rx)| rx.try_recv()) {
                    Some(Ok(c)) => PendingCommand::new(c),
                    _ => return,
                },
            };
            if let Some(back) = cmd.apply(self) {
                self.stalled = Some(back);
                return;
            }
        }
    }

    /// The command channel, made on first use.
    pub(crate) fn command_channel(&self) -> &CommandChannel {
        self.cmd
            .get_or_init(|| crossbeam_channel::bounded(self.cmd_capacity))
    }

    /// Counts for tests and the demo: (open, idle).
    pub(crate) fn conn_counts(&self) -> (usize, usize) {
        (self.open_total, self.idle_count)
    }
}

#[allow(dead_code)]
fn _assert_send(m: Multi) -> impl Send {
    m
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
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
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
