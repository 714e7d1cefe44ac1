//! The key redaction rules pseudonymize with (`"hash": "hmac-sha256"`),
//! held by the host alone: the component asks for a digest through its
//! `pseudonyms` import and never sees the key, so it cannot reach an
//! object, metadata.json, the journal or a log line.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Fewest bytes a key may have: HMAC-SHA256's block of security.
pub const MIN_KEY_BYTES: usize = 32;

/// An HMAC-SHA256 key. Its `Debug` names no byte of it.
#[derive(Clone)]
pub struct RedactionKey {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for RedactionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedactionKey({} bytes)", self.bytes.len())
    }
}

impl RedactionKey {
    /// The key in `bytes`, at least [`MIN_KEY_BYTES`] long.
    pub fn new(bytes: Vec<u8>) -> Result<RedactionKey, String> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!("a redaction key needs at least {MIN_KEY_BYTES} bytes, this one has {}", bytes.len()));
        }
        Ok(RedactionKey { bytes })
    }

    /// The key in the file at `path`: its bytes, one trailing newline (`\n`
    /// or `\r\n`) dropped. The error names the file, never its content.
    pub fn read(path: &Path) -> Result<RedactionKey, String> {
        let mut bytes = std::fs::read(path).map_err(|e| format!("redaction key file {}: {e}", path.display()))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        RedactionKey::new(bytes).map_err(|e| format!("redaction key file {}: {e}", path.display()))
    }

    /// The lowercase hex HMAC-SHA256 of `text` under this key.
    pub fn hmac_sha256_hex(&self, text: &[u8]) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(text);
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_the_hex_hmac_sha256_other_implementations_compute() {
        let key = RedactionKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        // Python: hmac.new(key, b"ann@example.com", hashlib.sha256).hexdigest()
        assert_eq!(
            key.hmac_sha256_hex(b"ann@example.com"),
            "093e3dd9df951c5008225d533a0175475075f7551ed269c5e61fa29bc2819ae4"
        );
        assert_ne!(key.hmac_sha256_hex(b"a"), key.hmac_sha256_hex(b"b"));
    }

    #[test]
    fn short_keys_are_refused_and_one_newline_is_dropped() {
        assert!(RedactionKey::new(vec![1; MIN_KEY_BYTES - 1]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, [b"k".repeat(MIN_KEY_BYTES), b"\n".to_vec()].concat()).unwrap();
        let key = RedactionKey::read(&file).unwrap();
        assert_eq!(
            key.hmac_sha256_hex(b"x"),
            RedactionKey::new(b"k".repeat(MIN_KEY_BYTES)).unwrap().hmac_sha256_hex(b"x")
        );
        std::fs::write(&file, b"k".repeat(MIN_KEY_BYTES - 1)).unwrap();
        let error = RedactionKey::read(&file).unwrap_err();
        assert!(error.contains("at least 32 bytes") && !error.contains("kkk"), "{error}");
        assert_eq!(format!("{key:?}"), "RedactionKey(32 bytes)");
    }
}
