//! Tenant isolation, table-driven from the OpenAPI document itself: every documented
//! operation that names a resource, called with business B's key and business A's ids,
//! answers exactly as it does for ids that do not exist (404, never data), and changes
//! nothing of A's. The web app's routes likewise, for a person of B.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use crate::calls::{number_with_flow, place};
use crate::common::{TestApp, body};
use crate::web::{browser, csrf_of, get, person, sign_in};
use ringtrack_domain::Role;

/// Business A's resources, by the path parameter that names them.
async fn resources_of_a(app: &mut TestApp) -> BTreeMap<&'static str, String> {
    let tracking = number_with_flow(app, json!([{"type": "voicemail"}]), json!({})).await;
    let placed =
        place(app, json!({"from": "+13055550123", "to": tracking, "voicemail_text": "Call me"})).await;
    let call = placed["call_id"].as_str().unwrap().to_owned();
    let voicemail = body(app.get("/api/v1/voicemails").await).await["data"]["voicemails"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let numbers = body(app.get("/api/v1/numbers").await).await;
    let number = numbers["data"]["numbers"][0]["id"].as_str().unwrap().to_owned();
    let flow = numbers["data"]["numbers"][0]["call_flow_id"].as_str().unwrap().to_owned();
    let group =
        body(app.post("/api/v1/number-groups", &json!({"name": "A group", "number_ids": [number]})).await)
            .await;
    let group = group["data"]["id"].as_str().unwrap().to_owned();
    let pool = body(
        app.post(
            "/api/v1/number-pools",
            &json!({"name": "A pool", "number_ids": [], "target_number": "5735550100"}),
        )
        .await,
    )
    .await;
    let pool = pool["data"]["number_pool"]["id"].as_str().unwrap().to_owned();
    app.client
        .post(format!("{}/dni/v1/forms", app.base))
        .body(json!({"pool_id": pool, "fields": {"email": "a@example.com"}}).to_string())
        .send()
        .await
        .unwrap();
    let form =
        body(app.get("/api/v1/forms").await).await["data"]["forms"][0]["id"].as_str().unwrap().to_owned();
    let hook = body(app.post("/api/v1/webhooks", &json!({"url": "https://hooks.example.com/a"})).await).await;
    let hook = hook["data"]["webhook"]["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/webhooks/{hook}/test"), &json!({})).await;
    let delivery = body(app.get(&format!("/api/v1/webhooks/{hook}/deliveries")).await).await["data"]["deliveries"][0]["id"]
        .as_str().unwrap().to_owned();
    let key = body(app.post("/api/v1/api-keys", &json!({"name": "spare", "role": "viewer"})).await).await;
    let key = key["data"]["id"].as_str().unwrap().to_owned();
    BTreeMap::from([
        ("/calls/", call),
        ("/voicemails/", voicemail),
        ("/numbers/", number.clone()),
        ("/number-groups/", group),
        ("/call-flows/", flow),
        ("/number-pools/", pool),
        ("/forms/", form),
        ("/webhooks/", hook),
        ("/api-keys/", key),
        ("{number_id}", number),
        ("{delivery_id}", delivery),
        ("{version}", "1".into()),
    ])
}

/// `path` with its parameters filled from `ids` (or every id random, for the control).
fn fill(path: &str, ids: Option<&BTreeMap<&'static str, String>>) -> String {
    let random = || uuid::Uuid::now_v7().to_string();
    let owner = ids
        .and_then(|ids| ids.iter().find(|(prefix, _)| path.starts_with(*prefix)).map(|(_, id)| id.clone()));
    let mut out = path.replace("{id}", &owner.unwrap_or_else(random));
    for param in ["{number_id}", "{delivery_id}", "{version}"] {
        let value = match (ids, param) {
            (_, "{version}") => "1".to_owned(),
            (Some(ids), _) => ids[param].clone(),
            (None, _) => random(),
        };
        out = out.replace(param, &value);
    }
    out
}

/// A body the operation would accept, so that only the id decides the answer.
fn valid_body(path: &str, ids: &BTreeMap<&'static str, String>) -> Value {
    match path {
        p if p.ends_with("/members") => json!({"number_ids": [ids["{number_id}"]]}),
        p if p.ends_with("/simulate") => json!({"from": "+13055550123", "at": "2026-03-23T14:30:00Z"}),
        p if p.starts_with("/calls/") => json!({"qualified": true}),
        p if p.starts_with("/call-flows/") => json!({"name": "x", "steps": [{"type": "hangup"}]}),
        p if p.starts_with("/number-groups/") => json!({"name": "x"}),
        p if p.starts_with("/numbers/") => json!({"friendly_name": "x"}),
        p if p.starts_with("/number-pools/") => json!({"name": "x"}),
        p if p.starts_with("/webhooks/") => json!({"active": true}),
        _ => json!({}),
    }
}

/// An app route: its method, the path with A's id, the path with an unknown one, and a
/// form the route would accept.
type AppRoute<'a> = (Method, String, String, &'a [(&'a str, &'a str)]);

