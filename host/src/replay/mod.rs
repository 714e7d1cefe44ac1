//! Replay: storage → component (filter, timestamp rewrite, id remap) →
//! exporter, paced by capture time, streaming object by object with a small
//! bounded prefetch so memory does not grow with the session.

pub mod jobs;
pub mod plan;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::TapError;
use crate::exporters::retry::{RetryPolicy, with_retries};
use crate::exporters::{ExportError, Exporter};
use crate::runtime::bindings::{ReplayOptions, SessionStatus, Signal, TimestampRewrite};
use crate::sessions::Sessions;
use plan::{PlannedObject, Speed};

/// How timestamps are rewritten (see DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimestampMode {
    /// As recorded.
    None,
    /// One offset for the whole replay: replay start minus the session's first timestamp.
    Relative,
    /// Per object: its newest timestamp becomes the moment it is sent.
    Current,
}

impl std::str::FromStr for TimestampMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(TimestampMode::None),
            "relative" => Ok(TimestampMode::Relative),
            "current" => Ok(TimestampMode::Current),
            _ => Err(format!("unknown timestamp mode {text:?}; use none, relative or current")),
        }
    }
}

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct ReplaySettings {
    /// The session.
    pub session_id: String,
    /// Signals to send.
    pub signals: Vec<Signal>,
    /// Timestamp rewriting.
    pub timestamps: TimestampMode,
    /// Pacing.
    pub speed: Speed,
    /// Longest wait between two objects.
    pub max_idle: Option<Duration>,
    /// Only these services (resource service.name); empty for all.
    pub services: Vec<String>,
    /// Only items at or after this telemetry time (unix nanos; 0 for none).
    pub from_unix_nanos: u64,
    /// Only items at or before this telemetry time (0 for none).
    pub to_unix_nanos: u64,
    /// Times to replay the session.
    pub loops: u32,
    /// Remap trace and span ids, with a new seed every loop.
    pub rewrite_ids: bool,
    /// The first loop's remapping seed (random when none).
    pub seed: Option<u64>,
    /// Objects read ahead of the one being sent.
    pub prefetch: usize,
    /// Retries of each export.
    pub retry: RetryPolicy,
    /// Largest object accepted, inflated.
    pub max_object_bytes: u64,
}

impl ReplaySettings {
    /// Defaults for `session_id`: every signal, current timestamps, speed 1.
    pub fn new(session_id: &str) -> Self {
        ReplaySettings {
            session_id: session_id.to_owned(),
            signals: vec![Signal::Traces, Signal::Metrics, Signal::Logs],
            timestamps: TimestampMode::Current,
            speed: Speed::Factor(1.0),
            max_idle: None,
            services: Vec::new(),
            from_unix_nanos: 0,
            to_unix_nanos: 0,
            loops: 1,
            rewrite_ids: false,
            seed: None,
            prefetch: 4,
            retry: RetryPolicy::default(),
            max_object_bytes: 256 << 20,
        }
    }
}

/// Replay options as a user writes them (command line or control API),
/// validated in one place by [`ReplaySettings::choose`].
#[derive(Debug, Clone, Copy)]
pub struct ReplayChoices<'a> {
    /// none, relative or current.
    pub timestamps: &'a str,
    /// A factor or `max`.
    pub speed: &'a str,
    /// Signal names.
    pub signals: &'a [String],
    /// Longest wait between objects, seconds.
    pub max_idle_seconds: Option<f64>,
    /// Only these services.
    pub services: &'a [String],
    /// Times to replay, at least 1.
    pub loops: u32,
    /// Remap trace and span ids.
    pub rewrite_ids: bool,
}

impl ReplaySettings {
    /// Settings for `session_id` from a user's choices; the message says what is wrong.
    pub fn choose(session_id: &str, choices: ReplayChoices<'_>) -> Result<Self, String> {
        let mut settings = ReplaySettings::new(session_id);
        settings.timestamps = choices.timestamps.parse()?;
        settings.speed = choices.speed.parse()?;
        settings.signals = choices.signals.iter().map(|s| s.parse()).collect::<Result<_, String>>()?;
        if let Some(idle) = choices.max_idle_seconds {
            if !(idle.is_finite() && idle >= 0.0) {
                return Err(format!("the longest idle wait must be a number of seconds, not {idle}"));
            }
            settings.max_idle = Some(Duration::from_secs_f64(idle));
        }
        settings.services = choices.services.to_vec();
        if choices.loops == 0 {
            return Err("a replay loops at least once".into());
        }
        settings.loops = choices.loops;
        settings.rewrite_ids = choices.rewrite_ids;
        Ok(settings)
    }
}

