//! One transfer's state machine (curl's `MSTATE`), driven by the multi.
//!
//! States, one function each: `Init` (pool checkout or connection slot) → `Pending` (over a
//! connection limit) → `Resolving` → `Connecting` (TCP, then TLS) → `Active` (request out,
//! response in; sending and receiving overlap, so an early answer stops an upload) → `Done`.
//! A followed redirect or a retry on a dead pooled connection goes back to `Init`.
//!
//! Callbacks are called at quiescent points only: the transfer holds no borrow into the
//! multi's tables, and re-reads its flags (pause, removal) after every callback.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ctx::Ctx;
use crate::dns::Answer;
use crate::easy::{Body, Options, EXPECT_100_THRESHOLD, REDIRECT_DRAIN_MAX};
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Flow, Handler, Progress, ReadResult};
use crate::info::{HttpVersion, TransferInfo};
use crate::multi::core::{Checkout, Control, Core};
use crate::multi::{Multi, TransferId};
use crate::proto::http1::{
    body_kind, encode_chunk_header, framing, BodyDecoder, BodyKind, BodySource, ContentCoding,
    ContentDecoder, Decoded, Framing, HeadWriter, ParseError, ResponseHead, ResponseParser,
    Version, LAST_CHUNK, MAX_DECODED_BYTES,
};
use crate::transport::{tls, Conn, Phase, PoolKey, Stream};
use crate::url::Target;

mod content;
mod ws;

pub use content::DECODE_PIECE_SIZE;

/// The transfer's current target: `opts.target`, or where a redirect led. A macro rather than
/// a method so that it borrows only the two fields it reads.
macro_rules! target {
    ($x:expr) => {
        $x.redirected.as_deref().unwrap_or(&$x.opts.target)
    };
}

/// Bytes one transfer may receive in one step before yielding to the others (fairness).
pub const STEP_RECV_BUDGET: usize = 512 * 1024;
/// Size of the upload buffer the read callback fills.
pub const UPLOAD_BUFFER_SIZE: usize = 64 * 1024;
/// Longest a single address may take to connect when others remain to try.
pub const CONNECT_ATTEMPT_MAX: Duration = Duration::from_secs(10);

