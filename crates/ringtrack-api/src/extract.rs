//! Request extractors that refuse bad input in the API's own error shape: JSON bodies
//! ([`ApiJson`]), query strings ([`ApiQuery`]) and list paging ([`Paging`]). A refused
//! field is always named, with its path (`steps[1].number`), so a client knows what to fix.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use ringtrack_domain::dates::{DateRange, DateRangeParams};
use ringtrack_domain::paging::{PageRequest, PagingParams};
use ringtrack_domain::{
    ApiKeyId, CallFlowId, CallId, DeliveryId, FieldError, FieldErrors, FormId, NumberGroupId, NumberId,
    NumberPoolId, PhoneNumber, VoicemailId, WebhookId,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::str::FromStr;
use utoipa::IntoParams;

use crate::error::ApiError;

/// The largest body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body. Unknown fields are refused by the target types (`deny_unknown_fields`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        let not_json =
            |e: serde_json::Error| ApiError::BadRequest(format!("The body is not valid JSON: {e}"));
        // serde would take an array for a struct; a body is always one JSON object.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(not_json)?;
            return Err(ApiError::field("body", "must be a JSON object"));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = inner.to_string();
                    let message = message.rsplit_once(" at line ").map_or(&*message, |(m, _)| m);
                    field_error(&path, message, "body")
                }
                _ => not_json(inner),
            }
        })?;
        deserializer.end().map_err(not_json)?;
        Ok(ApiJson(value))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A list's period: `date_from`/`date_to`, or their aliases `start_date`/`end_date`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateParams {
    /// ISO 8601 date (as documented) or date-time (alias start_date).
    #[param(format = Date, example = "2026-11-01")]
    date_from: Option<String>,
    /// ISO 8601 date (the whole day, UTC; as documented) or date-time (alias end_date).
    #[param(format = Date, example = "2026-11-30")]
    date_to: Option<String>,
    #[param(format = Date)]
    start_date: Option<String>,
    #[param(format = Date)]
    end_date: Option<String>,
}

impl DateParams {
    /// The period, or the whole of time; bad dates go to `errors` under their names.
    pub fn take(self, errors: &mut FieldErrors) -> DateRange {
        let params = DateRangeParams {
            date_from: self.date_from,
            date_to: self.date_to,
            start_date: self.start_date,
            end_date: self.end_date,
        };
        errors.take_all(DateRange::parse(&params)).unwrap_or_default()
    }

    /// The period alone, or its refusal naming the parameters.
    pub fn range(self) -> Result<DateRange, ApiError> {
        let mut errors = FieldErrors::new();
        let range = self.take(&mut errors);
        errors.finish(range).map_err(Into::into)
    }
}

/// Query-string parameters. Parameters a type does not name are ignored.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        field_error(&path, &e.into_inner().to_string(), "query")
    })
}

/// Turns a serde message into a named field error: `unknown field `x``, `missing field
/// `x``, `duplicate field `x`` name the field themselves; other messages apply at `path`.
fn field_error(path: &str, message: &str, whole: &str) -> ApiError {
    let path = if path == "." { "" } else { path };
    // The path may already end at the named field (serde_path_to_error records map keys).
    let join = |name: &str| {
        if path.is_empty() || path == name {
            name.to_owned()
        } else if path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let named = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(join);
    if let Some(field) = named("unknown field `") {
        ApiError::field(field, "is not a known field")
    } else if let Some(field) = named("missing field `") {
        ApiError::field(field, "is required")
    } else if let Some(field) = named("duplicate field `") {
        ApiError::field(field, "is given more than once")
    } else if path.is_empty() {
        ApiError::field(whole, message)
    } else {
        ApiError::field(path, message)
    }
}

/// The paging of a list request (`page`/`per_page`, `limit`/`offset` or `cursor`).
pub struct Paging(pub PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let params: ListParams = parse_query(parts.uri.query().unwrap_or(""))?;
        Ok(Paging(PageRequest::parse(&params.into())?))
    }
}

/// For PATCH fields where `null` means "clear": absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Parses an optional id given in a body or query string; a malformed one is named.
pub fn parse_id<T: FromStr>(field: &str, raw: Option<&str>) -> Result<Option<T>, FieldError> {
    raw.map(|raw| raw.trim().parse().map_err(|_| FieldError::new(field, "is not a valid id"))).transpose()
}

/// A phone number from a request field, or the field's refusal.
pub fn parse_phone(field: &str, raw: &str) -> Result<PhoneNumber, FieldError> {
    PhoneNumber::parse(raw).map_err(|_| FieldError::new(field, "is not a valid phone number"))
}

