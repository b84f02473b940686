//! Streaming client-role frame decoder (RFC 6455 §5, §6.2, §7.1.7, §8.1).
//!
//! [`Decoder::decode`] looks at the bytes the caller has buffered and returns
//! how many it consumed plus at most one [`Chunk`] of one frame, borrowed from
//! the caller's buffer. Data frames are streamed: a chunk is produced from
//! whatever part of the payload is available, so a frame of any size is never
//! buffered whole. Control frames (≤ 125 bytes, §5.5) are only delivered whole:
//! until the entire control frame is buffered `decode` consumes nothing.
//!
//! Checks, all failing the connection with a [`ProtocolError`]:
//! * server frames MUST NOT be masked (§5.1) unless
//!   [`DecoderConfig::allow_masked`] is set (server role, tests);
//! * reserved opcodes (§5.2) and RSV bits without an extension (§5.2); with
//!   permessage-deflate ([`DecoderConfig::allow_rsv1`]) RSV1 is allowed only on
//!   the first frame of a data message (RFC 7692 §6);
//! * control frames are not fragmented and carry at most 125 bytes (§5.5);
//! * fragmentation order (§5.4): no continuation without a message, no new
//!   data message inside a fragmented one; control frames may be interleaved;
//! * size limits ([`DecoderConfig::max_frame_size`],
//!   [`DecoderConfig::max_message_size`]), checked from the header before any
//!   payload is delivered;
//! * UTF-8 of text messages (§8.1), incrementally across chunks and fragments,
//!   failing as soon as an invalid prefix is seen. Messages with RSV1 set
//!   (compressed) are *not* validated here: the caller validates the inflated
//!   output, e.g. with a [`Utf8Validator`];
//! * Close payloads (§5.5.1, §7.4): not 1 byte long, a valid status code, a
//!   UTF-8 reason.
//!
//! The decoder never answers pings or closes itself (sans-IO): the caller does.
//! After an error every further call returns the same error. After a Close
//! frame has been delivered the decoder is [closed](Decoder::is_closed) and
//! consumes nothing more.

use super::flags;
use super::frame::{
    is_valid_close_code, FrameHeader, OpCode, ProtocolError, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use super::mask::apply_mask;
use super::utf8::Utf8Validator;

/// Default [`DecoderConfig::max_frame_size`]: [`MAX_PAYLOAD_LEN`](super::MAX_PAYLOAD_LEN)
/// (2^63 - 1), i.e. no limit beyond what the wire can express. Since frames are
/// streamed, never buffered, a per-frame limit is rarely needed; the message
/// limit is the one that matters.
pub const MAX_FRAME_SIZE: u64 = u64::MAX >> 1;

/// Default [`DecoderConfig::max_message_size`]: 64 MiB.
pub const MAX_MESSAGE_SIZE: u64 = 64 * 1024 * 1024;

/// The smallest receive buffer a caller may use: a complete control frame
/// (largest header plus 125 bytes of payload) must fit, since control frames
/// are only delivered whole.
pub const MIN_RECV_BUFFER: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;

/// Decoder limits and options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Largest accepted frame payload, in bytes (default [`MAX_FRAME_SIZE`]).
    pub max_frame_size: u64,
    /// Largest accepted data message, the sum of its frames' payloads as
    /// received on the wire (default [`MAX_MESSAGE_SIZE`]). For compressed
    /// messages this bounds the compressed size; the inflating layer must
    /// bound its output separately.
    pub max_message_size: u64,
    /// Validate that text messages are UTF-8 (default `true`). Skipped for
    /// compressed (RSV1) messages.
    pub validate_utf8: bool,
    /// Accept RSV1 on the first frame of data messages; set when
    /// permessage-deflate was negotiated (default `false`).
    pub allow_rsv1: bool,
    /// Accept masked frames and unmask them in place (default `false`: a
    /// client MUST fail on a masked server frame, §5.1). For a server role or
    /// tests.
    pub allow_masked: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_frame_size: MAX_FRAME_SIZE,
            max_message_size: MAX_MESSAGE_SIZE,
            validate_utf8: true,
            allow_rsv1: false,
            allow_masked: false,
        }
    }
}

