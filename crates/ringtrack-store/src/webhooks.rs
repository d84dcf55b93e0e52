//! Outbound webhooks: endpoints, the outbox of events, and deliveries with their attempts.
//! An event is written in the transaction of the change that causes it, with one delivery
//! and one queued job per subscribed endpoint; so an event exists, and is delivered, if and
//! only if its change committed. Each attempt is recorded; the next is a new job queued at
//! its retry time.

use std::time::Duration;

use jiff::Timestamp;
use ringtrack_domain::jobs::Job;
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::secrets::Sealer;
use ringtrack_domain::webhooks::{EventType, StoredHeaders};
use ringtrack_domain::{BusinessId, DeliveryId, WebhookId};
use uuid::Uuid;

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record, json_column};
use crate::sql::Sql;
use crate::{Connection, Result, StoreError, Tx, jobs};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub id: WebhookId,
    pub business_id: BusinessId,
    pub url: String,
    pub events: Vec<EventType>,
    /// Sealed with the server's key.
    pub headers: StoredHeaders,
    pub active: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<Timestamp>,
    pub failing_since: Option<Timestamp>,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Endpoint {
    /// The secrets that sign a delivery now (sealed, as kept): the current one, and the
    /// previous one while its overlap lasts.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at)
            && until > now
        {
            secrets.push(old);
        }
        secrets
    }
}

const ENDPOINT_COLUMNS: &str = "id, business_id, url, events, headers, active, secret, previous_secret,
    previous_secret_expires_at, failing_since, disabled_reason, created_at, updated_at";

impl FromRecord for Endpoint {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Endpoint {
            id: row.parsed("id")?,
            business_id: row.parsed("business_id")?,
            url: row.text("url")?,
            events: json_column(row, "events")?,
            headers: json_column(row, "headers")?,
            active: row.boolean("active")?,
            secret: row.text("secret")?,
            previous_secret: row.opt_text("previous_secret")?,
            previous_secret_expires_at: row.opt_time("previous_secret_expires_at")?,
            failing_since: row.opt_time("failing_since")?,
            disabled_reason: row.opt_text("disabled_reason")?,
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
        })
    }
}

