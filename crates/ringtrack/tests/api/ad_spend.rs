//! `/api/v1/ad-spend` on both backends: one row per month, source and campaign, replaced
//! when entered again; every wrong field named; viewers read; each business its own.

use reqwest::{Method, StatusCode};
use ringtrack_store::test_on_both_backends;
use serde_json::json;

use crate::common::{TestApp, assert_error, body};

test_on_both_backends! {
    async fn spend_is_one_row_per_month_source_and_campaign(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let google = json!({"month": "2026-11", "source": "google", "campaign": null, "amount_cents": 125000});
        let set = app.put("/api/v1/ad-spend", &google).await;
        assert_eq!(set.status(), StatusCode::OK);
        assert_eq!(body(set).await["data"]["ad_spend"], google);
        for row in [
            json!({"month": "2026-11", "source": "google", "campaign": "plumbing leads", "amount_cents": 40000}),
            json!({"month": "2026-10", "source": "facebook", "amount_cents": 30000}),
            // Entered again: replaces.
            json!({"month": "2026-11", "source": "google", "campaign": null, "amount_cents": 150000}),
        ] {
            assert_eq!(app.put("/api/v1/ad-spend", &row).await.status(), StatusCode::OK);
        }
        let all = body(app.get("/api/v1/ad-spend").await).await;
        assert_eq!(all["data"]["ad_spend"], json!([
            {"month": "2026-11", "source": "google", "campaign": null, "amount_cents": 150000},
            {"month": "2026-11", "source": "google", "campaign": "plumbing leads", "amount_cents": 40000},
            {"month": "2026-10", "source": "facebook", "campaign": null, "amount_cents": 30000},
        ]));
        let october = body(app.get("/api/v1/ad-spend?month_from=2026-10&month_to=2026-10").await).await;
        assert_eq!(october["data"]["ad_spend"].as_array().unwrap().len(), 1);

        // Every wrong field is named, and nothing is kept.
        let refused = app.put("/api/v1/ad-spend", &json!({"month": "2026-13", "source": " ", "campaign": "x\u{7}", "amount_cents": -5})).await;
        assert_error(refused, 422, "validation_failed", &["month", "source", "campaign", "amount_cents"]).await;
        assert_error(app.get("/api/v1/ad-spend?month_from=November").await, 422, "validation_failed", &["month_from"]).await;
        assert_eq!(body(app.get("/api/v1/ad-spend").await).await["data"]["ad_spend"].as_array().unwrap().len(), 3);

        // A viewer reads and does not write; another business sees none of it.
        let viewer = app.key_with_role("viewer").await;
        let read = app.as_key(&viewer, Method::GET, "/api/v1/ad-spend").send().await.unwrap();
        assert_eq!(read.status(), StatusCode::OK);
        let write = app.as_key(&viewer, Method::PUT, "/api/v1/ad-spend").json(&google).send().await.unwrap();
        assert_eq!(write.status(), StatusCode::FORBIDDEN);
        let (_, other) = app.new_business("Other Co").await;
        let theirs = app.as_key(&other, Method::GET, "/api/v1/ad-spend").send().await.unwrap();
        assert_eq!(body(theirs).await["data"]["ad_spend"], json!([]));
        app.stop().await;
    }
}