/// Describes one chunk of one frame, with the semantics of libcurl's
/// `struct curl_ws_frame` (`offset`, `bytesleft`, `len`, type flag on every
/// fragment; see [`curl_flags`](Self::curl_flags)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameMeta {
    /// Type of the message: `Text` or `Binary` for data frames (including
    /// continuation frames), `Close`, `Ping` or `Pong` for control frames.
    /// Never `Continuation`.
    pub opcode: OpCode,
    /// The frame has FIN set: it is the final fragment of its message.
    pub fin: bool,
    /// The message is compressed: RSV1 of the message's first frame, repeated
    /// on every chunk of every fragment (RFC 7692 §6 sets it on the first
    /// frame only, for the whole message).
    pub rsv1: bool,
    /// The frame's wire opcode was `0x0` (continuation).
    pub is_continuation: bool,
    /// Offset of this chunk within the frame payload.
    pub offset: u64,
    /// Bytes of the frame payload still to come after this chunk.
    pub bytes_left: u64,
    /// Length of this chunk's payload.
    pub len: usize,
}

impl FrameMeta {
    /// libcurl-compatible flags (see [`flags`]): the message type flag on
    /// every chunk of every fragment, plus [`flags::CONT`] on data fragments
    /// that are not the last of their message.
    pub const fn curl_flags(&self) -> u32 {
        let ty = match self.opcode {
            OpCode::Text => flags::TEXT,
            OpCode::Binary => flags::BINARY,
            OpCode::Close => flags::CLOSE,
            OpCode::Ping => flags::PING,
            OpCode::Pong => flags::PONG,
            OpCode::Continuation => 0,
        };
        if !self.fin && self.opcode.is_data() {
            ty | flags::CONT
        } else {
            ty
        }
    }

    /// True when this chunk ends its frame.
    pub const fn is_frame_end(&self) -> bool {
        self.bytes_left == 0
    }

    /// True when this chunk ends a message (or is a control frame).
    pub const fn is_message_end(&self) -> bool {
        self.fin && self.bytes_left == 0
    }
}

/// A piece of a frame payload, borrowed from the caller's input buffer
/// (unmasked in place if the frame was masked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// What this chunk is.
    pub meta: FrameMeta,
    /// The payload bytes; `meta.len` long (possibly empty).
    pub payload: &'a [u8],
}

/// The data message being received.
#[derive(Clone, Copy, Debug)]
struct Message {
    opcode: OpCode,
    compressed: bool,
    len: u64,
    check_utf8: bool,
}

/// The data frame whose payload is being streamed.
#[derive(Clone, Copy, Debug)]
struct Frame {
    fin: bool,
    is_continuation: bool,
    offset: u64,
    remaining: u64,
    mask: Option<[u8; 4]>,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Header,
    Payload(Frame),
    Closed,
    Failed(ProtocolError),
}

/// Streaming client-role WebSocket decoder. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Decoder {
    config: DecoderConfig,
    state: State,
    message: Option<Message>,
    utf8: Utf8Validator,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(DecoderConfig::default())
    }
}

