//! The WebSocket states of a transfer: the upgrade (101 validation) and the open connection.
//!
//! After a valid 101 the transfer keeps its connection and a [`WsSession`]: bytes that came in
//! the same read as the 101 stay in the connection buffer and are the first WebSocket bytes.
//! In the callback model every chunk goes to the write callback with its metadata
//! ([`Ctx::ws_meta`](crate::Ctx::ws_meta)); in connect-only mode the transfer is reported done
//! at once and the application reads with [`WsHandle::recv`](crate::ws::WsHandle::recv), while
//! the multi keeps flushing the send queue, timing the close handshake and sending keepalive
//! pings.

use std::io::{self, IoSlice};
use std::time::Instant;

use super::services::Services;
use super::{internal, Next, State, Transfer};
use crate::ctx::Ctx;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Flow, Handler, ReadResult};
use crate::id::TransferId;
use crate::options::Body;
use crate::proto::http1::ResponseHead;
use crate::proto::ws::session::SendError;
use crate::proto::ws::session::{AbnormalClosure, CloseState, WsConfig, WsSession};
use crate::proto::ws::{deflate, handshake, ProtocolError};
use crate::transfer::STEP_RECV_BUDGET;
use crate::transport::{BufPool, Conn, Pull};
use crate::ws::{WsFrame, WsHandle};
use crate::ws::{BINARY, CONT, PONG, TEXT};

/// Most `ws_writable` rounds in one step; the rest continue next turn (fairness).
const WRITABLE_ROUNDS: usize = 16;

/// A transfer's WebSocket state.
pub(crate) struct WsState {
    pub(crate) session: WsSession,
    /// Metadata of a chunk held while the write callback paused.
    held_meta: Option<WsFrame>,
    /// Output buffer of [`WsSession::handle_input_into`] (inflated permessage-deflate data);
    /// the receive loop also runs while `inflate_pending()` (output of consumed input).
    pub(crate) rx_buf: Vec<u8>,
    close_deadline: Option<Instant>,
    /// Message mode: the message being reassembled (buffer reused across messages).
    msg_buf: Vec<u8>,
    /// Message mode: a whole message in `msg_buf` that a paused callback has not taken yet.
    msg_ready: Option<u32>,
    /// Keepalive: when bytes last arrived (connect-only: when the loop last learnt of any).
    last_rx: Instant,
    /// Keepalive: our ping is out; the pong must come before this.
    pong_deadline: Option<Instant>,
    /// Keepalive: rested while the callback model was paused; the interval starts again at
    /// the first step after the unpause.
    resting: bool,
}

/// A message-mode buffer larger than this is released after its message (idle connections
/// hold no large buffers).
const MSG_BUF_KEEP: usize = 64 * 1024;

/// Message mode: hand one whole message (or control frame) to [`Handler::ws_message`].
#[allow(clippy::too_many_arguments)]
fn deliver_message<S: Services>(
    h: &mut dyn Handler,
    core: &mut S,
    id: TransferId,
    ctl: &mut crate::ctx::Control,
    info: &crate::info::TransferInfo,
    session: &mut WsSession,
    msg: &[u8],
    flags: u32,
) -> Flow {
    let frame = WsFrame {
        flags: flags & !CONT,
        offset: 0,
        bytesleft: 0,
        len: msg.len(),
    };
    h.ws_message(
        &mut Ctx::new(core, id, ctl, info, Some(session), Some(frame)),
        msg,
        frame,
    )
}

/// Where a received chunk goes: the transfer's fields that delivering it touches.
struct Deliver<'a> {
    id: TransferId,
    ctl: &'a mut crate::ctx::Control,
    info: &'a crate::info::TransferInfo,
    /// A chunk the write callback paused on (callback model, frames).
    held: &'a mut Vec<u8>,
    message_mode: bool,
    session: &'a mut WsSession,
    held_meta: &'a mut Option<WsFrame>,
    /// Message mode: the message being gathered, and a whole one a pause holds.
    msg_buf: &'a mut Vec<u8>,
    msg_ready: &'a mut Option<u32>,
}

