//! The API's one error type. Every failure, from a bad key to an unknown route, leaves as
//! `{"error":{"code":"<status>","type":"<slug>","message":"…","details":[…]}}` with the
//! same HTTP status. Details of a 5xx are logged, never shown.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringtrack_carrier::CarrierError;
use ringtrack_domain::{FieldError, FieldErrors};
use ringtrack_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Invalid API key")]
    Unauthorized,
    #[error("Missing API key: send it as Authorization: Bearer <key>")]
    MissingKey,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("Request body must not exceed {0} bytes")]
    PayloadTooLarge(usize),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("{}", validation_message(.0))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    /// The recipient (field `to`) texted STOP to this business: 422 `opted_out`.
    #[error("{0} has opted out of this business's texts (they can text START to opt back in)")]
    OptedOut(String),
    #[error("{0}")]
    InsufficientBalance(String),
    /// The carrier refused or failed; the message is the carrier's.
    #[error("Carrier error: {0}")]
    Carrier(String),
    #[error("The service is not ready")]
    Unavailable,
    /// Too many requests; try again after the duration.
    #[error("Too many requests; retry after {} s", (.0.as_secs_f64().ceil() as u64).max(1))]
    RateLimited(std::time::Duration),
    #[error("Internal server error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn validation_message(details: &[FieldError]) -> String {
    match details {
        [only] => format!("Invalid {}: {}", only.field, only.message),
        _ => "The request has invalid fields".to_owned(),
    }
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(error.into())
    }

    fn status_and_slug(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized | ApiError::MissingKey => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::OptedOut(_) => (StatusCode::UNPROCESSABLE_ENTITY, "opted_out"),
            ApiError::InsufficientBalance(_) => (StatusCode::PAYMENT_REQUIRED, "insufficient_balance"),
            ApiError::Carrier(_) => (StatusCode::BAD_GATEWAY, "carrier_error"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorObject,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorObject {
    /// The HTTP status, as a string.
    #[schema(example = "422")]
    code: String,
    /// A stable slug for programs: unauthorized, forbidden, not_found, bad_request,
    /// method_not_allowed, payload_too_large, unsupported_media_type, validation_failed,
    /// opted_out, conflict, insufficient_balance, carrier_error, rate_limited, unavailable,
    /// internal.
    #[serde(rename = "type")]
    #[schema(example = "validation_failed")]
    kind: &'static str,
    message: String,
    /// One entry per refused field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<FieldErrorView>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldErrorView {
    #[schema(example = "name")]
    field: String,
    #[schema(example = "must not be empty")]
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_slug();
        if let ApiError::Internal(source) = &self {
            tracing::error!(error = %source, detail = ?source, "request failed");
        }
        let message = self.to_string();
        let retry_after = match &self {
            ApiError::RateLimited(wait) => Some((wait.as_secs_f64().ceil() as u64).max(1)),
            _ => None,
        };
        let details = match self {
            ApiError::Validation(details) => {
                details.into_iter().map(|d| FieldErrorView { field: d.field, message: d.message }).collect()
            }
            ApiError::OptedOut(_) => {
                vec![FieldErrorView {
                    field: "to".into(),
                    message: "has opted out of this business's texts".into(),
                }]
            }
            _ => Vec::new(),
        };
        let body =
            ErrorBody { error: ErrorObject { code: status.as_u16().to_string(), kind, message, details } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// 422 naming each refused position of a request's `number_ids`.
pub fn invalid_numbers<M: Into<String>>(invalid: impl IntoIterator<Item = (usize, M)>) -> ApiError {
    let mut errors = FieldErrors::new();
    for (position, message) in invalid {
        errors.push(format!("number_ids[{position}]"), message);
    }
    errors.into()
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Validation(errors.into_vec())
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::Validation(vec![error])
    }
}

impl From<CarrierError> for ApiError {
    fn from(error: CarrierError) -> Self {
        match error {
            CarrierError::InvalidRequest { field, message } => ApiError::field(field, message),
            CarrierError::Refused { message, .. } | CarrierError::Unavailable(message) => {
                ApiError::Carrier(message)
            }
        }
    }
}

impl From<ringtrack_core::numbers::PurchaseError> for ApiError {
    fn from(error: ringtrack_core::numbers::PurchaseError) -> Self {
        use ringtrack_core::numbers::PurchaseError;
        match error {
            PurchaseError::Refused(fields) => fields.into(),
            PurchaseError::InsufficientBalance { .. } => ApiError::InsufficientBalance(error.to_string()),
            PurchaseError::Taken(_) => ApiError::Conflict(error.to_string()),
            PurchaseError::Carrier(carrier) => carrier.into(),
            PurchaseError::Store(store) => store.into(),
        }
    }
}

impl From<ringtrack_core::texts::TextError> for ApiError {
    fn from(error: ringtrack_core::texts::TextError) -> Self {
        use ringtrack_core::texts::TextError;
        match error {
            TextError::Refused(fields) => fields.into(),
            TextError::OptedOut(to) => ApiError::OptedOut(to.to_string()),
            TextError::InsufficientBalance { .. } => ApiError::InsufficientBalance(error.to_string()),
            TextError::Store(store) => store.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::internal(error)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
