//! WebSocket session, client role: the sans-IO layer between the frame codec
//! and a connection driver (RFC 6455 §5.1-§5.6, §7, §8.1), with the send and
//! receive semantics of libcurl's `curl_ws_send`, `curl_ws_recv`,
//! `curl_ws_meta` and `curl_ws_start_frame`.
//!
//! A [`WsSession`] owns a [`Decoder`], a [`SecureRng`] and a bounded transmit
//! queue. It performs no I/O, reads no clock and allocates nothing per frame
//! or message: the transmit queue is one ring buffer that grows (up to the
//! queue bound) and is then reused, and pending control frames live in fixed
//! 125-byte slots.
//!
//! The code is in four files: this one (the session's state, configuration,
//! errors and what it reports), `receive.rs` (input to chunks, automatic
//! answers, end of stream), `send.rs` (data and control frames into the queue,
//! ordering, our close) and `transmit.rs` (the ring and the driver's side of
//! it: bytes to write, bytes written, lent storage); the tests are in
//! `tests.rs`.
//!
//! # Driving contract
//!
//! 1. **Start**: after the handshake succeeded ([`validate_response`](super::validate_response)),
//!    create the session with [`WsSession::new`] and a [`SecureRng`] of its
//!    own (§5.3, §10.3: every frame gets a fresh, unpredictable masking key).
//!    Bytes received after the 101 response headers are the first WebSocket
//!    bytes.
//! 2. **Receive** (§5, §6.2): keep received bytes in a buffer of at least
//!    [`MIN_RECV_BUFFER`](super::MIN_RECV_BUFFER) bytes. Call
//!    [`handle_input`](WsSession::handle_input) on the unconsumed bytes, use
//!    the returned chunk (it borrows the buffer), drop the consumed bytes and
//!    call again until it returns `(0, None)`; then read more. When the
//!    socket reports end-of-stream, call [`handle_eof`](WsSession::handle_eof).
//! 3. **Send** (§5.1-§5.4): [`send`](WsSession::send),
//!    [`start_frame`](WsSession::start_frame), [`ping`](WsSession::ping) and
//!    [`close`](WsSession::close) only encode into the transmit queue; they
//!    never write. They accept at most what fits under
//!    [`WsConfig::max_send_queue`] and report
//!    [`SendError::WouldBlock`] when nothing fits.
//! 4. **Write**: whenever [`wants_write`](WsSession::wants_write) is true,
//!    write [`poll_transmit`](WsSession::poll_transmit) to the socket and
//!    report the bytes written with
//!    [`consume_transmit`](WsSession::consume_transmit). Check it after every
//!    call: `handle_input` queues pongs and close frames,
//!    `consume_transmit` moves control frames that waited for room into the
//!    queue.
//! 5. **Close** (§5.5.1, §7.1): [`close`](WsSession::close) starts the
//!    closing handshake; a Close from the peer is answered automatically.
//!    When [`is_done`](WsSession::is_done) the handshake is complete and
//!    everything is written: the driver may shut the connection down (§7.1.1
//!    recommends that the client then waits a little for the server to close
//!    TCP first).
//! 6. **Errors** (§7.1.7): a [`ProtocolError`] from `handle_input` fails the
//!    connection. The session queues a Close with
//!    [`ProtocolError::close_code`]; keep writing until `is_done`, then drop
//!    the connection.
//!
//! # Automatic behaviour
//!
//! * **Ping** (§5.5.2, §5.5.3): with [`WsConfig::auto_pong`] (the default) a
//!   Ping is answered with a Pong echoing its payload and is *not* returned
//!   to the application (as libcurl does). Every Ping gets its Pong while
//!   the Pong fits in the transmit queue (Autobahn|Testsuite 2.10 expects a
//!   Pong per Ping). When it does not fit, or while a data frame is only
//!   partly queued, a newer Ping replaces the older Pong that has not started
//!   to be written, whether it waits in its slot or sits at the end of the
//!   queue, so a ping flood cannot grow memory beyond the queue bound
//!   (§5.5.3 allows answering only the most recent Ping). No Pong is sent
//!   once our Close is committed (as tungstenite does) or after the peer's
//!   Close.
//! * **Close** (§5.5.1): the peer's Close is returned to the application,
//!   recorded ([`peer_close`](WsSession::peer_close)) and, unless we already
//!   committed a Close, echoed with the same status code and an empty reason
//!   (an empty Close is echoed empty).
//! * **Failure** (§7.1.7): see *Errors* above. Errors are sticky.
//!
//! # Frame ordering (§5.4)
//!
//! Control frames are never put inside a data frame: while a data frame is
//! only partly queued, Ping/Pong/Close frames wait in one-deep slots (one
//! application Ping or Pong, one automatic Pong, one Close) and enter the
//! queue as soon as the frame is complete and there is room. They may go
//! between the fragments of a message. A Close waiting this way still lets
//! the application finish the current frame (§5.5.1 allows finishing the
//! message), but nothing new can be started.
//!
//! # Closing in the middle of a frame
//!
//! RFC 6455 §5.5.1: an endpoint that receives a Close must answer with a
//! Close, and may first finish the message it is sending. A frame whose
//! payload is all in the transmit queue is simply followed by the Close. A
//! frame still in progress (a [`send`](WsSession::send) the queue bound cut
//! short, an `OFFSET` stream, a [`start_frame`](WsSession::start_frame))
//! can only be finished by the application, which supplies the rest of its
//! payload with further `send` calls; new frames are refused
//! ([`SendError::Closed`]), and the Close goes out right after the frame's
//! last byte. Between the fragments of a message, the Close goes out at
//! once and the message stays unfinished.
//!
//! Two bounds keep a frame that is far from done, or never finished, from
//! holding the connection open:
//!
//! * **Size**: when the peer's Close arrives and more than
//!   [`WsConfig::max_close_finish`] payload bytes of the frame are missing,
//!   the frame is abandoned at once: the transmit queue is emptied, every
//!   send fails, [`is_done`](WsSession::is_done) is true and
//!   [`abandoned`](WsSession::abandoned) says why. The driver must drop the
//!   connection without a Close (none can follow a partial frame).
//! * **Time**: the driver gives the closing handshake a deadline (the
//!   session reads no clock); if the frame is still unfinished then, it drops
//!   the connection the same way.
//!
//! # Raw mode
//!
//! With [`WsConfig::raw_mode`] (libcurl's `CURLWS_RAW_MODE`) nothing is
//! decoded or encoded: `handle_input` returns all input as one chunk and
//! `send` queues bytes as they are (still bounded). permessage-deflate is
//! never applied in raw mode: compressed frames pass as they are.
//!
//! # permessage-deflate (RFC 7692)
//!
//! After negotiating the extension ([`deflate::negotiate`]),
//! call [`set_deflate`](WsSession::set_deflate) before the first input or
//! send. Then:
//!
//! * **Receiving**: use [`handle_input_into`](WsSession::handle_input_into)
//!   with an output buffer the caller owns (it is sized to
//!   [`INFLATE_CHUNK`]); compressed messages are returned *inflated*, in
//!   chunks of at most that size, and text is UTF-8-validated after
//!   inflation. For an inflated message the [`FrameMeta`] describes the
//!   inflated message as one stream of unknown length: `offset` is the
//!   position of the chunk in the inflated message, `bytes_left` is always 0
//!   (unknown), `fin` is set on the last chunk only (so every other chunk
//!   carries `CONT`), `rsv1` is set, and the wire fragmentation is not
//!   visible. A message inflating to more than
//!   [`WsConfig::max_message_size`] fails with
//!   [`ProtocolError::MessageTooBig`] (close 1009) after at most that much
//!   output; memory stays bounded by the output buffer, the 32 KiB window
//!   and one input chunk. Data that does not inflate fails with
//!   [`ProtocolError::InvalidCompressedData`] (1007). The plain
//!   [`handle_input`](WsSession::handle_input) passes compressed payloads
//!   through untouched (`meta.rsv1` set) and must not be mixed with
//!   `handle_input_into` on one session.
//! * **Sending**: [`send`](WsSession::send) compresses each data message of
//!   at least the threshold (sync flush; the `00 00 ff ff` tail stripped at
//!   the end of the message; RSV1 on the first frame only). Every call
//!   compresses its bytes into one whole frame, so a call is accepted only
//!   as far as its worst-case compressed size fits in the queue: a partial
//!   acceptance ends the frame as a non-final fragment and the next call
//!   continues the message. Fragmented sends (`CONT`) compress across
//!   fragments. `OFFSET` streaming and [`start_frame`](WsSession::start_frame)
//!   announce a length before the data and therefore send the message
//!   uncompressed (RSV1 clear); inside a compressed fragmented message they
//!   fail with [`SendError::InvalidArgument`]. Messages below the threshold,
//!   and all messages when the server limited our window to 8 bits (zlib
//!   cannot produce it), go uncompressed, as RFC 7692 §6 allows.

