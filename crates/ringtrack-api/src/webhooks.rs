//! The carrier's side of a call, in Twilio's webhook dialect: the voice URL a tracking
//! number points at, and the callback URLs named in the TwiML answered. Every request must
//! carry a valid `X-Twilio-Signature` (else 403 and nothing recorded). Each callback URL
//! names the call and the engine's step (`seq`), so a repeated callback answers the TwiML
//! it got the first time and changes nothing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringtrack_carrier::twiml::{self, Callbacks};
use ringtrack_carrier::{signature, webhook_params};
use ringtrack_core::calls::{self as core_calls, Advanced, Arrival, Arrived, Callback};
use ringtrack_core::texts::{self, IncomingText, Received};
use ringtrack_domain::engine::Instruction;
use ringtrack_domain::sms::{self, Status as SmsStatus};
use ringtrack_domain::{CallId, PhoneNumber};
use ringtrack_store::calls::{self, Call};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// A webhook request whose signature checked out: its form parameters and query.
pub struct TwilioRequest {
    form: HashMap<String, String>,
    query: HashMap<String, String>,
}

impl TwilioRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Whether the flow wants this voicemail transcribed (its callback URL says when not).
    fn transcribe(&self) -> bool {
        self.query.get("transcribe").is_none_or(|t| t != "false")
    }

    /// The call and step a callback URL names.
    fn call_and_seq(&self) -> ApiResult<(CallId, i64)> {
        let call = self.query.get("call").and_then(|c| c.parse().ok()).ok_or(ApiError::NotFound("Call"))?;
        let seq = self.query.get("seq").and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok((call, seq))
    }
}

impl FromRequest<AppState> for TwilioRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        let signature =
            req.headers().get("x-twilio-signature").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let path_and_query = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
        let query: HashMap<String, String> =
            form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(crate::extract::MAX_BODY_BYTES))?;
        let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let url = format!("{}{path_and_query}", state.public_url);
        let valid = signature.is_some_and(|s| signature::verify(&state.webhook_token, &url, &params, &s));
        if !valid {
            tracing::warn!(
                public_url = %state.public_url,
                path = logged_path(&path_and_query),
                "refused a webhook with a missing or wrong X-Twilio-Signature"
            );
            return Err(ApiError::Forbidden("Invalid X-Twilio-Signature".into()));
        }
        webhook_params::check(&params).map_err(|e| ApiError::Validation(vec![e]))?;
        Ok(TwilioRequest { form: params.into_iter().collect(), query })
    }
}

/// The path a refused webhook is logged with: its query names a call, never a secret, but
/// a forger chooses its length.
fn logged_path(path_and_query: &str) -> &str {
    let path = path_and_query.split('?').next().unwrap_or("");
    if path.len() > 128 || !path.is_ascii() { "(a long path)" } else { path }
}

