//! The `zstd` content coding (RFC 8878; RFC 9659 for HTTP, which bounds the window at 8 MiB)
//! on ruzstd's frame decoder, fed one unit at a time: the frame header, then each block
//! whole (its header says its length), then the checksum. So one call decodes at most one
//! block (128 KiB of output, however small its input: an RLE block is one byte), and the
//! decoder holds at most the window and a block, whatever the compression ratio. Frames may
//! follow one another; skippable frames and dictionaries are not taken.

use ruzstd::decoding::FrameDecoder;

/// Largest window a frame may ask for (RFC 9659 §3: 8 MiB for `Content-Encoding: zstd`).
pub const ZSTD_MAX_WINDOW: u64 = 8 << 20;
/// Largest block (RFC 8878 §3.1.1.2.3).
const MAX_BLOCK: usize = 128 * 1024;
const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// What the decoder gathers next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// A frame header (its length is known from its first five bytes).
    Header,
    /// A block (its length is known from its three-byte header).
    Block,
    /// The frame's four-byte content checksum.
    Checksum,
    /// A frame ended; another may start.
    Between,
}

/// A streaming zstd decoder with bounded output per call.
pub(crate) struct ZstdDecoder {
    dec: Box<FrameDecoder>,
    need: Need,
    /// The bytes of the unit being gathered.
    unit: Vec<u8>,
    /// The frame carries a content checksum.
    checksum: bool,
    /// Any input at all.
    started: bool,
}

impl std::fmt::Debug for ZstdDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZstdDecoder")
            .field("need", &self.need)
            .finish_non_exhaustive()
    }
}

/// Not a valid (or acceptable) zstd stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

impl ZstdDecoder {
    pub(crate) fn new() -> ZstdDecoder {
        ZstdDecoder {
            dec: Self::frame_decoder(),
            need: Need::Header,
            unit: Vec::new(),
            checksum: false,
            started: false,
        }
    }

    fn frame_decoder() -> Box<FrameDecoder> {
        let mut d = Box::new(FrameDecoder::new());
        d.set_max_window_size(ZSTD_MAX_WINDOW);
        d
    }

    /// Decode from `input` into `out`: (consumed, produced, progress possible now).
    pub(crate) fn step(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize, bool), Invalid> {
        // Output of units already fed comes first; but ruzstd hands out nothing between a
        // frame's last block and its checksum (it returns at once wanting the checksum), so
        // the checksum is fed first.
        if self.need != Need::Checksum && self.dec.can_collect() > 0 {
            let (_, made) = self.dec.decode_from_to(&[], out).map_err(|_| Invalid)?;
            return Ok((0, made, made > 0));
        }
        if input.is_empty() {
            return Ok((0, 0, false));
        }
        self.started = true;
        if self.need == Need::Between {
            self.verify()?;
            self.dec = Self::frame_decoder();
            self.need = Need::Header;
        }
        let want = match self.unit_len()? {
            Some(n) => n,
            // Not enough of the unit's own header yet: take bytes towards it.
            None => self.unit.len() + 1,
        };
        let take = (want - self.unit.len()).min(input.len());
        self.unit.extend_from_slice(&input[..take]);
        if self.unit.len() < want || self.unit_len()? != Some(want) {
            return Ok((take, 0, true));
        }
        let (read, made) = self
            .dec
            .decode_from_to(&self.unit, out)
            .map_err(|_| Invalid)?;
        if read != self.unit.len() {
            return Err(Invalid);
        }
        self.advance()?;
        self.unit.clear();
        Ok((take, made, true))
    }

    /// The length of the unit being gathered, once its own header is in `unit`.
    fn unit_len(&self) -> Result<Option<usize>, Invalid> {
        let u = &self.unit;
        Ok(match self.need {
            Need::Header if u.len() < 5 => None,
            Need::Header => {
                if u[..4] != MAGIC {
                    return Err(Invalid);
                }
                let fhd = u[4];
                let single = fhd & 0x20 != 0;
                let dict = [0, 1, 2, 4][usize::from(fhd & 3)];
                let fcs = match fhd >> 6 {
                    0 if single => 1,
                    0 => 0,
                    1 => 2,
                    2 => 4,
                    _ => 8,
                };
                Some(5 + usize::from(!single) + dict + fcs)
            }
            Need::Block if u.len() < 3 => None,
            Need::Block => {
                let h = u32::from(u[0]) | u32::from(u[1]) << 8 | u32::from(u[2]) << 16;
                let size = (h >> 3) as usize;
                let body = match (h >> 1) & 3 {
                    0 | 2 => size,
                    1 => 1,
                    _ => return Err(Invalid),
                };
                if size > MAX_BLOCK {
                    return Err(Invalid);
                }
                Some(3 + body)
            }
            Need::Checksum => Some(4),
            Need::Between => Some(0),
        })
    }