use std::fmt;

use super::decoder::{
    parse_close_payload, Chunk, Decoder, DecoderConfig, FrameMeta, MAX_FRAME_SIZE, MAX_MESSAGE_SIZE,
};
use super::deflate::{self, Compressor, Inflater, Negotiated};
use super::flags::{BINARY, CLOSE, CONT, OFFSET, PING, PONG, TEXT};
use super::frame::{
    close_code, FrameHeader, OpCode, ProtocolError, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
    MAX_PAYLOAD_LEN,
};
use super::mask::copy_masked;
use super::utf8::Utf8Validator;
use crate::rng::SecureRng;

mod receive;
mod send;
mod transmit;

use transmit::TxRing;

/// Size of the output buffer [`WsSession::handle_input_into`] inflates into:
/// the largest inflated chunk.
pub const INFLATE_CHUNK: usize = 64 * 1024;

/// The compressed message being received.
#[derive(Debug)]
struct RxInflate {
    opcode: OpCode,
    offset: u64,
    check_utf8: bool,
    utf8: Utf8Validator,
}

/// Negotiated permessage-deflate state.
struct DeflateState {
    params: Negotiated,
    threshold: usize,
    comp: Compressor,
    infl: Inflater,
    /// Compressed output of the current send (reused).
    scratch: Vec<u8>,
    /// The outgoing fragmented message in progress is compressed.
    tx_compressed: bool,
    rx: Option<RxInflate>,
}

