//! The API's conventions, the same for every resource: error shapes, paging, request ids,
//! probes and the OpenAPI document.

use reqwest::{Method, StatusCode};
use ringtrack_store::test_on_both_backends;
use serde_json::json;

use ringtrack_api::rate_limit::Rate;
use ringtrack_domain::ApiKeySecret;

use crate::common::{TestApp, TestOptions, assert_error, body};

test_on_both_backends! {
    async fn every_failure_answers_the_error_envelope(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        // Unknown route, with or without a key.
        assert_error(app.get("/api/v1/no-such-thing").await, 404, "not_found", &[]).await;
        assert_error(app.client.get(format!("{}/nowhere", app.base)).send().await.unwrap(), 404, "not_found", &[]).await;
        // Wrong method, with the methods that would do.
        let put = app.request(Method::PUT, "/api/v1/api-keys").send().await.unwrap();
        let allow = put.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        assert_error(put, 405, "method_not_allowed", &[]).await;
        // Malformed JSON.
        let malformed = app.request(Method::POST, "/api/v1/api-keys")
            .header("content-type", "application/json").body("{\"name\": ").send().await.unwrap();
        assert_error(malformed, 400, "bad_request", &[]).await;
        let trailing = app.request(Method::POST, "/api/v1/api-keys")
            .header("content-type", "application/json").body("{\"name\":\"a\"} x").send().await.unwrap();
        assert_error(trailing, 400, "bad_request", &[]).await;
        // Not JSON at all.
        let form = app.request(Method::POST, "/api/v1/api-keys")
            .header("content-type", "application/x-www-form-urlencoded").body("name=x").send().await.unwrap();
        assert_error(form, 415, "unsupported_media_type", &[]).await;
        let none = app.request(Method::POST, "/api/v1/api-keys").body("{\"name\":\"x\"}").send().await.unwrap();
        assert_error(none, 415, "unsupported_media_type", &[]).await;
        // Over 1 MiB.
        let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(1024 * 1024));
        let too_large = app.request(Method::POST, "/api/v1/api-keys")
            .header("content-type", "application/json").body(huge).send().await.unwrap();
        assert_error(too_large, 413, "payload_too_large", &[]).await;
        // Deeply nested JSON is refused, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let deep = app.request(Method::POST, "/api/v1/api-keys")
            .header("content-type", "application/json").body(deep).send().await.unwrap();
        assert!(deep.status().is_client_error());
        // Invalid UTF-8.
        let bytes = app.request(Method::POST, "/api/v1/api-keys")
            .header("content-type", "application/json").body(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']).send().await.unwrap();
        assert_error(bytes, 400, "bad_request", &[]).await;
        // A body that is JSON but not an object.
        let array = app.request(Method::POST, "/api/v1/api-keys")
            .header("content-type", "application/json").body("[\"x\"]").send().await.unwrap();
        assert_error(array, 422, "validation_failed", &["body"]).await;
        // Unknown and invalid fields, each named.
        assert_error(app.post("/api/v1/api-keys", &json!({"name": "a", "colour": "red"})).await, 422, "validation_failed", &["colour"]).await;
        // None of that stored anything.
        assert_eq!(body(app.get("/api/v1/api-keys").await).await["data"]["total"], 1);
        app.stop().await;
    }

    async fn hostile_queries_and_ids_get_plain_answers(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        // SQL in every filter is only ever a value: nothing matches, nothing breaks.
        let injected = "%27%20OR%201%3D1%3B%20DROP%20TABLE%20calls%3B--";
        for path in ["/api/v1/calls", "/api/v1/voicemails", "/api/v1/sms", "/api/v1/forms", "/api/v1/numbers"] {
            for filter in ["utm_source", "search", "status", "number_id", "contact", "direction", "date_from"] {
                let answer = app.get(&format!("{path}?{filter}={injected}")).await;
                let status = answer.status().as_u16();
                assert!(status == 200 || status == 422, "{path}?{filter}: {status}");
                if status == 200 {
                    assert_eq!(body(answer).await["data"]["total"], 0, "{path}?{filter}");
                }
            }
        }
        assert_eq!(body(app.get("/api/v1/calls").await).await["data"]["total"], 0, "the calls table is there");
        // Traversal and nonsense in ids: 404, like any unknown id.
        for id in ["..%2F..%2Fetc%2Fpasswd", "%00", "1%20OR%201%3D1", &"9".repeat(500)] {
            for path in ["/api/v1/calls/", "/api/v1/numbers/", "/api/v1/number-pools/", "/api/v1/forms/", "/api/v1/webhooks/"] {
                let answer = app.get(&format!("{path}{id}")).await;
                assert_eq!(answer.status().as_u16(), 404, "{path}{id}");
            }
        }
        // Paging out of bounds is refused by name.
        assert_error(app.get("/api/v1/calls?per_page=1000000").await, 422, "validation_failed", &["per_page"]).await;
        assert_error(app.get("/api/v1/calls?offset=-1").await, 422, "validation_failed", &["offset"]).await;
        assert_error(app.get("/api/v1/calls?page=0").await, 422, "validation_failed", &["page"]).await;
        app.stop().await;
    }

    async fn lists_page_by_page_number_offset_and_cursor(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        for i in 0..6 {
            app.post("/api/v1/api-keys", &json!({"name": format!("k{i}"), "role": "viewer"})).await;
        }
        let ids = |v: &serde_json::Value| -> Vec<String> {
            v["data"]["api_keys"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap().to_owned()).collect()
        };
        let all = body(app.get("/api/v1/api-keys").await).await;
        let all_ids = ids(&all);
        assert_eq!(all["data"]["total"], 7);
        assert_eq!(all["data"]["per_page"], 25);
        assert_eq!(all["data"]["page"], 1);
        assert_eq!(all["data"]["next_cursor"], serde_json::Value::Null);

        let page2 = body(app.get("/api/v1/api-keys?page=2&per_page=3").await).await;
        assert_eq!(ids(&page2), all_ids[3..6]);
        assert_eq!(page2["data"]["page"], 2);
        assert_eq!(page2["data"]["per_page"], 3);
        assert_eq!(page2["data"]["total"], 7);
        let offset = body(app.get("/api/v1/api-keys?limit=2&offset=5").await).await;
        assert_eq!(ids(&offset), all_ids[5..7]);

        // Cursor paging from the first page's next_cursor, to the end.
        let first = body(app.get("/api/v1/api-keys?per_page=4").await).await;
        let cursor = first["data"]["next_cursor"].as_str().unwrap().to_owned();
        let rest = body(app.get(&format!("/api/v1/api-keys?per_page=4&cursor={cursor}")).await).await;
        assert_eq!([ids(&first), ids(&rest)].concat(), all_ids);
        assert_eq!(rest["data"]["next_cursor"], serde_json::Value::Null);
        assert_eq!(rest["data"]["page"], serde_json::Value::Null);

        for (query, field) in [
            ("per_page=0", "per_page"),
            ("per_page=1000", "per_page"),
            ("page=0", "page"),
            ("page=abc", "page"),
            ("offset=-1", "offset"),
            ("limit=5&per_page=5", "limit"),
            ("cursor=garbage", "cursor"),
            ("cursor=abc&page=2", "cursor"),
            ("page=1&page=2", "page"),
        ] {
            let response = app.get(&format!("/api/v1/api-keys?{query}")).await;
            assert_error(response, 422, "validation_failed", &[field]).await;
        }
        app.stop().await;
    }

    async fn requests_carry_an_id_and_probes_answer(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let echoed = app.request(Method::GET, "/api/v1/api-keys").header("x-request-id", "trace-42").send().await.unwrap();
        assert_eq!(echoed.headers()["x-request-id"], "trace-42");
        let made = app.get("/api/v1/api-keys").await;
        let id = made.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        // A hostile id is replaced, not echoed into logs or headers.
        let hostile = app.request(Method::GET, "/healthz").header("x-request-id", "a b\tc").send().await.unwrap();
        assert_ne!(hostile.headers()["x-request-id"], "a b\tc");

        let health = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        assert_eq!(body(health).await, json!({"data": {"status": "ok"}}));
        let ready = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        // With the database gone, the node is not ready but still alive.
        app.store.close().await;
        let unready = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
        assert_error(unready, 503, "unavailable", &[]).await;
        let alive = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(alive.status(), StatusCode::OK);
        app.stop().await;
    }

    async fn the_openapi_document_lists_every_route(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let spec = body(app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap()).await;
        assert_eq!(spec["openapi"], "3.1.0");
        for (path, method) in [
            ("/api/v1/api-keys", "get"),
            ("/api/v1/api-keys", "post"),
            ("/api/v1/api-keys/{id}", "delete"),
            ("/api/v1/call-flows", "get"),
            ("/api/v1/call-flows", "post"),
            ("/api/v1/call-flows/{id}", "get"),
            ("/api/v1/call-flows/{id}", "put"),
            ("/api/v1/call-flows/{id}", "delete"),
            ("/api/v1/call-flows/{id}/versions", "get"),
            ("/api/v1/call-flows/{id}/versions/{version}/restore", "post"),
            ("/api/v1/call-flows/{id}/simulate", "post"),
            ("/api/v1/calls", "get"),
            ("/api/v1/calls/{id}", "get"),
            ("/api/v1/calls/{id}", "patch"),
            ("/api/v1/calls/export", "get"),
            ("/api/v1/calls/{id}/recording", "get"),
            ("/api/v1/voicemails", "get"),
            ("/api/v1/voicemails/{id}", "get"),
            ("/api/v1/voicemails/{id}/recording", "get"),
            ("/api/v1/dashboard/stats", "get"),
            ("/api/v1/analytics/calls", "get"),
            ("/api/v1/sandbox/calls", "post"),
            ("/api/v1/numbers", "get"),
            ("/api/v1/numbers/{id}", "get"),
            ("/api/v1/numbers/{id}", "patch"),
            ("/api/v1/numbers/{id}", "delete"),
            ("/api/v1/numbers/search", "post"),
            ("/api/v1/numbers/purchase", "post"),
            ("/api/v1/number-groups", "get"),
            ("/api/v1/number-groups", "post"),
            ("/api/v1/number-groups/bulk-stats", "get"),
            ("/api/v1/number-groups/{id}", "get"),
            ("/api/v1/number-groups/{id}", "put"),
            ("/api/v1/number-groups/{id}", "delete"),
            ("/api/v1/number-groups/{id}/members", "post"),
            ("/api/v1/number-groups/{id}/members/{number_id}", "delete"),
            ("/healthz", "get"),
            ("/readyz", "get"),
        ] {
            let operation = &spec["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is missing");
            assert!(operation["operationId"].is_string());
        }
        assert_eq!(spec["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
        // Every operation's schemas are there.
        for schema in ["NumberView", "PurchaseNumber", "SearchNumbers", "AvailableNumbers", "NumberGroupView", "BulkStats", "ErrorBody"] {
            assert!(spec["components"]["schemas"][schema].is_object(), "{schema} is missing");
        }
        let docs = app.client.get(format!("{}/docs", app.base)).send().await.unwrap();
        assert_eq!(docs.status(), StatusCode::OK);
        assert!(docs.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(docs.text().await.unwrap().contains("/api/v1/openapi.json"));
        app.stop().await;
    }

    async fn guessing_keys_costs_as_much_as_having_none(backend: Backend) {
        let options = TestOptions { api_rate: Rate { per_second: 0.001, burst: 20.0 }, ..TestOptions::default() };
        let app = TestApp::spawn_with_options(backend, options).await;
        let mut statuses = Vec::new();
        for _ in 0..30 {
            let guess = ApiKeySecret::generate(&mut rand::rng());
            let answer = app.as_key(guess.expose(), Method::GET, "/api/v1/calls").send().await.unwrap();
            if answer.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(answer.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
            }
            statuses.push(answer.status().as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 20, "{statuses:?}");
        assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
        // Once the address's bucket is empty, every key from it waits, the real one too.
        assert_eq!(app.get("/api/v1/calls").await.status(), StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;
    }

    async fn every_answer_says_nosniff(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/api/v1/calls", "/api/v1/no-such-thing", "/healthz", "/dni.js", "/api/v1/openapi.json"] {
            let answer = app.get(path).await;
            assert_eq!(answer.headers()["x-content-type-options"], "nosniff", "{path}");
        }
        let odd = app.client.request(Method::from_bytes(b"BREW").unwrap(), format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(odd.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(odd.headers()["x-content-type-options"], "nosniff");
        app.stop().await;
    }
}
