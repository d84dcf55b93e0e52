//! The public side of dynamic number insertion: the tracking script (`GET /dni.js`) and the
//! keyless endpoints it calls from any website (`/dni/v1/...`). They are CORS-open and take
//! JSON sent as `text/plain` (a "simple" request, so browsers send no preflight), are rate
//! limited per IP and per pool, cap what they read, answer 404 for unknown pools, and say
//! nothing about the business but the number leased.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringtrack_core::forms::{self, Submission};
use ringtrack_domain::NumberPoolId;
use ringtrack_domain::dni::{self, Attribution};
use ringtrack_store::pools::{self, Guards, Lease, Visit};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::rate_limit::{Rate, RateLimiter};

/// The script, as shipped in `web/dni/`.
const SCRIPT: &str = include_str!("../../../web/dni/dni.js");

/// The most a public request may send.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_FIELDS: usize = 50;
const MAX_KEY_CHARS: usize = 100;
const MAX_VALUE_CHARS: usize = 2000;
const MAX_TEXT_CHARS: usize = 2048;
/// How often the script renews its lease while the page is open.
const HEARTBEAT_SECONDS: u64 = 30;

/// This node's limits on the public endpoints, and how many numbers of a pool one
/// address may hold (kept in the database, so every node enforces the same).
pub struct DniLimits {
    per_ip: RateLimiter,
    per_pool: RateLimiter,
    pub guards: Guards,
}

/// Numbers of one pool one address may hold at once: a household or an office with a few
/// visitors, not a script posting visitor after visitor.
pub const DEFAULT_LEASES_PER_ADDRESS: i64 = 4;

impl DniLimits {
    pub fn new(per_ip: Rate, per_pool: Rate, leases_per_client: i64) -> DniLimits {
        DniLimits {
            per_ip: RateLimiter::new(per_ip),
            per_pool: RateLimiter::new(per_pool),
            guards: Guards { leases_per_client },
        }
    }

    fn check(&self, ip: &SocketAddr, pool: Option<&str>) -> ApiResult<()> {
        let now = Instant::now();
        self.per_ip.take(&ip.ip().to_string(), now).map_err(ApiError::RateLimited)?;
        if let Some(pool) = pool {
            self.per_pool.take(pool, now).map_err(ApiError::RateLimited)?;
        }
        Ok(())
    }
}

impl Default for DniLimits {
    /// A visitor's page needs a session, a heartbeat every 30 s and its forms; a pool
    /// serves a site's whole traffic.
    fn default() -> Self {
        DniLimits::new(
            Rate { per_second: 2.0, burst: 20.0 },
            Rate { per_second: 200.0, burst: 400.0 },
            DEFAULT_LEASES_PER_ADDRESS,
        )
    }
}

/// Adds the CORS headers every public answer carries.
fn open(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

/// The answer to a CORS preflight.
pub async fn preflight() -> Response {
    open(StatusCode::NO_CONTENT.into_response())
}

/// Any outcome of a public endpoint, CORS-open (errors too, so pages can read them).
fn public(result: ApiResult<Response>) -> Response {
    open(result.unwrap_or_else(IntoResponse::into_response))
}

/// `GET /dni.js`: the tracking script, cacheable, revalidated by its ETag.
pub async fn script(headers: HeaderMap) -> Response {
    static ETAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let etag = ETAG.get_or_init(|| {
        let digest = Sha256::digest(SCRIPT.as_bytes());
        format!("\"{}\"", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
    });
    let mut response = if ringtrack_media::delivery::client_has(&headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/javascript; charset=utf-8")], SCRIPT).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    open(response)
}

/// A public body: JSON whatever its declared type.
fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("The body is not the JSON expected: {e}")))
}

/// The pool a public request names, once the address's and the pool's rate limits let it
/// through (checked first, so an unknown pool costs a flood as much as a known one).
fn admitted_pool(state: &AppState, peer: &SocketAddr, raw: &str) -> ApiResult<NumberPoolId> {
    state.dni_limits.check(peer, Some(raw))?;
    raw.parse().map_err(|_| ApiError::NotFound("Number pool"))
}

/// The address a lease is counted against, as a keyed hash: IPv4 whole, IPv6 by its /64
/// (what one household or host is given).
fn client_key(state: &AppState, peer: &SocketAddr) -> String {
    let address = match peer.ip() {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().expect("checked").to_string(),
        v4 => v4.to_string(),
    };
    state.sealer.fingerprint(&address)
}

