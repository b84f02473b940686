//! Client-role frame encoder (RFC 6455 §5.1-§5.3).
//!
//! A client MUST mask every frame it sends (§5.1) with a fresh, unpredictable
//! 32-bit key (§5.3). [`encode_frame`] writes a whole frame (header and
//! masked payload) with one `reserve` and one fused copy-and-mask pass;
//! [`StreamingFrame`] writes one frame of any size over many calls, continuing
//! the mask phase. The caller supplies each key; the session draws them from
//! its [`SecureRng`](crate::rng::SecureRng).
//!
//! The encoder does not police control-frame rules (§5.5: FIN set, payload
//! ≤ 125 bytes) or RSV1 semantics (RFC 7692): callers pass valid arguments.

use bytes::BytesMut;

use super::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, MAX_PAYLOAD_LEN};
use super::mask::copy_masked;

fn header(opcode: OpCode, fin: bool, rsv1: bool, len: u64, key: [u8; 4]) -> FrameHeader {
    FrameHeader {
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: Some(key),
        payload_len: len,
    }
}

/// Appends `n` masked bytes of `src` to `out` (capacity already reserved).
fn put_masked(out: &mut BytesMut, src: &[u8], key: [u8; 4], offset: u64) {
    let start = out.len();
    out.resize(start + src.len(), 0);
    copy_masked(&mut out[start..], src, key, (offset % 4) as usize);
}

/// Appends one masked frame to `out`: the header (minimal length encoding,
/// MASK bit set) followed by `payload` XORed with `mask_key`.
///
/// `out` is grown with a single `reserve`; nothing else is allocated.
pub fn encode_frame(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    payload: &[u8],
    mask_key: [u8; 4],
) {
    let h = header(opcode, fin, rsv1, payload.len() as u64, mask_key);
    let mut hdr = [0u8; MAX_HEADER_LEN];
    let hlen = h.encode(&mut hdr);
    out.reserve(hlen + payload.len());
    out.extend_from_slice(&hdr[..hlen]);
    put_masked(out, payload, mask_key, 0);
}

/// Appends a masked Close frame (§5.5.1): empty when `code` is `None`,
/// otherwise the big-endian code followed by `reason`, truncated at a
/// character boundary so the payload fits in 125 bytes.
pub fn encode_close(out: &mut BytesMut, code: Option<u16>, reason: &str, mask_key: [u8; 4]) {
    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
    let len = match code {
        None => 0,
        Some(code) => {
            let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            payload[..2].copy_from_slice(&code.to_be_bytes());
            payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
            2 + end
        }
    };
    encode_frame(out, OpCode::Close, true, false, &payload[..len], mask_key);
}

/// One masked frame written over many calls: the header announces the total
/// length up front, then [`write`](Self::write) appends payload pieces, each
/// masked with the key phase continuing from the previous piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamingFrame {
    key: [u8; 4],
    offset: u64,
    remaining: u64,
}

impl StreamingFrame {
    /// Appends the header of a frame of `total_len` payload bytes to `out`.
    ///
    /// `total_len` is clamped to [`MAX_PAYLOAD_LEN`] (2^63 - 1), the largest
    /// length the wire can carry; header and [`remaining`](Self::remaining)
    /// always agree.
    pub fn start(
        out: &mut BytesMut,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        total_len: u64,
        key: [u8; 4],
    ) -> Self {
        let total_len = total_len.min(MAX_PAYLOAD_LEN);
        let mut hdr = [0u8; MAX_HEADER_LEN];
        let hlen = header(opcode, fin, rsv1, total_len, key).encode(&mut hdr);
        out.extend_from_slice(&hdr[..hlen]);
        Self {
            key,
            offset: 0,
            remaining: total_len,
        }
    }

    /// Appends up to [`remaining`](Self::remaining) bytes of `part`, masked,
    /// to `out` and returns how many were taken (the rest belongs to no part
    /// of this frame).
    pub fn write(&mut self, out: &mut BytesMut, part: &[u8]) -> usize {
        let n = self.remaining.min(part.len() as u64) as usize;
        out.reserve(n);
        put_masked(out, &part[..n], self.key, self.offset);
        self.offset += n as u64;
        self.remaining -= n as u64;
        n
    }