impl Keyed for Endpoint {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

/// What an endpoint is set to.
#[derive(Clone, Debug)]
pub struct EndpointSettings {
    pub url: String,
    pub events: Vec<EventType>,
    /// Sealed with the server's key.
    pub headers: StoredHeaders,
    pub active: bool,
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn create(
    tx: &mut Tx,
    business_id: BusinessId,
    settings: &EndpointSettings,
    secret: &str,
) -> Result<Endpoint> {
    let id = WebhookId::new();
    let insert = Sql::new(
        "INSERT INTO webhook_endpoints (id, business_id, url, events, headers, active, secret, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(business_id)
    .bind(settings.url.as_str())
    .bind(to_json(&settings.events)?)
    .bind(to_json(&settings.headers)?)
    .bind(settings.active)
    .bind(secret)
    .bind(tx.now());
    tx.conn().execute(insert).await?;
    Ok(get(&mut *tx, business_id, id).await?.expect("just created"))
}

pub async fn get(
    mut db: impl Connection,
    business_id: BusinessId,
    id: WebhookId,
) -> Result<Option<Endpoint>> {
    let select = Sql::new(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(business_id)
    .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    page: &PageRequest,
) -> Result<Page<Endpoint>> {
    let from =
        Sql::new("FROM webhook_endpoints WHERE business_id = $1 AND deleted_at IS NULL").bind(business_id);
    fetch_page(db, ENDPOINT_COLUMNS, from, "", page).await
}

/// Changes an endpoint; turning it active again clears why it was disabled.
pub async fn update(tx: &mut Tx, endpoint: &Endpoint, settings: &EndpointSettings) -> Result<Endpoint> {
    let update = Sql::new(
        "UPDATE webhook_endpoints SET url = $1, events = $2, headers = $3, active = $4, updated_at = $5,
            disabled_reason = CASE WHEN $4 THEN NULL ELSE disabled_reason END,
            failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END
         WHERE id = $6",
    )
    .bind(settings.url.as_str())
    .bind(to_json(&settings.events)?)
    .bind(to_json(&settings.headers)?)
    .bind(settings.active)
    .bind(tx.now())
    .bind(endpoint.id);
    tx.conn().execute(update).await?;
    Ok(get(&mut *tx, endpoint.business_id, endpoint.id).await?.expect("exists"))
}

/// Seals the custom headers of endpoints saved before headers were sealed; answers how
/// many. Idempotent, and safe on every node at once (a sealed row is never read as plain).
pub async fn seal_plain_headers(store: &crate::Store, sealer: &Sealer) -> Result<u64> {
    let mut tx = store.begin().await?;
    let select = Sql::new(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE headers LIKE '{{%'{}",
        tx.row_lock()
    ));
    let plain: Vec<Endpoint> = tx.conn().fetch_all(select).await?;
    let mut sealed = 0;
    for endpoint in plain {
        let StoredHeaders::Plain(headers) = &endpoint.headers else { continue };
        let headers = StoredHeaders::seal(headers, sealer);
        let update = Sql::new("UPDATE webhook_endpoints SET headers = $1 WHERE id = $2")
            .bind(to_json(&headers)?)
            .bind(endpoint.id);
        tx.conn().execute(update).await?;
        sealed += 1;
    }
    tx.commit().await?;
    Ok(sealed)
}

pub async fn delete(tx: &mut Tx, endpoint: &Endpoint) -> Result<()> {
    let delete = Sql::new("UPDATE webhook_endpoints SET deleted_at = $1, active = FALSE WHERE id = $2")
        .bind(tx.now())
        .bind(endpoint.id);
    tx.conn().execute(delete).await?;
    Ok(())
}

/// A new secret; the current one keeps signing for `overlap`.
pub async fn rotate(tx: &mut Tx, endpoint: &Endpoint, secret: &str, overlap: Duration) -> Result<Endpoint> {
    let now = tx.now();
    let until = now.as_second() + i64::try_from(overlap.as_secs()).unwrap_or(i64::MAX / 2);
    let update = Sql::new(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $1, secret = $2,
            updated_at = $3 WHERE id = $4",
    )
    .bind(until)
    .bind(secret)
    .bind(now)
    .bind(endpoint.id);
    tx.conn().execute(update).await?;
    Ok(get(&mut *tx, endpoint.business_id, endpoint.id).await?.expect("exists"))
}

/// Records that `event_type` happened to `subject` (a call, a message, a form): one event,
/// and a delivery queued for each active endpoint of the business that wants it.
pub async fn emit(
    tx: &mut Tx,
    business_id: BusinessId,
    event_type: EventType,
    subject: impl Into<Uuid>,
) -> Result<()> {
    let select = Sql::new(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE business_id = $1 AND active AND deleted_at IS NULL"
    ))
    .bind(business_id);
    let endpoints: Vec<Endpoint> = tx.conn().fetch_all(select).await?;
    let wanted: Vec<&Endpoint> = endpoints.iter().filter(|e| e.events.contains(&event_type)).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let event = insert_event(tx, business_id, event_type, Some(subject.into())).await?;
    for endpoint in wanted {
        queue_delivery(tx, endpoint, event).await?;
    }
    Ok(())
}

/// A sample event for one endpoint (`POST /webhooks/{id}/test`); answers its delivery.
pub async fn emit_test(tx: &mut Tx, endpoint: &Endpoint) -> Result<DeliveryId> {
    let event = insert_event(tx, endpoint.business_id, EventType::WebhookTest, None).await?;
    queue_delivery(tx, endpoint, event).await
}

async fn insert_event(
    tx: &mut Tx,
    business_id: BusinessId,
    event_type: EventType,
    subject: Option<Uuid>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let insert = Sql::new(
        "INSERT INTO webhook_events (id, business_id, type, subject_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(business_id)
    .bind(event_type.as_str())
    .bind(subject)
    .bind(tx.now());
    tx.conn().execute(insert).await?;
    Ok(id)
}

async fn queue_delivery(tx: &mut Tx, endpoint: &Endpoint, event: Uuid) -> Result<DeliveryId> {
    let id = DeliveryId::new();
    let now = tx.now();
    let insert = Sql::new(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, business_id, status, attempts, next_attempt_at,
            created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6, $6)",
    )
    .bind(id)
    .bind(endpoint.id)
    .bind(event)
    .bind(endpoint.business_id)
    .bind(PENDING)
    .bind(now);
    tx.conn().execute(insert).await?;
    jobs::enqueue(tx, &Job::DeliverWebhook { delivery_id: id, attempt: 1 }).await?;
    Ok(id)
}

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    pub business_id: BusinessId,
    pub event_type: EventType,
    pub subject_id: Option<Uuid>,
    pub payload: Option<String>,
    pub created_at: Timestamp,
}

impl FromRecord for Event {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Event {
            id: row.parsed("id")?,
            business_id: row.parsed("business_id")?,
            event_type: row.parsed("type")?,
            subject_id: row.opt_parsed("subject_id")?,
            payload: row.opt_text("payload")?,
            created_at: row.time("created_at")?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub event_id: Uuid,
    pub event_type: EventType,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Filled by [`deliveries`]: every attempt, first first.
    pub history: Vec<Attempt>,
}

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, d.event_id, e.type AS event_type, d.status, d.attempts,
    d.next_attempt_at, d.created_at, d.updated_at";

impl FromRecord for Delivery {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Delivery {
            id: row.parsed("id")?,
            endpoint_id: row.parsed("endpoint_id")?,
            event_id: row.parsed("event_id")?,
            event_type: row.parsed("event_type")?,
            status: row.text("status")?,
            attempts: row.int("attempts")?,
            next_attempt_at: row.opt_time("next_attempt_at")?,
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
            history: Vec::new(),
        })
    }
}