/// Running totals of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayCounts {
    /// Objects to send (all loops).
    pub objects_planned: u64,
    /// Objects sent and accepted.
    pub objects_sent: u64,
    /// Objects the filters emptied.
    pub objects_skipped: u64,
    /// Objects not delivered.
    pub objects_failed: u64,
    /// Spans sent.
    pub spans: u64,
    /// Data points sent.
    pub data_points: u64,
    /// Log records sent.
    pub log_records: u64,
    /// Protobuf bytes sent.
    pub bytes: u64,
    /// Export retries.
    pub retries: u64,
    /// Items the target reported rejecting.
    pub rejected: u64,
}

/// The outcome of a replay.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    /// The totals.
    pub counts: ReplayCounts,
    /// Time taken.
    pub elapsed_seconds: f64,
    /// What the planned send schedule spans (one loop).
    pub planned_seconds: f64,
    /// The session was still active (its tap may have died): what was stored was replayed.
    pub session_was_active: bool,
    /// Why objects were not delivered, one line each.
    pub failures: Vec<String>,
}

impl ReplayReport {
    /// Whether everything planned was delivered.
    pub fn delivered_all(&self) -> bool {
        self.counts.objects_failed == 0 && self.failures.is_empty()
    }

    /// The one-line summary.
    pub fn summary_line(&self) -> String {
        let c = &self.counts;
        format!(
            "{} objects sent ({} skipped, {} failed), {} spans, {} data points, {} log records, {} bytes, {} retries, {:.1}s",
            c.objects_sent,
            c.objects_skipped,
            c.objects_failed,
            c.spans,
            c.data_points,
            c.log_records,
            c.bytes,
            c.retries,
            self.elapsed_seconds
        )
    }
}

fn now_unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The objects a replay would send, in order.
pub async fn plan(sessions: &Sessions, settings: &ReplaySettings) -> Result<Vec<PlannedObject>, TapError> {
    let mut objects = sessions.raw_objects(&settings.session_id).await?;
    objects.retain(|o| settings.signals.contains(&o.signal));
    plan::order(&mut objects);
    Ok(objects)
}