impl Decoder {
    /// A decoder at the start of the stream.
    pub const fn new(config: DecoderConfig) -> Self {
        Self {
            config,
            state: State::Header,
            message: None,
            utf8: Utf8Validator::new(),
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// True once a Close frame has been delivered; `decode` then consumes
    /// nothing more.
    pub const fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// True between the first and the last byte of a data message, i.e.
    /// while a (possibly fragmented) message is incomplete.
    pub const fn in_message(&self) -> bool {
        self.message.is_some()
    }

    /// Returns the decoder to its initial state (keeping the configuration).
    pub fn reset(&mut self) {
        *self = Self::new(self.config);
    }

    /// Decodes from `input`, the bytes buffered and not yet consumed.
    ///
    /// Returns `(consumed, chunk)`: the caller must drop the first `consumed`
    /// bytes of its buffer (after using `chunk`, which borrows them) and call
    /// again with the remaining bytes, appending newly received data. At most
    /// one chunk of one frame is returned per call. `(0, None)` means more
    /// input is needed (or the decoder is closed). A call may consume a frame
    /// header without returning a chunk when no payload byte is available yet;
    /// a zero-length frame yields one empty chunk.
    ///
    /// The buffer must be able to hold [`MIN_RECV_BUFFER`] bytes, since an
    /// incomplete control frame (or frame header) is not consumed.
    pub fn decode<'a>(
        &mut self,
        input: &'a mut [u8],
    ) -> Result<(usize, Option<Chunk<'a>>), ProtocolError> {
        let result = match self.state {
            State::Failed(e) => return Err(e),
            State::Closed => return Ok((0, None)),
            State::Header => self.decode_frame(input),
            State::Payload(frame) => self.payload_chunk(frame, input),
        };
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        if h.mask.is_some() && !self.config.allow_masked {
            return Err(ProtocolError::MaskedFrame);
        }
        if h.rsv2
            || h.rsv3
            || (h.rsv1
                && (!self.config.allow_rsv1
                    || h.opcode.is_control()
                    || h.opcode == OpCode::Continuation))
        {
            return Err(ProtocolError::ReservedBits);
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlFrameTooBig);
            }
            if h.opcode == OpCode::Close && h.payload_len == 1 {
                return Err(ProtocolError::InvalidClosePayload);
            }
        }
        Ok(())
    }

    fn decode_frame<'a>(
        &mut self,
        input: &'a mut [u8],
    ) -> Result<(usize, Option<Chunk<'a>>), ProtocolError> {
        let Some((h, hlen)) = FrameHeader::parse(input)? else {
            return Ok((0, None));
        };
        self.check_header(&h)?;

        if h.opcode.is_control() {
            // payload_len <= 125 was checked.
            let total = hlen + h.payload_len as usize;
            let Some(payload) = input.get_mut(hlen..total) else {
                return Ok((0, None));
            };
            if let Some(key) = h.mask {
                apply_mask(payload, key, 0);
            }
            if h.opcode == OpCode::Close {
                parse_close_payload(payload)?;
                self.state = State::Closed;
            }
            let meta = FrameMeta {
                opcode: h.opcode,
                fin: true,
                rsv1: false,
                is_continuation: false,
                offset: 0,
                bytes_left: 0,
                len: payload.len(),
            };
            return Ok((total, Some(Chunk { meta, payload })));
        }

        let mut message = match (h.opcode, self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(m)) => m,
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => Message {
                opcode,
                compressed: h.rsv1,
                len: 0,
                check_utf8: opcode == OpCode::Text && self.config.validate_utf8 && !h.rsv1,
            },
        };
        if h.payload_len > self.config.max_frame_size {
            return Err(ProtocolError::MessageTooBig);
        }
        message.len = message
            .len
            .checked_add(h.payload_len)
            .filter(|&l| l <= self.config.max_message_size)
            .ok_or(ProtocolError::MessageTooBig)?;
        if self.message.is_none() {
            self.utf8.reset();
        }
        self.message = Some(message);
        let frame = Frame {
            fin: h.fin,
            is_continuation: h.opcode == OpCode::Continuation,
            offset: 0,
            remaining: h.payload_len,
            mask: h.mask,
        };
        let rest = input.get_mut(hlen..).unwrap_or_default();
        if frame.remaining > 0 && rest.is_empty() {
            self.state = State::Payload(frame);
            return Ok((hlen, None));
        }
        let (n, chunk) = self.payload_chunk(frame, rest)?;
        Ok((hlen + n, chunk))
    }

    fn payload_chunk<'a>(
        &mut self,
        frame: Frame,
        input: &'a mut [u8],
    ) -> Result<(usize, Option<Chunk<'a>>), ProtocolError> {
        // A data frame is in progress, so there is a message.
        let Some(message) = self.message else {
            return Err(ProtocolError::UnexpectedContinuation);
        };
        let n = frame.remaining.min(input.len() as u64) as usize;
        if n == 0 && frame.remaining > 0 {
            self.state = State::Payload(frame);
            return Ok((0, None));
        }
        let payload = &mut input[..n];
        if let Some(key) = frame.mask {
            apply_mask(payload, key, (frame.offset % 4) as usize);
        }
        let bytes_left = frame.remaining - n as u64;
        let message_end = frame.fin && bytes_left == 0;
        if message.check_utf8 {
            self.utf8
                .feed(payload)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
            if message_end {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        let meta = FrameMeta {
            opcode: message.opcode,
            fin: frame.fin,
            rsv1: message.compressed,
            is_continuation: frame.is_continuation,
            offset: frame.offset,
            bytes_left,
            len: n,
        };
        self.state = if bytes_left == 0 {
            if frame.fin {
                self.message = None;
            }
            State::Header
        } else {
            State::Payload(Frame {
                offset: frame.offset + n as u64,
                remaining: bytes_left,
                ..frame
            })
        };
        Ok((n, Some(Chunk { meta, payload })))
    }
}

/// Parses and validates a Close frame payload (RFC 6455 §5.5.1, §7.4):
/// empty → `(None, "")`; otherwise a 2-byte big-endian status code that must
/// satisfy [`is_valid_close_code`] followed by a UTF-8 reason.
pub fn parse_close_payload(p: &[u8]) -> Result<(Option<u16>, &str), ProtocolError> {
    match p {
        [] => Ok((None, "")),
        [_] => Err(ProtocolError::InvalidClosePayload),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !is_valid_close_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok((Some(code), reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::MAX_PAYLOAD_LEN;
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    struct Frame {
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        cont: bool,
        flags: u32,
        payload: Vec<u8>,
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        frames: Vec<Frame>,
        err: Option<ProtocolError>,
        closed: bool,
        leftover: usize,
    }

    /// Feeds `pieces` in order, decoding as far as possible after each, and
    /// reassembles complete frames while checking chunk invariants.
    fn feed(cfg: DecoderConfig, pieces: &[&[u8]]) -> Outcome {
        let mut dec = Decoder::new(cfg);
        let mut buf: Vec<u8> = Vec::new();
        let mut cur: Option<Frame> = None;
        let mut frames = Vec::new();
        for p in pieces {
            buf.extend_from_slice(p);
            loop {
                let (n, got) = match dec.decode(&mut buf) {
                    Err(e) => {
                        // Errors are sticky.
                        assert_eq!(dec.decode(&mut [0x81, 0]), Err(e));
                        return Outcome {
                            frames,
                            err: Some(e),
                            closed: false,
                            leftover: 0,
                        };
                    }
                    Ok((n, None)) => (n, false),
                    Ok((n, Some(c))) => {
                        assert_eq!(c.meta.len, c.payload.len());
                        assert_ne!(c.meta.opcode, OpCode::Continuation);
                        let f = cur.get_or_insert_with(|| Frame {
                            opcode: c.meta.opcode,
                            fin: c.meta.fin,
                            rsv1: c.meta.rsv1,
                            cont: c.meta.is_continuation,
                            flags: c.meta.curl_flags(),
                            payload: Vec::new(),
                        });
                        assert_eq!(c.meta.offset, f.payload.len() as u64);
                        assert_eq!(
                            (f.opcode, f.fin, f.rsv1, f.cont, f.flags),
                            (
                                c.meta.opcode,
                                c.meta.fin,
                                c.meta.rsv1,
                                c.meta.is_continuation,
                                c.meta.curl_flags()
                            )
                        );
                        f.payload.extend_from_slice(c.payload);
                        if c.meta.bytes_left == 0 {
                            frames.extend(cur.take());
                        }
                        assert!(n >= c.payload.len());
                        (n, true)
                    }
                };
                buf.drain(..n);
                if n == 0 && !got {
                    break;
                }
            }
        }
        Outcome {
            frames,
            err: None,
            closed: dec.is_closed(),
            leftover: buf.len(),
        }
    }

    /// Decodes `input` whole, one byte at a time and split in two at every
    /// point; all must agree.
    fn all_splits(cfg: DecoderConfig, input: &[u8]) -> Outcome {
        let whole = feed(cfg, &[input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed(cfg, &bytes), whole, "bytewise");
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            assert_eq!(feed(cfg, &[a, b]), whole, "split at {i}");
        }
        whole
    }

    fn cfg() -> DecoderConfig {
        DecoderConfig::default()
    }

    fn frame(fin: bool, rsv1: bool, op: u8, payload: &[u8]) -> Vec<u8> {
        let h = FrameHeader {
            fin,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::from_u8(op).unwrap(),
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut hdr = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut hdr);
        let mut v = hdr[..n].to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn f(op: OpCode, fin: bool, cont: bool, payload: &[u8]) -> Frame {
        let meta = FrameMeta {
            opcode: op,
            fin,
            rsv1: false,
            is_continuation: cont,
            offset: 0,
            bytes_left: 0,
            len: 0,
        };
        Frame {
            opcode: op,
            fin,
            rsv1: false,
            cont,
            flags: meta.curl_flags(),
            payload: payload.to_vec(),
        }
    }

    fn err(input: &[u8], cfg: DecoderConfig) -> ProtocolError {
        all_splits(cfg, input).err.expect("expected an error")
    }

    #[test]
    fn rfc_5_7_examples() {
        use OpCode::*;
        let o = all_splits(cfg(), &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
        assert_eq!(o.frames, vec![f(Text, true, false, b"Hello")]);
        assert_eq!((o.err, o.leftover), (None, 0));

        let o = all_splits(
            cfg(),
            &[0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o'],
        );
        assert_eq!(
            o.frames,
            vec![f(Text, false, false, b"Hel"), f(Text, true, true, b"lo")]
        );
        assert_eq!(o.frames[0].flags, flags::TEXT | flags::CONT);
        assert_eq!(o.frames[1].flags, flags::TEXT);

        let o = all_splits(cfg(), &[0x89, 0x05, b'H', b'e', b'l', b'l', b'o']);
        assert_eq!(o.frames, vec![f(Ping, true, false, b"Hello")]);
        assert_eq!(o.frames[0].flags, flags::PING);

        let mut big = vec![0x82, 0x7E, 0x01, 0x00];
        big.extend((0..256).map(|i| i as u8));
        let o = feed(cfg(), &[&big]);
        assert_eq!(o.frames[0].payload.len(), 256);

        let mut huge = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        huge.extend((0..65536).map(|i| (i * 7) as u8));
        let o = feed(cfg(), &[&huge[..1000], &huge[1000..40000], &huge[40000..]]);
        assert_eq!(o.frames.len(), 1);
        assert_eq!(o.frames[0].payload, huge[10..]);
        assert_eq!(o.frames[0].flags, flags::BINARY);
    }

    #[test]
    fn interleaved_control_and_empty_frames() {
        use OpCode::*;
        let mut s = frame(false, false, 1, "κό".as_bytes());
        s.extend(frame(true, false, 9, b"")); // empty ping mid-message
        s.extend(frame(false, false, 0, b"")); // empty continuation
        s.extend(frame(true, false, 0xA, b"pong"));
        s.extend(frame(true, false, 0, "σμε".as_bytes()));
        s.extend(frame(true, false, 2, b"")); // empty binary message
        s.extend(frame(true, false, 1, b"")); // empty text message
        s.extend(frame(true, false, 8, &[0x03, 0xe8, b'b', b'y', b'e']));
        s.extend(b"ignored after close");
        let o = all_splits(cfg(), &s);
        assert_eq!(
            o.frames,
            vec![
                f(Text, false, false, "κό".as_bytes()),
                f(Ping, true, false, b""),
                f(Text, false, true, b""),
                f(Pong, true, false, b"pong"),
                f(Text, true, true, "σμε".as_bytes()),
                f(Binary, true, false, b""),
                f(Text, true, false, b""),
                f(Close, true, false, &[0x03, 0xe8, b'b', b'y', b'e']),
            ]
        );
        assert!(o.closed);
        assert_eq!(o.err, None);
        assert_eq!(o.leftover, b"ignored after close".len());
    }

    #[test]
    fn utf8_split_across_fragments_and_chunks() {
        // "€" = e2 82 ac split across three frames.
        let mut s = frame(false, false, 1, b"a\xe2");
        s.extend(frame(false, false, 0, b"\x82"));
        s.extend(frame(true, false, 0, b"\xacz"));
        let o = all_splits(cfg(), &s);
        assert_eq!(o.err, None);
        assert_eq!(o.frames.len(), 3);
        // Truncated at message end.
        let mut s = frame(false, false, 1, b"a\xe2");
        s.extend(frame(true, false, 0, b"\x82"));
        assert_eq!(err(&s, cfg()), ProtocolError::InvalidUtf8);
        // Truncated single frame.
        assert_eq!(
            err(&frame(true, false, 1, b"\xf0\x9f"), cfg()),
            ProtocolError::InvalidUtf8
        );
        // Not validated when disabled, nor for binary.
        let mut c = cfg();
        c.validate_utf8 = false;
        assert_eq!(all_splits(c, &frame(true, false, 1, b"\xff")).err, None);
        assert_eq!(all_splits(cfg(), &frame(true, false, 2, b"\xff")).err, None);
    }

    #[test]
    fn utf8_fails_fast_mid_frame() {
        // Autobahn 6.4.1-style: the frame is incomplete, the error must come
        // as soon as the invalid bytes arrive.
        let payload = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";
        let s = frame(true, false, 1, payload);
        let hdr = s.len() - payload.len();
        let o = feed(cfg(), &[&s[..hdr + 11]]);
        assert_eq!(o.err, None);
        let o = feed(cfg(), &[&s[..hdr + 11], &s[hdr + 11..hdr + 13]]);
        assert_eq!(o.err, Some(ProtocolError::InvalidUtf8));
        // Fragmented: second fragment invalid, no FIN yet.
        let mut s = frame(false, false, 1, "κόσμε".as_bytes());
        s.extend(frame(false, false, 0, b"\xf4\x90\x80\x80"));
        assert_eq!(err(&s, cfg()), ProtocolError::InvalidUtf8);
    }

    #[test]
    fn masked_server_frame_rejected() {
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(err(&masked, cfg()), ProtocolError::MaskedFrame);
        let masked_ping = [0x89, 0x80, 1, 2, 3, 4];
        assert_eq!(err(&masked_ping, cfg()), ProtocolError::MaskedFrame);
        // Allowed (server role): unmasked in place.
        let mut c = cfg();
        c.allow_masked = true;
        let o = all_splits(c, &masked);
        assert_eq!(o.frames, vec![f(OpCode::Text, true, false, b"Hello")]);
        let mut ping = vec![0x89, 0x83, 1, 2, 3, 4];
        ping.extend([b'a' ^ 1, b'b' ^ 2, b'c' ^ 3]);
        assert_eq!(
            all_splits(c, &ping).frames,
            vec![f(OpCode::Ping, true, false, b"abc")]
        );
    }

    #[test]
    fn reserved_opcodes_rejected() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            let e = err(&[0x80 | op, 0x00], cfg());
            assert_eq!(e, ProtocolError::ReservedOpcode(op));
            // Also after a valid frame.
            let mut s = frame(true, false, 2, b"ok");
            s.extend([op, 0x00]);
            let o = all_splits(cfg(), &s);
            assert_eq!(o.frames.len(), 1);
            assert_eq!(o.err, Some(ProtocolError::ReservedOpcode(op)));
        }
    }

    #[test]
    fn rsv_bits() {
        let rsv = ProtocolError::ReservedBits;
        for bit in [0x40u8, 0x20, 0x10] {
            assert_eq!(err(&[0x81 | bit, 0x00], cfg()), rsv);
        }
        let mut c = cfg();
        c.allow_rsv1 = true;
        assert_eq!(err(&[0xA1, 0x00], c), rsv);
        assert_eq!(err(&[0x91, 0x00], c), rsv);
        // RSV1 on a control frame.
        assert_eq!(err(&[0xC9, 0x00], c), rsv);
        // RSV1 on a continuation frame.
        let mut s = frame(false, true, 1, b"\xff\x00");
        s.extend(frame(true, true, 0, b"x"));
        assert_eq!(err(&s, c), rsv);
        // Compressed message: RSV1 repeated in meta, UTF-8 not validated.
        let mut s = frame(false, true, 1, b"\xff\x00");
        s.extend(frame(true, false, 9, b"p"));
        s.extend(frame(true, false, 0, b"\xfe"));
        let o = all_splits(c, &s);
        assert_eq!(o.err, None);
        let rsv1: Vec<bool> = o.frames.iter().map(|f| f.rsv1).collect();
        assert_eq!(rsv1, [true, false, true]);
    }

    #[test]
    fn control_frame_rules() {
        // Fragmented ping / close / pong.
        for op in [0x08u8, 0x09, 0x0A] {
            assert_eq!(
                err(&[op, 0x00], cfg()),
                ProtocolError::FragmentedControlFrame
            );
        }
        // 126-byte ping (16-bit length form) and non-minimal 64-bit form.
        let mut s = vec![0x89, 0x7E, 0x00, 126];
        s.extend([0u8; 126]);
        assert_eq!(err(&s, cfg()), ProtocolError::ControlFrameTooBig);
        let s = [0x89, 0x7F, 0, 0, 0, 0, 0, 0, 0, 126];
        assert_eq!(err(&s, cfg()), ProtocolError::ControlFrameTooBig);
        // 125 bytes is fine.
        let o = all_splits(cfg(), &frame(true, false, 9, &[7u8; 125]));
        assert_eq!(o.frames[0].payload.len(), 125);
    }

    #[test]
    fn incomplete_control_frame_not_consumed() {
        let s = frame(true, false, 9, b"hello");
        let mut dec = Decoder::default();
        for cut in 0..s.len() {
            let mut part = s[..cut].to_vec();
            assert_eq!(dec.decode(&mut part), Ok((0, None)), "cut {cut}");
        }
        let mut all = s.clone();
        let (n, c) = dec.decode(&mut all).unwrap();
        assert_eq!((n, c.unwrap().payload), (s.len(), &b"hello"[..]));
    }

    #[test]
    fn fragmentation_order() {
        assert_eq!(
            err(&frame(true, false, 0, b"x"), cfg()),
            ProtocolError::UnexpectedContinuation
        );
        let mut s = frame(false, false, 1, b"a");
        s.extend(frame(true, false, 2, b"b"));
        assert_eq!(err(&s, cfg()), ProtocolError::ExpectedContinuation);
        let mut s = frame(false, false, 2, b"a");
        s.extend(frame(true, false, 1, b"b"));
        assert_eq!(err(&s, cfg()), ProtocolError::ExpectedContinuation);
        // After a complete message a continuation is unexpected again.
        let mut s = frame(false, false, 2, b"a");
        s.extend(frame(true, false, 0, b"b"));
        s.extend(frame(true, false, 0, b"c"));
        let o = all_splits(cfg(), &s);
        assert_eq!(o.frames.len(), 2);
        assert_eq!(o.err, Some(ProtocolError::UnexpectedContinuation));
    }

    #[test]
    fn huge_length_headers() {
        // 2^63: MSB set.
        let s = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(err(&s, cfg()), ProtocolError::InvalidPayloadLength);
        let s = [0x82, 0x7F, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(err(&s, cfg()), ProtocolError::InvalidPayloadLength);
        // 2^63 - 1: legal on the wire, too big for the default message limit.
        let s = [0x82, 0x7F, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(err(&s, cfg()), ProtocolError::MessageTooBig);
        // With no message limit it streams.
        let mut c = cfg();
        c.max_message_size = u64::MAX;
        let mut dec = Decoder::new(c);
        let mut buf = s.to_vec();
        buf.extend([1, 2, 3]);
        let (n, chunk) = dec.decode(&mut buf).unwrap();
        let chunk = chunk.unwrap();
        assert_eq!(n, 13);
        assert_eq!(chunk.meta.offset, 0);
        assert_eq!(chunk.meta.bytes_left, MAX_PAYLOAD_LEN - 3);
        let mut more = [4, 5];
        let (n, chunk) = dec.decode(&mut more).unwrap();
        assert_eq!((n, chunk.unwrap().meta.offset), (2, 3));
        assert!(dec.in_message());
    }

    #[test]
    fn size_limits() {
        let mut c = cfg();
        c.max_message_size = 10;
        assert_eq!(all_splits(c, &frame(true, false, 2, &[0; 10])).err, None);
        assert_eq!(
            err(&frame(true, false, 2, &[0; 11]), c),
            ProtocolError::MessageTooBig
        );
        // Across fragments, detected at the header of the fragment that
        // overflows, before its payload.
        let mut s = frame(false, false, 2, &[0; 6]);
        s.extend(frame(false, false, 0, &[0; 4]));
        s.extend(frame(true, false, 0, &[0; 1]));
        let o = all_splits(c, &s);
        assert_eq!(
            (o.frames.len(), o.err),
            (2, Some(ProtocolError::MessageTooBig))
        );
        // The limit is per message.
        let mut s = frame(true, false, 2, &[0; 10]);
        s.extend(frame(true, false, 2, &[0; 10]));
        assert_eq!(all_splits(c, &s).err, None);
        // Control frames do not count.
        let mut s = frame(false, false, 2, &[0; 10]);
        s.extend(frame(true, false, 9, &[0; 100]));
        s.extend(frame(true, false, 0, &[]));
        assert_eq!(all_splits(c, &s).err, None);
        // Frame limit.
        let mut c = cfg();
        c.max_frame_size = 4;
        let mut s = frame(false, false, 2, &[0; 4]);
        s.extend(frame(true, false, 0, &[0; 4]));
        assert_eq!(all_splits(c, &s).err, None);
        assert_eq!(
            err(&frame(true, false, 2, &[0; 5]), c),
            ProtocolError::MessageTooBig
        );
        assert_eq!(ProtocolError::MessageTooBig.close_code(), 1009);
    }

    #[test]
    fn close_payloads() {
        let close = |p: &[u8]| frame(true, false, 8, p);
        assert_eq!(all_splits(cfg(), &close(b"")).err, None);
        assert!(all_splits(cfg(), &close(b"")).closed);
        assert_eq!(
            err(&close(b"\x03"), cfg()),
            ProtocolError::InvalidClosePayload
        );
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let e = err(&close(&code.to_be_bytes()), cfg());
            assert_eq!(e, ProtocolError::InvalidCloseCode(code));
        }
        for code in [1000u16, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert_eq!(all_splits(cfg(), &close(&code.to_be_bytes())).err, None);
        }
        assert_eq!(
            err(&close(b"\x03\xe8\xff"), cfg()),
            ProtocolError::InvalidUtf8
        );
        // Even with validate_utf8 off, the close reason must be UTF-8.
        let mut c = cfg();
        c.validate_utf8 = false;
        assert_eq!(
            err(&close(b"\x03\xe8\xc0\xaf"), c),
            ProtocolError::InvalidUtf8
        );

        assert_eq!(parse_close_payload(b""), Ok((None, "")));
        assert_eq!(parse_close_payload(b"\x03\xe8ok"), Ok((Some(1000), "ok")));
        assert_eq!(
            parse_close_payload(b"\x03"),
            Err(ProtocolError::InvalidClosePayload)
        );
    }

    #[test]
    fn closed_decoder_consumes_nothing() {
        let mut s = frame(true, false, 8, b"");
        s.extend(frame(true, false, 1, b"late"));
        let mut dec = Decoder::default();
        let (n, c) = dec.decode(&mut s).unwrap();
        assert_eq!((n, c.unwrap().meta.opcode), (2, OpCode::Close));
        assert!(dec.is_closed());
        assert_eq!(dec.decode(&mut s[2..]), Ok((0, None)));
        dec.reset();
        assert!(!dec.is_closed());
    }

    #[test]
    fn header_consumed_before_payload() {
        let s = frame(true, false, 2, &[9; 300]);
        let mut dec = Decoder::default();
        let mut hdr = s[..4].to_vec();
        assert_eq!(dec.decode(&mut hdr), Ok((4, None)));
        assert!(dec.in_message());
        assert_eq!(dec.decode(&mut []), Ok((0, None)));
        let mut rest = s[4..].to_vec();
        rest.extend(frame(true, false, 2, b"next"));
        let (n, c) = dec.decode(&mut rest).unwrap();
        let c = c.unwrap();
        assert_eq!((n, c.meta.len, c.meta.bytes_left), (300, 300, 0));
        assert!(!dec.in_message());
    }

    #[test]
    fn huge_frame_streamed_over_many_writes() {
        use super::super::encoder::StreamingFrame;
        use bytes::BytesMut;
        const TOTAL: usize = 8 << 20;
        const PIECE: usize = 4093;
        let byte_at = |p: usize| (p.wrapping_mul(31) ^ (p >> 11)) as u8;
        let mut c = cfg();
        c.allow_masked = true;
        c.max_message_size = TOTAL as u64;
        let mut dec = Decoder::new(c);
        let mut out = BytesMut::new();
        let key = [0x11, 0x22, 0x33, 0x44];
        let mut sf =
            StreamingFrame::start(&mut out, OpCode::Binary, true, false, TOTAL as u64, key);
        let mut part = vec![0u8; PIECE];
        let (mut sent, mut received, mut chunks) = (0usize, 0usize, 0usize);
        while !sf.is_complete() {
            let n = (TOTAL - sent).min(PIECE);
            for (i, b) in part[..n].iter_mut().enumerate() {
                *b = byte_at(sent + i);
            }
            assert_eq!(sf.write(&mut out, &part[..n]), n);
            sent += n;
            // Never buffered whole: at most one piece (plus header) pending.
            assert!(out.len() <= PIECE + MAX_HEADER_LEN);
            loop {
                let (used, chunk) = dec.decode(&mut out).unwrap();
                if let Some(c) = chunk {
                    assert_eq!(c.meta.offset, received as u64);
                    assert_eq!(c.meta.bytes_left, (TOTAL - received - c.meta.len) as u64);
                    assert!(c
                        .payload
                        .iter()
                        .enumerate()
                        .all(|(i, &b)| b == byte_at(received + i)));
                    received += c.meta.len;
                    chunks += 1;
                } else if used == 0 {
                    break;
                }
                let _ = out.split_to(used);
            }
        }
        assert_eq!((received, sent), (TOTAL, TOTAL));
        assert_eq!(chunks, TOTAL.div_ceil(PIECE));
        assert!(!dec.in_message());
    }

    #[test]
    fn curl_flags_per_fragment() {
        let meta = |opcode, fin| FrameMeta {
            opcode,
            fin,
            rsv1: false,
            is_continuation: false,
            offset: 0,
            bytes_left: 0,
            len: 0,
        };
        assert_eq!(
            meta(OpCode::Binary, false).curl_flags(),
            flags::BINARY | flags::CONT
        );
        assert_eq!(meta(OpCode::Binary, true).curl_flags(), flags::BINARY);
        assert_eq!(meta(OpCode::Close, true).curl_flags(), flags::CLOSE);
        assert_eq!(meta(OpCode::Pong, true).curl_flags(), flags::PONG);
    }
}