test_on_both_backends! {
    async fn another_business_finds_nothing_anywhere(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let ids = resources_of_a(&mut app).await;
        let (_, other) = app.new_business("Business B").await;
        let spec: Value = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
        let mut checked = 0;
        for (path, operations) in spec["paths"].as_object().unwrap() {
            if !path.contains('{') {
                continue;
            }
            let path = path.trim_start_matches("/api/v1");
            for method in operations.as_object().unwrap().keys() {
                let method: Method = method.to_uppercase().parse().unwrap();
                let payload = valid_body(path, &ids);
                let call = |url: String| app.as_key(&other, method.clone(), &format!("/api/v1{url}")).json(&payload).send();
                let theirs = call(fill(path, Some(&ids))).await.unwrap();
                let nobodys = call(fill(path, None)).await.unwrap();
                let (status, control) = (theirs.status(), nobodys.status());
                let (body, control_body): (Value, Value) = (theirs.json().await.unwrap_or(Value::Null), nobodys.json().await.unwrap_or(Value::Null));
                assert!(!status.is_success(), "{method} {path}: B got {status} with A's ids: {body}");
                assert_eq!(status, control, "{method} {path}: A's ids answer {status}, unknown ids {control}");
                assert_eq!(body["error"]["type"], control_body["error"]["type"], "{method} {path}");
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} operations name a resource");
        // Nothing of A's was changed or removed by B's attempts.
        for prefix in ["/calls/", "/numbers/", "/number-groups/", "/call-flows/", "/number-pools/", "/forms/", "/webhooks/"] {
            let still = app.get(&format!("/api/v1{prefix}{}", ids[prefix])).await;
            assert_eq!(still.status(), StatusCode::OK, "{prefix}");
        }
        let keys = body(app.get("/api/v1/api-keys").await).await;
        assert_eq!(keys["data"]["total"], 2, "A's keys are intact");
        app.stop().await;
    }

    async fn another_business_finds_nothing_in_the_app(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        let ids = resources_of_a(&mut app).await;
        let tracking = body(app.get("/api/v1/numbers").await).await["data"]["numbers"][0]["phone_number"].as_str().unwrap().to_owned();
        let text = app.post("/api/v1/sandbox/sms", &json!({"from": "+13055550177", "to": tracking, "body": "secret of A"})).await;
        assert_eq!(text.status(), StatusCode::CREATED);
        let (other, _) = app.new_business("Business B").await;
        person(&app, other, "bo@b.test", Role::Admin).await;
        let cookie = sign_in(&app, "bo@b.test").await;
        let page = get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        let csrf = csrf_of(&page);

        // Every app route that names a resource (the web router's, by hand: it has no
        // OpenAPI document): A's ids answer as unknown ones do.
        let call = &ids["/calls/"];
        let random = uuid::Uuid::now_v7().to_string();
        let pool = &ids["/number-pools/"];
        let routes: [AppRoute<'_>; 7] = [
            (Method::GET, format!("/calls/{call}"), format!("/calls/{random}"), &[]),
            (Method::GET, format!("/calls/{call}/audio"), format!("/calls/{random}/audio"), &[]),
            (Method::POST, format!("/calls/{call}/verdict"), format!("/calls/{random}/verdict"), &[("qualified", "false")]),
            (Method::POST, format!("/calls/{call}/notes"), format!("/calls/{random}/notes"), &[("notes", "B was here"), ("tags", "b")]),
            (Method::GET, "/texts/+13055550177".into(), "/texts/+13055550999".into(), &[]),
            (Method::POST, "/texts/+13055550177".into(), "/texts/+13055550999".into(), &[("from_number_id", &ids["{number_id}"]), ("body", "hi")]),
            (Method::GET, format!("/website/{pool}"), format!("/website/{random}"), &[]),
        ];
        for (method, theirs, nobodys, form) in &routes {
            let mut fields = form.to_vec();
            fields.push(("csrf", &csrf));
            let send = |path: &str| {
                browser().request(method.clone(), format!("{}{path}", app.base)).header("cookie", &cookie).form(&fields).send()
            };
            let (theirs_status, control) = (send(theirs).await.unwrap().status(), send(nobodys).await.unwrap().status());
            assert_eq!(theirs_status, StatusCode::NOT_FOUND, "{method} {theirs}");
            assert_eq!(theirs_status, control, "{method} {theirs}: as for an unknown id");
        }
        // The lists and the download show nothing of A's.
        for path in ["/calls", "/calls.csv", "/voicemails", "/texts", "/forms", "/website", "/team"] {
            let shown = get(&app, path, Some(&cookie)).await.text().await.unwrap();
            for of_a in ["(305) 555-0123", "+13055550123", "305) 555-0177", "+13055550177", "secret of A", "a@example.com", "A pool</a>", "(573) 555-0100"] {
                assert!(!shown.contains(of_a), "{path} shows {of_a} of A");
            }
        }
        // Nothing of A's changed.
        let call = body(app.get(&format!("/api/v1/calls/{call}")).await).await;
        assert_eq!((call["data"]["notes"].clone(), call["data"]["tags"].clone()), (Value::Null, json!([])));
        let sent = body(app.get("/api/v1/sms").await).await;
        assert_eq!(sent["data"]["total"], 1, "B sent nothing from A's number: {sent}");
        app.stop().await;
    }
}
