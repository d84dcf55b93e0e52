//! `/api/v1/forms`: web forms captured by the tracking script, with the attribution of the
//! visit that sent them and the contact picked out of their fields.

use axum::extract::State;
use ringtrack_domain::{Access, FieldErrors, FormId};
use ringtrack_store::forms::{self, FormFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, DateParams, ListParams, Paging, PathId, parse_id};
pub use ringtrack_core::views::FormView;

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

/// The filters of the form list; dates as for the call list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormFilters {
    /// Forms captured on the pool's pages.
    #[param(format = Uuid)]
    pool_id: Option<String>,
    /// Words of the form's name or the contact's name or email, or digits of the phone.
    search: Option<String>,
}

const MAX_SEARCH_CHARS: usize = 100;

fn filter(params: FormFilters, dates: DateParams) -> ApiResult<FormFilter> {
    let mut errors = FieldErrors::new();
    let pool_id = errors.take(parse_id("pool_id", params.pool_id.as_deref())).flatten();
    let search = params
        .search
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| errors.take(ringtrack_domain::parse_text("search", &s, MAX_SEARCH_CHARS)));
    let range = dates.take(&mut errors);
    Ok(errors.finish(FormFilter { pool_id, range, search })?)
}

#[utoipa::path(
    get, path = "/forms", tag = "Forms", operation_id = "list_forms",
    params(ListParams, FormFilters, DateParams),
    responses((status = 200, body = Data<FormList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Form submissions, newest first: of one pool, a period, or matching a search.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
    ApiQuery(params): ApiQuery<FormFilters>,
    ApiQuery(dates): ApiQuery<DateParams>,
) -> ApiResult<Data<FormList>> {
    auth.require(Access::Read)?;
    let filter = filter(params, dates)?;
    let found = forms::list(&state.store, auth.business_id, &filter, &page).await?;
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
    PathId(id): PathId<FormId>,
) -> ApiResult<Data<FormBody>> {
    auth.require(Access::Read)?;
    let form = forms::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Form"))?;
    Ok(Data::new(FormBody { form: form.into() }))
}
