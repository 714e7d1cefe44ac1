//! The raw command line, as typed. `config` and the commands validate it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exporters::{ExportCompression, ExportProtocol};
use crate::otlp::Signal;
use crate::replay::ReplayChoices;
use crate::replay::plan::Speed;
use crate::replay::settings::{Timeout, TimestampMode};
use crate::session_pick::SessionFilter;
use crate::storage::{S3Encryption, StoreLocation};
use crate::times::{StartBound, TelemetryTime};

/// Record the OTLP telemetry of a diagnostic session to S3 or a directory,
/// and replay it later.
#[derive(Debug, Parser)]
#[command(name = "otlp-capture", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log filter (tracing's env-filter syntax), logs go to stderr.
    #[arg(long, global = true, env = "OTLP_CAPTURE_LOG", default_value = "info")]
    pub log: String,
    /// Log lines as text (coloured only on a terminal) or as JSON objects, one per line.
    #[arg(long, global = true, env = "OTLP_CAPTURE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people: text, coloured when stderr is a terminal.
    Text,
    /// For log pipelines: one JSON object per line (timestamp, level, target, fields).
    Json,
}

/// What the binary does.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the capture tap: OTLP/HTTP and OTLP/gRPC receivers that record into active sessions.
    Serve(ServeArgs),
    /// Start, stop, list and show sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Replay a recorded session into an OTLP endpoint.
    Replay(ReplayArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell), the man page (`man`), or the embedded
    /// WebAssembly component (`component`, for other hosts: see docs/hosting.md).
    Generate {
        /// bash, zsh, fish, elvish, powershell, man, component, or compilation (compiles the
        /// embedded component for this machine into otlp-capture.compiled/ beside the binary,
        /// so every start loads it in milliseconds; `make build` does this).
        what: String,
    },
    /// Print a session's objects, or one object, as OTLP/JSON (one request per line).
    Inspect {
        /// A session id (or latest, largest, smallest), or an object key (sessions/ID/raw/...).
        target: String,
        /// Where sessions are read from (and which component build reads them).
        #[command(flatten)]
        store: StoreArgs,
        /// Which sessions a picker chooses from.
        #[command(flatten)]
        filter: SessionFilterArgs,
        /// Only the telemetry of this phase (its time window).
        #[arg(long, value_name = "NAME")]
        phase: Option<String>,
    },
}

