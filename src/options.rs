//! A transfer's options and request body, with their defaults and the rules for 0 and the
//! largest values: what [`Easy`](crate::Easy)'s setters write and the transfer reads.

use std::time::Duration;

use bytes::Bytes;

use crate::proto::http1::Limits;
use crate::transport::tls::TlsOptions;
use crate::url::Target;

/// The User-Agent the `curlew` tool sends (as the curl tool sends `curl/VERSION`). The library
/// sends none unless [`Easy::user_agent`](crate::Easy::user_agent) sets one, as libcurl sends none without
/// `CURLOPT_USERAGENT`.
pub const DEFAULT_USER_AGENT: &str = concat!("curlew/", env!("CARGO_PKG_VERSION"));
/// Default maximum number of redirects followed (`CURLOPT_MAXREDIRS`; the curl tool's 50).
pub const DEFAULT_MAX_REDIRECTS: u32 = 50;
/// Default connect timeout (curl's `DEFAULT_CONNECT_TIMEOUT`, 300 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long to wait for `100 Continue` before sending the body anyway
/// (`CURLOPT_EXPECT_100_TIMEOUT_MS`, default 1 s).
pub const DEFAULT_EXPECT_100_TIMEOUT: Duration = Duration::from_secs(1);
/// Uploads larger than this (or of unknown size) send `Expect: 100-continue` (curl: 1 MiB).
pub const EXPECT_100_THRESHOLD: u64 = 1024 * 1024;
/// The longest duration any option takes: longer values mean the same (about 136 years:
/// no deadline in practice, and `Instant + DURATION_MAX` cannot overflow).
pub const DURATION_MAX: Duration = Duration::from_secs(u32::MAX as u64);
/// The most [`Easy::max_header_bytes`](crate::Easy::max_header_bytes) and [`Easy::max_response_heads_bytes`](crate::Easy::max_response_heads_bytes) accept (8 MiB;
/// larger values mean this). A receive buffer may grow to hold a head this large.
pub const HEADER_BYTES_MAX: usize = 8 * 1024 * 1024;
/// The most [`Easy::max_headers`](crate::Easy::max_headers) accepts (larger values mean this): header slots are
/// allocated when the first head arrives.
pub const HEADERS_MAX: usize = 10_000;

/// A size option's value, or `default` for zero (libcurl's convention for sizes).
pub(crate) fn nonzero_or<T: Default + PartialEq>(n: T, default: T) -> T {
    if n == T::default() {
        default
    } else {
        n
    }
}

/// An option's duration, at most [`DURATION_MAX`].
pub(crate) fn clamp_duration(t: Duration) -> Duration {
    t.min(DURATION_MAX)
}

/// A followed redirect's body is read and dropped to keep the connection when it is at most
/// this long; a longer one closes the connection instead.
pub const REDIRECT_DRAIN_MAX: u64 = 64 * 1024;

/// Which HTTP version to use (`CURLOPT_HTTP_VERSION`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum HttpVersionOption {
    /// HTTP/1.0 requests (`CURL_HTTP_VERSION_1_0`); ALPN offers `http/1.1` only.
    Http10,
    /// HTTP/1.1 only (`CURL_HTTP_VERSION_1_1`).
    Http11,
    /// HTTP/2 where the server agrees: ALPN offers `h2` and `http/1.1` for https; plain
    /// http stays HTTP/1.1 (`CURL_HTTP_VERSION_2_0`; curl would try an `Upgrade: h2c`, which
    /// curlew does not send).
    Http2,
    /// HTTP/2 over TLS when the server picks it in ALPN, HTTP/1.1 for plain http: curl's
    /// default (`CURL_HTTP_VERSION_2TLS`).
    #[default]
    Http2Tls,
    /// HTTP/2 with prior knowledge: for http, the connection preface at once, no Upgrade;
    /// for https, ALPN offers `h2` only (`CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE`).
    Http2PriorKnowledge,
}

/// ALPN offers.
pub(crate) const ALPN_H1: &[u8] = b"http/1.1";
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// Where the request body comes from.
#[derive(Clone, Debug, Default)]
pub(crate) enum Body {
    #[default]
    None,
    Bytes(Bytes),
    /// From [`Handler::read`]; `Some(size)` sends Content-Length, `None` chunked.
    Read(Option<u64>),
    /// A multipart form (`CURLOPT_MIMEPOST`), encoded as it is sent.
    Mime(std::sync::Arc<crate::mime::Mime>),
}

