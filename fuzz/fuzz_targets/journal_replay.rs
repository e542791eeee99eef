//! Journal parsing and replay: see `cityform_fuzz::journal_replay`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cityform_fuzz::journal_replay(data));
