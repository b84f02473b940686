//! Deterministic simulation of a whole [`Multi`]: a fake clock and an in-memory network, in
//! the manner of quinn-proto's test `Pair` (unit tests only).
//!
//! The multi runs in its external-loop mode ([`Multi::with_socket_callbacks`]), with the
//! harness as its event loop. Connections go to a simulated [`Net`] instead of the kernel,
//! and every `now` comes from a [`FakeClock`] that moves only when the test says so. A test is a
//! script: it adds transfers, lets the multi run until it waits for something ([`Sim::run`]),
//! plays the server by hand on the connections it accepts ([`Peer`]), and moves time forward
//! ([`Sim::advance`]), in which case the timers due on the way fire at their exact instants.
//! No thread, no sleep, no OS poller: the same script gives the same run every time, and a
//! five-second timeout is checked to the millisecond in microseconds.
//!
//! The harness plays an edge-triggered poller: a socket is reported when something happened
//! on it since it was last reported (bytes or a close from the server, the connect finishing)
//! or when the multi (re)arms it with a new interest, as `epoll_ctl` would. So the multi must
//! drain what it is told about or ask for another turn itself: a transfer that stops reading
//! early without a zero timer stalls here, as it would in an application's loop.
//!
//! Use IP-literal URLs (`http://127.0.0.1:80/`): they need no resolver thread.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::clock::{Clock, FakeClock};
use crate::error::Error;
use crate::multi::{Multi, Ready, SocketWhat, SOCKET_TIMEOUT};
use crate::{Easy, TransferId};

mod h2;
mod http;
mod net;
mod socket;
mod tests;
mod ws;

pub(crate) use self::net::{Listen, Net, Peer};
pub(crate) use self::socket::TcpStream;

/// Most multi calls one [`Sim::run`] makes before it declares a livelock.
pub(crate) const STEP_BOUND: usize = 10_000;

/// What the multi's callbacks asked for.
#[derive(Default)]
struct Asked {
    /// Sockets to watch, and for what.
    watch: BTreeMap<RawFd, SocketWhat>,
    /// Sockets given a new interest since the harness last reported them (epoll's re-arm).
    rearmed: BTreeSet<RawFd>,
    /// The timer's deadline, in fake time.
    timer: Option<Instant>,
    /// Every socket callback, in order (for tests of what the multi watches).
    log: Vec<(RawFd, SocketWhat)>,
}

