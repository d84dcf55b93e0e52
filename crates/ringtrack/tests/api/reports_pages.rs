//! The dashboard's charts, where leads come from, ad spend, reports and the agency view, on
//! both backends: a chart's table is what `/api/v1/analytics/calls` answers for its
//! grouping, its bars open the log showing exactly their calls, a report's rows are the
//! API's and its URL reproduces it, entered spend gives the cost per lead hand arithmetic
//! gives, and no page shows what belongs to a business the person is not in.

use reqwest::StatusCode;
use ringtrack_core::calls::import;
use ringtrack_domain::Role;
use ringtrack_store::{businesses, test_on_both_backends};
use serde_json::Value;

use crate::common::{TestApp, body};
use crate::web::{csrf_of, get, person, post, sign_in};

const DAYS: &str = "date_from=2026-03-01&date_to=2026-03-31";

/// March 2026, mid-day (the same day in UTC, as the API counts days, and in Chicago): calls
/// from google (two campaigns, one with a landing page), bing, a billboard number and none.
async fn seed(app: &TestApp, business: ringtrack_domain::BusinessId) {
    let calls = [
        (
            "2026-03-02",
            "answered",
            Some("google"),
            Some("spring"),
            Some("https://acme.test/drains?gclid=1"),
            true,
        ),
        (
            "2026-03-03",
            "answered",
            Some("google"),
            Some("spring"),
            Some("https://acme.test/drains?gclid=2"),
            true,
        ),
        ("2026-03-03", "missed", Some("google"), Some("brand"), None, false),
        ("2026-03-05", "voicemail", Some("google"), None, Some("https://acme.test/"), false),
        ("2026-03-09", "answered", Some("bing"), None, None, true),
        ("2026-03-10", "missed", None, None, None, false),
        ("2026-03-17", "answered", None, None, None, false),
        ("2026-02-20", "answered", Some("google"), Some("spring"), None, true),
    ];
    let past: Vec<_> = calls
        .iter()
        .enumerate()
        .map(|(i, (day, status, source, campaign, page, qualified))| {
            let at = format!("{day}T18:00:00Z").parse().unwrap();
            let seconds = if *status == "answered" { 120 } else { 0 };
            let mut call = ringtrack_store::testing::past_call(business, at, status, seconds);
            call.caller_number = format!("+1573555{:04}", 3000 + i % 6);
            call.first_time_caller = i < 6;
            call.utm_source = source.map(str::to_owned);
            call.utm_medium = source.map(|_| "cpc".to_owned());
            call.utm_campaign = campaign.map(str::to_owned);
            call.landing_page = page.map(str::to_owned);
            call.qualified = *qualified;
            if i == 6 {
                call.source = Some("billboard".into());
            }
            call
        })
        .collect();
    let mut tx = app.store.begin().await.unwrap();
    import(&mut tx, &past).await.unwrap();
    tx.commit().await.unwrap();
}

/// A CSV's rows as maps of its header's names (numbers as JSON numbers, empty as null).
fn csv_rows(text: &str) -> Vec<serde_json::Map<String, Value>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            header
                .iter()
                .zip(line.split(','))
                .map(|(name, cell)| {
                    let value = if cell.is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str::<Value>(cell).unwrap_or_else(|_| Value::String(cell.to_owned()))
                    };
                    ((*name).to_owned(), value)
                })
                .collect()
        })
        .collect()
}

fn sorted(mut rows: Vec<serde_json::Map<String, Value>>) -> Vec<serde_json::Map<String, Value>> {
    rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
    rows
}

async fn api_rows(app: &TestApp, query: &str) -> Vec<serde_json::Map<String, Value>> {
    let answer = body(app.get(&format!("/api/v1/analytics/calls?{query}")).await).await;
    answer["data"]["rows"].as_array().unwrap().iter().map(|r| r.as_object().unwrap().clone()).collect()
}

