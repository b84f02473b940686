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
use crate::multi::external::{External, Ready, SocketWhat, INTERNAL};
use crate::multi::{Message, Multi, TransferId};
use crate::rng::SecureRng;
use crate::transfer::services::{lend_send_buffer, Checkout};
use crate::transfer::{State, Transfer};
use crate::transport::tls::TlsConfigs;
use crate::transport::{BufPool, Conn, Mux, PoolKey};

use super::conns::ConnTable;
use crate::id::ConnId;

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
    /// The connection the transfer is attached to (lent to it while it is stepped).
    pub(crate) conn: Option<ConnId>,
}

/// Rounds of dirty-set processing per turn before returning to the poller (callbacks can keep
/// marking each other dirty; this bounds the work of one turn).
const MAX_ROUNDS: usize = 8;

pub(crate) struct Core {
    pub(crate) slots: Slab<Slot>,
    /// The generations of transfer ids, shared with the command senders.
    pub(crate) gens: Arc<crate::id::Generations>,
    /// Transfers added by a command: generation → slot (their ids were made unplaced).
    placed: HashMap<u32, u32>,
    /// Every connection, busy or idle, and the pool index over them.
    pub(crate) conns: ConnTable,
    /// Transfers waiting for a connection slot (over a limit), by origin.
    pending: HashMap<Arc<PoolKey>, VecDeque<TransferId>>,
    pending_count: usize,
    dirty: Vec<usize>,
    dirty_next: Vec<usize>,
    dirty_spare: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    pub(crate) msgs: VecDeque<Message>,
    /// Connect-only WebSockets with news for the application ([`Multi::ws_ready`]).
    pub(crate) ws_ready: Vec<(TransferId, Ready)>,
    /// Counts the news put on [`Core::ws_ready`], merged into a listed entry or not: a `poll`
    /// compares it around its first run (the list's length misses merged news).
    pub(crate) ws_news_seq: u64,
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
    /// The cookie engine of the transfers that turn it on ([`crate::cookie`]).
    pub(crate) cookies: crate::cookie::CookieJar,
    /// HTTP/2 connections to read, write or run timers for ([`super::h2`]).
    pub(crate) h2_queue: Vec<ConnId>,
    /// Protocol deadlines of HTTP/2 connections: (when, slot index, generation).
    pub(crate) conn_timers: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    /// Multiplexing allowed (`CURLMOPT_PIPELINING` with `CURLPIPE_MULTIPLEX`).
    pub(crate) multiplex: bool,
    /// Most streams per HTTP/2 connection (`CURLMOPT_MAX_CONCURRENT_STREAMS`).
    pub(crate) max_streams: u32,
    /// Receive windows of new HTTP/2 connections: (per stream, per connection).
    pub(crate) h2_windows: (u32, u32),
    /// How often an idle HTTP/2 connection sends a PING (`CURLOPT_UPKEEP_INTERVAL_MS`).
    pub(crate) upkeep: Option<std::time::Duration>,
    /// Unit tests: the simulated network new connections go to, if any ([`crate::sim`]).
    #[cfg(test)]
    pub(crate) net: Option<crate::sim::Net>,
}

