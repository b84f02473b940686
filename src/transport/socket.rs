//! Socket options of new connections: TCP keepalive (`CURLOPT_TCP_KEEPALIVE`,
//! `TCP_KEEPIDLE`, `TCP_KEEPINTVL`), the local address or device (`CURLOPT_INTERFACE`) and
//! port range (`CURLOPT_LOCALPORT`, `LOCALPORTRANGE`). Without any, a socket is made the
//! usual way; with some, it is made, set and bound by socket2 before its non-blocking
//! connect. A unix domain socket (`CURLOPT_UNIX_SOCKET_PATH`, `ABSTRACT_UNIX_SOCKET`) takes
//! the place of TCP altogether, with none of the TCP options.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};

/// Where a connection's local end is bound (`CURLOPT_INTERFACE`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Interface {
    /// A local address.
    Addr(IpAddr),
    /// A network device by name (`SO_BINDTODEVICE`, Linux).
    Device(String),
}

/// Socket options of an `Easy` (part of the connection-reuse key when set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct SocketOptions {
    /// TCP keepalive: idle time before the first probe, and between probes.
    pub(crate) keepalive: Option<(Duration, Duration)>,
    /// Local ports to bind: the first and how many to try.
    pub(crate) local_port: Option<(u16, u16)>,
    pub(crate) interface: Option<Interface>,
    /// Connect to this unix domain socket instead of the URL's host and port.
    pub(crate) unix: Option<UnixTarget>,
}

/// A unix domain socket to connect to (`CURLOPT_UNIX_SOCKET_PATH`, or with `abstract_ns`
/// `CURLOPT_ABSTRACT_UNIX_SOCKET`: a name in Linux's abstract namespace, not a file).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct UnixTarget {
    pub(crate) path: std::path::PathBuf,
    pub(crate) abstract_ns: bool,
}

impl std::fmt::Display for UnixTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The abstract namespace is written with a leading `@`, as `ss` and `netstat` do.
        let at = if self.abstract_ns { "@" } else { "" };
        write!(f, "{at}{}", self.path.display())
    }
}

/// A non-blocking connect to the unix socket `t` (it may complete later, like TCP's).
pub(crate) fn connect_unix(t: &UnixTarget) -> io::Result<mio::net::UnixStream> {
    if !t.abstract_ns {
        return mio::net::UnixStream::connect(&t.path);
    }
    connect_abstract(t)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn connect_abstract(t: &UnixTarget) -> io::Result<mio::net::UnixStream> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt as _;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt as _;
    use std::os::unix::ffi::OsStrExt as _;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(t.path.as_os_str().as_bytes())?;
    mio::net::UnixStream::connect_addr(&addr)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn connect_abstract(_t: &UnixTarget) -> io::Result<mio::net::UnixStream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract unix sockets are Linux only",
    ))
}

impl SocketOptions {
    /// Nothing set: the plain path (and the default pool route).
    pub(crate) fn is_default(&self) -> bool {
        self.keepalive.is_none()
            && self.local_port.is_none()
            && self.interface.is_none()
            && self.unix.is_none()
    }
}

/// `CURLOPT_INTERFACE`'s forms: `if!NAME` (a device), `host!ADDR` (an address), or a plain
/// value (an address if it parses as one, else a device).
pub(crate) fn parse_interface(s: &str) -> Option<Interface> {
    if let Some(dev) = s.strip_prefix("if!") {
        return (!dev.is_empty()).then(|| Interface::Device(dev.to_owned()));
    }
    let value = s.strip_prefix("host!").unwrap_or(s);
    match value.parse::<IpAddr>() {
        Ok(ip) => Some(Interface::Addr(ip)),
        Err(_) if s.starts_with("host!") || value.is_empty() => None,
        Err(_) => Some(Interface::Device(value.to_owned())),
    }
}

/// `EINPROGRESS`: a non-blocking connect under way (`io::ErrorKind::InProgress` is not
/// stable yet).
#[cfg(any(target_os = "linux", target_os = "android"))]
const EINPROGRESS: i32 = 115;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const EINPROGRESS: i32 = 36;

/// The local end could not be set up as asked.
#[derive(Debug)]
struct BindError(String);

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "binding the local end: {}", self.0)
    }
}

impl std::error::Error for BindError {}

/// A bind that failed (curl's `CURLE_INTERFACE_FAILED`).
pub(crate) fn is_bind_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<BindError>())
}

fn bind_err(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::AddrNotAvailable, BindError(what))
}

/// A non-blocking socket to `addr` with `opts` set, its connect started.
pub(crate) fn connect_with(
    addr: SocketAddr,
    opts: &SocketOptions,
) -> io::Result<mio::net::TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_nonblocking(true)?;
    if let Some((idle, interval)) = opts.keepalive {
        let ka = TcpKeepalive::new().with_time(idle).with_interval(interval);
        sock.set_tcp_keepalive(&ka)?;
    }
    let ip = match &opts.interface {
        Some(Interface::Addr(ip)) => Some(*ip),
        Some(Interface::Device(dev)) => {
            bind_device(&sock, dev)?;
            None
        }
        None => None,
    };
    if ip.is_some() || opts.local_port.is_some() {
        let ip = ip.unwrap_or(match addr {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        bind_local(&sock, ip, opts.local_port)?;
    }
    match sock.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e)
            if e.raw_os_error() == Some(EINPROGRESS) || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(std::net::TcpStream::from(
        sock,
    )))
}

/// Bind to `ip` and the first free port of the range (any port without one).
fn bind_local(sock: &Socket, ip: IpAddr, ports: Option<(u16, u16)>) -> io::Result<()> {
    let Some((first, count)) = ports else {
        return sock
            .bind(&SockAddr::from(SocketAddr::new(ip, 0)))
            .map_err(|e| bind_err(format!("{ip}: {e}")));
    };
    let mut last = None;
    for port in (0..count.max(1)).filter_map(|i| first.checked_add(i)) {
        match sock.bind(&SockAddr::from(SocketAddr::new(ip, port))) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    let why = last.map_or_else(|| "no port in range".to_owned(), |e| e.to_string());
    Err(bind_err(format!("{ip} port {first} (+{count}): {why}")))
}

#[cfg(target_os = "linux")]
fn bind_device(sock: &Socket, dev: &str) -> io::Result<()> {
    sock.bind_device(Some(dev.as_bytes()))
        .map_err(|e| bind_err(format!("device {dev}: {e}")))
}

#[cfg(not(target_os = "linux"))]
fn bind_device(_sock: &Socket, dev: &str) -> io::Result<()> {
    Err(bind_err(format!(
        "device {dev}: binding to a device is Linux only"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_forms_are_curls() {
        let v4 = "127.0.0.2".parse().unwrap();
        assert_eq!(parse_interface("127.0.0.2"), Some(Interface::Addr(v4)));
        assert_eq!(parse_interface("host!127.0.0.2"), Some(Interface::Addr(v4)));
        assert_eq!(
            parse_interface("if!lo"),
            Some(Interface::Device("lo".into()))
        );
        assert_eq!(
            parse_interface("eth0"),
            Some(Interface::Device("eth0".into()))
        );
        assert_eq!(parse_interface("host!not-an-ip"), None);
        assert_eq!(parse_interface(""), None);
    }
}
