//! A request over an HTTP/2 stream: the head the HTTP/1.1 writer made becomes the stream's
//! HEADERS (curl does the same: `Curl_http_req_to_h2`), the body goes out as DATA within the
//! windows, and stream ends map to curl's errors. Receiving is the HTTP/1.1 code's: the
//! connection hands the stream's input over as a head and a body ([`crate::transport::h2link`]).

use std::time::Instant;

use super::services::Services;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Handler};
use crate::id::TransferId;
use crate::options::Body;
use crate::proto::h2::{Request, SendError};
use crate::proto::http1::{Framing, SendPhase};
use crate::transport::h2link::StreamEnd;

use super::{internal, Next, State, Transfer};

/// How many times a transfer is sent again after the server refused its stream or went
/// away before processing it (GOAWAY above its stream, REFUSED_STREAM).
pub const H2_RETRY_MAX: u32 = 5;

/// Request fields that belong to an HTTP/1.1 connection and are not sent on a stream
/// (RFC 9113 §8.2.2); `host` becomes `:authority`.
fn skipped(name: &[u8]) -> bool {
    matches!(
        name,
        b"host"
            | b"connection"
            | b"keep-alive"
            | b"proxy-connection"
            | b"transfer-encoding"
            | b"upgrade"
            | b"te"
    )
}

/// The error of a stream that ended abnormally, in curl's terms.
pub(crate) fn stream_error(end: StreamEnd) -> Error {
    match end.conn {
        Some(c) => Error::new(
            ErrorKind::Http2,
            format!("HTTP/2 connection failed: {} ({})", c.reason, c.code),
        ),
        None => Error::new(
            ErrorKind::Http2Stream,
            format!("HTTP/2 stream reset by the server: {}", end.code),
        ),
    }
}

/// The request head as HTTP/2 fields: method, path, authority and the lowercased fields,
/// parsed from the HTTP/1.1 head text the writer made (which followed every rule for the
/// caller's headers).
struct H2Head {
    method: (usize, usize),
    path: (usize, usize),
    authority: (usize, usize),
    /// Lowercased names and values, as spans into `text`.
    fields: Vec<((usize, usize), (usize, usize))>,
    text: Vec<u8>,
}

impl H2Head {
    fn parse(head: &[u8]) -> Option<H2Head> {
        let mut text = head.to_vec();
        let line_end = text.windows(2).position(|w| w == b"\r\n")?;
        let sp1 = text[..line_end].iter().position(|&b| b == b' ')?;
        let sp2 = sp1 + 1 + text[sp1 + 1..line_end].iter().position(|&b| b == b' ')?;
        let mut h = H2Head {
            method: (0, sp1),
            path: (sp1 + 1, sp2),
            authority: (0, 0),
            fields: Vec::with_capacity(16),
            text: Vec::new(),
        };
        let mut i = line_end + 2;
        while let Some(rel) = text[i..].windows(2).position(|w| w == b"\r\n") {
            if rel == 0 {
                break;
            }
            let line = (i, i + rel);
            i += rel + 2;
            let colon = line.0 + text[line.0..line.1].iter().position(|&b| b == b':')?;
            text[line.0..colon].make_ascii_lowercase();
            let mut v = colon + 1;
            while v < line.1 && text[v] == b' ' {
                v += 1;
            }
            let name = (line.0, colon);
            if &text[name.0..name.1] == b"host" {
                h.authority = (v, line.1);
            }
            let te_trailers = &text[name.0..name.1] == b"te" && &text[v..line.1] == b"trailers";
            // RFC 8441 §5: no key (and no accept) over HTTP/2.
            let ws_key = &text[name.0..name.1] == b"sec-websocket-key";
            if (!skipped(&text[name.0..name.1]) || te_trailers) && !ws_key {
                h.fields.push((name, (v, line.1)));
            }
        }
        h.text = text;
        Some(h)
    }

    fn get(&self, span: (usize, usize)) -> &[u8] {
        &self.text[span.0..span.1]
    }
}

