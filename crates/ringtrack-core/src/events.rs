//! What a webhook event says: its body, made once per event from the thing it is about (a
//! call, a text, a form) in the same public shapes the API answers with, and kept, so
//! that every attempt and every endpoint gets the very same bytes.

use ringtrack_domain::webhooks::Subject;
use ringtrack_store::webhooks::{self as store, Event};
use ringtrack_store::{Store, StoreError, calls, forms, messages};
use serde_json::{Value, json};

use crate::views::{CallView, FormView, MessageView};

/// Why an event's body cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the {0} of event {1} is gone")]
    SubjectGone(&'static str, uuid::Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The body of `event`: `{"id","type","created_at","data"}`, made the first time and kept.
/// `public_url` makes the links in it (a call's recording).
pub async fn body(store: &Store, event: &Event, public_url: &str) -> Result<String, PayloadError> {
    if let Some(kept) = &event.payload {
        return Ok(kept.clone());
    }
    let body = json!({
        "id": event.id,
        "type": event.event_type,
        "created_at": event.created_at,
        "data": data(store, event, public_url).await?,
    })
    .to_string();
    let mut tx = store.begin().await?;
    let kept = store::keep_payload(&mut tx, event.id, &body).await?;
    tx.commit().await?;
    Ok(kept)
}

/// The event's `data`: CallScaler's post-call fields and the call's shape for call events;
/// the text's or the form's shape for theirs.
async fn data(store: &Store, event: &Event, public_url: &str) -> Result<Value, PayloadError> {
    let subject = event.event_type.subject();
    let gone = |what| PayloadError::SubjectGone(what, event.id);
    let value = match subject {
        Subject::Call => {
            let id = event.subject_id.ok_or_else(|| gone("call"))?;
            let call = calls::by_id(store, id.into()).await?.ok_or_else(|| gone("call"))?;
            let recording =
                call.has_recording.then(|| format!("{public_url}/api/v1/calls/{}/recording", call.id));
            let mut data = json!({
                "call_id": call.id,
                "business_id": call.business_id,
                "tracking_number": call.tracking_number,
                "caller_number": call.caller_number,
                "caller_name": null,
                "destination_number": call.destination_number,
                "duration_seconds": call.duration_seconds,
                "status": call.status.as_str(),
                "call_flow_name": call.call_flow_name,
                "recording_url": recording,
                "utm_source": call.utm_source,
                "utm_medium": call.utm_medium,
                "utm_campaign": call.utm_campaign,
                "gclid": call.gclid,
                "landing_page_url": call.landing_page,
                "caller_city": call.caller_city,
                "caller_state": call.caller_state,
                "timestamp": call.created_at,
            });
            data["call"] = json!(CallView::from(call));
            data
        }
        Subject::Message => {
            let id = event.subject_id.ok_or_else(|| gone("text"))?;
            let message = messages::by_id(store, id.into()).await?.ok_or_else(|| gone("text"))?;
            json!({ "message": MessageView::from(message) })
        }
        Subject::Form => {
            let id = event.subject_id.ok_or_else(|| gone("form"))?;
            let form = forms::get(store, event.business_id, id.into()).await?.ok_or_else(|| gone("form"))?;
            json!({ "form": FormView::from(form) })
        }
        Subject::Nothing => {
            json!({ "message": "A test delivery from ringtrack: your endpoint receives and can verify webhooks." })
        }
    };
    Ok(value)
}
