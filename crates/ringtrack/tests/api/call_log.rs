//! The call log's read side on both backends: every filter and its 422, the cursor while
//! calls arrive, a person's verdict, the CSV export, the dashboard's exact semantics,
//! analytics groupings and isolation.

use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use ringtrack_core::calls::import;
use ringtrack_domain::BusinessId;
use ringtrack_store::calls::PastCall;
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{TestApp, assert_error, body};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn past(business: BusinessId, created: &str, status: &'static str, seconds: i64) -> PastCall {
    ringtrack_store::testing::past_call(business, at(created), status, seconds)
}

async fn record(app: &TestApp, calls: &[PastCall]) {
    let mut tx = app.store.begin().await.unwrap();
    import(&mut tx, calls).await.unwrap();
    tx.commit().await.unwrap();
}

/// The hand-made set the tests read: March 2026, UTC.
fn march(business: BusinessId) -> Vec<PastCall> {
    let mut a = past(business, "2026-03-02T15:00:00Z", "answered", 145);
    a.qualified = true;
    a.ai_score = Some(85);
    a.utm_source = Some("google".into());
    a.utm_medium = Some("cpc".into());
    a.utm_campaign = Some("spring drains".into());
    a.caller_number = "+13055551234".into();
    let mut b = past(business, "2026-03-02T16:30:00Z", "answered", 30);
    b.utm_source = Some("google".into());
    b.ai_score = Some(40);
    b.caller_number = "+13055551234".into();
    b.first_time_caller = false;
    let mut c = past(business, "2026-03-03T04:30:00Z", "missed", 0);
    c.source = Some("billboard".into());
    c.caller_number = "+17865550000".into();
    let mut d = past(business, "2026-03-10T12:00:00Z", "voicemail", 40);
    d.qualified = true;
    d.caller_number = "+14155550000".into();
    d.utm_source = Some("facebook".into());
    let e = past(business, "2026-04-01T00:00:00Z", "answered", 600);
    vec![a, b, c, d, e]
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]["calls"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

test_on_both_backends! {
    async fn every_filter_narrows_the_list_and_bad_ones_are_named(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let calls = march(app.business);
        record(&app, &calls).await;
        let id = |i: usize| calls[i].id.to_string();
        let count = |query: &str| {
            let app = &app;
            let query = query.to_owned();
            async move {
                let list = body(app.get(&format!("/api/v1/calls?{query}")).await).await;
                (list["data"]["total"].as_u64().unwrap(), ids(&list))
            }
        };
        assert_eq!(count("").await.0, 5);
        assert_eq!(count("status=answered").await, (3, vec![id(4), id(1), id(0)]));
        assert_eq!(count("per_page=5&status=answered").await.0, 3);
        assert_eq!(count("date_from=2026-03-01&date_to=2026-03-31").await.0, 4);
        assert_eq!(count("start_date=2026-03-02&end_date=2026-03-02").await.0, 2);
        assert_eq!(count("date_from=2026-03-02T16:00:00Z").await.0, 4);
        assert_eq!(count("qualified=true").await, (2, vec![id(3), id(0)]));
        assert_eq!(count("min_duration=40").await.0, 3);
        assert_eq!(count("max_duration=30").await.0, 2);
        assert_eq!(count("min_duration=30&max_duration=145").await.0, 3);
        assert_eq!(count("utm_source=google").await.0, 2);
        assert_eq!(count("utm_campaign=spring%20drains").await, (1, vec![id(0)]));
        assert_eq!(count("utm_source=google&utm_campaign=brand").await.0, 0);
        assert_eq!(count("search=786").await, (1, vec![id(2)]));
        assert_eq!(count("search=(305) 555-1234").await.0, 2);
        assert_eq!(count("status=answered&utm_source=google&qualified=true").await, (1, vec![id(0)]));
        assert_eq!(count("updated_since=2026-03-10T00:00:00Z").await.0, 2);
        assert_eq!(count(&format!("number_id={}", Uuid::now_v7())).await.0, 0);
        assert_eq!(count(&format!("call_flow_id={}", Uuid::now_v7())).await.0, 0);

        for (query, field) in [
            ("status=busy", "status"),
            ("date_from=yesterday", "date_from"),
            ("date_to=2026-13-01", "date_to"),
            ("qualified=maybe", "qualified"),
            ("per_page=0", "per_page"),
            ("per_page=1000", "per_page"),
            ("number_id=42", "number_id"),
            ("call_flow_id=x", "call_flow_id"),
            ("min_duration=-5", "min_duration"),
            ("updated_since=monday", "updated_since"),
            ("search='; DROP TABLE calls; --", "search"),
            (&format!("utm_campaign={}", "c".repeat(201)), "utm_campaign"),
            ("utm_campaign=spring%00drains", "utm_campaign"),
            ("utm_source=goo%07gle", "utm_source"),
        ] {
            assert_error(app.get(&format!("/api/v1/calls?{query}")).await, 422, "validation_failed", &[field]).await;
        }
        // SQL metacharacters are just text.
        assert_eq!(count("utm_source=' OR '1'='1").await.0, 0);
        app.stop().await;
    }

    async fn the_cursor_holds_while_calls_arrive(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let calls: Vec<PastCall> = (0..7).map(|i| past(app.business, &format!("2026-03-0{}T10:00:00Z", i + 1), "answered", 60)).collect();
        record(&app, &calls).await;
        let first = body(app.get("/api/v1/calls?per_page=3").await).await;
        // New calls arrive at the top while the client pages on.
        let newer: Vec<PastCall> = (0..3).map(|i| past(app.business, &format!("2026-03-2{i}T10:00:00Z"), "missed", 0)).collect();
        record(&app, &newer).await;
        let mut seen = ids(&first);
        let mut cursor = first["data"]["next_cursor"].as_str().unwrap().to_owned();
        loop {
            let page = body(app.get(&format!("/api/v1/calls?per_page=3&cursor={cursor}")).await).await;
            seen.extend(ids(&page));
            match page["data"]["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        let expected: Vec<String> = calls.iter().rev().map(|c| c.id.to_string()).collect();
        assert_eq!(seen, expected, "every call once, in order, none of the new ones");
        app.stop().await;
    }

    async fn a_persons_verdict_outranks_the_automatic_one(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let calls = march(app.business);
        record(&app, &calls).await;
        let path = format!("/api/v1/calls/{}", calls[0].id);
        let changed = body(app.patch(&path, &json!({"qualified": false, "notes": "Price shopper", "tags": ["follow-up", "hvac", "hvac"]})).await).await;
        assert_eq!(changed["data"]["qualified"], false);
        assert_eq!(changed["data"]["notes"], "Price shopper");
        assert_eq!(changed["data"]["tags"], json!(["follow-up", "hvac"]));
        assert_eq!(body(app.get("/api/v1/calls?qualified=true").await).await["data"]["total"], 1);
        // Withdrawn, the automatic verdict counts again.
        let withdrawn = body(app.patch(&path, &json!({"qualified": null})).await).await;
        assert_eq!(withdrawn["data"]["qualified"], true);
        assert_eq!(withdrawn["data"]["notes"], "Price shopper");
        for (input, field) in [(json!({"tags": [""]}), "tags[0]"), (json!({"qualified": "yes"}), "qualified"), (json!({"score": 1}), "score")] {
            assert_error(app.patch(&path, &input).await, 422, "validation_failed", &[field]).await;
        }
        let viewer = app.key_with_role("viewer").await;
        let refused = app.as_key(&viewer, Method::PATCH, &path).json(&json!({"notes": "x"})).send().await.unwrap();
        assert_error(refused, 403, "forbidden", &[]).await;
        app.stop().await;
    }

    async fn the_export_quotes_and_neutralises(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut calls = march(app.business);
        calls[0].utm_campaign = Some("=HYPERLINK(\"http://evil\",\"x\")".into());
        calls[0].landing_page = Some("https://yoursite.com/a?x=1,y=\"2\"".into());
        record(&app, &calls).await;
        let response = app.get("/api/v1/calls/export?status=answered").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"calls-") && disposition.ends_with(".csv\""), "{disposition}");
        let text = response.text().await.unwrap();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 4, "a header and the three answered calls");
        assert!(lines[0].starts_with("id,caller_number,tracking_number,destination_number,call_flow_name,status,duration_seconds"));
        assert!(text.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""), "{text}");
        assert!(text.contains("\"https://yoursite.com/a?x=1,y=\"\"2\"\"\""), "{text}");
        assert!(text.contains(",+13055551234,"), "phone numbers stay as they are");
        // More than a batch: every call, once.
        let many: Vec<PastCall> = (0..4500).map(|i| past(app.business, "2026-05-01T00:00:00Z", "missed", i % 7)).collect();
        record(&app, &many).await;
        let all = app.get("/api/v1/calls/export").await.text().await.unwrap();
        assert_eq!(all.matches("\r\n").count(), 1 + 5 + 4500);
        assert_error(app.get("/api/v1/calls/export?status=nope").await, 422, "validation_failed", &["status"]).await;
        app.stop().await;
    }

    async fn dashboard_stats_follow_the_reference_semantics(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 4500).await;
        let calls = march(app.business);
        record(&app, &calls).await;
        let stats = body(app.get("/api/v1/dashboard/stats?date_from=2026-03-01&date_to=2026-03-31").await).await;
        // 215 seconds over 4 calls: 4 minutes (rounded), 53 seconds on average (truncated).
        assert_eq!(stats["data"], json!({
            "total_calls": 4, "answered_calls": 2, "missed_calls": 1, "voicemail_calls": 1, "qualified_calls": 2,
            "unique_callers": 3, "total_minutes": 4, "average_duration": 53, "active_numbers": 0, "balance_cents": 4500
        }));
        let all = body(app.get("/api/v1/dashboard/stats").await).await;
        assert_eq!(all["data"]["total_calls"], 5);
        assert_eq!(all["data"]["total_minutes"], 14);
        assert_eq!(all["data"]["unique_callers"], 4);
        // Changing a verdict moves the counts at once.
        app.patch(&format!("/api/v1/calls/{}", calls[0].id), &json!({"qualified": false})).await;
        let after = body(app.get("/api/v1/dashboard/stats?date_from=2026-03-01&date_to=2026-03-31").await).await;
        assert_eq!(after["data"]["qualified_calls"], 1);
        // The same caller on two days is one caller; so are a whole day and a part of one.
        let mut again = past(app.business, "2026-03-11T12:00:00Z", "missed", 0);
        again.caller_number = "+14155550000".into();
        record(&app, &[again]).await;
        let days = body(app.get("/api/v1/dashboard/stats?date_from=2026-03-10&date_to=2026-03-11").await).await;
        assert_eq!((days["data"]["total_calls"].clone(), days["data"]["unique_callers"].clone()), (json!(2), json!(1)));
        let ragged = body(app.get("/api/v1/dashboard/stats?date_from=2026-03-10&date_to=2026-03-11T12:30:00Z").await).await;
        assert_eq!((ragged["data"]["total_calls"].clone(), ragged["data"]["unique_callers"].clone()), (json!(2), json!(1)));
        let empty = body(app.get("/api/v1/dashboard/stats?date_from=2020-01-01&date_to=2020-01-31").await).await;
        assert_eq!(empty["data"]["total_calls"], 0);
        assert_eq!(empty["data"]["average_duration"], 0);
        assert_error(app.get("/api/v1/dashboard/stats?date_from=x").await, 422, "validation_failed", &["date_from"]).await;
        app.stop().await;
    }

    async fn analytics_group_in_the_business_time_zone(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        record(&app, &march(app.business)).await;
        // The business is in America/Chicago: 04:30 UTC on 3 March is 22:30 on 2 March there.
        let by_date = body(app.get("/api/v1/analytics/calls?group_by=date&metrics=count,answered,total_minutes&date_from=2026-03-01&date_to=2026-03-31").await).await;
        assert_eq!(by_date["data"]["rows"], json!([
            {"date": "2026-03-02", "count": 3, "answered": 2, "total_minutes": 3},
            {"date": "2026-03-10", "count": 1, "answered": 0, "total_minutes": 1}
        ]));
        assert_eq!(by_date["data"]["totals"], json!({"count": 4, "answered": 2, "total_minutes": 4}));
        let by_source = body(app.get("/api/v1/analytics/calls?group_by=source&metrics=count,qualified_pct,avg_ai_score,unique_callers").await).await;
        assert_eq!(by_source["data"]["rows"], json!([
            {"source": "billboard", "count": 1, "qualified_pct": 0.0, "avg_ai_score": null, "unique_callers": 1},
            {"source": "direct", "count": 1, "qualified_pct": 0.0, "avg_ai_score": null, "unique_callers": 1},
            {"source": "facebook", "count": 1, "qualified_pct": 100.0, "avg_ai_score": null, "unique_callers": 1},
            {"source": "google", "count": 2, "qualified_pct": 50.0, "avg_ai_score": 62.5, "unique_callers": 1}
        ]));
        let by_hour = body(app.get("/api/v1/analytics/calls?group_by=day_of_week,hour_of_day&date_to=2026-03-05").await).await;
        assert_eq!(by_hour["data"]["rows"], json!([
            {"day_of_week": "monday", "hour_of_day": 9, "count": 1},
            {"day_of_week": "monday", "hour_of_day": 10, "count": 1},
            {"day_of_week": "monday", "hour_of_day": 22, "count": 1}
        ]));
        let by_month = body(app.get("/api/v1/analytics/calls?group_by=month,status").await).await;
        // 00:00 UTC on 1 April is still 31 March in Chicago: every call falls in March.
        assert_eq!(by_month["data"]["rows"], json!([
            {"month": "2026-03", "status": "answered", "count": 3},
            {"month": "2026-03", "status": "missed", "count": 1},
            {"month": "2026-03", "status": "voicemail", "count": 1}
        ]));
        // A period without a DST change, and within one month.
        let quiet = body(app.get("/api/v1/analytics/calls?group_by=month,date&date_from=2026-03-02&date_to=2026-03-03").await).await;
        assert_eq!(quiet["data"]["rows"], json!([{"month": "2026-03", "date": "2026-03-02", "count": 3}]));
        for (query, field) in [("group_by=planet", "group_by"), ("group_by=date,week,month,hour_of_day", "group_by"), ("metrics=revenue", "metrics"), ("status=x", "status")] {
            assert_error(app.get(&format!("/api/v1/analytics/calls?{query}")).await, 422, "validation_failed", &[field]).await;
        }
        app.stop().await;
    }

    async fn another_business_sees_none_of_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let calls = march(app.business);
        record(&app, &calls).await;
        let (_, other) = app.new_business("Other Co").await;
        let get = |path: String| app.as_key(&other, Method::GET, &path).send();
        assert_eq!(body(get("/api/v1/calls".into()).await.unwrap()).await["data"]["total"], 0);
        assert_error(get(format!("/api/v1/calls/{}", calls[0].id)).await.unwrap(), 404, "not_found", &[]).await;
        let patch = app.as_key(&other, Method::PATCH, &format!("/api/v1/calls/{}", calls[0].id)).json(&json!({"notes": "x"})).send().await.unwrap();
        assert_error(patch, 404, "not_found", &[]).await;
        assert_eq!(body(get("/api/v1/dashboard/stats".into()).await.unwrap()).await["data"]["total_calls"], 0);
        assert_eq!(body(get("/api/v1/analytics/calls?group_by=status".into()).await.unwrap()).await["data"]["rows"], json!([]));
        assert_eq!(get("/api/v1/calls/export".into()).await.unwrap().text().await.unwrap().matches("\r\n").count(), 1);
        assert_eq!(body(get("/api/v1/voicemails".into()).await.unwrap()).await["data"]["total"], 0);
        app.stop().await;
    }
}
