//! The public shapes of a call, a text and a form: what the API answers and what webhook
//! events carry, one representation for both (documented for the OpenAPI document here).

use std::collections::BTreeMap;

use jiff::Timestamp;
use ringtrack_domain::NumberId;
use ringtrack_store::calls::Call;
use ringtrack_store::forms::Form;
use ringtrack_store::messages::Message;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct CallView {
    #[schema(format = Uuid)]
    id: Uuid,
    /// The caller in E.164; when they withheld their number, what the carrier wrote
    /// (`anonymous`, `Restricted`, …) and `caller_withheld` is true.
    #[schema(example = "+13055551234")]
    caller_number: String,
    caller_withheld: bool,
    #[schema(example = "+15735559876")]
    tracking_number: Option<String>,
    /// The agent who answered.
    #[schema(example = "+13055554567")]
    destination_number: Option<String>,
    #[schema(example = "Google Ads")]
    call_flow_name: Option<String>,
    /// answered, missed or voicemail (in_progress until the call ends).
    #[schema(example = "answered")]
    status: &'static str,
    duration_seconds: i64,
    qualified: bool,
    /// The lead score, once the call is scored.
    ai_score: Option<i64>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    gclid: Option<String>,
    landing_page: Option<String>,
    has_transcription: bool,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = Uuid)]
    number_id: Option<NumberId>,
    #[schema(value_type = Option<String>, format = Uuid)]
    call_flow_id: Option<ringtrack_domain::CallFlowId>,
    call_flow_version: Option<i64>,
    direction: &'static str,
    caller_city: Option<String>,
    caller_state: Option<String>,
    caller_zip: Option<String>,
    first_time_caller: bool,
    referrer: Option<String>,
    session_id: Option<String>,
    has_recording: bool,
    ai_category: Option<String>,
    ai_reasons: Vec<String>,
    cost_cents: i64,
    notes: Option<String>,
    tags: Vec<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    answered_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    ended_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<Call> for CallView {
    fn from(c: Call) -> Self {
        CallView {
            id: c.id.as_uuid(),
            caller_number: c.caller_number,
            caller_withheld: c.caller_withheld,
            tracking_number: c.tracking_number,
            destination_number: c.destination_number,
            call_flow_name: c.call_flow_name,
            status: c.status.as_str(),
            duration_seconds: c.duration_seconds,
            qualified: c.qualified,
            ai_score: c.ai_score,
            utm_source: c.utm_source,
            utm_medium: c.utm_medium,
            utm_campaign: c.utm_campaign,
            gclid: c.gclid,
            landing_page: c.landing_page,
            has_transcription: c.has_transcription,
            created_at: c.created_at,
            number_id: c.number_id,
            call_flow_id: c.call_flow_id,
            call_flow_version: c.call_flow_version,
            direction: c.direction.as_str(),
            caller_city: c.caller_city,
            caller_state: c.caller_state,
            caller_zip: c.caller_zip,
            first_time_caller: c.first_time_caller,
            referrer: c.referrer,
            session_id: c.session_id,
            has_recording: c.has_recording,
            ai_category: c.ai_category,
            ai_reasons: c.ai_reasons,
            cost_cents: c.cost.get(),
            notes: c.notes,
            tags: c.tags,
            answered_at: c.answered_at,
            ended_at: c.ended_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    #[schema(format = Uuid)]
    id: Uuid,
    /// The tracking number that sent or received it.
    #[schema(value_type = Option<String>, format = Uuid)]
    number_id: Option<NumberId>,
    #[schema(example = "+15735559876")]
    from: String,
    #[schema(example = "+13055551234")]
    to: String,
    /// The other party: the recipient of an outbound text, the sender of an inbound one.
    #[schema(example = "+13055551234")]
    contact: String,
    body: String,
    /// inbound or outbound.
    direction: &'static str,
    /// queued, sent, delivered, failed or received.
    status: &'static str,
    segments: i64,
    cost_cents: i64,
    /// Why it failed (the carrier's error code and message).
    error: Option<String>,
    /// MMS attachments of an inbound message.
    media_urls: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}
impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        MessageView {
            id: m.id.as_uuid(),
            number_id: m.number_id,
            from: m.from,
            to: m.to,
            contact: m.contact,
            body: m.body,
            direction: m.direction.as_str(),
            status: m.status.as_str(),
            segments: m.segments,
            cost_cents: m.cost.get(),
            error: m.error,
            media_urls: m.media_urls,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FormView {
    #[schema(format = Uuid)]
    id: Uuid,
    form_name: Option<String>,
    page_url: Option<String>,
    /// Every field submitted (passwords and card numbers are never kept).
    fields: BTreeMap<String, String>,
    name: Option<String>,
    email: Option<String>,
    #[schema(example = "+15735550142")]
    phone: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    gclid: Option<String>,
    referrer: Option<String>,
    landing_page: Option<String>,
    #[schema(format = Uuid)]
    session_id: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}
impl From<Form> for FormView {
    fn from(f: Form) -> Self {
        FormView {
            id: f.id.as_uuid(),
            form_name: f.form_name,
            page_url: f.page_url,
            fields: f.fields,
            name: f.contact.name,
            email: f.contact.email,
            phone: f.contact.phone,
            utm_source: f.attribution.utm_source,
            utm_medium: f.attribution.utm_medium,
            utm_campaign: f.attribution.utm_campaign,
            gclid: f.attribution.gclid,
            referrer: f.referrer,
            landing_page: f.landing_page,
            session_id: f.session_id,
            created_at: f.created_at,
        }
    }
}
