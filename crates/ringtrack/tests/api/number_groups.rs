//! Number groups through the API, on both backends: membership rules and bulk-stats.

use reqwest::StatusCode;
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, body};

async fn buy(app: &TestApp, area: &str) -> String {
    let response = app.post("/api/v1/numbers/purchase", &json!({"area_code": area})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body(response).await["data"]["id"].as_str().unwrap().to_owned()
}

async fn group_of(app: &TestApp, number: &str) -> Value {
    body(app.get(&format!("/api/v1/numbers/{number}")).await).await["data"]["group_id"].clone()
}

/// A call as the call path will record it (that issue brings the calls API).
async fn call(app: &TestApp, number: &str, status: &str, seconds: i64, qualified: bool, at: i64) {
    let mut tx = app.store.begin().await.unwrap();
    let sql = format!(
        "INSERT INTO calls (id, business_id, number_id, caller_number, status, duration_seconds, qualified, created_at, updated_at)
         VALUES ('{}', '{}', '{number}', '+13055551234', '{status}', {seconds}, {qualified}, {at}, {at})",
        uuid::Uuid::now_v7(),
        app.business,
    );
    ringtrack_store::testing::execute(&mut tx, &sql).await;
    tx.commit().await.unwrap();
}

test_on_both_backends! {
    async fn groups_hold_each_number_at_most_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 3000).await;
        let (a, b, c) = (buy(&app, "573").await, buy(&app, "314").await, buy(&app, "816").await);

        let paid = app.post("/api/v1/number-groups", &json!({"name": "Paid Search", "number_ids": [a, b]})).await;
        assert_eq!(paid.status(), StatusCode::CREATED);
        let paid = body(paid).await["data"].clone();
        assert_eq!(paid["numbers_count"], 2);
        let paid_id = paid["id"].as_str().unwrap().to_owned();
        assert_eq!(group_of(&app, &a).await, paid["id"]);

        let organic = body(app.post("/api/v1/number-groups", &json!({"name": "Organic"})).await).await["data"].clone();
        let organic_id = organic["id"].as_str().unwrap().to_owned();
        // Adding a number moves it out of its old group.
        let moved = app.post(&format!("/api/v1/number-groups/{organic_id}/members"), &json!({"number_ids": [b, c]})).await;
        assert_eq!(body(moved).await["data"]["numbers_count"], 2);
        assert_eq!(group_of(&app, &b).await, organic["id"]);
        assert_eq!(body(app.get(&format!("/api/v1/number-groups/{paid_id}")).await).await["data"]["numbers_count"], 1);

        // Unknown or malformed members are named, and nothing changes.
        let unknown = uuid::Uuid::now_v7().to_string();
        let refused = app.post(&format!("/api/v1/number-groups/{paid_id}/members"), &json!({"number_ids": [c, unknown, "x"]})).await;
        assert_error(refused, 422, "validation_failed", &["number_ids[2]"]).await;
        let refused = app.post(&format!("/api/v1/number-groups/{paid_id}/members"), &json!({"number_ids": [c, unknown]})).await;
        assert_error(refused, 422, "validation_failed", &["number_ids[1]"]).await;
        assert_eq!(group_of(&app, &c).await, organic["id"]);

        // Names are unique within a business.
        assert_error(app.put(&format!("/api/v1/number-groups/{organic_id}"), &json!({"name": "Paid Search"})).await, 422, "validation_failed", &["name"]).await;
        assert_error(app.post("/api/v1/number-groups", &json!({"name": "Organic"})).await, 422, "validation_failed", &["name"]).await;
        let renamed = app.put(&format!("/api/v1/number-groups/{organic_id}"), &json!({"name": "SEO"})).await;
        assert_eq!(body(renamed).await["data"]["name"], "SEO");

        // Removing a member; removing it twice is 404.
        let removed = app.delete(&format!("/api/v1/number-groups/{organic_id}/members/{c}")).await;
        assert_eq!(body(removed).await["data"]["numbers_count"], 1);
        assert_eq!(group_of(&app, &c).await, Value::Null);
        assert_error(app.delete(&format!("/api/v1/number-groups/{organic_id}/members/{c}")).await, 404, "not_found", &[]).await;

        let list = body(app.get("/api/v1/number-groups").await).await;
        assert_eq!(list["data"]["total"], 2);
        assert_eq!(list["data"]["number_groups"][0]["name"], "SEO", "newest first");

        // Deleting a group leaves its numbers, ungrouped.
        let deleted = app.delete(&format!("/api/v1/number-groups/{organic_id}")).await;
        assert_eq!(deleted.status(), StatusCode::OK);
        assert_eq!(group_of(&app, &b).await, Value::Null);
        assert_eq!(body(app.get(&format!("/api/v1/numbers/{b}")).await).await["data"]["status"], "active");
        assert_error(app.get(&format!("/api/v1/number-groups/{organic_id}")).await, 404, "not_found", &[]).await;
        app.stop().await;
    }

    async fn bulk_stats_count_each_groups_calls_in_the_period(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 3000).await;
        let (a, b, c) = (buy(&app, "573").await, buy(&app, "314").await, buy(&app, "816").await);
        let paid = body(app.post("/api/v1/number-groups", &json!({"name": "Paid", "number_ids": [a, b]})).await).await["data"]["id"].clone();
        let empty = body(app.post("/api/v1/number-groups", &json!({"name": "Empty"})).await).await["data"]["id"].clone();
        let march_2 = 1_772_409_600; // 2026-03-02T00:00:00Z
        call(&app, &a, "answered", 145, true, march_2).await;
        call(&app, &a, "answered", 30, false, march_2 + 3600).await;
        call(&app, &b, "missed", 0, false, march_2 + 7200).await;
        call(&app, &b, "voicemail", 40, true, march_2 + 86_400 * 40).await; // April
        call(&app, &c, "answered", 600, true, march_2).await; // ungrouped

        let all_time = body(app.get("/api/v1/number-groups/bulk-stats").await).await;
        let groups = all_time["data"]["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2);
        let stats = |id: &Value| groups.iter().find(|g| g["group_id"] == *id).unwrap().clone();
        assert_eq!(
            stats(&paid),
            json!({"group_id": paid, "name": "Paid", "numbers_count": 2, "total_calls": 4, "answered_calls": 2,
                   "missed_calls": 1, "voicemail_calls": 1, "qualified_calls": 2, "total_minutes": 4})
        );
        assert_eq!(stats(&empty)["total_calls"], 0);
        assert_eq!(stats(&empty)["total_minutes"], 0);

        let march = body(app.get("/api/v1/number-groups/bulk-stats?date_from=2026-03-01&date_to=2026-03-31").await).await;
        let paid_march = march["data"]["groups"].as_array().unwrap().iter().find(|g| g["group_id"] == paid).unwrap().clone();
        assert_eq!((paid_march["total_calls"].clone(), paid_march["voicemail_calls"].clone(), paid_march["total_minutes"].clone()), (json!(3), json!(0), json!(3)));
        let aliases = body(app.get("/api/v1/number-groups/bulk-stats?start_date=2026-03-01&end_date=2026-03-31").await).await;
        assert_eq!(aliases, march);

        assert_error(app.get("/api/v1/number-groups/bulk-stats?date_from=March").await, 422, "validation_failed", &["date_from"]).await;
        assert_error(app.get("/api/v1/number-groups/bulk-stats?date_from=2026-03-02&date_to=2026-03-01").await, 422, "validation_failed", &["date_to"]).await;

        // Another business sees only its own groups.
        let (_, other) = app.new_business("Other Co").await;
        let theirs = body(app.as_key(&other, reqwest::Method::GET, "/api/v1/number-groups/bulk-stats").send().await.unwrap()).await;
        assert_eq!(theirs["data"]["groups"], json!([]));
        app.stop().await;
    }
}
