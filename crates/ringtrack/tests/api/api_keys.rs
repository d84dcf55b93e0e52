//! API keys and authentication, on both backends.

use reqwest::{Method, StatusCode};
use ringtrack_store::test_on_both_backends;
use serde_json::json;

use crate::common::{TestApp, assert_error, body};

const UNAUTHORIZED: &str = r#"{"error":{"code":"401","type":"unauthorized","message":"Invalid API key"}}"#;
const MISSING: &str = r#"{"error":{"code":"401","type":"unauthorized","message":"Missing API key: send it as Authorization: Bearer <key>"}}"#;

test_on_both_backends! {
    async fn every_kind_of_bad_key_is_the_same_401(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let url = format!("{}/api/v1/api-keys", app.base);
        let revoked = app.key_with_role("viewer").await;
        // Used before it is revoked: the server has read it, and must not answer from that.
        let calls = format!("{}/api/v1/calls", app.base);
        let used = app.client.get(&calls).bearer_auth(&revoked).send().await.unwrap();
        assert_eq!(used.status(), StatusCode::OK);
        let id = body(app.get("/api/v1/api-keys").await).await["data"]["api_keys"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.delete(&format!("/api/v1/api-keys/{id}")).await.status(), StatusCode::OK);

        let cases: Vec<(&str, Option<String>)> = vec![
            ("missing", None),
            ("wrong scheme", Some(format!("Basic {}", app.key))),
            ("malformed", Some("Bearer cs_key_short".into())),
            ("no prefix", Some("Bearer a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6".into())),
            ("unknown", Some("Bearer cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6".into())),
            ("revoked", Some(format!("Bearer {revoked}"))),
        ];
        for (case, header) in cases {
            let mut request = app.client.get(&url);
            if let Some(header) = header {
                request = request.header("authorization", header);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
            let expected = if case == "missing" { MISSING } else { UNAUTHORIZED };
            assert_eq!(response.text().await.unwrap(), expected, "{case}");
        }
        // The scheme is case-insensitive, as RFC 7235 says.
        let ok = app.client.get(&url).header("authorization", format!("bearer {}", app.key)).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        app.stop().await;
    }

    async fn the_full_key_is_shown_once_and_only_its_prefix_is_listed(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let created = app.post("/api/v1/api-keys", &json!({"name": "My CRM Integration"})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created = body(created).await["data"].clone();
        let key = created["key"].as_str().unwrap().to_owned();
        assert_eq!(key.len(), 39);
        assert!(key.starts_with("cs_key_"));
        assert_eq!(created["prefix"], key[..15]);
        assert_eq!(created["name"], "My CRM Integration");
        assert_eq!(created["role"], "manager", "the default role");
        assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
        let mut fields: Vec<_> = created.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(fields, ["created_at", "id", "key", "name", "prefix", "role"]);

        // The new key works, and is listed without its secret.
        let list = app.get("/api/v1/api-keys").await.text().await.unwrap();
        assert!(!list.contains(&key), "the listing shows a full key");
        assert!(!list.contains(&app.key), "the listing shows a full key");
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        let keys = list["data"]["api_keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(list["data"]["total"], 2);
        assert_eq!(keys[0]["id"], created["id"], "newest first");
        assert_eq!(keys[0]["prefix"], key[..15]);
        assert!(keys[0].get("key").is_none());
        // The new (manager) key authenticates: it is refused for its role, not as unknown.
        let manager = app.client.get(format!("{}/api/v1/api-keys", app.base)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(manager.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }

    async fn roles_limit_what_a_key_may_do(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let viewer = app.key_with_role("viewer").await;
        let manager = app.key_with_role("manager").await;
        let admin = app.key_with_role("admin").await;
        for (key, may_manage_keys) in [(&viewer, false), (&manager, false), (&admin, true)] {
            let list = app.client.get(format!("{}/api/v1/api-keys", app.base)).bearer_auth(key).send().await.unwrap();
            let create = app.client.post(format!("{}/api/v1/api-keys", app.base)).bearer_auth(key)
                .json(&json!({"name": "x", "role": "viewer"})).send().await.unwrap();
            if may_manage_keys {
                assert_eq!(list.status(), StatusCode::OK);
                assert_eq!(create.status(), StatusCode::CREATED);
            } else {
                assert_error(list, 403, "forbidden", &[]).await;
                assert_error(create, 403, "forbidden", &[]).await;
            }
        }
        app.stop().await;
    }

    async fn another_business_sees_404_for_my_keys(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, other_key) = app.new_business("Other Co").await;
        let mine = body(app.get("/api/v1/api-keys").await).await["data"]["api_keys"][0]["id"].as_str().unwrap().to_owned();
        let other = |method: Method, path: String| app.client.request(method, format!("{}{path}", app.base)).bearer_auth(&other_key);
        let response = other(Method::DELETE, format!("/api/v1/api-keys/{mine}")).send().await.unwrap();
        assert_error(response, 404, "not_found", &[]).await;
        // Their listing holds only their own key.
        let theirs = body(other(Method::GET, "/api/v1/api-keys".into()).send().await.unwrap()).await;
        assert_eq!(theirs["data"]["total"], 1);
        assert_ne!(theirs["data"]["api_keys"][0]["id"], mine.as_str());
        // My key still works: nothing was revoked.
        assert_eq!(app.get("/api/v1/api-keys").await.status(), StatusCode::OK);
        // Malformed and unknown ids are the same 404.
        for id in ["nope", "00000000-0000-0000-0000-000000000000", "..%2F..%2Fetc"] {
            assert_error(app.delete(&format!("/api/v1/api-keys/{id}")).await, 404, "not_found", &[]).await;
        }
        app.stop().await;
    }

    async fn at_most_ten_active_keys_and_revocation_is_immediate(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut ids = Vec::new();
        for i in 1..10 {
            let created = app.post("/api/v1/api-keys", &json!({"name": format!("key {i}"), "role": "viewer"})).await;
            assert_eq!(created.status(), StatusCode::CREATED, "key {i}");
            ids.push(body(created).await["data"]["id"].as_str().unwrap().to_owned());
        }
        let eleventh = app.post("/api/v1/api-keys", &json!({"name": "one too many"})).await;
        assert_error(eleventh, 409, "conflict", &[]).await;

        let revoked = app.delete(&format!("/api/v1/api-keys/{}", ids[0])).await;
        assert_eq!(revoked.status(), StatusCode::OK);
        let revoked = body(revoked).await;
        assert!(revoked["data"]["revoked_at"].is_string());
        assert_eq!(app.post("/api/v1/api-keys", &json!({"name": "replacement"})).await.status(), StatusCode::CREATED);
        // Revoked keys stay listed, marked.
        let list = body(app.get("/api/v1/api-keys?per_page=250").await).await;
        assert_eq!(list["data"]["total"], 11);
        app.stop().await;
    }

    async fn the_last_admin_key_cannot_revoke_itself(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let me = body(app.get("/api/v1/api-keys").await).await["data"]["api_keys"][0]["id"].as_str().unwrap().to_owned();
        assert_error(app.delete(&format!("/api/v1/api-keys/{me}")).await, 409, "conflict", &[]).await;
        let second_admin = app.key_with_role("admin").await;
        assert_eq!(app.delete(&format!("/api/v1/api-keys/{me}")).await.status(), StatusCode::OK);
        // Revoked: the very next request is refused.
        assert_eq!(app.get("/api/v1/api-keys").await.status(), StatusCode::UNAUTHORIZED);
        let other = app.client.get(format!("{}/api/v1/api-keys", app.base)).bearer_auth(&second_admin).send().await.unwrap();
        assert_eq!(other.status(), StatusCode::OK);
        app.stop().await;
    }

    async fn key_input_is_validated_field_by_field(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        for (input, field) in [
            (json!({}), "name"),
            (json!({"name": "   "}), "name"),
            (json!({"name": "x".repeat(101)}), "name"),
            (json!({"name": 5}), "name"),
            (json!({"name": "ok", "role": "root"}), "role"),
            (json!({"name": "ok", "scopes": ["all"]}), "scopes"),
        ] {
            assert_error(app.post("/api/v1/api-keys", &input).await, 422, "validation_failed", &[field]).await;
        }
        // Nothing was created by the refused requests.
        assert_eq!(body(app.get("/api/v1/api-keys").await).await["data"]["total"], 1);
        app.stop().await;
    }

    async fn last_use_is_recorded(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let first = body(app.get("/api/v1/api-keys").await).await;
        // The use is recorded off the request path; poll briefly for it.
        let mut last_used = first["data"]["api_keys"][0]["last_used_at"].clone();
        for _ in 0..50 {
            if last_used.is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            last_used = body(app.get("/api/v1/api-keys").await).await["data"]["api_keys"][0]["last_used_at"].clone();
        }
        assert!(last_used.as_str().is_some_and(|t| t.ends_with('Z')), "{last_used}");
        app.stop().await;
    }
}
