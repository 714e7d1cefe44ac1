//! The tap's periodic work, each on its own timer until the tap stops:
//! storing batches that waited long enough, refreshing active sessions'
//! metadata.json, and ending sessions that ran past their duration limit.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::capture::SessionRegistry;
use crate::runtime::state::Clock;

/// How often duration limits are checked.
const LIMIT_CHECK: Duration = Duration::from_millis(250);

/// Runs `tick` every `period` (the first at once) until the task is aborted.
fn every<F, Fut>(period: Duration, mut tick: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        loop {
            ticks.tick().await;
            tick().await;
        }
    })
}

/// The running tickers; [`Tickers::stop`] ends them.
pub struct Tickers {
    tasks: Vec<JoinHandle<()>>,
}

impl Tickers {
    /// Starts the tickers of `sessions`: metadata every `refresh`, batches
    /// at a quarter of their age bound (10-250 ms), limits by `clock`.
    pub fn start(sessions: &Arc<SessionRegistry>, refresh: Duration, clock: Arc<dyn Clock>) -> Self {
        let batch_check =
            (sessions.batching().max_age / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
        let (refreshing, flushing, limiting) = (sessions.clone(), sessions.clone(), sessions.clone());
        let tasks = vec![
            every(refresh, move || {
                let sessions = refreshing.clone();
                async move {
                    sessions.refresh().await;
                    if let Err(e) = sessions.join().await {
                        tracing::debug!(error = %e, "cannot look for sessions started on other taps");
                    }
                }
            }),
            every(batch_check, move || {
                let sessions = flushing.clone();
                async move { sessions.flush_due().await }
            }),
            every(LIMIT_CHECK, move || {
                limiting.end_expired(clock.now_unix_nanos());
                async {}
            }),
        ];
        Tickers { tasks }
    }

    /// Stops every ticker; work under way is dropped at its next await.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}
