//! The otlp-capture component: records OTLP requests into a session's
//! storage layout (tagging, sampling, gzip, object keys, metadata.json), and
//! prepares stored objects for replay (timestamp rewriting, id remapping).
//!
//! The logic is plain Rust in the modules below, unit-tested natively; the
//! WebAssembly glue in `component` only converts between WIT and domain types
//! and is compiled for `wasm32` alone.

pub mod capabilities;
pub mod codec;
pub mod filter;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod gzip;
pub mod id_remap;
pub mod json_spellings;
pub mod keys;
pub mod metadata;
pub mod otlp;
#[cfg(test)]
mod path_agreement;
pub mod processor;
pub mod records;
pub mod redaction;
pub mod replay;
pub mod sampling;
pub mod session_id;
pub mod summary;
pub mod tag_keys;
pub mod tagging;
pub mod timestamps;
pub mod timing;
pub mod wire;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component;