/// `replay`.
#[derive(Debug, Args)]
#[command(after_help = "Timestamps (never scaled by --speed; no mode stamps an item after the moment its request is \
sent): `current` (default) moves each trace (its spans, events and log records) and each metric stream by \
one offset, the largest that keeps all of it at or before its send times, so offsets and durations inside a \
trace are exact and cumulative series keep their start times; log records without a trace id keep their \
offsets inside their object, its newest at its send time. `relative` moves everything by one offset, the \
largest allowed, so every gap between any two items is exact; at speeds above 1 earlier items look older. \
`none` sends timestamps as recorded. `current` and `relative` read every object once before sending.")]
pub struct ReplayArgs {
    /// The session id, or latest, largest or smallest (=ID for a session named like one of those).
    pub id: String,
    /// Which sessions a picker chooses from.
    #[command(flatten)]
    pub filter: SessionFilterArgs,
    /// Only the telemetry of this phase of the session (its time window; see `session mark`).
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// The OTLP endpoint's base URL (`/v1/traces` etc. are added), e.g. http://collector:4318
    /// (default: $OTEL_EXPORTER_OTLP_ENDPOINT).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Where sessions are read from (and which component build reads them).
    #[command(flatten)]
    pub store: StoreArgs,
    /// How to replay.
    #[command(flatten)]
    pub flags: ReplayFlags,
    /// Say what would be sent and how long it would take, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// TLS towards an https:// endpoint: a private CA's PEM file, trusted besides the system's
    /// roots (default: $OTEL_EXPORTER_OTLP_CERTIFICATE).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM) for an endpoint that requires mutual TLS
    /// (default: $OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM) (default: $OTEL_EXPORTER_OTLP_CLIENT_KEY).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

/// `replay`'s flags of how to replay: the command line's spelling of
/// [`ReplayChoices`], which the control API takes as JSON; unset ones take
/// the defaults of `ReplaySettings::choose`.
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct ReplayFlags {
    /// Timestamp rewriting (default current; see below).
    #[arg(long, value_enum)]
    pub timestamps: Option<TimestampMode>,
    /// Replay speed: a factor (1 is real time, 50 is 50x) or max (default 1).
    #[arg(long)]
    pub speed: Option<Speed>,
    /// Signals to replay (default all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub signals: Option<Vec<Signal>>,
    /// Export protocol: http (OTLP/HTTP protobuf) or grpc (OTLP/gRPC, e.g.
    /// --endpoint http://collector:4317) (default http).
    #[arg(long)]
    pub protocol: Option<ExportProtocol>,
    /// Longest wait between two objects, in seconds (caps long idle gaps).
    #[arg(long = "max-idle", value_name = "SECONDS")]
    pub max_idle_seconds: Option<f64>,
    /// Only resources of this service.name (repeatable).
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Only items at or after this telemetry time (RFC 3339 or unix nanoseconds).
    #[arg(long, value_name = "TIME")]
    pub from: Option<TelemetryTime>,
    /// Only items at or before this telemetry time (RFC 3339 or unix nanoseconds).
    #[arg(long, value_name = "TIME")]
    pub to: Option<TelemetryTime>,
    /// Replay the session this many times (default 1).
    #[arg(long = "loop", value_name = "N")]
    pub loops: Option<u32>,
    /// Remap trace and span ids consistently, with a new seed each run and
    /// loop, so a session can be replayed into one backend many times.
    #[arg(long)]
    pub rewrite_ids: bool,
    /// Seed of --rewrite-ids (random by default).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How long the endpoint may take to answer one request: seconds or a duration such as 5s
    /// (default 30s; $OTEL_EXPORTER_OTLP_TIMEOUT, in milliseconds, under the flag).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<Timeout>,
    /// Compression of the requests sent: gzip (default, as the Collector's exporters) or none
    /// ($OTEL_EXPORTER_OTLP_COMPRESSION under the flag).
    #[arg(long, value_enum)]
    pub compression: Option<ExportCompression>,
    /// How long the whole run may spend retrying an endpoint that is down or pushing back,
    /// summed over every object (a duration: 90s, 5m; default 2m); past it the replay stops
    /// and exits 1.
    #[arg(long, value_name = "DURATION")]
    pub max_retry_time: Option<String>,
    /// Objects prepared and requests in flight at once, 1-64 (default 4). Requests of one
    /// signal go one after another, in capture order (retries included), so at most one
    /// per signal is in flight.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// A header sent with every request (repeatable; the command line also takes
    /// $OTEL_EXPORTER_OTLP_HEADERS, `k1=v1,k2=v2`, under these).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
}

impl ReplayFlags {
    /// The same choices as the control API spells them.
    pub fn choices(&self) -> ReplayChoices {
        let ReplayFlags {
            timestamps,
            speed,
            signals,
            protocol,
            max_idle_seconds,
            services,
            from,
            to,
            loops,
            rewrite_ids,
            seed,
            timeout,
            compression,
            max_retry_time,
            concurrency,
            headers,
        } = self.clone();
        ReplayChoices {
            timestamps,
            speed,
            signals,
            protocol,
            max_idle_seconds,
            services,
            from,
            to,
            loops,
            rewrite_ids,
            seed,
            timeout,
            compression,
            max_retry_time,
            concurrency,
            headers,
        }
    }
}

/// Where sessions are stored.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// A local directory standing for the bucket, or s3://BUCKET[/PREFIX] (endpoint and
    /// credentials from the standard AWS variables; AWS_ENDPOINT_URL for MinIO).
    #[arg(long, env = "OTLP_CAPTURE_STORE", default_value = "./otel-data")]
    pub store: String,
    /// Load this component build instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    pub component: Option<PathBuf>,
    /// Server-side encryption of every object and metadata.json written to an s3:// store:
    /// AES256 (SSE-S3) or aws:kms (SSE-KMS). Without it the bucket's default applies, or
    /// $AWS_SERVER_SIDE_ENCRYPTION and $AWS_SSE_KMS_KEY_ID.
    #[arg(long = "s3-sse", value_name = "AES256|aws:kms")]
    pub s3_sse: Option<String>,
    /// The KMS key (id or ARN) of --s3-sse aws:kms; the bucket's default key without it.
    #[arg(long = "s3-sse-kms-key-id", value_name = "ID", requires = "s3_sse")]
    pub s3_sse_kms_key_id: Option<String>,
}

