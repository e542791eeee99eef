//! The emulator's request decoding, authentication and actions: see `cityform_fuzz::emulator_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cityform_fuzz::emulator_request(data));
