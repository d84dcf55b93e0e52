//! Outbound webhooks against a local receiving server, and the Google Ads conversions file,
//! on both backends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::{Method, StatusCode};
use ringtrack_domain::webhooks::sign;
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use crate::calls::{number_with_flow, place};
use crate::common::{TestApp, TestOptions, assert_error, body};

/// A request the receiver got: its headers of interest and body.
#[derive(Clone, Debug)]
pub struct Received {
    pub signature: String,
    pub event_id: String,
    pub custom: Option<String>,
    pub body: Value,
    pub raw: String,
}

/// A receiving server: fails its first `failures` requests with 500, takes `delay` to
/// answer, and records every request (and how many it finished answering).
#[derive(Clone, Default)]
pub struct Receiver {
    pub received: Arc<Mutex<Vec<Received>>>,
    pub finished: Arc<Mutex<usize>>,
    failures: Arc<Mutex<usize>>,
    delay: Duration,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, raw: String) -> AxumStatus {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    receiver.received.lock().unwrap().push(Received {
        signature: header("ringtrack-signature").unwrap_or_default(),
        event_id: header("ringtrack-event-id").unwrap_or_default(),
        custom: header("x-crm-token"),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
    });
    tokio::time::sleep(receiver.delay).await;
    *receiver.finished.lock().unwrap() += 1;
    let mut failures = receiver.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::OK
    }
}

