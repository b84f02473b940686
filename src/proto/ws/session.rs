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

/// Bounded byte ring: `len` bytes starting at `head`, wrapping at
/// `buf.len()`. The capacity grows geometrically up to `bound` and never
/// beyond (as long as nothing is written past the bound).
struct TxRing {
    buf: Vec<u8>,
    head: usize,
    len: usize,
    bound: usize,
}

impl TxRing {
    const fn new(bound: usize) -> Self {
        Self {
            buf: Vec::new(),
            head: 0,
            len: 0,
            bound,
        }
    }

    fn room(&self) -> usize {
        self.bound.saturating_sub(self.len)
    }

    /// The first contiguous part of the queued bytes.
    fn front(&self) -> &[u8] {
        let end = (self.head + self.len).min(self.buf.len());
        &self.buf[self.head..end]
    }

    /// The wrapped-around rest of the queued bytes.
    fn back(&self) -> &[u8] {
        let front = self.front().len();
        &self.buf[..self.len - front]
    }

    /// `i` (below twice the capacity) as a position in `buf`: `head` is
    /// always inside `buf` and `len` at most its size, so one subtraction
    /// replaces a division (`%`) on the per-message path.
    fn wrap(&self, i: usize) -> usize {
        if i >= self.buf.len() {
            i - self.buf.len()
        } else {
            i
        }
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 {
            0
        } else {
            self.wrap(self.head + n)
        };
    }

    /// Forgets the last `n` queued bytes.
    fn truncate_back(&mut self, n: usize) {
        self.len -= n.min(self.len);
        if self.len == 0 {
            self.head = 0;
        }
    }

    /// Makes room for `n` more bytes (the common case, room already there,
    /// is a comparison inlined into the caller).
    #[inline]
    fn reserve(&mut self, n: usize) {
        if self.len + n > self.buf.len() {
            self.grow(self.len + n);
        }
    }

    #[cold]
    fn grow(&mut self, need: usize) {
        let cap = (self.buf.len().saturating_mul(2))
            .max(INITIAL_QUEUE_CAPACITY)
            .min(self.bound)
            .max(need);
        let mut grown = vec![0u8; cap];
        let (a, b) = (self.front(), self.back());
        grown[..a.len()].copy_from_slice(a);
        grown[a.len()..a.len() + b.len()].copy_from_slice(b);
        self.buf = grown;
        self.head = 0;
    }

    /// Appends `n` bytes produced by `fill(dst, offset_within_the_n_bytes)`,
    /// called once or twice (when the write wraps).
    fn append_with(&mut self, n: usize, mut fill: impl FnMut(&mut [u8], usize)) {
        if n == 0 {
            return;
        }
        self.reserve(n);
        let cap = self.buf.len();
        let tail = self.wrap(self.head + self.len);
        let first = n.min(cap - tail);
        fill(&mut self.buf[tail..tail + first], 0);
        if first < n {
            fill(&mut self.buf[..n - first], first);
        }
        self.len += n;
    }

    fn push(&mut self, src: &[u8]) {
        self.append_with(src.len(), |dst, at| {
            dst.copy_from_slice(&src[at..at + dst.len()]);
        });
    }

    /// Appends `src` masked with `key`, `offset` being the position of
    /// `src[0]` in the frame payload.
    fn push_masked(&mut self, src: &[u8], key: [u8; 4], offset: u64) {
        self.append_with(src.len(), |dst, at| {
            let phase = ((offset + at as u64) % 4) as usize;
            copy_masked(dst, &src[at..at + dst.len()], key, phase);
        });
    }
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
    /// [module docs](self#permessage-deflate-rfc-7692) for the chunk
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
    fn inflate_chunk<'a>(
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