/// Default [`WsConfig::max_send_queue`]: 4 MiB of queued, unwritten bytes.
pub const MAX_SEND_QUEUE: usize = 4 << 20;

/// The smallest effective send queue bound (a smaller
/// [`WsConfig::max_send_queue`] is raised to it): the largest frame header
/// plus a full control payload, so an empty queue always takes any control
/// frame and a data frame header with at least one payload byte.
pub const MIN_SEND_QUEUE: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;

/// Default [`WsConfig::max_close_finish`]: 16 MiB. When the peer's Close
/// arrives in the middle of one of our data frames, a remainder of at most
/// this many payload bytes is still finished before our Close goes out.
pub const MAX_CLOSE_FINISH: u64 = 16 << 20;

/// Longest close reason: a control payload minus the 2-byte status code
/// (RFC 6455 §5.5, §5.5.1).
pub const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// First allocation of the transmit ring (capped at the queue bound); it then
/// doubles as needed, up to the bound.
const INITIAL_QUEUE_CAPACITY: usize = 4096;

/// Encoded header of a control frame: 2 bytes plus the masking key (the
/// payload is at most 125 bytes, so no extended length).
const CONTROL_HEADER_LEN: usize = 6;

const DATA_FLAGS: u32 = TEXT | BINARY | CONT;
const CONTROL_FLAGS: u32 = CLOSE | PING | PONG;
const ALL_FLAGS: u32 = DATA_FLAGS | CONTROL_FLAGS | OFFSET;

