//! What a replay sends and when: the session's objects in capture-time order
//! across the selected signals, and the send schedule for a speed.

use std::time::Duration;

use crate::catalog::StoredObject;
use crate::ranges::{MAX_SPEED, MIN_SPEED};

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Capture gaps divided by this factor (1 is real time).
    Factor(f64),
    /// As fast as the target accepts.
    Max,
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::Factor(factor) => write!(f, "{factor}x"),
            Speed::Max => f.write_str("max"),
        }
    }
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let factor: f64 =
            text.trim_end_matches(['x', 'X']).parse().map_err(|_| format!("speed {text:?} is not a number or max"))?;
        if !(MIN_SPEED..=MAX_SPEED).contains(&factor) {
            return Err(format!("speed {text:?} is out of range: {MIN_SPEED} to {MAX_SPEED}, or max"));
        }
        Ok(Speed::Factor(factor))
    }
}

/// Orders objects by capture time, then key (stable across runs).
pub fn order(objects: &mut [StoredObject]) {
    objects.sort_by(|a, b| (a.capture_unix_millis, &a.key).cmp(&(b.capture_unix_millis, &b.key)));
}

/// When each object is sent, as an offset from the replay's start: at speed
/// s an object captured at c_i goes at (c_i - c_0)/s, with each gap capped
/// at `max_idle` (after scaling).
pub fn schedule(objects: &[StoredObject], speed: Speed, max_idle: Option<Duration>) -> Vec<Duration> {
    let mut at = Duration::ZERO;
    let mut previous = objects.first().map_or(0, |o| o.capture_unix_millis);
    objects
        .iter()
        .map(|object| {
            let gap_ms = object.capture_unix_millis.saturating_sub(previous);
            previous = object.capture_unix_millis;
            let wait = match speed {
                Speed::Max => Duration::ZERO,
                Speed::Factor(f) => Duration::from_secs_f64(gap_ms as f64 / 1000.0 / f),
            };
            at += max_idle.map_or(wait, |cap| wait.min(cap));
            at
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::Signal;

    fn object(key: &str, millis: u64) -> StoredObject {
        StoredObject { key: key.into(), signal: Signal::Traces, capture_unix_millis: millis, size: 1 }
    }

    #[test]
    fn parses_speeds() {
        assert_eq!("max".parse(), Ok(Speed::Max));
        assert_eq!("50".parse(), Ok(Speed::Factor(50.0)));
        assert_eq!("2.5x".parse(), Ok(Speed::Factor(2.5)));
        assert!("0".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }

    #[test]
    fn orders_across_signals_by_capture_time() {
        let mut objects = vec![object("b", 20), object("a", 30), object("c", 10), object("a0", 20)];
        order(&mut objects);
        let keys: Vec<_> = objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["c", "a0", "b", "a"]);
    }

    #[test]
    fn schedules_gaps_divided_by_speed_and_capped() {
        let objects = [object("a", 1000), object("b", 3000), object("c", 63000)];
        let ms = |v: Vec<Duration>| v.into_iter().map(|d| d.as_millis()).collect::<Vec<_>>();
        assert_eq!(ms(schedule(&objects, Speed::Factor(1.0), None)), [0, 2000, 62000]);
        assert_eq!(ms(schedule(&objects, Speed::Factor(10.0), None)), [0, 200, 6200]);
        assert_eq!(ms(schedule(&objects, Speed::Factor(1.0), Some(Duration::from_secs(5)))), [0, 2000, 7000]);
        assert_eq!(ms(schedule(&objects, Speed::Max, None)), [0, 0, 0]);
    }
}
