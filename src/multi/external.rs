//! Driving a [`Multi`](super::Multi) from your own event loop: libcurl's
//! `curl_multi_socket_action` model.
//!
//! Build the multi with [`Multi::with_socket_callbacks`](super::Multi::with_socket_callbacks).
//! It then never waits by itself: it tells you, through the **socket callback**, which sockets to
//! watch and for what ([`SocketWhat`]), and through the **timer callback** when it next needs
//! to run without socket activity. You call [`Multi::socket_action`](super::Multi::socket_action)
//! when a socket is ready or the timer expires; completions come out of
//! [`Multi::info_read`](super::Multi::info_read) as usual.
//!
//! The rules, as in libcurl:
//!
//! - the socket callback reports **changes only**: a socket is reported when it first needs
//!   watching, again when what it waits for changes, and with [`SocketWhat::Remove`] when it no
//!   longer needs watching (closed, or a paused transfer that waits for nothing). Never twice in
//!   a row with the same value. A socket that is being closed is reported removed *before* it
//!   is closed, so you can still take the descriptor out of your poller;
//! - each socket carries your token (curl's `socketp`): set it in the callback through the
//!   `&mut Option<u64>` argument or with [`Multi::assign`](super::Multi::assign); the callback
//!   receives it on every later report of that socket, up to and including its
//!   [`SocketWhat::Remove`], after which it is forgotten. Descriptor numbers are reused at
//!   once by the operating system (a new connection often gets the number a closed one had):
//!   key your own per-socket state on the token, or drop it at `Remove`, never on the number
//!   alone;
//! - the timer callback receives `Some(duration)` for a new deadline (`Some(ZERO)`: call
//!   `socket_action(SOCKET_TIMEOUT, ..)` as soon as you can) or `None` to cancel the timer. It is
//!   called only when the deadline changes. The timer is one-shot: when it fires, call
//!   `socket_action(SOCKET_TIMEOUT, Ready::NONE)`;
//! - one internal socket is reported like the others: the multi's own wakeup descriptor, which
//!   becomes readable when a resolver thread has an answer, a [`MultiWaker`](super::MultiWaker)
//!   is woken, or a [`CommandSender`](super::CommandSender) queued a command (curl reports its
//!   resolver and wakeup sockets the same way). Watch it for [`SocketWhat::In`] like any other.
//!
//! The callbacks get no access to the multi, so calling `socket_action` (or anything else on the
//! multi) from inside them, which libcurl forbids at run time, cannot be written. Transfer
//! callbacks ([`Handler`](crate::Handler)) get a [`Ctx`](crate::Ctx), which has no
//! `socket_action` either.
//!
//! Readiness may be reported level- or edge-triggered: the multi reads and writes until the
//! socket would block (or a transfer's per-turn budget is spent, in which case the timer is set
//! to zero), and asks for [`SocketWhat::Out`] only while it has bytes the socket did not take.

use std::collections::HashMap;
/// A socket as the socket callback, [`Multi::socket_action`](crate::Multi::socket_action) and
/// [`WsHandle::socket`](crate::ws::WsHandle::socket) name it (curl's `curl_socket_t`): a file
/// descriptor on unix. The public API names only this type, so a port to another platform
/// (a `SOCKET` on Windows) changes no signature.
#[cfg(unix)]
pub type Socket = std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// The socket argument of `socket_action` for "the timer expired" (`CURL_SOCKET_TIMEOUT`).
pub const SOCKET_TIMEOUT: Socket = -1;

/// What a socket should be watched for (`CURL_POLL_*`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SocketWhat {
    /// Readable (`CURL_POLL_IN`).
    In,
    /// Writable (`CURL_POLL_OUT`).
    Out,
    /// Both (`CURL_POLL_INOUT`).
    InOut,
    /// Stop watching this socket (`CURL_POLL_REMOVE`). It may be reported again later with a
    /// new interest (a paused transfer resumed), or the descriptor number may be reused for a
    /// new socket.
    Remove,
}

impl SocketWhat {
    fn from_bits(read: bool, write: bool) -> SocketWhat {
        match (read, write) {
            (true, true) => SocketWhat::InOut,
            (true, false) => SocketWhat::In,
            (false, true) => SocketWhat::Out,
            (false, false) => SocketWhat::Remove,
        }
    }
}

pub use crate::ready::Ready;

