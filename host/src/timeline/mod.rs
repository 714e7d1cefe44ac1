//! A session's timeline: items per time step by signal, bucketed by
//! telemetry time, with the session's phases as bands. The index (`index`)
//! says what each object holds; an object the store lists that the index
//! does not name is read and summarized instead, so the series always add
//! up to what the session stored.
//!
//! An object's items count in the step of its latest telemetry timestamp
//! (its capture time when it has none): objects are batches of at most the
//! batching window, so steps of a second or more are exact to that window.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use crate::catalog::{Catalog, StoredObject};
use crate::error::TapError;
use crate::otlp::Signal;
use crate::session::{SessionState, SessionStatus};
use crate::storage::index::{self, IndexEntry};

/// Objects summarized at once when the index does not cover them.
const SUMMARIES_IN_FLIGHT: usize = 4;

/// The width of a timeline bucket: at least a millisecond, whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step(Duration);

impl Step {
    /// Its width in milliseconds.
    pub fn millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for Step {
    fn default() -> Self {
        Step(Duration::from_secs(1))
    }
}

impl std::str::FromStr for Step {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let width = humantime::parse_duration(text).map_err(|e| format!("step {text:?} is not a duration: {e}"))?;
        if width < Duration::from_millis(1) || width.subsec_nanos() % 1_000_000 != 0 {
            return Err(format!("step {text:?} must be whole milliseconds, at least 1ms"));
        }
        Ok(Step(width))
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// Items per step of one signal: `[unixMillis, items]` for each step that
/// holds any, oldest first (steps without items are left out).
type Series = Vec<[u64; 2]>;

/// The series of each signal.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct SignalSeries {
    /// Spans.
    pub traces: Series,
    /// Data points.
    pub metrics: Series,
    /// Log records.
    pub logs: Series,
}

/// A phase as a band: from its start to the next phase's start, or to the
/// session's end (now while it is active).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhaseBand {
    /// The phase's name.
    pub name: String,
    /// Where the band starts, unix millis.
    pub start_unix_millis: u64,
    /// Where it ends, unix millis.
    pub end_unix_millis: u64,
    /// The JSON value marked with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// How the timeline's figures were found.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sources {
    /// Objects counted.
    pub objects: u64,
    /// Of those, objects the index described.
    pub indexed: u64,
    /// Of those, objects read and summarized for this answer.
    pub summarized: u64,
}

/// `GET /api/capture/sessions/{id}/timeline`'s answer.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// The session.
    pub session_id: String,
    /// The bucket width, as asked (`1s`, `500ms`, `1m`).
    pub step: String,
    /// The bucket width in milliseconds.
    pub step_millis: u64,
    /// The session's start, unix millis.
    pub start_unix_millis: u64,
    /// Its end, or now while it is active, unix millis.
    pub end_unix_millis: u64,
    /// Items per step by signal; each series adds up to the signal's total.
    pub series: SignalSeries,
    /// Items by signal: spans, data points, log records.
    pub totals: BTreeMap<&'static str, u64>,
    /// The phases as bands, in time order.
    pub phases: Vec<PhaseBand>,
    /// Where the figures came from.
    pub sources: Sources,
}

/// Builds `session`'s timeline at `step`. `unindexed` are entries of
/// objects this tap stored but has not written to the index yet;
/// `now_unix_millis` ends an active session's last phase.
pub async fn build(
    catalog: &Catalog,
    session: &SessionState,
    unindexed: Vec<IndexEntry>,
    step: Step,
    now_unix_millis: u64,
) -> Result<Timeline, TapError> {
    let id = session.id();
    // Every object the index names counts, listed or not: one acknowledged but still on its way to
    // the store (write-behind, spool) is in the session's counts already.
    let mut known = index::read_all(catalog.storage(), id).await?;
    known.extend(unindexed.into_iter().map(|e| (e.key.clone(), e)));
    let missing: Vec<StoredObject> =
        catalog.raw_objects(id).await?.into_iter().filter(|o| !known.contains_key(&o.key)).collect();
    let mut sources = Sources { indexed: known.len() as u64, ..Sources::default() };
    let mut entries: Vec<IndexEntry> = known.into_values().collect();
    let summarized = summarize(catalog, missing).await?;
    sources.summarized = summarized.len() as u64;
    if session.status != SessionStatus::Active && !summarized.is_empty() {
        // Objects of an ended session never change: the next answer reads these from the index.
        if let Err(e) = index::write_segment(catalog.storage(), id, &summarized, now_unix_millis).await {
            tracing::warn!(session = %id, error = %e, "cannot add the summarized objects to the index");
        }
    }
    entries.extend(summarized);
    sources.objects = entries.len() as u64;
    let start_unix_millis = session.start_unix_nanos / 1_000_000;
    let end_unix_millis = session.end_unix_nanos.map_or(now_unix_millis, |end| end / 1_000_000).max(start_unix_millis);
    let (series, totals) = bucket(&entries, step);
    Ok(Timeline {
        session_id: id.to_owned(),
        step: step.to_string(),
        step_millis: step.millis(),
        start_unix_millis,
        end_unix_millis,
        series,
        totals,
        phases: bands(session, end_unix_millis),
        sources,
    })
}

