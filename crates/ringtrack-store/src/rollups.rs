//! Daily roll-ups of completed calls. Every write that completes a call or changes what a
//! roll-up sums (its verdict) updates them in the same transaction, so they are always
//! exact. A period is read as whole UTC days from the roll-ups plus, at each end, the part
//! of a day read from the calls themselves.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use ringtrack_domain::BusinessId;
use ringtrack_domain::calls::{CallFilter, CallStatus};
use ringtrack_domain::dates::DateRange;

use crate::analytics::{Aggregates, read_sums};
use crate::calls::{Call, IN_PROGRESS, push_filter};
use crate::conn::Sql;
use crate::{Connection, Result, Tx};

const DAY: i64 = 86_400;

/// A completed call, as its roll-up row sees it.
#[derive(Clone, Debug)]
pub(crate) struct Facts {
    business_id: String,
    day: i64,
    status: String,
    qualified: bool,
    seconds: i64,
    ai_score: Option<i64>,
    caller: String,
}

impl Facts {
    /// `None` for a call in progress: only completed calls are rolled up.
    pub(crate) fn of(call: &Call) -> Option<Facts> {
        (call.status != IN_PROGRESS).then(|| Facts {
            business_id: call.business_id.to_string(),
            day: call.created_at.as_second().div_euclid(DAY),
            status: call.status.clone(),
            qualified: call.qualified,
            seconds: call.duration_seconds,
            ai_score: call.ai_score,
            caller: call.caller_number.clone(),
        })
    }

    pub(crate) fn new(
        business_id: BusinessId,
        created_at: Timestamp,
        (status, qualified): (&str, bool),
        seconds: i64,
        ai_score: Option<i64>,
        caller: &str,
    ) -> Facts {
        Facts {
            business_id: business_id.to_string(),
            day: created_at.as_second().div_euclid(DAY),
            status: status.to_owned(),
            qualified,
            seconds,
            ai_score,
            caller: caller.to_owned(),
        }
    }
}

type Key = (String, i64, String, bool);

/// Adds (`sign` 1) or removes (`sign` -1) calls from their roll-ups; added calls also join
/// the distinct-caller tables.
pub(crate) async fn apply(tx: &mut Tx, calls: &[Facts], sign: i64) -> Result<()> {
    let mut sums: BTreeMap<Key, [i64; 4]> = BTreeMap::new();
    for c in calls {
        let sum = sums.entry((c.business_id.clone(), c.day, c.status.clone(), c.qualified)).or_default();
        sum[0] += sign;
        sum[1] += sign * c.seconds;
        sum[2] += sign * c.ai_score.unwrap_or(0);
        sum[3] += sign * i64::from(c.ai_score.is_some());
    }
    let sums: Vec<(Key, [i64; 4])> = sums.into_iter().collect();
    for chunk in sums.chunks(1000) {
        let mut upsert = Sql::new(
            "INSERT INTO call_rollups (business_id, day, status, qualified, calls, seconds, ai_sum, ai_count) VALUES ",
        );
        for (i, ((business, day, status, qualified), sum)) in chunk.iter().enumerate() {
            upsert.push(if i == 0 { "(" } else { ", (" });
            upsert
                .push_bind(business.as_str())
                .push(", ")
                .push_bind(*day)
                .push(", ")
                .push_bind(status.as_str());
            upsert.push(", ").push_bind(*qualified);
            for value in sum {
                upsert.push(", ").push_bind(*value);
            }
            upsert.push(")");
        }
        upsert.push(
            " ON CONFLICT (business_id, day, status, qualified) DO UPDATE SET
              calls = call_rollups.calls + excluded.calls, seconds = call_rollups.seconds + excluded.seconds,
              ai_sum = call_rollups.ai_sum + excluded.ai_sum, ai_count = call_rollups.ai_count + excluded.ai_count",
        );
        tx.conn().execute(upsert).await?;
    }
    if sign > 0 {
        let days: BTreeSet<(&str, i64, &str)> =
            calls.iter().map(|c| (c.business_id.as_str(), c.day, c.caller.as_str())).collect();
        let days: Vec<_> = days.into_iter().collect();
        for chunk in days.chunks(5000) {
            let mut insert = Sql::new("INSERT INTO caller_days (business_id, day, caller_number) VALUES ");
            for (i, (business, day, caller)) in chunk.iter().enumerate() {
                insert.push(if i == 0 { "(" } else { ", (" });
                insert
                    .push_bind(*business)
                    .push(", ")
                    .push_bind(*day)
                    .push(", ")
                    .push_bind(*caller)
                    .push(")");
            }
            insert.push(" ON CONFLICT DO NOTHING");
            tx.conn().execute(insert).await?;
        }
        let callers: BTreeSet<(&str, &str)> =
            calls.iter().map(|c| (c.business_id.as_str(), c.caller.as_str())).collect();
        let callers: Vec<_> = callers.into_iter().collect();
        for chunk in callers.chunks(5000) {
            let mut insert = Sql::new("INSERT INTO business_callers (business_id, caller_number) VALUES ");
            for (i, (business, caller)) in chunk.iter().enumerate() {
                insert.push(if i == 0 { "(" } else { ", (" });
                insert.push_bind(*business).push(", ").push_bind(*caller).push(")");
            }
            insert.push(" ON CONFLICT DO NOTHING");
            tx.conn().execute(insert).await?;
        }
    }
    Ok(())
}

