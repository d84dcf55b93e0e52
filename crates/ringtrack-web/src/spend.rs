//! What the business spent on its marketing, per month and source (and campaign): entered
//! here or through `PUT /api/v1/ad-spend`, it turns the dashboard's counts into a cost per
//! call and per qualified lead. Viewers read it; managers and admins enter and remove it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use ringtrack_domain::ad_spend::{AdSpend, Month};
use ringtrack_domain::validation::FieldErrors;
use ringtrack_domain::{Access, Cents};
use serde::Deserialize;

use crate::WebState;
use crate::format::money;
use crate::layout::{Section, alert, app_page, failed, html_page};
use crate::session::{SignedIn, Writing};

/// What a person typed into the form.
#[derive(Clone, Default, Deserialize)]
pub struct SpendForm {
    month: String,
    source: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    amount: String,
}

/// What the last action did.
enum Outcome {
    None,
    Saved(String),
    Refused(SpendForm, FieldErrors),
}

/// The months the page lists: two years back, one ahead.
fn months_shown(today: jiff::civil::Date) -> (Month, Month) {
    let month = |d: jiff::civil::Date| Month::of(d).unwrap_or_else(|| Month::new(2026, 1).expect("a month"));
    let back = today.checked_sub(jiff::Span::new().years(2)).unwrap_or(today);
    let ahead = today.checked_add(jiff::Span::new().years(1)).unwrap_or(today);
    (month(back), month(ahead))
}

async fn page(state: &WebState, signed_in: &SignedIn, outcome: Outcome) -> Response {
    let zone = crate::calls::zone_of(state, signed_in).await;
    let today = crate::period::today_in(state, &zone);
    let (from, to) = months_shown(today);
    let rows = match ringtrack_core::ad_spend::list(&state.store, signed_in.business(), from, to).await {
        Ok(rows) => rows,
        Err(error) => return failed(error, "reading the spend"),
    };
    let writer = signed_in.may(Access::Write);
    let (status, typed, errors) = match &outcome {
        Outcome::Refused(typed, errors) => (StatusCode::UNPROCESSABLE_ENTITY, typed.clone(), Some(errors)),
        _ => (
            StatusCode::OK,
            SpendForm { month: today.strftime("%Y-%m").to_string(), ..SpendForm::default() },
            None,
        ),
    };
    let error_of =
        |field: &str| errors.and_then(|e| e.iter().find(|e| e.field == field)).map(|e| e.message.clone());
    let described = |field: &str| error_of(field).map(|_| format!("{field}-error"));
    let field_error = |field: &str| {
        html! { @if let Some(message) = error_of(field) { span.field-error id={(field) "-error"} { (message) } } }
    };
    let content = html! {
        h1 { "Ad spend" }
        p { "What you spent on each source (and, if you like, each campaign) in a month. The dashboard spreads a month's spend evenly over its days and shows the cost per call and per qualified lead." }
        @if let Outcome::Saved(what) = &outcome { p.notice role="status" { (what) } }
        @if writer {
            section.panel aria-labelledby="enter-heading" {
                h2 id="enter-heading" { "Enter spend" }
                @if errors.is_some() { (alert(Some("Some fields are not right; see below."), "spend-error")) }
                form method="post" action="/spend" {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    label for="month" { "Month" }
                    input id="month" name="month" type="month" required value=(typed.month) placeholder="2026-11"
                        aria-describedby=[described("month")];
                    (field_error("month"))
                    label for="source" { "Source" }
                    input id="source" name="source" type="text" required maxlength="200" value=(typed.source)
                        placeholder="google" aria-describedby={"source-hint" @if let Some(e) = described("source") { " " (e) }};
                    span.hint id="source-hint" { "As the dashboard names it: the number's source, else the visit's utm_source." }
                    (field_error("source"))
                    label for="campaign" { "Campaign (optional)" }
                    input id="campaign" name="campaign" type="text" maxlength="200" value=(typed.campaign)
                        aria-describedby=[described("campaign")];
                    (field_error("campaign"))
                    label for="amount" { "Amount in dollars" }
                    input id="amount" name="amount" type="text" inputmode="decimal" required maxlength="20" value=(typed.amount)
                        placeholder="1,250.00" aria-describedby=[described("amount_cents")];
                    (field_error("amount_cents"))
                    button.primary type="submit" { "Save spend" }
                }
            }
        }
        section aria-labelledby="spent-heading" {
            h2 id="spent-heading" { "Spend entered" }
            @if rows.is_empty() {
                p.empty { "Nothing entered for " (from) " to " (to) "." }
            } @else {
                table.list.numbers {
                    caption.visually-hidden { "Spend by month, source and campaign" }
                    thead { tr {
                        th scope="col" { "Month" } th scope="col" { "Source" } th scope="col" { "Campaign" } th scope="col" { "Amount" }
                        @if writer { th scope="col" { span.visually-hidden { "Remove" } } }
                    } }
                    tbody {
                        @for row in &rows {
                            tr {
                                td data-label="Month" { (row.month) }
                                td data-label="Source" { (row.source) }
                                td data-label="Campaign" { (row.campaign.as_deref().unwrap_or("All campaigns")) }
                                td.number data-label="Amount" { (money(row.amount.get())) }
                                @if writer {
                                    td.action {
                                        form method="post" action="/spend/remove" {
                                            input type="hidden" name="csrf" value=(signed_in.csrf_token());
                                            input type="hidden" name="month" value=(row.month);
                                            input type="hidden" name="source" value=(row.source);
                                            input type="hidden" name="campaign" value=(row.campaign.as_deref().unwrap_or(""));
                                            button type="submit" aria-label={"Remove " (row.month) " " (row.source) @if let Some(c) = &row.campaign { " " (c) }} { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html_page(status, app_page("Ad spend", Section::Reports, signed_in, content))
}

pub async fn show(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    page(&state, &signed_in, Outcome::None).await
}

pub async fn save(
    State(state): State<WebState>,
    Writing { signed_in, form }: Writing<SpendForm>,
) -> Response {
    let amount = Cents::parse_dollars(&form.amount);
    let parsed =
        AdSpend::parse(&form.month, &form.source, Some(&form.campaign), amount.map_or(0, Cents::get));
    let spend = match (parsed, amount) {
        (Ok(spend), Some(_)) => spend,
        (parsed, amount) => {
            let mut errors = parsed.err().unwrap_or_default();
            if amount.is_none() {
                errors.push("amount_cents", "must be an amount in dollars, such as 1,250.00");
            }
            return page(&state, &signed_in, Outcome::Refused(form, errors)).await;
        }
    };
    if let Err(error) = ringtrack_core::ad_spend::set(&state.store, signed_in.business(), &spend).await {
        return failed(error, "saving spend");
    }
    let said = format!(
        "Saved {} on {}{} in {}.",
        money(spend.amount.get()),
        spend.source,
        spend.campaign.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
        spend.month
    );
    page(&state, &signed_in, Outcome::Saved(said)).await
}

pub async fn remove(
    State(state): State<WebState>,
    Writing { signed_in, form }: Writing<SpendForm>,
) -> Response {
    let Ok(month) = form.month.parse::<Month>() else { return Redirect::to("/spend").into_response() };
    let campaign = Some(form.campaign.as_str()).filter(|c| !c.is_empty());
    match ringtrack_core::ad_spend::remove(&state.store, signed_in.business(), month, &form.source, campaign)
        .await
    {
        Ok(_) => Redirect::to("/spend").into_response(),
        Err(error) => failed(error, "removing spend"),
    }
}
