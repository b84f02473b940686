//! Huffman code of HPACK (RFC 7541 §5.2, Appendix B): encoding, the encoded
//! length, and a decoder that checks the padding rules.
//!
//! Decoding runs a nibble-at-a-time state machine over the code tree; the
//! tree and the machine are computed at compile time from Appendix B.

use super::HpackError;

/// Code of each symbol 0..=255 (RFC 7541 Appendix B), right-aligned.
const CODES: [u32; 256] = [
    0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8,
    0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed,
    0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4,
    0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8,
    0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
    0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb,
    0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0,
    0x1ffc, 0x3ffc, 0x22, 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75,
    0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe,
    0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4,
    0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb,
    0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
    0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda,
    0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd,
    0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0,
    0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4,
    0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7,
    0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf,
    0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7,
    0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4,
    0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
    0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, 0x3ffffeb,
    0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea, 0x7ffffeb,
    0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
];

/// Length in bits of the code of each symbol 0..=255 (RFC 7541 Appendix B).
const LENGTHS: [u8; 256] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];

/// The EOS symbol: 30 one bits; never valid inside a string (§5.2).
const EOS_LEN: u32 = 30;
/// Number of bytes `src` takes Huffman-encoded.
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| LENGTHS[b as usize] as usize).sum();
    bits.div_ceil(8)
}

/// Appends `src` Huffman-encoded, padded with the EOS prefix (§5.2).
pub fn encode(src: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &b in src {
        let len = LENGTHS[b as usize] as u32;
        acc = (acc << len) | u64::from(CODES[b as usize]);
        bits += len;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        let pad = 8 - bits;
        out.push(((acc << pad) as u8) | ((1u8 << pad) - 1));
    }
}

/// The code of symbol `sym` (EOS: 30 one bits), right-aligned, and its length.
const fn code_of(sym: usize) -> (u32, usize) {
    if sym == 256 {
        ((1 << EOS_LEN) - 1, EOS_LEN as usize)
    } else {
        (CODES[sym], LENGTHS[sym] as usize)
    }
}

/// The code tree: 256 internal nodes (node 0 is the root); a child below 256 is an
/// internal node, `256 + sym` a leaf.
const fn tree() -> [[u16; 2]; 256] {
    let mut t = [[0u16; 2]; 256];
    let mut nodes = 1;
    let mut sym = 0;
    while sym < 257 {
        let (code, len) = code_of(sym);
        let mut node = 0;
        let mut i = 0;
        while i < len {
            let bit = ((code >> (len - 1 - i)) & 1) as usize;
            if i == len - 1 {
                t[node][bit] = (256 + sym) as u16;
            } else {
                if t[node][bit] == 0 {
                    t[node][bit] = nodes as u16;
                    nodes += 1;
                }
                node = t[node][bit] as usize;
            }
            i += 1;
        }
        sym += 1;
    }
    t
}

/// A transition of the nibble machine: the next node, the symbol emitted (if `EMIT`), and
/// whether EOS was decoded (`FAIL`).
const EMIT: u32 = 1 << 16;
const FAIL: u32 = 1 << 17;

/// Per node (state) and input nibble: `next | sym << 8 | EMIT | FAIL`. A nibble emits at
/// most one symbol: the shortest code is 5 bits.
struct Machine {
    step: [[u32; 16]; 256],
    /// The bits since the last symbol may end the string: at most 7 of them, all ones (a
    /// prefix of EOS, §5.2).
    accept: [bool; 256],
}

