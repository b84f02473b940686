//! The multi on tokio's reactor, through `socket_action`: each socket the socket callback
//! names is registered with tokio ([`AsyncFd`]) while the multi holds it open, the timer
//! callback arms one tokio sleep, and one driver task calls `socket_action` for the sockets
//! tokio reports ready, O(ready): each socket has a waker of its own that queues it for the
//! driver, so a wake never walks the idle ones.
//!
//! Locks, always taken in this order: [`Shared::inner`] (the multi and what waits on it),
//! then [`IoState::sockets`] (taken by the multi's callbacks, inside multi calls) or a body
//! stream's slot (taken by its handler). Nothing waits while holding one.

use std::collections::HashMap;
use std::future::Future;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::Interest;
use ::tokio::runtime::Handle;
use ::tokio::time::Sleep;

use super::body::StreamSlot;
use crate::multi::{Ready, Socket, SocketWhat, SOCKET_TIMEOUT};
use crate::{Error, Multi, TransferId};

/// Rounds of "act on what is ready" per wake of the driver before it yields to the runtime.
const DRIVER_ROUNDS: usize = 16;

/// Lock, ignoring poisoning (a panicking callback already failed its transfer; the state of
/// the multi is consistent, see `Multi`'s panic rules).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A descriptor number the multi owns, as tokio registers it (never closed here).
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// One watched socket.
struct Watched {
    afd: AsyncFd<Fd>,
    want: SocketWhat,
    /// Wakes the driver for this socket alone.
    waker: Waker,
    /// Listed in [`Sockets::check`].
    queued: bool,
}

/// The sockets and the timer, as the multi's callbacks leave them for the driver.
#[derive(Default)]
struct Sockets {
    map: HashMap<Socket, Watched>,
    /// Sockets to poll for readiness: new, changed, or woken by tokio.
    check: Vec<Socket>,
    /// Sockets tokio would not register (reported to the multi as failed).
    failed: Vec<Socket>,
    /// A new deadline from the timer callback (`Some(None)`: cancelled).
    deadline: Option<Option<Instant>>,
    /// The driver task, to wake.
    driver: Option<Waker>,
}

impl Sockets {
    fn queue(&mut self, fd: Socket) {
        if let Some(w) = self.map.get_mut(&fd) {
            if !w.queued {
                w.queued = true;
                self.check.push(fd);
            }
        }
    }

    fn wake_driver(&self) {
        if let Some(w) = &self.driver {
            w.wake_by_ref();
        }
    }
}

/// What the callbacks and the socket wakers share with the driver.
pub(super) struct IoState {
    sockets: Mutex<Sockets>,
    handle: Handle,
}

/// A socket's waker: queue it and wake the driver.
struct SocketWaker {
    fd: Socket,
    io: Weak<IoState>,
}

impl Wake for SocketWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(io) = self.io.upgrade() {
            let mut s = lock(&io.sockets);
            s.queue(self.fd);
            s.wake_driver();
        }
    }
}

impl IoState {
    /// The socket callback: register, re-aim or drop the socket's registration. A removed
    /// socket is still open here (the multi reports it before closing), so tokio forgets it
    /// before its number can be reused.
    fn on_socket(self: &Arc<Self>, fd: Socket, what: SocketWhat) {
        let mut s = lock(&self.sockets);
        if what == SocketWhat::Remove {
            s.map.remove(&fd);
            return;
        }
        if let Some(w) = s.map.get_mut(&fd) {
            w.want = what;
        } else {
            let _rt = self.handle.enter();
            // tokio's I/O-safety contract for a raw descriptor: it stays open, the same
            // socket, while registered. It does: the multi reports a socket removed before it
            // closes it, and the registration is dropped right then (above); `Shared`'s drop
            // drops them all before the multi's sockets close. (`register_with_interest`, the
            // successor, is `unsafe` to call, which this crate does not write.)
            #[allow(deprecated)]
            let registered =
                AsyncFd::with_interest(Fd(fd), Interest::READABLE | Interest::WRITABLE);
            match registered {
                Ok(afd) => {
                    let waker = Waker::from(Arc::new(SocketWaker {
                        fd,
                        io: Arc::downgrade(self),
                    }));
                    let w = Watched {
                        afd,
                        want: what,
                        waker,
                        queued: false,
                    };
                    s.map.insert(fd, w);
                }
                Err(_) => s.failed.push(fd),
            }
        }
        s.queue(fd);
        s.wake_driver();
    }

    /// The timer callback.
    fn on_timer(&self, t: Option<Duration>) {
        let mut s = lock(&self.sockets);
        s.deadline = Some(t.map(|d| Instant::now() + d));
        s.wake_driver();
    }

    /// Poll the queued sockets' readiness (each with its own waker); what is ready, and the
    /// sockets that could not be registered. A socket found ready has its readiness cleared
    /// (the multi reads or writes until the kernel refuses, or keeps the transfer busy and
    /// asks for its timer) and is polled again next round, which leaves its waker with tokio.
    fn ready_sockets(&self, out: &mut Vec<(Socket, Ready)>) {
        let mut s = lock(&self.sockets);
        let Sockets {
            map, check, failed, ..
        } = &mut *s;
        for fd in failed.drain(..) {
            out.push((
                fd,
                Ready {
                    readable: true,
                    writable: true,
                    error: true,
                },
            ));
        }
        for fd in check.drain(..) {
            let Some(w) = map.get_mut(&fd) else { continue };
            w.queued = false;
            let mut cx = Context::from_waker(&w.waker);
            let mut r = Ready::NONE;
            if matches!(w.want, SocketWhat::In | SocketWhat::InOut) {
                if let Poll::Ready(g) = w.afd.poll_read_ready(&mut cx) {
                    r.readable = true;
                    if let Ok(mut g) = g {
                        g.clear_ready();
                    }
                }
            }
            if matches!(w.want, SocketWhat::Out | SocketWhat::InOut) {
                if let Poll::Ready(g) = w.afd.poll_write_ready(&mut cx) {
                    r.writable = true;
                    if let Ok(mut g) = g {
                        g.clear_ready();
                    }
                }
            }
            if r != Ready::NONE {
                out.push((fd, r));
            }
        }
        for &(fd, _) in out.iter() {
            s.queue(fd);
        }
    }
}

