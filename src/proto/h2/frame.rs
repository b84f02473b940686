//! Frame codec (RFC 9113 §4, §6): the 9-byte frame header, every frame type,
//! padding, and the size rules.
//!
//! [`decode`] reads one frame from the front of a byte slice that may hold a
//! partial frame (then it returns `Ok(None)` and consumes nothing); frames
//! borrow their payload from the input. Checks that need only the frame
//! itself are done here (stream id zero or not, fixed lengths, padding,
//! `MAX_FRAME_SIZE`); everything that needs connection state is done by the
//! connection. PRIORITY frames and the priority fields of HEADERS are parsed
//! and ignored (§5.3.2: deprecated), unknown frame types are returned as
//! [`Frame::Unknown`] for the caller to drop (§4.1, §5.5).
//!
//! The `encode_*` functions append to a `Vec<u8>` and allocate nothing but the
//! vector's own growth.

use super::error::{ErrorCode, H2Error};

/// Length of the frame header (§4.1).
pub const FRAME_HEADER_LEN: usize = 9;
/// The initial and smallest value of `SETTINGS_MAX_FRAME_SIZE` (§6.5.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;
/// The largest value of `SETTINGS_MAX_FRAME_SIZE` (§6.5.2).
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;
/// Largest stream id and window increment: 31 bits (§5.1.1, §6.9).
pub const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// Frame type codes (§6, RFC 9113 §11.2).
pub mod kind {
    /// DATA (§6.1).
    pub const DATA: u8 = 0x0;
    /// HEADERS (§6.2).
    pub const HEADERS: u8 = 0x1;
    /// PRIORITY (§6.3, deprecated).
    pub const PRIORITY: u8 = 0x2;
    /// RST_STREAM (§6.4).
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS (§6.5).
    pub const SETTINGS: u8 = 0x4;
    /// PUSH_PROMISE (§6.6).
    pub const PUSH_PROMISE: u8 = 0x5;
    /// PING (§6.7).
    pub const PING: u8 = 0x6;
    /// GOAWAY (§6.8).
    pub const GOAWAY: u8 = 0x7;
    /// WINDOW_UPDATE (§6.9).
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// CONTINUATION (§6.10).
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flag bits (§6).
pub mod flag {
    /// DATA, HEADERS: last frame of the stream.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: last frame of the header block.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a pad length byte and padding follow.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: stream dependency and weight fields follow.
    pub const PRIORITY: u8 = 0x20;
}

/// The 9-byte frame header (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub len: u32,
    /// Frame type.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// Stream id, reserved bit cleared.
    pub stream: u32,
}

impl FrameHeader {
    /// Parses the header at the front of `buf`, `None` if shorter than 9 bytes.
    pub fn parse(buf: &[u8]) -> Option<FrameHeader> {
        let h: &[u8; FRAME_HEADER_LEN] = buf.get(..FRAME_HEADER_LEN)?.try_into().ok()?;
        Some(FrameHeader {
            len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & MAX_STREAM_ID,
        })
    }

    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let len = self.len.to_be_bytes();
        out.extend_from_slice(&[len[1], len[2], len[3], self.kind, self.flags]);
        out.extend_from_slice(&(self.stream & MAX_STREAM_ID).to_be_bytes());
    }

    fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// A decoded frame, borrowing its payload from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// DATA (§6.1): `data` is the payload without padding; `flow_len` is the
    /// whole payload length, which is what flow control counts (§6.9.1).
    Data {
        /// Stream id (never 0).
        stream: u32,
        /// Payload without padding.
        data: &'a [u8],
        /// The END_STREAM flag.
        end_stream: bool,
        /// Payload length including padding and the pad length byte.
        flow_len: u32,
    },
    /// HEADERS (§6.2), padding and priority fields removed.
    Headers {
        /// Stream id (never 0).
        stream: u32,
        /// Header block fragment.
        fragment: &'a [u8],
        /// The END_STREAM flag.
        end_stream: bool,
        /// The END_HEADERS flag.
        end_headers: bool,
    },
    /// PRIORITY (§6.3): parsed and ignored.
    Priority {
        /// Stream id (never 0).
        stream: u32,
    },
    /// RST_STREAM (§6.4).
    RstStream {
        /// Stream id (never 0).
        stream: u32,
        /// Why the stream ends.
        code: ErrorCode,
    },
    /// SETTINGS (§6.5): `params` holds whole 6-byte parameters (see
    /// [`settings_params`]); empty on an ACK.
    Settings {
        /// The ACK flag.
        ack: bool,
        /// The parameters, a multiple of 6 bytes.
        params: &'a [u8],
    },
    /// PUSH_PROMISE (§6.6). We never enable push, so the connection refuses it.
    PushPromise {
        /// Stream id (never 0).
        stream: u32,
        /// The promised stream id.
        promised: u32,
    },
    /// PING (§6.7).
    Ping {
        /// The ACK flag.
        ack: bool,
        /// Opaque data.
        payload: [u8; 8],
    },
    /// GOAWAY (§6.8).
    GoAway {
        /// Highest stream id the peer may have processed.
        last_stream: u32,
        /// Why the connection ends.
        code: ErrorCode,
        /// Opaque debug data.
        debug: &'a [u8],
    },
    /// WINDOW_UPDATE (§6.9); the increment is never 0.
    WindowUpdate {
        /// Stream id, 0 for the connection.
        stream: u32,
        /// Window size increment, 1..=2^31-1.
        increment: u32,
    },
    /// CONTINUATION (§6.10).
    Continuation {
        /// Stream id (never 0).
        stream: u32,
        /// Header block fragment.
        fragment: &'a [u8],
        /// The END_HEADERS flag.
        end_headers: bool,
    },
    /// A frame of an unknown type: to be ignored (§4.1, §5.5).
    Unknown {
        /// The type code.
        kind: u8,
        /// Stream id.
        stream: u32,
    },
}

