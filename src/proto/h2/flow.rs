//! Flow-control windows (RFC 9113 §5.2, §6.9): what we may still send, and
//! what the peer may still send us with the updates we owe as the
//! application consumes.

use super::settings::MAX_WINDOW_SIZE;

/// A send window: bytes the peer lets us send. It can go negative when the
/// peer lowers SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendWindow(i64);

impl SendWindow {
    /// A window of `size` bytes.
    pub fn new(size: u32) -> SendWindow {
        SendWindow(i64::from(size))
    }

    /// Bytes that may be sent now.
    pub fn available(&self) -> usize {
        self.0.max(0) as usize
    }

    /// Records `n` bytes sent (at most [`available`](Self::available)).
    pub fn consume(&mut self, n: usize) {
        self.0 -= n as i64;
    }

    /// Adds a WINDOW_UPDATE increment or a SETTINGS delta; false when the
    /// window would exceed 2^31-1 (a FLOW_CONTROL_ERROR, §6.9.1).
    pub fn adjust(&mut self, delta: i64) -> bool {
        let next = self.0 + delta;
        if next > i64::from(MAX_WINDOW_SIZE) {
            return false;
        }
        self.0 = next;
        true
    }
}

/// A receive window with the updates the application's consumption earns.
///
/// Received bytes shrink the window at once; they are given back only when
/// the application says it consumed them ([`release`](Self::release)), and
/// then in batches of at least half the target, so a slow reader slows only
/// its own stream and the update traffic stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvWindow {
    /// Bytes the peer may still send.
    window: i64,
    /// Bytes consumed by the application and not yet given back.
    released: u32,
    /// The window we aim to keep open.
    target: u32,
}

impl RecvWindow {
    /// A window that the peer knows as `initial` and that we keep at `target`.
    pub fn new(initial: u32, target: u32) -> RecvWindow {
        RecvWindow {
            window: i64::from(initial),
            released: 0,
            target,
        }
    }

    /// Records `n` received bytes; false when they exceed the window
    /// (FLOW_CONTROL_ERROR, §6.9.1).
    pub fn receive(&mut self, n: u32) -> bool {
        if i64::from(n) > self.window {
            return false;
        }
        self.window -= i64::from(n);
        true
    }

    /// The application consumed `n` bytes: the increment to send now, if the
    /// batch is big enough.
    pub fn release(&mut self, n: u32) -> Option<u32> {
        self.released = self.released.saturating_add(n);
        let open = self.window + i64::from(self.released);
        let room = i64::from(self.target) - self.window;
        if i64::from(self.released) < i64::from(self.target / 2) && open > 0 {
            return None;
        }
        let inc = i64::from(self.released).min(room.max(0)) as u32;
        self.released = 0;
        if inc == 0 {
            return None;
        }
        self.window += i64::from(inc);
        Some(inc)
    }

    /// Bytes the peer may still send.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Applies a change of our initial window (§6.9.2).
    pub fn adjust(&mut self, delta: i64) {
        self.window += delta;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_window_limits() {
        let mut w = SendWindow::new(100);
        w.consume(60);
        assert_eq!(w.available(), 40);
        assert!(w.adjust(-50));
        assert_eq!(w.available(), 0);
        assert!(w.adjust(10 + i64::from(MAX_WINDOW_SIZE)));
        assert!(!w.adjust(1));
    }

    #[test]
    fn recv_window_batches_updates() {
        let mut w = RecvWindow::new(1000, 1000);
        assert!(w.receive(800));
        assert!(!w.receive(201));
        assert_eq!(w.release(100), None);
        assert_eq!(w.release(400), Some(500));
        assert_eq!(w.window(), 700);
        // Never granted beyond the target.
        assert!(w.receive(700));
        assert_eq!(w.release(2000), Some(1000));
    }
}
