//! The host side of the component's imports, one file per WIT interface.

pub mod clock;
pub mod storage;
pub mod types;
