//! permessage-deflate (RFC 7692), client role, sans-IO.
//!
//! * [`DeflateConfig`]: what the client offers ([`DeflateConfig::offer`] is the
//!   `Sec-WebSocket-Extensions` request value) plus the send threshold.
//! * [`negotiate`]: strict parser of the server's `Sec-WebSocket-Extensions`
//!   answer (§7.1): exactly one extension, `permessage-deflate`, whose
//!   parameters are known, not duplicated, in range and allowed by the offer.
//!   The server may add `server_no_context_takeover`,
//!   `client_no_context_takeover` and `server_max_window_bits` on its own
//!   (§7.1.1.1, §7.1.1.2, §7.1.2.1); `client_max_window_bits` only when
//!   offered (§7.1.2.2).
//! * [`Compressor`]: one message (or one fragment) at a time, sync flush,
//!   the `00 00 ff ff` tail stripped at the end of the message (§7.2.1),
//!   reset after each message under `client_no_context_takeover`.
//! * [`Inflater`]: compressed bytes in, inflated bytes out in pieces no larger
//!   than the caller's output buffer (memory stays bounded whatever the
//!   compression ratio), the tail appended at the end of the message
//!   (§7.2.2), context taken over unless `server_no_context_takeover`, and a
//!   hard cap on the inflated size of a message (a decompression bomb fails
//!   with [`InflateError::TooBig`], close status 1009).
//!
//! Window bits: the inflater always uses a 32 KiB window, which inflates any
//! stream the server may produce. zlib cannot compress raw deflate with an
//! 8-bit window, so when the server asks for `client_max_window_bits=8` the
//! compressor is [disabled](Compressor::is_enabled) and messages are sent
//! uncompressed (RSV1 clear), which RFC 7692 §6 allows for any message.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension token.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The trailer a sync flush ends with, removed from every compressed message
/// and appended again before inflating (RFC 7692 §7.2.1, §7.2.2).
pub const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Smallest and largest LZ77 window bits (RFC 7692 §7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// See [`MIN_WINDOW_BITS`].
pub const MAX_WINDOW_BITS: u8 = 15;

/// Default compression level of outgoing messages (zlib's default); see
/// [`DeflateConfig::level`].
pub const DEFAULT_LEVEL: u32 = 6;
const LEVEL: u32 = DEFAULT_LEVEL;

/// Client-side permessage-deflate options: what to offer, and the size below
/// which messages are sent uncompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DeflateConfig {
    /// Ask to reset our compression context after every message (the server
    /// then keeps no window for us; costs ratio, saves server memory).
    pub client_no_context_takeover: bool,
    /// Ask the server to reset its context after every message (we then keep
    /// no window between messages).
    pub server_no_context_takeover: bool,
    /// Window bits (8..=15) we will use; `None` offers the parameter without a
    /// value (the server may then pick one).
    pub client_max_window_bits: Option<u8>,
    /// Largest window (8..=15) the server may use; `None`: not offered.
    pub server_max_window_bits: Option<u8>,
    /// Messages shorter than this are sent uncompressed (0: compress all).
    pub threshold: usize,
    /// Compression level of outgoing messages, 0 (store) to 9 (smallest); `None`:
    /// [`DEFAULT_LEVEL`] (6). Level 1 costs a fraction of level 6's CPU for a somewhat
    /// larger output; it does not affect what is negotiated.
    pub level: Option<u32>,
}

/// Why the negotiation (or the configuration) is unacceptable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateError(String);

impl DeflateError {
    fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeflateError {}

fn check_bits(name: &str, v: u8) -> Result<(), DeflateError> {
    if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&v) {
        Ok(())
    } else {
        Err(DeflateError::new(format!(
            "{name}={v} is outside 8..=15 (RFC 7692 §7.1.2)"
        )))
    }
}

impl DeflateConfig {
    /// Checks the window bits (8..=15).
    pub fn validate(&self) -> Result<(), DeflateError> {
        if let Some(b) = self.client_max_window_bits {
            check_bits("client_max_window_bits", b)?;
        }
        if let Some(b) = self.server_max_window_bits {
            check_bits("server_max_window_bits", b)?;
        }
        if let Some(l) = self.level {
            if l > 9 {
                return Err(DeflateError::new(format!(
                    "compression level {l} is out of range (0..=9)"
                )));
            }
        }
        Ok(())
    }

