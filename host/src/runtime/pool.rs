//! A fixed pool of component instances, each owned by one worker thread, so
//! processor calls (CPU-bound: decode, tag, gzip) run in parallel off the
//! async runtime. Queued calls are bounded: past the bound, `try_call`
//! refuses at once so receivers can push back, and `call` waits.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::processor_types::CallError;
use super::state::Capabilities;
use super::{Instance, Runtime, RuntimeError};

type Job = Box<dyn FnOnce(&mut Instance) + Send>;

/// Nice value of the worker threads. Recording (tagging, gzip) is the bulk
/// of the tap's CPU; at a lower priority than the async runtime it never
/// holds up the forward path or the receivers when the cores are busy,
/// and work waiting for it queues (bounded, pushed back as 503).
pub const WORKER_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`WORKER_NICE`].
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), WORKER_NICE) {
        tracing::debug!(error = %e, "cannot lower the processor workers' priority");
    }
}

/// Handle to the pool; cheap to clone.
#[derive(Clone)]
pub struct ProcessorPool {
    jobs: Sender<Job>,
    admission: Arc<Semaphore>,
    max_queued: usize,
}

impl ProcessorPool {
    /// Starts `workers` threads, each with its own instance, admitting at
    /// most `max_queued` calls waiting or running.
    pub fn start(
        runtime: &Runtime,
        capabilities: Capabilities,
        workers: usize,
        max_queued: usize,
    ) -> Result<Self, RuntimeError> {
        let (jobs, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..workers.max(1) {
            let instance = runtime.instantiate(capabilities.clone())?;
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("otlp-processor-{n}"))
                .spawn(move || {
                    lower_priority();
                    work(instance, &receiver)
                })
                .map_err(RuntimeError::Thread)?;
        }
        Ok(ProcessorPool { jobs, admission: Arc::new(Semaphore::new(max_queued.max(1))), max_queued })
    }

    /// Calls waiting or running now.
    pub fn queued(&self) -> usize {
        self.max_queued - self.admission.available_permits()
    }

    /// Runs `f` on an instance, waiting for room in the queue.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Instance) -> Result<T, CallError> + Send + 'static,
    ) -> Result<T, CallError> {
        let permit = self.admission.clone().acquire_owned().await.map_err(|_| CallError::Closed)?;
        self.run(permit, f).await
    }

    /// Runs `f` on an instance, or refuses at once with [`CallError::Busy`]
    /// when the queue is full.
    pub async fn try_call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Instance) -> Result<T, CallError> + Send + 'static,
    ) -> Result<T, CallError> {
        let permit = self.admission.clone().try_acquire_owned().map_err(|_| CallError::Busy(self.max_queued))?;
        self.run(permit, f).await
    }

    async fn run<T: Send + 'static>(
        &self,
        permit: OwnedSemaphorePermit,
        f: impl FnOnce(&mut Instance) -> Result<T, CallError> + Send + 'static,
    ) -> Result<T, CallError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |instance| {
            let _ = done.send(f(instance));
            drop(permit);
        });
        self.jobs.send(job).map_err(|_| CallError::Closed)?;
        // A job that panicked drops its sender: the caller sees the pool as closed for it.
        result.await.map_err(|_| CallError::Closed)?
    }
}

fn work(mut instance: Instance, receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // Host code panicking inside a job must not take the worker down.
        if catch_unwind(AssertUnwindSafe(|| job(&mut instance))).is_err() {
            tracing::error!("a processor call panicked; its caller gets an error");
        }
    }
}
