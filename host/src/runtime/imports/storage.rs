//! The `storage` import: the guest's puts go to an [`ObjectSink`], normally
//! the write-behind [`Uploader`]. Failures are errors the guest sees, never
//! traps: the guest reports them to the host in its own result.

use bytes::Bytes;

use crate::runtime::bindings::StorageError;
use crate::runtime::bindings::otlp::capture::storage::Host;
use crate::runtime::state::HostState;
use crate::storage::uploader::{QueueError, Uploader};

/// Where the storage import puts objects.
pub trait ObjectSink: Send + Sync {
    /// Takes responsibility for `body` under `key`.
    fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StorageError>;
}

impl ObjectSink for Uploader {
    fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StorageError> {
        Uploader::put(self, key, body, content_type).map_err(|e| match e {
            QueueError::Full { .. } | QueueError::Closed => StorageError::Busy(e.to_string()),
        })
    }
}

impl Host for HostState {
    fn put(&mut self, key: String, body: Vec<u8>, content_type: String) -> Result<(), StorageError> {
        if !key.starts_with("sessions/") || key.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(StorageError::InvalidKey(format!("{key:?} is not a key under sessions/")));
        }
        if body.len() > self.max_object_bytes {
            return Err(StorageError::Backend(format!(
                "object of {} bytes exceeds the host's limit of {} bytes",
                body.len(),
                self.max_object_bytes
            )));
        }
        self.capabilities.sink.put(&key, Bytes::from(body), &content_type)
    }
}