impl StoreArgs {
    /// The store these flags name, with its encryption; the message says what is wrong.
    pub fn location(&self) -> Result<StoreLocation, String> {
        let location: StoreLocation = self.store.parse()?;
        let encryption = match &self.s3_sse {
            Some(kind) => Some(S3Encryption::from_flags(kind, self.s3_sse_kms_key_id.as_deref())?),
            None => None,
        };
        location.with_encryption(encryption)
    }
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where sessions are recorded (and which component build records them).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address of the OTLP/HTTP receiver, control API and /health.
    #[arg(long, default_value = "0.0.0.0:4318")]
    pub http: SocketAddr,
    /// Address of the OTLP/gRPC receiver, or `off`.
    #[arg(long, default_value = "0.0.0.0:4317")]
    pub grpc: String,
    /// Forward every request unchanged to this upstream collector and answer with its answer
    /// (default: $OTEL_EXPORTER_OTLP_ENDPOINT when set). Without it the tap answers itself.
    #[arg(long, value_name = "URL", env = "OTLP_CAPTURE_FORWARD")]
    pub forward: Option<String>,
    /// The upstream's protocol: http (OTLP/HTTP) or grpc (default: $OTEL_EXPORTER_OTLP_PROTOCOL,
    /// else grpc for port 4317 and http otherwise).
    #[arg(long, value_name = "PROTOCOL")]
    pub forward_protocol: Option<String>,
    /// How long the upstream may take to answer one forwarded request (default:
    /// $OTEL_EXPORTER_OTLP_TIMEOUT in milliseconds, else 10s).
    #[arg(long, value_name = "DURATION", value_parser = crate::ranges::short_duration)]
    pub forward_timeout: Option<std::time::Duration>,
    /// Compression of the requests the tap builds for the upstream (a gRPC client's message sent
    /// over HTTP, or to a gRPC upstream); forwarded HTTP bodies keep the client's encoding
    /// (default: $OTEL_EXPORTER_OTLP_COMPRESSION, else none, to keep the forward path short).
    #[arg(long, value_enum)]
    pub forward_compression: Option<crate::exporters::ExportCompression>,
    /// A header sent to the upstream with every forwarded request, over the client's of the
    /// same name (repeatable; also $OTEL_EXPORTER_OTLP_HEADERS, `k1=v1,k2=v2`).
    #[arg(long = "forward-header", value_name = "KEY=VALUE")]
    pub forward_headers: Vec<String>,
    /// TLS towards an https:// upstream: a private CA's PEM file, trusted besides the system's
    /// roots (default: $OTEL_EXPORTER_OTLP_CERTIFICATE).
    #[arg(long, value_name = "FILE")]
    pub forward_ca_file: Option<PathBuf>,
    /// A client certificate (PEM) for an upstream that requires mutual TLS
    /// (default: $OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE).
    #[arg(long, value_name = "FILE", requires = "forward_client_key")]
    pub forward_client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM) (default: $OTEL_EXPORTER_OTLP_CLIENT_KEY).
    #[arg(long, value_name = "FILE", requires = "forward_client_cert")]
    pub forward_client_key: Option<PathBuf>,
    /// Serve both receivers and the control API over TLS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM) on both listeners (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Require `authorization: Bearer TOKEN` of every OTLP client (HTTP 401, gRPC UNAUTHENTICATED).
    #[arg(long, env = "OTLP_CAPTURE_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Read the receivers' token from this file (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Require `authorization: Bearer TOKEN` of every control API request. Without it the
    /// control API answers loopback clients only.
    #[arg(long, env = "OTLP_CAPTURE_CONTROL_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub control_token: Option<String>,
    /// A host name the control API, the web UI and the replay stream answer to besides
    /// loopback names and addresses, for a tap reached by a DNS name (repeatable). Without a
    /// control token, a request whose `Host` is neither is refused: a web page on a rebound
    /// name cannot reach what the tap holds.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// The key sessions' redaction rules pseudonymize with (`"hash": "hmac-sha256"`): the
    /// file's bytes, one trailing newline dropped, at least 32 of them. It stays in this
    /// process: no object, metadata.json, journal record or log line holds it.
    #[arg(long, env = "OTLP_CAPTURE_REDACTION_KEY_FILE", value_name = "FILE")]
    pub redaction_key_file: Option<PathBuf>,
    /// A URL prefix replays started through the control API may send to (repeatable).
    /// Without one, only loopback endpoints are allowed. The CLI's own replay is not restricted.
    #[arg(long = "replay-allow", value_name = "PREFIX")]
    pub replay_allow: Vec<String>,
    /// Forwarded requests whose recording may wait in memory once their upstream answered;
    /// past it they wait in the journal (durable mode) or are dropped from the recording and
    /// counted (memory mode). Forwarding is never refused for it.
    #[arg(long, default_value_t = 256)]
    pub recording_queue: usize,
    /// Component instances (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Largest request body accepted, after decompression, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_request_mib: usize,
    /// Bound of the write-behind upload queue in memory mode, in MiB; past it the tap answers 503.
    #[arg(long, default_value_t = 64)]
    pub upload_queue_mib: usize,
    /// The local directory of the write-ahead journal (durable mode) and of the objects that
    /// wait while the store fails, drained when it is back. One tap per directory, and one
    /// store: a spool names its store and no tap on another store takes it up. `off` (memory
    /// mode only) retries in memory. Default: ./otel-spool/DIGEST, one per store.
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// Sessions the tap records at once at most; starting one more answers 409. Every request
    /// is recorded into each active session, so this bounds the work one request makes.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_active_sessions: usize,
    /// `durable`: a request is answered once it is on local disk (the journal, synced), so a
    /// crash loses nothing acknowledged. `memory`: answered once it is in memory, faster, and
    /// a crash loses what waits to be stored.
    #[arg(long, value_enum, default_value = "durable")]
    pub durability: DurabilityFlag,
    /// Past this many MiB answered but not yet in the store (the store failing or full, and
    /// the spool full too), new requests get 503 with Retry-After.
    #[arg(long, default_value_t = 64)]
    pub backlog_mib: u64,
    /// Bound of the spool, in MiB; past it (and a full queue) the tap answers 503.
    #[arg(long, default_value_t = 1024)]
    pub spool_mib: u64,
    /// A session's requests of one signal are stored together once they reach this many KiB
    /// (protobuf); 0 stores every request as its own object.
    #[arg(long, default_value_t = 1024)]
    pub batch_max_kib: usize,
    /// ... or once the oldest of them has waited this long.
    #[arg(long, default_value = "1s", value_parser = crate::ranges::short_duration, value_name = "DURATION")]
    pub batch_max_age: std::time::Duration,
    /// The same in milliseconds (the former spelling).
    #[arg(long, hide = true, conflicts_with = "batch_max_age")]
    pub batch_max_age_ms: Option<u64>,
    /// On SIGTERM or SIGINT, how long to keep storing what waits (while /health answers and new
    /// requests get 503) before exiting 0; what is left stays in the journal for the next start.
    #[arg(long, default_value = "30s", value_parser = crate::ranges::short_duration, value_name = "DURATION")]
    pub shutdown_timeout: std::time::Duration,
    /// How often active sessions' metadata.json is rewritten (and the store's sessions joined).
    #[arg(long, default_value = "5s", value_parser = crate::ranges::short_duration, value_name = "DURATION")]
    pub refresh_interval: std::time::Duration,
    /// The same in seconds (the former spelling).
    #[arg(long, hide = true, conflicts_with = "refresh_interval")]
    pub refresh_seconds: Option<u64>,
}

