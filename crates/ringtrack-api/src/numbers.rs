//! `/api/v1/numbers`: search the carrier's inventory, buy (charging the first month in the
//! transaction that records the number), list, read, change and release tracking numbers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use ringtrack_carrier::SearchQuery;
use ringtrack_core::numbers::{self as numbers_core, Purchase, Wanted};
use ringtrack_domain::nanp;
use ringtrack_domain::validation::parse_name;
use ringtrack_domain::{
    Access, BusinessId, CallFlowId, Cents, FieldError, FieldErrors, NumberGroupId, NumberId, NumberStatus,
    NumberType, PhoneNumber,
};
use ringtrack_store::numbers::{self, Number, NumberChanges, NumberFilter};
use ringtrack_store::{Tx, businesses, call_flows, number_groups};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ListParams, Paging, PathId, nullable, parse_id};
use crate::idempotency::{self, IdempotencyKey};

/// A tracking number, exactly as the CallScaler reference shapes it.
#[derive(Serialize, ToSchema)]
pub struct NumberView {
    #[schema(value_type = String, format = Uuid)]
    id: NumberId,
    #[schema(value_type = String, example = "+15735551234")]
    phone_number: PhoneNumber,
    #[schema(example = "Google Ads")]
    friendly_name: String,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "local")]
    number_type: NumberType,
    #[schema(value_type = Option<String>, format = Uuid)]
    call_flow_id: Option<CallFlowId>,
    #[schema(example = "Main Flow")]
    call_flow_name: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    group_id: Option<NumberGroupId>,
    #[schema(example = "Paid Search")]
    group_name: Option<String>,
    #[schema(format = Uuid)]
    pool_id: Option<String>,
    /// Where the number is published (static attribution), e.g. "google".
    source: Option<String>,
    sms_enabled: bool,
    #[schema(value_type = i64, example = 300)]
    monthly_cost_cents: Cents,
    total_calls: i64,
    /// active, suspended (a renewal could not be paid; calls still answered) or released.
    #[schema(value_type = String, example = "active")]
    status: NumberStatus,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    released_at: Option<Timestamp>,
}

impl From<Number> for NumberView {
    fn from(n: Number) -> Self {
        NumberView {
            id: n.id,
            phone_number: n.phone_number,
            friendly_name: n.friendly_name,
            number_type: n.number_type,
            call_flow_id: n.call_flow_id,
            call_flow_name: n.call_flow_name,
            group_id: n.group_id,
            group_name: n.group_name,
            pool_id: n.pool_id,
            source: n.source,
            sms_enabled: n.sms_enabled,
            monthly_cost_cents: n.monthly_cost,
            total_calls: n.total_calls,
            status: n.status,
            created_at: n.created_at,
            released_at: n.released_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NumberList {
    numbers: Vec<NumberView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"area_code": "573"}))]
pub struct SearchNumbers {
    /// Three digits. Required for nothing: without it, any area code (or toll-free prefix).
    #[schema(example = "573", pattern = "^[2-9][0-9]{2}$")]
    area_code: Option<String>,
    /// Digits (or letters, read as on a keypad) the number must contain.
    #[schema(example = "55")]
    contains: Option<String>,
    /// local (default) or toll_free.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>, pattern = "^(local|toll_free)$")]
    number_type: Option<NumberType>,
    /// 1 to 50, default 20.
    #[schema(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AvailableNumberView {
    #[schema(example = "+15735551234")]
    phone_number: String,
    #[schema(example = "(573) 555-1234")]
    friendly_name: String,
    #[schema(example = "Columbia")]
    locality: Option<String>,
    #[schema(example = "MO")]
    region: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "local")]
    number_type: NumberType,
    monthly_cost_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AvailableNumbers {
    available_numbers: Vec<AvailableNumberView>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"area_code": "573", "friendly_name": "Google Ads", "source": "google"}))]
