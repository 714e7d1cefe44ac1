//! Log lines that a client can cause, at most one per interval: a flood of
//! refused requests must not flood the log too. What was held back is
//! counted in the next line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One kind of line, written at most once per interval.
#[derive(Debug)]
pub struct Throttle {
    interval_millis: u64,
    last_millis: AtomicU64,
    held_back: AtomicU64,
}

impl Throttle {
    /// At most one line per `interval`.
    pub const fn new(interval: Duration) -> Throttle {
        Throttle {
            interval_millis: interval.as_millis() as u64,
            last_millis: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// Calls `write` with the number of lines held back since the last one
    /// when a line is due; counts this one as held back otherwise.
    pub fn write(&self, write: impl FnOnce(u64)) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let last = self.last_millis.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= self.interval_millis;
        if due && self.last_millis.compare_exchange(last, now.max(1), Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            write(self.held_back.swap(0, Ordering::AcqRel));
        } else {
            self.held_back.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_per_interval_and_counts_the_rest() {
        let throttle = Throttle::new(Duration::from_millis(200));
        let mut written = Vec::new();
        for _ in 0..50 {
            throttle.write(|held| written.push(held));
        }
        assert_eq!(written, [0]);
        std::thread::sleep(Duration::from_millis(250));
        throttle.write(|held| written.push(held));
        assert_eq!(written, [0, 49]);
    }
}
