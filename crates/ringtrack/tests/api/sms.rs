//! Texts both ways on both backends: sending (charged per segment, queued, delivered by the
//! sandbox's signed reports), refusals with their fields, STOP/START/HELP through the
//! signed SMS webhook, conversations, status callbacks, and isolation between businesses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use crate::common::{FaultyCarrier, TestApp, TestOptions, assert_error, body, signed_post};
use ringtrack_api::rate_limit::Rate;

const PERSON: &str = "+13055551234";

/// Credits the business, buys a number; answers its id and phone number.
async fn texting_number(app: &TestApp, credit: i64) -> (String, String) {
    app.credit(app.business, credit).await;
    let bought = app.post("/api/v1/numbers/purchase", &json!({"area_code": "573"})).await;
    assert_eq!(bought.status(), StatusCode::CREATED);
    let number = body(bought).await["data"].clone();
    (number["id"].as_str().unwrap().to_owned(), number["phone_number"].as_str().unwrap().to_owned())
}

async fn send(app: &TestApp, number_id: &str, to: &str, text: &str) -> reqwest::Response {
    app.post("/api/v1/texts", &json!({"from_number_id": number_id, "to": to, "body": text})).await
}

/// A text from `from` to the tracking number, through the sandbox; answers the TwiML reply.
async fn text_in(app: &TestApp, from: &str, to: &str, text: &str) -> String {
    let delivered = app.post("/api/v1/sandbox/sms", &json!({"from": from, "to": to, "body": text})).await;
    assert_eq!(delivered.status(), StatusCode::CREATED);
    body(delivered).await["data"]["response"].as_str().unwrap().to_owned()
}

async fn messages(app: &TestApp, query: &str) -> Value {
    let listed = app.get(&format!("/api/v1/sms{query}")).await;
    assert_eq!(listed.status(), StatusCode::OK);
    body(listed).await["data"].clone()
}

