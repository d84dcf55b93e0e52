//! The Twilio REST dialect (Twilio itself, and SignalWire's compatibility API, which
//! speaks it): form-encoded requests with HTTP Basic auth under
//! `/2010-04-01/Accounts/{AccountSid}/`, JSON answers, errors as
//! `{"code","message","more_info","status"}`.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use ringtrack_domain::nanp::{self, Country};
use ringtrack_domain::{NumberType, PhoneNumber};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{
    AvailableNumber, BoxFuture, CallProgress, Carrier, CarrierError, OutboundSms, Provisioned, Recording,
    SearchQuery, SentSms, Webhooks,
};

pub const TWILIO_API_BASE: &str = "https://api.twilio.com";

/// How long one carrier request may take before the carrier counts as unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
    /// `https://api.twilio.com`, a SignalWire space URL, or a local test server.
    pub api_base: String,
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<hidden>")
            .field("api_base", &self.api_base)
            .finish()
    }
}

pub struct TwilioCarrier {
    http: reqwest::Client,
    config: TwilioConfig,
}

#[derive(Deserialize)]
struct AvailableList {
    available_phone_numbers: Vec<TwilioAvailable>,
}

#[derive(Deserialize)]
struct TwilioAvailable {
    phone_number: String,
    friendly_name: String,
    locality: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize)]
struct Sid {
    sid: String,
}

#[derive(Deserialize)]
struct MessageCreated {
    sid: String,
    status: String,
}

/// The fields of a Call resource this server reads; `duration` is null until the call
/// ends, then seconds: a string at Twilio, a number at SignalWire.
#[derive(Deserialize)]
struct CallResource {
    status: String,
    duration: Option<Seconds>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Text(String),
    Number(i64),
}

impl Seconds {
    fn get(&self) -> i64 {
        match self {
            Seconds::Text(text) => text.parse().unwrap_or(0),
            Seconds::Number(number) => *number,
        }
        .max(0)
    }
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: String,
}

