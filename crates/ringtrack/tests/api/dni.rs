//! Dynamic number insertion on both backends: pools, leases to visits, the attribution of
//! calls and forms, and the public endpoints' manners (CORS, 404s, caps, rate limits).

use reqwest::{Method, StatusCode, header};
use ringtrack_api::dni::DniLimits;
use ringtrack_api::rate_limit::Rate;
use ringtrack_domain::Role;
use ringtrack_store::test_on_both_backends;
use serde_json::{Value, json};

use crate::calls::place;
use crate::common::{TestApp, TestOptions, assert_error, body};

const LANDING: &str =
    "https://acme.test/plumbing?utm_source=google&utm_medium=cpc&utm_campaign=plumbing&gclid=abc123";

/// Buys `count` numbers; answers their ids.
async fn numbers(app: &TestApp, count: usize) -> Vec<String> {
    app.credit(app.business, 10_000).await;
    let mut ids = Vec::new();
    for _ in 0..count {
        let bought = body(app.post("/api/v1/numbers/purchase", &json!({"area_code": "573"})).await).await;
        ids.push(bought["data"]["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn pool(app: &TestApp, number_ids: &[String], extra: Value) -> Value {
    let flow = body(app.post("/api/v1/call-flows", &json!({"name": "Pool flow", "steps": [
        {"type": "source_route", "routes": [{"utm_source": "google", "steps": [{"type": "greeting", "message": "Thanks Google visitor"}]}],
         "default": [{"type": "greeting", "message": "Hello"}]}]})).await).await;
    let mut input = json!({"name": "Website", "number_ids": number_ids, "target_number": "(573) 555-0100",
        "call_flow_id": flow["data"]["call_flow"]["id"]});
    input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let created = app.post("/api/v1/number-pools", &input).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    body(created).await["data"]["number_pool"].clone()
}

/// A public request as a browser's script sends it: JSON as text/plain, no key.
async fn public(app: &TestApp, path: &str, payload: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .header(header::ORIGIN, "https://acme.test")
        .body(payload.to_string())
        .send()
        .await
        .unwrap()
}

async fn visit(app: &TestApp, pool_id: &str, visitor: &str, landing: &str) -> Value {
    let answer = public(
        app,
        "/dni/v1/sessions",
        &json!({"pool_id": pool_id, "visitor_id": visitor,
        "landing_page": landing, "referrer": "https://www.google.com/"}),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    answer.json().await.unwrap()
}

test_on_both_backends! {
    async fn pools_hold_numbers_once_and_name_bad_fields(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 3).await;
        let created = pool(&app, &ids[..2], json!({"session_timeout_seconds": 600})).await;
        assert_eq!(created["numbers_count"], 2);
        assert_eq!(created["target_number"], "+15735550100");
        assert_eq!(created["visitor_filter"], "all");
        assert_eq!(created["session_timeout_seconds"], 600);
        let id = created["id"].as_str().unwrap();
        assert_eq!(created["snippet"], format!("<script src=\"{}/dni.js\" data-pool=\"{id}\" async></script>", app.base));
        assert_eq!(created["stats"]["active_sessions"], 0);
        assert_eq!(created["stats"]["recommended_pool_size"], 2);
        let number = body(app.get(&format!("/api/v1/numbers/{}", ids[0])).await).await;
        assert_eq!(number["data"]["pool_id"], id);
        assert_eq!(number["data"]["call_flow_id"], created["call_flow_id"], "pool numbers route through the pool's flow");

        // A number is in one pool at most; bad fields are named.
        let refused = app.post("/api/v1/number-pools", &json!({"name": "Other", "number_ids": [ids[1], "nope", uuid::Uuid::now_v7()],
            "target_number": "12", "session_timeout_seconds": 5, "visitor_filter": "rich"})).await;
        assert_error(refused, 422, "validation_failed", &["target_number", "session_timeout_seconds", "visitor_filter", "number_ids[1]"]).await;
        let taken = app.post("/api/v1/number-pools", &json!({"name": "Other", "number_ids": [ids[1]], "target_number": "5735550100"})).await;
        let taken = assert_error(taken, 422, "validation_failed", &["number_ids[0]"]).await;
        assert!(taken["error"]["details"][0]["message"].as_str().unwrap().contains("already in pool"));
        assert_error(app.post("/api/v1/number-pools", &json!({})).await, 422, "validation_failed", &["name", "target_number"]).await;

        // Members replaced by PUT; the rest kept.
        let updated = app.put(&format!("/api/v1/number-pools/{id}"), &json!({"number_ids": [ids[1], ids[2]], "visitor_filter": "paid"})).await;
        assert_eq!(updated.status(), StatusCode::OK);
        let updated = body(updated).await["data"]["number_pool"].clone();
        assert_eq!(updated["number_ids"].as_array().unwrap().len(), 2);
        assert!(!updated["number_ids"].as_array().unwrap().contains(&json!(ids[0])));
        assert_eq!((updated["visitor_filter"].as_str(), updated["session_timeout_seconds"].as_i64()), (Some("paid"), Some(600)));
        let left = body(app.get(&format!("/api/v1/numbers/{}", ids[0])).await).await;
        assert!(left["data"]["pool_id"].is_null());
        assert_eq!(body(app.get("/api/v1/number-pools").await).await["data"]["total"], 1);

        // Another business sees nothing.
        let (_, other) = app.new_business("Other Co").await;
        for (method, path) in [(Method::GET, format!("/api/v1/number-pools/{id}")), (Method::DELETE, format!("/api/v1/number-pools/{id}"))] {
            assert_error(app.as_key(&other, method, &path).send().await.unwrap(), 404, "not_found", &[]).await;
        }
        let deleted = app.delete(&format!("/api/v1/number-pools/{id}")).await;
        assert_eq!(deleted.status(), StatusCode::OK);
        assert_error(app.get(&format!("/api/v1/number-pools/{id}")).await, 404, "not_found", &[]).await;
        let freed = body(app.get(&format!("/api/v1/numbers/{}", ids[1])).await).await;
        assert!(freed["data"]["pool_id"].is_null());
        app.stop().await;
    }

    async fn visits_lease_numbers_keep_them_and_overflow_to_the_target(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 2).await;
        let created = pool(&app, &ids, json!({})).await;
        let id = created["id"].as_str().unwrap();
        let first = visit(&app, id, "visitor-1", LANDING).await;
        let second = visit(&app, id, "visitor-2", LANDING).await;
        assert_ne!(first["number"], second["number"], "two live visits, two numbers");
        assert_eq!(first["target"], "+15735550100");
        assert_eq!(first["heartbeat_seconds"], 30);
        let again = visit(&app, id, "visitor-1", LANDING).await;
        assert_eq!((&again["number"], &again["session_id"]), (&first["number"], &first["session_id"]), "a returning visitor keeps theirs");
        let third = visit(&app, id, "visitor-3", LANDING).await;
        assert_eq!(third["number"], "+15735550100", "the pool is exhausted: the target is shown");
        let beat = public(&app, &format!("/dni/v1/sessions/{}/heartbeat", first["session_id"].as_str().unwrap()), &json!({})).await;
        assert_eq!(beat.status(), StatusCode::OK);
        assert_eq!(beat.json::<Value>().await.unwrap()["number"], first["number"]);

        let stats = body(app.get(&format!("/api/v1/number-pools/{id}")).await).await["data"]["number_pool"]["stats"].clone();
        assert_eq!((stats["active_sessions"].as_i64(), stats["overflow_count"].as_i64()), (Some(2), Some(1)));
        assert_eq!(stats["peak_concurrent_sessions"], 3);
        assert_eq!(stats["recommended_pool_size"], 4);

        // Unknown or malformed pools and sessions: 404, CORS-open, nothing about any business.
        for pool_id in [uuid::Uuid::now_v7().to_string(), "../../etc".into()] {
            let unknown = public(&app, "/dni/v1/sessions", &json!({"pool_id": pool_id, "visitor_id": "v"})).await;
            assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
            assert_eq!(unknown.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        }
        let stranger = public(&app, &format!("/dni/v1/sessions/{}/heartbeat", uuid::Uuid::now_v7()), &json!({})).await;
        assert_eq!(stranger.status(), StatusCode::NOT_FOUND);
        let bad = public(&app, "/dni/v1/sessions", &json!({"pool_id": id})).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let preflight = app.client.request(Method::OPTIONS, format!("{}/dni/v1/sessions", app.base)).send().await.unwrap();
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        assert!(preflight.headers()[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("POST"));
        let huge = public(&app, "/dni/v1/sessions", &json!({"pool_id": id, "visitor_id": "x".repeat(20_000)})).await;
        assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        app.stop().await;
    }

    async fn the_paid_filter_shows_organic_visitors_the_target(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 1).await;
        let id = pool(&app, &ids, json!({"visitor_filter": "paid"})).await["id"].as_str().unwrap().to_owned();
        let organic = visit(&app, &id, "organic", "https://acme.test/?utm_source=newsletter&utm_medium=email").await;
        assert_eq!(organic["number"], "+15735550100");
        let paid = visit(&app, &id, "paid", LANDING).await;
        assert_ne!(paid["number"], "+15735550100");
        app.stop().await;
    }

    async fn a_call_to_a_leased_number_takes_the_visits_attribution(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 2).await;
        let id = pool(&app, &ids, json!({})).await["id"].as_str().unwrap().to_owned();
        let lease = visit(&app, &id, "visitor-1", LANDING).await;
        let placed = place(&app, json!({"from": "+13055550111", "to": lease["number"]})).await;
        assert!(placed["trace"][0]["response"].as_str().unwrap().contains("Thanks Google visitor"), "the flow routed on the visit's source");
        let call = body(app.get(&format!("/api/v1/calls/{}", placed["call_id"].as_str().unwrap())).await).await["data"].clone();
        assert_eq!((call["utm_source"].as_str(), call["utm_medium"].as_str(), call["utm_campaign"].as_str()), (Some("google"), Some("cpc"), Some("plumbing")));
        assert_eq!(call["gclid"], "abc123");
        assert_eq!(call["landing_page"], LANDING);
        assert_eq!(call["referrer"], "https://www.google.com/");
        assert_eq!(call["session_id"], lease["session_id"]);

        // The other pool number was never leased: a call to it has no visit.
        let other = ids.iter().find(|n| **n != call["number_id"].as_str().unwrap()).unwrap();
        let other_phone = body(app.get(&format!("/api/v1/numbers/{other}")).await).await["data"]["phone_number"].clone();
        let unattributed = place(&app, json!({"from": "+13055550112", "to": other_phone})).await;
        let call = body(app.get(&format!("/api/v1/calls/{}", unattributed["call_id"].as_str().unwrap())).await).await["data"].clone();
        assert!(call["gclid"].is_null() && call["session_id"].is_null(), "{call}");
        app.stop().await;
    }

    async fn forms_are_kept_with_their_visit_and_never_keep_secrets(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 1).await;
        let id = pool(&app, &ids, json!({})).await["id"].as_str().unwrap().to_owned();
        let lease = visit(&app, &id, "visitor-1", LANDING).await;
        let sent = public(&app, "/dni/v1/forms", &json!({"pool_id": id, "session_id": lease["session_id"], "form_name": "quote",
            "page_url": "https://acme.test/contact", "fields": {"name": "Jane Doe", "email": "jane@example.com",
            "phone": "573-555-0142", "password": "hunter2", "notes": "4111 1111 1111 1111", "rooms": 3}})).await;
        assert_eq!(sent.status(), StatusCode::ACCEPTED);
        let listed = body(app.get("/api/v1/forms").await).await["data"].clone();
        assert_eq!(listed["total"], 1);
        let form = &listed["forms"][0];
        assert_eq!((form["name"].as_str(), form["email"].as_str(), form["phone"].as_str()), (Some("Jane Doe"), Some("jane@example.com"), Some("+15735550142")));
        assert_eq!((form["utm_source"].as_str(), form["gclid"].as_str(), form["landing_page"].as_str()), (Some("google"), Some("abc123"), Some(LANDING)));
        assert_eq!(form["session_id"], lease["session_id"]);
        assert_eq!(form["form_name"], "quote");
        assert_eq!(form["fields"], json!({"email": "jane@example.com", "name": "Jane Doe", "notes": "[redacted]", "phone": "573-555-0142", "rooms": "3"}));
        let one = app.get(&format!("/api/v1/forms/{}", form["id"].as_str().unwrap())).await;
        assert_eq!(body(one).await["data"]["form"]["id"], form["id"]);

        // No session: attribution from the page; caps and unknown pools refused.
        let bare = public(&app, "/dni/v1/forms", &json!({"pool_id": id, "page_url": "https://acme.test/?utm_source=bing", "fields": {"q": "x"}})).await;
        assert_eq!(bare.status(), StatusCode::ACCEPTED);
        assert_eq!(body(app.get("/api/v1/forms").await).await["data"]["forms"][0]["utm_source"], "bing");
        let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("f{i}"), json!("x"))).collect();
        let refused = public(&app, "/dni/v1/forms", &json!({"pool_id": id, "fields": many})).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = public(&app, "/dni/v1/forms", &json!({"pool_id": uuid::Uuid::now_v7(), "fields": {}})).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let (_, other) = app.new_business("Other Co").await;
        let theirs = app.as_key(&other, Method::GET, "/api/v1/forms").send().await.unwrap();
        assert_eq!(theirs.json::<Value>().await.unwrap()["data"]["total"], 0);
        app.stop().await;
    }

    async fn concurrent_visits_never_share_a_number(backend: Backend) {
        // Leases race each other and heartbeats (which, on SQLite, write through the other
        // write connection): every number goes to one visit, every other visit overflows.
        let limits = DniLimits::new(Rate { per_second: 1e6, burst: 1e6 }, Rate { per_second: 1e6, burst: 1e6 }, 1000);
        let app = TestApp::spawn_with_dni_limits(backend, limits).await;
        let ids = numbers(&app, 10).await;
        let id = pool(&app, &ids, json!({})).await["id"].as_str().unwrap().to_owned();
        let mut first = Vec::new();
        for i in 0..5 {
            first.push(visit(&app, &id, &format!("early-{i}"), LANDING).await);
        }
        let visitors: Vec<String> = (0..55).map(|i| format!("visitor-{i}")).collect();
        let visits = visitors.iter().map(|visitor| visit(&app, &id, visitor, LANDING));
        let beats = first.iter().cycle().take(20).map(|lease| {
            let path = format!("/dni/v1/sessions/{}/heartbeat", lease["session_id"].as_str().unwrap());
            let app = &app;
            async move { public(app, &path, &json!({})).await.json::<Value>().await.unwrap() }
        });
        let (later, beaten) = tokio::join!(futures_util::future::join_all(visits), futures_util::future::join_all(beats));
        for (beat, lease) in beaten.iter().zip(first.iter().cycle()) {
            assert_eq!(beat["number"], lease["number"], "a heartbeat keeps its number");
        }
        let leased: Vec<&str> = first
            .iter()
            .chain(&later)
            .filter(|l| l["number"] != l["target"])
            .map(|l| l["number"].as_str().unwrap())
            .collect();
        let distinct: std::collections::HashSet<&&str> = leased.iter().collect();
        assert_eq!((leased.len(), distinct.len()), (10, 10), "every number leased once: {leased:?}");
        let stats = body(app.get(&format!("/api/v1/number-pools/{id}")).await).await["data"]["number_pool"]["stats"].clone();
        assert_eq!((stats["active_sessions"].as_i64(), stats["overflow_count"].as_i64()), (Some(10), Some(50)), "{stats}");
        app.stop().await;
    }

    async fn one_address_cannot_hold_a_whole_pool(backend: Backend) {
        let limits = DniLimits::new(Rate { per_second: 1e6, burst: 1e6 }, Rate { per_second: 1e6, burst: 1e6 }, 2);
        let app = TestApp::spawn_with_dni_limits(backend, limits).await;
        let ids = numbers(&app, 4).await;
        let id = pool(&app, &ids, json!({})).await["id"].as_str().unwrap().to_owned();
        let mut leased = Vec::new();
        for i in 0..6 {
            let lease = visit(&app, &id, &format!("bot-{i}"), LANDING).await;
            if lease["number"] != lease["target"] {
                leased.push(lease["number"].as_str().unwrap().to_owned());
            } else {
                assert!(lease["session_id"].is_null(), "a refused visit keeps no session: {lease}");
            }
        }
        assert_eq!(leased.len(), 2, "{leased:?}");
        // Heartbeats keep what is held, and bring no more.
        let stats = body(app.get(&format!("/api/v1/number-pools/{id}")).await).await["data"]["number_pool"]["stats"].clone();
        assert_eq!((stats["active_sessions"].as_i64(), stats["peak_concurrent_sessions"].as_i64()), (Some(2), Some(2)), "{stats}");
        assert_eq!(stats["overflow_count"], 0, "refused visits are not overflows: {stats}");
        app.stop().await;
    }

    async fn heartbeats_alone_do_not_hold_a_number_for_ever(backend: Backend) {
        // Through the doors a browser uses, on a clock the test moves: 35 minutes pass in
        // no time.
        let clock = ringtrack_store::Clock::manual(jiff::Timestamp::now());
        let options = TestOptions { clock: clock.clone(), ..TestOptions::default() };
        let app = TestApp::spawn_with_options(backend, options).await;
        let ids = numbers(&app, 1).await;
        let id = pool(&app, &ids, json!({})).await["id"].as_str().unwrap().to_owned();
        let lease = |visitor: &str| {
            let payload = json!({"pool_id": id, "visitor_id": visitor});
            let app = &app;
            async move { body(public(app, "/dni/v1/sessions", &payload).await).await }
        };
        let held = lease("holder").await;
        assert_ne!(held["number"], held["target"], "{held}");
        let beat = format!("/dni/v1/sessions/{}/heartbeat", held["session_id"].as_str().unwrap());
        // The holder's page beats every 30 s; another visitor meanwhile finds the pool full.
        for count in 1..=70 {
            clock.advance(jiff::SignedDuration::from_secs(30));
            let kept = body(public(&app, &beat, &json!({})).await).await;
            assert_eq!(kept["number"], held["number"], "kept at {} s", count * 30);
            if count == 50 {
                let early = lease("early").await;
                assert_eq!(early["number"], early["target"], "within 30 min the lease holds: {early}");
            }
        }
        // Past 30 minutes, a new visitor may be given it though the beats go on.
        clock.advance(jiff::SignedDuration::from_secs(1));
        let newcomer = lease("newcomer").await;
        assert_eq!(newcomer["number"], held["number"], "{newcomer}");
        app.stop().await;
    }

    async fn forms_drop_secrets_by_name_and_redact_numbers_in_any_value(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 1).await;
        let id = pool(&app, &ids, json!({})).await["id"].as_str().unwrap().to_owned();
        let sent = public(&app, "/dni/v1/forms", &json!({"pool_id": id, "fields": {
            "name": "Jane Doe", "pwd": "hunter2", "PIN": "1234", "cc.num": "4111111111111111", "cc/num": "x",
            "api_token": "tok_123", "otp_code": "992211", "account_number": "000123456789", "routing_number": "021000021",
            "message": "my card is 4111 1111 1111 1111 exp 12/29, ssn 123-45-6789", "phone": "(573) 555-0142"}})).await;
        assert_eq!(sent.status(), StatusCode::ACCEPTED);
        let form = &body(app.get("/api/v1/forms").await).await["data"]["forms"][0];
        assert_eq!(form["fields"], json!({"name": "Jane Doe", "phone": "(573) 555-0142",
            "message": "my card is [redacted] exp 12/29, ssn [redacted]"}), "{form}");
        app.stop().await;
    }

    async fn forms_filter_by_pool_period_and_search(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 2).await;
        let first = pool(&app, &ids[..1], json!({})).await["id"].as_str().unwrap().to_owned();
        let second = pool(&app, &ids[1..], json!({"name": "Landing pages"})).await["id"].as_str().unwrap().to_owned();
        for (pool_id, name, email) in [(&first, "Jane Doe", "jane@example.com"), (&second, "Bob Smith", "bob_100%@example.com")] {
            let sent = public(&app, "/dni/v1/forms", &json!({"pool_id": pool_id, "form_name": "quote",
                "fields": {"name": name, "email": email, "phone": "573-555-0142"}})).await;
            assert_eq!(sent.status(), StatusCode::ACCEPTED);
        }
        let total = |query: &str| {
            let app = &app;
            let query = query.to_owned();
            async move {
                let answer = app.get(&format!("/api/v1/forms?{query}")).await;
                assert_eq!(answer.status(), StatusCode::OK, "{query}");
                assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
                body(answer).await["data"]["total"].as_i64().unwrap()
            }
        };
        assert_eq!(total("").await, 2);
        assert_eq!(total(&format!("pool_id={first}")).await, 1);
        assert_eq!(total("search=JANE").await, 1);
        assert_eq!(total("search=555-0142").await, 2);
        assert_eq!(total("search=100%25").await, 1, "% is a character, not a wildcard");
        assert_eq!(total("search=_").await, 1, "_ too");
        assert_eq!(total("date_from=2999-01-01").await, 0);
        assert_eq!(total("date_to=2000-01-01").await, 0);
        assert_eq!(total(&format!("pool_id={second}&search=bob&date_from=2020-01-01")).await, 1);
        assert_error(app.get("/api/v1/forms?pool_id=nope").await, 422, "validation_failed", &["pool_id"]).await;
        assert_error(app.get("/api/v1/forms?date_from=yesterday").await, 422, "validation_failed", &["date_from"]).await;
        assert_error(app.get("/api/v1/forms?search=a%00b").await, 422, "validation_failed", &["search"]).await;
        app.stop().await;
    }

    async fn amp_pages_get_a_leased_number_in_the_shape_amp_call_tracking_reads(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 2).await;
        let pool = pool(&app, &ids, json!({})).await;
        let pool_id = pool["id"].as_str().unwrap().to_owned();
        let amp = |client: &str| {
            let url = format!(
                "{}/dni/v1/amp/{pool_id}?client_id={client}&page={}&__amp_source_origin=https%3A%2F%2Facme.test",
                app.base,
                LANDING.replace('&', "%26").replace('?', "%3F")
            );
            app.client.get(url).header(header::ORIGIN, "https://acme-test.cdn.ampproject.org").send()
        };
        let first = amp("amp-reader-1").await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        // CORS as AMP's runtime requires: its origin named, credentials allowed, the
        // source origin echoed and exposed.
        let h = first.headers().clone();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://acme-test.cdn.ampproject.org");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h["amp-access-control-allow-source-origin"], "https://acme.test");
        assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "AMP-Access-Control-Allow-Source-Origin");
        assert!(h[header::CACHE_CONTROL].to_str().unwrap().contains("no-store"));
        let shown = body(first).await;
        let number = shown["phoneNumber"].as_str().unwrap().to_owned();
        let pool_numbers: Vec<String> = pool["numbers"].as_array().map_or_else(Vec::new, |n| n.iter().map(|n| n["phone_number"].as_str().unwrap_or_default().to_owned()).collect());
        assert!(number.starts_with("+1573") && number != "+15735550100", "a pool number, not the target: {shown}");
        if !pool_numbers.is_empty() {
            assert!(pool_numbers.contains(&number), "{number} in {pool_numbers:?}");
        }
        let digits = &number[2..];
        assert_eq!(shown["formattedPhoneNumber"], format!("({}) {}-{}", &digits[..3], &digits[3..6], &digits[6..]));
        assert_eq!(shown.as_object().unwrap().len(), 2, "exactly the component's two fields: {shown}");
        // The same reader keeps their number; another gets the other one.
        assert_eq!(body(amp("amp-reader-1").await.unwrap()).await["phoneNumber"], number.as_str());
        assert_ne!(body(amp("amp-reader-2").await.unwrap()).await["phoneNumber"], number.as_str());
        // The visit carries the page's attribution, as the script's visits do.
        let sessions = ringtrack_store::testing::count(&app.store,
            "SELECT count(*) AS value FROM dni_sessions WHERE utm_source = 'google' AND utm_campaign = 'plumbing'").await;
        assert!(sessions >= 2, "{sessions}");
        // Named errors, CORS-readable.
        let missing = app.client.get(format!("{}/dni/v1/amp/{pool_id}", app.base)).header(header::ORIGIN, "https://acme.test").send().await.unwrap();
        assert_eq!(missing.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://acme.test");
        assert_error(missing, 422, "validation_failed", &["client_id"]).await;
        let unknown = app.client.get(format!("{}/dni/v1/amp/{}?client_id=x", app.base, uuid::Uuid::now_v7())).send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        app.stop().await;
    }

    async fn pages_the_script_ran_on_are_counted_per_pool_without_their_queries(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ids = numbers(&app, 1).await;
        let pool = pool(&app, &ids, json!({})).await;
        let pool_id = pool["id"].as_str().unwrap().to_owned();
        let app_ref = &app;
        let report = |url: &str, visible: bool| {
            let payload = json!({"pool_id": pool_id, "url": url, "target_visible": visible});
            async move { public(app_ref, "/dni/v1/pages", &payload).await }
        };
        for (url, visible) in [
            ("https://acme.test/plumbing?utm_source=google&gclid=abc", false),
            ("https://acme.test/plumbing#book", true),
            ("https://acme.test/plumbing", false),
            ("https://acme.test/", false),
        ] {
            let answer = report(url, visible).await;
            assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{url}");
            assert_eq!(answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        }
        for (url, field) in [("javascript:alert(1)", "url"), ("ftp://acme.test/", "url")] {
            assert_error(report(url, false).await, 422, "validation_failed", &[field]).await;
        }
        assert_error(report(&format!("https://acme.test/{}", "a".repeat(500)), false).await, 422, "validation_failed", &["url"]).await;
        let unknown = public(&app, "/dni/v1/pages", &json!({"pool_id": uuid::Uuid::now_v7(), "url": "https://acme.test/", "target_visible": false})).await;
        assert_eq!(unknown.status(), StatusCode::NO_CONTENT, "an unknown pool records nothing, and says nothing");

        let detail = body(app.get(&format!("/api/v1/number-pools/{pool_id}")).await).await;
        let pages = detail["data"]["number_pool"]["pages"].as_array().unwrap().clone();
        assert_eq!(pages.len(), 2, "{pages:?}");
        let plumbing = pages.iter().find(|p| p["url"] == "https://acme.test/plumbing").expect("the page, without its query");
        assert_eq!((plumbing["views"].as_i64(), plumbing["target_visible_views"].as_i64()), (Some(3), Some(1)));
        assert!(plumbing["last_target_visible_at"].is_string());
        assert_eq!(plumbing["latest_view_showed_target"], false, "the target showed on an earlier view, not the latest");
        let home = pages.iter().find(|p| p["url"] == "https://acme.test/").unwrap();
        assert!(home["last_target_visible_at"].is_null());
        let listed = body(app.get("/api/v1/number-pools").await).await;
        assert!(listed["data"]["number_pools"][0].get("pages").is_none(), "the list does not carry pages: {listed}");

        // The app says the same in words, to anyone of the business (a viewer here).
        crate::web::person(&app, app.business, "vera@acme.test", Role::Viewer).await;
        let cookie = crate::web::sign_in(&app, "vera@acme.test").await;
        let read = |path: String| {
            let cookie = cookie.clone();
            async move { crate::web::get(app_ref, &path, Some(&cookie)).await.text().await.unwrap() }
        };
        let list = read("/website".into()).await;
        assert!(list.contains(&format!(r#"href="/website/{pool_id}""#)) && list.contains("(573) 555-0100"), "{list}");
        assert!(list.contains("2 pages") && !list.contains("still showing your number"), "{list}");
        let page = read(format!("/website/{pool_id}")).await;
        assert!(page.contains(&format!("/dni.js&quot; data-pool=&quot;{pool_id}&quot;")), "the tag to paste: {page}");
        assert!(page.contains(&format!("/dni/v1/amp/{pool_id}?client_id=CLIENT_ID(ringtrack)")), "the AMP tag: {page}");
        assert!(page.contains("https://acme.test/plumbing") && page.contains("showed on 1 earlier view,"), "{page}");
        assert!(!page.contains("utm_source=google") && !page.contains("Still showing"), "{page}");

        // A page that still shows the target on its latest view is flagged, in the same
        // second as views that did not.
        assert_eq!(report("https://acme.test/contact", false).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(report("https://acme.test/contact", true).await.status(), StatusCode::NO_CONTENT);
        let list = read("/website".into()).await;
        assert!(list.contains("3 pages") && list.contains("1 still showing your number"), "{list}");
        let page = read(format!("/website/{pool_id}")).await;
        assert!(page.contains("Still showing") && page.contains("on 1 of 2 views"), "{page}");
        app.stop().await;
    }

    async fn public_endpoints_are_rate_limited_per_ip(backend: Backend) {
        let app = TestApp::spawn_with_dni_limits(backend, DniLimits::new(
            Rate { per_second: 1.0, burst: 5.0 }, Rate { per_second: 1000.0, burst: 1000.0 }, i64::MAX)).await;
        let ids = numbers(&app, 1).await;
        let id = pool(&app, &ids, json!({})).await["id"].as_str().unwrap().to_owned();
        let mut statuses = Vec::new();
        for i in 0..8 {
            let answer = public(&app, "/dni/v1/sessions", &json!({"pool_id": id, "visitor_id": format!("v{i}")})).await;
            if answer.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(answer.headers()[header::RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() >= 1);
                assert_eq!(answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
            }
            statuses.push(answer.status().as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3, "{statuses:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_script_is_small_cacheable_and_revalidated() {
    let app = TestApp::spawn(ringtrack_store::Backend::Sqlite).await;
    let script = app.client.get(format!("{}/dni.js", app.base)).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/javascript"));
    assert!(script.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("max-age"));
    let etag = script.headers()[header::ETAG].to_str().unwrap().to_owned();
    let text = script.text().await.unwrap();
    // About 4 KB gzipped (bench/RESULTS.md; the bound is 8 KB gzipped): small beside any
    // page that carries it.
    assert!(text.len() < 12 * 1024, "{} bytes", text.len());
    assert!(text.contains("MutationObserver") && text.contains("/dni/v1/sessions"));
    let again = app
        .client
        .get(format!("{}/dni.js", app.base))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let revalidate = |tags: &'static str| {
        app.client.get(format!("{}/dni.js", app.base)).header(header::IF_NONE_MATCH, tags).send()
    };
    assert_eq!(
        revalidate("\"0ld\", \"v1\"").await.unwrap().status(),
        StatusCode::OK,
        "a stale copy gets the script"
    );
    assert_eq!(revalidate("*").await.unwrap().status(), StatusCode::NOT_MODIFIED);
    app.stop().await;
}
