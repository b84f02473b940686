//! [`Easy`]: one transfer's configuration and handler (libcurl's easy handle).

use std::any::Any;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::handler::{Collector, Handler};
use crate::info::TransferInfo;
use crate::multi::Multi;
use crate::options::{
    clamp_duration, nonzero_or, Body, Options, DEFAULT_CONNECT_TIMEOUT, DEFAULT_WS_CLOSE_TIMEOUT,
    HEADERS_MAX, HEADER_BYTES_MAX,
};
use crate::transfer::Transfer;
use crate::url::Target;

/// What an [`Easy`] is made of, moved into and out of a multi.
pub(crate) type EasyParts = (Box<Transfer>, Box<dyn Handler>);

/// One transfer: a URL, its options and its [`Handler`] (libcurl's easy handle).
///
/// Run it alone with [`Easy::perform`], or add it to a [`Multi`](crate::Multi) to run it beside others.
///
/// ```no_run
/// use curlew::Easy;
/// let mut easy = Easy::new("http://127.0.0.1:8080/hello")?;
/// easy.header("Accept", "text/plain")?.follow_location(true);
/// easy.perform()?;
/// assert_eq!(easy.info().response_code, 200);
/// println!("{}", String::from_utf8_lossy(&easy.collected().unwrap().body));
/// # Ok::<(), curlew::Error>(())
/// ```
pub struct Easy {
    // The transfer's whole state (options, info, and what a run needs), in the box that moves
    // into the multi on add and back out on remove: like libcurl's easy handle, the handle is
    // the transfer, so adding and removing move a pointer and allocate nothing.
    pub(crate) x: Box<Transfer>,
    pub(crate) handler: Box<dyn Handler>,
    /// The multi [`Easy::perform`] runs over, kept for the next perform (its pool); dropped
    /// when the `Easy` goes into a multi of yours.
    private: Option<Box<Multi>>,
}

impl std::fmt::Debug for Easy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Easy")
            .field("url", &self.x.opts.target.url.as_str())
            .field("method", &self.x.opts.method)
            .finish_non_exhaustive()
    }
}

impl Easy {
    /// A transfer of `url` (http, https, ws or wss) with the [`Collector`] handler.
    pub fn new(url: &str) -> Result<Easy> {
        Self::with_handler(url, Collector::default())
    }

    /// A transfer of `url` with your handler.
    pub fn with_handler(url: &str, handler: impl Handler) -> Result<Easy> {
        let target = Target::parse(url)?;
        let info = Box::new(TransferInfo {
            effective_url: target.url.to_string(),
            ..Default::default()
        });
        let opts = Box::new(Options::new(target));
        Ok(Easy {
            x: Box::new(Transfer::new(opts, info)),
            handler: Box::new(handler),
            private: None,
        })
    }

    /// Change the URL (`CURLOPT_URL`).
    pub fn url(&mut self, url: &str) -> Result<&mut Self> {
        self.x.opts.target = Target::parse(url)?;
        self.x.opts.sync_alpn();
        self.x.info.effective_url = self.x.opts.target.url.to_string();
        Ok(self)
    }

    /// Replace the handler.
    pub fn set_handler(&mut self, handler: impl Handler) -> &mut Self {
        self.handler = Box::new(handler);
        self
    }

    /// The handler, if it is of type `H`.
    pub fn handler<H: Handler>(&self) -> Option<&H> {
        let any: &dyn Any = &*self.handler;
        any.downcast_ref::<H>()
    }

    /// The handler, mutably, if it is of type `H`.
    pub fn handler_mut<H: Handler>(&mut self) -> Option<&mut H> {
        let any: &mut dyn Any = &mut *self.handler;
        any.downcast_mut::<H>()
    }

    /// The [`Collector`] handler's data, when the handler is the default one.
    pub fn collected(&self) -> Option<&Collector> {
        self.handler::<Collector>()
    }