/// A period cut into whole UTC days (read from the roll-ups) and the parts of days at its
/// ends (read from the calls).
#[derive(Debug)]
struct Split {
    /// `[first, end)` in days, open where `None`; `None` when the period holds no whole day.
    days: Option<(Option<i64>, Option<i64>)>,
    /// The partial days, as periods of their own.
    edges: Vec<DateRange>,
}

fn split(range: &DateRange) -> Split {
    let from = range.from.map(|t| t.as_second());
    let to = range.to.map(|t| t.as_second());
    let first_day = from.map(|s| s.div_euclid(DAY) + i64::from(s.rem_euclid(DAY) != 0));
    let end_day = to.map(|s| s.div_euclid(DAY));
    if let (Some(a), Some(b)) = (first_day, end_day)
        && a >= b
    {
        // Less than a whole day: all of it from the calls.
        return Split { days: None, edges: vec![*range] };
    }
    let time = |s: i64| Timestamp::from_second(s).ok();
    let mut edges = Vec::new();
    if let (Some(s), Some(day)) = (from, first_day)
        && s < day * DAY
    {
        edges.push(DateRange { from: time(s), to: time(day * DAY) });
    }
    if let (Some(s), Some(day)) = (to, end_day)
        && s > day * DAY
    {
        edges.push(DateRange { from: time(day * DAY), to: time(s) });
    }
    Split { days: Some((first_day, end_day)), edges }
}

impl Split {
    /// The whole days as a period of time.
    fn whole(&self) -> Option<DateRange> {
        let time = |d: Option<i64>| d.and_then(|d| Timestamp::from_second(d * DAY).ok());
        self.days.map(|(first, end)| DateRange { from: time(first), to: time(end) })
    }
}

/// Whether the roll-ups can answer for this filter (they know status and verdict, by day).
fn rolled_up(filter: &CallFilter) -> bool {
    filter.number_id.is_none()
        && filter.call_flow_id.is_none()
        && filter.utm_source.is_none()
        && filter.updated_since.is_none()
        && filter.min_duration.is_none()
        && filter.max_duration.is_none()
        && filter.caller_digits.is_none()
        && filter.status != Some(CallStatus::InProgress)
}

fn rollup_where(sql: &mut Sql, filter: &CallFilter, days: (Option<i64>, Option<i64>)) {
    if let Some(first) = days.0 {
        sql.push(" AND day >= ").push_bind(first);
    }
    if let Some(end) = days.1 {
        sql.push(" AND day < ").push_bind(end);
    }
    if let Some(status) = filter.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(qualified) = filter.qualified {
        sql.push(" AND qualified = ").push_bind(qualified);
    }
}

/// How many calls (in progress included) match the filter, when the roll-ups can say.
pub async fn count(
    mut db: impl Connection,
    business_id: BusinessId,
    filter: &CallFilter,
) -> Result<Option<u64>> {
    if !rolled_up(filter) {
        return Ok(None);
    }
    let split = split(&filter.range);
    let mut total = 0i64;
    if let (Some(days), Some(whole)) = (split.days, split.whole()) {
        let mut rolled = Sql::new("SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS value FROM call_rollups WHERE business_id = $1")
            .bind(business_id);
        rollup_where(&mut rolled, filter, days);
        total += db.conn().fetch_one::<i64>(rolled).await?;
        if filter.status.is_none() {
            // Calls in progress are not rolled up: over the whole days, count them directly.
            let mut live = Sql::new(format!(
                "SELECT count(*) AS value FROM calls WHERE business_id = $1 AND status = '{IN_PROGRESS}'"
            ))
            .bind(business_id);
            push_filter(&mut live, &CallFilter { range: whole, ..filter.clone() });
            total += db.conn().fetch_one::<i64>(live).await?;
        }
    }
    for edge in &split.edges {
        let mut raw =
            Sql::new("SELECT count(*) AS value FROM calls WHERE business_id = $1").bind(business_id);
        push_filter(&mut raw, &CallFilter { range: *edge, ..filter.clone() });
        total += db.conn().fetch_one::<i64>(raw).await?;
    }
    Ok(Some(total.max(0) as u64))
}

