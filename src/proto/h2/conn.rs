//! The client connection state machine (RFC 9113 §3.4, §5, §6), sans-IO in
//! quinn's calling order: [`handle_input`](Connection::handle_input) with
//! received bytes, [`poll_transmit`](Connection::poll_transmit) /
//! [`consume_transmit`](Connection::consume_transmit) for bytes to write,
//! [`poll_event`](Connection::poll_event) for what happened, and
//! [`next_timeout`](Connection::next_timeout) /
//! [`handle_timeout`](Connection::handle_timeout) for the SETTINGS ACK and
//! PING deadlines (the caller passes `now`; nothing here reads a clock).
//!
//! Receiving is in `recv.rs`; this file holds the state, the configuration,
//! the events and the sending side. Stream ids are the connection's own: the
//! driver maps them to transfers.
//!
//! Every queue is bounded: events by [`MAX_EVENTS`], control frames we owe by
//! [`MAX_CONTROL_QUEUE`] (a peer that makes us owe more, by flooding PINGs or
//! SETTINGS while not reading, gets `ENHANCE_YOUR_CALM`), header blocks by
//! [`Config::max_header_list_size`] and [`MAX_HEADER_BLOCK`], received DATA
//! by the windows we grant.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::error::{ConnError, ErrorCode, H2Error};
use super::flow::{RecvWindow, SendWindow};
use super::frame::{self, DEFAULT_MAX_FRAME_SIZE, MAX_STREAM_ID};
use super::hpack::{Decoder, Encoder, HeaderList};
use super::settings::{id, Settings, DEFAULT_WINDOW_SIZE};
use super::stream::Stream;

/// The client connection preface (§3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Default initial window of each stream we announce: 8 MiB, so one stream
/// can fill a fast long path (64 KiB caps throughput at 64 KiB per RTT).
pub const DEFAULT_STREAM_WINDOW: u32 = 8 << 20;
/// Default connection receive window: 16 MiB.
pub const DEFAULT_CONN_WINDOW: u32 = 16 << 20;
/// Default SETTINGS_MAX_CONCURRENT_STREAMS we announce (for pushed streams,
/// which we refuse anyway; 100 is the RFC's recommended minimum).
pub const DEFAULT_MAX_CONCURRENT: u32 = 100;
/// Default limit on a decoded response head (SETTINGS_MAX_HEADER_LIST_SIZE).
pub const DEFAULT_MAX_HEADER_LIST: u32 = 64 << 10;
/// Largest header block (HEADERS plus CONTINUATIONs, encoded) gathered before
/// it is decoded: bounds the CONTINUATION flood (CVE-2024-27316 and kin).
pub const MAX_HEADER_BLOCK: usize = 256 << 10;
/// Most CONTINUATION frames one header block may take: bounds a flood of empty ones, which
/// the block size limit does not see (nghttp2 allows 8; a server splitting a 256 KiB block
/// into 4 KiB frames needs 64).
pub const MAX_CONTINUATIONS: usize = 64;
/// Default deadline for the peer's ACK of our SETTINGS (§6.5.3).
pub const DEFAULT_SETTINGS_TIMEOUT: Duration = Duration::from_secs(10);
/// Default deadline for the answer to our PING.
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// Most bytes of DATA and HEADERS waiting in the transmit queue: sends
/// accept only what fits below it.
pub const MAX_SEND_QUEUE: usize = 256 << 10;
/// Most events waiting for [`Connection::poll_event`].
pub const MAX_EVENTS: usize = 1024;
/// Most bytes of control frames (ACKs, updates, resets) waiting to be
/// written before the peer is considered to flood us.
pub const MAX_CONTROL_QUEUE: usize = 64 << 10;

/// Our side's settings and limits.
#[derive(Clone, Debug)]
pub struct Config {
    /// SETTINGS_INITIAL_WINDOW_SIZE we announce (per stream).
    pub stream_window: u32,
    /// The connection window we open with a WINDOW_UPDATE on stream 0.
    pub conn_window: u32,
    /// SETTINGS_MAX_CONCURRENT_STREAMS we announce.
    pub max_concurrent_streams: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we announce (our decoder's table).
    pub header_table_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we announce and enforce.
    pub max_header_list_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE we announce and enforce.
    pub max_frame_size: u32,
    /// How long the peer has to ACK our SETTINGS.
    pub settings_timeout: Duration,
    /// How long the peer has to answer our PING.
    pub ping_timeout: Duration,
    /// Report DATA as [`Event::DataAt`] (a place in the input of the
    /// [`handle_input`](Connection::handle_input) call that produced it: no copy, no
    /// allocation) instead of [`Event::Data`]. The caller must then take every event
    /// before it calls `handle_input` again.
    pub data_in_place: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream_window: DEFAULT_STREAM_WINDOW,
            conn_window: DEFAULT_CONN_WINDOW,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT,
            header_table_size: 4096,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            settings_timeout: DEFAULT_SETTINGS_TIMEOUT,
            ping_timeout: DEFAULT_PING_TIMEOUT,
            data_in_place: false,
        }
    }
}