    /// The `Sec-WebSocket-Extensions` request value. `client_max_window_bits`
    /// is always offered (without a value unless configured): we can honour
    /// any window the server asks for.
    pub fn offer(&self) -> String {
        let mut s = String::from(PERMESSAGE_DEFLATE);
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        match self.client_max_window_bits {
            Some(b) => s.push_str(&format!("; client_max_window_bits={b}")),
            None => s.push_str("; client_max_window_bits"),
        }
        if let Some(b) = self.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={b}"));
        }
        s
    }
}

/// The parameters in force after a successful negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// We reset our compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server resets its compressor after every message: we reset our
    /// inflater too.
    pub server_no_context_takeover: bool,
    /// Our window (15 unless the server asked for less).
    pub client_max_window_bits: u8,
    /// The server's window (15 unless limited).
    pub server_max_window_bits: u8,
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A window-bits value: 1*DIGIT, possibly quoted (RFC 7692 §7.1.2.1), 8..=15.
fn parse_bits(name: &str, v: Option<&str>) -> Result<u8, DeflateError> {
    let Some(v) = v else {
        return Err(DeflateError::new(format!("{name} needs a value")));
    };
    let raw = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    if raw.is_empty() || raw.len() > 2 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DeflateError::new(format!("{name}={v} is not a number")));
    }
    let b: u8 = raw
        .parse()
        .map_err(|_| DeflateError::new(format!("{name}={v} is not a number")))?;
    check_bits(name, b)?;
    Ok(b)
}

/// Parses the server's `Sec-WebSocket-Extensions` values (as returned in
/// [`Accepted::extensions`](super::Accepted::extensions)) against what
/// `offer` offered. `Ok(None)`: the server declined compression.
pub fn negotiate(
    offer: &DeflateConfig,
    extensions: &[String],
) -> Result<Option<Negotiated>, DeflateError> {
    let Some(accepted) = accepted_extension(extensions)? else {
        return Ok(None);
    };
    let mut parts = split_unquoted(accepted, ';').into_iter().map(str::trim);
    let name = parts.next().unwrap_or_default();
    if !name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
        return Err(DeflateError::new(format!(
            "server accepted extension {name:?}, which was not offered"
        )));
    }
    let mut n = Negotiated {
        client_no_context_takeover: offer.client_no_context_takeover,
        server_no_context_takeover: offer.server_no_context_takeover,
        client_max_window_bits: offer.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        server_max_window_bits: MAX_WINDOW_BITS,
    };
    let mut seen: Vec<String> = Vec::new();
    for p in parts {
        let (k, v) = parameter(p)?;
        let key = k.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(DeflateError::new(format!(
                "duplicate permessage-deflate parameter {key}"
            )));
        }
        apply_parameter(&mut n, offer, k, &key, v)?;
        seen.push(key);
    }
    Ok(Some(n))
}

/// The one extension the server accepted, from all its `Sec-WebSocket-Extensions` values;
/// `None` if there is none, an error if there is more than one.
fn accepted_extension(extensions: &[String]) -> Result<Option<&str>, DeflateError> {
    let mut items = Vec::new();
    for v in extensions {
        for item in split_unquoted(v, ',') {
            let item = item.trim();
            if !item.is_empty() {
                items.push(item);
            }
        }
    }
    match items[..] {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(DeflateError::new(format!(
            "server accepted more than one extension: {}",
            items.join(", ")
        ))),
    }
}

/// A `name[=value]` extension parameter: its name (a token) and value, trimmed.
fn parameter(p: &str) -> Result<(&str, Option<&str>), DeflateError> {
    let (k, v) = match p.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.trim())),
        None => (p, None),
    };
    if !is_token(k) {
        return Err(DeflateError::new(format!(
            "malformed permessage-deflate parameter {p:?}"
        )));
    }
    Ok((k, v))
}