impl Keyed for Delivery {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub delivery_id: DeliveryId,
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub created_at: Timestamp,
}

impl FromRecord for Attempt {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Attempt {
            delivery_id: row.parsed("delivery_id")?,
            attempt: row.int("attempt")?,
            status_code: row.opt_int("status_code")?,
            latency_ms: row.int("latency_ms")?,
            error: row.opt_text("error")?,
            created_at: row.time("created_at")?,
        })
    }
}

const DELIVERY_FROM: &str = "FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id";

/// An endpoint's deliveries, newest first, each with its attempts.
pub async fn deliveries(
    mut db: impl Connection,
    endpoint: &Endpoint,
    page: &PageRequest,
) -> Result<Page<Delivery>> {
    let from = Sql::new(format!("{DELIVERY_FROM} WHERE d.endpoint_id = $1")).bind(endpoint.id);
    let mut found = fetch_page(&mut db, DELIVERY_COLUMNS, from, "d.", page).await?;
    if found.items.is_empty() {
        return Ok(found);
    }
    let mut select = Sql::new(
        "SELECT delivery_id, attempt, status_code, latency_ms, error, created_at FROM webhook_attempts
         WHERE delivery_id IN (",
    );
    for (i, d) in found.items.iter().enumerate() {
        select.push(if i == 0 { "" } else { ", " }).push_bind(d.id);
    }
    select.push(") ORDER BY attempt");
    let attempts: Vec<Attempt> = db.conn().fetch_all(select).await?;
    for delivery in &mut found.items {
        delivery.history = attempts.iter().filter(|a| a.delivery_id == delivery.id).cloned().collect();
    }
    Ok(found)
}

/// A delivery with what it needs to be attempted: its endpoint (even deleted) and event.
pub async fn for_attempt(
    mut db: impl Connection,
    delivery_id: DeliveryId,
) -> Result<Option<(Delivery, Endpoint, Event, bool)>> {
    let select =
        Sql::new(format!("SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.id = $1")).bind(delivery_id);
    let Some(delivery) = db.conn().fetch_optional::<Delivery>(select).await? else { return Ok(None) };
    let endpoint = Sql::new(format!(
        "SELECT {ENDPOINT_COLUMNS}, deleted_at IS NOT NULL AS deleted FROM webhook_endpoints WHERE id = $1"
    ))
    .bind(delivery.endpoint_id);
    let Some(WithDeleted(endpoint, deleted)) = db.conn().fetch_optional(endpoint).await? else {
        return Ok(None);
    };
    let event = Sql::new(
        "SELECT id, business_id, type, subject_id, payload, created_at FROM webhook_events WHERE id = $1",
    )
    .bind(delivery.event_id);
    let Some(event) = db.conn().fetch_optional::<Event>(event).await? else { return Ok(None) };
    Ok(Some((delivery, endpoint, event, deleted)))
}

struct WithDeleted(Endpoint, bool);

impl FromRecord for WithDeleted {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(WithDeleted(Endpoint::from_record(row)?, row.boolean("deleted")?))
    }
}

