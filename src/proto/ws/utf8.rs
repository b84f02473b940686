//! Incremental UTF-8 validation for fragmented text messages
//! (RFC 6455 §5.6, §8.1; RFC 3629).
//!
//! A text message may be split across frames and, in this streaming decoder,
//! across chunks of one frame, at any byte, including in the middle of a code
//! point. [`Utf8Validator`] validates the pieces as they arrive with
//! [`std::str::from_utf8`] on the bulk and carries an incomplete trailing code
//! point (at most 3 bytes) to the next piece. It fails as soon as the bytes
//! seen so far cannot be the prefix of valid UTF-8 (an invalid byte, an
//! overlong form, a surrogate, a code point above U+10FFFF), even in the middle
//! of a message, as the Autobahn test suite (cases 6.4.x) requires: only an
//! *incomplete* code point at the very end is carried.

use std::fmt;

/// The bytes seen are not a prefix of valid UTF-8, or the message ended
/// inside a code point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for InvalidUtf8 {}

/// Streaming UTF-8 validator; allocation-free, 5 bytes of state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    tail: [u8; 4],
    tail_len: u8,
}

/// Encoded length announced by a lead byte (1 for anything that is not a
/// multi-byte lead byte).
const fn width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Self {
            tail: [0; 4],
            tail_len: 0,
        }
    }

    /// Validates the next piece of the message.
    ///
    /// Fails as soon as the concatenation of everything fed so far is not a
    /// prefix of valid UTF-8. After an error the state is unspecified; call
    /// [`reset`](Self::reset) before reusing the validator.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), InvalidUtf8> {
        let mut rest = bytes;
        if self.tail_len > 0 {
            let have = usize::from(self.tail_len);
            let need = width(self.tail[0]).saturating_sub(have).min(4 - have);
            let take = need.min(rest.len());
            self.tail[have..have + take].copy_from_slice(&rest[..take]);
            rest = &rest[take..];
            let total = have + take;
            match std::str::from_utf8(&self.tail[..total]) {
                Ok(_) => self.tail_len = 0,
                // Still a valid but incomplete prefix: only possible when the
                // piece was too short to finish the code point.
                Err(e) if e.error_len().is_none() && rest.is_empty() => {
                    self.tail_len = total as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let t = &rest[e.valid_up_to()..];
                // from_utf8 only reports an incomplete sequence of 1..=3 bytes.
                if t.len() > 3 {
                    return Err(InvalidUtf8);
                }
                self.tail[..t.len()].copy_from_slice(t);
                self.tail_len = t.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the message: fails if it stopped inside a code point. The
    /// validator is reset either way, ready for the next message.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.tail_len == 0;
        self.reset();
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Forgets any carried partial code point.
    pub fn reset(&mut self) {
        self.tail_len = 0;
    }

    /// True when a partial code point is being carried.
    pub const fn is_incomplete(&self) -> bool {
        self.tail_len != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for p in pieces {
            v.feed(p)?;
        }
        v.finish()
    }

    const SAMPLES: &[&[u8]] = &[
        b"",
        b"hello",
        "κόσμε".as_bytes(),
        "a€b𝄞c\u{10FFFF}".as_bytes(),
        "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}".as_bytes(),
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
        b"\xed\xa0\x80", // surrogate
        b"\xc0\xaf",     // overlong
        b"\xe0\x80\xaf",
        b"\xf8\x88\x80\x80\x80",
        b"\xff",
        b"abc\xe2\x82", // truncated at end
        b"\xf0\x9f\x98",
        b"\x80",
        b"ok\xf4\x8f\xbf\xbfok",
    ];

    #[test]
    fn every_split_matches_std() {
        for s in SAMPLES {
            let want = std::str::from_utf8(s).is_ok();
            assert_eq!(run(&[s]).is_ok(), want, "{s:?}");
            let bytes: Vec<&[u8]> = s.chunks(1).collect();
            assert_eq!(run(&bytes).is_ok(), want, "bytewise {s:?}");
            for i in 0..=s.len() {
                for j in i..=s.len() {
                    let r = run(&[&s[..i], &s[i..j], &s[j..]]);
                    assert_eq!(r.is_ok(), want, "{s:?} at {i},{j}");
                }
            }
        }
    }

    #[test]
    fn fails_fast_mid_message() {
        // Autobahn 6.4.1: the error must be seen on the \xf4\x90 prefix, before
        // the rest of the message arrives.
        let mut v = Utf8Validator::new();
        v.feed("κόσμε".as_bytes()).unwrap();
        assert_eq!(v.feed(b"\xf4\x90"), Err(InvalidUtf8));
        // Split inside the bad sequence.
        let mut v = Utf8Validator::new();
        v.feed(b"\xf4").unwrap();
        assert!(v.is_incomplete());
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
    }

    #[test]
    fn finish_resets() {
        let mut v = Utf8Validator::new();
        v.feed(b"\xe2\x82").unwrap();
        assert_eq!(v.finish(), Err(InvalidUtf8));
        v.feed(b"ok").unwrap();
        assert_eq!(v.finish(), Ok(()));
        v.feed(b"\xe2").unwrap();
        v.feed(b"\x82").unwrap();
        v.feed(b"\xac").unwrap();
        assert_eq!(v.finish(), Ok(()));
    }
}
