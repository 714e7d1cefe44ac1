//! Who may talk to the tap: bearer tokens for the OTLP receivers and for the
//! control API, compared in constant time and never logged, and the
//! loopback rule that guards the control API when no control token is set.

use std::fmt;
use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use crate::error::TapError;

/// A secret a client must present as `authorization: Bearer <token>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token; `None` for an empty or blank one, which would guard nothing.
    pub fn new(secret: &str) -> Option<Self> {
        let secret = secret.trim();
        (!secret.is_empty()).then(|| Token(secret.to_owned()))
    }

    /// Whether `headers` carry this token as a bearer credential. Takes the
    /// same time whatever the presented token shares with this one.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim());
        constant_time_eq(presented.as_bytes(), self.0.as_bytes())
    }

    /// Refuses a request whose headers do not carry this token.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), TapError> {
        if self.admits(headers) {
            Ok(())
        } else {
            Err(TapError::Unauthenticated("a valid `authorization: Bearer` token is required".into()))
        }
    }

    /// The secret, for a client that sends it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

/// Tokens never reach a log through `{:?}`.
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Compares two byte strings in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (i, y) in b.iter().enumerate() {
        let x = a.get(i).copied().unwrap_or(0);
        difference |= usize::from(x ^ y);
    }
    difference == 0
}

/// The address a request came from, as the server's listener saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// Who may use the control API.
#[derive(Debug, Clone)]
pub enum ControlAccess {
    /// Anyone presenting this token, from anywhere.
    Token(Token),
    /// Loopback peers only, without a token.
    Loopback,
}

impl ControlAccess {
    /// Refuses a control request from `peer` with `headers` that this rule
    /// does not admit (401 without the token, 403 from a non-loopback peer).
    /// An unknown peer is refused: the rule fails closed.
    pub fn check(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Result<(), TapError> {
        match self {
            ControlAccess::Token(token) => token.check(headers),
            ControlAccess::Loopback if peer.is_some_and(|p| p.ip().is_loopback()) => Ok(()),
            ControlAccess::Loopback => Err(TapError::Forbidden(
                "the control API answers loopback clients only; set a control token (serve --control-token) to use it from elsewhere".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_admitted() {
        let token = Token::new("s3cret").unwrap();
        assert!(token.admits(&bearer("Bearer s3cret")));
        assert!(token.admits(&bearer("bearer s3cret")));
        for wrong in ["Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret", "Bearer "] {
            assert!(!token.admits(&bearer(wrong)), "{wrong}");
        }
        assert!(!token.admits(&HeaderMap::new()));
        assert!(Token::new("  ").is_none());
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn the_control_api_is_loopback_only_without_a_token() {
        let loopback: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let open = ControlAccess::Loopback;
        assert!(open.check(Some(loopback), &HeaderMap::new()).is_ok());
        assert!(matches!(open.check(Some(remote), &HeaderMap::new()), Err(TapError::Forbidden(_))));
        assert!(matches!(open.check(None, &HeaderMap::new()), Err(TapError::Forbidden(_))));
        let guarded = ControlAccess::Token(Token::new("t").unwrap());
        assert!(guarded.check(Some(remote), &bearer("Bearer t")).is_ok());
        assert!(matches!(guarded.check(Some(loopback), &HeaderMap::new()), Err(TapError::Unauthenticated(_))));
    }
}
