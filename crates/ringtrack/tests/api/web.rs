//! The web app over HTTP, on both backends: sign-in and sign-out, the session cookie, CSRF
//! and origin checks, invitations, the call log scoped to the person's business.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use ringtrack_core::calls::import;
use ringtrack_core::people;
use ringtrack_domain::people::{Email, Password};
use ringtrack_domain::{BusinessId, Role};
use ringtrack_store::{businesses, test_on_both_backends};

use crate::common::TestApp;

const PASSWORD: &str = "correct horse battery";

/// A browser-like client that does not follow redirects (the tests read them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn person(app: &TestApp, business: BusinessId, address: &str, role: Role) {
    let email = Email::parse("email", address).unwrap();
    let password = Password::parse("password", PASSWORD).unwrap();
    people::invite(&app.store, business, &email, "Maria", role, Some(&password)).await.unwrap();
}

/// Signs in through the form; answers the session cookie (`name=value`).
async fn sign_in(app: &TestApp, address: &str) -> String {
    let response = browser()
        .post(format!("{}/login", app.base))
        .header("origin", &app.base)
        .form(&[("email", address), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/calls");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "the test server's public URL is http: {cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = browser().get(format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// The value of the first hidden `csrf` input of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}

test_on_both_backends! {
    async fn a_person_signs_in_sees_their_calls_and_signs_out(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let mut tx = app.store.begin().await.unwrap();
        let other = businesses::create(&mut tx, "Other Co", "UTC").await.unwrap();
        let mut mine = ringtrack_store::testing::past_call(app.business, "2026-03-02T15:00:00Z".parse().unwrap(), "answered", 145);
        mine.caller_number = "+15735550142".into();
        mine.utm_source = Some("google".into());
        let mut theirs = ringtrack_store::testing::past_call(other.id, "2026-03-02T16:00:00Z".parse().unwrap(), "missed", 0);
        theirs.caller_number = "+13055559999".into();
        import(&mut tx, &[mine, theirs]).await.unwrap();
        tx.commit().await.unwrap();

        let login = get(&app, "/login", None).await;
        assert_eq!(login.status(), StatusCode::OK);
        let policy = login.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
        let form = login.text().await.unwrap();
        for labelled in [r#"<label for="email">Email</label>"#, r#"<label for="password">Password</label>"#, ">Sign in</button>"] {
            assert!(form.contains(labelled), "{labelled} in {form}");
        }
        // Signed out, the log sends people to sign in.
        let away = get(&app, "/calls", None).await;
        assert_eq!(away.status(), StatusCode::SEE_OTHER);
        assert_eq!(away.headers()[LOCATION], "/login");

        let wrong = browser()
            .post(format!("{}/login", app.base))
            .header("origin", &app.base)
            .form(&[("email", "maria@acme.test"), ("password", "not the password")])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.text().await.unwrap().contains("The email or password is not right."));

        let cookie = sign_in(&app, "Maria@Acme.test").await;
        let log = get(&app, "/calls", Some(&cookie)).await;
        assert_eq!(log.status(), StatusCode::OK);
        let log = log.text().await.unwrap();
        assert!(log.contains("(573) 555-0142"), "the caller as people write it: {log}");
        assert!(log.contains("2:25") && log.contains("Answered") && log.contains("google"), "{log}");
        assert!(log.contains("1 call"), "{log}");
        assert!(!log.contains("(305) 555-9999"), "another business's call is not shown");

        // Sign-out needs the session's CSRF token.
        let forged = browser()
            .post(format!("{}/logout", app.base))
            .header("cookie", &cookie)
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(get(&app, "/calls", Some(&cookie)).await.status(), StatusCode::OK, "still signed in");
        let out = browser()
            .post(format!("{}/logout", app.base))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf_of(&log))])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
        let after = get(&app, "/calls", Some(&cookie)).await;
        assert_eq!(after.headers()[LOCATION], "/login", "the old cookie is no session");
        app.stop().await;
    }

    async fn a_sign_in_form_from_another_site_is_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Admin).await;
        for (header, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
            let response = browser()
                .post(format!("{}/login", app.base))
                .header(header, value)
                .form(&[("email", "maria@acme.test"), ("password", PASSWORD)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{header}: {value}");
            assert!(response.headers().get(SET_COOKIE).is_none());
        }
        app.stop().await;
    }

    async fn an_invitation_link_sets_a_password_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let email = Email::parse("email", "sam@acme.test").unwrap();
        let invited = people::invite(&app.store, app.business, &email, "Sam", Role::Manager, None).await.unwrap();
        let path = format!("/invitations/{}", invited.link.unwrap().expose());
        let form = get(&app, &path, None).await;
        assert_eq!(form.status(), StatusCode::OK);
        assert!(form.text().await.unwrap().contains(r#"<label for="password">New password</label>"#));
        let post = |password: &'static str| {
            browser().post(format!("{}{path}", app.base)).header("origin", &app.base).form(&[("password", password)]).send()
        };
        let short = post("short").await.unwrap();
        assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(short.text().await.unwrap().contains("must be at least 10 characters"));
        let set = post(PASSWORD).await.unwrap();
        assert_eq!(set.status(), StatusCode::SEE_OTHER);
        assert_eq!(set.headers()[LOCATION], "/login");
        sign_in(&app, "sam@acme.test").await;
        let again = post("another password 2").await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_FOUND, "a link works once");
        assert!(again.text().await.unwrap().contains("expired or was used already"));
        assert_eq!(get(&app, "/invitations/not-a-token", None).await.status(), StatusCode::NOT_FOUND);
        app.stop().await;
    }
}
