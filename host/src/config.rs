//! Validated settings, built from the raw command line in `cli`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::HeaderMap;

use crate::auth::{ControlAccess, Token};
use crate::capture::BatchLimits;
use crate::cli::{DurabilityFlag, ServeArgs};
use crate::exporters::headers;
use crate::exporters::tls::{ClientTls, ClientTlsFiles};
use crate::exporters::{ExportCompression, ExportProtocol, ExportSettings};
use crate::listener_tls::ServerTls;
use crate::ranges;
use crate::redaction_key::RedactionKey;
use crate::storage::StoreLocation;

/// When the tap answers a request it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Once the request is in the local journal, synced to disk.
    Durable,
    /// Once the request is in memory.
    Memory,
}

/// The largest spool and backlog `serve` takes, in MiB (1 PiB).
const MAX_MIB: u64 = 1 << 30;

/// The largest request, queue or batch `serve` holds in memory, in MiB.
const MAX_IN_MEMORY_MIB: u64 = 64 << 10;

/// The largest bound on active sessions `serve` takes.
const MAX_ACTIVE_SESSIONS: usize = 4096;

/// Everything `serve` needs, checked.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Where sessions are stored.
    pub store: StoreLocation,
    /// The OTLP/HTTP and control API address.
    pub http: SocketAddr,
    /// The OTLP/gRPC address; none when off.
    pub grpc: Option<SocketAddr>,
    /// The upstream requests are forwarded to, and its protocol.
    pub forward: Option<(String, ExportProtocol)>,
    /// How long the upstream may take to answer.
    pub forward_timeout: Duration,
    /// Compression of the requests the tap builds for the upstream.
    pub forward_compression: ExportCompression,
    /// Sent to the upstream with every forwarded request, over the client's.
    pub forward_headers: HeaderMap,
    /// CA and client certificate towards an https:// upstream.
    pub forward_tls: ClientTls,
    /// TLS of the tap's own listeners; `None` serves plain TCP.
    pub tls: Option<ServerTls>,
    /// Required of every OTLP client when set.
    pub token: Option<Token>,
    /// Who may use the control API.
    pub control: ControlAccess,
    /// Host names the control API, UI and replay stream answer to besides
    /// loopback ones (lowercase, without a port).
    pub allowed_hosts: Vec<String>,
    /// URL prefixes replays started through the control API may send to;
    /// empty allows loopback endpoints only.
    pub replay_allow: Vec<String>,
    /// Where objects wait when the store fails; none to retry in memory.
    pub spool: Option<PathBuf>,
    /// Whether answers wait for the journal (kept in the spool directory).
    pub durability: Durability,
    /// Past this many bytes answered but not stored, requests are refused.
    pub backlog_bytes: u64,
    /// Bound of the spool.
    pub spool_bytes: u64,
    /// A component to load instead of the embedded one.
    pub component: Option<PathBuf>,
    /// Component instances (and worker threads).
    pub workers: usize,
    /// Largest request body, after decompression.
    pub max_body_bytes: usize,
    /// Bound of the write-behind upload queue.
    pub upload_queue_bytes: usize,
    /// Processor calls allowed to wait or run at once.
    pub max_queued_calls: usize,
    /// Forwarded requests whose recording may wait in memory.
    pub recording_queue: usize,
    /// How often active sessions' metadata.json is rewritten.
    pub refresh_interval: Duration,
    /// How long a shutdown keeps storing what waits.
    pub shutdown_timeout: Duration,
    /// When a session's requests become one object.
    pub batching: BatchLimits,
    /// Sessions the tap records at once at most; starting one more is refused (409).
    pub max_active_sessions: usize,
    /// The key redaction rules pseudonymize with; without one, sessions
    /// whose rules hash are refused at start.
    pub redaction_key: Option<RedactionKey>,
}

impl ServeSettings {
    /// How the tap's exporter talks to the upstream, when there is one.
    pub fn forward_export(&self) -> Option<(String, ExportSettings)> {
        let (endpoint, protocol) = self.forward.clone()?;
        let export = ExportSettings {
            protocol,
            timeout: self.forward_timeout,
            headers: self.forward_headers.clone(),
            tls: self.forward_tls.clone(),
            compression: self.forward_compression,
        };
        Some((endpoint, export))
    }

