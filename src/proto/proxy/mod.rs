//! Proxy handshakes, sans-IO: HTTP `CONNECT` (RFC 9110 §9.3.6) and SOCKS 4, 4a and 5
//! (RFC 1928, with RFC 1929 username/password). Each is a [`Handshake`]: it holds the bytes
//! to send next, takes the proxy's bytes as they come, and says when the tunnel is up and how
//! much of the input was its own (what follows belongs to the tunnel).

mod connect;
mod socks;

pub use connect::{ConnectRequest, HttpConnect, MAX_CONNECT_HEAD};
pub use socks::{Socks4, Socks5, SocksTarget};

/// Where a handshake is after some input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// It took this many bytes and needs more (after sending what [`Handshake::output`] has).
    More(usize),
    /// The tunnel is up; it took this many bytes, the rest is the tunnel's.
    Done(usize),
}

/// Why a handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyError {
    /// The HTTP proxy answered `CONNECT` with this non-2xx status (curl: "CONNECT tunnel
    /// failed, response N").
    Refused(u16),
    /// The HTTP proxy's answer is not HTTP.
    Malformed(&'static str),
    /// The HTTP proxy closed the connection before its answer was complete (curl: "Proxy
    /// CONNECT aborted").
    Closed,
    /// The HTTP proxy's answer head is larger than [`MAX_CONNECT_HEAD`].
    TooLarge,
    /// The SOCKS proxy failed or refused, or broke the protocol; the reason in words.
    Socks(String),
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxyError::Refused(code) => write!(f, "CONNECT tunnel failed, response {code}"),
            ProxyError::Malformed(why) => write!(f, "CONNECT tunnel: {why}"),
            ProxyError::Closed => {
                f.write_str("Proxy CONNECT aborted: the proxy closed the connection")
            }
            ProxyError::TooLarge => write!(
                f,
                "CONNECT tunnel: response head over {MAX_CONNECT_HEAD} bytes"
            ),
            ProxyError::Socks(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ProxyError {}

/// A proxy handshake: bytes out, bytes in, until the tunnel is up.
pub trait Handshake {
    /// The bytes to send now (empty: wait for input).
    fn output(&self) -> &[u8];
    /// `n` bytes of [`Handshake::output`] were sent.
    fn sent(&mut self, n: usize);
    /// The proxy's bytes, from where the last call stopped. An empty `input` means the proxy
    /// closed the connection.
    fn input(&mut self, input: &[u8]) -> Result<Status, ProxyError>;
}

#[cfg(test)]
mod tests;
