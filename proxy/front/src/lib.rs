//! The front adapter of the wasi:http proxy: the component's
//! wasi:http/incoming-handler. It takes OTLP/HTTP requests (`POST
//! /v1/traces|metrics|logs`, protobuf or JSON, gzip or not), forwards them
//! to `OTLP_CAPTURE_FORWARD` when set and answers with the upstream's
//! response, and records them into the session `OTLP_CAPTURE_SESSION`
//! through the processor. `POST /otlp-capture/stop` completes the session.
//!
//! A wasi:http host may run a fresh instance per request, so nothing is kept
//! between requests: the session's metadata.json lives in the store and is
//! updated with conditional puts (see [`session`]).
#![allow(unsafe_code)] // the bindings wit-bindgen generates

#[cfg(target_arch = "wasm32")]
mod handler;
pub mod request;
#[cfg(target_arch = "wasm32")]
pub mod session;

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({
        world: "otlp:capture-proxy/front",
        path: ["../../wit", "../wit"],
        generate_all,
    });
}
