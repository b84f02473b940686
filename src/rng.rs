//! The engine's one source of random values: a ChaCha20 keystream keyed by the operating system.
//!
//! Every random value curlew puts on the wire comes from a [`SecureRng`]: the
//! `Sec-WebSocket-Key` of each upgrade (RFC 6455 §4.1) and the masking key of every frame a
//! client sends (§5.3). §5.3 requires masking keys to be unpredictable and derived from a strong
//! source of entropy: an application relaying payloads it did not write must not let their author
//! choose what the masked bytes look like to an intermediary (§10.3). A [`SecureRng`] is the
//! ChaCha20 stream cipher (RFC 8439, 20 rounds, from the `chacha20` crate) keyed with 32 bytes
//! from the OS's cryptographically secure generator (`getrandom`); no known attack tells its
//! output from random or recovers its key, however much of it a peer observes.
//!
//! A [`Multi`](crate::Multi) keys one generator from the OS the first time it needs a random
//! value. Each WebSocket connection gets a generator of its own, keyed with 32 bytes of the
//! multi's stream ([`SecureRng::fork`]), so the sans-IO session draws its masking keys without
//! I/O and without sharing state. The keystream is made four ChaCha blocks (256 bytes, 64 keys)
//! at a time, with AVX2 or SSE2 where the CPU has them; a masking key costs a few nanoseconds.
//!
//! No public constructor takes a caller's seed, and the type is not `Clone`: a copy would repeat
//! the stream, and a known seed would make every key predictable. Any other random value the
//! engine comes to need (a multipart boundary, a shuffled address order) is to be drawn from here
//! too.

use std::fmt;
use std::io;

use chacha20::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// A cryptographically secure generator: ChaCha20 keyed from the OS (see the [module
/// docs](self)).
///
/// ```
/// let mut rng = curlew::rng::SecureRng::new()?;
/// let key: [u8; 4] = rng.mask_key();
/// let mut session_rng = rng.fork(); // for a WsSession of its own
/// # let _ = (key, session_rng.mask_key());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A copy would repeat the stream, so there is none:
///
/// ```compile_fail
/// let rng = curlew::rng::SecureRng::new().unwrap();
/// let copy = rng.clone();
/// ```
///
/// and no caller picks the key a session masks with:
///
/// ```compile_fail
/// use curlew::proto::ws::{WsConfig, WsSession};
/// let session = WsSession::new(WsConfig::default(), [0u8; 32]);
/// ```
pub struct SecureRng {
    stream: ChaCha20Rng,
}

impl fmt::Debug for SecureRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecureRng { .. }")
    }
}

impl SecureRng {
    /// A generator keyed with 32 bytes from the operating system's secure random source
    /// (`getrandom(2)` on Linux).
    ///
    /// # Errors
    ///
    /// The OS gave no random bytes: it has no entropy source, or denies access to it.
    pub fn new() -> io::Result<Self> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)?;
        Ok(Self::from_key(key))
    }

    /// A new, independent generator keyed with the next 32 bytes of this one's stream.
    ///
    /// No syscall: a connection's generator costs one ChaCha block at most.
    pub fn fork(&mut self) -> Self {
        let mut key = [0u8; 32];
        self.fill(&mut key);
        Self::from_key(key)
    }

    /// Fills `dst` with random bytes.
    pub fn fill(&mut self, dst: &mut [u8]) {
        self.stream.fill_bytes(dst);
    }

    /// A fresh 32-bit WebSocket masking key (RFC 6455 §5.3).
    #[inline]
    pub fn mask_key(&mut self) -> [u8; 4] {
        self.stream.next_u32().to_ne_bytes()
    }

    fn from_key(key: [u8; 32]) -> Self {
        Self {
            stream: ChaCha20Rng::from_seed(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_chacha20_keystream() {
        // RFC 8439 §A.1, test vector #1: all-zero key and nonce, block counter 0.
        let mut r = SecureRng::from_key([0; 32]);
        let mut block = [0u8; 64];
        r.fill(&mut block);
        assert_eq!(
            &block[..32],
            &[
                0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86,
                0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36, 0xef, 0xcc,
                0x8b, 0x77, 0x0d, 0xc7,
            ]
        );
        assert_eq!(format!("{r:?}"), "SecureRng { .. }");
    }

    #[test]
    fn keys_vary() {
        let mut r = SecureRng::new().unwrap();
        let mut keys: Vec<[u8; 4]> = (0..1000).map(|_| r.mask_key()).collect();
        keys.sort_unstable();
        keys.dedup();
        // 1000 draws from 2^32 values: a repeat has probability ~1e-4.
        assert!(keys.len() >= 999);
    }

    /// Two generators from the OS, and two forks of one generator, never share a stream.
    #[test]
    fn streams_are_independent() {
        let draw = |r: &mut SecureRng| -> Vec<[u8; 4]> { (0..8).map(|_| r.mask_key()).collect() };
        let mut a = SecureRng::new().unwrap();
        let mut b = SecureRng::new().unwrap();
        let (mut c, mut d) = (a.fork(), a.fork());
        let runs = [draw(&mut a), draw(&mut b), draw(&mut c), draw(&mut d)];
        for i in 0..runs.len() {
            for j in i + 1..runs.len() {
                assert_ne!(runs[i], runs[j], "generators {i} and {j}");
            }
        }
    }
}
