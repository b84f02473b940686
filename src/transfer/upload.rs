//! Sending: the head (with a body in memory when it fits), then the body from memory or the
//! read callback through the upload buffer, chunk-encoded when the framing says so.

use std::io::{self, IoSlice};
use std::time::Instant;

use super::services::Services;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Handler, ReadResult};
use crate::id::TransferId;
use crate::mime::MimeReader;
use crate::options::Body;
use crate::proto::http1::{encode_chunk_header, Framing, SendPhase, LAST_CHUNK};

use super::{Transfer, UPLOAD_BUFFER_SIZE};

/// What a write of the request did.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Sent {
    /// Progress (or a phase change): try the next write.
    More,
    /// The socket is full, or the read callback paused: wait.
    Blocked,
}

/// The request on its way out: the head and how much of it is sent, the body sent, the
/// read callback's buffer.
#[derive(Default)]
pub(super) struct Upload {
    pub(super) head_buf: Vec<u8>,
    pub(super) head_sent: usize,
    pub(super) body_sent: u64,
    /// What the read callback filled, sent from `ubuf_pos` on.
    pub(super) ubuf: Vec<u8>,
    pub(super) ubuf_pos: usize,
    /// The read callback said the body ended.
    pub(super) eof: bool,
    /// The encoder of a multipart body, from its start for each request.
    pub(super) mime: Option<Box<MimeReader>>,
}

impl Upload {
    /// Back to a run that has not started, keeping small buffers. In place, naming every
    /// field: this runs for every request.
    pub(super) fn reset(&mut self) {
        let Upload {
            head_buf,
            head_sent,
            body_sent,
            ubuf,
            ubuf_pos,
            eof,
            mime,
        } = self;
        super::keep(head_buf);
        *head_sent = 0;
        *body_sent = 0;
        super::keep(ubuf);
        *ubuf_pos = 0;
        *eof = false;
        *mime = None;
    }
}

