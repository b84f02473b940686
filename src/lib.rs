//! # curlew
//!
//! A pure-Rust transfer engine in the image of libcurl's multi interface: a [`Multi`] owns
//! many [`Easy`] transfers, HTTP/1.1 and HTTPS (rustls), in one mio poll loop. WebSocket
//! transfers (`ws://`, `wss://`) plug into the same loop as another transfer kind.
//!
//! ```no_run
//! use curlew::{Easy, Multi};
//!
//! // One blocking transfer (curl_easy_perform):
//! let mut easy = Easy::new("http://127.0.0.1:8080/")?;
//! easy.follow_location(true).accept_encoding(true);
//! easy.perform()?;
//! println!("{} {}", easy.info().response_code, easy.collected().unwrap().body.len());
//!
//! // Many at once (curl_multi_*):
//! let mut multi = Multi::new();
//! multi.set_max_host_connections(8);
//! for _ in 0..100 {
//!     multi.add(Easy::new("http://127.0.0.1:8080/")?);
//! }
//! multi.run()?;
//! while let Some(msg) = multi.info_read() {
//!     assert!(msg.result.is_ok());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Layers
//!
//! ```text
//!  app ── Easy/Handler ──► Multi (multi/: one owner, dirty set, timer heap, pool, mio)
//!                            │ steps
//!                            ▼
//!                          transfer/ (one state machine per transfer; a file per stage;
//!                            │         the multi reached only through its Services trait)
//!                            │ bytes                    │ parse/encode
//!                            ▼                          ▼
//!                          transport/ (TCP, TLS)      proto/ (sans-IO: HTTP/1.1, WebSocket)
//! ```
//!
//! `proto` does no I/O and reads no clock; only `multi` touches the poller; only
//! `transport/mod.rs` names rustls' connection type. Every random value on the wire comes from
//! [`rng`] (ChaCha20 keyed by the OS), handed to `proto` as a generator. The [`manual`] explains the design and
//! maps libcurl's API onto this one.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms)]
#![doc(test(attr(deny(warnings))))]

mod auth;
mod clock;
pub mod cookie;
mod ctx;
mod dns;
mod easy;
mod error;
mod handler;
#[cfg(feature = "http")]
mod http_types;
mod id;
mod info;
pub mod manual;
pub mod mime;
pub mod multi;
mod options;
mod overrides;
pub mod proto;
mod proxy;
mod ready;
pub mod rng;
#[cfg(test)]
mod sim;
#[cfg(feature = "tokio")]
pub mod tokio;
mod transfer;
mod transport;
mod url;
pub mod ws;

pub use crate::auth::{HttpAuth, NetrcMode, NETRC_MAX};
pub use crate::ctx::{Ctx, Direction};
pub use crate::easy::Easy;
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::handler::{
    default_debug, Collector, DebugKind, Discard, Flow, Handler, Progress, ReadResult,
};
pub use crate::info::{HttpVersion, TransferInfo};
pub use crate::multi::{
    CommandError, CommandSender, Message, Multi, MultiWaker, Ready, Socket, SocketWhat, TransferId,
    COMMAND_CAPACITY, DEFAULT_H2_CONN_WINDOW, DEFAULT_H2_STREAM_WINDOW,
    DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_IDLE, DEFAULT_UPKEEP_INTERVAL, EVENTS_CAPACITY,
    SOCKET_TIMEOUT,
};
pub use crate::options::HttpVersionOption;
pub use crate::options::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_EXPECT_100_TIMEOUT, DEFAULT_MAX_REDIRECTS, DEFAULT_USER_AGENT,
    DEFAULT_WS_CLOSE_TIMEOUT, DEFAULT_WS_KEEPALIVE_CLOSE_CODE, DURATION_MAX, EXPECT_100_THRESHOLD,
    HEADERS_MAX, HEADER_BYTES_MAX, REDIRECT_DRAIN_MAX,
};
pub use crate::proxy::{noproxy_matches, ProxyKind, DEFAULT_HTTPS_PROXY_PORT, DEFAULT_PROXY_PORT};
pub use crate::transfer::h2::H2_RETRY_MAX;
pub use crate::transfer::{
    CONNECT_ATTEMPT_MAX, DECODE_PIECE_SIZE, HAPPY_EYEBALLS_TIMEOUT, STEP_RECV_BUDGET,
    UPLOAD_BUFFER_SIZE,
};
pub use crate::transport::tls::TlsVersion;
pub use crate::transport::{BUFFER_SIZE_MAX, BUF_POOL_MAX_BYTES, RECV_BUFFER_MAX, RECV_BUFFER_MIN};
pub use crate::url::Scheme;
/// rustls, for [`Easy::tls_config`]: the version curlew is built with.
pub use rustls;

/// Limits of the name resolver.
pub mod dns_limits {
    pub use crate::dns::{DNS_CACHE_MAX, DNS_CACHE_TTL, DNS_THREADS};
}