    /// Settings with the documented defaults, for `store`.
    pub fn new(store: StoreLocation) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ServeSettings {
            store,
            http: SocketAddr::from(([0, 0, 0, 0], 4318)),
            grpc: Some(SocketAddr::from(([0, 0, 0, 0], 4317))),
            forward: None,
            forward_timeout: Duration::from_secs(10),
            forward_compression: ExportCompression::None,
            forward_headers: HeaderMap::new(),
            forward_tls: ClientTls::default(),
            tls: None,
            token: None,
            control: ControlAccess::Loopback,
            allowed_hosts: Vec::new(),
            replay_allow: Vec::new(),
            spool: None,
            durability: Durability::Memory,
            backlog_bytes: 64 << 20,
            spool_bytes: 1 << 30,
            component: None,
            workers: cores,
            max_body_bytes: 64 << 20,
            upload_queue_bytes: 64 << 20,
            max_queued_calls: 64,
            recording_queue: 256,
            refresh_interval: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            batching: BatchLimits::default(),
            max_active_sessions: 64,
            redaction_key: None,
        }
    }

    /// Validates `serve`'s arguments.
    pub fn from_args(args: ServeArgs) -> Result<Self, String> {
        let mut settings = ServeSettings::new(args.store.location()?);
        settings.http = args.http;
        settings.grpc = match args.grpc.as_str() {
            "off" | "none" => None,
            address => {
                Some(address.parse().map_err(|_| format!("--grpc {address:?} is not an address (HOST:PORT) or off"))?)
            }
        };
        settings.component = args.store.component;
        let forward =
            args.forward.or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty()));
        if let Some(endpoint) = forward {
            let protocol = match args.forward_protocol.or_else(|| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").ok()) {
                Some(protocol) => protocol.parse()?,
                // The OTLP ports say which protocol is meant.
                None if endpoint.trim_end_matches('/').ends_with(":4317") => ExportProtocol::Grpc,
                None => ExportProtocol::Http,
            };
            settings.forward = Some((endpoint, protocol));
        }
        if let Some(timeout) = args.forward_timeout.map(Ok).or_else(|| env_timeout("OTEL_EXPORTER_OTLP_TIMEOUT")) {
            settings.forward_timeout = timeout?;
        }
        if let Some(compression) = args.forward_compression {
            settings.forward_compression = compression;
        } else if let Ok(compression) = std::env::var("OTEL_EXPORTER_OTLP_COMPRESSION") {
            settings.forward_compression =
                compression.parse().map_err(|e| format!("OTEL_EXPORTER_OTLP_COMPRESSION: {e}"))?;
        }
        if let Ok(list) = std::env::var("OTEL_EXPORTER_OTLP_HEADERS") {
            settings.forward_headers =
                headers::parse_list(&list).map_err(|e| format!("OTEL_EXPORTER_OTLP_HEADERS: {e}"))?;
        }
        for pair in &args.forward_headers {
            let (name, value) = headers::parse_pair(pair).map_err(|e| format!("--forward-header: {e}"))?;
            settings.forward_headers.insert(name, value);
        }
        let forward_tls = ClientTlsFiles {
            ca: args.forward_ca_file.clone(),
            client_certificate: args.forward_client_cert.clone(),
            client_key: args.forward_client_key.clone(),
        };
        settings.forward_tls = forward_tls.or_from_env().load().map_err(|e| format!("upstream TLS: {e}"))?;
        if let (Some(certificate), Some(key)) = (&args.tls_cert, &args.tls_key) {
            let tls = ServerTls::load(certificate, key, args.tls_client_ca.as_deref())?;
            settings.tls = Some(tls);
        }
        let token = match (&args.token, &args.token_file) {
            (_, Some(file)) => {
                let text =
                    std::fs::read_to_string(file).map_err(|e| format!("--token-file {}: {e}", file.display()))?;
                let token = Token::new(text.lines().next().unwrap_or(""));
                Some(token.ok_or_else(|| format!("--token-file {} holds no token", file.display()))?)
            }
            (Some(secret), None) => Some(Token::new(secret).ok_or("--token is empty")?),
            (None, None) => None,
        };
        settings.token = token;
        if let Some(secret) = &args.control_token {
            settings.control = ControlAccess::Token(Token::new(secret).ok_or("--control-token is empty")?);
        }
        for name in &args.allowed_hosts {
            let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !valid {
                return Err(format!("--allowed-host {name:?} must be a host name without scheme or port"));
            }
            settings.allowed_hosts.push(name);
        }
        for prefix in &args.replay_allow {
            let url = url::Url::parse(prefix).map_err(|e| format!("--replay-allow {prefix:?}: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!("--replay-allow {prefix:?} must be an http:// or https:// URL prefix"));
            }
        }
        settings.replay_allow = args.replay_allow.clone();
        settings.spool = match &args.spool {
            Some(dir) if dir.as_os_str() == "off" => None,
            Some(dir) => Some(dir.clone()),
            None => Some(settings.store.default_spool()),
        };
        if !(1..=MAX_ACTIVE_SESSIONS).contains(&args.max_active_sessions) {
            return Err(format!(
                "--max-active-sessions must be 1 to {MAX_ACTIVE_SESSIONS}, not {}",
                args.max_active_sessions
            ));
        }
        settings.max_active_sessions = args.max_active_sessions;
        if let Some(path) = &args.redaction_key_file {
            settings.redaction_key = Some(RedactionKey::read(path)?);
        }
        settings.durability = match args.durability {
            DurabilityFlag::Durable => Durability::Durable,
            DurabilityFlag::Memory => Durability::Memory,
        };
        if settings.durability == Durability::Durable && settings.spool.is_none() {
            return Err(
                "durable mode keeps its journal in the spool directory: --spool off needs --durability memory".into()
            );
        }
        settings.backlog_bytes = ranges::mebibytes("--backlog-mib", args.backlog_mib, MAX_MIB)?;
        settings.spool_bytes = ranges::mebibytes("--spool-mib", args.spool_mib.max(1), MAX_MIB)?;
        if let Some(workers) = args.workers {
            if workers == 0 {
                return Err("--workers must be at least 1".into());
            }
            settings.workers = workers;
        }
        let refresh_interval = args.refresh_seconds.map_or(args.refresh_interval, Duration::from_secs);
        if refresh_interval.is_zero() {
            return Err("--refresh-interval must be more than 0".into());
        }
        let in_memory = |what: &str, mib: usize| {
            let bytes = ranges::mebibytes(what, mib as u64, MAX_IN_MEMORY_MIB)?;
            usize::try_from(bytes).map_err(|_| format!("{what} {mib} is more than this machine can address"))
        };
        settings.max_body_bytes = in_memory("--max-request-mib", args.max_request_mib)?;
        settings.upload_queue_bytes = in_memory("--upload-queue-mib", args.upload_queue_mib)?;
        settings.refresh_interval = refresh_interval;
        settings.shutdown_timeout = args.shutdown_timeout;
        if args.recording_queue == 0 {
            return Err("--recording-queue must be at least 1".into());
        }
        settings.recording_queue = args.recording_queue;
        let max_age = args.batch_max_age_ms.map_or(args.batch_max_age, Duration::from_millis);
        if args.batch_max_kib > MAX_IN_MEMORY_MIB as usize * 1024 {
            return Err(format!(
                "--batch-max-kib {} is out of range: 0 to {} KiB",
                args.batch_max_kib,
                MAX_IN_MEMORY_MIB * 1024
            ));
        }
        settings.batching = BatchLimits { max_bytes: args.batch_max_kib << 10, max_age };
        Ok(settings)
    }
}

