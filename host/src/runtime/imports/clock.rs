//! The `clock` import, served by the instance's [`Clock`] capability.

use crate::runtime::bindings::otlp::capture::clock::Host;
use crate::runtime::state::HostState;

impl Host for HostState {
    fn now_unix_nanos(&mut self) -> u64 {
        self.capabilities.clock.now_unix_nanos()
    }
}
