//! Sending: data frames (whole, streamed, compressed) and control frames into the bounded
//! transmit queue, in the order RFC 6455 §5.4 allows, and our side of the close handshake.

use super::*;

impl WsSession {
    // ----- (C) commands ----------------------------------------------------

    /// Queues payload, with libcurl's `curl_ws_send` semantics and flag bits
    /// ([`flags`](crate::proto::ws::flags)); returns how many bytes of `data` were
    /// accepted.
    ///
    /// * No data frame in progress: starts a frame whose type comes from
    ///   `TEXT`/`BINARY` (a continuation frame while a fragmented message is
    ///   in progress; the type flag may then be omitted but must not differ:
    ///   [`SendError::InvalidArgument`]). `CONT` means more fragments follow
    ///   (FIN clear). The payload length is `data.len()`, or `fragsize` with
    ///   `OFFSET` (one large frame streamed over many calls; `data` may not
    ///   exceed it). Then as much payload as fits under the queue bound is
    ///   accepted: `Ok(n)` with `n < data.len()` leaves the frame in progress,
    ///   to be continued with the rest.
    /// * A data frame in progress: `data` continues it (at most its remaining
    ///   length, else [`SendError::InvalidArgument`]); `flags` must be 0, or
    ///   `OFFSET`, or the frame's own type/`CONT` flags (else
    ///   [`SendError::FrameInProgress`]); `fragsize` is ignored.
    /// * `PING`/`PONG`/`CLOSE`: one whole control frame (≤ 125 bytes, else
    ///   [`SendError::TooLarge`]; `OFFSET` only with `fragsize ==
    ///   data.len()`; a Close payload must be valid per §5.5.1/§7.4). It
    ///   waits in a slot if a data frame is in progress or there is no room.
    ///   `CLOSE` commits our Close: afterwards only the current frame may be
    ///   finished and everything else fails with [`SendError::Closed`].
    ///
    /// [`SendError::WouldBlock`] is returned only when nothing was accepted
    /// although `data` was non-empty, or when not even the header of a
    /// zero-length frame fits; a zero-length frame is otherwise accepted
    /// whole (`Ok(0)`). In raw mode `data` is queued as is (`flags` and
    /// `fragsize` must be 0).
    pub fn send(&mut self, data: &[u8], flags: u32, fragsize: u64) -> Result<usize, SendError> {
        let r = self.send_inner(data, flags, fragsize);
        match r {
            Ok(n) if n < data.len() => self.blocked = true,
            Err(SendError::WouldBlock) => self.blocked = true,
            _ => {}
        }
        r
    }

    /// True once, when a send was refused or cut short by the queue bound and the queue has
    /// since drained completely: the moment to resume sending (the driver's "writable again"
    /// notification).
    pub fn take_writable(&mut self) -> bool {
        if self.blocked && self.tx.len == 0 {
            self.blocked = false;
            return true;
        }
        false
    }

    /// Keep the "writable again" notification pending (the driver stopped early).
    pub fn mark_blocked(&mut self) {
        self.blocked = true;
    }

    pub(super) fn send_inner(
        &mut self,
        data: &[u8],
        flags: u32,
        fragsize: u64,
    ) -> Result<usize, SendError> {
        if flags & !ALL_FLAGS != 0 {
            return Err(SendError::InvalidArgument);
        }
        if self.cfg.raw_mode {
            return self.send_raw(data, flags, fragsize);
        }
        let ctrl = flags & CONTROL_FLAGS;
        if ctrl != 0 {
            if ctrl.count_ones() != 1 || flags & DATA_FLAGS != 0 {
                return Err(SendError::InvalidArgument);
            }
            if flags & OFFSET != 0 && fragsize != data.len() as u64 {
                return Err(SendError::InvalidArgument);
            }
            let opcode = match ctrl {
                CLOSE => OpCode::Close,
                PING => OpCode::Ping,
                _ => OpCode::Pong,
            };
            self.send_control(opcode, data)?;
            return Ok(data.len());
        }
        if self.dead() {
            return Err(SendError::Closed);
        }
        if let (Some(d), None) = (self.deflate.as_deref(), self.out) {
            let compress = if self.msg.is_some() {
                d.tx_compressed
            } else {
                flags & OFFSET == 0 && d.comp.is_enabled() && data.len() >= d.threshold
            };
            if compress {
                if flags & OFFSET != 0 {
                    return Err(SendError::InvalidArgument);
                }
                return self.send_compressed(data, flags);
            }
        }
        if let Some(f) = self.out {
            let fl = flags & DATA_FLAGS;
            let ty = fl & (TEXT | BINARY);
            if (ty != 0 && ty != f.ty) || (fl != 0 && (fl & CONT == 0) != f.fin) {
                return Err(SendError::FrameInProgress);
            }
            if data.len() as u64 > f.remaining {
                return Err(SendError::InvalidArgument);
            }
            return self.write_payload(data);
        }
        let len = if flags & OFFSET != 0 {
            fragsize
        } else {
            data.len() as u64
        };
        if data.len() as u64 > len {
            return Err(SendError::InvalidArgument);
        }
        self.begin_frame(flags, len, !data.is_empty())?;
        self.write_payload(data)
    }

