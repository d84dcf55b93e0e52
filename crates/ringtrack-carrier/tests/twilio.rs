//! The Twilio-dialect client against a local server that checks every request exactly
//! (method, path, Basic auth, form fields) and answers with Twilio's own response bodies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringtrack_carrier::{
    CallProgress, Carrier, CarrierError, OutboundSms, SearchQuery, TwilioCarrier, TwilioConfig, Webhooks,
};
use ringtrack_domain::{NumberType, PhoneNumber};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "your_auth_token_0123456789abcdef";
const PN: &str = "PN2a0747eba6abf96b7e3c3ff0b4530f6e";

/// One request as the fake carrier saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    form: BTreeMap<String, String>,
    authorization: String,
}

/// The fake answers each request with the next scripted (status, body).
#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    answers: Arc<Mutex<Vec<(StatusCode, String)>>>,
}

async fn record(State(fake): State<Fake>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let pairs = |s: &[u8]| form_urlencoded::parse(s).into_owned().collect::<BTreeMap<_, _>>();
    fake.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: pairs(parts.uri.query().unwrap_or("").as_bytes()),
        form: pairs(&bytes),
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
    });
    let (status, body) = fake.answers.lock().unwrap().remove(0);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn start(answers: Vec<(StatusCode, &str)>) -> (Fake, TwilioCarrier) {
    let fake = Fake::default();
    *fake.answers.lock().unwrap() = answers.into_iter().map(|(s, b)| (s, b.to_owned())).collect();
    let app = Router::new().fallback(record).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let carrier = TwilioCarrier::new(TwilioConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        api_base: format!("{base}/"),
    })
    .unwrap();
    (fake, carrier)
}

fn carrier_base(carrier: &TwilioCarrier) -> String {
    carrier.api_base().to_owned()
}

fn basic() -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}")))
}

fn hooks() -> Webhooks {
    Webhooks {
        voice_url: "https://calls.example.com/webhooks/twilio/voice".into(),
        sms_url: "https://calls.example.com/webhooks/twilio/sms".into(),
        status_callback: "https://calls.example.com/webhooks/twilio/status".into(),
        sms_status_callback: "https://calls.example.com/webhooks/twilio/sms/status".into(),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

const AVAILABLE: &str = r#"{
  "available_phone_numbers": [
    {
      "address_requirements": "none",
      "beta": false,
      "capabilities": {"mms": true, "sms": true, "voice": true},
      "friendly_name": "(573) 555-0134",
      "iso_country": "US",
      "lata": "524",
      "latitude": "38.951700",
      "locality": "Columbia",
      "longitude": "-92.334100",
      "phone_number": "+15735550134",
      "postal_code": "65201",
      "rate_center": "COLUMBIA",
      "region": "MO"
    }
  ],
  "end": 1,
  "first_page_uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/AvailablePhoneNumbers/US/Local.json?AreaCode=573&Contains=55&PageSize=20&Page=0",
  "next_page_uri": null,
  "page": 0,
  "page_size": 20,
  "previous_page_uri": null,
  "start": 0,
  "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/AvailablePhoneNumbers/US/Local.json?AreaCode=573&Contains=55&PageSize=20&Page=0"
}"#;

const INCOMING: &str = r#"{
  "account_sid": "AC0123456789abcdef0123456789abcdef",
  "address_requirements": "none",
  "address_sid": null,
  "api_version": "2010-04-01",
  "beta": false,
  "capabilities": {"fax": false, "mms": true, "sms": true, "voice": true},
  "date_created": "Mon, 23 Mar 2026 14:30:00 +0000",
  "date_updated": "Mon, 23 Mar 2026 14:30:00 +0000",
  "emergency_status": "Inactive",
  "friendly_name": "(573) 555-0134",
  "identity_sid": null,
  "origin": "twilio",
  "phone_number": "+15735550134",
  "sid": "PN2a0747eba6abf96b7e3c3ff0b4530f6e",
  "sms_application_sid": "",
  "sms_fallback_method": "POST",
  "sms_fallback_url": "",
  "sms_method": "POST",
  "sms_url": "https://calls.example.com/webhooks/twilio/sms",
  "status_callback": "https://calls.example.com/webhooks/twilio/status",
  "status_callback_method": "POST",
  "trunk_sid": null,
  "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/IncomingPhoneNumbers/PN2a0747eba6abf96b7e3c3ff0b4530f6e.json",
  "voice_application_sid": null,
  "voice_caller_id_lookup": false,
  "voice_fallback_method": "POST",
  "voice_fallback_url": null,
  "voice_method": "POST",
  "voice_url": "https://calls.example.com/webhooks/twilio/voice",
  "bundle_sid": null,
  "voice_receive_mode": "voice",
  "status": "in-use"
}"#;