/// What happened on the connection, for the driver to fan out by stream id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A response head (1xx informational heads included: check `:status`).
    Headers {
        /// The stream.
        stream: u32,
        /// The decoded fields, pseudo-headers first.
        head: HeaderList,
        /// No body follows.
        end_stream: bool,
    },
    /// Response body bytes. Give them back with
    /// [`Connection::release_data`] once consumed.
    Data {
        /// The stream.
        stream: u32,
        /// The payload (padding removed).
        bytes: Bytes,
        /// Last of the body.
        end_stream: bool,
    },
    /// Response body bytes at `input[offset..offset + len]` of the `handle_input` call that
    /// reported them (with [`Config::data_in_place`]). Release them like [`Event::Data`].
    DataAt {
        /// The stream.
        stream: u32,
        /// Where the payload starts in that call's input.
        offset: usize,
        /// The payload's length (padding removed).
        len: usize,
        /// Last of the body.
        end_stream: bool,
    },
    /// Trailing fields; the stream is done receiving.
    Trailers {
        /// The stream.
        stream: u32,
        /// The fields.
        head: HeaderList,
    },
    /// The stream ended abnormally (RST_STREAM from the peer, or a stream
    /// error we detected and reset).
    Reset {
        /// The stream.
        stream: u32,
        /// The code.
        code: ErrorCode,
        /// The request was not processed: it may be sent again (§8.7).
        retryable: bool,
    },
    /// The peer is going away. Streams above `last_stream` were not processed
    /// and are reported with a retryable [`Event::Reset`] each.
    GoAway {
        /// Highest stream the peer may have processed.
        last_stream: u32,
        /// Why.
        code: ErrorCode,
    },
    /// The peer's SETTINGS changed (the first SETTINGS included).
    RemoteSettings(Settings),
    /// The peer acknowledged our SETTINGS.
    SettingsAcked,
    /// The answer to our PING arrived.
    PingAcked,
    /// The stream's send window opened after a send that did not fit.
    StreamWritable {
        /// The stream.
        stream: u32,
    },
    /// The connection failed (our GOAWAY is queued) or a deadline passed.
    Closed(ConnError),
}

/// A request head to open a stream with.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `:method`.
    pub method: &'a [u8],
    /// `:scheme` (omitted for a plain CONNECT).
    pub scheme: &'a [u8],
    /// `:authority`.
    pub authority: &'a [u8],
    /// `:path` (omitted for a plain CONNECT).
    pub path: &'a [u8],
    /// `:protocol` for extended CONNECT (RFC 8441), e.g. `websocket`.
    pub protocol: Option<&'a [u8]>,
    /// Regular fields, names in lowercase, no connection-specific ones.
    pub headers: &'a [(&'a [u8], &'a [u8])],
}

/// Why a stream could not be opened or written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// MAX_CONCURRENT_STREAMS streams are open: wait for one to close.
    TooManyStreams,
    /// The connection is closing or failed: use another.
    Closed,
    /// Extended CONNECT without the peer's ENABLE_CONNECT_PROTOCOL.
    ConnectProtocolDisabled,
    /// No such open stream, or its sending side is closed.
    StreamClosed,
    /// A field name with uppercase letters or a connection-specific field.
    BadHeader,
    /// The send queue has no room for the header block now: call again once
    /// [`poll_transmit`](Connection::poll_transmit) has been written out.
    WouldBlock,
    /// The header block could never fit the send queue ([`MAX_SEND_QUEUE`]).
    HeadTooLarge,
}

/// A header block being gathered from HEADERS and CONTINUATION frames.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) stream: u32,
    pub(super) end_stream: bool,
    pub(super) block: Vec<u8>,
    /// CONTINUATION frames so far ([`MAX_CONTINUATIONS`]).
    pub(super) frames: usize,
}