    /// Queues the header of a data frame of `len` payload bytes (libcurl's
    /// `curl_ws_start_frame`); later [`send`](Self::send) calls (`flags` 0
    /// suffices) supply the payload. `flags` as for `send` (`TEXT`/`BINARY`,
    /// `CONT`; `OFFSET` is ignored). A zero-length frame is complete at once.
    ///
    /// Errors: [`SendError::FrameInProgress`] while a frame is unfinished,
    /// [`SendError::WouldBlock`] when the header does not fit,
    /// [`SendError::InvalidArgument`] for control flags (use
    /// [`send`](Self::send)), bad flags, `len` above 2^63 - 1 or raw mode.
    pub fn start_frame(&mut self, flags: u32, len: u64) -> Result<(), SendError> {
        let r = self.start_frame_inner(flags, len);
        if r == Err(SendError::WouldBlock) {
            // Like a refused `send`: the driver reports "writable again" once the queue drains.
            self.blocked = true;
        }
        r
    }

    pub(super) fn start_frame_inner(&mut self, flags: u32, len: u64) -> Result<(), SendError> {
        if self.cfg.raw_mode || flags & !ALL_FLAGS != 0 || flags & CONTROL_FLAGS != 0 {
            return Err(SendError::InvalidArgument);
        }
        if self.dead() {
            return Err(SendError::Closed);
        }
        if self.out.is_some() {
            return Err(SendError::FrameInProgress);
        }
        if self.msg.is_some() && self.deflate.as_ref().is_some_and(|d| d.tx_compressed) {
            return Err(SendError::InvalidArgument);
        }
        self.begin_frame(flags, len, false)
    }

    /// permessage-deflate: compresses as much of `data` as surely fits into
    /// one whole frame (RSV1 on the first frame of the message).
    pub(super) fn send_compressed(&mut self, data: &[u8], flags: u32) -> Result<usize, SendError> {
        if self.close_committed {
            return Err(SendError::Closed);
        }
        let fin_req = flags & CONT == 0;
        let (opcode, ty) = self.data_opcode(flags)?;
        self.flush_pending();
        if self.ctrl_slot.is_some() || self.pong_slot.is_some() {
            return Err(SendError::WouldBlock);
        }
        let room = self.tx.room().saturating_sub(MAX_HEADER_LEN);
        let k = data.len().min(deflate::max_input_for(room));
        if k == 0 && (!data.is_empty() || room < deflate::compress_bound(0)) {
            return Err(SendError::WouldBlock);
        }
        let fin = fin_req && k == data.len();
        let d = self.deflate.as_deref_mut().expect("deflate enabled");
        let mut scratch = std::mem::take(&mut d.scratch);
        d.comp.compress(&data[..k], fin, &mut scratch);
        d.tx_compressed = !fin;
        let key = self.rng.mask_key();
        self.put_header(&FrameHeader {
            fin,
            rsv1: self.msg.is_none(),
            rsv2: false,
            rsv3: false,
            opcode,
            mask: Some(key),
            payload_len: scratch.len() as u64,
        });
        self.tx.push_masked(&scratch, key, 0);
        if scratch.capacity() > 4 * INFLATE_CHUNK {
            scratch = Vec::new();
        }
        if let Some(d) = self.deflate.as_deref_mut() {
            d.scratch = scratch;
        }
        self.msg = if fin { None } else { Some(ty) };
        self.flush_pending();
        Ok(k)
    }

