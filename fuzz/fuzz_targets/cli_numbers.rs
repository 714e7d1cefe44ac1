//! Fuzzes `otlp_capture::fuzzing::cli_numbers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_capture::fuzzing::cli_numbers(data));