impl Core {
    pub(crate) fn new(registry: Registry, resolver: Resolver) -> Core {
        Core {
            slots: Slab::new(),
            gens: Arc::default(),
            placed: HashMap::new(),
            conns: ConnTable::new(),
            pending: HashMap::new(),
            pending_count: 0,
            dirty: Vec::new(),
            dirty_next: Vec::new(),
            dirty_spare: Vec::new(),
            timers: BinaryHeap::new(),
            msgs: VecDeque::new(),
            ws_ready: Vec::new(),
            ws_news_seq: 0,
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
            cookies: crate::cookie::CookieJar::new(),
            h2_queue: Vec::new(),
            conn_timers: BinaryHeap::new(),
            multiplex: true,
            max_streams: super::h2::DEFAULT_MAX_CONCURRENT_STREAMS,
            upkeep: Some(super::h2::DEFAULT_UPKEEP_INTERVAL),
            h2_windows: (
                super::h2::DEFAULT_H2_STREAM_WINDOW,
                super::h2::DEFAULT_H2_CONN_WINDOW,
            ),
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
        let gen = self.gens.next();
        self.add_as(easy, gen)
    }

    /// Add a transfer a command sent, under the id the sender gave out.
    pub(crate) fn add_placed(&mut self, easy: Easy, gen: u32) -> TransferId {
        let id = self.add_as(easy, gen);
        self.placed.insert(gen, id.index);
        id
    }

    fn add_as(&mut self, easy: Easy, gen: u32) -> TransferId {
        let (mut xfer, handler) = easy.into_parts();
        xfer.start_run();
        let index = self.slots.insert(Slot {
            gen,
            xfer: Some(xfer),
            handler: Some(handler),
            conn: None,
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

    /// The slot index of `id` (looked up for an id a command sender made).
    #[inline]
    fn index_of(&self, id: TransferId) -> Option<usize> {
        match id.index {
            crate::id::UNPLACED => self.placed.get(&id.gen).map(|&i| i as usize),
            i => Some(i as usize),
        }
    }

    pub(crate) fn slot(&self, id: TransferId) -> Option<&Slot> {
        self.slots
            .get(self.index_of(id)?)
            .filter(|s| s.gen == id.gen)
    }

    pub(crate) fn slot_mut(&mut self, id: TransferId) -> Option<&mut Slot> {
        let index = self.index_of(id)?;
        self.slots.get_mut(index).filter(|s| s.gen == id.gen)
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
        let index = self.index_of(id).ok_or(WsError::UnknownTransfer)?;
        let Core {
            slots, bufs, conns, ..
        } = self;
        let slot = slots.get_mut(index).ok_or(WsError::UnknownTransfer)?;
        let conn = slot.conn.and_then(|c| conns.get_mut(c));
        let x = slot.xfer.as_deref_mut().ok_or(WsError::UnknownTransfer)?;
        let mut conn = conn.filter(|_| x.opts.ws.connect_only);
        if let (Some(c), Some(sid)) = (conn.as_deref_mut(), x.h2_stream) {
            // Over HTTP/2: the stream's input in place for `recv`. It stays entered until the
            // connection is next given back (this transfer is marked dirty above), which also
            // grants flow control for what `recv` consumed.
            c.enter_stream(sid);
        }
        if let Some(ws) = x.ws.as_deref_mut() {
            lend_send_buffer(bufs, &mut ws.session);
            // Connect-only: `recv` reads from the socket itself; it gets a pooled buffer too
            // (the loop parks it again after its next step once drained).
            if let Some(c) = conn.as_deref_mut() {
                if c.rbuf.is_empty() {
                    c.rbuf = bufs.take_rx();
                }
            }
        }
        x.ws_handle(conn).ok_or(WsError::NotWebSocket)
    }

    /// A transfer that has not finished.
    pub(crate) fn unfinished(&self, id: TransferId) -> bool {
        self.transfer(id).is_some_and(|x| !x.is_done())
    }

    /// Count a command that found no transfer to apply to.
    pub(crate) fn count_if_dropped(&mut self, applied: bool) {
        if !applied {
            self.dropped_commands += 1;
        }
    }

    /// Cancel an unfinished transfer at its next step (a command's `remove`).
    pub(crate) fn cancel(&mut self, id: TransferId) -> bool {
        if !self.unfinished(id) {
            return false;
        }
        if let Some(x) = self.transfer_mut(id) {
            x.ctl.cancel = true;
        }
        self.mark_dirty(id);
        true
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
        let cid = self.slot(id).and_then(|s| s.conn);
        let fd = cid.and_then(|c| self.conns.get_mut(c)).map(|c| c.fd());
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
        if let Some(index) = self.index_of(id).filter(|_| self.slot(id).is_some()) {
            self.mark_dirty_idx(index);
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
        !self.dirty.is_empty()
            || !self.dirty_next.is_empty()
            || !self.deferred.is_empty()
            || !self.h2_queue.is_empty()
    }

    #[inline]
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        let conn = self.next_conn_deadline();
        // Drop stale heads so the poller never wakes for a timer nobody wants.
        while let Some(Reverse((at, idx, gen))) = self.timers.peek().copied() {
            if self.timer_live(at, idx, gen) {
                return Some(conn.map_or(at, |c| c.min(at)));
            }
            self.timers.pop();
        }
        conn
    }

    fn timer_live(&self, at: Instant, idx: usize, gen: u32) -> bool {
        matches!(self.slots.get(idx), Some(Slot { gen: g, xfer: Some(x), .. }) if *g == gen && x.armed == Some(at))
    }

    // ----- the turn ----------------------------------------------------------------------

    /// One turn after the poller returned: DNS answers, timers, dirty transfers, deferred ops.
    pub(crate) fn run(&mut self, now: Instant) {
        self.apply_commands();
        if self.resolver.waiting() {
            self.hand_out_answers(now);
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
        self.fire_conn_timers(now);
        self.service_h2(now);
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
            // What the transfers queued on HTTP/2 connections goes out once per round.
            self.service_h2(now);
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

    /// Give the resolver's answers to the transfers waiting for them.
    fn hand_out_answers(&mut self, now: Instant) {
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
    }

    fn step_one(&mut self, idx: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        let gen = slot.gen;
        let (Some(mut x), Some(mut h)) = (slot.xfer.take(), slot.handler.take()) else {
            return;
        };
        if let Some(cid) = slot.conn {
            x.conn = self.conns.lend(cid);
            x.enter_stream();
        }
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
        if x.ws_news != Ready::NONE {
            self.list_ws_ready(&mut x, id);
        }
        let removed = x.ctl.removed;
        let kick = std::mem::take(&mut x.ctl.kick);
        let deadline = if x.state == State::Done {
            None
        } else {
            x.rearm()
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
        x.leave_stream();
        let conn = x.conn.take();
        let slot = &mut self.slots[idx];
        slot.xfer = Some(x);
        slot.handler = Some(h);
        // Back in its slot first: giving an HTTP/2 connection back wakes the transfers with
        // news on it, this one included (its own read may have opened its send window).
        let conn = conn.and_then(|c| self.give_back_conn(c));
        self.slots[idx].conn = conn;
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

    /// Put a connect-only WebSocket's news on the ready list (merged into its entry if listed).
    #[cold]
    fn list_ws_ready(&mut self, x: &mut Transfer, id: TransferId) {
        let news = std::mem::replace(&mut x.ws_news, Ready::NONE);
        self.ws_news_seq = self.ws_news_seq.wrapping_add(1);
        match x.ws_listed.and_then(|i| self.ws_ready.get_mut(i as usize)) {
            Some((_, r)) => {
                r.readable |= news.readable;
                r.writable |= news.writable;
                r.error |= news.error;
            }
            None => {
                x.ws_listed = Some(self.ws_ready.len() as u32);
                self.ws_ready.push((id, news));
            }
        }
    }

    /// Take the ready list: each transfer is listed again at its next news.
    pub(crate) fn take_ws_ready(&mut self, out: &mut Vec<(TransferId, Ready)>) {
        let mut list = std::mem::take(&mut self.ws_ready);
        for (id, news) in list.drain(..) {
            // A transfer removed since it was listed is left out.
            if let Some(x) = self.slot_mut(id).and_then(|s| s.xfer.as_deref_mut()) {
                x.ws_listed = None;
                out.push((id, news));
            }
        }
        self.ws_ready = list;
    }

    /// Queue the completion message (after the done callback, if any).
    fn report(&mut self, x: &mut Transfer, mut h: Option<&mut dyn Handler>, id: TransferId) {
        if x.reported {
            return;
        }
        x.reported = true;
        self.running -= 1;
        if let Some(path) = x.opts.cookies.jar.as_deref() {
            if let Err(e) = self.cookies.save_file(path) {
                if let (Some(h), true) = (h.as_deref_mut(), x.opts.verbose) {
                    let msg = format!("cookie jar {} not written: {e}\n", path.display());
                    h.debug(crate::handler::DebugKind::Text, msg.as_bytes());
                }
            }
        }
        let result = x.result.take().unwrap_or(Ok(()));
        if let Some(h) = h {
            let Transfer { ctl, info, .. } = x;
            let mut ctx = Ctx::new(self, id, ctl, info, None, None);
            h.done(&mut ctx, &result);
        }
        self.msgs.push_back(Message { id, result });
    }

    /// A connection lent to a transfer for its step goes back to the table.
    #[inline]
    fn give_back_conn(&mut self, c: Box<Conn>) -> Option<ConnId> {
        if c.h2.is_some() {
            return self.give_back_link(c);
        }
        self.conns.give_back(c)
    }

    fn put_back(&mut self, idx: usize, mut x: Box<Transfer>, h: Box<dyn Handler>) {
        x.leave_stream();
        let conn = x.conn.take();
        if let Some(slot) = self.slots.get_mut(idx) {
            slot.xfer = Some(x);
            slot.handler = Some(h);
        }
        let conn = conn.and_then(|c| self.give_back_conn(c));
        if let Some(slot) = self.slots.get_mut(idx) {
            slot.conn = conn;
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
        let cid = slot.conn;
        let index = self.index_of(id)?;
        self.slots.remove(index);
        if !self.placed.is_empty() {
            self.placed.remove(&id.gen);
        }
        if let Some(cid) = cid {
            x.conn = self.conns.lend(cid);
            x.enter_stream();
        }
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

    /// Get a pooled connection, or the right to open one, or wait.
    pub(crate) fn checkout(
        &mut self,
        key: &Arc<PoolKey>,
        fresh: bool,
        id: TransferId,
        mux: Mux,
        pipewait: bool,
    ) -> Checkout {
        if mux != Mux::No && self.multiplex && !fresh {
            if let Some(c) = self.checkout_mux(key, id, pipewait) {
                return c;
            }
        }
        if !fresh {
            while let Some(conn) = self.conns.take_idle(key, id) {
                // Probed at every checkout (curl's `extract_if_dead`), whatever events were or
                // were not seen: bytes that arrived while the application was not polling (a
                // server's `408` or close on the idle connection) have raised no event yet.
                // What remains is the instant between this probe and the request reaching
                // the server: the retry on a reused connection covers that race.
                let mut conn = conn;
                if conn.is_alive() {
                    return Checkout::Reused(conn);
                }
                self.close_conn(conn);
            }
        }
        match self.conns.charge(key) {
            Some(evicted) => {
                if let Some(c) = evicted {
                    self.close_unregistered(c);
                }
                Checkout::New
            }
            None => {
                self.pending.entry(key.clone()).or_default().push_back(id);
                self.pending_count += 1;
                Checkout::Wait
            }
        }
    }

    /// Give back a connection right obtained with [`Checkout::New`] that never became a
    /// pooled connection (connect failed, transfer cancelled, connection closed).
    pub(crate) fn release_slot(&mut self, key: &Arc<PoolKey>) {
        self.conns.uncharge(key);
        self.wake_pending(Some(key));
    }

    pub(crate) fn wake_pending(&mut self, prefer: Option<&Arc<PoolKey>>) {
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

    /// Give a new connection its place in the table, attached and lent to `owner`, and
    /// register its socket with the poller; edge-triggered, both directions, once.
    pub(crate) fn register(&mut self, conn: &mut Conn, owner: TransferId) -> io::Result<()> {
        let cid = self.conns.insert_lent(owner);
        conn.id = Some(cid);
        if conn.mux != Mux::No && self.multiplex {
            self.conns.add_mux(&conn.key, cid);
        }
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Some(ext) = self.ext.as_deref_mut() {
            ext.add(conn.fd(), cid.token());
            conn.registered = Some(interest);
            return Ok(());
        }
        conn.short_read_ok = true;
        let tok = Token(cid.token());
        if let Err(e) = self.registry.register(conn.source(), tok, interest) {
            self.conns.remove(cid);
            conn.id = None;
            return Err(e);
        }
        conn.registered = Some(interest);
        Ok(())
    }

    /// Stop watching a connection's socket (it is about to be closed).
    fn deregister(&mut self, conn: &mut Conn) {
        if conn.registered.take().is_none() {
            return;
        }
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
        self.wake_waiters(std::mem::take(&mut conn.waiters));
        self.deregister(&mut conn);
        if let Some(cid) = conn.id.take() {
            self.conns.remove(cid);
        }
    }

    /// A transfer is done with its (lent) connection: to the pool when `reusable`, else
    /// closed.
    pub(crate) fn release(&mut self, mut conn: Box<Conn>, reusable: bool) {
        if conn.h2.is_some() {
            return self.release_stream(conn);
        }
        if !reusable || conn.no_reuse {
            self.close_conn(conn);
            return;
        }
        conn.uses += 1;
        self.bufs.park_rx(&mut conn);
        let key = conn.key.clone();
        if self.conns.idle_full() {
            if let Some(old) = self.conns.evict_idle() {
                self.close_unregistered(old);
            }
        }
        if let Some(ext) = self.ext.as_deref_mut() {
            ext.mark(conn.fd());
        }
        self.conns.park_idle(conn);
        self.wake_pending(Some(&key));
    }

    /// Close a connection (lent or idle, its table entry possibly still there).
    pub(crate) fn close_conn(&mut self, mut conn: Box<Conn>) {
        if let Some(cid) = conn.id.take() {
            self.conns.remove(cid);
        }
        self.close_unregistered(conn);
    }

    /// Close a connection that is already out of the table.
    fn close_unregistered(&mut self, mut conn: Box<Conn>) {
        self.wake_waiters(std::mem::take(&mut conn.waiters));
        Core::goodbye_h2(&mut conn);
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
    /// The connection takes the readiness; the transfer attached to it is marked dirty.
    pub(crate) fn on_ready(
        &mut self,
        tok: usize,
        readable: bool,
        writable: bool,
        closed: bool,
        arrived: bool,
    ) {
        let Some(slot) = self.conns.by_token_mut(tok) else {
            return;
        };
        let user = slot.user;
        let Some(c) = slot.conn.as_deref_mut() else {
            // A connect racing for its transfer (happy eyeballs) is held by the transfer,
            // which probes it when stepped.
            if let Some(id) = user {
                self.mark_dirty(id);
            }
            return;
        };
        c.readable |= readable;
        c.arrived |= arrived;
        c.read_closed |= closed;
        c.writable |= writable;
        if c.h2.is_some() {
            // Shared: the multi reads and writes it, then runs the transfers with news.
            if let (false, Some(cid)) = (c.h2_queued, c.id) {
                c.h2_queued = true;
                self.h2_queue.push(cid);
            }
            return;
        }
        match user {
            Some(id) => self.mark_dirty(id),
            // The server closed (or wrote to) an idle connection: it is no longer usable.
            None if readable && !c.is_alive() => {
                if let Some(c) = self.conns.remove_idle(tok) {
                    self.close_unregistered(c);
                }
            }
            None => {}
        }
    }

    /// What the socket of connection `tok` waits for now (`socket_action` mode): read unless
    /// its transfer is paused, write while the socket refused bytes or is still connecting.
    pub(crate) fn want(&self, tok: usize) -> SocketWhat {
        if tok == INTERNAL {
            return SocketWhat::In;
        }
        let Some(slot) = self.conns.by_token(tok) else {
            return SocketWhat::Remove;
        };
        match (slot.user, slot.conn.as_deref()) {
            (_, Some(c)) if c.h2.is_some() => External::interest(true, !c.writable),
            (None, _) => SocketWhat::In,
            (Some(id), Some(c)) => match self.transfer(id) {
                Some(x) => External::interest(!x.ctl.recv_paused, !c.writable),
                None => SocketWhat::InOut,
            },
            (Some(_), None) => SocketWhat::InOut,
        }
    }

    /// Apply the commands other threads queued, in order, until one does not fit.
    #[inline(always)]
    fn apply_commands(&mut self) {
        if self.stalled.is_none() && self.cmd.get().is_none() {
            // No sender was ever made and nothing waits: the common case, without a call
            // or moving a (large) empty `Option<PendingCommand>` out and back every turn.
            return;
        }
        self.apply_queued_commands();
    }

    /// [`apply_commands`](Self::apply_commands) when there may be some.
    fn apply_queued_commands(&mut self) {
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

    /// Connections a transfer holds (open and not idle in the pool).
    pub(crate) fn conn_counts_busy(&self) -> usize {
        let (open, idle) = self.conns.counts();
        open - idle
    }

    /// Counts for tests and the demo: (open, idle).
    pub(crate) fn conn_counts(&self) -> (usize, usize) {
        self.conns.counts()
    }
}

#[allow(dead_code)]
fn _assert_send(m: Multi) -> impl Send {
    m
}
