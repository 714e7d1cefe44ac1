//! The `clock` import: the wall clock, or a fixed instant for tests.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::runtime::bindings::otlp::capture::clock::Host;
use crate::runtime::state::HostState;

/// A source of UTC time in unix nanoseconds.
pub trait Clock: Send + Sync {
    /// Now, never zero.
    fn now_unix_nanos(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_nanos(&self) -> u64 {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX).max(1)
    }
}

/// A clock that always says the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_unix_nanos(&self) -> u64 {
        self.0.max(1)
    }
}

impl Host for HostState {
    fn now_unix_nanos(&mut self) -> u64 {
        self.capabilities.clock.now_unix_nanos()
    }
}
