//! The plumbing under the HTTP/2 fixtures: a child process whose output lines are collected
//! (with bounded waits for a line), a private temporary directory, and the skip rule.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a server may take to report that it is ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stopping server may take to exit by itself once its stdin is closed, before it
/// is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Where `.ci/interop-setup.sh` installed the peers (`$CURLEW_INTEROP_DIR`, default
/// `/opt/curlew-interop`).
pub fn interop_dir() -> PathBuf {
    std::env::var_os("CURLEW_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/curlew-interop"))
}

/// Absolute path of a script in `tests/interop/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// The fixture `what` cannot run because of `why`: prints a `SKIPPED` line and returns
/// `None`, or panics when `CURLEW_REQUIRE_INTEROP=1` (CI).
pub fn unavailable<T>(what: &str, why: &str) -> Option<T> {
    let msg = format!(
        "{what}: {why} (CURLEW_INTEROP_DIR={}): run .ci/interop-setup.sh",
        interop_dir().display()
    );
    if std::env::var("CURLEW_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!("CURLEW_REQUIRE_INTEROP=1 but {msg}");
    }
    // Straight to the stderr handle: the test harness captures `eprintln!`.
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***");
    None
}

/// True if `cmd` runs and exits with status 0 (output discarded).
pub fn runs_ok(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Lines a child printed, stdout and stderr apart, and whether each stream has ended.
#[derive(Default)]
struct Lines {
    out: Vec<String>,
    err: Vec<String>,
    ended: usize,
}

#[derive(Default)]
struct Shared {
    lines: Mutex<Lines>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running child process, stopped when dropped: its stdin is closed (the test servers
/// exit on end of file, which also covers a test process that dies without unwinding), then
/// after at most [`STOP_GRACE`] it is killed. Its stdout and stderr lines are collected.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    shared: Arc<Shared>,
}

impl Proc {
    /// Starts `cmd` with piped stdio; panics (naming `name`) if it cannot be spawned.
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({cmd:?}): {e}"));
        let shared = Arc::new(Shared::default());
        collect(child.stdout.take().expect("stdout"), shared.clone(), false);
        collect(child.stderr.take().expect("stderr"), shared.clone(), true);
        Proc {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            shared,
        }
    }

    /// The first stdout line for which `pred` holds, waiting up to `timeout`; `None` if none
    /// came in time or the process closed its stdout first.
    pub fn wait_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut g = self.shared.lock();
        loop {
            if let Some(l) = g.out.iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || g.ended == 2 {
                return None;
            }
            g = self
                .shared
                .cond
                .wait_timeout(g, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.shared.lock().out.clone()
    }

    /// Everything printed on stderr so far, for failure messages.
    pub fn stderr_text(&self) -> String {
        self.shared.lock().err.join("\n")
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the `ready k=v ...` line and returns its values; panics with the process's
    /// stderr if it does not come within [`START_TIMEOUT`].
    pub fn ready(&self) -> Vec<(String, u16)> {
        let Some(line) = self.wait_line(START_TIMEOUT, |l| l.starts_with("ready ")) else {
            panic!(
                "{} printed no `ready` line within {START_TIMEOUT:?}; stderr:\n{}",
                self.name,
                self.stderr_text()
            );
        };
        parse_ready(&line).unwrap_or_else(|| panic!("{}: bad ready line {line:?}", self.name))
    }
}

/// `ready tls=1 h2c=2` → `[("tls", 1), ("h2c", 2)]`.
fn parse_ready(line: &str) -> Option<Vec<(String, u16)>> {
    line.split_whitespace()
        .skip(1)
        .map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// The port named `key` in a parsed ready line; panics if absent.
pub fn port(values: &[(String, u16)], key: &str) -> u16 {
    values
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no {key}= in the ready line {values:?}"))
}

fn collect(stream: impl Read + Send + 'static, shared: Arc<Shared>, is_err: bool) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut g = shared.lock();
            if is_err { &mut g.err } else { &mut g.out }.push(line);
            shared.cond.notify_all();
        }
        shared.lock().ended += 1;
        shared.cond.notify_all();
    });
}

impl Drop for Proc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + STOP_GRACE;
        while self.exited().is_none() && Instant::now() < deadline {
            // Bounded poll for a clean exit (nginx's wrapper stops nginx on end of input).
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let _ = writeln!(
                std::io::stderr(),
                "--- {} stderr ---\n{}",
                self.name,
                self.stderr_text()
            );
        }
    }
}

/// A fresh directory under the system temporary directory, removed with its contents when
/// dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<tmp>/curlew-<tag>-<pid>-<n>`; panics if that fails.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("curlew-{tag}-{}-{n}", std::process::id()));
            match std::fs::create_dir(&p) {
                Ok(()) => return TempDir(p),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("creating {}: {e}", p.display()),
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