/// Applies the server's parameter `k` (`key` lowercased) with value `v` to `n`, checked
/// against `offer`.
fn apply_parameter(
    n: &mut Negotiated,
    offer: &DeflateConfig,
    k: &str,
    key: &str,
    v: Option<&str>,
) -> Result<(), DeflateError> {
    match key {
        "server_no_context_takeover" | "client_no_context_takeover" => {
            if v.is_some() {
                return Err(DeflateError::new(format!("{key} takes no value")));
            }
            if key == "server_no_context_takeover" {
                n.server_no_context_takeover = true;
            } else {
                n.client_no_context_takeover = true;
            }
        }
        "server_max_window_bits" => {
            n.server_max_window_bits = window_bits(key, v, offer.server_max_window_bits)?;
        }
        // Always offered (see `DeflateConfig::offer`).
        "client_max_window_bits" => {
            n.client_max_window_bits = window_bits(key, v, offer.client_max_window_bits)?;
        }
        _ => {
            return Err(DeflateError::new(format!(
                "unknown permessage-deflate parameter {k:?}"
            )))
        }
    }
    Ok(())
}

/// The window bits the server chose for parameter `key`, no more than `offered`.
fn window_bits(key: &str, v: Option<&str>, offered: Option<u8>) -> Result<u8, DeflateError> {
    let b = parse_bits(key, v)?;
    match offered {
        Some(max) if b > max => Err(DeflateError::new(format!(
            "{key}={b} exceeds the offered {max}"
        ))),
        _ => Ok(b),
    }
}

/// Worst-case size of [`Compressor::compress`] output for `n` input bytes
/// (stored blocks: 5 bytes per 16 KiB-64 KiB block, plus the flush).
pub const fn compress_bound(n: usize) -> usize {
    n + (n >> 10) + 64
}

/// The largest input whose [`compress_bound`] fits in `room` bytes.
pub const fn max_input_for(room: usize) -> usize {
    if room <= 64 {
        return 0;
    }
    let avail = room - 64;
    // n + n/1024 <= avail
    let n = avail - avail / 1025 - 1;
    if compress_bound(n) <= room {
        n
    } else {
        n.saturating_sub(2)
    }
}

/// Outgoing compression context (RFC 7692 §7.2.1).
pub struct Compressor {
    c: Compress,
    no_context_takeover: bool,
    enabled: bool,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for the negotiated client parameters, at [`DEFAULT_LEVEL`].
    pub fn new(n: &Negotiated) -> Self {
        Self::with_level(n, LEVEL)
    }

    /// A compressor for the negotiated client parameters at compression `level` (0..=9,
    /// clamped).
    pub fn with_level(n: &Negotiated, level: u32) -> Self {
        // zlib refuses raw deflate with an 8-bit window: send uncompressed.
        let enabled = n.client_max_window_bits >= 9;
        let bits = n.client_max_window_bits.clamp(9, MAX_WINDOW_BITS);
        Self {
            c: Compress::new_with_window_bits(Compression::new(level.min(9)), false, bits),
            no_context_takeover: n.client_no_context_takeover,
            enabled,
        }
    }

    /// False when messages must go uncompressed (an 8-bit window).
    pub const fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Compresses `data`, the next piece of a message, with a sync flush and
    /// replaces `out` with the result. With `end_of_message` the trailing
    /// `00 00 ff ff` is removed and, under no context takeover, the context
    /// reset. `out` is reserved to [`compress_bound`] first, so it never
    /// needs to grow further in practice.
    pub fn compress(&mut self, data: &[u8], end_of_message: bool, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(compress_bound(data.len()));
        let mut pos = 0;
        loop {
            let before = self.c.total_in();
            // Compressing into a Vec never fails with a valid stream.
            let _ = self.c.compress_vec(&data[pos..], out, FlushCompress::Sync);
            pos += (self.c.total_in() - before) as usize;
            if pos >= data.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if end_of_message {
            if out.ends_with(&DEFLATE_TAIL) {
                out.truncate(out.len() - DEFLATE_TAIL.len());
            }
            // zlib emits nothing for a sync flush with no input since the previous one (an
            // empty message under context takeover, or an empty last fragment). An empty
            // payload would make the peer inflate a bare `00 00 ff ff`, which is no valid
            // block: send the single 0x00 of an empty stored block instead (§7.2.3.6).
            if out.is_empty() {
                out.push(0x00);
            }
            if self.no_context_takeover {
                self.c.reset();
            }
        }
    }
}

/// Why inflating failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The inflated message exceeds the cap (close status 1009).
    TooBig,
    /// Not a valid deflate stream (close status 1007).
    Invalid,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooBig => "inflated message exceeds the size limit",
            Self::Invalid => "invalid compressed data",
        })
    }
}

