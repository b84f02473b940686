//! The `Active` state and receiving: read with the per-turn budget, parse response heads
//! (interim 1xx, the final one, a WebSocket upgrade), then the body through its framing and
//! content decoders to the write callback, until the response ends or the peer closes.

use std::io;
use std::time::Instant;

use super::services::Services;
use crate::ctx::Ctx;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Flow, Handler};
use crate::id::TransferId;
use crate::info::HttpVersion;
use crate::options::REDIRECT_DRAIN_MAX;
use crate::proto::http1::{
    BodyDecoder, BodyKind, ContentCoding, ContentDecoder, Decoded, ExchangeError, HeadEvent,
    ParseError, RecvPhase, ResponseHead, ResponseParser, SendPhase, Version,
};
use crate::transport::{tls, Pull};
use crate::url::Target;

use super::content;
use super::policy::is_conn_failure;
use super::{Next, State, Transfer, STEP_RECV_BUDGET};

/// The response on its way in: the parser and the final head, the body's decoders, what
/// a pause holds back, and what the head decided.
#[derive(Default)]
pub(super) struct Receive {
    /// Boxed: it moves between the transfer and the connection on every request.
    pub(super) parser: Option<Box<ResponseParser>>,
    /// The final head, boxed by the parser (given back to it at the end of the response).
    pub(super) head: Option<Box<ResponseHead>>,
    pub(super) decoder: Option<BodyDecoder>,
    pub(super) content: Option<ContentDecoder>,
    /// Decoded (gzip, deflate) output not yet handed over.
    pub(super) decoded: Vec<u8>,
    /// Body bytes the write callback paused on.
    pub(super) held: Vec<u8>,
    /// The body is not for the application (a redirect's, a failed request's).
    pub(super) discard: bool,
    /// A redirect to follow once the body is drained.
    pub(super) redirect: Option<(u16, Box<Target>)>,
    /// A response byte arrived (no retry after that).
    pub(super) got_bytes: bool,
    /// The body ended while bytes were held: finish once they are delivered.
    pub(super) finish_after_held: bool,
    /// Bytes of the heads answering the current request (interim ones included).
    pub(super) heads_bytes: usize,
}

impl Receive {
    /// Back to a run that has not started, keeping small buffers. In place, naming every
    /// field: this runs for every request.
    pub(super) fn reset(&mut self) {
        let Receive {
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
        } = self;
        *parser = None;
        *head = None;
        *decoder = None;
        *content = None;
        super::keep(decoded);
        super::keep(held);
        *discard = false;
        *redirect = None;
        *got_bytes = false;
        *finish_after_held = false;
        *heads_bytes = 0;
    }
}

impl Transfer {
    // ----- Active: send and receive --------------------------------------------------------