pub struct PurchaseNumber {
    /// The number to buy (from a search), or give `area_code` to buy any in it.
    #[schema(example = "+15735551234")]
    phone_number: Option<String>,
    #[schema(example = "573", pattern = "^[2-9][0-9]{2}$")]
    area_code: Option<String>,
    /// With `area_code`: local (default) or toll_free.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>, pattern = "^(local|toll_free)$")]
    number_type: Option<NumberType>,
    #[schema(example = "Google Ads")]
    friendly_name: Option<String>,
    #[schema(format = Uuid)]
    call_flow_id: Option<String>,
    #[schema(format = Uuid)]
    group_id: Option<String>,
    #[schema(example = "google")]
    source: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"friendly_name": "Google Ads - Brand"}))]
pub struct UpdateNumber {
    friendly_name: Option<String>,
    /// null unassigns the flow.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Uuid)]
    call_flow_id: Option<Option<String>>,
    /// null takes the number out of its group.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Uuid)]
    group_id: Option<Option<String>>,
    /// null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    source: Option<Option<String>>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NumberFilters {
    /// active, suspended or released (default: every number not released).
    status: Option<String>,
    #[param(format = Uuid)]
    group_id: Option<String>,
    #[param(format = Uuid)]
    call_flow_id: Option<String>,
    /// Digits of the number or words of its friendly name.
    search: Option<String>,
}

const MAX_SEARCH: u32 = 50;

fn area_code_field(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(code.to_owned()))
        }
        Some(_) => Err(FieldError::new("area_code", "must be three digits")),
    }
}

/// A toll-free prefix given as an area code asks for toll-free numbers.
fn kind_for(area_code: Option<&str>, asked: Option<NumberType>) -> NumberType {
    asked.unwrap_or(match area_code {
        Some(code) if nanp::is_toll_free(code) => NumberType::TollFree,
        _ => NumberType::Local,
    })
}

#[utoipa::path(
    post, path = "/numbers/search", tag = "Numbers", operation_id = "search_numbers",
    request_body = SearchNumbers,
    responses(
        (status = 200, body = Data<AvailableNumbers>),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Search the carrier for numbers to buy.
pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<SearchNumbers>,
) -> ApiResult<Data<AvailableNumbers>> {
    auth.require(Access::Read)?;
    let area_code = area_code_field(input.area_code.as_deref())?;
    let contains = input.contains.as_deref().map(ringtrack_carrier::keypad_digits).transpose()?;
    let limit = input.limit.unwrap_or(20);
    if !(1..=MAX_SEARCH).contains(&limit) {
        return Err(ApiError::field("limit", format!("must be from 1 to {MAX_SEARCH}")));
    }
    let number_type = kind_for(area_code.as_deref(), input.number_type);
    let query = SearchQuery { number_type, area_code, contains, limit: limit as usize };
    let found = state.carrier.search(query).await?;
    let available_numbers = found
        .into_iter()
        .map(|n| AvailableNumberView {
            phone_number: n.phone_number.to_string(),
            friendly_name: n.friendly_name,
            locality: n.locality,
            region: n.region,
            number_type: n.number_type,
            monthly_cost_cents: state.prices.monthly(n.number_type).get(),
        })
        .collect();
    Ok(Data::new(AvailableNumbers { available_numbers }))
}

fn parse_purchase(input: &PurchaseNumber, business_id: BusinessId) -> Result<Purchase, ApiError> {
    let mut errors = FieldErrors::new();
    let wanted = match (&input.phone_number, &input.area_code) {
        (Some(number), None) => errors.take(north_american(number)).map(Wanted::Number),
        (None, Some(code)) => errors.take(area_code_field(Some(code.as_str()))).flatten().map(|code| {
            let kind = kind_for(Some(&code), input.number_type);
            Wanted::AreaCode(code, kind)
        }),
        (Some(_), Some(_)) => {
            errors.push("area_code", "give either phone_number or area_code, not both");
            None
        }
        (None, None) => {
            errors.push("phone_number", "is required (or give area_code)");
            None
        }
    };
    let friendly_name =
        input.friendly_name.as_deref().and_then(|n| errors.take(parse_name("friendly_name", n, 100)));
    let source = errors.take(parse_source(input.source.as_deref())).flatten();
    let call_flow_id = errors.take(parse_id("call_flow_id", input.call_flow_id.as_deref())).flatten();
    let group_id = errors.take(parse_id("group_id", input.group_id.as_deref())).flatten();
    errors.finish(())?;
    Ok(Purchase {
        business_id,
        wanted: wanted.expect("no errors means a number was asked for"),
        friendly_name,
        call_flow_id,
        group_id,
        source,
    })
}