/// Where a transfer is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Init,
    Pending,
    Resolving,
    Connecting,
    Active,
    Ws,
    Done,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Send {
    Head,
    WaitContinue,
    Body,
    Done,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Recv {
    Head,
    Body,
}

/// What a step function wants next.
enum Next {
    /// State changed: run the next state now.
    Again,
    /// Nothing more to do until an event, a timer or the budget renews.
    Yield,
}

pub(crate) struct Transfer {
    pub(crate) opts: Box<Options>,
    pub(crate) info: Box<TransferInfo>,
    pub(crate) ctl: Control,
    pub(crate) state: State,
    pub(crate) conn: Option<Box<Conn>>,
    pub(crate) dirty: bool,
    pub(crate) armed: Option<Instant>,
    pub(crate) reported: bool,
    pub(crate) result: Option<Result<()>>,
    pub(crate) private: Option<Box<Multi>>,

    started: Option<Instant>,
    deadline_total: Option<Instant>,
    deadline_connect: Option<Instant>,
    deadline_attempt: Option<Instant>,
    deadline_expect: Option<Instant>,
    lowspeed: Option<(Instant, u64)>,
    progress_next: Option<Instant>,
    progress_dirty: bool,
    budget_spent: bool,

    // The current request (redirects change these). The target is `opts.target` until a
    // redirect is followed (no copy of it per transfer); see the `target!` macro.
    // Boxed (like `redirect`): rare, and the transfer stays small enough for the allocator's
    // fast path.
    redirected: Option<Box<Target>>,
    /// The request method: a static name for the usual ones (no allocation per request).
    method: std::borrow::Cow<'static, str>,
    /// Storage for `info.content_type`, kept from the last run of the same `Easy`.
    spare_content_type: String,
    body: Body,
    /// How the current request's body is delimited (decided in `begin_request`).
    framing: Framing,
    /// A redirect turned the request into a GET and dropped its body: the caller's headers
    /// about that body (Content-Type, framing) go with it.
    body_dropped: bool,
    slot_key: Option<Arc<PoolKey>>,
    addrs: Option<Arc<[SocketAddr]>>,
    next_addr: usize,
    last_connect_error: Option<Error>,
    fresh: bool,
    retried: bool,
    redirects: u32,

    send: Send,
    head_buf: Vec<u8>,
    head_sent: usize,
    body_sent: u64,
    ubuf: Vec<u8>,
    ubuf_pos: usize,
    upload_eof: bool,
    expect_continue: bool,

    recv: Recv,
    parser: Option<ResponseParser>,
    head: Option<ResponseHead>,
    decoder: Option<BodyDecoder>,
    content: Option<ContentDecoder>,
    decoded: Vec<u8>,
    held: Vec<u8>,
    discard: bool,
    redirect: Option<(u16, Box<Target>)>,
    got_bytes: bool,
    finish_after_held: bool,
    /// Bytes of the heads answering the current request (interim ones included).
    heads_bytes: usize,

    /// WebSocket state once the upgrade succeeded.
    pub(crate) ws: Option<Box<ws::WsState>>,
    ws_key: String,
    /// Connect-only WebSocket: the upgrade is done; report the transfer as finished.
    pub(crate) established: bool,
}

impl Transfer {
    /// The transfer of a new `Easy`: it has not run.
    pub(crate) fn new(opts: Box<Options>, info: Box<TransferInfo>) -> Self {
        Transfer {
            redirected: None,
            method: std::borrow::Cow::Borrowed(""),
            spare_content_type: String::new(),
            body: Body::None,
            framing: Framing::None,
            body_dropped: false,
            opts,
            info,
            ctl: Control::default(),
            state: State::Init,
            conn: None,
            dirty: false,
            armed: None,
            reported: false,
            result: None,
            private: None,
            started: None,
            deadline_total: None,
            deadline_connect: None,
            deadline_attempt: None,
            deadline_expect: None,
            lowspeed: None,
            progress_next: None,
            progress_dirty: false,
            budget_spent: false,
            slot_key: None,
            addrs: None,
            next_addr: 0,
            last_connect_error: None,
            fresh: false,
            retried: false,
            redirects: 0,
            send: Send::Head,
            head_buf: Vec::new(),
            head_sent: 0,
            body_sent: 0,
            ubuf: Vec::new(),
            ubuf_pos: 0,
            upload_eof: false,
            expect_continue: false,
            recv: Recv::Head,
            parser: None,
            head: None,
            decoder: None,
            content: None,
            decoded: Vec::new(),
            held: Vec::new(),
            discard: false,
            redirect: None,
            got_bytes: false,
            finish_after_held: false,
            heads_bytes: 0,
            ws: None,
            ws_key: String::new(),
            established: false,
        }
    }

    /// A run starts (the `Easy` was added to a multi) with fresh info, like curl's
    /// per-perform `Curl_initinfo`: an `Easy` added again (or performed again) does not carry
    /// counts over from its last run. Only the info's string buffers are kept. The rest of the
    /// run state is as [`new`](Self::new) made it ([`end_run`](Self::end_run) put it back).
    pub(crate) fn start_run(&mut self) {
        if let Some(ct) = self.info.content_type.take() {
            self.spare_content_type = ct;
        }
        let mut effective_url = std::mem::take(&mut self.info.effective_url);
        effective_url.clear();
        effective_url.push_str(self.opts.target.url.as_str());
        // Fresh info in the same box.
        *self.info = TransferInfo {
            effective_url,
            ..TransferInfo::default()
        };
        self.body = self.opts.body.clone();
    }

    /// A run ends (the `Easy` was taken out of its multi): every piece of run state goes back
    /// to what [`new`](Self::new) made, except the options, the info (read after removal),
    /// the private multi of `perform`, and small buffers worth keeping for the next run. The
    /// pattern below names every field, so a field added to `Transfer` must be handled here.
    pub(crate) fn end_run(&mut self) {
        /// Buffers up to this capacity are kept for the next run (a request head, a few
        /// held bytes); bigger ones (the 64 KiB upload buffer) are freed.
        const KEEP: usize = 4096;
        fn shrink(v: &mut Vec<u8>) {
            if v.capacity() > KEEP {
                *v = Vec::new();
            } else {
                v.clear();
            }
        }
        let Transfer {
            opts: _,
            info: _,
            private: _,
            spare_content_type: _,
            ctl,
            state,
            conn,
            dirty,
            armed,
            reported,
            result,
            started,
            deadline_total,
            deadline_connect,
            deadline_attempt,
            deadline_expect,
            lowspeed,
            progress_next,
            progress_dirty,
            budget_spent,
            redirected,
            method: _,
            body,
            framing,
            body_dropped,
            slot_key,
            addrs,
            next_addr,
            last_connect_error,
            fresh,
            retried,
            redirects,
            send,
            head_buf,
            head_sent,
            body_sent,
            ubuf,
            ubuf_pos,
            upload_eof,
            expect_continue,
            recv,
            parser,
            head,
            decoder,
            content,
            decoded,
            held,
            discard,
            redirect,
            got_bytes,
            finish_after_held,
            heads_bytes,
            ws,
            ws_key,
            established,
        } = self;
        *ctl = Control::default();
        *state = State::Init;
        *conn = None;
        *dirty = false;
        *armed = None;
        *reported = false;
        *result = None;
        *started = None;
        *deadline_total = None;
        *deadline_connect = None;
        *deadline_attempt = None;
        *deadline_expect = None;
        *lowspeed = None;
        *progress_next = None;
        *progress_dirty = false;
        *budget_spent = false;
        *redirected = None;
        *body = Body::None;
        *framing = Framing::None;
        *body_dropped = false;
        *slot_key = None;
        *addrs = None;
        *next_addr = 0;
        *last_connect_error = None;
        *fresh = false;
        *retried = false;
        *redirects = 0;
        *send = Send::Head;
        shrink(head_buf);
        *head_sent = 0;
        *body_sent = 0;
        shrink(ubuf);
        *ubuf_pos = 0;
        *upload_eof = false;
        *expect_continue = false;
        *recv = Recv::Head;
        *parser = None;
        *head = None;
        *decoder = None;
        *content = None;
        shrink(decoded);
        shrink(held);
        *discard = false;
        *redirect = None;
        *got_bytes = false;
        *finish_after_held = false;
        *heads_bytes = 0;
        *ws = None;
        ws_key.clear();
        *established = false;
    }

    /// The earliest timer of this transfer.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let connecting = matches!(self.state, State::Resolving | State::Connecting)
            || (self.state == State::Init && self.started.is_some());
        [
            self.deadline_total,
            self.deadline_connect.filter(|_| connecting),
            self.deadline_attempt
                .filter(|_| self.state == State::Connecting),
            self.deadline_expect
                .filter(|_| self.send == Send::WaitContinue),
            self.lowspeed.map(|(at, _)| at),
            self.progress_next,
            self.ws_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Run the transfer as far as it can go now. Returns `true` when it stopped only because
    /// its budget ran out (run it again next turn).
    pub(crate) fn step(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> bool {
        if self.state == State::Done {
            return false;
        }
        self.budget_spent = false;
        if let Err(e) = self.check_timers(core, id, h, now) {
            self.fail(core, h, e, now);
            return false;
        }
        loop {
            let r = match self.state {
                State::Init => self.on_init(core, id, h, now),
                State::Pending | State::Resolving => Ok(Next::Yield),
                State::Connecting => self.on_connecting(core, id, h, now),
                State::Active => self.on_active(core, id, h, now),
                State::Ws => self.on_ws(core, id, h, now),
                State::Done => return false,
            };
            match r {
                Ok(Next::Again) => continue,
                Ok(Next::Yield) => break,
                Err(e) => {
                    self.fail(core, h, e, now);
                    return false;
                }
            }
        }
        if self.opts.progress && self.progress_dirty && self.state != State::Done {
            self.progress_dirty = false;
            if let Err(e) = self.call_progress(core, id, h) {
                self.fail(core, h, e, now);
                return false;
            }
        }
        self.budget_spent && self.state != State::Done && !self.ctl.recv_paused
    }

    fn ctx<'a>(
        core: &'a mut Core,
        id: TransferId,
        ctl: &'a mut Control,
        info: &'a TransferInfo,
    ) -> Ctx<'a> {
        Ctx {
            core,
            id,
            me: ctl,
            info,
            ws: None,
            ws_meta: None,
        }
    }

    fn text(&self, h: &mut dyn Handler, msg: impl FnOnce() -> String) {
        if self.opts.verbose {
            let mut m = msg();
            m.push('\n');
            h.debug(DebugKind::Text, m.as_bytes());
        }
    }

    fn call_progress(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<()> {
        let p = Progress {
            dltotal: self.info.content_length_download.unwrap_or(0),
            dlnow: self.info.size_download,
            ultotal: match &self.body {
                Body::Bytes(b) => b.len() as u64,
                Body::Read(Some(n)) => *n,
                _ => 0,
            },
            ulnow: self.info.size_upload,
        };
        let ok = h.progress(&mut Self::ctx(core, id, &mut self.ctl, &self.info), &p);
        if ok {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::AbortedByCallback,
                "progress callback asked to abort",
            ))
        }
    }

    // ----- timers ----------------------------------------------------------------------

    fn check_timers(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        if let Some(at) = self.deadline_total {
            if now >= at {
                return Err(Error::new(
                    ErrorKind::OperationTimedout,
                    format!(
                        "operation timed out after {} ms with {} bytes received ({})",
                        self.elapsed_ms(now),
                        self.info.size_download,
                        self.peer_text()
                    ),
                ));
            }
        }
        let connecting = matches!(self.state, State::Resolving | State::Connecting);
        if let Some(at) = self.deadline_connect {
            if connecting && now >= at {
                let what = if self.state == State::Resolving {
                    "resolving"
                } else {
                    "connecting to"
                };
                return Err(Error::new(
                    ErrorKind::OperationTimedout,
                    format!(
                        "timed out {what} {} after {} ms",
                        self.peer_text(),
                        self.elapsed_ms(now)
                    ),
                ));
            }
        }
        if self.state == State::Connecting {
            if let Some(at) = self.deadline_attempt {
                if now >= at {
                    // This address is too slow: move on to the next one.
                    if let Some(c) = self.conn.take() {
                        self.text(h, || {
                            format!("connect to {} timed out, trying next", c.remote)
                        });
                        core.drop_attempt(c);
                    }
                    self.last_connect_error = Some(Error::new(
                        ErrorKind::OperationTimedout,
                        "the connect attempt timed out",
                    ));
                    self.deadline_attempt = None;
                }
            }
        }
        if let Some(at) = self.deadline_expect {
            if self.send == Send::WaitContinue && now >= at {
                self.text(h, || "Done waiting for 100-continue".into());
                self.deadline_expect = None;
                self.send = Send::Body;
            }
        }
        if let Some((at, base)) = self.lowspeed {
            if now >= at {
                let (limit, time) = self.opts.low_speed.unwrap_or((0, Duration::from_secs(1)));
                let moved = self.info.size_download + self.info.size_upload - base;
                let paused = self.ctl.recv_paused || self.ctl.send_paused;
                if !paused && (moved as f64) < limit as f64 * time.as_secs_f64() {
                    return Err(Error::new(
                        ErrorKind::OperationTimedout,
                        format!(
                            "operation too slow: less than {limit} bytes/sec transferred the last {} seconds",
                            time.as_secs_f64()
                        ),
                    ));
                }
                self.lowspeed = Some((now + time, self.info.size_download + self.info.size_upload));
            }
        }
        if let Some(at) = self.progress_next {
            if now >= at {
                self.progress_next = Some(now + Duration::from_secs(1));
                self.call_progress(core, id, h)?;
            }
        }
        Ok(())
    }

    // ----- Init --------------------------------------------------------------------------

    fn on_init(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        if self.started.is_none() {
            self.started = Some(now);
            self.deadline_total = self.opts.timeout.map(|t| now + t);
            if self.opts.progress {
                self.progress_next = Some(now + Duration::from_secs(1));
            }
            self.fresh = self.opts.fresh_connect;
        }
        let tls_id = if target!(self).scheme.is_tls() {
            core.tls.get(&self.opts.tls)?.0
        } else {
            0
        };
        let key = core.pool_key(
            target!(self).scheme.is_tls(),
            &target!(self).host,
            target!(self).port,
            tls_id,
        );
        match core.checkout(&key, self.fresh, id) {
            Checkout::Reused(conn) => {
                self.text(h, || {
                    format!(
                        "Re-using existing connection #{} with host {}",
                        conn.serial,
                        target!(self).host
                    )
                });
                self.slot_key = Some(key);
                self.info.reused = true;
                self.info.local_addr = conn.local;
                self.info.remote_addr = Some(conn.remote);
                self.conn = Some(conn);
                self.begin_request(core, h, now)?;
                Ok(Next::Again)
            }
            Checkout::New => {
                self.deadline_connect = Some(now + self.opts.connect_timeout);
                self.slot_key = Some(key);
                self.info.reused = false;
                match core.resolver.resolve(
                    &target!(self).host,
                    target!(self).port,
                    id.as_u64(),
                    now,
                ) {
                    Some(ans) => {
                        self.on_resolved(ans, now);
                        Ok(Next::Again)
                    }
                    None => {
                        self.text(h, || format!("Resolving {}", target!(self).host));
                        self.state = State::Resolving;
                        Ok(Next::Yield)
                    }
                }
            }
            Checkout::Wait => {
                self.text(h, || "No connection available, the transfer waits".into());
                self.state = State::Pending;
                Ok(Next::Yield)
            }
        }
    }

    /// The resolver answered.
    pub(crate) fn on_resolved(&mut self, answer: Answer, now: Instant) {
        self.info.namelookup_time = now.saturating_duration_since(self.started.unwrap_or(now));
        match answer {
            Ok(addrs) => {
                self.addrs = Some(addrs);
                self.next_addr = 0;
                self.last_connect_error = None;
                self.state = State::Connecting;
            }
            Err(msg) => {
                // Reported by the Connecting step so that the failure path is the same.
                self.addrs = Some(Arc::from([]));
                self.last_connect_error = Some(Error::new(
                    ErrorKind::CouldntResolveHost,
                    // Display reads "could not resolve host: HOST: why".
                    if msg.starts_with(target!(self).host.as_str()) {
                        msg
                    } else {
                        format!("{}: {msg}", target!(self).host)
                    },
                ));
                self.state = State::Connecting;
            }
        }
    }

    // ----- Connecting ----------------------------------------------------------------------

    fn on_connecting(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        loop {
            if self.conn.is_none() {
                let addrs = self.addrs.clone().unwrap_or_else(|| Arc::from([]));
                let Some(&addr) = addrs.get(self.next_addr) else {
                    return Err(self.connect_failed(now));
                };
                self.next_addr += 1;
                self.text(h, || format!("Trying {addr}..."));
                let tcp = match Stream::tcp(addr) {
                    Ok(t) => t,
                    Err(e) => {
                        self.last_connect_error = Some(
                            Error::new(ErrorKind::CouldntConnect, format!("{addr}: {e}"))
                                .with_source(e),
                        );
                        continue;
                    }
                };
                let stream = if target!(self).scheme.is_tls() {
                    let (_, cfg) = core.tls.get(&self.opts.tls)?;
                    Stream::new_tls(tcp, tls::connect(cfg, &target!(self).host)?)
                } else {
                    Stream::Tcp(tcp)
                };
                let key = self
                    .slot_key
                    .clone()
                    .ok_or_else(|| Error::from_kind(ErrorKind::Internal))?;
                let serial = core.next_serial();
                let mut conn = Box::new(Conn::new(stream, addr, key, serial));
                core.register(&mut conn, id)
                    .map_err(|e| Error::new(ErrorKind::CouldntConnect, e.to_string()))?;
                let left = addrs.len() - self.next_addr;
                let remaining = self
                    .deadline_connect
                    .map(|d| d.saturating_duration_since(now))
                    .unwrap_or(CONNECT_ATTEMPT_MAX);
                let per = if left > 0 {
                    (remaining / (left as u32 + 1)).min(CONNECT_ATTEMPT_MAX)
                } else {
                    remaining
                };
                self.deadline_attempt = Some(now + per);
                self.conn = Some(conn);
            }
            let conn = self.conn.as_mut().expect("set above");
            let before = conn.phase;
            match conn.connect_step() {
                Ok(ready) => {
                    if before == Phase::TcpConnecting && conn.phase != Phase::TcpConnecting {
                        self.info.connect_time =
                            now.saturating_duration_since(self.started.unwrap_or(now));
                        self.info.local_addr = conn.local;
                        self.info.remote_addr = Some(conn.remote);
                        self.info.num_connects += 1;
                        // The per-address deadline is for TCP only; the TLS handshake runs
                        // under the connect timeout (a slow handshake is not a bad address).
                        self.deadline_attempt = None;
                        let (serial, remote) = (conn.serial, conn.remote);
                        self.text(h, || {
                            format!("Connected to {} ({remote}) #{serial}", target!(self).host)
                        });
                    }
                    if !ready {
                        return Ok(Next::Yield);
                    }
                    if target!(self).scheme.is_tls() {
                        self.info.appconnect_time =
                            now.saturating_duration_since(self.started.unwrap_or(now));
                        self.text(h, || "TLS handshake done".into());
                    }
                    self.deadline_attempt = None;
                    self.begin_request(core, h, now)?;
                    return Ok(Next::Again);
                }
                Err(e) => {
                    let c = self.conn.take().expect("set above");
                    let tcp_phase = c.phase == Phase::TcpConnecting;
                    core.drop_attempt(c);
                    if tcp_phase && e.kind() == ErrorKind::CouldntConnect {
                        self.text(h, || format!("connect failed: {e}"));
                        self.last_connect_error = Some(e);
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Every address failed (or there was none): the last failure, said the way curl says
    /// it ("Failed to connect to HOST port PORT after N ms: why").
    fn connect_failed(&mut self, now: Instant) -> Error {
        let last = self.last_connect_error.take();
        if let Some(e) = last
            .as_ref()
            .filter(|e| e.kind() == ErrorKind::CouldntResolveHost)
        {
            return Error::new(e.kind(), e.detail().unwrap_or_default().to_owned());
        }
        let kind = last.as_ref().map_or(ErrorKind::CouldntConnect, Error::kind);
        let why = last
            .as_ref()
            .and_then(Error::detail)
            .unwrap_or("no address to connect to");
        let msg = format!(
            "failed to connect to {} after {} ms: {why}",
            self.peer_text(),
            self.elapsed_ms(now)
        );
        match last.and_then(|e| e.into_source()) {
            Some(src) => Error::new(kind, msg).with_source(src),
            None => Error::new(kind, msg),
        }
    }

    /// `HOST port PORT` of the current target, for messages.
    fn peer_text(&self) -> String {
        format!("{} port {}", target!(self).host, target!(self).port)
    }

    /// Milliseconds since the transfer started.
    fn elapsed_ms(&self, now: Instant) -> u128 {
        now.saturating_duration_since(self.started.unwrap_or(now))
            .as_millis()
    }

    // ----- the request -------------------------------------------------------------------

    fn begin_request(&mut self, core: &mut Core, h: &mut dyn Handler, now: Instant) -> Result<()> {
        self.state = State::Active;
        if let Some((_, time)) = self.opts.low_speed {
            self.lowspeed = Some((now + time, self.info.size_download + self.info.size_upload));
        }
        self.info.pretransfer_time = now.saturating_duration_since(self.started.unwrap_or(now));
        if self.info.effective_url != target!(self).url.as_str() {
            self.info.effective_url.clear();
            self.info.effective_url.push_str(target!(self).url.as_str());
        }
        let is_ws = target!(self).scheme.is_ws();
        let method: &str = match (&self.opts.method, &self.body) {
            (_, _) if is_ws => "GET",
            (Some(m), _) => m,
            (None, Body::Bytes(_)) => "POST",
            (None, Body::Read(_)) => "PUT",
            (None, Body::None) => "GET",
        };
        if self.method != method {
            self.method = match method {
                "GET" => "GET".into(),
                "POST" => "POST".into(),
                "PUT" => "PUT".into(),
                "HEAD" => "HEAD".into(),
                other => other.to_owned().into(),
            };
        }
        // Take over the storage the connection's last transfer left behind.
        if let Some(c) = self.conn.as_mut() {
            if self.head_buf.capacity() == 0 {
                std::mem::swap(&mut self.head_buf, &mut c.head_buf);
            }
            if self.parser.is_none() {
                self.parser = c.parser.take().filter(|p| p.has_limits(&self.opts.limits));
            }
        }
        self.framing = self.request_framing(is_ws)?;
        self.expect_continue = self.write_request_head(core, is_ws)?;
        if self.opts.verbose {
            h.debug(DebugKind::HeaderOut, &self.head_buf);
        }
        self.head_sent = 0;
        self.body_sent = 0;
        self.ubuf_pos = 0;
        self.ubuf.clear();
        self.upload_eof = false;
        self.send = Send::Head;
        self.recv = Recv::Head;
        match &mut self.parser {
            Some(p) => p.reset(),
            None => self.parser = Some(ResponseParser::new(&self.opts.limits)),
        }
        self.head = None;
        self.heads_bytes = 0;
        self.decoder = None;
        self.content = None;
        self.discard = false;
        self.redirect = None;
        self.got_bytes = false;
        Ok(())
    }

    /// How the request's body is delimited: from the body and the framing the caller's
    /// headers ask for, in one place ([`framing::decide`]); a conflict is a caller error.
    fn request_framing(&self, is_ws: bool) -> Result<Framing> {
        let user: &[(String, String)] = if self.body_dropped {
            &[]
        } else {
            &self.opts.headers
        };
        let source = match &self.body {
            _ if is_ws => BodySource::None,
            Body::None => BodySource::None,
            Body::Bytes(b) => BodySource::Known(b.len() as u64),
            Body::Read(Some(n)) => BodySource::Known(*n),
            Body::Read(None) => BodySource::Unknown,
        };
        let wants_length = !is_ws && matches!(&*self.method, "POST" | "PUT");
        let framing = framing::decide(user, source, wants_length)
            .map_err(|e| Error::new(ErrorKind::BadFunctionArgument, e.to_string()))?;
        if is_ws && framing != Framing::None {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                "a WebSocket upgrade request has no body: no Content-Length or Transfer-Encoding",
            ));
        }
        Ok(framing)
    }

    /// Writes the request head straight into the reused head buffer (no field list, no owned
    /// pairs). The rules for the caller's headers are the manual's table ("Request headers
    /// the engine also sets"). Returns whether to wait for `100 Continue`.
    fn write_request_head(&mut self, core: &mut Core, is_ws: bool) -> Result<bool> {
        let mut ws_extra: Vec<(String, String)> = Vec::new();
        if is_ws {
            self.ws_request_headers(core, &mut ws_extra)?;
        }
        let bad = |e: crate::proto::http1::RequestError| {
            Error::new(ErrorKind::BadFunctionArgument, e.to_string())
        };
        let user_headers = &self.opts.headers;
        let has = |n: &str| user_headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        // A user Host replaces ours in its place, first after the request line (RFC 9112
        // §3.2); an empty one removes it. After a redirect to another host it is that
        // host's own (curl: the custom Host only "if this is NOT a redirect" to elsewhere).
        let same_host = self.redirected.is_none()
            || self
                .opts
                .target
                .host
                .eq_ignore_ascii_case(&target!(self).host);
        let user_host = user_header(user_headers, "host").filter(|_| same_host);
        let mut w = match (&self.method, user_host) {
            // A built-in method and the parsed URL's parts: valid by construction.
            (std::borrow::Cow::Borrowed(m), None) => HeadWriter::start_valid(
                &mut self.head_buf,
                m,
                &target!(self).request_target,
                &target!(self).host_header,
            ),
            _ => HeadWriter::start(
                &mut self.head_buf,
                &self.method,
                &target!(self).request_target,
                user_host.unwrap_or(&target!(self).host_header),
            )
            .map_err(bad)?,
        };
        for (n, v) in &ws_extra {
            w.field(n, v).map_err(bad)?;
        }
        if let Some(ua) = &self.opts.user_agent {
            if !has("user-agent") {
                w.field("User-Agent", ua).map_err(bad)?;
            }
        }
        if !has("accept") {
            w.line(b"Accept: */*\r\n");
        }
        if self.opts.accept_encoding && !has("accept-encoding") {
            w.line(b"Accept-Encoding: gzip, deflate\r\n");
        }
        match self.framing {
            Framing::None => {}
            Framing::Length(n) => w.trusted_num("Content-Length", n),
            Framing::Chunked => w.line(b"Transfer-Encoding: chunked\r\n"),
        }
        if self.method == "POST" && matches!(self.body, Body::Bytes(_)) && !has("content-type") {
            w.trusted("Content-Type", "application/x-www-form-urlencoded");
        }
        let mut expect_continue = false;
        if let (Body::Read(_), false) = (&self.body, is_ws) {
            let big = match self.framing {
                Framing::Length(n) => n > EXPECT_100_THRESHOLD,
                _ => true,
            };
            match user_header(user_headers, "expect") {
                None if big => {
                    w.trusted("Expect", "100-continue");
                    expect_continue = true;
                }
                Some(v) if v.eq_ignore_ascii_case("100-continue") => expect_continue = true,
                _ => {}
            }
        }
        // Credentials go to the first origin only, compared at every hop (curl's
        // `Curl_auth_allowed_to_host`), unless unrestricted_auth.
        let cross_origin = self.redirected.is_some()
            && !self.opts.unrestricted_auth
            && !self.opts.target.same_origin(target!(self));
        let dropped = self.body_dropped;
        for (n, v) in user_headers {
            let skip = v.is_empty()
                || n.eq_ignore_ascii_case("host")
                || framing::is_framing_header(n)
                || (dropped && n.eq_ignore_ascii_case("content-type"))
                || (cross_origin
                    && (n.eq_ignore_ascii_case("authorization")
                        || n.eq_ignore_ascii_case("cookie")
                        || n.eq_ignore_ascii_case("proxy-authorization")));
            if !skip {
                w.field(n, v).map_err(bad)?;
            }
        }
        w.finish();
        Ok(expect_continue)
    }

    // ----- Active: send and receive ----------------------------------------------------

    fn on_active(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        // Paused data first.
        if !self.held.is_empty() && !self.ctl.recv_paused {
            let held = std::mem::take(&mut self.held);
            let flow = self.deliver(core, id, h, &held)?;
            if flow == Flow::Pause {
                return Ok(Next::Yield);
            }
            if self.state != State::Active {
                return Ok(Next::Again);
            }
        }
        if self.finish_after_held && self.held.is_empty() {
            self.finish_after_held = false;
            self.complete(Ok(()), now);
            return Ok(Next::Again);
        }
        if self.send != Send::Done && !self.ctl.send_paused {
            if let Err(e) = self.do_send(core, id, h, now) {
                if self.can_retry(h) && is_conn_failure(&e) {
                    return self.retry(core, h, e);
                }
                return Err(e);
            }
        }
        if let Some(c) = self.conn.as_mut() {
            if c.writable && c.wants_write() {
                c.flush_tls()
                    .map_err(|e| Error::new(ErrorKind::SendError, e.to_string()).with_source(e))?;
            }
        }
        if self.state != State::Active {
            return Ok(Next::Again);
        }
        let waiting = self.send == Send::WaitContinue;
        let next = self.do_recv(core, id, h, now)?;
        if waiting && self.send == Send::Body && self.state == State::Active {
            // A 100 Continue arrived: send the body now (no socket event will ask for it).
            return Ok(Next::Again);
        }
        Ok(next)
    }

    fn do_send(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(());
            };
            match self.send {
                Send::Done | Send::WaitContinue => return Ok(()),
                Send::Head => {
                    let head = &self.head_buf[self.head_sent..];
                    let is_ws = target!(self).scheme.is_ws();
                    // A body in memory framed by its length goes out with the head.
                    let body: &[u8] = match (&self.body, self.framing) {
                        (Body::Bytes(b), Framing::Length(_)) if !self.expect_continue => &b[..],
                        _ => &[],
                    };
                    let n = match conn.write_vectored(&[IoSlice::new(head), IoSlice::new(body)]) {
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(e) => return Err(send_error(e)),
                    };
                    let hn = n.min(head.len());
                    self.head_sent += hn;
                    let bn = n - hn;
                    if bn > 0 {
                        self.body_sent += bn as u64;
                        self.info.size_upload += bn as u64;
                        self.progress_dirty = true;
                        let sent = &body[..bn];
                        if self.opts.verbose {
                            h.debug(DebugKind::DataOut, sent);
                        }
                    }
                    if self.head_sent == self.head_buf.len() {
                        self.info.request_size += self.head_buf.len() as u64;
                        self.send = if is_ws {
                            // A WebSocket upgrade has no body: a read callback feeds frames
                            // once the connection is open.
                            Send::Done
                        } else if self.expect_continue {
                            self.deadline_expect = Some(now + self.opts.expect_100_timeout);
                            Send::WaitContinue
                        } else {
                            Send::Body
                        };
                    }
                }
                Send::Body => match (&self.body, self.framing) {
                    (_, Framing::None) | (Body::None, Framing::Length(_)) => self.send = Send::Done,
                    (Body::Bytes(b), Framing::Length(_)) => {
                        let rest = &b[self.body_sent as usize..];
                        if rest.is_empty() {
                            self.send = Send::Done;
                            continue;
                        }
                        let n = match conn.write_vectored(&[IoSlice::new(rest)]) {
                            Ok(n) => n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                            Err(e) => return Err(send_error(e)),
                        };
                        if self.opts.verbose {
                            h.debug(DebugKind::DataOut, &rest[..n]);
                        }
                        self.body_sent += n as u64;
                        self.info.size_upload += n as u64;
                        self.progress_dirty = true;
                    }
                    // A reader, or chunks of a body in memory (or of none) the caller asked to
                    // have chunked: through the upload buffer.
                    (_, framing) => {
                        let size = match framing {
                            Framing::Length(n) => Some(n),
                            _ => None,
                        };
                        if self.ubuf_pos >= self.ubuf.len() {
                            if self.upload_eof {
                                self.send = Send::Done;
                                continue;
                            }
                            if !self.fill_upload(core, id, h, size)? {
                                return Ok(()); // paused
                            }
                            continue;
                        }
                        let conn = self.conn.as_mut().expect("checked");
                        let n = match conn
                            .write_vectored(&[IoSlice::new(&self.ubuf[self.ubuf_pos..])])
                        {
                            Ok(n) => n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                            Err(e) => return Err(send_error(e)),
                        };
                        self.ubuf_pos += n;
                        self.info.size_upload += n as u64;
                        self.progress_dirty = true;
                    }
                },
            }
        }
    }

    /// Ask the read callback for more body; frames it for chunked uploads. `Ok(false)` when
    /// the callback paused.
    fn fill_upload(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        size: Option<u64>,
    ) -> Result<bool> {
        const HDR: usize = 10; // hex length + CRLF fits for any chunk of this buffer
        let chunked = size.is_none();
        self.ubuf.clear();
        self.ubuf_pos = 0;
        let mut cap = UPLOAD_BUFFER_SIZE;
        if let Some(total) = size {
            let left = total.saturating_sub(self.body_sent);
            cap = cap.min(left as usize);
        }
        let start = if chunked { HDR } else { 0 };
        self.ubuf.resize(start + cap, 0);
        let r = match &self.body {
            _ if cap == 0 && !chunked => ReadResult::Data(0),
            Body::Read(_) => h.read(
                &mut Self::ctx(core, id, &mut self.ctl, &self.info),
                &mut self.ubuf[start..],
            ),
            Body::Bytes(b) => {
                let rest = &b[(self.body_sent as usize).min(b.len())..];
                let n = rest.len().min(cap);
                self.ubuf[start..start + n].copy_from_slice(&rest[..n]);
                ReadResult::Data(n)
            }
            Body::None => ReadResult::Data(0),
        };
        match r {
            ReadResult::Pause => {
                self.ubuf.clear();
                self.ctl.send_paused = true;
                Ok(false)
            }
            ReadResult::Abort => Err(Error::new(
                ErrorKind::AbortedByCallback,
                "read callback asked to abort",
            )),
            ReadResult::Data(n) if n > cap => Err(Error::new(
                ErrorKind::ReadError,
                "read callback returned more bytes than the buffer holds",
            )),
            ReadResult::Data(0) => {
                self.upload_eof = true;
                self.ubuf.clear();
                if chunked {
                    self.ubuf.extend_from_slice(LAST_CHUNK);
                } else if let Some(total) = size {
                    if self.body_sent < total {
                        return Err(Error::new(
                            ErrorKind::ReadError,
                            format!(
                                "read callback ended the body after {} of {total} bytes",
                                self.body_sent
                            ),
                        ));
                    }
                }
                Ok(true)
            }
            ReadResult::Data(n) => {
                if self.opts.verbose {
                    h.debug(DebugKind::DataOut, &self.ubuf[start..start + n]);
                }
                self.body_sent += n as u64;
                if chunked {
                    let mut hdr = Vec::with_capacity(HDR);
                    encode_chunk_header(n, &mut hdr);
                    let off = HDR - hdr.len();
                    self.ubuf[off..HDR].copy_from_slice(&hdr);
                    self.ubuf.truncate(HDR + n);
                    self.ubuf.extend_from_slice(b"\r\n");
                    self.ubuf_pos = off;
                } else {
                    self.ubuf.truncate(n);
                }
                Ok(true)
            }
        }
    }

    fn do_recv(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        let mut budget = STEP_RECV_BUDGET;
        loop {
            if self.ctl.recv_paused {
                return Ok(Next::Yield);
            }
            // Work through buffered bytes first. A body can also be complete with nothing
            // buffered (its last bytes were handed over just before a pause), or have decoded
            // output of consumed bytes still to deliver.
            let buffered = self.conn.as_ref().map_or(0, |c| c.buffered().len());
            let body_left = self.conn.is_some()
                && self.recv == Recv::Body
                && (self.decoder.as_ref().is_some_and(|d| d.is_done()) || self.content_pending());
            if buffered > 0 || body_left {
                let progressed = self.process_input(core, id, h, now)?;
                if self.state != State::Active {
                    return Ok(Next::Again);
                }
                if progressed {
                    continue;
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                return Ok(Next::Yield);
            };
            if !conn.readable {
                return Ok(Next::Yield);
            }
            if budget == 0 {
                self.budget_spent = true;
                return Ok(Next::Yield);
            }
            if conn.rbuf.is_empty() {
                conn.rbuf = core.bufs.take_rx();
            }
            conn.rbuf_max = if self.recv == Recv::Head {
                // The longest head allowed must fit whatever the buffer size.
                (self.opts.buffer_size).max(self.opts.limits.max_header_bytes.next_power_of_two())
            } else {
                self.opts.buffer_size
            };
            match conn.fill() {
                Ok(0) => return self.on_eof(core, h, now),
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    if !self.got_bytes {
                        self.got_bytes = true;
                        self.info.starttransfer_time =
                            now.saturating_duration_since(self.started.unwrap_or(now));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Next::Yield),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if !self.got_bytes && self.can_retry(h) {
                        return self.retry(core, h, recv_error(e));
                    }
                    return Err(recv_error(e));
                }
            }
        }
    }

    /// Consume buffered input. Returns whether anything was consumed.
    fn process_input(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<bool> {
        match self.recv {
            Recv::Head => self.on_recv_head(core, id, h, now),
            Recv::Body => self.on_recv_body(core, id, h, now),
        }
    }

    fn on_recv_head(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<bool> {
        let conn = self
            .conn
            .as_mut()
            .expect("active transfer has a connection");
        let parser = self.parser.as_mut().expect("set by begin_request");
        let head = match parser.parse(conn.buffered()) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(false),
            Err(e) => return Err(parse_error(e)),
        };
        conn.consume(head.head_len());
        self.info.header_size += head.head_len() as u64;
        self.heads_bytes += head.head_len();
        if self.heads_bytes > self.opts.limits.max_response_heads_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "response heads of one request over {} bytes",
                    self.opts.limits.max_response_heads_bytes
                ),
            ));
        }
        let verbose = self.opts.verbose;
        let wanted = h.wants_headers();
        if verbose || wanted {
            let mut ctx = Self::ctx(core, id, &mut self.ctl, &self.info);
            for line in head.lines() {
                if verbose {
                    h.debug(DebugKind::HeaderIn, line);
                }
                if wanted && h.header(&mut ctx, line) == Flow::Abort {
                    return Err(Error::new(
                        ErrorKind::AbortedByCallback,
                        "header callback asked to abort",
                    ));
                }
            }
        }
        let status = head.status();
        if target!(self).scheme.is_ws() && !(100..200).contains(&status)
            || status == 101 && target!(self).scheme.is_ws()
        {
            self.info.response_code = status;
            self.info.http_version = Some(match head.version() {
                Version::Http10 => HttpVersion::Http10,
                Version::Http11 => HttpVersion::Http11,
            });
            self.on_upgrade_response(core, &head, now)?;
            let ws = self.ws.as_deref_mut().map(|w| &mut w.session);
            let flow = h.ws_open(&mut Ctx {
                core,
                id,
                me: &mut self.ctl,
                info: &self.info,
                ws,
                ws_meta: None,
            });
            if flow == Flow::Abort {
                return Err(Error::new(
                    ErrorKind::AbortedByCallback,
                    "ws_open callback asked to abort",
                ));
            }
            return Ok(true);
        }
        if (100..200).contains(&status) {
            if status == 101 {
                return Err(Error::new(
                    ErrorKind::WeirdServerReply,
                    "101 Switching Protocols without an upgrade request",
                ));
            }
            if status == 100 && self.send == Send::WaitContinue {
                self.send = Send::Body;
                self.deadline_expect = None;
            }
            self.parser.as_mut().expect("set").reset();
            return Ok(true);
        }
        self.info.response_code = status;
        self.info.http_version = Some(match head.version() {
            Version::Http10 => HttpVersion::Http10,
            Version::Http11 => HttpVersion::Http11,
        });
        // The string of the last run (or the last response of this one) is reused, and
        // only rewritten when the type changed.
        let mut ct = self
            .info
            .content_type
            .take()
            .unwrap_or_else(|| std::mem::take(&mut self.spare_content_type));
        match head.content_type() {
            None => self.spare_content_type = ct,
            Some(v) => {
                if ct.as_bytes() != v {
                    ct.clear();
                    match std::str::from_utf8(v) {
                        Ok(t) => ct.push_str(t),
                        Err(_) => ct.push_str(&String::from_utf8_lossy(v)),
                    }
                }
                self.info.content_type = Some(ct);
            }
        }
        if self.send == Send::WaitContinue {
            // A final answer before we sent the body: do not send it; the connection cannot
            // carry another request (the server may still expect the body).
            self.send = Send::Done;
            self.deadline_expect = None;
            if let Some(c) = self.conn.as_mut() {
                c.no_reuse = true;
            }
        }
        let kind = body_kind(&head, self.method == "HEAD" || self.opts.nobody, false)
            .map_err(parse_error)?;
        let length = match kind {
            BodyKind::Length(n) => Some(n),
            _ => head.content_length().ok().flatten(),
        };
        self.info.content_length_download = match kind {
            BodyKind::None => length.filter(|_| self.method == "HEAD"),
            _ => length,
        };
        // Redirects.
        let is_redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
        let location = if is_redirect {
            head.header("location")
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
        } else {
            None
        };
        if let (true, Some(loc)) = (is_redirect, &location) {
            match target!(self).join(loc) {
                Ok(next) if self.opts.follow => {
                    if self.redirects >= self.opts.max_redirects {
                        return Err(Error::new(
                            ErrorKind::TooManyRedirects,
                            format!("maximum ({}) redirects followed", self.opts.max_redirects),
                        ));
                    }
                    if next.scheme.is_ws() != target!(self).scheme.is_ws() {
                        return Err(Error::new(
                            ErrorKind::UnsupportedProtocol,
                            format!("redirect to {} changes the protocol", next.url),
                        ));
                    }
                    self.text(h, || {
                        format!("Issue another request to this URL: '{}'", next.url)
                    });
                    self.redirect = Some((status, Box::new(next)));
                    self.discard = true;
                }
                Ok(next) => self.info.redirect_url = Some(next.url.to_string()),
                Err(e) if self.opts.follow => return Err(e),
                Err(_) => {}
            }
        }
        if self.opts.fail_on_error && status >= 400 && self.redirect.is_none() {
            return Err(Error::new(
                ErrorKind::HttpReturnedError,
                format!("the requested URL returned error: {status}"),
            ));
        }
        if let (Some(max), Some(len)) = (self.opts.max_filesize, length) {
            if len > max && self.redirect.is_none() {
                return Err(Error::new(
                    ErrorKind::FileSizeExceeded,
                    format!("Content-Length {len} exceeds the maximum file size {max}"),
                ));
            }
        }
        if self.redirect.is_some() {
            let drainable = match kind {
                BodyKind::None => true,
                BodyKind::Length(n) => n <= REDIRECT_DRAIN_MAX,
                _ => false,
            };
            if !drainable {
                // Not worth reading: close the connection instead.
                if let Some(c) = self.conn.as_mut() {
                    c.no_reuse = true;
                }
                self.head = Some(head);
                self.finish_response(core, h, now, false)?;
                return Ok(true);
            }
        }
        if !self.discard && self.opts.accept_encoding && kind != BodyKind::None {
            match head.content_encoding() {
                Some(ContentCoding::Identity) | None => {}
                Some(coding) => self.start_content_decoding(coding),
            }
        }
        self.decoder = Some(BodyDecoder::new(kind, &self.opts.limits));
        self.head = Some(head);
        self.recv = Recv::Body;
        if kind == BodyKind::None {
            self.finish_response(core, h, now, true)?;
        }
        Ok(true)
    }

    fn on_recv_body(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<bool> {
        let mut any = false;
        if self.content_pending() {
            // Decoded output of bytes already consumed goes before any new body bytes.
            any = true;
            if !self.drain_content(core, id, h)? {
                return Ok(true);
            }
        }
        loop {
            let conn = self
                .conn
                .as_mut()
                .expect("active transfer has a connection");
            let decoder = self.decoder.as_mut().expect("set with Recv::Body");
            let input = &conn.rbuf[conn.rpos..conn.rend];
            let (n, decoded) = decoder.decode(input).map_err(parse_error)?;
            match decoded {
                Decoded::Data(data) => {
                    any = true;
                    self.progress_dirty = true;
                    if let Some(max) = self.opts.max_filesize {
                        if self.info.size_download + data.len() as u64 > max {
                            return Err(Error::new(
                                ErrorKind::FileSizeExceeded,
                                format!("body exceeds the maximum file size {max}"),
                            ));
                        }
                    }
                    if self.discard {
                        self.info.size_download += data.len() as u64;
                        conn.consume(n);
                        continue;
                    }
                    // Counted before the callback sees the data (given-back bytes taken out
                    // again below).
                    self.info.size_download += data.len() as u64;
                    let limited = self.opts.max_filesize.is_some();
                    let mut ctx = Self::ctx(core, id, &mut self.ctl, &self.info);
                    let (used, flow) = match self.content.as_mut() {
                        None => {
                            if self.opts.verbose {
                                h.debug(DebugKind::DataIn, data);
                            }
                            let r = h.write(&mut ctx, data);
                            if r == Flow::Pause {
                                self.held.extend_from_slice(data);
                            }
                            (data.len(), r)
                        }
                        Some(cd) => {
                            let (used, r) = content::write_decoded(
                                cd,
                                &mut self.decoded,
                                data,
                                h,
                                &mut ctx,
                                &mut self.held,
                            )
                            .map_err(|e| content::decode_error(e, limited))?;
                            if self.opts.verbose {
                                h.debug(DebugKind::DataIn, &data[..used]);
                            }
                            (used, r)
                        }
                    };
                    // Bytes not decoded yet (a pause) stay buffered for the next round.
                    let unused = data.len() - used;
                    decoder.give_back(unused);
                    conn.consume(n - unused);
                    self.info.size_download -= unused as u64;
                    self.on_write_flow(flow)?;
                    if self.ctl.recv_paused || self.ctl.removed {
                        return Ok(true);
                    }
                }
                Decoded::Trailer(line) => {
                    any = true;
                    let line = line.to_vec();
                    conn.consume(n);
                    if self.opts.verbose {
                        h.debug(DebugKind::HeaderIn, &line);
                    }
                    if !self.discard && h.wants_headers() {
                        let flow =
                            h.header(&mut Self::ctx(core, id, &mut self.ctl, &self.info), &line);
                        if flow == Flow::Abort {
                            return Err(Error::new(
                                ErrorKind::AbortedByCallback,
                                "header callback asked to abort",
                            ));
                        }
                    }
                }
                Decoded::Done => {
                    conn.consume(n);
                    self.finish_response(core, h, now, true)?;
                    return Ok(true);
                }
                Decoded::NeedMore => {
                    conn.consume(n);
                    return Ok(any || n > 0);
                }
            }
        }
    }

    fn on_eof(&mut self, core: &mut Core, h: &mut dyn Handler, now: Instant) -> Result<Next> {
        if let Some(c) = self.conn.as_mut() {
            c.no_reuse = true;
        }
        match self.recv {
            Recv::Head => {
                let partial = self.conn.as_ref().is_some_and(|c| !c.buffered().is_empty());
                if !self.got_bytes && self.can_retry(h) {
                    return self.retry(
                        core,
                        h,
                        Error::new(ErrorKind::GotNothing, "pooled connection was closed"),
                    );
                }
                if partial || self.got_bytes {
                    Err(Error::new(
                        ErrorKind::WeirdServerReply,
                        "connection closed in the middle of the response head",
                    ))
                } else {
                    Err(Error::new(ErrorKind::GotNothing, "empty reply from server"))
                }
            }
            Recv::Body => {
                let decoder = self.decoder.as_mut().expect("set with Recv::Body");
                match decoder.decode_eof() {
                    Ok(()) => {
                        self.finish_response(core, h, now, false)?;
                        Ok(Next::Again)
                    }
                    Err(ParseError::TruncatedBody { expected, received }) => Err(Error::new(
                        ErrorKind::PartialFile,
                        match expected {
                            Some(n) => format!(
                                "transfer closed with {} bytes remaining to read",
                                n.saturating_sub(received)
                            ),
                            None => {
                                "transfer closed with outstanding read data remaining".to_string()
                            }
                        },
                    )),
                    Err(e) => Err(parse_error(e)),
                }
            }
        }
    }

    /// The response is complete: flush the content decoder, give back the connection, then
    /// either follow a redirect or finish.
    fn finish_response(
        &mut self,
        core: &mut Core,
        h: &mut dyn Handler,
        now: Instant,
        clean: bool,
    ) -> Result<()> {
        if let Some(mut cd) = self.content.take() {
            // Every piece was delivered before the body could end (see `on_recv_body`).
            cd.finish()
                .map_err(|e| content::decode_error(e, self.opts.max_filesize.is_some()))?;
        }
        let keep = clean
            && self.send == Send::Done
            && !self.opts.forbid_reuse
            && !sent_connection_close(&self.opts.headers)
            && self.head.as_ref().is_some_and(|h| h.keep_alive())
            && self.decoder.as_ref().is_none_or(|d| d.is_done())
            && self.conn.as_ref().is_some_and(|c| c.buffered().is_empty());
        if let Some(mut conn) = self.conn.take() {
            self.slot_key = None;
            if !keep {
                self.text(h, || format!("Closing connection #{}", conn.serial));
            } else {
                // Leave the per-request storage to the connection's next transfer.
                conn.head_buf = std::mem::take(&mut self.head_buf);
                if let Some(mut p) = self.parser.take() {
                    if let Some(head) = self.head.take() {
                        p.recycle(head);
                    }
                    conn.parser = Some(p);
                }
            }
            core.release(conn, keep);
        }
        if let Some((status, next)) = self.redirect.take() {
            return self.follow(h, status, next, now);
        }
        if !self.held.is_empty() {
            // Paused with data still to hand over: complete once it has been delivered.
            self.state = State::Active;
            self.send = Send::Done;
            self.finish_after_held = true;
            return Ok(());
        }
        self.complete(Ok(()), now);
        Ok(())
    }
}