/// Decodes one frame from the front of `buf`.
///
/// Returns `Ok(None)` while `buf` holds less than a whole frame, and
/// `Ok(Some((frame, consumed)))` otherwise. A frame longer than
/// `max_frame_size` (our `SETTINGS_MAX_FRAME_SIZE`) is a `FRAME_SIZE_ERROR`
/// as soon as its header is seen (§4.2).
pub fn decode(buf: &[u8], max_frame_size: u32) -> Result<Option<(Frame<'_>, usize)>, H2Error> {
    let Some(h) = FrameHeader::parse(buf) else {
        return Ok(None);
    };
    if h.len > max_frame_size {
        return Err(H2Error::conn(
            ErrorCode::FRAME_SIZE_ERROR,
            "frame too large",
        ));
    }
    let end = FRAME_HEADER_LEN + h.len as usize;
    let Some(payload) = buf.get(FRAME_HEADER_LEN..end) else {
        return Ok(None);
    };
    Ok(Some((decode_payload(&h, payload)?, end)))
}

/// Decodes a frame whose header is `h` and whose whole payload is `p`.
pub fn decode_payload<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    match h.kind {
        kind::DATA => decode_data(h, p),
        kind::HEADERS => decode_headers(h, p),
        kind::PRIORITY => decode_priority(h, p),
        kind::RST_STREAM => decode_rst(h, p),
        kind::SETTINGS => decode_settings(h, p),
        kind::PUSH_PROMISE => decode_push_promise(h, p),
        kind::PING => decode_ping(h, p),
        kind::GOAWAY => decode_goaway(h, p),
        kind::WINDOW_UPDATE => decode_window_update(h, p),
        kind::CONTINUATION => {
            need_stream(h)?;
            Ok(Frame::Continuation {
                stream: h.stream,
                fragment: p,
                end_headers: h.has(flag::END_HEADERS),
            })
        }
        kind => Ok(Frame::Unknown {
            kind,
            stream: h.stream,
        }),
    }
}

fn protocol(reason: &'static str) -> H2Error {
    H2Error::conn(ErrorCode::PROTOCOL_ERROR, reason)
}

fn frame_size(reason: &'static str) -> H2Error {
    H2Error::conn(ErrorCode::FRAME_SIZE_ERROR, reason)
}

fn need_stream(h: &FrameHeader) -> Result<(), H2Error> {
    match h.stream {
        0 => Err(protocol("stream frame on stream 0")),
        _ => Ok(()),
    }
}

fn need_conn(h: &FrameHeader) -> Result<(), H2Error> {
    match h.stream {
        0 => Ok(()),
        _ => Err(protocol("connection frame on a stream")),
    }
}

/// Removes the pad length byte and the padding (§6.1, §6.2, §6.6).
fn unpad<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<&'a [u8], H2Error> {
    if !h.has(flag::PADDED) {
        return Ok(p);
    }
    let (&pad, rest) = p.split_first().ok_or(frame_size("no pad length"))?;
    let keep = rest
        .len()
        .checked_sub(pad as usize)
        .ok_or(protocol("padding longer than the payload"))?;
    Ok(&rest[..keep])
}

fn decode_data<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_stream(h)?;
    Ok(Frame::Data {
        stream: h.stream,
        data: unpad(h, p)?,
        end_stream: h.has(flag::END_STREAM),
        flow_len: h.len,
    })
}

fn decode_headers<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_stream(h)?;
    let mut fragment = unpad(h, p)?;
    if h.has(flag::PRIORITY) {
        // Stream dependency (4) and weight (1), ignored (§5.3.2).
        fragment = fragment
            .get(5..)
            .ok_or(frame_size("HEADERS too short for priority"))?;
    }
    Ok(Frame::Headers {
        stream: h.stream,
        fragment,
        end_stream: h.has(flag::END_STREAM),
        end_headers: h.has(flag::END_HEADERS),
    })
}

fn decode_priority<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_stream(h)?;
    if p.len() != 5 {
        return Err(H2Error::stream(
            h.stream,
            ErrorCode::FRAME_SIZE_ERROR,
            "PRIORITY length is not 5",
        ));
    }
    Ok(Frame::Priority { stream: h.stream })
}

fn be32(p: &[u8]) -> u32 {
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
}

