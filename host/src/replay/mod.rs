//! Replay: store → component (filter, timestamp rewrite, id remap) →
//! exporter, paced by capture time, streaming object by object with a small
//! bounded prefetch so memory does not grow with the session.
//!
//! `settings` holds what the user chose, `plan` the order and schedule,
//! `jobs` the replays the tap runs for its control API.

pub mod jobs;
mod key_log;
pub mod plan;
pub mod settings;
mod slack_table;
pub mod timing;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{FuturesOrdered, FuturesUnordered};
use serde::Serialize;
use tokio::sync::mpsc;

pub use settings::{ReplayChoices, ReplaySettings, TimestampMode};

use crate::catalog::{Catalog, StoredObject};
use crate::error::TapError;
use crate::exporters::Accepted;
use crate::exporters::ExportError;
use crate::exporters::per_signal::SignalExporters;
use crate::exporters::retry::{Retried, RetryPolicy, with_retries};
use crate::otlp::{PayloadSummary, Signal};
use crate::runtime::pool::ProcessorPool;
use crate::runtime::processor_types::{CallError, ReplayBatch, ReplayOptions, TimestampRewrite};
use crate::session::SessionStatus;
use crate::storage::Storage;
use timing::TimingPlan;

/// Running totals of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayCounts {
    /// Objects to send, all loops.
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
    /// Export attempts after the first, all objects.
    pub retries: u64,
    /// Items the target reported rejecting (partial success).
    pub rejected: u64,
}

impl ReplayCounts {
    fn sent(&mut self, summary: &PayloadSummary, bytes: usize, rejected: u64) {
        self.objects_sent += 1;
        self.bytes += bytes as u64;
        self.rejected += rejected;
        let items = summary.items;
        match summary.signal {
            Signal::Traces => self.spans += items,
            Signal::Metrics => self.data_points += items,
            Signal::Logs => self.log_records += items,
        }
    }
}

/// The outcome of a replay.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    /// What was sent, skipped and lost, all loops.
    pub counts: ReplayCounts,
    /// Wall time taken, all loops.
    pub elapsed_seconds: f64,
    /// What the send schedule of one loop spans.
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
pub async fn plan(catalog: &Catalog, settings: &ReplaySettings) -> Result<Vec<StoredObject>, TapError> {
    let mut objects = catalog.raw_objects(&settings.session_id).await?;
    objects.retain(|o| settings.signals.contains(&o.signal));
    plan::order(&mut objects);
    Ok(objects)
}

/// Called with the totals after every object.
pub type Progress<'a> = &'a (dyn Fn(&ReplayCounts) + Send + Sync);

/// Replays a session from `catalog` to `exporter`, on `pool`'s instances.
pub async fn run(
    catalog: &Catalog,
    pool: &ProcessorPool,
    exporter: &SignalExporters,
    settings: &ReplaySettings,
    progress: Progress<'_>,
) -> Result<ReplayReport, TapError> {
    let state = catalog
        .get(&settings.session_id)
        .await?
        .ok_or_else(|| TapError::NotFound(format!("no session {} in the store", settings.session_id)))?;
    let objects = plan(catalog, settings).await?;
    let schedule = plan::schedule(&objects, settings.speed, settings.max_idle);
    let started = Instant::now();
    let mut replay = Replay {
        pool,
        exporter,
        settings,
        progress,
        counts: ReplayCounts {
            objects_planned: objects.len() as u64 * u64::from(settings.loops),
            ..Default::default()
        },
        failures: Vec::new(),
        timing: None,
        base_seed: settings.seed.unwrap_or_else(|| fastrand::u64(..)),
        retry_left: settings.retry.max_elapsed,
    };
    if settings.timestamps != TimestampMode::None {
        let options = replay.filters(TimestampRewrite::None);
        let storage = catalog.storage();
        let plan = TimingPlan::build(pool, storage, &objects, &schedule, &options, settings).await?;
        let stats = plan.stats();
        tracing::debug!(
            groups = stats.groups,
            folded = stats.folded,
            table_bytes = stats.table_bytes,
            keys_on_disk = stats.keys_on_disk,
            "replay planned"
        );
        if stats.folded > 0 {
            tracing::info!(
                "{} traces and metric streams share offsets with others beyond the plan's {} exact ones: \
                 they keep their inner timing but look older than they could",
                stats.folded,
                stats.groups
            );
        }
        replay.timing = Some(plan);
    }
    for round in 0..settings.loops {
        if replay.round(round, catalog.storage(), &objects, &schedule).await? == Round::GaveUp {
            break;
        }
    }
    Ok(ReplayReport {
        counts: replay.counts,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        planned_seconds: schedule.last().map_or(0.0, Duration::as_secs_f64),
        session_was_active: state.status == SessionStatus::Active,
        failures: replay.failures,
    })
}