/// Session limits and options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsConfig {
    /// Largest accepted incoming frame payload
    /// (default [`MAX_FRAME_SIZE`]); larger fails with status 1009.
    pub max_frame_size: u64,
    /// Largest accepted incoming data message (default
    /// [`MAX_MESSAGE_SIZE`]); larger fails with status 1009.
    pub max_message_size: u64,
    /// Bound on queued, unwritten bytes (default [`MAX_SEND_QUEUE`], at least
    /// [`MIN_SEND_QUEUE`]). The transmit buffer never holds more.
    pub max_send_queue: usize,
    /// Answer Pings automatically and hide them from the application
    /// (default `true`; libcurl's `CURLWS_NOAUTOPONG` clears it).
    pub auto_pong: bool,
    /// No framing at all (libcurl's `CURLWS_RAW_MODE`, default `false`); see
    /// the [module docs](self#raw-mode).
    pub raw_mode: bool,
    /// Fail on text messages that are not UTF-8 (default `true`, status
    /// 1007). libcurl does not validate.
    pub validate_utf8: bool,
    /// Accept RSV1 on incoming data messages (default `false`); set when
    /// permessage-deflate was negotiated (RFC 7692).
    pub allow_rsv1: bool,
    /// Most payload bytes of our data frame in progress that may still be
    /// missing when the peer's Close arrives for the frame to be finished
    /// before our Close (default [`MAX_CLOSE_FINISH`]); a larger remainder
    /// abandons the frame ([`FrameAbandoned`]). See the
    /// [module docs](self#closing-in-the-middle-of-a-frame).
    pub max_close_finish: u64,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            max_frame_size: MAX_FRAME_SIZE,
            max_message_size: MAX_MESSAGE_SIZE,
            max_send_queue: MAX_SEND_QUEUE,
            auto_pong: true,
            raw_mode: false,
            validate_utf8: true,
            allow_rsv1: false,
            max_close_finish: MAX_CLOSE_FINISH,
        }
    }
}

impl WsConfig {
    /// The decoder configuration these options imply (client role: masked
    /// server frames are rejected).
    pub const fn decoder_config(&self) -> DecoderConfig {
        DecoderConfig {
            max_frame_size: self.max_frame_size,
            max_message_size: self.max_message_size,
            validate_utf8: self.validate_utf8,
            allow_rsv1: self.allow_rsv1,
            allow_masked: false,
        }
    }
}

/// Why a send command was refused. Nothing was queued when it is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendError {
    /// Nothing could be accepted: the transmit queue is full (libcurl's
    /// `CURLE_AGAIN`). Write and [`consume_transmit`](WsSession::consume_transmit),
    /// then retry.
    WouldBlock,
    /// Our Close is committed, the connection failed, or the peer closed the
    /// TCP connection.
    Closed,
    /// A data frame is unfinished and the call does not continue it: different
    /// type/`CONT` flags, [`start_frame`](WsSession::start_frame), or a second
    /// Ping/Pong while one already waits for the frame to end.
    FrameInProgress,
    /// A control payload (or close reason) is too long (RFC 6455 §5.5;
    /// libcurl's `CURLE_TOO_LARGE`).
    TooLarge,
    /// Bad flags, data longer than the declared frame, an invalid Close
    /// payload, or a command raw mode does not support (libcurl's
    /// `CURLE_BAD_FUNCTION_ARGUMENT`).
    InvalidArgument,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WouldBlock => "send queue full",
            Self::Closed => "connection closing or closed",
            Self::FrameInProgress => "another frame is in progress",
            Self::TooLarge => "control frame payload longer than 125 bytes",
            Self::InvalidArgument => "invalid send arguments",
        })
    }
}

impl std::error::Error for SendError {}

/// The peer closed the TCP connection before sending a Close frame: an
/// abnormal closure (status 1006, RFC 6455 §7.1.5, §7.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AbnormalClosure;

impl AbnormalClosure {
    /// The status reported locally: 1006 (never sent on the wire).
    pub const fn close_code(&self) -> u16 {
        close_code::ABNORMAL
    }
}

