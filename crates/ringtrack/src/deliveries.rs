//! Delivering webhook events: the body (made once per event by `ringtrack_core::events`),
//! the signature, one HTTP attempt through the checked outbound client (10 s, no
//! redirects), and what the attempt means for the next one. A delivery job only ever makes
//! one attempt; retries are new jobs queued at their time, so a restart between attempts
//! loses nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ringtrack_domain::outbound::Reach;
use ringtrack_domain::secrets::Sealer;
use ringtrack_domain::webhooks::{self, MAX_ATTEMPTS};
use ringtrack_store::Store;
use ringtrack_store::webhooks::{self as store, Endpoint, Event, Outcome};

use crate::outbound::{self, OutboundClient};

/// How webhooks are sent.
pub struct Sender {
    http: OutboundClient,
    /// The server's public URL, for links in bodies (a call's recording).
    public_url: String,
    /// Shrinks the retry schedule (tests); 1 in production.
    retry_scale: f64,
    /// Opens the signing secrets, kept sealed.
    sealer: Arc<Sealer>,
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl Sender {
    pub fn new(public_url: &str, retry_scale: f64, sealer: Arc<Sealer>, reach: Reach) -> Sender {
        let user_agent = concat!("ringtrack-webhooks/", env!("CARGO_PKG_VERSION"));
        let http = OutboundClient::new(reach, TIMEOUT, user_agent);
        Sender { http, public_url: public_url.trim_end_matches('/').to_owned(), retry_scale, sealer }
    }

    /// The server's public URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// One attempt: sends, and says what it came to.
    pub async fn attempt(
        &self,
        store: &Store,
        endpoint: &Endpoint,
        event: &Event,
        attempt: u32,
    ) -> Result<Attempted, String> {
        let body =
            ringtrack_core::events::body(store, event, &self.public_url).await.map_err(|e| e.to_string())?;
        let now = store.now();
        let secrets = endpoint
            .signing_secrets(now)
            .into_iter()
            .map(|sealed| self.sealer.open(sealed).map_err(|e| format!("the signing secret: {e}")))
            .collect::<Result<Vec<String>, String>>()?;
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let headers =
            endpoint.headers.open(&self.sealer).map_err(|e| format!("the endpoint's headers: {e}"))?;
        let started = Instant::now();
        let request = match self.http.post(&endpoint.url) {
            Ok(request) => request,
            Err(refused) => return Ok(self.outcome(attempt, None, Some(refused), started.elapsed())),
        };
        let mut request = request
            .header("Content-Type", "application/json")
            .header(
                "Ringtrack-Signature",
                webhooks::signature_header(&secrets, now.as_second(), body.as_bytes()),
            )
            .header("Ringtrack-Event-Id", event.id.to_string())
            .header("Ringtrack-Event-Type", event.event_type.as_str())
            .header("Ringtrack-Delivery-Attempt", attempt.to_string());
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let sent = request.body(body).send().await;
        let latency = started.elapsed();
        let (status_code, error) = match sent {
            Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
            Ok(response) => (
                Some(response.status().as_u16()),
                Some(format!("the endpoint answered {}", response.status())),
            ),
            Err(e) if e.is_timeout() => (None, Some(format!("no answer within {} s", TIMEOUT.as_secs()))),
            Err(e) => (None, Some(outbound::describe(e))),
        };
        Ok(self.outcome(attempt, status_code, error, latency))
    }

    /// What an attempt came to, and when the next one is due.
    fn outcome(
        &self,
        attempt: u32,
        status_code: Option<u16>,
        error: Option<String>,
        latency: Duration,
    ) -> Attempted {
        let outcome = match (&error, webhooks::retry_delay(attempt, self.retry_scale)) {
            (None, _) => Outcome::Succeeded,
            (Some(_), Some(delay)) if attempt < MAX_ATTEMPTS => Outcome::RetryIn(delay),
            (Some(_), _) => Outcome::Failed,
        };
        Attempted { status_code, error, latency, outcome }
    }
}

pub struct Attempted {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency: Duration,
    pub outcome: Outcome,
}

/// Whether this attempt of the delivery is still to be made (a repeated job is not).
pub fn due(delivery: &store::Delivery, attempt: u32) -> bool {
    delivery.status != store::SUCCEEDED && delivery.attempts < i64::from(attempt)
}