impl Transfer {
    /// Open this transfer's stream on the HTTP/2 connection it holds. `Ok(false)` when it
    /// cannot now (the send queue is full, or the connection stopped taking streams): the
    /// transfer gave the connection back and goes through checkout again.
    pub(super) fn open_h2_stream<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<bool> {
        let is_ws = target!(self).scheme.is_ws();
        if is_ws {
            if let Some(wait) = self.ws_over_h2_check(core, id, h)? {
                return Ok(wait);
            }
        }
        let head = H2Head::parse(&self.up.head_buf).ok_or_else(internal)?;
        let framing = self.exchange.request().framing;
        // An extended CONNECT stream stays open: it carries the WebSocket both ways.
        let no_body = !is_ws && matches!(framing, Framing::None | Framing::Length(0));
        let scheme: &[u8] = if target!(self).scheme.is_tls() {
            b"https"
        } else {
            b"http"
        };
        let fields: Vec<(&[u8], &[u8])> = head
            .fields
            .iter()
            .map(|&(n, v)| (head.get(n), head.get(v)))
            .collect();
        let req = Request {
            method: if is_ws {
                b"CONNECT"
            } else {
                head.get(head.method)
            },
            scheme,
            authority: head.get(head.authority),
            path: head.get(head.path),
            protocol: is_ws.then_some(&b"websocket"[..]),
            headers: &fields,
        };
        let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
        let link = conn.h2.as_deref_mut().ok_or_else(internal)?;
        match link.proto.open_stream(&req, no_body) {
            Ok(sid) => {
                link.add_stream(sid, id);
                conn.enter_stream(sid);
                self.h2_stream = Some(sid);
                self.text(h, || {
                    format!("[HTTP/2] [{sid}] OPENED stream for {}", target!(self).url)
                });
                self.info.request_size += self.up.head_buf.len() as u64;
                self.exchange.head_sent();
                if no_body && self.exchange.send_phase() == SendPhase::Body {
                    self.exchange.body_sent();
                }
                if self.exchange.send_phase() == SendPhase::WaitContinue {
                    self.timers.expect = Some(now + self.opts.expect_100_timeout);
                }
                Ok(true)
            }
            Err(SendError::WouldBlock | SendError::TooManyStreams | SendError::Closed) => {
                link.blocked.push(id);
                if let Some(conn) = self.conn.take() {
                    core.release(conn, true);
                }
                self.slot_key = None;
                // Woken from the connection's blocked list (or by a timer).
                self.state = State::Pending;
                Ok(false)
            }
            Err(SendError::HeadTooLarge) => Err(Error::new(
                ErrorKind::TooLarge,
                "the request head does not fit an HTTP/2 header block",
            )),
            Err(e) => Err(Error::new(
                ErrorKind::BadFunctionArgument,
                format!("the request cannot be sent over HTTP/2: {e:?}"),
            )),
        }
    }

    /// Before a WebSocket opens a stream: the server's SETTINGS must have said whether it
    /// takes extended CONNECT (RFC 8441 §3). `Some(false)`: not known yet, wait (the
    /// transfer is woken when they arrive); not allowed: fall back to the HTTP/1.1 upgrade
    /// on a connection of its own. `None`: go ahead.
    fn ws_over_h2_check<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<Option<bool>> {
        let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
        let link = conn.h2.as_deref_mut().ok_or_else(internal)?;
        let fallback = match (link.settings_seen, link.proto.remote_settings()) {
            (false, _) if !link.dead => {
                link.settings_waiters.push(id);
                false
            }
            (true, s) if s.enable_connect_protocol => return Ok(None),
            _ => true,
        };
        if fallback {
            self.text(h, || {
                "[HTTP/2] the server does not take extended CONNECT (RFC 8441): \
                 WebSocket upgrade over HTTP/1.1 on a connection of its own"
                    .into()
            });
            self.ws_h1 = true;
        }
        if let Some(conn) = self.conn.take() {
            core.release(conn, true);
        }
        self.slot_key = None;
        self.state = if fallback {
            State::Init
        } else {
            State::Pending
        };
        Ok(Some(false))
    }

