//! The one way tests wait for something to happen: poll a condition until
//! it holds or a deadline passes, then fail with what was awaited.

use std::time::{Duration, Instant};

/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(50);

/// Polls `done` until it returns `Some`, and returns that; panics naming
/// `what` (and the last value `describe` gives) after `limit`.
pub fn until<T>(what: &str, limit: Duration, mut done: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = done() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        std::thread::sleep(POLL);
    }
}

/// Polls `done` until it returns true; panics naming `what` after `limit`.
pub fn until_true(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    until(what, limit, || done().then_some(()));
}
