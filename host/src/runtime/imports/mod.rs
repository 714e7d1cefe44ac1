//! The host side of the component's imports, one file per WIT interface.

mod clock;
mod pseudonyms;
mod randomness;
mod storage;
mod types;