impl TwilioCarrier {
    pub fn new(config: TwilioConfig) -> Result<Self, CarrierError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| CarrierError::Unavailable(e.to_string()))?;
        let api_base = config.api_base.trim_end_matches('/').to_owned();
        Ok(TwilioCarrier { http, config: TwilioConfig { api_base, ..config } })
    }

    /// The API's base URL, without a trailing slash.
    pub fn api_base(&self) -> &str {
        &self.config.api_base
    }

    fn account_url(&self, rest: &str) -> String {
        format!("{}/2010-04-01/Accounts/{}/{rest}", self.config.api_base, self.config.account_sid)
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http.request(method, url).basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
    }

    async fn send(&self, request: RequestBuilder) -> Result<reqwest::Response, CarrierError> {
        let response = request.send().await.map_err(|e| CarrierError::Unavailable(without_url(e)))?;
        Self::check(response).await
    }

    /// The response when it is a success; the carrier's refusal otherwise.
    async fn check(response: reqwest::Response) -> Result<reqwest::Response, CarrierError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let (message, code) = match serde_json::from_str::<TwilioError>(&body) {
            Ok(error) => (error.message, error.code),
            Err(_) => (format!("the carrier answered {status}"), None),
        };
        tracing::warn!(%status, ?code, %message, "the carrier refused a request");
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(CarrierError::Unavailable(message))
        } else {
            Err(CarrierError::Refused { message, code })
        }
    }

    /// Like `send`, but a resource the carrier does not have (404) is `None`, not an error.
    async fn send_if_found(
        &self,
        request: RequestBuilder,
    ) -> Result<Option<reqwest::Response>, CarrierError> {
        let response = request.send().await.map_err(|e| CarrierError::Unavailable(without_url(e)))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::check(response).await.map(Some)
    }

    async fn send_json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, CarrierError> {
        read_json(self.send(request).await?).await
    }

    async fn search_numbers(&self, query: SearchQuery) -> Result<Vec<AvailableNumber>, CarrierError> {
        let country = match query.area_code.as_deref().and_then(nanp::area_code) {
            Some(area) if area.country == Country::Canada => "CA",
            _ => "US",
        };
        let kind = match query.number_type {
            NumberType::Local => "Local",
            NumberType::TollFree => "TollFree",
        };
        let mut params = vec![("PageSize", query.limit.to_string())];
        if let Some(area) = &query.area_code {
            params.push(("AreaCode", area.clone()));
        }
        if let Some(contains) = &query.contains {
            params.push(("Contains", contains.clone()));
        }
        let url = self.account_url(&format!("AvailablePhoneNumbers/{country}/{kind}.json"));
        let list: AvailableList = self.send_json(self.request(Method::GET, &url).query(&params)).await?;
        Ok(list
            .available_phone_numbers
            .into_iter()
            .filter_map(|n| {
                let phone_number = PhoneNumber::parse(&n.phone_number).ok()?;
                Some(AvailableNumber {
                    phone_number,
                    friendly_name: n.friendly_name,
                    locality: n.locality,
                    region: n.region,
                    number_type: query.number_type,
                })
            })
            .collect())
    }

    async fn buy_number(&self, number: PhoneNumber, hooks: Webhooks) -> Result<Provisioned, CarrierError> {
        let mut form = vec![("PhoneNumber", number.as_str().to_owned())];
        form.extend(webhook_fields(hooks));
        let url = self.account_url("IncomingPhoneNumbers.json");
        let created: Sid = self.send_json(self.request(Method::POST, &url).form(&form)).await?;
        Ok(Provisioned { carrier_sid: created.sid })
    }

    async fn update_number(&self, carrier_sid: String, hooks: Webhooks) -> Result<(), CarrierError> {
        let url =
            self.account_url(&format!("IncomingPhoneNumbers/{}.json", checked_sid(&carrier_sid, "PN")?));
        let _: Sid = self.send_json(self.request(Method::POST, &url).form(&webhook_fields(hooks))).await?;
        Ok(())
    }

    async fn release_number(&self, carrier_sid: String) -> Result<(), CarrierError> {
        let url =
            self.account_url(&format!("IncomingPhoneNumbers/{}.json", checked_sid(&carrier_sid, "PN")?));
        self.send(self.request(Method::DELETE, &url)).await.map(drop)
    }

    async fn send_message(&self, sms: OutboundSms) -> Result<SentSms, CarrierError> {
        let form = [
            ("From", sms.from.as_str().to_owned()),
            ("To", sms.to.as_str().to_owned()),
            ("Body", sms.body),
            ("StatusCallback", sms.status_callback),
        ];
        let url = self.account_url("Messages.json");
        let created: MessageCreated = self.send_json(self.request(Method::POST, &url).form(&form)).await?;
        Ok(SentSms { carrier_sid: created.sid, status: created.status })
    }

    /// The recording's resource URL, without a format extension. The account's credentials
    /// go only to the carrier's own API, never to a URL that a forged callback might name.
    fn recording_resource<'u>(&self, recording_url: &'u str) -> Result<&'u str, CarrierError> {
        if !recording_url.starts_with(&format!("{}/", self.config.api_base)) {
            return Err(CarrierError::Refused {
                message: format!("recording URL {recording_url} is not on {}", self.config.api_base),
                code: None,
            });
        }
        Ok(recording_url.trim_end_matches(".json").trim_end_matches(".mp3").trim_end_matches(".wav"))
    }

    async fn download_recording(&self, recording_url: String) -> Result<Recording, CarrierError> {
        let url = format!("{}.mp3", self.recording_resource(&recording_url)?);
        let response = self.send(self.request(Method::GET, &url)).await?;
        let bytes = response.bytes().await.map_err(|e| CarrierError::Unavailable(without_url(e)))?;
        Ok(Recording { bytes: bytes.to_vec(), content_type: "audio/mpeg".into() })
    }

    async fn fetch_call(&self, call_sid: String) -> Result<CallProgress, CarrierError> {
        let url = self.account_url(&format!("Calls/{}.json", checked_sid(&call_sid, "CA")?));
        // A call the account does not know is not live: settle it as over.
        let Some(response) = self.send_if_found(self.request(Method::GET, &url)).await? else {
            return Ok(CallProgress::Ended { duration_seconds: 0 });
        };
        let call: CallResource = read_json(response).await?;
        Ok(match call.status.as_str() {
            "queued" | "ringing" | "in-progress" => CallProgress::Live,
            _ => CallProgress::Ended { duration_seconds: call.duration.as_ref().map_or(0, Seconds::get) },
        })
    }

    async fn remove_recording(&self, recording_url: String) -> Result<(), CarrierError> {
        let url = format!("{}.json", self.recording_resource(&recording_url)?);
        // One already gone is deleted.
        self.send_if_found(self.request(Method::DELETE, &url)).await.map(drop)
    }
}

