//! Tracking numbers through the API, on both backends: search, purchase and its charge,
//! idempotent retries, changes, release and renewals.

use reqwest::{Method, StatusCode};
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use std::time::{Duration, Instant};

use crate::common::{FaultyCarrier, TestApp, assert_error, body, sandbox};

/// The fields of a number, exactly as the CallScaler reference lists them.
const NUMBER_FIELDS: [&str; 16] = [
    "call_flow_id",
    "call_flow_name",
    "created_at",
    "friendly_name",
    "group_id",
    "group_name",
    "id",
    "monthly_cost_cents",
    "phone_number",
    "pool_id",
    "released_at",
    "sms_enabled",
    "source",
    "status",
    "total_calls",
    "type",
];

fn fields(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn search(app: &TestApp, input: Value) -> Vec<Value> {
    let response = app.post("/api/v1/numbers/search", &input).await;
    assert_eq!(response.status(), StatusCode::OK);
    body(response).await["data"]["available_numbers"].as_array().unwrap().clone()
}

async fn buy(app: &TestApp, input: Value) -> Value {
    let response = app.post("/api/v1/numbers/purchase", &input).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body(response).await["data"].clone()
}

test_on_both_backends! {
    async fn search_offers_numbers_of_the_area_code(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let found = search(&app, json!({"area_code": "573"})).await;
        assert_eq!(found.len(), 20);
        for n in &found {
            assert!(n["phone_number"].as_str().unwrap().starts_with("+1573"), "{n}");
            assert_eq!(n["locality"], "Columbia");
            assert_eq!(n["region"], "MO");
            assert_eq!(n["type"], "local");
            assert_eq!(n["monthly_cost_cents"], 300);
        }
        let containing = search(&app, json!({"area_code": "573", "contains": "55", "type": "local", "limit": 5})).await;
        assert!(!containing.is_empty() && containing.len() <= 5);
        assert!(containing.iter().all(|n| n["phone_number"].as_str().unwrap()[2..].contains("55")));
        let toll_free = search(&app, json!({"type": "toll_free", "limit": 2})).await;
        assert_eq!(toll_free[0]["type"], "toll_free");
        assert_eq!(toll_free[0]["monthly_cost_cents"], 500);

        for (input, field) in [
            (json!({"area_code": "999"}), "area_code"),
            (json!({"area_code": "57"}), "area_code"),
            (json!({"area_code": "573", "type": "mobile"}), "type"),
            (json!({"area_code": "573", "limit": 0}), "limit"),
            (json!({"area_code": "573", "contains": "5%"}), "contains"),
        ] {
            assert_error(app.post("/api/v1/numbers/search", &input).await, 422, "validation_failed", &[field]).await;
        }
        app.stop().await;
    }

    async fn purchase_charges_the_first_month_and_lists_in_the_reference_shape(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 1000).await;
        let offered = search(&app, json!({"area_code": "573"})).await;
        let wanted = offered[0]["phone_number"].as_str().unwrap();
        let bought = buy(&app, json!({"phone_number": wanted, "friendly_name": "Google Ads", "source": "google"})).await;
        assert_eq!(fields(&bought), NUMBER_FIELDS);
        assert_eq!(bought["phone_number"], wanted);
        assert_eq!(bought["friendly_name"], "Google Ads");
        assert_eq!(bought["type"], "local");
        assert_eq!(bought["status"], "active");
        assert_eq!(bought["monthly_cost_cents"], 300);
        assert_eq!(bought["source"], "google");
        assert_eq!(bought["total_calls"], 0);
        assert_eq!(bought["sms_enabled"], true);
        assert_eq!(bought["released_at"], Value::Null);
        assert_eq!(app.balance(app.business).await, 700);

        // By area code, written as people write it.
        let by_area = buy(&app, json!({"area_code": "314"})).await;
        assert!(by_area["phone_number"].as_str().unwrap().starts_with("+1314"));
        assert_eq!(by_area["friendly_name"].as_str().unwrap().len(), 14, "defaults to (314) 555-0123 form");
        assert_eq!(app.balance(app.business).await, 400);

        let list = body(app.get("/api/v1/numbers").await).await;
        assert_eq!(list["data"]["total"], 2);
        let numbers = list["data"]["numbers"].as_array().unwrap();
        assert_eq!(numbers[0]["id"], by_area["id"], "newest first");
        assert_eq!(numbers[1]["id"], bought["id"]);
        assert!(numbers.iter().all(|n| fields(n) == NUMBER_FIELDS));
        assert_eq!(body(app.get(&format!("/api/v1/numbers/{}", bought["id"].as_str().unwrap())).await).await["data"], bought);

        // Bought is no longer offered.
        let offered_again = search(&app, json!({"area_code": "573", "limit": 50})).await;
        assert!(offered_again.iter().all(|n| n["phone_number"] != wanted));
        // Nobody else can buy it.
        let (other, other_key) = app.new_business("Other Co").await;
        app.credit(other, 1000).await;
        let taken = app.as_key(&other_key, Method::POST, "/api/v1/numbers/purchase").json(&json!({"phone_number": wanted})).send().await.unwrap();
        assert_error(taken, 502, "carrier_error", &[]).await;
        assert_eq!(app.balance(other).await, 1000);
        app.stop().await;
    }

    async fn a_short_balance_is_402_and_nothing_is_bought(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 299).await;
        let wanted = search(&app, json!({"area_code": "305"})).await[0]["phone_number"].clone();
        let refused = app.post("/api/v1/numbers/purchase", &json!({"phone_number": wanted})).await;
        assert_error(refused, 402, "insufficient_balance", &[]).await;
        assert_eq!(app.balance(app.business).await, 299);
        assert_eq!(body(app.get("/api/v1/numbers").await).await["data"]["total"], 0);
        // Still on sale: nothing was bought at the carrier.
        assert_eq!(search(&app, json!({"area_code": "305"})).await[0]["phone_number"], wanted);
        let toll_free = app.post("/api/v1/numbers/purchase", &json!({"area_code": "800"})).await;
        assert_error(toll_free, 402, "insufficient_balance", &[]).await;
        app.stop().await;
    }

    async fn a_retried_purchase_with_the_same_key_buys_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 1000).await;
        let input = json!({"area_code": "212", "friendly_name": "Billboard"});
        let first = app.request(Method::POST, "/api/v1/numbers/purchase").header("Idempotency-Key", "order-42").json(&input).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first = first.text().await.unwrap();
        let again = app.request(Method::POST, "/api/v1/numbers/purchase").header("Idempotency-Key", "order-42").json(&input).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.text().await.unwrap(), first);
        assert_eq!(app.balance(app.business).await, 700, "charged once");
        assert_eq!(body(app.get("/api/v1/numbers").await).await["data"]["total"], 1);

        let other_body = app.request(Method::POST, "/api/v1/numbers/purchase").header("Idempotency-Key", "order-42")
            .json(&json!({"area_code": "213"})).send().await.unwrap();
        assert_error(other_body, 422, "validation_failed", &["Idempotency-Key"]).await;
        let bad_key = app.request(Method::POST, "/api/v1/numbers/purchase").header("Idempotency-Key", "")
            .json(&input).send().await.unwrap();
        assert_error(bad_key, 422, "validation_failed", &["Idempotency-Key"]).await;
        // Another key is another purchase.
        let second = app.request(Method::POST, "/api/v1/numbers/purchase").header("Idempotency-Key", "order-43").json(&input).send().await.unwrap();
        assert_eq!(second.status(), StatusCode::CREATED);
        assert_eq!(app.balance(app.business).await, 400);
        app.stop().await;
    }

    async fn purchase_input_is_checked_before_anything_is_spent(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 1000).await;
        for (input, field) in [
            (json!({}), "phone_number"),
            (json!({"phone_number": "555-1234"}), "phone_number"),
            (json!({"phone_number": "+442079460958"}), "phone_number"),
            (json!({"phone_number": "+15735550134", "area_code": "573"}), "area_code"),
            (json!({"area_code": "5a3"}), "area_code"),
            (json!({"area_code": "999"}), "area_code"),
            (json!({"area_code": "573", "call_flow_id": "nope"}), "call_flow_id"),
            (json!({"area_code": "573", "call_flow_id": uuid::Uuid::now_v7()}), "call_flow_id"),
            (json!({"area_code": "573", "group_id": uuid::Uuid::now_v7()}), "group_id"),
            (json!({"area_code": "573", "friendly_name": ""}), "friendly_name"),
            (json!({"area_code": "573", "colour": "red"}), "colour"),
        ] {
            let refused = app.post("/api/v1/numbers/purchase", &input).await;
            assert_error(refused, 422, "validation_failed", &[field]).await;
        }
        assert_eq!(app.balance(app.business).await, 1000);
        assert_eq!(body(app.get("/api/v1/numbers").await).await["data"]["total"], 0);
        let viewer = app.key_with_role("viewer").await;
        let forbidden = app.as_key(&viewer, Method::POST, "/api/v1/numbers/purchase").json(&json!({"area_code": "573"})).send().await.unwrap();
        assert_error(forbidden, 403, "forbidden", &[]).await;
        app.stop().await;
    }

    async fn a_number_is_renamed_grouped_and_released(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 1000).await;
        let number = buy(&app, json!({"area_code": "415"})).await;
        let path = format!("/api/v1/numbers/{}", number["id"].as_str().unwrap());
        let group = body(app.post("/api/v1/number-groups", &json!({"name": "Paid Search"})).await).await["data"].clone();

        let changed = app.patch(&path, &json!({"friendly_name": "Yelp", "group_id": group["id"], "source": "yelp"})).await;
        assert_eq!(changed.status(), StatusCode::OK);
        let changed = body(changed).await["data"].clone();
        assert_eq!(changed["friendly_name"], "Yelp");
        assert_eq!(changed["group_id"], group["id"]);
        assert_eq!(changed["group_name"], "Paid Search");
        assert_eq!(changed["source"], "yelp");
        let filtered = body(app.get(&format!("/api/v1/numbers?group_id={}", group["id"].as_str().unwrap())).await).await;
        assert_eq!(filtered["data"]["total"], 1);
        let searched = body(app.get("/api/v1/numbers?search=yel").await).await;
        assert_eq!(searched["data"]["total"], 1);
        let digits = &number["phone_number"].as_str().unwrap()[5..9];
        assert_eq!(body(app.get(&format!("/api/v1/numbers?search={digits}")).await).await["data"]["total"], 1);
        assert_eq!(body(app.get("/api/v1/numbers?search=100%25_").await).await["data"]["total"], 0);

        // null clears; absent leaves alone.
        let cleared = body(app.patch(&path, &json!({"group_id": null, "source": null})).await).await["data"].clone();
        assert_eq!(cleared["group_id"], Value::Null);
        assert_eq!(cleared["group_name"], Value::Null);
        assert_eq!(cleared["source"], Value::Null);
        assert_eq!(cleared["friendly_name"], "Yelp");
        for (input, field) in [
            (json!({"call_flow_id": uuid::Uuid::now_v7()}), "call_flow_id"),
            (json!({"group_id": "x"}), "group_id"),
            (json!({"friendly_name": "  "}), "friendly_name"),
            (json!({"status": "active"}), "status"),
        ] {
            assert_error(app.patch(&path, &input).await, 422, "validation_failed", &[field]).await;
        }
        for (query, field) in [("status=gone", "status"), ("group_id=x", "group_id"), ("call_flow_id=1", "call_flow_id")] {
            assert_error(app.get(&format!("/api/v1/numbers?{query}")).await, 422, "validation_failed", &[field]).await;
        }

        let released = app.delete(&path).await;
        assert_eq!(released.status(), StatusCode::OK);
        let released = body(released).await["data"].clone();
        assert_eq!(released["status"], "released");
        assert!(released["released_at"].is_string());
        assert_eq!(body(app.get(&path).await).await["data"]["status"], "released");
        assert_eq!(body(app.get("/api/v1/numbers").await).await["data"]["total"], 0, "released numbers leave the default list");
        assert_eq!(body(app.get("/api/v1/numbers?status=released").await).await["data"]["total"], 1);
        assert_error(app.patch(&path, &json!({"friendly_name": "x"})).await, 409, "conflict", &[]).await;
        // Releasing again answers the same, and charges or refunds nothing.
        assert_eq!(body(app.delete(&path).await).await["data"]["status"], "released");
        assert_eq!(app.balance(app.business).await, 700);

        // Not on sale again: another business cannot buy it now.
        let (other, other_key) = app.new_business("Other Co").await;
        app.credit(other, 1000).await;
        let again = app
            .as_key(&other_key, Method::POST, "/api/v1/numbers/purchase")
            .json(&json!({"phone_number": number["phone_number"]}))
            .send()
            .await
            .unwrap();
        assert_error(again, 502, "carrier_error", &[]).await;
        assert_eq!(app.balance(other).await, 1000);

        // The released number rests 30 days before anyone may buy it again.
        let phone = ringtrack_domain::PhoneNumber::parse(number["phone_number"].as_str().unwrap()).unwrap();
        let now = app.store.now();
        let resting = ringtrack_store::numbers::unavailable(&app.store, std::slice::from_ref(&phone), now).await.unwrap();
        assert!(resting.contains(&phone));
        let later = now + jiff::SignedDuration::from_hours(24 * 31);
        let rested = ringtrack_store::numbers::unavailable(&app.store, std::slice::from_ref(&phone), later).await.unwrap();
        assert!(rested.is_empty());
        app.stop().await;
    }

    async fn another_business_cannot_see_or_touch_my_numbers(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 1000).await;
        let mine = buy(&app, json!({"area_code": "617"})).await;
        let path = format!("/api/v1/numbers/{}", mine["id"].as_str().unwrap());
        let (_, other) = app.new_business("Other Co").await;
        for method in [Method::GET, Method::DELETE] {
            let response = app.as_key(&other, method, &path).send().await.unwrap();
            assert_error(response, 404, "not_found", &[]).await;
        }
        let patch = app.as_key(&other, Method::PATCH, &path).json(&json!({"friendly_name": "mine now"})).send().await.unwrap();
        assert_error(patch, 404, "not_found", &[]).await;
        let theirs = body(app.as_key(&other, Method::GET, "/api/v1/numbers").send().await.unwrap()).await;
        assert_eq!(theirs["data"]["total"], 0);
        let group = body(app.as_key(&other, Method::POST, "/api/v1/number-groups").json(&json!({"name": "Stolen"})).send().await.unwrap()).await;
        let steal = app.as_key(&other, Method::POST, &format!("/api/v1/number-groups/{}/members", group["data"]["id"].as_str().unwrap()))
            .json(&json!({"number_ids": [mine["id"]]})).send().await.unwrap();
        assert_error(steal, 422, "validation_failed", &["number_ids[0]"]).await;
        assert_eq!(body(app.get(&path).await).await["data"], mine, "untouched");
        app.stop().await;
    }

    async fn two_businesses_racing_for_one_number_buy_it_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let wanted = search(&app, json!({"area_code": "206"})).await[0]["phone_number"].clone();
        let mut keys = vec![(app.business, app.key.clone())];
        for i in 0..3 {
            keys.push(app.new_business(&format!("Rival {i}")).await);
        }
        for (business, _) in &keys {
            app.credit(*business, 1000).await;
        }
        let attempts: Vec<_> = keys
            .iter()
            .map(|(_, key)| {
                let request = app.as_key(key, Method::POST, "/api/v1/numbers/purchase").json(&json!({"phone_number": wanted}));
                tokio::spawn(request.send())
            })
            .collect();
        let mut statuses = Vec::new();
        for attempt in attempts {
            statuses.push(attempt.await.unwrap().unwrap().status().as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| [201, 409, 502].contains(s)), "{statuses:?}");
        let mut charged = 0;
        for (business, _) in &keys {
            charged += 1000 - app.balance(*business).await;
        }
        assert_eq!(charged, 300, "one month charged, once");
        let owners = ringtrack_store::testing::count(&app.store, "SELECT count(*) AS value FROM numbers").await;
        assert_eq!(owners, 1);
        app.stop().await;
    }

    async fn renewals_charge_each_month_and_suspend_when_unpaid(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 600).await;
        let number = buy(&app, json!({"area_code": "702"})).await;
        let path = format!("/api/v1/numbers/{}", number["id"].as_str().unwrap());
        assert_eq!(app.balance(app.business).await, 300);
        let now = app.store.now();
        let renew = |at: jiff::Timestamp| ringtrack::renewals::renew_due_numbers(&app.store, at);

        // Not due yet.
        assert_eq!(renew(now).await.unwrap(), Default::default());
        let month = now + jiff::SignedDuration::from_hours(24 * 32);
        let pass = renew(month).await.unwrap();
        assert_eq!((pass.paid, pass.suspended), (1, 0));
        assert_eq!(app.balance(app.business).await, 0);
        // Run again at the same moment, as a second node would: nothing more is charged.
        assert_eq!(renew(month).await.unwrap(), Default::default());

        let two_months = now + jiff::SignedDuration::from_hours(24 * 63);
        let pass = renew(two_months).await.unwrap();
        assert_eq!((pass.paid, pass.suspended), (0, 1));
        assert_eq!(body(app.get(&path).await).await["data"]["status"], "suspended");
        assert_eq!(app.balance(app.business).await, 0);

        app.credit(app.business, 500).await;
        let pass = renew(two_months).await.unwrap();
        assert_eq!((pass.paid, pass.suspended), (1, 0));
        assert_eq!(body(app.get(&path).await).await["data"]["status"], "active");
        assert_eq!(app.balance(app.business).await, 200);

        // A released number is never charged again.
        app.delete(&path).await;
        let pass = renew(now + jiff::SignedDuration::from_hours(24 * 400)).await.unwrap();
        assert_eq!(pass, Default::default());
        assert_eq!(app.balance(app.business).await, 200);
        app.stop().await;
    }

    async fn a_slow_carrier_holds_up_no_one_else(backend: Backend) {
        let app = TestApp::spawn_with_carrier(backend, |store, dir| {
            std::sync::Arc::new(FaultyCarrier { buy_delay: Duration::from_secs(5), ..FaultyCarrier::around(sandbox(store, dir)) })
        }).await;
        app.credit(app.business, 10_000).await;
        let (_, other_key) = app.new_business("Other Co").await;
        let purchase = |key: &str| {
            app.as_key(key, Method::POST, "/api/v1/numbers/purchase").header("Idempotency-Key", "first-number")
                .json(&json!({"area_code": "573"})).send()
        };
        let buying = tokio::spawn(purchase(&app.key));
        tokio::time::sleep(Duration::from_millis(500)).await;
        // While the carrier takes its time, another business writes at once...
        let started = Instant::now();
        let flow = app.as_key(&other_key, Method::POST, "/api/v1/call-flows")
            .json(&json!({"name": "Main", "steps": [{"type": "greeting", "message": "Hi"}]})).send().await.unwrap();
        assert_eq!(flow.status(), StatusCode::CREATED);
        let waited = started.elapsed();
        println!("another business's write during a 5 s purchase: {waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        // ...and a repeat of the purchase is told it is under way, buying nothing.
        assert_error(purchase(&app.key).await.unwrap(), 409, "conflict", &[]).await;
        let bought = buying.await.unwrap().unwrap();
        assert_eq!(bought.status(), StatusCode::CREATED);
        let bought = body(bought).await;
        let again = purchase(&app.key).await.unwrap();
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(body(again).await, bought);
        assert_eq!(app.balance(app.business).await, 10_000 - 300, "charged once");
        assert_eq!(body(app.get("/api/v1/numbers").await).await["data"]["total"], 1);
        app.stop().await;
    }
}
