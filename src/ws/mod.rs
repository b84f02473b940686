//! The public WebSocket API: [`WsHandle`], [`WsFrame`], [`WsError`] and the curl flag bits.
//!
//! One type, [`WsHandle`], whether it is reached from inside a callback ([`Ctx::ws`](crate::Ctx::ws),
//! [`Ctx::ws_of`](crate::Ctx::ws_of)) or from outside ([`Multi::ws`](crate::Multi::ws)).
//! Sends never block: they encode (and mask) into the transfer's bounded send queue, which the
//! multi flushes when the socket is writable. A full queue answers [`WsError::WouldBlock`]
//! (curl's `CURLE_AGAIN`) only when not a single byte was accepted; otherwise the send returns
//! the number of bytes taken and the frame stays open for the rest (curl ≥ 8.12).

use std::fmt;
use std::io;

use crate::proto::ws::session::{SendError, WsSession};
use crate::proto::ws::FrameMeta;
use crate::transport::{BufPool, Conn, Pull};

pub use crate::proto::ws::flags::{BINARY, CLOSE, CONT, OFFSET, PING, PONG, TEXT};
pub use crate::proto::ws::DeflateConfig;
pub use client::{WsClient, WS_CLIENT_DROP_CLOSE_WAIT};
pub use message::{CloseCode, CloseFrame, Message, MessageRef};

mod client;
mod message;

/// Metadata of a received chunk: libcurl's `struct curl_ws_frame`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct WsFrame {
    /// [`TEXT`], [`BINARY`], [`CLOSE`], [`PING`] or [`PONG`], plus [`CONT`] on every data
    /// fragment but the last of its message (the type flag is on every fragment).
    pub flags: u32,
    /// Where this chunk starts in its frame's payload. For a message inflated by
    /// permessage-deflate ([`Easy::ws_compress`](crate::Easy::ws_compress)): where it starts
    /// in the inflated message.
    pub offset: u64,
    /// Payload bytes of this frame still to come after this chunk (0: the frame is complete).
    /// Always 0 for an inflated message (its size is unknown until its end, which is the
    /// chunk without [`CONT`]).
    pub bytesleft: u64,
    /// Length of this chunk.
    pub len: usize,
}

impl WsFrame {
    pub(crate) fn from_meta(m: &FrameMeta) -> WsFrame {
        WsFrame {
            flags: m.curl_flags(),
            offset: m.offset,
            bytesleft: m.bytes_left,
            len: m.len,
        }
    }

    /// True for a text chunk.
    pub fn is_text(&self) -> bool {
        self.flags & TEXT != 0
    }
    /// True for a binary chunk.
    pub fn is_binary(&self) -> bool {
        self.flags & BINARY != 0
    }
    /// True for a close frame (payload: 2-byte code + reason, or empty).
    pub fn is_close(&self) -> bool {
        self.flags & CLOSE != 0
    }
    /// True when this chunk ends its message (or is a control frame).
    pub fn is_message_end(&self) -> bool {
        self.bytesleft == 0 && self.flags & CONT == 0
    }
}

