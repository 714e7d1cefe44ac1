//! The capture tap: wires store, uploader, runtime, catalog, sessions,
//! recorder, upstream and control API together, exposes them as routers
//! (`app` for HTTP, `grpc_app` for gRPC) that tests can call without a
//! socket, and serves them until SIGINT/SIGTERM, then flushes.

mod catch_panic;
mod status;
mod tickers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::auth::{ControlAccess, Peer};
use crate::capture::commit::Committer;
use crate::capture::{Recorder, SessionRegistry};
use crate::catalog::Catalog;
use crate::config::{Durability, ServeSettings};
use crate::control::{self, Control};
use crate::exporters::Exporter;
use crate::journal::{Journal, JournalSettings, Recovered};
use crate::listener_tls::TlsListener;
use crate::metrics::{Gauges, TapCounters};
use crate::receivers::{Receiver, ReceiverLimits, otlp_grpc, otlp_http};
use crate::replay::jobs::ReplayJobs;
use crate::runtime::pool::ProcessorPool;
use crate::runtime::processor_types::PutError;
use crate::runtime::state::{Capabilities, Clock, InstanceLimits, ObjectSink, OsRandomness, SystemClock};
use crate::runtime::{Runtime, RuntimeError};
use crate::site::{self, SiteRule};
use crate::storage::spool::Spool;
use crate::storage::spool_owner;
use crate::storage::uploader::{QueueError, UploadSettings, Uploader};
use crate::storage::{Storage, StorageError};
use crate::ui;
use tickers::Tickers;

/// How long a starting tap waits for a previous run's spool to reach the store.
const SPOOL_DRAIN_AT_START: Duration = Duration::from_secs(30);

/// A new journal segment starts past this size.
const JOURNAL_SEGMENT_BYTES: u64 = 64 << 20;

/// Why the tap could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The component could not be loaded.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// An address could not be bound or served.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The upstream is not usable.
    #[error("{0}")]
    Forward(String),
    /// The spool directory is not usable.
    #[error("{0}")]
    Spool(String),
    /// The settings contradict themselves (the tap would forward to itself):
    /// refused before serving, exit code 2.
    #[error("{0}")]
    Refused(String),
}

/// The write-behind uploader behind the storage import: a full queue is
/// the guest's `busy`, so receivers push back.
impl ObjectSink for Uploader {
    fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), PutError> {
        Uploader::put(self, key, body, content_type).map_err(|e| match e {
            QueueError::Full { .. } | QueueError::Closed => PutError::Busy(e.to_string()),
        })
    }
}

/// A tap's parts, wired together.
pub struct Tap {
    /// The active sessions and their lifecycle.
    pub registry: Arc<SessionRegistry>,
    /// What the receivers record requests with.
    pub recorder: Arc<Recorder>,
    /// What the store holds.
    pub catalog: Catalog,
    /// The write-behind queue every object goes through.
    pub uploader: Uploader,
    /// Replays started through the control API.
    pub replays: Arc<ReplayJobs>,
    /// The upstream requests are forwarded to; `None` when the tap answers itself.
    pub upstream: Option<Arc<Exporter>>,
    pool: ProcessorPool,
    counters: Arc<TapCounters>,
    clock: Arc<dyn Clock>,
    settings: ServeSettings,
    /// Names this tap in the via header of what it forwards.
    id: Arc<str>,
    /// What makes parts and objects durable.
    committer: Committer,
    /// Set on SIGTERM: new requests are pushed back while what waits is stored.
    draining: Arc<AtomicBool>,
}

