//! What a replay sends and how, typed at the edges: [`ReplayChoices`] is
//! both the command line's flags and the control API's JSON fields, and
//! [`ReplaySettings::choose`] fills in every default in one place and
//! checks what was chosen.

use std::str::FromStr;
use std::time::Duration;

use axum::http::HeaderMap;
use serde::{Deserialize, Deserializer};

use super::plan::Speed;
use crate::exporters::retry::RetryPolicy;
use crate::exporters::tls::ClientTls;
use crate::exporters::{ExportCompression, ExportProtocol, ExportSettings, Exporter, headers};
use crate::otlp::Signal;
use crate::ranges;
pub use crate::times::TelemetryTime;

/// How timestamps are rewritten on replay (see DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TimestampMode {
    /// As recorded.
    None,
    /// One offset for the whole replay, the largest that stamps no item later than
    /// the moment its request is sent: every duration and gap stays exact.
    Relative,
    /// One offset per trace and per metric stream, the largest that stamps
    /// none of its items later than its send time; untraced log records by
    /// object, the newest at its send time.
    Current,
}

impl TimestampMode {
    /// `none`, `relative` or `current`, as the flag and the API spell it.
    pub fn name(self) -> &'static str {
        match self {
            TimestampMode::None => "none",
            TimestampMode::Relative => "relative",
            TimestampMode::Current => "current",
        }
    }
}

/// A JSON value that is a number or a string, for fields the API takes in
/// either form (speed, times).
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(serde_json::Number),
    Text(String),
}

impl NumberOrText {
    fn text(self) -> String {
        match self {
            NumberOrText::Number(n) => n.to_string(),
            NumberOrText::Text(t) => t,
        }
    }
}

impl<'de> Deserialize<'de> for TelemetryTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        NumberOrText::deserialize(deserializer)?.text().parse().map_err(serde::de::Error::custom)
    }
}

/// A request timeout: seconds (`5`, `2.5`) or a duration (`5s`, `500ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl FromStr for Timeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let duration = match text.parse::<f64>() {
            Ok(seconds) => {
                ranges::seconds("the timeout", seconds, Duration::from_millis(1), ranges::MAX_SHORT_DURATION)?
            }
            Err(_) => ranges::duration("the timeout", text, ranges::MAX_SHORT_DURATION)?,
        };
        if duration.is_zero() {
            return Err(format!("the timeout {text:?} must be more than 0"));
        }
        Ok(Timeout(duration))
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        NumberOrText::deserialize(deserializer)?.text().parse().map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Speed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        NumberOrText::deserialize(deserializer)?.text().parse().map_err(serde::de::Error::custom)
    }
}

/// A replay's options as a user gives them: the control API's camelCase
/// JSON fields, and what the command line's `ReplayFlags` become; unset ones
/// take the defaults of [`ReplaySettings::choose`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayChoices {
    /// Timestamp rewriting (default current; see below).
    #[serde(default)]
    pub timestamps: Option<TimestampMode>,
    /// Replay speed: a factor (1 is real time, 50 is 50x) or max (default 1).
    #[serde(default)]
    pub speed: Option<Speed>,
    /// Signals to replay (default all).
    #[serde(default)]
    pub signals: Option<Vec<Signal>>,
    /// Export protocol: http (OTLP/HTTP protobuf) or grpc (OTLP/gRPC, e.g.
    /// --endpoint http://collector:4317) (default http).
    #[serde(default)]
    pub protocol: Option<ExportProtocol>,
    /// Longest wait between two objects, in seconds (caps long idle gaps).
    #[serde(default)]
    pub max_idle_seconds: Option<f64>,
    /// Only resources of this service.name (repeatable).
    #[serde(default)]
    pub services: Vec<String>,
    /// Only items at or after this telemetry time (RFC 3339 or unix nanoseconds).
    #[serde(default)]
    pub from: Option<TelemetryTime>,
    /// Only items at or before this telemetry time (RFC 3339 or unix nanoseconds).
    #[serde(default)]
    pub to: Option<TelemetryTime>,
    /// Replay the session this many times (default 1).
    #[serde(default, rename = "loop")]
    pub loops: Option<u32>,
    /// Remap trace and span ids consistently, with a new seed each run and
    /// loop, so a session can be replayed into one backend many times.
    #[serde(default)]
    pub rewrite_ids: bool,
    /// Seed of --rewrite-ids (random by default).
    #[serde(default)]
    pub seed: Option<u64>,
    /// How long the endpoint may take to answer one request: seconds or a duration such as 5s
    /// (default 30s; $OTEL_EXPORTER_OTLP_TIMEOUT, in milliseconds, under the flag).
    #[serde(default)]
    pub timeout: Option<Timeout>,
    /// Compression of the requests sent: gzip (default, as the Collector's exporters) or none
    /// ($OTEL_EXPORTER_OTLP_COMPRESSION under the flag).
    #[serde(default)]
    pub compression: Option<ExportCompression>,
    /// How long the whole run may spend retrying an endpoint that is down or pushing back,
    /// summed over every object (a duration: 90s, 5m; default 2m); past it the replay stops
    /// and exits 1.
    #[serde(default)]
    pub max_retry_time: Option<String>,
    /// Objects prepared and requests in flight at once, 1-64 (default 4). Requests of one
    /// signal go one after another, in capture order (retries included), so at most one
    /// per signal is in flight.
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// A header sent with every request (repeatable; the command line also takes
    /// $OTEL_EXPORTER_OTLP_HEADERS, `k1=v1,k2=v2`, under these).
    #[serde(default)]
    pub headers: Vec<String>,
}

