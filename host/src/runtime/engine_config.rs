//! The compilation settings every engine of the host starts from. build.rs
//! compiles the embedded component ahead of time with these same settings
//! (it includes this file), because a compilation made with others does not
//! load: keep everything that shapes compiled code here.

/// The base configuration: epoch checks in compiled code when
/// `epoch_interruption`, everything else wasmtime's defaults for this CPU.
pub fn base(epoch_interruption: bool) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(epoch_interruption);
    config
}
