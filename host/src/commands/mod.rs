//! The command-line commands other than `serve`: sessions, replay, inspect.

pub mod replay;
pub mod session;