/// The multi and what waits on it.
pub(super) struct Inner {
    pub(super) multi: Multi,
    /// Completions not yet taken by their futures.
    pub(super) finished: HashMap<TransferId, Result<(), Error>>,
    /// Futures waiting for a completion.
    pub(super) waiting: HashMap<TransferId, Waker>,
    /// WebSockets waiting for data, and for room.
    pub(super) ws_read: HashMap<TransferId, Waker>,
    pub(super) ws_write: HashMap<TransferId, Waker>,
    /// Streamed bodies: their completion goes to the stream.
    pub(super) streams: HashMap<TransferId, Arc<Mutex<StreamSlot>>>,
    ready: Vec<(TransferId, Ready)>,
}

impl Inner {
    /// After any call into the multi: hand out completions and WebSocket news.
    pub(super) fn after_call(&mut self) {
        while let Some(msg) = self.multi.info_read() {
            if let Some(slot) = self.streams.remove(&msg.id) {
                lock(&slot).finish(msg.result);
                continue;
            }
            self.finished.insert(msg.id, msg.result);
            if let Some(w) = self.waiting.remove(&msg.id) {
                w.wake();
            }
        }
        self.multi.ws_ready(&mut self.ready);
        for (id, r) in self.ready.drain(..) {
            if r.readable || r.error {
                if let Some(w) = self.ws_read.remove(&id) {
                    w.wake();
                }
            }
            if r.writable || r.error {
                if let Some(w) = self.ws_write.remove(&id) {
                    w.wake();
                }
            }
        }
    }

    /// Forget transfer `id`: out of the multi (cancelled if unfinished) and every table.
    pub(super) fn forget(&mut self, id: TransferId) -> Option<crate::Easy> {
        let easy = self.multi.remove(id);
        self.finished.remove(&id);
        self.waiting.remove(&id);
        self.ws_read.remove(&id);
        self.ws_write.remove(&id);
        self.streams.remove(&id);
        self.after_call();
        easy
    }
}

/// What every handle of one client shares.
pub(super) struct Shared {
    pub(super) inner: Mutex<Inner>,
    io: Arc<IoState>,
}

impl Shared {
    /// A multi on the current tokio runtime, and its driver task (spawned here).
    pub(super) fn start(configure: impl FnOnce(&mut Multi)) -> std::io::Result<Arc<Shared>> {
        let handle = Handle::try_current()
            .map_err(|e| std::io::Error::other(format!("no tokio runtime: {e}")))?;
        let io = Arc::new(IoState {
            sockets: Mutex::new(Sockets::default()),
            handle: handle.clone(),
        });
        let (a, b) = (io.clone(), io.clone());
        let mut multi = Multi::with_socket_callbacks(
            Box::new(move |fd, what, _token| a.on_socket(fd, what)),
            Box::new(move |t| b.on_timer(t)),
        )?;
        configure(&mut multi);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                multi,
                finished: HashMap::new(),
                waiting: HashMap::new(),
                ws_read: HashMap::new(),
                ws_write: HashMap::new(),
                streams: HashMap::new(),
                ready: Vec::new(),
            }),
            io,
        });
        handle.spawn(Driver {
            shared: Arc::downgrade(&shared),
            sleep: Box::pin(::tokio::time::sleep(Duration::ZERO)),
            armed: None,
        });
        Ok(shared)
    }

    /// Run `f` on the multi, then hand out what it finished.
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = lock(&self.inner);
        let r = f(&mut inner);
        inner.after_call();
        r
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let mut s = lock(&self.io.sockets);
        // Every registration goes while the multi (dropped after this) still holds its
        // sockets open.
        s.map.clear();
        // The driver sees the client gone at its next poll and ends.
        s.wake_driver();
    }
}

/// The driver task: `socket_action` for each ready socket and for the timer.
struct Driver {
    shared: Weak<Shared>,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
}

impl Driver {
    /// Take a new deadline from the timer callback; whether the timer is due.
    fn timer_due(&mut self, io: &IoState, cx: &mut Context<'_>) -> bool {
        if let Some(d) = lock(&io.sockets).deadline.take() {
            self.armed = d;
            if let Some(at) = d {
                self.sleep
                    .as_mut()
                    .reset(::tokio::time::Instant::from_std(at));
            }
        }
        match self.armed {
            Some(at) if at <= Instant::now() => true,
            Some(_) => self.sleep.as_mut().poll(cx).is_ready(),
            None => false,
        }
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(shared) = self.shared.upgrade() else {
            return Poll::Ready(());
        };
        lock(&shared.io.sockets).driver = Some(cx.waker().clone());
        let mut ready = Vec::new();
        for _ in 0..DRIVER_ROUNDS {
            shared.io.ready_sockets(&mut ready);
            let due = self.timer_due(&shared.io, cx);
            if ready.is_empty() && !due {
                return Poll::Pending;
            }
            if due {
                self.armed = None;
            }
            let mut inner = lock(&shared.inner);
            for (fd, r) in ready.drain(..) {
                let _ = inner.multi.socket_action(fd, r);
            }
            if due {
                let _ = inner.multi.socket_action(SOCKET_TIMEOUT, Ready::NONE);
            }
            inner.after_call();
        }
        // Still busy: let the other tasks run, then go on.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