impl fmt::Display for AbnormalClosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed without a close frame (1006)")
    }
}

impl std::error::Error for AbnormalClosure {}

/// The peer's Close arrived while our data frame in progress still lacked
/// more than [`WsConfig::max_close_finish`] payload bytes. A Close cannot go
/// inside a frame, so the frame was abandoned: nothing more is written and
/// the connection must be dropped without our Close (the peer sees an
/// abnormal closure, 1006). See the
/// [module docs](self#closing-in-the-middle-of-a-frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameAbandoned {
    /// Payload bytes of the frame that were still to be supplied.
    pub remaining: u64,
}

impl fmt::Display for FrameAbandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the peer closed while {} bytes of our frame were still to be sent (more than \
             may be finished after a close): frame abandoned, no close frame sent",
            self.remaining
        )
    }
}

impl std::error::Error for FrameAbandoned {}

/// Progress of the closing handshake (RFC 6455 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseState {
    /// No Close committed or received.
    Open,
    /// Our Close is committed (queued, or waiting for the current data frame
    /// to end); the peer's has not arrived.
    CloseSent,
    /// The peer's Close arrived; ours is not in the transmit queue yet (it
    /// waits for the current outgoing data frame to end, or for room).
    CloseReceived,
    /// Both: the peer's Close arrived and ours is in the transmit queue
    /// (see [`WsSession::is_done`] for "written").
    Closed,
}

/// A control frame waiting to enter the transmit queue.
#[derive(Clone, Copy, Debug)]
struct Control {
    opcode: OpCode,
    len: u8,
    payload: [u8; MAX_CONTROL_PAYLOAD],
}

impl Control {
    /// `payload` longer than 125 bytes is a caller bug; it is truncated.
    fn new(opcode: OpCode, payload: &[u8]) -> Self {
        let len = payload.len().min(MAX_CONTROL_PAYLOAD);
        let mut c = Self {
            opcode,
            len: len as u8,
            payload: [0; MAX_CONTROL_PAYLOAD],
        };
        c.payload[..len].copy_from_slice(&payload[..len]);
        c
    }

    fn payload(&self) -> &[u8] {
        &self.payload[..usize::from(self.len)]
    }

    fn wire_len(&self) -> usize {
        CONTROL_HEADER_LEN + usize::from(self.len)
    }
}

/// The peer's Close frame.
#[derive(Clone, Copy, Debug)]
struct PeerClose {
    code: u16,
    len: u8,
    reason: [u8; MAX_CLOSE_REASON],
}

/// The outgoing data frame whose payload is being queued.
#[derive(Clone, Copy, Debug)]
struct OutFrame {
    /// `TEXT` or `BINARY`: the type of its message.
    ty: u32,
    fin: bool,
    key: [u8; 4],
    offset: u64,
    remaining: u64,
}

/// A client-role WebSocket session; see the [module docs](self).
pub struct WsSession {
    cfg: WsConfig,
    decoder: Decoder,
    /// Masking keys (§5.3).
    rng: SecureRng,
    tx: TxRing,
    /// The data frame being queued.
    out: Option<OutFrame>,
    /// Type (`TEXT`/`BINARY`) of the outgoing fragmented message in progress.
    msg: Option<u32>,
    /// Application Ping/Pong waiting for the frame to end or for room.
    ctrl_slot: Option<Control>,
    /// Automatic Pong waiting for the frame to end or for room.
    pong_slot: Option<Control>,
    /// Our Close waiting for the frame to end or for room.
    close_slot: Option<Control>,
    /// When non-zero, the last `pong_tail` queued bytes are an automatic Pong
    /// none of whose bytes has been written: a newer Ping may replace it.
    pong_tail: usize,
    /// Our Close is queued or waiting in `close_slot`.
    close_committed: bool,
    /// Our Close is in the transmit queue.
    close_queued: bool,
    peer_close: Option<PeerClose>,
    failed: Option<ProtocolError>,
    /// The frame in progress was abandoned at the peer's Close.
    abandoned: Option<FrameAbandoned>,
    eof: bool,
    /// A send was refused or cut short by the queue bound since the last
    /// [`WsSession::take_writable`].
    blocked: bool,
    deflate: Option<Box<DeflateState>>,
    /// See [`WsSession::take_inflate_buffer`].
    spare_out: Vec<u8>,
}

