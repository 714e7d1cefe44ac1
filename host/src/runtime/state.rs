//! What each component instance's store holds: a WASI context with no
//! filesystem, network or environment, the limits, and the capabilities
//! behind the imports.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::imports::clock::Clock;
use super::imports::storage::ObjectSink;

/// Limits the embedding puts on one instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Largest linear memory, in bytes.
    pub max_memory_bytes: usize,
    /// Largest object the guest may put, in bytes.
    pub max_object_bytes: usize,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits { max_memory_bytes: 1 << 30, max_object_bytes: 256 << 20 }
    }
}

/// The capabilities an instance's imports are served by.
#[derive(Clone)]
pub struct Capabilities {
    /// Backs the storage import.
    pub sink: Arc<dyn ObjectSink>,
    /// Backs the clock import.
    pub clock: Arc<dyn Clock>,
}

/// Store data of one instance.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) max_object_bytes: usize,
    pub(super) capabilities: Capabilities,
}

impl HostState {
    /// A fresh state: WASI gives the guest only random numbers, clocks and a
    /// stderr for panic messages.
    pub fn new(capabilities: Capabilities, limits: InstanceLimits) -> Self {
        HostState {
            wasi: WasiCtxBuilder::new().inherit_stderr().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new().memory_size(limits.max_memory_bytes).instances(4).build(),
            max_object_bytes: limits.max_object_bytes,
            capabilities,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
