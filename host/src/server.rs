//! The capture tap: assembles storage, uploader, runtime, pool and sessions,
//! exposes them as one router (`app`), and serves it until SIGINT/SIGTERM,
//! then flushes.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::capture::Recorder;
use crate::config::ServeSettings;
use crate::control;
use crate::receivers::{Receiver, ReceiverLimits, otlp_grpc, otlp_http};
use crate::replay::jobs::ReplayJobs;
use crate::runtime::imports::clock::{Clock, SystemClock};
use crate::runtime::pool::ProcessorPool;
use crate::runtime::state::{Capabilities, InstanceLimits};
use crate::runtime::{Runtime, RuntimeError};
use crate::sessions::Sessions;
use crate::storage::spool::Spool;
use crate::storage::uploader::{UploadSettings, Uploader};
use crate::storage::{Storage, StorageError};
use crate::tap_metrics::Gauges;
use crate::upstream::Upstream;

/// Why the tap could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The component could not be loaded.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The address could not be bound or served.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Resuming sessions failed.
    #[error("cannot resume sessions: {0}")]
    Resume(String),
    /// The upstream is not usable.
    #[error("{0}")]
    Forward(String),
    /// The spool directory is not usable.
    #[error("{0}")]
    Spool(String),
}

/// A running tap's parts.
pub struct Tap {
    /// The sessions.
    pub sessions: Arc<Sessions>,
    /// The recorder the receivers use.
    pub recorder: Arc<Recorder>,
    /// Replays started through the control API.
    pub replays: Arc<ReplayJobs>,
    /// Where requests are forwarded, if anywhere.
    pub upstream: Option<Arc<Upstream>>,
    clock: Arc<dyn Clock>,
    settings: ServeSettings,
}

impl Tap {
    /// Opens the store and starts the uploader and the component pool, with
    /// `clock` behind the clock import.
    pub fn start(settings: ServeSettings, clock: Arc<dyn Clock>) -> Result<Arc<Self>, ServeError> {
        let runtime = Runtime::load(settings.component.as_deref(), InstanceLimits::default())?;
        Self::start_with(settings, &runtime, clock)
    }

