//! Receiving: bytes from the peer through the decoder (and the inflater) to payload chunks,
//! with the automatic answers (pongs, the close echo) and the end of the stream.

use super::*;

impl WsSession {
    // ----- (B) input -------------------------------------------------------

    /// Decodes from `input`, the received bytes not yet consumed (see
    /// [`Decoder::decode`] for the chunk contract and buffer size).
    ///
    /// Returns `(consumed, chunk)`: use `chunk` (it borrows `input`; its
    /// [`FrameMeta`] mirrors libcurl's `curl_ws_frame`), drop `consumed`
    /// bytes, and call again; `(0, None)` means more input is needed (or the
    /// peer's Close was received). Pings answered automatically are consumed
    /// without a chunk. Pongs, Close frames and unanswered Pings are returned.
    /// A returned Close has been echoed (if we had not closed) and recorded
    /// in [`peer_close`](Self::peer_close).
    ///
    /// On a [`ProtocolError`] a Close with [`ProtocolError::close_code`] is
    /// queued (unless our Close was already committed, or a data frame is
    /// half-queued, in which case no valid Close can follow), all further
    /// sends fail with [`SendError::Closed`] and every later call returns the
    /// same error.
    ///
    /// In raw mode the whole `input` is returned as one chunk with a synthetic
    /// meta (`Binary`, `fin`, `offset` 0, `bytes_left` 0, `len` =
    /// `input.len()`) that describes no frame and should be ignored, as
    /// libcurl's `curl_ws_meta` returns nothing in raw mode.
    pub fn handle_input<'a>(
        &mut self,
        input: &'a mut [u8],
    ) -> Result<(usize, Option<Chunk<'a>>), ProtocolError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.cfg.raw_mode {
            if input.is_empty() {
                return Ok((0, None));
            }
            let len = input.len();
            let meta = FrameMeta {
                opcode: OpCode::Binary,
                fin: true,
                rsv1: false,
                is_continuation: false,
                offset: 0,
                bytes_left: 0,
                len,
            };
            return Ok((
                len,
                Some(Chunk {
                    meta,
                    payload: input,
                }),
            ));
        }
        match self.decoder.decode(input) {
            Err(e) => {
                self.fail(e);
                Err(e)
            }
            Ok((n, Some(chunk))) => match chunk.meta.opcode {
                OpCode::Ping if self.cfg.auto_pong => {
                    self.auto_pong(chunk.payload);
                    Ok((n, None))
                }
                OpCode::Close => {
                    self.on_peer_close(chunk.payload);
                    Ok((n, Some(chunk)))
                }
                _ => Ok((n, Some(chunk))),
            },
            Ok(r) => Ok(r),
        }
    }

    /// Like [`handle_input`](Self::handle_input), but compressed messages
    /// (permessage-deflate, see [`set_deflate`](Self::set_deflate)) are
    /// returned inflated, in chunks written to `out` (resized to
    /// [`INFLATE_CHUNK`] on first use; keep it between calls). A call may
    /// return a chunk while consuming no input (`(0, Some(chunk))`): more
    /// inflated output of data already consumed. Without deflate (or in raw
    /// mode) it is exactly `handle_input`. See the
    /// [module docs](crate::proto::ws::session#permessage-deflate-rfc-7692) for the chunk
    /// metadata of inflated messages.
    pub fn handle_input_into<'a>(
        &mut self,
        input: &'a mut [u8],
        out: &'a mut Vec<u8>,
    ) -> Result<(usize, Option<Chunk<'a>>), ProtocolError> {
        if self.deflate.is_none() || self.cfg.raw_mode {
            return self.handle_input(input);
        }
        if let Some(e) = self.failed {
            return Err(e);
        }
        let draining = self
            .deflate
            .as_ref()
            .is_some_and(|d| d.rx.is_some() && d.infl.has_pending());
        if draining {
            return Ok((0, self.inflate_chunk(out)?));
        }
        let (n, chunk) = self.handle_input(input)?;
        match chunk {
            Some(c) if c.meta.rsv1 && c.meta.opcode.is_data() => {
                let validate = self.cfg.validate_utf8;
                let d = self.deflate.as_deref_mut().expect("checked");
                if d.rx.is_none() {
                    d.rx = Some(RxInflate {
                        opcode: c.meta.opcode,
                        offset: 0,
                        check_utf8: validate && c.meta.opcode == OpCode::Text,
                        utf8: Utf8Validator::new(),
                    });
                }
                d.infl.feed(c.payload, c.meta.is_message_end());
                Ok((n, self.inflate_chunk(out)?))
            }
            other => Ok((n, other)),
        }
    }

    /// Inflates the next piece of the compressed message into `out`.
    pub(super) fn inflate_chunk<'a>(
        &mut self,
        out: &'a mut Vec<u8>,
    ) -> Result<Option<Chunk<'a>>, ProtocolError> {
        if out.len() < INFLATE_CHUNK {
            out.resize(INFLATE_CHUNK, 0);
        }
        let d = self.deflate.as_deref_mut().expect("deflate enabled");
        let r = d.infl.drain(&mut out[..INFLATE_CHUNK]);
        let (made, done) = match r {
            Ok(v) => v,
            Err(e) => {
                let e = match e {
                    deflate::InflateError::TooBig => ProtocolError::MessageTooBig,
                    deflate::InflateError::Invalid => ProtocolError::InvalidCompressedData,
                };
                self.fail(e);
                return Err(e);
            }
        };
        let out: &'a Vec<u8> = out;
        let payload = &out[..made];
        let Some(rx) = d.rx.as_mut() else {
            return Ok(None);
        };
        if rx.check_utf8 {
            let ok = rx.utf8.feed(payload).is_ok() && (!done || rx.utf8.finish().is_ok());
            if !ok {
                self.fail(ProtocolError::InvalidUtf8);
                return Err(ProtocolError::InvalidUtf8);
            }
        }
        if made == 0 && !done {
            return Ok(None);
        }
        let meta = FrameMeta {
            opcode: rx.opcode,
            fin: done,
            rsv1: true,
            is_continuation: rx.offset > 0,
            offset: rx.offset,
            bytes_left: 0,
            len: made,
        };
        rx.offset += made as u64;
        if done {
            d.rx = None;
        }
        Ok(Some(Chunk { meta, payload }))
    }

    /// The peer closed the TCP connection (read end-of-stream). Clean when
    /// the peer's Close was received (or in raw mode); otherwise an
    /// [`AbnormalClosure`] (1006). Afterwards every send fails with
    /// [`SendError::Closed`] and [`is_done`](Self::is_done) is true.
    pub fn handle_eof(&mut self) -> Result<(), AbnormalClosure> {
        self.eof = true;
        if self.cfg.raw_mode || self.peer_close.is_some() {
            Ok(())
        } else {
            Err(AbnormalClosure)
        }
    }

    pub(super) fn auto_pong(&mut self, payload: &[u8]) {
        if self.close_committed || self.eof {
            return;
        }
        // Autobahn fix (2.10): replace the unwritten Pong at the end of the queue only when
        // the new one does not fit; until then every Ping is answered.
        let wire_len = CONTROL_HEADER_LEN + payload.len().min(MAX_CONTROL_PAYLOAD);
        if self.pong_tail > 0 && self.tx.room() < wire_len {
            // §5.5.3: only the most recent Ping needs an answer.
            self.tx.truncate_back(self.pong_tail);
            self.pong_tail = 0;
        }
        self.pong_slot = Some(Control::new(OpCode::Pong, payload));
        self.flush_pending();
    }

    pub(super) fn on_peer_close(&mut self, payload: &[u8]) {
        // The decoder validated the payload.
        let (code, reason) = parse_close_payload(payload).unwrap_or((None, ""));
        let reason = &reason.as_bytes()[..reason.len().min(MAX_CLOSE_REASON)];
        let mut pc = PeerClose {
            code: code.unwrap_or(close_code::NO_STATUS),
            len: reason.len() as u8,
            reason: [0; MAX_CLOSE_REASON],
        };
        pc.reason[..reason.len()].copy_from_slice(reason);
        self.peer_close = Some(pc);
        // §5.5.2: no Pong is owed once a Close was received.
        self.pong_slot = None;
        if let Some(f) = self.out {
            if f.remaining > self.cfg.max_close_finish {
                self.abandon(f.remaining);
                return;
            }
        }
        if !self.close_committed && !self.eof {
            let body = code.map(u16::to_be_bytes);
            let body: &[u8] = body.as_ref().map_or(&[], |b| b);
            self.close_slot = Some(Control::new(OpCode::Close, body));
            self.close_committed = true;
            self.flush_pending();
        }
    }
}
