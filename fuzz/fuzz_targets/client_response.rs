//! The client's answer parsing and error classification: see `cityform_fuzz::client_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cityform_fuzz::client_response(data));
