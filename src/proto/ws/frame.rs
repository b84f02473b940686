//! Frame header codec, opcodes, close codes and protocol errors
//! (RFC 6455 §5.2 base framing, §5.5 control frames, §7.4 status codes).
//!
//! The header parser is purely syntactic: it rejects reserved opcodes
//! (§5.2: `%x3-7` and `%xB-F`) and 64-bit lengths with the most significant bit
//! set, and returns `None` while the header is incomplete. Semantic checks
//! (RSV bits, control frame rules, fragmentation, masking direction) are done
//! by the [`Decoder`](super::Decoder).
//!
//! Non-minimal length encodings (e.g. a 5-byte payload announced with the
//! 16-bit form) violate the "minimal number of bytes MUST be used" rule of
//! §5.2 but are accepted, as tungstenite does; the encoder always writes the
//! minimal form.

use std::fmt;

/// Largest possible encoded frame header: 2 fixed bytes, 8 bytes of extended
/// payload length and a 4-byte masking key (RFC 6455 §5.2).
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (RFC 6455 §5.5: "All control frames MUST
/// have a payload length of 125 bytes or less"). Fixed by the RFC, not
/// configurable.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Largest payload length representable on the wire: the most significant bit
/// of the 64-bit length MUST be 0 (RFC 6455 §5.2).
pub const MAX_PAYLOAD_LEN: u64 = u64::MAX >> 1;

/// A frame opcode (RFC 6455 §5.2, §11.8). Reserved values are not representable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: continuation of a fragmented data message (§5.4).
    Continuation,
    /// `0x1`: UTF-8 text data (§5.6).
    Text,
    /// `0x2`: binary data (§5.6).
    Binary,
    /// `0x8`: connection close (§5.5.1).
    Close,
    /// `0x9`: ping (§5.5.2).
    Ping,
    /// `0xA`: pong (§5.5.3).
    Pong,
}

impl OpCode {
    /// Decodes the 4-bit opcode; `None` for the reserved values
    /// `0x3..=0x7` and `0xB..=0xF` (and anything above `0xF`).
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0x0 => Some(Self::Continuation),
            0x1 => Some(Self::Text),
            0x2 => Some(Self::Binary),
            0x8 => Some(Self::Close),
            0x9 => Some(Self::Ping),
            0xA => Some(Self::Pong),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// True for Close, Ping and Pong (opcodes with the high bit set, §5.5).
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }

    /// True for Continuation, Text and Binary (§5.6).
    pub const fn is_data(self) -> bool {
        !self.is_control()
    }
}

/// A decoded frame header (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1 (used by permessage-deflate, RFC 7692 §6).
    pub rsv1: bool,
    /// RSV2 (no extension defines it).
    pub rsv2: bool,
    /// RSV3 (no extension defines it).
    pub rsv3: bool,
    /// The frame opcode.
    pub opcode: OpCode,
    /// The masking key when the MASK bit is set (§5.3).
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes; at most [`MAX_PAYLOAD_LEN`].
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a frame header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold the complete header,
    /// otherwise the header and its encoded length (2..=14 bytes). Errors are
    /// reported as early as the offending byte is available: a reserved opcode
    /// after one byte, an over-long 64-bit length once its 8 bytes are present.
    /// Never panics, whatever the input.
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let Some(&b0) = buf.first() else {
            return Ok(None);
        };
        let op = b0 & 0x0f;
        let opcode = OpCode::from_u8(op).ok_or(ProtocolError::ReservedOpcode(op))?;
        let Some(&b1) = buf.get(1) else {
            return Ok(None);
        };
        let (payload_len, mut pos) = match b1 & 0x7f {
            126 => {
                let Some(&[a, b]) = buf.get(2..4) else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([a, b])), 4)
            }
            127 => {
                let Some(b) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                let len = u64::from_be_bytes(w);
                if len > MAX_PAYLOAD_LEN {
                    return Err(ProtocolError::InvalidPayloadLength);
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = if b1 & 0x80 != 0 {
            let Some(&[a, b, c, d]) = buf.get(pos..pos + 4) else {
                return Ok(None);
            };
            pos += 4;
            Some([a, b, c, d])
        } else {
            None
        };
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, pos)))
    }

    /// Number of bytes [`encode`](Self::encode) writes for this header.
    pub const fn encoded_len(&self) -> usize {
        let len = if self.payload_len < 126 {
            2
        } else if self.payload_len <= 0xffff {
            4
        } else {
            10
        };
        if self.mask.is_some() {
            len + 4
        } else {
            len
        }
    }

    /// Writes the header (minimal length encoding) into `out` and returns the
    /// number of bytes used.
    ///
    /// `payload_len` must not exceed [`MAX_PAYLOAD_LEN`]; a larger value is a
    /// caller bug and its top bit is cleared.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let mut b0 = self.opcode.as_u8();
        for (bit, set) in [
            (0x80, self.fin),
            (0x40, self.rsv1),
            (0x20, self.rsv2),
            (0x10, self.rsv3),
        ] {
            if set {
                b0 |= bit;
            }
        }
        out[0] = b0;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload_len & MAX_PAYLOAD_LEN;
        let mut pos = if len < 126 {
            out[1] = mask_bit | len as u8;
            2
        } else if len <= 0xffff {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        } else {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&len.to_be_bytes());
            10
        };
        if let Some(key) = self.mask {
            out[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        pos
    }
}

