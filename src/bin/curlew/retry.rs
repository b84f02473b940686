//! `--retry N` and friends, curl's rules: a transfer that failed transiently (a timeout, a
//! name that did not resolve, an HTTP 408, 429, 500, 502, 503 or 504; with
//! `--retry-connrefused` a refused connection; with `--retry-all-errors` any error) runs again
//! after a wait: `--retry-delay`, else 1 s doubling up to 10 minutes, or the server's
//! `Retry-After` (seconds); never once `--retry-max-time` has passed since the first try.

use std::time::{Duration, Instant};

use curlew::ErrorKind;

use crate::Args;

/// Longest wait between two tries without `--retry-delay` (curl's 10 minutes).
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The retry flags.
pub struct RetryPolicy {
    max: u32,
    delay: Option<Duration>,
    max_time: Option<Duration>,
    all_errors: bool,
    connrefused: bool,
}

impl RetryPolicy {
    pub fn from_args(args: &Args) -> RetryPolicy {
        let secs = |s: Option<f64>| {
            s.filter(|s| s.is_finite() && *s > 0.0)
                .map(|s| Duration::from_secs_f64(s.min(1e9)))
        };
        RetryPolicy {
            max: args.retry,
            delay: secs(args.retry_delay),
            max_time: secs(args.retry_max_time),
            all_errors: args.retry_all_errors,
            connrefused: args.retry_connrefused,
        }
    }

    /// Why the outcome (`kind`: the error, if any; `status`: the HTTP status) may be tried
    /// again, if it may.
    fn transient(&self, kind: Option<ErrorKind>, status: u16) -> Option<&'static str> {
        match kind {
            Some(ErrorKind::OperationTimedout) => Some("timeout"),
            Some(ErrorKind::CouldntResolveHost | ErrorKind::CouldntResolveProxy) => {
                Some("could not resolve")
            }
            Some(ErrorKind::CouldntConnect) if self.connrefused => Some("connection refused"),
            _ if matches!(status, 408 | 429 | 500 | 502 | 503 | 504) => Some("HTTP error"),
            Some(_) if self.all_errors => Some("(retrying all errors)"),
            _ => None,
        }
    }

    /// After try number `tries` (from 1) of a transfer first started at `started`: how long
    /// to wait before the next, and why; `None`: no retry.
    pub fn decide(
        &self,
        kind: Option<ErrorKind>,
        status: u16,
        retry_after: Option<Duration>,
        tries: u32,
        started: Instant,
        now: Instant,
    ) -> Option<(Duration, &'static str)> {
        if tries > self.max {
            return None;
        }
        let why = self.transient(kind, status)?;
        let backoff = || {
            let exp = tries.saturating_sub(1).min(20);
            Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
        };
        let wait = retry_after.or(self.delay).unwrap_or_else(backoff);
        if let Some(max) = self.max_time {
            if (now + wait).saturating_duration_since(started) > max {
                return None;
            }
        }
        Some((wait, why))
    }

    /// Tries left after try number `tries`.
    pub fn left(&self, tries: u32) -> u32 {
        self.max.saturating_sub(tries)
    }
}

/// A `Retry-After` header line's delay in seconds (the HTTP-date form is not read).
pub fn retry_after(line: &[u8]) -> Option<Duration> {
    let line = std::str::from_utf8(line).ok()?;
    let (name, value) = line.split_once(':')?;
    if !name.trim().eq_ignore_ascii_case("retry-after") {
        return None;
    }
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max: u32) -> RetryPolicy {
        RetryPolicy {
            max,
            delay: None,
            max_time: None,
            all_errors: false,
            connrefused: false,
        }
    }

    #[test]
    fn curls_transient_errors_and_backoff() {
        let p = policy(3);
        let t = Instant::now();
        let d = |k, s, tries| p.decide(k, s, None, tries, t, t).map(|(d, _)| d.as_secs());
        assert_eq!(d(None, 503, 1), Some(1));
        assert_eq!(d(None, 503, 2), Some(2));
        assert_eq!(d(None, 429, 3), Some(4));
        assert_eq!(d(None, 503, 4), None, "3 retries");
        assert_eq!(d(None, 404, 1), None);
        assert_eq!(d(None, 200, 1), None);
        assert_eq!(d(Some(ErrorKind::OperationTimedout), 0, 1), Some(1));
        assert_eq!(d(Some(ErrorKind::CouldntConnect), 0, 1), None);
        assert_eq!(d(Some(ErrorKind::RecvError), 0, 1), None);
        let all = RetryPolicy {
            all_errors: true,
            connrefused: true,
            ..policy(3)
        };
        assert!(all
            .decide(Some(ErrorKind::RecvError), 0, None, 1, t, t)
            .is_some());
        assert!(all
            .decide(Some(ErrorKind::CouldntConnect), 0, None, 1, t, t)
            .is_some());
        let after = Some(Duration::from_secs(7));
        assert_eq!(p.decide(None, 503, after, 1, t, t).unwrap().0.as_secs(), 7);
        let capped = RetryPolicy {
            max_time: Some(Duration::from_secs(5)),
            ..policy(10)
        };
        assert!(
            capped.decide(None, 503, after, 1, t, t).is_none(),
            "past --retry-max-time"
        );
        assert_eq!(
            retry_after(b"Retry-After: 3\r\n"),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(b"retry-after: Fri, 31 Dec 1999 23:59:59 GMT\r\n"),
            None
        );
    }
}
