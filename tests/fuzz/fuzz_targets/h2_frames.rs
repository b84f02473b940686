#![no_main]

#[path = "../targets_impl.rs"]
mod targets_impl;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets_impl::h2_frames(data));