/// How long one request may take when nothing says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests a replay keeps in flight when nothing says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// The most requests a replay keeps in flight.
pub const MAX_CONCURRENCY: usize = 64;

/// How long a whole replay may spend retrying when nothing says otherwise.
pub const DEFAULT_MAX_RETRY_TIME: Duration = Duration::from_secs(120);

/// What to replay and how, checked, every default filled in.
#[derive(Debug, Clone)]
pub struct ReplaySettings {
    /// The session replayed (a valid id; its existence is checked when the replay runs).
    pub session_id: String,
    /// Signals to send, each at most once, never empty.
    pub signals: Vec<Signal>,
    /// How timestamps move.
    pub timestamps: TimestampMode,
    /// How capture gaps become send gaps.
    pub speed: Speed,
    /// Longest wait between two objects, after scaling by the speed.
    pub max_idle: Option<Duration>,
    /// Only these services (resource service.name); empty for all.
    pub services: Vec<String>,
    /// Only items at or after this telemetry time (unix nanos; 0 for no bound).
    pub from_unix_nanos: u64,
    /// Only items at or before this telemetry time (0 for no bound).
    pub to_unix_nanos: u64,
    /// Times to replay the session, at least 1.
    pub loops: u32,
    /// Remap trace and span ids, with a new seed every loop.
    pub rewrite_ids: bool,
    /// The first loop's remapping seed (random when none).
    pub seed: Option<u64>,
    /// The transport to the endpoint.
    pub protocol: ExportProtocol,
    /// How long one request may take.
    pub timeout: Duration,
    /// Compression of the requests sent.
    pub compression: ExportCompression,
    /// Sent with every request.
    pub headers: HeaderMap,
    /// CA and client certificate towards an https:// endpoint (the command
    /// line's flags; the control API sends with the system's roots only).
    pub tls: ClientTls,
    /// Objects read ahead of the one being sent.
    pub prefetch: usize,
    /// Requests in flight at once, at least 1.
    pub concurrency: usize,
    /// Retries of each export.
    pub retry: RetryPolicy,
    /// Largest object accepted, inflated, in bytes.
    pub max_object_bytes: u64,
}

impl ReplaySettings {
    /// Keeps only items inside `[from, to]` (unix nanos, 0 for no bound) as
    /// well as inside the window already chosen.
    pub fn narrow_window(&mut self, from: u64, to: u64) {
        if from != 0 {
            self.from_unix_nanos = self.from_unix_nanos.max(from);
        }
        if to != 0 {
            self.to_unix_nanos = if self.to_unix_nanos == 0 { to } else { self.to_unix_nanos.min(to) };
        }
    }