fn north_american(raw: &str) -> Result<PhoneNumber, FieldError> {
    PhoneNumber::parse(raw)
        .ok()
        .filter(|n| n.nanp().is_some())
        .ok_or_else(|| FieldError::new("phone_number", "must be a US or Canadian phone number"))
}

/// A source label: trimmed, at most 100 characters; empty means none.
fn parse_source(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let refuse = |message: &str| Err(FieldError::new("source", message));
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > 100 => refuse("must be at most 100 characters"),
        Some(s) if s.chars().any(char::is_control) => refuse("must not contain control characters"),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

/// Refuses a flow or group that is not the business's (422, naming the field).
async fn check_references(
    tx: &mut Tx,
    auth: &Auth,
    call_flow_id: Option<CallFlowId>,
    group_id: Option<NumberGroupId>,
) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    if let Some(flow) = call_flow_id
        && !call_flows::exists(&mut *tx, auth.business_id, flow).await?
    {
        errors.push("call_flow_id", "is not a call flow of this business");
    }
    if let Some(group) = group_id
        && number_groups::get(&mut *tx, auth.business_id, group).await?.is_none()
    {
        errors.push("group_id", "is not a number group of this business");
    }
    Ok(errors.finish(())?)
}

#[utoipa::path(
    post, path = "/numbers/purchase", tag = "Numbers", operation_id = "purchase_number",
    request_body = PurchaseNumber,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe purchase: a repeat answers the first response and spends nothing more")),
    responses(
        (status = 201, description = "Bought; the first month is charged", body = Data<NumberView>),
        (status = 401, body = ErrorBody), (status = 402, description = "The balance cannot pay the first month", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, description = "The carrier refused or failed", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Buy a number, by number or by area code. The first month is charged to the balance.
pub async fn purchase(
    State(state): State<AppState>,
    auth: Auth,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<PurchaseNumber>,
) -> ApiResult<Response> {
    auth.require(Access::Write)?;
    let purchase = parse_purchase(&input, auth.business_id)?;
    let hash = idempotency::request_hash("POST /numbers/purchase", &input);

    // Checked, and the key claimed, in a short transaction: the carrier is called outside
    // any (see `ringtrack_core::numbers`).
    let mut tx = state.store.begin().await?;
    businesses::lock(&mut tx, auth.business_id).await?;
    if let Some(replayed) = idempotency::replay(&mut tx, auth.business_id, &key, &hash).await? {
        return Ok(replayed);
    }
    numbers_core::check(&mut tx, &state.prices, &purchase).await?;
    idempotency::claim(&mut tx, auth.business_id, &key, &hash).await?;
    tx.commit().await?;

    let (chosen, provisioned) =
        match numbers_core::buy(state.carrier.as_ref(), state.webhooks(), &purchase.wanted).await {
            Ok(bought) => bought,
            Err(error) => {
                idempotency::release(&state.store, auth.business_id, &key).await;
                return Err(error.into());
            }
        };

    let recorded = async {
        let mut tx = state.store.begin().await?;
        businesses::lock(&mut tx, auth.business_id).await?;
        let number = numbers_core::record(&mut tx, &state.prices, &purchase, &chosen, &provisioned).await?;
        let view = NumberView::from(number);
        let response =
            idempotency::respond(&mut tx, auth.business_id, &key, hash, StatusCode::CREATED, &view).await?;
        tx.commit().await?;
        Ok::<_, ApiError>((view.id, response))
    }
    .await;
    match recorded {
        Ok((number_id, response)) => {
            tracing::info!(%number_id, phone_number = %chosen, "number purchased");
            Ok(response)
        }
        Err(error) => {
            numbers_core::give_back(state.carrier.as_ref(), &chosen, provisioned).await;
            idempotency::release(&state.store, auth.business_id, &key).await;
            Err(error)
        }
    }
}

#[utoipa::path(
    get, path = "/numbers", tag = "Numbers", operation_id = "list_numbers",
    params(ListParams, NumberFilters),
    responses((status = 200, body = Data<NumberList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// List the business's tracking numbers, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
    ApiQuery(filters): ApiQuery<NumberFilters>,
) -> ApiResult<Data<NumberList>> {
    auth.require(Access::Read)?;
    let mut errors = FieldErrors::new();
    let status = filters
        .status
        .as_deref()
        .and_then(|s| s.parse::<NumberStatus>().map_err(|e| errors.push("status", e)).ok());
    let group_id = errors.take(parse_id("group_id", filters.group_id.as_deref())).flatten();
    let call_flow_id = errors.take(parse_id("call_flow_id", filters.call_flow_id.as_deref())).flatten();
    errors.finish(())?;
    let search = filters.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = NumberFilter { status, group_id, call_flow_id, search };
    let found = numbers::list(&state.store, auth.business_id, &filter, &page).await?;
    let (numbers, page) = PageInfo::split(found, &page, NumberView::from);
    Ok(Data::new(NumberList { numbers, page }))
}

#[utoipa::path(
    get, path = "/numbers/{id}", tag = "Numbers", operation_id = "get_number",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<NumberView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// One tracking number.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberId>,
) -> ApiResult<Data<NumberView>> {
    auth.require(Access::Read)?;
    let number =
        numbers::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number"))?;
    Ok(Data::new(number.into()))
}

#[utoipa::path(
    patch, path = "/numbers/{id}", tag = "Numbers", operation_id = "update_number",
    params(("id" = String, Path, format = Uuid)),
    request_body = UpdateNumber,
    responses(
        (status = 200, body = Data<NumberView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "The number is released", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Rename a number, assign or unassign its call flow, change its group or source.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberId>,
    ApiJson(input): ApiJson<UpdateNumber>,
) -> ApiResult<Data<NumberView>> {
    auth.require(Access::Write)?;
    let mut errors = FieldErrors::new();
    let friendly_name =
        input.friendly_name.as_deref().and_then(|n| errors.take(parse_name("friendly_name", n, 100)));
    let call_flow_id = patch_id::<CallFlowId>(&mut errors, "call_flow_id", &input.call_flow_id);
    let group_id = patch_id::<NumberGroupId>(&mut errors, "group_id", &input.group_id);
    let source = input.source.as_ref().and_then(|raw| errors.take(parse_source(raw.as_deref())));
    errors.finish(())?;

    let mut tx = state.store.begin().await?;
    let number = numbers::get(&mut tx, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number"))?;
    if number.status == NumberStatus::Released {
        return Err(ApiError::Conflict("A released number cannot be changed".into()));
    }
    check_references(&mut tx, &auth, call_flow_id.flatten(), group_id.flatten()).await?;
    let changes = NumberChanges { friendly_name, call_flow_id, group_id, source };
    numbers::update(&mut tx, auth.business_id, id, changes).await?;
    let number = numbers::get(&mut tx, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number"))?;
    tx.commit().await?;
    Ok(Data::new(number.into()))
}

/// A PATCH id field: absent (`None`), cleared (`Some(None)`) or set; a malformed one is
/// recorded in `errors`.
fn patch_id<T: std::str::FromStr>(
    errors: &mut FieldErrors,
    field: &str,
    raw: &Option<Option<String>>,
) -> Option<Option<T>> {
    match raw {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => match raw.trim().parse() {
            Ok(id) => Some(Some(id)),
            Err(_) => {
                errors.push(field, "is not a valid id");
                None
            }
        },
    }
}

#[utoipa::path(
    delete, path = "/numbers/{id}", tag = "Numbers", operation_id = "release_number",
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "Released at the carrier; the number keeps its calls", body = Data<NumberView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 502, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Release a number at the carrier. It keeps its calls and history, with status released.
pub async fn release(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberId>,
) -> ApiResult<Data<NumberView>> {
    auth.require(Access::Write)?;
    let number =
        numbers::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number"))?;
    if number.status == NumberStatus::Released {
        return Ok(Data::new(number.into()));
    }
    state.carrier.release(number.carrier_sid.clone()).await?;
    let mut tx = state.store.begin().await?;
    numbers::mark_released(&mut tx, auth.business_id, id).await?;
    let number = numbers::get(&mut tx, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number"))?;
    tx.commit().await?;
    tracing::info!(number_id = %id, "number released");
    Ok(Data::new(number.into()))
}
