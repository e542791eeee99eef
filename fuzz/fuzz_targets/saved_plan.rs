//! Saved-plan loading: see `cityform_fuzz::saved_plan`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cityform_fuzz::saved_plan(data));
