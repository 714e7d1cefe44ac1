//! The one way tests wait for something to happen: poll a condition until
//! it holds or a deadline passes, then fail with what was awaited.

use std::time::{Duration, Instant};

/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(50);

/// How often the clock is polled by the waits on the clock itself.
const CLOCK_POLL: Duration = Duration::from_millis(1);

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

fn unix_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// Waits until the wall clock reads a later millisecond than now, so what
/// happens next is stamped after what happened before (phases against the
/// telemetry they bound).
pub fn next_millisecond() {
    let now = unix_millis();
    until_clock("the clock to move on by a millisecond", || unix_millis() > now);
}

/// Waits until the wall clock enters the next whole second, so what happens
/// next falls into another one-second step of a timeline.
pub fn next_second() {
    let now = unix_millis() / 1000;
    until_clock("the clock to enter the next second", || unix_millis() / 1000 > now);
}

fn until_clock(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen within 2 s");
        std::thread::sleep(CLOCK_POLL);
    }
}

/// Watches that `holds` stays true for all of `window` (what must not
/// change, such as a session no tap may reopen): polled throughout, failing
/// at the first poll where it does not hold.
pub fn holds_for(what: &str, window: Duration, mut holds: impl FnMut() -> bool) {
    let end = Instant::now() + window;
    loop {
        assert!(holds(), "{what} stopped holding");
        if Instant::now() >= end {
            return;
        }
        std::thread::sleep(POLL);
    }
}
