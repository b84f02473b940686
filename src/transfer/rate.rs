//! Transfer speed limits (`CURLOPT_MAX_RECV_SPEED_LARGE`, `CURLOPT_MAX_SEND_SPEED_LARGE`),
//! enforced by the loop's timers: a direction that has moved more than its limit allows since
//! its window started waits, without reading or writing, until the average is back at the
//! limit. Nothing sleeps and the other transfers run on. Reads and writes are cut to a
//! [`RATE_WRITE_SHARE`]th of a second's worth, so the rate holds within a second.

use std::time::{Duration, Instant};

use super::Transfer;

/// How far under its limit a direction may fall before its window starts again: a transfer
/// that was idle does not earn a burst of more than this much time's worth.
pub const RATE_SLACK: Duration = Duration::from_secs(1);
/// Reads and writes under a limit take at most 1/this of a second's worth (at least 1 byte).
pub const RATE_WRITE_SHARE: u64 = 4;

/// One direction's window: when it started and the bytes moved by then.
pub(crate) type Window = Option<(Instant, u64)>;

/// When a direction that moved `moved` bytes in all may move again under `limit` bytes per
/// second (`None`: now).
fn due(window: &mut Window, limit: u64, moved: u64, now: Instant) -> Option<Instant> {
    if limit == 0 {
        return None;
    }
    let (start, base) = *window.get_or_insert((now, moved));
    let secs = moved.saturating_sub(base) as f64 / limit as f64;
    let at = start + Duration::from_secs_f64(secs.min(crate::options::DURATION_MAX.as_secs_f64()));
    if at > now {
        return Some(at);
    }
    if now - at > RATE_SLACK {
        *window = Some((now, moved));
    }
    None
}

impl Transfer {
    /// Receiving must wait until the returned instant (its timer is set), or may go on.
    pub(super) fn recv_rate_wait(&mut self, now: Instant) -> Option<Instant> {
        let at = due(
            &mut self.timers.recv_window,
            self.opts.max_recv_speed,
            self.info.size_download,
            now,
        );
        self.timers.rate_recv = at;
        at
    }

    /// Sending must wait until the returned instant (its timer is set), or may go on.
    pub(super) fn send_rate_wait(&mut self, now: Instant) -> Option<Instant> {
        let at = due(
            &mut self.timers.send_window,
            self.opts.max_send_speed,
            self.info.size_upload,
            now,
        );
        self.timers.rate_send = at;
        at
    }

    /// The most one write may send under the send limit (`usize::MAX`: no limit).
    pub(super) fn send_cap(&self) -> usize {
        match self.opts.max_send_speed {
            0 => usize::MAX,
            limit => usize::try_from((limit / RATE_WRITE_SHARE).max(1)).unwrap_or(usize::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_is_kept_and_idle_time_earns_no_burst() {
        let t0 = Instant::now();
        let mut w: Window = None;
        assert_eq!(due(&mut w, 0, 1 << 30, t0), None, "no limit");
        assert_eq!(due(&mut w, 1000, 0, t0), None, "the window starts");
        // 2,500 bytes at 1,000 B/s: not before 2.5 s.
        let at = due(&mut w, 1000, 2500, t0 + Duration::from_millis(100));
        assert_eq!(at, Some(t0 + Duration::from_millis(2500)));
        assert_eq!(
            due(&mut w, 1000, 2500, t0 + Duration::from_millis(2500)),
            None
        );
        // Idle for a minute: the window starts again, no 60 KB burst.
        let later = t0 + Duration::from_secs(62);
        assert_eq!(due(&mut w, 1000, 2500, later), None);
        let at = due(&mut w, 1000, 3500, later);
        assert_eq!(at, Some(later + Duration::from_secs(1)));
    }
}