/// Text from a page, cut to a sane length.
fn text(raw: Option<String>) -> Option<String> {
    raw.map(|t| t.chars().take(MAX_TEXT_CHARS).collect::<String>()).filter(|t| !t.trim().is_empty())
}

#[derive(Deserialize)]
struct SessionRequest {
    pool_id: String,
    visitor_id: String,
    session_id: Option<String>,
    landing_page: Option<String>,
    referrer: Option<String>,
}

fn lease_body(lease: Lease) -> Response {
    let number = lease.number.as_ref().unwrap_or(&lease.target);
    axum::Json(json!({
        "session_id": lease.session_id,
        "number": number.as_str(),
        "target": lease.target.as_str(),
        "heartbeat_seconds": HEARTBEAT_SECONDS,
    }))
    .into_response()
}

/// `POST /dni/v1/sessions`: a visit asks for its number.
pub async fn session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    public(
        async {
            let request: SessionRequest = parse(&body)?;
            let pool = admitted_pool(&state, &peer, &request.pool_id)?;
            let visit = visit(
                &state,
                &peer,
                &headers,
                &request.visitor_id,
                request.session_id,
                request.landing_page,
                request.referrer,
            )?;
            let lease = pools::lease(&state.store, pool, &visit, state.dni_limits.guards)
                .await?
                .ok_or(ApiError::NotFound("Number pool"))?;
            Ok(lease_body(lease))
        }
        .await,
    )
}

/// A visit as the lease reads it: the visitor (bounded), the page's attribution, the
/// address it is counted against.
fn visit(
    state: &AppState,
    peer: &SocketAddr,
    headers: &HeaderMap,
    visitor_id: &str,
    session_id: Option<String>,
    landing_page: Option<String>,
    referrer: Option<String>,
) -> ApiResult<Visit> {
    let visitor_id: String = visitor_id.chars().take(100).collect();
    if visitor_id.trim().is_empty() {
        return Err(ApiError::field("visitor_id", "is required"));
    }
    let landing_page = text(landing_page);
    Ok(Visit {
        visitor_id,
        session_id: session_id.and_then(|s| s.parse().ok()),
        attribution: landing_page.as_deref().map(Attribution::from_url).unwrap_or_default(),
        landing_page,
        referrer: text(referrer),
        user_agent: text(headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned)),
        client_key: Some(client_key(state, peer)),
    })
}

/// What an AMP page's `amp-call-tracking` sends: its `config` URL names the pool and carries
/// AMP's substitutions, e.g. `…/dni/v1/amp/{pool}?client_id=CLIENT_ID(ringtrack)&page=SOURCE_URL&referrer=DOCUMENT_REFERRER`.
#[derive(Deserialize)]
pub struct AmpQuery {
    client_id: Option<String>,
    page: Option<String>,
    referrer: Option<String>,
    #[serde(rename = "__amp_source_origin")]
    amp_source_origin: Option<String>,
}

/// `GET /dni/v1/amp/{pool_id}`: AMP pages cannot run the tracking script, so
/// `amp-call-tracking` asks here for the visit's number: `{"phoneNumber",
/// "formattedPhoneNumber"}`, with the CORS answers AMP requires (the requesting origin and
/// credentials allowed, the source origin echoed). The visitor is AMP's client id, so a
/// returning reader keeps their number as the script's visitors do.
pub async fn amp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(pool): Path<String>,
    axum::extract::Query(query): axum::extract::Query<AmpQuery>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let pool = admitted_pool(&state, &peer, &pool)?;
        let client = query.client_id.as_deref().unwrap_or_default();
        if client.trim().is_empty() {
            return Err(ApiError::field(
                "client_id",
                "is required (AMP fills it: client_id=CLIENT_ID(ringtrack))",
            ));
        }
        let visit = visit(
            &state,
            &peer,
            &headers,
            &format!("amp:{client}"),
            None,
            query.page.clone(),
            query.referrer.clone(),
        )?;
        let lease = pools::lease(&state.store, pool, &visit, state.dni_limits.guards)
            .await?
            .ok_or(ApiError::NotFound("Number pool"))?;
        let number = lease.number.as_ref().unwrap_or(&lease.target);
        Ok(axum::Json(json!({
            "phoneNumber": number.as_str(),
            "formattedPhoneNumber": number.national_format(),
        }))
        .into_response())
    }
    .await;
    let mut response = answer.unwrap_or_else(IntoResponse::into_response);
    amp_cors(&mut response, &headers, query.amp_source_origin.as_deref());
    response
}

