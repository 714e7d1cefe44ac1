//! Replays started through the tap's control API (`POST /api/replay`): each
//! runs to completion in the tap's process, and its status can be read back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{ReplayCounts, ReplayReport, ReplaySettings};
use crate::exporters::Exporter;
use crate::sessions::Sessions;

/// Where a replay job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Sending.
    Running,
    /// Done, everything delivered.
    Completed,
    /// Done, something was not delivered or the replay could not run.
    Failed,
}

/// A replay job's status, as the control API returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// The job id.
    pub id: String,
    /// The session replayed.
    pub session_id: String,
    /// The target.
    pub endpoint: String,
    /// Where it is.
    pub state: JobState,
    /// Totals so far.
    pub counts: ReplayCounts,
    /// The final report, once done.
    pub report: Option<ReplayReport>,
    /// Why it failed, when it could not run.
    pub error: Option<String>,
}

/// The tap's replay jobs.
#[derive(Default)]
pub struct ReplayJobs {
    jobs: Mutex<HashMap<String, Arc<Mutex<JobStatus>>>>,
}

impl ReplayJobs {
    /// Starts a replay in the background; returns its first status.
    pub fn start(&self, sessions: Arc<Sessions>, exporter: Exporter, settings: ReplaySettings) -> JobStatus {
        let id = format!("replay-{:016x}", fastrand::u64(..));
        let status = JobStatus {
            id: id.clone(),
            session_id: settings.session_id.clone(),
            endpoint: exporter.endpoint(),
            state: JobState::Running,
            counts: ReplayCounts::default(),
            report: None,
            error: None,
        };
        let shared = Arc::new(Mutex::new(status.clone()));
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).insert(id, shared.clone());
        tokio::spawn(async move {
            let progress_status = shared.clone();
            let progress = move |counts: &ReplayCounts| {
                progress_status.lock().unwrap_or_else(|p| p.into_inner()).counts = counts.clone();
            };
            let outcome = super::run(&sessions, &exporter, &settings, &progress).await;
            let mut status = shared.lock().unwrap_or_else(|p| p.into_inner());
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
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.get(id).map(|job| job.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}
