//! The multi's one source of time.
//!
//! Everything the driver does with time (deadlines, timers, elapsed figures) starts from the
//! `now` the multi reads here once per call and hands down; nothing below reads the system
//! clock by itself. In the library this is [`Instant::now`] and costs nothing more. Unit tests
//! can swap in a [`FakeClock`] that only moves when the test advances it, so a timeout of five
//! seconds is tested in microseconds and exactly at its deadline (see `crate::sim`).

use std::time::Instant;

#[cfg(test)]
pub(crate) use self::fake::FakeClock;

/// Where the multi reads the time: the system's monotonic clock, or in unit tests a fake one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Clock {
    #[cfg(test)]
    fake: Option<FakeClock>,
}

impl Clock {
    /// The current time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        #[cfg(test)]
        if let Some(f) = &self.fake {
            return f.now();
        }
        Instant::now()
    }

    /// Wall-clock seconds since the Unix epoch (cookie expiry); a fake clock's start is the
    /// system time when it was made.
    pub(crate) fn unix_now(&self) -> u64 {
        #[cfg(test)]
        if let Some(f) = &self.fake {
            return f.unix_base + f.elapsed().as_secs();
        }
        crate::cookie::unix_now()
    }

    /// A clock that reads `fake`.
    #[cfg(test)]
    pub(crate) fn fake(fake: FakeClock) -> Clock {
        Clock { fake: Some(fake) }
    }
}

#[cfg(test)]
mod fake {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// A clock that stands still until the test moves it: a fixed base instant plus an offset
    /// in nanoseconds. Clones share the offset (the multi reads one, the test moves another).
    #[derive(Clone, Debug)]
    pub(crate) struct FakeClock {
        base: Instant,
        offset_ns: Arc<AtomicU64>,
        /// The wall clock when it was made, in seconds since the Unix epoch.
        pub(crate) unix_base: u64,
    }

    impl FakeClock {
        pub(crate) fn new() -> FakeClock {
            FakeClock {
                base: Instant::now(),
                offset_ns: Arc::new(AtomicU64::new(0)),
                unix_base: crate::cookie::unix_now(),
            }
        }

        pub(crate) fn now(&self) -> Instant {
            self.base + Duration::from_nanos(self.offset_ns.load(Ordering::SeqCst))
        }

        /// Time since the clock was made.
        pub(crate) fn elapsed(&self) -> Duration {
            self.now() - self.base
        }

        /// Move the clock forward to `at` (never backward: a monotonic clock).
        pub(crate) fn set(&self, at: Instant) {
            let ns = u64::try_from(at.saturating_duration_since(self.base).as_nanos())
                .expect("fake time fits in u64 nanoseconds");
            self.offset_ns.fetch_max(ns, Ordering::SeqCst);
        }

        pub(crate) fn advance(&self, d: Duration) {
            self.set(self.now() + d);
        }
    }

    #[test]
    fn moves_only_when_told_and_never_back() {
        let c = FakeClock::new();
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_millis(5));
        assert_eq!(c.elapsed(), Duration::from_millis(5));
        c.set(t0);
        assert_eq!(c.elapsed(), Duration::from_millis(5));
        let shared = c.clone();
        shared.advance(Duration::from_millis(1));
        assert_eq!(c.elapsed(), Duration::from_millis(6));
        assert_eq!(super::Clock::fake(c.clone()).now(), c.now());
    }
}