impl Tap {
    /// Loads the component and starts a tap with `clock` behind the clock import.
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
        if let Some(dir) = &settings.spool {
            spool_owner::claim(dir, &settings.store.identity()).map_err(|e| ServeError::Spool(e.to_string()))?;
        }
        let spool = match &settings.spool {
            Some(dir) => {
                Some(Arc::new(Spool::open(dir, settings.spool_bytes).map_err(|e| ServeError::Spool(e.to_string()))?))
            }
            None => None,
        };
        let (journal, recovered) = match (settings.durability, &settings.spool) {
            (Durability::Memory, _) => (None, Recovered::default()),
            (Durability::Durable, None) => {
                return Err(ServeError::Spool("durable mode needs a spool directory for its journal".into()));
            }
            (Durability::Durable, Some(dir)) => {
                let journal_settings =
                    JournalSettings { dir: dir.join("journal"), segment_bytes: JOURNAL_SEGMENT_BYTES };
                let (journal, recovered) =
                    Journal::open(&journal_settings).map_err(|e| ServeError::Spool(e.to_string()))?;
                (Some(journal), recovered)
            }
        };
        for damage in &recovered.damage {
            tracing::warn!(%damage, "journal");
        }
        let uploader = Uploader::start(
            storage.clone(),
            UploadSettings { spool, ..UploadSettings::new(settings.upload_queue_bytes) },
        );
        let committer = Committer::new(uploader.clone(), journal, settings.backlog_bytes);
        let capabilities = Capabilities {
            sink: Arc::new(uploader.clone()),
            clock: clock.clone(),
            random: Arc::new(OsRandomness),
            pseudonyms: settings.redaction_key.clone().map(Arc::new),
        };
        let pool = ProcessorPool::start(runtime, capabilities, settings.workers, settings.max_queued_calls)?;
        let catalog = Catalog::new(storage, pool.clone());
        let counters = Arc::new(TapCounters::default());
        let id: Arc<str> = Arc::from(tap_id(settings.spool.as_deref()));
        let registry = SessionRegistry::new(
            pool.clone(),
            id.clone(),
            committer.clone(),
            catalog.clone(),
            settings.batching,
            counters.clone(),
            settings.max_active_sessions,
        );
        if !recovered.is_empty() {
            tracing::info!(
                sessions = recovered.sessions.len(),
                parts = recovered.parts.len(),
                objects = recovered.commits.len(),
                "recovering what the journal holds from the previous run"
            );
        }
        registry.recover(&recovered);
        committer.requeue(recovered.commits);
        let recorder =
            Arc::new(Recorder::new(registry.clone(), pool.clone(), counters.clone(), settings.recording_queue));
        recorder.start_spill_drain(recovered.raws);
        let upstream = match settings.forward_export() {
            Some((endpoint, export)) => Some(Arc::new(
                Exporter::new(&endpoint, &export).map_err(|e| ServeError::Forward(format!("upstream: {e}")))?,
            )),
            None => None,
        };
        let replays = Arc::new(ReplayJobs::new(catalog.clone(), pool.clone()));
        Ok(Arc::new(Tap {
            registry,
            recorder,
            catalog,
            uploader,
            replays,
            upstream,
            pool,
            counters,
            clock,
            settings,
            id,
            committer,
            draining: Arc::new(AtomicBool::new(false)),
        }))
    }

    /// The name this tap adds to the via header of what it forwards.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn receiver(&self) -> Receiver {
        Receiver {
            recorder: self.recorder.clone(),
            upstream: self.upstream.clone(),
            limits: ReceiverLimits { max_body_bytes: self.settings.max_body_bytes },
            token: self.settings.token.clone(),
            tap_id: self.id.clone(),
            draining: self.draining.clone(),
        }
    }

    /// The tap's gRPC routes: the OTLP/gRPC receiver.
    pub fn grpc_app(&self) -> Router {
        otlp_grpc::routes(self.receiver())
    }

    /// The tap's HTTP routes: OTLP receiver, control API, `/health` and `/metrics`.
    pub fn app(self: &Arc<Self>) -> Router {
        let control = Control {
            registry: self.registry.clone(),
            catalog: self.catalog.clone(),
            replays: self.replays.clone(),
            access: Arc::new(self.settings.control.clone()),
            replay_allow: self.settings.replay_allow.clone().into(),
            clock: self.clock.clone(),
        };
        let site = Arc::new(SiteRule {
            allowed_hosts: self.settings.allowed_hosts.clone(),
            token_required: matches!(self.settings.control, ControlAccess::Token(_)),
        });
        // What a browser could reach of the recorded data passes the site checks first.
        let guarded = control::routes(control).merge(ui::routes()).route_layer(from_fn_with_state(site, site::guard));
        Router::new()
            .route("/health", get(status::health).with_state(self.clone()))
            .route("/ready", get(status::ready).with_state(self.clone()))
            .route("/metrics", get(status::metrics).with_state(self.clone()))
            .merge(otlp_http::routes(self.receiver()))
            .merge(guarded)
            .layer(from_fn(catch_panic::catch_panic))
    }

    /// The values of the tap's gauges now.
    pub(super) fn gauges(&self) -> Gauges {
        let uploads = self.uploader.stats();
        Gauges {
            active_sessions: self.registry.active_count(),
            processor_queue: self.pool.queued(),
            upload_queue_bytes: uploads.queued_bytes,
            upload_queue_objects: uploads.queued_objects,
            uploaded_objects: uploads.uploaded,
            upload_failures: uploads.failed_attempts,
            spool_bytes: uploads.spool_bytes,
            spool_objects: uploads.spool_objects,
            spooled_objects: uploads.spooled,
            store_up: !uploads.store_failing,
            journal_backlog_bytes: self.committer.journal().map_or(0, |j| j.backlog_bytes()),
            journal_failing: self.committer.journal().is_some_and(|j| j.failing()),
            ready: self.readiness().is_empty(),
        }
    }

    /// Why the tap would refuse new requests now; empty when it takes them.
    /// A failing store alone is not a reason while the journal and the
    /// spool keep what it refuses.
    pub(super) fn readiness(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.draining.load(Ordering::Relaxed) {
            reasons.push("shutting down".to_owned());
        }
        if let Err(e) = self.committer.admit() {
            reasons.push(e.to_string());
        }
        if self.committer.journal().is_some_and(|j| j.failing()) {
            reasons.push("the journal cannot be written".to_owned());
        }
        let uploads = self.uploader.stats();
        let absorbed = self.committer.journal().is_some() || (self.settings.spool.is_some() && !uploads.spool_full);
        if uploads.store_failing && !absorbed {
            reasons.push(format!("the store is failing: {}", uploads.last_error.unwrap_or_default()));
        }
        if let Some(upstream) = self.upstream.as_ref().filter(|u| !u.reachable()) {
            reasons.push(format!("the upstream {} is unreachable", upstream.endpoint()));
        }
        reasons
    }

    /// Stores what waits, as far as it can before the shutdown timeout.
    async fn drain(&self) {
        let stored = async {
            self.registry.persist_all().await;
            self.uploader.close();
            self.uploader.flush().await;
        };
        let stored = async {
            stored.await;
            // The last notes written and the directory's lock let go before the process ends.
            if let Some(journal) = self.committer.journal().cloned() {
                let _ = tokio::task::spawn_blocking(move || journal.close()).await;
            }
        };
        if tokio::time::timeout(self.settings.shutdown_timeout, stored).await.is_err() {
            let left = self.uploader.stats().queued_objects;
            match self.committer.journal() {
                Some(_) => tracing::warn!(
                    objects = left,
                    "shutdown timeout reached; what is not stored stays in the journal for the next start"
                ),
                None => tracing::error!(objects = left, "shutdown timeout reached in memory mode; what waits is lost"),
            }
        }
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
        // Metadata a previous run spooled or journaled is newer than what the store holds: store it first.
        let stored = async {
            self.uploader.flush().await;
            self.uploader.drain_spool(SPOOL_DRAIN_AT_START).await
        };
        if !tokio::time::timeout(SPOOL_DRAIN_AT_START, stored).await.unwrap_or(false) {
            tracing::warn!(
                "the previous run's objects did not reach the store within 30 s; resuming sessions from the store's metadata"
            );
        }
        // A store that cannot be read yet (S3 down, credentials not there yet) does not stop the
        // tap: it serves into its spool and journal, and every refresh tries to join again.
        let resumed = self.registry.join().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the store's sessions; serving, and trying again at every refresh");
            Vec::new()
        });
        if !resumed.is_empty() {
            tracing::info!(sessions = ?resumed, "resumed active sessions");
        }
        let tickers = Tickers::start(&self.registry, self.settings.refresh_interval, self.clock.clone());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let tap = self.clone();
        // The listeners stay up while draining: /health answers, requests get 503.
        tokio::spawn(async move {
            shutdown.await;
            tap.draining.store(true, Ordering::Relaxed);
            tickers.stop();
            tap.drain().await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let tls = |alpn: &[&[u8]]| self.settings.tls.as_ref().map(|tls| tls.acceptor(alpn)).transpose();
        let http_tls = tls(&[b"h2", b"http/1.1"]).map_err(ServeError::Refused)?;
        let grpc_tls = tls(&[b"h2"]).map_err(ServeError::Refused)?;
        let grpc_server =
            grpc.map(|listener| spawn_server(listener, self.grpc_app(), grpc_tls, until_stopped(stopped.clone())));
        let http_server = spawn_server(http, self.app(), http_tls, until_stopped(stopped));
        let mut served = Ok(());
        for (server, name) in [(Some(http_server), "HTTP"), (grpc_server, "gRPC")] {
            let Some(server) = server else { continue };
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "the {name} listener failed");
                    served = Err(e);
                }
                Err(e) => tracing::error!(error = %e, "the {name} listener panicked"),
            }
        }
        served.map_err(ServeError::Io)
    }
}

