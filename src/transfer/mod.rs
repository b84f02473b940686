//! One transfer's state machine (curl's `MSTATE`), driven by the multi.
//!
//! States, one function each: `Init` (pool checkout or connection slot) → `Pending` (over a
//! connection limit) → `Resolving` → `Connecting` (TCP, then TLS) → `Active` (request out,
//! response in; sending and receiving overlap, so an early answer stops an upload) → `Done`.
//! A followed redirect or a retry on a dead pooled connection goes back to `Init`.
//!
//! Callbacks are called at quiescent points only: the transfer holds no borrow into the
//! multi's tables, and re-reads its flags (pause, removal) after every callback.
//!
//! The files along the way: [`connect`] (`Init`, `Resolving`, `Connecting`), [`request`] (the
//! head and its framing), [`upload`] (sending the head and body), [`response`] (`Active`:
//! heads, body, end of response), [`content`] (decoding in bounded pieces), [`policy`]
//! (redirects, the retry on a reused connection), [`timers`] (deadlines), [`ws`] (the open
//! WebSocket). This file holds the transfer's state, its step loop and how it ends.

use std::sync::Arc;
use std::time::Instant;

use crate::ctx::Control;
use crate::ctx::Ctx;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Handler, Progress};
use crate::id::TransferId;
use crate::info::TransferInfo;
use crate::options::{Body, Options};
use crate::proto::http1::{Exchange, Framing, RequestShape, MAX_DECODED_BYTES};
use crate::transport::connector::Connector;
use crate::transport::{Conn, PoolKey};
use crate::url::Target;
use services::Services;

pub use content::DECODE_PIECE_SIZE;

/// The transfer's current target: `opts.target`, or where a redirect led. A macro rather than
/// a method so that it borrows only the two fields it reads.
macro_rules! target {
    ($x:expr) => {
        $x.redirected.as_deref().unwrap_or(&$x.opts.target)
    };
}

mod connect;
mod content;
pub(crate) mod cookies;
pub(crate) mod h2;
mod policy;
mod proxy;
mod rate;
mod request;
mod response;
pub(crate) mod services;
mod timers;
mod upload;
mod ws;

/// Bytes one transfer may receive in one step before yielding to the others (fairness); the
/// same bound applies to the decoded output of compressed bodies and messages.
pub const STEP_RECV_BUDGET: usize = 512 * 1024;
/// Size of the upload buffer the read callback fills.
pub const UPLOAD_BUFFER_SIZE: usize = 64 * 1024;
pub use crate::transport::connector::{CONNECT_ATTEMPT_MAX, HAPPY_EYEBALLS_TIMEOUT};

/// The exchange of a transfer that has not sent a request.
const IDLE_REQUEST: RequestShape = RequestShape {
    framing: Framing::None,
    no_response_body: false,
    expect_continue: false,
    upgrade: false,
    close: false,
};

/// Buffers up to this capacity are kept for the next run of an `Easy` (a request head, a
/// few held bytes); bigger ones (the 64 KiB upload buffer) are freed.
const KEEP_BUFFER: usize = 4096;

/// Empty a buffer for the next run, or drop it if it is big ([`KEEP_BUFFER`]).
fn keep(v: &mut Vec<u8>) {
    if v.capacity() > KEEP_BUFFER {
        *v = Vec::new();
    } else {
        v.clear();
    }
}

