//! Resource usage as the shared benchmark harnesses measure it (`getrusage` and
//! `/proc/self/statm`), for the bench clients (each includes this file with `#[path]`).
//! libc is not a dependency of curlew, so the two libc functions are declared here; std links
//! libc anyway.

use std::os::raw::{c_int, c_long};

#[repr(C)]
struct Timeval {
    tv_sec: c_long,
    tv_usec: c_long,
}

/// Linux `struct rusage`: two timevals, then 14 longs (`ru_maxrss` first).
#[repr(C)]
struct Rusage {
    ru_utime: Timeval,
    ru_stime: Timeval,
    ru_maxrss: c_long,
    _rest: [c_long; 13],
}

extern "C" {
    fn getrusage(who: c_int, usage: *mut Rusage) -> c_int;
    fn sysconf(name: c_int) -> c_long;
}

const RUSAGE_SELF: c_int = 0;
/// `_SC_PAGESIZE` on Linux.
const SC_PAGESIZE: c_int = 30;

#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_kb: c_long,
}

pub fn rusage() -> Usage {
    let mut ru = Rusage {
        ru_utime: Timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        ru_stime: Timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        ru_maxrss: 0,
        _rest: [0; 13],
    };
    // SAFETY: `ru` is a valid, writable `struct rusage` for the duration of the call.
    if unsafe { getrusage(RUSAGE_SELF, &mut ru) } != 0 {
        eprintln!("getrusage failed");
        std::process::exit(1);
    }
    let secs = |t: &Timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        user_s: secs(&ru.ru_utime),
        sys_s: secs(&ru.ru_stime),
        max_rss_kb: ru.ru_maxrss,
    }
}

/// Current resident set size in KiB (from /proc/self/statm).
pub fn current_rss_kb() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { sysconf(SC_PAGESIZE) } as i64;
    pages * page / 1024
}
