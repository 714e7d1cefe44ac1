//! The `pseudonyms` import, served by the instance's redaction key: the
//! digest goes to the guest, the key never does.

use crate::runtime::bindings::otlp::capture::pseudonyms::Host;
use crate::runtime::state::HostState;

impl Host for HostState {
    fn hmac_sha256(&mut self, text: Vec<u8>) -> Option<String> {
        self.capabilities.pseudonyms.as_ref().map(|key| key.hmac_sha256_hex(&text))
    }
}
