//! What each component instance's store holds: a WASI context with no
//! filesystem, network or environment, the limits, and the capabilities
//! behind the imports.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::imports::clock::Clock;
use super::imports::storage::ObjectSink;

/// Limits the embedding puts on one instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Largest linear memory, in bytes.
    pub max_memory_bytes: usize,
    /// An instance whose memory grew past this is replaced after its call.
    pub recycle_memory_bytes: usize,
    /// Largest object the guest may put, in bytes.
    pub max_object_bytes: usize,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits { max_memory_bytes: 1 << 30, recycle_memory_bytes: 128 << 20, max_object_bytes: 256 << 20 }
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
    pub(super) limits: MemoryTracker,
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
            limits: MemoryTracker {
                limits: StoreLimitsBuilder::new().memory_size(limits.max_memory_bytes).instances(4).build(),
                largest_memory: 0,
            },
            max_object_bytes: limits.max_object_bytes,
            capabilities,
        }
    }
}

/// The store's limits, remembering how large the guest's memory grew:
/// linear memory never shrinks, so an instance that grew for one huge
/// request is replaced afterwards rather than kept at that size.
pub struct MemoryTracker {
    limits: StoreLimits,
    /// Largest linear memory the guest has asked for, in bytes.
    pub largest_memory: usize,
}

impl ResourceLimiter for MemoryTracker {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.largest_memory = self.largest_memory.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
