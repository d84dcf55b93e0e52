//! `/api/v1/scoring`: how the business's calls are scored as leads — the keyword families,
//! their weights, and what makes a call qualified. A `PUT` changes only what it names.

use std::collections::BTreeMap;

use axum::extract::State;
use ringtrack_domain::Access;
use ringtrack_domain::scoring::{Engine, ScoringSettings};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Data;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;

#[derive(Serialize, ToSchema)]
pub struct ScoringView {
    /// rules (deterministic keyword scoring) or llm (the configured LLM, falling back to
    /// the rules on any error).
    engine: String,
    /// An answered call at least this long is qualified.
    min_duration_seconds: u32,
    /// A call scoring at least this (0-100) is qualified.
    threshold: u8,
    /// Words and phrases per family: service_need, price_question, scheduling,
    /// booking_confirmed, contact_details, spam, wrong_number, job_seeker,
    /// existing_customer_billing.
    keywords: BTreeMap<String, Vec<String>>,
    /// Points each family adds (negative: takes away).
    weights: BTreeMap<String, i32>,
}

#[derive(Serialize, ToSchema)]
pub struct ScoringBody {
    scoring: ScoringView,
}

impl From<ScoringSettings> for ScoringBody {
    fn from(s: ScoringSettings) -> Self {
        ScoringBody {
            scoring: ScoringView {
                engine: match s.engine {
                    Engine::Rules => "rules".into(),
                    Engine::Llm => "llm".into(),
                },
                min_duration_seconds: s.min_duration_seconds,
                threshold: s.threshold,
                keywords: s.keywords.into_iter().map(|(f, words)| (f.name().to_owned(), words)).collect(),
                weights: s.weights.into_iter().map(|(f, w)| (f.name().to_owned(), w)).collect(),
            },
        }
    }
}

#[utoipa::path(
    get, path = "/scoring", tag = "Scoring", operation_id = "get_scoring",
    responses((status = 200, body = Data<ScoringBody>), (status = 401, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The business's lead-scoring settings (the defaults until changed).
pub async fn get(State(state): State<AppState>, auth: Auth) -> ApiResult<Data<ScoringBody>> {
    auth.require(Access::Read)?;
    Ok(Data::new(ringtrack_store::scoring::get(&state.store, auth.business_id).await?.into()))
}

#[utoipa::path(
    put, path = "/scoring", tag = "Scoring", operation_id = "update_scoring",
    request_body(content = Object, description = "Any of engine, min_duration_seconds, threshold, keywords {family: [words]}, weights {family: points}"),
    responses(
        (status = 200, body = Data<ScoringBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Change the scoring settings; calls scored from now on use them.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Data<ScoringBody>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let current = ringtrack_store::scoring::get(&mut tx, auth.business_id).await?;
    let next = current.updated(&body)?;
    ringtrack_store::scoring::put(&mut tx, auth.business_id, &next).await?;
    tx.commit().await?;
    Ok(Data::new(next.into()))
}