/// Close status codes (RFC 6455 §7.4.1, IANA "WebSocket Close Code Number
/// Registry").
pub mod close_code {
    /// 1000: normal closure.
    pub const NORMAL: u16 = 1000;
    /// 1001: endpoint going away.
    pub const GOING_AWAY: u16 = 1001;
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// 1003: unsupported data type.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// 1005: no status code present (never sent on the wire).
    pub const NO_STATUS: u16 = 1005;
    /// 1006: closed abnormally without a Close frame (never sent on the wire).
    pub const ABNORMAL: u16 = 1006;
    /// 1007: invalid frame payload data (e.g. non-UTF-8 text).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// 1009: message too big.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// 1010: client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: u16 = 1010;
    /// 1011: internal server error.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// 1015: TLS handshake failure (never sent on the wire).
    pub const TLS_HANDSHAKE: u16 = 1015;
}

/// Whether `code` may appear in a Close frame on the wire (RFC 6455 §7.4).
///
/// Valid: 1000-1003, 1007-1011, the IANA-registered 1012-1014, and 3000-4999
/// (registered libraries/frameworks and private use). Invalid: below 1000,
/// 1004 (reserved), 1005/1006/1015 (must not be sent), 1016-2999 (reserved for
/// future protocol use) and 5000 and above.
pub const fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A violation of RFC 6455 by the peer; the connection must be failed
/// (§7.1.7) and [`close_code`](Self::close_code) tells which status to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The server sent a masked frame; a client MUST fail the connection
    /// (§5.1).
    MaskedFrame,
    /// A reserved opcode (`0x3..=0x7`, `0xB..=0xF`) was received (§5.2).
    ReservedOpcode(u8),
    /// RSV1/RSV2/RSV3 set without a negotiated extension defining it, or RSV1
    /// set on a control frame or a continuation frame (§5.2, RFC 7692 §6).
    ReservedBits,
    /// A 64-bit payload length with the most significant bit set (§5.2).
    InvalidPayloadLength,
    /// A control frame with a payload longer than 125 bytes (§5.5).
    ControlFrameTooBig,
    /// A control frame without FIN (§5.5: control frames MUST NOT be
    /// fragmented).
    FragmentedControlFrame,
    /// A continuation frame with no fragmented message in progress (§5.4).
    UnexpectedContinuation,
    /// A new Text/Binary frame while a fragmented message is still in
    /// progress (§5.4).
    ExpectedContinuation,
    /// A frame or message exceeds the configured size limit (status 1009).
    MessageTooBig,
    /// Text message or close reason is not valid UTF-8 (§8.1, status 1007).
    InvalidUtf8,
    /// A Close frame with a one-byte payload (§5.5.1).
    InvalidClosePayload,
    /// A Close frame carrying a status code not allowed on the wire (§7.4).
    InvalidCloseCode(u16),
    /// A compressed message (permessage-deflate, RFC 7692) that does not
    /// inflate (status 1007).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The status code to send in the Close frame that fails the connection:
    /// 1007 for invalid UTF-8, 1009 for size limits, 1002 otherwise.
    pub const fn close_code(&self) -> u16 {
        match self {
            Self::InvalidUtf8 | Self::InvalidCompressedData => close_code::INVALID_PAYLOAD,
            Self::MessageTooBig => close_code::MESSAGE_TOO_BIG,
            _ => close_code::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MaskedFrame => f.write_str("server sent a masked frame"),
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::ReservedBits => f.write_str("reserved bits set without negotiated extension"),
            Self::InvalidPayloadLength => {
                f.write_str("payload length has its most significant bit set")
            }
            Self::ControlFrameTooBig => f.write_str("control frame payload longer than 125 bytes"),
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame without a fragmented message in progress")
            }
            Self::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            Self::MessageTooBig => f.write_str("frame or message exceeds the size limit"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in text message or close reason"),
            Self::InvalidClosePayload => f.write_str("close frame payload of length 1"),
            Self::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
            Self::InvalidCompressedData => f.write_str("compressed message does not inflate"),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<FrameHeader> {
        let mut v = Vec::new();
        for &len in &[
            0u64,
            5,
            125,
            126,
            300,
            0xffff,
            0x1_0000,
            1 << 40,
            MAX_PAYLOAD_LEN,
        ] {
            for mask in [None, Some([1, 2, 3, 4])] {
                for (fin, rsv1, opcode) in [
                    (true, false, OpCode::Text),
                    (false, true, OpCode::Binary),
                    (true, false, OpCode::Continuation),
                    (true, false, OpCode::Ping),
                ] {
                    v.push(FrameHeader {
                        fin,
                        rsv1,
                        rsv2: len == 5,
                        rsv3: len == 300,
                        opcode,
                        mask,
                        payload_len: len,
                    });
                }
            }
        }
        v
    }

    #[test]
    fn encode_parse_roundtrip_every_prefix() {
        for h in headers() {
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut buf);
            assert_eq!(n, h.encoded_len());
            for cut in 0..n {
                assert_eq!(FrameHeader::parse(&buf[..cut]), Ok(None), "{h:?} cut {cut}");
            }
            assert_eq!(FrameHeader::parse(&buf[..n]), Ok(Some((h, n))));
            let mut longer = buf.to_vec();
            longer.truncate(n);
            longer.extend_from_slice(b"trailing payload");
            assert_eq!(FrameHeader::parse(&longer), Ok(Some((h, n))));
        }
    }

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7: single-frame unmasked text "Hello".
        let (h, n) = FrameHeader::parse(&[0x81, 0x05, 0x48]).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, n),
            (true, OpCode::Text, None, 5, 2)
        );
        // Masked "Hello".
        let b = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d];
        let (h, n) = FrameHeader::parse(&b).unwrap().unwrap();
        assert_eq!((h.mask, n), (Some([0x37, 0xfa, 0x21, 0x3d]), 6));
        // 256 bytes binary, 16-bit length.
        let (h, n) = FrameHeader::parse(&[0x82, 0x7E, 0x01, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!((h.opcode, h.payload_len, n), (OpCode::Binary, 256, 4));
        // 64 KiB binary, 64-bit length.
        let b = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let (h, n) = FrameHeader::parse(&b).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn reserved_opcodes_fail_on_first_byte() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(OpCode::from_u8(op), None);
            assert_eq!(
                FrameHeader::parse(&[0x80 | op]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
        for op in [0u8, 1, 2, 8, 9, 10] {
            assert_eq!(OpCode::from_u8(op).map(OpCode::as_u8), Some(op));
        }
    }

    #[test]
    fn msb_length_rejected_at_every_split() {
        let b = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        for cut in 0..b.len() {
            assert_eq!(FrameHeader::parse(&b[..cut]), Ok(None));
        }
        assert_eq!(
            FrameHeader::parse(&b),
            Err(ProtocolError::InvalidPayloadLength)
        );
        let max = [0x82, 0x7F, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let (h, _) = FrameHeader::parse(&max).unwrap().unwrap();
        assert_eq!(h.payload_len, MAX_PAYLOAD_LEN);
    }

    #[test]
    fn non_minimal_lengths_accepted() {
        let (h, n) = FrameHeader::parse(&[0x82, 0x7E, 0, 5]).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (5, 4));
        let (h, n) = FrameHeader::parse(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (5, 10));
    }

    #[test]
    fn control_flags() {
        use OpCode::*;
        for (op, ctl) in [
            (Continuation, false),
            (Text, false),
            (Binary, false),
            (Close, true),
            (Ping, true),
            (Pong, true),
        ] {
            assert_eq!(op.is_control(), ctl);
            assert_eq!(op.is_data(), !ctl);
        }
    }

    #[test]
    fn close_codes_table() {
        let cases: &[(u16, bool)] = &[
            (0, false),
            (999, false),
            (1000, true),
            (1001, true),
            (1002, true),
            (1003, true),
            (1004, false),
            (1005, false),
            (1006, false),
            (1007, true),
            (1008, true),
            (1009, true),
            (1010, true),
            (1011, true),
            (1012, true),
            (1013, true),
            (1014, true),
            (1015, false),
            (1016, false),
            (1100, false),
            (2000, false),
            (2999, false),
            (3000, true),
            (3999, true),
            (4000, true),
            (4999, true),
            (5000, false),
            (65535, false),
        ];
        for &(code, ok) in cases {
            assert_eq!(is_valid_close_code(code), ok, "code {code}");
        }
    }

    #[test]
    fn error_close_codes() {
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
        assert_eq!(ProtocolError::MessageTooBig.close_code(), 1009);
        assert_eq!(ProtocolError::MaskedFrame.close_code(), 1002);
        assert_eq!(ProtocolError::InvalidCloseCode(5).close_code(), 1002);
        assert!(!ProtocolError::ReservedOpcode(3).to_string().is_empty());
    }
}