/// How one loop over the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Every object was tried.
    Done,
    /// The target stayed unavailable through every retry: the replay stops.
    GaveUp,
}

/// One replay under way: where it sends, and its totals.
struct Replay<'a> {
    pool: &'a ProcessorPool,
    exporter: &'a SignalExporters,
    settings: &'a ReplaySettings,
    progress: Progress<'a>,
    counts: ReplayCounts,
    failures: Vec<String>,
    /// What the planning pass learned (`relative` and `current`).
    timing: Option<TimingPlan>,
    base_seed: u64,
    /// What is left of the run's retry time (`--max-retry-time`), shared by every object.
    retry_left: Duration,
}

impl Replay<'_> {
    /// Sends every object once, paced from this moment by `schedule`.
    /// Objects are read ahead (`prefetch`) and prepared by the component
    /// ahead of their turn, `concurrency` at once; requests start in the
    /// plan's order at their due time, up to `concurrency` in flight but one
    /// per signal, so an endpoint gets each signal's requests in capture
    /// order, retries included (metric backends refuse samples out of order).
    async fn round(
        &mut self,
        round: u32,
        storage: &Storage,
        objects: &[StoredObject],
        schedule: &[Duration],
    ) -> Result<Round, TapError> {
        let replay_start = Instant::now();
        let replay_start_unix = now_unix_nanos();
        let in_flight = self.settings.concurrency.max(1);
        let (sender, mut received) = mpsc::channel(self.settings.prefetch.max(1));
        let fetcher = tokio::spawn(fetch(storage.clone(), objects.to_vec(), sender));
        let (pool, exporter) = (self.pool, self.exporter);
        let mut preparing = FuturesOrdered::new();
        let mut sending = FuturesUnordered::new();
        // The next prepared request, waiting for its due time and a free slot.
        let mut next: Option<(usize, ReplayBatch)> = None;
        // Signals with a request in flight.
        let mut busy = [false; 3];
        let mut reading = true;
        let mut outcome = Round::Done;
        loop {
            let going = outcome == Round::Done;
            let due = next.as_ref().map_or_else(Instant::now, |(index, _)| replay_start + schedule[*index]);
            // The read branch keeps prepared and sent requests within `in_flight`, so a waiting one has a slot.
            let free = next.as_ref().is_some_and(|(index, _)| !busy[objects[*index].signal.index()]);
            tokio::select! {
                biased;
                Some(done) = sending.next(), if !sending.is_empty() => {
                    let (index, sent): (usize, Sent) = done;
                    if self.settle(&objects[index], sent) == Round::GaveUp {
                        outcome = Round::GaveUp;
                        fetcher.abort();
                    }
                    busy[objects[index].signal.index()] = false;
                    (self.progress)(&self.counts);
                }
                () = tokio::time::sleep_until(due.into()), if going && free => {
                    if let Some((index, batch)) = next.take() {
                        busy[objects[index].signal.index()] = true;
                        let policy = RetryPolicy { max_elapsed: self.retry_left, ..self.settings.retry };
                        sending.push(send(exporter, index, objects[index].signal, batch, policy));
                    }
                }
                Some((index, prepared)) = preparing.next(), if going && next.is_none() && !preparing.is_empty() => {
                    match prepared {
                        Ok(Some(batch)) => next = Some((index, batch)),
                        Ok(None) => self.counts.objects_skipped += 1,
                        Err(e) => self.failed(&objects[index], &TapError::from(e).to_string()),
                    }
                    if next.is_none() {
                        (self.progress)(&self.counts);
                    }
                }
                // Prepared requests wait in memory: with the ones in flight, at most `in_flight` of them.
                read = received.recv(), if going && reading
                    && preparing.len() + sending.len() + usize::from(next.is_some()) < in_flight => {
                    let Some((index, read)) = read else {
                        reading = false;
                        continue;
                    };
                    let planned = &objects[index];
                    let due_unix = replay_start_unix.saturating_add(nanos(schedule[index]));
                    match read.map_err(|e| format!("cannot read: {e}")).and_then(|object| {
                        let options = self.options(round, index, replay_start_unix, due_unix).map_err(|e| e.to_string())?;
                        Ok((object, options))
                    }) {
                        Ok((object, options)) => preparing.push_back(prepare(pool, index, planned.signal, object, options)),
                        Err(reason) => {
                            self.failed(planned, &reason);
                            (self.progress)(&self.counts);
                        }
                    }
                }
                else => break,
            }
        }
        let _ = fetcher.await;
        Ok(outcome)
    }

    /// How object `index` is rewritten, when it is sent at `due_unix` in a
    /// round that started at `replay_start_unix`.
    fn options(
        &mut self,
        round: u32,
        index: usize,
        replay_start_unix: u64,
        due_unix: u64,
    ) -> Result<ReplayOptions, TapError> {
        let rewrite = match (self.settings.timestamps, &mut self.timing) {
            (TimestampMode::Relative, Some(plan)) => {
                TimestampRewrite::Shift(saturate(i128::from(replay_start_unix) + plan.relative_slack))
            }
            (TimestampMode::Current, Some(plan)) => {
                // Sent no earlier than due; a late send leaves items a little older, never in the future.
                TimestampRewrite::Planned(plan.shifts(index, replay_start_unix, due_unix.max(now_unix_nanos()))?)
            }
            _ => TimestampRewrite::None,
        };
        let mut options = self.filters(rewrite);
        options.id_remap_seed = self.settings.rewrite_ids.then(|| self.base_seed.wrapping_add(u64::from(round)));
        Ok(options)
    }

    /// The run's filters and limits, with `rewrite`.
    fn filters(&self, rewrite: TimestampRewrite) -> ReplayOptions {
        ReplayOptions {
            rewrite,
            id_remap_seed: None,
            services: self.settings.services.clone(),
            from_unix_nanos: self.settings.from_unix_nanos,
            to_unix_nanos: self.settings.to_unix_nanos,
            max_uncompressed_bytes: self.settings.max_object_bytes,
        }
    }

    /// Counts what sending `planned` came to; `GaveUp` when the endpoint
    /// stayed unavailable through every retry.
    fn settle(&mut self, planned: &StoredObject, sent: Sent) -> Round {
        self.retry_left = self.retry_left.saturating_sub(sent.retried.retrying);
        self.counts.retries += sent.retried.retries;
        match sent.retried.outcome {
            Ok(accepted) => {
                self.counts.sent(&sent.summary, sent.bytes, accepted.rejected);
                Round::Done
            }
            Err(e) => {
                self.failed(planned, &e.to_string());
                if matches!(e, ExportError::Exhausted(_)) { Round::GaveUp } else { Round::Done }
            }
        }
    }

    fn failed(&mut self, planned: &StoredObject, reason: &str) {
        self.counts.objects_failed += 1;
        self.failures.push(format!("{}: {reason}", planned.key));
    }
}

