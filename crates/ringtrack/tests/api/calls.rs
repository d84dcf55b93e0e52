//! The live call path end to end, on both backends: the sandbox carrier places calls
//! through the signed public webhooks, exactly as a real carrier would.

use reqwest::StatusCode;
use ringtrack_carrier::signature;
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringtrack::quiet_calls::settle_quiet_calls;
use ringtrack_carrier::CallProgress;
use ringtrack_domain::Prices;

use crate::common::{FaultyCarrier, TestApp, WEBHOOK_TOKEN, assert_error, body};

/// Buys a number and routes it through a new flow; answers the number.
pub(crate) async fn number_with_flow(app: &TestApp, steps: Value, settings: Value) -> String {
    app.credit(app.business, 10_000).await;
    let number = body(
        app.post("/api/v1/numbers/purchase", &json!({"area_code": "573", "friendly_name": "Google Ads"}))
            .await,
    )
    .await;
    let flow = app
        .post("/api/v1/call-flows", &json!({"name": "Main Flow", "steps": steps, "settings": settings}))
        .await;
    assert_eq!(flow.status(), StatusCode::CREATED);
    let flow = body(flow).await;
    let id = number["data"]["id"].as_str().unwrap();
    let assigned = app
        .patch(&format!("/api/v1/numbers/{id}"), &json!({"call_flow_id": flow["data"]["call_flow"]["id"]}))
        .await;
    assert_eq!(assigned.status(), StatusCode::OK);
    number["data"]["phone_number"].as_str().unwrap().to_owned()
}

pub(crate) async fn place(app: &TestApp, call: Value) -> Value {
    let placed = app.post("/api/v1/sandbox/calls", &call).await;
    assert_eq!(placed.status(), StatusCode::CREATED);
    body(placed).await["data"].clone()
}

async fn call_record(app: &TestApp, placed: &Value) -> Value {
    let id = placed["call_id"].as_str().expect("the call was recorded");
    body(app.get(&format!("/api/v1/calls/{id}")).await).await["data"].clone()
}

fn twiml_of<'a>(placed: &'a Value, path_prefix: &str) -> Vec<&'a str> {
    placed["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["request"].as_str().unwrap().starts_with(&format!("POST {path_prefix}")))
        .map(|t| t["response"].as_str().unwrap())
        .collect()
}