/// How many calls the log shows at `href`.
async fn logged(app: &TestApp, href: &str, cookie: &str) -> usize {
    let log = get(app, &href.replace("&amp;", "&"), Some(cookie)).await.text().await.unwrap();
    log.matches("<tr id=\"call-").count()
}

test_on_both_backends! {
    async fn each_chart_is_the_analytics_answer_and_its_bars_open_their_calls(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        seed(&app, app.business).await;
        let cookie = sign_in(&app, "maria@acme.test").await;
        let page = get(&app, &format!("/dashboard?{DAYS}"), Some(&cookie)).await.text().await.unwrap();
        for title in ["Calls over time, by outcome", "Calls and qualified leads by source", "When calls come, and when they are missed",
                      "Top landing pages", "First-time and repeat callers", "Where your leads come from"] {
            assert!(page.contains(title), "{title}");
        }
        assert_eq!(page.matches("<svg class=\"chart-image\"").count(), 6, "six charts drawn");

        // Each chart's numbers (its CSV, the table the page shows) are the API's for its grouping.
        for (chart, query) in [
            ("sources", "group_by=source&metrics=count,qualified"),
            ("campaigns", "group_by=utm_campaign&metrics=count,qualified"),
            ("landing-pages", "group_by=landing_page&metrics=count,qualified"),
            ("callers", "group_by=first_time&metrics=count,qualified"),
            ("hours", "group_by=day_of_week,hour_of_day&metrics=count,missed"),
        ] {
            let csv = get(&app, &format!("/dashboard/{chart}.csv?{DAYS}"), Some(&cookie)).await;
            assert_eq!(csv.status(), StatusCode::OK);
            let ours = csv_rows(&csv.text().await.unwrap());
            // The API's hours are in the business's zone too; its days are UTC days, the
            // same days here (every call is at mid-day).
            let theirs = api_rows(&app, &format!("{query}&{DAYS}")).await;
            assert_eq!(sorted(ours), sorted(theirs), "{chart}");
        }
        let pages = csv_rows(&get(&app, &format!("/dashboard/landing-pages.csv?{DAYS}"), Some(&cookie)).await.text().await.unwrap());
        assert!(pages.iter().any(|r| r["landing_page"] == "https://acme.test/drains" && r["count"] == 2), "a page without its query: {pages:?}");

        // Following a bar (a link of the picture) lands in the log showing exactly its calls.
        let svg_links: Vec<&str> = page.split("<a href=\"").skip(1).filter_map(|rest| {
            let (href, after) = rest.split_once('"')?;
            after.starts_with(" tabindex=\"-1\"").then_some(href)
        }).collect();
        assert!(svg_links.len() > 10, "{svg_links:?}");
        for (needle, expected) in [("&amp;source=google", 4), ("&amp;source=billboard", 1), ("&amp;source=direct", 1),
                                   ("&amp;utm_campaign=spring", 2), ("&amp;landing_page=https%3A%2F%2Facme.test%2Fdrains", 2),
                                   ("&amp;first_time=false", 1)] {
            let href = svg_links.iter().find(|h| h.ends_with(needle)).unwrap_or_else(|| panic!("{needle} in {svg_links:?}"));
            assert_eq!(logged(&app, href, &cookie).await, expected, "{needle}");
        }
        let day = svg_links.iter().find(|h| h.contains("date_from=2026-03-03&amp;date_to=2026-03-03&amp;status=missed")).unwrap();
        assert_eq!(logged(&app, day, &cookie).await, 1);
        // The log's new filters, through the API too.
        let google = body(app.get(&format!("/api/v1/calls?source=google&{DAYS}")).await).await;
        assert_eq!(google["data"]["calls"].as_array().unwrap().len(), 4);
        let repeat = body(app.get("/api/v1/calls?first_time=false").await).await;
        assert_eq!(repeat["data"]["calls"].as_array().unwrap().len(), 2);
        let refused = app.get("/api/v1/calls?first_time=maybe").await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body(refused).await.to_string().contains("first_time"));
        app.stop().await;
    }

    async fn spend_gives_the_cost_per_lead_and_viewers_only_read_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        person(&app, app.business, "sam@acme.test", Role::Manager).await;
        seed(&app, app.business).await;
        let manager = sign_in(&app, "sam@acme.test").await;
        let form = get(&app, "/spend", Some(&manager)).await.text().await.unwrap();
        let csrf = csrf_of(&form);
        // $1,250.00 on google for March, $31.00 of it on the spring campaign; a bad amount is named.
        let refused = post(&app, "/spend", &manager, &[("csrf", &csrf), ("month", "2026-03"), ("source", "google"), ("amount", "12,50.0.0")]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused = refused.text().await.unwrap();
        assert!(refused.contains("amount_cents-error") && refused.contains("12,50.0.0"), "what was typed stays");
        for (campaign, amount) in [("", "$1,250.00"), ("spring", "31")] {
            let saved = post(&app, "/spend", &manager, &[("csrf", &csrf), ("month", "2026-03"), ("source", "google"),
                                                         ("campaign", campaign), ("amount", amount)]).await;
            assert_eq!(saved.status(), StatusCode::OK);
        }
        let api = body(app.get("/api/v1/ad-spend?month_from=2026-03&month_to=2026-03").await).await;
        assert_eq!(api["data"]["ad_spend"].as_array().map(Vec::len), Some(2), "{api}");

        let leads = csv_rows(&get(&app, &format!("/dashboard/leads.csv?{DAYS}"), Some(&manager)).await.text().await.unwrap());
        let google = leads.iter().find(|r| r["source"] == "google" && r["utm_campaign"] == "All campaigns").unwrap();
        // March whole: $1,281.00 in all on google, 4 calls, 2 qualified.
        assert_eq!(google["spend_cents"], 128_100);
        assert_eq!(google["cost_per_call_cents"], 128_100 / 4);
        assert_eq!(google["cost_per_qualified_cents"], 128_100 / 2);
        let spring = leads.iter().find(|r| r["source"] == "google" && r["utm_campaign"] == "spring").unwrap();
        assert_eq!((spring["spend_cents"].clone(), spring["cost_per_qualified_cents"].clone()), (3100.into(), 1550.into()));
        // Half of March (16 of 31 days): half the spend, to the cent.
        let half = csv_rows(&get(&app, "/dashboard/leads.csv?date_from=2026-03-01&date_to=2026-03-16", Some(&manager)).await.text().await.unwrap());
        let google = half.iter().find(|r| r["source"] == "google" && r["utm_campaign"] == "All campaigns").unwrap();
        assert_eq!(google["spend_cents"], (125_000 * 16 + 15) / 31 + (3_100 * 16 + 15) / 31);

        // A viewer reads the spend and can change none of it.
        let viewer = sign_in(&app, "maria@acme.test").await;
        let page = get(&app, "/spend", Some(&viewer)).await.text().await.unwrap();
        assert!(page.contains("$1,250.00") && !page.contains("Save spend") && !page.contains(">Remove<"), "{page}");
        let csrf = csrf_of(&page);
        let forbidden = post(&app, "/spend", &viewer, &[("csrf", &csrf), ("month", "2026-03"), ("source", "google"), ("amount", "1")]).await;
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let forbidden = post(&app, "/spend/remove", &viewer, &[("csrf", &csrf), ("month", "2026-03"), ("source", "google")]).await;
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let dashboard = get(&app, &format!("/dashboard?{DAYS}"), Some(&viewer)).await.text().await.unwrap();
        assert!(dashboard.contains("What was spent") && !dashboard.contains("Enter what you spent"));
        // The manager removes the campaign's row.
        let removed = post(&app, "/spend/remove", &manager, &[("csrf", &csrf_of(&form)), ("month", "2026-03"), ("source", "google"), ("campaign", "spring")]).await;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        let api = body(app.get("/api/v1/ad-spend?month_from=2026-03&month_to=2026-03").await).await;
        assert_eq!(api["data"]["ad_spend"].as_array().map(Vec::len), Some(1));
        app.stop().await;
    }

    async fn a_reports_rows_are_the_apis_and_its_url_reproduces_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "sam@acme.test", Role::Manager).await;
        seed(&app, app.business).await;
        let cookie = sign_in(&app, "sam@acme.test").await;
        // A form's shape (repeated fields) leads to the report's own URL.
        let formed = get(&app, "/reports?group_by=source&group_by=utm_campaign&group_by=&metrics=count&metrics=qualified&metrics=avg_duration&date_from=&date_to=", Some(&cookie)).await;
        assert_eq!(formed.status(), StatusCode::SEE_OTHER);
        let own = formed.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(own, "/reports?group_by=source,utm_campaign&metrics=count,qualified,avg_duration");
        // Over all time, the rows are the API's exactly.
        let csv = get(&app, &own.replace("/reports?", "/reports.csv?"), Some(&cookie)).await.text().await.unwrap();
        let theirs = api_rows(&app, "group_by=source,utm_campaign&metrics=count,qualified,avg_duration").await;
        assert_eq!(sorted(csv_rows(&csv)), sorted(theirs));
        // Sorted by calls, most first; the heading's link turns it around.
        let page = get(&app, &format!("{own}&sort=-count"), Some(&cookie)).await.text().await.unwrap();
        assert!(page.contains(r#"aria-sort="descending""#));
        assert!(page.contains("sort=count\">Calls"), "the heading sorts the other way next");
        let first_row = page.split("<tbody>").nth(1).unwrap().split("</tr>").next().unwrap();
        assert!(first_row.contains(">google<") && first_row.contains(">spring<"), "{first_row}");
        // Compared with the period before: February's spring call is in the before column.
        let compared = csv_rows(&get(&app, &format!("/reports.csv?group_by=source&metrics=count&{DAYS}&compare=previous"), Some(&cookie)).await.text().await.unwrap());
        let google = compared.iter().find(|r| r["source"] == "google").unwrap();
        assert_eq!((google["count"].clone(), google["count_before"].clone()), (4.into(), 1.into()));
        // Bad choices are named, and what was asked stays on the page.
        let refused = get(&app, "/reports?group_by=source,nope&compare=previous", Some(&cookie)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains("group_by-error"));

        // Saved under a name, it is in everyone's navigation, and nowhere else's.
        let csrf = csrf_of(&page);
        let saved = post(&app, "/reports/saved", &cookie, &[("csrf", &csrf), ("name", "Leads by campaign"), ("query", "group_by=utm_campaign&metrics=count,qualified&sort=-qualified")]).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        assert_eq!(saved.headers()["location"], "/reports?group_by=utm_campaign&metrics=count,qualified&sort=-qualified");
        let twice = post(&app, "/reports/saved", &cookie, &[("csrf", &csrf), ("name", "Leads by campaign"), ("query", "group_by=source")]).await;
        assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(twice.text().await.unwrap().contains("another report has this name"));
        person(&app, app.business, "maria@acme.test", Role::Viewer).await;
        let viewer = sign_in(&app, "maria@acme.test").await;
        let calls = get(&app, "/calls", Some(&viewer)).await.text().await.unwrap();
        assert!(calls.contains("href=\"/reports?group_by=utm_campaign&amp;metrics=count,qualified&amp;sort=-qualified\">Leads by campaign<"), "in the navigation");
        let mut tx = app.store.begin().await.unwrap();
        let other = businesses::create(&mut tx, "Other Co", "UTC").await.unwrap();
        tx.commit().await.unwrap();
        person(&app, other.id, "olga@other.test", Role::Admin).await;
        let outsider = sign_in(&app, "olga@other.test").await;
        let theirs = get(&app, "/reports", Some(&outsider)).await.text().await.unwrap();
        assert!(!theirs.contains("Leads by campaign"));
        let id = calls.split("/reports/saved/").nth(1).map(|s| s.split('/').next().unwrap().to_owned());
        assert!(id.is_none(), "a viewer is offered no removal");
        let mine = get(&app, "/reports", Some(&cookie)).await.text().await.unwrap();
        let id = mine.split("/reports/saved/").nth(1).unwrap().split('/').next().unwrap().to_owned();
        let not_theirs = post(&app, &format!("/reports/saved/{id}/remove"), &outsider, &[("csrf", &csrf_of(&theirs))]).await;
        assert_eq!(not_theirs.status(), StatusCode::NOT_FOUND, "another business's admin cannot remove it");
        let removed = post(&app, &format!("/reports/saved/{id}/remove"), &cookie, &[("csrf", &csrf)]).await;
        assert_eq!(removed.status(), StatusCode::SEE_OTHER);
        assert!(!get(&app, "/calls", Some(&viewer)).await.text().await.unwrap().contains("Leads by campaign"));
        app.stop().await;
    }

    async fn the_agency_view_lists_each_business_with_its_own_figures(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        person(&app, app.business, "ana@agency.test", Role::Admin).await;
        let mut tx = app.store.begin().await.unwrap();
        let client = businesses::create(&mut tx, "Riverside Dental", "America/New_York").await.unwrap();
        let stranger = businesses::create(&mut tx, "Stranger Co", "UTC").await.unwrap();
        tx.commit().await.unwrap();
        person(&app, client.id, "ana@agency.test", Role::Viewer).await;
        seed(&app, app.business).await;
        seed(&app, stranger.id).await;
        let mut tx = app.store.begin().await.unwrap();
        let one = ringtrack_store::testing::past_call(client.id, "2026-03-04T18:00:00Z".parse().unwrap(), "missed", 0);
        import(&mut tx, &[one]).await.unwrap();
        tx.commit().await.unwrap();
        let cookie = sign_in(&app, "ana@agency.test").await;
        let page = get(&app, &format!("/businesses?{DAYS}&sort=-count"), Some(&cookie)).await;
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(!page.contains("Stranger Co"), "only the person's businesses");
        let rows: Vec<&str> = page.split("<tbody>").nth(1).unwrap().split("</tr>").filter(|r| r.contains("<tr")).collect();
        assert_eq!(rows.len(), 2);
        let numbers = |row: &str| -> Vec<String> {
            row.split("<td").skip(1).map(|c| c.split('>').nth(1).unwrap().split('<').next().unwrap().to_owned()).collect()
        };
        assert!(rows[0].contains("Acme"), "most calls first: {}", rows[0]);
        assert_eq!(numbers(rows[0]), ["7", "3", "57.1%", "2"]);
        assert!(rows[1].contains("Riverside Dental"));
        assert_eq!(numbers(rows[1]), ["1", "0", "0.0%", "1"]);
        // A row opens that business's dashboard for the same days.
        let csrf = csrf_of(&page);
        let opened = post(&app, "/business", &cookie, &[("csrf", &csrf), ("business", &client.id.to_string()), ("next", &format!("/dashboard?{DAYS}"))]).await;
        assert_eq!(opened.headers()["location"].to_str().unwrap(), format!("/dashboard?{DAYS}"));
        let dashboard = get(&app, &format!("/dashboard?{DAYS}"), Some(&cookie)).await.text().await.unwrap();
        assert!(dashboard.contains("Riverside Dental"));
        // Never to another site.
        let away = post(&app, "/business", &cookie, &[("csrf", &csrf), ("business", &app.business.to_string()), ("next", "//evil.test/")]).await;
        assert_eq!(away.headers()["location"], "/calls");
        app.stop().await;
    }
}
