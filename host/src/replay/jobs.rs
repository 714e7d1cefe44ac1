//! Replays started through the tap's control API (`POST /api/replay`): each
//! runs to completion in the tap's process, and its status can be read back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{ReplayCounts, ReplayReport, ReplaySettings};
use crate::catalog::Catalog;
use crate::exporters::Exporter;
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
}

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
}

/// The tap's replay jobs, reading the tap's store.
pub struct ReplayJobs {
    catalog: Catalog,
    pool: ProcessorPool,
    jobs: Mutex<HashMap<String, Arc<Mutex<JobStatus>>>>,
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
        };
        let shared = Arc::new(Mutex::new(status.clone()));
        self.jobs.locked().insert(id, shared.clone());
        let (catalog, pool) = (self.catalog.clone(), self.pool.clone());
        tokio::spawn(async move {
            let progress_status = shared.clone();
            let progress = move |counts: &ReplayCounts| progress_status.locked().counts = counts.clone();
            let outcome = super::run(&catalog, &pool, &exporter, &settings, &progress).await;
            let mut status = shared.locked();
            match outcome {
                Ok(report) => {
                    status.state = if report.delivered_all() { JobState::Completed } else { JobState::Failed };
                    status.counts = report.counts.clone();
                    status.report = Some(report);
                }
                Err(e) => {
                    status.state = JobState::Failed;
                    status.error = Some(e.to_string());
                }
            }
        });
        status
    }

    /// A job's status; `None` for an unknown id.
    pub fn status(&self, id: &str) -> Option<JobStatus> {
        self.jobs.locked().get(id).map(|job| job.locked().clone())
    }
}
