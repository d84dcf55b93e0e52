//! `/api/v1/dashboard/stats` and `/api/v1/analytics/calls`: aggregates over completed calls,
//! exact, from one machinery (`ringtrack_store::analytics`).

use axum::extract::State;
use jiff::tz::TimeZone;
use ringtrack_domain::calls::{AnalyticsQuery, CallFilter, Dimension, Metric};
use ringtrack_domain::{Access, BusinessId};
use ringtrack_store::analytics::{self, Aggregates, Answer, Group, Key, Measure, Question};
use ringtrack_store::{businesses, numbers, rollups};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Data;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, DateParams};

/// Exactly the reference's ten fields.
#[derive(Serialize, ToSchema)]
pub struct DashboardStats {
    total_calls: i64,
    answered_calls: i64,
    missed_calls: i64,
    voicemail_calls: i64,
    qualified_calls: i64,
    unique_callers: i64,
    /// round(sum of durations / 60).
    total_minutes: i64,
    /// Sum of durations / total calls, in whole seconds.
    average_duration: i64,
    /// As of now.
    active_numbers: i64,
    /// As of now.
    balance_cents: i64,
}

async fn timezone(state: &AppState, business: BusinessId) -> ApiResult<TimeZone> {
    let business = businesses::get(&state.store, business).await?.ok_or(ApiError::Unauthorized)?;
    Ok(TimeZone::get(&business.timezone).unwrap_or(TimeZone::UTC))
}

#[utoipa::path(
    get, path = "/dashboard/stats", tag = "Dashboard", operation_id = "dashboard_stats",
    params(DateParams),
    responses((status = 200, body = Data<DashboardStats>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Aggregate call statistics over a period (all time without dates).
pub async fn stats(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(dates): ApiQuery<DateParams>,
) -> ApiResult<Data<DashboardStats>> {
    auth.require(Access::Read)?;
    let range = dates.range()?;
    let totals = rollups::totals(&state.store, auth.business_id, &range).await?;
    let business = businesses::get(&state.store, auth.business_id).await?.ok_or(ApiError::Unauthorized)?;
    let active_numbers = numbers::count_active(&state.store, auth.business_id).await?;
    Ok(Data::new(DashboardStats {
        total_calls: totals.count,
        answered_calls: totals.answered,
        missed_calls: totals.missed,
        voicemail_calls: totals.voicemail,
        qualified_calls: totals.qualified,
        unique_callers: totals.unique_callers.unwrap_or(0),
        total_minutes: match totals.measure(Metric::TotalMinutes) {
            Measure::Count(minutes) => minutes,
            _ => 0,
        },
        average_duration: if totals.count > 0 { totals.total_seconds / totals.count } else { 0 },
        active_numbers,
        balance_cents: business.balance.get(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsParams {
    /// Up to three of source, utm_source, utm_medium, utm_campaign, number_id, call_flow_id,
    /// status, first_time, date, week, month, hour_of_day, day_of_week, landing_page (comma-separated; local time of the business).
    group_by: Option<String>,
    /// Any of count, answered, missed, voicemail, qualified, qualified_pct, avg_duration,
    /// total_minutes, avg_ai_score, unique_callers (comma-separated; default count).
    metrics: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AnalyticsAnswer {
    /// One object per group: the group's fields, then the metrics asked for.
    #[schema(value_type = Vec<Object>)]
    rows: AnalyticsRows,
    /// The metrics over every row.
    #[schema(value_type = Object)]
    totals: Map<String, Value>,
}

/// The groups, each written as an object of its fields, then the metrics asked for,
/// straight from the answer the node shares between requests (a year by number, month and
/// status is thousands of rows: no copy, no map per row).
pub struct AnalyticsRows {
    groups: Answer,
    fields: Vec<Dimension>,
    metrics: Vec<Metric>,
}

impl Serialize for AnalyticsRows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct Row<'a>(&'a AnalyticsRows, &'a Group);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let Row(rows, group) = self;
                let mut map = serializer.serialize_map(Some(rows.fields.len() + rows.metrics.len()))?;
                for (field, key) in rows.fields.iter().zip(&group.keys) {
                    match key {
                        Key::Text(text) => map.serialize_entry(field.as_str(), text)?,
                        Key::Number(n) => map.serialize_entry(field.as_str(), n)?,
                        Key::Flag(yes) => map.serialize_entry(field.as_str(), yes)?,
                        Key::None => map.serialize_entry(field.as_str(), &())?,
                    }
                }
                for metric in &rows.metrics {
                    map.serialize_entry(metric.as_str(), &metric_value(*metric, &group.aggregates))?;
                }
                map.end()
            }
        }
        let mut seq = serializer.serialize_seq(Some(self.groups.len()))?;
        for group in self.groups.iter() {
            seq.serialize_element(&Row(self, group))?;
        }
        seq.end()
    }
}

fn metric_value(metric: Metric, a: &Aggregates) -> Value {
    match a.measure(metric) {
        Measure::Count(n) => n.into(),
        Measure::Percent(x) | Measure::Score(x) => x.map_or(Value::Null, Value::from),
        Measure::Seconds(s) => s.map_or(Value::Null, Value::from),
    }
}

#[utoipa::path(
    get, path = "/analytics/calls", tag = "Dashboard", operation_id = "call_analytics",
    params(AnalyticsParams, crate::calls::CallFilters),
    responses((status = 200, body = Data<AnalyticsAnswer>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Call metrics grouped by up to three fields, with the call list's filters.
pub async fn calls(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(request): ApiQuery<AnalyticsParams>,
    ApiQuery(filters): ApiQuery<crate::calls::CallFilters>,
) -> ApiResult<Data<AnalyticsAnswer>> {
    auth.require(Access::Read)?;
    let mut errors = ringtrack_domain::FieldErrors::new();
    let query =
        errors.take_all(AnalyticsQuery::parse(request.group_by.as_deref(), request.metrics.as_deref()));
    let filter = errors.take_all(CallFilter::parse(&filters.into()));
    errors.finish(())?;
    let (query, filter) = (query.expect("checked"), filter.expect("checked"));
    let unique = query.metrics.contains(&Metric::UniqueCallers);
    let tz = timezone(&state, auth.business_id).await?;
    let overall = Question {
        business_id: auth.business_id,
        filter: &filter,
        dimensions: &[],
        tz: &tz,
        unique_callers: unique,
    };
    let groups =
        analytics::aggregate(&state.store, &Question { dimensions: &query.group_by, ..overall }).await?;
    // The groups split the calls: their sums are the totals, but distinct callers are not.
    let total = if unique {
        analytics::aggregate(&state.store, &overall).await?.first().map(|g| g.aggregates.clone())
    } else {
        Some(groups.iter().fold(Aggregates::default(), |mut total, g| {
            total.add(&g.aggregates);
            total
        }))
    };
    let total = total.unwrap_or_default();
    let totals = query.metrics.iter().map(|m| (m.as_str().to_owned(), metric_value(*m, &total))).collect();
    let rows = AnalyticsRows { groups, fields: query.group_by, metrics: query.metrics };
    Ok(Data::new(AnalyticsAnswer { rows, totals }))
}
