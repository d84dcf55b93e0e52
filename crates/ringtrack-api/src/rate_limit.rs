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
        self.look(key, now, true)
    }

    /// Whether `key` has a token now, taking none.
    pub fn has_token(&self, key: &str, now: Instant) -> bool {
        self.look(key, now, false).allowed
    }

    fn look(&self, key: &str, now: Instant, take: bool) -> Decision {
        let Rate { per_second, burst } = self.rate;
        // Buckets whose holder panicked are still buckets: never a reason to fail a request.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(burst);
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed && take {
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

/// The bucket of a client's address: requests without a key, and every failed
/// authentication (a wrong API key, a carrier webhook with a wrong signature), draw on it.
pub fn address_key(request: &axum::extract::Request) -> String {
    match request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        Some(axum::extract::ConnectInfo(peer)) => format!("ip:{}", peer.ip()),
        None => "ip:unknown".into(),
    }
}

/// The API's limit per key (per address for requests without a well-formed key), on every
/// `/api/v1` request, with `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds until
/// the bucket is full) on every answer, and 429 `rate_limited` with `Retry-After` beyond.
/// A request whose key is refused (401) also draws on its address's bucket, and once that
/// is empty every key from the address waits: guessing keys costs as much as no key.
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
    let address = address_key(&request);
    let key = match crate::auth::bearer(request.headers()) {
        Some(secret) => format!("key:{}", secret.hash().as_str()),
        None => address.clone(),
    };
    let now = Instant::now();
    let keyed = key != address;
    let decision = if keyed && !state.api_limits.has_token(&address, now) {
        state.api_limits.decide(&address, now)
    } else {
        state.api_limits.decide(&key, now)
    };
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        crate::error::ApiError::RateLimited(decision.retry_after).into_response()
    };
    if keyed && response.status() == axum::http::StatusCode::UNAUTHORIZED {
        state.api_limits.decide(&address, now);
    }
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.full_after.as_secs_f64().ceil() as u64));
    response
}

/// Carrier webhooks, per address: a generous rate (a carrier sends a busy account's whole
/// traffic from few addresses), and a request with a wrong signature draws on the
/// address's API bucket too, refused once it is empty.
pub async fn limit_carrier_webhooks(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let address = address_key(&request);
    let now = Instant::now();
    if !state.api_limits.has_token(&address, now) {
        return crate::error::ApiError::RateLimited(state.api_limits.decide(&address, now).retry_after)
            .into_response();
    }
    if let Err(retry_after) = state.carrier_limits.take(&address, now) {
        return crate::error::ApiError::RateLimited(retry_after).into_response();
    }
    let response = next.run(request).await;
    if response.status() == axum::http::StatusCode::FORBIDDEN {
        state.api_limits.decide(&address, now);
    }
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
        // Looking takes nothing.
        let fresh = start + Duration::from_secs(120);
        assert!((0..10).all(|_| limiter.has_token("9.9.9.9", fresh)));
        assert_eq!(limiter.decide("9.9.9.9", fresh).remaining, 2);
    }
}
