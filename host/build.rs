//! Makes the component the binary embeds. The guest is built for
//! wasm32-unknown-unknown (`make build` does that first, into the workspace's
//! target directory; a build without it, such as `cargo install --path host`,
//! builds it here in a target directory of its own), and this script turns
//! the core module into a component whose only imports are the ones its WIT
//! world declares:
//!
//! - exports other than the world's (and the canonical ABI's `cabi_*` and
//!   `memory`) are dropped, and what only they reached is removed;
//! - imports from outside the world that remain are JavaScript glue that
//!   opentelemetry-proto's dependencies compile in for wasm32-unknown-unknown
//!   and the component never calls: each becomes a local function that traps;
//! - wit-component encodes the component from the world embedded by
//!   wit-bindgen, and validates it.
//!
//! It then compiles the component for this machine with the host's engine
//! settings (`src/runtime/engine_config.rs`), so the binary starts without
//! compiling it (component.cwasm; a binary that runs on a CPU the compilation
//! does not fit compiles at start, as before).
//!
//! `OTLP_CAPTURE_COMPONENT` names a core module or a finished component to
//! embed instead.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "wasm32-unknown-unknown";
const GUEST_MODULE: &str = "wasm32-unknown-unknown/release/otlp_capture_guest.wasm";
/// The interfaces of the component's world, as core-module import names start.
const WORLD_IMPORTS: &str = "otlp:capture/";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    println!("cargo::rerun-if-env-changed=OTLP_CAPTURE_COMPONENT");
    let path = match std::env::var_os("OTLP_CAPTURE_COMPONENT") {
        Some(path) => PathBuf::from(path),
        None => {
            let prebuilt = manifest.join("../target").join(GUEST_MODULE);
            if prebuilt.is_file() { prebuilt } else { build_guest(&manifest, &out_dir).unwrap_or(prebuilt) }
        }
    };
    println!("cargo::rerun-if-changed={}", path.display());
    let out = out_dir.join("component.wasm");
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
    let compiled = out_dir.join("component.cwasm");
    if std::fs::read(&out).ok().as_deref() != Some(&bytes[..]) || !compiled.is_file() {
        let compilation = precompile(&bytes).unwrap_or_else(|e| {
            println!("cargo::warning=the component was not compiled ahead of time ({e}); it compiles at start");
            Vec::new()
        });
        let _ = std::fs::write(&compiled, compilation);
        let _ = std::fs::write(&out, bytes);
    }
}

#[path = "src/runtime/engine_config.rs"]
mod engine_config;

/// The component compiled for this machine as the host's engine compiles it.
fn precompile(component: &[u8]) -> Result<Vec<u8>, String> {
    if component.is_empty() {
        return Ok(Vec::new());
    }
    let engine = wasmtime::Engine::new(&engine_config::base(true)).map_err(|e| e.to_string())?;
    engine.precompile_component(component).map_err(|e| e.to_string())
}

/// Whether `bytes` are a component (layer 1) rather than a core module.
fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

/// The component of a core module built with wit-bindgen: only the world's
/// exports, only the world's imports.
fn componentize(module: &[u8]) -> Result<Vec<u8>, String> {
    let mut module = walrus::Module::from_buffer(module).map_err(|e| format!("not a wasm module: {e}"))?;
    let foreign_exports: Vec<_> = module
        .exports
        .iter()
        .filter(|e| !(e.name == "memory" || e.name.starts_with("cabi_") || e.name.contains('#')))
        .map(|e| e.id())
        .collect();
    for id in foreign_exports {
        module.exports.delete(id);
    }
    walrus::passes::gc::run(&mut module);
    let foreign_imports: Vec<_> = module
        .imports
        .iter()
        .filter(|i| !i.module.starts_with(WORLD_IMPORTS))
        .map(|i| (i.kind.clone(), format!("{}::{}", i.module, i.name)))
        .collect();
    for (kind, name) in foreign_imports {
        let walrus::ImportKind::Function(function) = kind else {
            return Err(format!("the module imports {name}, which is not a function of its world"));
        };
        module
            .replace_imported_func(function, |(body, _)| {
                body.unreachable();
            })
            .map_err(|e| format!("{name}: {e}"))?;
    }
    walrus::passes::gc::run(&mut module);
    let glue: Vec<_> =
        module.customs.iter().filter(|(_, c)| c.name().starts_with("__wasm_bindgen")).map(|(id, _)| id).collect();
    for id in glue {
        module.customs.delete(id);
    }
    let module = module.emit_wasm();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("{e:#}"))
}

/// Builds the guest crate beside this one for wasm32-unknown-unknown in a
/// target directory of its own (the workspace's is locked by the build
/// running this script); the path of the module, or `None` with a warning.
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
        .args(["build", "--release", "--target", GUEST_TARGET, "-p", "otlp-capture-guest", "--target-dir"])
        .arg(&target_dir)
        // The host build's flags are not the guest's (.cargo/config.toml has those).
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
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