/// Keeps the event's body (the first one made wins); answers the body to send.
pub async fn keep_payload(tx: &mut Tx, event: Uuid, payload: &str) -> Result<String> {
    let update = Sql::new("UPDATE webhook_events SET payload = $1 WHERE id = $2 AND payload IS NULL")
        .bind(payload)
        .bind(event);
    tx.conn().execute(update).await?;
    let select = Sql::new("SELECT payload AS value FROM webhook_events WHERE id = $1").bind(event);
    let kept: Option<String> = tx.conn().fetch_optional(select).await?;
    kept.ok_or_else(|| StoreError::Corrupt(format!("event {event} vanished")))
}

/// What became of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Failed; the next attempt after this delay.
    RetryIn(Duration),
    /// Failed for good.
    Failed,
}

/// One attempt's result. Queues the next attempt (retries), keeps the endpoint's failing
/// streak, and disables an endpoint that has failed for `disable_after`.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    tx: &mut Tx,
    delivery: &Delivery,
    endpoint: &Endpoint,
    attempt: u32,
    status_code: Option<u16>,
    latency: Duration,
    error: Option<&str>,
    outcome: Outcome,
    disable_after: Duration,
) -> Result<()> {
    let now = tx.now();
    let insert = Sql::new(
        "INSERT INTO webhook_attempts (id, delivery_id, attempt, status_code, latency_ms, error, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(delivery.id)
    .bind(i64::from(attempt))
    .bind(status_code.map(i64::from))
    .bind(i64::try_from(latency.as_millis()).unwrap_or(i64::MAX))
    .bind(error)
    .bind(now);
    tx.conn().execute(insert).await?;
    let (status, next) = match outcome {
        Outcome::Succeeded => (SUCCEEDED, None),
        Outcome::RetryIn(delay) => {
            (PENDING, Some(now.as_millisecond() + i64::try_from(delay.as_millis()).unwrap_or(0)))
        }
        Outcome::Failed => (FAILED, None),
    };
    let update = Sql::new(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(status)
    .bind(i64::from(attempt))
    .bind(next.map(|ms| ms / 1000))
    .bind(now)
    .bind(delivery.id);
    tx.conn().execute(update).await?;
    if let Outcome::RetryIn(delay) = outcome {
        jobs::enqueue_at(tx, &Job::DeliverWebhook { delivery_id: delivery.id, attempt: attempt + 1 }, delay)
            .await?;
    }
    let streak = match outcome {
        Outcome::Succeeded => {
            Sql::new("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1").bind(endpoint.id)
        }
        _ => {
            Sql::new("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2")
                .bind(now)
                .bind(endpoint.id)
        }
    };
    tx.conn().execute(streak).await?;
    if outcome != Outcome::Succeeded {
        let since = endpoint.failing_since.unwrap_or(now);
        let limit = i64::try_from(disable_after.as_secs()).unwrap_or(i64::MAX / 2);
        if now.as_second() - since.as_second() >= limit {
            let reason = format!(
                "disabled at {now}: every delivery failed since {since} (last: {})",
                error.map_or_else(|| format!("HTTP {}", status_code.unwrap_or(0)), str::to_owned)
            );
            let disable =
                Sql::new("UPDATE webhook_endpoints SET active = FALSE, disabled_reason = $1 WHERE id = $2")
                    .bind(reason)
                    .bind(endpoint.id);
            tx.conn().execute(disable).await?;
        }
    }
    Ok(())
}

/// A person asks for a delivery again: queued now as a further attempt.
pub async fn redeliver(tx: &mut Tx, delivery: &Delivery) -> Result<()> {
    let attempt = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
    let update = Sql::new(
        "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(PENDING)
    .bind(tx.now())
    .bind(delivery.id);
    tx.conn().execute(update).await?;
    jobs::enqueue(tx, &Job::DeliverWebhook { delivery_id: delivery.id, attempt }).await?;
    Ok(())
}

pub async fn delivery(
    mut db: impl Connection,
    endpoint: &Endpoint,
    id: DeliveryId,
) -> Result<Option<Delivery>> {
    let select =
        Sql::new(format!("SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.endpoint_id = $1 AND d.id = $2"))
            .bind(endpoint.id)
            .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}
