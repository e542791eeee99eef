//! State loading: see `cityform_fuzz::state_parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cityform_fuzz::state_parse(data));
