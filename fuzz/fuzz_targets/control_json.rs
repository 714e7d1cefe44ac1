//! Fuzzes `otlp_capture::fuzzing::control_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_capture::fuzzing::control_json(data));
