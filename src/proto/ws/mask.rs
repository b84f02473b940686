//! Payload masking (RFC 6455 §5.3).
//!
//! Every byte `i` of a masked payload is XORed with `key[i % 4]`. Both helpers
//! take the byte `offset` of the slice within the frame payload, so a payload
//! processed in several pieces continues the key phase where the previous piece
//! stopped. The bulk of the work is done 8 bytes at a time on `u64` words built
//! with [`u64::from_ne_bytes`] (the key is repeated twice in the word, rotated to
//! the phase); the tail (< 8 bytes) is handled bytewise. Masking is an
//! involution, so the same functions unmask.

/// The key rotated so that index 0 applies to the first byte of the slice.
#[inline]
fn phase_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let p = offset & 3;
    [key[p], key[(p + 1) & 3], key[(p + 2) & 3], key[(p + 3) & 3]]
}

/// The (phase-rotated) key repeated twice as a native-endian word.
#[inline]
fn key_word(k: [u8; 4]) -> u64 {
    u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]])
}

/// XORs `buf` in place with the 4-byte masking `key` (RFC 6455 §5.3).
///
/// `offset` is the position of `buf[0]` within the frame payload: byte `i` of
/// `buf` is XORed with `key[(offset + i) % 4]`. Applying the function twice with
/// the same arguments restores the input.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let k = phase_key(key, offset);
    let kw = key_word(k);
    let mut words = buf.chunks_exact_mut(8);
    for w in &mut words {
        let mut v = [0u8; 8];
        v.copy_from_slice(w);
        w.copy_from_slice(&(u64::from_ne_bytes(v) ^ kw).to_ne_bytes());
    }
    // Every word is 8 bytes (a multiple of 4), so the phase is unchanged here.
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= k[i & 3];
    }
}

/// Copies `src` into `dst` while masking it: the fused equivalent of
/// `dst.copy_from_slice(src); apply_mask(dst, key, offset)`.
///
/// `dst` and `src` must have the same length; if they do not (a caller bug,
/// asserted in debug builds) only the first `min(dst.len(), src.len())` bytes are
/// written.
pub fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    debug_assert_eq!(dst.len(), src.len(), "copy_masked: length mismatch");
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let k = phase_key(key, offset);
    let kw = key_word(k);
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dw, sw) in (&mut d).zip(&mut s) {
        let mut v = [0u8; 8];
        v.copy_from_slice(sw);
        dw.copy_from_slice(&(u64::from_ne_bytes(v) ^ kw).to_ne_bytes());
    }
    let tail = d.into_remainder().iter_mut().zip(s.remainder());
    for (i, (db, sb)) in tail.enumerate() {
        *db = sb ^ k[i & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn apply_mask_matches_naive() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..=80 {
            for offset in 0..=7 {
                let mut a = pattern(len);
                let mut b = a.clone();
                apply_mask(&mut a, key, offset);
                naive(&mut b, key, offset);
                assert_eq!(a, b, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn copy_masked_matches_naive() {
        let key = [0x01, 0x80, 0xfe, 0x5a];
        for len in 0..=80 {
            for offset in 0..=7 {
                let src = pattern(len);
                let mut dst = vec![0xAA; len];
                copy_masked(&mut dst, &src, key, offset);
                let mut want = src.clone();
                naive(&mut want, key, offset);
                assert_eq!(dst, want, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn pieces_continue_phase() {
        let key = [9, 8, 7, 6];
        let data = pattern(100);
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for split in 0..=data.len() {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            assert_eq!(pieces, whole, "split {split}");
        }
    }

    #[test]
    fn involution() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        let data = pattern(77);
        let mut buf = data.clone();
        apply_mask(&mut buf, key, 3);
        apply_mask(&mut buf, key, 3);
        assert_eq!(buf, data);
    }
}
