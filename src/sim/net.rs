//! The simulated network: in-memory connections between the multi (client side, through
//! [`MemSocket`]) and the test (server side, through [`Peer`]).
//!
//! A connection is two byte queues and two close flags. The client side behaves like a
//! non-blocking TCP socket: reads and writes answer `WouldBlock` when there is nothing to read
//! or the connect has not completed, `Ok(0)` after the server closed, and the connect completes
//! (or fails) in the way `connect_step` checks it (`take_error`, `peer_addr`). What an address
//! does with a connect is set per address with [`Net::listen`]; an address nobody listens on
//! refuses.
//!
//! Nothing here reads a clock or runs a thread: the harness decides when the multi learns about
//! new bytes (see the readiness counters of [`Net::readiness`]).

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};

/// The descriptor number of the first simulated socket (well above the few real descriptors a
/// multi holds, its poller and waker, so the two never collide in the socket table).
pub(crate) const FIRST_FD: RawFd = 10_000;

/// What an address does with a connect.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Listen {
    /// Accept at once; the test takes the connection with [`Net::accept`].
    Accept,
    /// Never answer: the connect stays in progress forever (a black-holed SYN).
    Blackhole,
}

#[derive(Debug, PartialEq, Eq)]
enum LinkState {
    Connecting,
    /// Refused; the error is handed out once by `take_error`.
    Refused {
        reported: bool,
    },
    Open,
}

/// One connection.
struct Link {
    remote: SocketAddr,
    state: LinkState,
    /// Client to server.
    up: VecDeque<u8>,
    /// Server to client.
    down: VecDeque<u8>,
    client_closed: bool,
    server_closed: bool,
    /// Bumped whenever the client side may have become readable (bytes, close) or writable
    /// (connect done): how an edge-triggered poller would learn about it.
    events: u64,
}

#[derive(Default)]
struct State {
    listeners: BTreeMap<SocketAddr, Listen>,
    links: Vec<Link>,
    /// Connections accepted by a listener and not yet taken by the test.
    backlog: VecDeque<usize>,
}

/// The network, shared by the multi (which connects) and the test (which serves).
#[derive(Clone, Default)]
pub(crate) struct Net(Arc<Mutex<State>>);

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("links", &self.lock().links.len())
            .finish()
    }
}

/// Readiness of a simulated socket, as a poller would see it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    pub(crate) error: bool,
    /// Changes so far (see `Link::events`).
    pub(crate) events: u64,
}

impl Net {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().expect("the simulated network lock")
    }

    /// Make `addr` answer connects as `how` says.
    pub(crate) fn listen(&self, addr: SocketAddr, how: Listen) {
        self.lock().listeners.insert(addr, how);
    }

    /// Open a connection to `addr` (the multi's side of a TCP connect).
    pub(crate) fn connect(&self, addr: SocketAddr) -> MemSocket {
        let mut st = self.lock();
        let state = match st.listeners.get(&addr) {
            Some(Listen::Accept) => LinkState::Open,
            Some(Listen::Blackhole) => LinkState::Connecting,
            None => LinkState::Refused { reported: false },
        };
        let id = st.links.len();
        if state == LinkState::Open {
            st.backlog.push_back(id);
        }
        st.links.push(Link {
            remote: addr,
            state,
            up: VecDeque::new(),
            down: VecDeque::new(),
            client_closed: false,
            server_closed: false,
            events: 1,
        });
        MemSocket {
            net: self.clone(),
            id,
        }
    }

    /// The next connection accepted by a listener, oldest first.
    pub(crate) fn accept(&self) -> Option<Peer> {
        let id = self.lock().backlog.pop_front()?;
        Some(Peer {
            net: self.clone(),
            id,
        })
    }

    /// Connections opened so far, accepted or not.
    pub(crate) fn connects(&self) -> usize {
        self.lock().links.len()
    }

    /// The readiness of the client socket `fd`; `None` if it is not a simulated socket.
    pub(crate) fn readiness(&self, fd: RawFd) -> Option<Readiness> {
        let st = self.lock();
        let l = st
            .links
            .get(usize::try_from(fd.checked_sub(FIRST_FD)?).ok()?)?;
        let (readable, writable, error) = match l.state {
            LinkState::Connecting => (false, false, false),
            LinkState::Refused { .. } => (true, true, true),
            LinkState::Open => (
                !l.down.is_empty() || l.server_closed,
                !l.client_closed,
                false,
            ),
        };
        Some(Readiness {
            readable,
            writable,
            error,
            events: l.events,
        })
    }

    fn with<R>(&self, id: usize, f: impl FnOnce(&mut Link) -> R) -> R {
        f(&mut self.lock().links[id])
    }
}