    /// The unit in `unit` was fed: what comes next.
    fn advance(&mut self) -> Result<(), Invalid> {
        self.need = match self.need {
            Need::Header => {
                self.checksum = self.unit[4] & 0x04 != 0;
                Need::Block
            }
            Need::Block if self.unit[0] & 1 == 0 => Need::Block,
            Need::Block if self.checksum => Need::Checksum,
            Need::Block | Need::Checksum => Need::Between,
            Need::Between => Need::Between,
        };
        Ok(())
    }

    /// A frame whose output was all taken: its content checksum, if it has one, must match
    /// (ruzstd sums the output as it is taken).
    fn verify(&self) -> Result<(), Invalid> {
        match (
            self.dec.get_checksum_from_data(),
            self.dec.get_calculated_checksum(),
        ) {
            (Some(got), Some(want)) if got != want => Err(Invalid),
            _ => Ok(()),
        }
    }

    /// The body ended: complete if no input came, or the last frame ended, its output was
    /// taken and its checksum matches.
    pub(crate) fn finish(&self) -> Result<(), Invalid> {
        match (self.started, self.need, self.dec.can_collect()) {
            (false, _, _) => Ok(()),
            (true, Need::Between, 0) => self.verify(),
            _ => Err(Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::content::decode_in_parts;
    use super::super::{ContentCoding, ParseError};
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};

    fn run(input: &[u8], chunk: usize, piece: usize, max: u64) -> Result<Vec<u8>, ParseError> {
        decode_in_parts(ContentCoding::Zstd, input, chunk, piece, max)
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8 ^ (i / 4096) as u8).collect()
    }

    /// A frame of `blocks` RLE blocks of 128 KiB of `b`: 4 bytes of input per 128 KiB.
    fn rle_bomb(blocks: usize, b: u8) -> Vec<u8> {
        let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]; // no checksum, 8 MiB window
        for i in 0..blocks {
            let last = u32::from(i + 1 == blocks);
            let h = last | 1 << 1 | (128 * 1024) << 3;
            f.extend_from_slice(&h.to_le_bytes()[..3]);
            f.push(b);
        }
        f
    }

    #[test]
    fn zstd_decodes_in_any_split_and_piece_size_and_frames_follow_each_other() {
        let data = sample(400_000);
        let enc = compress_to_vec(&data[..], CompressionLevel::Fastest);
        for (chunk, piece) in [(1, 7), (13, 4096), (4096, 65536), (enc.len(), 1 << 20)] {
            assert_eq!(
                run(&enc, chunk, piece, u64::MAX).unwrap(),
                data,
                "{chunk}/{piece}"
            );
        }
        let mut two = enc.clone();
        two.extend_from_slice(&compress_to_vec(
            &b"second frame"[..],
            CompressionLevel::Fastest,
        ));
        let mut want = data.clone();
        want.extend_from_slice(b"second frame");
        assert_eq!(run(&two, 1000, 4096, u64::MAX).unwrap(), want);
        assert_eq!(run(&[], 1, 16, u64::MAX).unwrap(), b"");
    }

    #[test]
    fn zstd_bombs_come_out_in_pieces_and_hit_the_limit() {
        let bomb = rle_bomb(64, b'z');
        assert_eq!(bomb.len(), 6 + 64 * 4);
        let out = run(&bomb, 4096, 65536, u64::MAX).unwrap();
        assert_eq!(out.len(), 64 * 128 * 1024);
        assert!(out.iter().all(|&b| b == b'z'));
        assert!(matches!(
            run(&bomb, 4096, 65536, 1 << 20),
            Err(ParseError::DecodedTooLarge { .. })
        ));
    }

    #[test]
    fn zstd_garbage_truncation_and_big_windows_are_errors() {
        let enc = compress_to_vec(&sample(100_000)[..], CompressionLevel::Fastest);
        assert_eq!(
            run(&enc[..enc.len() - 2], 4096, 65536, u64::MAX),
            Err(ParseError::BadContentEncoding),
            "truncated"
        );
        assert_eq!(
            run(b"not zstd at all", 4, 64, u64::MAX),
            Err(ParseError::BadContentEncoding)
        );
        // A frame whose content checksum does not match its content.
        assert!(enc[4] & 0x04 != 0, "ruzstd's encoder writes a checksum");
        let mut bad_sum = enc.clone();
        *bad_sum.last_mut().unwrap() ^= 0xff;
        assert_eq!(
            run(&bad_sum, 4096, 65536, u64::MAX),
            Err(ParseError::BadContentEncoding),
            "checksum"
        );
        // A window of 1 GiB (window descriptor exponent 20): over RFC 9659's 8 MiB.
        let mut big = rle_bomb(1, b'x');
        big[5] = 20 << 3;
        assert_eq!(
            run(&big, 4096, 65536, u64::MAX),
            Err(ParseError::BadContentEncoding)
        );
    }
}
