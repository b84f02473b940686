//! The multi's side of HTTP/2 connections: checkout of a free stream (or a wait for a
//! connection still connecting: curl's PIPEWAIT), the service queue that reads, writes and
//! runs the timers of each connection once per round however many transfers ride on it, and
//! closing (GOAWAY) when the last stream is gone.

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::id::{ConnId, TransferId};
use crate::proto::h2::{Config, ErrorCode};
use crate::transfer::services::Checkout;
use crate::transfer::State;
use crate::transport::{Conn, Mux, PoolKey};

use super::conns::MuxFind;

/// Bytes one service of an HTTP/2 connection reads before the transfers it woke run: one
/// socket read's worth, so the streams' inboxes hold about that much between their transfers'
/// steps rather than a whole turn's input.
pub const H2_SERVICE_BUDGET: usize = 64 * 1024;
use super::core::Core;

/// Default most concurrent streams per HTTP/2 connection (`CURLMOPT_MAX_CONCURRENT_STREAMS`,
/// curl's default 100); the server's SETTINGS may lower it.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default interval of the PINGs an idle HTTP/2 connection sends to check that it is still
/// there (curl's `CURLOPT_UPKEEP_INTERVAL_MS` default, 60 s): an unanswered one closes it.
pub const DEFAULT_UPKEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Default receive window of each HTTP/2 stream (SETTINGS_INITIAL_WINDOW_SIZE we announce):
/// 2 MiB, as hyper. What a server may send ahead of the application is what the client may
/// have to hold: with 8 MiB streams and a 16 MiB connection a 10 MiB download held up to
/// 23 MiB whenever the client fell behind nginx; with these windows 9-13 MiB, at the same
/// rate on loopback (../shared/bench-http h2-bulk and h2-mid).
pub const DEFAULT_H2_STREAM_WINDOW: u32 = 2 << 20;
/// Default receive window of an HTTP/2 connection, shared by its streams: 5 MiB, as hyper.
pub const DEFAULT_H2_CONN_WINDOW: u32 = 5 << 20;

impl Core {
    /// A stream on a shared connection for a transfer that may multiplex: `None` when there
    /// is none to join or wait for (then the HTTP/1.1 checkout runs).
    pub(crate) fn checkout_mux(
        &mut self,
        key: &Arc<PoolKey>,
        id: TransferId,
        pipewait: bool,
    ) -> Option<Checkout> {
        let max_waiters = self.max_streams as usize;
        match self.conns.find_mux(key, pipewait, max_waiters) {
            MuxFind::Link(cid) => self.conns.lend(cid).map(Checkout::Joined),
            MuxFind::Connecting(cid) => {
                let c = self.conns.get_mut(cid)?;
                c.waiters.push(id);
                Some(Checkout::WaitConn)
            }
            MuxFind::None => None,
        }
    }

    /// The protocol of a new connection is known (TLS and ALPN done, or TCP up for prior
    /// knowledge): an HTTP/2 connection starts (shared from now on), an HTTP/1.1 one stays
    /// its transfer's. The transfers waiting for it look again.
    pub(crate) fn settle_mux(&mut self, conn: &mut Conn, h2: bool, now: Instant) {
        if h2 {
            let cfg = Config {
                data_in_place: true,
                stream_window: self.h2_windows.0,
                conn_window: self.h2_windows.1,
                ..Config::default()
            };
            conn.start_h2(cfg, self.max_streams, now);
            if let Some(slot) = conn.id.and_then(|cid| self.conns.slot_mut(cid)) {
                slot.user = None;
            }
        } else {
            conn.mux = Mux::No;
        }
        self.wake_waiters(std::mem::take(&mut conn.waiters));
    }

    /// Transfers waiting for a connection (PIPEWAIT) or for room on one run again.
    pub(crate) fn wake_waiters(&mut self, ids: Vec<TransferId>) {
        for w in ids {
            if let Some(x) = self.transfer_mut(w) {
                if x.state == State::Pending {
                    x.state = State::Init;
                }
                self.mark_dirty(w);
            }
        }
    }

    /// A transfer is done with its stream (or never opened one): the connection goes back
    /// to the table, or is closed when it can carry nothing more.
    #[inline(never)]
    pub(crate) fn release_stream(&mut self, mut conn: Box<Conn>) {
        conn.close_stream();
        if conn.no_reuse {
            // FORBID_REUSE: no new stream; closed once the open ones end.
            if let Some(l) = conn.h2.as_deref_mut() {
                l.proto.go_away(ErrorCode::NO_ERROR);
            }
        }
        let key = conn.key.clone();
        self.give_back_link(conn);
        self.wake_pending(Some(&key));
    }