/// A timeout from an OTLP exporter variable: milliseconds, as the
/// OpenTelemetry specification defines it; `None` when unset or empty.
pub fn env_timeout(variable: &str) -> Option<Result<Duration, String>> {
    let value = std::env::var(variable).ok().filter(|v| !v.trim().is_empty())?;
    let limit = crate::ranges::MAX_SHORT_DURATION.as_millis();
    Some(match value.trim().parse::<u64>() {
        Ok(millis) if millis > 0 && u128::from(millis) <= limit => Ok(Duration::from_millis(millis)),
        _ => Err(format!("{variable}={value:?} is out of range: 1 to {limit} milliseconds")),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn serve(args: &[&str]) -> Result<ServeSettings, String> {
        let mut line = vec!["otlp-capture", "serve", "--spool", "off", "--durability", "memory"];
        line.extend(args);
        match Cli::try_parse_from(line).map_err(|e| e.to_string())?.command {
            Command::Serve(args) => ServeSettings::from_args(args),
            _ => unreachable!("a serve command line"),
        }
    }

    #[test]
    fn durations_in_either_spelling() {
        let new = serve(&["--refresh-interval", "2s", "--batch-max-age", "250ms"]).unwrap();
        let old = serve(&["--refresh-seconds", "2", "--batch-max-age-ms", "250"]).unwrap();
        assert_eq!((new.refresh_interval, new.batching.max_age), (Duration::from_secs(2), Duration::from_millis(250)));
        assert_eq!((old.refresh_interval, old.batching.max_age), (new.refresh_interval, new.batching.max_age));
        assert!(serve(&["--refresh-interval", "0s"]).is_err());
        assert!(serve(&["--refresh-interval", "2s", "--refresh-seconds", "2"]).is_err(), "one spelling at a time");
    }
}
