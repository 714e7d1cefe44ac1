//! Timing for the benchmarks: the median of repeated runs.

use std::time::{Duration, Instant};

/// Median time of one run of `f`, after one warm-up run, over at least five
/// runs and as many more as fit in `budget` (at most 10,000).
pub fn median_time(budget: Duration, mut f: impl FnMut()) -> Duration {
    let [median] = paired_medians(budget, [&mut f]);
    median
}

/// The median time of each of `runs`, run in turn (one of each, then
/// again), after one warm-up run each, over at least five rounds and as many
/// more as fit in `budget` per function. The machines the benchmarks run on
/// change speed for seconds at a time (other work on the same host); taking
/// turns, every function sees the same mix of fast and slow stretches, so
/// the ratios of the medians hold where medians measured one after the
/// other can differ by half.
pub fn paired_medians<const N: usize>(budget: Duration, mut runs: [&mut dyn FnMut(); N]) -> [Duration; N] {
    for f in runs.iter_mut() {
        f();
    }
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    let started = Instant::now();
    let total = budget * u32::try_from(N).unwrap_or(u32::MAX);
    while times[0].len() < 5 || (started.elapsed() < total && times[0].len() < 10_000) {
        for (f, spent) in runs.iter_mut().zip(times.iter_mut()) {
            let run = Instant::now();
            f();
            spent.push(run.elapsed());
        }
    }
    times.map(|mut spent| {
        spent.sort();
        spent[spent.len() / 2]
    })
}