/// The options of a transfer.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) target: Target,
    pub(crate) method: Option<String>,
    pub(crate) nobody: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) follow: bool,
    pub(crate) max_redirects: u32,
    pub(crate) unrestricted_auth: bool,
    pub(crate) accept_encoding: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) low_speed: Option<(u64, Duration)>,
    pub(crate) user_agent: Option<String>,
    pub(crate) verbose: bool,
    pub(crate) progress: bool,
    pub(crate) tls: TlsOptions,
    pub(crate) expect_100_timeout: Duration,
    pub(crate) limits: Limits,
    /// The receive buffer's growth cap (`CURLOPT_BUFFERSIZE`).
    pub(crate) buffer_size: usize,
    pub(crate) max_filesize: Option<u64>,
    pub(crate) forbid_reuse: bool,
    pub(crate) fresh_connect: bool,
    pub(crate) fail_on_error: bool,
    pub(crate) ws: WsOptions,
    pub(crate) http_version: HttpVersionOption,
    /// Wait for a connection being made to the same origin rather than open another, when
    /// it may multiplex (`CURLOPT_PIPEWAIT`).
    pub(crate) pipewait: bool,
    /// Proxy options (`CURLOPT_PROXY` and friends).
    pub(crate) proxy: crate::proxy::ProxyOptions,
    /// `CURLOPT_RESOLVE` entries.
    pub(crate) resolve: Vec<crate::overrides::Resolve>,
    /// `CURLOPT_CONNECT_TO` entries.
    pub(crate) connect_to: Vec<crate::overrides::ConnectTo>,
    /// Credentials for the origin (`CURLOPT_USERPWD`, `XOAUTH2_BEARER`, `NETRC`).
    pub(crate) auth: crate::auth::AuthOptions,
    /// `CURLOPT_RANGE`: the byte ranges asked for (`Range: bytes=...`).
    pub(crate) range: Option<String>,
    /// `CURLOPT_RESUME_FROM_LARGE`: download from this offset (`Range: bytes=N-`).
    pub(crate) resume_from: u64,
    /// Socket options (`CURLOPT_TCP_KEEPALIVE`, `INTERFACE`, `LOCALPORT`).
    pub(crate) socket: crate::transport::socket::SocketOptions,
    /// `CURLOPT_DNS_CACHE_TIMEOUT`: the oldest cached answer used (`None`: any).
    pub(crate) dns_cache_timeout: Option<Duration>,
    /// `CURLOPT_DNS_SHUFFLE_ADDRESSES`.
    pub(crate) dns_shuffle: bool,
    /// `CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS`: how long an attempt has before the next address
    /// starts beside it.
    pub(crate) happy_eyeballs_timeout: Duration,
    /// `CURLOPT_MAX_RECV_SPEED_LARGE` (bytes per second; 0: none).
    pub(crate) max_recv_speed: u64,
    /// `CURLOPT_MAX_SEND_SPEED_LARGE` (bytes per second; 0: none).
    pub(crate) max_send_speed: u64,
    /// Cookies (`CURLOPT_COOKIE`, `COOKIEFILE`, `COOKIEJAR`, `COOKIESESSION`).
    pub(crate) cookies: crate::transfer::cookies::CookieOptions,
}

/// Default time to wait for the peer's close frame after ours (then the connection is shut
/// down anyway).
pub const DEFAULT_WS_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// WebSocket options of a transfer (curl's `CURLOPT_WS_OPTIONS` and more).
#[derive(Clone, Debug)]
pub(crate) struct WsOptions {
    pub(crate) connect_only: bool,
    pub(crate) raw_mode: bool,
    pub(crate) auto_pong: bool,
    pub(crate) protocols: Vec<String>,
    pub(crate) max_frame_size: u64,
    pub(crate) max_message_size: u64,
    pub(crate) max_send_queue: usize,
    pub(crate) close_timeout: Duration,
    pub(crate) max_close_finish: u64,
    pub(crate) validate_utf8: bool,
    pub(crate) message_mode: bool,
    pub(crate) keepalive: Option<(Duration, Duration)>,
    pub(crate) keepalive_close_code: u16,
    /// permessage-deflate offer (RFC 7692), `None`: not offered.
    pub(crate) compress: Option<crate::proto::ws::DeflateConfig>,
}

