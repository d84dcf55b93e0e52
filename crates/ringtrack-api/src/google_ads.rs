//! `/api/v1/integrations/google-ads`: calls as Google Ads offline call conversions (the
//! CSV Google imports), and the calls that did not qualify, each with its reason — the
//! question other products leave unanswered.

use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ringtrack_domain::calls::CallFilter;
use ringtrack_domain::calls::CallStatus;
use ringtrack_domain::google_ads::{self, Rules};
use ringtrack_domain::{Access, FieldErrors};
use ringtrack_store::businesses;
use ringtrack_store::calls::{self, Call};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Data;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, DateParams};
use ringtrack_core::csv::{Cell, push_row};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversionParams {
    /// The conversion action's name in Google Ads (default "Calls").
    conversion_name: Option<String>,
    /// Calls shorter than this many seconds do not count (default 0).
    min_duration: Option<String>,
    /// Only qualified calls count (default false).
    qualified_only: Option<String>,
    /// Each conversion's value (default 1).
    conversion_value: Option<String>,
    /// ISO 4217 currency of the value (default USD).
    currency: Option<String>,
}

struct Settings {
    name: String,
    value: String,
    currency: String,
    rules: Rules,
    filter: CallFilter,
}

fn settings(params: ConversionParams, dates: DateParams) -> ApiResult<Settings> {
    let mut errors = FieldErrors::new();
    let range = dates.take(&mut errors);
    let name = params.conversion_name.unwrap_or_else(|| "Calls".into());
    if name.trim().is_empty() || name.chars().count() > 100 {
        errors.push("conversion_name", "must have 1 to 100 characters");
    }
    let min_duration = match params.min_duration.as_deref().map(str::parse::<i64>) {
        None => 0,
        Some(Ok(seconds)) if (0..=86_400).contains(&seconds) => seconds,
        Some(_) => {
            errors.push("min_duration", "must be whole seconds from 0 to 86400");
            0
        }
    };
    let qualified_only = match params.qualified_only.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push("qualified_only", "must be true or false");
            false
        }
    };
    let value = params.conversion_value.unwrap_or_else(|| "1".into());
    if value.parse::<f64>().map_or(true, |v| !v.is_finite() || v < 0.0) {
        errors.push("conversion_value", "must be a number, 0 or more");
    }
    let currency = params.currency.unwrap_or_else(|| "USD".into());
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push("currency", "must be an ISO 4217 code such as USD");
    }
    errors.finish(())?;
    Ok(Settings {
        name,
        value,
        currency,
        rules: Rules { min_duration_seconds: min_duration, qualified_only },
        filter: CallFilter { range, ..CallFilter::default() },
    })
}

async fn zone_of(state: &AppState, auth: &Auth) -> ApiResult<(String, TimeZone)> {
    let business = businesses::get(&state.store, auth.business_id).await?.ok_or(ApiError::Unauthorized)?;
    let zone = TimeZone::get(&business.timezone).map_err(ApiError::internal)?;
    Ok((business.timezone, zone))
}

fn judged(call: &Call, rules: &Rules) -> Option<Result<(), google_ads::Ineligible>> {
    (call.status != CallStatus::InProgress)
        .then(|| google_ads::eligibility(call.gclid.as_deref(), call.duration_seconds, call.qualified, rules))
}

#[utoipa::path(
    get, path = "/integrations/google-ads/conversions.csv", tag = "Integrations", operation_id = "google_ads_conversions",
    params(ConversionParams, DateParams),
    responses(
        (status = 200, description = "Google's offline call-conversion import file", content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Every call in the period with a Google click id that meets the rules, as the file
/// Google Ads imports (times in the business's time zone).
pub async fn conversions(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(params): ApiQuery<ConversionParams>,
    ApiQuery(dates): ApiQuery<DateParams>,
) -> ApiResult<Response> {
    auth.require(Access::Read)?;
    let settings = settings(params, dates)?;
    let (zone_name, zone) = zone_of(&state, &auth).await?;
    let mut head = format!("Parameters:TimeZone={zone_name}\r\n");
    push_row(
        &mut head,
        ["Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency"]
            .map(Cell::Text),
    );
    let chunks = calls::export(&state.store, auth.business_id, &settings.filter);
    let row = move |out: &mut String, call: &Call| {
        if let (Some(Ok(())), Some(gclid)) = (judged(call, &settings.rules), call.gclid.as_deref()) {
            let time = google_ads::conversion_time(call.created_at, &zone);
            push_row(
                out,
                [gclid, &settings.name, &time, &settings.value, &settings.currency].map(Cell::Text),
            );
        }
    };
    Ok(crate::download::csv("google-ads-conversions.csv", ringtrack_core::csv::stream(head, chunks, row)))
}

#[derive(Serialize, ToSchema)]
pub struct IneligibleCall {
    #[schema(format = Uuid)]
    call_id: Uuid,
    caller_number: String,
    gclid: Option<String>,
    duration_seconds: i64,
    qualified: bool,
    /// no_gclid, too_short or not_qualified.
    reason: String,
    explanation: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct IneligibleList {
    calls: Vec<IneligibleCall>,
    /// Calls in the period that did not qualify.
    total: u64,
    /// Calls in the period that did.
    eligible: u64,
}

/// The most ineligible calls listed in one answer (the totals count them all).
const MAX_LISTED: usize = 1000;

#[utoipa::path(
    get, path = "/integrations/google-ads/ineligible", tag = "Integrations", operation_id = "google_ads_ineligible",
    params(ConversionParams, DateParams),
    responses((status = 200, body = Data<IneligibleList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The calls of the period that the same rules leave out of the conversions file, newest
/// first, each with why (at most 1,000 listed; the totals count all).
pub async fn ineligible(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(params): ApiQuery<ConversionParams>,
    ApiQuery(dates): ApiQuery<DateParams>,
) -> ApiResult<Data<IneligibleList>> {
    auth.require(Access::Read)?;
    let settings = settings(params, dates)?;
    let mut chunks = calls::export(&state.store, auth.business_id, &settings.filter);
    let (mut listed, mut total, mut eligible) = (Vec::new(), 0u64, 0u64);
    while let Some(chunk) = chunks.recv().await {
        for call in chunk.map_err(|e| ApiError::internal(e.to_string()))? {
            match judged(&call, &settings.rules) {
                Some(Ok(())) => eligible += 1,
                Some(Err(reason)) => {
                    total += 1;
                    if listed.len() < MAX_LISTED {
                        listed.push(IneligibleCall {
                            call_id: call.id.as_uuid(),
                            caller_number: call.caller_number,
                            gclid: call.gclid,
                            duration_seconds: call.duration_seconds,
                            qualified: call.qualified,
                            reason: reason.as_str().into(),
                            explanation: reason.explain(&settings.rules),
                            created_at: call.created_at,
                        });
                    }
                }
                None => {}
            }
        }
    }
    Ok(Data::new(IneligibleList { calls: listed, total, eligible }))
}
