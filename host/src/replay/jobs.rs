//! Replays started through the tap's control API (`POST /api/replay`,
//! `POST /api/replay/start`): each runs in the tap's process until it is
//! done or cancelled, and its status can be read back. The table keeps every
//! running job and the newest [`FINISHED_KEPT`] finished ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use serde::Serialize;

use super::{ReplayCounts, ReplayReport, ReplaySettings};
use crate::catalog::Catalog;
use crate::exporters::Exporter;
use crate::exporters::per_signal::SignalExporters;
use crate::locks::MutexExt;
use crate::runtime::pool::ProcessorPool;

/// Where a replay job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Sending.
    Running,
    /// Done, everything delivered.
    Completed,
    /// Done, with something not delivered, or the replay could not run.
    Failed,
    /// Stopped by `DELETE /api/replay/{id}`.
    Cancelled,
}

/// Finished jobs kept for their status; older ones are forgotten.
pub const FINISHED_KEPT: usize = 100;

/// A replay job's status, as the control API returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// `replay-` and 16 hex digits, for `GET /api/replay/{id}`.
    pub id: String,
    /// The session replayed.
    pub session_id: String,
    /// The endpoint's base URL.
    pub endpoint: String,
    /// Where it is.
    pub state: JobState,
    /// Totals so far.
    pub counts: ReplayCounts,
    /// The final report, once done.
    pub report: Option<ReplayReport>,
    /// Why it could not run at all (a missing session, an unreadable store).
    pub error: Option<String>,
    /// When it started, unix milliseconds.
    pub started_at_unix_millis: u64,
    /// When it finished, unix milliseconds; none while running.
    pub finished_at_unix_millis: Option<u64>,
}

/// One job: its status, and the task to abort on cancel.
struct Job {
    status: Arc<Mutex<JobStatus>>,
    task: tokio::task::AbortHandle,
}

fn now_millis() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

/// The tap's replay jobs, reading the tap's store.
pub struct ReplayJobs {
    catalog: Catalog,
    pool: ProcessorPool,
    jobs: Mutex<HashMap<String, Job>>,
}

impl ReplayJobs {
    /// No jobs yet; replays will read `catalog` and run on `pool`.
    pub fn new(catalog: Catalog, pool: ProcessorPool) -> Self {
        ReplayJobs { catalog, pool, jobs: Mutex::default() }
    }

    /// Starts a replay in the background; returns its first status.
    pub fn start(&self, exporter: Exporter, settings: ReplaySettings) -> JobStatus {
        let id = format!("replay-{:016x}", fastrand::u64(..));
        let status = JobStatus {
            id: id.clone(),
            session_id: settings.session_id.clone(),
            endpoint: exporter.endpoint().to_owned(),
            state: JobState::Running,
            counts: ReplayCounts::default(),
            report: None,
            error: None,
            started_at_unix_millis: now_millis(),
            finished_at_unix_millis: None,
        };
        let shared = Arc::new(Mutex::new(status.clone()));
        let (catalog, pool, job_status) = (self.catalog.clone(), self.pool.clone(), shared.clone());
        let task = tokio::spawn(async move {
            let progress_status = job_status.clone();
            let progress = move |counts: &ReplayCounts| progress_status.locked().counts = counts.clone();
            let exporters = SignalExporters::single(exporter);
            let run = super::run(&catalog, &pool, &exporters, &settings, &progress);
            // A bug in the run ends the job failed, never running forever.
            let outcome = std::panic::AssertUnwindSafe(run).catch_unwind().await;
            let mut status = job_status.locked();
            status.finished_at_unix_millis = Some(now_millis());
            match outcome {
                Ok(Ok(report)) => {
                    status.state = if report.delivered_all() { JobState::Completed } else { JobState::Failed };
                    status.counts = report.counts.clone();
                    status.report = Some(report);
                }
                Ok(Err(e)) => {
                    status.state = JobState::Failed;
                    status.error = Some(e.to_string());
                }
                Err(_) => {
                    tracing::error!(job = %status.id, "a replay job failed on an internal error");
                    status.state = JobState::Failed;
                    status.error = Some("the replay stopped on an internal error".into());
                }
            }
        });
        let mut jobs = self.jobs.locked();
        jobs.insert(id, Job { status: shared, task: task.abort_handle() });
        forget_old(&mut jobs);
        status
    }

    /// A job's status; `None` for an unknown id.
    pub fn status(&self, id: &str) -> Option<JobStatus> {
        self.jobs.locked().get(id).map(|job| job.status.locked().clone())
    }

    /// Every job kept, newest first.
    pub fn list(&self) -> Vec<JobStatus> {
        let mut all: Vec<JobStatus> = self.jobs.locked().values().map(|job| job.status.locked().clone()).collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.started_at_unix_millis));
        all
    }

    /// Stops a running job; returns its status, `None` for an unknown id.
    /// A finished job is left as it was.
    pub fn cancel(&self, id: &str) -> Option<JobStatus> {
        let jobs = self.jobs.locked();
        let job = jobs.get(id)?;
        let mut status = job.status.locked();
        if status.state == JobState::Running {
            job.task.abort();
            status.state = JobState::Cancelled;
            status.finished_at_unix_millis = Some(now_millis());
        }
        Some(status.clone())
    }
}

/// Drops the oldest finished jobs beyond [`FINISHED_KEPT`].
fn forget_old(jobs: &mut HashMap<String, Job>) {
    let mut finished: Vec<(u64, String)> = jobs
        .iter()
        .filter_map(|(id, job)| job.status.locked().finished_at_unix_millis.map(|at| (at, id.clone())))
        .collect();
    if finished.len() <= FINISHED_KEPT {
        return;
    }
    finished.sort_unstable();
    for (_, id) in &finished[..finished.len() - FINISHED_KEPT] {
        jobs.remove(id);
    }
}
