//! Issue 31 over HTTP, on both backends: the cross-business takeover replayed, sign-in
//! limits behind a proxy, live streams bounded per session, the request log and metrics by
//! route, the password-reset request's one path, and the headers every answer carries.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use ringtrack_core::mail::Mailer;
use ringtrack_domain::Role;
use ringtrack_domain::network::TrustedProxies;
use ringtrack_store::{businesses, test_on_both_backends};

use crate::common::{TestApp, TestOptions};
use crate::web::{browser, csrf_of, get, person, post, sign_in};

const PASSWORD: &str = "correct horse battery";

/// The link an admin is shown after inviting `email` from the team page.
async fn invite_shown(app: &TestApp, admin: &str, email: &str) -> String {
    let team = get(app, "/team", Some(admin)).await.text().await.unwrap();
    let invited = post(
        app,
        "/team",
        admin,
        &[("csrf", &csrf_of(&team)), ("name", "Nia"), ("email", email), ("role", "admin")],
    )
    .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let shown = invited.text().await.unwrap();
    let link = shown
        .split("value=\"")
        .find(|v| v.starts_with(&format!("{}/invitations/", app.base)))
        .expect("a link");
    link.split('"').next().unwrap().trim_start_matches(&app.base).to_owned()
}

async fn set_password(app: &TestApp, path: &str, password: &str, client: &str) -> reqwest::Response {
    browser()
        .post(format!("{}{path}", app.base))
        .header("origin", &app.base)
        .header("x-forwarded-for", client)
        .form(&[("password", password)])
        .send()
        .await
        .unwrap()
}

