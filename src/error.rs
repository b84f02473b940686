//! The transfer-level error type.
//!
//! Every transfer ends with `Result<(), Error>`. [`Error`] is one pointer wide and opaque; its
//! [`kind`](Error::kind) is an [`ErrorKind`] whose variants mirror libcurl's `CURLcode` names so
//! that curl users can map them one to one (see the crate docs' curl mapping table). `Display`
//! prints this level only; the cause, when there is one, comes through
//! [`std::error::Error::source`].

use std::borrow::Cow;
use std::fmt;

/// A `Result` whose error is the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in libcurl's vocabulary (`CURLcode`).
///
/// Each variant says when it happens and what to do about it.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The URL's scheme is not one curlew speaks (`CURLE_UNSUPPORTED_PROTOCOL`). Use `http`,
    /// `https`, `ws` or `wss`.
    UnsupportedProtocol,
    /// The URL could not be parsed, or has no host (`CURLE_URL_MALFORMAT`).
    UrlMalformat,
    /// A request option was invalid: a header with CR/LF in it, a bad method, an impossible
    /// combination (`CURLE_BAD_FUNCTION_ARGUMENT`). Fix the calling code.
    BadFunctionArgument,
    /// The proxy's host name did not resolve (`CURLE_COULDNT_RESOLVE_PROXY`).
    CouldntResolveProxy,
    /// The host name did not resolve (`CURLE_COULDNT_RESOLVE_HOST`).
    CouldntResolveHost,
    /// No address of the host accepted a TCP connection (`CURLE_COULDNT_CONNECT`).
    CouldntConnect,
    /// The local end could not be set up: the interface, address or local port range asked
    /// for (`CURLE_INTERFACE_FAILED`).
    InterfaceFailed,
    /// A timeout fired: connect timeout, total timeout, the low-speed limit, or a WebSocket's
    /// close timeout or keepalive (`CURLE_OPERATION_TIMEDOUT`).
    OperationTimedout,
    /// The TLS handshake failed for a reason other than certificate verification: no common
    /// protocol version or cipher, an alert from the server, a truncated handshake
    /// (`CURLE_SSL_CONNECT_ERROR`).
    SslConnectError,
    /// The server's certificate did not verify: unknown issuer, expired, wrong host name
    /// (`CURLE_PEER_FAILED_VERIFICATION`). The source holds rustls' precise reason.
    PeerFailedVerification,
    /// The CA file could not be read or holds no certificate (`CURLE_SSL_CACERT_BADFILE`).
    SslCacertBadFile,
    /// The server's public key is not one of the pinned keys
    /// (`CURLE_SSL_PINNEDPUBKEYNOTMATCH`).
    SslPinnedPubKeyNotMatch,
    /// Writing to the connection failed, or a WebSocket frame we were sending had to be
    /// abandoned because the peer closed in the middle of it
    /// ([`Easy::ws_max_close_finish`](crate::Easy::ws_max_close_finish)) (`CURLE_SEND_ERROR`).
    SendError,
    /// Reading from the connection failed, or the TLS layer reported a receive-side problem such
    /// as a truncation without close_notify (`CURLE_RECV_ERROR`).
    RecvError,
    /// The server closed the connection without sending a single byte of response
    /// (`CURLE_GOT_NOTHING`).
    GotNothing,
    /// The server's answer was not valid HTTP: a malformed status line or header, a bad chunk
    /// size, conflicting lengths, or a bad WebSocket 101 (`CURLE_WEIRD_SERVER_REPLY`).
    WeirdServerReply,
    /// A resumed download got the whole document back instead of the part asked for: the
    /// server ignores byte ranges (`CURLE_RANGE_ERROR`).
    RangeError,
    /// The body ended before its announced length or chunked terminator (`CURLE_PARTIAL_FILE`).
    PartialFile,
    /// The response could not be decoded: gzip/deflate garbage (`CURLE_BAD_CONTENT_ENCODING`).
    BadContentEncoding,
    /// More redirects than the configured maximum (`CURLE_TOO_MANY_REDIRECTS`).
    TooManyRedirects,
    /// The server answered a WebSocket upgrade with something other than 101, or `fail on error`
    /// saw a status of 400 or above (`CURLE_HTTP_RETURNED_ERROR`). The status is readable from
    /// the transfer's info.
    HttpReturnedError,
    /// A header, frame, message or decoded size exceeded its configured cap (`CURLE_TOO_LARGE`).
    TooLarge,
    /// The body is larger than the `max_filesize` option allows
    /// (`CURLE_FILESIZE_EXCEEDED`).
    FileSizeExceeded,
    /// A callback asked to abort: the progress callback returned `false`, or a callback returned
    /// [`Flow::Abort`](crate::Flow::Abort) (`CURLE_ABORTED_BY_CALLBACK`).
    AbortedByCallback,
    /// The write callback refused the data it was given (`CURLE_WRITE_ERROR`).
    WriteError,
    /// The read callback failed (`CURLE_READ_ERROR`).
    ReadError,
    /// The request body could not be sent again after a retry or redirect because it came from a
    /// read callback (`CURLE_SEND_FAIL_REWIND`).
    SendFailRewind,
    /// The WebSocket peer broke RFC 6455 or RFC 7692 (curl reports `CURLE_RECV_ERROR`).
    WsProtocol,
    /// The HTTP/2 connection failed: a protocol error by the server, a GOAWAY with an error,
    /// a missed SETTINGS acknowledgement (`CURLE_HTTP2`). Every transfer on that connection
    /// gets it; transfers on other connections are not affected.
    Http2,
    /// The server reset this transfer's HTTP/2 stream (RST_STREAM), or the stream broke the
    /// protocol; the code is in the message (`CURLE_HTTP2_STREAM`).
    Http2Stream,
    /// A SOCKS proxy refused or failed the connection, or broke the protocol; the reason is
    /// in the message (`CURLE_PROXY`).
    Proxy,
    /// The transfer was removed from its multi before it finished.
    Cancelled,
    /// An internal invariant was violated (please report it), or the engine could not start:
    /// the operating system gave no random bytes for a WebSocket upgrade or a multipart
    /// boundary (`CURLE_FAILED_INIT`).
    Internal,
}

