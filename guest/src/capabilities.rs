//! What the processor needs from its host, as small traits: the wasm build
//! implements them with the WIT imports, native tests with fakes.

use crate::records::StorageError;

/// The wall clock objects and metadata are stamped with.
pub trait Clock {
    /// Current UTC time, nanoseconds since the unix epoch.
    fn now_unix_nanos(&self) -> u64;
}

/// Where objects go.
pub trait ObjectSink {
    /// Stores `body` under `key`, replacing what is there.
    fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StorageError>;
}

/// Where the unique part of object keys comes from.
pub trait Randomness {
    /// `len` random bytes; a host may return fewer, which callers refuse.
    fn random_bytes(&self, len: usize) -> Vec<u8>;
}