/// A state that should hold data did not (a bug, not a peer's doing): an `Internal` error
/// of that transfer, never a panic through the multi.
#[cold]
fn internal() -> Error {
    Error::from_kind(ErrorKind::Internal)
}

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

    started: Option<Instant>,
    /// The deadlines ([`timers`]).
    timers: timers::Deadlines,
    budget_spent: bool,
    /// Decoded (gzip, deflate) body bytes this step may still hand over: a bomb's output is
    /// shared out over turns like bytes read are.
    decode_budget: usize,

    // The current request (redirects change these). The target is `opts.target` until a
    // redirect is followed (no copy of it per transfer); see the `target!` macro.
    // Boxed (like `redirect`): rare, and the transfer stays small enough for the allocator's
    // fast path.
    redirected: Option<Box<Target>>,
    /// The request method: a static name for the usual ones (no allocation per request).
    method: std::borrow::Cow<'static, str>,
    /// Storage for `info.content_type`, kept from the last run of the same `Easy`.
    spare_content_type: String,
    /// Storage for the `Cookie` header value, reused from request to request.
    spare_cookie: String,
    /// The response parser of the last run on an HTTP/2 stream (on HTTP/1.1 it goes to the
    /// connection for its next transfer), reused by the next run of the same `Easy`.
    spare_parser: Option<Box<crate::proto::http1::ResponseParser>>,
    body: Body,
    /// The current request and its response, as a sans-IO state machine: what to send next,
    /// what a head means, whether the connection can be reused.
    exchange: Exchange,
    /// A redirect turned the request into a GET and dropped its body: the caller's headers
    /// about that body (Content-Type, framing) go with it.
    body_dropped: bool,
    slot_key: Option<Arc<PoolKey>>,
    /// The address walk of the connection being made (`Connecting`).
    connector: Option<Box<Connector>>,
    fresh: bool,
    retried: bool,
    redirects: u32,

    /// Sending the request ([`upload`]).
    up: upload::Upload,
    /// Receiving the response ([`response`]).
    rx: response::Receive,

    /// WebSocket state once the upgrade succeeded.
    pub(crate) ws: Option<Box<ws::WsState>>,
    ws_key: String,
    /// Connect-only WebSocket: the upgrade is done; report the transfer as finished.
    pub(crate) established: bool,
    /// Connect-only WebSocket: what this step found for the application (data or the end:
    /// `readable`; room after a refusal: `writable`), for [`Multi::ws_ready`](crate::Multi::ws_ready).
    pub(crate) ws_news: crate::ready::Ready,
    /// Its entry in the multi's list of ready connect-only transfers, while listed.
    pub(crate) ws_listed: Option<u32>,
    /// The HTTP/2 stream this transfer's request is on.
    pub(crate) h2_stream: Option<u32>,
    /// Times the request was sent again after an unprocessed stream ([`h2::H2_RETRY_MAX`]).
    h2_retries: u32,
    /// This run's WebSocket fell back to the HTTP/1.1 upgrade: the HTTP/2 connection did not
    /// allow extended CONNECT (RFC 8441).
    ws_h1: bool,
    /// The proxy of the current request, if any (chosen again at every hop).
    proxy: Option<Arc<crate::proxy::Proxy>>,
    /// The answer a server's `401` asked for, sent with the request again (Digest, or Basic
    /// for `HttpAuth::Any`); `auth_tried`: it was, once.
    auth_retry: Option<Box<request::AuthRetry>>,
    auth_tried: bool,
    /// The same for the proxy's `407` (`CURLOPT_PROXYAUTH`).
    proxy_retry: Option<Box<request::AuthRetry>>,
    proxy_auth_tried: bool,
}