    /// Like [`Tap::start`], with an already compiled component.
    pub fn start_with(
        settings: ServeSettings,
        runtime: &Runtime,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, ServeError> {
        let storage = Storage::open(&settings.store)?;
        let spool = match &settings.spool {
            Some(dir) => {
                Some(Arc::new(Spool::open(dir, settings.spool_bytes).map_err(|e| ServeError::Spool(e.to_string()))?))
            }
            None => None,
        };
        let uploader =
            Uploader::start(storage, UploadSettings { spool, ..UploadSettings::new(settings.upload_queue_bytes) });
        let capabilities = Capabilities { sink: Arc::new(uploader.clone()), clock: clock.clone() };
        let pool = ProcessorPool::start(runtime, capabilities, settings.workers, settings.max_queued_calls)?;
        let sessions = Sessions::new(pool, uploader, settings.batching);
        let recorder = Arc::new(Recorder::new(sessions.clone(), settings.max_queued_calls * 4));
        let upstream = match &settings.forward {
            Some((endpoint, protocol)) => Some(Arc::new(
                Upstream::new(endpoint, *protocol, settings.forward_timeout).map_err(ServeError::Forward)?,
            )),
            None => None,
        };
        Ok(Arc::new(Tap { sessions, recorder, replays: Arc::default(), upstream, clock, settings }))
    }

    fn receiver(&self) -> Receiver {
        let limits = ReceiverLimits { max_body_bytes: self.settings.max_body_bytes };
        Receiver { recorder: self.recorder.clone(), upstream: self.upstream.clone(), limits }
    }

    /// The tap's gRPC routes: the OTLP/gRPC receiver.
    pub fn grpc_app(&self) -> Router {
        otlp_grpc::routes(self.receiver())
    }

    /// The tap's HTTP routes: OTLP receiver, control API and health.
    pub fn app(&self) -> Router {
        Router::new()
            .route("/health", get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }))
            .route("/metrics", get(metrics).with_state(self.recorder.clone()))
            .merge(otlp_http::routes(self.receiver()))
            .merge(control::routes(self.sessions.clone(), self.replays.clone()))
    }

    /// Resumes sessions left active in the store, serves HTTP on `http` and
    /// gRPC on `grpc` until `shutdown` completes, then writes the metadata of
    /// active sessions and waits for every queued object to be stored.
    pub async fn serve(
        self: Arc<Self>,
        http: TcpListener,
        grpc: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        // Metadata a previous run spooled is newer than what the store holds: store it first.
        if !self.sessions.uploader().drain_spool(std::time::Duration::from_secs(30)).await {
            tracing::warn!("the spool did not drain within 30 s; resuming sessions from the store's metadata");
        }
        let resumed = self.sessions.resume().await.map_err(|e| ServeError::Resume(e.to_string()))?;
        if !resumed.is_empty() {
            tracing::info!(sessions = ?resumed, "resumed active sessions");
        }
        let refresher = tokio::spawn({
            let sessions = self.sessions.clone();
            let interval = self.settings.refresh_interval;
            async move {
                let mut ticks = tokio::time::interval(interval);
                loop {
                    ticks.tick().await;
                    sessions.refresh().await;
                }
            }
        });
        let batcher = tokio::spawn({
            let sessions = self.sessions.clone();
            let age = self.settings.batching.max_age;
            async move {
                let mut ticks = tokio::time::interval(
                    (age / 4).clamp(std::time::Duration::from_millis(10), std::time::Duration::from_millis(250)),
                );
                loop {
                    ticks.tick().await;
                    sessions.flush_due().await;
                }
            }
        });
        let limits = tokio::spawn({
            let sessions = self.sessions.clone();
            let clock = self.clock.clone();
            async move {
                let mut ticks = tokio::time::interval(std::time::Duration::from_millis(250));
                loop {
                    ticks.tick().await;
                    sessions.end_expired(clock.now_unix_nanos());
                }
            }
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let grpc_server = grpc.map(|listener| {
            let app = self.grpc_app();
            let stopped = until_stopped(stopped.clone());
            tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await })
        });
        let served = axum::serve(http, self.app()).with_graceful_shutdown(until_stopped(stopped)).await;
        if let Some(grpc_server) = grpc_server {
            match grpc_server.await {
                Ok(Err(e)) => tracing::error!(error = %e, "gRPC receiver failed"),
                Err(e) => tracing::error!(error = %e, "gRPC receiver panicked"),
                Ok(Ok(())) => {}
            }
        }
        refresher.abort();
        limits.abort();
        batcher.abort();
        self.sessions.persist_all().await;
        self.sessions.uploader().close();
        self.sessions.uploader().flush().await;
        served.map_err(ServeError::Io)
    }
}

/// `GET /metrics`: the tap's counters in the Prometheus text format.
async fn metrics(
    axum::extract::State(recorder): axum::extract::State<Arc<Recorder>>,
) -> impl axum::response::IntoResponse {
    let sessions = recorder.sessions();
    let uploads = sessions.uploader().stats();
    let gauges = Gauges {
        active_sessions: sessions.active_count(),
        processor_queue: sessions.pool().queued(),
        upload_queue_bytes: uploads.queued_bytes,
        upload_queue_objects: uploads.queued_objects,
        uploaded_objects: uploads.uploaded,
        upload_failures: uploads.failed_attempts,
        spool_bytes: uploads.spool_bytes,
        spool_objects: uploads.spool_objects,
        spooled_objects: uploads.spooled,
    };
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], recorder.counters().render(gauges))
}

/// Runs the tap with `settings` on the system clock until SIGINT or SIGTERM.
pub async fn run(settings: ServeSettings) -> Result<(), ServeError> {
    let tap = Tap::start(settings.clone(), Arc::new(SystemClock))?;
    let http = TcpListener::bind(settings.http).await?;
    let grpc = match settings.grpc {
        Some(address) => Some(TcpListener::bind(address).await?),
        None => None,
    };
    let grpc_address = grpc.as_ref().and_then(|l| l.local_addr().ok()).map_or("off".to_owned(), |a| a.to_string());
    tracing::info!(http = %http.local_addr()?, grpc = %grpc_address, store = %settings.store, "otlp-capture tap ready");
    tap.serve(http, grpc, shutdown_signal()).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or_default(),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or_default();
    tracing::info!("shutting down: flushing sessions and uploads");
}
