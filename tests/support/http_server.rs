//! A scripted HTTP/1.1 test server, std::net only (blocking sockets).
//!
//! ```ignore
//! let srv = Server::start(|c: &mut Conn| {
//!     while let Some(req) = c.read_request() {
//!         assert_eq!(req.target, "/hello");
//!         c.respond(200, &[("Content-Type", "text/plain")], b"hi");
//!     }
//! });
//! let url = srv.url("/hello");      // http://127.0.0.1:PORT/hello
//! // ... drive the client ...
//! assert_eq!(srv.accepted(), 1);    // connection reuse
//! // dropping `srv` stops it; a handler panic (e.g. a failed assert!) is
//! // re-raised there so the test fails.
//! ```
//!
//! * One listener thread on 127.0.0.1:0 (or [`Options::bind`]); the handler is
//!   called once per accepted connection on a thread of its own, with a
//!   [`Conn`]. When the handler returns the connection is closed gracefully
//!   (TLS close_notify, FIN, then a bounded drain of unread input so the
//!   kernel does not answer with RST), unless it was closed already.
//! * Accepted sockets get read and write timeouts ([`Options::io_timeout`],
//!   10 s by default), so a broken client never hangs a test forever; a
//!   timed-out read behaves like EOF in [`Conn::read_request`].
//! * `Drop` sets a stop flag, connects to itself to wake `accept`, shuts down
//!   every open connection (handlers see EOF / write errors), and joins the
//!   threads, waiting at most 5 s in all. Panics of handlers that happened
//!   before the drop are then re-raised (unless the test is already
//!   panicking).
//! * Ready-made handlers: [`routes`] (a keep-alive loop answering each request
//!   with `Fn(&Request) -> Response`) and [`keep_alive_responder`].

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::{ProtocolVersion, ServerConfig, ServerConnection, StreamOwned};

/// Largest request head or chunk-size/trailer line accepted before the
/// handler panics (a client bug, most likely).
const MAX_HEAD: usize = 1 << 20;
/// How long a graceful close keeps draining unread input.
const DRAIN: Duration = Duration::from_secs(2);
/// Bound on joining the server's threads in `Drop`.
const JOIN_BOUND: Duration = Duration::from_secs(5);

/// How to start a [`Server`]; see [`Server::start_with`].
#[derive(Clone)]
pub struct Options {
    /// Listening address; default `127.0.0.1:0`. Use `[::1]:0` for IPv6.
    pub bind: SocketAddr,
    /// Serve TLS with this config (see `support::tls`); default plain TCP.
    pub tls: Option<Arc<ServerConfig>>,
    /// Read and write timeout of accepted sockets; default 10 s.
    pub io_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: None,
            io_timeout: super::TIMEOUT,
        }
    }
}

struct Shared {
    stop: AtomicBool,
    accepted: AtomicUsize,
    requests: AtomicUsize,
    /// Clones of the live connections' sockets, to shut them down on drop.
    open: Mutex<HashMap<usize, TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    panics: Mutex<Vec<String>>,
    log: Mutex<Vec<Request>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// A running test server; dropping it stops it (see the module docs).
pub struct Server {
    /// The bound address (127.0.0.1 and an ephemeral port by default).
    pub addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Plain HTTP on 127.0.0.1:0; `handler` runs once per accepted
    /// connection, on its own thread.
    pub fn start<F>(handler: F) -> Server
    where
        F: Fn(&mut Conn) + Send + Sync + 'static,
    {
        Self::start_with(Options::default(), handler)
    }

    /// Same over TLS with `cfg` (e.g. `support::tls::server_config(..)`).
    /// The handshake runs lazily on the first read/write of the [`Conn`], or
    /// explicitly with [`Conn::handshake`].
    pub fn start_tls<F>(cfg: Arc<ServerConfig>, handler: F) -> Server
    where
        F: Fn(&mut Conn) + Send + Sync + 'static,
    {
        Self::start_with(
            Options {
                tls: Some(cfg),
                ..Options::default()
            },
            handler,
        )
    }