/// Where Twilio sends a number's calls and texts: this server's webhooks, always POST.
fn webhook_fields(hooks: Webhooks) -> Vec<(&'static str, String)> {
    vec![
        ("VoiceUrl", hooks.voice_url),
        ("VoiceMethod", "POST".into()),
        ("SmsUrl", hooks.sms_url),
        ("SmsMethod", "POST".into()),
        ("StatusCallback", hooks.status_callback),
        ("StatusCallbackMethod", "POST".into()),
    ]
}

/// A Twilio SID is two letters and 32 hex digits; anything else never reaches a URL path.
fn checked_sid<'a>(sid: &'a str, kind: &str) -> Result<&'a str, CarrierError> {
    let valid = sid.len() == 34 && sid.starts_with(kind) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if valid {
        Ok(sid)
    } else {
        Err(CarrierError::Refused { message: format!("{sid:?} is not a {kind} SID"), code: None })
    }
}

async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, CarrierError> {
    response
        .json()
        .await
        .map_err(|e| CarrierError::Unavailable(format!("unexpected answer: {}", without_url(e))))
}

/// reqwest's errors name the URL; ours must not repeat it into logs or answers.
fn without_url(error: reqwest::Error) -> String {
    error.without_url().to_string()
}

impl Carrier for TwilioCarrier {
    fn search(&self, query: SearchQuery) -> BoxFuture<'_, Result<Vec<AvailableNumber>, CarrierError>> {
        Box::pin(self.search_numbers(query))
    }

    fn buy(&self, number: PhoneNumber, hooks: Webhooks) -> BoxFuture<'_, Result<Provisioned, CarrierError>> {
        Box::pin(self.buy_number(number, hooks))
    }

    fn update_webhooks(
        &self,
        carrier_sid: String,
        hooks: Webhooks,
    ) -> BoxFuture<'_, Result<(), CarrierError>> {
        Box::pin(self.update_number(carrier_sid, hooks))
    }

    fn release(&self, carrier_sid: String) -> BoxFuture<'_, Result<(), CarrierError>> {
        Box::pin(self.release_number(carrier_sid))
    }

    fn send_sms(&self, sms: OutboundSms) -> BoxFuture<'_, Result<SentSms, CarrierError>> {
        Box::pin(self.send_message(sms))
    }

    fn fetch_recording(&self, recording_url: String) -> BoxFuture<'_, Result<Recording, CarrierError>> {
        Box::pin(self.download_recording(recording_url))
    }

    fn delete_recording(&self, recording_url: String) -> BoxFuture<'_, Result<(), CarrierError>> {
        Box::pin(self.remove_recording(recording_url))
    }

    fn call_progress(&self, call_sid: String) -> BoxFuture<'_, Result<CallProgress, CarrierError>> {
        Box::pin(self.fetch_call(call_sid))
    }
}