    /// Send (more of) the request body as DATA, within the windows.
    pub(super) fn send_h2_body<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        let sid = self.h2_stream.ok_or_else(internal)?;
        loop {
            if self.exchange.send_phase() != SendPhase::Body || self.ctl.send_paused {
                return Ok(());
            }
            if self.opts.max_send_speed > 0 && self.send_rate_wait(now).is_some() {
                // Over the send limit: the rate timer brings the transfer back.
                return Ok(());
            }
            if let Body::Bytes(b) = &self.body {
                let b = b.clone();
                let rest = &b[(self.up.body_sent as usize).min(b.len())..];
                let rest = &rest[..rest.len().min(self.send_cap())];
                let last = self.up.body_sent + rest.len() as u64 == b.len() as u64;
                let n = self.h2_send(id, sid, rest, last)?;
                if n > 0 && self.opts.verbose {
                    h.debug(DebugKind::DataOut, &rest[..n]);
                }
                self.up.body_sent += n as u64;
                self.count_upload(n);
                if n == rest.len() && last {
                    self.exchange.body_sent();
                }
                if n < rest.len() || last {
                    // The windows are shut (a WINDOW_UPDATE wakes the transfer), or done.
                    return Ok(());
                }
                continue;
            }
            if self.up.ubuf_pos >= self.up.ubuf.len() {
                if self.up.eof {
                    self.h2_send(id, sid, &[], true)?;
                    self.exchange.body_sent();
                    return Ok(());
                }
                let size = match self.exchange.request().framing {
                    Framing::Length(n) => Some(n),
                    _ => None,
                };
                if !self.fill_upload(core, id, h, size, false)? {
                    return Ok(());
                }
                continue;
            }
            let chunk = std::mem::take(&mut self.up.ubuf);
            let end = chunk
                .len()
                .min(self.up.ubuf_pos.saturating_add(self.send_cap()));
            let want = end - self.up.ubuf_pos;
            let r = self.h2_send(id, sid, &chunk[self.up.ubuf_pos..end], false);
            self.up.ubuf = chunk;
            let n = r?;
            self.up.ubuf_pos += n;
            self.count_upload(n);
            if n < want {
                // The windows are shut: a WINDOW_UPDATE wakes the transfer.
                return Ok(());
            }
        }
    }

    fn count_upload(&mut self, n: usize) {
        self.info.size_upload += n as u64;
        if n > 0 {
            self.timers.progress_dirty = true;
        }
    }

    /// `send_data` on the stream; a short send registers the transfer to be woken.
    fn h2_send(&mut self, id: TransferId, sid: u32, data: &[u8], end: bool) -> Result<usize> {
        let conn = self.conn.as_deref_mut().ok_or_else(internal)?;
        let link = conn.h2.as_deref_mut().ok_or_else(internal)?;
        let r = link.proto.send_data(sid, data, end);
        match r {
            Ok(n) => {
                if n < data.len() {
                    link.blocked.push(id);
                }
                Ok(n)
            }
            // The server ended the stream (an early answer): stop sending, read on.
            Err(SendError::StreamClosed) => {
                self.exchange.body_sent();
                Ok(data.len())
            }
            Err(e) => Err(Error::new(
                ErrorKind::SendError,
                format!("HTTP/2 send failed: {e:?}"),
            )),
        }
    }

    /// A stream end the server or the connection caused: retried on another stream when the
    /// server says it did not process the request, else the transfer's error.
    pub(super) fn on_stream_reset<S: Services>(
        &mut self,
        core: &mut S,
        h: &mut dyn Handler,
        end: StreamEnd,
    ) -> Result<Next> {
        let rewindable = match self.body {
            Body::None | Body::Bytes(_) | Body::Mime(_) => true,
            Body::Read(_) => self.up.body_sent == 0 || h.rewind(),
        };
        if end.retryable && self.h2_retries < H2_RETRY_MAX && !self.rx.got_bytes && rewindable {
            self.h2_retries += 1;
            self.text(h, || {
                format!(
                    "[HTTP/2] stream not processed ({}), sending the request again",
                    end.code
                )
            });
            if let Some(conn) = self.conn.take() {
                core.release(conn, false);
            }
            self.slot_key = None;
            self.info.reused = false;
            self.timers.connect = None;
            self.state = State::Init;
            return Ok(Next::Again);
        }
        Err(stream_error(end))
    }
}