impl Transfer {
    /// Hand `data` to the write callback outside the body decoder (held and flushed data).
    fn deliver(
        &mut self,
        core: &mut Core,
        id: TransferId,
        h: &mut dyn Handler,
        data: &[u8],
    ) -> Result<Flow> {
        let flow = h.write(&mut Self::ctx(core, id, &mut self.ctl, &self.info), data);
        match flow {
            Flow::Continue => Ok(flow),
            Flow::Pause => {
                self.held.extend_from_slice(data);
                self.ctl.recv_paused = true;
                Ok(flow)
            }
            Flow::Abort => Err(Error::new(
                ErrorKind::WriteError,
                "write callback refused the data",
            )),
        }
    }

    /// Set up the next request of a redirect chain (RFC 9110 §15.4).
    fn follow(
        &mut self,
        h: &mut dyn Handler,
        status: u16,
        next: Box<Target>,
        now: Instant,
    ) -> Result<()> {
        let post_to_get = match status {
            303 => self.method != "HEAD",
            301 | 302 => self.method == "POST",
            _ => false,
        };
        if post_to_get {
            self.method = "GET".into();
            self.opts.method = None;
            self.body = Body::None;
            self.body_dropped = true;
        } else if let Body::Read(_) = self.body {
            if self.body_sent > 0 && !h.rewind() {
                return Err(Error::new(
                    ErrorKind::SendFailRewind,
                    "cannot resend the upload for the redirect",
                ));
            }
        }
        self.redirects += 1;
        self.info.redirect_count = self.redirects;
        self.info.redirect_time = now.saturating_duration_since(self.started.unwrap_or(now));
        self.info.effective_url = next.url.to_string();
        self.redirected = Some(next);
        self.retried = false;
        self.fresh = self.opts.fresh_connect;
        self.deadline_connect = None;
        self.state = State::Init;
        Ok(())
    }

