//! The shapes of a grouped answer — the sums behind a group's metrics, its keys, what is
//! asked — and the calendar arithmetic that labels time groups: what the SQL grouping
//! ([`crate::analytics`]) and the facts kept in memory ([`crate::facts`]) share, so that
//! neither needs the other.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ringtrack_domain::BusinessId;
use ringtrack_domain::calls::{CallFilter, Dimension, Metric, WEEKDAYS, day_label, months, offsets};

use crate::record::Record;

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

    /// One metric of the group, as every door shows it.
    pub fn measure(&self, metric: Metric) -> Measure {
        let tenths = |n: i64, d: i64| (d > 0).then(|| (n as f64 / d as f64 * 10.0).round() / 10.0);
        match metric {
            Metric::Count => Measure::Count(self.count),
            Metric::Answered => Measure::Count(self.answered),
            Metric::Missed => Measure::Count(self.missed),
            Metric::Voicemail => Measure::Count(self.voicemail),
            Metric::Qualified => Measure::Count(self.qualified),
            Metric::QualifiedPct => Measure::Percent(tenths(self.qualified * 100, self.count)),
            Metric::AvgDuration => {
                Measure::Seconds((self.count > 0).then(|| self.total_seconds / self.count))
            }
            Metric::TotalMinutes => Measure::Count((self.total_seconds + 30) / 60),
            Metric::AvgAiScore => Measure::Score(tenths(self.ai_score_sum, self.ai_scored)),
            Metric::UniqueCallers => Measure::Count(self.unique_callers.unwrap_or(0)),
        }
    }
}

/// A metric's value: a count (or whole minutes), a percentage or score to a tenth, or
/// whole seconds; `None` where nothing was counted to divide by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measure {
    Count(i64),
    Percent(Option<f64>),
    Score(Option<f64>),
    Seconds(Option<i64>),
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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

/// A grouping value before it is labelled: groups sort by these, no value first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RawKey {
    Text(Option<String>),
    Number(Option<i64>),
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
/// (0 Monday) of a local day. The SQL grouping (`analytics`) says the same.
pub(crate) fn local_day(local: i64) -> i64 {
    local / 86400
}

pub(crate) fn week_of(day: i64) -> i64 {
    day - ((day + 3) % 7)
}

pub(crate) fn weekday_of(day: i64) -> i64 {
    (day + 3) % 7
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
