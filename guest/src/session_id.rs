//! The session id rules of the storage layout: an id must never reach
//! outside its own `sessions/{id}/` prefix.

use crate::records::ProcessorError;

/// The longest id accepted.
pub const MAX_LEN: usize = 128;

/// Checks `id`: 1-128 characters of `[A-Za-z0-9._-]`, starting with a letter
/// or digit.
pub fn validate(id: &str) -> Result<(), ProcessorError> {
    let invalid = |why: String| Err(ProcessorError::InvalidSessionId(why));
    if id.is_empty() {
        return invalid("the session id is empty".into());
    }
    if id.len() > MAX_LEN {
        return invalid(format!("the session id is {} characters long; at most {MAX_LEN} are allowed", id.len()));
    }
    if let Some(bad) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return invalid(format!("the session id contains {bad:?}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed"));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return invalid("the session id must start with a letter or a digit".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_layout_ids() {
        for id in ["a", "payment-failure.2026-11-24_01", "0", &"x".repeat(128)] {
            assert!(validate(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn refuses_ids_that_could_escape_the_prefix() {
        for id in ["", "..", "../etc", "a/b", ".hidden", "-x", "_x", "a b", "é", "a\\b", "a\0", &"x".repeat(129)] {
            assert!(matches!(validate(id), Err(ProcessorError::InvalidSessionId(_))), "{id:?}");
        }
    }
}
