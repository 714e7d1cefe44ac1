//! The planning pass of a replay: every object read once, one at a time,
//! before anything is sent, for what the timestamp modes need to know of
//! later objects.
//!
//! - `relative`: the one offset of the run is the largest that stamps no item
//!   after its send time: the least, over objects, of (send time − newest item).
//! - `current`: the same least per group (a trace, a metric stream), so each
//!   group moves by one offset; plus each object's group keys, to pass the
//!   component the shifts of the groups it holds.
//!
//! Send times are planned offsets from the start of a round; a round adds
//! its start, so loops reuse the plan.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::key_log::KeyLog;
use super::slack_table::SlackTable;
use super::{ReplaySettings, TimestampMode, fetch, nanos, saturate};
use crate::catalog::StoredObject;
use crate::error::TapError;
use crate::runtime::pool::ProcessorPool;
use crate::runtime::processor_types::{PlannedShifts, ReplayOptions};
use crate::storage::Storage;

/// Slots of the group table at most: 16 MiB, exact for about 900,000
/// traces and streams; more share slots (see [`SlackTable`]).
const MAX_GROUP_SLOTS: usize = 1 << 20;

/// What the planning pass learned.
#[derive(Debug)]
pub struct TimingPlan {
    /// `relative`'s offset less the round's start: the least, over objects,
    /// of (planned send offset − newest item). 0 when no object has a
    /// timestamp.
    pub relative_slack: i128,
    groups: SlackTable,
    keys: KeyLog,
}

/// What one planning pass cost, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanStats {
    /// Groups with a slot of their own.
    pub groups: usize,
    /// Groups sharing a slot.
    pub folded: u64,
    /// Bytes of the group table.
    pub table_bytes: usize,
    /// Whether the per-object keys went to a temporary file.
    pub keys_on_disk: bool,
}

impl TimingPlan {
    /// Reads every object of `objects` once with the run's filters in
    /// `options`, for `settings`' timestamp mode: read ahead by its
    /// `prefetch`, `concurrency` objects at once on `pool`'s instances
    /// (taken in order).
    pub async fn build(
        pool: &ProcessorPool,
        storage: &Storage,
        objects: &[StoredObject],
        schedule: &[Duration],
        options: &ReplayOptions,
        settings: &ReplaySettings,
    ) -> Result<TimingPlan, TapError> {
        let (mode, prefetch, concurrency) = (settings.timestamps, settings.prefetch, settings.concurrency);
        let mut plan =
            TimingPlan { relative_slack: 0, groups: SlackTable::new(MAX_GROUP_SLOTS), keys: KeyLog::default() };
        let (sender, mut received) = mpsc::channel(prefetch.max(1));
        let fetcher = tokio::spawn(fetch(storage.clone(), objects.to_vec(), sender));
        let mut relative: Option<i128> = None;
        let mut timings = futures::stream::poll_fn(|cx| received.poll_recv(cx))
            .map(|(index, object)| async move {
                // An unreadable object is reported when the replay sends it; its
                // groups then move as the ungrouped items do.
                let Ok(object) = object else { return (index, None) };
                let (signal, options) = (objects[index].signal, options.clone());
                (index, pool.call(move |i| i.replay_timing(signal, &object, &options)).await.ok().flatten())
            })
            .buffered(concurrency.max(1));
        while let Some((index, timing)) = timings.next().await {
            let Some(timing) = timing else { continue };
            let send = i128::from(nanos(schedule[index]));
            if timing.summary.max_unix_nanos != 0 {
                let slack = send - i128::from(timing.summary.max_unix_nanos);
                relative = Some(relative.map_or(slack, |s| s.min(slack)));
            }
            if mode == TimestampMode::Current {
                for &(key, newest) in &timing.groups {
                    plan.groups.lower(key, saturate(send - i128::from(newest)));
                }
                plan.keys
                    .append(index, timing.groups.iter().map(|(key, _)| *key))
                    .map_err(|e| TapError::Internal(format!("cannot note the replay plan's keys: {e}")))?;
            }
        }
        let _ = fetcher.await;
        plan.relative_slack = relative.unwrap_or(0);
        Ok(plan)
    }

    /// The shifts of object `index`'s groups in a round that started at
    /// `round_start_unix` (unix nanos), the ungrouped items' newest landing
    /// at `send_unix`.
    pub fn shifts(&mut self, index: usize, round_start_unix: u64, send_unix: u64) -> Result<PlannedShifts, TapError> {
        let keys = self
            .keys
            .read(index)
            .map_err(|e| TapError::Internal(format!("cannot read the replay plan's keys: {e}")))?;
        let mut shifts: Vec<(u64, i64)> = keys
            .into_iter()
            .filter_map(|key| {
                let slack = self.groups.get(key)?;
                Some((key, saturate(i128::from(round_start_unix) + i128::from(slack))))
            })
            .collect();
        shifts.sort_unstable_by_key(|(key, _)| *key);
        Ok(PlannedShifts { shifts, ungrouped_newest_at: send_unix })
    }

    /// What the plan holds.
    pub fn stats(&self) -> PlanStats {
        PlanStats {
            groups: self.groups.len(),
            folded: self.groups.folded(),
            table_bytes: self.groups.bytes(),
            keys_on_disk: self.keys.on_disk(),
        }
    }
}