/// What one request came to.
struct Sent {
    /// What it held.
    summary: PayloadSummary,
    /// Its protobuf bytes.
    bytes: usize,
    /// The export's outcome after retries.
    retried: Retried<Accepted>,
}

/// Prepares object `index` in the component: its request, or `None` when
/// the filters leave nothing of it.
async fn prepare(
    pool: &ProcessorPool,
    index: usize,
    signal: Signal,
    object: Bytes,
    options: ReplayOptions,
) -> (usize, Result<Option<ReplayBatch>, CallError>) {
    (index, pool.call(move |i| i.prepare_replay(signal, &object, &options)).await)
}

/// Sends object `index`'s request, with retries under `policy`.
async fn send(
    exporter: &SignalExporters,
    index: usize,
    signal: Signal,
    batch: ReplayBatch,
    policy: RetryPolicy,
) -> (usize, Sent) {
    let payload = Bytes::from(batch.payload);
    let retried = with_retries(policy, || exporter.send(signal, payload.clone())).await;
    (index, Sent { summary: batch.summary, bytes: payload.len(), retried })
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A shift in nanoseconds, saturated to what an i64 holds.
fn saturate(shift: i128) -> i64 {
    i64::try_from(shift).unwrap_or(if shift < 0 { i64::MIN } else { i64::MAX })
}

/// Reads objects in order into the bounded channel.
async fn fetch(storage: Storage, objects: Vec<StoredObject>, sender: mpsc::Sender<(usize, Result<Bytes, String>)>) {
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
