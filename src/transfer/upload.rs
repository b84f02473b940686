//! Sending: the head (with a body in memory when it fits), then the body from memory or the
//! read callback through the upload buffer, chunk-encoded when the framing says so.

use std::io::{self, IoSlice};
use std::time::Instant;

use super::services::Services;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Handler, ReadResult};
use crate::id::TransferId;
use crate::options::Body;
use crate::proto::http1::{encode_chunk_header, Framing, SendPhase, LAST_CHUNK};

use super::{Transfer, UPLOAD_BUFFER_SIZE};

impl Transfer {
    pub(super) fn do_send<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(());
            };
            let framing = self.exchange.request().framing;
            match self.exchange.send_phase() {
                SendPhase::Done | SendPhase::WaitContinue => return Ok(()),
                SendPhase::Head => {
                    let head = &self.head_buf[self.head_sent..];
                    // A body in memory framed by its length goes out with the head.
                    let body: &[u8] = match (&self.body, framing) {
                        (Body::Bytes(b), Framing::Length(_)) if self.exchange.body_with_head() => {
                            &b[..]
                        }
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
                        // (A WebSocket upgrade has no body: a read callback feeds frames
                        // once the connection is open.)
                        self.exchange.head_sent();
                        if self.exchange.send_phase() == SendPhase::WaitContinue {
                            self.deadline_expect = Some(now + self.opts.expect_100_timeout);
                        }
                    }
                }
                SendPhase::Body => match (&self.body, framing) {
                    (_, Framing::None) | (Body::None, Framing::Length(_)) => {
                        self.exchange.body_sent()
                    }
                    (Body::Bytes(b), Framing::Length(_)) => {
                        let rest = &b[self.body_sent as usize..];
                        if rest.is_empty() {
                            self.exchange.body_sent();
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
                                self.exchange.body_sent();
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
    pub(super) fn fill_upload<S: Services>(
        &mut self,
        core: &mut S,
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
}

fn send_error(e: io::Error) -> Error {
    Error::new(ErrorKind::SendError, e.to_string()).with_source(e)
}
