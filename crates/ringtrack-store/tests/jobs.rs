//! The durable job queue on both backends: transactional enqueue, leases, retries,
//! expiry, and concurrent claimants that never share a job.

use std::collections::HashSet;
use std::time::Duration;

use ringtrack_domain::jobs::{Job, RetryPolicy};
use ringtrack_store::jobs::{self, AfterFailure};
use ringtrack_store::testing::TestDatabase;
use ringtrack_store::{Backend, Store, test_on_both_backends};

async fn open(backend: Backend) -> (TestDatabase, Store) {
    let db = TestDatabase::create(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    (db, store)
}

fn score_job() -> Job {
    Job::Score { call_id: ringtrack_domain::CallId::new() }
}

const LEASE: Duration = Duration::from_secs(30);

fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy { max_attempts, first_delay: Duration::from_millis(50), max_delay: Duration::from_millis(50) }
}

async fn enqueue(store: &Store, job: &Job) -> bool {
    let mut tx = store.begin().await.unwrap();
    let queued = jobs::enqueue(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    queued
}

test_on_both_backends! {
    async fn a_job_exists_only_if_its_transaction_commits_and_once_per_dedupe_key(backend: Backend) {
        let (_db, store) = open(backend).await;
        let mut tx = store.begin().await.unwrap();
        assert!(jobs::enqueue(&mut tx, &score_job()).await.unwrap());
        drop(tx);
        assert!(jobs::all(&store).await.unwrap().is_empty());

        let transcribe = Job::Transcribe { call_id: ringtrack_domain::CallId::new(), source: ringtrack_domain::jobs::AudioSource::Call };
        assert!(enqueue(&store, &transcribe).await);
        assert!(!enqueue(&store, &transcribe).await, "the same step is queued once");
        let all = jobs::all(&store).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].kind.as_str(), all[0].state.as_str()), ("transcribe", "queued"));
        assert_eq!(Job::from_json(&all[0].payload).unwrap(), transcribe);
    }

    async fn a_claimed_job_is_leased_to_one_worker_until_done(backend: Backend) {
        let (_db, store) = open(backend).await;
        let job = score_job();
        enqueue(&store, &job).await;
        let claimed = jobs::claim(&store, "worker-a", LEASE, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].job.as_ref().unwrap(), &job);
        assert_eq!(claimed[0].attempt, 1);
        assert!(jobs::claim(&store, "worker-b", LEASE, 10).await.unwrap().is_empty(), "leased jobs are not due");
        assert!(jobs::renew(&store, &claimed[0], LEASE).await.unwrap());

        let mut tx = store.begin().await.unwrap();
        assert!(jobs::complete(&mut tx, &claimed[0]).await.unwrap());
        tx.commit().await.unwrap();
        let row = &jobs::all(&store).await.unwrap()[0];
        assert_eq!((row.state.as_str(), row.attempts), ("done", 1));
        assert!(jobs::claim(&store, "worker-b", LEASE, 10).await.unwrap().is_empty());
        assert_eq!(jobs::pending(&store).await.unwrap(), 0);
    }

    async fn failures_back_off_then_fail_with_the_last_error(backend: Backend) {
        let (_db, store) = open(backend).await;
        enqueue(&store, &score_job()).await;
        let policy = quick_retries(3);
        for attempt in 1..=3u32 {
            let mut claimed = jobs::claim(&store, "w", LEASE, 1).await.unwrap();
            if claimed.is_empty() {
                // Backing off: not due yet.
                tokio::time::sleep(Duration::from_millis(60)).await;
                claimed = jobs::claim(&store, "w", LEASE, 1).await.unwrap();
            }
            let job = claimed.pop().expect("due after its backoff");
            assert_eq!(job.attempt, attempt);
            let outcome = jobs::fail(&store, &job, &format!("boom {attempt}"), &policy).await.unwrap();
            if attempt < 3 {
                assert_eq!(outcome, AfterFailure::RetryIn(Duration::from_millis(50)));
                assert!(jobs::claim(&store, "w", LEASE, 1).await.unwrap().is_empty(), "not due during its backoff");
            } else {
                assert_eq!(outcome, AfterFailure::Failed);
            }
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(jobs::claim(&store, "w", LEASE, 1).await.unwrap().is_empty(), "failed jobs stay failed");
        let row = &jobs::all(&store).await.unwrap()[0];
        assert_eq!((row.state.as_str(), row.attempts, row.last_error.as_deref()), ("failed", 3, Some("boom 3")));
    }

    async fn a_dead_workers_job_is_taken_over_when_its_lease_expires(backend: Backend) {
        let (_db, store) = open(backend).await;
        enqueue(&store, &score_job()).await;
        let dead = jobs::claim(&store, "dead", Duration::from_millis(100), 1).await.unwrap().pop().unwrap();
        assert!(jobs::claim(&store, "alive", LEASE, 1).await.unwrap().is_empty());
        tokio::time::sleep(Duration::from_millis(150)).await;
        let alive = jobs::claim(&store, "alive", LEASE, 1).await.unwrap().pop().expect("the lease expired");
        assert_eq!((alive.id, alive.attempt), (dead.id, 2));
        // The dead worker comes back to life: it can neither finish, renew nor fail the job.
        let mut tx = store.begin().await.unwrap();
        assert!(!jobs::complete(&mut tx, &dead).await.unwrap());
        drop(tx);
        assert!(!jobs::renew(&store, &dead, LEASE).await.unwrap());
        assert_eq!(jobs::fail(&store, &dead, "late", &quick_retries(3)).await.unwrap(), AfterFailure::LeaseLost);
        let mut tx = store.begin().await.unwrap();
        assert!(jobs::complete(&mut tx, &alive).await.unwrap());
        tx.commit().await.unwrap();
    }

    async fn finished_jobs_are_forgotten_after_a_while_failed_ones_kept(backend: Backend) {
        let (_db, store) = open(backend).await;
        for _ in 0..2 {
            enqueue(&store, &score_job()).await;
        }
        let mut claimed = jobs::claim(&store, "w", LEASE, 2).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(jobs::complete(&mut tx, &claimed.pop().unwrap()).await.unwrap());
        tx.commit().await.unwrap();
        jobs::fail(&store, &claimed.pop().unwrap(), "broken", &quick_retries(1)).await.unwrap();
        assert_eq!(jobs::prune(&store, Duration::from_secs(3600)).await.unwrap(), 0, "too recent");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(jobs::prune(&store, Duration::from_millis(10)).await.unwrap(), 1);
        let left = jobs::all(&store).await.unwrap();
        assert_eq!((left.len(), left[0].state.as_str()), (1, "failed"));
    }

    async fn concurrent_claimants_never_take_the_same_job(backend: Backend) {
        let (db, store) = open(backend).await;
        let mut tx = store.begin().await.unwrap();
        for _ in 0..200 {
            jobs::enqueue(&mut tx, &score_job()).await.unwrap();
        }
        tx.commit().await.unwrap();
        // Two connections to the database (two nodes), four workers each.
        let other = Store::connect(&db.url).await.unwrap();
        let mut workers = Vec::new();
        for w in 0..8 {
            let store = if w % 2 == 0 { store.clone() } else { other.clone() };
            workers.push(tokio::spawn(async move {
                let mut taken = Vec::new();
                loop {
                    let batch = jobs::claim(&store, &format!("w{w}"), LEASE, 3).await.unwrap();
                    if batch.is_empty() {
                        return taken;
                    }
                    for job in batch {
                        let mut tx = store.begin().await.unwrap();
                        assert!(jobs::complete(&mut tx, &job).await.unwrap());
                        tx.commit().await.unwrap();
                        taken.push(job.id);
                    }
                }
            }));
        }
        let mut seen = HashSet::new();
        for worker in workers {
            for id in worker.await.unwrap() {
                assert!(seen.insert(id), "job {id} was claimed twice");
            }
        }
        assert_eq!(seen.len(), 200);
        assert!(jobs::all(&store).await.unwrap().iter().all(|j| j.state == "done" && j.attempts == 1));
        other.close().await;
    }
}
