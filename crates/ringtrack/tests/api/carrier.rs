//! Buying through the Twilio dialect end to end: the server's purchase reaches a local
//! Twilio-shaped server with our webhook URLs, and a refusal records nothing.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringtrack_carrier::{TwilioCarrier, TwilioConfig};
use ringtrack_store::test_on_both_backends;
use serde_json::json;

use crate::common::{TestApp, assert_error, body};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const PN: &str = "PN2a0747eba6abf96b7e3c3ff0b4530f6e";

/// A request as the fake saw it: method, path and form fields.
type Seen = (String, String, Vec<(String, String)>);

/// Answers purchases with the scripted status; records each request.
#[derive(Clone)]
struct FakeTwilio {
    refuse: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn answer(State(fake): State<FakeTwilio>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let bytes = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap();
    let form = form_urlencoded::parse(&bytes).into_owned().collect();
    fake.seen.lock().unwrap().push((method.clone(), path, form));
    let (status, body) = match (method.as_str(), fake.refuse) {
        ("POST", true) => (
            StatusCode::BAD_REQUEST,
            json!({"code": 21422, "message": "PhoneNumber requested is not available", "more_info": "https://www.twilio.com/docs/errors/21422", "status": 400}),
        ),
        ("POST", false) => (
            StatusCode::CREATED,
            json!({"sid": PN, "account_sid": SID, "phone_number": "+15735550134", "friendly_name": "(573) 555-0134", "status": "in-use", "api_version": "2010-04-01"}),
        ),
        _ => (StatusCode::NO_CONTENT, json!(null)),
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn fake_twilio(refuse: bool) -> (FakeTwilio, String) {
    let fake = FakeTwilio { refuse, seen: Arc::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(answer).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, base)
}

async fn app_on(backend: ringtrack_store::Backend, api_base: String) -> TestApp {
    TestApp::spawn_with_carrier(backend, move |_, _| {
        let config = TwilioConfig { account_sid: SID.into(), auth_token: "secret-token".into(), api_base };
        Arc::new(TwilioCarrier::new(config).unwrap())
    })
    .await
}

test_on_both_backends! {
    async fn a_twilio_purchase_points_the_number_at_this_server(backend: Backend) {
        let (fake, api_base) = fake_twilio(false).await;
        let app = app_on(backend, api_base).await;
        app.credit(app.business, 1000).await;
        let bought = app.post("/api/v1/numbers/purchase", &json!({"phone_number": "(573) 555-0134"})).await;
        assert_eq!(bought.status(), StatusCode::CREATED);
        let bought = body(bought).await["data"].clone();
        assert_eq!(bought["phone_number"], "+15735550134");
        assert_eq!(app.balance(app.business).await, 700);
        let seen = fake.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let (method, path, form) = &seen[0];
        assert_eq!((method.as_str(), path.as_str()), ("POST", format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json").as_str()));
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(field("PhoneNumber"), "+15735550134");
        assert_eq!(field("VoiceUrl"), format!("{}/webhooks/twilio/voice", app.base));
        assert_eq!(field("SmsUrl"), format!("{}/webhooks/twilio/sms", app.base));

        // Releasing deletes it at the carrier by its SID.
        let released = app.delete(&format!("/api/v1/numbers/{}", bought["id"].as_str().unwrap())).await;
        assert_eq!(body(released).await["data"]["status"], "released");
        let (method, path, _) = fake.seen.lock().unwrap()[1].clone();
        assert_eq!((method.as_str(), path), ("DELETE", format!("/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers/{PN}.json")));
        app.stop().await;
    }

    async fn a_carrier_refusal_is_502_and_records_nothing(backend: Backend) {
        let (_fake, api_base) = fake_twilio(true).await;
        let app = app_on(backend, api_base).await;
        app.credit(app.business, 1000).await;
        let refused = app.post("/api/v1/numbers/purchase", &json!({"phone_number": "+15735550134"})).await;
        let error = assert_error(refused, 502, "carrier_error", &[]).await;
        assert!(error["error"]["message"].as_str().unwrap().contains("PhoneNumber requested is not available"), "{error}");
        assert_eq!(app.balance(app.business).await, 1000);
        assert_eq!(body(app.get("/api/v1/numbers").await).await["data"]["total"], 0);
        app.stop().await;
    }

    async fn an_unreachable_carrier_is_502(backend: Backend) {
        let app = app_on(backend, "http://127.0.0.1:1".into()).await;
        app.credit(app.business, 1000).await;
        let down = app.post("/api/v1/numbers/purchase", &json!({"phone_number": "+15735550134"})).await;
        assert_error(down, 502, "carrier_error", &[]).await;
        assert_eq!(app.balance(app.business).await, 1000);
        app.stop().await;
    }
}