/// Replays a session to `exporter`, calling `progress` after every object.
pub async fn run(
    sessions: &Sessions,
    exporter: &Exporter,
    settings: &ReplaySettings,
    progress: &(dyn Fn(&ReplayCounts) + Send + Sync),
) -> Result<ReplayReport, TapError> {
    let state = sessions
        .get(&settings.session_id)
        .await?
        .ok_or_else(|| TapError::NotFound(format!("no session {} in the store", settings.session_id)))?;
    let objects = plan(sessions, settings).await?;
    let schedule = plan::schedule(&objects, settings.speed, settings.max_idle);
    let started = Instant::now();
    let mut counts =
        ReplayCounts { objects_planned: objects.len() as u64 * u64::from(settings.loops), ..Default::default() };
    let mut failures = Vec::new();
    let base_seed = settings.seed.unwrap_or_else(|| fastrand::u64(..));
    let first_telemetry = state.counts.first_telemetry_unix_nanos;

    'loops: for round in 0..settings.loops {
        let replay_start = Instant::now();
        let replay_start_unix = now_unix_nanos();
        let (sender, mut received) = mpsc::channel(settings.prefetch.max(1));
        let fetcher = tokio::spawn(fetch(sessions.uploader().storage().clone(), objects.clone(), sender));
        let mut relative_base = first_telemetry;
        while let Some((index, object)) = received.recv().await {
            let planned = &objects[index];
            let object = match object {
                Ok(object) => object,
                Err(e) => {
                    counts.objects_failed += 1;
                    failures.push(format!("{}: cannot read: {e}", planned.key));
                    progress(&counts);
                    continue;
                }
            };
            let due = replay_start + schedule[index];
            let rewrite = match settings.timestamps {
                TimestampMode::None => TimestampRewrite::None,
                TimestampMode::Relative => {
                    if relative_base == 0 {
                        relative_base = first_timestamp(sessions, planned.signal, object.clone(), settings).await?;
                    }
                    TimestampRewrite::Shift(offset(relative_base, replay_start_unix))
                }
                TimestampMode::Current => {
                    let due_unix =
                        replay_start_unix.saturating_add(u64::try_from(schedule[index].as_nanos()).unwrap_or(u64::MAX));
                    TimestampRewrite::NewestAt(due_unix.max(now_unix_nanos()))
                }
            };
            let options = ReplayOptions {
                rewrite,
                id_remap_seed: settings.rewrite_ids.then(|| base_seed.wrapping_add(u64::from(round))),
                services: settings.services.clone(),
                from_unix_nanos: settings.from_unix_nanos,
                to_unix_nanos: settings.to_unix_nanos,
                max_uncompressed_bytes: settings.max_object_bytes,
            };
            let signal = planned.signal;
            let prepared = sessions.pool().call(move |i| i.prepare_replay(signal, &object, &options)).await??;
            let batch = match prepared {
                Ok(Some(batch)) => batch,
                Ok(None) => {
                    counts.objects_skipped += 1;
                    progress(&counts);
                    continue;
                }
                Err(e) => {
                    counts.objects_failed += 1;
                    failures.push(format!("{}: {}", planned.key, TapError::from(e)));
                    progress(&counts);
                    continue;
                }
            };
            tokio::time::sleep_until(due.into()).await;
            let payload = Bytes::from(batch.payload);
            let retried = with_retries(settings.retry, || exporter.send(signal, payload.clone())).await;
            counts.retries += retried.retries;
            match retried.outcome {
                Ok(accepted) => {
                    counts.objects_sent += 1;
                    counts.bytes += payload.len() as u64;
                    counts.rejected += accepted.rejected;
                    match signal {
                        Signal::Traces => counts.spans += batch.summary.items,
                        Signal::Metrics => counts.data_points += batch.summary.items,
                        Signal::Logs => counts.log_records += batch.summary.items,
                    }
                }
                Err(e) => {
                    counts.objects_failed += 1;
                    failures.push(format!("{}: {e}", planned.key));
                    if matches!(e, ExportError::Exhausted(_)) {
                        // The target stayed unavailable through every retry: stop here.
                        fetcher.abort();
                        progress(&counts);
                        break 'loops;
                    }
                }
            }
            progress(&counts);
        }
        let _ = fetcher.await;
    }
    Ok(ReplayReport {
        counts,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        planned_seconds: schedule.last().map_or(0.0, Duration::as_secs_f64),
        session_was_active: state.status == SessionStatus::Active,
        failures,
    })
}

fn offset(from: u64, to: u64) -> i64 {
    let difference = i128::from(to) - i128::from(from);
    i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
}

/// The earliest timestamp of an object, for sessions whose metadata has none
/// (a tap that died before its first refresh).
async fn first_timestamp(
    sessions: &Sessions,
    signal: Signal,
    object: Bytes,
    settings: &ReplaySettings,
) -> Result<u64, TapError> {
    let options = ReplayOptions {
        rewrite: TimestampRewrite::None,
        id_remap_seed: None,
        services: Vec::new(),
        from_unix_nanos: 0,
        to_unix_nanos: 0,
        max_uncompressed_bytes: settings.max_object_bytes,
    };
    let batch = sessions.pool().call(move |i| i.prepare_replay(signal, &object, &options)).await???;
    Ok(batch.map_or(0, |b| b.summary.min_unix_nanos))
}

/// Reads objects in order into the bounded channel.
async fn fetch(
    storage: crate::storage::Storage,
    objects: Vec<PlannedObject>,
    sender: mpsc::Sender<(usize, Result<Bytes, String>)>,
) {
    for (index, object) in objects.iter().enumerate() {
        let read = match storage.get(&object.key).await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err("the object disappeared".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        if sender.send((index, read)).await.is_err() {
            return;
        }
    }
}