/// `serve --durability`: when the tap answers a request it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityFlag {
    /// Once the request is in the local journal, synced to disk.
    Durable,
    /// Once the request is in memory.
    Memory,
}

/// `session ...`.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Start recording a session on a running tap.
    Start(StartArgs),
    /// Stop a session on a running tap; prints its final metadata.
    Stop {
        /// The session id.
        id: String,
        /// The tap to stop it on.
        #[command(flatten)]
        tap: TapArgs,
    },
    /// List the sessions in a store, oldest start first.
    List {
        /// Where sessions are read from (and which component build reads them).
        #[command(flatten)]
        store: StoreArgs,
        /// Which sessions to list.
        #[command(flatten)]
        filter: SessionFilterArgs,
        /// Print `{"sessions": [metadata, ...]}` instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a session's metadata.json.
    Show {
        /// The session id, or latest, largest or smallest (=ID for a session named like one of those).
        id: String,
        /// Where sessions are read from (and which component build reads them).
        #[command(flatten)]
        store: StoreArgs,
        /// Which sessions a picker chooses from.
        #[command(flatten)]
        filter: SessionFilterArgs,
        /// A running tap to ask instead of the store.
        #[command(flatten)]
        tap: TapArgs,
    },
    /// Delete a stopped session: its objects, then its metadata.json.
    Delete {
        /// The session id, or latest, largest or smallest (=ID for a session named like one of those).
        id: String,
        /// Where the session is stored.
        #[command(flatten)]
        store: StoreArgs,
        /// Which sessions a picker chooses from.
        #[command(flatten)]
        filter: SessionFilterArgs,
        /// Delete an active session too: stop it through --tap first (or, when that tap does not
        /// hold it, delete it as stored).
        #[arg(long)]
        force: bool,
        /// The tap that holds the session, for --force.
        #[command(flatten)]
        tap: TapArgs,
    },
    /// Record a named phase (baseline, anomaly, recovery, ...) of a session into its metadata.json.
    Mark {
        /// The session id, or latest, largest or smallest (=ID for a session named like one of those).
        id: String,
        /// The phase's name.
        phase: String,
        /// When the phase starts: RFC 3339, unix nanoseconds, or an age such as 5m (default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<StartBound>,
        /// A JSON value to keep with the phase (text that is not JSON is kept as a string).
        #[arg(long, value_name = "JSON")]
        value: Option<String>,
        /// Where the session is stored; a stopped session is marked there directly.
        #[command(flatten)]
        store: StoreArgs,
        /// Which sessions a picker chooses from.
        #[command(flatten)]
        filter: SessionFilterArgs,
        /// The tap recording the session, when it is active.
        #[command(flatten)]
        tap: TapArgs,
    },
    /// Delete completed and failed sessions that ended longer ago than a duration.
    Prune {
        /// Sessions whose endTime is older than this go: 30d, 12h, 90m.
        #[arg(long, value_name = "DURATION", value_parser = crate::ranges::long_duration)]
        older_than: std::time::Duration,
        /// Always keep the newest N ended sessions (by start time).
        #[arg(long, value_name = "N", default_value_t = 0)]
        keep: usize,
        /// Print what would be deleted and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where sessions are stored.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Which sessions a picker (`latest`, `largest`, `smallest`) chooses from,
/// and which `session list` prints.
#[derive(Debug, Args, Clone, Default)]
pub struct SessionFilterArgs {
    /// Only sessions whose id starts with this.
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// Only sessions started at or after this: RFC 3339, unix nanoseconds, or an age such as 2h.
    #[arg(long, value_name = "TIME")]
    pub since: Option<StartBound>,
    /// Only sessions started at or before this: RFC 3339, unix nanoseconds, or an age such as 2h.
    #[arg(long, value_name = "TIME")]
    pub until: Option<StartBound>,
}

impl SessionFilterArgs {
    /// The filter these flags ask for.
    pub fn filter(&self) -> SessionFilter {
        SessionFilter { prefix: self.prefix.clone(), since: self.since.map(|b| b.0), until: self.until.map(|b| b.0) }
    }
}

/// `session start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The session id: 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.
    pub id: String,
    /// A feature flag enabled during the session (repeatable); tagged on every resource.
    #[arg(long = "flag", value_name = "F")]
    pub flags: Vec<String>,
    /// Signals to record.
    #[arg(long, value_delimiter = ',', default_value = "traces,metrics,logs")]
    pub signals: Vec<String>,
    /// Fraction of traces kept, in (0, 1]; decided by trace id.
    #[arg(long, default_value_t = 1.0)]
    pub sample_ratio: f64,
    /// Free text describing the session.
    #[arg(long)]
    pub description: Option<String>,
    /// The diagnostic session (incident, load test) this recording belongs to.
    #[arg(long)]
    pub diagnostic_session: Option<String>,
    /// Who starts it (default: $USER).
    #[arg(long)]
    pub created_by: Option<String>,
    /// End the session (completed) once its stored objects take this many MiB.
    #[arg(long, value_name = "MIB", alias = "max-size-mb")]
    pub max_size_mib: Option<f64>,
    /// End the session (completed) after this long: 90m, 2h.
    #[arg(long, value_name = "DURATION", value_parser = crate::ranges::long_duration)]
    pub max_duration: Option<std::time::Duration>,
    /// The same in minutes (the former spelling).
    #[arg(long, hide = true, conflicts_with = "max_duration")]
    pub max_duration_minutes: Option<f64>,
    /// gzip level of the session's objects: 1 (default) is the fastest;
    /// 6 stores about a fourth less at four to six times the CPU.
    #[arg(long, value_name = "0-9", value_parser = clap::value_parser!(u8).range(0..=9))]
    pub gzip_level: Option<u8>,
    /// Redaction rules from a JSON file (the control API's `redaction` object): applied
    /// inside the component before anything of a request is written; forwarding is untouched.
    #[arg(long, value_name = "FILE")]
    pub redaction: Option<std::path::PathBuf>,
    /// The tap to start it on.
    #[command(flatten)]
    pub tap: TapArgs,
}

/// A running tap's control API.
#[derive(Debug, Args, Clone)]
pub struct TapArgs {
    /// The tap's HTTP address (default http://127.0.0.1:4318). Given, `session mark` and
    /// `session show` ask the tap first and need no local store.
    #[arg(long, value_name = "URL")]
    pub tap: Option<String>,
    /// The tap's control token, when it was started with one.
    #[arg(long, env = "OTLP_CAPTURE_CONTROL_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub control_token: Option<String>,
    /// A private CA's PEM file to trust for an https:// tap, besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl TapArgs {
    /// The tap's base URL, without a trailing `/`.
    pub fn url(&self) -> &str {
        self.tap.as_deref().unwrap_or("http://127.0.0.1:4318").trim_end_matches('/')
    }
}

/// A value on the command line (or in a variable standing for a flag) that
/// is refused before anything runs: the binary exits 2 with its message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidArgs(pub String);
