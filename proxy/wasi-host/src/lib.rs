//! What both proxy adapters take from their wasi host: outgoing HTTP requests through
//! wasi:http/outgoing-handler, and their settings from the environment the
//! host gives them (`wasmtime serve --env NAME=VALUE`).

pub mod http;

/// A setting from the environment: unset and empty are the same.
pub fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}