    /// Queues a Ping (≤ 125 bytes); same as `send(payload, PING, 0)`.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        let r = self.send_control(OpCode::Ping, payload);
        if r == Err(SendError::WouldBlock) {
            self.blocked = true;
        }
        r
    }

    /// Starts the closing handshake (§5.5.1, §7.1.2) with an optional status
    /// code and a UTF-8 reason of at most [`MAX_CLOSE_REASON`] bytes
    /// ([`SendError::TooLarge`]). The code must be valid on the wire
    /// ([`is_valid_close_code`](crate::proto::ws::is_valid_close_code)) and a reason
    /// needs a code ([`SendError::InvalidArgument`]). Fails with
    /// [`SendError::Closed`] when a Close is already committed, including the
    /// automatic echo of the peer's Close.
    pub fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), SendError> {
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            None if reason.is_empty() => 0,
            None => return Err(SendError::InvalidArgument),
            Some(_) if reason.len() > MAX_CLOSE_REASON => return Err(SendError::TooLarge),
            Some(c) => {
                body[..2].copy_from_slice(&c.to_be_bytes());
                body[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
                2 + reason.len()
            }
        };
        self.send_control(OpCode::Close, &body[..len])
    }

    pub(super) fn send_raw(
        &mut self,
        data: &[u8],
        flags: u32,
        fragsize: u64,
    ) -> Result<usize, SendError> {
        if flags != 0 || fragsize != 0 {
            return Err(SendError::InvalidArgument);
        }
        if self.eof {
            return Err(SendError::Closed);
        }
        let n = data.len().min(self.tx.room());
        if n == 0 && !data.is_empty() {
            return Err(SendError::WouldBlock);
        }
        self.tx.push(&data[..n]);
        Ok(n)
    }

    pub(super) fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if self.cfg.raw_mode {
            return Err(SendError::InvalidArgument);
        }
        if self.dead() || self.close_committed {
            return Err(SendError::Closed);
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::TooLarge);
        }
        let c = Control::new(opcode, payload);
        if opcode == OpCode::Close {
            parse_close_payload(payload).map_err(|_| SendError::InvalidArgument)?;
            self.close_slot = Some(c);
            self.close_committed = true;
        } else {
            self.flush_pending();
            if self.ctrl_slot.is_some() {
                return Err(if self.out.is_some() {
                    SendError::FrameInProgress
                } else {
                    SendError::WouldBlock
                });
            }
            self.ctrl_slot = Some(c);
        }
        self.flush_pending();
        Ok(())
    }

    /// Queues the header of a new data frame. `need_byte`: only start if at
    /// least one payload byte fits too.
    pub(super) fn begin_frame(
        &mut self,
        flags: u32,
        len: u64,
        need_byte: bool,
    ) -> Result<(), SendError> {
        if self.dead() || self.close_committed {
            return Err(SendError::Closed);
        }
        if len > MAX_PAYLOAD_LEN {
            return Err(SendError::InvalidArgument);
        }
        let fin = flags & CONT == 0;
        let (opcode, ty) = self.data_opcode(flags)?;
        self.flush_pending();
        if self.ctrl_slot.is_some() || self.pong_slot.is_some() {
            // Earlier control frames wait for room: go after them.
            return Err(SendError::WouldBlock);
        }
        let mut h = FrameHeader {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: Some([0; 4]),
            payload_len: len,
        };
        if self.tx.room() < h.encoded_len() + usize::from(need_byte) {
            return Err(SendError::WouldBlock);
        }
        let key = self.rng.mask_key();
        h.mask = Some(key);
        self.put_header(&h);
        self.msg = if fin { None } else { Some(ty) };
        if len == 0 {
            self.flush_pending();
        } else {
            self.out = Some(OutFrame {
                ty,
                fin,
                key,
                offset: 0,
                remaining: len,
            });
        }
        Ok(())
    }

    /// Queues as much of `data` as fits into the frame in progress.
    pub(super) fn write_payload(&mut self, data: &[u8]) -> Result<usize, SendError> {
        let Some(mut f) = self.out else {
            // A zero-length frame, already complete; `data` is empty.
            return Ok(0);
        };
        let n = (data.len() as u64)
            .min(f.remaining)
            .min(self.tx.room() as u64) as usize;
        if n == 0 && !data.is_empty() {
            return Err(SendError::WouldBlock);
        }
        self.pong_tail = 0;
        self.tx.push_masked(&data[..n], f.key, f.offset);
        f.offset += n as u64;
        f.remaining -= n as u64;
        if f.remaining == 0 {
            self.out = None;
            self.flush_pending();
        } else {
            self.out = Some(f);
        }
        Ok(n)
    }

    pub(super) fn put_header(&mut self, h: &FrameHeader) {
        let mut hdr = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut hdr);
        self.pong_tail = 0;
        self.tx.push(&hdr[..n]);
    }

    /// Queues a whole control frame if it fits.
    pub(super) fn put_control(&mut self, c: &Control) -> bool {
        if self.tx.room() < c.wire_len() {
            return false;
        }
        let key = self.rng.mask_key();
        self.put_header(&FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: c.opcode,
            mask: Some(key),
            payload_len: u64::from(c.len),
        });
        self.tx.push_masked(c.payload(), key, 0);
        true
    }

    /// Moves waiting control frames into the queue, in order (application
    /// Ping/Pong, automatic Pong, Close), at a frame boundary and while they
    /// fit.
    pub(super) fn flush_pending(&mut self) {
        if self.out.is_some() {
            return;
        }
        if let Some(c) = self.ctrl_slot {
            if !self.put_control(&c) {
                return;
            }
            self.ctrl_slot = None;
        }
        if let Some(c) = self.pong_slot {
            if !self.put_control(&c) {
                return;
            }
            self.pong_slot = None;
            self.pong_tail = c.wire_len();
        }
        if let Some(c) = self.close_slot {
            if !self.put_control(&c) {
                return;
            }
            self.close_slot = None;
            self.close_queued = true;
        }
    }

    /// The opcode of the next data frame for `flags` (TEXT or BINARY starts a message; a
    /// message in progress continues with no type or its own), and the message type.
    pub(super) fn data_opcode(&self, flags: u32) -> Result<(OpCode, u32), SendError> {
        match (self.msg, flags & (TEXT | BINARY)) {
            (None, TEXT) => Ok((OpCode::Text, TEXT)),
            (None, BINARY) => Ok((OpCode::Binary, BINARY)),
            (Some(m), 0) => Ok((OpCode::Continuation, m)),
            (Some(m), t) if t == m => Ok((OpCode::Continuation, m)),
            _ => Err(SendError::InvalidArgument),
        }
    }
}
