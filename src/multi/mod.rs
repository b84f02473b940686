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
use std::time::{Duration, Instant};

use crate::ctx::Direction;
use crate::easy::Easy;
use crate::error::Error;
use crate::info::TransferInfo;

pub(crate) mod core;

use self::core::Core;

/// The token of the multi's waker (DNS answers and [`MultiWaker::wake`]).
const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);

/// Identifies a transfer inside its [`Multi`]. Copyable; a stale id (of a removed transfer)
/// never reaches another transfer that reused the slot, because ids carry a generation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

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
}

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
        })
    }

    /// Add a transfer; it starts at the next `perform` or `poll` (`curl_multi_add_handle`).
    pub fn add(&mut self, easy: Easy) -> TransferId {
        self.core.add(easy)
    }

    /// Take a transfer out, finished or not, and get its [`Easy`] back, handler and info
    /// included (`curl_multi_remove_handle`). An unfinished transfer is cancelled and its
    /// connection closed. `None` for an unknown id.
    pub fn remove(&mut self, id: TransferId) -> Option<Easy> {
        self.core.remove(id)
    }

    /// Do all the work that is ready now, without waiting (`curl_multi_perform`). Returns the
    /// number of running transfers.
    pub fn perform(&mut self) -> io::Result<usize> {
        self.poll(Some(Duration::ZERO))
    }

    /// Wait until a socket is ready, a timer expires, [`MultiWaker::wake`] is called or
    /// `timeout` passes (`None`: no limit besides the transfers' timers), then do all the work
    /// that is ready (`curl_multi_poll` followed by `curl_multi_perform`). Returns the number of
    /// running transfers. With no running transfers and no timeout it returns at once.
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let now = Instant::now();
        let mut wait = if self.core.has_work() {
            Some(Duration::ZERO)
        } else {
            match (timeout, self.core.next_deadline()) {
                (t, Some(at)) => {
                    let d = at.saturating_duration_since(now);
                    Some(t.map_or(d, |t| t.min(d)))
                }
                (t, None) => t,
            }
        };
        if wait.is_none() && self.core.running == 0 {
            wait = Some(Duration::ZERO);
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
        self.core.run(Instant::now());
        Ok(self.core.running)
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
            .map(|at| at.saturating_duration_since(Instant::now()))
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
        self.core.transfer(id).map(|x| &x.info)
    }

    /// Pause a direction of a transfer (`curl_easy_pause`). `false` for an unknown id.
    pub fn pause(&mut self, id: TransferId, dir: Direction) -> bool {
        self.core.pause(id, dir)
    }

    /// Resume a direction of a transfer; paused data is delivered at the next turn.
    pub fn unpause(&mut self, id: TransferId, dir: Direction) -> bool {
        self.core.unpause(id, dir)
    }

    /// The WebSocket of a transfer, from outside callbacks: send in either model, receive in
    /// connect-only mode (`curl_ws_send`, `curl_ws_recv`). The multi flushes what you queue at
    /// its next turn; in connect-only mode sends also try the socket at once.
    pub fn ws(&mut self, id: TransferId) -> Result<crate::ws::WsHandle<'_>, crate::ws::WsError> {
        self.core.ws_handle(id)
    }

    /// A handle that wakes this multi from another thread (`curl_multi_wakeup`).
    pub fn waker(&self) -> MultiWaker {
        MultiWaker(self.waker.clone())
    }

    /// Most connections open at once, all hosts together; 0 = no limit
    /// (`CURLMOPT_MAX_TOTAL_CONNECTIONS`). Transfers over the limit wait their turn.
    pub fn set_max_total_connections(&mut self, n: usize) -> &mut Self {
        self.core.max_total = n;
        self
    }

    /// Most connections open at once to one host (scheme, host, port, TLS settings); 0 = no
    /// limit (`CURLMOPT_MAX_HOST_CONNECTIONS`). Transfers over the limit wait their turn.
    pub fn set_max_host_connections(&mut self, n: usize) -> &mut Self {
        self.core.max_host = n;
        self
    }

    /// Most idle connections kept for reuse (`CURLMOPT_MAXCONNECTS`); default
    /// [`DEFAULT_MAX_IDLE`](self::core::DEFAULT_MAX_IDLE).
    pub fn set_max_idle_connections(&mut self, n: usize) -> &mut Self {
        self.core.max_idle = n;
        self
    }

    /// Connections open now (in use, idle or connecting), and idle in the pool.
    pub fn connection_counts(&self) -> (usize, usize) {
        self.core.conn_counts()
    }
}

pub use self::core::DEFAULT_MAX_IDLE;
