//! Fuzzes `otlp_capture_guest::fuzzing::object_key`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_capture_guest::fuzzing::object_key(data));
