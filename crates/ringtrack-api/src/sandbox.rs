//! `/api/v1/sandbox/calls`: with the sandbox carrier, place a simulated call to one of the
//! business's numbers. The sandbox acts as the carrier: signed webhooks to this server's
//! public endpoints, the TwiML they answer executed, so the call is recorded exactly as a
//! real one would be. The answer carries every request and TwiML exchanged.

use axum::extract::State;
use ringtrack_carrier::sandbox_call::{CallScript, TraceStep};
use ringtrack_domain::{Access, FieldError, FieldErrors, PhoneNumber};
use ringtrack_store::{calls, numbers};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Created;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxCall {
    /// The caller.
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
    /// What the caller says when asked for a voicemail.
    voicemail_text: Option<String>,
    /// What is said on an answered call, for its two-channel recording: one line per
    /// turn, each starting `Agent:` or `Caller:`.
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
    let phone = |field: &'static str, raw: &str| {
        PhoneNumber::parse(raw).map_err(|_| FieldError::new(field, "is not a valid phone number"))
    };
    let from = errors.take(phone("from", &input.from));
    let to = errors.take(phone("to", &input.to));
    let talk_seconds = input.talk_seconds.unwrap_or(60);
    if talk_seconds > MAX_TALK_SECONDS {
        errors.push("talk_seconds", format!("must be at most {MAX_TALK_SECONDS}"));
    }
    let digits = input.digits.unwrap_or_default();
    if digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
        errors.push("digits", "may hold only 0-9, * and #, at most 20");
    }
    errors.finish(())?;
    let (from, to) = (from.expect("checked"), to.expect("checked"));
    let reaches_business =
        numbers::in_service(&state.store, &to).await?.is_some_and(|n| n.business_id == auth.business_id);
    if !reaches_business {
        return Err(ApiError::field("to", "is not a tracking number of this business"));
    }
    let script = CallScript {
        from,
        to,
        answer: input.answer.unwrap_or(true),
        agent_accepts: input.agent_accepts.unwrap_or(true),
        talk_seconds,
        digits,
        voicemail_text: input.voicemail_text,
        conversation: input.conversation,
        caller_city: input.caller_city,
        caller_state: input.caller_state,
        caller_zip: input.caller_zip,
    };
    let placed = sandbox.place(&script).await?;
    let call = calls::by_sid(&state.store, &placed.call_sid).await?;
    Ok(Created(PlacedCallView {
        call_id: call.map(|c| c.id),
        call_sid: placed.call_sid,
        duration_seconds: placed.duration_seconds,
        trace: placed.trace,
    }))
}
