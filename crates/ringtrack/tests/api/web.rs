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
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) async fn person(app: &TestApp, business: BusinessId, address: &str, role: Role) {
    let email = Email::parse("email", address).unwrap();
    let password = Password::parse("password", PASSWORD).unwrap();
    people::invite(&app.store, business, &email, "Maria", role, Some(&password), "Ana").await.unwrap();
}

/// Signs in through the form; answers the session cookie (`name=value`).
pub(crate) async fn sign_in(app: &TestApp, address: &str) -> String {
    let response = browser()
        .post(format!("{}/login", app.base))
        .header("origin", &app.base)
        .form(&[("email", address), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/dashboard");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "the test server's public URL is http: {cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = browser().get(format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// The value of the first hidden `csrf` input of a page.
pub(crate) fn csrf_of(page: &str) -> String {
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
        let invited = people::invite(&app.store, app.business, &email, "Sam", Role::Manager, None, "Ana").await.unwrap();
        let path = format!("/invitations/{}", invited.invited.password_link().unwrap().expose());
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

    async fn every_app_route_is_scoped_to_the_persons_business(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Admin).await;
        let mine = one_call(&app, app.business, "+15735550142").await;
        let (other, _) = app.new_business("Other Co").await;
        let theirs = one_call(&app, other, "+13055559999").await;
        let cookie = sign_in(&app, "maria@acme.test").await;
        let page = get(&app, &format!("/calls/{mine}"), Some(&cookie)).await.text().await.unwrap();
        let csrf = csrf_of(&page);

        for path in [format!("/calls/{theirs}"), format!("/calls/{theirs}/audio"), "/calls/not-an-id".into()] {
            assert_eq!(get(&app, &path, Some(&cookie)).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let verdict = post(&app, &format!("/calls/{theirs}/verdict"), &cookie, &[("csrf", &csrf), ("qualified", "false")]).await;
        assert_eq!(verdict.status(), StatusCode::NOT_FOUND);
        let notes = post(&app, &format!("/calls/{theirs}/notes"), &cookie, &[("csrf", &csrf), ("notes", "mine now"), ("tags", "x")]).await;
        assert_eq!(notes.status(), StatusCode::NOT_FOUND);
        let untouched = ringtrack_store::calls::get(&app.store, other, theirs.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!((untouched.qualified_by_person, untouched.notes), (None, None), "another business's call is unchanged");
        let csv = get(&app, "/calls.csv", Some(&cookie)).await.text().await.unwrap();
        assert!(csv.contains("+15735550142") && !csv.contains("+13055559999"), "{csv}");
        // Switching to a business the person does not belong to is refused.
        let switch = post(&app, "/business", &cookie, &[("csrf", &csrf), ("business", &other.to_string())]).await;
        assert_eq!(switch.status(), StatusCode::NOT_FOUND);
        app.stop().await;
    }

    async fn a_viewer_reads_a_call_but_cannot_change_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "vera@acme.test", Role::Viewer).await;
        let id = one_call(&app, app.business, "+15735550142").await;
        let cookie = sign_in(&app, "vera@acme.test").await;
        let page = get(&app, &format!("/calls/{id}"), Some(&cookie)).await.text().await.unwrap();
        assert!(page.contains("(573) 555-0142"), "{page}");
        for control in ["Mark qualified", "Mark not qualified", "Save notes and tags"] {
            assert!(!page.contains(control), "a viewer sees no {control}");
        }
        let csrf = csrf_of(&page);
        let verdict = post(&app, &format!("/calls/{id}/verdict"), &cookie, &[("csrf", &csrf), ("qualified", "true")]).await;
        assert_eq!(verdict.status(), StatusCode::FORBIDDEN);
        assert!(verdict.text().await.unwrap().contains("lets you read, not change"));
        let notes = post(&app, &format!("/calls/{id}/notes"), &cookie, &[("csrf", &csrf), ("notes", "x"), ("tags", "")]).await;
        assert_eq!(notes.status(), StatusCode::FORBIDDEN);
        let call = ringtrack_store::calls::get(&app.store, app.business, id.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!((call.qualified_by_person, call.notes), (None, None));
        app.stop().await;
    }

    async fn a_verdict_notes_and_tags_made_in_the_app_are_what_the_api_reads(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "mo@acme.test", Role::Manager).await;
        let id = one_call(&app, app.business, "+15735550142").await;
        let cookie = sign_in(&app, "mo@acme.test").await;
        let page = get(&app, &format!("/calls/{id}"), Some(&cookie)).await.text().await.unwrap();
        assert!(page.contains("Mark qualified") && page.contains("Mark not qualified"), "{page}");
        let csrf = csrf_of(&page);
        // Without the session's token, nothing changes.
        for forged in [vec![("qualified", "false")], vec![("csrf", "forged"), ("qualified", "false")]] {
            let refused = post(&app, &format!("/calls/{id}/verdict"), &cookie, &forged).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{forged:?}");
        }
        let api_view = || async { crate::common::body(app.get(&format!("/api/v1/calls/{id}")).await).await["data"].clone() };
        assert_eq!(api_view().await["qualified"], true, "the automatic verdict before");

        let marked = post(&app, &format!("/calls/{id}/verdict"), &cookie, &[("csrf", &csrf), ("qualified", "false")]).await;
        assert_eq!(marked.status(), StatusCode::SEE_OTHER);
        assert_eq!(marked.headers()[LOCATION], format!("/calls/{id}"));
        assert_eq!(api_view().await["qualified"], false);
        let page = get(&app, &format!("/calls/{id}"), Some(&cookie)).await.text().await.unwrap();
        assert!(page.contains("Marked not qualified by a person.") && page.contains("Back to automatic"), "{page}");
        post(&app, &format!("/calls/{id}/verdict"), &cookie, &[("csrf", &csrf), ("qualified", "auto")]).await;
        assert_eq!(api_view().await["qualified"], true, "back to the automatic verdict");

        let saved = post(&app, &format!("/calls/{id}/notes"), &cookie,
            &[("csrf", &csrf), ("notes", "Booked for Tuesday <b>"), ("tags", "booked, vip,booked, ")]).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let view = api_view().await;
        assert_eq!(view["notes"], "Booked for Tuesday <b>");
        assert_eq!(view["tags"], serde_json::json!(["booked", "vip"]));
        let page = get(&app, &format!("/calls/{id}"), Some(&cookie)).await.text().await.unwrap();
        assert!(page.contains("Booked for Tuesday &lt;b&gt;"), "notes are escaped");
        let long_tag = "t".repeat(51);
        let refused = post(&app, &format!("/calls/{id}/notes"), &cookie, &[("csrf", &csrf), ("notes", ""), ("tags", &long_tag)]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains("tags[0]"), "the error names the field");
        assert_eq!(api_view().await["tags"], serde_json::json!(["booked", "vip"]), "nothing lost");
        app.stop().await;
    }

    async fn the_log_filters_pages_and_downloads_exactly_what_it_shows(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let mut tx = app.store.begin().await.unwrap();
        let mut past = Vec::new();
        for i in 0..70 {
            let status = if i % 7 == 0 { "missed" } else { "answered" };
            let at = format!("2026-03-{:02}T15:00:00Z", 1 + i % 28).parse().unwrap();
            let mut call = ringtrack_store::testing::past_call(app.business, at, status, 60);
            call.caller_number = format!("+1573555{:04}", 1000 + i);
            past.push(call);
        }
        import(&mut tx, &past).await.unwrap();
        tx.commit().await.unwrap();
        let cookie = sign_in(&app, "maria@acme.test").await;

        let first = get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        assert!(first.contains("70 calls"), "the total");
        assert_eq!(first.matches("<tr id=\"call-").count(), 50, "one page");
        let older = first.split("rel=\"next\" href=\"").nth(1).expect("a link to older calls").split('"').next().unwrap().replace("&amp;", "&");
        let second = get(&app, &older, Some(&cookie)).await.text().await.unwrap();
        assert_eq!(second.matches("<tr id=\"call-").count(), 20, "the rest");
        assert!(!second.contains("rel=\"next\""), "no page after the last");

        let missed = get(&app, "/calls?status=missed&date_from=2026-03-01&date_to=&search=", Some(&cookie)).await.text().await.unwrap();
        assert!(missed.contains("10 calls"), "{missed}");
        let csv_link = missed.split("href=\"/calls.csv?").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        assert_eq!(csv_link, "date_from=2026-03-01&status=missed", "the download keeps the filters, not the blanks");
        let csv = get(&app, &format!("/calls.csv?{csv_link}"), Some(&cookie)).await;
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        assert_eq!(csv.lines().count(), 1 + 10, "a header and the ten missed calls");
        assert!(csv.lines().skip(1).all(|row| row.contains(",missed,")), "{csv}");

        let bad = get(&app, "/calls?date_from=yesterday", Some(&cookie)).await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bad = bad.text().await.unwrap();
        assert!(bad.contains("id=\"date_from-error\"") && bad.contains("must be an ISO 8601 date"), "{bad}");
        app.stop().await;
    }

    async fn an_agency_admin_adds_a_client_business_and_switches_between_them(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "ada@agency.test", Role::Admin).await;
        let cookie = sign_in(&app, "ada@agency.test").await;
        let page = get(&app, "/businesses/new", Some(&cookie)).await.text().await.unwrap();
        let csrf = csrf_of(&page);
        let bad = post(&app, "/businesses", &cookie, &[("csrf", &csrf), ("name", "Bob's Pipes"), ("timezone", "Mars/Olympus")]).await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().await.unwrap().contains("timezone: must be a time zone"));
        let made = post(&app, "/businesses", &cookie, &[("csrf", &csrf), ("name", "Bob's Pipes"), ("timezone", "America/Denver")]).await;
        assert_eq!(made.status(), StatusCode::SEE_OTHER);
        let log = get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        assert!(log.contains("<option value=") && log.contains("selected>Bob&#39;s Pipes</option>") || log.contains("selected>Bob's Pipes</option>"), "now in the new business: {log}");
        assert!(log.contains("No calls yet"));
        let switch = post(&app, "/business", &cookie, &[("csrf", &csrf), ("business", &app.business.to_string())]).await;
        assert_eq!(switch.status(), StatusCode::SEE_OTHER);
        let log = get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        let chosen = log.split("selected>").nth(1).unwrap().split('<').next().unwrap().to_owned();
        assert_ne!(chosen, "Bob's Pipes", "back in the first business");
        app.stop().await;
    }

    async fn without_email_an_admin_is_shown_the_invitation_link_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "ada@acme.test", Role::Admin).await;
        person(&app, app.business, "mo@acme.test", Role::Manager).await;
        let cookie = sign_in(&app, "ada@acme.test").await;
        let team = get(&app, "/team", Some(&cookie)).await.text().await.unwrap();
        assert!(team.contains("This server sends no email"), "{team}");
        let csrf = csrf_of(&team);
        let bad = post(&app, "/team", &cookie, &[("csrf", &csrf), ("name", "Sam"), ("email", "not an email"), ("role", "viewer")]).await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().await.unwrap().contains("email: "), "the error names the field");
        let invited = post(&app, "/team", &cookie, &[("csrf", &csrf), ("name", "Sam"), ("email", "sam@acme.test"), ("role", "viewer")]).await;
        assert_eq!(invited.status(), StatusCode::OK);
        let shown = invited.text().await.unwrap();
        let link = shown.split("value=\"").find(|v| v.starts_with(&format!("{}/invitations/", app.base))).expect("the link").split('"').next().unwrap().to_owned();
        let path = link.trim_start_matches(&app.base).to_owned();
        assert_eq!(get(&app, &path, None).await.status(), StatusCode::OK, "the link works");
        let again = get(&app, "/team", Some(&cookie)).await.text().await.unwrap();
        assert!(!again.contains(&path), "shown once");
        assert!(again.contains("Invited, not yet joined"));

        // A manager sees the team but invites no one.
        let manager = sign_in(&app, "mo@acme.test").await;
        let team = get(&app, "/team", Some(&manager)).await.text().await.unwrap();
        assert!(!team.contains("Send invitation"));
        let refused = post(&app, "/team", &manager, &[("csrf", &csrf_of(&team)), ("name", "X"), ("email", "x@acme.test"), ("role", "viewer")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        // And with no mail, a forgotten password is a question for an admin.
        let forgot = browser().post(format!("{}/password/forgot", app.base)).header("origin", &app.base)
            .form(&[("email", "mo@acme.test")]).send().await.unwrap();
        assert_eq!(forgot.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(forgot.text().await.unwrap().contains("Ask an admin"));
        app.stop().await;
    }

    async fn texts_are_threaded_by_contact_and_answered_from_the_app(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "mo@acme.test", Role::Manager).await;
        person(&app, app.business, "vera@acme.test", Role::Viewer).await;
        app.credit(app.business, 1000).await;
        let bought = crate::common::body(app.post("/api/v1/numbers/purchase", &serde_json::json!({"area_code": "573"})).await).await;
        let tracking = bought["data"]["phone_number"].as_str().unwrap().to_owned();
        for (from, text) in [("+13055551234", "Do you fix water heaters?"), ("+16175550123", "Hi"), ("+13055551234", "Tomorrow works")] {
            let sent = app.post("/api/v1/sandbox/sms", &serde_json::json!({"from": from, "to": tracking, "body": text})).await;
            assert_eq!(sent.status(), StatusCode::CREATED);
        }
        let cookie = sign_in(&app, "mo@acme.test").await;
        let log = get(&app, "/calls", Some(&cookie)).await.text().await.unwrap();
        for (href, name) in [("/calls", "Calls"), ("/voicemails", "Voicemails"), ("/texts", "Texts"), ("/forms", "Forms"), ("/team", "Team")] {
            assert!(log.contains(&format!("<a href=\"{href}\"")) && log.contains(&format!(">{name}</a>")), "the navigation has {name}");
        }
        let list = get(&app, "/texts", Some(&cookie)).await.text().await.unwrap();
        assert!(list.contains("(305) 555-1234") && list.contains("2 messages") && list.contains("(617) 555-0123"), "{list}");
        let thread = get(&app, "/texts/+13055551234", Some(&cookie)).await.text().await.unwrap();
        assert!(thread.contains("Do you fix water heaters?") && thread.contains("Tomorrow works") && !thread.contains(">Hi<"), "{thread}");
        let first = thread.find("Do you fix water heaters?").unwrap();
        assert!(first < thread.find("Tomorrow works").unwrap(), "oldest first, as a conversation reads");
        assert!(thread.contains("Reply") && thread.contains("data-segments"), "a manager may reply");

        let (app_ref, cookie_ref) = (&app, &cookie);
        let count = |body: &str| {
            let path = format!("/texts/segments?body={}", urlencode(body));
            async move { get(app_ref, &path, Some(cookie_ref)).await.text().await.unwrap() }
        };
        assert_eq!(count("On my way").await, "1 segment · 9 characters");
        assert_eq!(count(&"a".repeat(161)).await, "2 segments · 161 characters");
        assert_eq!(count("Café ☕").await, "1 segment · 6 characters (special characters: 70 a segment)");

        let csrf = csrf_of(&thread);
        let from = thread.split("name=\"from_number_id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let sent = post(&app, "/texts/+13055551234", &cookie, &[("csrf", &csrf), ("from_number_id", &from), ("body", "See you at 9")]).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        let api = crate::common::body(app.get("/api/v1/sms?contact=%2B13055551234&direction=outbound").await).await;
        assert_eq!(api["data"]["messages"][0]["body"], "See you at 9", "{api}");
        let empty = post(&app, "/texts/+13055551234", &cookie, &[("csrf", &csrf), ("from_number_id", &from), ("body", "   ")]).await;
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty.text().await.unwrap().contains("body"), "the error names the field");

        // STOP: marked, and nothing more can be sent.
        app.post("/api/v1/sandbox/sms", &serde_json::json!({"from": "+13055551234", "to": tracking, "body": "STOP"})).await;
        let thread = get(&app, "/texts/+13055551234", Some(&cookie)).await.text().await.unwrap();
        assert!(thread.contains("opted out") && !thread.contains("data-segments"), "{thread}");
        let refused = post(&app, "/texts/+13055551234", &cookie, &[("csrf", &csrf), ("from_number_id", &from), ("body", "Still there?")]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains("opted out"));

        // A viewer reads, and is refused a reply.
        let viewer = sign_in(&app, "vera@acme.test").await;
        let thread = get(&app, "/texts/+16175550123", Some(&viewer)).await.text().await.unwrap();
        assert!(thread.contains("Hi") && !thread.contains("data-segments"));
        let refused = post(&app, "/texts/+16175550123", &viewer, &[("csrf", &csrf_of(&thread)), ("from_number_id", &from), ("body", "x")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }

    async fn voicemails_and_forms_are_listed_to_play_and_read(backend: Backend) {
        let mut app = TestApp::spawn(backend).await;
        person(&app, app.business, "mo@acme.test", Role::Manager).await;
        let cookie = sign_in(&app, "mo@acme.test").await;
        assert!(get(&app, "/voicemails", Some(&cookie)).await.text().await.unwrap().contains("No voicemails yet"));
        assert!(get(&app, "/forms", Some(&cookie)).await.text().await.unwrap().contains("No forms yet"));
        let tracking = crate::calls::number_with_flow(&app, serde_json::json!([{"type": "voicemail"}]), serde_json::json!({})).await;
        let placed = crate::calls::place(&app, serde_json::json!({"from": "+13055550123", "to": tracking, "voicemail_text": "Call me back"})).await;
        app.start_worker(None, 50);
        app.drain_jobs().await;
        let pool = crate::common::body(app.post("/api/v1/number-pools", &serde_json::json!({"name": "Site", "number_ids": [], "target_number": "5735550100"})).await).await;
        let pool = pool["data"]["number_pool"]["id"].as_str().unwrap().to_owned();
        app.client.post(format!("{}/dni/v1/forms", app.base))
            .body(serde_json::json!({"pool_id": pool, "form_name": "Quote", "fields": {"name": "Ann Lee", "email": "ann@example.com", "message": "Leaky <tap>"}}).to_string())
            .send().await.unwrap();
        let voicemails = get(&app, "/voicemails", Some(&cookie)).await.text().await.unwrap();
        assert!(voicemails.contains("(305) 555-0123") && voicemails.contains("1 voicemail"), "{voicemails}");
        assert!(voicemails.contains(&format!("/calls/{}/audio", placed["call_id"].as_str().unwrap())), "a player for it");
        let forms = get(&app, "/forms", Some(&cookie)).await.text().await.unwrap();
        assert!(forms.contains("Ann Lee") && forms.contains("ann@example.com") && forms.contains("Quote"), "{forms}");
        assert_eq!(forms.matches("ann@example.com").count(), 1, "the contact's email is shown once: {forms}");
        assert!(forms.contains("Leaky &lt;tap&gt;"), "what visitors type is escaped");
        app.stop().await;
    }

    async fn the_words_in_calls_are_set_in_settings_as_the_api_reads_them(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "mo@acme.test", Role::Manager).await;
        person(&app, app.business, "vi@acme.test", Role::Viewer).await;
        let cookie = sign_in(&app, "mo@acme.test").await;
        let page = get(&app, "/settings", Some(&cookie)).await.text().await.unwrap();
        assert!(page.contains("Words in your calls") && page.contains(r#"name="terms""#), "{page}");
        let csrf = csrf_of(&page);
        let saved = post(&app, "/settings/terms", &cookie, &[("csrf", &csrf), ("terms", "Kohler\r\n\r\n  Rheem \r\nKohler\r\nJefferson City")]).await;
        assert_eq!(saved.status(), StatusCode::OK);
        assert!(saved.text().await.unwrap().contains("Saved."));
        let read = crate::common::body(app.get("/api/v1/transcription/terms").await).await;
        assert_eq!(read["data"]["terms"], serde_json::json!(["Kohler", "Rheem", "Jefferson City"]));

        // A refusal names the line people see, keeps what they typed, and changes nothing.
        let long = "x".repeat(51);
        let typed = format!("Trane\n\n{long}");
        let refused = post(&app, "/settings/terms", &cookie, &[("csrf", &csrf), ("terms", &typed)]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused = refused.text().await.unwrap();
        assert!(refused.contains("Line 3: must be 1 to 50 characters") && refused.contains(&long), "{refused}");
        let read = crate::common::body(app.get("/api/v1/transcription/terms").await).await;
        assert_eq!(read["data"]["terms"], serde_json::json!(["Kohler", "Rheem", "Jefferson City"]));

        // A viewer reads them and cannot change them.
        let viewer = sign_in(&app, "vi@acme.test").await;
        let page = get(&app, "/settings", Some(&viewer)).await.text().await.unwrap();
        assert!(page.contains("<li>Jefferson City</li>") && !page.contains(r#"name="terms""#), "{page}");
        let csrf = csrf_of(&page);
        let write = post(&app, "/settings/terms", &viewer, &[("csrf", &csrf), ("terms", "Mine")]).await;
        assert_eq!(write.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }

    async fn a_session_idle_too_long_is_sent_to_sign_in(backend: Backend) {
        let clock = ringtrack_store::Clock::manual(jiff::Timestamp::now());
        let app = TestApp::spawn_with_options(backend, crate::common::TestOptions { clock: clock.clone(), ..Default::default() }).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let cookie = sign_in(&app, "maria@acme.test").await;
        assert_eq!(get(&app, "/calls", Some(&cookie)).await.status(), StatusCode::OK);
        clock.advance(people::SESSION_IDLE + jiff::SignedDuration::from_secs(1));
        let expired = get(&app, "/calls", Some(&cookie)).await;
        assert_eq!(expired.status(), StatusCode::SEE_OTHER);
        assert_eq!(expired.headers()[LOCATION], "/login");
        app.stop().await;
    }
}

/// One answered call from `caller`, qualified automatically; answers its id.
async fn one_call(app: &TestApp, business: BusinessId, caller: &str) -> String {
    let mut call = ringtrack_store::testing::past_call(
        business,
        "2026-03-02T15:00:00Z".parse().unwrap(),
        "answered",
        145,
    );
    call.caller_number = caller.into();
    call.qualified = true;
    call.ai_score = Some(70);
    let id = call.id;
    let mut tx = app.store.begin().await.unwrap();
    import(&mut tx, &[call]).await.unwrap();
    tx.commit().await.unwrap();
    id.to_string()
}

pub(crate) async fn post(
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser().post(format!("{}{path}", app.base)).header("cookie", cookie).form(form).send().await.unwrap()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
