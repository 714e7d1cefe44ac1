//! The wasmtime embedding: one engine, the component compiled once into an
//! `InstancePre`, and a pool of instances that run the processor's calls.
//! Callers speak the host's types (`otlp`, `session`, [`processor_types`]); the
//! generated WIT types stay inside this module.

mod bindings;
pub mod cache;
mod engine_config;
mod imports;
pub mod pool;
pub mod processor_types;
pub mod state;

use std::path::Path;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy, Store};

use bindings::otlp::capture::types as wit;
use bindings::{CaptureProcessor, CaptureProcessorPre};
use processor_types::{
    CallError, GuestError, ObjectKeyInfo, ObjectTiming, PreparedCapture, ReplayBatch, ReplayOptions, StagedPut,
};
use state::{Capabilities, HostState, InstanceLimits};

use crate::otlp::{Encoding, PayloadSummary, Signal};
use crate::session::{CaptureReceipt, SessionConfig, SessionState, SessionStatus};

/// The component built with this binary (empty when it was built without
/// one; `--component` is then required).
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/component.wasm"));

/// Compiles the embedded component with the engine every command uses and
/// installs the compilation beside the binary ([`cache::installed_dir`]);
/// returns where it is.
pub fn install_compilation() -> Result<std::path::PathBuf, RuntimeError> {
    if EMBEDDED_COMPONENT.is_empty() {
        return Err(RuntimeError::NoComponent);
    }
    let limits = InstanceLimits::default();
    let engine = Engine::new(&EngineOptions::default().config(&limits)).map_err(RuntimeError::Wasm)?;
    let dir = cache::installed_dir()
        .ok_or_else(|| RuntimeError::Wasm(wasmtime::format_err!("cannot tell where this binary is")))?;
    cache::install(&engine, EMBEDDED_COMPONENT, &dir).map_err(RuntimeError::Wasm)
}

/// How often the epoch advances; a call's deadline counts these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(100);

/// Why the component could not be loaded or instantiated.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No component was embedded and none was given.
    #[error("this binary carries no component; build it with `make build` or pass --component PATH")]
    NoComponent,
    /// The component file could not be read.
    #[error("cannot read component {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// What reading it said.
        source: std::io::Error,
    },
    /// Compilation, linking or instantiation failed.
    #[error("component: {0:#}")]
    Wasm(wasmtime::Error),
    /// A worker thread could not be started.
    #[error("cannot start a processor worker: {0}")]
    Thread(std::io::Error),
}

/// How the engine runs instances. The defaults are what the tool runs with;
/// the `component_speed` bench measures the alternatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Compiled code checks an epoch counter, so a runaway call traps at its
    /// deadline instead of holding a worker forever.
    pub epoch_interruption: bool,
    /// Instances come from wasmtime's pooling allocator (memory reserved up
    /// front and reused) instead of being allocated on demand.
    pub pooling: bool,
}

/// Set to 1, the engine writes a perf map of the compiled component.
pub const PERF_MAP_VARIABLE: &str = "OTLP_CAPTURE_PERF_MAP";

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { epoch_interruption: true, pooling: false }
    }
}

impl EngineOptions {
    /// The wasmtime configuration for these options and instance limits.
    pub fn config(&self, limits: &InstanceLimits) -> Config {
        let mut config = engine_config::base(self.epoch_interruption);
        // `perf` names the component's functions from /tmp/perf-PID.map (BENCHMARKS.md, profiling).
        if std::env::var_os(PERF_MAP_VARIABLE).is_some_and(|v| v == "1") {
            config.profiler(ProfilingStrategy::PerfMap);
        }
        if self.pooling {
            let mut pooling = PoolingAllocationConfig::default();
            pooling.max_memory_size(limits.max_memory_bytes);
            pooling.total_component_instances(256);
            pooling.total_core_instances(256 * 4);
            pooling.total_memories(256 * 4);
            pooling.total_tables(256 * 4);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        }
        config
    }
}

/// A compiled component ready to instantiate, with the settings every
/// instance gets.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    pre: CaptureProcessorPre<HostState>,
    limits: InstanceLimits,
    call_deadline_ticks: u64,
}

