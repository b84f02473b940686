//! Sans-IO WebSocket protocol core, client role (RFC 6455).
//!
//! Nothing here performs I/O, reads a clock or allocates per frame: the
//! caller owns sockets, buffers, timers and randomness (a
//! [`SecureRng`](crate::rng::SecureRng) keyed by the OS, handed in), and
//! drives the protocol with these pieces:
//!
//! | module | RFC 6455 | what |
//! | --- | --- | --- |
//! | [`handshake`] | §1.3, §4.1, §4.2.2 | `Sec-WebSocket-Key`/`Accept`, response validation |
//! | [`frame`] | §5.2, §5.5, §7.4 | header codec, opcodes, close codes, [`ProtocolError`] |
//! | [`mask`] | §5.3 | word-wide (un)masking |
//! | [`decoder`] | §5.1-§5.6, §8.1 | streaming decoder of server frames |
//! | [`encoder`] | §5.1-§5.3 | masked frame writer |
//! | [`utf8`] | §8.1 | incremental UTF-8 validation |
//! | [`deflate`] | RFC 7692 | permessage-deflate negotiation, compressor, inflater |
//!
//! # Driving contract
//!
//! 1. **Handshake** (§4.1). Send a `GET` with `Upgrade: websocket`,
//!    `Connection: Upgrade`, `Sec-WebSocket-Version: 13` and
//!    `Sec-WebSocket-Key: `[`generate_key`]`(random16)` where `random16` comes
//!    from a [`SecureRng`](crate::rng::SecureRng). Pass the response status and headers to
//!    [`validate_response`]; any error fails the connection. If the returned
//!    [`Accepted::extensions`] enable permessage-deflate (RFC 7692, checked
//!    with [`deflate::negotiate`]), set [`DecoderConfig::allow_rsv1`] (a
//!    [`WsSession`] does it all with [`WsSession::set_deflate`]). Bytes received after the response
//!    headers are the first WebSocket bytes.
//! 2. **Receiving**. Keep received bytes in a buffer of at least
//!    [`MIN_RECV_BUFFER`] bytes. Call [`Decoder::decode`] on the unconsumed
//!    bytes; handle the returned [`Chunk`] (if any), then drop `consumed`
//!    bytes; repeat until it returns `(0, None)`, then read more from the
//!    socket. Data frames arrive as chunks described by [`FrameMeta`]
//!    (`offset`/`bytes_left`/`len`, like libcurl's `curl_ws_frame`; see
//!    [`FrameMeta::curl_flags`]); control frames arrive whole. Answer a Ping
//!    with a Pong carrying the same payload (§5.5.2). For compressed
//!    messages (`meta.rsv1`), inflate and validate UTF-8 of text yourself.
//! 3. **Sending**. Every frame is masked with a fresh key from
//!    [`SecureRng::mask_key`](crate::rng::SecureRng::mask_key) (§5.3: unpredictable,
//!    from a strong source of entropy): [`encode_frame`] for whole frames,
//!    [`StreamingFrame`] to send one huge frame piece by piece. Control
//!    frames may be sent between the frames of a fragmented message, never
//!    inside a frame.
//! 4. **Closing** (§5.5.1, §7). On a received Close, reply with a Close
//!    ([`encode_close`], usually echoing the code) unless one was already
//!    sent; the decoder [is closed](Decoder::is_closed) and consumes nothing
//!    more. The client then waits for the server to close TCP (§7.1.1).
//! 5. **Errors** (§7.1.7). On a [`ProtocolError`], send a Close with
//!    [`ProtocolError::close_code`] (1002, 1007 or 1009) if possible and drop
//!    the connection; the decoder keeps returning the same error.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod decoder;
pub mod deflate;
pub mod encoder;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod utf8;

pub use decoder::{
    parse_close_payload, Chunk, Decoder, DecoderConfig, FrameMeta, MAX_FRAME_SIZE,
    MAX_MESSAGE_SIZE, MIN_RECV_BUFFER,
};
pub use deflate::{DeflateConfig, DeflateError, Negotiated};
pub use encoder::{encode_close, encode_frame, StreamingFrame};
pub use frame::{
    close_code, is_valid_close_code, FrameHeader, OpCode, ProtocolError, MAX_CONTROL_PAYLOAD,
    MAX_HEADER_LEN, MAX_PAYLOAD_LEN,
};
pub use handshake::{
    expected_accept, generate_key, validate_response, Accepted, HandshakeError, WS_GUID, WS_VERSION,
};
pub use mask::{apply_mask, copy_masked};
pub use utf8::{InvalidUtf8, Utf8Validator};

/// libcurl-compatible frame flag bits (`CURLWS_*` in `curl/websockets.h`),
/// as returned by [`FrameMeta::curl_flags`].
pub mod flags {
    /// `CURLWS_TEXT`: a text message (on every fragment).
    pub const TEXT: u32 = 1 << 0;
    /// `CURLWS_BINARY`: a binary message (on every fragment).
    pub const BINARY: u32 = 1 << 1;
    /// `CURLWS_CONT`: a fragment that is not the last of its message.
    pub const CONT: u32 = 1 << 2;
    /// `CURLWS_CLOSE`: a Close frame.
    pub const CLOSE: u32 = 1 << 3;
    /// `CURLWS_PING`: a Ping frame.
    pub const PING: u32 = 1 << 4;
    /// `CURLWS_OFFSET`: (send side) a partial write of a frame whose total
    /// size was announced by the first call.
    pub const OFFSET: u32 = 1 << 5;
    /// `CURLWS_PONG`: a Pong frame.
    pub const PONG: u32 = 1 << 6;
}
pub mod session;
pub use session::*;
