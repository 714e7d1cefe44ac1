//! The ranges of the numbers users, clients and endpoints give (durations,
//! factors, sizes), and the parsers that check them where they are parsed:
//! a value out of range is refused with a one-line message naming it and
//! the range, so no later arithmetic on it can overflow or panic.

use std::time::Duration;

/// The longest wait a timeout, an interval or an endpoint's `Retry-After`
/// may ask for.
pub const MAX_SHORT_DURATION: Duration = Duration::from_secs(60 * 60);

/// The longest duration a retention or session bound may name (100 years).
pub const MAX_LONG_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The longest idle gap a replay may be asked to keep (a week).
pub const MAX_IDLE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The longest a replay may spend retrying, summed over the run (a day).
pub const MAX_RETRY_TIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The slowest replay speed (1000 times slower than real time).
pub const MIN_SPEED: f64 = 0.001;

/// The fastest replay speed short of `max`.
pub const MAX_SPEED: f64 = 1_000_000.0;

/// A duration as users type it (`5s`, `250ms`, `2h`), at most `max`.
pub fn duration(what: &str, text: &str, max: Duration) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{what} {text:?} is not a duration such as 5s, 250ms or 2h: {e}"))?;
    if parsed > max {
        return Err(format!("{what} {text:?} is out of range: at most {}", humantime::format_duration(max)));
    }
    Ok(parsed)
}

/// A number of seconds, finite, in `[min, max]`.
pub fn seconds(what: &str, value: f64, min: Duration, max: Duration) -> Result<Duration, String> {
    let out_of_range =
        || format!("{what} {} is out of range: {} to {} seconds", shown(value), min.as_secs_f64(), max.as_secs_f64());
    let parsed = Duration::try_from_secs_f64(value).map_err(|_| out_of_range())?;
    if parsed < min || parsed > max {
        return Err(out_of_range());
    }
    Ok(parsed)
}

/// A whole number of MiB as bytes, between 1 MiB and `max_mib`.
pub fn mebibytes(what: &str, mib: u64, max_mib: u64) -> Result<u64, String> {
    if !(1..=max_mib).contains(&mib) {
        return Err(format!("{what} {mib} is out of range: 1 to {max_mib} MiB"));
    }
    Ok(mib << 20)
}

/// A number as a person reads it in a message: `1e300`, not its 301 digits.
pub fn shown(value: f64) -> String {
    let size = value.abs();
    if size != 0.0 && !(1e-4..1e15).contains(&size) { format!("{value:e}") } else { format!("{value}") }
}

/// `duration` for a clap flag: a timeout or an interval, at most an hour.
pub fn short_duration(text: &str) -> Result<Duration, String> {
    duration("the duration", text, MAX_SHORT_DURATION)
}

/// `duration` for a clap flag: an age or a session's bound, at most 100 years.
pub fn long_duration(text: &str) -> Result<Duration, String> {
    duration("the duration", text, MAX_LONG_DURATION)
}

/// A wait an endpoint asked for, held to [`MAX_SHORT_DURATION`]: past it a
/// client gives up waiting anyway, and a larger one overflows the clock.
pub fn endpoint_wait(wait: Duration) -> Duration {
    wait.min(MAX_SHORT_DURATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_past_their_range_are_refused_with_the_range() {
        assert_eq!(short_duration("250ms"), Ok(Duration::from_millis(250)));
        let refused = short_duration("2h").unwrap_err();
        assert!(refused.contains("\"2h\"") && refused.contains("1h"), "{refused}");
        assert!(long_duration("99999999999999999999s").is_err());
        assert!(long_duration("1e300").is_err());
        assert_eq!(long_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
    }

    #[test]
    fn seconds_must_be_finite_and_in_range() {
        let day = Duration::from_secs(86_400);
        assert_eq!(seconds("idle", 2.5, Duration::ZERO, day), Ok(Duration::from_millis(2500)));
        for bad in [1e300, f64::INFINITY, f64::NAN, -1.0, 86_401.0] {
            let refused = seconds("idle", bad, Duration::ZERO, day).unwrap_err();
            assert!(refused.contains("0 to 86400 seconds"), "{refused}");
        }
        assert!(seconds("timeout", 0.0, Duration::from_millis(1), day).is_err());
        assert!(seconds("idle", 1e300, Duration::ZERO, day).unwrap_err().starts_with("idle 1e300 is out of range"));
        assert_eq!((shown(2.5), shown(1e-300), shown(0.0)), ("2.5".into(), "1e-300".into(), "0".into()));
    }

    #[test]
    fn sizes_stay_below_overflow() {
        assert_eq!(mebibytes("--backlog-mib", 2, 1024), Ok(2 << 20));
        assert!(mebibytes("--backlog-mib", 0, 1024).is_err());
        assert!(mebibytes("--backlog-mib", u64::MAX, 1024).is_err());
        assert_eq!(endpoint_wait(Duration::MAX), MAX_SHORT_DURATION);
    }
}
