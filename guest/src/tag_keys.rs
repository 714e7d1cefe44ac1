//! The resource attributes a capture adds, named once for both ways of
//! tagging (decoded in `tagging`, on the wire in `wire::tag`).

/// Resource attribute holding the session id.
pub const SESSION_ID_KEY: &str = "otlp_capture.session.id";
/// Resource attribute holding the enabled flags (string array).
pub const ENABLED_FLAGS_KEY: &str = "otlp_capture.enabled_flags";