impl Transfer {
    /// The transfer of a new `Easy`: it has not run.
    pub(crate) fn new(opts: Box<Options>, info: Box<TransferInfo>) -> Self {
        Transfer {
            redirected: None,
            method: std::borrow::Cow::Borrowed(""),
            spare_content_type: String::new(),
            spare_cookie: String::new(),
            spare_parser: None,
            body: Body::None,
            exchange: Exchange::new(IDLE_REQUEST),
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
            started: None,
            timers: timers::Deadlines::default(),
            budget_spent: false,
            decode_budget: STEP_RECV_BUDGET,
            slot_key: None,
            connector: None,
            fresh: false,
            retried: false,
            redirects: 0,
            up: upload::Upload::default(),
            rx: response::Receive::default(),
            ws: None,
            ws_key: String::new(),
            established: false,
            ws_news: crate::ready::Ready::NONE,
            ws_listed: None,
            h2_stream: None,
            h2_retries: 0,
            ws_h1: false,
            proxy: None,
            auth_retry: None,
            auth_tried: false,
            proxy_retry: None,
            proxy_auth_tried: false,
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
    /// the private multi of `perform`, and small buffers worth keeping for the next run (see
    /// [`keep`]). The pattern below names every field, so a field added to `Transfer` must be
    /// handled here; the groups (`timers`, `up`, `rx`) reset themselves the same way.
    pub(crate) fn end_run(&mut self) {
        let Transfer {
            opts: _,
            info: _,
            spare_content_type: _,
            spare_cookie: _,
            spare_parser: _,
            method: _,
            ctl,
            state,
            conn,
            dirty,
            armed,
            reported,
            result,
            started,
            timers,
            budget_spent,
            decode_budget,
            redirected,
            body,
            exchange,
            body_dropped,
            slot_key,
            connector,
            fresh,
            retried,
            redirects,
            up,
            rx,
            ws,
            ws_key,
            established,
            ws_news,
            ws_listed,
            h2_stream,
            h2_retries,
            ws_h1,
            proxy,
            auth_retry,
            auth_tried,
            proxy_retry,
            proxy_auth_tried,
        } = self;
        *ctl = Control::default();
        *state = State::Init;
        *conn = None;
        *dirty = false;
        *armed = None;
        *reported = false;
        *result = None;
        *started = None;
        *timers = timers::Deadlines::default();
        *budget_spent = false;
        *decode_budget = STEP_RECV_BUDGET;
        *redirected = None;
        *body = Body::None;
        *exchange = Exchange::new(IDLE_REQUEST);
        *body_dropped = false;
        *slot_key = None;
        *connector = None;
        *fresh = false;
        *retried = false;
        *redirects = 0;
        up.reset();
        rx.reset();
        *ws = None;
        ws_key.clear();
        *established = false;
        *ws_news = crate::ready::Ready::NONE;
        *ws_listed = None;
        *h2_stream = None;
        *h2_retries = 0;
        *ws_h1 = false;
        *proxy = None;
        *auth_retry = None;
        *auth_tried = false;
        *proxy_retry = None;
        *proxy_auth_tried = false;
    }

    /// Finished (its result is in, or it was reported done).
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Run the transfer as far as it can go now. Returns `true` when it stopped only because
    /// its budget ran out (run it again next turn).
    pub(crate) fn step<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> bool {
        if self.state == State::Done {
            return false;
        }
        self.budget_spent = false;
        self.decode_budget = STEP_RECV_BUDGET;
        if std::mem::take(&mut self.ctl.cancel) {
            let e = Error::new(ErrorKind::Cancelled, "transfer cancelled by a command");
            self.fail(core, h, e, now);
            return false;
        }
        if self.timers.due.is_some_and(|at| now >= at) {
            if let Err(e) = self.check_timers(core, id, h, now) {
                self.fail(core, h, e, now);
                return false;
            }
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
        if self.opts.progress && self.timers.progress_dirty && self.state != State::Done {
            self.timers.progress_dirty = false;
            if let Err(e) = self.call_progress(core, id, h) {
                self.fail(core, h, e, now);
                return false;
            }
        }
        self.budget_spent && self.state != State::Done && !self.ctl.recv_paused
    }

    /// Put this transfer's HTTP/2 stream input in place on the connection just lent to it.
    #[inline]
    pub(crate) fn enter_stream(&mut self) {
        if let (Some(c), Some(s)) = (self.conn.as_deref_mut(), self.h2_stream) {
            c.enter_stream(s);
        }
    }

    /// Before the connection goes back: take this transfer's HTTP/2 stream input out again,
    /// granting the window it consumed unless its receiving is paused.
    #[inline]
    pub(crate) fn leave_stream(&mut self) {
        if let (Some(c), Some(_)) = (self.conn.as_deref_mut(), self.h2_stream) {
            c.leave_stream_as(!self.ctl.recv_paused);
        }
    }

    fn ctx<'a, S: Services>(
        core: &'a mut S,
        id: TransferId,
        ctl: &'a mut Control,
        info: &'a TransferInfo,
    ) -> Ctx<'a> {
        Ctx::new(core, id, ctl, info, None, None)
    }

    fn text(&self, h: &mut dyn Handler, msg: impl FnOnce() -> String) {
        if self.opts.verbose {
            let mut m = msg();
            m.push('\n');
            h.debug(DebugKind::Text, m.as_bytes());
        }
    }

    fn call_progress<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<()> {
        let p = Progress {
            dltotal: self.info.content_length_download.unwrap_or(0),
            dlnow: self.info.size_download,
            ultotal: match &self.body {
                Body::Bytes(b) => b.len() as u64,
                Body::Read(Some(n)) => *n,
                Body::Mime(_) => match self.exchange.request().framing {
                    Framing::Length(n) => n,
                    _ => 0,
                },
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

    fn complete(&mut self, result: Result<()>, now: Instant) {
        self.info.total_time = now.saturating_duration_since(self.started.unwrap_or(now));
        self.result = Some(result);
        self.state = State::Done;
        if self.established {
            // A connect-only WebSocket ended after its upgrade: `recv` now says how.
            self.ws_news = crate::ready::Ready {
                readable: true,
                writable: false,
                error: true,
            };
        }
        self.rx.held = Vec::new();
        self.up.ubuf = Vec::new();
        self.rx.decoded = Vec::new();
        self.rx.decoder = None;
        self.rx.content = None;
        // A parser still here (the response ended on an HTTP/2 stream) serves the next run.
        if let Some(mut p) = self.rx.parser.take() {
            if let Some(head) = self.rx.head.take() {
                p.recycle_boxed(head);
            }
            self.spare_parser = Some(p);
        }
    }

    fn fail<S: Services>(&mut self, core: &mut S, h: &mut dyn Handler, e: Error, now: Instant) {
        self.text(h, || format!("{e}"));
        self.release_resources(core);
        self.complete(Err(e), now);
    }

    /// Close the connection (its state is unknown) and give back any connection slot.
    fn release_resources<S: Services>(&mut self, core: &mut S) {
        if let Some(racing) = self.connector.as_deref_mut().map(Connector::drain) {
            for c in racing {
                core.drop_attempt(c);
            }
        }
        if let Some(conn) = self.conn.take() {
            core.release(conn, false);
            self.slot_key = None;
        }
        if let Some(key) = self.slot_key.take() {
            core.release_slot(&key);
        }
    }

    /// A callback panicked in the middle of a step.
    pub(crate) fn fail_after_panic<S: Services>(&mut self, core: &mut S, now: Instant) {
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
    pub(crate) fn abandon<S: Services>(&mut self, core: &mut S, now: Instant) {
        self.release_resources(core);
        self.complete(Err(Error::cancelled()), now);
        self.reported = true;
    }
}
