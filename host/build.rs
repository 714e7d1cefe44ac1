//! Embeds the component built for wasm32-wasip2 into the binary, when the
//! build has produced it (`make build` always does, before the host).

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let default = manifest.join("../target/wasm32-wasip2/release/otlp_capture_guest.wasm");
    let path = std::env::var_os("OTLP_CAPTURE_COMPONENT").map(PathBuf::from).unwrap_or(default);
    println!("cargo::rerun-if-env-changed=OTLP_CAPTURE_COMPONENT");
    println!("cargo::rerun-if-changed={}", path.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("component.wasm");
    let bytes = std::fs::read(&path).unwrap_or_else(|_| {
        println!(
            "cargo::warning=no component at {}: the binary will need --component (run `make build`)",
            path.display()
        );
        Vec::new()
    });
    if std::fs::read(&out).ok().as_deref() != Some(&bytes[..]) {
        let _ = std::fs::write(&out, bytes);
    }
}