fn decode_rst<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_stream(h)?;
    if p.len() != 4 {
        return Err(frame_size("RST_STREAM length is not 4"));
    }
    Ok(Frame::RstStream {
        stream: h.stream,
        code: ErrorCode(be32(p)),
    })
}

fn decode_settings<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_conn(h)?;
    let ack = h.has(flag::ACK);
    if ack && !p.is_empty() {
        return Err(frame_size("SETTINGS ACK with a payload"));
    }
    if p.len() % 6 != 0 {
        return Err(frame_size("SETTINGS length not a multiple of 6"));
    }
    Ok(Frame::Settings { ack, params: p })
}

fn decode_push_promise<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_stream(h)?;
    let rest = unpad(h, p)?;
    if rest.len() < 4 {
        return Err(frame_size("PUSH_PROMISE too short"));
    }
    Ok(Frame::PushPromise {
        stream: h.stream,
        promised: be32(rest) & MAX_STREAM_ID,
    })
}

fn decode_ping<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_conn(h)?;
    let payload: [u8; 8] = p
        .try_into()
        .map_err(|_| frame_size("PING length is not 8"))?;
    Ok(Frame::Ping {
        ack: h.has(flag::ACK),
        payload,
    })
}

fn decode_goaway<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    need_conn(h)?;
    if p.len() < 8 {
        return Err(frame_size("GOAWAY too short"));
    }
    Ok(Frame::GoAway {
        last_stream: be32(p) & MAX_STREAM_ID,
        code: ErrorCode(be32(&p[4..])),
        debug: &p[8..],
    })
}

fn decode_window_update<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    if p.len() != 4 {
        return Err(frame_size("WINDOW_UPDATE length is not 4"));
    }
    let increment = be32(p) & MAX_STREAM_ID;
    if increment == 0 {
        return Err(match h.stream {
            0 => protocol("WINDOW_UPDATE increment 0"),
            s => H2Error::stream(s, ErrorCode::PROTOCOL_ERROR, "WINDOW_UPDATE increment 0"),
        });
    }
    Ok(Frame::WindowUpdate {
        stream: h.stream,
        increment,
    })
}

/// Iterates over the `(identifier, value)` pairs of a SETTINGS payload whose
/// length is a multiple of 6 (as [`Frame::Settings`] guarantees).
pub fn settings_params(params: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    params
        .chunks_exact(6)
        .map(|c| (u16::from_be_bytes([c[0], c[1]]), be32(&c[2..])))
}

// ----- encoding ----------------------------------------------------------------

fn header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    FrameHeader {
        len: len as u32,
        kind,
        flags,
        stream,
    }
    .encode(out);
}

/// Appends a DATA frame; `data` must not exceed the peer's `MAX_FRAME_SIZE`.
pub fn encode_data(out: &mut Vec<u8>, stream: u32, data: &[u8], end_stream: bool) {
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    header(out, data.len(), kind::DATA, flags, stream);
    out.extend_from_slice(data);
}

/// Appends a header block as one HEADERS frame followed by as many
/// CONTINUATION frames as `max_frame_size` requires (§4.3, §6.10).
pub fn encode_header_block(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
) {
    let max = (max_frame_size.max(DEFAULT_MAX_FRAME_SIZE)) as usize;
    let mut chunks = block.chunks(max).peekable();
    let first = chunks.next().unwrap_or(&[]);
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if chunks.peek().is_none() {
        flags |= flag::END_HEADERS;
    }
    header(out, first.len(), kind::HEADERS, flags, stream);
    out.extend_from_slice(first);
    while let Some(c) = chunks.next() {
        let flags = if chunks.peek().is_none() {
            flag::END_HEADERS
        } else {
            0
        };
        header(out, c.len(), kind::CONTINUATION, flags, stream);
        out.extend_from_slice(c);
    }
}

/// Appends a SETTINGS frame carrying `params`.
pub fn encode_settings(out: &mut Vec<u8>, params: &[(u16, u32)]) {
    header(out, params.len() * 6, kind::SETTINGS, 0, 0);
    for &(id, value) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends a SETTINGS frame with the ACK flag.
pub fn encode_settings_ack(out: &mut Vec<u8>) {
    header(out, 0, kind::SETTINGS, flag::ACK, 0);
}

/// Appends a PING frame (an answer when `ack`).
pub fn encode_ping(out: &mut Vec<u8>, ack: bool, payload: [u8; 8]) {
    header(out, 8, kind::PING, if ack { flag::ACK } else { 0 }, 0);
    out.extend_from_slice(&payload);
}

/// Appends a GOAWAY frame.
pub fn encode_goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode, debug: &[u8]) {
    header(out, 8 + debug.len(), kind::GOAWAY, 0, 0);
    out.extend_from_slice(&(last_stream & MAX_STREAM_ID).to_be_bytes());
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(debug);
}

/// Appends a RST_STREAM frame.
pub fn encode_rst_stream(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    header(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&code.0.to_be_bytes());
}

/// Appends a WINDOW_UPDATE frame (`stream` 0 for the connection).
pub fn encode_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    header(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&(increment & MAX_STREAM_ID).to_be_bytes());
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