    /// The request method (`CURLOPT_CUSTOMREQUEST`): GET, POST, PUT, DELETE or any token.
    /// `HEAD` also implies no body (`CURLOPT_NOBODY`).
    pub fn method(&mut self, method: &str) -> Result<&mut Self> {
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                format!("bad method {method:?}"),
            ));
        }
        self.x.opts.nobody = method.eq_ignore_ascii_case("HEAD");
        self.x.opts.method = Some(method.to_string());
        Ok(self)
    }

    /// Send a HEAD request and expect no body (`CURLOPT_NOBODY`).
    pub fn nobody(&mut self, on: bool) -> &mut Self {
        self.x.opts.nobody = on;
        if on {
            self.x.opts.method = Some("HEAD".into());
        } else if self.x.opts.method.as_deref() == Some("HEAD") {
            self.x.opts.method = None;
        }
        self
    }

    /// Add a request header (`CURLOPT_HTTPHEADER`). A header you set replaces the one curlew
    /// would add of the same name (Host, User-Agent, Accept-Encoding, Content-Type, ...). An
    /// empty value removes an internal header, as `"Name:"` does in curl.
    pub fn header(&mut self, name: &str, value: &str) -> Result<&mut Self> {
        let bad_name = name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        let bad_value = value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
        if bad_name || bad_value {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                format!("bad header {name:?}: {value:?}"),
            ));
        }
        self.x
            .opts
            .headers
            .push((name.to_string(), value.to_string()));
        Ok(self)
    }

    /// Remove every header added with [`Easy::header`].
    pub fn clear_headers(&mut self) -> &mut Self {
        self.x.opts.headers.clear();
        self
    }

    /// Send `body` as the request body (`CURLOPT_POSTFIELDS`). The method becomes POST unless
    /// one was set.
    pub fn body(&mut self, body: impl Into<Bytes>) -> &mut Self {
        self.x.opts.body = Body::Bytes(body.into());
        self
    }

    /// Take the request body from [`Handler::read`] (`CURLOPT_UPLOAD` + `READFUNCTION`).
    /// With `Some(size)` it is sent with Content-Length, with `None` chunked. The method becomes
    /// PUT unless one was set. Uploads of unknown size or more than [`EXPECT_100_THRESHOLD`](crate::EXPECT_100_THRESHOLD)
    /// bytes send `Expect: 100-continue` (set the header to empty to turn that off).
    pub fn upload(&mut self, size: Option<u64>) -> &mut Self {
        self.x.opts.body = Body::Read(size);
        self
    }

    /// Send `form` as a multipart body (`CURLOPT_MIMEPOST`): the method becomes POST unless
    /// one was set, and the request carries `Content-Type: multipart/form-data;
    /// boundary=...`. A `Content-Type` header of your own keeps its type and gets the
    /// boundary appended (as curl; its parts are then `attachment`s, not `form-data`
    /// unless the type is `multipart/form-data`). The body goes with `Content-Length` when
    /// [`Mime::size`](crate::mime::Mime::size) is known, else chunked on HTTP/1.1 (DATA
    /// frames to the stream's end on HTTP/2); like [`upload`](Self::upload), one of unknown
    /// size or more than [`EXPECT_100_THRESHOLD`](crate::EXPECT_100_THRESHOLD) bytes sends
    /// `Expect: 100-continue`. The form is encoded as it is sent, from the start again for
    /// each request (a 307 or 308 redirect, a retry with credentials); a part's file that
    /// cannot be read fails the transfer with [`ErrorKind::ReadError`] naming the file.
    pub fn mime_post(&mut self, form: crate::mime::Mime) -> &mut Self {
        self.x.opts.body = Body::Mime(std::sync::Arc::new(form));
        self
    }

    /// Follow redirects (`CURLOPT_FOLLOWLOCATION`). 301, 302 and 303 turn a POST into a GET;
    /// 307 and 308 keep the method and body. Authorization and Cookie headers are dropped when
    /// the redirect leaves the origin, unless [`Easy::unrestricted_auth`] is on.
    pub fn follow_location(&mut self, on: bool) -> &mut Self {
        self.x.opts.follow = on;
        self
    }

    /// Most redirects to follow (`CURLOPT_MAXREDIRS`); default [`DEFAULT_MAX_REDIRECTS`](crate::DEFAULT_MAX_REDIRECTS).
    pub fn max_redirects(&mut self, n: u32) -> &mut Self {
        self.x.opts.max_redirects = n;
        self
    }

    /// Send credentials to other hosts on redirects too (`CURLOPT_UNRESTRICTED_AUTH`).
    pub fn unrestricted_auth(&mut self, on: bool) -> &mut Self {
        self.x.opts.unrestricted_auth = on;
        self
    }

    /// Send these cookies (`CURLOPT_COOKIE`): `"name=value; name2=value2"`, as they are,
    /// after the cookie engine's; to the first origin only, like credentials, unless
    /// [`Easy::unrestricted_auth`]. A `Cookie` header set with [`Easy::header`] replaces both.
    /// `None` clears it. This alone does not turn the engine on.
    pub fn cookie(&mut self, cookies: Option<&str>) -> Result<&mut Self> {
        if cookies.is_some_and(|c| c.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)) {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                format!("bad cookie string {cookies:?}"),
            ));
        }
        self.x.opts.cookies.fixed = cookies.map(str::to_string);
        Ok(self)
    }

    /// Turn the cookie engine on and read cookies from `path` when the transfer starts
    /// (`CURLOPT_COOKIEFILE`): a Netscape cookie file as curl writes it, or `Set-Cookie:`
    /// lines. An empty path only turns the engine on; `"-"` is stdin; a missing file is no
    /// cookies. Each file is read once per [`Multi`](crate::Multi), whose
    /// [jar](crate::Multi::cookies) every transfer with the engine on shares: cookies
    /// received are stored (before a redirect is followed) and matching ones are sent.
    /// Calls add files.
    pub fn cookie_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        let path = path.into();
        self.x.opts.cookies.engine = true;
        if !path.as_os_str().is_empty() {
            self.x.opts.cookies.files.push(path);
        }
        self
    }

    /// Turn the cookie engine on and write the multi's jar to `path` when this transfer is
    /// done (`CURLOPT_COOKIEJAR`), in curl's Netscape format; `"-"` is stdout. The file is
    /// written whole through a temporary file; a failure is shown to the debug callback
    /// with [`Easy::verbose`] and does not fail the transfer, as in curl.
    pub fn cookie_jar(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.x.opts.cookies.engine = true;
        self.x.opts.cookies.jar = Some(path.into());
        self
    }

    /// Skip session cookies (those without an expiry) in the files read by
    /// [`Easy::cookie_file`] (`CURLOPT_COOKIESESSION`, the tool's `-j`).
    pub fn cookie_session(&mut self, new_session: bool) -> &mut Self {
        self.x.opts.cookies.new_session = new_session;
        self
    }

    /// Ask for gzip, deflate, br (Brotli) and zstd and decode transparently (`CURLOPT_ACCEPT_ENCODING ""`). The
    /// decoded body reaches [`Handler::write`](crate::Handler::write) in pieces of at most
    /// [`DECODE_PIECE_SIZE`](crate::DECODE_PIECE_SIZE) (64 KiB, or the
    /// [`buffer_size`](Self::buffer_size) when smaller), each before more is decoded, so a
    /// decompression bomb costs no more memory than any other body; a pause stops the decoding
    /// with the undecoded bytes left in the receive buffer.
    pub fn accept_encoding(&mut self, on: bool) -> &mut Self {
        self.x.opts.accept_encoding = on;
        self
    }

    /// Time allowed to resolve and connect, TLS included (`CURLOPT_CONNECTTIMEOUT_MS`).
    /// Zero means the default, [`DEFAULT_CONNECT_TIMEOUT`] (300 s), as in libcurl; values
    /// over [`DURATION_MAX`](crate::DURATION_MAX) mean that.
    pub fn connect_timeout(&mut self, t: Duration) -> &mut Self {
        self.x.opts.connect_timeout = if t.is_zero() {
            DEFAULT_CONNECT_TIMEOUT
        } else {
            clamp_duration(t)
        };
        self
    }

    /// Time allowed for the whole transfer (`CURLOPT_TIMEOUT_MS`); none by default. `None`
    /// or zero means no limit, as in libcurl; values over [`DURATION_MAX`](crate::DURATION_MAX) mean that.
    pub fn timeout(&mut self, t: Option<Duration>) -> &mut Self {
        self.x.opts.timeout = t.filter(|t| !t.is_zero()).map(clamp_duration);
        self
    }

    /// Fail with a timeout when fewer than `bytes_per_sec` move, on average, over `time`
    /// (`CURLOPT_LOW_SPEED_LIMIT` + `CURLOPT_LOW_SPEED_TIME`). Either one zero turns the
    /// check off, as in libcurl.
    pub fn low_speed(&mut self, bytes_per_sec: u64, time: Duration) -> &mut Self {
        self.x.opts.low_speed = if bytes_per_sec > 0 && !time.is_zero() {
            Some((bytes_per_sec, clamp_duration(time)))
        } else {
            None
        };
        self
    }

    /// The User-Agent header; `None` (the default, as in libcurl) sends none
    /// (`CURLOPT_USERAGENT`). [`DEFAULT_USER_AGENT`](crate::DEFAULT_USER_AGENT) is what the `curlew` tool sends.
    ///
    /// ```
    /// let mut easy = curlew::Easy::new("http://127.0.0.1/")?;
    /// easy.user_agent(Some(curlew::DEFAULT_USER_AGENT))?;
    /// # Ok::<(), curlew::Error>(())
    /// ```
    pub fn user_agent(&mut self, ua: Option<&str>) -> Result<&mut Self> {
        if let Some(ua) = ua {
            if ua.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(Error::new(ErrorKind::BadFunctionArgument, "bad user agent"));
            }
        }
        self.x.opts.user_agent = ua.map(str::to_string);
        Ok(self)
    }

    /// Call [`Handler::debug`] with a trace of the transfer (`CURLOPT_VERBOSE`).
    pub fn verbose(&mut self, on: bool) -> &mut Self {
        self.x.opts.verbose = on;
        self
    }

    /// Call [`Handler::progress`] (`CURLOPT_NOPROGRESS` = 0).
    pub fn progress(&mut self, on: bool) -> &mut Self {
        self.x.opts.progress = on;
        self
    }

    /// Trust the PEM certificates in `path` instead of the system store (`CURLOPT_CAINFO`).
    pub fn ca_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.x.opts.tls.ca_file = Some(path.into());
        self
    }

    /// Trust the PEM certificates in the files of directory `dir` too (`CURLOPT_CAPATH`;
    /// files that are not PEM certificates are skipped).
    pub fn ca_path(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.x.opts.tls.ca_path = Some(dir.into());
        self
    }

    /// Trust the PEM certificates in `pem` too (`CURLOPT_CAINFO_BLOB`).
    pub fn ca_blob(&mut self, pem: impl Into<Vec<u8>>) -> &mut Self {
        self.x.opts.tls.ca_blob = Some(pem.into().into());
        self
    }

    /// Accept only servers whose public key is pinned (`CURLOPT_PINNEDPUBLICKEY`):
    /// `sha256//BASE64` hashes of the SubjectPublicKeyInfo, several separated by `;`, or the
    /// path of a PEM or DER public key. Checked after the usual verification; a mismatch is
    /// `CURLE_SSL_PINNEDPUBKEYNOTMATCH` (90). `None` clears it.
    pub fn pinned_public_key(&mut self, spec: Option<&str>) -> Result<&mut Self> {
        self.x.opts.tls.pins = spec.map(crate::transport::pin::Pins::parse).transpose()?;
        Ok(self)
    }

    /// Use this rustls configuration as it is for TLS to the origin, for what the options
    /// cannot say (its ALPN list is filled in when empty). The CA, verification, client
    /// certificate, version and pinning options do not apply then. `None` goes back to them.
    pub fn tls_config(
        &mut self,
        config: Option<std::sync::Arc<rustls::ClientConfig>>,
    ) -> &mut Self {
        self.x.opts.tls.custom = config.map(crate::transport::tls::CustomConfig);
        self
    }

    /// Skip TLS certificate and host name verification (`-k`, `CURLOPT_SSL_VERIFYPEER` = 0).
    /// Dangerous: anyone on the path can read and change the traffic.
    pub fn insecure(&mut self, on: bool) -> &mut Self {
        self.x.opts.tls.insecure = on;
        self
    }

    /// The lowest and highest TLS versions to negotiate (`CURLOPT_SSLVERSION`, its
    /// `CURL_SSLVERSION_TLSv1_x` and `CURL_SSLVERSION_MAX_TLSv1_x` parts); `None`: no bound
    /// (rustls negotiates 1.2 or 1.3). A server that offers none of them fails the handshake
    /// with `CURLE_SSL_CONNECT_ERROR`.
    pub fn ssl_version(
        &mut self,
        min: Option<crate::TlsVersion>,
        max: Option<crate::TlsVersion>,
    ) -> Result<&mut Self> {
        if crate::transport::tls::versions_between(min, max).is_empty() {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                format!("no TLS version between {min:?} and {max:?}"),
            ));
        }
        self.x.opts.tls.versions = (min, max);
        Ok(self)
    }

    /// Present a client certificate (PEM chain and PEM key) (`CURLOPT_SSLCERT` / `SSLKEY`).
    pub fn client_cert(&mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> &mut Self {
        self.x.opts.tls.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// How long to wait for `100 Continue` (`CURLOPT_EXPECT_100_TIMEOUT_MS`); default
    /// [`DEFAULT_EXPECT_100_TIMEOUT`](crate::DEFAULT_EXPECT_100_TIMEOUT). Zero sends the body without waiting, as in libcurl.
    pub fn expect_100_timeout(&mut self, t: Duration) -> &mut Self {
        self.x.opts.expect_100_timeout = clamp_duration(t);
        self
    }

    /// Cap on the bytes of a response head (`CURLOPT_MAXHEADERSIZE`... curl's
    /// `CURL_MAX_HTTP_HEADER`); default [`proto::http1::MAX_HEADER_BYTES`](crate::proto::http1::MAX_HEADER_BYTES).
    /// Zero means the default; at most [`HEADER_BYTES_MAX`].
    pub fn max_header_bytes(&mut self, n: usize) -> &mut Self {
        self.x.opts.limits.max_header_bytes =
            nonzero_or(n, crate::proto::http1::MAX_HEADER_BYTES).min(HEADER_BYTES_MAX);
        self
    }

    /// Cap on the bytes of all the response heads answering one request, interim (1xx) heads
    /// included (curl's `MAX_HTTP_RESP_HEADER_SIZE`); default
    /// [`proto::http1::MAX_RESPONSE_HEADS_BYTES`](crate::proto::http1::MAX_RESPONSE_HEADS_BYTES).
    /// Zero means the default; at most [`HEADER_BYTES_MAX`].
    pub fn max_response_heads_bytes(&mut self, n: usize) -> &mut Self {
        self.x.opts.limits.max_response_heads_bytes =
            nonzero_or(n, crate::proto::http1::MAX_RESPONSE_HEADS_BYTES).min(HEADER_BYTES_MAX);
        self
    }

    /// Cap on the number of response headers; default
    /// [`proto::http1::MAX_HEADERS`](crate::proto::http1::MAX_HEADERS). Zero means the
    /// default; at most [`HEADERS_MAX`].
    pub fn max_headers(&mut self, n: usize) -> &mut Self {
        self.x.opts.limits.max_headers =
            nonzero_or(n, crate::proto::http1::MAX_HEADERS).min(HEADERS_MAX);
        self
    }

    /// The largest receive buffer this transfer's connection grows to while it reads a body
    /// or WebSocket frames (`CURLOPT_BUFFERSIZE`): it also bounds each write-callback chunk
    /// (decoded pieces of a compressed body to [`DECODE_PIECE_SIZE`](crate::DECODE_PIECE_SIZE)
    /// at most).
    /// Default [`RECV_BUFFER_MAX`](crate::RECV_BUFFER_MAX) (1 MiB: fewer, larger reads for
    /// bulk bodies); clamped to [`RECV_BUFFER_MIN`](crate::RECV_BUFFER_MIN) ..=
    /// [`BUFFER_SIZE_MAX`](crate::BUFFER_SIZE_MAX) (16 KiB to 10 MiB); zero means the default,
    /// as in libcurl. Buffers start at the
    /// minimum and grow only while reads fill them, and go back to the multi's pool when
    /// drained. A response head may still need up to
    /// [`max_header_bytes`](Self::max_header_bytes) (rounded up to a power of two), and a
    /// buffer does not shrink in the middle of a transfer.
    ///
    /// ```
    /// let mut easy = curlew::Easy::new("http://127.0.0.1/big")?;
    /// easy.buffer_size(64 * 1024); // many parallel downloads, little memory each
    /// # Ok::<(), curlew::Error>(())
    /// ```
    pub fn buffer_size(&mut self, bytes: usize) -> &mut Self {
        self.x.opts.buffer_size = nonzero_or(bytes, crate::transport::RECV_BUFFER_MAX).clamp(
            crate::transport::RECV_BUFFER_MIN,
            crate::transport::BUFFER_SIZE_MAX,
        );
        self
    }

    /// Fail with [`ErrorKind::TooLarge`] when the body is larger than `n` bytes
    /// (`CURLOPT_MAXFILESIZE_LARGE`), known from Content-Length or counted as it arrives.
    /// `None` or zero means no limit, as in libcurl.
    pub fn max_filesize(&mut self, n: Option<u64>) -> &mut Self {
        self.x.opts.max_filesize = n.filter(|&n| n > 0);
        self
    }

    /// The HTTP version to use (`CURLOPT_HTTP_VERSION`); the default is curl's:
    /// [`HttpVersionOption::Http2Tls`](crate::HttpVersionOption::Http2Tls), HTTP/2 over TLS when the server picks it in ALPN,
    /// HTTP/1.1 otherwise. See the manual's "HTTP/2" section.
    pub fn http_version(&mut self, v: crate::HttpVersionOption) -> &mut Self {
        self.x.opts.http_version = v;
        self.x.opts.sync_alpn();
        self
    }

    /// Wait for a connection being made to the same origin, when it may turn out to be
    /// HTTP/2, instead of opening one more (`CURLOPT_PIPEWAIT`; on by default here, since a
    /// multiplexing client rarely wants one connection per request while the first one
    /// completes its TLS handshake).
    pub fn pipewait(&mut self, on: bool) -> &mut Self {
        self.x.opts.pipewait = on;
        self
    }

    /// The proxy to use (`CURLOPT_PROXY`): `[scheme://][user[:password]@]host[:port]`, the
    /// scheme one of `http` (the default), `https`, `socks4`, `socks4a`, `socks5` and
    /// `socks5h`, the port 1080 when none is given (443 for `https`). Plain `http://`
    /// requests go to an HTTP proxy in absolute form; `https://`, `ws://` and `wss://` go
    /// through a `CONNECT` tunnel. An empty string means no proxy, not even one from the
    /// environment. See the manual's "Proxies" section.
    pub fn proxy(&mut self, url: &str) -> Result<&mut Self> {
        if !url.is_empty() {
            crate::proxy::Proxy::parse(url, None, false)?;
        }
        self.x.opts.proxy.url = Some(url.to_owned());
        Ok(self)
    }

    /// How an HTTP proxy gets the credentials (`CURLOPT_PROXYAUTH`): Basic with every
    /// request (the default); Digest (RFC 7616) or Any in answer to the proxy's `407`,
    /// once: a refused `CONNECT` is tried again on a new connection, a plain request in
    /// absolute form is sent again.
    pub fn proxy_auth(&mut self, method: crate::HttpAuth) -> &mut Self {
        self.x.opts.proxy.auth = method;
        self
    }

    /// The proxy's user name and password (`CURLOPT_PROXYUSERPWD`), sent as Basic
    /// authentication to an HTTP proxy and as RFC 1929 credentials to a SOCKS5 one; they take
    /// the place of any in the proxy URL. `None` clears them.
    pub fn proxy_userpwd(&mut self, creds: Option<(&str, &str)>) -> Result<&mut Self> {
        if let Some((u, p)) = creds {
            if u.contains(['\r', '\n', '\0']) || p.contains(['\r', '\n', '\0']) {
                return Err(Error::new(
                    ErrorKind::BadFunctionArgument,
                    "proxy credentials with CR, LF or NUL",
                ));
            }
        }
        self.x.opts.proxy.userpwd = creds.map(|(u, p)| (u.to_owned(), p.to_owned()));
        Ok(self)
    }

    /// Tunnel plain `http://` requests through an HTTP proxy with `CONNECT` too, rather than
    /// sending them in absolute form (`CURLOPT_HTTPPROXYTUNNEL`).
    pub fn http_proxy_tunnel(&mut self, on: bool) -> &mut Self {
        self.x.opts.proxy.tunnel = on;
        self
    }

    /// Hosts to reach without the proxy (`CURLOPT_NOPROXY`): a list separated by commas,
    /// `*` for all; names match themselves and their subdomains, addresses may be CIDR
    /// ranges (see [`noproxy_matches`](crate::noproxy_matches)). Replaces `NO_PROXY`; an
    /// empty list makes it ineffective.
    pub fn noproxy(&mut self, list: &str) -> &mut Self {
        self.x.opts.proxy.noproxy = Some(list.to_owned());
        self
    }

    /// Take the proxy from the environment when no proxy option is set, by curl's rules:
    /// `http_proxy` (lowercase only), `https_proxy` / `HTTPS_PROXY`, `ws_proxy`, `wss_proxy`,
    /// `all_proxy` / `ALL_PROXY`, and `no_proxy` / `NO_PROXY` (libcurl always does; the
    /// library only when asked, the `curlew` tool by default). Off by default.
    pub fn proxy_from_env(&mut self, on: bool) -> &mut Self {
        self.x.opts.proxy.from_env = on;
        self
    }

    /// Trust the PEM roots in `path` for an HTTPS proxy's certificate
    /// (`CURLOPT_PROXY_CAINFO`; the system's roots otherwise, not [`Easy::ca_file`]'s).
    pub fn proxy_ca_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.x.opts.proxy.ca_file = Some(path.into());
        self
    }

    /// Skip the HTTPS proxy's certificate and name checks (`CURLOPT_PROXY_SSL_VERIFYPEER` =
    /// 0). The origin's are still checked unless [`Easy::insecure`].
    pub fn proxy_insecure(&mut self, on: bool) -> &mut Self {
        self.x.opts.proxy.insecure = on;
        self
    }

    /// Name overrides (`CURLOPT_RESOLVE`): each entry `HOST:PORT:ADDR[,ADDR]...` makes
    /// `HOST:PORT` resolve to those addresses (IPv6 in brackets; a leading `+` is accepted;
    /// `-HOST:PORT` drops the entries before it for that name). The TLS name and the `Host`
    /// header stay the URL's. Replaces the list; applies to a proxy's name too.
    pub fn resolve<S: AsRef<str>>(&mut self, entries: &[S]) -> Result<&mut Self> {
        let list: Vec<&str> = entries.iter().map(AsRef::as_ref).collect();
        self.x.opts.resolve = crate::overrides::parse_resolve(&list)?;
        Ok(self)
    }

    /// Connect elsewhere (`CURLOPT_CONNECT_TO`): each entry
    /// `HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT` sends a request for `HOST:PORT` (empty:
    /// any) to the other host and port (empty: the request's own); the first match wins. The
    /// TLS name and the `Host` header stay the URL's, and such connections are pooled apart.
    /// Applies to direct connections (not through a proxy). Replaces the list.
    pub fn connect_to<S: AsRef<str>>(&mut self, entries: &[S]) -> Result<&mut Self> {
        let list: Vec<&str> = entries.iter().map(AsRef::as_ref).collect();
        self.x.opts.connect_to = crate::overrides::parse_connect_to(&list)?;
        Ok(self)
    }

    /// User name and password for the origin, sent as Basic authentication
    /// (`CURLOPT_USERPWD`; they win over `user:password@` in the URL, which is used
    /// otherwise). Not sent to another origin after a redirect unless
    /// [`Easy::unrestricted_auth`]. `None` clears them.
    pub fn userpwd(&mut self, creds: Option<(&str, &str)>) -> Result<&mut Self> {
        if let Some((u, p)) = creds {
            check_field("user name", u)?;
            check_field("password", p)?;
        }
        self.x.opts.auth.userpwd = creds.map(|(u, p)| (u.to_owned(), p.to_owned()));
        Ok(self)
    }

    /// Which authentication to use with the credentials (`CURLOPT_HTTPAUTH`): Basic (the
    /// default) with the first request, or Digest (RFC 7616: MD5, SHA-256 and their `-sess`
    /// forms, `qop=auth`), or whatever the server's `401` asks for. Digest answers the
    /// server's challenge once, sending the request again (a read-callback body must
    /// rewind).
    pub fn http_auth(&mut self, method: crate::HttpAuth) -> &mut Self {
        self.x.opts.auth.method = method;
        self
    }

    /// An OAuth 2.0 bearer token for the origin (`CURLOPT_XOAUTH2_BEARER`):
    /// `Authorization: Bearer TOKEN`, in place of Basic. The redirect rule of
    /// [`Easy::userpwd`] applies. `None` clears it.
    pub fn bearer_token(&mut self, token: Option<&str>) -> Result<&mut Self> {
        if let Some(t) = token {
            check_field("bearer token", t)?;
        }
        self.x.opts.auth.bearer = token.map(str::to_owned);
        Ok(self)
    }

    /// Read credentials from `.netrc` (`CURLOPT_NETRC`): never (the default), when neither
    /// the options nor the URL give any, or always.
    pub fn netrc(&mut self, mode: crate::NetrcMode) -> &mut Self {
        self.x.opts.auth.netrc = mode;
        self
    }

    /// The `.netrc` file to read (`CURLOPT_NETRC_FILE`; default `$HOME/.netrc`).
    pub fn netrc_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.x.opts.auth.netrc_file = Some(path.into());
        self
    }

    /// TCP keepalive probes on new connections (`CURLOPT_TCP_KEEPALIVE` with
    /// `TCP_KEEPIDLE` and `TCP_KEEPINTVL`): `Some((idle, interval))`, the time without traffic
    /// before the first probe and between probes (curl's defaults: 60 s each); `None`: off
    /// (the default, as in libcurl; the tool turns it on).
    pub fn tcp_keepalive(&mut self, probes: Option<(Duration, Duration)>) -> &mut Self {
        self.x.opts.socket.keepalive = probes;
        self
    }

    /// Bind new connections to a local port from `port` to `port + range - 1`
    /// (`CURLOPT_LOCALPORT`, `CURLOPT_LOCALPORTRANGE`; `None`: any). No free port in the
    /// range is `CURLE_INTERFACE_FAILED`.
    pub fn local_port(&mut self, ports: Option<(u16, u16)>) -> &mut Self {
        self.x.opts.socket.local_port = ports.filter(|&(p, _)| p > 0);
        self
    }

    /// The local end of new connections (`CURLOPT_INTERFACE`): `if!NAME` a network device
    /// (Linux), `host!ADDR` a local address, or a plain value, an address if it is one, else
    /// a device. `None`: the system's choice. A bind that fails is `CURLE_INTERFACE_FAILED`.
    pub fn interface(&mut self, name: Option<&str>) -> Result<&mut Self> {
        self.x.opts.socket.interface = match name {
            None => None,
            Some(n) => Some(crate::transport::socket::parse_interface(n).ok_or_else(|| {
                Error::new(ErrorKind::BadFunctionArgument, format!("interface {n:?}"))
            })?),
        };
        Ok(self)
    }

    /// Connect to the unix domain socket at `path` instead of the URL's host and port
    /// (`CURLOPT_UNIX_SOCKET_PATH`; `None`: TCP, the default). The URL still gives the scheme,
    /// the `Host` header and the TLS server name (`https://` and `wss://` run TLS over the
    /// socket); no name is resolved, proxies are not used (as in curl), TCP options
    /// ([`Easy::tcp_keepalive`], [`Easy::interface`], [`Easy::local_port`]) do not apply, and
    /// such connections are pooled apart from TCP ones and from other paths. A socket that
    /// is missing or refuses is `CURLE_COULDNT_CONNECT`, its path in the message.
    ///
    /// The option exists on every platform (the crate itself builds on unix only today: its
    /// sockets are reported as raw descriptors).
    pub fn unix_socket_path(&mut self, path: Option<impl Into<PathBuf>>) -> &mut Self {
        self.x.opts.socket.unix = path.map(|p| crate::transport::socket::UnixTarget {
            path: p.into(),
            abstract_ns: false,
        });
        self
    }

    /// Like [`Easy::unix_socket_path`], with `name` in Linux's abstract socket namespace
    /// (`CURLOPT_ABSTRACT_UNIX_SOCKET`; no file, no leading NUL to give). Elsewhere the
    /// connect fails with `CURLE_COULDNT_CONNECT`. Replaces a path set before, and `None`
    /// clears either.
    pub fn abstract_unix_socket(&mut self, name: Option<impl Into<PathBuf>>) -> &mut Self {
        self.x.opts.socket.unix = name.map(|p| crate::transport::socket::UnixTarget {
            path: p.into(),
            abstract_ns: true,
        });
        self
    }

    /// How old a cached name resolution may be and still be used (`CURLOPT_DNS_CACHE_TIMEOUT`;
    /// default [`DNS_CACHE_TTL`](crate::dns_limits::DNS_CACHE_TTL), 60 s; `Some(ZERO)`: always
    /// look up; `None`: cached answers never expire for this transfer).
    pub fn dns_cache_timeout(&mut self, max_age: Option<Duration>) -> &mut Self {
        self.x.opts.dns_cache_timeout = max_age;
        self
    }

    /// Try a name's addresses in random order (`CURLOPT_DNS_SHUFFLE_ADDRESSES`), to spread
    /// connections over the hosts behind it.
    pub fn dns_shuffle_addresses(&mut self, on: bool) -> &mut Self {
        self.x.opts.dns_shuffle = on;
        self
    }

    /// How long a connect attempt has before the next address starts beside it
    /// (`CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS`; default
    /// [`HAPPY_EYEBALLS_TIMEOUT`](crate::HAPPY_EYEBALLS_TIMEOUT), 200 ms, curl's). The
    /// addresses of a name are tried in alternating families (the first answer's first,
    /// RFC 8305); their connects race, an attempt that fails starts the next address at once,
    /// and the first socket to connect wins (TLS is set up over the winner only), the others
    /// are closed. `Duration::ZERO` starts every address at once.
    pub fn happy_eyeballs_timeout(&mut self, delay: Duration) -> &mut Self {
        self.x.opts.happy_eyeballs_timeout = delay;
        self
    }

    /// Receive at most `bytes_per_sec` on average (`CURLOPT_MAX_RECV_SPEED_LARGE`; 0: no
    /// limit). The loop's timers hold the transfer's reading back; nothing sleeps and the
    /// other transfers are not slowed. Reads take at most a quarter of a second's worth.
    /// (Over HTTP/2 the stream's input is held back the same way and its window stays shut
    /// meanwhile.)
    pub fn max_recv_speed(&mut self, bytes_per_sec: u64) -> &mut Self {
        self.x.opts.max_recv_speed = bytes_per_sec;
        self
    }

    /// Send the request body at most at `bytes_per_sec` on average
    /// (`CURLOPT_MAX_SEND_SPEED_LARGE`; 0: no limit), by the loop's timers, in writes of at
    /// most a quarter of a second's worth.
    pub fn max_send_speed(&mut self, bytes_per_sec: u64) -> &mut Self {
        self.x.opts.max_send_speed = bytes_per_sec;
        self
    }

    /// Ask for byte ranges (`CURLOPT_RANGE`): `"0-499"`, `"500-"`, `"-500"`, or several
    /// separated by commas; sent as `Range: bytes=...` on GET and HEAD requests. A server may
    /// answer with the whole document (200) instead, which is not an error. `None` clears it.
    pub fn range(&mut self, range: Option<&str>) -> Result<&mut Self> {
        if let Some(r) = range {
            let ok = !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b',' | b' '));
            if !ok {
                return Err(Error::new(
                    ErrorKind::BadFunctionArgument,
                    format!("range {r:?}: digits, '-' and ',' only"),
                ));
            }
        }
        self.x.opts.range = range.map(str::to_owned);
        Ok(self)
    }

    /// Resume a download at byte `offset` (`CURLOPT_RESUME_FROM_LARGE`; 0: from the start):
    /// `Range: bytes=OFFSET-` on a GET, and the write callback gets the rest. A server that
    /// answers with the whole document fails the transfer with `CURLE_RANGE_ERROR`, unless
    /// the document is exactly `offset` bytes long (it is complete: nothing is written).
    /// [`Easy::range`] wins when both are set.
    pub fn resume_from(&mut self, offset: u64) -> &mut Self {
        self.x.opts.resume_from = offset;
        self
    }

    /// Close the connection after this transfer (`CURLOPT_FORBID_REUSE`).
    pub fn forbid_reuse(&mut self, on: bool) -> &mut Self {
        self.x.opts.forbid_reuse = on;
        self
    }

    /// Use a new connection even when a pooled one is available (`CURLOPT_FRESH_CONNECT`).
    pub fn fresh_connect(&mut self, on: bool) -> &mut Self {
        self.x.opts.fresh_connect = on;
        self
    }

    /// Fail with [`ErrorKind::HttpReturnedError`] on a status of 400 or more, without
    /// delivering the body (`CURLOPT_FAILONERROR`).
    pub fn fail_on_error(&mut self, on: bool) -> &mut Self {
        self.x.opts.fail_on_error = on;
        self
    }

    pub(crate) fn into_parts(self) -> EasyParts {
        (self.x, self.handler)
    }

    pub(crate) fn from_parts(x: Box<Transfer>, handler: Box<dyn Handler>) -> Easy {
        Easy {
            x,
            handler,
            private: None,
        }
    }

    /// WebSocket connect-only mode (`CURLOPT_CONNECT_ONLY` = 2): the transfer completes once
    /// the upgrade is done (reported by `info_read` / `perform`) and stays in the multi; the
    /// application then sends and receives with [`Multi::ws`](crate::Multi::ws). Otherwise
    /// frames go to the write callback (the callback model).
    pub fn connect_only(&mut self, on: bool) -> &mut Self {
        self.x.opts.ws.connect_only = on;
        self
    }

    /// WebSocket raw mode (`CURLWS_RAW_MODE`): no framing at all; received bytes go to the
    /// write callback as they arrive, and sends are written as they are.
    pub fn ws_raw_mode(&mut self, on: bool) -> &mut Self {
        self.x.opts.ws.raw_mode = on;
        self
    }

    /// Answer pings automatically (default on; `CURLWS_NOAUTOPONG` turns it off). When off,
    /// pings reach the application, which may answer with a [`PONG`](crate::ws::PONG).
    pub fn ws_auto_pong(&mut self, on: bool) -> &mut Self {
        self.x.opts.ws.auto_pong = on;
        self
    }

    /// Offer these subprotocols (`Sec-WebSocket-Protocol`), in order of preference. A server
    /// answer naming one not offered fails the upgrade.
    pub fn ws_protocols<S: AsRef<str>>(&mut self, protocols: &[S]) -> Result<&mut Self> {
        let mut v = Vec::with_capacity(protocols.len());
        for p in protocols {
            let p = p.as_ref();
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
                return Err(Error::new(
                    ErrorKind::BadFunctionArgument,
                    format!("bad subprotocol {p:?}"),
                ));
            }
            v.push(p.to_string());
        }
        self.x.opts.ws.protocols = v;
        Ok(self)
    }

    /// Largest frame accepted from the peer; a larger one closes with 1009 and fails the
    /// transfer. Default [`MAX_FRAME_SIZE`](crate::proto::ws::MAX_FRAME_SIZE) (frames are
    /// streamed in chunks, never buffered whole). Zero means the default.
    pub fn ws_max_frame_size(&mut self, n: u64) -> &mut Self {
        self.x.opts.ws.max_frame_size = nonzero_or(n, crate::proto::ws::MAX_FRAME_SIZE);
        self
    }

    /// Largest message accepted from the peer (1009 beyond it); default
    /// [`MAX_MESSAGE_SIZE`](crate::proto::ws::MAX_MESSAGE_SIZE). Zero means the default.
    pub fn ws_max_message_size(&mut self, n: u64) -> &mut Self {
        self.x.opts.ws.max_message_size = nonzero_or(n, crate::proto::ws::MAX_MESSAGE_SIZE);
        self
    }

    /// Bound on bytes queued for sending; a send that finds the queue full answers
    /// [`WsError::WouldBlock`](crate::ws::WsError::WouldBlock). Default
    /// [`MAX_SEND_QUEUE`](crate::proto::ws::MAX_SEND_QUEUE); zero means the default, and
    /// values under [`MIN_RECV_BUFFER`](crate::proto::ws::MIN_RECV_BUFFER) (one largest
    /// control frame) mean that.
    pub fn ws_max_send_queue(&mut self, n: usize) -> &mut Self {
        self.x.opts.ws.max_send_queue =
            nonzero_or(n, crate::proto::ws::MAX_SEND_QUEUE).max(crate::proto::ws::MIN_RECV_BUFFER);
        self
    }

    /// How long the closing handshake may take, from our close frame (or the peer's, whichever
    /// came first) to the end of the connection; default [`DEFAULT_WS_CLOSE_TIMEOUT`]. When it
    /// runs out the connection is shut down and the transfer fails with
    /// [`ErrorKind::OperationTimedout`] (curl's 28), whose detail says what was missing:
    ///
    /// - "no close frame from the peer within the close timeout": we closed and the peer never
    ///   answered;
    /// - "... data frame in progress was not finished within the close timeout": a close (ours,
    ///   or our answer to the peer's) waited behind a frame the application never finished
    ///   (see [`Easy::ws_max_close_finish`]); no close frame was sent;
    /// - "... close frame could not be written within the close timeout": the peer stopped
    ///   reading.
    ///
    /// In the callback model this is the result [`Multi::info_read`](crate::Multi::info_read)
    /// reports; in connect-only mode, where the transfer was reported done at the upgrade,
    /// every later call on its [`WsHandle`](crate::ws::WsHandle) answers
    /// [`WsError::Failed`](crate::ws::WsError::Failed) with this error. A handshake that
    /// completes in time ends cleanly: the result is `Ok`, and connect-only handles answer
    /// [`WsError::Closed`](crate::ws::WsError::Closed). Zero means the default.
    pub fn ws_close_timeout(&mut self, t: Duration) -> &mut Self {
        self.x.opts.ws.close_timeout = if t.is_zero() {
            DEFAULT_WS_CLOSE_TIMEOUT
        } else {
            clamp_duration(t)
        };
        self
    }

    /// When the peer's close frame arrives in the middle of one of our data frames, RFC 6455
    /// §5.5.1 lets us finish the frame before answering: at most this many of its payload
    /// bytes may still be missing for that; default
    /// [`MAX_CLOSE_FINISH`](crate::proto::ws::MAX_CLOSE_FINISH) (16 MiB).
    ///
    /// The application finishes the frame with further sends (continuing the same frame; new
    /// frames are refused with [`WsError::Closed`](crate::ws::WsError::Closed)) and the close
    /// answer follows its last byte, within [`Easy::ws_close_timeout`]. A larger remainder is
    /// abandoned at once: no close frame can follow a partial frame, so the connection is
    /// dropped without one and the transfer fails with [`ErrorKind::SendError`] (curl's 55).
    /// Zero means the default.
    pub fn ws_max_close_finish(&mut self, n: u64) -> &mut Self {
        self.x.opts.ws.max_close_finish = nonzero_or(n, crate::proto::ws::MAX_CLOSE_FINISH);
        self
    }

    /// Validate incoming text as UTF-8 (default on; failure closes with 1007).
    pub fn ws_validate_utf8(&mut self, on: bool) -> &mut Self {
        self.x.opts.ws.validate_utf8 = on;
        self
    }

    /// Offer permessage-deflate (RFC 7692) with these parameters (`None`, the default: no
    /// compression). `DeflateConfig::default()` offers plain `permessage-deflate;
    /// client_max_window_bits` and compresses every message. The server's answer is checked
    /// strictly: an unknown, duplicate or out-of-range parameter, one the offer does not
    /// allow, or any other extension fails the upgrade with
    /// [`ErrorKind::WeirdServerReply`]. A server that declines leaves the connection
    /// uncompressed.
    ///
    /// When it is in force, messages of at least `threshold` bytes are sent compressed and
    /// compressed messages arrive inflated: each chunk's [`WsFrame`](crate::ws::WsFrame) then has
    /// `offset` = position in the inflated message, `bytesleft` = 0 (the inflated size is
    /// unknown in advance) and `CONT` on every chunk but the message's last; an inflated
    /// message larger than [`Easy::ws_max_message_size`] closes with 1009. In raw mode
    /// nothing is inflated or compressed: the bytes are passed as they are on the wire.
    /// Window bits outside 8..=15 are refused with [`ErrorKind::BadFunctionArgument`].
    pub fn ws_compress(
        &mut self,
        config: Option<crate::proto::ws::DeflateConfig>,
    ) -> Result<&mut Self> {
        if let Some(c) = &config {
            c.validate()
                .map_err(|e| Error::new(ErrorKind::BadFunctionArgument, e.to_string()))?;
        }
        self.x.opts.ws.compress = config;
        Ok(self)
    }

    /// Message mode: whole reassembled messages go to
    /// [`Handler::ws_message`](crate::Handler::ws_message) instead of chunks to the write
    /// callback (libcurl lists this as future work). Bounded by
    /// [`Easy::ws_max_message_size`]. In connect-only mode use
    /// [`WsHandle::recv_message`](crate::ws::WsHandle::recv_message) instead.
    pub fn ws_message_mode(&mut self, on: bool) -> &mut Self {
        self.x.opts.ws.message_mode = on;
        self
    }

    /// Keepalive: send a ping after `interval` without a sign of life from the peer; if no
    /// answer comes within `timeout`, close with [`DEFAULT_WS_KEEPALIVE_CLOSE_CODE`](crate::DEFAULT_WS_KEEPALIVE_CLOSE_CODE) (or the
    /// code set with [`Easy::ws_keepalive_close_code`]) and fail with
    /// [`ErrorKind::OperationTimedout`]. `None` or a zero interval turns it off (the default); a
    /// zero `timeout` means the interval. The multi's timers
    /// send the pings, in both models, whether or not the application is busy with the transfer.
    ///
    /// What counts as a sign of life and as the answer:
    ///
    /// - **Callback model**: the multi reads everything, so any received bytes restart the
    ///   interval, and only a pong answers the ping. While the transfer's receiving is paused
    ///   nothing is read, so keepalive rests; its interval starts again on unpause.
    /// - **Connect-only model** ([`Easy::connect_only`]): the application reads, so the multi
    ///   learns of the peer from arrivals: a readiness event saying bytes came in on the socket
    ///   (with [`Multi::poll`](crate::Multi::poll): new bytes arrived; with
    ///   [`Multi::socket_action`](crate::Multi::socket_action): a call with
    ///   [`Ready::readable`](crate::Ready::readable) set and no error), or bytes read from the
    ///   socket by [`WsHandle::recv`](crate::ws::WsHandle::recv). Either restarts the interval,
    ///   and either answers an outstanding ping: the multi cannot tell a pong from frames the
    ///   application has not read yet. Bytes merely waiting unread do not count, so a dead peer
    ///   is noticed even if the application stopped reading; the other side of that is that an
    ///   application that leaves so much unread that the peer can no longer send (its TCP window
    ///   closed) may see the keepalive time out. The pongs are returned by `recv` like any
    ///   other. Once the keepalive ended the transfer, `recv` and the sends answer
    ///   [`WsError::Failed`](crate::ws::WsError::Failed) with the timeout (the completion
    ///   message was given at the upgrade).
    ///
    /// Durations over [`DURATION_MAX`](crate::DURATION_MAX) mean that.
    pub fn ws_keepalive(&mut self, keepalive: Option<(Duration, Duration)>) -> &mut Self {
        self.x.opts.ws.keepalive = keepalive.filter(|(i, _)| !i.is_zero()).map(|(i, t)| {
            let t = if t.is_zero() { i } else { t };
            (clamp_duration(i), clamp_duration(t))
        });
        self
    }

    /// The close code sent when a keepalive ping times out.
    pub fn ws_keepalive_close_code(&mut self, code: u16) -> Result<&mut Self> {
        if !crate::proto::ws::is_valid_close_code(code) {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                format!("{code} is not a close code that may be sent"),
            ));
        }
        self.x.opts.ws.keepalive_close_code = code;
        Ok(self)
    }

    /// What the transfer reported (`curl_easy_getinfo`).
    pub fn info(&self) -> &TransferInfo {
        &self.x.info
    }

    /// Run the transfer to completion, blocking (`curl_easy_perform`). It runs over a private
    /// [`Multi`](crate::Multi) kept inside this `Easy`, so repeated performs reuse connections.
    pub fn perform(&mut self) -> Result<()> {
        let mut multi = self.private.take().unwrap_or_default();
        let placeholder = Easy {
            x: Box::new(Transfer::new(self.x.opts.clone(), Box::default())),
            handler: Box::new(crate::handler::Discard),
            private: None,
        };
        let me = std::mem::replace(self, placeholder);
        let id = multi.add(me);
        let result = loop {
            if let Some(msg) = multi.info_read() {
                if msg.id == id {
                    break msg.result;
                }
                continue;
            }
            if let Err(e) = multi.poll(None) {
                break Err(Error::new(ErrorKind::Internal, "poll failed").with_source(e));
            }
        };
        if let Some(me) = multi.remove(id) {
            *self = me;
        }
        self.private = Some(multi);
        result
    }
}

/// A value that goes into a header field: no CR, LF or NUL.
fn check_field(what: &str, v: &str) -> Result<()> {
    match v.contains(['\r', '\n', '\0']) {
        true => Err(Error::new(
            ErrorKind::BadFunctionArgument,
            format!("{what} with CR, LF or NUL"),
        )),
        false => Ok(()),
    }
}