/// The socket callback: `(socket, what, token)`. `token` is the value you assigned to this
/// socket (curl's `socketp`), writable in place. It is called from inside
/// `socket_action`, `add`, `remove` and the other calls that change what the multi waits for.
pub type SocketCallback = Box<dyn FnMut(Socket, SocketWhat, &mut Option<u64>) + Send>;

/// The timer callback: `Some(d)` to (re)arm a one-shot timer `d` from now, `None` to cancel
/// it (`CURLMOPT_TIMERFUNCTION`).
pub type TimerCallback = Box<dyn FnMut(Option<Duration>) + Send>;

/// The token of the internal (wakeup) socket in the socket table.
pub(crate) const INTERNAL: usize = usize::MAX;

pub(crate) struct SockEntry {
    /// Connection token (index in the core's connection table), or [`INTERNAL`].
    pub(crate) tok: usize,
    /// What the application was last told (`None`: nothing, or `Remove`).
    reported: Option<SocketWhat>,
    /// The application's token for this socket.
    pub(crate) token: Option<u64>,
    /// Listed in `changed`.
    queued: bool,
}

/// The deadline the application's timer was last set to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TimerState {
    Off,
    Now,
    At(Instant),
}

/// The socket table of a multi driven by `socket_action`.
pub(crate) struct External {
    pub(crate) sockets: HashMap<Socket, SockEntry>,
    /// Sockets whose interest may have changed since the last report.
    changed: Vec<Socket>,
    pub(crate) socket_cb: SocketCallback,
    pub(crate) timer_cb: TimerCallback,
    pub(crate) timer: TimerState,
}

impl External {
    pub(crate) fn new(
        internal_fd: Socket,
        socket_cb: SocketCallback,
        timer_cb: TimerCallback,
    ) -> Self {
        let mut ext = External {
            sockets: HashMap::new(),
            changed: Vec::new(),
            socket_cb,
            timer_cb,
            timer: TimerState::Off,
        };
        ext.add(internal_fd, INTERNAL);
        ext
    }

    /// A new socket to report.
    pub(crate) fn add(&mut self, fd: Socket, tok: usize) {
        self.sockets.insert(
            fd,
            SockEntry {
                tok,
                reported: None,
                token: None,
                queued: false,
            },
        );
        self.mark(fd);
    }

    /// A socket is about to be closed: report its removal now, while the descriptor is still
    /// open (curl's `Curl_multi_closed`), so the application can take it out of its poller
    /// before the number can be reused.
    pub(crate) fn remove(&mut self, fd: Socket) {
        if let Some(mut e) = self.sockets.remove(&fd) {
            if e.reported.is_some() {
                (self.socket_cb)(fd, SocketWhat::Remove, &mut e.token);
            }
        }
    }

    /// What this socket waits for may have changed.
    pub(crate) fn mark(&mut self, fd: Socket) {
        if let Some(e) = self.sockets.get_mut(&fd) {
            if !e.queued {
                e.queued = true;
                self.changed.push(fd);
            }
        }
    }

    /// Report changed interests; `want(tok)` says what a socket waits for now. (Closed
    /// sockets were reported by [`External::remove`].)
    pub(crate) fn report(&mut self, mut want: impl FnMut(usize) -> SocketWhat) {
        let mut changed = std::mem::take(&mut self.changed);
        for &fd in &changed {
            let Some(e) = self.sockets.get_mut(&fd) else {
                continue;
            };
            e.queued = false;
            let now = want(e.tok);
            let last = e.reported.unwrap_or(SocketWhat::Remove);
            if now != last {
                e.reported = (now != SocketWhat::Remove).then_some(now);
                (self.socket_cb)(fd, now, &mut e.token);
                if now == SocketWhat::Remove {
                    // As in curl, a removed socket forgets its token; watched again, it
                    // starts afresh.
                    e.token = None;
                }
            }
        }
        changed.clear();
        if self.changed.is_empty() {
            self.changed = changed;
        }
    }

    /// Tell the application about a new deadline, if it changed.
    pub(crate) fn set_timer(&mut self, next: TimerState, now: Instant) {
        if next == self.timer {
            return;
        }
        self.timer = next;
        (self.timer_cb)(match next {
            TimerState::Off => None,
            TimerState::Now => Some(Duration::ZERO),
            TimerState::At(at) => Some(at.saturating_duration_since(now)),
        });
    }

    /// Interest of a connection from its state: read unless paused, write while the socket
    /// refused bytes (or is still connecting).
    pub(crate) fn interest(read: bool, write: bool) -> SocketWhat {
        SocketWhat::from_bits(read, write)
    }
}
