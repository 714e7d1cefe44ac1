//! The command-line commands other than `serve`: `session` (start and stop
//! through a tap's control API; list and show from the store), `replay` and
//! `inspect`. The ones that read a store open it with [`open_store`]: the
//! catalog and one read-only component instance, no tap.

pub mod inspect;
pub mod output;
pub mod replay;
pub mod session;

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::cli::{InvalidArgs, StoreArgs};
use crate::runtime::Runtime;
use crate::runtime::pool::ProcessorPool;
use crate::runtime::state::{Capabilities, InstanceLimits, NoWrites, OsRandomness, SystemClock};
use crate::storage::{Storage, StoreLocation};

/// A store opened for reading, and the component instance that reads it.
pub struct OpenStore {
    /// What the store holds.
    pub catalog: Catalog,
    /// The instance replay and inspect prepare objects on.
    pub pool: ProcessorPool,
}

/// Opens the store of `args` for reading, with one component instance that
/// may not write.
pub fn open_store(args: &StoreArgs) -> anyhow::Result<OpenStore> {
    open_store_with(args, 1)
}

/// Like [`open_store`], with `instances` component instances (replay
/// prepares several objects at once).
pub fn open_store_with(args: &StoreArgs, instances: usize) -> anyhow::Result<OpenStore> {
    let location: StoreLocation = args.location().map_err(InvalidArgs)?;
    // Reading must not create a store where there is none (a typo, another working directory).
    if let StoreLocation::Directory(path) = &location {
        anyhow::ensure!(
            path.is_dir(),
            "no store at {}: nothing was recorded there (pass --store or set OTLP_CAPTURE_STORE)",
            path.display()
        );
    }
    let storage = Storage::open(&location)?;
    let runtime = Runtime::load(args.component.as_deref(), InstanceLimits::default())?;
    let capabilities = Capabilities {
        sink: Arc::new(NoWrites),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandomness),
        pseudonyms: None,
    };
    let pool = ProcessorPool::start(&runtime, capabilities, instances, 16)?;
    Ok(OpenStore { catalog: Catalog::new(storage, pool.clone()), pool })
}