/// Why a WebSocket call did not do what was asked.
#[non_exhaustive]
#[derive(Debug)]
pub enum WsError {
    /// Nothing could be sent or received right now (curl's `CURLE_AGAIN`): the send queue is
    /// full, or no data has arrived. Try again after the multi has run.
    WouldBlock,
    /// The transfer is not a WebSocket transfer, or the upgrade has not completed yet.
    NotWebSocket,
    /// No transfer with this id.
    UnknownTransfer,
    /// A close frame was sent or the connection is closed; no more data can be sent, or
    /// nothing more will be received. Once a transfer has ended after a clean closing
    /// handshake, every call on its handle answers this.
    Closed,
    /// A frame is unfinished: finish it before starting another (or before `start_frame`).
    FrameInProgress,
    /// A control frame payload over 125 bytes (curl's `CURLE_TOO_LARGE`).
    TooLarge,
    /// Bad flags, or more bytes than the declared frame length (`CURLE_BAD_FUNCTION_ARGUMENT`).
    InvalidArgument,
    /// The peer broke the protocol; the transfer fails with
    /// [`ErrorKind::WsProtocol`](crate::ErrorKind::WsProtocol).
    Protocol(crate::proto::ws::ProtocolError),
    /// The socket failed.
    Io(io::Error),
    /// The multi ended this connect-only transfer after its upgrade, with this error (no
    /// answer to a keepalive ping within its timeout, a closing handshake that did not complete
    /// within [`Easy::ws_close_timeout`](crate::Easy::ws_close_timeout), our frame abandoned at
    /// the peer's close, a failed socket...); its connection is closed.
    Failed(crate::Error),
    /// A blocking call ([`WsClient`]) waited its whole timeout; the WebSocket is still open.
    TimedOut,
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::WouldBlock => f.write_str("would block"),
            WsError::NotWebSocket => f.write_str("not an established WebSocket transfer"),
            WsError::UnknownTransfer => f.write_str("unknown transfer"),
            WsError::Closed => f.write_str("WebSocket closed"),
            WsError::FrameInProgress => f.write_str("a frame is still in progress"),
            WsError::TooLarge => f.write_str("control frame payload over 125 bytes"),
            WsError::InvalidArgument => f.write_str("invalid argument"),
            WsError::Protocol(e) => write!(f, "WebSocket protocol error: {e}"),
            WsError::Io(e) => write!(f, "I/O error: {e}"),
            WsError::Failed(e) => write!(f, "transfer failed: {e}"),
            WsError::TimedOut => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for WsError {}

impl From<SendError> for WsError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::WouldBlock => WsError::WouldBlock,
            SendError::Closed => WsError::Closed,
            SendError::FrameInProgress => WsError::FrameInProgress,
            SendError::TooLarge => WsError::TooLarge,
            _ => WsError::InvalidArgument,
        }
    }
}

/// Send (and, in connect-only mode, receive) on one WebSocket transfer.
///
/// From a callback: [`Ctx::ws`](crate::Ctx::ws) for the current transfer,
/// [`Ctx::ws_of`](crate::Ctx::ws_of) for another one. From outside: [`Multi::ws`](crate::Multi::ws).
pub struct WsHandle<'a> {
    pub(crate) session: &'a mut WsSession,
    /// The connection, for reads in connect-only mode (outside callbacks only).
    pub(crate) conn: Option<&'a mut Conn>,
    /// The metadata of the chunk being delivered to the current write callback.
    pub(crate) meta: Option<WsFrame>,
    /// Connect-only: how the multi ended the transfer after its upgrade (`None` while open).
    pub(crate) ended: Option<&'a crate::error::Result<()>>,
}

impl fmt::Debug for WsHandle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsHandle")
            .field("queued", &self.session.send_queue_len())
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// [`WsError::Closed`] after a clean end, [`WsError::Failed`] with the error otherwise.
#[cold]
fn ended_error(r: &crate::error::Result<()>) -> WsError {
    match r {
        Ok(()) => WsError::Closed,
        Err(e) => WsError::Failed(e.detached()),
    }
}