impl fmt::Debug for WsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSession")
            .field("close_state", &self.close_state())
            .field("send_queue_len", &self.tx.len)
            .field("frame_in_progress", &self.frame_in_progress())
            .field("failed", &self.failed)
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl WsSession {
    /// A session at the start of the stream. Every frame it sends is masked
    /// with a fresh key from `rng` (RFC 6455 §5.3); give each session a
    /// generator of its own ([`SecureRng::new`] or [`SecureRng::fork`]).
    pub fn new(cfg: WsConfig, rng: SecureRng) -> Self {
        Self {
            decoder: Decoder::new(cfg.decoder_config()),
            rng,
            tx: TxRing::new(cfg.max_send_queue.max(MIN_SEND_QUEUE)),
            out: None,
            msg: None,
            ctrl_slot: None,
            pong_slot: None,
            close_slot: None,
            pong_tail: 0,
            close_committed: false,
            close_queued: false,
            peer_close: None,
            failed: None,
            abandoned: None,
            eof: false,
            blocked: false,
            deflate: None,
            spare_out: Vec::new(),
            cfg,
        }
    }

    /// Enables permessage-deflate with the negotiated parameters and the
    /// send threshold (messages shorter than it go uncompressed); RSV1 is
    /// then accepted on incoming data messages. Call it before the first
    /// input and the first send. Ignored in raw mode. See the
    /// [module docs](self#permessage-deflate-rfc-7692).
    pub fn set_deflate(&mut self, params: Negotiated, threshold: usize) {
        self.set_deflate_with_level(params, threshold, super::deflate::DEFAULT_LEVEL);
    }

    /// [`set_deflate`](Self::set_deflate) with a compression level for outgoing messages
    /// (0..=9).
    pub fn set_deflate_with_level(&mut self, params: Negotiated, threshold: usize, level: u32) {
        if self.cfg.raw_mode {
            return;
        }
        self.cfg.allow_rsv1 = true;
        self.decoder = Decoder::new(self.cfg.decoder_config());
        self.deflate = Some(Box::new(DeflateState {
            params,
            threshold,
            comp: Compressor::with_level(&params, level),
            infl: Inflater::new(&params, self.cfg.max_message_size),
            scratch: Vec::new(),
            tx_compressed: false,
            rx: None,
        }));
    }

    /// A [`handle_input_into`](Self::handle_input_into) output buffer kept in
    /// the session for drivers with nowhere else to keep one: take it, pass
    /// it, give it back with [`restore_inflate_buffer`](Self::restore_inflate_buffer)
    /// and read the chunk from [`inflate_buffer`](Self::inflate_buffer).
    pub fn take_inflate_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.spare_out)
    }

    /// Gives back the buffer of [`take_inflate_buffer`](Self::take_inflate_buffer).
    pub fn restore_inflate_buffer(&mut self, buf: Vec<u8>) {
        self.spare_out = buf;
    }

    /// The buffer of [`take_inflate_buffer`](Self::take_inflate_buffer).
    pub fn inflate_buffer(&self) -> &[u8] {
        &self.spare_out
    }

    /// True while inflated output of input already consumed is still to be
    /// returned by [`handle_input_into`](Self::handle_input_into) (call it
    /// even without new input).
    pub fn inflate_pending(&self) -> bool {
        self.deflate
            .as_ref()
            .is_some_and(|d| d.rx.is_some() && d.infl.has_pending())
    }

    /// The negotiated permessage-deflate parameters, if enabled.
    pub fn deflate(&self) -> Option<Negotiated> {
        self.deflate.as_ref().map(|d| d.params)
    }

    /// The configuration.
    pub const fn config(&self) -> &WsConfig {
        &self.cfg
    }

    /// Gives up the frame in progress (see [`FrameAbandoned`]): no Close can
    /// follow a partial frame, so nothing queued is worth writing.
    fn abandon(&mut self, remaining: u64) {
        self.abandoned = Some(FrameAbandoned { remaining });
        self.out = None;
        self.msg = None;
        self.ctrl_slot = None;
        self.pong_slot = None;
        self.close_slot = None;
        self.close_committed = true;
        self.pong_tail = 0;
        self.tx.truncate_back(self.tx.len);
    }

    /// No more frames may be queued: the connection failed, ended, or our
    /// frame was abandoned.
    const fn dead(&self) -> bool {
        self.failed.is_some() || self.eof || self.abandoned.is_some()
    }

    fn fail(&mut self, e: ProtocolError) {
        self.failed = Some(e);
        self.ctrl_slot = None;
        self.pong_slot = None;
        if self.out.is_some() {
            // A Close cannot go inside a half-queued frame: just drop.
            self.close_slot = None;
        } else if !self.close_committed {
            let body = e.close_code().to_be_bytes();
            self.close_slot = Some(Control::new(OpCode::Close, &body));
            self.close_committed = true;
            self.flush_pending();
        }
    }

    /// Progress of the closing handshake.
    pub fn close_state(&self) -> CloseState {
        match (
            self.peer_close.is_some(),
            self.close_queued,
            self.close_committed,
        ) {
            (true, true, _) => CloseState::Closed,
            (true, false, _) => CloseState::CloseReceived,
            (false, _, true) => CloseState::CloseSent,
            (false, _, false) => CloseState::Open,
        }
    }

    /// True when the driver may shut the connection down: the closing
    /// handshake is complete ([`CloseState::Closed`]) or the connection failed
    /// with a protocol error, and everything queued (including the Close) has
    /// been written; or the peer already closed TCP
    /// ([`handle_eof`](Self::handle_eof)); or our frame was
    /// [abandoned](Self::abandoned) at the peer's Close.
    pub fn is_done(&self) -> bool {
        let drained = self.tx.len == 0
            && self.ctrl_slot.is_none()
            && self.pong_slot.is_none()
            && self.close_slot.is_none();
        self.eof
            || self.abandoned.is_some()
            || (drained && (self.failed.is_some() || self.close_state() == CloseState::Closed))
    }

    /// The frame abandoned at the peer's Close, if any: the connection must
    /// be dropped (see [`FrameAbandoned`]).
    pub const fn abandoned(&self) -> Option<FrameAbandoned> {
        self.abandoned
    }

    /// True when the peer ended the TCP stream without a Close frame (an
    /// [`AbnormalClosure`], as [`handle_eof`](Self::handle_eof) reported).
    pub fn closed_abnormally(&self) -> bool {
        self.eof && self.peer_close.is_none() && !self.cfg.raw_mode
    }

    /// The peer's Close: status code (1005 when it sent none) and reason.
    pub fn peer_close(&self) -> Option<(u16, &str)> {
        self.peer_close.as_ref().map(|pc| {
            let reason = &pc.reason[..usize::from(pc.len)];
            (pc.code, std::str::from_utf8(reason).unwrap_or(""))
        })
    }

    /// The protocol error that failed the connection, if any.
    pub fn error(&self) -> Option<ProtocolError> {
        self.failed
    }

    /// The data frame being queued: its flags (`TEXT`/`BINARY`, plus `CONT`
    /// when more fragments follow) and payload bytes still expected.
    pub fn frame_in_progress(&self) -> Option<(u32, u64)> {
        self.out
            .map(|f| (if f.fin { f.ty } else { f.ty | CONT }, f.remaining))
    }

    /// True between the first and the last frame of an outgoing fragmented
    /// message.
    pub fn message_in_progress(&self) -> bool {
        self.msg.is_some() || self.out.is_some()
    }
}

#[cfg(test)]
mod tests;