impl Deliver<'_> {
    /// Hand one received chunk over: to the write callback (frames), or to the message
    /// being reassembled and, once it is whole, to the message callback (message mode). A
    /// pause holds it for the unpause.
    fn chunk<S: Services>(
        self,
        h: &mut dyn Handler,
        core: &mut S,
        meta: WsFrame,
        payload: &[u8],
    ) -> Result<()> {
        if self.message_mode {
            return self.message_chunk(h, core, meta, payload);
        }
        let session = Some(self.session);
        let ctx = &mut Ctx::new(core, self.id, self.ctl, self.info, session, Some(meta));
        match h.write(ctx, payload) {
            Flow::Continue => Ok(()),
            Flow::Pause => {
                self.held.extend_from_slice(payload);
                *self.held_meta = Some(meta);
                self.ctl.recv_paused = true;
                Ok(())
            }
            Flow::Abort => Err(Error::new(
                ErrorKind::WriteError,
                "write callback refused the data",
            )),
        }
    }

    /// Message mode: a control frame or a message in one chunk goes over without a copy;
    /// fragments are gathered in the session's message buffer.
    fn message_chunk<S: Services>(
        self,
        h: &mut dyn Handler,
        core: &mut S,
        meta: WsFrame,
        payload: &[u8],
    ) -> Result<()> {
        let Deliver {
            id,
            ctl,
            info,
            session,
            msg_buf,
            msg_ready,
            ..
        } = self;
        let whole = meta.flags & (TEXT | BINARY) == 0 || meta.is_message_end();
        let flow = if whole && msg_buf.is_empty() {
            deliver_message(h, core, id, ctl, info, session, payload, meta.flags)
        } else {
            msg_buf.extend_from_slice(payload);
            if !whole {
                return Ok(());
            }
            let f = deliver_message(h, core, id, ctl, info, session, msg_buf, meta.flags);
            if f != Flow::Pause {
                msg_buf.clear();
                if msg_buf.capacity() > MSG_BUF_KEEP {
                    *msg_buf = Vec::new();
                }
            }
            f
        };
        match flow {
            Flow::Continue => Ok(()),
            Flow::Pause => {
                if msg_buf.is_empty() {
                    msg_buf.extend_from_slice(payload);
                }
                *msg_ready = Some(meta.flags & !CONT);
                ctl.recv_paused = true;
                Ok(())
            }
            Flow::Abort => Err(Error::new(
                ErrorKind::WriteError,
                "message callback refused the message",
            )),
        }
    }
}

/// The session of an accepted upgrade, with the options' limits and permessage-deflate
/// (RFC 7692) as the server's answer negotiated it, checked strictly.
fn new_session(
    o: &crate::options::WsOptions,
    extensions: &[String],
    rng: crate::rng::SecureRng,
) -> Result<WsSession> {
    let deflate = match &o.compress {
        Some(c) => deflate::negotiate(c, extensions)
            .map_err(|e| {
                Error::new(
                    ErrorKind::WeirdServerReply,
                    format!("bad WebSocket upgrade: permessage-deflate: {e}"),
                )
            })?
            .map(|n| (n, c.threshold, c.level.unwrap_or(deflate::DEFAULT_LEVEL))),
        None => None,
    };
    let cfg = WsConfig {
        max_frame_size: o.max_frame_size,
        max_message_size: o.max_message_size,
        max_send_queue: o.max_send_queue,
        auto_pong: o.auto_pong,
        raw_mode: o.raw_mode,
        validate_utf8: o.validate_utf8,
        allow_rsv1: false,
        max_close_finish: o.max_close_finish,
    };
    let mut session = WsSession::new(cfg, rng);
    if let Some((n, threshold, level)) = deflate {
        session.set_deflate_with_level(n, threshold, level);
    }
    Ok(session)
}