/// The multi's end of a simulated connection: a non-blocking TCP socket.
pub(crate) struct MemSocket {
    net: Net,
    id: usize,
}

impl std::fmt::Debug for MemSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemSocket#{}", self.id)
    }
}

impl Drop for MemSocket {
    fn drop(&mut self) {
        self.net.with(self.id, |l| l.client_closed = true);
    }
}

fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

impl MemSocket {
    pub(crate) fn fd(&self) -> RawFd {
        FIRST_FD + RawFd::try_from(self.id).expect("a few simulated sockets")
    }

    fn copy_down(&self, buf: &mut [u8], consume: bool) -> io::Result<usize> {
        self.net.with(self.id, |l| match l.state {
            LinkState::Connecting => Err(would_block()),
            LinkState::Refused { .. } => Err(io::ErrorKind::ConnectionRefused.into()),
            LinkState::Open if l.down.is_empty() && l.server_closed => Ok(0),
            LinkState::Open if l.down.is_empty() => Err(would_block()),
            LinkState::Open => {
                let n = buf.len().min(l.down.len());
                for (b, x) in buf.iter_mut().zip(l.down.iter()) {
                    *b = *x;
                }
                if consume {
                    l.down.drain(..n);
                }
                Ok(n)
            }
        })
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.copy_down(buf, true)
    }

    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.copy_down(buf, false)
    }

    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.net.with(self.id, |l| match l.state {
            LinkState::Connecting => Err(would_block()),
            LinkState::Refused { .. } => Err(io::ErrorKind::ConnectionRefused.into()),
            LinkState::Open if l.client_closed => Err(io::ErrorKind::BrokenPipe.into()),
            LinkState::Open => {
                // Like TCP, bytes written after the server closed are taken (and never read).
                let mut n = 0;
                for b in bufs {
                    l.up.extend(b.iter());
                    n += b.len();
                }
                Ok(n)
            }
        })
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(self.net.with(self.id, |l| match &mut l.state {
            LinkState::Refused { reported } if !*reported => {
                *reported = true;
                Some(io::ErrorKind::ConnectionRefused.into())
            }
            _ => None,
        }))
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.net.with(self.id, |l| match l.state {
            LinkState::Open => Ok(l.remote),
            _ => Err(io::ErrorKind::NotConnected.into()),
        })
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        let port = 40_000 + u16::try_from(self.id % 20_000).expect("fits");
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    pub(crate) fn shutdown(&self) {
        self.net.with(self.id, |l| l.client_closed = true);
    }
}

/// The test's (server's) end of a simulated connection.
#[derive(Debug)]
pub(crate) struct Peer {
    net: Net,
    id: usize,
}

impl Peer {
    /// Which connection this is: 0 for the first the multi opened, and so on.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Everything the client wrote and the server has not read yet.
    pub(crate) fn read_all(&mut self) -> Vec<u8> {
        self.net.with(self.id, |l| l.up.drain(..).collect())
    }

    /// Bytes the client wrote and the server has not read yet, left in place.
    pub(crate) fn unread(&self) -> Vec<u8> {
        self.net.with(self.id, |l| l.up.iter().copied().collect())
    }

    /// Take `n` bytes of what the client wrote.
    pub(crate) fn consume(&mut self, n: usize) {
        self.net.with(self.id, |l| drop(l.up.drain(..n)));
    }

    /// Send bytes to the client.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.net.with(self.id, |l| {
            assert!(!l.server_closed, "write after the server closed");
            l.down.extend(bytes.iter());
            l.events += 1;
        });
    }

    /// Close the connection: the client reads what is left, then EOF.
    pub(crate) fn close(&mut self) {
        self.net.with(self.id, |l| {
            l.server_closed = true;
            l.events += 1;
        });
    }

    /// The client closed its end (or dropped the socket).
    pub(crate) fn client_closed(&self) -> bool {
        self.net.with(self.id, |l| l.client_closed)
    }

    /// Bytes sent to the client and not read by it yet.
    pub(crate) fn unread_by_client(&self) -> usize {
        self.net.with(self.id, |l| l.down.len())
    }
}
