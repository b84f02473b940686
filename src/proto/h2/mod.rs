//! Sans-IO HTTP/2 protocol core, client role (RFC 9113, RFC 7541, RFC 8441).
//!
//! Nothing here performs I/O or reads a clock: the caller owns the socket and
//! the timers, and passes the current time in where a timer starts or fires.
//!
//! | module | RFC | what |
//! | --- | --- | --- |
//! | [`error`] | 9113 §5.4, §7 | error codes, connection and stream errors |
//! | [`frame`] | 9113 §4, §6 | frame header and frame codec, padding, size rules |
//! | [`hpack`] | 7541 | header compression, both directions
//! | [`flow`] | 9113 §5.2, §6.9 | send and receive windows
//! | [`stream`] | 9113 §5.1 | stream states
//! | [`conn`] | 9113 §3-§8 | the client connection: [`Connection`], [`Event`] (`recv.rs`, `send.rs` hold its two sides)
//! | [`settings`] | 9113 §6.5, 8441 §3 | SETTINGS values and their checks |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod conn;
pub mod error;
pub mod flow;
pub mod frame;
pub mod hpack;
mod recv;
mod send;
pub mod settings;
pub mod stream;
#[cfg(test)]
mod tests;

pub use conn::{Config, Connection, Event, Request, SendError};
pub use error::{ConnError, ErrorCode, H2Error, StreamError};
pub use frame::{Frame, FrameHeader, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_LEN};
pub use settings::Settings;
