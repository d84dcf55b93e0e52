//! `/api/v1/ad-spend`: what the business spent on its marketing, per month and source (and
//! campaign), which reports turn into a cost per call and per qualified lead.

use axum::extract::State;
use ringtrack_domain::ad_spend::{AdSpend, Month};
use ringtrack_domain::{Access, FieldErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Data;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};

/// One month's spend on a source, and on one of its campaigns when `campaign` is given.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"month": "2026-11", "source": "google", "campaign": null, "amount_cents": 125000}))]
pub struct AdSpendRow {
    /// The month, `YYYY-MM` (2000-01 to 2100-12).
    #[schema(example = "2026-11")]
    month: String,
    /// As calls name it (`utm_source`, or the tracking number's source), 1 to 200 characters.
    #[schema(example = "google")]
    source: String,
    /// A campaign of the source (`utm_campaign`), or null for the source as a whole.
    #[serde(default)]
    campaign: Option<String>,
    /// What was spent, in cents: 0 to 100,000,000,000.
    #[schema(example = 125000)]
    amount_cents: i64,
}

impl From<AdSpend> for AdSpendRow {
    fn from(spend: AdSpend) -> Self {
        AdSpendRow {
            month: spend.month.to_string(),
            source: spend.source,
            campaign: spend.campaign,
            amount_cents: spend.amount.get(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AdSpendList {
    ad_spend: Vec<AdSpendRow>,
}

#[derive(Serialize, ToSchema)]
pub struct AdSpendBody {
    ad_spend: AdSpendRow,
}

/// Which months to read (both included; all of them by default).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthRange {
    /// The first month, `YYYY-MM`.
    #[param(example = "2026-01")]
    month_from: Option<String>,
    /// The last month, `YYYY-MM`.
    #[param(example = "2026-12")]
    month_to: Option<String>,
}

#[utoipa::path(
    get, path = "/ad-spend", tag = "Ad spend", operation_id = "list_ad_spend",
    params(MonthRange),
    responses((status = 200, body = Data<AdSpendList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The spend entered, newest month first, then by source and campaign.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(range): ApiQuery<MonthRange>,
) -> ApiResult<Data<AdSpendList>> {
    auth.require(Access::Read)?;
    let mut errors = FieldErrors::new();
    let mut month = |field: &str, raw: Option<&str>, default: Month| match raw {
        Some(raw) => errors.take(Month::parse(field, raw)),
        None => Some(default),
    };
    let from = month("month_from", range.month_from.as_deref(), Month::new(2000, 1).expect("a month"));
    let to = month("month_to", range.month_to.as_deref(), Month::new(2100, 12).expect("a month"));
    let (from, to) = errors.finish((from, to))?;
    let (from, to) = (from.expect("checked"), to.expect("checked"));
    let rows = ringtrack_core::ad_spend::list(&state.store, auth.business_id, from, to).await?;
    Ok(Data::new(AdSpendList { ad_spend: rows.into_iter().map(AdSpendRow::from).collect() }))
}

#[utoipa::path(
    put, path = "/ad-spend", tag = "Ad spend", operation_id = "set_ad_spend",
    request_body = AdSpendRow,
    responses(
        (status = 200, body = Data<AdSpendBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Set one month's spend on a source (or one of its campaigns), replacing what was entered.
pub async fn set(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<AdSpendRow>,
) -> ApiResult<Data<AdSpendBody>> {
    auth.require(Access::Write)?;
    let spend = AdSpend::parse(&input.month, &input.source, input.campaign.as_deref(), input.amount_cents)?;
    ringtrack_core::ad_spend::set(&state.store, auth.business_id, &spend).await?;
    Ok(Data::new(AdSpendBody { ad_spend: spend.into() }))
}