    /// A request on a reused connection may be retried once when the server closed that
    /// connection before answering (a keep-alive race), and the body can be sent again.
    fn can_retry(&mut self, h: &mut dyn Handler) -> bool {
        if !self.info.reused || self.retried || self.got_bytes {
            return false;
        }
        match self.body {
            Body::None | Body::Bytes(_) => true,
            Body::Read(_) => self.body_sent == 0 || h.rewind(),
        }
    }

    fn retry(&mut self, core: &mut Core, h: &mut dyn Handler, why: Error) -> Result<Next> {
        self.text(h, || {
            format!("Connection died ({why}), retrying with a fresh connection")
        });
        if let Some(conn) = self.conn.take() {
            core.release(conn, false);
        }
        self.slot_key = None;
        self.retried = true;
        self.fresh = true;
        self.info.reused = false;
        self.deadline_connect = None;
        self.state = State::Init;
        Ok(Next::Again)
    }

    fn complete(&mut self, result: Result<()>, now: Instant) {
        self.info.total_time = now.saturating_duration_since(self.started.unwrap_or(now));
        self.result = Some(result);
        self.state = State::Done;
        self.held = Vec::new();
        self.ubuf = Vec::new();
        self.decoded = Vec::new();
        self.parser = None;
        self.decoder = None;
        self.content = None;
    }

