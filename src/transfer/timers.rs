//! The transfer's timers: its next deadline for the multi's timer heap, and what each
//! deadline does when it passes (total and connect timeouts, the per-address attempt, the
//! `100 Continue` wait, the low-speed check, the progress interval).

use std::time::{Duration, Instant};

use super::services::Services;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::id::TransferId;

use crate::proto::http1::SendPhase;
use crate::transport::connector::Connector;

use super::{State, Transfer};

/// The transfer's deadlines (`None` when not running) and when to look at them next.
#[derive(Default)]
pub(super) struct Deadlines {
    /// The whole transfer (`CURLOPT_TIMEOUT`).
    pub(super) total: Option<Instant>,
    /// Name resolution and connecting (`CURLOPT_CONNECTTIMEOUT`).
    pub(super) connect: Option<Instant>,
    /// `Expect: 100-continue`: when the body goes without the server's 100.
    pub(super) expect: Option<Instant>,
    /// The next low-speed check, and the bytes moved at the last one.
    pub(super) lowspeed: Option<(Instant, u64)>,
    /// The next progress callback.
    pub(super) progress: Option<Instant>,
    /// Something moved since the last progress callback.
    pub(super) progress_dirty: bool,
    /// The receive limit's window ([`super::rate`]) and when receiving may go on.
    pub(super) recv_window: super::rate::Window,
    pub(super) rate_recv: Option<Instant>,
    /// The send limit's window and when sending may go on.
    pub(super) send_window: super::rate::Window,
    pub(super) rate_send: Option<Instant>,
    /// The earliest deadline when the last step ended ([`Transfer::rearm`]): before it no
    /// timer can be due, and a step skips the checks.
    pub(super) due: Option<Instant>,
}

impl Transfer {
    /// The earliest timer of this transfer, remembered for the next step (which checks its
    /// timers only once one is due).
    pub(crate) fn rearm(&mut self) -> Option<Instant> {
        self.timers.due = self.next_deadline();
        self.timers.due
    }

    /// The earliest timer of this transfer.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let connecting = matches!(self.state, State::Resolving | State::Connecting)
            || (self.state == State::Init && self.started.is_some());
        [
            self.timers.total,
            self.timers.connect.filter(|_| connecting),
            self.connector
                .as_deref()
                .and_then(Connector::next_deadline)
                .filter(|_| self.state == State::Connecting),
            self.timers
                .expect
                .filter(|_| self.exchange.send_phase() == SendPhase::WaitContinue),
            self.timers.lowspeed.map(|(at, _)| at),
            self.timers.progress,
            self.timers
                .rate_recv
                .filter(|_| self.state == State::Active),
            self.timers
                .rate_send
                .filter(|_| self.state == State::Active),
            self.ws_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Act on the deadlines that passed: fail on a timeout, move to the next address, send
    /// the body without the 100, run the low-speed check and the progress callback.
    pub(super) fn check_timers<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        self.check_timeouts(now)?;
        self.check_attempt(core, h, now);
        if let Some(at) = self.timers.expect {
            if now >= at && self.exchange.expect_timed_out() {
                self.text(h, || "Done waiting for 100-continue".into());
                self.timers.expect = None;
            }
        }
        self.check_low_speed(now)?;
        if let Some(at) = self.timers.progress {
            if now >= at {
                self.timers.progress = Some(now + Duration::from_secs(1));
                self.call_progress(core, id, h)?;
            }
        }
        Ok(())
    }

    /// The total timeout, and the connect timeout while resolving or connecting.
    fn check_timeouts(&self, now: Instant) -> Result<()> {
        if self.timers.total.is_some_and(|at| now >= at) {
            return Err(Error::new(
                ErrorKind::OperationTimedout,
                format!(
                    "operation timed out after {} ms with {} bytes received ({})",
                    self.elapsed_ms(now),
                    self.info.size_download,
                    self.peer_text()
                ),
            ));
        }
        let connecting = matches!(self.state, State::Resolving | State::Connecting);
        if connecting && self.timers.connect.is_some_and(|at| now >= at) {
            let what = if self.state == State::Resolving {
                "resolving"
            } else {
                "connecting to"
            };
            return Err(Error::new(
                ErrorKind::OperationTimedout,
                format!(
                    "timed out {what} {} after {} ms",
                    self.peer_text(),
                    self.elapsed_ms(now)
                ),
            ));
        }
        Ok(())
    }

    /// Attempts that are too slow give up on their address (the next one starts at once);
    /// the step that follows starts the next address when the happy-eyeballs delay passed.
    fn check_attempt<S: Services>(&mut self, core: &mut S, h: &mut dyn Handler, now: Instant) {
        if self.state != State::Connecting {
            return;
        }
        let Some(connector) = self.connector.as_deref_mut() else {
            return;
        };
        for c in connector.expire(now) {
            self.text(h, || {
                format!("connect to {} timed out, trying next", c.remote)
            });
            core.drop_attempt(c);
        }
    }

    /// `CURLOPT_LOW_SPEED_LIMIT` over `CURLOPT_LOW_SPEED_TIME` (not while paused).
    fn check_low_speed(&mut self, now: Instant) -> Result<()> {
        let Some((at, base)) = self.timers.lowspeed else {
            return Ok(());
        };
        if now < at {
            return Ok(());
        }
        let (limit, time) = self.opts.low_speed.unwrap_or((0, Duration::from_secs(1)));
        let moved = self.info.size_download + self.info.size_upload - base;
        let paused = self.ctl.recv_paused || self.ctl.send_paused;
        if !paused && (moved as f64) < limit as f64 * time.as_secs_f64() {
            return Err(Error::new(
                ErrorKind::OperationTimedout,
                format!(
                    "operation too slow: less than {limit} bytes/sec transferred the last {} seconds",
                    time.as_secs_f64()
                ),
            ));
        }
        self.timers.lowspeed = Some((now + time, self.info.size_download + self.info.size_upload));
        Ok(())
    }
}