    /// Payload bytes still to write.
    pub const fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Payload bytes written so far.
    pub const fn written(&self) -> u64 {
        self.offset
    }

    /// True once the whole payload has been written.
    pub const fn is_complete(&self) -> bool {
        self.remaining == 0
    }
}

#[cfg(test)]
mod tests {
    use super::super::mask::apply_mask;
    use super::*;

    fn unmask_frame(bytes: &[u8]) -> (FrameHeader, Vec<u8>) {
        let (h, n) = FrameHeader::parse(bytes).unwrap().unwrap();
        let mut p = bytes[n..].to_vec();
        assert_eq!(p.len() as u64, h.payload_len);
        apply_mask(&mut p, h.mask.unwrap(), 0);
        (h, p)
    }

    #[test]
    fn rfc_masked_hello() {
        // RFC 6455 §5.7: a single-frame masked text message "Hello".
        let mut out = BytesMut::new();
        encode_frame(
            &mut out,
            OpCode::Text,
            true,
            false,
            b"Hello",
            [0x37, 0xfa, 0x21, 0x3d],
        );
        assert_eq!(
            &out[..],
            &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn lengths_and_flags() {
        for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut out = BytesMut::new();
            encode_frame(
                &mut out,
                OpCode::Binary,
                false,
                true,
                &payload,
                [1, 2, 3, 4],
            );
            let (h, p) = unmask_frame(&out);
            assert!(!h.fin && h.rsv1 && !h.rsv2 && !h.rsv3);
            assert_eq!((h.opcode, p), (OpCode::Binary, payload));
            assert_eq!(out.len(), h.encoded_len() + len);
        }
    }

    #[test]
    fn streaming_equals_one_shot() {
        let payload: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
        let key = [0xa1, 0xb2, 0xc3, 0xd4];
        let mut one = BytesMut::new();
        encode_frame(&mut one, OpCode::Text, true, false, &payload, key);
        for step in [1usize, 3, 4, 7, 8, 9, 64, 999, 1000, 5000] {
            let mut out = BytesMut::new();
            let mut sf = StreamingFrame::start(
                &mut out,
                OpCode::Text,
                true,
                false,
                payload.len() as u64,
                key,
            );
            for part in payload.chunks(step) {
                assert_eq!(sf.write(&mut out, part), part.len());
            }
            assert!(sf.is_complete());
            assert_eq!(sf.written(), 1000);
            assert_eq!(sf.write(&mut out, b"extra"), 0);
            assert_eq!(out, one, "step {step}");
        }
    }

    #[test]
    fn streaming_takes_at_most_remaining() {
        let mut out = BytesMut::new();
        let mut sf = StreamingFrame::start(&mut out, OpCode::Binary, true, false, 5, [0; 4]);
        assert_eq!(sf.write(&mut out, b"abc"), 3);
        assert_eq!(sf.remaining(), 2);
        assert_eq!(sf.write(&mut out, b"defgh"), 2);
        assert_eq!(&out[6..], b"abcde"); // 2-byte header + 4-byte key
        let sf = StreamingFrame::start(&mut out, OpCode::Binary, true, false, u64::MAX, [0; 4]);
        assert_eq!(sf.remaining(), MAX_PAYLOAD_LEN);
    }

    #[test]
    fn close_frames() {
        let mut out = BytesMut::new();
        encode_close(&mut out, None, "ignored", [5, 6, 7, 8]);
        assert_eq!(unmask_frame(&out).1, b"");
        let long = "é".repeat(100); // 200 bytes
        let mut out = BytesMut::new();
        encode_close(&mut out, Some(1000), &long, [5, 6, 7, 8]);
        let (h, p) = unmask_frame(&out);
        assert_eq!(h.opcode, OpCode::Close);
        assert_eq!(p.len(), 124); // 2 + 122 (123 would split a char)
        let (code, reason) = super::super::parse_close_payload(&p).unwrap();
        assert_eq!((code, reason.chars().count()), (Some(1000), 61));
    }
}
