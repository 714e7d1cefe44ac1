//! The `storage` import, served by the instance's object sink. Failures are
//! errors the guest sees, never traps: the guest reports them in its own
//! result. The host bounds what a guest may put: keys stay under
//! `sessions/` and objects under the instance's size limit.

use bytes::Bytes;

use crate::runtime::bindings::otlp::capture::storage::{Host, StorageError};
use crate::runtime::processor_types::{PutError, StagedPut};
use crate::runtime::state::HostState;

impl Host for HostState {
    fn put(&mut self, key: String, body: Vec<u8>, content_type: String) -> Result<(), StorageError> {
        if !key.starts_with("sessions/") || key.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(PutError::InvalidKey(format!("{key:?} is not a key under sessions/")).into());
        }
        if body.len() > self.max_object_bytes {
            return Err(PutError::Backend(format!(
                "object of {} bytes exceeds the host's limit of {} bytes",
                body.len(),
                self.max_object_bytes
            ))
            .into());
        }
        let body = Bytes::from(body);
        if let Some(staged) = &mut self.staged {
            staged.push(StagedPut { key, body, content_type });
            return Ok(());
        }
        self.capabilities.sink.put(&key, body, &content_type).map_err(StorageError::from)
    }
}
