//! The job worker every `ringtrack serve` runs: claims due jobs from the shared queue,
//! runs each with its lease renewed while it works, and records the outcome. Several
//! nodes run it side by side on one PostgreSQL; the queue's leases keep each job to one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ringtrack_domain::jobs::RetryPolicy;
use ringtrack_store::jobs::{self, AfterFailure, Claimed};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::pipeline::{JobError, Pipeline};

#[derive(Clone, Copy, Debug)]
pub struct WorkerConfig {
    /// How long a claim lasts without renewal: a dead worker's jobs wait this long.
    pub lease: Duration,
    /// How often the queue is asked for work when there was none.
    pub poll: Duration,
    /// Jobs run at once by this node.
    pub concurrency: usize,
    pub retry: RetryPolicy,
}

/// Finished jobs are kept a week (to see what ran), then forgotten; every node checks hourly.
const KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs jobs until `stop` turns true; jobs still running then are given back untried.
pub async fn run(pipeline: Arc<Pipeline>, config: WorkerConfig, mut stop: watch::Receiver<bool>) {
    let owner = format!("{}-{}", std::process::id(), Uuid::new_v4().simple());
    let mut running: JoinSet<Uuid> = JoinSet::new();
    let mut in_flight: HashMap<Uuid, Claimed> = HashMap::new();
    let mut pruned = std::time::Instant::now();
    while !*stop.borrow() {
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = std::time::Instant::now();
            match jobs::prune(&pipeline.store, KEEP_DONE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "forgot finished jobs"),
                Err(error) => tracing::warn!(%error, "cannot prune finished jobs"),
            }
        }
        let free = config.concurrency.saturating_sub(running.len());
        let mut claimed_any = false;
        if free > 0 {
            match jobs::claim(&pipeline.store, &owner, config.lease, free as u32).await {
                Ok(claimed) => {
                    for job in claimed {
                        claimed_any = true;
                        in_flight.insert(job.id, job.clone());
                        running.spawn(run_one(Arc::clone(&pipeline), job, config));
                    }
                }
                Err(error) => tracing::error!(%error, "cannot claim jobs; trying again"),
            }
        }
        if claimed_any && running.len() < config.concurrency {
            continue;
        }
        tokio::select! {
            _ = stop.changed() => break,
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok(id) = done {
                    in_flight.remove(&id);
                }
            }
            _ = tokio::time::sleep(config.poll), if !claimed_any => {}
        }
    }
    running.abort_all();
    while let Some(done) = running.join_next().await {
        if let Ok(id) = done {
            in_flight.remove(&id);
        }
    }
    // What did not finish goes back to the queue now rather than when its lease ends.
    for job in in_flight.values() {
        if let Err(error) = jobs::release(&pipeline.store, job).await {
            tracing::warn!(job_id = %job.id, %error, "cannot give a job back; it waits for its lease to end");
        }
    }
}

/// Runs one job to its outcome; answers its id.
async fn run_one(pipeline: Arc<Pipeline>, claimed: Claimed, config: WorkerConfig) -> Uuid {
    let store = pipeline.store.clone();
    let job = match &claimed.job {
        Ok(job) => job.clone(),
        Err(unreadable) => {
            let error = format!("this version cannot read the job: {unreadable}");
            let _ = jobs::fail(&store, &claimed, &error, &config.retry).await;
            return claimed.id;
        }
    };
    let renewals = async {
        loop {
            tokio::time::sleep(config.lease / 3).await;
            match jobs::renew(&store, &claimed, config.lease).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => tracing::warn!(%error, "cannot renew a job's lease"),
            }
        }
    };
    let outcome = tokio::select! {
        outcome = pipeline.run(&claimed, &job) => outcome,
        () = renewals => Err(JobError::LeaseLost),
    };
    let kind = job.kind();
    match outcome {
        Ok(()) => tracing::debug!(job_id = %claimed.id, kind, attempt = claimed.attempt, "job done"),
        Err(JobError::LeaseLost) => {
            tracing::warn!(job_id = %claimed.id, kind, "lost the job's lease; another worker has it");
        }
        Err(JobError::Retry(error)) => match jobs::fail(&store, &claimed, &error, &config.retry).await {
            Ok(AfterFailure::RetryIn(delay)) => {
                tracing::warn!(job_id = %claimed.id, kind, attempt = claimed.attempt, %error, retry_in_ms = delay.as_millis() as u64, "job failed; will retry");
            }
            Ok(AfterFailure::Failed) => {
                tracing::error!(job_id = %claimed.id, kind, attempts = claimed.attempt, %error, "job failed for good");
                if let Err(error) = pipeline.gave_up(&job, &error).await {
                    tracing::error!(job_id = %claimed.id, %error, "cannot record the job's failure");
                }
            }
            Ok(AfterFailure::LeaseLost) => {}
            Err(store_error) => {
                tracing::error!(job_id = %claimed.id, %store_error, "cannot record a job's failure");
            }
        },
    }
    claimed.id
}