const NOT_AVAILABLE: &str = r#"{"code": 21422, "message": "PhoneNumber requested is not available", "more_info": "https://www.twilio.com/docs/errors/21422", "status": 400}"#;

#[tokio::test]
async fn search_asks_for_local_numbers_in_the_area_code() {
    let (fake, carrier) = start(vec![(StatusCode::OK, AVAILABLE)]).await;
    let query = SearchQuery {
        number_type: NumberType::Local,
        area_code: Some("573".into()),
        contains: Some("55".into()),
        limit: 20,
    };
    let found = carrier.search(query).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].phone_number.as_str(), "+15735550134");
    assert_eq!(found[0].locality.as_deref(), Some("Columbia"));
    assert_eq!(found[0].region.as_deref(), Some("MO"));
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path, format!("/2010-04-01/Accounts/{SID}/AvailablePhoneNumbers/US/Local.json"));
    assert_eq!(seen.query, map(&[("AreaCode", "573"), ("Contains", "55"), ("PageSize", "20")]));
    assert_eq!(seen.authorization, basic());
}

#[tokio::test]
async fn toll_free_and_canadian_searches_use_their_resources() {
    let empty =
        r#"{"available_phone_numbers": [], "end": 0, "page": 0, "page_size": 5, "start": 0, "uri": "/x"}"#;
    let (fake, carrier) = start(vec![(StatusCode::OK, empty), (StatusCode::OK, empty)]).await;
    let toll_free =
        SearchQuery { number_type: NumberType::TollFree, area_code: None, contains: None, limit: 5 };
    assert!(carrier.search(toll_free).await.unwrap().is_empty());
    let canada = SearchQuery {
        number_type: NumberType::Local,
        area_code: Some("416".into()),
        contains: None,
        limit: 5,
    };
    carrier.search(canada).await.unwrap();
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, format!("/2010-04-01/Accounts/{SID}/AvailablePhoneNumbers/US/TollFree.json"));
    assert_eq!(seen[0].query, map(&[("PageSize", "5")]));
    assert_eq!(seen[1].path, format!("/2010-04-01/Accounts/{SID}/AvailablePhoneNumbers/CA/Local.json"));
}

#[tokio::test]
async fn buying_points_the_number_at_our_webhooks() {
    let (fake, carrier) = start(vec![(StatusCode::CREATED, INCOMING)]).await;
    let bought = carrier.buy(PhoneNumber::parse("+15735550134").unwrap(), hooks()).await.unwrap();
    assert_eq!(bought.carrier_sid, PN);
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json"));
    assert_eq!(seen.authorization, basic());
    assert_eq!(
        seen.form,
        map(&[
            ("PhoneNumber", "+15735550134"),
            ("VoiceUrl", "https://calls.example.com/webhooks/twilio/voice"),
            ("VoiceMethod", "POST"),
            ("SmsUrl", "https://calls.example.com/webhooks/twilio/sms"),
            ("SmsMethod", "POST"),
            ("StatusCallback", "https://calls.example.com/webhooks/twilio/status"),
            ("StatusCallbackMethod", "POST"),
        ])
    );
}