impl Transfer {
    pub(super) fn do_send<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        loop {
            if self.conn.is_none() {
                return Ok(());
            }
            let framing = self.exchange.request().framing;
            if self.exchange.send_phase() == SendPhase::Body
                && self.opts.max_send_speed > 0
                && self.send_rate_wait(now).is_some()
            {
                // Over the send limit: the rate timer brings the transfer back.
                return Ok(());
            }
            let sent = match self.exchange.send_phase() {
                SendPhase::Done | SendPhase::WaitContinue => return Ok(()),
                SendPhase::Head => self.send_head(h, now)?,
                SendPhase::Body => match (&self.body, framing) {
                    (_, Framing::None) | (Body::None, Framing::Length(_)) => {
                        self.exchange.body_sent();
                        Sent::More
                    }
                    (Body::Bytes(_), Framing::Length(_)) => self.send_body_bytes(h)?,
                    // A reader, or chunks of a body in memory (or of none) the caller asked to
                    // have chunked: through the upload buffer.
                    (_, framing) => {
                        let size = match framing {
                            Framing::Length(n) => Some(n),
                            _ => None,
                        };
                        self.send_body_buffered(core, id, h, size)?
                    }
                },
            };
            if sent == Sent::Blocked {
                return Ok(());
            }
        }
    }

    /// Write (more of) the request head, with a body in memory framed by its length in the
    /// same write.
    fn send_head(&mut self, h: &mut dyn Handler, now: Instant) -> Result<Sent> {
        let Some(conn) = self.conn.as_deref_mut() else {
            return Ok(Sent::Blocked);
        };
        let head = &self.up.head_buf[self.up.head_sent..];
        let body: &[u8] = match (&self.body, self.exchange.request().framing) {
            (Body::Bytes(b), Framing::Length(_))
                if self.exchange.body_with_head() && self.opts.max_send_speed == 0 =>
            {
                &b[..]
            }
            _ => &[],
        };
        let n = match conn.write_vectored(&[IoSlice::new(head), IoSlice::new(body)]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Sent::Blocked),
            Err(e) => return Err(send_error(e)),
        };
        let hn = n.min(head.len());
        self.up.head_sent += hn;
        let bn = n - hn;
        if bn > 0 {
            self.up.body_sent += bn as u64;
            self.info.size_upload += bn as u64;
            self.timers.progress_dirty = true;
            if self.opts.verbose {
                h.debug(DebugKind::DataOut, &body[..bn]);
            }
        }
        if self.up.head_sent == self.up.head_buf.len() {
            self.info.request_size += self.up.head_buf.len() as u64;
            // (A WebSocket upgrade has no body: a read callback feeds frames once the
            // connection is open.)
            self.exchange.head_sent();
            if self.exchange.send_phase() == SendPhase::WaitContinue {
                self.timers.expect = Some(now + self.opts.expect_100_timeout);
            }
        }
        Ok(Sent::More)
    }

    /// Write (more of) a body in memory framed by its length.
    fn send_body_bytes(&mut self, h: &mut dyn Handler) -> Result<Sent> {
        let cap = self.send_cap();
        let (Some(conn), Body::Bytes(b)) = (self.conn.as_deref_mut(), &self.body) else {
            return Ok(Sent::Blocked);
        };
        let rest = &b[self.up.body_sent as usize..];
        if rest.is_empty() {
            self.exchange.body_sent();
            return Ok(Sent::More);
        }
        let rest = &rest[..rest.len().min(cap)];
        let n = match conn.write_vectored(&[IoSlice::new(rest)]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Sent::Blocked),
            Err(e) => return Err(send_error(e)),
        };
        if self.opts.verbose {
            h.debug(DebugKind::DataOut, &rest[..n]);
        }
        self.up.body_sent += n as u64;
        self.info.size_upload += n as u64;
        self.timers.progress_dirty = true;
        Ok(Sent::More)
    }

    /// Write (more of) the upload buffer, refilled from the read callback when it is empty;
    /// `size` is the body's length when the request declared one.
    fn send_body_buffered<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        size: Option<u64>,
    ) -> Result<Sent> {
        if self.up.ubuf_pos >= self.up.ubuf.len() {
            if self.up.eof {
                self.exchange.body_sent();
                return Ok(Sent::More);
            }
            // Paused: nothing to write until the unpause.
            let filled = self.fill_upload(core, id, h, size, size.is_none())?;
            return Ok(if filled { Sent::More } else { Sent::Blocked });
        }
        let cap = self.send_cap();
        let Some(conn) = self.conn.as_deref_mut() else {
            return Ok(Sent::Blocked);
        };
        let end = self.up.ubuf.len().min(self.up.ubuf_pos.saturating_add(cap));
        let n = match conn.write_vectored(&[IoSlice::new(&self.up.ubuf[self.up.ubuf_pos..end])]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Sent::Blocked),
            Err(e) => return Err(send_error(e)),
        };
        self.up.ubuf_pos += n;
        self.info.size_upload += n as u64;
        self.timers.progress_dirty = true;
        Ok(Sent::More)
    }

    /// Ask the read callback for more body; frames it when `chunked`. `Ok(false)` when the
    /// callback paused.
    pub(super) fn fill_upload<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        size: Option<u64>,
        chunked: bool,
    ) -> Result<bool> {
        const HDR: usize = 10; // hex length + CRLF fits for any chunk of this buffer
        self.up.ubuf.clear();
        self.up.ubuf_pos = 0;
        let mut cap = UPLOAD_BUFFER_SIZE;
        if let Some(total) = size {
            let left = total.saturating_sub(self.up.body_sent);
            cap = cap.min(left as usize);
        }
        let start = if chunked { HDR } else { 0 };
        self.up.ubuf.resize(start + cap, 0);
        let r = match &self.body {
            _ if cap == 0 && !chunked => ReadResult::Data(0),
            Body::Read(_) => h.read(
                &mut Self::ctx(core, id, &mut self.ctl, &self.info),
                &mut self.up.ubuf[start..],
            ),
            Body::Mime(_) => mime_read(self.up.mime.as_deref_mut(), &mut self.up.ubuf[start..])?,
            Body::Bytes(b) => {
                let rest = &b[(self.up.body_sent as usize).min(b.len())..];
                let n = rest.len().min(cap);
                self.up.ubuf[start..start + n].copy_from_slice(&rest[..n]);
                ReadResult::Data(n)
            }
            Body::None => ReadResult::Data(0),
        };
        match r {
            ReadResult::Pause => {
                self.up.ubuf.clear();
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
                self.up.eof = true;
                self.up.ubuf.clear();
                if chunked {
                    self.up.ubuf.extend_from_slice(LAST_CHUNK);
                } else if let Some(total) = size {
                    if self.up.body_sent < total {
                        return Err(Error::new(
                            ErrorKind::ReadError,
                            format!(
                                "read callback ended the body after {} of {total} bytes",
                                self.up.body_sent
                            ),
                        ));
                    }
                }
                Ok(true)
            }
            ReadResult::Data(n) => {
                if self.opts.verbose {
                    h.debug(DebugKind::DataOut, &self.up.ubuf[start..start + n]);
                }
                self.up.body_sent += n as u64;
                if chunked {
                    let mut hdr = Vec::with_capacity(HDR);
                    encode_chunk_header(n, &mut hdr);
                    let off = HDR - hdr.len();
                    self.up.ubuf[off..HDR].copy_from_slice(&hdr);
                    self.up.ubuf.truncate(HDR + n);
                    self.up.ubuf.extend_from_slice(b"\r\n");
                    self.up.ubuf_pos = off;
                } else {
                    self.up.ubuf.truncate(n);
                }
                Ok(true)
            }
        }
    }
}

/// The next piece of a multipart body: the encoder reads its parts' files and readers (a
/// failure there is the transfer's `CURLE_READ_ERROR`).
fn mime_read(reader: Option<&mut MimeReader>, buf: &mut [u8]) -> Result<ReadResult> {
    use std::io::Read;
    let reader = reader.ok_or_else(super::internal)?;
    match reader.read(buf) {
        Ok(n) => Ok(ReadResult::Data(n)),
        Err(e) => Err(Error::new(ErrorKind::ReadError, e.to_string()).with_source(e)),
    }
}

fn send_error(e: io::Error) -> Error {
    Error::new(ErrorKind::SendError, e.to_string()).with_source(e)
}