/// Posts a webhook as the carrier would, signed (or not) with the server's token.
async fn webhook(
    app: &TestApp,
    path_and_query: &str,
    params: &[(String, String)],
    signed: bool,
) -> reqwest::Response {
    let url = format!("{}{path_and_query}", app.base);
    let mut request = app.client.post(&url).form(params);
    if signed {
        request = request.header("X-Twilio-Signature", signature::sign(WEBHOOK_TOKEN, &url, params));
    }
    request.send().await.unwrap()
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

test_on_both_backends! {
    async fn an_answered_call_with_whisper_and_recording(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(
            &app,
            json!([{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": "(305) 555-4567"}]),
            json!({"recording": true, "whisper": true}),
        )
        .await;
        let before = app.balance(app.business).await;
        let placed = place(&app, json!({"from": "+13055551234", "to": tracking, "answer": true, "talk_seconds": 145,
            "caller_city": "Miami", "caller_state": "FL", "caller_zip": "33101"})).await;
        let call = call_record(&app, &placed).await;
        assert_eq!(call["status"], "answered");
        assert_eq!(call["caller_number"], "+13055551234");
        assert_eq!(call["tracking_number"], tracking);
        assert_eq!(call["destination_number"], "+13055554567");
        assert_eq!(call["call_flow_name"], "Main Flow");
        assert_eq!(call["call_flow_version"], 1);
        assert_eq!(call["caller_city"], "Miami");
        assert_eq!(call["caller_state"], "FL");
        assert_eq!(call["first_time_caller"], true);
        // The carrier's recording is queued for keeping; it is the call's once kept.
        assert_eq!(call["has_recording"], false);
        let queued = ringtrack_store::jobs::all(&app.store).await.unwrap();
        assert!(queued.iter().any(|j| j.kind == "store_recording" && j.payload.contains("sandbox:RE")), "{queued:?}");
        let duration = call["duration_seconds"].as_i64().unwrap();
        assert_eq!(duration, placed["duration_seconds"].as_i64().unwrap());
        assert!(duration >= 145, "{duration}");
        // A simulated call is stamped with the times it would have had: it began its length
        // before it ended (unless that crosses midnight UTC), and was answered in between,
        // after its greeting and the agent's ring.
        let at = |field: &str| call[field].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_second();
        let (began, answered, ended) = (at("created_at"), at("answered_at"), at("ended_at"));
        assert!(began < answered && answered < ended, "{call}");
        assert!(ended - began == duration || began % 86_400 == 0, "{call}");
        assert!(ended - answered >= 145, "talked at least as long as scripted: {call}");
        let cost = (duration + 59) / 60 * 5;
        assert_eq!(call["cost_cents"], cost);
        assert_eq!(app.balance(app.business).await, before - cost);

        // The TwiML a real carrier would have executed.
        let first = twiml_of(&placed, "/webhooks/twilio/voice")[0];
        assert!(first.contains("<Say>Thanks for calling</Say>"), "{first}");
        assert!(first.contains("record=\"record-from-answer-dual\""), "{first}");
        assert!(first.contains("callerId=\"+13055551234\""), "{first}");
        assert!(first.contains(">+13055554567</Number>"), "{first}");
        let whisper = twiml_of(&placed, "/webhooks/twilio/voice/whisper")[0];
        assert!(whisper.contains("<Say>Google Ads</Say>"), "the default whisper is the number's name: {whisper}");

        // The same caller again is no longer a first-time caller.
        let again = place(&app, json!({"from": "+13055551234", "to": tracking, "answer": true, "talk_seconds": 5})).await;
        assert_eq!(call_record(&app, &again).await["first_time_caller"], false);
        let list = body(app.get("/api/v1/calls").await).await;
        assert_eq!(list["data"]["total"], 2);
        app.stop().await;
    }

    async fn an_unanswered_forward_falls_through_to_voicemail(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(
            &app,
            json!([{"type": "forward", "number": "3055554567", "timeout_seconds": 20}, {"type": "voicemail", "message": "Please leave a message"}]),
            json!({}),
        )
        .await;
        let placed = place(&app, json!({"from": "+13055550000", "to": tracking, "answer": false,
            "voicemail_text": "Hi, this is Ann. My water heater is leaking, please call me back."})).await;
        let call = call_record(&app, &placed).await;
        assert_eq!(call["status"], "voicemail");
        assert_eq!(call["destination_number"], Value::Null);
        let after_dial = twiml_of(&placed, "/webhooks/twilio/voice/dial")[0];
        assert!(after_dial.contains("<Record "), "{after_dial}");
        let voicemails = body(app.get("/api/v1/voicemails").await).await;
        assert_eq!(voicemails["data"]["total"], 1);
        let voicemail = voicemails["data"]["voicemails"][0].clone();
        assert_eq!(voicemail["call_id"], placed["call_id"]);
        assert_eq!(voicemail["caller_number"], "+13055550000");
        assert_eq!(voicemail["tracking_number"], tracking);
        assert!(voicemail["duration_seconds"].as_i64().unwrap() > 0);
        let id = voicemail["id"].as_str().unwrap();
        assert_eq!(body(app.get(&format!("/api/v1/voicemails/{id}")).await).await["data"], voicemail);
        let number_id = call["number_id"].as_str().unwrap();
        assert_eq!(body(app.get(&format!("/api/v1/voicemails?number_id={number_id}")).await).await["data"]["total"], 1);
        assert_eq!(body(app.get(&format!("/api/v1/voicemails?number_id={}", uuid::Uuid::now_v7())).await).await["data"]["total"], 0);
        assert_error(app.get(&format!("/api/v1/voicemails/{id}/recording")).await, 404, "not_found", &[]).await;
        assert_error(app.get("/api/v1/voicemails?date_from=nope").await, 422, "validation_failed", &["date_from"]).await;

        // Nobody answers and no message is left: missed.
        let silent = place(&app, json!({"from": "+13055550001", "to": tracking, "answer": false})).await;
        assert_eq!(call_record(&app, &silent).await["status"], "missed");
        app.stop().await;
    }

    async fn a_menu_routes_by_digit_and_press1_must_be_pressed(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(
            &app,
            json!([{"type": "menu", "prompt": "Press 1 for sales, 2 for service", "options": {
                "1": [{"type": "forward", "number": "3055551001"}],
                "2": [{"type": "forward", "number": "3055551002"}]}},
              {"type": "voicemail"}]),
            json!({"press1": true, "whisper": true, "whisper_message": "Service call"}),
        )
        .await;
        let service = place(&app, json!({"from": "+13055550002", "to": tracking, "digits": "2", "talk_seconds": 30})).await;
        let call = call_record(&app, &service).await;
        assert_eq!(call["status"], "answered");
        assert_eq!(call["destination_number"], "+13055551002");
        let gather = twiml_of(&service, "/webhooks/twilio/voice")[0];
        assert!(gather.contains("<Gather input=\"dtmf\" numDigits=\"1\""), "{gather}");
        let whisper = twiml_of(&service, "/webhooks/twilio/voice/whisper")[0];
        assert!(whisper.contains("Service call. Press 1 to accept the call."), "{whisper}");

        // The agent answers but does not press 1: not answered, the caller gets voicemail.
        let refused = place(&app, json!({"from": "+13055550003", "to": tracking, "digits": "1", "agent_accepts": false,
            "voicemail_text": "Call me back"})).await;
        let call = call_record(&app, &refused).await;
        assert_eq!(call["status"], "voicemail");
        assert_eq!(call["destination_number"], Value::Null);
        app.stop().await;
    }

    async fn replayed_callbacks_change_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(
            &app,
            json!([{"type": "menu", "prompt": "Press 1", "options": {"1": [{"type": "forward", "number": "3055551001"}]}}]),
            json!({}),
        )
        .await;
        let placed = place(&app, json!({"from": "+13055550004", "to": tracking, "digits": "1", "talk_seconds": 90})).await;
        let call = call_record(&app, &placed).await;
        let balance = app.balance(app.business).await;
        let trace = placed["trace"].as_array().unwrap();
        let replay = |prefix: &str| {
            let step = trace.iter().find(|t| t["request"].as_str().unwrap().starts_with(&format!("POST {prefix}"))).unwrap();
            let path = step["request"].as_str().unwrap()["POST ".len()..].to_owned();
            let params: Vec<(String, String)> = serde_json::from_value(step["params"].clone()).unwrap();
            (path, params, step["response"].as_str().unwrap().to_owned())
        };
        // The gather, repeated, answers the same TwiML and moves nothing.
        let (path, form, first_answer) = replay("/webhooks/twilio/voice/gather");
        let again = webhook(&app, &path, &form, true).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.text().await.unwrap(), first_answer);
        // The final status, repeated, charges nothing more.
        let (path, form, _) = replay("/webhooks/twilio/voice/status");
        assert_eq!(webhook(&app, &path, &form, true).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.balance(app.business).await, balance);
        assert_eq!(call_record(&app, &placed).await, call);
        // The first request, repeated, creates no second call.
        let (path, form, first_answer) = replay("/webhooks/twilio/voice");
        assert_eq!(webhook(&app, &path, &form, true).await.text().await.unwrap(), first_answer);
        assert_eq!(body(app.get("/api/v1/calls").await).await["data"]["total"], 1);
        app.stop().await;
    }

    async fn unsigned_or_forged_webhooks_are_refused_without_a_trace(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(&app, json!([{"type": "forward", "number": "3055551001"}]), json!({})).await;
        let form = params(&[("CallSid", "CA0123456789abcdef0123456789abcdef"), ("From", "+13055550005"), ("To", &tracking), ("CallStatus", "ringing")]);
        let unsigned = webhook(&app, "/webhooks/twilio/voice", &form, false).await;
        assert_error(unsigned, 403, "forbidden", &[]).await;
        let url = format!("{}/webhooks/twilio/voice", app.base);
        let forged = app.client.post(&url).form(&form).header("X-Twilio-Signature", signature::sign("wrong-token", &url, &form)).send().await.unwrap();
        assert_error(forged, 403, "forbidden", &[]).await;
        // Signed for other parameters: refused too.
        let mut tampered = form.clone();
        let signed_for_original = signature::sign(WEBHOOK_TOKEN, &url, &form);
        tampered[1].1 = "+19999999999".into();
        let tampered = app.client.post(&url).form(&tampered).header("X-Twilio-Signature", signed_for_original).send().await.unwrap();
        assert_error(tampered, 403, "forbidden", &[]).await;
        assert_eq!(body(app.get("/api/v1/calls").await).await["data"]["total"], 0);
        app.stop().await;
    }

    async fn a_call_to_a_number_not_in_service_is_politely_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let form = params(&[("CallSid", "CA0123456789abcdef0123456789abcdee"), ("From", "+13055550006"), ("To", "+15735550000"), ("CallStatus", "ringing")]);
        let answer = webhook(&app, "/webhooks/twilio/voice", &form, true).await;
        assert_eq!(answer.status(), StatusCode::OK);
        let twiml = answer.text().await.unwrap();
        assert!(twiml.contains("<Say>The number you have called is not in service. Goodbye.</Say><Hangup/>"), "{twiml}");
        assert_eq!(body(app.get("/api/v1/calls").await).await["data"]["total"], 0);
        // The sandbox refuses to call another business's number.
        let refused = app.post("/api/v1/sandbox/calls", &json!({"from": "+13055550006", "to": "+15735550000"})).await;
        assert_error(refused, 422, "validation_failed", &["to"]).await;
        app.stop().await;
    }

    async fn a_call_whose_final_status_never_came_is_settled_from_the_carrier(backend: Backend) {
        let progress = Arc::new(Mutex::new(None));
        let said = progress.clone();
        let app = TestApp::spawn_with_carrier(backend, move |store, dir| {
            let inner = crate::common::sandbox(store, dir);
            Arc::new(FaultyCarrier { call_progress: said, ..FaultyCarrier::around(inner) })
        })
        .await;
        let tracking = number_with_flow(&app, json!([{"type": "forward", "number": "3055551001"}]), json!({})).await;
        // The carrier's first request starts the call; its final status callback never comes.
        let form = params(&[("CallSid", "CA0123456789abcdef0123456789abcde0"), ("From", "+13055550007"), ("To", &tracking), ("CallStatus", "ringing")]);
        assert_eq!(webhook(&app, "/webhooks/twilio/voice", &form, true).await.status(), StatusCode::OK);
        let id = body(app.get("/api/v1/calls").await).await["data"]["calls"][0]["id"].as_str().unwrap().to_owned();
        let call = || async { body(app.get(&format!("/api/v1/calls/{id}")).await).await["data"].clone() };
        let balance = app.balance(app.business).await;
        let prices = Prices::default();
        let sweep = |now| settle_quiet_calls(&app.store, app.carrier.as_ref(), &prices, now, Duration::from_secs(900));
        let now = app.store.now();
        let an_hour_later = now.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();

        *progress.lock().unwrap() = Some(CallProgress::Ended { duration_seconds: 95 });
        assert_eq!(sweep(now).await.unwrap(), 0, "not quiet long enough to ask about");
        *progress.lock().unwrap() = Some(CallProgress::Live);
        assert_eq!(sweep(an_hour_later).await.unwrap(), 0, "a long conversation is left alone");
        assert_eq!(call().await["status"], "in_progress");
        *progress.lock().unwrap() = Some(CallProgress::Ended { duration_seconds: 95 });
        assert_eq!(sweep(an_hour_later).await.unwrap(), 1);
        assert_eq!(sweep(an_hour_later).await.unwrap(), 0, "settled once");
        // As its status callback would have: ended, its two started minutes charged, scored.
        let settled = call().await;
        assert_eq!((settled["status"].as_str(), settled["duration_seconds"].as_i64()), (Some("missed"), Some(95)), "{settled}");
        assert_eq!(app.balance(app.business).await, balance - prices.call(95).get());
        let queued = ringtrack_store::jobs::all(&app.store).await.unwrap();
        assert_eq!(queued.iter().filter(|j| j.kind == "score").count(), 1, "{queued:?}");
        // A late callback after all changes nothing.
        let late = params(&[("CallSid", "CA0123456789abcdef0123456789abcde0"), ("CallStatus", "completed"), ("CallDuration", "120")]);
        assert_eq!(webhook(&app, "/webhooks/twilio/voice/status", &late, true).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(call().await, settled);
        app.stop().await;
    }

    async fn quiet_calls_are_read_page_by_page(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(&app, json!([{"type": "forward", "number": "3055551001"}]), json!({})).await;
        for sid in ["CA0123456789abcdef0123456789abcd01", "CA0123456789abcdef0123456789abcd02", "CA0123456789abcdef0123456789abcd03"] {
            let form = params(&[("CallSid", sid), ("From", "+13055550008"), ("To", &tracking), ("CallStatus", "ringing")]);
            assert_eq!(webhook(&app, "/webhooks/twilio/voice", &form, true).await.status(), StatusCode::OK);
        }
        let now = app.store.now();
        let later = now.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
        let start = (jiff::Timestamp::UNIX_EPOCH, ringtrack_domain::CallId::from(uuid::Uuid::nil()));
        assert!(ringtrack_store::calls::quiet_in_progress(&app.store, now.checked_sub(jiff::SignedDuration::from_mins(1)).unwrap(), start, 10).await.unwrap().is_empty(), "none quiet yet");
        // One at a time, each once, though all three went quiet in the same second.
        let (mut after, mut seen) = (start, Vec::new());
        loop {
            let page = ringtrack_store::calls::quiet_in_progress(&app.store, later, after, 1).await.unwrap();
            let Some(call) = page.first() else { break };
            seen.push(call.call_sid.clone().unwrap());
            after = (call.updated_at, call.id);
        }
        seen.sort();
        assert_eq!(seen, ["CA0123456789abcdef0123456789abcd01", "CA0123456789abcdef0123456789abcd02", "CA0123456789abcdef0123456789abcd03"]);
        app.stop().await;
    }

    async fn carrier_durations_are_bounded_and_every_read_survives(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(&app, json!([{"type": "forward", "number": "3055551001"}]), json!({})).await;
        let sid = "CA0123456789abcdef0123456789abcd09";
        let arrived = params(&[("CallSid", sid), ("From", "+13055550009"), ("To", &tracking), ("CallStatus", "ringing")]);
        assert_eq!(webhook(&app, "/webhooks/twilio/voice", &arrived, true).await.status(), StatusCode::OK);
        for duration in ["9223372036854775807", "86401", "-1", "1e9"] {
            let ended = params(&[("CallSid", sid), ("CallStatus", "completed"), ("CallDuration", duration)]);
            assert_error(webhook(&app, "/webhooks/twilio/voice/status", &ended, true).await, 422, "validation_failed", &["CallDuration"]).await;
        }
        let listed = body(app.get("/api/v1/calls").await).await;
        assert_eq!(listed["data"]["calls"][0]["status"], "in_progress", "no bound-breaking callback settles a call");
        // A day is the most a call can last; it is charged, summed and read back.
        let ended = params(&[("CallSid", sid), ("CallStatus", "completed"), ("CallDuration", "86400")]);
        assert_eq!(webhook(&app, "/webhooks/twilio/voice/status", &ended, true).await.status(), StatusCode::NO_CONTENT);
        for read in ["/api/v1/dashboard/stats", "/api/v1/analytics/calls?group_by=date", "/api/v1/number-groups/bulk-stats", "/api/v1/calls/export"] {
            assert_eq!(app.get(read).await.status(), StatusCode::OK, "{read}");
        }
        let call = &body(app.get("/api/v1/calls").await).await["data"]["calls"][0];
        assert_eq!(call["duration_seconds"], 86400, "{call}");
        app.stop().await;
    }

    async fn what_reaches_twiml_carries_no_control_characters(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        for (steps, settings, field) in [
            (json!([{"type": "greeting", "message": "Thanks\u{0}for calling"}]), json!({}), "steps[0].message"),
            (json!([{"type": "greeting", "message": "Hi"}, {"type": "voicemail", "message": "Leave\u{7}a message"}]), json!({}), "steps[1].message"),
            (json!([{"type": "greeting", "message": "Hi"}]), json!({"whisper": true, "whisper_message": "Google\u{1b}[0m"}), "settings.whisper_message"),
        ] {
            let refused = app.post("/api/v1/call-flows", &json!({"name": "Flow", "steps": steps, "settings": settings})).await;
            assert_error(refused, 422, "validation_failed", &[field]).await;
        }
        assert_eq!(body(app.get("/api/v1/call-flows").await).await["data"]["total"], 0);
        // Notes reach the CSV export: lines and tabs are fine, controls are not.
        let tracking = number_with_flow(&app, json!([{"type": "greeting", "message": "Line one.\nLine two."}]), json!({})).await;
        let placed = place(&app, json!({"from": "+13055550000", "to": tracking})).await;
        let path = format!("/api/v1/calls/{}", placed["call_id"].as_str().unwrap());
        assert_error(app.patch(&path, &json!({"notes": "called back\u{0}"})).await, 422, "validation_failed", &["notes"]).await;
        assert_eq!(app.patch(&path, &json!({"notes": "Called back.\nBooked\tTuesday."})).await.status(), StatusCode::OK);
        app.stop().await;
    }

    async fn sandbox_scripts_are_bounded(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(&app, json!([{"type": "forward", "number": "3055551001"}]), json!({})).await;
        let long_conversation = format!("Caller: {}", "word ".repeat(1000));
        let long_voicemail = "a".repeat(1001);
        let long_city = "x".repeat(65);
        for (call, field) in [
            (json!({"from": "+13055550000", "to": tracking, "conversation": long_conversation}), "conversation"),
            (json!({"from": "+13055550000", "to": tracking, "voicemail_text": long_voicemail}), "voicemail_text"),
            (json!({"from": "+13055550000", "to": tracking, "voicemail_text": "call me\u{0}"}), "voicemail_text"),
            (json!({"from": "+13055550000", "to": tracking, "caller_city": long_city}), "caller_city"),
        ] {
            assert_error(app.post("/api/v1/sandbox/calls", &call).await, 422, "validation_failed", &[field]).await;
        }
        assert_eq!(body(app.get("/api/v1/calls").await).await["data"]["total"], 0, "no call was placed");
        app.stop().await;
    }

    async fn a_call_whose_saved_state_cannot_be_read_goes_on_to_its_first_destination(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(&app, json!([{"type": "greeting", "message": "Hi"},
            {"type": "menu", "prompt": "Press 1 for sales", "options": {"1": [{"type": "hangup"}]}},
            {"type": "forward", "number": "3055551001"}, {"type": "voicemail"}]), json!({})).await;
        let sid = "CA0123456789abcdef0123456789abcd0a";
        let arrived = params(&[("CallSid", sid), ("From", "+13055550010"), ("To", &tracking), ("CallStatus", "ringing")]);
        let answer = webhook(&app, "/webhooks/twilio/voice", &arrived, true).await.text().await.unwrap();
        assert!(answer.contains("<Gather"), "{answer}");
        // The state as an older ringtrack wrote it, in a shape this one cannot read.
        let call = ringtrack_store::calls::by_sid(&app.store, sid).await.unwrap().unwrap();
        let mut tx = app.store.begin().await.unwrap();
        ringtrack_store::calls::save_state(&mut tx, call.id, r#"{"rotation":0,"tracking_name":"Ads","engine":{"position":[1,0]}}"#).await.unwrap();
        tx.commit().await.unwrap();
        let pressed = params(&[("CallSid", sid), ("Digits", "1")]);
        let answer = webhook(&app, &format!("/webhooks/twilio/voice/gather?call={}&seq=1", call.id), &pressed, true).await.text().await.unwrap();
        assert!(answer.contains("<Dial") && answer.contains("+13055551001") && !answer.contains("<Hangup"), "{answer}");
        let mut figures = String::new();
        app.metrics.render(&mut figures);
        assert!(figures.contains("ringtrack_unreadable_call_states_total 1"), "{figures}");
        // From there the call runs on as usual: unanswered, to the voicemail.
        let seq = answer.split("seq=").nth(1).unwrap().split(['"', '&']).next().unwrap().to_owned();
        let ended = params(&[("CallSid", sid), ("DialCallStatus", "no-answer")]);
        let answer = webhook(&app, &format!("/webhooks/twilio/voice/dial?call={}&seq={seq}", call.id), &ended, true).await.text().await.unwrap();
        assert!(answer.contains("<Record"), "{answer}");
        app.stop().await;
    }

    async fn every_caller_is_answered_whatever_the_carrier_calls_them(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let tracking = number_with_flow(
            &app,
            json!([{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": "(305) 555-4567"}]),
            json!({}),
        )
        .await;
        let callers = [
            ("anonymous", true), ("Anonymous", true), ("Restricted", true), ("Unavailable", true), ("", true),
            ("+266696687", true), ("sip:alice@example.com", false), ("client:agent7", false), ("4420794609", false),
        ];
        for (n, (from, withheld)) in callers.iter().enumerate() {
            let sid = format!("CAwithheld{n:022}");
            let answer = webhook(&app, "/webhooks/twilio/voice", &params(&[("CallSid", &sid), ("From", from), ("To", &tracking),
                ("CallStatus", "ringing"), ("Direction", "inbound")]), true).await;
            assert_eq!(answer.status(), StatusCode::OK, "From={from:?}");
            let twiml = answer.text().await.unwrap();
            assert!(twiml.contains("Thanks for calling") && twiml.contains("<Dial"), "the flow runs for {from:?}: {twiml}");
            // The forwarded leg shows a number the carrier accepts: the tracking number.
            assert!(twiml.contains(&format!("callerId=\"{tracking}\"")), "{twiml}");
            let call = ringtrack_store::calls::by_sid(&app.store, &sid).await.unwrap().expect("the call is kept");
            assert_eq!(call.caller_number, from.trim(), "kept as the carrier gave it");
            assert_eq!(call.caller_withheld, *withheld, "{from:?}");
            let view = body(app.get(&format!("/api/v1/calls/{}", call.id)).await).await["data"].clone();
            assert_eq!(view["caller_withheld"], *withheld);
            if *withheld {
                assert_eq!(view["first_time_caller"], false, "a withheld caller is no one in particular");
            }
        }
        // Two withheld calls are not one repeat caller; a number's second call is.
        let first = place(&app, json!({"from": "+13055551234", "to": tracking})).await;
        let again = place(&app, json!({"from": "+13055551234", "to": tracking})).await;
        assert_eq!(call_record(&app, &first).await["first_time_caller"], true);
        assert_eq!(call_record(&app, &again).await["first_time_caller"], false);
        // The sandbox places a withheld call too, and the log says who it was.
        let hidden = place(&app, json!({"from": "anonymous", "to": tracking, "answer": true, "talk_seconds": 5})).await;
        let call = call_record(&app, &hidden).await;
        assert_eq!((call["caller_number"].as_str(), call["caller_withheld"].as_bool(), call["status"].as_str()),
            (Some("anonymous"), Some(true), Some("answered")));
        let refused = app.post("/api/v1/sandbox/calls", &json!({"from": "sip:someone", "to": tracking})).await;
        assert_error(refused, 422, "validation_failed", &["from"]).await;
        // The app says "Withheld", in the log and on the call's page.
        crate::web::person(&app, app.business, "maria@acme.test", ringtrack_domain::Role::Viewer).await;
        let cookie = crate::web::sign_in(&app, "maria@acme.test").await;
        let log = crate::web::get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        assert!(log.matches(">Withheld<").count() >= 6, "{log}");
        let page = crate::web::get(&app, &format!("/calls/{}", hidden["call_id"].as_str().unwrap()), Some(&cookie)).await;
        let page = page.text().await.unwrap();
        assert!(page.contains("<h1>Withheld</h1>") && page.contains("Number withheld"), "{page}");
    }
}