/// CORS as AMP's runtime expects it: it fetches with credentials, so the origin is named
/// rather than `*`, and a request carrying `__amp_source_origin` gets it back in
/// `AMP-Access-Control-Allow-Source-Origin`. Nothing here is private to a site (a number
/// shown on its pages), so any origin may ask.
fn amp_cors(response: &mut Response, request: &HeaderMap, source_origin: Option<&str>) {
    let headers = response.headers_mut();
    if let Some(origin) = request.get(header::ORIGIN).filter(|o| o.len() <= 256) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    if let Some(source) = source_origin.filter(|s| s.len() <= 256).and_then(|s| HeaderValue::from_str(s).ok())
    {
        headers.insert("amp-access-control-allow-source-origin", source);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("AMP-Access-Control-Allow-Source-Origin"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
}

#[derive(Deserialize)]
struct PageReport {
    pool_id: String,
    url: String,
    target_visible: bool,
}

/// The part of a page's address a pool keeps: scheme, host and path, bounded; never the
/// query (each visitor's own utm and click ids) or the fragment.
fn page_address(url: &str) -> ApiResult<String> {
    let address = ringtrack_domain::dni::page_address(url);
    let well_formed = (address.starts_with("https://") || address.starts_with("http://"))
        && address.len() <= ringtrack_domain::dni::MAX_PAGE_ADDRESS
        && !address.chars().any(char::is_control);
    if well_formed {
        Ok(address.to_owned())
    } else {
        Err(ApiError::field("url", "must be the page's http(s) address, at most 500 characters"))
    }
}

/// `POST /dni/v1/pages`: once per page view, after the swap, the script says whether the
/// target number could still be read on the page; the pool's detail lists the pages.
pub async fn page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    public(
        async {
            let report: PageReport = parse(&body)?;
            let pool = admitted_pool(&state, &peer, &report.pool_id)?;
            let address = page_address(&report.url)?;
            let mut tx = state.store.begin().await?;
            pools::record_page(&mut tx, pool, &address, report.target_visible).await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

/// `POST /dni/v1/sessions/{id}/heartbeat`: the page is still open; keeps its lease.
pub async fn heartbeat(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Response {
    public(
        async {
            state.dni_limits.check(&peer, None)?;
            let id: Uuid = id.parse().map_err(|_| ApiError::NotFound("Session"))?;
            let client = Some(client_key(&state, &peer));
            let lease = pools::heartbeat(&state.store, id, client, state.dni_limits.guards)
                .await?
                .ok_or(ApiError::NotFound("Session"))?;
            Ok(lease_body(lease))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct FormRequest {
    pool_id: String,
    session_id: Option<String>,
    form_name: Option<String>,
    page_url: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
}

/// `POST /dni/v1/forms`: a form submitted on a page with the script.
pub async fn form(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    public(
        async {
            let request: FormRequest = parse(&body)?;
            let pool = admitted_pool(&state, &peer, &request.pool_id)?;
            if request.fields.len() > MAX_FIELDS {
                return Err(ApiError::field("fields", format!("may hold at most {MAX_FIELDS} fields")));
            }
            let mut fields = BTreeMap::new();
            for (key, value) in request.fields {
                let value = match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                if key.chars().count() > MAX_KEY_CHARS || value.chars().count() > MAX_VALUE_CHARS {
                    return Err(ApiError::field(
                        format!("fields.{}", key.chars().take(MAX_KEY_CHARS).collect::<String>()),
                        "is too long",
                    ));
                }
                // The script leaves these out; a hand-made request does not get them kept either.
                if let Some(kept) = dni::keep_field(&key, &value) {
                    fields.insert(key, kept);
                }
            }
            let page_url = text(request.page_url);
            let form_name = text(request.form_name);
            let submission = Submission {
                pool_id: pool,
                session_id: request.session_id.and_then(|s| s.parse().ok()),
                form_name: form_name.as_deref(),
                page_url: page_url.as_deref(),
                fields: &fields,
            };
            let mut tx = state.store.begin().await?;
            forms::submit(&mut tx, &submission).await?.ok_or(ApiError::NotFound("Number pool"))?;
            tx.commit().await?;
            Ok((StatusCode::ACCEPTED, axum::Json(json!({"received": true}))).into_response())
        }
        .await,
    )
}
