//! Embeds the component built for wasm32-wasip2 into the binary. `make
//! build` builds it first, into the workspace's target directory; a build
//! without it (`cargo install --path host`, a plain `cargo build`) builds it
//! here, into this build's own directory, so the binary always carries one.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_WASM: &str = "wasm32-wasip2/release/otlp_capture_guest.wasm";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    println!("cargo::rerun-if-env-changed=OTLP_CAPTURE_COMPONENT");
    let path = match std::env::var_os("OTLP_CAPTURE_COMPONENT") {
        Some(path) => PathBuf::from(path),
        None => {
            let prebuilt = manifest.join("../target").join(GUEST_WASM);
            if prebuilt.is_file() { prebuilt } else { build_guest(&manifest, &out_dir).unwrap_or(prebuilt) }
        }
    };
    println!("cargo::rerun-if-changed={}", path.display());
    let out = out_dir.join("component.wasm");
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

/// Builds the guest crate beside this one for wasm32-wasip2 in a target
/// directory of its own (the workspace's is locked by the build running
/// this script); the path of the component, or `None` with a warning.
fn build_guest(manifest: &Path, out_dir: &Path) -> Option<PathBuf> {
    let workspace = manifest.join("..");
    if !workspace.join("guest/Cargo.toml").is_file() {
        return None;
    }
    println!("cargo::rerun-if-changed={}", workspace.join("guest/src").display());
    println!("cargo::rerun-if-changed={}", workspace.join("wit").display());
    let target_dir = out_dir.join("guest-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(&workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2", "-p", "otlp-capture-guest", "--target-dir"])
        .arg(&target_dir)
        // The host build's flags are not the guest's.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .status();
    match status {
        Ok(status) if status.success() => Some(target_dir.join(GUEST_WASM)),
        _ => {
            println!(
                "cargo::warning=could not build the component for wasm32-wasip2 \
                 (`rustup target add wasm32-wasip2`, or run `make build`)"
            );
            None
        }
    }
}