impl WsHandle<'_> {
    /// A transfer the multi ended: what to answer instead of sending or receiving. (On every
    /// send: the open case is one inlined test, the ended one out of line.)
    #[inline]
    fn check_ended(&self) -> Result<(), WsError> {
        match self.ended {
            None => Ok(()),
            Some(r) => Err(ended_error(r)),
        }
    }

    /// Send `data` as a frame of type `flags` ([`TEXT`], [`BINARY`], plus [`CONT`] when more
    /// fragments follow; or [`PING`], [`PONG`], [`CLOSE`]) (`curl_ws_send` with `fragsize` 0).
    ///
    /// Returns the bytes accepted. Fewer than `data.len()` means the queue is near its bound:
    /// the frame stays open and the next call continues it with the rest (pass the same flags).
    pub fn send(&mut self, data: &[u8], flags: u32) -> Result<usize, WsError> {
        self.check_ended()?;
        Ok(self.session.send(data, flags, 0)?)
    }

    /// Stream one large frame over several calls (`curl_ws_send` with [`OFFSET`]): the first
    /// call gives the total payload size in `frame_len`, later calls pass 0.
    pub fn send_offset(
        &mut self,
        data: &[u8],
        frame_len: u64,
        flags: u32,
    ) -> Result<usize, WsError> {
        self.check_ended()?;
        Ok(self.session.send(data, flags | OFFSET, frame_len)?)
    }

    /// Queue a frame header of `len` payload bytes; the following [`WsHandle::send`] calls
    /// supply the payload (`curl_ws_start_frame`). Zero-length frames are possible.
    pub fn start_frame(&mut self, flags: u32, len: u64) -> Result<(), WsError> {
        self.check_ended()?;
        Ok(self.session.start_frame(flags, len)?)
    }

    /// Send a text message (one frame).
    pub fn send_text(&mut self, text: &str) -> Result<usize, WsError> {
        self.send(text.as_bytes(), TEXT)
    }

    /// Send a binary message (one frame).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<usize, WsError> {
        self.send(data, BINARY)
    }

    /// Send a ping.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), WsError> {
        self.check_ended()?;
        Ok(self.session.ping(payload)?)
    }

    /// Start the close handshake with `code` and `reason`; the multi waits for the peer's
    /// close, then shuts the connection down. If none comes within
    /// [`Easy::ws_close_timeout`](crate::Easy::ws_close_timeout) the transfer fails with
    /// [`ErrorKind::OperationTimedout`](crate::ErrorKind::OperationTimedout). A frame in
    /// progress may still be finished (with [`WsHandle::send`]); the close follows it.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), WsError> {
        self.check_ended()?;
        Ok(self.session.close(Some(code), reason)?)
    }

    /// The metadata of the chunk being delivered, inside the write callback of a WebSocket
    /// transfer (`curl_ws_meta`); `None` elsewhere.
    pub fn meta(&self) -> Option<WsFrame> {
        self.meta
    }

    /// The socket of a connect-only transfer, to wait for readiness in your own loop
    /// (`CURLINFO_ACTIVESOCKET`); `None` in the callback model.
    #[cfg(unix)]
    pub fn socket(&mut self) -> Option<crate::multi::Socket> {
        self.conn.as_deref().map(|c| c.fd())
    }

    /// Bytes queued and not yet written to the socket (0 once the transfer has ended: nothing
    /// more will be written).
    pub fn queued(&self) -> usize {
        if self.ended.is_some() {
            return 0;
        }
        self.session.send_queue_len()
    }

    /// Queue a whole typed message: `Ok` once all of it is queued, [`WsError::WouldBlock`]
    /// with nothing queued when it does not fit the send queue now (try again after the
    /// multi has run), [`WsError::TooLarge`] for one that cannot fit even an empty queue
    /// (stream it with [`send`](Self::send) instead, or raise
    /// [`Easy::ws_max_send_queue`](crate::Easy::ws_max_send_queue)) or a control frame over
    /// 125 bytes. A [`Message::Close`] starts the close handshake.
    pub fn send_msg(&mut self, msg: MessageRef<'_>) -> Result<(), WsError> {
        self.check_ended()?;
        let mut scratch = Vec::new();
        let (flags, data) = msg.wire(&mut scratch);
        if let MessageRef::Close(c) = msg {
            let (code, reason) = c.map_or((None, ""), |(code, r)| (Some(code.into()), r));
            return Ok(self.session.close(code, reason)?);
        }
        // Frame header, and what permessage-deflate may add to incompressible data.
        let need = data.len() + data.len() / 512 + 32;
        if need > self.session.send_room() {
            if self.session.send_queue_len() == 0 {
                return Err(WsError::TooLarge);
            }
            // Told again (`Handler::ws_writable`, `Multi::ws_ready`) once the queue drains.
            self.session.mark_blocked();
            return Err(WsError::WouldBlock);
        }
        let n = self.session.send(data, flags, 0)?;
        debug_assert_eq!(n, data.len(), "the room was checked");
        Ok(())
    }

    /// Be told when the send queue has drained ([`Handler::ws_writable`](crate::Handler::ws_writable),
    /// [`Multi::ws_ready`](crate::Multi::ws_ready)), even without a refused send.
    pub fn notify_when_drained(&mut self) {
        self.session.mark_blocked();
    }

    /// Receive one whole typed message in connect-only mode: [`recv_message`](Self::recv_message)
    /// into `buf`, parsed ([`MessageRef::parse`]). On [`WsError::WouldBlock`] the bytes so far
    /// stay in `buf`: call again with the same buffer; clear it after each message.
    pub fn recv_msg<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<MessageRef<'b>, WsError> {
        let flags = self.recv_message(buf)?;
        MessageRef::parse(flags, buf)
    }

    /// Receive one whole message in connect-only mode (message mode for `recv`): chunks are
    /// appended to `buf` until the message ends, then its flags (type, never `CONT`) are
    /// returned. On [`WsError::WouldBlock`] the bytes so far stay in `buf`: call again with the
    /// same buffer. Control frames (pong, close, ping with auto-pong off) come back on their
    /// own when no message is in progress; between fragments, pings and pongs are skipped and
    /// a close answers [`WsError::Closed`]. Bounded by the max message size.
    pub fn recv_message(&mut self, buf: &mut Vec<u8>) -> Result<u32, WsError> {
        loop {
            let (frame, data) = self.recv()?;
            let control = frame.flags & (TEXT | BINARY) == 0;
            if control {
                if buf.is_empty() {
                    buf.extend_from_slice(data);
                    return Ok(frame.flags);
                }
                // Between the fragments of a message: a close ends it; pings and pongs are
                // skipped (pings were answered) so the partial message stays intact.
                if frame.is_close() {
                    return Err(WsError::Closed);
                }
                continue;
            }
            buf.extend_from_slice(data);
            if frame.is_message_end() {
                return Ok(frame.flags & !CONT);
            }
        }
    }

    /// Receive the next chunk of the next frame, non-blocking, in connect-only mode
    /// (`curl_ws_recv`). The payload is borrowed from the connection's buffer until the next
    /// call. Pings are answered automatically (unless auto-pong is off) and not returned.
    /// [`WsError::WouldBlock`] when nothing has arrived; [`WsError::Closed`] after the peer's
    /// close frame was returned and the connection ended; [`WsError::Failed`] once the multi
    /// ended the transfer with an error (a keepalive timeout, say).
    pub fn recv(&mut self) -> Result<(WsFrame, &[u8]), WsError> {
        self.check_ended()?;
        let Some(conn) = self.conn.as_deref_mut() else {
            return Err(WsError::NotWebSocket);
        };
        loop {
            let inflating = self.session.deflate().is_some();
            if !conn.buffered().is_empty() || (inflating && self.session.inflate_pending()) {
                let (rpos, rend) = (conn.rpos, conn.rend);
                let input = &mut conn.rbuf[rpos..rend];
                // permessage-deflate: inflated chunks land in the session's spare buffer.
                let mut out = self.session.take_inflate_buffer();
                let r = self.session.handle_input_into(input, &mut out);
                let meta = r.map(|(n, chunk)| {
                    let meta = chunk.map(|c| {
                        let inflated = inflating && c.meta.rsv1 && c.meta.opcode.is_data();
                        (WsFrame::from_meta(&c.meta), c.meta.len, inflated)
                    });
                    (n, meta)
                });
                self.session.restore_inflate_buffer(out);
                let (n, meta) = meta.map_err(WsError::Protocol)?;
                if let Some((frame, len, true)) = meta {
                    conn.consume(n);
                    return Ok((frame, &self.session.inflate_buffer()[..len]));
                }
                let meta = meta.map(|(f, len, _)| (f, len));
                // Borrow juggling: re-slice the payload after consuming the header bytes.
                if let Some((frame, len)) = meta {
                    let start = rpos + n - len;
                    conn.consume(n);
                    // The payload bytes stay in rbuf until the next fill or consume; a
                    // consume that empties the buffer resets indices but not the bytes.
                    return Ok((frame, &conn.rbuf[start..start + len]));
                }
                conn.consume(n);
                if n > 0 {
                    continue;
                }
            }
            // The application asks: try the socket whatever the multi's last event said (the
            // application's own loop may know better). No budget: this read is the caller's.
            conn.readable = true;
            let mut unbounded = usize::MAX;
            match conn.pull(&mut BufPool::default(), &mut unbounded) {
                Pull::Eof => {
                    return match self.session.handle_eof() {
                        Ok(()) => Err(WsError::Closed),
                        Err(e) => Err(WsError::Io(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            e.to_string(),
                        ))),
                    }
                }
                // A sign of life for the keepalive, which does not see this read.
                Pull::Data => conn.arrived = true,
                Pull::Idle | Pull::Spent => return Err(WsError::WouldBlock),
                Pull::Failed(e) => return Err(WsError::Io(e)),
                Pull::Reset(end) => {
                    return Err(WsError::Io(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        format!("HTTP/2 stream reset: {:?}", end.code),
                    )))
                }
            }
        }
    }
}
