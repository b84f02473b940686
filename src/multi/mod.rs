//! [`Multi`]: many transfers in one mio poll loop (libcurl's multi handle).
//!
//! # Driving contract
//!
//! Add transfers with [`Multi::add`], then call [`Multi::poll`] (wait for readiness or a timer,
//! then do all the work that is ready) or [`Multi::perform`] (do the work that is ready without
//! waiting) until [`Multi::running`] is 0. Finished transfers are reported by
//! [`Multi::info_read`], and stay in the multi until [`Multi::remove`] hands their [`Easy`]
//! back. Nothing blocks: name resolution runs on helper threads that wake the poller.
//!
//! One turn of the loop: (1) wait in `mio::Poll` no longer than the earliest timer, and not at
//! all if some transfer still has work; (2) mark the transfers whose sockets are ready;
//! (3) take DNS answers and expired timers; (4) step each marked transfer once, with a byte
//! budget so no one transfer starves the others; (5) apply removals requested from callbacks.
//! The work per turn is proportional to the transfers that are ready, not to all of them.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::ctx::Direction;
use crate::easy::Easy;
use crate::error::Error;
use crate::info::TransferInfo;

pub(crate) mod command;
mod conns;
pub(crate) mod core;
mod h2;
pub use h2::{
    DEFAULT_H2_CONN_WINDOW, DEFAULT_H2_STREAM_WINDOW, DEFAULT_MAX_CONCURRENT_STREAMS,
    DEFAULT_UPKEEP_INTERVAL,
};
pub mod external;
mod services;

use std::os::fd::AsRawFd;

pub use self::command::{CommandError, CommandSender, COMMAND_CAPACITY};
use self::core::Core;
use self::external::{External, TimerState};
pub use self::external::{
    Ready, Socket, SocketCallback, SocketWhat, TimerCallback, SOCKET_TIMEOUT,
};

/// The token of the multi's waker (DNS answers and [`MultiWaker::wake`]).
const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);

pub use crate::id::TransferId;

/// A finished transfer (`CURLMsg` with `CURLMSG_DONE`).
#[derive(Debug)]
pub struct Message {
    /// Which transfer.
    pub id: TransferId,
    /// How it ended.
    pub result: Result<(), Error>,
}

/// Wakes a [`Multi`] blocked in [`Multi::poll`] from any thread (`curl_multi_wakeup`).
#[derive(Clone, Debug)]
pub struct MultiWaker(Arc<mio::Waker>);

impl MultiWaker {
    /// Make the multi's current or next `poll` return promptly.
    pub fn wake(&self) -> io::Result<()> {
        self.0.wake()
    }
}

/// Many transfers, HTTP and WebSocket, on one mio poll loop.
///
/// ```no_run
/// use curlew::{Easy, Multi};
/// let mut multi = Multi::new();
/// multi.set_max_host_connections(4);
/// for i in 0..10 {
///     multi.add(Easy::new(&format!("http://127.0.0.1:8080/item/{i}"))?);
/// }
/// while multi.running() > 0 {
///     multi.poll(None)?;
///     while let Some(msg) = multi.info_read() {
///         let easy = multi.remove(msg.id).unwrap();
///         println!("{} -> {:?} ({} bytes)", easy.info().effective_url, msg.result,
///                  easy.collected().unwrap().body.len());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Multi {
    poll: mio::Poll,
    events: mio::Events,
    waker: Arc<mio::Waker>,
    core: Core,
    /// [`Multi::set_yield_before_wait`].
    yield_before_wait: bool,
}

/// The default of [`Multi::set_yield_before_wait`]: on.
pub const YIELD_BEFORE_WAIT: bool = true;

impl std::fmt::Debug for Multi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (open, idle) = self.core.conn_counts();
        f.debug_struct("Multi")
            .field("running", &self.core.running)
            .field("transfers", &self.core.slots.len())
            .field("open_connections", &open)
            .field("idle_connections", &idle)
            .finish_non_exhaustive()
    }
}

impl Default for Multi {
    fn default() -> Self {
        Self::new()
    }
}

