//! Error codes and the two kinds of HTTP/2 errors (RFC 9113 §5.4, §7).
//!
//! A [`ConnError`] ends the connection: the state machine sends GOAWAY with its
//! code and stops. A [`StreamError`] ends one stream: the state machine sends
//! RST_STREAM with its code and the connection goes on. [`H2Error`] is either.

use std::fmt;

/// An HTTP/2 error code as carried by RST_STREAM and GOAWAY (RFC 9113 §7).
///
/// Unknown codes are kept as they are (§7: "MUST NOT trigger any special
/// behavior"), hence a newtype rather than an enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// `0x0`: graceful shutdown, no error.
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    /// `0x1`: unspecific protocol error.
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    /// `0x2`: unexpected internal error.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    /// `0x3`: the peer violated the flow-control protocol.
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    /// `0x4`: a SETTINGS frame was not acknowledged in time.
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    /// `0x5`: a frame arrived on a half-closed (remote) or closed stream.
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    /// `0x6`: a frame had an invalid size.
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    /// `0x7`: the stream was refused before any processing (safe to retry).
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    /// `0x8`: the stream is no longer needed.
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    /// `0x9`: the HPACK compression context could not be maintained.
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    /// `0xa`: a CONNECT tunnel was reset or closed abnormally.
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    /// `0xb`: the peer behaves in a way that may generate excessive load.
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    /// `0xc`: the transport does not meet minimum security requirements.
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    /// `0xd`: HTTP/1.1 must be used instead.
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The RFC name of a known code, `None` for others.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        NAMES.get(self.0 as usize).copied()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown error code {:#x}", self.0),
        }
    }
}

/// A connection error (RFC 9113 §5.4.1): the whole connection is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnError {
    /// The code sent in our GOAWAY (or received in the peer's).
    pub code: ErrorCode,
    /// What went wrong, for logs.
    pub reason: &'static str,
}

/// A stream error (RFC 9113 §5.4.2): one stream is reset, the connection lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamError {
    /// The stream to reset.
    pub stream: u32,
    /// The code sent in our RST_STREAM.
    pub code: ErrorCode,
    /// What went wrong, for logs.
    pub reason: &'static str,
}

/// Either kind of HTTP/2 error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H2Error {
    /// Ends the connection with GOAWAY.
    Connection(ConnError),
    /// Ends one stream with RST_STREAM.
    Stream(StreamError),
}

impl H2Error {
    /// A connection error with `code`.
    pub const fn conn(code: ErrorCode, reason: &'static str) -> H2Error {
        H2Error::Connection(ConnError { code, reason })
    }

    /// A stream error on `stream` with `code`.
    pub const fn stream(stream: u32, code: ErrorCode, reason: &'static str) -> H2Error {
        H2Error::Stream(StreamError {
            stream,
            code,
            reason,
        })
    }

    /// The error code, whichever the kind.
    pub fn code(&self) -> ErrorCode {
        match self {
            H2Error::Connection(e) => e.code,
            H2Error::Stream(e) => e.code,
        }
    }
}

impl From<ConnError> for H2Error {
    fn from(e: ConnError) -> Self {
        H2Error::Connection(e)
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/2 connection error {}: {}", self.code, self.reason)
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP/2 stream {} error {}: {}",
            self.stream, self.code, self.reason
        )
    }
}

impl fmt::Display for H2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            H2Error::Connection(e) => e.fmt(f),
            H2Error::Stream(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnError {}
impl std::error::Error for StreamError {}
impl std::error::Error for H2Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknown_codes() {
        assert_eq!(
            ErrorCode::FLOW_CONTROL_ERROR.to_string(),
            "FLOW_CONTROL_ERROR"
        );
        assert_eq!(
            ErrorCode::HTTP_1_1_REQUIRED.name(),
            Some("HTTP_1_1_REQUIRED")
        );
        assert_eq!(ErrorCode(0xff).name(), None);
        assert!(ErrorCode(0xff).to_string().contains("0xff"));
        let e = H2Error::stream(3, ErrorCode::CANCEL, "x");
        assert_eq!(e.code(), ErrorCode::CANCEL);
        assert!(e.to_string().contains("stream 3"));
    }
}
