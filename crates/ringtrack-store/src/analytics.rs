//! Aggregates over completed calls, grouped by up to three dimensions: the one machinery
//! behind analytics and the dashboard. [`aggregate`] answers from the facts kept in memory
//! ([`crate::facts`]) and falls back to [`scan`], which groups the calls in SQL: local days,
//! weeks and hours are integer arithmetic on `created_at` plus the zone's offset in force
//! (a CASE over its DST changes), and local months a CASE over their starts, so both
//! databases group alike and exactly. Both read the calendar the same way ([`Calendar`]).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ringtrack_domain::BusinessId;
use ringtrack_domain::calls::{CallFilter, Dimension, WEEKDAYS, day_label, months, offsets};

use crate::call_filter::{IN_PROGRESS, push_filter};
use crate::record::Record;
use crate::sql::Sql;
use crate::{Connection, Result, Store};

/// The sums a group's metrics are computed from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aggregates {
    pub count: i64,
    pub answered: i64,
    pub missed: i64,
    pub voicemail: i64,
    pub qualified: i64,
    pub total_seconds: i64,
    pub ai_score_sum: i64,
    pub ai_scored: i64,
    /// Distinct callers, when asked for (it costs the most).
    pub unique_callers: Option<i64>,
}

impl Aggregates {
    /// Adds another group's sums (distinct callers do not add: they are left as they are).
    pub fn add(&mut self, other: &Aggregates) {
        self.count += other.count;
        self.answered += other.answered;
        self.missed += other.missed;
        self.voicemail += other.voicemail;
        self.qualified += other.qualified;
        self.total_seconds += other.total_seconds;
        self.ai_score_sum += other.ai_score_sum;
        self.ai_scored += other.ai_scored;
    }
}

/// The sums of a row selected as `n, answered, missed, voicemail, qualified, seconds,
/// ai_sum, ai_count`.
pub(crate) fn read_sums(row: &dyn Record) -> sqlx::Result<Aggregates> {
    Ok(Aggregates {
        count: row.int("n")?,
        answered: row.int("answered")?,
        missed: row.int("missed")?,
        voicemail: row.int("voicemail")?,
        qualified: row.int("qualified")?,
        total_seconds: row.int("seconds")?,
        ai_score_sum: row.int("ai_sum")?,
        ai_scored: row.int("ai_count")?,
        unique_callers: None,
    })
}

/// A grouping value: text (a source, an id, a status, a date), a number (an hour) or a
/// yes or no (first-time caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Text(String),
    Number(i64),
    Flag(bool),
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub keys: Vec<Key>,
    pub aggregates: Aggregates,
}

struct Row {
    keys: Vec<RawKey>,
    aggregates: Aggregates,
}

/// A grouping value before it is labelled: groups sort by these, no value first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RawKey {
    Text(Option<String>),
    Number(Option<i64>),
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

/// What a time dimension needs to know about the period: the zone's offsets in force
/// (`(from, offset)`, in UTC seconds) and the local months' starts.
pub(crate) struct Calendar {
    pub(crate) offsets: Vec<(i64, i64)>,
    pub(crate) months: Vec<(i64, String)>,
}

impl Calendar {
    /// The calendar of `[from, to)` in `tz`.
    pub(crate) fn new(tz: &TimeZone, from: Timestamp, to: Timestamp) -> Calendar {
        Calendar { offsets: offsets(tz, from, to), months: months(tz, from, to) }
    }

    pub(crate) fn none() -> Calendar {
        Calendar { offsets: Vec::new(), months: Vec::new() }
    }
}

/// The local day (since 1970-01-01) of local seconds; the week's Monday and the weekday
/// (0 Monday) of a local day. [`dimension_sql`] says the same in SQL.
pub(crate) fn local_day(local: i64) -> i64 {
    local / 86400
}

pub(crate) fn week_of(day: i64) -> i64 {
    day - ((day + 3) % 7)
}

pub(crate) fn weekday_of(day: i64) -> i64 {
    (day + 3) % 7
}

fn dimension_sql(dimension: Dimension, calendar: &Calendar) -> (String, bool) {
    let local = local_seconds(&calendar.offsets);
    let day = format!("({local} / 86400)");
    match dimension {
        Dimension::Source => ("COALESCE(source, utm_source, 'direct')".into(), false),
        Dimension::UtmSource => ("utm_source".into(), false),
        Dimension::UtmMedium => ("utm_medium".into(), false),
        Dimension::UtmCampaign => ("utm_campaign".into(), false),
        Dimension::NumberId => ("number_id".into(), false),
        Dimension::CallFlowId => ("call_flow_id".into(), false),
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

pub(crate) fn label(dimension: Dimension, raw: RawKey, calendar: &Calendar) -> Key {
    match (dimension, raw) {
        (_, RawKey::Text(Some(text))) => Key::Text(text),
        (_, RawKey::Text(None)) | (_, RawKey::Number(None)) => Key::None,
        (Dimension::FirstTime, RawKey::Number(Some(n))) => Key::Flag(n != 0),
        (Dimension::Date | Dimension::Week, RawKey::Number(Some(day))) => Key::Text(day_label(day)),
        (Dimension::Month, RawKey::Number(Some(i))) => {
            calendar.months.get(i as usize).map_or(Key::None, |(_, label)| Key::Text(label.clone()))
        }
        (Dimension::DayOfWeek, RawKey::Number(Some(i))) => {
            Key::Text(WEEKDAYS[i.rem_euclid(7) as usize].to_owned())
        }
        (_, RawKey::Number(Some(n))) => Key::Number(n),
    }
}

/// What analytics is asked: a business's completed calls matching `filter`, grouped by
/// `dimensions` (none: one total row) with times in `tz`, with distinct callers or not.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub business_id: BusinessId,
    pub filter: &'a CallFilter,
    pub dimensions: &'a [Dimension],
    pub tz: &'a TimeZone,
    pub unique_callers: bool,
}

/// An answer's groups, shared: a node keeps answers, and many requests read one at once.
pub type Answer = std::sync::Arc<Vec<Group>>;

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
