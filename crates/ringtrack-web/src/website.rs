//! Website tracking: the business's number pools, the tags that put them on a site, and
//! whether the script replaces the site's number on every page it runs on.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use ringtrack_domain::NumberPoolId;
use ringtrack_domain::dni::{self, amp_tag, script_tag};
use ringtrack_domain::paging::{PageRequest, Position};
use ringtrack_store::pools::{self, PageSeen};

use crate::WebState;
use crate::calls::zone_of;
use crate::format::{count, grouped};
use crate::layout::{Section, app_page, failed, html_page, not_found};
use crate::session::SignedIn;

/// Pools a business has are few; the list shows this many.
const POOLS_LISTED: u32 = 100;
/// Pages a pool's page lists, the most recently seen first.
const PAGES_LISTED: u32 = 200;

/// The business's pools: each one's site number, its tracking numbers, who holds one now,
/// and the pages where the site's number still showed.
pub async fn pools(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    let business = signed_in.business();
    let request = PageRequest { limit: POOLS_LISTED, position: Position::Offset(0) };
    let (page, health) = match tokio::try_join!(
        pools::list(&state.store, business, &request),
        pools::pages_health(&state.store, business)
    ) {
        Ok(found) => found,
        Err(error) => return failed(error, "reading number pools"),
    };
    let health: HashMap<NumberPoolId, pools::PagesHealth> =
        health.into_iter().map(|pages| (pages.pool_id, pages)).collect();
    let now = state.store.now();
    let mut rows = Vec::with_capacity(page.items.len());
    for pool in &page.items {
        match pools::active_sessions(&state.store, pool, now).await {
            Ok(active) => rows.push((pool, active)),
            Err(error) => return failed(error, "reading a pool's figures"),
        }
    }
    let content = html! {
        h1 { "Website tracking" }
        p.summary {
            "Each visitor to your website sees a tracking number of their own, so the calls they make are tied to the ad or page that brought them."
        }
        @if rows.is_empty() {
            p.empty {
                "No number pools yet. A pool is made of tracking numbers and the number your website shows; create one with "
                code { "POST /api/v1/number-pools" } " and its tag to paste appears here."
            }
        } @else {
            table.list {
                caption.visually-hidden { "Number pools" }
                thead { tr {
                    th scope="col" { "Pool" } th scope="col" { "Number on your site" } th scope="col" { "Tracking numbers" }
                    th scope="col" { "Visitors now" } th scope="col" { "Pages" }
                } }
                tbody {
                    @for (pool, active) in &rows {
                        tr {
                            td data-label="Pool" { a href={"/website/" (pool.id)} { (pool.name) } }
                            td data-label="Number on your site" { (pool.target_number.national_format()) }
                            td data-label="Tracking numbers" { (grouped(pool.number_ids.len() as u64)) }
                            td data-label="Visitors now" { (grouped((*active).max(0).unsigned_abs())) }
                            td data-label="Pages" { (pages_cell(health.get(&pool.id))) }
                        }
                    }
                }
            }
        }
    };
    html_page(StatusCode::OK, app_page("Website tracking", Section::Website, &signed_in, content))
}

fn pages_cell(health: Option<&pools::PagesHealth>) -> Markup {
    let Some(health) = health else { return html! { span.muted { "None reported yet" } } };
    html! {
        (count(health.pages, "page", "pages"))
        @if health.showing_target > 0 {
            " · " span.status.bad { (grouped(health.showing_target.unsigned_abs())) " still showing your number" }
        }
    }
}

