//! `/api/v1/webhooks`: where a business's events are delivered. Each endpoint has a signing
//! secret, shown once (on creation and on rotation); every delivery carries
//! `Ringtrack-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`, with a second
//! `v1` from the previous secret for a day after a rotation.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use rand::Rng;
use rand::distr::Alphanumeric;
use ringtrack_domain::outbound;
use ringtrack_domain::secrets::Sealer;
use ringtrack_domain::webhooks::{self, EventType, ROTATION_OVERLAP, StoredHeaders};
use ringtrack_domain::{Access, DeliveryId, FieldErrors, WebhookId};
use ringtrack_store::webhooks::{self as store, Attempt, Delivery, Endpoint, EndpointSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Created, Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ListParams, Paging, PathId};

#[derive(Serialize, ToSchema)]
pub struct EndpointView {
    #[schema(format = Uuid)]
    id: Uuid,
    #[schema(example = "https://hooks.example.com/ringtrack")]
    url: String,
    /// call.completed, call.missed, call.voicemail, call.scored, sms.received, sms.status,
    /// form.submitted.
    #[schema(value_type = Vec<String>)]
    events: Vec<EventType>,
    /// Sent with every delivery.
    headers: BTreeMap<String, String>,
    active: bool,
    /// Why the endpoint was disabled (three days of failed deliveries), if it was.
    disabled_reason: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    failing_since: Option<Timestamp>,
    /// The signing secret: only in the answer that made it (creation, rotation).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl EndpointView {
    /// The endpoint as shown (its headers opened); `secret` only in the answer that made it.
    fn of(e: Endpoint, secret: Option<String>, sealer: &Sealer) -> ApiResult<EndpointView> {
        let headers = e.headers.open(sealer).map_err(ApiError::internal)?;
        Ok(EndpointView {
            id: e.id.as_uuid(),
            url: e.url,
            events: e.events,
            headers,
            active: e.active,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            secret,
            created_at: e.created_at,
            updated_at: e.updated_at,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct EndpointBody {
    webhook: EndpointView,
}

#[derive(Serialize, ToSchema)]
pub struct EndpointList {
    webhooks: Vec<EndpointView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/ringtrack", "events": ["call.completed", "call.scored"]}))]
pub struct EndpointInput {
    url: Option<String>,
    events: Option<Vec<String>>,
    headers: Option<BTreeMap<String, String>>,
    active: Option<bool>,
}

fn settings(
    state: &AppState,
    input: EndpointInput,
    current: Option<&Endpoint>,
) -> ApiResult<EndpointSettings> {
    let mut errors = FieldErrors::new();
    let url = match (input.url, current) {
        (Some(url), _) => match outbound::parse_url(&url, state.outbound_reach()) {
            // Kept as parsed: the sender parses it again to the same host.
            Ok(url) => url.to_string(),
            Err(message) => {
                errors.push("url", message);
                String::new()
            }
        },
        (None, Some(e)) => e.url.clone(),
        (None, None) => {
            errors.push("url", "is required");
            String::new()
        }
    };
    let events = match (input.events, current) {
        (Some(events), _) => {
            if events.is_empty() {
                errors.push("events", "must name at least one event");
            }
            let mut unique: Vec<EventType> = Vec::new();
            for (i, event) in events.iter().enumerate() {
                match EventType::subscribable(event) {
                    Some(event) if !unique.contains(&event) => unique.push(event),
                    Some(_) => {}
                    None => {
                        let names: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|e| e.as_str()).collect();
                        errors.push(format!("events[{i}]"), format!("must be one of {}", names.join(", ")));
                    }
                }
            }
            unique
        }
        (None, Some(e)) => e.events.clone(),
        (None, None) => EventType::SUBSCRIBABLE.to_vec(),
    };
    let headers = match (input.headers, current) {
        (Some(headers), _) => errors
            .take_all(webhooks::check_headers(headers))
            .map(|headers| StoredHeaders::seal(&headers, &state.sealer))
            .unwrap_or(StoredHeaders::Plain(BTreeMap::new())),
        (None, Some(e)) => e.headers.clone(),
        (None, None) => StoredHeaders::seal(&BTreeMap::new(), &state.sealer),
    };
    let active = input.active.or(current.map(|e| e.active)).unwrap_or(true);
    errors.finish(EndpointSettings { url, events, headers, active }).map_err(Into::into)
}

fn new_secret() -> String {
    let random: String = rand::rng().sample_iter(Alphanumeric).take(32).map(char::from).collect();
    format!("whsec_{random}")
}

async fn endpoint(state: &AppState, auth: &Auth, id: WebhookId) -> ApiResult<Endpoint> {
    store::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Webhook"))
}

#[utoipa::path(
    get, path = "/webhooks", tag = "Webhooks", operation_id = "list_webhooks",
    params(ListParams),
    responses((status = 200, body = Data<EndpointList>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The business's webhook endpoints (secrets not shown).
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Data<EndpointList>> {
    auth.require(Access::Write)?;
    let found = store::list(&state.store, auth.business_id, &page).await?;
    let (webhooks, page) = PageInfo::split(found, &page, |e| EndpointView::of(e, None, &state.sealer));
    let webhooks = webhooks.into_iter().collect::<ApiResult<_>>()?;
    Ok(Data::new(EndpointList { webhooks, page }))
}

#[utoipa::path(
    post, path = "/webhooks", tag = "Webhooks", operation_id = "create_webhook",
    request_body = EndpointInput,
    responses(
        (status = 201, description = "Created; the signing secret is shown this once", body = Data<EndpointBody>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Add an endpoint: `url` (https), `events` (default: all), `headers`, `active`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<Created<EndpointBody>> {
    auth.require(Access::Write)?;
    let settings = settings(&state, input, None)?;
    let secret = new_secret();
    let mut tx = state.store.begin().await?;
    let created = store::create(&mut tx, auth.business_id, &settings, &state.sealer.seal(&secret)).await?;
    tx.commit().await?;
    Ok(Created(EndpointBody { webhook: EndpointView::of(created, Some(secret), &state.sealer)? }))
}

#[utoipa::path(
    get, path = "/webhooks/{id}", tag = "Webhooks", operation_id = "get_webhook",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<EndpointBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// One endpoint (its secret not shown).
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookId>,
) -> ApiResult<Data<EndpointBody>> {
    auth.require(Access::Write)?;
    Ok(Data::new(EndpointBody {
        webhook: EndpointView::of(endpoint(&state, &auth, id).await?, None, &state.sealer)?,
    }))
}

#[utoipa::path(
    put, path = "/webhooks/{id}", tag = "Webhooks", operation_id = "update_webhook",
    params(("id" = String, Path, format = Uuid)),
    request_body = EndpointInput,
    responses((status = 200, body = Data<EndpointBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Change an endpoint; fields left out keep their value. `active: true` re-enables a
/// disabled one.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookId>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<Data<EndpointBody>> {
    auth.require(Access::Write)?;
    let current = endpoint(&state, &auth, id).await?;
    let settings = settings(&state, input, Some(&current))?;
    let mut tx = state.store.begin().await?;
    let updated = store::update(&mut tx, &current, &settings).await?;
    tx.commit().await?;
    Ok(Data::new(EndpointBody { webhook: EndpointView::of(updated, None, &state.sealer)? }))
}

#[utoipa::path(
    delete, path = "/webhooks/{id}", tag = "Webhooks", operation_id = "delete_webhook",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<EndpointBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Remove an endpoint; nothing more is delivered to it.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookId>,
) -> ApiResult<Data<EndpointBody>> {
    auth.require(Access::Write)?;
    let current = endpoint(&state, &auth, id).await?;
    let mut tx = state.store.begin().await?;
    store::delete(&mut tx, &current).await?;
    tx.commit().await?;
    Ok(Data::new(EndpointBody { webhook: EndpointView::of(current, None, &state.sealer)? }))
}

#[utoipa::path(
    post, path = "/webhooks/{id}/rotate-secret", tag = "Webhooks", operation_id = "rotate_webhook_secret",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The new secret, shown this once; the old one signs too for 24 h", body = Data<EndpointBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// A new signing secret. Deliveries carry a signature from each secret for 24 hours, so
/// receivers can switch without missing one.
pub async fn rotate(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookId>,
) -> ApiResult<Data<EndpointBody>> {
    auth.require(Access::Write)?;
    let current = endpoint(&state, &auth, id).await?;
    let secret = new_secret();
    let mut tx = state.store.begin().await?;
    let rotated = store::rotate(&mut tx, &current, &state.sealer.seal(&secret), ROTATION_OVERLAP).await?;
    tx.commit().await?;
    Ok(Data::new(EndpointBody { webhook: EndpointView::of(rotated, Some(secret), &state.sealer)? }))
}

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    attempt: i64,
    /// The endpoint's HTTP status; null when it did not answer.
    status_code: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        AttemptView {
            attempt: a.attempt,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    #[schema(format = Uuid)]
    id: Uuid,
    /// The event's id, the same in every attempt (for deduplication).
    #[schema(format = Uuid)]
    event_id: Uuid,
    event_type: String,
    /// pending, succeeded or failed.
    status: String,
    attempts: Vec<AttemptView>,
    /// When the next attempt is due, while pending.
    #[schema(value_type = Option<String>, format = DateTime)]
    next_attempt_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            id: d.id.as_uuid(),
            event_id: d.event_id,
            event_type: d.event_type.to_string(),
            next_attempt_at: d.next_attempt_at.filter(|_| d.status == store::PENDING),
            status: d.status,
            attempts: d.history.into_iter().map(AttemptView::from).collect(),
            created_at: d.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", tag = "Webhooks", operation_id = "list_webhook_deliveries",
    params(("id" = String, Path, format = Uuid), ListParams),
    responses((status = 200, body = Data<DeliveryList>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The endpoint's deliveries, newest first, each with its attempts.
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookId>,
    Paging(page): Paging,
) -> ApiResult<Data<DeliveryList>> {
    auth.require(Access::Write)?;
    let endpoint = endpoint(&state, &auth, id).await?;
    let found = store::deliveries(&state.store, &endpoint, &page).await?;
    let (deliveries, page) = PageInfo::split(found, &page, DeliveryView::from);
    Ok(Data::new(DeliveryList { deliveries, page }))
}

#[derive(Serialize, ToSchema)]
pub struct QueuedDelivery {
    #[schema(format = Uuid)]
    delivery_id: Uuid,
}

#[utoipa::path(
    post, path = "/webhooks/{id}/test", tag = "Webhooks", operation_id = "test_webhook",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 202, description = "A sample event queued for the endpoint", body = Data<QueuedDelivery>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Send a sample `webhook.test` event to the endpoint; its delivery appears in the list.
pub async fn test(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookId>,
) -> ApiResult<impl IntoResponse> {
    auth.require(Access::Write)?;
    let endpoint = endpoint(&state, &auth, id).await?;
    let mut tx = state.store.begin().await?;
    let delivery_id = store::emit_test(&mut tx, &endpoint).await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Data::new(QueuedDelivery { delivery_id: delivery_id.as_uuid() })))
}

#[utoipa::path(
    post, path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "Webhooks", operation_id = "redeliver_webhook",
    params(("id" = String, Path, format = Uuid), ("delivery_id" = String, Path, format = Uuid)),
    responses((status = 202, description = "Queued again, with the same event id", body = Data<QueuedDelivery>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Try a delivery again now (the same event and body).
pub async fn redeliver(
    State(state): State<AppState>,
    auth: Auth,
    PathId((id, delivery_id)): PathId<(WebhookId, DeliveryId)>,
) -> ApiResult<impl IntoResponse> {
    auth.require(Access::Write)?;
    let endpoint = endpoint(&state, &auth, id).await?;
    let delivery =
        store::delivery(&state.store, &endpoint, delivery_id).await?.ok_or(ApiError::NotFound("Delivery"))?;
    let mut tx = state.store.begin().await?;
    store::redeliver(&mut tx, &delivery).await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Data::new(QueuedDelivery { delivery_id: delivery_id.as_uuid() })))
}
