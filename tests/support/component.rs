//! The built component under the real host runtime, with an in-memory store
//! behind the real write-behind uploader and a fixed clock.

use std::sync::Arc;

use otlp_capture::runtime::state::{Capabilities, FixedClock, InstanceLimits, SequenceRandomness};
use otlp_capture::runtime::{Instance, Runtime};
use otlp_capture::storage::uploader::{UploadSettings, Uploader};
use otlp_capture::storage::{Storage, StoreLocation};

/// 2025-11-24T16:00:00.123Z.
pub const NOW: u64 = 1_764_000_000_123_000_000;

/// The component embedded in the host binary: the real build.
pub fn runtime() -> Runtime {
    Runtime::load(None, InstanceLimits::default()).expect("the host was built with the component (run `make test`)")
}

/// One instance over a fresh in-memory store.
pub struct Harness {
    /// The instance.
    pub instance: Instance,
    /// Its uploader (the storage import's backend).
    pub uploader: Uploader,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// An instance whose clock says `NOW`.
    pub fn new() -> Self {
        Self::over(Storage::open(&StoreLocation::Memory).unwrap(), 64 << 20)
    }

    /// An instance writing into `storage` through a queue of `queue_bytes`.
    pub fn over(storage: Storage, queue_bytes: usize) -> Self {
        let uploader = Uploader::start(storage, UploadSettings { workers: 2, ..UploadSettings::new(queue_bytes) });
        let capabilities = Capabilities {
            sink: Arc::new(uploader.clone()),
            clock: Arc::new(FixedClock(NOW)),
            random: Arc::new(SequenceRandomness::default()),
            pseudonyms: None,
        };
        Harness { instance: runtime().instantiate(capabilities).unwrap(), uploader }
    }

    /// Every stored object with its key, after the queue drained.
    pub async fn objects(&self) -> Vec<(String, Vec<u8>)> {
        self.uploader.flush().await;
        let mut listed = self.uploader.storage().list("sessions/").await.unwrap();
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        let mut objects = Vec::new();
        for object in listed {
            let body = self.uploader.storage().get(&object.key).await.unwrap().unwrap();
            objects.push((object.key, body.to_vec()));
        }
        objects
    }
}

/// The hostile component `make test` builds (tests/hostile), for sandbox tests.
pub fn hostile_component() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("wasm32-wasip2/release/otlp_capture_hostile.wasm");
    assert!(path.is_file(), "{} is missing: `make test` builds it (make hostile)", path.display());
    path
}
