//! The `randomness` import, served by the instance's [`Randomness`]
//! capability. A request is capped so a guest cannot make the host allocate
//! without bound; the guest refuses a short answer.
//!
//! [`Randomness`]: crate::runtime::state::Randomness

use crate::runtime::bindings::otlp::capture::randomness::Host;
use crate::runtime::state::HostState;

/// Most bytes one call returns (object keys take 16).
const MAX_BYTES_PER_CALL: u32 = 4096;

impl Host for HostState {
    fn random_bytes(&mut self, len: u32) -> Vec<u8> {
        self.capabilities.random.random_bytes(len.min(MAX_BYTES_PER_CALL) as usize)
    }
}
