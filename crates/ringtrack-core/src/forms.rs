//! A form a website visitor submitted: kept with the visit's attribution and sent as a
//! `form.submitted` event.

use ringtrack_domain::webhooks::EventType;
use ringtrack_store::forms::{self, NewForm};
use ringtrack_store::{StoreError, Tx, webhooks};
use uuid::Uuid;

/// Keeps a submission (its fields already bounded and stripped of secrets) and announces
/// it; answers its id.
pub async fn submit(tx: &mut Tx, new: &NewForm<'_>) -> Result<Uuid, StoreError> {
    let id = forms::insert(tx, new).await?;
    webhooks::emit(tx, new.business_id, EventType::FormSubmitted, id).await?;
    Ok(id)
}
