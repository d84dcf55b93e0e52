//! Token buckets, one per key (an IP address, a pool), kept in this node's memory: each
//! node enforces its own limit, which bounds what one node serves without a shared store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate: `per_second` tokens refill, up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before idle (full) ones are forgotten.
const MAX_KEYS: usize = 100_000;

impl RateLimiter {
    pub fn new(rate: Rate) -> RateLimiter {
        RateLimiter { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key`; when there is none, answers how long until there is.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let Rate { per_second, burst } = self.rate;
        let mut buckets = self.buckets.lock().expect("a rate limiter's lock is never poisoned");
        if buckets.len() >= MAX_KEYS {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let limiter = RateLimiter::new(Rate { per_second: 2.0, burst: 3.0 });
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take("1.2.3.4", start).is_ok());
        }
        let wait = limiter.take("1.2.3.4", start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(limiter.take("5.6.7.8", start).is_ok(), "keys are independent");
        assert!(limiter.take("1.2.3.4", start + Duration::from_millis(500)).is_ok());
        assert!(limiter.take("1.2.3.4", start + Duration::from_millis(600)).is_err());
        // A long pause refills only up to the burst.
        let later = start + Duration::from_secs(60);
        let taken = (0..10).filter(|_| limiter.take("1.2.3.4", later).is_ok()).count();
        assert_eq!(taken, 3);
    }
}