/// The totals of completed calls over a period, with distinct callers: the dashboard.
pub async fn totals(
    mut db: impl Connection,
    business_id: BusinessId,
    range: &DateRange,
) -> Result<Aggregates> {
    let split = split(range);
    let mut total = Aggregates::default();
    if let Some(days) = split.days {
        let mut rolled = Sql::new(
            "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS n,
                CAST(COALESCE(SUM(CASE WHEN status = 'answered' THEN calls ELSE 0 END), 0) AS BIGINT) AS answered,
                CAST(COALESCE(SUM(CASE WHEN status = 'missed' THEN calls ELSE 0 END), 0) AS BIGINT) AS missed,
                CAST(COALESCE(SUM(CASE WHEN status = 'voicemail' THEN calls ELSE 0 END), 0) AS BIGINT) AS voicemail,
                CAST(COALESCE(SUM(CASE WHEN qualified THEN calls ELSE 0 END), 0) AS BIGINT) AS qualified,
                CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS seconds,
                CAST(COALESCE(SUM(ai_sum), 0) AS BIGINT) AS ai_sum,
                CAST(COALESCE(SUM(ai_count), 0) AS BIGINT) AS ai_count
             FROM call_rollups WHERE business_id = $1",
        )
        .bind(business_id);
        rollup_where(&mut rolled, &CallFilter::default(), days);
        total = db.conn().fetch_all_with(rolled, read_sums).await?.into_iter().next().unwrap_or_default();
    }
    for edge in &split.edges {
        let filter = CallFilter { range: *edge, ..CallFilter::default() };
        let part =
            crate::analytics::aggregate(&mut db, business_id, &filter, &[], &jiff::tz::TimeZone::UTC, false)
                .await?;
        if let Some(part) = part.into_iter().next() {
            let a = part.aggregates;
            total.count += a.count;
            total.answered += a.answered;
            total.missed += a.missed;
            total.voicemail += a.voicemail;
            total.qualified += a.qualified;
            total.total_seconds += a.total_seconds;
            total.ai_score_sum += a.ai_score_sum;
            total.ai_scored += a.ai_scored;
        }
    }
    total.unique_callers = Some(unique_callers(&mut db, business_id, range, &split).await?);
    Ok(total)
}

async fn unique_callers(
    db: &mut impl Connection,
    business_id: BusinessId,
    range: &DateRange,
    split: &Split,
) -> Result<i64> {
    if range.from.is_none() && range.to.is_none() {
        let all = Sql::new("SELECT count(*) AS value FROM business_callers WHERE business_id = $1")
            .bind(business_id);
        return Ok(db.conn().fetch_one(all).await?);
    }
    let mut union = Sql::new(
        "SELECT count(*) AS value FROM (SELECT DISTINCT caller_number FROM caller_days WHERE business_id = $1",
    )
    .bind(business_id);
    match split.days {
        Some((first, end)) => {
            if let Some(first) = first {
                union.push(" AND day >= ").push_bind(first);
            }
            if let Some(end) = end {
                union.push(" AND day < ").push_bind(end);
            }
        }
        None => {
            union.push(" AND 1 = 0");
        }
    }
    for edge in &split.edges {
        union.push(" UNION SELECT caller_number FROM calls WHERE business_id = ").push_bind(business_id);
        union.push(&format!(" AND status <> '{IN_PROGRESS}'"));
        push_filter(&mut union, &CallFilter { range: *edge, ..CallFilter::default() });
    }
    union.push(") AS callers");
    Ok(db.conn().fetch_one(union).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: Option<&str>, to: Option<&str>) -> DateRange {
        DateRange { from: from.map(|s| s.parse().unwrap()), to: to.map(|s| s.parse().unwrap()) }
    }

    #[test]
    fn periods_split_into_whole_days_and_edges() {
        let whole = split(&range(Some("2026-03-01T00:00:00Z"), Some("2026-04-01T00:00:00Z")));
        assert_eq!(whole.days, Some((Some(20513), Some(20544))));
        assert!(whole.edges.is_empty());
        let ragged = split(&range(Some("2026-03-01T12:00:00Z"), Some("2026-03-03T06:00:00Z")));
        assert_eq!(ragged.days, Some((Some(20514), Some(20515))));
        assert_eq!(ragged.edges.len(), 2);
        assert_eq!(ragged.edges[0].to, Some("2026-03-02T00:00:00Z".parse().unwrap()));
        let within = split(&range(Some("2026-03-01T12:00:00Z"), Some("2026-03-01T13:00:00Z")));
        assert_eq!(within.days, None);
        assert_eq!(within.edges, vec![range(Some("2026-03-01T12:00:00Z"), Some("2026-03-01T13:00:00Z"))]);
        let open = split(&DateRange::default());
        assert_eq!(open.days, Some((None, None)));
        assert!(open.edges.is_empty());
    }
}
