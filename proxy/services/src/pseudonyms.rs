//! Pseudonyms for the proxy: HMAC-SHA256 under the key the host's
//! environment gives (with SigV4's HMAC), refused when it is shorter than
//! the bundled host accepts.

use crate::sigv4;

/// Fewest key bytes, as `otlp-capture serve --redaction-key-file` requires.
pub const MIN_KEY_BYTES: usize = 32;

/// The lowercase hex HMAC-SHA256 of `text` under `key`; `None` for a key
/// shorter than [`MIN_KEY_BYTES`] (rules that hash then fail).
pub fn hmac_sha256_hex(key: &[u8], text: &[u8]) -> Option<String> {
    if key.len() < MIN_KEY_BYTES {
        return None;
    }
    Some(sigv4::hex(&sigv4::hmac(key, text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_what_python_computes_and_short_keys_give_none() {
        // Python: hmac.new(key, b"ann@example.com", hashlib.sha256).hexdigest()
        let digest = hmac_sha256_hex(b"0123456789abcdef0123456789abcdef", b"ann@example.com");
        assert_eq!(digest.as_deref(), Some("093e3dd9df951c5008225d533a0175475075f7551ed269c5e61fa29bc2819ae4"));
        assert_eq!(hmac_sha256_hex(b"short", b"x"), None);
    }
}