/// A client HTTP/2 connection.
#[derive(Debug)]
pub struct Connection {
    pub(super) cfg: Config,
    pub(super) remote: Settings,
    pub(super) streams: BTreeMap<u32, Stream>,
    /// The id the next stream gets (odd, §5.1.1).
    pub(super) next_id: u32,
    pub(super) send_window: SendWindow,
    pub(super) recv_window: RecvWindow,
    pub(super) enc: Encoder,
    pub(super) dec: Decoder,
    pub(super) out: Vec<u8>,
    pub(super) out_pos: usize,
    pub(super) events: VecDeque<Event>,
    pub(super) settings_deadline: Option<Instant>,
    pub(super) ping: Option<([u8; 8], Instant)>,
    pub(super) pending: Option<Pending>,
    pub(super) got_settings: bool,
    /// The peer's GOAWAY last-stream-id, once received.
    pub(super) goaway: Option<u32>,
    pub(super) error: Option<ConnError>,
    pub(super) pings_sent: u64,
    /// The storage of the last header block, reused.
    pub(super) block_buf: Vec<u8>,
    /// Where the input of the current `handle_input` call starts (for [`Event::DataAt`]).
    pub(super) input_base: usize,
    /// The encoder's output storage, kept from one request head to the next.
    pub(super) enc_buf: Vec<u8>,
    /// Header lists given back by the caller ([`Connection::recycle_head`]), for the next
    /// heads (at most [`SPARE_HEADS`]).
    pub(super) spare_heads: Vec<HeaderList>,
}

/// Header lists a connection keeps for reuse.
pub const SPARE_HEADS: usize = 8;
/// Largest header list storage kept for reuse (a rare big head is not kept).
pub const SPARE_HEAD_MAX: usize = 16 << 10;

impl Connection {
    /// A connection that queues the preface, our SETTINGS and the connection
    /// window update; the SETTINGS ACK deadline starts at `now`.
    pub fn new(cfg: Config, now: Instant) -> Connection {
        let mut c = Connection {
            remote: Settings::default(),
            streams: BTreeMap::new(),
            next_id: 1,
            send_window: SendWindow::new(DEFAULT_WINDOW_SIZE),
            recv_window: RecvWindow::new(DEFAULT_WINDOW_SIZE, cfg.conn_window),
            enc: Encoder::new(),
            dec: Decoder::new(
                cfg.header_table_size as usize,
                cfg.max_header_list_size as usize,
            ),
            out: Vec::new(),
            out_pos: 0,
            events: VecDeque::new(),
            settings_deadline: Some(now + cfg.settings_timeout),
            ping: None,
            pending: None,
            got_settings: false,
            goaway: None,
            error: None,
            pings_sent: 0,
            block_buf: Vec::new(),
            input_base: 0,
            enc_buf: Vec::new(),
            spare_heads: Vec::new(),
            cfg,
        };
        c.queue_preface();
        c
    }

    fn queue_preface(&mut self) {
        self.out.extend_from_slice(PREFACE);
        let c = &self.cfg;
        frame::encode_settings(
            &mut self.out,
            &[
                (id::ENABLE_PUSH, 0),
                (id::HEADER_TABLE_SIZE, c.header_table_size),
                (id::MAX_CONCURRENT_STREAMS, c.max_concurrent_streams),
                (id::INITIAL_WINDOW_SIZE, c.stream_window),
                (id::MAX_FRAME_SIZE, c.max_frame_size),
                (id::MAX_HEADER_LIST_SIZE, c.max_header_list_size),
            ],
        );
        let inc = c.conn_window.saturating_sub(DEFAULT_WINDOW_SIZE);
        if inc > 0 {
            frame::encode_window_update(&mut self.out, 0, inc);
            self.recv_window.adjust(i64::from(inc));
        }
    }

    /// Give back the list of an [`Event::Headers`] or [`Event::Trailers`] once read: the
    /// next head is decoded into its storage (no allocation per head once warm).
    pub fn recycle_head(&mut self, mut head: HeaderList) {
        if self.spare_heads.len() < SPARE_HEADS && head.storage() <= SPARE_HEAD_MAX {
            head.clear();
            self.spare_heads.push(head);
        }
    }

    /// The peer's settings in force.
    pub fn remote_settings(&self) -> &Settings {
        &self.remote
    }

    /// The connection failed (or a deadline passed): nothing more is read or
    /// sent except what is already queued (our GOAWAY).
    pub fn error(&self) -> Option<ConnError> {
        self.error
    }