const fn machine() -> Machine {
    let t = tree();
    let mut m = Machine {
        step: [[0; 16]; 256],
        accept: [false; 256],
    };
    let mut state = 0;
    while state < 256 {
        let mut nib = 0;
        while nib < 16 {
            let mut node = state;
            let mut out = 0u32;
            let mut b = 0;
            while b < 4 {
                let bit = (nib >> (3 - b)) & 1;
                let child = t[node][bit] as usize;
                if child >= 256 {
                    let sym = child - 256;
                    out = if sym == 256 {
                        FAIL
                    } else {
                        EMIT | ((sym as u32) << 8)
                    };
                    node = 0;
                } else {
                    node = child;
                }
                b += 1;
            }
            m.step[state][nib] = out | node as u32;
            nib += 1;
        }
        state += 1;
    }
    // The all-ones path from the root, depths 0..=7.
    let mut node = 0;
    let mut depth = 0;
    while depth <= 7 {
        m.accept[node] = true;
        node = t[node][1] as usize;
        depth += 1;
    }
    m
}

static MACHINE: Machine = machine();

/// Decodes a Huffman-coded string, checking the padding: at most 7 bits, all
/// ones, and no EOS symbol (§5.2). A nibble at a time through a state machine built
/// at compile time from Appendix B (the bit-at-a-time decoder it replaced cost about
/// four times the instructions on typical response heads).
pub fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
    let m = &MACHINE;
    // At most one symbol per 5 bits: room for all of them, written by index, then cut to
    // what was decoded (no capacity check per symbol).
    let start = out.len();
    out.resize(start + src.len() * 8 / 5 + 1, 0);
    let dst = &mut out[start..];
    let (mut n, mut state) = (0usize, 0usize);
    let mut bad = 0u32;
    for &byte in src {
        for nib in [byte >> 4, byte & 0xf] {
            let t = m.step[state][nib as usize];
            bad |= t & FAIL;
            dst[n] = (t >> 8) as u8;
            n += ((t & EMIT) != 0) as usize;
            state = (t & 0xff) as usize;
        }
    }
    out.truncate(start + n);
    if bad != 0 || !m.accept[state] {
        return Err(HpackError::Huffman);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 7541 Appendix C.4 and C.6 strings.
    const CASES: &[(&str, &str)] = &[
        ("f1e3 c2e5 f23a 6ba0 ab90 f4ff", "www.example.com"),
        ("a8eb 1064 9cbf", "no-cache"),
        ("25a8 49e9 5ba9 7d7f", "custom-key"),
        ("25a8 49e9 5bb8 e8b4 bf", "custom-value"),
        ("6402", "302"),
        ("aec3 771a 4b", "private"),
        (
            "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
            "Mon, 21 Oct 2013 20:13:21 GMT",
        ),
        (
            "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
            "https://www.example.com",
        ),
        ("9bd9 ab", "gzip"),
    ];

    #[test]
    fn rfc_examples_both_ways() {
        for &(h, s) in CASES {
            let mut out = Vec::new();
            decode(&hex(h), &mut out).unwrap();
            assert_eq!(out, s.as_bytes());
            out.clear();
            encode(s.as_bytes(), &mut out);
            assert_eq!(out, hex(h), "{s}");
            assert_eq!(encoded_len(s.as_bytes()), out.len());
        }
    }

    #[test]
    fn every_byte_roundtrips() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let mut enc = Vec::new();
        encode(&all, &mut enc);
        let mut dec = Vec::new();
        decode(&enc, &mut dec).unwrap();
        assert_eq!(dec, all);
    }

    #[test]
    fn padding_and_eos_rules() {
        let mut out = Vec::new();
        // EOS encoded explicitly (30 ones) then padding: error.
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff], &mut out),
            Err(HpackError::Huffman)
        );
        // 'a' (00011) padded with zeros instead of ones.
        assert_eq!(decode(&[0x18], &mut out), Err(HpackError::Huffman));
        // 'a' padded with ones: fine.
        out.clear();
        decode(&[0x1f], &mut out).unwrap();
        assert_eq!(out, b"a");
        // A whole byte of padding is more than 7 bits.
        assert_eq!(decode(&[0x1f, 0xff], &mut out), Err(HpackError::Huffman));
        assert_eq!(
            decode(b"00\x91\xff\xff\xff\xff\xc8", &mut out),
            Err(HpackError::Huffman)
        );
    }
}
