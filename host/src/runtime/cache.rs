//! The compiled-component cache: compiling the component takes a few
//! hundred milliseconds, loading its serialized compilation a few. Entries
//! are keyed by the component's bytes and the engine's compatibility hash,
//! so a new build of either is compiled afresh.
//!
//! Two places hold entries: the installed compilation beside the binary
//! (`otlp-capture generate compilation`, which `make build` runs, writes it
//! into `otlp-capture.compiled/`; read only), so a fresh machine starts in
//! milliseconds, and the user's cache, filled on a miss.
//!
//! A cached entry is native code that wasmtime loads without verifying it,
//! so it is trusted only from a directory the user owns and nobody else may
//! write, and only when its SHA-256 matches the one written beside it when
//! it was stored (a truncated or swapped file is compiled afresh).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
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

/// The directory beside the running binary that holds its installed
/// compilation: `otlp-capture.compiled/` next to `otlp-capture`.
pub fn installed_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let name = exe.file_name()?.to_string_lossy().into_owned();
    Some(exe.with_file_name(format!("{name}.compiled")))
}

/// Compiles `bytes` and writes the compilation into `dir` (created private),
/// unless a verified one is there already, and removes the compilations of
/// earlier builds there; returns its path.
pub fn install(engine: &Engine, bytes: &[u8], dir: &Path) -> wasmtime::Result<PathBuf> {
    trusted_dir(dir).map_err(|reason| wasmtime::format_err!("{}: {reason}", dir.display()))?;
    let path = entry(dir, engine, bytes);
    if verified(&path).is_none() {
        store(&path, &Component::new(engine, bytes)?)?;
    }
    let ours = [path.clone(), digest_path(&path)];
    for old in std::fs::read_dir(dir)?.flatten().map(|e| e.path()) {
        let is_entry = old.file_name().is_some_and(|n| n.to_string_lossy().starts_with("component-"));
        if is_entry && !ours.contains(&old) {
            let _ = std::fs::remove_file(&old);
        }
    }
    Ok(path)
}

fn entry(dir: &Path, engine: &Engine, bytes: &[u8]) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    dir.join(format!("component-{:016x}.cwasm", hasher.finish()))
}