    /// Starts with explicit [`Options`].
    pub fn start_with<F>(opts: Options, handler: F) -> Server
    where
        F: Fn(&mut Conn) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(opts.bind)
            .unwrap_or_else(|e| panic!("test server: bind {}: {e}", opts.bind));
        let addr = listener.local_addr().expect("test server: local_addr");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            open: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            panics: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        });
        let tls = opts.tls.is_some();
        let handler = Arc::new(handler);
        let sh = shared.clone();
        let acceptor = thread::Builder::new()
            .name(format!("test-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, opts, sh, handler))
            .expect("test server: spawn");
        Server {
            addr,
            tls,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT/path` (`https` for TLS); a missing leading `/`
    /// is added.
    pub fn url(&self, path: &str) -> String {
        let host = match self.addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        self.url_with_host(&host, path)
    }

    /// Like [`Server::url`] with another host, e.g. `"localhost"` (which must
    /// then resolve to the bound address).
    pub fn url_with_host(&self, host: &str, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{scheme}://{host}:{}{slash}{path}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far (TLS ones count even if the handshake
    /// later fails).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Request heads parsed so far by [`Conn::read_request`] /
    /// [`Conn::read_request_head`] on all connections.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Every request read so far, in order, with the body if it was read by
    /// [`Conn::read_request`] (heads only from `read_request_head`).
    pub fn request_log(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    /// The last request in [`Server::request_log`].
    pub fn last_request(&self) -> Option<Request> {
        lock(&self.shared.log).last().cloned()
    }
}

fn accept_loop<F>(listener: TcpListener, opts: Options, shared: Arc<Shared>, handler: Arc<F>)
where
    F: Fn(&mut Conn) + Send + Sync + 'static,
{
    loop {
        let (tcp, peer) = match listener.accept() {
            Ok(x) => x,
            Err(_) if shared.stop.load(Ordering::SeqCst) => break,
            Err(_) => {
                // e.g. EMFILE or ECONNABORTED: try again shortly.
                thread::sleep(Duration::from_millis(1));
                continue;
            }
        };
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let id = shared.accepted.fetch_add(1, Ordering::SeqCst);
        let _ = tcp.set_nodelay(true);
        let _ = tcp.set_read_timeout(Some(opts.io_timeout));
        let _ = tcp.set_write_timeout(Some(opts.io_timeout));
        if let Ok(clone) = tcp.try_clone() {
            lock(&shared.open).insert(id, clone);
        }
        let tls = opts.tls.clone();
        let sh = shared.clone();
        let handler = handler.clone();
        let spawned = thread::Builder::new()
            .name(format!("test-conn-{id}"))
            .spawn(move || {
                let stream = match tls {
                    Some(cfg) => {
                        let sc = ServerConnection::new(cfg).expect("rustls ServerConnection");
                        Stream::Tls(Box::new(StreamOwned::new(sc, tcp)))
                    }
                    None => Stream::Plain(tcp),
                };
                let mut conn = Conn {
                    id,
                    peer,
                    stream,
                    buf: Vec::new(),
                    shared: sh.clone(),
                    closed: false,
                };
                let r = catch_unwind(AssertUnwindSafe(|| handler(&mut conn)));
                if let Err(p) = r {
                    if !sh.stop.load(Ordering::SeqCst) {
                        lock(&sh.panics).push(format!("connection {id}: {}", panic_message(&*p)));
                    }
                }
                drop(conn);
                lock(&sh.open).remove(&id);
            });
        match spawned {
            Ok(h) => {
                let mut threads = lock(&shared.threads);
                threads.retain(|t| !t.is_finished());
                threads.push(h);
            }
            Err(e) => {
                lock(&shared.panics).push(format!("spawn connection thread: {e}"));
                lock(&shared.open).remove(&id);
            }
        }
    }
}

fn join_bounded(h: JoinHandle<()>, deadline: Instant) -> Option<thread::Result<()>> {
    while !h.is_finished() {
        if Instant::now() >= deadline {
            return None; // detach it
        }
        thread::sleep(Duration::from_millis(1));
    }
    Some(h.join())
}

impl Drop for Server {
    fn drop(&mut self) {
        let deadline = Instant::now() + JOIN_BOUND;
        self.shared.stop.store(true, Ordering::SeqCst);
        let wake = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, self.addr.port()).into(),
            IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, self.addr.port()).into(),
            _ => self.addr,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let mut problems = Vec::new();
        if let Some(h) = self.acceptor.take() {
            match join_bounded(h, deadline) {
                Some(Err(p)) => problems.push(format!("acceptor: {}", panic_message(&*p))),
                None => problems.push("acceptor thread did not stop".to_string()),
                Some(Ok(())) => {}
            }
        }
        for (_, s) in lock(&self.shared.open).drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        for h in threads {
            if let Some(Err(p)) = join_bounded(h, deadline) {
                problems.push(panic_message(&*p));
            }
        }
        problems.splice(0..0, lock(&self.shared.panics).drain(..));
        if !problems.is_empty() && !thread::panicking() {
            panic!("test server {}: {}", self.addr, problems.join("; "));
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One accepted connection (plain TCP or TLS) with a read buffer. Implements
/// `Read`/`Write` too (reads drain the buffer first).
///
/// Dropping it closes gracefully, like [`Conn::close`].
pub struct Conn {
    id: usize,
    peer: SocketAddr,
    stream: Stream,
    buf: Vec<u8>,
    shared: Arc<Shared>,
    closed: bool,
}

impl Conn {
    /// 0-based accept order of this connection on its server.
    pub fn id(&self) -> usize {
        self.id
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// The underlying socket (e.g. to change its timeouts).
    pub fn tcp(&self) -> &TcpStream {
        self.stream.tcp()
    }

    /// Read timeout for this connection (`None` = block forever).
    pub fn set_read_timeout(&self, t: Option<Duration>) {
        let _ = self.tcp().set_read_timeout(t);
    }

    /// Completes the TLS handshake now (no-op for plain TCP). Fails if the
    /// client rejects the certificate, sends no acceptable client cert, etc.
    pub fn handshake(&mut self) -> io::Result<()> {
        if let Stream::Tls(s) = &mut self.stream {
            while s.conn.is_handshaking() {
                let (rd, wr) = s.conn.complete_io(&mut s.sock)?;
                if rd == 0 && wr == 0 && s.conn.is_handshaking() {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
        }
        Ok(())
    }

    fn tls(&self) -> Option<&ServerConnection> {
        match &self.stream {
            Stream::Tls(s) => Some(&s.conn),
            Stream::Plain(_) => None,
        }
    }

    /// Negotiated ALPN protocol (after the handshake).
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.tls()?.alpn_protocol().map(|p| p.to_vec())
    }

    /// Negotiated TLS version (after the handshake).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.tls()?.protocol_version()
    }

    /// Whether the handshake was a full one or resumed a session (after the handshake).
    pub fn handshake_kind(&self) -> Option<rustls::HandshakeKind> {
        self.tls()?.handshake_kind()
    }

    /// SNI host name the client sent, if any.
    pub fn server_name(&self) -> Option<String> {
        self.tls()?.server_name().map(str::to_string)
    }

    /// Client certificate chain (client-auth configs, after the handshake).
    pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        let certs = self.tls()?.peer_certificates()?;
        Some(certs.iter().map(|c| c.clone().into_owned()).collect())
    }

    /// Reads more input into the buffer; Ok(0) on EOF (TLS EOF without
    /// close_notify counts as EOF).
    fn fill(&mut self) -> io::Result<usize> {
        let mut tmp = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut tmp) {
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
        }
    }

    /// Parses one request head (request line + headers) and returns it with an
    /// empty body; the body (if any) is left unread, for [`Conn::read_body`].
    /// `None` on EOF, error or read timeout (also mid-head). Panics on a
    /// malformed head, failing the test when the server is dropped.
    pub fn read_request_head(&mut self) -> Option<Request> {
        loop {
            // RFC 9112 2.2: ignore empty lines before the request line.
            while self.buf.starts_with(b"\r\n") {
                self.buf.drain(..2);
            }
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                let req = parse_head(raw);
                self.shared.requests.fetch_add(1, Ordering::SeqCst);
                return Some(req);
            }
            assert!(
                self.buf.len() <= MAX_HEAD,
                "request head larger than {MAX_HEAD} bytes"
            );
            match self.fill() {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads the body announced by `req`'s head into `req.body` (decoded) and
    /// `req.raw_body` (as sent): chunked (trailers go to `req.trailers`),
    /// Content-Length, or none. Panics on malformed framing.
    pub fn read_body(&mut self, req: &mut Request) -> io::Result<()> {
        match req.body_framing() {
            Framing::None => {}
            Framing::Length(n) => {
                req.body = self.read_exact_bytes(n)?;
                req.raw_body = req.body.clone();
            }
            Framing::Chunked => loop {
                let line = self.read_line(&mut req.raw_body)?;
                let size_text = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_text, 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
                if size == 0 {
                    loop {
                        let t = self.read_line(&mut req.raw_body)?;
                        if t.is_empty() {
                            break;
                        }
                        req.trailers.push(parse_field(&t));
                    }
                    break;
                }
                let data = self.read_exact_bytes(size + 2)?;
                assert!(data.ends_with(b"\r\n"), "chunk data not followed by CRLF");
                req.body.extend_from_slice(&data[..size]);
                req.raw_body.extend_from_slice(&data);
            },
        }
        Ok(())
    }

    /// [`Conn::read_request_head`] + [`Conn::read_body`]. Answers
    /// `Expect: 100-continue` (when a body follows) with `100 Continue` first;
    /// use the two halves to script that differently. `None` on EOF before or
    /// inside the request, on error or read timeout. The request is added to
    /// [`Server::request_log`].
    pub fn read_request(&mut self) -> Option<Request> {
        let mut req = self.read_request_head()?;
        let expects = req
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects && req.body_framing() != Framing::None && self.buf.is_empty() {
            self.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
        }
        self.read_body(&mut req).ok()?;
        lock(&self.shared.log).push(req.clone());
        Some(req)
    }

    /// Reads a CRLF-terminated line (returned without CRLF; raw bytes also
    /// appended to `raw`).
    fn read_line(&mut self, raw: &mut Vec<u8>) -> io::Result<String> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                raw.extend_from_slice(&line);
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            assert!(
                self.buf.len() <= MAX_HEAD,
                "line longer than {MAX_HEAD} bytes"
            );
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Exactly `n` bytes (buffered ones first); `UnexpectedEof` if the peer
    /// closes before.
    pub fn read_exact_bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Everything until EOF (or until an error / read timeout).
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        while let Ok(n) = self.fill() {
            if n == 0 {
                break;
            }
        }
        std::mem::take(&mut self.buf)
    }

    /// Waits (up to the read timeout) for the client to close: true on EOF or
    /// reset; false if bytes arrive first (they stay buffered) or on timeout.
    pub fn peer_closed(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        match self.fill() {
            Ok(n) => n == 0,
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ),
        }
    }

    /// Writes raw bytes and flushes (use for hand-made responses).
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }

    /// Writes `HTTP/1.1 <status> <reason>`, `headers`, and `body` as given.
    /// Adds `Content-Length: body.len()` unless `headers` has Content-Length
    /// or Transfer-Encoding (then `body` must already be framed, e.g. with
    /// `support::chunked`) or the status is 1xx/204/304. Write errors are
    /// ignored (the client may legitimately have gone); use
    /// [`Conn::write_all`] to see them.
    pub fn respond(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let head = response_head(status, headers, Some(body.len()));
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        let _ = self.write_all(&out);
    }

    /// Responds with `Transfer-Encoding: chunked`, one chunk per element of
    /// `chunks`, each written (and flushed) separately.
    pub fn respond_chunked(&mut self, status: u16, headers: &[(&str, &str)], chunks: &[&[u8]]) {
        let mut hs = headers.to_vec();
        hs.push(("Transfer-Encoding", "chunked"));
        if self
            .write_all(response_head(status, &hs, None).as_bytes())
            .is_err()
        {
            return;
        }
        for c in chunks.iter().filter(|c| !c.is_empty()) {
            let mut out = format!("{:x}\r\n", c.len()).into_bytes();
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
            if self.write_all(&out).is_err() {
                return;
            }
        }
        let _ = self.write_all(b"0\r\n\r\n");
    }

    /// Sends `resp` as the answer to `req` (no body for HEAD, but the
    /// Content-Length of the full body); closes afterwards if `resp.close`.
    pub fn send(&mut self, req: &Request, resp: &Response) {
        let hs: Vec<(&str, &str)> = resp
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if req.method == "HEAD" {
            let _ =
                self.write_all(response_head(resp.status, &hs, Some(resp.body.len())).as_bytes());
        } else {
            self.respond(resp.status, &hs, &resp.body);
        }
        if resp.close {
            self.close();
        }
    }

    /// Half-close: TLS close_notify (for TLS), then TCP FIN. Reading still
    /// works.
    pub fn shutdown_write(&mut self) {
        if let Stream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Write);
    }

    /// Graceful close: [`Conn::shutdown_write`], then discard input until the
    /// client closes too (at most 2 s) so unread data does not turn the close
    /// into a RST, then shut the socket down. Idempotent.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.shutdown_write();
        let _ = self
            .tcp()
            .set_read_timeout(Some(Duration::from_millis(100)));
        let deadline = Instant::now() + DRAIN;
        while Instant::now() < deadline {
            self.buf.clear();
            match self.fill() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Abrupt close: TCP shutdown of both directions at once, with no TLS
    /// close_notify and no draining (for truncation tests).
    pub fn close_abruptly(&mut self) {
        self.closed = true;
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}

impl Read for Conn {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buf.is_empty() && self.fill()? == 0 {
            return Ok(0);
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf.drain(..n);
        Ok(n)
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Status line + headers + empty line; `content_length` is added as
/// Content-Length when given and allowed (see [`Conn::respond`]).
fn response_head(status: u16, headers: &[(&str, &str)], content_length: Option<usize>) -> String {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    let framed = headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let bodyless = (100..200).contains(&status) || status == 204 || status == 304;
    if let (Some(n), false, false) = (content_length, framed, bodyless) {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Reason phrase for common status codes ("Unknown" otherwise).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

fn parse_field(line: &str) -> (String, String) {
    let (name, value) = line
        .split_once(':')
        .unwrap_or_else(|| panic!("header line without ':': {line:?}"));
    assert!(
        !name.is_empty() && !name.contains([' ', '\t']),
        "bad header name in {line:?}"
    );
    (
        name.to_string(),
        value.trim_matches([' ', '\t']).to_string(),
    )
}

fn parse_head(raw: Vec<u8>) -> Request {
    let text = String::from_utf8_lossy(&raw[..raw.len() - 4]).into_owned();
    let mut lines = text.split("\r\n");
    let start = lines.next().unwrap_or("");
    let mut parts = start.splitn(3, ' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) if !m.is_empty() && !t.is_empty() && v.starts_with("HTTP/") => {
            (m.to_string(), t.to_string(), v.to_string())
        }
        _ => panic!("bad request line {start:?}"),
    };
    let headers = lines.map(parse_field).collect();
    Request {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
        raw_head: raw,
        raw_body: Vec::new(),
        trailers: Vec::new(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    None,
    Length(usize),
    Chunked,
}

/// A parsed request.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    /// Request target as sent (`/path?query`, or absolute-form via proxies).
    pub target: String,
    /// e.g. `HTTP/1.1`.
    pub version: String,
    /// In order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Decoded body.
    pub body: Vec<u8>,
    /// Head bytes as received, through the final CRLFCRLF.
    pub raw_head: Vec<u8>,
    /// Body bytes as received (chunk framing included).
    pub raw_body: Vec<u8>,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<(String, String)>,
}

impl Request {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Target without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Query string (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// Whether the connection should close after this request's response
    /// (`Connection: close`, or HTTP/1.0 without `keep-alive`).
    pub fn wants_close(&self) -> bool {
        let has = |tok: &str| {
            self.header_all("connection")
                .iter()
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(tok))
        };
        has("close") || (self.version == "HTTP/1.0" && !has("keep-alive"))
    }

    fn body_framing(&self) -> Framing {
        if let Some(te) = self.header_all("transfer-encoding").last() {
            let last = te.rsplit(',').next().unwrap_or("").trim();
            assert!(
                last.eq_ignore_ascii_case("chunked"),
                "request Transfer-Encoding {te:?} does not end in chunked"
            );
            return Framing::Chunked;
        }
        match self.header_all("content-length").as_slice() {
            [] => Framing::None,
            [first, rest @ ..] => {
                assert!(
                    rest.iter().all(|v| v == first),
                    "conflicting Content-Length headers"
                );
                let n = first
                    .parse()
                    .unwrap_or_else(|_| panic!("bad Content-Length {first:?}"));
                if n == 0 {
                    Framing::None
                } else {
                    Framing::Length(n)
                }
            }
        }
    }
}

/// A response for [`routes`] / [`Conn::send`].
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the connection after sending (see [`Response::close`]).
    pub close: bool,
}

impl Response {
    /// `status`, no headers, empty body (Content-Length: 0 is added on send).
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            close: false,
        }
    }

    /// 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200).body(body)
    }

    /// `status` with a `Location` header.
    pub fn redirect(status: u16, location: &str) -> Response {
        Response::new(status).header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// Adds `Connection: close` and closes the connection after sending.
    pub fn close(mut self) -> Response {
        self.close = true;
        self.header("Connection", "close")
    }
}

/// Handler: keep-alive loop answering every request on the connection with
/// `route(&request)` until EOF; closes after a response with `close` set, or
/// when the request asks for it ([`Request::wants_close`]). HEAD gets headers
/// only.
pub fn routes<F>(route: F) -> impl Fn(&mut Conn) + Send + Sync + 'static
where
    F: Fn(&Request) -> Response + Send + Sync + 'static,
{
    move |conn: &mut Conn| {
        while let Some(req) = conn.read_request() {
            let resp = route(&req);
            conn.send(&req, &resp);
            if resp.close || req.wants_close() {
                conn.close();
                return;
            }
        }
    }
}

/// Handler: answers every request on the connection with 200 and `body`
/// (keep-alive loop until EOF; see [`routes`]).
pub fn keep_alive_responder(body: Vec<u8>) -> impl Fn(&mut Conn) + Send + Sync + 'static {
    routes(move |_| Response::ok(body.clone()))
}