async fn sign_in_from(app: &TestApp, email: &str, password: &str, client: &str) -> reqwest::Response {
    browser()
        .post(format!("{}/login", app.base))
        .header("origin", &app.base)
        .header("x-forwarded-for", client)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

test_on_both_backends! {
    async fn another_business_admin_never_holds_a_password_link_for_your_account(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut tx = app.store.begin().await.unwrap();
        let y = businesses::create(&mut tx, "Yonder Roofing", "UTC").await.unwrap().id;
        tx.commit().await.unwrap();
        person(&app, app.business, "xena@acme.test", Role::Admin).await;
        person(&app, y, "yuri@yonder.test", Role::Admin).await;
        let admin_x = sign_in(&app, "xena@acme.test").await;
        let admin_y = sign_in(&app, "yuri@yonder.test").await;
        let lx = invite_shown(&app, &admin_x, "newhire@x.test").await;
        let ly = invite_shown(&app, &admin_y, "newhire@x.test").await;
        // Y's link sets no password, before or after the person set theirs through X's.
        assert_eq!(set_password(&app, &ly, "the attacker's pick", "198.51.100.66").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(set_password(&app, &lx, PASSWORD, "203.0.113.1").await.status(), StatusCode::SEE_OTHER);
        assert_eq!(set_password(&app, &ly, "the attacker's pick", "198.51.100.66").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(set_password(&app, &lx, "the attacker's pick", "198.51.100.66").await.status(), StatusCode::NOT_FOUND);
        // The person signs in to X, and is asked about Y.
        let signed = sign_in_from(&app, "newhire@x.test", PASSWORD, "203.0.113.1").await;
        assert_eq!(signed.headers()[LOCATION], "/invitations");
        let cookie = signed.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
        let waiting = get(&app, "/invitations", Some(&cookie)).await.text().await.unwrap();
        assert!(waiting.contains("Yonder Roofing") && waiting.contains("open the link"), "{waiting}");
        // Y's link, opened signed out, asks to sign in and comes back; signed in, it joins.
        let opened = get(&app, &ly, None).await.text().await.unwrap();
        assert!(opened.contains(&format!("/login?next={ly}")), "{opened}");
        let joining = get(&app, &ly, Some(&cookie)).await.text().await.unwrap();
        assert!(joining.contains("Join Yonder Roofing"), "{joining}");
        let joined = post(&app, &format!("{ly}/answer"), &cookie, &[("csrf", &csrf_of(&joining)), ("answer", "accept")]).await;
        assert_eq!(joined.status(), StatusCode::SEE_OTHER);
        let log = get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        assert!(log.contains("Yonder Roofing") && log.contains("Acme Plumbing"), "both in the switcher: {log}");
        app.stop().await;
    }

    async fn behind_a_trusted_proxy_each_client_is_limited_on_its_own(backend: Backend) {
        let mut options = TestOptions::default();
        options.connections.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        let app = TestApp::spawn_with_options(backend, options).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        for _ in 0..4 {
            let wrong = sign_in_from(&app, "maria@acme.test", "not the password", "198.51.100.1").await;
            assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let held = sign_in_from(&app, "maria@acme.test", PASSWORD, "198.51.100.1").await;
        assert_eq!(held.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(held.headers().contains_key("retry-after"));
        // Another person behind the same proxy signs in: the guesses were not theirs.
        let other = sign_in_from(&app, "maria@acme.test", PASSWORD, "198.51.100.2").await;
        assert_eq!(other.status(), StatusCode::SEE_OTHER);
        // A client cannot choose its address by writing the header itself.
        let forged = sign_in_from(&app, "maria@acme.test", PASSWORD, "198.51.100.2, 198.51.100.1").await;
        assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;

        // Without a trusted proxy the header is ignored: every request is the peer's.
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        for n in 0..4 {
            sign_in_from(&app, "maria@acme.test", "not the password", &format!("198.51.100.{n}")).await;
        }
        let ignored = sign_in_from(&app, "maria@acme.test", PASSWORD, "198.51.100.9").await;
        assert_eq!(ignored.status(), StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;
    }

    async fn a_session_holds_a_few_live_streams_and_they_end_with_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        person(&app, app.business, "sam@acme.test", Role::Viewer).await;
        let cookie = sign_in(&app, "maria@acme.test").await;
        let mut open = Vec::new();
        for _ in 0..4 {
            let stream = get(&app, "/calls/live", Some(&cookie)).await;
            assert_eq!(stream.status(), StatusCode::OK);
            open.push(stream);
        }
        let fifth = get(&app, "/calls/live", Some(&cookie)).await;
        assert_eq!(fifth.status(), StatusCode::TOO_MANY_REQUESTS);
        let other = sign_in(&app, "sam@acme.test").await;
        assert_eq!(get(&app, "/calls/live", Some(&other)).await.status(), StatusCode::OK, "others are not shut out");
        // A stream closed gives its place back.
        drop(open.pop());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let again = get(&app, "/calls/live", Some(&cookie)).await;
        assert_eq!(again.status(), StatusCode::OK);
        // Signed out, every stream of the session ends.
        let page = get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        post(&app, "/logout", &cookie, &[("csrf", &csrf_of(&page))]).await;
        let mut stream = again;
        let ended = tokio::time::timeout(std::time::Duration::from_secs(25), async {
            while let Ok(Some(_)) = stream.chunk().await {}
        })
        .await;
        assert!(ended.is_ok(), "the stream ends within the session check");
        app.stop().await;
    }

    async fn web_answers_are_logged_by_route_and_carry_the_security_headers(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let token = ringtrack_domain::people::Token::generate();
        let page = get(&app, &format!("/invitations/{}", token.expose()), None).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        assert!(page.headers().contains_key("x-request-id"), "the app's requests are logged like the API's");
        let mut metrics = String::new();
        app.metrics.render(&mut metrics);
        assert!(metrics.contains(r#"route="/invitations/{token}""#), "{metrics}");
        assert!(!metrics.contains(token.expose()), "a token never reaches a label");

        let login = get(&app, "/login", None).await;
        for (name, value) in [("x-frame-options", "DENY"), ("x-content-type-options", "nosniff")] {
            assert_eq!(login.headers()[name], value);
        }
        assert!(login.headers()["permissions-policy"].to_str().unwrap().contains("camera=()"));
        assert!(!login.headers().contains_key("strict-transport-security"), "http: no HSTS");
        let api = app.get("/api/v1/calls").await;
        assert_eq!(api.headers()[CONTENT_SECURITY_POLICY], "default-src 'none'; frame-ancestors 'none'");
        let docs = get(&app, "/docs", None).await;
        let policy = docs.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
        let html = docs.text().await.unwrap();
        assert!(!html.contains("<script>") && !html.contains("<style>"), "no inline script or style: {html}");
        for asset in ["/docs/docs.js", "/docs/docs.css"] {
            assert_eq!(get(&app, asset, None).await.status(), StatusCode::OK, "{asset}");
        }
        // Forms are capped like the API's bodies.
        let huge = "x".repeat(2 * 1024 * 1024);
        let refused = browser().post(format!("{}/login", app.base)).header("origin", &app.base)
            .form(&[("email", "a@b.test"), ("password", huge.as_str())]).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Two session cookies (one may have been planted) are no session.
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let cookie = sign_in(&app, "maria@acme.test").await;
        assert_eq!(get(&app, "/calls", Some(&cookie)).await.status(), StatusCode::OK);
        let planted = format!("{cookie}; ringtrack_session={}", ringtrack_domain::people::Token::generate().expose());
        assert_eq!(get(&app, "/calls", Some(&planted)).await.headers()[LOCATION], "/login");
        app.stop().await;
    }

    async fn over_https_the_cookie_is_host_only_and_browsers_are_told_to_stay(backend: Backend) {
        let public = "https://calls.acme.test";
        let app = TestApp::spawn_with_options(backend, TestOptions { public_url: Some(public.into()), ..TestOptions::default() }).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let signed = browser().post(format!("{}/login", app.base)).header("origin", public)
            .form(&[("email", "maria@acme.test"), ("password", PASSWORD)]).send().await.unwrap();
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        assert!(signed.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
        let cookie = signed.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-ringtrack_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"), "{cookie}");
        let pair = cookie.split(';').next().unwrap();
        assert_eq!(get(&app, "/calls", Some(pair)).await.status(), StatusCode::OK);
        // The plain name means nothing over https.
        let plain = pair.replacen("__Host-", "", 1);
        assert_eq!(get(&app, "/calls", Some(&plain)).await.headers()[LOCATION], "/login");
        app.stop().await;
    }

    async fn asking_for_a_reset_takes_the_same_path_whether_or_not_there_is_an_account(backend: Backend) {
        // A mail server that is not there: the request only queues the job.
        let mailer = Mailer::from_settings(Some("smtp://127.0.0.1:9"), Some("ringtrack <calls@acme.test>")).unwrap();
        let app = TestApp::spawn_with_options(backend, TestOptions { mailer, ..TestOptions::default() }).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let mut pages = Vec::new();
        for email in ["maria@acme.test", "nobody@acme.test"] {
            let asked = browser().post(format!("{}/password/forgot", app.base)).header("origin", &app.base)
                .form(&[("email", email)]).send().await.unwrap();
            assert_eq!(asked.status(), StatusCode::OK);
            pages.push(asked.text().await.unwrap().replace(email, "EMAIL"));
        }
        assert_eq!(pages[0], pages[1], "the same answer");
        let jobs = ringtrack_store::jobs::all(&app.store).await.unwrap();
        let resets: Vec<_> = jobs.iter().filter(|j| j.kind == "send_password_reset").collect();
        assert_eq!(resets.len(), 2, "both went to the queue: {jobs:?}");
        app.stop().await;
    }

    async fn two_factor_is_set_up_from_a_qr_code_after_the_password(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let cookie = sign_in(&app, "maria@acme.test").await;
        let account = get(&app, "/account", Some(&cookie)).await.text().await.unwrap();
        for shown in ["Change password", "Set up two-factor sign-in", "Sign out everywhere", r#"<label for="two-factor-password">Your password</label>"#] {
            assert!(account.contains(shown), "{shown} in {account}");
        }
        let csrf = csrf_of(&account);
        let refused = post(&app, "/account/two-factor", &cookie, &[("csrf", &csrf), ("password", "not my password")]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains("That is not your password."));
        let setup = post(&app, "/account/two-factor", &cookie, &[("csrf", &csrf), ("password", PASSWORD)]).await;
        assert_eq!(setup.status(), StatusCode::OK);
        let setup = setup.text().await.unwrap();
        assert!(setup.contains("<svg") && setup.contains("QR code to scan"), "{setup}");
        assert!(setup.contains("otpauth://totp/"));
        app.stop().await;
    }

    async fn invitations_are_limited_per_admin(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "ada@acme.test", Role::Admin).await;
        let cookie = sign_in(&app, "ada@acme.test").await;
        let team = get(&app, "/team", Some(&cookie)).await.text().await.unwrap();
        let csrf = csrf_of(&team);
        for n in 0..20 {
            let email = format!("hire{n}@acme.test");
            let invited = post(&app, "/team", &cookie, &[("csrf", &csrf), ("name", "Hire"), ("email", &email), ("role", "viewer")]).await;
            assert_eq!(invited.status(), StatusCode::OK, "invitation {n}");
        }
        let held = post(&app, "/team", &cookie, &[("csrf", &csrf), ("name", "Hire"), ("email", "one-more@acme.test"), ("role", "viewer")]).await;
        assert_eq!(held.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(held.headers().contains_key("retry-after"));
        assert!(held.text().await.unwrap().contains("Too many invitations lately"));
        app.stop().await;
    }

    async fn a_withheld_number_is_never_texted(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.credit(app.business, 10_000).await;
        let number = crate::common::body(app.post("/api/v1/numbers/purchase", &serde_json::json!({"area_code": "573"})).await).await;
        let sent = app.post("/api/v1/texts", &serde_json::json!({"from_number_id": number["data"]["id"], "to": "+266696687", "body": "Sorry we missed you"})).await;
        crate::common::assert_error(sent, 422, "validation_failed", &["to"]).await;
        app.stop().await;
    }

    async fn an_admin_sees_the_invitations_waiting_and_withdraws_one(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let mut tx = app.store.begin().await.unwrap();
        let other = businesses::create(&mut tx, "Other Co", "UTC").await.unwrap().id;
        tx.commit().await.unwrap();
        person(&app, app.business, "ada@acme.test", Role::Admin).await;
        person(&app, other, "sam@other.test", Role::Viewer).await;
        let admin = sign_in(&app, "ada@acme.test").await;
        let sam = sign_in(&app, "sam@other.test").await;
        let link = invite_shown(&app, &admin, "sam@other.test").await;
        let team = get(&app, "/team", Some(&admin)).await.text().await.unwrap();
        assert!(team.contains("Invitations waiting") && team.contains("sam@other.test"), "{team}");
        assert!(get(&app, &link, Some(&sam)).await.text().await.unwrap().contains("Join Acme Plumbing"));
        // Only an admin withdraws; a withdrawn invitation's link stops working.
        let path = team.split("action=\"/team/invitations/").nth(1).unwrap().split('"').next().unwrap();
        let path = format!("/team/invitations/{path}");
        let withdrawn = post(&app, &path, &admin, &[("csrf", &csrf_of(&team))]).await;
        assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
        assert!(!get(&app, "/team", Some(&admin)).await.text().await.unwrap().contains("Invitations waiting"));
        assert_eq!(get(&app, &link, Some(&sam)).await.status(), StatusCode::NOT_FOUND);
        let waiting = get(&app, "/invitations", Some(&sam)).await.text().await.unwrap();
        assert!(waiting.contains("No invitation is waiting for you."), "{waiting}");
        app.stop().await;
    }
}
