//! Replays the checked-in fuzz corpora (`tests/fuzz/corpus/<target>/`)
//! through the same code the cargo-fuzz targets run
//! (`tests/fuzz/targets_impl.rs`), so an ordinary `cargo test` guards
//! against regressions without libFuzzer. Run the fuzzers themselves with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz <target>`.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "fuzz/targets_impl.rs"]
mod targets_impl;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    for path in &files {
        let data = fs::read(path).expect("read corpus file");
        let result = std::panic::catch_unwind(|| run(&data));
        assert!(result.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn ws_decoder() {
    replay("ws_decoder", targets_impl::ws_decoder);
}

#[test]
fn http1_response() {
    replay("http1_response", targets_impl::http1_response);
}

#[test]
fn handshake() {
    replay("handshake", targets_impl::handshake);
}

#[test]
fn inflate() {
    replay("inflate", targets_impl::inflate);
}

#[test]
fn ws_session_ops() {
    replay("ws_session_ops", targets_impl::ws_session_ops);
}

#[test]
fn h2_frames() {
    replay("h2_frames", targets_impl::h2_frames);
}

#[test]
fn h2_conn() {
    replay("h2_conn", targets_impl::h2_conn);
}