/// Waits for a message to reach `status` (the sandbox reports a moment after sending).
async fn eventually(app: &TestApp, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = messages(app, "?per_page=250").await;
        let found = all["messages"].as_array().unwrap().iter().find(|m| m["id"] == id).cloned().unwrap();
        if found["status"] == status {
            return found;
        }
        assert!(Instant::now() < deadline, "{id} still {}", found["status"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

test_on_both_backends! {
    async fn a_text_is_charged_per_segment_queued_and_delivered(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let (number_id, number) = texting_number(&app, 10_000).await;
        let before = app.balance(app.business).await;
        let sent = send(&app, &number_id, "(305) 555-1234", &"a".repeat(161)).await;
        assert_eq!(sent.status(), StatusCode::CREATED);
        let sent = body(sent).await["data"].clone();
        assert_eq!((sent["status"].as_str(), sent["segments"].as_i64(), sent["cost_cents"].as_i64()), (Some("queued"), Some(2), Some(2)));
        assert_eq!((sent["from"].as_str(), sent["to"].as_str()), (Some(number.as_str()), Some(PERSON)));
        assert_eq!((sent["direction"].as_str(), sent["contact"].as_str()), (Some("outbound"), Some(PERSON)));
        assert_eq!(app.balance(app.business).await, before - 2, "two segments at a cent each");

        let unicode = body(send(&app, &number_id, PERSON, &format!("{}ł", "a".repeat(70))).await).await["data"].clone();
        assert_eq!((unicode["segments"].as_i64(), unicode["cost_cents"].as_i64()), (Some(2), Some(2)), "71 UCS-2 characters");

        app.start_worker(None, 50);
        let delivered = eventually(&app, sent["id"].as_str().unwrap(), "delivered").await;
        assert!(delivered["error"].is_null());
        eventually(&app, unicode["id"].as_str().unwrap(), "delivered").await;
        app.stop().await;
    }

    async fn refused_texts_name_their_field_and_keep_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (number_id, _) = texting_number(&app, 300).await;
        assert_eq!(app.balance(app.business).await, 0, "the number took the whole credit");
        assert_error(send(&app, &number_id, PERSON, "hello").await, 402, "insufficient_balance", &[]).await;
        assert_error(send(&app, &number_id, PERSON, "   ").await, 422, "validation_failed", &["body"]).await;
        assert_error(send(&app, &number_id, PERSON, &"a".repeat(1601)).await, 422, "validation_failed", &["body"]).await;
        assert_error(send(&app, &number_id, "12", "hi").await, 422, "validation_failed", &["to"]).await;
        assert_error(send(&app, "not-a-uuid", PERSON, "hi").await, 422, "validation_failed", &["from_number_id"]).await;
        let unknown = uuid::Uuid::now_v7().to_string();
        assert_error(send(&app, &unknown, PERSON, "hi").await, 422, "validation_failed", &["from_number_id"]).await;
        app.credit(app.business, 100).await;
        let released = app.delete(&format!("/api/v1/numbers/{number_id}")).await;
        assert_eq!(released.status(), StatusCode::OK);
        assert_error(send(&app, &number_id, PERSON, "hi").await, 422, "validation_failed", &["from_number_id"]).await;
        assert_eq!(messages(&app, "").await["total"], 0);
        assert_eq!(app.balance(app.business).await, 100, "nothing was charged");
        let jobs = ringtrack_store::jobs::all(&app.store).await.unwrap();
        assert!(jobs.iter().all(|j| j.kind != "send_sms"), "{jobs:?}");
        app.stop().await;
    }

    async fn stop_opts_out_then_sends_are_refused_until_start(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (number_id, number) = texting_number(&app, 10_000).await;
        let reply = text_in(&app, PERSON, &number, "  stop ").await;
        assert!(reply.contains("<Message>Acme Plumbing: You have been unsubscribed"), "{reply}");
        assert!(!text_in(&app, PERSON, &number, "STOP").await.contains("<Message>"), "confirmed once only");
        let refused = assert_error(send(&app, &number_id, PERSON, "We miss you!").await, 422, "opted_out", &["to"]).await;
        assert!(refused["error"]["message"].as_str().unwrap().contains(PERSON));
        // Someone else is not affected; nor is the person for "please stop calling".
        assert_eq!(send(&app, &number_id, "+13055550000", "hi").await.status(), StatusCode::CREATED);
        assert!(!text_in(&app, PERSON, &number, "please stop calling").await.contains("<Message>"));

        let reply = text_in(&app, PERSON, &number, "Start").await;
        assert!(reply.contains("resubscribed"), "{reply}");
        assert_eq!(send(&app, &number_id, PERSON, "Welcome back").await.status(), StatusCode::CREATED);
        let help = text_in(&app, PERSON, &number, "help").await;
        assert!(help.contains("Acme Plumbing: Reply STOP to unsubscribe"), "{help}");

        // The conversation holds every text and every automatic reply, both ways.
        let conversation = messages(&app, &format!("?contact={}", urlencode(PERSON))).await;
        let bodies: Vec<(&str, &str)> = conversation["messages"].as_array().unwrap().iter()
            .map(|m| (m["direction"].as_str().unwrap(), m["body"].as_str().unwrap())).collect();
        assert_eq!(conversation["total"], 9, "{bodies:?}");
        assert_eq!(bodies[0].0, "outbound", "the HELP reply is the newest: {bodies:?}");
        assert!(bodies.contains(&("inbound", "  stop ")) && bodies.contains(&("outbound", "Welcome back")));
        app.stop().await;
    }

    async fn conversations_filter_by_contact_direction_and_number(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (number_id, number) = texting_number(&app, 10_000).await;
        text_in(&app, PERSON, &number, "Do you fix water heaters?").await;
        send(&app, &number_id, PERSON, "Yes! When suits you?").await;
        let other = app.post("/api/v1/sandbox/sms", &json!({"from": "+13055550199", "to": number, "body": "",
            "media_urls": ["https://example.com/photo.jpg"]})).await;
        assert_eq!(other.status(), StatusCode::CREATED);

        let all = messages(&app, "").await;
        assert_eq!(all["total"], 3);
        let newest = &all["messages"][0];
        assert_eq!((newest["from"].as_str(), newest["status"].as_str()), (Some("+13055550199"), Some("received")));
        assert_eq!(newest["media_urls"], json!(["https://example.com/photo.jpg"]));
        assert_eq!(newest["number_id"], number_id.as_str());
        let with_person = messages(&app, &format!("?contact={}", urlencode("(305) 555-1234"))).await;
        let directions: Vec<&str> = with_person["messages"].as_array().unwrap().iter().map(|m| m["direction"].as_str().unwrap()).collect();
        assert_eq!(directions, ["outbound", "inbound"], "newest first, both ways");
        assert_eq!(messages(&app, "?direction=inbound").await["total"], 2);
        assert_eq!(messages(&app, &format!("?number_id={number_id}&direction=outbound")).await["total"], 1);
        assert_eq!(messages(&app, "?date_from=2000-01-01&date_to=2000-01-02").await["total"], 0);
        assert_eq!(messages(&app, "?per_page=1").await["messages"].as_array().unwrap().len(), 1);
        assert_error(app.get("/api/v1/sms?direction=sideways").await, 422, "validation_failed", &["direction"]).await;
        assert_error(app.get("/api/v1/sms?contact=abc").await, 422, "validation_failed", &["contact"]).await;
        app.stop().await;
    }

    async fn status_reports_move_forward_and_failures_keep_the_carrier_error(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let (number_id, _) = texting_number(&app, 10_000).await;
        let unreachable = body(send(&app, &number_id, "+13055550009", "hi").await).await["data"].clone();
        let fine = body(send(&app, &number_id, PERSON, "hi").await).await["data"].clone();
        app.start_worker(None, 50);
        let failed = eventually(&app, unreachable["id"].as_str().unwrap(), "failed").await;
        assert_eq!(failed["error"], "30003: unreachable destination handset");
        eventually(&app, fine["id"].as_str().unwrap(), "delivered").await;

        // A late "sent" does not undo "delivered"; an unknown message or status changes nothing.
        let sid = ringtrack_store::messages::by_id(&app.store, fine["id"].as_str().unwrap().parse().unwrap())
            .await.unwrap().unwrap().carrier_sid.unwrap();
        let late = signed_post(&app, "/webhooks/twilio/sms/status", &[("MessageSid", &sid), ("MessageStatus", "sent")]).await;
        assert_eq!(late.status(), StatusCode::NO_CONTENT);
        eventually(&app, fine["id"].as_str().unwrap(), "delivered").await;
        let unknown = signed_post(&app, "/webhooks/twilio/sms/status", &[("MessageSid", "SMnope"), ("MessageStatus", "failed")]).await;
        assert_eq!(unknown.status(), StatusCode::NO_CONTENT);
        let unsigned = app.client.post(format!("{}/webhooks/twilio/sms/status", app.base))
            .form(&[("MessageSid", sid.as_str()), ("MessageStatus", "failed")]).send().await.unwrap();
        assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
        eventually(&app, fine["id"].as_str().unwrap(), "delivered").await;
        app.stop().await;
    }

    async fn a_text_the_carrier_refuses_fails_and_is_refunded(backend: Backend) {
        let mut app = TestApp::spawn_with_carrier(backend, |store, dir| {
            let inner = crate::common::sandbox(store, dir);
            Arc::new(FaultyCarrier { refuse_texts: true, ..FaultyCarrier::around(inner) })
        }).await;
        let (number_id, _) = texting_number(&app, 10_000).await;
        let before = app.balance(app.business).await;
        let queued = body(send(&app, &number_id, PERSON, "hi").await).await["data"].clone();
        assert_eq!(app.balance(app.business).await, before - 1);
        app.start_worker(None, 50);
        app.drain_jobs().await;
        let failed = eventually(&app, queued["id"].as_str().unwrap(), "failed").await;
        assert_eq!(failed["error"], "21614: To number is not a mobile number");
        assert_eq!(app.balance(app.business).await, before, "refunded");
        app.stop().await;
    }

    async fn a_repeated_idempotency_key_sends_and_charges_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (number_id, _) = texting_number(&app, 10_000).await;
        let before = app.balance(app.business).await;
        let request = json!({"from_number_id": number_id, "to": PERSON, "body": "Your appointment is confirmed"});
        let post = || app.request(Method::POST, "/api/v1/texts").header("Idempotency-Key", "appt-42").json(&request).send();
        let first = post().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first = body(first).await;
        let again = post().await.unwrap();
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(body(again).await, first);
        assert_eq!(messages(&app, "").await["total"], 1);
        assert_eq!(app.balance(app.business).await, before - 1);
        app.stop().await;
    }

    async fn webhooks_are_signed_and_numbers_belong_to_their_business(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (number_id, number) = texting_number(&app, 10_000).await;
        let params = [("MessageSid", "SM1"), ("From", PERSON), ("To", number.as_str()), ("Body", "hi")];
        let unsigned = app.client.post(format!("{}/webhooks/twilio/sms", app.base)).form(&params).send().await.unwrap();
        assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
        let forged = app.client.post(format!("{}/webhooks/twilio/sms", app.base))
            .header("X-Twilio-Signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=").form(&params).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(messages(&app, "").await["total"], 0, "nothing kept");
        // A repeated delivery of one text is kept once.
        for _ in 0..2 {
            assert_eq!(signed_post(&app, "/webhooks/twilio/sms", &params).await.status(), StatusCode::OK);
        }
        assert_eq!(messages(&app, "").await["total"], 1);

        // Another business sees none of it and cannot send from the number.
        let (_, other) = app.new_business("Other Co").await;
        let listed: Value = app.as_key(&other, Method::GET, "/api/v1/sms").send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["data"]["total"], 0);
        let stolen = app.as_key(&other, Method::POST, "/api/v1/texts")
            .json(&json!({"from_number_id": number_id, "to": PERSON, "body": "hi"})).send().await.unwrap();
        assert_error(stolen, 422, "validation_failed", &["from_number_id"]).await;
        let sandboxed = app.as_key(&other, Method::POST, "/api/v1/sandbox/sms")
            .json(&json!({"from": PERSON, "to": number, "body": "hi"})).send().await.unwrap();
        assert_error(sandboxed, 422, "validation_failed", &["to"]).await;

        // Texts to a released number are not kept and get no reply.
        app.delete(&format!("/api/v1/numbers/{number_id}")).await;
        let late = signed_post(&app, "/webhooks/twilio/sms", &[("MessageSid", "SM2"), ("From", PERSON), ("To", &number), ("Body", "STOP")]).await;
        assert_eq!(late.status(), StatusCode::OK);
        assert!(!late.text().await.unwrap().contains("<Message>"));
        assert_eq!(messages(&app, "").await["total"], 1);
        app.stop().await;
    }

    async fn carrier_webhooks_are_bounded_and_limited_per_address(backend: Backend) {
        let options = TestOptions { carrier_rate: Rate { per_second: 0.001, burst: 12.0 }, ..TestOptions::default() };
        let app = TestApp::spawn_with_options(backend, options).await;
        let (_, number) = texting_number(&app, 10_000).await;
        let to = number.as_str();
        let long_body = "x".repeat(1601);
        let long_city = "x".repeat(100_000);
        for (field, params) in [
            ("Body", vec![("MessageSid", "SM1"), ("From", PERSON), ("To", to), ("Body", long_body.as_str())]),
            ("FromCity", vec![("MessageSid", "SM2"), ("From", PERSON), ("To", to), ("Body", "hi"), ("FromCity", long_city.as_str())]),
            ("MediaUrl0", vec![("MessageSid", "SM3"), ("From", PERSON), ("To", to), ("Body", "hi"), ("NumMedia", "1"), ("MediaUrl0", "javascript:alert(1)")]),
        ] {
            assert_error(signed_post(&app, "/webhooks/twilio/sms", &params).await, 422, "validation_failed", &[field]).await;
        }
        let kept = body(app.get("/api/v1/sms").await).await;
        assert_eq!(kept["data"]["total"], 0, "nothing out of bounds is kept: {kept}");
        // Within bounds, a text is kept with its https media.
        let fine = signed_post(&app, "/webhooks/twilio/sms", &[("MessageSid", "SM4"), ("From", PERSON), ("To", to),
            ("Body", &"y".repeat(1600)), ("NumMedia", "1"), ("MediaUrl0", "https://api.twilio.com/media/ME1")]).await;
        assert_eq!(fine.status(), StatusCode::OK);
        assert_eq!(body(app.get("/api/v1/sms").await).await["data"]["total"], 1);

        // A wrong signature draws on the address's bucket too; the address's carrier
        // budget (12 here) then runs out, signed or not.
        let mut answered = Vec::new();
        for i in 0..12 {
            let url = format!("{}/webhooks/twilio/sms", app.base);
            let forged = app.client.post(&url).header("X-Twilio-Signature", "AAAA").form(&[("MessageSid", format!("SMf{i}"))]).send().await.unwrap();
            answered.push(forged.status().as_u16());
        }
        assert!(answered.contains(&403) && answered.last() == Some(&429), "{answered:?}");
        assert_eq!(signed_post(&app, "/webhooks/twilio/sms", &[("MessageSid", "SM5"), ("From", PERSON), ("To", to), ("Body", "hi")]).await.status(), StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;
    }

    async fn texts_carry_no_control_characters(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (number_id, number) = texting_number(&app, 10_000).await;
        for text in ["Hi\u{0}there", "bell\u{7}", "\u{1b}[31mred", "del\u{7f}"] {
            assert_error(send(&app, &number_id, PERSON, text).await, 422, "validation_failed", &["body"]).await;
            let delivered = app.post("/api/v1/sandbox/sms", &json!({"from": PERSON, "to": number, "body": text})).await;
            assert_error(delivered, 422, "validation_failed", &["body"]).await;
        }
        assert_eq!(send(&app, &number_id, PERSON, "Line one\nLine two\tand a tab").await.status(), StatusCode::CREATED);
        app.stop().await;
    }

}

fn urlencode(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}
