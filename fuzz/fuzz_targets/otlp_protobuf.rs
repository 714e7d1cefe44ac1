//! Fuzzes `otlp_capture_guest::fuzzing::otlp_protobuf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_capture_guest::fuzzing::otlp_protobuf(data));
