//! What each component instance's store holds: a WASI context with no
//! filesystem, network or environment, the limits, and the capabilities
//! behind the imports. The capability traits live here, beside the context
//! that calls them; backends implement them where the tap is wired together.

use crate::redaction_key::RedactionKey;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::processor_types::{PutError, StagedPut};

/// Where the storage import puts objects.
pub trait ObjectSink: Send + Sync {
    /// Takes responsibility for `body` under `key` (a key under `sessions/`,
    /// checked by the import), or refuses it with nothing written.
    fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), PutError>;
}

/// A sink for instances that only read (the store catalog): every put is
/// refused, so a read-only command can never write to the store.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWrites;

impl ObjectSink for NoWrites {
    fn put(&self, key: &str, _body: Bytes, _content_type: &str) -> Result<(), PutError> {
        Err(PutError::Backend(format!("{key}: this instance may not write to the store")))
    }
}

/// The source of the clock import: UTC time in unix nanoseconds.
pub trait Clock: Send + Sync {
    /// Now, never zero.
    fn now_unix_nanos(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_nanos(&self) -> u64 {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX).max(1)
    }
}

/// A clock pinned to one instant (unix nanos), for tests and reproducible objects.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_unix_nanos(&self) -> u64 {
        self.0.max(1)
    }
}

/// The source of the randomness import: the unique part of object keys.
pub trait Randomness: Send + Sync {
    /// `len` random bytes.
    fn random_bytes(&self, len: usize) -> Vec<u8>;
}

/// The operating system's secure random source, so that object keys written
/// by independent hosts into one bucket do not collide.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandomness;

impl Randomness for OsRandomness {
    fn random_bytes(&self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        if let Err(e) = getrandom::fill(&mut bytes) {
            // No secure source at all: the guest refuses an empty answer and
            // the put fails visibly rather than writing a predictable key.
            tracing::error!("the OS random source failed: {e}");
            bytes.clear();
        }
        bytes
    }
}

/// A reproducible sequence, for tests and reproducible objects: call `n`
/// (from 1) answers `len` bytes that are all `n mod 256`. Simple enough that
/// any other host (the jco test's) can give the same sequence.
#[derive(Debug, Default)]
pub struct SequenceRandomness(std::sync::atomic::AtomicU64);

impl Randomness for SequenceRandomness {
    fn random_bytes(&self, len: usize) -> Vec<u8> {
        let call = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        vec![call as u8; len]
    }
}

/// Limits the embedding puts on one instance, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Largest linear memory; growth past it fails inside the guest.
    pub max_memory_bytes: usize,
    /// An instance whose memory grew past this is replaced after its call,
    /// since linear memory never shrinks.
    pub recycle_memory_bytes: usize,
    /// Largest object the guest may put; a larger one is a storage error.
    pub max_object_bytes: usize,
    /// How long one call may run before it traps (checked at the engine's
    /// epoch ticks, so to within 100 ms).
    pub call_deadline: Duration,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits {
            max_memory_bytes: 1 << 30,
            recycle_memory_bytes: 128 << 20,
            max_object_bytes: 256 << 20,
            call_deadline: Duration::from_secs(30),
        }
    }
}

/// What an instance's imports are served by.
#[derive(Clone)]
pub struct Capabilities {
    /// Behind the storage import.
    pub sink: Arc<dyn ObjectSink>,
    /// Behind the clock import.
    pub clock: Arc<dyn Clock>,
    /// Behind the randomness import.
    pub random: Arc<dyn Randomness>,
    /// Behind the pseudonyms import: the key redaction rules hash with;
    /// `None` refuses rules that hash.
    pub pseudonyms: Option<Arc<RedactionKey>>,
}

/// Store data of one instance: its WASI context, limits and capabilities.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: MemoryTracker,
    pub(super) max_object_bytes: usize,
    pub(super) capabilities: Capabilities,
    /// While `Some`, puts are kept here instead of going to the sink.
    pub(super) staged: Option<Vec<StagedPut>>,
}

impl HostState {
    /// A fresh state. The bundled component imports nothing from WASI; a
    /// component built for wasm32-wasip2 (given with `--component`) gets only
    /// random numbers, clocks and a stderr for panic messages.
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
            staged: None,
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