/// How many readiness events one `poll` call takes at most.
pub const EVENTS_CAPACITY: usize = 1024;

impl Multi {
    /// A new multi with no transfers. Panics only if the OS refuses an epoll/kqueue instance;
    /// see [`Multi::try_new`].
    pub fn new() -> Multi {
        Self::try_new().expect("creating the mio poller")
    }

    /// A new multi, reporting OS failures.
    pub fn try_new() -> io::Result<Multi> {
        let poll = mio::Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER_TOKEN)?);
        let registry = poll.registry().try_clone()?;
        let resolver = crate::dns::Resolver::new(waker.clone(), crate::dns::DNS_THREADS);
        Ok(Multi {
            poll,
            events: mio::Events::with_capacity(EVENTS_CAPACITY),
            core: Core::new(registry, resolver),
            waker,
            yield_before_wait: YIELD_BEFORE_WAIT,
        })
    }

    /// A multi driven by your own event loop through [`Multi::socket_action`]
    /// (`CURLMOPT_SOCKETFUNCTION` + `CURLMOPT_TIMERFUNCTION`); see the
    /// [`external`] module for the rules. `socket` is told which sockets to watch and for what,
    /// `timer` when to call `socket_action(SOCKET_TIMEOUT, ..)`. [`Multi::poll`],
    /// [`Multi::perform`] and [`Multi::run`] return an `Unsupported` error on such a multi.
    ///
    /// ```no_run
    /// use std::collections::HashMap;
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Instant;
    /// use curlew::multi::{Ready, SocketWhat, SOCKET_TIMEOUT};
    /// use curlew::{Easy, Multi};
    ///
    /// // What the callbacks ask for, kept for your loop (here: a plain map and a deadline).
    /// let watch = Arc::new(Mutex::new(HashMap::<i32, SocketWhat>::new()));
    /// let deadline = Arc::new(Mutex::new(None::<Instant>));
    /// let (w, d) = (watch.clone(), deadline.clone());
    /// let mut multi = Multi::with_socket_callbacks(
    ///     Box::new(move |fd, what, _token| {
    ///         let mut w = w.lock().unwrap();
    ///         if what == SocketWhat::Remove { w.remove(&fd); } else { w.insert(fd, what); }
    ///     }),
    ///     Box::new(move |t| *d.lock().unwrap() = t.map(|t| Instant::now() + t)),
    /// )?;
    /// multi.add(Easy::new("http://127.0.0.1:8080/")?);
    /// while multi.running() > 0 {
    ///     // ... wait with your own poller on the sockets in `watch` until `deadline` ...
    ///     # let (ready_fd, events): (Option<i32>, Ready) = (None, Ready::NONE);
    ///     match ready_fd {
    ///         Some(fd) => multi.socket_action(fd, events)?,
    ///         None => multi.socket_action(SOCKET_TIMEOUT, Ready::NONE)?,
    ///     };
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_socket_callbacks(
        socket: SocketCallback,
        timer: TimerCallback,
    ) -> io::Result<Multi> {
        let mut m = Self::try_new()?;
        let internal = m.poll.as_raw_fd();
        m.core.ext = Some(Box::new(External::new(internal, socket, timer)));
        Ok(m)
    }

    /// Act on a socket your loop saw ready, or on the timer (`fd` = [`SOCKET_TIMEOUT`]), then
    /// do all the work that is ready (`curl_multi_socket_action`). Returns the number of running
    /// transfers. Only for a multi made by [`Multi::with_socket_callbacks`]. An unknown socket
    /// (one reported removed a moment ago) is ignored. `Ready::NONE` on a socket tries both
    /// directions.
    pub fn socket_action(&mut self, fd: Socket, events: Ready) -> io::Result<usize> {
        let Some(ext) = self.core.ext.as_deref_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "socket_action needs a multi made by Multi::with_socket_callbacks",
            ));
        };
        let now = self.core.clock.now();
        if fd == SOCKET_TIMEOUT {
            // The one-shot timer fired: any deadline from now on is news to the application.
            ext.timer = TimerState::Off;
        } else if let Some(tok) = ext.sockets.get(&fd).map(|e| e.tok) {
            if tok == external::INTERNAL {
                // Drain the internal poller (the waker); DNS answers and commands are taken
                // by the turn below.
                match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            } else {
                let none = events == Ready::NONE;
                self.core.on_ready(
                    tok,
                    events.readable || events.error || none,
                    events.writable || events.error || none,
                    events.error,
                    events.readable && !events.error,
                );
            }
        }
        self.core.run(now);
        self.sync_external();
        Ok(self.core.running)
    }

    /// Give socket `fd` your token (`curl_multi_assign`); the socket callback receives it from
    /// then on. `false` if the multi does not know the socket (or is not in `socket_action`
    /// mode).
    pub fn assign(&mut self, fd: Socket, token: u64) -> bool {
        match self
            .core
            .ext
            .as_deref_mut()
            .and_then(|e| e.sockets.get_mut(&fd))
        {
            Some(e) => {
                e.token = Some(token);
                true
            }
            None => false,
        }
    }

    /// Report socket and timer changes to the application's callbacks (`socket_action`
    /// mode only: a check, inlined, otherwise).
    #[inline]
    fn sync_external(&mut self) {
        if self.core.ext.is_some() {
            self.sync_external_now();
        }
    }

    fn sync_external_now(&mut self) {
        let Some(mut ext) = self.core.ext.take() else {
            return;
        };
        let core = &self.core;
        ext.report(|tok| core.want(tok));
        let next = if self.core.has_work() {
            TimerState::Now
        } else {
            match self.core.next_deadline() {
                Some(at) => TimerState::At(at),
                None => TimerState::Off,
            }
        };
        ext.set_timer(next, self.core.clock.now());
        self.core.ext = Some(ext);
    }

    /// A sender for commands from other threads (add a transfer, send on or close a
    /// WebSocket), applied on the loop's thread; see [`CommandSender`].
    pub fn command_sender(&self) -> CommandSender {
        CommandSender {
            tx: self.core.command_channel().0.clone(),
            waker: self.waker.clone(),
            gens: self.core.gens.clone(),
        }
    }

    /// Capacity of the command channel ([`COMMAND_CAPACITY`] by default). Call it before
    /// handing out senders: senders made earlier are disconnected.
    pub fn set_command_capacity(&mut self, n: usize) -> &mut Self {
        self.core.cmd = std::sync::OnceLock::new();
        self.core.cmd_capacity = n.max(1);
        self
    }

    /// Commands dropped because their transfer was gone or not an open WebSocket.
    pub fn dropped_commands(&self) -> u64 {
        self.core.dropped_commands
    }

    /// Add a transfer; it starts at the next `perform` or `poll` (`curl_multi_add_handle`).
    pub fn add(&mut self, easy: Easy) -> TransferId {
        let id = self.core.add(easy);
        self.sync_external();
        id
    }

    /// Take a transfer out, finished or not, and get its [`Easy`] back, handler and info
    /// included (`curl_multi_remove_handle`). An unfinished transfer is cancelled and its
    /// connection closed. `None` for an unknown id.
    pub fn remove(&mut self, id: TransferId) -> Option<Easy> {
        let easy = self.core.remove(id);
        self.sync_external();
        easy
    }

    /// Do all the work that is ready now, without waiting (`curl_multi_perform`). Returns the
    /// number of running transfers.
    pub fn perform(&mut self) -> io::Result<usize> {
        self.poll(Some(Duration::ZERO))
    }

    /// Run the work queued since the last call (transfers added or unpaused, WebSocket data
    /// queued from outside), then wait until a socket is ready, a timer expires,
    /// [`MultiWaker::wake`] is called or `timeout` passes (`None`: no limit besides the
    /// transfers' timers), then do all the work that is ready (`curl_multi_perform`,
    /// `curl_multi_poll`, `curl_multi_perform`). The wait is skipped (made zero) when that first
    /// run already finished a transfer or left work pending. Returns the number of running
    /// transfers. With no running transfers and no timeout it returns at once.
    pub fn poll(&mut self, mut timeout: Option<Duration>) -> io::Result<usize> {
        if self.core.ext.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this multi is driven by socket_action",
            ));
        }
        if self.core.has_work() {
            // Work queued since the last turn (transfers added, unpaused, written to by the
            // application) runs before the wait, not after a zero-timeout one: a request added
            // after the last response goes out in this call, and the wait below then covers
            // its answer. One `epoll_wait` per call instead of two.
            let (msgs, news) = (self.core.msgs.len(), self.core.ws_news_seq);
            self.core.run(self.core.clock.now());
            if self.core.msgs.len() > msgs || self.core.ws_news_seq != news {
                // Something finished already, or a connect-only WebSocket has news (its send
                // queue drained in this run, say, with no socket event to follow; merged into
                // an entry the application has not taken yet, too): hand it over without
                // blocking.
                timeout = Some(Duration::ZERO);
            }
        }
        let mut wait = if self.core.has_work() {
            Some(Duration::ZERO)
        } else {
            match (timeout, self.core.next_deadline()) {
                (t, Some(at)) => {
                    let d = at.saturating_duration_since(self.core.clock.now());
                    Some(t.map_or(d, |t| t.min(d)))
                }
                (t, None) => t,
            }
        };
        if wait.is_none() && self.core.running == 0 && self.core.conn_counts_busy() == 0 {
            // Nothing to wait for: no transfer runs and no connect-only WebSocket is open.
            wait = Some(Duration::ZERO);
        }
        if wait != Some(Duration::ZERO) && self.yield_before_wait && self.several_waiting() {
            // About to sleep while peers owe us several answers: let whatever else is runnable
            // on this CPU (often the server itself) go first; see `set_yield_before_wait`.
            std::thread::yield_now();
        }
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        for ev in self.events.iter() {
            if ev.token() != WAKER_TOKEN {
                self.core.on_event(ev.token().0, ev);
            }
        }
        self.core.run(self.core.clock.now());
        Ok(self.core.running)
    }

    /// More than one transfer runs, or more than one connection is busy (connect-only
    /// WebSockets): answers may come in a batch. (One request in flight gets one answer:
    /// yielding would only add a system call to each round trip.)
    fn several_waiting(&self) -> bool {
        self.core.running > 1 || self.core.conn_counts_busy() > 1
    }

    /// The connect-only WebSocket transfers with news since the last call, each once, with
    /// what they have: `readable` (data arrived, or the transfer ended: `error` is set too,
    /// and `recv` says how), `writable` (the send queue has room again after a send was
    /// refused or taken in part; and once, at the upgrade). O(ready): a loop over thousands
    /// of open WebSockets does no work for the idle ones. The news is edge-triggered: read
    /// until [`WsError::WouldBlock`](crate::ws::WsError::WouldBlock), or the rest waits for
    /// more to arrive. [`Multi::poll`] blocks while only connect-only transfers are open
    /// (until one has news, a timer, a wakeup or the timeout); a `poll` whose first run
    /// produced news returns without waiting, so take the list after each `poll`.
    ///
    /// ```no_run
    /// # use curlew::Multi;
    /// # let mut multi = Multi::new();
    /// let mut ready = Vec::new();
    /// let mut buf = Vec::new();
    /// loop {
    ///     multi.poll(None)?;
    ///     multi.ws_ready(&mut ready);
    ///     for (id, r) in ready.drain(..) {
    ///         if r.readable {
    ///             while let Ok(msg) = multi.ws(id)?.recv_msg(&mut buf) {
    ///                 println!("{id:?}: {msg:?}");
    ///                 buf.clear();
    ///             }
    ///         }
    ///     }
    /// #   break;
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ws_ready(&mut self, out: &mut Vec<(TransferId, Ready)>) {
        self.core.take_ws_ready(out);
    }

    /// Poll until every transfer has finished.
    pub fn run(&mut self) -> io::Result<()> {
        while self.core.running > 0 {
            self.poll(None)?;
        }
        Ok(())
    }

    /// How long the application may wait before calling `perform` again, when it waits on the
    /// multi's sockets by itself (`curl_multi_timeout`). `Some(ZERO)` means work is ready now;
    /// `None` means no timer is pending.
    pub fn timeout(&mut self) -> Option<Duration> {
        if self.core.has_work() {
            return Some(Duration::ZERO);
        }
        self.core
            .next_deadline()
            .map(|at| at.saturating_duration_since(self.core.clock.now()))
    }

    /// The next completion message, if any (`curl_multi_info_read`).
    pub fn info_read(&mut self) -> Option<Message> {
        self.core.msgs.pop_front()
    }

    /// Transfers added and not yet finished (`running_handles`).
    pub fn running(&self) -> usize {
        self.core.running
    }

    /// What a transfer has reported so far; `None` for an unknown id.
    pub fn info(&self, id: TransferId) -> Option<&TransferInfo> {
        self.core.transfer(id).map(|x| &*x.info)
    }

    /// Pause a direction of a transfer (`curl_easy_pause`). `false` for an unknown id.
    pub fn pause(&mut self, id: TransferId, dir: Direction) -> bool {
        let ok = self.core.pause(id, dir);
        if ok {
            self.core.mark_dirty(id);
        }
        self.sync_external();
        ok
    }

    /// Resume a direction of a transfer; paused data is delivered at the next turn.
    pub fn unpause(&mut self, id: TransferId, dir: Direction) -> bool {
        let ok = self.core.unpause(id, dir);
        self.sync_external();
        ok
    }

    /// The WebSocket of a transfer, from outside callbacks: send in either model, receive in
    /// connect-only mode (`curl_ws_send`, `curl_ws_recv`). The multi flushes what you queue at
    /// its next turn; in connect-only mode sends also try the socket at once.
    pub fn ws(&mut self, id: TransferId) -> Result<crate::ws::WsHandle<'_>, crate::ws::WsError> {
        if let Some(ext) = self.core.ext.as_deref_mut() {
            // The transfer is marked dirty to flush what the caller queues: ask for a turn.
            ext.set_timer(TimerState::Now, self.core.clock.now());
        }
        self.core.ws_handle(id)
    }

    /// A handle that wakes this multi from another thread (`curl_multi_wakeup`).
    pub fn waker(&self) -> MultiWaker {
        MultiWaker(self.waker.clone())
    }

    /// Unit tests: the multi's core, to put it on a fake clock and network ([`crate::sim`]).
    #[cfg(test)]
    pub(crate) fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }

    /// Most connections open at once, all hosts together; 0 = no limit
    /// (`CURLMOPT_MAX_TOTAL_CONNECTIONS`). Transfers over the limit wait their turn.
    pub fn set_max_total_connections(&mut self, n: usize) -> &mut Self {
        self.core.conns.max_total = n;
        self
    }

    /// Most connections open at once to one host (scheme, host, port, TLS settings); 0 = no
    /// limit (`CURLMOPT_MAX_HOST_CONNECTIONS`). Transfers over the limit wait their turn.
    pub fn set_max_host_connections(&mut self, n: usize) -> &mut Self {
        self.core.conns.max_host = n;
        self
    }

    /// Let transfers to one origin share an HTTP/2 connection (`CURLMOPT_PIPELINING` with
    /// `CURLPIPE_MULTIPLEX`, the default); off: one transfer per connection, as with
    /// HTTP/1.1 (`CURLPIPE_NOTHING`).
    pub fn set_multiplexing(&mut self, on: bool) -> &mut Self {
        self.core.multiplex = on;
        self
    }

    /// Yield the CPU (`sched_yield`) before each wait of [`Multi::poll`] that may block while
    /// several transfers wait for answers (default [`YIELD_BEFORE_WAIT`]: on).
    ///
    /// When the server shares this CPU (a local server, a sidecar proxy, a container with one
    /// core), a client woken by each of the server's writes preempts it after every response
    /// and reads them one at a time; yielding first lets the server finish its batch, which
    /// the next wake-up reads whole. With 100 HTTP/2 streams of 1 KiB over TLS on a core
    /// shared with nginx, this took the context switches from about 10,000 to 260 per 20,000
    /// requests, and the client's CPU time to a third.
    ///
    /// With a single transfer running (one request, one answer) it never yields. The cost:
    /// one system call per blocking wait when nothing else is runnable (the call returns at
    /// once); when other threads are runnable on this CPU, an event may wait for them for up
    /// to one scheduler slice. Turn it off for a latency-critical loop on a busy CPU. Only
    /// `poll` (and `run`) yield: a multi driven by [`Multi::socket_action`] leaves waiting
    /// to its owner.
    pub fn set_yield_before_wait(&mut self, on: bool) -> &mut Self {
        self.yield_before_wait = on;
        self
    }

    /// Most concurrent streams on one HTTP/2 connection (`CURLMOPT_MAX_CONCURRENT_STREAMS`;
    /// default [`DEFAULT_MAX_CONCURRENT_STREAMS`], which zero also means); the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS lowers it. A transfer over it waits for a free
    /// stream, or opens another connection when the connection limits allow.
    pub fn set_max_concurrent_streams(&mut self, n: u32) -> &mut Self {
        self.core.max_streams = if n == 0 {
            DEFAULT_MAX_CONCURRENT_STREAMS
        } else {
            n
        };
        self
    }

    /// The cookie engine its transfers share ([`crate::cookie`]): list, add, remove, load and
    /// save cookies between transfers (libcurl's `CURLOPT_COOKIELIST` verbs: `clear` is
    /// `"ALL"`, `clear_session` `"SESS"`, `save_file` `"FLUSH"`, `load_file` `"RELOAD"`,
    /// `set_cookie` a `Set-Cookie:` line, `insert` a cookie-file line's cookie).
    pub fn cookies(&mut self) -> &mut crate::cookie::CookieJar {
        &mut self.core.cookies
    }

    /// How often an idle HTTP/2 connection in the pool sends a PING to check that it is
    /// still there (`CURLOPT_UPKEEP_INTERVAL_MS`, driven by the loop's timers rather than by
    /// `curl_easy_upkeep` calls); default [`DEFAULT_UPKEEP_INTERVAL`], `None`: never. A PING
    /// not answered in time closes the connection, so no transfer is sent on a dead one.
    pub fn set_upkeep_interval(&mut self, every: Option<std::time::Duration>) -> &mut Self {
        self.core.upkeep = every.map(crate::options::clamp_duration);
        self
    }

    /// The receive windows new HTTP/2 connections announce: per stream and for the whole
    /// connection (defaults [`DEFAULT_H2_STREAM_WINDOW`], [`DEFAULT_H2_CONN_WINDOW`]; 0 keeps
    /// a default; at least 65,535 and at most 2^31-1 bytes, RFC 9113 §6.9). Larger windows
    /// fill long fat paths; what a server sends ahead of the application is memory the
    /// client holds. (libcurl has no option for this.)
    pub fn set_http2_windows(&mut self, stream: u32, conn: u32) -> &mut Self {
        let clamp = |v: u32, d: u32| match v {
            0 => d,
            v => v.clamp(65_535, (1 << 31) - 1),
        };
        self.core.h2_windows = (
            clamp(stream, DEFAULT_H2_STREAM_WINDOW),
            clamp(conn, DEFAULT_H2_CONN_WINDOW),
        );
        self
    }

    /// Most idle connections kept for reuse (`CURLMOPT_MAXCONNECTS`); default
    /// [`DEFAULT_MAX_IDLE`], which zero also means (as in libcurl, where 0 is the default
    /// size). To keep none, use [`Easy::forbid_reuse`](crate::Easy::forbid_reuse).
    pub fn set_max_idle_connections(&mut self, n: usize) -> &mut Self {
        self.core.conns.max_idle = if n == 0 { DEFAULT_MAX_IDLE } else { n };
        self
    }

    /// Connections open now (in use, idle or connecting), and idle in the pool.
    pub fn connection_counts(&self) -> (usize, usize) {
        self.core.conn_counts()
    }
}

pub use self::conns::DEFAULT_MAX_IDLE;
