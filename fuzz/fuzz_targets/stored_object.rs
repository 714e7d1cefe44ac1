//! Fuzzes `otlp_capture_guest::fuzzing::stored_object`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_capture_guest::fuzzing::stored_object(data));
