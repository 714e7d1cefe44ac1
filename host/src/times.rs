//! Times as users type them: telemetry times (`--from`, `--to`, a phase's
//! `--at`) and session start bounds (`--since`, `--until`).

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A telemetry time given as unix nanoseconds or RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelemetryTime(pub u64);

impl FromStr for TelemetryTime {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(nanos) = text.parse::<u64>() {
            return Ok(TelemetryTime(nanos));
        }
        let time = humantime::parse_rfc3339_weak(text)
            .map_err(|_| format!("{text:?} is neither unix nanoseconds nor RFC 3339"))?;
        let since_epoch = time
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| format!("{text:?} is before 1970, which is no telemetry time"))?;
        Ok(TelemetryTime(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)))
    }
}

/// A start time as `--since`/`--until` take it: RFC 3339, unix nanoseconds,
/// or a duration meaning that long ago (`2h`, `30d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartBound(pub u64);

impl FromStr for StartBound {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(ago) = humantime::parse_duration(text) {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
            return Ok(StartBound(u64::try_from(now.saturating_sub(ago).as_nanos()).unwrap_or(u64::MAX)));
        }
        let time: TelemetryTime = text
            .parse()
            .map_err(|_| format!("{text:?} is neither RFC 3339, unix nanoseconds nor a duration such as 2h"))?;
        Ok(StartBound(time.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_bounds_take_times_nanos_and_ages() {
        assert_eq!("1700000000000000000".parse(), Ok(StartBound(1_700_000_000_000_000_000)));
        assert_eq!("2023-11-14T22:13:20Z".parse(), Ok(StartBound(1_700_000_000_000_000_000)));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        let StartBound(ago) = "2h".parse().unwrap();
        assert!((now - ago).abs_diff(7_200_000_000_000) < 60_000_000_000);
        assert!("yesterday-ish".parse::<StartBound>().is_err());
    }
}
