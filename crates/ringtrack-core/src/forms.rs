//! A form a website visitor submitted: kept with the attribution of the visit it came
//! from (or of its page, when the visit is unknown) and sent as a `form.submitted` event.

use std::collections::BTreeMap;

use ringtrack_domain::dni::{self, Attribution};
use ringtrack_domain::webhooks::EventType;
use ringtrack_domain::{FormId, NumberPoolId};
use ringtrack_store::forms::{self, NewForm};
use ringtrack_store::{StoreError, Tx, pools, webhooks};
use uuid::Uuid;

/// A submission as the website script sends it, its fields bounded and stripped of
/// secrets.
pub struct Submission<'a> {
    pub pool_id: NumberPoolId,
    pub session_id: Option<Uuid>,
    pub form_name: Option<&'a str>,
    pub page_url: Option<&'a str>,
    pub fields: &'a BTreeMap<String, String>,
}

/// Keeps a submission to the pool's business and announces it; answers its id, or `None`
/// when there is no such pool. A session of another pool is ignored.
pub async fn submit(tx: &mut Tx, submission: &Submission<'_>) -> Result<Option<FormId>, StoreError> {
    let pool = submission.pool_id;
    let Some(business_id) = pools::business_of(&mut *tx, pool).await? else { return Ok(None) };
    let session = match submission.session_id {
        Some(id) => pools::session(&mut *tx, id).await?.filter(|s| s.pool_id == pool),
        None => None,
    };
    let (attribution, landing_page, referrer) = match &session {
        Some(s) => (s.attribution.clone(), s.landing_page.clone(), s.referrer.clone()),
        None => (
            submission.page_url.map(Attribution::from_url).unwrap_or_default(),
            submission.page_url.map(str::to_owned),
            None,
        ),
    };
    let contact = dni::form_contact(submission.fields);
    let new = NewForm {
        business_id,
        pool_id: pool,
        session_id: session.as_ref().map(|s| s.id),
        form_name: submission.form_name,
        page_url: submission.page_url,
        fields: submission.fields,
        contact: &contact,
        attribution: &attribution,
        referrer: referrer.as_deref(),
        landing_page: landing_page.as_deref(),
    };
    let id = forms::insert(tx, &new).await?;
    webhooks::emit(tx, business_id, EventType::FormSubmitted, id).await?;
    Ok(Some(id))
}