impl Runtime {
    /// Compiles the component at `path`, or the embedded one when `None`.
    pub fn load(path: Option<&Path>, limits: InstanceLimits) -> Result<Self, RuntimeError> {
        let bytes = match path {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })?;
                std::borrow::Cow::Owned(bytes)
            }
            None if EMBEDDED_COMPONENT.is_empty() => return Err(RuntimeError::NoComponent),
            None => std::borrow::Cow::Borrowed(EMBEDDED_COMPONENT),
        };
        Self::from_bytes(&bytes, limits)
    }

    /// Compiles a component from its bytes.
    pub fn from_bytes(bytes: &[u8], limits: InstanceLimits) -> Result<Self, RuntimeError> {
        Self::with_options(bytes, limits, EngineOptions::default())
    }

    /// Compiles a component from its bytes for an engine set up with `options`.
    pub fn with_options(bytes: &[u8], limits: InstanceLimits, options: EngineOptions) -> Result<Self, RuntimeError> {
        let engine = Engine::new(&options.config(&limits)).map_err(RuntimeError::Wasm)?;
        let component =
            cache::load_or_compile(&engine, bytes, cache::default_dir().as_deref()).map_err(RuntimeError::Wasm)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(RuntimeError::Wasm)?;
        CaptureProcessor::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state).map_err(RuntimeError::Wasm)?;
        let pre = CaptureProcessorPre::new(linker.instantiate_pre(&component).map_err(RuntimeError::Wasm)?)
            .map_err(RuntimeError::Wasm)?;
        start_epoch_ticker(&engine);
        let ticks = limits.call_deadline.as_millis() / EPOCH_TICK.as_millis();
        let call_deadline_ticks = u64::try_from(ticks).unwrap_or(u64::MAX).max(1);
        Ok(Runtime { engine, pre, limits, call_deadline_ticks })
    }

    /// A new instance serving its imports with `capabilities`.
    pub fn instantiate(&self, capabilities: Capabilities) -> Result<Instance, RuntimeError> {
        let mut store = Store::new(&self.engine, HostState::new(capabilities.clone(), self.limits));
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(self.call_deadline_ticks);
        let bindings = self.pre.instantiate(&mut store).map_err(RuntimeError::Wasm)?;
        Ok(Instance { runtime: self.clone(), capabilities, store, bindings })
    }
}

/// Advances the engine's epoch until the engine is dropped, so a runaway
/// call traps at its deadline instead of holding a worker forever.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

/// One component instance and its store. A call that traps poisons the
/// instance, so it is replaced before the error is returned; so is one whose
/// memory grew past the recycling bound, to give that memory back.
pub struct Instance {
    runtime: Runtime,
    capabilities: Capabilities,
    store: Store<HostState>,
    bindings: CaptureProcessor,
}

impl Instance {
    /// Runs one export with the call deadline set, replacing the instance
    /// after a trap or when it grew too large.
    fn call<W, T>(
        &mut self,
        f: impl FnOnce(&CaptureProcessor, &mut Store<HostState>) -> wasmtime::Result<Result<W, wit::ProcessorError>>,
    ) -> Result<T, CallError>
    where
        T: From<W>,
    {
        self.store.set_epoch_deadline(self.runtime.call_deadline_ticks);
        let outcome = f(&self.bindings, &mut self.store);
        let grown = self.store.data().limits.largest_memory > self.runtime.limits.recycle_memory_bytes;
        if let Err(trap) = &outcome {
            tracing::error!(error = format!("{trap:#}"), "a component call trapped; its instance is replaced");
        }
        if outcome.is_err() || grown {
            match self.runtime.instantiate(self.capabilities.clone()) {
                Ok(fresh) => *self = fresh,
                Err(e) => tracing::error!(error = %e, "cannot replace an instance"),
            }
        }
        match outcome {
            Ok(Ok(value)) => Ok(T::from(value)),
            Ok(Err(e)) => Err(CallError::Guest(GuestError::from(e))),
            Err(trap) => Err(CallError::Trap(trap)),
        }
    }

