//! The compiled-component cache: compiling the component takes a few
//! hundred milliseconds, loading its serialized compilation a few. Entries
//! are keyed by the component's bytes and the engine's compatibility hash,
//! so a new build of either is compiled afresh.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// The cache directory: `$OTLP_CAPTURE_CACHE_DIR` (`off` disables), else
/// `$XDG_CACHE_HOME/otlp-capture`, else `~/.cache/otlp-capture`.
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os("OTLP_CAPTURE_CACHE_DIR") {
        Some(dir) if dir == "off" => None,
        Some(dir) => Some(dir.into()),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
            .map(|cache| cache.join("otlp-capture")),
    }
}

fn entry(dir: &Path, engine: &Engine, bytes: &[u8]) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    dir.join(format!("component-{:016x}.cwasm", hasher.finish()))
}

/// The component compiled from `bytes`, from the cache in `dir` when it
/// holds it; a fresh compilation is stored there for next time. Any cache
/// failure falls back to compiling.
pub fn load_or_compile(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> wasmtime::Result<Component> {
    let Some(dir) = dir else { return Component::new(engine, bytes) };
    let path = entry(dir, engine, bytes);
    if path.is_file() {
        // SAFETY: the file is one this program serialized into the user's own
        // cache directory, named by the hash of the component and the engine;
        // wasmtime still checks it was made by a compatible engine.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "ignoring an unusable cached compilation"),
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(&path, &component) {
        tracing::debug!(path = %path.display(), error = %e, "cannot cache the compiled component");
    }
    Ok(component)
}

fn store(path: &Path, component: &Component) -> wasmtime::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Written aside and renamed, so a reader never sees half a file.
    let temporary = path.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&temporary, component.serialize()?)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_load_comes_from_the_cache_and_a_corrupt_entry_is_recompiled() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        // The smallest component there is.
        let bytes = b"\0asm\x0d\0\x01\0";
        load_or_compile(&engine, bytes, Some(dir.path())).unwrap();
        let path = entry(dir.path(), &engine, bytes);
        assert!(path.is_file());
        load_or_compile(&engine, bytes, Some(dir.path())).unwrap();
        std::fs::write(&path, b"garbage").unwrap();
        load_or_compile(&engine, bytes, Some(dir.path())).unwrap();
        assert_ne!(std::fs::read(&path).unwrap(), b"garbage", "rewritten");
    }
}