impl ErrorKind {
    /// The libcurl `CURLcode` name this kind corresponds to.
    pub fn curl_name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            UnsupportedProtocol => "CURLE_UNSUPPORTED_PROTOCOL",
            UrlMalformat => "CURLE_URL_MALFORMAT",
            BadFunctionArgument => "CURLE_BAD_FUNCTION_ARGUMENT",
            CouldntResolveProxy => "CURLE_COULDNT_RESOLVE_PROXY",
            CouldntResolveHost => "CURLE_COULDNT_RESOLVE_HOST",
            CouldntConnect => "CURLE_COULDNT_CONNECT",
            InterfaceFailed => "CURLE_INTERFACE_FAILED",
            OperationTimedout => "CURLE_OPERATION_TIMEDOUT",
            SslConnectError => "CURLE_SSL_CONNECT_ERROR",
            PeerFailedVerification => "CURLE_PEER_FAILED_VERIFICATION",
            SslCacertBadFile => "CURLE_SSL_CACERT_BADFILE",
            SslPinnedPubKeyNotMatch => "CURLE_SSL_PINNEDPUBKEYNOTMATCH",
            SendError => "CURLE_SEND_ERROR",
            RecvError => "CURLE_RECV_ERROR",
            GotNothing => "CURLE_GOT_NOTHING",
            WeirdServerReply => "CURLE_WEIRD_SERVER_REPLY",
            PartialFile => "CURLE_PARTIAL_FILE",
            RangeError => "CURLE_RANGE_ERROR",
            BadContentEncoding => "CURLE_BAD_CONTENT_ENCODING",
            TooManyRedirects => "CURLE_TOO_MANY_REDIRECTS",
            HttpReturnedError => "CURLE_HTTP_RETURNED_ERROR",
            TooLarge => "CURLE_TOO_LARGE",
            FileSizeExceeded => "CURLE_FILESIZE_EXCEEDED",
            AbortedByCallback => "CURLE_ABORTED_BY_CALLBACK",
            WriteError => "CURLE_WRITE_ERROR",
            ReadError => "CURLE_READ_ERROR",
            SendFailRewind => "CURLE_SEND_FAIL_REWIND",
            WsProtocol => "CURLE_RECV_ERROR",
            Http2 => "CURLE_HTTP2",
            Http2Stream => "CURLE_HTTP2_STREAM",
            Proxy => "CURLE_PROXY",
            Cancelled => "CURLE_ABORTED_BY_CALLBACK",
            Internal => "CURLE_FAILED_INIT",
        }
    }

    /// The numeric `CURLcode` libcurl uses for this kind (the curl tool's exit code).
    pub fn curl_code(self) -> i32 {
        use ErrorKind::*;
        match self {
            UnsupportedProtocol => 1,
            Internal => 2,
            UrlMalformat => 3,
            CouldntResolveProxy => 5,
            CouldntResolveHost => 6,
            CouldntConnect => 7,
            InterfaceFailed => 45,
            WeirdServerReply => 8,
            HttpReturnedError => 22,
            WriteError => 23,
            ReadError => 26,
            OperationTimedout => 28,
            Http2 => 16,
            Http2Stream => 92,
            Proxy => 97,
            BadFunctionArgument => 43,
            AbortedByCallback | Cancelled => 42,
            TooManyRedirects => 47,
            GotNothing => 52,
            SendError => 55,
            RecvError | WsProtocol => 56,
            PartialFile => 18,
            RangeError => 33,
            BadContentEncoding => 61,
            PeerFailedVerification => 60,
            SslConnectError => 35,
            SslCacertBadFile => 77,
            SslPinnedPubKeyNotMatch => 90,
            SendFailRewind => 65,
            TooLarge => 100,
            FileSizeExceeded => 63,
        }
    }

    fn describe(self) -> &'static str {
        use ErrorKind::*;
        match self {
            UnsupportedProtocol => "unsupported protocol",
            UrlMalformat => "malformed URL",
            BadFunctionArgument => "bad argument",
            CouldntResolveProxy => "could not resolve proxy",
            CouldntResolveHost => "could not resolve host",
            CouldntConnect => "could not connect",
            InterfaceFailed => "interface failed",
            OperationTimedout => "operation timed out",
            SslConnectError => "TLS connect error",
            PeerFailedVerification => "TLS peer verification failed",
            SslCacertBadFile => "bad CA certificate file",
            SslPinnedPubKeyNotMatch => "pinned public key mismatch",
            SendError => "send error",
            RecvError => "receive error",
            GotNothing => "server returned nothing",
            WeirdServerReply => "weird server reply",
            PartialFile => "transfer closed with outstanding data",
            RangeError => "range error",
            BadContentEncoding => "bad content encoding",
            TooManyRedirects => "too many redirects",
            HttpReturnedError => "HTTP returned error",
            TooLarge => "too large",
            FileSizeExceeded => "maximum file size exceeded",
            AbortedByCallback => "aborted by callback",
            WriteError => "write callback error",
            ReadError => "read callback error",
            SendFailRewind => "cannot rewind the request body",
            WsProtocol => "WebSocket protocol error",
            Http2 => "HTTP/2 connection error",
            Http2Stream => "HTTP/2 stream error",
            Proxy => "proxy handshake error",
            Cancelled => "transfer cancelled",
            Internal => "internal error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync>;

struct Inner {
    kind: ErrorKind,
    detail: Option<Cow<'static, str>>,
    source: Option<Source>,
}

/// A transfer failed. One pointer wide; see [`Error::kind`].
///
/// ```
/// use curlew::{Easy, ErrorKind};
/// let err = Easy::new("gopher://example.com/").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnsupportedProtocol);
/// ```
pub struct Error(Box<Inner>);

impl Error {
    /// A new error of `kind` with a human-readable detail.
    pub fn new(kind: ErrorKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Error(Box::new(Inner {
            kind,
            detail: Some(detail.into()),
            source: None,
        }))
    }

    /// A new error of `kind` without detail.
    pub fn from_kind(kind: ErrorKind) -> Self {
        Error(Box::new(Inner {
            kind,
            detail: None,
            source: None,
        }))
    }

    /// Attach a cause, kept for [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// The cause attached with [`Error::with_source`], taken out.
    pub(crate) fn into_source(self) -> Option<Source> {
        self.0.source
    }

    /// A copy of the kind and the detail; not the source, which cannot be copied.
    pub(crate) fn detached(&self) -> Error {
        Error(Box::new(Inner {
            kind: self.0.kind,
            detail: self.0.detail.clone(),
            source: None,
        }))
    }

    /// A transfer removed (or its multi dropped) before it finished.
    pub(crate) fn cancelled() -> Error {
        Error::new(ErrorKind::Cancelled, "transfer removed before it finished")
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The human-readable detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// True for timeouts of any kind.
    pub fn is_timeout(&self) -> bool {
        self.0.kind == ErrorKind::OperationTimedout
    }

    /// True for TLS handshake and verification failures.
    pub fn is_tls(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::SslConnectError
                | ErrorKind::PeerFailedVerification
                | ErrorKind::SslCacertBadFile
        )
    }

    /// True for resolve and connect failures.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::CouldntResolveHost | ErrorKind::CouldntConnect
        )
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind);
        if let Some(detail) = &self.0.detail {
            d.field("detail", detail);
        }
        if let Some(src) = &self.0.source {
            d.field("source", src);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.detail {
            Some(d) => write!(f, "{}: {}", self.0.kind, d),
            None => write!(f, "{}", self.0.kind),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|s| &**s as &(dyn std::error::Error + 'static))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::from_kind(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn display_and_source() {
        let io = std::io::Error::other("boom");
        let e = Error::new(ErrorKind::RecvError, "reading body").with_source(io);
        assert_eq!(e.to_string(), "receive error: reading body");
        assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "boom");
        assert_eq!(e.kind().curl_code(), 56);
    }
}