    /// After a transfer's step on an HTTP/2 connection (or the multi's own look at it): wake
    /// the transfers with news, queue the connection's writes, put it back (or close it).
    pub(crate) fn give_back_link(&mut self, mut conn: Box<Conn>) -> Option<ConnId> {
        conn.leave_stream();
        let link = conn.h2.as_deref_mut()?;
        let woken = std::mem::take(&mut link.woken);
        let finished = link.is_finished();
        match link.is_unused() {
            true if link.idle_since.is_none() && self.upkeep.is_some() => {
                link.idle_since = Some(self.clock.now());
            }
            true => {}
            false => link.idle_since = None,
        }
        let has_room = link.has_room();
        self.wake_waiters(woken);
        if finished {
            self.close_conn(conn);
            return None;
        }
        if has_room {
            if let Some(w) = conn.waiters.pop() {
                self.wake_waiters(vec![w]);
            }
        }
        if (conn.writable && conn.h2_has_output()) || conn.readable {
            self.queue_h2(&mut conn);
        }
        self.arm_link(&mut conn);
        self.conns.give_back(conn)
    }

    /// Look at this connection in the multi's next HTTP/2 service pass.
    pub(crate) fn queue_h2(&mut self, conn: &mut Conn) {
        if let (false, Some(cid)) = (conn.h2_queued, conn.id) {
            conn.h2_queued = true;
            self.h2_queue.push(cid);
        }
    }

    /// The connection's protocol timer (SETTINGS ACK, PING answer) in the multi's timers.
    fn arm_link(&mut self, conn: &mut Conn) {
        let (Some(link), Some(cid)) = (conn.h2.as_deref_mut(), conn.id) else {
            return;
        };
        let next = match (link.proto.next_timeout(), link.upkeep_due(self.upkeep)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if next != link.armed {
            link.armed = next;
            if let Some(at) = next {
                self.conn_timers.push(Reverse((at, cid.index, cid.gen)));
            }
        }
    }

    /// Connection timers that are due: their connections are serviced this turn.
    #[inline(always)]
    pub(crate) fn fire_conn_timers(&mut self, now: Instant) {
        if !self.conn_timers.is_empty() {
            self.fire_due_conn_timers(now);
        }
    }

    #[inline(never)]
    fn fire_due_conn_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, index, gen))) = self.conn_timers.peek().copied() {
            if at > now {
                break;
            }
            self.conn_timers.pop();
            let cid = ConnId { index, gen };
            if let Some(mut c) = self.conns.lend(cid) {
                if c.h2.as_deref().is_some_and(|l| l.armed == Some(at)) {
                    if let Some(l) = c.h2.as_deref_mut() {
                        l.armed = None;
                    }
                    self.queue_h2(&mut c);
                }
                self.conns.give_back(c);
            }
        }
    }

    /// The earliest connection timer.
    #[inline(always)]
    pub(crate) fn next_conn_deadline(&self) -> Option<Instant> {
        self.conn_timers.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Read, run the timers of and write every queued HTTP/2 connection once. Runs every
    /// round: the common case (no HTTP/2 connection queued) stays a compare in the caller.
    #[inline(always)]
    pub(crate) fn service_h2(&mut self, now: Instant) {
        if !self.h2_queue.is_empty() {
            self.service_h2_queue(now);
        }
    }

    #[inline(never)]
    fn service_h2_queue(&mut self, now: Instant) {
        let queue = std::mem::take(&mut self.h2_queue);
        for cid in queue {
            let Some(mut conn) = self.conns.lend(cid) else {
                continue;
            };
            conn.h2_queued = false;
            let mut budget = H2_SERVICE_BUDGET;
            // A socket failure shows as every stream's reset (see `pump`).
            let _ = conn.pump(&mut budget);
            let again = conn.readable;
            conn.h2_timers(now, self.upkeep);
            if conn.writable {
                conn.flush_or_fail();
            }
            if let Some(cid) = self.give_back_link(conn) {
                if again {
                    // The budget is spent: read again after the transfers woken by this
                    // piece have taken it (the next round of this turn).
                    if let Some(c) = self.conns.get_mut(cid).filter(|c| !c.h2_queued) {
                        c.h2_queued = true;
                        self.h2_queue.push(cid);
                    }
                }
            }
        }
    }

    /// Best-effort GOAWAY before an HTTP/2 connection is closed.
    pub(crate) fn goodbye_h2(conn: &mut Conn) {
        if let Some(link) = conn.h2.as_deref_mut() {
            link.proto.go_away(ErrorCode::NO_ERROR);
            let _ = conn.flush_h2();
        }
    }
}