    fn fail(&mut self, core: &mut Core, h: &mut dyn Handler, e: Error, now: Instant) {
        self.text(h, || format!("{e}"));
        self.release_resources(core);
        self.complete(Err(e), now);
    }

    /// Close the connection (its state is unknown) and give back any connection slot.
    fn release_resources(&mut self, core: &mut Core) {
        if let Some(conn) = self.conn.take() {
            core.release(conn, false);
            self.slot_key = None;
        }
        if let Some(key) = self.slot_key.take() {
            core.release_slot(&key);
        }
    }

    /// A callback panicked in the middle of a step.
    pub(crate) fn fail_after_panic(&mut self, core: &mut Core, now: Instant) {
        self.release_resources(core);
        self.complete(
            Err(Error::new(
                ErrorKind::AbortedByCallback,
                "a callback panicked",
            )),
            now,
        );
    }

    /// The transfer is being removed before it finished.
    pub(crate) fn abandon(&mut self, core: &mut Core) {
        self.release_resources(core);
        self.complete(Err(crate::multi::core::cancelled()), Instant::now());
        self.reported = true;
    }
}

/// The value of the last user header called `name`.
fn user_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether the request carried `Connection: close`: then the client must not send another
/// request on the connection (RFC 9112 §9.6), whatever the server answers.
fn sent_connection_close(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

fn is_conn_failure(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::SendError | ErrorKind::RecvError)
}

fn send_error(e: io::Error) -> Error {
    Error::new(ErrorKind::SendError, e.to_string()).with_source(e)
}

fn recv_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            let kind = if tls::is_handshake_alert(inner) {
                ErrorKind::SslConnectError
            } else {
                ErrorKind::RecvError
            };
            let msg = format!("TLS: {inner}");
            return Error::new(kind, msg).with_source(e);
        }
    }
    Error::new(ErrorKind::RecvError, e.to_string()).with_source(e)
}

fn parse_error(e: ParseError) -> Error {
    let kind = match &e {
        ParseError::HeadTooLarge
        | ParseError::TooManyHeaders
        | ParseError::TrailerTooLarge
        | ParseError::ChunkExtTooLong
        | ParseError::DecodedTooLarge { .. } => ErrorKind::TooLarge,
        ParseError::TruncatedBody { .. } => ErrorKind::PartialFile,
        ParseError::BadContentEncoding => ErrorKind::BadContentEncoding,
        _ => ErrorKind::WeirdServerReply,
    };
    Error::new(kind, e.to_string()).with_source(e)
}
