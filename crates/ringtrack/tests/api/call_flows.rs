//! Call flows through the API, on both backends: versions, validation paths, deletion
//! rules, isolation and the dry run.

use reqwest::{Method, StatusCode};
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, body};

fn reference_flow() -> Value {
    json!({"name": "Google Ads",
           "steps": [{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": "+15735554567"}],
           "settings": {"recording": true, "whisper": true, "press1": false}})
}

test_on_both_backends! {
    async fn flows_are_versioned_and_restorable(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let created = app.post("/api/v1/call-flows", &reference_flow()).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let flow = body(created).await["data"]["call_flow"].clone();
        assert_eq!(flow["version"], 1);
        assert_eq!(flow["name"], "Google Ads");
        assert_eq!(flow["assigned_numbers"], 0);
        assert_eq!(flow["steps"], json!([{"type": "greeting", "message": "Thanks for calling"},
                                         {"type": "forward", "number": "+15735554567", "timeout_seconds": 30}]));
        assert_eq!(flow["settings"], json!({"recording": true, "whisper": true, "whisper_message": null, "press1": false}));
        let id = flow["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/call-flows/{id}");
        // The reference's shape: {"data": {"call_flow": {...}}}.
        let got = body(app.get(&path).await).await;
        for field in ["id", "name", "steps", "settings", "version", "assigned_numbers", "created_at"] {
            assert!(got["data"]["call_flow"].get(field).is_some(), "{field}");
        }

        let mut changed = reference_flow();
        changed["steps"] = json!([{"type": "voicemail"}]);
        changed["name"] = json!("After hours");
        let updated = body(app.put(&path, &changed).await).await["data"]["call_flow"].clone();
        assert_eq!(updated["version"], 2);
        assert_eq!(updated["name"], "After hours");
        let versions = body(app.get(&format!("{path}/versions")).await).await;
        assert_eq!(versions["data"]["total"], 2);
        assert_eq!(versions["data"]["versions"][0]["version"], 2, "newest first");
        assert_eq!(versions["data"]["versions"][1]["steps"], flow["steps"]);

        let restored = app.request(Method::POST, &format!("{path}/versions/1/restore")).send().await.unwrap();
        let restored = body(restored).await["data"]["call_flow"].clone();
        assert_eq!(restored["version"], 3);
        assert_eq!(restored["steps"], flow["steps"]);
        assert_eq!(restored["name"], "Google Ads");
        assert_error(app.request(Method::POST, &format!("{path}/versions/9/restore")).send().await.unwrap(), 404, "not_found", &[]).await;
        assert_eq!(body(app.get("/api/v1/call-flows").await).await["data"]["total"], 1);
        app.stop().await;
    }

    async fn refusals_name_the_failing_path(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let flow = |steps: Value| json!({"name": "x", "steps": steps});
        for (input, fields) in [
            (flow(json!([{"type": "forward", "number": "555"}])), vec!["steps[0].number"]),
            (flow(json!([{"type": "menu", "prompt": "p", "options": {"1": [{"type": "forward", "number": "12"}]}}])), vec!["steps[0].options.1[0].number"]),
            (flow(json!([{"type": "schedule", "timezone": "Nowhere/Land", "hours": {"mon": [["9:00", "17:00"]]}}])), vec!["steps[0].timezone", "steps[0].hours.mon[0]"]),
            (flow(json!([])), vec!["steps"]),
            (json!({"name": "", "steps": [{"type": "hangup"}], "settings": {"press1": 1}}), vec!["name", "settings.press1"]),
            (json!({"name": "x", "steps": [{"type": "hangup"}], "colour": "red"}), vec!["colour"]),
        ] {
            let refused = app.post("/api/v1/call-flows", &input).await;
            assert_error(refused, 422, "validation_failed", &fields).await;
        }
        assert_eq!(body(app.get("/api/v1/call-flows").await).await["data"]["total"], 0);
        app.stop().await;
    }

    async fn a_flow_in_use_cannot_be_deleted_and_others_cannot_see_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 1000).await;
        let flow = body(app.post("/api/v1/call-flows", &reference_flow()).await).await["data"]["call_flow"].clone();
        let id = flow["id"].as_str().unwrap().to_owned();
        let number = body(app.post("/api/v1/numbers/purchase", &json!({"area_code": "573", "call_flow_id": id})).await).await;
        assert_eq!(number["data"]["call_flow_name"], "Google Ads");
        assert_eq!(body(app.get(&format!("/api/v1/call-flows/{id}")).await).await["data"]["call_flow"]["assigned_numbers"], 1);
        assert_error(app.delete(&format!("/api/v1/call-flows/{id}")).await, 409, "conflict", &[]).await;

        let (_, other) = app.new_business("Other Co").await;
        for method in [Method::GET, Method::DELETE] {
            let response = app.as_key(&other, method, &format!("/api/v1/call-flows/{id}")).send().await.unwrap();
            assert_error(response, 404, "not_found", &[]).await;
        }
        let put = app.as_key(&other, Method::PUT, &format!("/api/v1/call-flows/{id}")).json(&reference_flow()).send().await.unwrap();
        assert_error(put, 404, "not_found", &[]).await;
        // Another business cannot route its number through my flow.
        let steal = app.as_key(&other, Method::POST, "/api/v1/numbers/purchase").json(&json!({"area_code": "573", "call_flow_id": id})).send().await.unwrap();
        assert_error(steal, 422, "validation_failed", &["call_flow_id"]).await;

        let number_id = number["data"]["id"].as_str().unwrap();
        app.patch(&format!("/api/v1/numbers/{number_id}"), &json!({"call_flow_id": null})).await;
        assert_eq!(app.delete(&format!("/api/v1/call-flows/{id}")).await.status(), StatusCode::OK);
        assert_error(app.get(&format!("/api/v1/call-flows/{id}")).await, 404, "not_found", &[]).await;
        app.stop().await;
    }

    async fn a_dry_run_traces_without_storing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let flow = json!({"name": "Hours", "steps": [
            {"type": "schedule", "timezone": "America/Chicago", "hours": {"mon": [["09:00", "17:00"]]},
             "open": [{"type": "menu", "prompt": "Press 1", "options": {"1": [{"type": "forward", "number": "3055551001"}]}}],
             "closed": [{"type": "voicemail", "message": "We are closed"}]}]});
        let id = body(app.post("/api/v1/call-flows", &flow).await).await["data"]["call_flow"]["id"].as_str().unwrap().to_owned();
        let open = app.post(&format!("/api/v1/call-flows/{id}/simulate"), &json!({"from": "+13055551234", "digits": "1", "answer": true, "at": "2026-03-23T14:30:00Z"})).await;
        assert_eq!(open.status(), StatusCode::OK);
        let open = body(open).await["data"].clone();
        assert_eq!(open["outcome"], json!({"status": "answered", "destination_number": "+13055551001"}));
        assert_eq!(open["trace"][0]["instructions"][0]["verb"], "gather");
        let closed = body(app.post(&format!("/api/v1/call-flows/{id}/simulate"), &json!({"at": "2026-03-23T03:00:00Z"})).await).await["data"].clone();
        assert_eq!(closed["outcome"]["status"], "voicemail");
        assert_eq!(closed["trace"][0]["instructions"][0], json!({"verb": "say", "text": "We are closed"}));
        assert_error(app.post(&format!("/api/v1/call-flows/{id}/simulate"), &json!({"from": "nope", "at": "soon"})).await, 422, "validation_failed", &["from", "at"]).await;
        assert_eq!(body(app.get("/api/v1/calls").await).await["data"]["total"], 0, "nothing stored");
        app.stop().await;
    }
}