    /// Settings for `session_id` from a user's choices, defaults filled in;
    /// the message says what is wrong.
    pub fn choose(session_id: &str, choices: &ReplayChoices) -> Result<Self, String> {
        let max_idle = match choices.max_idle_seconds {
            None => None,
            Some(idle) => Some(ranges::seconds("the longest idle wait", idle, Duration::ZERO, ranges::MAX_IDLE)?),
        };
        let loops = choices.loops.unwrap_or(1);
        if loops == 0 {
            return Err("a replay loops at least once".into());
        }
        let max_retry_time = match &choices.max_retry_time {
            Some(text) => ranges::duration("the max retry time", text, ranges::MAX_RETRY_TIME)?,
            None => DEFAULT_MAX_RETRY_TIME,
        };
        let timeout = choices.timeout.map_or(DEFAULT_TIMEOUT, |t| t.0);
        let concurrency = choices.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(format!("the concurrency must be 1 to {MAX_CONCURRENCY}, not {concurrency}"));
        }
        let mut signals = choices.signals.clone().unwrap_or_else(|| Signal::ALL.to_vec());
        signals.dedup();
        if signals.is_empty() {
            return Err("choose at least one signal to replay".into());
        }
        let mut headers = HeaderMap::new();
        for pair in &choices.headers {
            let (name, value) = headers::parse_pair(pair)?;
            headers.insert(name, value);
        }
        Ok(ReplaySettings {
            session_id: session_id.to_owned(),
            signals,
            timestamps: choices.timestamps.unwrap_or(TimestampMode::Current),
            speed: choices.speed.unwrap_or(Speed::Factor(1.0)),
            max_idle,
            services: choices.services.clone(),
            from_unix_nanos: choices.from.map_or(0, |t| t.0),
            to_unix_nanos: choices.to.map_or(0, |t| t.0),
            loops,
            rewrite_ids: choices.rewrite_ids,
            seed: choices.seed,
            protocol: choices.protocol.unwrap_or(ExportProtocol::Http),
            timeout,
            compression: choices.compression.unwrap_or_default(),
            headers,
            tls: ClientTls::default(),
            prefetch: 4,
            concurrency,
            retry: RetryPolicy { max_elapsed: max_retry_time, ..RetryPolicy::default() },
            max_object_bytes: 256 << 20,
        })
    }

    /// The exporter these settings send to `endpoint` with.
    pub fn exporter(&self, endpoint: &str) -> Result<Exporter, String> {
        let settings = ExportSettings {
            protocol: self.protocol,
            timeout: self.timeout,
            headers: self.headers.clone(),
            tls: self.tls.clone(),
            compression: self.compression,
        };
        Exporter::new(endpoint, &settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_one_place() {
        let settings = ReplaySettings::choose("s", &ReplayChoices::default()).unwrap();
        assert_eq!(settings.timestamps, TimestampMode::Current);
        assert_eq!(settings.speed, Speed::Factor(1.0));
        assert_eq!(settings.signals, Signal::ALL);
        assert_eq!(
            (settings.loops, settings.protocol, settings.timeout),
            (1, ExportProtocol::Http, Duration::from_secs(30))
        );
    }

    #[test]
    fn the_api_spells_every_choice_in_json() {
        let choices: ReplayChoices = serde_json::from_value(serde_json::json!({
            "timestamps": "relative", "speed": "max", "signals": ["logs"], "protocol": "grpc",
            "maxIdleSeconds": 2.5, "services": ["cart"], "from": "2025-11-24T16:00:00Z", "to": 1764000001000000000u64,
            "loop": 2, "rewriteIds": true, "seed": 7, "timeout": 5
        }))
        .unwrap();
        let settings = ReplaySettings::choose("s", &choices).unwrap();
        assert_eq!((settings.timestamps, settings.speed), (TimestampMode::Relative, Speed::Max));
        assert_eq!((settings.signals, settings.protocol), (vec![Signal::Logs], ExportProtocol::Grpc));
        assert_eq!(
            (settings.from_unix_nanos, settings.to_unix_nanos),
            (1_764_000_000_000_000_000, 1_764_000_001_000_000_000)
        );
        assert_eq!((settings.loops, settings.rewrite_ids, settings.seed), (2, true, Some(7)));
        assert_eq!(settings.max_idle, Some(Duration::from_millis(2500)));
        let speed: ReplayChoices = serde_json::from_value(serde_json::json!({ "speed": 10 })).unwrap();
        assert_eq!(speed.speed, Some(Speed::Factor(10.0)));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        let zero_loops = ReplayChoices { loops: Some(0), ..Default::default() };
        assert!(ReplaySettings::choose("s", &zero_loops).unwrap_err().contains("at least once"));
        let idle = ReplayChoices { max_idle_seconds: Some(-1.0), ..Default::default() };
        assert!(ReplaySettings::choose("s", &idle).is_err());
        assert!(serde_json::from_value::<ReplayChoices>(serde_json::json!({ "speed": 0 })).is_err());
        assert!(serde_json::from_value::<ReplayChoices>(serde_json::json!({ "timestamps": "later" })).is_err());
        assert!("yesterday".parse::<TelemetryTime>().is_err());
    }
}