/// The paging parameters: read as text (the domain names what is wrong with a value) and
/// documented as the numbers they must be.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, from 1. Not with `offset` or `cursor`.
    #[param(value_type = Option<u64>, minimum = 1)]
    page: Option<String>,
    /// Rows per page, 1 to 250 (default 25). Not with `limit`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 250)]
    per_page: Option<String>,
    /// Same as `per_page`.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 250)]
    limit: Option<String>,
    /// Rows to skip. Not with `page` or `cursor`.
    #[param(value_type = Option<u64>, minimum = 0)]
    offset: Option<String>,
    /// The `next_cursor` of the previous page: stable while new rows arrive.
    cursor: Option<String>,
}

impl From<ListParams> for PagingParams {
    fn from(p: ListParams) -> Self {
        PagingParams {
            page: p.page,
            per_page: p.per_page,
            limit: p.limit,
            offset: p.offset,
            cursor: p.cursor,
        }
    }
}

/// The ids in a request's path, parsed: one resource's (`PathId<CallId>`) or a resource's
/// and one of its own (`PathId<(WebhookId, DeliveryId)>`). One that is malformed cannot
/// exist, so it is a 404 like any other unknown id; so is another business's id.
pub struct PathId<T>(pub T);

/// What a path segment names, and what its 404 calls it.
pub trait PathIds: Sized {
    fn parse(segments: &[String]) -> Result<Self, ApiError>;
}

macro_rules! path_segment {
    ($($type:ty => $name:literal),+ $(,)?) => {$(
        impl PathIds for $type {
            fn parse(segments: &[String]) -> Result<Self, ApiError> {
                match segments {
                    [one] => one.parse().map_err(|_| ApiError::NotFound($name)),
                    _ => Err(ApiError::NotFound($name)),
                }
            }
        }
    )+};
}

path_segment! {
    ApiKeyId => "API key",
    NumberId => "Number",
    NumberGroupId => "Number group",
    CallFlowId => "Call flow",
    NumberPoolId => "Number pool",
    CallId => "Call",
    VoicemailId => "Voicemail",
    FormId => "Form",
    WebhookId => "Webhook",
    DeliveryId => "Delivery",
    VersionNumber => "Call flow version",
}

/// A call flow's version number, as its path names it.
#[derive(Clone, Copy, Debug)]
pub struct VersionNumber(pub i64);

impl FromStr for VersionNumber {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(VersionNumber)
    }
}

impl<A: PathIds, B: PathIds> PathIds for (A, B) {
    fn parse(segments: &[String]) -> Result<Self, ApiError> {
        match segments {
            [a, b] => Ok((A::parse(std::slice::from_ref(a))?, B::parse(std::slice::from_ref(b))?)),
            _ => Err(A::parse(&[]).err().unwrap_or(ApiError::NotFound("Route"))),
        }
    }
}

impl<S: Send + Sync, T: PathIds> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = match Path::<Vec<String>>::from_request_parts(parts, state).await {
            Ok(Path(segments)) => segments,
            Err(_) => Vec::new(),
        };
        T::parse(&segments).map(PathId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Step {
        number: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Flow {
        name: String,
        steps: Vec<Step>,
    }

    fn refused(json: &str) -> Vec<(String, String)> {
        let mut de = serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, Flow>(&mut de).unwrap_err();
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let message = message.rsplit_once(" at line ").map_or(&*message, |(m, _)| m).to_owned();
        match field_error(&path, &message, "body") {
            ApiError::Validation(details) => details.into_iter().map(|d| (d.field, d.message)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field_with_its_path() {
        assert_eq!(refused(r#"{"steps":[]}"#), [("name".into(), "is required".into())]);
        assert_eq!(
            refused(r#"{"name":"a","steps":[],"nmae":1}"#),
            [("nmae".into(), "is not a known field".into())]
        );
        assert_eq!(
            refused(r#"{"name":"a","steps":[{"number":"1"},{"number":5}]}"#),
            [("steps[1].number".into(), "invalid type: integer `5`, expected a string".into())]
        );
        assert_eq!(
            refused(r#"{"name":"a","steps":[{"number":"1","x":0}]}"#),
            [("steps[0].x".into(), "is not a known field".into())]
        );
        assert_eq!(refused(r#""text""#)[0].0, "body");
    }

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Filters {
            qualified: Option<bool>,
        }
        match parse_query::<Filters>("qualified=maybe&other=1") {
            Err(ApiError::Validation(details)) => assert_eq!(details[0].field, "qualified"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        match parse_query::<PagingParams>("page=1&page=2") {
            Err(ApiError::Validation(details)) => assert_eq!(details[0].field, "page"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, v.parse().unwrap());
            h
        };
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("Application/JSON; charset=utf-8")));
        assert!(is_json(&headers("application/merge-patch+json")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