impl std::error::Error for InflateError {}

/// Incoming decompression context (RFC 7692 §7.2.2), fed with a message's
/// compressed bytes and drained into a caller buffer piece by piece.
///
/// Use: [`feed`](Self::feed) compressed bytes (with `end_of_message` on the
/// last ones), then call [`drain`](Self::drain) until it reports the message
/// done or produces nothing while input is still expected. Memory: the 32
/// KiB window, the compressed bytes fed and not yet inflated, and the
/// caller's output buffer.
pub struct Inflater {
    d: Decompress,
    no_context_takeover: bool,
    max_message: u64,
    pending: Vec<u8>,
    pos: usize,
    /// Bytes of the tail still to feed once `pending` is consumed.
    tail_left: usize,
    end: bool,
    stream_ended: bool,
    total_out: u64,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("pending", &(self.pending.len() - self.pos))
            .field("total_out", &self.total_out)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// An inflater for the negotiated server parameters; a message inflating
    /// to more than `max_message` bytes fails with [`InflateError::TooBig`].
    pub fn new(n: &Negotiated, max_message: u64) -> Self {
        Self {
            d: Decompress::new_with_window_bits(false, MAX_WINDOW_BITS),
            no_context_takeover: n.server_no_context_takeover,
            max_message,
            pending: Vec::new(),
            pos: 0,
            tail_left: 0,
            end: false,
            stream_ended: false,
            total_out: 0,
        }
    }

    /// Queues compressed bytes of the current message; `end_of_message` after
    /// its last byte.
    pub fn feed(&mut self, data: &[u8], end_of_message: bool) {
        if self.pos == self.pending.len() {
            self.pending.clear();
            self.pos = 0;
        }
        self.pending.extend_from_slice(data);
        if end_of_message {
            self.end = true;
            self.tail_left = DEFLATE_TAIL.len();
        }
    }

    /// True while fed bytes (or the tail, or output held by zlib) remain to be
    /// drained.
    pub fn has_pending(&self) -> bool {
        self.pos < self.pending.len() || self.tail_left > 0 || self.end
    }

    /// Inflated bytes of the current message so far.
    pub const fn message_len(&self) -> u64 {
        self.total_out
    }

