//! The compilation settings every engine of the host starts from: keep
//! everything that shapes compiled code here, since a compilation made with
//! other settings (the one `generate compilation` installs beside the
//! binary, or a cached one) does not load into this engine.

/// The base configuration: epoch checks in compiled code when
/// `epoch_interruption`, everything else wasmtime's defaults for this CPU.
pub fn base(epoch_interruption: bool) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(epoch_interruption);
    config
}