    /// Runs `f` with this instance's puts held back and returned instead of
    /// going to its sink, so the caller can make them durable first. A call
    /// that traps loses what it staged with its instance.
    pub fn staging<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, Vec<StagedPut>) {
        self.store.data_mut().staged = Some(Vec::new());
        let value = f(self);
        let puts = self.store.data_mut().staged.take().unwrap_or_default();
        (value, puts)
    }

    /// The largest linear memory this instance has grown to, in bytes.
    pub fn memory_high_water(&self) -> usize {
        self.store.data().limits.largest_memory
    }

    /// See `start-session` in the WIT.
    pub fn start_session(&mut self, config: &SessionConfig) -> Result<SessionState, CallError> {
        let config = wit::SessionConfig::from(config.clone());
        self.call(|b, s| b.otlp_capture_otlp_processor().call_start_session(s, &config))
    }

    /// See `summarize` in the WIT.
    pub fn summarize(
        &mut self,
        signal: Signal,
        encoding: Encoding,
        payload: &[u8],
    ) -> Result<PayloadSummary, CallError> {
        self.call(|b, s| b.otlp_capture_otlp_processor().call_summarize(s, signal.into(), encoding.into(), payload))
    }

    /// See `to-protobuf` in the WIT.
    pub fn to_protobuf(&mut self, signal: Signal, encoding: Encoding, payload: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call(|b, s| b.otlp_capture_otlp_processor().call_to_protobuf(s, signal.into(), encoding.into(), payload))
    }

    /// See `capture` in the WIT.
    pub fn capture(
        &mut self,
        config: &SessionConfig,
        signal: Signal,
        encoding: Encoding,
        payload: &[u8],
    ) -> Result<Option<CaptureReceipt>, CallError> {
        let config = wit::SessionConfig::from(config.clone());
        let (signal, encoding) = (signal.into(), encoding.into());
        self.call(|b, s| {
            let receipt = b.otlp_capture_otlp_processor().call_capture(s, &config, signal, encoding, payload)?;
            Ok(receipt.map(|r| r.map(CaptureReceipt::from)))
        })
    }

    /// See `prepare-capture` in the WIT.
    pub fn prepare_capture(
        &mut self,
        config: &SessionConfig,
        signal: Signal,
        encoding: Encoding,
        payload: &[u8],
    ) -> Result<Option<PreparedCapture>, CallError> {
        let config = wit::SessionConfig::from(config.clone());
        let (signal, encoding) = (signal.into(), encoding.into());
        self.call(|b, s| {
            let prepared =
                b.otlp_capture_otlp_processor().call_prepare_capture(s, &config, signal, encoding, payload)?;
            Ok(prepared.map(|p| p.map(PreparedCapture::from)))
        })
    }

    /// See `store-batch` in the WIT. The parts go in and come back out, so a
    /// batch that could not be stored can wait for another try without being
    /// copied up front.
    pub fn store_batch(
        &mut self,
        config: &SessionConfig,
        signal: Signal,
        parts: Vec<PreparedCapture>,
    ) -> (Result<CaptureReceipt, CallError>, Vec<PreparedCapture>) {
        let config = wit::SessionConfig::from(config.clone());
        let parts: Vec<wit::PreparedCapture> = parts.into_iter().map(Into::into).collect();
        let stored =
            self.call(|b, s| b.otlp_capture_otlp_processor().call_store_batch(s, &config, signal.into(), &parts));
        (stored, parts.into_iter().map(Into::into).collect())
    }

    /// See `refresh-metadata` in the WIT.
    pub fn refresh_metadata(&mut self, state: &SessionState) -> Result<SessionState, CallError> {
        let state = wit::SessionState::from(state.clone());
        self.call(|b, s| b.otlp_capture_otlp_processor().call_refresh_metadata(s, &state))
    }

    /// See `stop-session` in the WIT.
    pub fn stop_session(
        &mut self,
        state: &SessionState,
        status: SessionStatus,
        reason: Option<&str>,
    ) -> Result<SessionState, CallError> {
        let state = wit::SessionState::from(state.clone());
        self.call(|b, s| b.otlp_capture_otlp_processor().call_stop_session(s, &state, status.into(), reason))
    }

    /// See `render-metadata` in the WIT.
    pub fn render_metadata(&mut self, state: &SessionState) -> Result<String, CallError> {
        let state = wit::SessionState::from(state.clone());
        self.call(|b, s| b.otlp_capture_otlp_processor().call_render_metadata(s, &state).map(Ok))
    }

    /// See `parse-metadata` in the WIT.
    pub fn parse_metadata(&mut self, document: &str) -> Result<SessionState, CallError> {
        self.call(|b, s| b.otlp_capture_otlp_processor().call_parse_metadata(s, document))
    }

    /// See `metadata-key` in the WIT.
    pub fn metadata_key(&mut self, session_id: &str) -> Result<String, CallError> {
        self.call(|b, s| b.otlp_capture_otlp_processor().call_metadata_key(s, session_id))
    }

    /// See `validate-session-id` in the WIT.
    pub fn validate_session_id(&mut self, session_id: &str) -> Result<(), CallError> {
        self.call(|b, s| b.otlp_capture_otlp_processor().call_validate_session_id(s, session_id))
    }

    /// See `prepare-replay` in the WIT.
    pub fn prepare_replay(
        &mut self,
        signal: Signal,
        object: &[u8],
        options: &ReplayOptions,
    ) -> Result<Option<ReplayBatch>, CallError> {
        let options = wit::ReplayOptions::from(options.clone());
        self.call(|b, s| {
            let batch = b.otlp_capture_otlp_processor().call_prepare_replay(s, signal.into(), object, &options)?;
            Ok(batch.map(|b| b.map(ReplayBatch::from)))
        })
    }

    /// See `replay-timing` in the WIT.
    pub fn replay_timing(
        &mut self,
        signal: Signal,
        object: &[u8],
        options: &ReplayOptions,
    ) -> Result<Option<ObjectTiming>, CallError> {
        let options = wit::ReplayOptions::from(options.clone());
        self.call(|b, s| {
            let timing = b.otlp_capture_otlp_processor().call_replay_timing(s, signal.into(), object, &options)?;
            Ok(timing.map(|t| t.map(ObjectTiming::from)))
        })
    }

    /// See `object-to-json` in the WIT.
    pub fn object_to_json(
        &mut self,
        signal: Signal,
        object: &[u8],
        max_uncompressed_bytes: u64,
    ) -> Result<String, CallError> {
        self.call(|b, s| {
            b.otlp_capture_otlp_processor().call_object_to_json(s, signal.into(), object, max_uncompressed_bytes)
        })
    }

    /// See `parse-object-key` in the WIT.
    pub fn parse_object_key(&mut self, key: &str) -> Result<ObjectKeyInfo, CallError> {
        self.call(|b, s| b.otlp_capture_otlp_processor().call_parse_object_key(s, key))
    }
}
