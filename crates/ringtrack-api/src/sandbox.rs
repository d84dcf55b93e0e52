//! `/api/v1/sandbox/calls`: with the sandbox carrier, place a simulated call to one of the
//! business's numbers. The sandbox acts as the carrier: signed webhooks to this server's
//! public endpoints, the TwiML they answer executed, so the call is recorded exactly as a
//! real one would be. The answer carries every request and TwiML exchanged.

use axum::extract::State;
use ringtrack_carrier::sandbox_call::{
    CallScript, InboundText, MAX_CONVERSATION_CHARS, MAX_VOICEMAIL_TEXT_CHARS, TraceStep,
};
use ringtrack_domain::phone::Caller;
use ringtrack_domain::validation::parse_name;
use ringtrack_domain::{Access, FieldErrors, PhoneNumber, parse_text};
use ringtrack_store::{calls, messages, numbers};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Created;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, parse_phone};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "+13055551234", "to": "+15733721877", "answer": true, "talk_seconds": 145}))]
pub struct SandboxCall {
    /// The caller: a phone number, or `anonymous` for a caller who withholds theirs.
    #[schema(example = "+13055551234")]
    from: String,
    /// One of the business's tracking numbers.
    #[schema(example = "+15735559876")]
    to: String,
    /// Whether the first agent dialled answers (default true).
    answer: Option<bool>,
    /// Whether an agent asked to press 1 does (default true).
    agent_accepts: Option<bool>,
    /// Seconds talked once connected (default 60).
    #[schema(example = 145)]
    talk_seconds: Option<u32>,
    /// Keys pressed, one per menu.
    #[schema(example = "1")]
    digits: Option<String>,
    /// What the caller says when asked for a voicemail (at most 1,000 characters).
    #[schema(max_length = 1000)]
    voicemail_text: Option<String>,
    /// What is said on an answered call, for its two-channel recording: one line per
    /// turn, each starting `Agent:` or `Caller:` (at most 4,000 characters).
    #[schema(max_length = 4000)]
    conversation: Option<String>,
    #[schema(example = "Miami")]
    caller_city: Option<String>,
    #[schema(example = "FL")]
    caller_state: Option<String>,
    #[schema(example = "33101")]
    caller_zip: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PlacedCallView {
    /// The call as recorded (null when the number did not take the call).
    #[schema(format = Uuid)]
    call_id: Option<Uuid>,
    call_sid: String,
    duration_seconds: u32,
    /// Every request the carrier made and the TwiML it got back.
    #[schema(value_type = Vec<Object>)]
    trace: Vec<TraceStep>,
}

const MAX_TALK_SECONDS: u32 = 4 * 3600;
/// What a carrier says of where a caller is (city, state, zip) is this short.
const MAX_PLACE_CHARS: usize = 64;

/// The sandbox only reaches the caller's own tracking numbers.
async fn reaches_business(state: &AppState, auth: &Auth, to: &PhoneNumber) -> ApiResult<()> {
    match numbers::in_service(&state.store, to).await? {
        Some(number) if number.business_id == auth.business_id => Ok(()),
        _ => Err(ApiError::field("to", "is not a tracking number of this business")),
    }
}

#[utoipa::path(
    post, path = "/sandbox/calls", tag = "Sandbox", operation_id = "place_sandbox_call",
    request_body = SandboxCall,
    responses(
        (status = 201, body = crate::envelope::Data<PlacedCallView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "The carrier is not the sandbox", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Place a simulated call through the public webhook path (sandbox carrier only).
pub async fn place_call(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<SandboxCall>,
) -> ApiResult<Created<PlacedCallView>> {
    auth.require(Access::Write)?;
    let sandbox = state.sandbox.clone().ok_or(ApiError::NotFound("Route"))?;
    let mut errors = FieldErrors::new();
    let from = match Caller::from_carrier(&input.from) {
        Caller::Other(_) => {
            errors.push("from", "must be a phone number in E.164, like +13055551234, or anonymous");
            None
        }
        _ if input.from.trim().is_empty() => {
            errors.push("from", "is required (anonymous for a withheld caller)");
            None
        }
        caller => Some(caller),
    };
    let to = errors.take(parse_phone("to", &input.to));
    let talk_seconds = input.talk_seconds.unwrap_or(60);
    if talk_seconds > MAX_TALK_SECONDS {
        errors.push("talk_seconds", format!("must be at most {MAX_TALK_SECONDS}"));
    }
    let digits = input.digits.unwrap_or_default();
    if digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
        errors.push("digits", "may hold only 0-9, * and #, at most 20");
    }
    let voicemail_text = input
        .voicemail_text
        .and_then(|text| errors.take(parse_text("voicemail_text", &text, MAX_VOICEMAIL_TEXT_CHARS)));
    let conversation = input
        .conversation
        .and_then(|text| errors.take(parse_text("conversation", &text, MAX_CONVERSATION_CHARS)));
    let mut place = |field: &str, value: Option<String>| {
        value.and_then(|v| errors.take(parse_name(field, &v, MAX_PLACE_CHARS)))
    };
    let (caller_city, caller_state, caller_zip) = (
        place("caller_city", input.caller_city),
        place("caller_state", input.caller_state),
        place("caller_zip", input.caller_zip),
    );
    errors.finish(())?;
    let (from, to) = (from.expect("checked"), to.expect("checked"));
    reaches_business(&state, &auth, &to).await?;
    let script = CallScript {
        from,
        to,
        answer: input.answer.unwrap_or(true),
        agent_accepts: input.agent_accepts.unwrap_or(true),
        talk_seconds,
        digits,
        voicemail_text,
        conversation,
        caller_city,
        caller_state,
        caller_zip,
    };
    let placed = sandbox.place(&script).await?;
    let call = calls::by_sid(&state.store, &placed.call_sid).await?;
    if let Some(call) = &call {
        let mut tx = state.store.begin().await?;
        ringtrack_core::calls::stamp_simulated_times(&mut tx, call.id, placed.answered_after_seconds).await?;
        tx.commit().await?;
    }
    Ok(Created(PlacedCallView {
        call_id: call.map(|c| c.id.as_uuid()),
        call_sid: placed.call_sid,
        duration_seconds: placed.duration_seconds,
        trace: placed.trace,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "+13055551234", "to": "+15733721877", "body": "Do you do weekend appointments?"}))]
pub struct SandboxText {
    /// Who texts.
    #[schema(example = "+13055551234")]
    from: String,
    /// One of the business's tracking numbers.
    #[schema(example = "+15735559876")]
    to: String,
    #[schema(example = "Do you do weekend appointments?")]
    body: String,
    /// MMS attachments.
    #[serde(default)]
    media_urls: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveredTextView {
    /// The text as kept (null when the number did not take it).
    #[schema(format = Uuid)]
    message_id: Option<Uuid>,
    message_sid: String,
    /// What the server answered the carrier: empty TwiML, or the reply it sends back.
    response: String,
}

#[utoipa::path(
    post, path = "/sandbox/sms", tag = "Sandbox", operation_id = "deliver_sandbox_text",
    request_body = SandboxText,
    responses(
        (status = 201, body = crate::envelope::Data<DeliveredTextView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "The carrier is not the sandbox", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Deliver a simulated inbound text through the public SMS webhook (sandbox carrier only).
pub async fn deliver_text(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<SandboxText>,
) -> ApiResult<Created<DeliveredTextView>> {
    auth.require(Access::Write)?;
    let sandbox = state.sandbox.clone().ok_or(ApiError::NotFound("Route"))?;
    let mut errors = FieldErrors::new();
    let from = errors.take(parse_phone("from", &input.from));
    let to = errors.take(parse_phone("to", &input.to));
    if input.body.chars().count() > ringtrack_domain::sms::MAX_BODY_CHARS
        || !input.body.chars().all(ringtrack_domain::validation::is_text_char)
    {
        errors.push("body", "must be at most 1600 characters, without control characters");
    }
    if input.media_urls.len() > 10 || input.media_urls.iter().any(|u| !u.starts_with("https://")) {
        errors.push("media_urls", "must be at most 10 https:// URLs");
    }
    errors.finish(())?;
    let (from, to) = (from.expect("checked"), to.expect("checked"));
    reaches_business(&state, &auth, &to).await?;
    let text = InboundText { from, to, body: input.body, media_urls: input.media_urls };
    let delivered = sandbox.text(&text).await?;
    if delivered.status >= 400 {
        return Err(ApiError::internal(format!("the SMS webhook answered {}", delivered.status)));
    }
    let message = messages::by_carrier_sid(&state.store, &delivered.message_sid).await?;
    Ok(Created(DeliveredTextView {
        message_id: message.map(|m| m.id.as_uuid()),
        message_sid: delivered.message_sid,
        response: delivered.response,
    }))
}