    /// Number of open streams.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// A new stream could be opened now (below MAX_CONCURRENT_STREAMS, no
    /// GOAWAY, ids left).
    pub fn can_open(&self) -> bool {
        let max = self.remote.max_concurrent_streams.unwrap_or(u32::MAX) as usize;
        self.error.is_none()
            && self.goaway.is_none()
            && self.next_id <= MAX_STREAM_ID
            && self.streams.len() < max
    }

    /// Bytes to write to the socket (empty when none).
    pub fn poll_transmit(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// `n` bytes of [`poll_transmit`](Self::poll_transmit) were written.
    pub fn consume_transmit(&mut self, n: usize) {
        self.out_pos = (self.out_pos + n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline (SETTINGS ACK, PING answer).
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            return None;
        }
        let ping = self.ping.map(|(_, t)| t);
        match (self.settings_deadline, ping) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Checks the deadlines at `now`: a missed SETTINGS ACK is a connection
    /// error SETTINGS_TIMEOUT (§6.5.3); a missed PING answer closes the
    /// connection (NO_ERROR GOAWAY, reported as [`Event::Closed`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.settings_deadline.is_some_and(|t| now >= t) {
            self.fail(ConnError {
                code: ErrorCode::SETTINGS_TIMEOUT,
                reason: "SETTINGS not acknowledged in time",
            });
        } else if self.ping.is_some_and(|(_, t)| now >= t) {
            self.fail(ConnError {
                code: ErrorCode::NO_ERROR,
                reason: "PING not answered in time",
            });
        }
    }

    /// Sends a PING whose answer is due by `now` + the ping timeout; false
    /// when one is already outstanding or the connection failed.
    pub fn ping(&mut self, now: Instant) -> bool {
        if self.ping.is_some() || self.error.is_some() {
            return false;
        }
        self.pings_sent += 1;
        let payload = self.pings_sent.to_be_bytes();
        frame::encode_ping(&mut self.out, false, payload);
        self.ping = Some((payload, now + self.cfg.ping_timeout));
        true
    }

    /// Starts a graceful shutdown: GOAWAY with `code`; no new streams.
    pub fn go_away(&mut self, code: ErrorCode) {
        if self.error.is_none() && self.goaway.is_none() {
            frame::encode_goaway(&mut self.out, 0, code, b"");
            self.goaway = Some(self.next_id.saturating_sub(2));
        }
    }

    /// Fails the connection: GOAWAY with the error's code, an
    /// [`Event::Closed`], and every open stream reported reset.
    pub(super) fn fail(&mut self, e: ConnError) {
        if self.error.is_some() {
            return;
        }
        self.error = Some(e);
        frame::encode_goaway(&mut self.out, 0, e.code, e.reason.as_bytes());
        let retry = e.code == ErrorCode::NO_ERROR;
        for stream in std::mem::take(&mut self.streams).into_keys() {
            self.events.push_back(Event::Reset {
                stream,
                code: e.code,
                retryable: retry,
            });
        }
        self.events.push_back(Event::Closed(e));
    }

    /// Acts on an error found while receiving.
    pub(super) fn on_error(&mut self, e: H2Error) {
        match e {
            H2Error::Connection(c) => self.fail(c),
            H2Error::Stream(s) => self.reset_stream(s.stream, s.code, false),
        }
    }

    /// Resets `stream` with `code` and reports it to the application.
    pub(super) fn reset_stream(&mut self, stream: u32, code: ErrorCode, retryable: bool) {
        frame::encode_rst_stream(&mut self.out, stream, code);
        if self.streams.remove(&stream).is_some() {
            self.push_event(Event::Reset {
                stream,
                code,
                retryable,
            });
        }
    }

    pub(super) fn push_event(&mut self, e: Event) {
        if self.events.len() >= MAX_EVENTS {
            return self.fail(ConnError {
                code: ErrorCode::ENHANCE_YOUR_CALM,
                reason: "too many events not taken",
            });
        }
        self.events.push_back(e);
    }

    /// Checks that control frames owed to the peer stay bounded.
    pub(super) fn check_control_queue(&mut self) {
        if self.out.len() - self.out_pos > MAX_CONTROL_QUEUE + MAX_SEND_QUEUE {
            self.fail(ConnError {
                code: ErrorCode::ENHANCE_YOUR_CALM,
                reason: "peer floods control frames",
            });
        }
    }
}
