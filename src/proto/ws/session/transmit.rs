//! The transmit side as the driver sees it: the queued bytes to write, how many were written,
//! and the queue's storage lent from and given back to the driver's pool.

use super::*;

impl WsSession {
    // ----- (D) outputs -----------------------------------------------------

    /// The next contiguous bytes to write (empty when nothing is queued). It
    /// may be only a prefix of the queue (the ring wraps): keep writing while
    /// [`wants_write`](Self::wants_write).
    pub fn poll_transmit(&self) -> &[u8] {
        self.tx.front()
    }

    /// All queued bytes as two slices, in order, for vectored writes (the
    /// second is empty unless the ring wraps).
    pub fn transmit_slices(&self) -> (&[u8], &[u8]) {
        (self.tx.front(), self.tx.back())
    }

    /// Reports that the first `n` queued bytes were written (clamped to the
    /// queue length); control frames waiting for room may then be queued.
    pub fn consume_transmit(&mut self, n: usize) {
        self.tx.consume(n);
        if self.tx.len < self.pong_tail {
            // Part of that Pong is on the wire: it can no longer be replaced.
            self.pong_tail = 0;
        }
        self.flush_pending();
    }

    /// True when bytes are queued for writing.
    pub fn wants_write(&self) -> bool {
        self.tx.len > 0
    }

    /// Takes the send queue's storage when nothing is queued, so an idle session holds no
    /// buffer (the caller may pool it and give it back with
    /// [`give_send_buffer`](Self::give_send_buffer)). `None` while bytes are queued or when
    /// the session has no storage.
    pub fn take_send_buffer(&mut self) -> Option<Vec<u8>> {
        if self.tx.len != 0 || self.tx.buf.is_empty() {
            return None;
        }
        self.tx.head = 0;
        Some(std::mem::take(&mut self.tx.buf))
    }

    /// Gives the send queue storage to use (its contents are irrelevant). Ignored, and the
    /// buffer returned, when the queue already has storage.
    pub fn give_send_buffer(&mut self, buf: Vec<u8>) -> Option<Vec<u8>> {
        if !self.tx.buf.is_empty() || buf.is_empty() {
            return Some(buf);
        }
        self.tx.buf = buf;
        self.tx.head = 0;
        None
    }

    /// Whether the send queue has storage (a session that sent nothing yet, or whose buffer
    /// was taken, has none).
    pub fn has_send_buffer(&self) -> bool {
        !self.tx.buf.is_empty()
    }

    /// Queued, unwritten bytes.
    pub fn send_queue_len(&self) -> usize {
        self.tx.len
    }

    /// Bytes that can still be queued (headers included) before the bound.
    pub fn send_room(&self) -> usize {
        self.tx.room()
    }
}

/// Bounded byte ring: `len` bytes starting at `head`, wrapping at
/// `buf.len()`. The capacity grows geometrically up to `bound` and never
/// beyond (as long as nothing is written past the bound).
pub(super) struct TxRing {
    pub(super) buf: Vec<u8>,
    pub(super) head: usize,
    pub(super) len: usize,
    pub(super) bound: usize,
}

impl TxRing {
    pub(super) const fn new(bound: usize) -> Self {
        Self {
            buf: Vec::new(),
            head: 0,
            len: 0,
            bound,
        }
    }

    pub(super) fn room(&self) -> usize {
        self.bound.saturating_sub(self.len)
    }

    /// The first contiguous part of the queued bytes.
    pub(super) fn front(&self) -> &[u8] {
        let end = (self.head + self.len).min(self.buf.len());
        &self.buf[self.head..end]
    }

    /// The wrapped-around rest of the queued bytes.
    pub(super) fn back(&self) -> &[u8] {
        let front = self.front().len();
        &self.buf[..self.len - front]
    }

    /// `i` (below twice the capacity) as a position in `buf`: `head` is
    /// always inside `buf` and `len` at most its size, so one subtraction
    /// replaces a division (`%`) on the per-message path.
    pub(super) fn wrap(&self, i: usize) -> usize {
        if i >= self.buf.len() {
            i - self.buf.len()
        } else {
            i
        }
    }

    pub(super) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 {
            0
        } else {
            self.wrap(self.head + n)
        };
    }

    /// Forgets the last `n` queued bytes.
    pub(super) fn truncate_back(&mut self, n: usize) {
        self.len -= n.min(self.len);
        if self.len == 0 {
            self.head = 0;
        }
    }

    /// Makes room for `n` more bytes (the common case, room already there,
    /// is a comparison inlined into the caller).
    #[inline]
    pub(super) fn reserve(&mut self, n: usize) {
        if self.len + n > self.buf.len() {
            self.grow(self.len + n);
        }
    }

    #[cold]
    pub(super) fn grow(&mut self, need: usize) {
        let cap = (self.buf.len().saturating_mul(2))
            .max(INITIAL_QUEUE_CAPACITY)
            .min(self.bound)
            .max(need);
        let mut grown = vec![0u8; cap];
        let (a, b) = (self.front(), self.back());
        grown[..a.len()].copy_from_slice(a);
        grown[a.len()..a.len() + b.len()].copy_from_slice(b);
        self.buf = grown;
        self.head = 0;
    }

    /// Appends `n` bytes produced by `fill(dst, offset_within_the_n_bytes)`,
    /// called once or twice (when the write wraps).
    pub(super) fn append_with(&mut self, n: usize, mut fill: impl FnMut(&mut [u8], usize)) {
        if n == 0 {
            return;
        }
        self.reserve(n);
        let cap = self.buf.len();
        let tail = self.wrap(self.head + self.len);
        let first = n.min(cap - tail);
        fill(&mut self.buf[tail..tail + first], 0);
        if first < n {
            fill(&mut self.buf[..n - first], first);
        }
        self.len += n;
    }

    pub(super) fn push(&mut self, src: &[u8]) {
        self.append_with(src.len(), |dst, at| {
            dst.copy_from_slice(&src[at..at + dst.len()]);
        });
    }

    /// Appends `src` masked with `key`, `offset` being the position of
    /// `src[0]` in the frame payload.
    pub(super) fn push_masked(&mut self, src: &[u8], key: [u8; 4], offset: u64) {
        self.append_with(src.len(), |dst, at| {
            let phase = ((offset + at as u64) % 4) as usize;
            copy_masked(dst, &src[at..at + dst.len()], key, phase);
        });
    }
}