    /// Inflates into `out`. Returns the bytes written and whether the message
    /// is complete (all its input consumed, the tail fed and all output
    /// delivered; the context is then reset under no context takeover and
    /// the next message may be fed). Without `end_of_message` fed yet, the
    /// message is never complete and a return of `(0, false)` means more
    /// input is needed.
    pub fn drain(&mut self, out: &mut [u8]) -> Result<(usize, bool), InflateError> {
        // One byte over the cap is enough to detect a violation.
        let cap = (self.max_message - self.total_out.min(self.max_message)).saturating_add(1);
        let limit = out.len().min(usize::try_from(cap).unwrap_or(usize::MAX));
        let out = &mut out[..limit];
        let mut produced = 0;
        loop {
            let tail_start = DEFLATE_TAIL.len() - self.tail_left;
            let input: &[u8] = if self.pos < self.pending.len() {
                &self.pending[self.pos..]
            } else if self.tail_left > 0 {
                &DEFLATE_TAIL[tail_start..]
            } else {
                &[]
            };
            if self.stream_ended {
                // A final block (BFINAL) ended the stream: the rest of the
                // message (at most the tail) is ignored.
                self.pos = self.pending.len();
                self.tail_left = 0;
                break;
            }
            if produced == out.len() {
                break;
            }
            let (in0, out0) = (self.d.total_in(), self.d.total_out());
            let st = self
                .d
                .decompress(input, &mut out[produced..], FlushDecompress::None)
                .map_err(|_| InflateError::Invalid)?;
            let used = (self.d.total_in() - in0) as usize;
            let made = (self.d.total_out() - out0) as usize;
            produced += made;
            if self.pos < self.pending.len() {
                self.pos += used;
            } else {
                self.tail_left -= used.min(self.tail_left);
            }
            if st == Status::StreamEnd {
                self.stream_ended = true;
                continue;
            }
            if used == 0 && made == 0 {
                // Needs more input, or nothing left to produce.
                break;
            }
        }
        self.total_out += produced as u64;
        if self.total_out > self.max_message {
            return Err(InflateError::TooBig);
        }
        let input_done = self.pos >= self.pending.len() && self.tail_left == 0;
        let done = self.end && input_done && produced < out.len();
        if done {
            self.end = false;
            self.total_out = 0;
            self.pending.clear();
            self.pos = 0;
            if self.no_context_takeover || self.stream_ended {
                self.d.reset(false);
            }
            self.stream_ended = false;
        } else if input_done && !self.end && self.pending.capacity() > 1 << 16 {
            self.pending = Vec::new();
            self.pos = 0;
        }
        Ok((produced, done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(s: &[&str]) -> Result<Option<Negotiated>, DeflateError> {
        neg_with(&DeflateConfig::default(), s)
    }

    fn neg_with(c: &DeflateConfig, s: &[&str]) -> Result<Option<Negotiated>, DeflateError> {
        let v: Vec<String> = s.iter().map(|x| x.to_string()).collect();
        negotiate(c, &v)
    }

    const FULL: Negotiated = Negotiated {
        client_no_context_takeover: false,
        server_no_context_takeover: false,
        client_max_window_bits: 15,
        server_max_window_bits: 15,
    };

    #[test]
    fn compression_level_is_an_option() {
        let bad = DeflateConfig {
            level: Some(10),
            ..DeflateConfig::default()
        };
        assert!(bad.validate().is_err());
        let data = text(20_000);
        let mut sizes = Vec::new();
        for level in [0, 1, 6, 9] {
            let mut c = Compressor::with_level(&FULL, level);
            let mut inf = Inflater::new(&FULL, 1 << 20);
            let mut wire = Vec::new();
            c.compress(&data, true, &mut wire);
            let out = inflate_all(&mut inf, &[&wire], 4096);
            assert_eq!(out, data, "level {level}");
            sizes.push(wire.len());
        }
        // Level 0 stores; the others compress.
        assert!(
            sizes[0] > data.len() && sizes[1] < data.len() / 2,
            "{sizes:?}"
        );
    }

    #[test]
    fn offers() {
        assert_eq!(
            DeflateConfig::default().offer(),
            "permessage-deflate; client_max_window_bits"
        );
        let c = DeflateConfig {
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            client_max_window_bits: Some(10),
            server_max_window_bits: Some(9),
            threshold: 0,
            level: None,
        };
        assert_eq!(
            c.offer(),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
             client_max_window_bits=10; server_max_window_bits=9"
        );
        assert!(c.validate().is_ok());
        let bad = DeflateConfig {
            server_max_window_bits: Some(16),
            ..c
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn negotiation_accepts() {
        assert_eq!(neg(&[]), Ok(None));
        assert_eq!(neg(&["permessage-deflate"]), Ok(Some(FULL)));
        assert_eq!(neg(&["Permessage-Deflate ; "]).ok(), None);
        let n = neg(&[
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=\"9\"",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            n,
            Negotiated {
                client_no_context_takeover: true,
                server_no_context_takeover: true,
                client_max_window_bits: 9,
                server_max_window_bits: 10,
            }
        );
        let c = DeflateConfig {
            server_max_window_bits: Some(12),
            client_max_window_bits: Some(11),
            server_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        let n = neg_with(&c, &["permessage-deflate;server_max_window_bits=12"])
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                n.server_max_window_bits,
                n.client_max_window_bits,
                n.server_no_context_takeover
            ),
            (12, 11, true)
        );
    }

    #[test]
    fn negotiation_rejects() {
        let c = DeflateConfig {
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(10),
            ..DeflateConfig::default()
        };
        for (bad, why) in [
            ("x-webkit-deflate-frame", "not offered"),
            ("permessage-deflate; foo", "unknown"),
            ("permessage-deflate; foo=1", "unknown"),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                "duplicate",
            ),
            (
                "permessage-deflate; server_max_window_bits=9; Server_Max_Window_Bits=9",
                "duplicate",
            ),
            ("permessage-deflate; server_max_window_bits=16", "outside"),
            ("permessage-deflate; server_max_window_bits=7", "outside"),
            ("permessage-deflate; server_max_window_bits=11", "exceeds"),
            ("permessage-deflate; client_max_window_bits=11", "exceeds"),
            (
                "permessage-deflate; server_max_window_bits",
                "needs a value",
            ),
            (
                "permessage-deflate; client_max_window_bits",
                "needs a value",
            ),
            (
                "permessage-deflate; server_max_window_bits=x",
                "not a number",
            ),
            (
                "permessage-deflate; server_max_window_bits=010",
                "not a number",
            ),
            (
                "permessage-deflate; server_no_context_takeover=1",
                "no value",
            ),
            ("permessage-deflate, permessage-deflate", "more than one"),
            ("permessage-deflate; a b", "malformed"),
        ] {
            let e = neg_with(&c, &[bad]).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
        let e = neg(&["permessage-deflate", "x-other"]).unwrap_err();
        assert!(e.to_string().contains("more than one"));
    }

    fn inflate_all(inf: &mut Inflater, pieces: &[&[u8]], out_size: usize) -> Vec<u8> {
        let mut out = vec![0; out_size];
        let mut msg = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            inf.feed(p, i + 1 == pieces.len());
            loop {
                let (n, done) = inf.drain(&mut out).unwrap();
                msg.extend_from_slice(&out[..n]);
                if done {
                    return msg;
                }
                if n == 0 {
                    break;
                }
            }
        }
        panic!("message not complete");
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| b"{\"id\":12,\"name\":\"curlew\",\"tags\":[1,2,3]}"[i % 40] ^ (i / 997) as u8)
            .collect()
    }

    #[test]
    fn roundtrip_context_takeover_and_not() {
        for (cnt, snt) in [(false, false), (true, false), (false, true), (true, true)] {
            let n = Negotiated {
                client_no_context_takeover: cnt,
                server_no_context_takeover: snt,
                client_max_window_bits: 15,
                server_max_window_bits: 15,
            };
            // Our compressor feeds an inflater configured for the same takeover.
            let peer = Negotiated {
                server_no_context_takeover: cnt,
                ..n
            };
            let mut c = Compressor::new(&n);
            let mut inf = Inflater::new(&peer, 1 << 20);
            let mut out = Vec::new();
            let mut sizes = Vec::new();
            for len in [0usize, 1, 100, 1000, 1000, 70_000] {
                let data = text(len);
                c.compress(&data, true, &mut out);
                sizes.push(out.len());
                assert_eq!(inflate_all(&mut inf, &[&out], 4096), data, "{cnt} {snt}");
            }
            // The second identical 1000-byte message is smaller with takeover.
            if cnt {
                assert_eq!(sizes[3], sizes[4]);
            } else {
                assert!(sizes[4] < sizes[3], "{sizes:?}");
            }
            assert!(!out.ends_with(&DEFLATE_TAIL));
        }
    }

    #[test]
    fn empty_message_is_one_zero_byte() {
        let mut c = Compressor::new(&FULL);
        let mut out = Vec::new();
        c.compress(b"", true, &mut out);
        assert_eq!(out, [0x00]);
        let mut inf = Inflater::new(&FULL, 10);
        assert_eq!(inflate_all(&mut inf, &[&out], 10), b"");
    }

    /// Found by the interop tests (Python `websockets` and Node `ws` failed with "invalid
    /// stored block lengths"): with context takeover, an empty message after another one, or
    /// an empty last fragment, came out as an empty payload instead of 0x00.
    #[test]
    fn empty_message_or_last_fragment_after_data_is_one_zero_byte() {
        let mut c = Compressor::new(&FULL);
        let mut inf = Inflater::new(&FULL, 1 << 20);
        // A peer's plain raw inflater, fed exactly what RFC 7692 §7.2.2 says.
        let mut z = Decompress::new(false);
        let mut peer = |payload: &[u8]| {
            let mut input = payload.to_vec();
            input.extend_from_slice(&DEFLATE_TAIL);
            let mut buf = Vec::with_capacity(1 << 16);
            z.decompress_vec(&input, &mut buf, FlushDecompress::Sync)
                .expect("valid deflate");
            buf
        };
        let mut out = Vec::new();
        let mut check = |c: &mut Compressor, parts: &[&[u8]]| {
            let mut wire = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                c.compress(p, i + 1 == parts.len(), &mut out);
                wire.extend_from_slice(&out);
            }
            let msg = parts.concat();
            assert_eq!(inflate_all(&mut inf, &[&wire], 4096), msg);
            assert_eq!(peer(&wire), msg);
            wire
        };
        check(&mut c, &[b"first"]);
        assert_eq!(check(&mut c, &[b""]), [0x00]);
        assert_eq!(check(&mut c, &[b""]), [0x00]);
        check(&mut c, &[b"x"]);
        check(&mut c, &[b"some data", b""]);
        check(&mut c, &[b"", b"", b""]);
        check(&mut c, &[b"after"]);
    }

    #[test]
    fn fragments_and_every_split_point() {
        let mut c = Compressor::new(&FULL);
        let data = text(3000);
        let mut wire = Vec::new();
        let mut out = Vec::new();
        for (i, part) in data.chunks(700).enumerate() {
            c.compress(part, (i + 1) * 700 >= data.len(), &mut out);
            wire.extend_from_slice(&out);
        }
        let mut inf = Inflater::new(&FULL, 1 << 20);
        assert_eq!(inflate_all(&mut inf, &[&wire], 64), data);
        for i in 0..=wire.len() {
            let mut inf = Inflater::new(&FULL, 1 << 20);
            assert_eq!(
                inflate_all(&mut inf, &[&wire[..i], &wire[i..]], 1000),
                data,
                "split at {i}"
            );
        }
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        let mut inf = Inflater::new(&FULL, 1 << 20);
        assert_eq!(inflate_all(&mut inf, &bytes, 7), data);
    }

    #[test]
    fn small_windows() {
        for bits in 9..=15u8 {
            let n = Negotiated {
                client_max_window_bits: bits,
                ..FULL
            };
            let mut c = Compressor::new(&n);
            let mut inf = Inflater::new(&n, 1 << 22);
            let mut out = Vec::new();
            for _ in 0..3 {
                let data = text(100_000);
                c.compress(&data, true, &mut out);
                assert_eq!(inflate_all(&mut inf, &[&out], 1 << 14), data);
            }
        }
        assert!(!Compressor::new(&Negotiated {
            client_max_window_bits: 8,
            ..FULL
        })
        .is_enabled());
    }

    #[test]
    fn bomb_is_capped_with_bounded_output() {
        let mut c = Compressor::new(&FULL);
        let mut wire = Vec::new();
        c.compress(&vec![0u8; 16 << 20], true, &mut wire);
        assert!(wire.len() < 40_000, "{}", wire.len());
        let mut inf = Inflater::new(&FULL, 1 << 20);
        let mut out = vec![0u8; 65536];
        inf.feed(&wire, true);
        let mut total = 0;
        let err = loop {
            match inf.drain(&mut out) {
                Ok((n, done)) => {
                    assert!(!done);
                    assert!(n > 0);
                    total += n;
                }
                Err(e) => break e,
            }
        };
        assert_eq!(err, InflateError::TooBig);
        assert!(total <= 1 << 20);
        // Exactly at the cap is fine.
        let mut c = Compressor::new(&FULL);
        c.compress(&vec![7u8; 1000], true, &mut wire);
        let mut inf = Inflater::new(&FULL, 1000);
        assert_eq!(inflate_all(&mut inf, &[&wire], 300), vec![7u8; 1000]);
    }

    #[test]
    fn invalid_data_and_bfinal() {
        let mut inf = Inflater::new(&FULL, 1000);
        inf.feed(&[0xff, 0xff, 0xff], true);
        let mut out = [0u8; 100];
        assert_eq!(inf.drain(&mut out), Err(InflateError::Invalid));
        // A message ending with a final block (BFINAL=1), as some servers
        // send: stored block "abc".
        let wire = [0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c'];
        let mut inf = Inflater::new(&FULL, 1000);
        assert_eq!(inflate_all(&mut inf, &[&wire], 100), b"abc");
        assert_eq!(inflate_all(&mut inf, &[&wire], 100), b"abc");
    }

    #[test]
    fn bound_helpers() {
        for room in [0usize, 64, 65, 100, 1000, 1 << 20] {
            let n = max_input_for(room);
            assert!(n == 0 || compress_bound(n) <= room, "{room}");
        }
        assert!(max_input_for(1 << 20) > 1_000_000);
    }
}
