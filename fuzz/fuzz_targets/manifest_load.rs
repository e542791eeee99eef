//! Manifest loading and validation: see `cityform_fuzz::manifest_load`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cityform_fuzz::manifest_load(data));
