//! Aggregates over completed calls, grouped by up to three dimensions: the one machinery
//! behind analytics and the dashboard. [`aggregate`] answers from the facts kept in memory
//! ([`crate::facts`]) and falls back to [`scan`], which groups the calls in SQL: local days,
//! weeks and hours are integer arithmetic on `created_at` plus the zone's offset in force
//! (a CASE over its DST changes), and local months a CASE over their starts, so both
//! databases group alike and exactly. Both read the calendar the same way ([`Calendar`]).

use jiff::Timestamp;
use ringtrack_domain::calls::Dimension;

use crate::call_filter::{IN_PROGRESS, SOURCE, push_filter};
pub use crate::grouping::{Aggregates, Answer, Group, Key, Measure, Question};
use crate::grouping::{Calendar, RawKey, label, read_sums};
use crate::record::Record;
use crate::sql::Sql;
use crate::{Connection, Result, Store};

struct Row {
    keys: Vec<RawKey>,
    aggregates: Aggregates,
}

/// Reads a row whose first columns are the dimensions (`d0`…, numbers where `numeric`).
fn read_row(row: &dyn Record, numeric: &[bool], unique: bool) -> sqlx::Result<Row> {
    let keys = numeric
        .iter()
        .enumerate()
        .map(|(i, numeric)| {
            let column = format!("d{i}");
            Ok(if *numeric {
                RawKey::Number(row.opt_int(&column)?)
            } else {
                RawKey::Text(row.opt_text(&column)?)
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Row {
        keys,
        aggregates: Aggregates {
            unique_callers: if unique { Some(row.int("uniq")?) } else { None },
            ..read_sums(row)?
        },
    })
}

fn sum_where(condition: &str) -> String {
    format!("CAST(COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS BIGINT)")
}

/// `created_at` in local seconds: plus the offset in force at that instant.
fn local_seconds(segments: &[(i64, i64)]) -> String {
    if let [(_, offset)] = segments {
        return format!("(created_at + {offset})");
    }
    let mut case = String::from("(created_at + CASE");
    for pair in segments.windows(2) {
        case.push_str(&format!(" WHEN created_at < {} THEN {}", pair[1].0, pair[0].1));
    }
    let last = segments.last().map_or(0, |s| s.1);
    case.push_str(&format!(" ELSE {last} END)"));
    case
}

fn dimension_sql(dimension: Dimension, calendar: &Calendar) -> (String, bool) {
    let local = local_seconds(&calendar.offsets);
    let day = format!("({local} / 86400)");
    match dimension {
        Dimension::Source => (SOURCE.into(), false),
        Dimension::UtmSource => ("utm_source".into(), false),
        Dimension::UtmMedium => ("utm_medium".into(), false),
        Dimension::UtmCampaign => ("utm_campaign".into(), false),
        Dimension::NumberId => ("number_id".into(), false),
        Dimension::CallFlowId => ("call_flow_id".into(), false),
        Dimension::LandingPage => ("landing_page_address".into(), false),
        Dimension::Status => ("status".into(), false),
        Dimension::FirstTime => ("(CASE WHEN first_time_caller THEN 1 ELSE 0 END)".into(), true),
        Dimension::Date => (day, true),
        Dimension::Week => (format!("({day} - (({day} + 3) % 7))"), true),
        Dimension::HourOfDay => (format!("(({local} % 86400) / 3600)"), true),
        Dimension::DayOfWeek => (format!("(({day} + 3) % 7)"), true),
        Dimension::Month if calendar.months.len() <= 1 => ("0".into(), true),
        Dimension::Month => {
            let mut case = String::from("(CASE");
            for (i, (start, _)) in calendar.months.iter().enumerate().skip(1) {
                case.push_str(&format!(" WHEN created_at < {start} THEN {}", i - 1));
            }
            case.push_str(&format!(" ELSE {} END)", calendar.months.len().saturating_sub(1)));
            (case, true)
        }
    }
}

/// The answer to `question`; groups come in ascending order of their keys (no value first).
pub async fn aggregate(store: &Store, question: &Question<'_>) -> Result<Answer> {
    if let Some(groups) = store.facts().aggregate(store, question).await? {
        return Ok(groups);
    }
    let mut groups = scan(store, question).await?;
    groups.sort_by(|a, b| a.sort_keys.cmp(&b.sort_keys));
    Ok(Answer::new(groups.into_iter().map(Group::from).collect()))
}

/// A group as [`scan`] answers it: with the keys it sorts by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned {
    sort_keys: Vec<RawKey>,
    pub group: Group,
}

impl From<Scanned> for Group {
    fn from(scanned: Scanned) -> Group {
        scanned.group
    }
}

/// [`aggregate`] by grouping the calls in SQL: what the facts in memory must agree with,
/// and the answer when they cannot say (a filter on the caller's digits or on the time of
/// a change, or more calls than memory is kept for). Groups in the database's order.
pub async fn scan(mut db: impl Connection, question: &Question<'_>) -> Result<Vec<Scanned>> {
    let Question { business_id, filter, dimensions, tz, unique_callers } = *question;
    let calendar = if dimensions.iter().any(|d| d.is_time()) {
        let from = match filter.range.from {
            Some(from) => from,
            None => {
                let first = Sql::new(
                    "SELECT COALESCE(MIN(created_at), 0) AS value FROM calls WHERE business_id = $1",
                )
                .bind(business_id);
                Timestamp::from_second(db.conn().fetch_one::<i64>(first).await?)
                    .unwrap_or(Timestamp::UNIX_EPOCH)
            }
        };
        let to = filter.range.to.unwrap_or_else(|| db.now() + jiff::SignedDuration::from_hours(24));
        Calendar::new(tz, from, to)
    } else {
        Calendar::none()
    };
    let dims: Vec<(String, bool)> = dimensions.iter().map(|d| dimension_sql(*d, &calendar)).collect();

    let mut select = String::from("SELECT ");
    for (i, (expression, _)) in dims.iter().enumerate() {
        select.push_str(&format!("{expression} AS d{i}, "));
    }
    select.push_str(&format!(
        "count(*) AS n, {} AS answered, {} AS missed, {} AS voicemail, {} AS qualified,
         CAST(COALESCE(SUM(duration_seconds), 0) AS BIGINT) AS seconds,
         CAST(COALESCE(SUM(ai_score), 0) AS BIGINT) AS ai_sum, count(ai_score) AS ai_count",
        sum_where("status = 'answered'"),
        sum_where("status = 'missed'"),
        sum_where("status = 'voicemail'"),
        sum_where("qualified"),
    ));
    if unique_callers {
        select.push_str(", count(DISTINCT caller_number) AS uniq");
    }
    let mut sql =
        Sql::new(format!("{select} FROM calls WHERE business_id = $1 AND status <> '{IN_PROGRESS}'"))
            .bind(business_id);
    push_filter(&mut sql, filter);
    if !dims.is_empty() {
        let positions: Vec<String> = (0..dims.len()).map(|i| format!("d{i}")).collect();
        sql.push(&format!(" GROUP BY {0} ORDER BY {0}", positions.join(", ")));
    }
    let numeric: Vec<bool> = dims.iter().map(|(_, numeric)| *numeric).collect();
    let rows = db.conn().fetch_all_with(sql, |row| read_row(row, &numeric, unique_callers)).await?;
    Ok(rows
        .into_iter()
        .map(|row| Scanned {
            group: Group {
                keys: row
                    .keys
                    .iter()
                    .zip(dimensions)
                    .map(|(raw, d)| label(*d, raw.clone(), &calendar))
                    .collect(),
                aggregates: row.aggregates,
            },
            sort_keys: row.keys,
        })
        .collect())
}
