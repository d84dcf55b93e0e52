//! Where your leads come from: the period's calls by source, and within a source by
//! campaign (with the mediums it ran on), with first-time callers, answered and qualified
//! calls — and, from what the business says it spent, the cost per call and per qualified
//! lead. A source's spend is everything entered for it; a campaign's, what was entered for
//! that campaign. Spend entered for a month is spread evenly over its days.

use std::collections::{BTreeMap, BTreeSet};

use axum::response::Response;
use maud::{Markup, html};
use ringtrack_store::analytics::{Aggregates, Group, Key};

use crate::WebState;
use crate::calls::encode;
use crate::layout::failed;
use crate::period::Period;
use crate::session::SignedIn;
use crate::table::{Column, Entry, Table, Value};

/// A row's counts.
#[derive(Default)]
struct Counts {
    calls: Aggregates,
    first_time: i64,
    mediums: BTreeSet<String>,
    spent: Option<i64>,
}

impl Counts {
    fn add(&mut self, aggregates: &Aggregates, first_time: bool, medium: Option<&String>) {
        self.calls.add(aggregates);
        if first_time {
            self.first_time += aggregates.count;
        }
        self.mediums.extend(medium.cloned());
    }

    fn spend(&mut self, amount: i64) {
        self.spent = Some(self.spent.unwrap_or(0) + amount);
    }
}

/// Money per call or lead: what was spent divided by how many, to the cent.
pub fn per(spent: Option<i64>, count: i64) -> Option<i64> {
    spent.filter(|_| count > 0).map(|spent| (spent + count / 2) / count)
}

/// The table from the period's calls by [`crate::breakdowns::DETAIL`] and what was spent over its days.
pub async fn table(
    state: &WebState,
    signed_in: &SignedIn,
    period: Period,
    answer: &[Group],
) -> Result<Table, Response> {
    let spent =
        ringtrack_core::ad_spend::spent(&state.store, signed_in.business(), period.first, period.last)
            .await
            .map_err(|e| failed(e, "reading the spend"))?;
    let text = |key: &Key| match key {
        Key::Text(text) => Some(text.clone()),
        _ => None,
    };
    let mut sources: BTreeMap<String, Counts> = BTreeMap::new();
    let mut campaigns: BTreeMap<(String, Option<String>), Counts> = BTreeMap::new();
    for group in answer {
        let source = text(&group.keys[0]).unwrap_or_else(|| "direct".into());
        let (campaign, medium) = (text(&group.keys[1]), text(&group.keys[2]));
        let first_time = group.keys[3] == Key::Flag(true);
        sources.entry(source.clone()).or_default().add(&group.aggregates, first_time, medium.as_ref());
        campaigns.entry((source, campaign)).or_default().add(&group.aggregates, first_time, medium.as_ref());
    }
    for spend in &spent {
        sources.entry(spend.source.clone()).or_default().spend(spend.amount.get());
        if let Some(campaign) = &spend.campaign {
            campaigns
                .entry((spend.source.clone(), Some(campaign.clone())))
                .or_default()
                .spend(spend.amount.get());
        }
    }
    let mut order: Vec<(&String, &Counts)> = sources.iter().collect();
    order.sort_by_key(|(_, c)| std::cmp::Reverse((c.calls.count, c.spent)));
    let mut rows = Vec::new();
    for (source, counts) in order {
        let filter = format!("&source={}", encode(source));
        rows.push(row(period, source, Value::Text(Some("All campaigns".into())), counts, Some(&filter)));
        let mut within: Vec<(&Option<String>, &Counts)> =
            campaigns.iter().filter(|((s, _), _)| s == source).map(|((_, c), counts)| (c, counts)).collect();
        // A source without named campaigns is its own row alone.
        if within.iter().all(|(campaign, _)| campaign.is_none()) {
            continue;
        }
        within.sort_by_key(|(_, c)| std::cmp::Reverse((c.calls.count, c.spent)));
        for (campaign, counts) in within {
            let filter = campaign.as_ref().map(|c| format!("{filter}&utm_campaign={}", encode(c)));
            let name = Value::Text(Some(campaign.clone().unwrap_or_else(|| "(no campaign)".into())));
            rows.push(row(period, source, name, counts, filter.as_deref()));
        }
    }
    let columns = [
        ("source", "Source"),
        ("utm_campaign", "Campaign"),
        ("utm_medium", "Medium"),
        ("count", "Calls"),
        ("first_time", "First-time callers"),
        ("answered", "Answered"),
        ("qualified", "Qualified leads"),
        ("qualified_pct", "Qualified rate"),
        ("spend_cents", "Spend"),
        ("cost_per_call_cents", "Cost per call"),
        ("cost_per_qualified_cents", "Cost per qualified lead"),
    ]
    .map(|(name, label)| Column::new(name, label))
    .into();
    Ok(Table { columns, rows })
}

fn row(period: Period, source: &str, campaign: Value, counts: &Counts, filter: Option<&str>) -> Vec<Entry> {
    let link = |more: &str| filter.map(|f| format!("/calls?{}{f}{more}", period.query()));
    let calls = &counts.calls;
    let mediums: Vec<&str> = counts.mediums.iter().map(String::as_str).collect();
    vec![
        Entry::new(Value::Text(Some(source.to_owned()))),
        Entry::new(campaign),
        Entry::new(Value::Text((!mediums.is_empty()).then(|| mediums.join(", ")))),
        Entry::linked(Value::Count(calls.count), link("")),
        Entry::linked(Value::Count(counts.first_time), link("&first_time=true")),
        Entry::linked(Value::Count(calls.answered), link("&status=answered")),
        Entry::linked(Value::Count(calls.qualified), link("&qualified=true")),
        Entry::new(calls.measure(ringtrack_domain::calls::Metric::QualifiedPct).into()),
        Entry::new(Value::Cents(counts.spent)),
        Entry::new(Value::Cents(per(counts.spent, calls.count))),
        Entry::new(Value::Cents(per(counts.spent, calls.qualified))),
    ]
}

/// The section on the dashboard.
pub fn section(table: &Table, period: Period, may_enter_spend: bool) -> Markup {
    html! {
        section.chart aria-labelledby="leads-heading" {
            div.title-row {
                h2 id="leads-heading" { "Where your leads come from" }
                a href="/spend" { (if may_enter_spend { "Enter what you spent" } else { "What was spent" }) }
            }
            @if table.rows.is_empty() {
                p.empty { "No calls in this period." }
            } @else {
                div.wide { (table.render("Calls and leads by source and campaign", None)) }
                p.hint { "Spend entered for a month is spread evenly over its days; a source's spend includes its campaigns'." }
            }
            a.download href={"/dashboard/leads.csv?" (period.query())} download { "Download CSV" }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn costs_are_to_the_nearest_cent() {
        assert_eq!(super::per(Some(125_000), 2), Some(62_500));
        assert_eq!(super::per(Some(100), 3), Some(33));
        assert_eq!(super::per(Some(100), 0), None);
        assert_eq!(super::per(None, 4), None);
    }
}