/// Queue what the read callback gave and the queue has not taken yet (continuing the frame
/// in progress, or as a new BINARY frame); whether all of it went.
fn queue_upload(session: &mut WsSession, up: &mut super::upload::Upload) -> Result<bool> {
    let flags = if session.frame_in_progress().is_some() {
        0
    } else {
        BINARY
    };
    match session.send(&up.ubuf[up.ubuf_pos..], flags, 0) {
        Ok(n) => up.ubuf_pos += n,
        Err(SendError::WouldBlock) => return Ok(false),
        Err(e) => return Err(upload_error(e)),
    }
    Ok(up.ubuf_pos >= up.ubuf.len())
}

/// How a session that [is done](WsSession::is_done) ended: a clean close, or why not.
fn session_result(s: &WsSession) -> Result<()> {
    if let Some(a) = s.abandoned() {
        return Err(Error::new(ErrorKind::SendError, a.to_string()).with_source(a));
    }
    if let Some(e) = s.error() {
        return Err(protocol_error(e));
    }
    if s.closed_abnormally() {
        return Err(Error::new(
            ErrorKind::WsProtocol,
            format!("connection closed without a close handshake: {AbnormalClosure}"),
        ));
    }
    Ok(())
}

/// The closing handshake did not complete within the close timeout: what was missing.
fn close_timeout_error(s: &WsSession) -> Error {
    if let Some(e) = s.error() {
        return protocol_error(e);
    }
    let detail = if s.frame_in_progress().is_some() {
        "the data frame in progress was not finished within the close timeout \
         (connection closed without a close frame)"
    } else if s.close_state() == CloseState::CloseSent {
        "no close frame from the peer within the close timeout"
    } else {
        "our close frame could not be written within the close timeout"
    };
    Error::new(ErrorKind::OperationTimedout, detail)
}

fn protocol_error(e: ProtocolError) -> Error {
    Error::new(
        ErrorKind::WsProtocol,
        format!("{e} (closed with {})", e.close_code()),
    )
    .with_source(e)
}

fn upload_error(e: SendError) -> Error {
    Error::new(
        ErrorKind::ReadError,
        format!(
            "read callback data could not be sent: {}",
            crate::ws::WsError::from(e)
        ),
    )
}

