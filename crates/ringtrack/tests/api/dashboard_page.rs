//! The dashboard page on both backends: its figures are what `/api/v1/dashboard/stats`
//! answers for the same days, each against the days before, and each count's link opens
//! the call log showing exactly those calls.

use reqwest::StatusCode;
use ringtrack_core::calls::import;
use ringtrack_domain::Role;
use ringtrack_store::test_on_both_backends;

use crate::common::{TestApp, body};
use crate::web::{get, person, sign_in};

/// The number a figure of the page shows, and its link.
fn figure(page: &str, label: &str) -> (String, Option<String>) {
    let at = page.find(&format!("<dt>{label}</dt>")).unwrap_or_else(|| panic!("{label} in {page}"));
    let dd = &page[at..];
    let dd = &dd[dd.find("<dd>").unwrap()..dd.find("</dd>").unwrap()];
    let href = dd.split("href=\"").nth(1).map(|h| h.split('"').next().unwrap().replace("&amp;", "&"));
    let shown = dd.split('>').nth(2).unwrap().split('<').next().unwrap().to_owned();
    (shown, href)
}

test_on_both_backends! {
    async fn the_figures_are_the_stats_and_each_opens_its_calls(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let mut tx = app.store.begin().await.unwrap();
        let mut past = Vec::new();
        // March 1-14: 14 calls; the week before (Feb 22-28): 4.
        for (i, (day, status)) in [
            ("2026-03-02", "answered"), ("2026-03-03", "missed"), ("2026-03-04", "voicemail"), ("2026-03-05", "answered"),
            ("2026-03-06", "answered"), ("2026-03-07", "missed"), ("2026-03-09", "answered"), ("2026-03-10", "answered"),
            ("2026-03-11", "voicemail"), ("2026-03-12", "answered"), ("2026-03-13", "answered"), ("2026-03-14", "missed"),
            ("2026-03-14", "answered"), ("2026-03-01", "answered"),
            ("2026-02-23", "answered"), ("2026-02-25", "missed"), ("2026-02-26", "answered"), ("2026-02-28", "answered"),
        ].into_iter().enumerate() {
            let at = format!("{day}T18:00:00Z").parse().unwrap();
            let mut call = ringtrack_store::testing::past_call(app.business, at, status, if status == "answered" { 90 } else { 0 });
            call.caller_number = format!("+1573555{:04}", 2000 + i % 9);
            call.qualified = i % 3 == 0 && status == "answered";
            call.first_time_caller = i < 9;
            past.push(call);
        }
        import(&mut tx, &past).await.unwrap();
        tx.commit().await.unwrap();
        let cookie = sign_in(&app, "maria@acme.test").await;
        assert_eq!(get(&app, "/", Some(&cookie)).await.headers()["location"], "/dashboard", "the home");

        let days = "date_from=2026-03-01&date_to=2026-03-14";
        let page = get(&app, &format!("/dashboard?{days}"), Some(&cookie)).await;
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(page.contains(r#"<dl class="figures""#), "{page}");
        let stats = body(app.get(&format!("/api/v1/dashboard/stats?{days}")).await).await["data"].clone();
        for (label, field) in [("Calls", "total_calls"), ("Answered", "answered_calls"), ("Missed", "missed_calls"),
            ("Voicemails", "voicemail_calls"), ("Qualified leads", "qualified_calls")] {
            assert_eq!(figure(&page, label).0, stats[field].to_string(), "{label}");
        }
        assert_eq!(figure(&page, "First-time callers").0, "9");
        assert_eq!(figure(&page, "Answer rate").0, format!("{}%", (stats["answered_calls"].as_i64().unwrap() * 100 + 7) / 14));
        // Against the 14 days before: 4 calls then, 14 now.
        assert!(page.contains("+250%"), "{page}");
        // Each count's link opens the log showing exactly its calls.
        for label in ["Calls", "Answered", "Missed", "Voicemails", "Qualified leads", "First-time callers"] {
            let (shown, href) = figure(&page, label);
            let log = get(&app, &href.unwrap(), Some(&cookie)).await.text().await.unwrap();
            let count = log.matches("<tr id=\"call-").count();
            assert_eq!(count.to_string(), shown, "{label}'s link shows its calls");
        }
        // A period that does not read is named, and the page still shows the last 30 days.
        let refused = get(&app, "/dashboard?date_from=2026-03-14&date_to=2026-03-01", Some(&cookie)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains("date_to: must not be before date_from"));
        app.stop().await;
    }
}
