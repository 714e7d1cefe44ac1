//! Timing for the benchmarks: the median of repeated runs.

use std::time::{Duration, Instant};

/// Median time of one run of `f`, after one warm-up run, over at least five
/// runs and as many more as fit in `budget` (at most 10,000).
pub fn median_time(budget: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let mut runs = Vec::new();
    let started = Instant::now();
    while runs.len() < 5 || (started.elapsed() < budget && runs.len() < 10_000) {
        let run = Instant::now();
        f();
        runs.push(run.elapsed());
    }
    runs.sort();
    runs[runs.len() / 2]
}