/// Reads and summarizes objects the index does not describe.
async fn summarize(catalog: &Catalog, objects: Vec<StoredObject>) -> Result<Vec<IndexEntry>, TapError> {
    let mut summaries = futures::stream::iter(objects)
        .map(|object| async move { (catalog.object_summary(&object).await, object) })
        .buffer_unordered(SUMMARIES_IN_FLIGHT);
    let mut entries = Vec::new();
    while let Some((summary, object)) = summaries.next().await {
        // An object deleted since the listing holds nothing any more.
        let Some(summary) = summary? else { continue };
        entries.push(IndexEntry {
            key: object.key,
            signal: object.signal,
            items: summary.items,
            min_unix_nanos: summary.min_unix_nanos,
            max_unix_nanos: summary.max_unix_nanos,
            capture_unix_millis: object.capture_unix_millis,
            compressed_bytes: object.size,
        });
    }
    Ok(entries)
}

/// Items per step and signal, and each signal's total.
fn bucket(entries: &[IndexEntry], step: Step) -> (SignalSeries, BTreeMap<&'static str, u64>) {
    let width = step.millis().max(1);
    let mut steps: [BTreeMap<u64, u64>; 3] = Default::default();
    for entry in entries.iter().filter(|e| e.items > 0) {
        let at = match entry.max_unix_nanos {
            0 => entry.capture_unix_millis,
            nanos => nanos / 1_000_000,
        };
        *steps[entry.signal.index()].entry(at - at % width).or_default() += entry.items;
    }
    let totals = Signal::ALL.iter().map(|s| (s.name(), steps[s.index()].values().sum())).collect();
    let [traces, metrics, logs] = steps.map(|s| s.into_iter().map(|(at, items)| [at, items]).collect());
    (SignalSeries { traces, metrics, logs }, totals)
}

/// The session's phases as bands ending where the next starts.
fn bands(session: &SessionState, end_unix_millis: u64) -> Vec<PhaseBand> {
    let mut phases = session.phases.clone();
    phases.sort_by_key(|p| p.start_unix_nanos);
    let ends: Vec<u64> =
        phases.iter().skip(1).map(|p| p.start_unix_nanos / 1_000_000).chain(std::iter::once(end_unix_millis)).collect();
    phases
        .into_iter()
        .zip(ends)
        .map(|(phase, end)| {
            let start = phase.start_unix_nanos / 1_000_000;
            PhaseBand {
                name: phase.name,
                start_unix_millis: start,
                end_unix_millis: end.max(start),
                value: phase.value.and_then(|text| serde_json::from_str(&text).ok()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(signal: Signal, items: u64, max_millis: u64, capture_millis: u64) -> IndexEntry {
        IndexEntry {
            key: format!("{signal:?}-{max_millis}-{capture_millis}"),
            signal,
            items,
            min_unix_nanos: 0,
            max_unix_nanos: max_millis * 1_000_000,
            capture_unix_millis: capture_millis,
            compressed_bytes: 1,
        }
    }

    #[test]
    fn steps_parse_as_durations_of_whole_milliseconds() {
        assert_eq!("1s".parse::<Step>().map(Step::millis), Ok(1000));
        assert_eq!("250ms".parse::<Step>().map(Step::millis), Ok(250));
        assert_eq!("1m".parse::<Step>().map(|s| s.to_string()), Ok("1m".to_owned()));
        for wrong in ["0s", "10us", "1.5ms", "soon", ""] {
            assert!(wrong.parse::<Step>().is_err(), "{wrong}");
        }
    }

    #[test]
    fn items_fall_in_the_step_of_their_latest_timestamp_and_add_up() {
        let entries = [
            entry(Signal::Traces, 5, 10_999, 11_500),
            entry(Signal::Traces, 3, 10_000, 12_000),
            entry(Signal::Traces, 2, 12_001, 12_100),
            entry(Signal::Logs, 4, 0, 13_700),
            entry(Signal::Metrics, 0, 9_000, 9_000),
        ];
        let (series, totals) = bucket(&entries, Step(Duration::from_secs(1)));
        assert_eq!(series.traces, [[10_000, 8], [12_000, 2]]);
        assert_eq!(series.logs, [[13_000, 4]], "no timestamps: the capture time");
        assert!(series.metrics.is_empty());
        assert_eq!((totals["traces"], totals["metrics"], totals["logs"]), (10, 0, 4));
    }

    #[test]
    fn phases_end_where_the_next_starts_and_the_last_at_the_end() {
        use crate::session::Phase;
        let phase = |name: &str, millis: u64| Phase {
            name: name.into(),
            start_unix_nanos: millis * 1_000_000,
            value: Some("{\"rps\": 5}".into()),
        };
        let config = crate::session::SessionConfig::new("s");
        let mut state = SessionState {
            config,
            status: SessionStatus::Active,
            start_unix_nanos: 0,
            end_unix_nanos: None,
            updated_unix_nanos: 0,
            end_reason: None,
            counts: crate::session::SessionCounts::default(),
            phases: Vec::new(),
        };
        state.phases = vec![phase("anomaly", 5_000), phase("baseline", 1_000)];
        let bands = bands(&state, 9_000);
        let spans: Vec<_> = bands.iter().map(|b| (b.name.as_str(), b.start_unix_millis, b.end_unix_millis)).collect();
        assert_eq!(spans, [("baseline", 1_000, 5_000), ("anomaly", 5_000, 9_000)]);
        assert_eq!(bands[0].value, Some(serde_json::json!({"rps": 5})));
    }
}