/// A multi on a fake clock and a simulated network; see the [module docs](self).
pub(crate) struct Sim {
    pub(crate) multi: Multi,
    pub(crate) net: Net,
    pub(crate) clock: FakeClock,
    asked: Arc<Mutex<Asked>>,
    /// The events counter of each simulated socket when it was last reported.
    seen: HashMap<RawFd, u64>,
    results: HashMap<TransferId, Result<(), Error>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("multi", &self.multi)
            .field("elapsed", &self.clock.elapsed())
            .finish_non_exhaustive()
    }
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    pub(crate) fn new() -> Sim {
        let clock = FakeClock::new();
        let asked = Arc::new(Mutex::new(Asked::default()));
        let (a, b, c) = (asked.clone(), asked.clone(), clock.clone());
        let mut multi = Multi::with_socket_callbacks(
            Box::new(move |fd, what, _token| {
                let mut a = a.lock().expect("callback lock");
                a.log.push((fd, what));
                if what == SocketWhat::Remove {
                    a.watch.remove(&fd);
                    a.rearmed.remove(&fd);
                } else {
                    a.watch.insert(fd, what);
                    a.rearmed.insert(fd);
                }
            }),
            Box::new(move |t| b.lock().expect("callback lock").timer = t.map(|d| c.now() + d)),
        )
        .expect("a multi");
        let net = Net::default();
        let core = multi.core_mut();
        core.clock = Clock::fake(clock.clone());
        core.net = Some(net.clone());
        Sim {
            multi,
            net,
            clock,
            asked,
            seen: HashMap::new(),
            results: HashMap::new(),
        }
    }

    fn asked(&self) -> MutexGuard<'_, Asked> {
        self.asked.lock().expect("callback lock")
    }

    /// `127.0.0.1:port`, accepting connections.
    pub(crate) fn listen(&self, port: u16) -> SocketAddr {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        self.net.listen(addr, Listen::Accept);
        addr
    }

    /// Add a transfer.
    pub(crate) fn add(&mut self, easy: Easy) -> TransferId {
        self.multi.add(easy)
    }

    /// Run until the multi waits for the server or for time to pass: report ready sockets and
    /// fire the timer while it is due, then collect finished transfers.
    #[track_caller]
    pub(crate) fn run(&mut self) {
        for _ in 0..STEP_BOUND {
            if let Some((fd, ready)) = self.ready_socket() {
                self.multi.socket_action(fd, ready).expect("socket_action");
            } else if self.timer_due() {
                self.asked().timer = None;
                self.multi
                    .socket_action(SOCKET_TIMEOUT, Ready::NONE)
                    .expect("socket_action");
            } else {
                self.collect();
                return;
            }
            self.collect();
        }
        panic!("no rest after {STEP_BOUND} steps: {self:?}");
    }

    /// One call into the multi: the first ready socket, else the timer if it is due. `false`
    /// when there was nothing to do (the multi waits).
    pub(crate) fn turn(&mut self) -> bool {
        let acted = if let Some((fd, ready)) = self.ready_socket() {
            self.multi.socket_action(fd, ready).expect("socket_action");
            true
        } else if self.timer_due() {
            self.asked().timer = None;
            self.multi
                .socket_action(SOCKET_TIMEOUT, Ready::NONE)
                .expect("socket_action");
            true
        } else {
            false
        };
        self.collect();
        acted
    }

    /// Move the clock forward by `d`, firing every timer due on the way at its own instant.
    #[track_caller]
    pub(crate) fn advance(&mut self, d: Duration) {
        let until = self.clock.now() + d;
        self.run();
        loop {
            let next = self.asked().timer.filter(|&at| at <= until);
            let Some(at) = next else { break };
            self.clock.set(at);
            self.run();
        }
        self.clock.set(until);
        self.run();
    }

    /// Move the clock to the timer's deadline and run; how far that was (`None`: no timer).
    #[track_caller]
    pub(crate) fn advance_to_timer(&mut self) -> Option<Duration> {
        self.run();
        let at = self.asked().timer?;
        let d = at.saturating_duration_since(self.clock.now());
        self.clock.set(at);
        self.run();
        Some(d)
    }

    /// Time until the timer fires (`None`: no timer).
    pub(crate) fn timer(&self) -> Option<Duration> {
        self.asked()
            .timer
            .map(|at| at.saturating_duration_since(self.clock.now()))
    }

    /// Fake time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// The next connection the multi opened to a listener.
    #[track_caller]
    pub(crate) fn accept(&mut self) -> Peer {
        self.net.accept().expect("a connection to accept")
    }

    /// What the multi watches socket `fd` for now (`None`: not watched).
    pub(crate) fn watched(&self, fd: RawFd) -> Option<SocketWhat> {
        self.asked().watch.get(&fd).copied()
    }

    /// The simulated sockets the multi watches now.
    pub(crate) fn watched_sockets(&self) -> Vec<(RawFd, SocketWhat)> {
        let a = self.asked();
        let sim = |fd: &RawFd| self.net.readiness(*fd).is_some();
        a.watch
            .iter()
            .filter(|(fd, _)| sim(fd))
            .map(|(fd, w)| (*fd, *w))
            .collect()
    }

    /// The result of a finished transfer (`None` while it runs).
    pub(crate) fn result(&self, id: TransferId) -> Option<&Result<(), Error>> {
        self.results.get(&id)
    }

    /// Take a finished transfer out of the multi.
    #[track_caller]
    pub(crate) fn finish(&mut self, id: TransferId) -> (Result<(), Error>, Easy) {
        let r = self.results.remove(&id).expect("the transfer finished");
        (r, self.multi.remove(id).expect("a known transfer"))
    }

    fn collect(&mut self) {
        while let Some(msg) = self.multi.info_read() {
            assert!(
                self.results.insert(msg.id, msg.result).is_none(),
                "two completion messages for {:?}",
                msg.id
            );
        }
    }

    fn timer_due(&self) -> bool {
        self.asked().timer.is_some_and(|at| at <= self.clock.now())
    }

    /// The first watched socket with news for the multi, lowest descriptor first.
    fn ready_socket(&mut self) -> Option<(RawFd, Ready)> {
        let mut asked = self.asked.lock().expect("callback lock");
        let asked = &mut *asked;
        for (&fd, &what) in &asked.watch {
            let Some(r) = self.net.readiness(fd) else {
                continue;
            };
            let news = asked.rearmed.contains(&fd) || self.seen.get(&fd) != Some(&r.events);
            let (want_read, want_write) = match what {
                SocketWhat::In => (true, false),
                SocketWhat::Out => (false, true),
                SocketWhat::InOut => (true, true),
                SocketWhat::Remove => (false, false),
            };
            let ready = Ready {
                readable: want_read && r.readable,
                writable: want_write && r.writable,
                error: r.error,
            };
            if news && ready != Ready::NONE {
                asked.rearmed.remove(&fd);
                self.seen.insert(fd, r.events);
                return Some((fd, ready));
            }
        }
        None
    }
}
