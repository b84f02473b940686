//! Running the `curlew` tool from a test: stdout and stderr collected while it runs, stdin
//! written by a thread of its own (the tool reads it only as fast as its server takes it), a
//! bounded wait, and a kill with a failing test past it.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest a run may take before the test kills the tool and fails.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// `curlew args`, every stream piped.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_curlew"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn curlew")
}

/// Wait (bounded) for the tool and collect its output. Its stdin, if still piped, is closed
/// first; `keep_stdin` stays open until it has ended.
pub fn finish(mut child: Child, keep_stdin: Option<ChildStdin>) -> Output {
    drop(child.stdin.take());
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("curlew did not finish within {TOOL_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(keep_stdin);
    Output {
        status,
        stdout: out_t.join().expect("stdout reader"),
        stderr: err_t.join().expect("stderr reader"),
    }
}

/// `curlew args` with end of file on stdin at once.
pub fn run(args: &[&str]) -> Output {
    finish(spawn(args), None)
}

/// `curlew args` with `input` on stdin, then end of file.
pub fn run_with_input(args: &[&str], input: &[u8]) -> Output {
    let mut child = spawn(args);
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = finish(child, None);
    writer.join().expect("stdin writer");
    out
}
