//! Fuzzes `otlp_capture_guest::fuzzing::metadata_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_capture_guest::fuzzing::metadata_json(data));