impl Transfer {
    /// The request headers of an upgrade (RFC 6455 §4.1). The user's own versions win.
    pub(crate) fn ws_request_headers<S: Services>(
        &mut self,
        core: &mut S,
        extra: &mut Vec<(String, String)>,
    ) -> Result<()> {
        let has = |n: &str| {
            self.opts
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(n))
        };
        if !has("upgrade") {
            extra.push(("Upgrade".into(), "websocket".into()));
        }
        if !has("connection") {
            extra.push(("Connection".into(), "Upgrade".into()));
        }
        if !has("sec-websocket-version") {
            extra.push(("Sec-WebSocket-Version".into(), "13".into()));
        }
        let user_key = self
            .opts
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-key"))
            .map(|(_, v)| v.clone());
        self.ws_key = match user_key {
            Some(k) => k,
            None => {
                let k = handshake::generate_key(core.rng()?);
                extra.push(("Sec-WebSocket-Key".into(), k.clone()));
                k
            }
        };
        if !self.opts.ws.protocols.is_empty() && !has("sec-websocket-protocol") {
            extra.push((
                "Sec-WebSocket-Protocol".into(),
                self.opts.ws.protocols.join(", "),
            ));
        }
        if let Some(c) = &self.opts.ws.compress {
            if !has("sec-websocket-extensions") {
                extra.push(("Sec-WebSocket-Extensions".into(), c.offer()));
            }
        }
        Ok(())
    }

    /// A final response to an upgrade request.
    pub(crate) fn on_upgrade_response<S: Services>(
        &mut self,
        core: &mut S,
        head: &ResponseHead,
        now: Instant,
    ) -> Result<()> {
        let status = head.status();
        // Over HTTP/2 the extended CONNECT is answered with a 2xx (RFC 8441 §5).
        let h2 = self.h2_stream.is_some();
        let accepted_status = if h2 {
            (200..300).contains(&status)
        } else {
            status == 101
        };
        if !accepted_status {
            if let Some(c) = self.conn.as_mut().filter(|_| !h2) {
                c.no_reuse = true;
            }
            return Err(Error::new(
                ErrorKind::HttpReturnedError,
                format!("refused WebSocket upgrade: {status}"),
            ));
        }
        let headers: Vec<(&str, &[u8])> = head.headers().collect();
        let (protocols, ext) = (&self.opts.ws.protocols, self.opts.ws.compress.is_some());
        let accepted = match h2 {
            true => handshake::validate_h2_response(status, &headers, protocols, ext),
            false => handshake::validate_response(status, &headers, &self.ws_key, protocols, ext),
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::WeirdServerReply,
                format!("bad WebSocket upgrade: {e}"),
            )
        })?;
        self.info.ws_protocol = accepted.protocol;
        let session = new_session(&self.opts.ws, &accepted.extensions, core.rng()?.fork())?;
        self.ws = Some(Box::new(WsState {
            session,
            rx_buf: Vec::new(),
            held_meta: None,
            close_deadline: None,
            msg_buf: Vec::new(),
            msg_ready: None,
            last_rx: now,
            pong_deadline: None,
            resting: false,
        }));
        self.info.starttransfer_time = now.saturating_duration_since(self.started.unwrap_or(now));
        self.state = State::Ws;
        if let Some(c) = self.conn.as_mut() {
            // Frames are streamed in chunks: the buffer size alone bounds the buffer.
            c.rbuf_max = self.opts.buffer_size;
            // The keepalive counts arrivals from the upgrade on.
            c.arrived = false;
        }
        // The HTTP side is over: an open WebSocket holds no request or response storage.
        self.rx.parser = None;
        self.up.head_buf = Vec::new();
        self.rx.decoded = Vec::new();
        self.up.ubuf = Vec::new();
        if self.opts.ws.connect_only {
            // curl CONNECT_ONLY=2: the transfer is "done" once the upgrade is; it stays in the
            // multi, which keeps flushing its send queue. The application may send now, and
            // read what came with the 101.
            self.established = true;
            self.ws_news = crate::ready::Ready::INOUT;
        }
        Ok(())
    }

    /// Give idle buffers back to the pool: the receive buffer once every byte is consumed,
    /// the send queue's storage once it is empty (called after every step).
    pub(crate) fn park_buffers(&mut self, pool: &mut BufPool) {
        // An HTTP/2 connection's receive buffer is the stream's inbox: it stays with the
        // stream (and goes to the connection's spares when the stream ends).
        if let Some(c) = self.conn.as_deref_mut().filter(|c| c.h2.is_none()) {
            pool.park_rx(c);
        }
        if let Some(ws) = self.ws.as_deref_mut() {
            if let Some(b) = ws.session.take_send_buffer() {
                pool.put_tx(b);
            }
        }
    }

    /// The close-handshake deadline and the keepalive's (next ping or pong due), if any run.
    pub(crate) fn ws_deadline(&self) -> Option<Instant> {
        let ws = self.ws.as_ref()?;
        let paused = self.ctl.recv_paused && !self.opts.ws.connect_only;
        let keepalive = match self.opts.ws.keepalive {
            Some(_) if ws.session.close_state() != CloseState::Open || paused => None,
            // Durations too long for the clock mean "never".
            Some((interval, _)) => ws.pong_deadline.or(ws.last_rx.checked_add(interval)),
            None => None,
        };
        [ws.close_deadline, keepalive].into_iter().flatten().min()
    }

    /// A borrowed handle on this transfer's session (and, in connect-only mode, its connection
    /// `conn` from the multi's table and, once the multi ended the transfer after the upgrade,
    /// how it ended).
    pub(crate) fn ws_handle<'a>(&'a mut self, conn: Option<&'a mut Conn>) -> Option<WsHandle<'a>> {
        /// What an ended callback-model transfer answers once its result was reported.
        static ENDED: Result<()> = Ok(());
        let connect_only = self.opts.ws.connect_only;
        let Transfer {
            ws, result, state, ..
        } = self;
        let ws = ws.as_deref_mut()?;
        if !connect_only {
            // Callback model: the completion message carries how it ended; after it, sends
            // (from another transfer's callback or from outside) answer `Closed`.
            let ended = (*state == State::Done).then(|| result.as_ref().unwrap_or(&ENDED));
            return Some(WsHandle {
                session: &mut ws.session,
                conn: None,
                meta: None,
                ended,
            });
        }
        Some(WsHandle {
            session: &mut ws.session,
            conn,
            meta: None,
            // The completion reported at the upgrade took the result: one there now is the end.
            ended: result.as_ref(),
        })
    }

    /// The open WebSocket: deliver received chunks (callback model), flush the send queue, run
    /// the close handshake.
    pub(super) fn on_ws<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        let Some(ws) = self.ws.as_deref_mut() else {
            return Err(Error::from_kind(ErrorKind::Internal));
        };
        if self.conn.is_none() {
            return Err(Error::from_kind(ErrorKind::Internal));
        }
        if !self.opts.ws.connect_only {
            // The callbacks below may send: their session gets its queue storage here, from
            // the pool (given back when drained), rather than through the callback's `Ctx`.
            super::services::lend_send_buffer(core.bufs(), &mut ws.session);
        }
        // A chunk or a message held back by a pause goes first.
        self.ws_deliver_held(core, id, h)?;
        if self.opts.ws.connect_only {
            self.ws_arrivals(now);
        } else if let Some(next) = self.ws_receive(core, id, h, now)? {
            return Ok(next);
        }
        if let Some(next) = self.ws_keepalive(core, now)? {
            return Ok(next);
        }
        if matches!(self.body, Body::Read(_)) && !self.up.eof && !self.ctl.send_paused {
            self.ws_read_callback(core, id, h)?;
        }
        self.ws_flush()?;
        self.ws_resume_writers(core, id, h)?;
        self.ws_check_end(core, h, now)
    }

    /// Deliver what a pause held back: a chunk (frames to the write callback) or a whole
    /// message (message mode).
    fn ws_deliver_held<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<()> {
        let Transfer {
            ws, rx, ctl, info, ..
        } = self;
        let held = &mut rx.held;
        let ws = ws.as_deref_mut().ok_or_else(internal)?;
        if !held.is_empty() && !ctl.recv_paused {
            let data = std::mem::take(held);
            let meta = ws.held_meta.take();
            let session = Some(&mut ws.session);
            match h.write(&mut Ctx::new(core, id, ctl, info, session, meta), &data) {
                Flow::Continue => {}
                Flow::Pause => {
                    *held = data;
                    ws.held_meta = meta;
                    ctl.recv_paused = true;
                }
                Flow::Abort => {
                    return Err(Error::new(
                        ErrorKind::WriteError,
                        "write callback refused the data",
                    ))
                }
            }
        }
        if ctl.recv_paused {
            return Ok(());
        }
        if let Some(flags) = ws.msg_ready.take() {
            let (session, msg) = (&mut ws.session, &ws.msg_buf);
            match deliver_message(h, core, id, ctl, info, session, msg, flags) {
                Flow::Pause => {
                    ws.msg_ready = Some(flags);
                    ctl.recv_paused = true;
                }
                Flow::Abort => {
                    return Err(Error::new(
                        ErrorKind::WriteError,
                        "message callback refused the message",
                    ))
                }
                Flow::Continue => ws.msg_buf.clear(),
            }
        }
        Ok(())
    }

    /// Resume senders the queue bound cut short. Each round may refill and drain the queue
    /// again without the socket ever blocking (so no event would come): loop, bounded, and
    /// carry on next turn if the budget runs out.
    fn ws_resume_writers<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<()> {
        let mut rounds = 0;
        loop {
            let Transfer { ws, ctl, info, .. } = self;
            let ws = ws.as_deref_mut().ok_or_else(internal)?;
            if !ws.session.take_writable() {
                return Ok(());
            }
            if self.opts.ws.connect_only {
                // The application learns of the room from `Multi::ws_ready` too.
                self.ws_news.writable = true;
            }
            rounds += 1;
            if rounds > WRITABLE_ROUNDS {
                ws.session.mark_blocked();
                self.budget_spent = true;
                return Ok(());
            }
            let session = Some(&mut ws.session);
            h.ws_writable(&mut Ctx::new(core, id, ctl, info, session, None));
            // What the callback queued goes out in this same step.
            self.ws_flush()?;
        }
    }

    /// The end of the WebSocket: the close handshake completed, or its deadline passed.
    fn ws_check_end<S: Services>(
        &mut self,
        core: &mut S,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        let ws = self.ws.as_deref_mut().ok_or_else(internal)?;
        // The closing handshake, whoever started it, gets the close timeout to complete.
        if ws.session.close_state() != CloseState::Open && ws.close_deadline.is_none() {
            ws.close_deadline = Some(now + self.opts.ws.close_timeout);
        }
        if ws.session.is_done() {
            let r = session_result(&ws.session);
            match &r {
                Ok(()) => self.text(h, || "WebSocket closed".into()),
                Err(e) => self.text(h, || e.to_string()),
            }
            self.ws_finish(core, now, r);
            return Ok(Next::Again);
        }
        if ws.close_deadline.is_some_and(|at| now >= at) {
            let e = close_timeout_error(&ws.session);
            self.text(h, || e.to_string());
            self.ws_finish(core, now, Err(e));
            return Ok(Next::Again);
        }
        Ok(Next::Yield)
    }

    /// The read-callback model of sending (curl 8.16 `READFUNCTION` + `curl_ws_start_frame`):
    /// what the read callback returns goes out as one BINARY frame of that length, unless the
    /// callback started a frame with [`WsHandle::start_frame`], in which case its bytes are that
    /// frame's payload. A return of 0 ends the upload, except right after a `start_frame`
    /// (zero-length frames are possible). Runs while the send queue has room.
    fn ws_read_callback<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<()> {
        loop {
            let ws = self.ws.as_deref_mut().ok_or_else(internal)?;
            // Once closing, only the frame in progress may still be finished (RFC 6455 §5.5.1):
            // the read callback is not asked for a new one.
            if ws.session.close_state() != CloseState::Open
                && ws.session.frame_in_progress().is_none()
            {
                self.up.ubuf.clear();
                self.up.ubuf_pos = 0;
                return Ok(());
            }
            // Bytes the queue did not take last time go first.
            if self.up.ubuf_pos < self.up.ubuf.len() {
                if queue_upload(&mut ws.session, &mut self.up)? {
                    continue;
                }
                return Ok(());
            }
            let room = ws.session.send_room();
            if room <= crate::proto::ws::MAX_HEADER_LEN {
                return Ok(());
            }
            let cap =
                (room - crate::proto::ws::MAX_HEADER_LEN).min(crate::transfer::UPLOAD_BUFFER_SIZE);
            self.up.ubuf.resize(cap, 0);
            self.up.ubuf_pos = 0;
            let queued_before = ws.session.send_queue_len();
            let in_frame_before = ws.session.frame_in_progress().is_some();
            let r = h.read(
                &mut Ctx::new(
                    &mut *core,
                    id,
                    &mut self.ctl,
                    &self.info,
                    Some(&mut ws.session),
                    None,
                ),
                &mut self.up.ubuf,
            );
            match r {
                ReadResult::Pause => {
                    self.up.ubuf.clear();
                    self.ctl.send_paused = true;
                    return Ok(());
                }
                ReadResult::Abort => {
                    return Err(Error::new(
                        ErrorKind::AbortedByCallback,
                        "read callback asked to abort",
                    ))
                }
                ReadResult::Data(n) if n > cap => {
                    return Err(Error::new(
                        ErrorKind::ReadError,
                        "read callback returned more bytes than the buffer holds",
                    ))
                }
                ReadResult::Data(0) => {
                    self.up.ubuf.clear();
                    let started = ws.session.send_queue_len() > queued_before
                        || (!in_frame_before && ws.session.frame_in_progress().is_some());
                    if !started {
                        self.up.eof = true;
                        return Ok(());
                    }
                }
                ReadResult::Data(n) => {
                    self.up.ubuf.truncate(n);
                    self.info.size_upload += n as u64;
                }
            }
        }
    }

    /// Connect-only keepalive: the application reads, so the loop learns of the peer's life
    /// from arrivals (a readable event, or bytes the application's `recv` read) since it last
    /// looked. It cannot tell a pong from the other frames the application has not read yet,
    /// so any arrival after a ping answers it.
    fn ws_arrivals(&mut self, now: Instant) {
        let (Some(conn), Some(ws)) = (self.conn.as_deref_mut(), self.ws.as_deref_mut()) else {
            return;
        };
        let arrived = std::mem::take(&mut conn.arrived);
        if arrived {
            ws.last_rx = now;
            ws.pong_deadline = None;
        }
        // Readiness for the application (`Multi::ws_ready`): bytes came in, wait unread (over
        // HTTP/2: in the stream's inbox), or the peer hung up.
        if arrived || conn.read_closed || !conn.buffered().is_empty() {
            self.ws_news.readable = true;
        }
    }

    /// Keepalive: a ping after `interval` without a sign of life from the peer; no answer
    /// within `timeout` closes with the configured code and fails with a timeout. Callback
    /// model: received bytes are the sign of life and a pong the answer; connect-only: see
    /// [`Transfer::ws_arrivals`].
    fn ws_keepalive<S: Services>(&mut self, core: &mut S, now: Instant) -> Result<Option<Next>> {
        let Some((interval, timeout)) = self.opts.ws.keepalive else {
            return Ok(None);
        };
        let ws = self.ws.as_deref_mut().ok_or_else(internal)?;
        if ws.session.close_state() != CloseState::Open {
            return Ok(None);
        }
        if self.ctl.recv_paused && !self.opts.ws.connect_only {
            // A paused callback-model transfer reads nothing, so no pong could be seen:
            // keepalive rests, and its interval starts again when the transfer resumes.
            ws.last_rx = now;
            ws.pong_deadline = None;
            ws.resting = true;
            return Ok(None);
        }
        if std::mem::take(&mut ws.resting) {
            // No timer ran while paused (none is armed), so the unpause is the restart.
            ws.last_rx = now;
        }
        match ws.pong_deadline {
            Some(at) if now >= at => {
                let _ = ws
                    .session
                    .close(Some(self.opts.ws.keepalive_close_code), "keepalive timeout");
                let _ = self.ws_flush();
                let e = Error::new(
                    ErrorKind::OperationTimedout,
                    format!(
                        "no pong within {} ms of a keepalive ping",
                        timeout.as_millis()
                    ),
                );
                self.ws_finish(core, now, Err(e));
                Ok(Some(Next::Again))
            }
            None if ws.last_rx.checked_add(interval).is_some_and(|at| now >= at) => {
                super::services::lend_send_buffer(core.bufs(), &mut ws.session);
                match ws.session.ping(b"curlew-keepalive") {
                    Ok(()) => ws.pong_deadline = now.checked_add(timeout),
                    // The queue is busy (a frame in progress or full): try again a bit later.
                    Err(_) => ws.last_rx = now,
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Callback model: decode and deliver. `Some(next)` when the transfer ended.
    fn ws_receive<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Option<Next>> {
        let mut budget = STEP_RECV_BUDGET;
        loop {
            if self.ctl.recv_paused || self.ctl.removed {
                return Ok(None);
            }
            let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
            let ws = self.ws.as_deref_mut().ok_or_else(internal)?;
            if budget == 0 && ws.session.inflate_pending() {
                // Inflated output counts against the step's budget too: a small compressed
                // message of a huge size does not hold the loop (the rest comes next turn).
                self.budget_spent = true;
                return Ok(None);
            }
            if conn.rend > conn.rpos || ws.session.inflate_pending() {
                let (rpos, rend) = (conn.rpos, conn.rend);
                let input = &mut conn.rbuf[rpos..rend];
                match ws.session.handle_input_into(input, &mut ws.rx_buf) {
                    Ok((n, Some(chunk))) => {
                        let meta = WsFrame::from_meta(&chunk.meta);
                        if self.opts.verbose {
                            h.debug(DebugKind::DataIn, chunk.payload);
                        }
                        self.info.size_download += chunk.payload.len() as u64;
                        if chunk.meta.rsv1 && ws.session.deflate().is_some() {
                            budget = budget.saturating_sub(chunk.payload.len());
                        }
                        if meta.flags & PONG != 0 {
                            ws.pong_deadline = None;
                        }
                        let to = Deliver {
                            id,
                            ctl: &mut self.ctl,
                            info: &self.info,
                            held: &mut self.rx.held,
                            message_mode: self.opts.ws.message_mode,
                            session: &mut ws.session,
                            held_meta: &mut ws.held_meta,
                            msg_buf: &mut ws.msg_buf,
                            msg_ready: &mut ws.msg_ready,
                        };
                        let r = to.chunk(h, core, meta, chunk.payload);
                        conn.consume(n);
                        r?;
                        continue;
                    }
                    Ok((n, None)) => {
                        conn.consume(n);
                        if n > 0 {
                            continue;
                        }
                    }
                    Err(e) => return Err(self.ws_protocol_error(e)),
                }
            }
            let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
            match conn.pull(core.bufs(), &mut budget) {
                Pull::Data => {
                    if let Some(ws) = self.ws.as_deref_mut() {
                        ws.last_rx = now;
                    }
                }
                Pull::Eof => return self.ws_on_eof(core, now),
                Pull::Idle => return Ok(None),
                Pull::Spent => {
                    self.budget_spent = true;
                    return Ok(None);
                }
                Pull::Failed(e) => {
                    return Err(Error::new(ErrorKind::RecvError, e.to_string()).with_source(e))
                }
                Pull::Reset(end) => return Err(super::h2::stream_error(end)),
            }
        }
    }

    /// The peer closed the connection: the end of the session, clean only after the close
    /// handshake.
    fn ws_on_eof<S: Services>(&mut self, core: &mut S, now: Instant) -> Result<Option<Next>> {
        let ws = self.ws.as_deref_mut().ok_or_else(internal)?;
        let r = ws.session.handle_eof().map_err(|e| {
            Error::new(
                ErrorKind::WsProtocol,
                format!("connection closed without a close handshake: {e}"),
            )
        });
        self.ws_finish(core, now, r);
        Ok(Some(Next::Again))
    }

    /// A protocol violation: the session queued the close frame with the right code; push it
    /// out best-effort, then fail.
    fn ws_protocol_error(&mut self, e: ProtocolError) -> Error {
        let _ = self.ws_flush();
        protocol_error(e)
    }

    /// Write queued frames until the queue is empty or the socket is full.
    pub(crate) fn ws_flush(&mut self) -> Result<()> {
        let (Some(conn), Some(ws)) = (self.conn.as_deref_mut(), self.ws.as_deref_mut()) else {
            return Ok(());
        };
        loop {
            let tx = ws.session.poll_transmit();
            if tx.is_empty() {
                break;
            }
            match conn.write_vectored(&[IoSlice::new(tx)]) {
                Ok(0) => break,
                Ok(n) => {
                    self.info.size_upload += n as u64;
                    ws.session.consume_transmit(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::new(ErrorKind::SendError, e.to_string()).with_source(e))
                }
            }
        }
        if conn.writable && conn.wants_write() {
            conn.flush_tls()
                .map_err(|e| Error::new(ErrorKind::SendError, e.to_string()).with_source(e))?;
        }
        Ok(())
    }

    fn ws_finish<S: Services>(&mut self, core: &mut S, now: Instant, r: Result<()>) {
        if let Some(conn) = self.conn.take() {
            core.release(conn, false);
        }
        self.slot_key = None;
        self.complete(r, now);
    }
}