/// Starts a receiver; answers it and its URL.
pub async fn receiver(failures: usize, delay: Duration) -> (Receiver, String) {
    let receiver = Receiver { failures: Arc::new(Mutex::new(failures)), delay, ..Receiver::default() };
    let app = Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

/// Checks a `Ringtrack-Signature` header against `secret`: some `v1` is HMAC-SHA256 of
/// "t.body".
pub fn verifies(header: &str, secret: &str, raw: &str) -> bool {
    let t: i64 =
        header.split(',').find_map(|p| p.strip_prefix("t=")).and_then(|t| t.parse().ok()).unwrap_or(0);
    let expected = sign(secret, t, raw.as_bytes());
    header.split(',').filter_map(|p| p.strip_prefix("v1=")).any(|v| v == expected)
}

async fn endpoint(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let created = app
        .post("/api/v1/webhooks", &json!({"url": url, "events": events, "headers": {"X-CRM-Token": "t0k"}}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    body(created).await["data"]["webhook"].clone()
}

async fn deliveries(app: &TestApp, endpoint: &Value) -> Value {
    let path = format!("/api/v1/webhooks/{}/deliveries", endpoint["id"].as_str().unwrap());
    body(app.get(&path).await).await["data"].clone()
}

/// The first attempt of the endpoint's newest delivery, once made (retries, which a failed
/// attempt schedules, are not waited for).
async fn first_attempt(app: &TestApp, endpoint: &Value) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = deliveries(app, endpoint).await["deliveries"][0]["attempts"][0].clone();
        if !attempt.is_null() {
            return attempt;
        }
        assert!(std::time::Instant::now() < deadline, "no attempt within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn answered_call(app: &TestApp) -> Value {
    let tracking = number_with_flow(
        app,
        json!([{"type": "forward", "number": "(305) 555-4567"}]),
        json!({"recording": false}),
    )
    .await;
    place(app, json!({"from": "+13055551234", "to": tracking, "talk_seconds": 95})).await
}

test_on_both_backends! {
    async fn a_call_delivers_one_signed_call_completed_event(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let (receiver, url) = receiver(0, Duration::ZERO).await;
        let hook = endpoint(&app, &url, &["call.completed"]).await;
        let secret = hook["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_") && secret.len() == 38);
        app.start_worker(None, 50);
        let placed = answered_call(&app).await;
        app.drain_jobs().await;

        let got = receiver.received.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "exactly one call.completed: {got:?}");
        let event = &got[0];
        assert!(verifies(&event.signature, &secret, &event.raw), "{}", event.signature);
        assert!(!verifies(&event.signature, "whsec_wrong", &event.raw));
        assert_eq!(event.custom.as_deref(), Some("t0k"));
        assert_eq!(event.body["type"], "call.completed");
        assert_eq!(event.body["id"], event.event_id.as_str());
        let data = &event.body["data"];
        assert_eq!(data["call_id"], placed["call_id"]);
        assert_eq!((data["status"].as_str(), data["caller_number"].as_str()), (Some("answered"), Some("+13055551234")));
        assert_eq!(data["destination_number"], "+13055554567");
        assert!(data["duration_seconds"].as_i64().unwrap() >= 95);
        for field in ["business_id", "tracking_number", "caller_name", "call_flow_name", "recording_url", "utm_source",
            "utm_medium", "utm_campaign", "gclid", "landing_page_url", "caller_city", "caller_state", "timestamp"] {
            assert!(data.get(field).is_some(), "{field} missing from {data}");
        }
        assert_eq!(data["call"]["id"], placed["call_id"], "the call's API shape rides along");

        let listed = deliveries(&app, &hook).await;
        let delivery = &listed["deliveries"][0];
        assert_eq!((delivery["status"].as_str(), delivery["event_type"].as_str()), (Some("succeeded"), Some("call.completed")));
        assert_eq!(delivery["attempts"][0]["status_code"], 200);
        assert!(delivery["next_attempt_at"].is_null());
        // Kept sealed at rest: the database alone does not give the secret away.
        let sealed = format!("SELECT count(*) AS value FROM webhook_endpoints WHERE secret LIKE 'v1:%' AND secret NOT LIKE '%{secret}%'");
        assert_eq!(ringtrack_store::testing::count(&app.store, &sealed).await, 1);
        // The secret is shown once only.
        let shown = body(app.get(&format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap())).await).await;
        assert!(shown["data"]["webhook"].get("secret").is_none());
        app.stop().await;
    }

    async fn a_failing_receiver_gets_the_same_event_on_the_third_attempt(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let (receiver, url) = receiver(2, Duration::ZERO).await;
        let hook = endpoint(&app, &url, &["call.missed"]).await;
        app.start_worker(None, 50);
        let tracking = number_with_flow(&app, json!([{"type": "forward", "number": "(305) 555-4567"}]), json!({})).await;
        place(&app, json!({"from": "+13055551234", "to": tracking, "answer": false})).await;
        app.drain_jobs().await;
        let got = receiver.received.lock().unwrap().clone();
        assert_eq!(got.len(), 3, "two failures, then the delivery: {got:?}");
        assert!(got.iter().all(|r| r.body["type"] == "call.missed"));
        assert!(got.iter().all(|r| r.event_id == got[0].event_id && r.raw == got[0].raw), "one event id, one body");
        let listed = deliveries(&app, &hook).await;
        assert_eq!(listed["total"], 1);
        let delivery = &listed["deliveries"][0];
        assert_eq!(delivery["status"], "succeeded");
        let codes: Vec<i64> = delivery["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
        assert_eq!(codes, [500, 500, 200]);
        assert_eq!(delivery["attempts"][0]["error"], "the endpoint answered 500 Internal Server Error");
        app.stop().await;
    }

    async fn a_slow_receiver_does_not_hold_up_calls(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let (receiver, url) = receiver(0, Duration::from_secs(3)).await;
        endpoint(&app, &url, &["call.completed"]).await;
        app.start_worker(None, 50);
        let placed = answered_call(&app).await;
        // The call is complete and recorded while the receiver is still taking its time.
        let call = body(app.get(&format!("/api/v1/calls/{}", placed["call_id"].as_str().unwrap())).await).await;
        assert_eq!(call["data"]["status"], "answered");
        assert_eq!(*receiver.finished.lock().unwrap(), 0, "no delivery had finished when the call was done");
        app.drain_jobs().await;
        assert_eq!(*receiver.finished.lock().unwrap(), 1);
        app.stop().await;
    }

    async fn rotated_secrets_sign_alongside_the_old_one(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let (receiver, url) = receiver(0, Duration::ZERO).await;
        let hook = endpoint(&app, &url, &["sms.received"]).await;
        let id = hook["id"].as_str().unwrap();
        let old = hook["secret"].as_str().unwrap().to_owned();
        let rotated = app.post(&format!("/api/v1/webhooks/{id}/rotate-secret"), &json!({})).await;
        assert_eq!(rotated.status(), StatusCode::OK);
        let new = body(rotated).await["data"]["webhook"]["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let tested = app.post(&format!("/api/v1/webhooks/{id}/test"), &json!({})).await;
        assert_eq!(tested.status(), StatusCode::ACCEPTED);
        app.start_worker(None, 50);
        app.drain_jobs().await;
        let got = receiver.received.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body["type"], "webhook.test");
        let signature = &got[0].signature;
        assert_eq!(signature.matches("v1=").count(), 2, "{signature}");
        assert!(verifies(signature, &new, &got[0].raw) && verifies(signature, &old, &got[0].raw));

        // By hand, again: the same event.
        let delivery = deliveries(&app, &hook).await["deliveries"][0]["id"].as_str().unwrap().to_owned();
        let again = app.post(&format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"), &json!({})).await;
        assert_eq!(again.status(), StatusCode::ACCEPTED);
        app.drain_jobs().await;
        let got = receiver.received.lock().unwrap().clone();
        assert_eq!(got.len(), 2);
        assert_eq!((got[1].event_id.as_str(), got[1].raw.as_str()), (got[0].event_id.as_str(), got[0].raw.as_str()));
        app.stop().await;
    }

    async fn endpoints_refuse_bad_urls_events_and_headers(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let refused = app.post("/api/v1/webhooks", &json!({"url": "http://hooks.example.com/x", "events": ["call.exploded"],
            "headers": {"Content-Type": "x", "Bad Header": "y"}})).await;
        assert_error(refused, 422, "validation_failed", &["url", "events[0]", "headers.Bad Header", "headers.Content-Type"]).await;
        assert_error(app.post("/api/v1/webhooks", &json!({"events": []})).await, 422, "validation_failed", &["url", "events"]).await;
        let ok = app.post("/api/v1/webhooks", &json!({"url": "https://hooks.example.com/x"})).await;
        assert_eq!(ok.status(), StatusCode::CREATED);
        let created = body(ok).await["data"]["webhook"].clone();
        assert_eq!(created["events"].as_array().unwrap().len(), 7, "all events by default");
        let id = created["id"].as_str().unwrap();
        let paused = app.put(&format!("/api/v1/webhooks/{id}"), &json!({"active": false})).await;
        assert_eq!(body(paused).await["data"]["webhook"]["active"], false);
        let viewer = app.key_with_role("viewer").await;
        assert_error(app.as_key(&viewer, Method::GET, "/api/v1/webhooks").send().await.unwrap(), 403, "forbidden", &[]).await;
        let (_, other) = app.new_business("Other Co").await;
        for (method, path) in [(Method::GET, format!("/api/v1/webhooks/{id}")), (Method::POST, format!("/api/v1/webhooks/{id}/rotate-secret")),
            (Method::GET, format!("/api/v1/webhooks/{id}/deliveries")), (Method::DELETE, format!("/api/v1/webhooks/{id}"))] {
            assert_error(app.as_key(&other, method, &path).send().await.unwrap(), 404, "not_found", &[]).await;
        }
        assert_eq!(app.delete(&format!("/api/v1/webhooks/{id}")).await.status(), StatusCode::OK);
        assert_error(app.get(&format!("/api/v1/webhooks/{id}")).await, 404, "not_found", &[]).await;
        app.stop().await;
    }

    async fn webhooks_never_reach_internal_addresses(backend: Backend) {
        let options = TestOptions { allow_http_webhooks: false, ..TestOptions::default() };
        let mut app = TestApp::spawn_with_options(backend, options).await;
        for url in [
            "https://127.0.0.1/hook", "https://localhost/hook", "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/", "https://metadata.google.internal/computeMetadata/v1/", "https://10.1.2.3/",
            "https://172.16.0.1/", "https://192.168.0.1/", "https://[fc00::1]/", "https://[fe80::1]/", "https://0.0.0.0/",
            "https://[::]/", "https://[::ffff:127.0.0.1]/", "https://2130706433/", "https://0x7f000001/",
            "https://0177.0.0.1/", "https://127.1/", "http://127.0.0.1:9/hook", "https://user:pw@hooks.example.com/",
        ] {
            let refused = app.post("/api/v1/webhooks", &json!({"url": url})).await;
            assert_error(refused, 422, "validation_failed", &["url"]).await;
        }
        // An address stored before the check (or changed behind the API's back) is refused
        // by the sender too, before it connects; a name resolving to an internal address
        // (DNS rebinding) is the sender's own test (`outbound.rs`).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(Mutex::new(0usize));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                *counted.lock().unwrap() += 1;
                drop(socket);
            }
        });
        app.start_worker(None, 50);
        for (now, expected) in [
            (format!("https://[::ffff:127.0.0.1]:{port}/hook"), "refused: the URL must not be a loopback address"),
            (format!("https://2130706433:{port}/hook"), "refused: the URL must not be a loopback address"),
            (format!("https://[fd00:ec2::254]:{port}/"), "refused: the URL must not be a private, link-local or reserved address"),
        ] {
            let hook = endpoint(&app, "https://hooks.example.com/ringtrack", &["call.completed"]).await;
            let id: ringtrack_domain::WebhookId = hook["id"].as_str().unwrap().parse().unwrap();
            let current = ringtrack_store::webhooks::get(&app.store, app.business, id).await.unwrap().unwrap();
            let mut tx = app.store.begin().await.unwrap();
            let settings = ringtrack_store::webhooks::EndpointSettings { url: now, events: current.events.clone(),
                headers: current.headers.clone(), active: true };
            ringtrack_store::webhooks::update(&mut tx, &current, &settings).await.unwrap();
            tx.commit().await.unwrap();
            let queued = app.post(&format!("/api/v1/webhooks/{id}/test"), &json!({})).await;
            assert_eq!(queued.status(), StatusCode::ACCEPTED);
            let attempt = first_attempt(&app, &hook).await;
            assert_eq!(attempt["error"], expected, "{attempt}");
            assert!(attempt["status_code"].is_null());
        }
        assert_eq!(*connections.lock().unwrap(), 0, "no connection reached the internal address");
        app.stop().await;
    }

    async fn the_loopback_exception_checks_and_sends_with_one_parser(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let (receiver, url) = receiver(0, Duration::ZERO).await;
        let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
        // `\` is `/` to the WHATWG parser: the host is 0x7f000001, 127.0.0.1, to the check
        // and to the sender alike; the "@127.0.0.1" is part of the path.
        let tricky = format!("http://0x7f000001:{port}\\@127.0.0.1/hook");
        let hook = endpoint(&app, &tricky, &["call.completed"]).await;
        assert_eq!(hook["url"], format!("http://127.0.0.1:{port}/@127.0.0.1/hook"));
        assert_error(app.post("/api/v1/webhooks", &json!({"url": "http://0x0a000001:80\\@127.0.0.1/"})).await, 422, "validation_failed", &["url"]).await;
        app.start_worker(None, 50);
        let queued = app.post(&format!("/api/v1/webhooks/{}/test", hook["id"].as_str().unwrap()), &json!({})).await;
        assert_eq!(queued.status(), StatusCode::ACCEPTED);
        let attempt = first_attempt(&app, &hook).await;
        assert_eq!(attempt["status_code"], 404, "sent to the address checked, where /@127.0.0.1/hook is not a route: {attempt}");
        assert!(receiver.received.lock().unwrap().is_empty());
        app.stop().await;
    }

    async fn custom_headers_are_checked_and_sealed_at_rest(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        for (headers, field) in [
            (json!({"Ringtrack-Event-Id": "forged"}), "headers.Ringtrack-Event-Id"),
            (json!({"ringtrack-event-type": "call.completed"}), "headers.ringtrack-event-type"),
            (json!({"X-Token": "a\u{7f}b"}), "headers.X-Token"),
            (json!({"X-Token": "caf\u{e9}"}), "headers.X-Token"),
            (json!({"X-Token": "a\r\nInjected: yes"}), "headers.X-Token"),
        ] {
            let refused = app.post("/api/v1/webhooks", &json!({"url": "https://hooks.example.com/x", "headers": headers})).await;
            assert_error(refused, 422, "validation_failed", &[field]).await;
        }
        let (receiver, url) = receiver(0, Duration::ZERO).await;
        let hook = endpoint(&app, &url, &["call.completed"]).await;
        assert_eq!(hook["headers"], json!({"X-CRM-Token": "t0k"}), "shown to the business as given");
        let id: ringtrack_domain::WebhookId = hook["id"].as_str().unwrap().parse().unwrap();
        let kept = ringtrack_store::webhooks::get(&app.store, app.business, id).await.unwrap().unwrap();
        match &kept.headers {
            ringtrack_domain::webhooks::StoredHeaders::Sealed(sealed) => assert!(!sealed.contains("t0k") && !sealed.contains("X-CRM")),
            plain => panic!("kept in plain text: {plain:?}"),
        }
        // Headers saved in plain text before sealing are sealed when a server starts.
        let plain = ringtrack_domain::webhooks::StoredHeaders::Plain([("X-CRM-Token".to_owned(), "t0k".to_owned())].into());
        let mut tx = app.store.begin().await.unwrap();
        let settings = ringtrack_store::webhooks::EndpointSettings { url: kept.url.clone(), events: kept.events.clone(), headers: plain, active: true };
        ringtrack_store::webhooks::update(&mut tx, &kept, &settings).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(ringtrack_store::webhooks::seal_plain_headers(&app.store, &app.sealer).await.unwrap(), 1);
        assert_eq!(ringtrack_store::webhooks::seal_plain_headers(&app.store, &app.sealer).await.unwrap(), 0, "once");
        let resealed = ringtrack_store::webhooks::get(&app.store, app.business, id).await.unwrap().unwrap();
        assert!(matches!(resealed.headers, ringtrack_domain::webhooks::StoredHeaders::Sealed(_)));
        let shown = body(app.get(&format!("/api/v1/webhooks/{id}")).await).await;
        assert_eq!(shown["data"]["webhook"]["headers"], json!({"X-CRM-Token": "t0k"}));

        app.start_worker(None, 50);
        answered_call(&app).await;
        app.drain_jobs().await;
        let received = receiver.received.lock().unwrap().clone();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].custom.as_deref(), Some("t0k"), "opened for each delivery");
        app.stop().await;
    }

    async fn the_google_ads_file_lists_qualifying_clicked_calls(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut tx = app.store.begin().await.unwrap();
        ringtrack_store::testing::execute(&mut tx, &format!("UPDATE businesses SET timezone = 'America/Chicago' WHERE id = '{}'", app.business)).await;
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let call = |when: &str, gclid: Option<&str>, seconds: i64, qualified: bool| {
            let mut c = ringtrack_store::testing::past_call(app.business, at(when), "answered", seconds);
            c.gclid = gclid.map(str::to_owned);
            c.qualified = qualified;
            c
        };
        let calls = vec![
            call("2026-03-23T19:30:00Z", Some("Cj0-good"), 120, true),
            call("2026-03-23T20:00:00Z", Some("Cj0-short"), 30, true),
            call("2026-03-23T21:00:00Z", Some("Cj0-unqualified"), 200, false),
            call("2026-03-23T22:00:00Z", None, 300, true),
            call("2026-03-25T15:00:00Z", Some("Cj0-later"), 100, true),
        ];
        ringtrack_core::calls::import(&mut tx, &calls).await.unwrap();
        tx.commit().await.unwrap();

        let query = "date_from=2026-03-23&date_to=2026-03-24&min_duration=60&qualified_only=true&conversion_name=Phone%20lead&conversion_value=25";
        let file = app.get(&format!("/api/v1/integrations/google-ads/conversions.csv?{query}")).await;
        assert_eq!(file.status(), StatusCode::OK);
        assert!(file.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert_eq!(file.text().await.unwrap(),
            "Parameters:TimeZone=America/Chicago\r\n\
             Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\r\n\
             Cj0-good,Phone lead,2026-03-23 14:30:00,25,USD\r\n");
        let left_out = body(app.get(&format!("/api/v1/integrations/google-ads/ineligible?{query}")).await).await["data"].clone();
        assert_eq!((left_out["total"].as_u64(), left_out["eligible"].as_u64()), (Some(3), Some(1)));
        let reasons: Vec<(&str, &str)> = left_out["calls"].as_array().unwrap().iter()
            .map(|c| (c["gclid"].as_str().unwrap_or("-"), c["reason"].as_str().unwrap())).collect();
        assert_eq!(reasons, [("-", "no_gclid"), ("Cj0-unqualified", "not_qualified"), ("Cj0-short", "too_short")]);
        assert_error(app.get("/api/v1/integrations/google-ads/conversions.csv?min_duration=-1&currency=dollars").await,
            422, "validation_failed", &["min_duration", "currency"]).await;
        app.stop().await;
    }
}
