//! The TCP stream type of unit-test builds: a real mio socket, or an in-memory one from the
//! simulated network. `transport` names this type instead of `mio::net::TcpStream` under
//! `cfg(test)`, so the connection code (TCP and TLS alike) runs unchanged over either; the
//! library itself is built with mio's type and knows nothing of this one.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};

use mio::{Interest, Registry, Token};

use super::net::MemSocket;

/// A non-blocking TCP stream, real or simulated.
#[derive(Debug)]
pub(crate) enum TcpStream {
    Real(mio::net::TcpStream),
    Memory(MemSocket),
}

use TcpStream::{Memory, Real};

impl TcpStream {
    /// A real connect (the simulated network connects through `Net::connect`).
    pub(crate) fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        mio::net::TcpStream::connect(addr).map(Real)
    }

    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Real(s) => s.peek(buf),
            Memory(m) => m.peek(buf),
        }
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Real(s) => s.take_error(),
            Memory(m) => m.take_error(),
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Real(s) => s.peer_addr(),
            Memory(m) => m.peer_addr(),
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Real(s) => s.local_addr(),
            Memory(m) => m.local_addr(),
        }
    }

    pub(crate) fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Real(s) => s.set_nodelay(on),
            Memory(_) => Ok(()),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Real(s) => s.shutdown(how),
            Memory(m) => {
                m.shutdown();
                Ok(())
            }
        }
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Real(s) => s.read(buf),
            Memory(m) => m.read(buf),
        }
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Real(s) => s.write_vectored(bufs),
            Memory(m) => m.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Real(s) => s.flush(),
            Memory(_) => Ok(()),
        }
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Real(s) => s.as_raw_fd(),
            Memory(m) => m.fd(),
        }
    }
}

/// A simulated socket has no descriptor for a poller: it runs only in a multi driven through
/// `socket_action`, where the harness plays the poller.
fn no_poller() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a simulated socket cannot be registered with mio",
    )
}

impl mio::event::Source for TcpStream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Real(s) => s.register(r, t, i),
            Memory(_) => Err(no_poller()),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Real(s) => s.reregister(r, t, i),
            Memory(_) => Err(no_poller()),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Real(s) => s.deregister(r),
            Memory(_) => Err(no_poller()),
        }
    }
}
