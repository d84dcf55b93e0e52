//! `/api/v1/forms`: web forms captured by the tracking script, with the attribution of the
//! visit that sent them and the contact picked out of their fields.

use std::collections::BTreeMap;

use axum::extract::State;
use jiff::Timestamp;
use ringtrack_domain::Access;
use ringtrack_store::forms::{self, Form};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ListParams, Paging};

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
            id: f.id,
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

#[derive(Serialize, ToSchema)]
pub struct FormList {
    forms: Vec<FormView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[derive(Serialize, ToSchema)]
pub struct FormBody {
    form: FormView,
}

#[utoipa::path(
    get, path = "/forms", tag = "Forms", operation_id = "list_forms",
    params(ListParams),
    responses((status = 200, body = Data<FormList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Form submissions, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Data<FormList>> {
    auth.require(Access::Read)?;
    let found = forms::list(&state.store, auth.business_id, &page).await?;
    let (forms, page) = PageInfo::split(found, &page, FormView::from);
    Ok(Data::new(FormList { forms, page }))
}

#[utoipa::path(
    get, path = "/forms/{id}", tag = "Forms", operation_id = "get_form",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<FormBody>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// One form submission.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Data<FormBody>> {
    auth.require(Access::Read)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound("Form"))?;
    let form = forms::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Form"))?;
    Ok(Data::new(FormBody { form: form.into() }))
}