    fn auto_pong(&mut self, payload: &[u8]) {
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

    fn on_peer_close(&mut self, payload: &[u8]) {
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

    // ----- (C) commands ----------------------------------------------------

    /// Queues payload, with libcurl's `curl_ws_send` semantics and flag bits
    /// ([`flags`](super::flags)); returns how many bytes of `data` were
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

    fn send_inner(&mut self, data: &[u8], flags: u32, fragsize: u64) -> Result<usize, SendError> {
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

    fn start_frame_inner(&mut self, flags: u32, len: u64) -> Result<(), SendError> {
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
    fn send_compressed(&mut self, data: &[u8], flags: u32) -> Result<usize, SendError> {
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
    /// ([`is_valid_close_code`](super::is_valid_close_code)) and a reason
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

    fn send_raw(&mut self, data: &[u8], flags: u32, fragsize: u64) -> Result<usize, SendError> {
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

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
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
    fn begin_frame(&mut self, flags: u32, len: u64, need_byte: bool) -> Result<(), SendError> {
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
    fn write_payload(&mut self, data: &[u8]) -> Result<usize, SendError> {
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

    fn put_header(&mut self, h: &FrameHeader) {
        let mut hdr = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut hdr);
        self.pong_tail = 0;
        self.tx.push(&hdr[..n]);
    }

    /// Queues a whole control frame if it fits.
    fn put_control(&mut self, c: &Control) -> bool {
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
    fn flush_pending(&mut self) {
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

    // ----- (D) outputs -----------------------------------------------------

    /// The next contiguous bytes to write (empty when nothing is queued). It
    /// may be only a prefix of the queue (the ring wraps): keep writing while
    /// [`wants_write`](Self::wants_write).
    pub fn poll_transmit(&self) -> &[u8] {
        self.tx.front()
    }

    /// All queued bytes as two slices, in order, for vectored writes (the
    /// second is empty unless the ring wraps).
    pub fn transmit_slices(&self) -> (&[u8], &[u8]) {
        (self.tx.front(), self.tx.back())
    }

    /// Reports that the first `n` queued bytes were written (clamped to the
    /// queue length); control frames waiting for room may then be queued.
    pub fn consume_transmit(&mut self, n: usize) {
        self.tx.consume(n);
        if self.tx.len < self.pong_tail {
            // Part of that Pong is on the wire: it can no longer be replaced.
            self.pong_tail = 0;
        }
        self.flush_pending();
    }

    /// True when bytes are queued for writing.
    pub fn wants_write(&self) -> bool {
        self.tx.len > 0
    }

    /// The opcode of the next data frame for `flags` (TEXT or BINARY starts a message; a
    /// message in progress continues with no type or its own), and the message type.
    fn data_opcode(&self, flags: u32) -> Result<(OpCode, u32), SendError> {
        match (self.msg, flags & (TEXT | BINARY)) {
            (None, TEXT) => Ok((OpCode::Text, TEXT)),
            (None, BINARY) => Ok((OpCode::Binary, BINARY)),
            (Some(m), 0) => Ok((OpCode::Continuation, m)),
            (Some(m), t) if t == m => Ok((OpCode::Continuation, m)),
            _ => Err(SendError::InvalidArgument),
        }
    }

    /// Takes the send queue's storage when nothing is queued, so an idle session holds no
    /// buffer (the caller may pool it and give it back with
    /// [`give_send_buffer`](Self::give_send_buffer)). `None` while bytes are queued or when
    /// the session has no storage.
    pub fn take_send_buffer(&mut self) -> Option<Vec<u8>> {
        if self.tx.len != 0 || self.tx.buf.is_empty() {
            return None;
        }
        self.tx.head = 0;
        Some(std::mem::take(&mut self.tx.buf))
    }

    /// Gives the send queue storage to use (its contents are irrelevant). Ignored, and the
    /// buffer returned, when the queue already has storage.
    pub fn give_send_buffer(&mut self, buf: Vec<u8>) -> Option<Vec<u8>> {
        if !self.tx.buf.is_empty() || buf.is_empty() {
            return Some(buf);
        }
        self.tx.buf = buf;
        self.tx.head = 0;
        None
    }

    /// Whether the send queue has storage (a session that sent nothing yet, or whose buffer
    /// was taken, has none).
    pub fn has_send_buffer(&self) -> bool {
        !self.tx.buf.is_empty()
    }

    /// Queued, unwritten bytes.
    pub fn send_queue_len(&self) -> usize {
        self.tx.len
    }

    /// Bytes that can still be queued (headers included) before the bound.
    pub fn send_room(&self) -> usize {
        self.tx.room()
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
mod tests {
    #[test]
    fn send_buffer_can_be_taken_only_when_the_queue_is_empty() {
        let mut s = session(WsConfig::default());
        assert!(!s.has_send_buffer());
        assert!(s.take_send_buffer().is_none());
        assert!(s.give_send_buffer(vec![0; 64]).is_none());
        assert!(s.has_send_buffer());
        // A second buffer is refused and handed back.
        assert_eq!(s.give_send_buffer(vec![0; 32]).map(|b| b.len()), Some(32));
        s.send(b"hello", TEXT, 0).unwrap();
        assert!(s.take_send_buffer().is_none(), "bytes are queued");
        let n = s.send_queue_len();
        s.consume_transmit(n);
        let b = s
            .take_send_buffer()
            .expect("empty queue gives its storage back");
        assert_eq!(b.len(), 64);
        assert!(!s.has_send_buffer());
        // Sending again without storage allocates its own.
        s.send(b"again", TEXT, 0).unwrap();
        assert!(s.has_send_buffer());
    }

    use super::super::flags::{BINARY, CLOSE, CONT, OFFSET, PING, PONG, TEXT};
    use super::*;

    fn session(cfg: WsConfig) -> WsSession {
        WsSession::new(cfg, SecureRng::new().unwrap())
    }

    fn bounded(max_send_queue: usize) -> WsConfig {
        WsConfig {
            max_send_queue,
            ..WsConfig::default()
        }
    }

    /// A server frame, unmasked unless `mask` is given.
    fn srv_masked(fin: bool, op: OpCode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let h = FrameHeader {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: op,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut hdr = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut hdr);
        let mut v = hdr[..n].to_vec();
        let start = v.len();
        v.extend_from_slice(payload);
        if let Some(k) = mask {
            super::super::mask::apply_mask(&mut v[start..], k, 0);
        }
        v
    }

    fn srv(fin: bool, op: OpCode, payload: &[u8]) -> Vec<u8> {
        srv_masked(fin, op, payload, None)
    }

    fn close_body(code: u16, reason: &str) -> Vec<u8> {
        let mut v = code.to_be_bytes().to_vec();
        v.extend_from_slice(reason.as_bytes());
        v
    }

    /// Feeds `pieces` in order through a caller-style receive buffer; returns
    /// the delivered frames (curl flags, reassembled payload) and the error.
    fn recv(s: &mut WsSession, pieces: &[&[u8]]) -> (Vec<(u32, Vec<u8>)>, Option<ProtocolError>) {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut cur: Option<(u32, Vec<u8>)> = None;
        for p in pieces {
            buf.extend_from_slice(p);
            loop {
                let (n, got) = match s.handle_input(&mut buf) {
                    Err(e) => return (out, Some(e)),
                    Ok((n, None)) => (n, false),
                    Ok((n, Some(c))) => {
                        assert_eq!(c.meta.len, c.payload.len());
                        let f = cur.get_or_insert_with(|| (c.meta.curl_flags(), Vec::new()));
                        assert_eq!(
                            (f.0, f.1.len() as u64),
                            (c.meta.curl_flags(), c.meta.offset)
                        );
                        f.1.extend_from_slice(c.payload);
                        if c.meta.bytes_left == 0 {
                            out.extend(cur.take());
                        }
                        (n, true)
                    }
                };
                buf.drain(..n);
                if n == 0 && !got {
                    break;
                }
            }
        }
        (out, None)
    }

    /// A frame as the server sees it (wire opcode, so continuations show).
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Sent {
        op: OpCode,
        fin: bool,
        payload: Vec<u8>,
    }

    fn sent(op: OpCode, fin: bool, payload: &[u8]) -> Sent {
        Sent {
            op,
            fin,
            payload: payload.to_vec(),
        }
    }

    /// Server-role peer decoding what the session transmits (masked frames).
    struct Peer {
        dec: Decoder,
        buf: Vec<u8>,
        raw: Vec<u8>,
        keep_raw: bool,
        frames: Vec<Sent>,
        cur: Option<Sent>,
    }

    impl Peer {
        fn new() -> Self {
            Self {
                dec: Decoder::new(DecoderConfig {
                    allow_masked: true,
                    max_message_size: MAX_PAYLOAD_LEN,
                    ..DecoderConfig::default()
                }),
                buf: Vec::new(),
                raw: Vec::new(),
                keep_raw: true,
                frames: Vec::new(),
                cur: None,
            }
        }

        /// Writes up to `max` queued bytes (poll/consume steps) and decodes.
        fn pump_max(&mut self, s: &mut WsSession, max: usize) -> usize {
            let mut taken = 0;
            while taken < max {
                let b = s.poll_transmit();
                if b.is_empty() {
                    break;
                }
                let n = b.len().min(max - taken);
                self.buf.extend_from_slice(&b[..n]);
                if self.keep_raw {
                    self.raw.extend_from_slice(&b[..n]);
                }
                s.consume_transmit(n);
                taken += n;
                assert!(s.send_queue_len() <= s.tx.bound);
                assert!(s.tx.buf.len() <= s.tx.bound);
            }
            self.decode();
            taken
        }

        fn pump(&mut self, s: &mut WsSession) -> Vec<Sent> {
            self.pump_max(s, usize::MAX);
            assert!(!s.wants_write());
            std::mem::take(&mut self.frames)
        }

        fn decode(&mut self) {
            loop {
                let (n, chunk) = self
                    .dec
                    .decode(&mut self.buf)
                    .expect("the session sent invalid frames");
                let got = chunk.is_some();
                if let Some(c) = chunk {
                    let op = if c.meta.is_continuation {
                        OpCode::Continuation
                    } else {
                        c.meta.opcode
                    };
                    let f = self.cur.get_or_insert_with(|| sent(op, c.meta.fin, b""));
                    assert_eq!((f.op, f.fin), (op, c.meta.fin));
                    assert_eq!(c.meta.offset, f.payload.len() as u64);
                    f.payload.extend_from_slice(c.payload);
                    if c.meta.bytes_left == 0 {
                        self.frames.extend(self.cur.take());
                    }
                }
                self.buf.drain(..n);
                if n == 0 && !got {
                    break;
                }
            }
        }
    }

    /// Parses raw transmitted bytes into (header, unmasked payload).
    fn raw_frames(mut bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
        let mut v = Vec::new();
        while !bytes.is_empty() {
            let (h, n) = FrameHeader::parse(bytes).unwrap().unwrap();
            let end = n + h.payload_len as usize;
            let mut p = bytes[n..end].to_vec();
            super::super::mask::apply_mask(&mut p, h.mask.expect("client frames are masked"), 0);
            v.push((h, p));
            bytes = &bytes[end..];
        }
        v
    }

    #[test]
    fn auto_pong_echoes_ping_and_hides_it() {
        let mut s = session(WsConfig::default());
        let mut input = srv(true, OpCode::Ping, b"hi");
        input.extend(srv(true, OpCode::Text, b"x"));
        input.extend(srv(true, OpCode::Pong, b"unsolicited"));
        let (frames, err) = recv(&mut s, &[&input]);
        assert_eq!(err, None);
        assert_eq!(
            frames,
            vec![(TEXT, b"x".to_vec()), (PONG, b"unsolicited".to_vec())]
        );
        assert!(s.wants_write());
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![sent(OpCode::Pong, true, b"hi")]
        );
        assert_eq!(s.close_state(), CloseState::Open);
        assert!(!s.is_done());
    }

    #[test]
    fn auto_pong_off_delivers_pings() {
        let mut s = session(WsConfig {
            auto_pong: false,
            ..WsConfig::default()
        });
        let input = srv(true, OpCode::Ping, b"hi");
        assert_eq!(recv(&mut s, &[&input]).0, vec![(PING, b"hi".to_vec())]);
        assert!(!s.wants_write());
        // The application answers itself.
        assert_eq!(s.send(b"hi", PONG, 0), Ok(2));
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![sent(OpCode::Pong, true, b"hi")]
        );
    }

    #[test]
    fn every_ping_answered_until_the_queue_bound() {
        let ping = |i: u32| srv(true, OpCode::Ping, &i.to_be_bytes());
        const PONG_LEN: usize = CONTROL_HEADER_LEN + 4;
        // Room in the queue: every Ping is answered (Autobahn 2.10).
        let mut s = session(WsConfig::default());
        for i in 0..10 {
            assert_eq!(recv(&mut s, &[&ping(i)]), (vec![], None));
        }
        assert_eq!(s.send_queue_len(), 10 * PONG_LEN);
        let mut peer = Peer::new();
        assert_eq!(
            peer.pump(&mut s),
            (0..10u32)
                .map(|i| sent(OpCode::Pong, true, &i.to_be_bytes()))
                .collect::<Vec<_>>()
        );

        // A full queue of Pongs: a newer Ping replaces the last unwritten one.
        let mut s = session(bounded(MIN_SEND_QUEUE));
        let cap = MIN_SEND_QUEUE / PONG_LEN;
        for i in 0..1000 {
            assert_eq!(recv(&mut s, &[&ping(i)]), (vec![], None));
            assert_eq!(s.send_queue_len(), (i as usize + 1).min(cap) * PONG_LEN);
        }
        // A Pong partly written is no longer replaceable; the next one is.
        let mut peer = Peer::new();
        peer.pump_max(&mut s, 3);
        recv(&mut s, &[&ping(1000)]); // fits again
        recv(&mut s, &[&ping(1001)]); // replaces 1000
        assert_eq!(s.send_queue_len(), (cap + 1) * PONG_LEN - 3);
        let want: Vec<Sent> = (0..cap as u32 - 1)
            .chain([999, 1001])
            .map(|i| sent(OpCode::Pong, true, &i.to_be_bytes()))
            .collect();
        assert_eq!(peer.pump(&mut s), want);

        // While a data frame is half-queued the Pong waits in its slot.
        let mut s = session(WsConfig::default());
        let mut peer = Peer::new();
        s.start_frame(BINARY, 4).unwrap();
        assert_eq!(s.send(b"ab", 0, 0), Ok(2));
        let before = s.send_queue_len();
        for i in 0..1000 {
            recv(&mut s, &[&ping(i)]);
        }
        assert_eq!(s.send_queue_len(), before);
        assert_eq!(s.send(b"cd", 0, 0), Ok(2));
        assert_eq!(
            peer.pump(&mut s),
            vec![
                sent(OpCode::Binary, true, b"abcd"),
                sent(OpCode::Pong, true, &999u32.to_be_bytes())
            ]
        );

        // Queue full of data: the Pong waits for room, and data waits for it.
        let mut s = session(bounded(MIN_SEND_QUEUE));
        assert_eq!(s.send(&[1; 127], BINARY, 0), Ok(127));
        assert_eq!(s.send_room(), 4); // a 10-byte Pong does not fit
        for i in 0..1000 {
            recv(&mut s, &[&ping(i)]);
        }
        assert_eq!(s.send_queue_len(), 135);
        assert_eq!(s.send(b"z", BINARY, 0), Err(SendError::WouldBlock));
        let mut peer = Peer::new();
        assert_eq!(
            peer.pump(&mut s),
            vec![
                sent(OpCode::Binary, true, &[1; 127]),
                sent(OpCode::Pong, true, &999u32.to_be_bytes())
            ]
        );
    }

    #[test]
    fn close_echo_same_code() {
        let mut s = session(WsConfig::default());
        let body = close_body(1001, "bye");
        let (frames, err) = recv(&mut s, &[&srv(true, OpCode::Close, &body)]);
        assert_eq!((frames, err), (vec![(CLOSE, body)], None));
        assert_eq!(s.peer_close(), Some((1001, "bye")));
        assert_eq!(s.close_state(), CloseState::Closed);
        assert!(!s.is_done());
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![sent(OpCode::Close, true, &1001u16.to_be_bytes())]
        );
        assert!(s.is_done());
        assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::Closed));
        assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
        assert_eq!(s.handle_eof(), Ok(()));

        // No status code: empty echo, reported as 1005.
        let mut s = session(WsConfig::default());
        recv(&mut s, &[&srv(true, OpCode::Close, b"")]);
        assert_eq!(s.peer_close(), Some((1005, "")));
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![sent(OpCode::Close, true, b"")]
        );
        assert!(s.is_done());
    }

    #[test]
    fn app_close_then_peer_close() {
        let mut s = session(WsConfig::default());
        assert_eq!(s.close(Some(1000), "done"), Ok(()));
        assert_eq!(s.close_state(), CloseState::CloseSent);
        assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::Closed));
        assert_eq!(s.start_frame(TEXT, 1), Err(SendError::Closed));
        assert_eq!(s.ping(b""), Err(SendError::Closed));
        assert_eq!(s.close(None, ""), Err(SendError::Closed));
        let mut peer = Peer::new();
        assert_eq!(
            peer.pump(&mut s),
            vec![sent(OpCode::Close, true, &close_body(1000, "done"))]
        );
        assert!(!s.is_done());
        // Pings after our Close are not answered; data still arrives.
        let mut input = srv(true, OpCode::Ping, b"p");
        input.extend(srv(true, OpCode::Text, b"late"));
        input.extend(srv(true, OpCode::Close, &close_body(1000, "")));
        let (frames, _) = recv(&mut s, &[&input]);
        assert_eq!(
            frames,
            vec![(TEXT, b"late".to_vec()), (CLOSE, close_body(1000, ""))]
        );
        assert_eq!(s.close_state(), CloseState::Closed);
        assert!(!s.wants_write());
        assert!(s.is_done());
        assert_eq!(s.handle_eof(), Ok(()));
    }

    #[test]
    fn close_arguments() {
        let mut s = session(WsConfig::default());
        assert_eq!(s.close(None, "why"), Err(SendError::InvalidArgument));
        assert_eq!(s.close(Some(1005), ""), Err(SendError::InvalidArgument));
        assert_eq!(s.close(Some(999), ""), Err(SendError::InvalidArgument));
        let long = "x".repeat(MAX_CLOSE_REASON + 1);
        assert_eq!(s.close(Some(1000), &long), Err(SendError::TooLarge));
        assert_eq!(s.send(&[0; 126], PING, 0), Err(SendError::TooLarge));
        assert_eq!(s.send(b"\x03", CLOSE, 0), Err(SendError::InvalidArgument));
        assert_eq!(
            s.send(b"\x03\xe8\xff", CLOSE, 0),
            Err(SendError::InvalidArgument)
        );
        assert_eq!(s.close_state(), CloseState::Open);
        let max = "é".repeat(MAX_CLOSE_REASON / 2) + "x";
        assert_eq!(s.close(Some(4000), &max), Ok(()));
        let f = Peer::new().pump(&mut s);
        assert_eq!(f[0].payload.len(), MAX_CONTROL_PAYLOAD);
    }

    #[test]
    fn protocol_errors_queue_close_codes_and_are_sticky() {
        let too_big = WsConfig {
            max_message_size: 10,
            ..WsConfig::default()
        };
        let cases: Vec<(WsConfig, Vec<u8>, ProtocolError)> = vec![
            (
                WsConfig::default(),
                srv_masked(true, OpCode::Text, b"hi", Some([1, 2, 3, 4])),
                ProtocolError::MaskedFrame,
            ),
            (
                WsConfig::default(),
                srv(true, OpCode::Text, b"ok\xff"),
                ProtocolError::InvalidUtf8,
            ),
            (
                too_big,
                srv(true, OpCode::Binary, &[0; 11]),
                ProtocolError::MessageTooBig,
            ),
            (
                WsConfig::default(),
                srv(true, OpCode::Continuation, b""),
                ProtocolError::UnexpectedContinuation,
            ),
            (
                WsConfig::default(),
                vec![0x83, 0x00],
                ProtocolError::ReservedOpcode(3),
            ),
        ];
        for (cfg, input, want) in cases {
            let mut s = session(cfg);
            s.ping(b"queued before").unwrap();
            assert_eq!(recv(&mut s, &[&input]).1, Some(want));
            assert_eq!(s.error(), Some(want));
            assert_eq!(s.handle_input(&mut [0x81, 0x00]), Err(want));
            assert_eq!(s.handle_input(&mut []), Err(want));
            assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
            assert_eq!(s.ping(b""), Err(SendError::Closed));
            assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
            assert_eq!(s.close_state(), CloseState::CloseSent);
            assert!(!s.is_done());
            assert_eq!(
                Peer::new().pump(&mut s),
                vec![
                    sent(OpCode::Ping, true, b"queued before"),
                    sent(OpCode::Close, true, &want.close_code().to_be_bytes())
                ]
            );
            assert!(s.is_done());
        }
        assert_eq!(ProtocolError::MaskedFrame.close_code(), 1002);
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
        assert_eq!(ProtocolError::MessageTooBig.close_code(), 1009);
    }

    #[test]
    fn protocol_error_mid_frame_drops_the_close() {
        let mut s = session(WsConfig::default());
        s.start_frame(BINARY, 4).unwrap();
        s.send(b"ab", 0, 0).unwrap();
        let bad = srv_masked(true, OpCode::Text, b"x", Some([9; 4]));
        assert_eq!(recv(&mut s, &[&bad]).1, Some(ProtocolError::MaskedFrame));
        assert_eq!(s.send(b"cd", 0, 0), Err(SendError::Closed));
        let mut peer = Peer::new();
        assert_eq!(peer.pump(&mut s), vec![]); // a frame fragment, no Close
        assert_eq!(peer.raw.len(), 6 + 2);
        assert!(s.is_done());
    }

    #[test]
    fn eof_before_close_is_abnormal() {
        let mut s = session(WsConfig::default());
        assert_eq!(s.handle_eof(), Err(AbnormalClosure));
        assert_eq!(AbnormalClosure.close_code(), 1006);
        assert!(s.is_done());
        assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::Closed));
        let mut s = session(WsConfig::default());
        s.close(Some(1000), "").unwrap();
        assert_eq!(s.handle_eof(), Err(AbnormalClosure));
    }

    #[test]
    fn peer_close_mid_frame_waits_for_frame_end() {
        let mut s = session(WsConfig::default());
        s.start_frame(BINARY, 4).unwrap();
        s.send(b"ab", BINARY, 0).unwrap();
        recv(&mut s, &[&srv(true, OpCode::Close, &close_body(1000, ""))]);
        assert_eq!(s.close_state(), CloseState::CloseReceived);
        assert_eq!(s.send(b"cd", TEXT, 0), Err(SendError::FrameInProgress));
        assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
        assert_eq!(s.send(b"cd", BINARY, 0), Ok(2));
        assert_eq!(s.close_state(), CloseState::Closed);
        assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![
                sent(OpCode::Binary, true, b"abcd"),
                sent(OpCode::Close, true, &1000u16.to_be_bytes())
            ]
        );
        assert!(s.is_done());
    }

