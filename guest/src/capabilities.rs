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

/// Keyed hashing for pseudonyms. The key stays with the host: the
/// component hands over the text and gets the digest back.
pub trait Pseudonyms {
    /// The lowercase hex HMAC-SHA256 of `text` under the host's redaction
    /// key, `None` when the host holds none.
    fn hmac_sha256_hex(&self, text: &[u8]) -> Option<String>;
}

/// Everything a capture call uses of its host, together.
#[derive(Clone, Copy)]
pub struct HostImports<'a> {
    /// Stamps object keys.
    pub clock: &'a dyn Clock,
    /// Makes object keys unique.
    pub random: &'a dyn Randomness,
    /// Hashes for redaction rules that pseudonymize.
    pub pseudonyms: &'a dyn Pseudonyms,
    /// Takes the object.
    pub sink: &'a dyn ObjectSink,
}

/// A host without a redaction key: rules that hash are refused.
pub struct NoPseudonyms;

impl Pseudonyms for NoPseudonyms {
    fn hmac_sha256_hex(&self, _: &[u8]) -> Option<String> {
        None
    }
}
