//! Makes the component the binary embeds. The guest is built for
//! wasm32-unknown-unknown (`make build` does that first, into the workspace's
//! target directory); this script encodes the core module as a component
//! with wit-component, from the world wit-bindgen embedded in it, and
//! validates it. A module that imports anything its world does not declare
//! fails the build, naming the imports.
//!
//! The module `make guest` built is used only while it is newer than every
//! source of the guest (its `src/`, its manifest, the WIT files); otherwise (a `cargo test` after an edit of `guest/src`, or a
//! build without `make`, such as `cargo install --path host`) the guest is
//! built here, in a target directory of its own, so an edit always reaches
//! the embedded component. Nothing is compiled to native code here: `make
//! build` installs the compilation beside the binary with the binary's own
//! engine (`otlp-capture generate compilation`).
//!
//! `OTLP_CAPTURE_COMPONENT` names a core module or a finished component to
//! embed instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const GUEST_TARGET: &str = "wasm32-unknown-unknown";
const GUEST_MODULE: &str = "wasm32-unknown-unknown/release/otlp_capture_guest.wasm";
/// The guest's code generation: wasm SIMD (zlib-rs and the compiler use it;
/// wasmtime, jco's V8 and `wasmtime serve` run it). Relaxed SIMD stays off,
/// so every host computes the same bytes. `make` sets the same for its builds.
const GUEST_RUSTFLAGS: &str = "-C target-feature=+simd128";
/// The interfaces of the component's world, as core-module import names start.
const WORLD_IMPORTS: &str = "otlp:capture/";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let workspace = manifest.join("..");
    println!("cargo::rerun-if-env-changed=OTLP_CAPTURE_COMPONENT");
    let sources = guest_sources(&workspace);
    for source in &sources {
        println!("cargo::rerun-if-changed={}", source.display());
    }
    let path = match std::env::var_os("OTLP_CAPTURE_COMPONENT") {
        Some(path) => PathBuf::from(path),
        None => {
            let prebuilt = workspace.join("target").join(GUEST_MODULE);
            println!("cargo::rerun-if-changed={}", prebuilt.display());
            if is_newer_than(&prebuilt, &sources) {
                prebuilt
            } else {
                build_guest(&workspace, &out_dir).unwrap_or(prebuilt)
            }
        }
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) if is_component(&bytes) => bytes,
        Ok(module) => componentize(&module).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        Err(_) => {
            println!(
                "cargo::warning=no component at {}: the binary will need --component (run `make build`)",
                path.display()
            );
            Vec::new()
        }
    };
    let out = out_dir.join("component.wasm");
    if std::fs::read(&out).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(&out, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    }
}

/// Every file of the guest's own: its sources, manifest and WIT files.
fn guest_sources(workspace: &Path) -> Vec<PathBuf> {
    let mut files = vec![workspace.join("guest/Cargo.toml")];
    let mut pending = vec![workspace.join("guest/src"), workspace.join("wit")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Whether `module` exists and was written after every one of `sources`.
fn is_newer_than(module: &Path, sources: &[PathBuf]) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let Some(built) = modified(module) else { return false };
    sources.iter().filter_map(|source| modified(source)).all(|changed: SystemTime| changed <= built)
}

/// Whether `bytes` are a component (layer 1) rather than a core module.
fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

/// The component of a core module built with wit-bindgen, validated.
/// Refused, failing the build, when the module imports anything outside its
/// world: a dependency that needs JavaScript or the OS has no place in it.
fn componentize(module: &[u8]) -> Result<Vec<u8>, String> {
    let mut foreign = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::ImportSection(imports) = payload.map_err(|e| e.to_string())? {
            for import in imports.into_imports() {
                let import = import.map_err(|e| e.to_string())?;
                if !import.module.starts_with(WORLD_IMPORTS) {
                    foreign.push(format!("{}::{}", import.module, import.name));
                }
            }
        }
    }
    if !foreign.is_empty() {
        return Err(format!(
            "the guest imports what its world does not declare ({}): a dependency of the guest needs \
             JavaScript or the OS; remove it from the guest",
            foreign.join(", ")
        ));
    }
    wit_component::ComponentEncoder::default()
        .module(module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("{e:#}"))
}

/// Builds the guest crate for wasm32-unknown-unknown in a target directory
/// of its own (the workspace's is locked by the build running this
/// script), saying so, since it takes a while the first time; the path of
/// the module, or `None` with a warning.
fn build_guest(workspace: &Path, out_dir: &Path) -> Option<PathBuf> {
    if !workspace.join("guest/Cargo.toml").is_file() {
        return None;
    }
    println!(
        "cargo::warning=building the component: guest/ changed since `make guest` built it (or it was never built)"
    );
    let target_dir = out_dir.join("guest-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "--release", "--target", GUEST_TARGET, "-p", "otlp-capture-guest", "--target-dir"])
        .arg(&target_dir)
        // The host build's flags and wrappers (clippy's, under `cargo clippy`) are not the guest's.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", GUEST_RUSTFLAGS)
        .status();
    match status {
        Ok(status) if status.success() => Some(target_dir.join(GUEST_MODULE)),
        _ => {
            println!(
                "cargo::warning=could not build the component for {GUEST_TARGET} \
                 (`rustup target add {GUEST_TARGET}`, or run `make build`)"
            );
            None
        }
    }
}
