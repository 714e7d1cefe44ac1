//! Retrying exports: capped exponential backoff with jitter, honouring the
//! target's Retry-After, for a bounded total time.

use std::time::{Duration, Instant};

use super::ExportError;

/// How retries are paced and bounded.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Wait after the first failure.
    pub initial: Duration,
    /// Longest wait between attempts.
    pub max_interval: Duration,
    /// Give up when this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(500),
            max_interval: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

/// The result of an operation and how many retries it took.
pub struct Retried<T> {
    /// The final outcome.
    pub outcome: Result<T, ExportError>,
    /// Attempts after the first.
    pub retries: u64,
    /// Time from the first failure to the outcome (zero when the first attempt answered).
    pub retrying: Duration,
}

/// Runs `attempt` until it succeeds, fails for good, or the policy's time
/// is up. Each failure that will be retried is logged as it happens (WARN):
/// an endpoint that is down is visible at once, not after the budget.
pub async fn with_retries<T, F, Fut>(policy: RetryPolicy, mut attempt: F) -> Retried<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ExportError>>,
{
    let mut first_failure: Option<Instant> = None;
    let retrying = |first: Option<Instant>| first.map_or(Duration::ZERO, |f| f.elapsed());
    let mut interval = policy.initial;
    let mut retries = 0;
    loop {
        let error = match attempt().await {
            Ok(value) => return Retried { outcome: Ok(value), retries, retrying: retrying(first_failure) },
            Err(ExportError::Retryable { reason, retry_after }) => (reason, retry_after),
            Err(e) => return Retried { outcome: Err(e), retries, retrying: retrying(first_failure) },
        };
        let failed_at = *first_failure.get_or_insert_with(Instant::now);
        let (reason, retry_after) = error;
        // Full jitter on our own backoff; the target's Retry-After is honoured as given.
        let wait = retry_after.unwrap_or_else(|| interval.mul_f64(0.5 + fastrand::f64() * 0.5));
        if failed_at.elapsed().saturating_add(wait) > policy.max_elapsed {
            let reason =
                format!("{reason} (gave up after {retries} retries in {:.1}s)", failed_at.elapsed().as_secs_f64());
            return Retried { outcome: Err(ExportError::Exhausted(reason)), retries, retrying: failed_at.elapsed() };
        }
        let left = policy.max_elapsed.saturating_sub(failed_at.elapsed());
        tracing::warn!(
            "{reason}; retrying in {:.1}s ({:.0}s of retrying left)",
            wait.as_secs_f64(),
            left.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
        interval = (interval * 2).min(policy.max_interval);
        retries += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(1),
            max_interval: Duration::from_millis(4),
            max_elapsed: Duration::from_millis(500),
        }
    }

    #[tokio::test]
    async fn retries_until_success_and_counts() {
        let mut calls = 0;
        let retried = with_retries(fast(), || {
            calls += 1;
            let n = calls;
            async move {
                if n < 4 { Err(ExportError::Retryable { reason: "503".into(), retry_after: None }) } else { Ok(n) }
            }
        })
        .await;
        assert_eq!(retried.outcome.unwrap(), 4);
        assert_eq!(retried.retries, 3);
    }

    #[tokio::test]
    async fn fatal_errors_stop_at_once_and_time_runs_out() {
        let retried = with_retries(fast(), || async { Err::<(), _>(ExportError::Fatal("400".into())) }).await;
        assert_eq!(retried.retries, 0);
        let started = Instant::now();
        let retried = with_retries(fast(), || async {
            Err::<(), _>(ExportError::Retryable { reason: "503".into(), retry_after: Some(Duration::from_millis(100)) })
        })
        .await;
        assert!(matches!(retried.outcome, Err(ExportError::Exhausted(m)) if m.contains("gave up")));
        assert!(retried.retries >= 3 && started.elapsed() >= Duration::from_millis(300), "Retry-After honoured");
    }
}