/// Where an entry's SHA-256 is kept, apart from the entry itself.
fn digest_path(entry: &Path) -> PathBuf {
    entry.with_extension("cwasm.sha256")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The component compiled from `bytes`: the installed compilation beside
/// the binary when it fits, else the cache in `dir` when it holds a trusted
/// entry; a fresh compilation is stored there for next time. Any cache
/// failure falls back to compiling.
pub fn load_or_compile(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> wasmtime::Result<Component> {
    if let Some(installed) = installed_dir().filter(|d| d.is_dir() && trusted_dir(d).is_ok())
        && let Some(component) = load_verified(engine, &entry(&installed, engine, bytes))
    {
        tracing::debug!("component loaded from the compilation installed beside the binary");
        return Ok(component);
    }
    let Some(dir) = dir else { return Component::new(engine, bytes) };
    if let Err(reason) = trusted_dir(dir) {
        tracing::warn!(dir = %dir.display(), %reason, "not using the compiled-component cache");
        return Component::new(engine, bytes);
    }
    let path = entry(dir, engine, bytes);
    if let Some(component) = load_verified(engine, &path) {
        return Ok(component);
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(&path, &component) {
        tracing::debug!(path = %path.display(), error = %e, "cannot cache the compiled component");
    }
    Ok(component)
}

/// The compilation at `path`, when it is there, matches its recorded
/// SHA-256 and fits `engine`.
fn load_verified(engine: &Engine, path: &Path) -> Option<Component> {
    let serialized = verified(path)?;
    // SAFETY: the bytes come from a directory of the user's own, which
    // nobody else may write (`trusted_dir`), and match the SHA-256 recorded
    // when this program serialized them; wasmtime still checks that a
    // compatible engine made them.
    #[allow(unsafe_code)]
    match unsafe { Component::deserialize(engine, &serialized) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring an unusable compilation");
            None
        }
    }
}

/// The entry's bytes when its recorded SHA-256 matches them.
fn verified(path: &Path) -> Option<Vec<u8>> {
    let serialized = std::fs::read(path).ok()?;
    let recorded = std::fs::read_to_string(digest_path(path)).ok()?;
    if recorded.trim() == sha256_hex(&serialized) {
        return Some(serialized);
    }
    tracing::warn!(path = %path.display(), "a cached compilation does not match its recorded hash; compiling afresh");
    None
}

/// Creates `dir` private to the user if it is missing; refuses one that
/// another user owns or that others may write.
fn trusted_dir(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        create_private(dir).map_err(|e| format!("cannot create it: {e}"))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let metadata = std::fs::metadata(dir).map_err(|e| e.to_string())?;
        if !metadata.is_dir() {
            return Err("it is not a directory".into());
        }
        if metadata.uid() != rustix::process::geteuid().as_raw() {
            return Err("another user owns it".into());
        }
        if metadata.permissions().mode() & 0o022 != 0 {
            return Err("others may write to it".into());
        }
    }
    Ok(())
}

fn create_private(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn store(path: &Path, component: &Component) -> wasmtime::Result<()> {
    let serialized = component.serialize()?;
    // Written aside and renamed, so a reader never sees half a file; the
    // digest goes last, so an entry without one is never trusted.
    let process = std::process::id();
    let temporary = path.with_extension(format!("{process}.partial"));
    std::fs::write(&temporary, &serialized)?;
    std::fs::rename(&temporary, path)?;
    let digest = digest_path(path);
    let temporary = digest.with_extension(format!("{process}.partial"));
    std::fs::write(&temporary, sha256_hex(&serialized))?;
    std::fs::rename(&temporary, digest)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component there is.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        dir
    }

    #[test]
    fn a_second_load_comes_from_the_cache_and_a_corrupt_entry_is_recompiled() {
        let engine = Engine::default();
        let dir = private_dir();
        load_or_compile(&engine, EMPTY, Some(dir.path())).unwrap();
        let path = entry(dir.path(), &engine, EMPTY);
        assert!(path.is_file() && digest_path(&path).is_file());
        assert!(verified(&path).is_some());
        load_or_compile(&engine, EMPTY, Some(dir.path())).unwrap();
        std::fs::write(&path, b"garbage").unwrap();
        assert!(verified(&path).is_none(), "the recorded hash no longer matches");
        load_or_compile(&engine, EMPTY, Some(dir.path())).unwrap();
        assert_ne!(std::fs::read(&path).unwrap(), b"garbage", "rewritten");
        assert!(verified(&path).is_some());
    }

    #[test]
    fn an_installed_compilation_is_written_once_and_verified() {
        let engine = Engine::default();
        let dir = private_dir();
        let path = install(&engine, EMPTY, dir.path()).unwrap();
        assert!(load_verified(&engine, &path).is_some());
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(install(&engine, EMPTY, dir.path()).unwrap(), path);
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), written, "not compiled again");
        std::fs::write(&path, b"garbage").unwrap();
        assert!(load_verified(&engine, &path).is_none());
    }

    #[test]
    fn an_entry_without_its_hash_is_not_trusted() {
        let engine = Engine::default();
        let dir = private_dir();
        load_or_compile(&engine, EMPTY, Some(dir.path())).unwrap();
        let path = entry(dir.path(), &engine, EMPTY);
        std::fs::remove_file(digest_path(&path)).unwrap();
        assert!(verified(&path).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_may_write_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(trusted_dir(dir.path()).is_err());
        load_or_compile(&engine, EMPTY, Some(dir.path())).unwrap();
        assert!(!entry(dir.path(), &engine, EMPTY).exists(), "nothing cached there");
        let fresh = dir.path().join("made-here");
        assert!(trusted_dir(&fresh).is_ok(), "a missing directory is created private");
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
