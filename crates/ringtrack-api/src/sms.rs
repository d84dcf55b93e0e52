//! `/api/v1/sms` and `/api/v1/texts`: the texts a business's tracking numbers sent and
//! received, and sending one. A text is recorded, charged per segment and queued for the
//! carrier in one transaction; the carrier's reports then move it to sent, delivered or
//! failed (a failed text is refunded).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ringtrack_core::texts::{self, OutgoingText};
use ringtrack_domain::calls::Direction;
use ringtrack_domain::sms::MAX_BODY_CHARS;
use ringtrack_domain::{Access, FieldErrors, parse_text};
use ringtrack_store::businesses;
use ringtrack_store::messages::{self, MessageFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Data, PageInfo};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, DateParams, ListParams, Paging, parse_id, parse_phone};
use crate::idempotency::{self, IdempotencyKey};
pub use ringtrack_core::views::MessageView;

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    messages: Vec<MessageView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageFilters {
    #[param(format = Uuid)]
    number_id: Option<String>,
    /// inbound or outbound.
    direction: Option<String>,
    /// The other party's number: one conversation.
    contact: Option<String>,
}

#[utoipa::path(
    get, path = "/sms", tag = "SMS", operation_id = "list_sms",
    params(ListParams, MessageFilters, DateParams),
    responses((status = 200, body = Data<MessageList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Texts sent and received, newest first; `contact` gives one conversation, both ways.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
    ApiQuery(filters): ApiQuery<MessageFilters>,
    ApiQuery(dates): ApiQuery<DateParams>,
) -> ApiResult<Data<MessageList>> {
    auth.require(Access::Read)?;
    let mut errors = FieldErrors::new();
    let range = dates.take(&mut errors);
    let number_id = errors.take(parse_id("number_id", filters.number_id.as_deref())).flatten();
    let direction = match filters.direction.as_deref().map(str::parse::<Direction>) {
        None => None,
        Some(Ok(direction)) => Some(direction),
        Some(Err(_)) => {
            errors.push("direction", "must be inbound or outbound");
            None
        }
    };
    let contact = filters.contact.as_deref().and_then(|raw| errors.take(parse_phone("contact", raw)));
    errors.finish(())?;
    let filter = MessageFilter { number_id, direction, contact, range };
    let found = messages::list(&state.store, auth.business_id, &filter, &page).await?;
    let (messages, page) = PageInfo::split(found, &page, MessageView::from);
    Ok(Data::new(MessageList { messages, page }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from_number_id": "01a2442f-f349-72f6-809c-d3ae7600f393", "to": "+13055551234", "body": "Thanks for calling!"}))]
pub struct SendText {
    /// The tracking number to send from.
    #[schema(format = Uuid)]
    from_number_id: String,
    #[schema(example = "+15735551234")]
    to: String,
    #[schema(example = "Hello!")]
    body: String,
}

#[utoipa::path(
    post, path = "/texts", tag = "SMS", operation_id = "send_text",
    request_body = SendText,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe sending: a repeat answers the first response and sends nothing more")),
    responses(
        (status = 201, description = "Recorded, charged and queued for the carrier", body = Data<MessageView>),
        (status = 401, body = ErrorBody), (status = 402, description = "The balance cannot pay its segments", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, description = "A bad field, a released number, or a recipient who opted out (`opted_out`)", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Send a text from a tracking number. Charged per segment (GSM-7: 160 characters alone,
/// 153 per segment; otherwise 70 and 67); refunded if the carrier cannot send it.
pub async fn send(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<SendText>,
) -> ApiResult<Response> {
    auth.require(Access::Write)?;
    let mut errors = FieldErrors::new();
    let number_id = errors.take(parse_id("from_number_id", Some(input.from_number_id.as_str()))).flatten();
    let to = errors.take(parse_phone("to", &input.to));
    let body = errors.take(parse_text("body", &input.body, MAX_BODY_CHARS));
    errors.finish(())?;
    let (from_number, to, body) = (number_id.expect("checked"), to.expect("checked"), body.expect("checked"));
    let hash = idempotency::request_hash("POST /texts", &input);

    let mut tx = state.store.begin().await?;
    businesses::lock(&mut tx, auth.business_id).await?;
    if let Some(replayed) = idempotency::replay(&mut tx, auth.business_id, &key, &hash).await? {
        return Ok(replayed);
    }
    let text = OutgoingText { business_id: auth.business_id, from_number, to: &to, body: &body };
    let message = texts::queue(&mut tx, &state.prices, &text).await?;
    let response = idempotency::respond(
        &mut tx,
        auth.business_id,
        &key,
        hash,
        StatusCode::CREATED,
        &MessageView::from(message),
    )
    .await?;
    tx.commit().await?;
    Ok(response)
}
