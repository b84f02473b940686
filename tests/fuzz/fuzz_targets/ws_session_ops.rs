#![no_main]

#[path = "../targets_impl.rs"]
mod targets_impl;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets_impl::ws_session_ops(data));