    /// The peer closes while a frame cut short by the queue bound is in progress: the
    /// application finishes it (the remainder is under the bound), then our Close follows the
    /// complete frame.
    #[test]
    fn peer_close_mid_partial_send_finishes_the_frame_then_closes() {
        let mut s = session(bounded(1000));
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 13) as u8).collect();
        let mut off = s.send(&data, BINARY, 0).unwrap();
        let mut peer = Peer::new();
        peer.pump_max(&mut s, 500);
        let (chunks, err) = recv(&mut s, &[&srv(true, OpCode::Close, &close_body(1001, ""))]);
        assert_eq!((chunks, err), (vec![(CLOSE, close_body(1001, ""))], None));
        assert_eq!(s.close_state(), CloseState::CloseReceived);
        assert_eq!(s.abandoned(), None);
        assert!(!s.is_done());
        // Nothing new may start; the frame in progress may be finished.
        assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::FrameInProgress));
        assert_eq!(s.ping(b"p"), Err(SendError::Closed));
        while off < data.len() {
            peer.pump_max(&mut s, 300);
            off += s.send(&data[off..], BINARY, 0).unwrap();
        }
        assert_eq!(s.close_state(), CloseState::Closed);
        assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
        assert_eq!(
            peer.pump(&mut s),
            vec![
                sent(OpCode::Binary, true, &data),
                sent(OpCode::Close, true, &1001u16.to_be_bytes())
            ]
        );
        assert!(s.is_done());
    }

    /// A remainder of exactly `max_close_finish` bytes is still finished; one more is not.
    #[test]
    fn peer_close_mid_frame_over_the_finish_bound_abandons_the_frame() {
        let cfg = WsConfig {
            max_close_finish: 100,
            ..WsConfig::default()
        };
        let close = srv(true, OpCode::Close, &close_body(1000, "bye"));
        // At the bound: finished.
        let mut s = session(cfg);
        s.send(b"ab", BINARY | OFFSET, 102).unwrap();
        recv(&mut s, &[&close]);
        assert_eq!(s.abandoned(), None);
        assert_eq!(s.send(&[7; 100], 0, 0), Ok(100));
        assert_eq!(s.close_state(), CloseState::Closed);
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![
                sent(
                    OpCode::Binary,
                    true,
                    &[b"ab".as_slice(), &[7; 100]].concat()
                ),
                sent(OpCode::Close, true, &1000u16.to_be_bytes())
            ]
        );
        assert!(s.is_done());

        // Over it (the application's own Close already waiting behind the frame, a Ping too):
        // abandoned, the queue emptied, nothing more written.
        for our_close_first in [false, true] {
            let mut s = session(cfg);
            s.send(b"ab", BINARY | OFFSET, 103).unwrap();
            s.ping(b"p").unwrap();
            if our_close_first {
                s.close(Some(1000), "").unwrap();
            }
            let (chunks, err) = recv(&mut s, &[&close]);
            assert_eq!(
                (chunks, err),
                (vec![(CLOSE, close_body(1000, "bye"))], None)
            );
            assert_eq!(s.abandoned(), Some(FrameAbandoned { remaining: 101 }));
            assert!(s.is_done());
            assert!(!s.wants_write());
            assert_eq!(s.frame_in_progress(), None);
            assert_eq!(s.send(&[7; 101], 0, 0), Err(SendError::Closed));
            assert_eq!(s.send(b"x", BINARY, 0), Err(SendError::Closed));
            assert_eq!(s.start_frame(BINARY, 1), Err(SendError::Closed));
            assert_eq!(s.ping(b"p"), Err(SendError::Closed));
            assert_eq!(s.close(Some(1000), ""), Err(SendError::Closed));
            assert_eq!(Peer::new().pump(&mut s), vec![]);
            assert!(FrameAbandoned { remaining: 101 }
                .to_string()
                .contains("101 bytes"));
        }
    }

    /// Between the fragments of a message (no frame in progress) the Close goes out at once,
    /// whatever the bound: the message stays unfinished.
    #[test]
    fn peer_close_between_fragments_answers_at_once() {
        let mut s = session(WsConfig {
            max_close_finish: 0,
            ..WsConfig::default()
        });
        s.send(b"first", TEXT | CONT, 0).unwrap();
        recv(&mut s, &[&srv(true, OpCode::Close, &close_body(1000, ""))]);
        assert_eq!(s.abandoned(), None);
        assert_eq!(s.close_state(), CloseState::Closed);
        assert_eq!(s.send(b"rest", TEXT, 0), Err(SendError::Closed));
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![
                sent(OpCode::Text, false, b"first"),
                sent(OpCode::Close, true, &1000u16.to_be_bytes())
            ]
        );
        assert!(s.is_done());
    }

    #[test]
    fn partial_send_at_queue_bound() {
        let mut s = session(bounded(1000));
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let n = s.send(&data, BINARY, 0).unwrap();
        assert_eq!(n, 1000 - 8); // 16-bit length header + key
        assert_eq!(s.send_room(), 0);
        assert_eq!(s.frame_in_progress(), Some((BINARY, 5000 - n as u64)));
        let mut off = n;
        assert_eq!(s.send(&data[off..], BINARY, 0), Err(SendError::WouldBlock));
        assert_eq!(
            s.send(&data[off..], TEXT, 0),
            Err(SendError::FrameInProgress)
        );
        let mut peer = Peer::new();
        while off < data.len() {
            peer.pump_max(&mut s, 337);
            off += s.send(&data[off..], BINARY, 0).unwrap();
            assert!(s.send_queue_len() <= 1000);
        }
        assert_eq!(s.frame_in_progress(), None);
        assert_eq!(peer.pump(&mut s), vec![sent(OpCode::Binary, true, &data)]);
        assert!(s.tx.buf.len() <= 1000);
    }

    /// A `start_frame` or `ping` refused for lack of room asks for the "writable again"
    /// notification, like a refused `send` (the soak example hung on a `start_frame` without).
    #[test]
    fn refused_start_frame_and_ping_ask_for_writable() {
        let mut s = session(bounded(0));
        assert_eq!(s.send(&[5; 127], BINARY, 0), Ok(127));
        assert!(!s.take_writable());
        assert_eq!(s.start_frame(TEXT, 10), Err(SendError::WouldBlock));
        let mut peer = Peer::new();
        peer.pump(&mut s);
        assert!(s.take_writable(), "a refused start_frame must be resumable");
        assert!(!s.take_writable());
        assert_eq!(s.send(&[5; 127], BINARY, 0), Ok(127));
        assert_eq!(s.ping(b"1"), Ok(()));
        assert_eq!(s.ping(b"2"), Err(SendError::WouldBlock));
        peer.pump(&mut s);
        assert!(s.take_writable(), "a refused ping must be resumable");
    }

    #[test]
    fn would_block_only_when_nothing_accepted() {
        let mut s = session(bounded(0));
        assert_eq!(s.tx.bound, MIN_SEND_QUEUE);
        // 127 bytes: 8-byte header, 135 queued, room 4.
        assert_eq!(s.send(&[5; 127], BINARY, 0), Ok(127));
        assert_eq!(s.send_room(), 4);
        assert_eq!(s.send(b"", TEXT, 0), Err(SendError::WouldBlock));
        assert_eq!(s.send(b"a", TEXT, 0), Err(SendError::WouldBlock));
        assert_eq!(s.start_frame(TEXT, 0), Err(SendError::WouldBlock));
        assert_eq!(s.frame_in_progress(), None);
        let mut peer = Peer::new();
        peer.pump_max(&mut s, 2);
        assert_eq!(s.send(b"", TEXT, 0), Ok(0)); // a whole zero-length frame
        assert_eq!(s.send_room(), 0);
        assert_eq!(s.send(b"a", TEXT, 0), Err(SendError::WouldBlock));
        // A full queue still takes one Ping into the slot, not two.
        assert_eq!(s.ping(b"1"), Ok(()));
        assert_eq!(s.ping(b"2"), Err(SendError::WouldBlock));
        assert_eq!(
            peer.pump(&mut s),
            vec![
                sent(OpCode::Binary, true, &[5; 127]),
                sent(OpCode::Text, true, b""),
                sent(OpCode::Ping, true, b"1")
            ]
        );
    }

    #[test]
    fn offset_streaming_of_a_10_mib_frame() {
        const TOTAL: usize = 10 << 20;
        const PIECE: usize = 65_521;
        let data: Vec<u8> = (0..TOTAL)
            .map(|p| (p.wrapping_mul(31) ^ (p >> 11)) as u8)
            .collect();
        let mut s = session(WsConfig::default());
        let mut peer = Peer::new();
        peer.keep_raw = false;
        let (mut off, mut first, mut blocked) = (0usize, true, 0);
        while off < TOTAL {
            let end = (off + PIECE).min(TOTAL);
            let fragsize = if first { TOTAL as u64 } else { 0 };
            match s.send(&data[off..end], BINARY | OFFSET, fragsize) {
                Ok(n) => {
                    first = false;
                    off += n;
                }
                Err(SendError::WouldBlock) => {
                    blocked += 1;
                    peer.pump_max(&mut s, 1 << 20);
                }
                Err(e) => panic!("{e}"),
            }
            assert!(s.send_queue_len() <= MAX_SEND_QUEUE);
            if off < TOTAL {
                assert_eq!(s.frame_in_progress(), Some((BINARY, (TOTAL - off) as u64)));
            }
        }
        assert!(blocked > 0);
        let frames = peer.pump(&mut s);
        assert_eq!(frames.len(), 1);
        assert!((frames[0].op, frames[0].fin) == (OpCode::Binary, true));
        assert!(frames[0].payload == data);
        assert!(s.tx.buf.len() <= MAX_SEND_QUEUE);
    }

    #[test]
    fn start_frame_and_zero_length_frames() {
        let mut s = session(WsConfig::default());
        assert_eq!(s.start_frame(TEXT, 0), Ok(()));
        assert_eq!(s.frame_in_progress(), None);
        assert_eq!(s.start_frame(BINARY, 5), Ok(()));
        assert_eq!(s.frame_in_progress(), Some((BINARY, 5)));
        assert_eq!(s.start_frame(TEXT, 1), Err(SendError::FrameInProgress));
        assert_eq!(s.send(b"abcdef", 0, 0), Err(SendError::InvalidArgument));
        assert_eq!(s.send(b"ab", 0, 0), Ok(2));
        assert_eq!(s.send(b"", 0, 0), Ok(0));
        assert_eq!(s.send(b"cde", TEXT, 0), Err(SendError::FrameInProgress));
        assert_eq!(
            s.send(b"cde", BINARY | CONT, 0),
            Err(SendError::FrameInProgress)
        );
        assert_eq!(s.send(b"cde", BINARY | OFFSET, 0), Ok(3));
        assert_eq!(s.frame_in_progress(), None);
        assert_eq!(s.start_frame(PING, 1), Err(SendError::InvalidArgument));
        assert_eq!(s.start_frame(0, 3), Err(SendError::InvalidArgument));
        assert_eq!(
            s.start_frame(TEXT | BINARY, 3),
            Err(SendError::InvalidArgument)
        );
        assert_eq!(
            s.start_frame(BINARY, MAX_PAYLOAD_LEN + 1),
            Err(SendError::InvalidArgument)
        );
        assert_eq!(s.send(b"", BINARY, 0), Ok(0));
        assert_eq!(
            s.send(b"xy", BINARY | OFFSET, 1),
            Err(SendError::InvalidArgument)
        );
        // OFFSET with an empty first piece only queues the header.
        assert_eq!(s.send(b"", TEXT | OFFSET, 2), Ok(0));
        assert_eq!(s.frame_in_progress(), Some((TEXT, 2)));
        assert_eq!(s.send(b"hi", TEXT | OFFSET, 0), Ok(2));
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![
                sent(OpCode::Text, true, b""),
                sent(OpCode::Binary, true, b"abcde"),
                sent(OpCode::Binary, true, b""),
                sent(OpCode::Text, true, b"hi")
            ]
        );
    }

    #[test]
    fn control_frames_wait_for_the_frame_to_end() {
        let mut s = session(WsConfig::default());
        s.start_frame(BINARY, 10).unwrap();
        assert_eq!(s.send(&[1; 4], 0, 0), Ok(4));
        let queued = s.send_queue_len();
        assert_eq!(s.ping(b"p"), Ok(()));
        assert_eq!(s.send(b"q", PONG, 0), Err(SendError::FrameInProgress));
        assert_eq!(s.send_queue_len(), queued);
        assert_eq!(s.close(Some(1000), ""), Ok(()));
        assert_eq!(s.close_state(), CloseState::CloseSent);
        assert_eq!(s.send_queue_len(), queued);
        // The current frame may still be finished.
        assert_eq!(s.send(&[2; 4], BINARY, 0), Ok(4));
        assert_eq!(s.send_queue_len(), queued + 4);
        assert_eq!(s.send(&[3; 2], 0, 0), Ok(2));
        assert_eq!(s.send(b"new", BINARY, 0), Err(SendError::Closed));
        let mut payload = vec![1; 4];
        payload.extend([2; 4]);
        payload.extend([3; 2]);
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![
                sent(OpCode::Binary, true, &payload),
                sent(OpCode::Ping, true, b"p"),
                sent(OpCode::Close, true, &1000u16.to_be_bytes())
            ]
        );
    }

    #[test]
    fn fragmented_messages() {
        let mut s = session(WsConfig::default());
        assert_eq!(s.send(b"", CONT, 0), Err(SendError::InvalidArgument));
        assert_eq!(s.send(b"x", 0, 0), Err(SendError::InvalidArgument));
        assert_eq!(s.send(b"ab", TEXT | CONT, 0), Ok(2));
        assert!(s.message_in_progress());
        assert_eq!(s.send(b"cd", CONT, 0), Ok(2)); // type omitted: tolerated
        assert_eq!(
            s.send(b"x", BINARY | CONT, 0),
            Err(SendError::InvalidArgument)
        );
        assert_eq!(s.ping(b"between"), Ok(())); // between fragments: at once
        assert_eq!(s.send(b"ef", TEXT | CONT, 0), Ok(2));
        assert_eq!(s.send(b"gh", TEXT, 0), Ok(2));
        assert!(!s.message_in_progress());
        assert_eq!(s.send(b"ij", TEXT, 0), Ok(2));
        assert_eq!(s.send(b"1", BINARY | CONT, 0), Ok(1));
        assert_eq!(s.send(b"2", 0, 0), Ok(1)); // no flags: final fragment
        assert_eq!(
            s.send(b"x", PING | PONG, 0),
            Err(SendError::InvalidArgument)
        );
        assert_eq!(
            s.send(b"x", PING | CONT, 0),
            Err(SendError::InvalidArgument)
        );
        assert_eq!(s.send(b"x", 1 << 7, 0), Err(SendError::InvalidArgument));
        use OpCode::*;
        assert_eq!(
            Peer::new().pump(&mut s),
            vec![
                sent(Text, false, b"ab"),
                sent(Continuation, false, b"cd"),
                sent(Ping, true, b"between"),
                sent(Continuation, false, b"ef"),
                sent(Continuation, true, b"gh"),
                sent(Text, true, b"ij"),
                sent(Binary, false, b"1"),
                sent(Continuation, true, b"2"),
            ]
        );
    }

    #[test]
    fn fresh_mask_key_per_frame() {
        let mut s = session(WsConfig::default());
        for i in 0..50u8 {
            s.send(&[i; 20], BINARY, 0).unwrap();
        }
        s.ping(b"ping").unwrap();
        s.close(Some(1000), "").unwrap();
        let mut peer = Peer::new();
        assert_eq!(peer.pump(&mut s).len(), 52);
        let frames = raw_frames(&peer.raw);
        let mut keys: Vec<[u8; 4]> = frames.iter().map(|(h, _)| h.mask.unwrap()).collect();
        assert_eq!(frames[7].1, vec![7; 20]);
        keys.sort();
        keys.dedup();
        assert!(keys.len() >= 50, "{} distinct keys", keys.len());
        // Another session gives other keys.
        let mut t = session(WsConfig::default());
        t.send(&[0; 20], BINARY, 0).unwrap();
        let mut p2 = Peer::new();
        p2.pump(&mut t);
        assert_ne!(raw_frames(&p2.raw)[0].0.mask, frames[0].0.mask);
    }

    #[test]
    fn every_split_point_gives_the_same_chunks() {
        let mut input = srv(true, OpCode::Text, "héllo".as_bytes());
        input.extend(srv(true, OpCode::Ping, b"p"));
        input.extend(srv(false, OpCode::Binary, b"ab"));
        input.extend(srv(true, OpCode::Pong, b""));
        input.extend(srv(true, OpCode::Continuation, b"cd"));
        input.extend(srv(true, OpCode::Text, &[b'z'; 300]));
        input.extend(srv(true, OpCode::Close, &close_body(1000, "bye")));
        let run = |pieces: &[&[u8]]| {
            let mut s = session(WsConfig::default());
            let (frames, err) = recv(&mut s, pieces);
            assert_eq!(err, None);
            let out = Peer::new().pump(&mut s);
            assert!(s.is_done());
            (frames, out)
        };
        let whole = run(&[&input]);
        assert_eq!(
            whole.0,
            vec![
                (TEXT, "héllo".as_bytes().to_vec()),
                (BINARY | CONT, b"ab".to_vec()),
                (PONG, vec![]),
                (BINARY, b"cd".to_vec()),
                (TEXT, vec![b'z'; 300]),
                (CLOSE, close_body(1000, "bye")),
            ]
        );
        assert_eq!(
            whole.1,
            vec![
                sent(OpCode::Pong, true, b"p"),
                sent(OpCode::Close, true, &1000u16.to_be_bytes())
            ]
        );
        for i in 0..=input.len() {
            assert_eq!(run(&[&input[..i], &input[i..]]), whole, "split at {i}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&bytes), whole, "bytewise");
    }

    #[test]
    fn raw_mode() {
        let mut s = session(WsConfig {
            raw_mode: true,
            max_send_queue: 200,
            ..WsConfig::default()
        });
        let mut input = srv(true, OpCode::Ping, b"not decoded");
        let len = input.len();
        let (n, chunk) = s.handle_input(&mut input).unwrap();
        let chunk = chunk.unwrap();
        assert_eq!((n, chunk.meta.len, chunk.payload.len()), (len, len, len));
        assert_eq!(s.handle_input(&mut []).unwrap(), (0, None));
        assert!(!s.wants_write());
        assert_eq!(s.send(b"x", TEXT, 0), Err(SendError::InvalidArgument));
        assert_eq!(s.send(b"x", 0, 5), Err(SendError::InvalidArgument));
        assert_eq!(s.start_frame(BINARY, 1), Err(SendError::InvalidArgument));
        assert_eq!(s.ping(b""), Err(SendError::InvalidArgument));
        assert_eq!(s.close(None, ""), Err(SendError::InvalidArgument));
        assert_eq!(s.send(&[9; 150], 0, 0), Ok(150));
        assert_eq!(s.send(&[8; 100], 0, 0), Ok(50));
        assert_eq!(s.send(&[8; 50], 0, 0), Err(SendError::WouldBlock));
        assert_eq!(s.send(b"", 0, 0), Ok(0));
        assert_eq!(s.poll_transmit()[..150], [9; 150]);
        s.consume_transmit(200);
        assert_eq!(s.handle_eof(), Ok(()));
        assert!(s.is_done());
    }

    #[test]
    fn ring_wraps_and_reports_both_slices() {
        let mut s = session(bounded(MIN_SEND_QUEUE));
        let mut peer = Peer::new();
        let mut want = Vec::new();
        for i in 0..200u32 {
            let msg = vec![i as u8; (i as usize * 13) % 90];
            assert_eq!(s.send(&msg, BINARY, 0), Ok(msg.len()));
            want.push(sent(OpCode::Binary, true, &msg));
            let (a, b) = s.transmit_slices();
            assert_eq!(a.len() + b.len(), s.send_queue_len());
            assert_eq!(a, s.poll_transmit());
            peer.pump_max(&mut s, 17 + i as usize % 50);
            if s.send_room() < 100 {
                peer.pump_max(&mut s, usize::MAX);
            }
        }
        let got = peer.pump(&mut s);
        assert!(got == want, "frames differ");
        assert_eq!(s.tx.buf.len(), MIN_SEND_QUEUE);
    }

    /// Deterministic pseudo-random generator for the robustness tests.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn garbage_input_never_panics() {
        let mut rng = Lcg(1);
        for round in 0..2000 {
            let mut s = session(WsConfig {
                auto_pong: round % 2 == 0,
                max_message_size: 1000,
                ..WsConfig::default()
            });
            let len = rng.below(300) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Bias towards plausible headers.
            if let Some(b) = bytes.get_mut(1) {
                *b &= 0x7f;
            }
            let mut pos = 0;
            let mut buf = Vec::new();
            while pos < bytes.len() {
                let step = 1 + rng.below(40) as usize;
                buf.extend_from_slice(&bytes[pos..(pos + step).min(bytes.len())]);
                pos += step;
                loop {
                    match s.handle_input(&mut buf) {
                        Ok((0, None)) => break,
                        Ok((n, _)) => {
                            buf.drain(..n);
                        }
                        Err(_) => break,
                    }
                }
            }
            let _ = s.handle_eof();
            Peer::new().pump(&mut s);
        }
    }

    /// Random command sequences: whatever the session accepts, the bytes it
    /// transmits are a valid client stream (one frame at a time, control
    /// frames only between frames, nothing after the Close) and the queue
    /// stays bounded.
    #[test]
    fn random_commands_produce_a_valid_stream() {
        let mut rng = Lcg(42);
        let flag_choices = [
            0,
            TEXT,
            BINARY,
            TEXT | CONT,
            BINARY | CONT,
            CONT,
            BINARY | OFFSET,
            PING,
            PONG,
            TEXT | BINARY,
            CLOSE,
        ];
        for round in 0..300 {
            let bound = MIN_SEND_QUEUE + rng.below(600) as usize;
            let mut s = session(bounded(bound));
            let mut peer = Peer::new();
            peer.keep_raw = false;
            for _ in 0..200 {
                let max_len = if rng.below(8) == 0 { 600 } else { 60 };
                let len = rng.below(max_len) as usize;
                let data = vec![b'a' + (rng.below(26) as u8); len];
                match rng.below(10) {
                    0..=4 => {
                        let mut flags = flag_choices[rng.below(10) as usize];
                        if round % 7 == 0 && rng.below(20) == 0 {
                            flags = CLOSE;
                        }
                        let fragsize = len as u64 + rng.below(3);
                        let body: &[u8] = if flags == CLOSE { b"" } else { &data };
                        let _ = s.send(body, flags, fragsize);
                    }
                    5 => {
                        let _ = s.start_frame(flag_choices[rng.below(6) as usize], rng.below(50));
                    }
                    6 => {
                        let _ = s.ping(&data[..len.min(125)]);
                    }
                    7 => {
                        let op = if rng.below(2) == 0 {
                            OpCode::Ping
                        } else {
                            OpCode::Pong
                        };
                        let mut f = srv(true, op, &data[..len.min(125)]);
                        let _ = s.handle_input(&mut f);
                    }
                    _ => {
                        let n = rng.below(200) as usize;
                        peer.pump_max(&mut s, n);
                    }
                }
                assert!(s.send_queue_len() <= bound);
                assert!(s.tx.buf.len() <= bound);
            }
            peer.pump(&mut s);
            // Nothing after our Close.
            assert!(peer.buf.is_empty(), "bytes after the close frame");
        }
    }

    // ----- permessage-deflate ----------------------------------------------

    const PMD: Negotiated = Negotiated {
        client_no_context_takeover: false,
        server_no_context_takeover: false,
        client_max_window_bits: 15,
        server_max_window_bits: 15,
    };

    fn deflate_session(cfg: WsConfig, n: Negotiated, threshold: usize) -> WsSession {
        let mut s = session(cfg);
        s.set_deflate(n, threshold);
        s
    }

    fn drain_raw(s: &mut WsSession) -> Vec<(FrameHeader, Vec<u8>)> {
        let mut raw = Vec::new();
        while s.wants_write() {
            let b = s.poll_transmit().to_vec();
            raw.extend_from_slice(&b);
            s.consume_transmit(b.len());
        }
        raw_frames(&raw)
    }

    /// The server side of our compressed stream.
    fn server_inflater(n: Negotiated) -> Inflater {
        Inflater::new(
            &Negotiated {
                server_no_context_takeover: n.client_no_context_takeover,
                ..n
            },
            u64::MAX >> 1,
        )
    }

    fn inflate_msg(inf: &mut Inflater, payload: &[u8]) -> Vec<u8> {
        inf.feed(payload, true);
        let mut out = vec![0; 1000];
        let mut msg = Vec::new();
        loop {
            let (n, done) = inf.drain(&mut out).unwrap();
            msg.extend_from_slice(&out[..n]);
            if done {
                return msg;
            }
        }
    }

    /// Reassembles the client's data messages: (opcode, compressed, payload).
    fn client_messages(
        frames: &[(FrameHeader, Vec<u8>)],
        n: Negotiated,
    ) -> Vec<(OpCode, bool, Vec<u8>)> {
        let mut inf = server_inflater(n);
        let mut out = Vec::new();
        let mut cur: Option<(OpCode, bool, Vec<u8>)> = None;
        for (h, p) in frames {
            if h.opcode.is_control() {
                assert!(!h.rsv1);
                continue;
            }
            match cur.as_mut() {
                None => cur = Some((h.opcode, h.rsv1, p.clone())),
                Some(c) => {
                    assert_eq!(h.opcode, OpCode::Continuation);
                    assert!(!h.rsv1, "RSV1 on a continuation frame");
                    c.2.extend_from_slice(p);
                }
            }
            if h.fin {
                let (op, z, p) = cur.take().unwrap();
                let p = if z { inflate_msg(&mut inf, &p) } else { p };
                out.push((op, z, p));
            }
        }
        out
    }

    #[test]
    fn deflate_sends_compressed_messages_and_fragments() {
        for cnt in [false, true] {
            let n = Negotiated {
                client_no_context_takeover: cnt,
                ..PMD
            };
            let mut s = deflate_session(WsConfig::default(), n, 10);
            let big = "curlew ".repeat(2000);
            assert_eq!(s.send(big.as_bytes(), TEXT, 0), Ok(big.len()));
            assert_eq!(s.send(big.as_bytes(), TEXT, 0), Ok(big.len()));
            assert_eq!(s.send(b"tiny", BINARY, 0), Ok(4));
            assert_eq!(s.send(b"", TEXT, 0), Ok(0));
            assert_eq!(
                s.send(b"first fragment, long enough", TEXT | CONT, 0),
                Ok(27)
            );
            assert_eq!(s.ping(b"p"), Ok(()));
            assert_eq!(s.start_frame(TEXT, 3), Err(SendError::InvalidArgument));
            assert_eq!(
                s.send(b"x", TEXT | OFFSET, 1),
                Err(SendError::InvalidArgument)
            );
            assert_eq!(s.send(b"2nd", CONT, 0), Ok(3));
            assert_eq!(s.send(b"last", TEXT, 0), Ok(4));
            // OFFSET streaming and start_frame go uncompressed.
            assert_eq!(s.send(b"abcdefghijkl", BINARY | OFFSET, 12), Ok(12));
            let frames = drain_raw(&mut s);
            let msgs = client_messages(&frames, n);
            let want: Vec<(OpCode, bool, Vec<u8>)> = vec![
                (OpCode::Text, true, big.clone().into_bytes()),
                (OpCode::Text, true, big.clone().into_bytes()),
                (OpCode::Binary, false, b"tiny".to_vec()),
                (OpCode::Text, false, vec![]),
                (
                    OpCode::Text,
                    true,
                    b"first fragment, long enough2ndlast".to_vec(),
                ),
                (OpCode::Binary, false, b"abcdefghijkl".to_vec()),
            ];
            assert!(msgs == want, "{cnt}");
            let sizes: Vec<usize> = frames.iter().map(|f| f.1.len()).collect();
            assert!(sizes[0] < 200, "{sizes:?}");
            if !cnt {
                assert!(sizes[1] < sizes[0], "{sizes:?}");
            }
        }
    }

    #[test]
    fn deflate_send_respects_the_queue_bound() {
        let bound = 2000;
        let mut s = deflate_session(bounded(bound), PMD, 0);
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let mut raw = Vec::new();
        let mut off = 0;
        while off < data.len() {
            match s.send(&data[off..], BINARY, 0) {
                Ok(n) => off += n,
                Err(SendError::WouldBlock) => {}
                Err(e) => panic!("{e}"),
            }
            assert!(s.send_queue_len() <= bound);
            let b = s.poll_transmit().to_vec();
            raw.extend_from_slice(&b);
            s.consume_transmit(b.len());
        }
        let frames = raw_frames(&raw);
        assert!(frames.len() > 20);
        let msgs = client_messages(&frames, PMD);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].2 == data);
    }

    /// A compressed server frame (RSV1 on the first one).
    fn srv_z(fin: bool, op: OpCode, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let mut v = srv(fin, op, payload);
        if rsv1 {
            v[0] |= 0x40;
        }
        v
    }

    fn recv_into(
        s: &mut WsSession,
        pieces: &[&[u8]],
    ) -> (Vec<(u32, Vec<u8>)>, Option<ProtocolError>) {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut msgs = Vec::new();
        let mut cur: Option<(u32, Vec<u8>)> = None;
        for p in pieces {
            buf.extend_from_slice(p);
            loop {
                let r = s.handle_input_into(&mut buf, &mut out);
                let (n, chunk) = match r {
                    Ok(v) => v,
                    Err(e) => return (msgs, Some(e)),
                };
                let done = n == 0 && chunk.is_none();
                if let Some(c) = chunk {
                    assert!(c.payload.len() <= INFLATE_CHUNK);
                    let fl = c.meta.curl_flags();
                    let e = cur.get_or_insert((fl & !CONT, Vec::new()));
                    if c.meta.rsv1 {
                        assert_eq!(c.meta.offset, e.1.len() as u64);
                        assert_eq!(c.meta.bytes_left, 0);
                    }
                    e.1.extend_from_slice(c.payload);
                    if c.meta.is_message_end() {
                        msgs.push(cur.take().unwrap());
                    }
                }
                buf.drain(..n);
                if done {
                    break;
                }
            }
        }
        (msgs, None)
    }

    #[test]
    fn deflate_receives_inflated_messages_at_every_split_point() {
        for snt in [false, true] {
            let n = Negotiated {
                server_no_context_takeover: snt,
                ..PMD
            };
            // The server's compressor: its "client" side is our server side.
            let mut z = Compressor::new(&Negotiated {
                client_no_context_takeover: snt,
                ..n
            });
            let mut w = Vec::new();
            let mut input = Vec::new();
            z.compress("héllo héllo héllo".as_bytes(), true, &mut w);
            input.extend(srv_z(true, OpCode::Text, true, &w));
            input.extend(srv(true, OpCode::Text, b"plain"));
            z.compress(&[5u8; 300], false, &mut w);
            input.extend(srv_z(false, OpCode::Binary, true, &w));
            input.extend(srv(true, OpCode::Ping, b"p"));
            z.compress(&[6u8; 200_000], true, &mut w);
            input.extend(srv_z(true, OpCode::Continuation, false, &w));
            z.compress("héllo héllo héllo".as_bytes(), true, &mut w);
            input.extend(srv_z(true, OpCode::Text, true, &w));
            z.compress(b"", true, &mut w);
            input.extend(srv_z(true, OpCode::Binary, true, &w));
            input.extend(srv(true, OpCode::Close, &close_body(1000, "")));
            let mut big = vec![5u8; 300];
            big.extend([6u8; 200_000]);
            let want = vec![
                (TEXT, "héllo héllo héllo".as_bytes().to_vec()),
                (TEXT, b"plain".to_vec()),
                (BINARY, big),
                (TEXT, "héllo héllo héllo".as_bytes().to_vec()),
                (BINARY, vec![]),
                (CLOSE, close_body(1000, "")),
            ];
            let run = |pieces: &[&[u8]]| {
                let mut s = deflate_session(WsConfig::default(), n, 0);
                let (m, e) = recv_into(&mut s, pieces);
                assert_eq!(e, None);
                m
            };
            assert!(run(&[&input]) == want);
            for i in (0..=input.len()).step_by(7) {
                assert!(run(&[&input[..i], &input[i..]]) == want, "split at {i}");
            }
        }
    }

    #[test]
    fn deflate_rsv1_rules_and_errors() {
        // RSV1 without negotiation.
        let mut s = session(WsConfig::default());
        let f = srv_z(true, OpCode::Text, true, b"\x00");
        assert_eq!(
            recv_into(&mut s, &[&f]).1,
            Some(ProtocolError::ReservedBits)
        );
        // RSV1 on a continuation frame, or on a control frame.
        let mut s = deflate_session(WsConfig::default(), PMD, 0);
        let mut f = srv(false, OpCode::Text, b"a");
        f.extend(srv_z(true, OpCode::Continuation, true, b"b"));
        assert_eq!(
            recv_into(&mut s, &[&f]).1,
            Some(ProtocolError::ReservedBits)
        );
        let mut s = deflate_session(WsConfig::default(), PMD, 0);
        let f = srv_z(true, OpCode::Ping, true, b"");
        assert_eq!(
            recv_into(&mut s, &[&f]).1,
            Some(ProtocolError::ReservedBits)
        );
        // Garbage: 1007.
        let mut s = deflate_session(WsConfig::default(), PMD, 0);
        let f = srv_z(true, OpCode::Binary, true, &[0xff; 10]);
        let e = recv_into(&mut s, &[&f]).1.unwrap();
        assert_eq!(
            (e, e.close_code()),
            (ProtocolError::InvalidCompressedData, 1007)
        );
        // Invalid UTF-8 after inflation.
        let mut z = Compressor::new(&PMD);
        let mut w = Vec::new();
        z.compress(b"ok \xff", true, &mut w);
        let mut s = deflate_session(WsConfig::default(), PMD, 0);
        let f = srv_z(true, OpCode::Text, true, &w);
        assert_eq!(recv_into(&mut s, &[&f]).1, Some(ProtocolError::InvalidUtf8));
        let frames = drain_raw(&mut s);
        assert_eq!(frames[0].1, 1007u16.to_be_bytes());
    }

    #[test]
    fn deflate_bomb_closes_with_1009() {
        let mut z = Compressor::new(&PMD);
        let mut w = Vec::new();
        z.compress(&vec![0u8; 32 << 20], true, &mut w);
        assert!(w.len() < 100_000);
        let cfg = WsConfig {
            max_message_size: 1 << 20,
            ..WsConfig::default()
        };
        let mut s = deflate_session(cfg, PMD, 0);
        let f = srv_z(true, OpCode::Binary, true, &w);
        let (msgs, e) = recv_into(&mut s, &[&f]);
        assert!(msgs.is_empty());
        let e = e.unwrap();
        assert_eq!((e, e.close_code()), (ProtocolError::MessageTooBig, 1009));
        let frames = drain_raw(&mut s);
        assert_eq!(frames[0].0.opcode, OpCode::Close);
        assert_eq!(frames[0].1, 1009u16.to_be_bytes());
        assert!(s.handle_input_into(&mut [], &mut Vec::new()).is_err());
    }
}