/// This tap's name: kept in the spool directory so a restarted tap takes
/// up its own part of a session again; a new one each run without a spool.
fn tap_id(spool: Option<&std::path::Path>) -> String {
    let fresh = || format!("{:016x}", fastrand::u64(..));
    let Some(spool) = spool else { return fresh() };
    let file = spool.join("tap-id");
    if let Ok(id) = std::fs::read_to_string(&file) {
        let id = id.trim();
        if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return id.to_owned();
        }
    }
    let id = fresh();
    let written = std::fs::create_dir_all(spool).and_then(|()| std::fs::write(&file, &id));
    if let Err(e) = written {
        tracing::warn!(file = %file.display(), error = %e, "cannot keep the tap's id; a restart will take a new one");
    }
    id
}

/// Serves `app` on `listener` (over TLS with `tls`) until `stopped`, each
/// request knowing its [`Peer`].
fn spawn_server(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    stopped: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<std::io::Result<()>> {
    let app = app.into_make_service_with_connect_info::<Peer>();
    tokio::spawn(async move {
        match tls {
            None => axum::serve(listener, app).with_graceful_shutdown(stopped).await,
            Some(acceptor) => {
                let listener = TlsListener::new(listener, acceptor)?;
                axum::serve(listener, app).with_graceful_shutdown(stopped).await
            }
        }
    })
}

/// Runs the tap with `settings` on the system clock until SIGINT or SIGTERM.
pub async fn run(settings: ServeSettings) -> Result<(), ServeError> {
    let http = TcpListener::bind(settings.http).await?;
    let grpc = match settings.grpc {
        Some(address) => Some(TcpListener::bind(address).await?),
        None => None,
    };
    let mut own = vec![http.local_addr()?];
    own.extend(grpc.as_ref().and_then(|l| l.local_addr().ok()));
    if let Some((endpoint, _)) = &settings.forward {
        refuse_forwarding_to(endpoint, &own).await?;
    }
    let tap = Tap::start(settings.clone(), Arc::new(SystemClock))?;
    let grpc_address = grpc.as_ref().and_then(|l| l.local_addr().ok()).map_or("off".to_owned(), |a| a.to_string());
    let tls = settings.tls.is_some();
    let durable = settings.durability == Durability::Durable;
    tracing::info!(http = %http.local_addr()?, grpc = %grpc_address, tls, store = %settings.store, durable, "otlp-capture tap ready");
    tap.serve(http, grpc, shutdown_signal()).await
}

/// Refuses an upstream that resolves to one of the tap's own listeners
/// (`OTEL_EXPORTER_OTLP_ENDPOINT` pointing at the tap, exported in the shell
/// that starts it): every request would come back to be forwarded again.
async fn refuse_forwarding_to(endpoint: &str, own: &[SocketAddr]) -> Result<(), ServeError> {
    let Ok(url) = url::Url::parse(endpoint) else { return Ok(()) };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return Ok(()) };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(resolved) = tokio::net::lookup_host((host, port)).await else { return Ok(()) };
    for target in resolved {
        let is_own = own.iter().any(|listener| {
            listener.port() == target.port()
                && (listener.ip() == target.ip()
                    || (listener.ip().is_unspecified() && (target.ip().is_loopback() || target.ip().is_unspecified())))
        });
        if is_own {
            return Err(ServeError::Refused(format!(
                "the upstream {endpoint} is this tap's own listener {target}: it would forward to itself \
                 (is OTEL_EXPORTER_OTLP_ENDPOINT set to the tap? pass --forward or unset it)"
            )));
        }
    }
    Ok(())
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
