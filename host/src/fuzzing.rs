//! What the fuzz targets `control_json` and `cli_numbers` in `fuzz/` check:
//! the control API's JSON bodies and the command line's duration and number
//! parsers never panic, and whatever they accept is inside its range. Each
//! property panics when it is broken.
//!
//! Inputs the fuzzer found to break one are kept in
//! `tests/fixtures/fuzz/<target>/` and replayed by the unit test below on
//! the stable toolchain.

use std::time::Duration;

use crate::control::{OtelAiReplayRequest, ReplayRequest, StartRequest};
use crate::phases::MarkRequest;
use crate::ranges;
use crate::replay::ReplaySettings;
use crate::replay::plan::Speed;
use crate::replay::settings::Timeout;
use crate::times::{StartBound, TelemetryTime};

/// A control body (the first byte picks which: session start, replay,
/// otel-ai replay start, phase), parsed and turned into settings as the
/// handlers do.
pub fn control_json(data: &[u8]) {
    let Some((kind, body)) = data.split_first() else { return };
    match kind % 4 {
        0 => {
            if let Ok(request) = serde_json::from_slice::<StartRequest>(body)
                && let Ok(config) = request.into_config()
            {
                assert!(config.sample_ratio > 0.0 && config.sample_ratio <= 1.0);
            }
        }
        1 => {
            if let Ok(request) = serde_json::from_slice::<ReplayRequest>(body) {
                check_replay(ReplaySettings::choose("fuzz-1", &request.choices).ok());
            }
        }
        2 => {
            if let Ok(request) = serde_json::from_slice::<OtelAiReplayRequest>(body)
                && let Ok(choices) = request.choices()
            {
                check_replay(ReplaySettings::choose("fuzz-1", &choices).ok());
            }
        }
        _ => {
            if let Ok(request) = serde_json::from_slice::<MarkRequest>(body) {
                let _ = request.into_phase(1_700_000_000_000_000_000);
            }
        }
    }
}

/// What an accepted replay may hold.
fn check_replay(settings: Option<ReplaySettings>) {
    let Some(settings) = settings else { return };
    if let Speed::Factor(factor) = settings.speed {
        assert!((ranges::MIN_SPEED..=ranges::MAX_SPEED).contains(&factor), "speed {factor}");
    }
    assert!(settings.max_idle.is_none_or(|idle| idle <= ranges::MAX_IDLE));
    assert!(settings.timeout > Duration::ZERO && settings.timeout <= ranges::MAX_SHORT_DURATION);
    assert!(settings.retry.max_elapsed <= ranges::MAX_RETRY_TIME);
    // What the schedule computes from them must not overflow.
    let _ = std::time::Instant::now().checked_add(settings.timeout);
}

/// A command-line value (as text), through every parser of durations,
/// speeds, timeouts and times.
pub fn cli_numbers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(Speed::Factor(factor)) = text.parse::<Speed>() {
        assert!((ranges::MIN_SPEED..=ranges::MAX_SPEED).contains(&factor), "speed {factor}");
    }
    if let Ok(Timeout(timeout)) = text.parse::<Timeout>() {
        assert!(timeout > Duration::ZERO && timeout <= ranges::MAX_SHORT_DURATION);
    }
    if let Ok(duration) = ranges::short_duration(text) {
        assert!(duration <= ranges::MAX_SHORT_DURATION);
    }
    if let Ok(duration) = ranges::long_duration(text) {
        assert!(duration <= ranges::MAX_LONG_DURATION);
    }
    let _ = text.parse::<TelemetryTime>();
    let _ = text.parse::<StartBound>();
    let _ = text.parse::<crate::timeline::Step>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kept inputs (one file each) under `tests/fixtures/fuzz/<target>/`.
    fn kept(target: &str) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fuzz").join(target);
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries.filter_map(|e| std::fs::read(e.ok()?.path()).ok()).collect()
    }

    #[test]
    fn control_bodies_of_every_kind_hold_their_ranges() {
        let bodies: [&[u8]; 8] = [
            br#"{"sessionId": "a", "maxSizeMB": 1e300, "sampleRatio": 0.5}"#,
            br#"{"sessionId": "a", "endpoint": "http://127.0.0.1:9", "maxIdleSeconds": 1e300}"#,
            br#"{"sessionId": "a", "endpoint": "http://127.0.0.1:9", "timeout": "1e300", "speed": 1e-300}"#,
            br#"{"sessionId": "a", "endpoint": "http://127.0.0.1:9", "speed": "max", "maxRetryTime": "1h"}"#,
            br#"{"sessionId": "a", "speedMultiplier": 1e-300}"#,
            br#"{"sessionId": "a", "speedMultiplier": 50}"#,
            br#"{"name": "anomaly", "at": "1e300"}"#,
            br#"{"name": "anomaly", "at": 18446744073709551615}"#,
        ];
        for (kind, body) in [0u8, 1, 1, 1, 2, 2, 3, 3].into_iter().zip(bodies) {
            let mut data = vec![kind];
            data.extend_from_slice(body);
            control_json(&data);
        }
        for input in kept("control_json") {
            control_json(&input);
        }
    }

    #[test]
    fn command_line_numbers_hold_their_ranges() {
        for text in ["1e-300", "1e300", "max", "0.0001", "50x", "99999999999999999999s", "1e300s", "30d", "NaN", "-1"] {
            cli_numbers(text.as_bytes());
        }
        for input in kept("cli_numbers") {
            cli_numbers(&input);
        }
    }
}
