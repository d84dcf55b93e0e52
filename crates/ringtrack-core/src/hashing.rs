//! Argon2id, bounded for the whole node. Each hash takes about 19 MiB and tens of
//! milliseconds of a core on purpose; anyone can ask for one (sign-in answers an unknown
//! address with a hash too, so timing tells nothing), so hashes run at most one a core,
//! a few more wait, and beyond that a request is told to come back ([`Busy`]) instead of
//! queueing memory and threads without end.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use ringtrack_domain::people::Password;
use tokio::sync::Semaphore;

/// Hashes that may wait for a core, per core.
const WAITING_PER_CORE: usize = 4;

/// Every core is hashing and the queue is full: try again in a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking passwords; try again in a second")]
pub struct Busy;

/// The node's bound on hashing.
struct Gate {
    /// Hashes running or waiting to run.
    admitted: Semaphore,
    /// Hashes running.
    running: Semaphore,
}

impl Gate {
    fn new(cores: usize, waiting: usize) -> Gate {
        Gate { admitted: Semaphore::new(cores + waiting), running: Semaphore::new(cores) }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let _admitted = self.admitted.try_acquire().map_err(|_| Busy)?;
        let _running = self.running.acquire().await.map_err(|_| Busy)?;
        Ok(tokio::task::spawn_blocking(work).await.expect("hashing does not panic"))
    }
}

static GATE: LazyLock<Gate> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Gate::new(cores, cores * WAITING_PER_CORE)
});

/// Argon2id with its default (OWASP-recommended) cost.
pub async fn hash(password: Password) -> Result<String, Busy> {
    GATE.run(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .expect("Argon2 hashes any password")
            .to_string()
    })
    .await
}

/// Whether `password` matches `stored`; with nothing stored, a hash is still computed.
pub async fn verify(stored: Option<String>, password: Password) -> Result<bool, Busy> {
    GATE.run(move || {
        let Some(stored) = stored else {
            let _ = Argon2::default().hash_password(
                password.expose().as_bytes(),
                &SaltString::encode_b64(&[0; 16]).expect("a valid salt"),
            );
            return false;
        };
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_cores_run_a_few_wait_and_the_rest_are_told_to_come_back() {
        let gate = Arc::new(Gate::new(2, 3));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let asked: Vec<_> = (0..12)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        let mut done = 0;
        let mut busy = 0;
        for task in asked {
            match task.await.unwrap() {
                Ok(()) => done += 1,
                Err(Busy) => busy += 1,
            }
        }
        assert_eq!((done, busy), (5, 7), "two run, three wait, the rest come back later");
        assert_eq!(most.load(Ordering::SeqCst), 2, "never more than the cores at once");
        // Once they are done, room is made again.
        assert_eq!(gate.run(|| 1).await, Ok(1));
    }
}