fn xml(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// Where the flow's steps report back, and the caller id a forwarded leg shows: the
/// caller's number, or the tracking number when the caller has none to show (withheld, a
/// SIP address) — carriers refuse a dial whose caller id is no number.
fn callbacks(state: &AppState, call: &Call, seq: u32) -> Callbacks {
    let caller_id = match phone(Some(&call.caller_number)) {
        Some(number) if !call.caller_withheld => number.to_string(),
        _ => call.tracking_number.clone().unwrap_or_default(),
    };
    let call = call.id;
    let url = |kind: &str| format!("{}/webhooks/twilio/voice/{kind}?call={call}&seq={seq}", state.public_url);
    Callbacks {
        gather: url("gather"),
        dial: url("dial"),
        record: url("record"),
        whisper: url("whisper"),
        recording_status: format!("{}/webhooks/twilio/voice/recording?call={call}", state.public_url),
        caller_id,
    }
}

/// A number a webhook or a stored row names, when it is one.
fn phone(raw: Option<&str>) -> Option<PhoneNumber> {
    raw.and_then(|r| PhoneNumber::parse(r).ok())
}

/// `POST /webhooks/twilio/voice`: a call arrives at a tracking number.
pub async fn voice(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let call_sid = request.param("CallSid").ok_or_else(|| ApiError::field("CallSid", "is required"))?;
    let to = phone(request.param("To"));
    let arrival = Arrival {
        call_sid,
        from: request.param("From").unwrap_or_default(),
        to: to.as_ref(),
        caller_city: request.param("FromCity"),
        caller_state: request.param("FromState"),
        caller_zip: request.param("FromZip"),
    };
    let mut tx = state.store.begin().await?;
    let (call, answer) = match core_calls::arrive(&mut tx, &arrival).await? {
        Arrived::Repeated(call) => {
            // Answered as the first time.
            let first = calls::event(&mut tx, call.id, "voice", 0).await?;
            return Ok(xml(first.unwrap_or_else(twiml::empty)));
        }
        Arrived::NotInService => {
            tracing::warn!(
                call_sid,
                from = arrival.from,
                to = request.param("To"),
                "a call to a number that is not in service"
            );
            return Ok(xml(twiml::say_and_hang_up("The number you have called is not in service. Goodbye.")));
        }
        Arrived::NoFlow(call) => (call, twiml::say_and_hang_up("Thank you for calling. Goodbye.")),
        Arrived::Started { call, state: engine_state, instructions } => {
            let answer = twiml::render(&instructions, &callbacks(&state, &call, engine_state.seq));
            (call, answer)
        }
    };
    calls::remember(&mut tx, call.id, "voice", 0, &answer).await?;
    tx.commit().await?;
    Ok(xml(answer))
}

/// Runs one engine step for the call a callback names, once: a repeated callback answers
/// what the first one got.
async fn advance(state: &AppState, request: &TwilioRequest, callback: Callback) -> ApiResult<Response> {
    let (call_id, seq) = request.call_and_seq()?;
    let mut tx = state.store.begin().await?;
    let render = |call: &Call, seq: u32, instructions: &[Instruction]| {
        twiml::render(instructions, &callbacks(state, call, seq))
    };
    let answer = match core_calls::advance(&mut tx, call_id, seq, callback, render).await? {
        Advanced::NoSuchCall => return Err(ApiError::NotFound("Call")),
        Advanced::Repeated(answer) => return Ok(xml(answer)),
        Advanced::NoFlow => return Ok(xml(twiml::hang_up())),
        Advanced::Stale => return Ok(xml(twiml::empty())),
        Advanced::Stepped { answer, recovered } => {
            if recovered {
                state.metrics.record_unreadable_call_state();
            }
            answer
        }
    };
    tx.commit().await?;
    Ok(xml(answer))
}

/// `…/voice/gather`: the caller pressed a key at a menu (or did not, in time).
pub async fn gather(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let digits = request.param("Digits").map(str::to_owned);
    advance(&state, &request, Callback::Gather(digits)).await
}

/// `…/voice/dial`: a dial ended. It was answered when the agent leg completed and, with
/// press-1 on, the agent accepted.
pub async fn dial(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let completed = request.param("DialCallStatus") == Some("completed");
    advance(&state, &request, Callback::Dial { completed }).await
}

/// `…/voice/record`: the voicemail was recorded.
pub async fn record(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let url = request.param("RecordingUrl").map(str::to_owned);
    let seconds = request.param("RecordingDuration").and_then(|d| d.parse().ok()).unwrap_or(0);
    advance(&state, &request, Callback::Record { url, seconds, transcribe: request.transcribe() }).await
}

/// The agent a callback on their leg names (Twilio's `To` there).
fn agent_of(request: &TwilioRequest) -> ApiResult<PhoneNumber> {
    request
        .param("To")
        .and_then(|t| PhoneNumber::parse(t).ok())
        .ok_or_else(|| ApiError::field("To", "is required"))
}

/// `…/voice/whisper`: on the agent's leg, once they answer. Records who answered, then
/// whispers and (with press-1) asks them to accept.
pub async fn whisper(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let (call_id, seq) = request.call_and_seq()?;
    let agent = agent_of(&request)?;
    let mut tx = state.store.begin().await?;
    let call = calls::lock(&mut tx, call_id).await?.ok_or(ApiError::NotFound("Call"))?;
    let whisper = core_calls::whisper(&mut tx, &call).await?;
    let answer = if whisper.press1 {
        let action =
            format!("{}/webhooks/twilio/voice/whisper/answer?call={call_id}&seq={seq}", state.public_url);
        twiml::whisper(whisper.message.as_deref(), Some(&action))
    } else {
        core_calls::accept(&mut tx, &call, seq, &agent).await?;
        twiml::whisper(whisper.message.as_deref(), None)
    };
    tx.commit().await?;
    Ok(xml(answer))
}

/// `…/voice/whisper/answer`: the agent's key at the press-1 question. Only 1 connects.
pub async fn whisper_answer(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let (call_id, seq) = request.call_and_seq()?;
    if request.param("Digits") != Some("1") {
        return Ok(xml(twiml::hang_up()));
    }
    let agent = agent_of(&request)?;
    let mut tx = state.store.begin().await?;
    let call = calls::lock(&mut tx, call_id).await?.ok_or(ApiError::NotFound("Call"))?;
    core_calls::accept(&mut tx, &call, seq, &agent).await?;
    tx.commit().await?;
    Ok(xml(twiml::empty()))
}

/// `…/voice/recording`: a recording is ready at the carrier (the call's, or a voicemail).
pub async fn recording(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let (call_id, _) = request.call_and_seq()?;
    if request.param("RecordingStatus").is_some_and(|s| s != "completed") {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let url = request
        .param("RecordingUrl")
        .ok_or_else(|| ApiError::field("RecordingUrl", "is required"))?
        .to_owned();
    let mut tx = state.store.begin().await?;
    let call = calls::lock(&mut tx, call_id).await?.ok_or(ApiError::NotFound("Call"))?;
    if request.param("RecordingSource") == Some("RecordVerb") {
        if call.voicemail_url.is_none() {
            let seconds = request.param("RecordingDuration").and_then(|d| d.parse().ok()).unwrap_or(0);
            core_calls::voicemail_left(&mut tx, &call, &url, seconds, request.transcribe()).await?;
        }
    } else {
        core_calls::recording_announced(&mut tx, &call, &url).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `…/voice/status`: the call's progress; its final status completes the call record and
/// charges its minutes. A repeated final status changes nothing.
pub async fn status(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let call_status = request.param("CallStatus").unwrap_or("");
    if !matches!(call_status, "completed" | "busy" | "no-answer" | "failed" | "canceled") {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let call_sid = request.param("CallSid").ok_or_else(|| ApiError::field("CallSid", "is required"))?;
    let duration: i64 = request.param("CallDuration").and_then(|d| d.parse().ok()).unwrap_or(0).max(0);
    let mut tx = state.store.begin().await?;
    core_calls::ended(&mut tx, &state.prices, call_sid, duration).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The attachments of an MMS: `MediaUrl0` … `MediaUrl{NumMedia-1}`.
fn media_urls(request: &TwilioRequest) -> Vec<String> {
    let count: usize = request.param("NumMedia").and_then(|n| n.parse().ok()).unwrap_or(0);
    (0..count.min(webhook_params::MAX_MEDIA))
        .filter_map(|i| request.param(&format!("MediaUrl{i}")).map(str::to_owned))
        .collect()
}

/// `…/sms`: a text to a tracking number. It is kept on the number it was sent to (so it
/// can only reach that number's business); compliance keywords are answered in the TwiML.
pub async fn sms(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let sid = request
        .param("MessageSid")
        .or_else(|| request.param("SmsSid"))
        .ok_or_else(|| ApiError::field("MessageSid", "is required"))?;
    let (Some(from), Some(to)) = (phone(request.param("From")), phone(request.param("To"))) else {
        tracing::warn!(message_sid = sid, "a text without a usable From or To; not kept");
        return Ok(xml(twiml::empty()));
    };
    let body = request.form.get("Body").map(String::as_str).unwrap_or("");
    let media_urls = media_urls(&request);
    let text = IncomingText { carrier_sid: sid, from: &from, to: &to, body, media_urls: &media_urls };
    let mut tx = state.store.begin().await?;
    let received = texts::receive(&mut tx, &text).await?;
    tx.commit().await?;
    let answer = match received {
        Received::Kept { reply: Some(reply), .. } => twiml::reply(&reply),
        Received::NotOurs => {
            tracing::info!(message_sid = sid, to = %to, "a text to a number not in service; no reply");
            twiml::empty()
        }
        Received::Kept { reply: None, .. } | Received::Repeated => twiml::empty(),
    };
    Ok(xml(answer))
}

/// `…/sms/status`: the carrier's report on a text sent. Moves it forward only; a failure
/// keeps the carrier's error code and its meaning.
pub async fn sms_status(State(state): State<AppState>, request: TwilioRequest) -> ApiResult<Response> {
    let sid = request
        .param("MessageSid")
        .or_else(|| request.param("SmsSid"))
        .ok_or_else(|| ApiError::field("MessageSid", "is required"))?;
    let reported = request.param("MessageStatus").or_else(|| request.param("SmsStatus")).unwrap_or("");
    let Some(status) = SmsStatus::from_carrier(reported) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let error = request.param("ErrorCode").map(sms::carrier_error);
    let mut tx = state.store.begin().await?;
    let changed = texts::carrier_status(&mut tx, sid, status, error.as_deref()).await?;
    tx.commit().await?;
    if changed {
        tracing::info!(message_sid = sid, status = status.as_str(), error, "text status");
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