/// Close code sent when a keepalive ping gets no pong (1011, internal error; configurable).
pub const DEFAULT_WS_KEEPALIVE_CLOSE_CODE: u16 = 1011;

impl Default for WsOptions {
    fn default() -> Self {
        WsOptions {
            connect_only: false,
            raw_mode: false,
            auto_pong: true,
            protocols: Vec::new(),
            max_frame_size: crate::proto::ws::MAX_FRAME_SIZE,
            max_message_size: crate::proto::ws::MAX_MESSAGE_SIZE,
            max_send_queue: crate::proto::ws::MAX_SEND_QUEUE,
            close_timeout: DEFAULT_WS_CLOSE_TIMEOUT,
            max_close_finish: crate::proto::ws::MAX_CLOSE_FINISH,
            validate_utf8: true,
            message_mode: false,
            keepalive: None,
            keepalive_close_code: DEFAULT_WS_KEEPALIVE_CLOSE_CODE,
            compress: None,
        }
    }
}

impl Options {
    /// The defaults for a transfer of `target` (libcurl's, where it has the option).
    pub(crate) fn new(target: Target) -> Self {
        Options {
            target,
            method: None,
            nobody: false,
            headers: Vec::new(),
            body: Body::None,
            follow: false,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            unrestricted_auth: false,
            accept_encoding: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: None,
            low_speed: None,
            user_agent: None,
            verbose: false,
            progress: false,
            tls: TlsOptions::default(),
            expect_100_timeout: DEFAULT_EXPECT_100_TIMEOUT,
            limits: Limits::default(),
            buffer_size: crate::transport::RECV_BUFFER_MAX,
            max_filesize: None,
            forbid_reuse: false,
            fresh_connect: false,
            fail_on_error: false,
            ws: WsOptions::default(),
            http_version: HttpVersionOption::default(),
            pipewait: true,
            proxy: Default::default(),
            resolve: Vec::new(),
            connect_to: Vec::new(),
            range: None,
            resume_from: 0,
            socket: Default::default(),
            dns_cache_timeout: Some(crate::dns::DNS_CACHE_TTL),
            dns_shuffle: false,
            happy_eyeballs_timeout: crate::transport::connector::HAPPY_EYEBALLS_TIMEOUT,
            max_recv_speed: 0,
            max_send_speed: 0,
            cookies: Default::default(),
            auth: Default::default(),
        }
        .with_alpn()
    }

    /// The ALPN offer for the target's scheme and the HTTP version asked for. WebSocket
    /// URLs offer `h2` only when HTTP/2 is asked for explicitly (RFC 8441 then, with the
    /// HTTP/1.1 upgrade as the fallback); by default they offer `http/1.1` alone.
    pub(crate) fn with_alpn(mut self) -> Self {
        self.sync_alpn();
        self
    }

    /// Set the ALPN offer again after the URL or the version changed.
    pub(crate) fn sync_alpn(&mut self) {
        let h2 = match self.http_version {
            HttpVersionOption::Http2 | HttpVersionOption::Http2PriorKnowledge => true,
            HttpVersionOption::Http2Tls => !self.target.scheme.is_ws(),
            HttpVersionOption::Http10 | HttpVersionOption::Http11 => false,
        };
        let only_h2 = h2 && self.http_version == HttpVersionOption::Http2PriorKnowledge;
        let offer: &[&[u8]] = match (h2, only_h2) {
            (true, true) => &[ALPN_H2],
            (true, false) => &[ALPN_H2, ALPN_H1],
            _ => &[ALPN_H1],
        };
        if self
            .tls
            .alpn
            .iter()
            .map(Vec::as_slice)
            .ne(offer.iter().copied())
        {
            self.tls.alpn = offer.iter().map(|p| p.to_vec()).collect();
        }
    }

    /// How a connection for this transfer's `target` may multiplex.
    pub(crate) fn mux_for(&self, target: &Target) -> crate::transport::Mux {
        use crate::transport::Mux;
        if target.scheme.is_ws() && self.http_version == HttpVersionOption::Http2Tls {
            return Mux::No;
        }
        match (target.scheme.is_tls(), self.http_version) {
            (true, HttpVersionOption::Http10 | HttpVersionOption::Http11) => Mux::No,
            (true, _) => Mux::Alpn,
            (false, HttpVersionOption::Http2PriorKnowledge) => Mux::Prior,
            (false, _) => Mux::No,
        }
    }
}