    pub(super) fn on_active<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        // Paused data first.
        if !self.rx.held.is_empty() && !self.ctl.recv_paused {
            let held = std::mem::take(&mut self.rx.held);
            let flow = self.deliver(core, id, h, &held)?;
            if flow == Flow::Pause {
                return Ok(Next::Yield);
            }
            if self.state != State::Active {
                return Ok(Next::Again);
            }
        }
        if self.rx.finish_after_held && self.rx.held.is_empty() {
            self.rx.finish_after_held = false;
            self.complete(Ok(()), now);
            return Ok(Next::Again);
        }
        if self.exchange.send_phase() != SendPhase::Done && !self.ctl.send_paused {
            let sent = match self.h2_stream {
                Some(_) => self.send_h2_body(core, id, h, now),
                None => self.do_send(core, id, h, now),
            };
            if let Err(e) = sent {
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
        let waiting = self.exchange.send_phase() == SendPhase::WaitContinue;
        let next = self.do_recv(core, id, h, now)?;
        if waiting && self.exchange.send_phase() == SendPhase::Body && self.state == State::Active {
            // A 100 Continue arrived: send the body now (no socket event will ask for it).
            return Ok(Next::Again);
        }
        Ok(next)
    }

    pub(super) fn do_recv<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        let mut budget = STEP_RECV_BUDGET;
        loop {
            if self.ctl.recv_paused {
                return Ok(Next::Yield);
            }
            if self.opts.max_recv_speed > 0 && self.recv_rate_wait(now).is_some() {
                // Over the receive limit: the rate timer brings the transfer back.
                return Ok(Next::Yield);
            }
            // Work through buffered bytes first. A body can also be complete with nothing
            // buffered (its last bytes were handed over just before a pause), or have decoded
            // output of consumed bytes still to deliver.
            let buffered = self.conn.as_ref().map_or(0, |c| c.buffered().len());
            let body_left = self.conn.is_some()
                && self.exchange.recv_phase() == RecvPhase::Body
                && (self.rx.decoder.as_ref().is_some_and(|d| d.is_done())
                    || self.content_pending());
            if buffered > 0 || body_left {
                let progressed = self.process_input(core, id, h, now)?;
                if self.state != State::Active {
                    return Ok(Next::Again);
                }
                if self.budget_spent {
                    return Ok(Next::Yield);
                }
                if progressed {
                    continue;
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                return Ok(Next::Yield);
            };
            conn.rbuf_max = if self.exchange.recv_phase() == RecvPhase::Head {
                // The longest head allowed must fit whatever the buffer size.
                (self.opts.buffer_size).max(self.opts.limits.max_header_bytes.next_power_of_two())
            } else {
                self.opts.buffer_size
            };
            conn.read_cap = match self.opts.max_recv_speed {
                0 => usize::MAX,
                limit => usize::try_from((limit / super::rate::RATE_WRITE_SHARE).max(1))
                    .unwrap_or(usize::MAX),
            };
            match conn.pull(core.bufs(), &mut budget) {
                Pull::Data => {
                    if !self.rx.got_bytes {
                        self.rx.got_bytes = true;
                        self.info.starttransfer_time =
                            now.saturating_duration_since(self.started.unwrap_or(now));
                    }
                }
                Pull::Eof => {
                    if self.h2_stream.is_some() {
                        self.h2_trailers(core, id, h)?;
                    }
                    return self.on_eof(core, h, now);
                }
                Pull::Reset(end) => return self.on_stream_reset(core, h, end),
                Pull::Idle => return Ok(Next::Yield),
                Pull::Spent => {
                    self.budget_spent = true;
                    return Ok(Next::Yield);
                }
                Pull::Failed(e) => {
                    if !self.rx.got_bytes && self.can_retry(h) {
                        return self.retry(core, h, recv_error(e));
                    }
                    return Err(recv_error(e));
                }
            }
        }
    }

    /// Consume buffered input. Returns whether anything was consumed.
    pub(super) fn process_input<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<bool> {
        match self.exchange.recv_phase() {
            RecvPhase::Head => self.on_recv_head(core, id, h, now),
            RecvPhase::Body => self.on_recv_body(core, id, h, now),
            // The response ended (or the connection was upgraded): nothing is read here.
            RecvPhase::Done | RecvPhase::Upgraded => Ok(false),
        }
    }

    /// Parse the next response head, if it is complete, and act on it: an interim answer, a
    /// WebSocket upgrade (or its refusal), or the final head of an HTTP response.
    pub(super) fn on_recv_head<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<bool> {
        let Some(head) = self.take_head()? else {
            return Ok(false);
        };
        self.report_head(core, id, h, &head)?;
        self.store_cookies(core, h, &head);
        let status = head.status();
        if target!(self).scheme.is_ws() && (status == 101 || !(100..200).contains(&status)) {
            self.on_upgrade_head(core, id, h, &head, now)?;
            return Ok(true);
        }
        if !(100..200).contains(&status) {
            self.record_final_head(&head);
        }
        let kind = match self.exchange.on_head(&head).map_err(exchange_error)? {
            HeadEvent::Interim { release_body } => {
                if release_body {
                    self.timers.expect = None;
                }
                if let Some(p) = self.rx.parser.as_mut() {
                    p.reset();
                }
                return Ok(true);
            }
            // Only an upgrade request gets here with a 101, and it went the way above.
            HeadEvent::Upgraded => return Err(Error::from_kind(ErrorKind::Internal)),
            HeadEvent::Final(kind) => kind,
        };
        self.on_final_head(core, h, head, kind, now)?;
        Ok(true)
    }

    /// The next complete head from the connection's buffer, counted against the limits.
    fn take_head(&mut self) -> Result<Option<Box<ResponseHead>>> {
        let (Some(conn), Some(parser)) = (self.conn.as_mut(), self.rx.parser.as_mut()) else {
            return Err(Error::from_kind(ErrorKind::Internal));
        };
        let head = match parser.parse_boxed(conn.buffered()) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(e) => return Err(parse_error(e)),
        };
        conn.consume(head.head_len());
        self.info.header_size += head.head_len() as u64;
        self.rx.heads_bytes += head.head_len();
        if self.rx.heads_bytes > self.opts.limits.max_response_heads_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "response heads of one request over {} bytes",
                    self.opts.limits.max_response_heads_bytes
                ),
            ));
        }
        Ok(Some(head))
    }

    /// The head's lines to the debug and header callbacks.
    fn report_head<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        head: &ResponseHead,
    ) -> Result<()> {
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
        Ok(())
    }

    /// The answer to a WebSocket upgrade: `101` opens the WebSocket (then `ws_open`), anything
    /// else final is a refusal.
    fn on_upgrade_head<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        head: &ResponseHead,
        now: Instant,
    ) -> Result<()> {
        self.exchange.spoil();
        self.info.response_code = head.status();
        self.info.http_version = Some(http_version(head.version()));
        self.on_upgrade_response(core, head, now)?;
        let ws = self.ws.as_deref_mut().map(|w| &mut w.session);
        let flow = h.ws_open(&mut Ctx::new(core, id, &mut self.ctl, &self.info, ws, None));
        if flow == Flow::Abort {
            return Err(Error::new(
                ErrorKind::AbortedByCallback,
                "ws_open callback asked to abort",
            ));
        }
        Ok(())
    }

    /// Status, version and content type of a final head into the info. The content-type
    /// string of the last run (or response) is reused, rewritten only when the type changed.
    fn record_final_head(&mut self, head: &ResponseHead) {
        self.info.response_code = head.status();
        self.info.http_version = Some(http_version(head.version()));
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
    }

    /// The final head of an HTTP response with its body's framing: policy (redirects,
    /// fail-on-error, the maximum file size), then the body's decoders.
    fn on_final_head<S: Services>(
        &mut self,
        core: &mut S,
        h: &mut dyn Handler,
        head: Box<ResponseHead>,
        kind: BodyKind,
        now: Instant,
    ) -> Result<()> {
        let length = match kind {
            BodyKind::Length(n) => Some(n),
            _ => head.content_length().ok().flatten(),
        };
        self.info.content_length_download = match kind {
            BodyKind::None => length.filter(|_| self.method == "HEAD"),
            _ => length,
        };
        self.check_final_head(h, &head, length)?;
        if self.resumed_but_complete(h, &head, length)? {
            // Nothing to write: the document was complete already. The body is not read.
            self.exchange.spoil();
            self.rx.head = Some(head);
            return self.finish_response(core, h, now, false);
        }
        if self.rx.redirect.is_some() {
            let drainable = match kind {
                BodyKind::None => true,
                BodyKind::Length(n) => n <= REDIRECT_DRAIN_MAX,
                _ => false,
            };
            if !drainable {
                // Not worth reading: close the connection instead.
                self.exchange.spoil();
                self.rx.head = Some(head);
                return self.finish_response(core, h, now, false);
            }
        }
        if !self.rx.discard && self.opts.accept_encoding && kind != BodyKind::None {
            match head.content_encoding() {
                Some(ContentCoding::Identity) | None => {}
                Some(coding) => self.start_content_decoding(coding),
            }
        }
        self.rx.decoder = Some(BodyDecoder::new(kind, &self.opts.limits));
        self.rx.head = Some(head);
        if kind == BodyKind::None {
            self.finish_response(core, h, now, true)?;
        }
        Ok(())
    }

    pub(super) fn on_recv_body<S: Services>(
        &mut self,
        core: &mut S,
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
            let (Some(conn), Some(decoder)) = (self.conn.as_mut(), self.rx.decoder.as_mut()) else {
                // The body phase has both. (Built here, not by the cold `internal()`: the call
                // in this loop costs 25 instructions a request in how the loop is compiled.)
                return Err(Error::from_kind(ErrorKind::Internal));
            };
            let input = &conn.rbuf[conn.rpos..conn.rend];
            let (n, decoded) = decoder.decode(input).map_err(parse_error)?;
            match decoded {
                Decoded::Data(data) => {
                    any = true;
                    self.timers.progress_dirty = true;
                    check_filesize(self.opts.max_filesize, self.info.size_download, data.len())?;
                    if self.rx.discard {
                        self.info.size_download += data.len() as u64;
                        conn.consume(n);
                        continue;
                    }
                    // Counted before the callback sees the data (given-back bytes taken out
                    // again below).
                    self.info.size_download += data.len() as u64;
                    let sink = BodySink {
                        content: self.rx.content.as_mut(),
                        decoded: &mut self.rx.decoded,
                        held: &mut self.rx.held,
                        decode_budget: &mut self.decode_budget,
                        verbose: self.opts.verbose,
                        limited: self.opts.max_filesize.is_some(),
                    };
                    let mut ctx = Self::ctx(core, id, &mut self.ctl, &self.info);
                    let (used, flow) = sink.write(h, &mut ctx, data)?;
                    // Bytes not decoded yet (a pause) stay buffered for the next round.
                    let unused = data.len() - used;
                    decoder.give_back(unused);
                    conn.consume(n - unused);
                    self.info.size_download -= unused as u64;
                    self.on_write_flow(flow)?;
                    if self.ctl.recv_paused || self.ctl.removed {
                        return Ok(true);
                    }
                    if self.decode_budget == 0 {
                        // The step's share of decoded output is spent: the rest next turn.
                        self.budget_spent = true;
                        return Ok(true);
                    }
                }
                Decoded::Trailer(line) => {
                    any = true;
                    let line = line.to_vec();
                    conn.consume(n);
                    self.on_trailer(core, id, h, &line)?;
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

    /// The HTTP/2 trailers of the stream, after its body.
    fn h2_trailers<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<()> {
        let trailers = self
            .conn
            .as_deref_mut()
            .and_then(|c| c.h2.as_deref_mut())
            .zip(self.h2_stream)
            .and_then(|(l, sid)| l.stream_mut(sid))
            .map(|s| std::mem::take(&mut s.trailers))
            .unwrap_or_default();
        for line in trailers.split_inclusive(|&b| b == b'\n') {
            self.on_trailer(core, id, h, line)?;
        }
        Ok(())
    }

    /// A trailer line: to the debug and header callbacks, as curl does.
    fn on_trailer<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        line: &[u8],
    ) -> Result<()> {
        if self.opts.verbose {
            h.debug(DebugKind::HeaderIn, line);
        }
        if self.rx.discard || !h.wants_headers() {
            return Ok(());
        }
        let flow = h.header(&mut Self::ctx(core, id, &mut self.ctl, &self.info), line);
        if flow == Flow::Abort {
            return Err(Error::new(
                ErrorKind::AbortedByCallback,
                "header callback asked to abort",
            ));
        }
        Ok(())
    }

    pub(super) fn on_eof<S: Services>(
        &mut self,
        core: &mut S,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        self.exchange.spoil();
        match self.exchange.recv_phase() {
            RecvPhase::Head => {
                let partial = self.conn.as_ref().is_some_and(|c| !c.buffered().is_empty());
                if !self.rx.got_bytes && self.can_retry(h) {
                    return self.retry(
                        core,
                        h,
                        Error::new(ErrorKind::GotNothing, "pooled connection was closed"),
                    );
                }
                if partial || self.rx.got_bytes {
                    Err(Error::new(
                        ErrorKind::WeirdServerReply,
                        "connection closed in the middle of the response head",
                    ))
                } else {
                    Err(Error::new(ErrorKind::GotNothing, "empty reply from server"))
                }
            }
            RecvPhase::Done | RecvPhase::Upgraded => Err(Error::from_kind(ErrorKind::Internal)),
            RecvPhase::Body => {
                let Some(decoder) = self.rx.decoder.as_mut() else {
                    return Err(Error::from_kind(ErrorKind::Internal));
                };
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
    pub(super) fn finish_response<S: Services>(
        &mut self,
        core: &mut S,
        h: &mut dyn Handler,
        now: Instant,
        clean: bool,
    ) -> Result<()> {
        if let Some(mut cd) = self.rx.content.take() {
            // Every piece was delivered before the body could end (see `on_recv_body`).
            cd.finish()
                .map_err(|e| content::decode_error(e, self.opts.max_filesize.is_some()))?;
        }
        let trailing = self.conn.as_ref().is_some_and(|c| !c.buffered().is_empty());
        self.exchange.body_done(trailing);
        let keep = clean
            && self.exchange.reusable()
            && !self.opts.forbid_reuse
            && self.rx.decoder.as_ref().is_none_or(|d| d.is_done());
        if let Some(mut conn) = self.conn.take() {
            self.slot_key = None;
            if self.opts.forbid_reuse {
                conn.no_reuse = true;
            }
            if !keep {
                self.text(h, || format!("Closing connection #{}", conn.serial));
            } else if conn.h2.is_none() {
                // Leave the per-request storage to the connection's next transfer. (On a
                // shared HTTP/2 connection it stays with this transfer for its next run:
                // the connection's one slot would serve one of its many streams.)
                conn.head_buf = std::mem::take(&mut self.up.head_buf);
                if let Some(mut p) = self.rx.parser.take() {
                    if let Some(head) = self.rx.head.take() {
                        p.recycle_boxed(head);
                    }
                    conn.parser = Some(p);
                }
            }
            core.release(conn, keep);
        }
        if let Some((status, next)) = self.rx.redirect.take() {
            return self.follow(h, status, next, now);
        }
        if !self.rx.held.is_empty() {
            // Paused with data still to hand over: complete once it has been delivered (the
            // connection was released above; nothing more is sent).
            self.state = State::Active;
            self.exchange.abandon_body();
            self.rx.finish_after_held = true;
            return Ok(());
        }
        self.complete(Ok(()), now);
        Ok(())
    }

    /// Hand `data` to the write callback outside the body decoder (held and flushed data).
    pub(super) fn deliver<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        data: &[u8],
    ) -> Result<Flow> {
        let flow = h.write(&mut Self::ctx(core, id, &mut self.ctl, &self.info), data);
        match flow {
            Flow::Continue => Ok(flow),
            Flow::Pause => {
                self.rx.held.extend_from_slice(data);
                self.ctl.recv_paused = true;
                Ok(flow)
            }
            Flow::Abort => Err(Error::new(
                ErrorKind::WriteError,
                "write callback refused the data",
            )),
        }
    }
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

pub(super) fn parse_error(e: ParseError) -> Error {
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

/// The info's version of a parsed head's.
fn http_version(v: Version) -> HttpVersion {
    match v {
        Version::Http10 => HttpVersion::Http10,
        Version::Http11 => HttpVersion::Http11,
        Version::Http2 => HttpVersion::Http2,
    }
}

fn exchange_error(e: ExchangeError) -> Error {
    match e {
        ExchangeError::UnexpectedUpgrade => Error::new(ErrorKind::WeirdServerReply, e.to_string()),
        ExchangeError::Framing(e) => parse_error(e),
    }
}

/// `CURLOPT_MAXFILESIZE`: the body may not grow past `max` bytes.
#[inline]
fn check_filesize(max: Option<u64>, so_far: u64, more: usize) -> Result<()> {
    match max {
        Some(max) if so_far + more as u64 > max => Err(Error::new(
            ErrorKind::FileSizeExceeded,
            format!("body exceeds the maximum file size {max}"),
        )),
        _ => Ok(()),
    }
}

/// Where body bytes go: the write callback, through the content decoder if there is one.
struct BodySink<'a> {
    content: Option<&'a mut ContentDecoder>,
    decoded: &'a mut Vec<u8>,
    /// What the write callback paused on.
    held: &'a mut Vec<u8>,
    decode_budget: &'a mut usize,
    verbose: bool,
    /// A maximum file size is set (a decoding error says so).
    limited: bool,
}

impl BodySink<'_> {
    /// Hand `data` over; returns the bytes used (fewer when decoding paused) and the
    /// callback's answer. Inlined: once per body piece on the per-request path.
    #[inline(always)]
    fn write(self, h: &mut dyn Handler, ctx: &mut Ctx<'_>, data: &[u8]) -> Result<(usize, Flow)> {
        match self.content {
            None => {
                if self.verbose {
                    h.debug(DebugKind::DataIn, data);
                }
                let r = h.write(ctx, data);
                if r == Flow::Pause {
                    self.held.extend_from_slice(data);
                }
                Ok((data.len(), r))
            }
            Some(cd) => {
                let limited = self.limited;
                let held = (self.held, self.decode_budget);
                let (used, r) = content::write_decoded(cd, self.decoded, data, h, ctx, held)
                    .map_err(|e| content::decode_error(e, limited))?;
                if self.verbose {
                    h.debug(DebugKind::DataIn, &data[..used]);
                }
                Ok((used, r))
            }
        }
    }
}