#[tokio::test]
async fn the_carriers_refusal_keeps_its_message_and_code() {
    let (_, carrier) = start(vec![
        (StatusCode::BAD_REQUEST, NOT_AVAILABLE),
        (StatusCode::SERVICE_UNAVAILABLE, "<html>down</html>"),
    ])
    .await;
    let refused = carrier.buy(PhoneNumber::parse("+15735550134").unwrap(), hooks()).await.unwrap_err();
    assert_eq!(
        refused,
        CarrierError::Refused { message: "PhoneNumber requested is not available".into(), code: Some(21422) }
    );
    let down = carrier.buy(PhoneNumber::parse("+15735550134").unwrap(), hooks()).await.unwrap_err();
    assert!(matches!(down, CarrierError::Unavailable(_)), "{down:?}");
}

#[tokio::test]
async fn webhooks_are_updated_and_numbers_released_by_sid() {
    let (fake, carrier) = start(vec![(StatusCode::OK, INCOMING), (StatusCode::NO_CONTENT, "")]).await;
    carrier.update_webhooks(PN.into(), hooks()).await.unwrap();
    carrier.release(PN.into()).await.unwrap();
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.clone()),
        ("POST", format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers/{PN}.json"))
    );
    assert_eq!(seen[0].form["VoiceUrl"], "https://calls.example.com/webhooks/twilio/voice");
    assert!(!seen[0].form.contains_key("PhoneNumber"));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.clone()),
        ("DELETE", format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers/{PN}.json"))
    );
    assert_eq!(seen[1].authorization, basic());
    // A SID that is not one never reaches a URL.
    assert!(carrier.release("../Calls".into()).await.is_err());
    assert_eq!(fake.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn texts_are_sent_as_messages() {
    let created = r#"{"account_sid": "AC0123456789abcdef0123456789abcdef", "api_version": "2010-04-01", "body": "Hello!", "date_created": "Mon, 23 Mar 2026 14:30:00 +0000", "date_sent": null, "date_updated": "Mon, 23 Mar 2026 14:30:00 +0000", "direction": "outbound-api", "error_code": null, "error_message": null, "from": "+15735550134", "messaging_service_sid": null, "num_media": "0", "num_segments": "1", "price": null, "price_unit": "USD", "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued", "subresource_uris": {"media": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f/Media.json"}, "to": "+15735551234", "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"}"#;
    let (fake, carrier) = start(vec![(StatusCode::CREATED, created)]).await;
    let sent = carrier
        .send_sms(OutboundSms {
            from: PhoneNumber::parse("+15735550134").unwrap(),
            to: PhoneNumber::parse("+15735551234").unwrap(),
            body: "Hello!".into(),
            status_callback: "https://calls.example.com/webhooks/twilio/sms/status".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        (sent.carrier_sid.as_str(), sent.status.as_str()),
        ("SM1f0e8ae6ade43cb3c0ce4525424e404f", "queued")
    );
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(
        seen.form,
        map(&[
            ("From", "+15735550134"),
            ("To", "+15735551234"),
            ("Body", "Hello!"),
            ("StatusCallback", "https://calls.example.com/webhooks/twilio/sms/status"),
        ])
    );
}

#[tokio::test]
async fn recordings_are_fetched_only_from_the_carrier() {
    let (fake, carrier) = start(vec![(StatusCode::OK, "ID3-audio")]).await;
    let base = carrier_base(&carrier);
    let url = format!("{base}/2010-04-01/Accounts/{SID}/Recordings/RE557ce644e5ab84fa21cc21112e22c485");
    let recording = carrier.fetch_recording(url).await.unwrap();
    assert_eq!(recording.bytes, b"ID3-audio");
    assert_eq!(recording.content_type, "audio/mpeg");
    let seen = fake.seen.lock().unwrap().remove(0);
    assert_eq!((seen.method.as_str(), seen.authorization), ("GET", basic()));
    assert_eq!(
        seen.path,
        format!("/2010-04-01/Accounts/{SID}/Recordings/RE557ce644e5ab84fa21cc21112e22c485.mp3")
    );
    let elsewhere = carrier.fetch_recording("https://attacker.example/rec".into()).await.unwrap_err();
    assert!(matches!(elsewhere, CarrierError::Refused { .. }));
    assert!(fake.seen.lock().unwrap().is_empty(), "the credentials went nowhere");
}

#[tokio::test]
async fn recordings_are_deleted_at_the_carrier_and_a_gone_one_is_fine() {
    let (fake, carrier) = start(vec![
        (StatusCode::NO_CONTENT, ""),
        (StatusCode::NOT_FOUND, r#"{"code": 20404, "message": "not found"}"#),
    ])
    .await;
    let base = carrier_base(&carrier);
    let url = format!("{base}/2010-04-01/Accounts/{SID}/Recordings/RE557ce644e5ab84fa21cc21112e22c485");
    carrier.delete_recording(url.clone()).await.unwrap();
    carrier.delete_recording(format!("{url}.mp3")).await.expect("already deleted is not an error");
    let seen = fake.seen.lock().unwrap().clone();
    for request in &seen {
        assert_eq!((request.method.as_str(), request.authorization.clone()), ("DELETE", basic()));
        assert_eq!(
            request.path,
            format!("/2010-04-01/Accounts/{SID}/Recordings/RE557ce644e5ab84fa21cc21112e22c485.json")
        );
    }
    assert_eq!(seen.len(), 2, "one request each");
    let elsewhere = carrier.delete_recording("https://attacker.example/rec".into()).await.unwrap_err();
    assert!(matches!(elsewhere, CarrierError::Refused { .. }));
    assert_eq!(fake.seen.lock().unwrap().len(), 2, "the credentials went nowhere");
}

/// Twilio's Call resource, as it answers a fetch (abridged to the fields that matter).
fn call_resource(status: &str, duration: &str) -> String {
    format!(
        r#"{{"account_sid": "{SID}", "answered_by": null, "api_version": "2010-04-01", "caller_name": null,
  "date_created": "Tue, 31 Aug 2026 20:36:28 +0000", "direction": "inbound", "duration": {duration},
  "from": "+13055550111", "parent_call_sid": null, "price": null, "price_unit": "USD",
  "sid": "CA0123456789abcdef0123456789abcdef", "status": "{status}", "to": "+15735550134",
  "uri": "/2010-04-01/Accounts/{SID}/Calls/CA0123456789abcdef0123456789abcdef.json"}}"#
    )
}

#[tokio::test]
async fn a_calls_progress_is_fetched_by_sid() {
    let live = call_resource("in-progress", "null");
    let ringing = call_resource("ringing", "null");
    let over = call_resource("completed", r#""95""#);
    // SignalWire's dialect gives the duration as a number.
    let busy = call_resource("busy", "0");
    let signalwire = call_resource("no-answer", "12");
    let (fake, carrier) = start(vec![
        (StatusCode::OK, &live),
        (StatusCode::OK, &ringing),
        (StatusCode::OK, &over),
        (StatusCode::OK, &busy),
        (StatusCode::OK, &signalwire),
        (StatusCode::NOT_FOUND, r#"{"code": 20404, "message": "The requested resource was not found"}"#),
        (StatusCode::SERVICE_UNAVAILABLE, r#"{"code": 20503, "message": "Service unavailable"}"#),
    ])
    .await;
    let sid = "CA0123456789abcdef0123456789abcdef".to_owned();
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(carrier.call_progress(sid.clone()).await.unwrap());
    }
    let ended = |duration_seconds| CallProgress::Ended { duration_seconds };
    assert_eq!(
        answers,
        [CallProgress::Live, CallProgress::Live, ended(95), ended(0), ended(12), ended(0)],
        "a call the account does not know is not live"
    );
    assert!(matches!(carrier.call_progress(sid.clone()).await, Err(CarrierError::Unavailable(_))));
    let seen = fake.seen.lock().unwrap().clone();
    for request in &seen {
        assert_eq!((request.method.as_str(), request.authorization.clone()), ("GET", basic()));
        assert_eq!(request.path, format!("/2010-04-01/Accounts/{SID}/Calls/{sid}.json"));
    }
    let refused = carrier.call_progress("../Messages".into()).await.unwrap_err();
    assert!(matches!(refused, CarrierError::Refused { .. }));
    assert_eq!(fake.seen.lock().unwrap().len(), 7, "a malformed sid reaches no URL");
}