/// One pool: its figures, the tags to paste, and every page the script has run on.
pub async fn pool(State(state): State<WebState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<NumberPoolId>() else { return not_found("Pool") };
    let pool = match pools::get(&state.store, signed_in.business(), id).await {
        Ok(Some(pool)) => pool,
        Ok(None) => return not_found("Pool"),
        Err(error) => return failed(error, "reading a pool"),
    };
    let zone = zone_of(&state, &signed_in).await;
    let (stats, pages) = match tokio::try_join!(
        pools::stats(&state.store, &pool, state.store.now()),
        pools::pages(&state.store, pool.id, PAGES_LISTED)
    ) {
        Ok(found) => found,
        Err(error) => return failed(error, "reading a pool's figures"),
    };
    let target = pool.target_number.national_format();
    let content = html! {
        h1 { (pool.name) }
        p.summary {
            "Shows each visitor one of " (count(pool.number_ids.len() as i64, "tracking number", "tracking numbers")) " in place of " (target)
            @if pool.visitor_filter == dni::VisitorFilter::Paid { ", for visitors from paid ads only" } "."
        }
        section aria-labelledby="figures-heading" {
            h2 id="figures-heading" { "Visitors" }
            dl.details {
                dt { "Holding a number now" } dd { (grouped(stats.active_sessions.unsigned_abs())) }
                dt { "Numbers in use, last hour" } dd { (format!("{:.0}%", stats.utilization * 100.0)) }
                dt { "Most at once, last day" } dd {
                    (grouped(stats.peak_concurrent_sessions.unsigned_abs()))
                    " (a pool of " (dni::recommended_pool_size(stats.peak_concurrent_sessions)) " numbers covers it)"
                }
                dt { "Shown " (target) " because every number was in use" } dd { (grouped(stats.overflow_count.unsigned_abs())) }
            }
        }
        section aria-labelledby="install-heading" {
            h2 id="install-heading" { "Put it on your website" }
            (copyable("script-tag", "Paste before </body> on every page that shows your number", "Copy the tag", &script_tag(&state.public_url, pool.id), 2))
            (copyable("amp-tag", "On AMP pages, around the number's link instead", "Copy the AMP tag", &amp_tag(&state.public_url, pool.id, &pool.target_number), 4))
        }
        section aria-labelledby="pages-heading" {
            h2 id="pages-heading" { "Pages" }
            @if pages.is_empty() {
                p.empty { "No pages yet. Once the tag is on your site, each page it runs on is listed here with whether " (target) " was replaced." }
            } @else {
                p.muted { "Where " (target) " still shows, the page writes it in a way the script cannot read: tell us, or write it as plain text." }
                table.list {
                    caption.visually-hidden { "Pages the script ran on" }
                    thead { tr { th scope="col" { "Page" } th scope="col" { "Views" } th scope="col" { "Your number" } th scope="col" { "Last seen" } } }
                    tbody {
                        @for page in &pages {
                            tr {
                                td.wrap data-label="Page" { (page.url) }
                                td data-label="Views" { (grouped(page.views.unsigned_abs())) }
                                td data-label="Your number" { (page_status(page, &zone)) }
                                td data-label="Last seen" { (when(page.last_seen_at, &zone)) }
                            }
                        }
                    }
                }
            }
        }
    };
    html_page(StatusCode::OK, app_page(&pool.name, Section::Website, &signed_in, content))
}

/// Replaced, still showing on the latest view, or showed on earlier views only.
fn page_status(page: &PageSeen, zone: &TimeZone) -> Markup {
    match page.last_target_visible_at {
        None => html! { span.status.good { "Replaced" } },
        Some(_) if page.latest_view_showed_target => html! {
            span.status.bad { "Still showing" }
            " on " (grouped(page.target_visible_views.unsigned_abs())) " of " (count(page.views, "view", "views"))
        },
        Some(at) => html! {
            span.status.good { "Replaced" }
            " (showed on " (count(page.target_visible_views, "earlier view", "earlier views")) ", last " (when(at, zone)) ")"
        },
    }
}

fn when(at: Timestamp, zone: &TimeZone) -> Markup {
    html! { time datetime=(at) { (at.to_zoned(zone.clone()).strftime("%b %-d, %-I:%M %p")) } }
}

/// Text to copy: read-only, with a Copy button that the script shows where it can copy.
fn copyable(id: &str, label: &str, action: &str, text: &str, rows: u8) -> Markup {
    html! {
        div.copyable {
            label for=(id) { (label) }
            textarea.link id=(id) readonly rows=(rows) spellcheck="false" { (text) }
            button type="button" data-copy=(id) hidden { (action) }
        }
    }
}
