//! The command-line commands other than `serve`.

pub mod session;
