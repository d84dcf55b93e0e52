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
        let decision = self.decide(key, now);
        if decision.allowed { Ok(()) } else { Err(decision.retry_after) }
    }

    /// Takes a token for `key` if there is one, and says what is left.
    pub fn decide(&self, key: &str, now: Instant) -> Decision {
        let Rate { per_second, burst } = self.rate;
        let mut buckets = self.buckets.lock().expect("a rate limiter's lock is never poisoned");
        if buckets.len() >= MAX_KEYS {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(burst);
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        Decision {
            allowed,
            limit: burst as u64,
            remaining: bucket.tokens.floor() as u64,
            retry_after: Duration::from_secs_f64(((1.0 - bucket.tokens) / per_second).max(0.0)),
            full_after: Duration::from_secs_f64((burst - bucket.tokens) / per_second),
        }
    }
}

/// What a rate limiter said of a request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// The burst: requests that may be made at once.
    pub limit: u64,
    /// Requests that may be made now.
    pub remaining: u64,
    /// How long until one more may be made.
    pub retry_after: Duration,
    /// How long until the bucket is full again.
    pub full_after: Duration,
}

/// The API's limit per key (per address for requests without a well-formed key), on every
/// `/api/v1` request, with `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds until
/// the bucket is full) on every answer, and 429 `rate_limited` with `Retry-After` beyond.
pub async fn limit_api(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::response::IntoResponse;
    if !request.uri().path().starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let key = match crate::auth::bearer(request.headers()) {
        Some(secret) => format!("key:{}", secret.hash().as_str()),
        None => match request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
            Some(axum::extract::ConnectInfo(peer)) => format!("ip:{}", peer.ip()),
            None => "ip:unknown".into(),
        },
    };
    let decision = state.api_limits.decide(&key, Instant::now());
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        crate::error::ApiError::RateLimited(decision.retry_after).into_response()
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.full_after.as_secs_f64().ceil() as u64));
    response
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
        let refused = limiter.decide("1.2.3.4", start);
        assert!(!refused.allowed);
        assert_eq!((refused.limit, refused.remaining), (3, 0));
        assert_eq!(refused.retry_after, Duration::from_millis(500));
        assert_eq!(refused.full_after, Duration::from_millis(1500));
        assert!(limiter.take("5.6.7.8", start).is_ok(), "keys are independent");
        assert!(limiter.take("1.2.3.4", start + Duration::from_millis(500)).is_ok());
        assert!(limiter.take("1.2.3.4", start + Duration::from_millis(600)).is_err());
        // A long pause refills only up to the burst.
        let later = start + Duration::from_secs(60);
        let taken = (0..10).filter(|_| limiter.take("1.2.3.4", later).is_ok()).count();
        assert_eq!(taken, 3);
    }
}
