//! Fuzzes `otlp_capture_guest::fuzzing::gzip_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_capture_guest::fuzzing::gzip_stream(data));
