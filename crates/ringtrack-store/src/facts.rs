//! The facts of completed calls, kept in memory by UTC day, that analytics groups.
//!
//! Roll-ups in the database do not shrink calls whose fields vary independently: a year of
//! calls over 200 numbers and two dozen campaigns has nearly as many (hour, number,
//! campaign, status, …) tuples as calls. So each node keeps every completed call as 20
//! bytes (its attribution interned once per business) and groups them in Rust: a month of
//! calls in about a millisecond, any zone, any three fields.
//!
//! Exact across nodes: every change to what a day's calls sum bumps the day's version in
//! `call_day_versions`, in the same transaction (`rollups::apply`). A request reads the
//! versions of its period's days first and reloads from `calls` any day whose version it
//! does not hold, so it sees every change committed before it began. A day's version is
//! read before its calls: a change committed between the two is reloaded once more, never
//! missed.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ringtrack_domain::BusinessId;
use ringtrack_domain::calls::{CallFilter, CallStatus, Dimension, attributed_source};
use ringtrack_domain::dates::DateRange;
use rustc_hash::FxHashMap;

use crate::call_filter::IN_PROGRESS;
use crate::grouping::{
    Aggregates, Answer, Calendar, Group, Question, RawKey, label, local_day, week_of, weekday_of,
};
use crate::record::Record;
use crate::sql::Sql;
use crate::{Connection, Result, Store, StoreError};

const DAY: i64 = 86_400;

/// How many bytes of facts a node keeps, for every business together (about 3 million
/// calls); the businesses used longest ago leave first. A business whose period needs more
/// is answered by scanning its calls.
const CAPACITY_BYTES: usize = 64 << 20;

/// Days reloaded by one statement: bounds the rows a load holds at once (a week of a
/// million calls a year is some 20,000).
const DAYS_PER_LOAD: i64 = 7;

const UNSCORED: u8 = u8::MAX;

/// One completed call, as analytics groups it.
#[derive(Clone, Copy, Debug)]
struct Fact {
    /// Seconds since the start of its UTC day.
    second: u32,
    duration: u32,
    /// The business's number for the caller (`business_callers.seq`).
    caller: u32,
    /// Index into the business's attributions.
    attribution: u32,
    /// The lead score (0-100), or [`UNSCORED`].
    ai_score: u8,
    status: CallStatus,
    qualified: bool,
    first_time: bool,
}

/// Where a call came from: the fields many calls share, kept once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Attribution {
    number_id: Option<Arc<str>>,
    call_flow_id: Option<Arc<str>>,
    /// The number's static source.
    source: Option<Arc<str>>,
    utm_source: Option<Arc<str>>,
    utm_medium: Option<Arc<str>>,
    utm_campaign: Option<Arc<str>>,
    /// The landing page's address.
    landing_page: Option<Arc<str>>,
}

impl Attribution {
    fn text(&self, dimension: Dimension) -> Option<&str> {
        match dimension {
            Dimension::Source => Some(attributed_source(self.source.as_deref(), self.utm_source.as_deref())),
            Dimension::UtmSource => self.utm_source.as_deref(),
            Dimension::UtmMedium => self.utm_medium.as_deref(),
            Dimension::UtmCampaign => self.utm_campaign.as_deref(),
            Dimension::NumberId => self.number_id.as_deref(),
            Dimension::CallFlowId => self.call_flow_id.as_deref(),
            Dimension::LandingPage => self.landing_page.as_deref(),
            _ => None,
        }
    }

    fn passes(&self, filter: &CallFilter) -> bool {
        let is = |field: &Option<Arc<str>>, wanted: Option<String>| {
            wanted.is_none_or(|wanted| field.as_deref() == Some(wanted.as_str()))
        };
        is(&self.number_id, filter.number_id.map(|id| id.to_string()))
            && is(&self.call_flow_id, filter.call_flow_id.map(|id| id.to_string()))
            && is(&self.utm_source, filter.utm_source.clone())
            && is(&self.utm_campaign, filter.utm_campaign.clone())
            && is(&self.utm_medium, filter.utm_medium.clone())
            && is(&self.landing_page, filter.landing_page.clone())
            && filter.source.as_deref().is_none_or(|wanted| self.text(Dimension::Source) == Some(wanted))
    }

    /// Whether `filter` asks about any field of an attribution.
    fn filtered(filter: &CallFilter) -> bool {
        filter.number_id.is_some()
            || filter.call_flow_id.is_some()
            || filter.utm_source.is_some()
            || filter.utm_campaign.is_some()
            || filter.utm_medium.is_some()
            || filter.landing_page.is_some()
            || filter.source.is_some()
    }
}

/// A business's attributions, each once: append-only, so an index stays valid.
#[derive(Clone, Debug, Default)]
struct Attributions {
    list: Vec<Attribution>,
    index: HashMap<Attribution, u32>,
}

impl Attributions {
    fn intern(&mut self, attribution: Attribution) -> Result<u32> {
        if let Some(i) = self.index.get(&attribution) {
            return Ok(*i);
        }
        let i = u32::try_from(self.list.len())
            .map_err(|_| StoreError::Corrupt("too many attributions".into()))?;
        self.list.push(attribution.clone());
        self.index.insert(attribution, i);
        Ok(i)
    }

    fn bytes(&self) -> usize {
        self.list.len() * 2 * (std::mem::size_of::<Attribution>() + 64)
    }
}

/// A UTC day's facts, in time order, as of a version of the day.
#[derive(Debug)]
struct Day {
    version: i64,
    facts: Vec<Fact>,
}

#[derive(Debug, Default)]
struct BusinessFacts {
    days: BTreeMap<i64, Arc<Day>>,
    attributions: Arc<Attributions>,
    last_used: u64,
}

impl BusinessFacts {
    fn bytes(&self) -> usize {
        let facts: usize = self.days.values().map(|d| d.facts.len()).sum();
        facts * std::mem::size_of::<Fact>() + self.days.len() * 64 + self.attributions.bytes()
    }
}

#[derive(Debug, Default)]
struct Businesses {
    held: HashMap<BusinessId, BusinessFacts>,
    uses: u64,
}

/// The facts this node holds, and one lock per business under which its days load, so
/// that many requests that find a day stale load it once; and the latest answers, each
/// valid while the versions of its days are those it was grouped from.
#[derive(Debug)]
pub struct FactCache {
    businesses: Mutex<Businesses>,
    loading: Mutex<HashMap<BusinessId, Arc<tokio::sync::Mutex<()>>>>,
    answers: Mutex<Answers>,
    /// Answers grouped at once: one a core. Each grouping holds its groups and a period's
    /// facts; unbounded, 64 concurrent year-long questions took SQLite's peak RSS to 204 MB.
    /// Requests beyond wait their turn (nothing is refused), and find the answer kept if
    /// one ahead of them grouped the same question.
    building: tokio::sync::Semaphore,
}

impl Default for FactCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        FactCache {
            businesses: Mutex::default(),
            loading: Mutex::default(),
            answers: Mutex::default(),
            building: tokio::sync::Semaphore::new(cores),
        }
    }
}

/// The `(day, version)` of each day of a period, in order.
type Versions = Vec<(i64, i64)>;

/// What an answer depends on, in one small row: how many days of its period have calls and
/// the sum of their versions. Versions only rise, so any change to the period's calls
/// changes the pair.
type Digest = (i64, i64);

/// Answers kept: a dashboard's charts ask the same questions of the same days over and
/// over, from every viewer.
const ANSWERS_KEPT: usize = 256;
/// An answer with more groups than this is not kept (it is as quick to group again).
const ANSWER_GROUPS_KEPT: usize = 10_000;

#[derive(Debug, Default)]
struct Answers {
    by_question: HashMap<String, (Digest, Answer)>,
    /// Questions, oldest answered first.
    order: std::collections::VecDeque<String>,
}

/// What a request groups: the days of its period and the attributions they point into.
struct Snapshot {
    days: Vec<(i64, Arc<Day>)>,
    attributions: Arc<Attributions>,
}

/// Whether the facts hold what `filter` asks of. Every field is named, so a new filter
/// cannot be ignored here unnoticed: the ones facts cannot apply leave it to the scan.
fn answerable(filter: &CallFilter) -> bool {
    let CallFilter {
        range: _,
        status: _,
        qualified: _,
        number_id: _,
        call_flow_id: _,
        min_duration: _,
        max_duration: _,
        utm_source: _,
        utm_campaign: _,
        source: _,
        utm_medium: _,
        first_time: _,
        landing_page: _,
        updated_since,
        caller_digits,
    } = filter;
    caller_digits.is_none() && updated_since.is_none()
}

impl FactCache {
    fn businesses(&self) -> std::sync::MutexGuard<'_, Businesses> {
        self.businesses.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer to `question` from the facts (what analytics asks first); `None` when they cannot say.
    pub(crate) async fn aggregate(&self, store: &Store, question: &Question<'_>) -> Result<Option<Answer>> {
        let Question { business_id, filter, dimensions, tz, unique_callers } = *question;
        if !answerable(filter) {
            return Ok(None);
        }
        // The digest is read before the facts: an answer may be newer than its digest
        // says (then grouped again once), never older.
        let digest = period_digest(store, business_id, &filter.range).await?;
        let question = tz
            .iana_name()
            .map(|zone| format!("{business_id} {zone} {dimensions:?} {unique_callers} {filter:?}"));
        if let Some(question) = &question
            && let Some(answer) = self.answer(question, digest)
        {
            return Ok(Some(answer));
        }
        let _turn = self.building.acquire().await.expect("the semaphore is never closed");
        if let Some(question) = &question
            && let Some(answer) = self.answer(question, digest)
        {
            return Ok(Some(answer));
        }
        let versions = period_versions(store, business_id, &filter.range).await?;
        let Some(snapshot) = self.snapshot(store, business_id, &versions).await? else { return Ok(None) };
        let groups = group(&snapshot, filter, dimensions, tz, unique_callers, store.now()).map(Answer::new);
        if let (Some(question), Some(groups)) = (question, &groups) {
            self.keep(question, digest, Answer::clone(groups));
        }
        Ok(groups)
    }

    /// The answer `compute` gives over the days of `range`, kept until one of them changes
    /// (`question` names it among a node's answers).
    pub(crate) async fn remember(
        &self,
        store: &Store,
        business_id: BusinessId,
        range: &DateRange,
        question: String,
        compute: impl Future<Output = Result<Vec<Group>>>,
    ) -> Result<Answer> {
        let digest = period_digest(store, business_id, range).await?;
        if let Some(answer) = self.answer(&question, digest) {
            return Ok(answer);
        }
        let _turn = self.building.acquire().await.expect("the semaphore is never closed");
        if let Some(answer) = self.answer(&question, digest) {
            return Ok(answer);
        }
        let answer = Answer::new(compute.await?);
        self.keep(question, digest, Answer::clone(&answer));
        Ok(answer)
    }

    fn answer(&self, question: &str, digest: Digest) -> Option<Answer> {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        let (kept, groups) = answers.by_question.get(question)?;
        (*kept == digest).then(|| Answer::clone(groups))
    }

    fn keep(&self, question: String, digest: Digest, groups: Answer) {
        if groups.len() > ANSWER_GROUPS_KEPT {
            return;
        }
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        if answers.by_question.insert(question.clone(), (digest, groups)).is_none() {
            answers.order.push_back(question);
        }
        while answers.order.len() > ANSWERS_KEPT {
            if let Some(oldest) = answers.order.pop_front() {
                answers.by_question.remove(&oldest);
            }
        }
    }

    /// The current facts of the period's days, loading the days this node does not hold
    /// at their current version.
    async fn snapshot(
        &self,
        store: &Store,
        business_id: BusinessId,
        versions: &[(i64, i64)],
    ) -> Result<Option<Snapshot>> {
        if let Some(snapshot) = self.current(business_id, versions) {
            return Ok(Some(snapshot));
        }
        let lock = {
            let mut loading = self.loading.lock().unwrap_or_else(PoisonError::into_inner);
            loading.entry(business_id).or_default().clone()
        };
        let _loading = lock.lock().await;
        // Another request may have loaded them while this one waited.
        if let Some(snapshot) = self.current(business_id, versions) {
            return Ok(Some(snapshot));
        }
        let (stale, mut attributions) = {
            let businesses = self.businesses();
            let held = businesses.held.get(&business_id);
            let stale: Vec<(i64, i64)> = versions
                .iter()
                .filter(|(day, version)| {
                    held.and_then(|b| b.days.get(day)).is_none_or(|d| d.version < *version)
                })
                .copied()
                .collect();
            (stale, held.map(|b| (*b.attributions).clone()).unwrap_or_default())
        };
        let mut loaded = Vec::with_capacity(stale.len());
        for run in runs(&stale) {
            let mut days = load(store, business_id, run, &mut attributions).await?;
            loaded.extend(run.iter().map(|(day, version)| {
                (*day, Arc::new(Day { version: *version, facts: days.remove(day).unwrap_or_default() }))
            }));
        }
        let mut businesses = self.businesses();
        let held = businesses.held.entry(business_id).or_default();
        held.attributions = Arc::new(attributions);
        for (day, facts) in loaded {
            held.days.insert(day, facts);
        }
        let fits = held.bytes() <= CAPACITY_BYTES;
        evict(&mut businesses, business_id);
        if !fits {
            businesses.held.remove(&business_id);
            return Ok(None);
        }
        drop(businesses);
        Ok(self.current(business_id, versions))
    }

    /// The period's days, when every one is held at its current version.
    fn current(&self, business_id: BusinessId, versions: &[(i64, i64)]) -> Option<Snapshot> {
        let mut businesses = self.businesses();
        businesses.uses += 1;
        let uses = businesses.uses;
        let held = businesses.held.get_mut(&business_id)?;
        let mut days = Vec::with_capacity(versions.len());
        for (day, version) in versions {
            let facts = held.days.get(day).filter(|d| d.version >= *version)?;
            days.push((*day, facts.clone()));
        }
        held.last_used = uses;
        Some(Snapshot { days, attributions: held.attributions.clone() })
    }
}

/// Drops the businesses used longest ago until the facts fit, keeping `keep`'s.
fn evict(businesses: &mut Businesses, keep: BusinessId) {
    let mut total: usize = businesses.held.values().map(BusinessFacts::bytes).sum();
    while total > CAPACITY_BYTES {
        let oldest = businesses
            .held
            .iter()
            .filter(|(id, _)| **id != keep)
            .min_by_key(|(_, b)| b.last_used)
            .map(|(id, b)| (*id, b.bytes()));
        let Some((id, bytes)) = oldest else { return };
        businesses.held.remove(&id);
        total -= bytes;
    }
}

/// Consecutive days, at most [`DAYS_PER_LOAD`] together.
fn runs(days: &[(i64, i64)]) -> Vec<&[(i64, i64)]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=days.len() {
        let ends =
            i == days.len() || days[i].0 != days[i - 1].0 + 1 || days[i].0 - days[start].0 >= DAYS_PER_LOAD;
        if ends {
            runs.push(&days[start..i]);
            start = i;
        }
    }
    runs
}

/// The UTC days `[first, end)` a period touches.
fn days_of(range: &DateRange) -> (Option<i64>, Option<i64>) {
    let first = range.from.map(|t| t.as_second().div_euclid(DAY));
    let end = range.to.map(|t| (t.as_second() - 1).div_euclid(DAY) + 1);
    (first, end)
}

/// The [`Digest`] of the days a period touches.
async fn period_digest(mut store: &Store, business_id: BusinessId, range: &DateRange) -> Result<Digest> {
    let mut sql = Sql::new(
        "SELECT count(*) AS days, CAST(COALESCE(SUM(version), 0) AS BIGINT) AS versions
         FROM call_day_versions WHERE business_id = $1",
    )
    .bind(business_id);
    sql.push_days(days_of(range));
    let digest = store.conn().fetch_all_with(sql, |row| Ok((row.int("days")?, row.int("versions")?))).await?;
    Ok(digest.first().copied().unwrap_or_default())
}

/// The version of every day with completed calls that a period touches, in order.
async fn period_versions(mut store: &Store, business_id: BusinessId, range: &DateRange) -> Result<Versions> {
    let mut sql =
        Sql::new("SELECT day, version FROM call_day_versions WHERE business_id = $1").bind(business_id);
    sql.push_days(days_of(range)).push(" ORDER BY day");
    Ok(store.conn().fetch_all_with(sql, |row| Ok((row.int("day")?, row.int("version")?))).await?)
}

/// The facts of consecutive days, from the calls.
async fn load(
    mut store: &Store,
    business_id: BusinessId,
    days: &[(i64, i64)],
    attributions: &mut Attributions,
) -> Result<HashMap<i64, Vec<Fact>>> {
    let (Some((first, _)), Some((last, _))) = (days.first(), days.last()) else { return Ok(HashMap::new()) };
    let sql = Sql::new(format!(
        "SELECT c.created_at, c.duration_seconds, c.status, c.qualified, c.first_time_caller, c.ai_score,
                c.number_id, c.call_flow_id, c.source, c.utm_source, c.utm_medium, c.utm_campaign,
                c.landing_page_address, COALESCE(k.seq, 0) AS seq
         FROM calls c LEFT JOIN business_callers k
           ON k.business_id = c.business_id AND k.caller_number = c.caller_number
         WHERE c.business_id = $1 AND c.created_at >= $2 AND c.created_at < $3 AND c.status <> '{IN_PROGRESS}'
         ORDER BY c.created_at"
    ))
    .bind(business_id)
    .bind(first * DAY)
    .bind((last + 1) * DAY);
    let rows = store.conn().fetch_all_with(sql, read_row).await?;
    let mut shared: HashMap<String, Arc<str>> = HashMap::new();
    let mut share =
        |text: Option<String>| text.map(|t| shared.entry(t.clone()).or_insert_with(|| Arc::from(t)).clone());
    let mut by_day: HashMap<i64, Vec<Fact>> = HashMap::new();
    for mut row in rows {
        let attribution = attributions.intern(Attribution {
            number_id: share(row.texts[0].take()),
            call_flow_id: share(row.texts[1].take()),
            source: share(row.texts[2].take()),
            utm_source: share(row.texts[3].take()),
            utm_medium: share(row.texts[4].take()),
            utm_campaign: share(row.texts[5].take()),
            landing_page: share(row.texts[6].take()),
        })?;
        let clamp = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        by_day.entry(row.created_at.div_euclid(DAY)).or_default().push(Fact {
            second: clamp(row.created_at.rem_euclid(DAY)),
            duration: clamp(row.duration),
            caller: clamp(row.caller),
            attribution,
            ai_score: row.ai_score.map_or(UNSCORED, |s| s.clamp(0, i64::from(UNSCORED) - 1) as u8),
            status: row.status,
            qualified: row.qualified,
            first_time: row.first_time,
        });
    }
    Ok(by_day)
}

struct LoadedRow {
    created_at: i64,
    duration: i64,
    status: CallStatus,
    qualified: bool,
    first_time: bool,
    ai_score: Option<i64>,
    texts: [Option<String>; 7],
    caller: i64,
}

fn read_row(row: &dyn Record) -> sqlx::Result<LoadedRow> {
    Ok(LoadedRow {
        created_at: row.int("created_at")?,
        duration: row.opt_int("duration_seconds")?.unwrap_or(0),
        status: row.parsed("status")?,
        qualified: row.boolean("qualified")?,
        first_time: row.boolean("first_time_caller")?,
        ai_score: row.opt_int("ai_score")?,
        texts: [
            row.opt_text("number_id")?,
            row.opt_text("call_flow_id")?,
            row.opt_text("source")?,
            row.opt_text("utm_source")?,
            row.opt_text("utm_medium")?,
            row.opt_text("utm_campaign")?,
            row.opt_text("landing_page_address")?,
        ],
        caller: row.int("seq")?,
    })
}

/// The running sums of one group.
#[derive(Default)]
struct Sums {
    index: u64,
    aggregates: Aggregates,
    callers: Vec<u32>,
}

/// Groups smaller than this many possible keys are found by position, larger by hashing.
const DENSE_KEYS: u64 = 1 << 18;

/// One grouping field as a place in a group's index: a fact's value on it is a small
/// number below `size` (`origin` is the value numbered 0), times `stride`.
#[derive(Clone, Copy)]
struct Axis {
    dimension: Dimension,
    size: u64,
    stride: u64,
    origin: i64,
}

const STATUSES: [CallStatus; 4] =
    [CallStatus::Answered, CallStatus::Missed, CallStatus::Voicemail, CallStatus::InProgress];

fn is_text(dimension: Dimension) -> bool {
    matches!(
        dimension,
        Dimension::Source
            | Dimension::UtmSource
            | Dimension::UtmMedium
            | Dimension::UtmCampaign
            | Dimension::NumberId
            | Dimension::CallFlowId
            | Dimension::LandingPage
    )
}

/// Groups the snapshot's facts that match `filter` (the period, status, verdict, duration,
/// number, flow and utm_source) by `dimensions`, as `scan` would; `None` when the groups
/// could be too many to number.
fn group(
    snapshot: &Snapshot,
    filter: &CallFilter,
    dimensions: &[Dimension],
    tz: &TimeZone,
    unique_callers: bool,
    now: Timestamp,
) -> Option<Vec<Group>> {
    let from = filter.range.from.map_or(i64::MIN, Timestamp::as_second);
    let to = filter.range.to.map_or(i64::MAX, Timestamp::as_second);
    let first_at = snapshot.days.first().map_or(0, |(day, _)| day * DAY);
    let end_at = snapshot.days.last().map_or(0, |(day, _)| (day + 1) * DAY);
    let calendar = if dimensions.iter().any(|d| d.is_time()) {
        let start = filter
            .range
            .from
            .unwrap_or_else(|| Timestamp::from_second(first_at).unwrap_or(Timestamp::UNIX_EPOCH));
        let end = filter.range.to.unwrap_or_else(|| now + jiff::SignedDuration::from_hours(24));
        let end = end.max(Timestamp::from_second(end_at).unwrap_or(end));
        Calendar::new(tz, start, end)
    } else {
        Calendar::none()
    };
    // Each attribution's text values, numbered per request; `None` where the filter drops it.
    let mut texts: Vec<Option<String>> = Vec::new();
    let mut numbered: HashMap<Option<&str>, u64> = HashMap::new();
    let attribution_codes: Vec<Option<[u64; 3]>> = snapshot
        .attributions
        .list
        .iter()
        .map(|a| {
            a.passes(filter).then(|| {
                let mut codes = [0; 3];
                for (code, dimension) in codes.iter_mut().zip(dimensions).filter(|(_, d)| is_text(**d)) {
                    let text = a.text(*dimension);
                    *code = *numbered.entry(text).or_insert_with(|| {
                        texts.push(text.map(str::to_owned));
                        texts.len() as u64 - 1
                    });
                }
                codes
            })
        })
        .collect();
    let offsets = &calendar.offsets;
    let (least, most) = offsets.iter().fold((0, 0), |(l, m), (_, o)| (l.min(*o), m.max(*o)));
    let (first_day, last_day) =
        (local_day(first_at.max(from) + least) - 1, local_day(end_at.min(to) + most) + 1);
    let mut stride = 1u64;
    let mut axes = Vec::with_capacity(dimensions.len());
    for dimension in dimensions {
        let (size, origin) = match dimension {
            d if is_text(*d) => (texts.len().max(1) as u64, 0),
            Dimension::Status => (STATUSES.len() as u64, 0),
            Dimension::FirstTime => (2, 0),
            Dimension::Date => ((last_day - first_day + 1).max(1) as u64, first_day),
            Dimension::Week => {
                let first = week_of(first_day);
                (((week_of(last_day) - first) / 7 + 1).max(1) as u64, first)
            }
            Dimension::Month => (calendar.months.len().max(1) as u64, 0),
            Dimension::HourOfDay => (24, 0),
            _ => (7, 0),
        };
        axes.push(Axis { dimension: *dimension, size, stride, origin });
        stride = stride.checked_mul(size)?;
    }
    // A filtered-in attribution's part of the index.
    let attribution_index: Vec<Option<u64>> = attribution_codes
        .iter()
        .map(|codes| {
            codes.map(|codes| {
                axes.iter().zip(codes).filter(|(a, _)| is_text(a.dimension)).map(|(a, c)| c * a.stride).sum()
            })
        })
        .collect();
    let timed: Vec<Axis> = axes.iter().filter(|a| !is_text(a.dimension)).copied().collect();
    let months: Vec<i64> = calendar.months.iter().skip(1).map(|(start, _)| *start).collect();
    // Most reads need no attribution: no text field, no filter on one.
    let by_attribution = axes.iter().any(|a| is_text(a.dimension)) || Attribution::filtered(filter);
    let local_time = axes.iter().any(|a| a.dimension.is_time());

    let mut sums: Vec<Sums> = Vec::new();
    let mut dense = if stride <= DENSE_KEYS { vec![u32::MAX; stride as usize] } else { Vec::new() };
    let mut sparse: FxHashMap<u64, u32> = FxHashMap::default();
    let (mut offset_at, mut month) = (0, 0);
    for (day, facts) in &snapshot.days {
        let base = day * DAY;
        for fact in &facts.facts {
            let at = base + i64::from(fact.second);
            if at < from || at >= to {
                continue;
            }
            let mut index = 0;
            if by_attribution {
                let Some(Some(part)) = attribution_index.get(fact.attribution as usize).copied() else {
                    continue;
                };
                index = part;
            }
            if filter.status.is_some_and(|s| s != fact.status)
                || filter.qualified.is_some_and(|q| q != fact.qualified)
                || filter.first_time.is_some_and(|f| f != fact.first_time)
                || filter.min_duration.is_some_and(|min| i64::from(fact.duration) < min)
                || filter.max_duration.is_some_and(|max| i64::from(fact.duration) > max)
            {
                continue;
            }
            if !timed.is_empty() {
                // Facts come in time order: the offset and month in force only move forward.
                let mut local = at;
                if local_time {
                    while offsets.get(offset_at + 1).is_some_and(|(start, _)| *start <= at) {
                        offset_at += 1;
                    }
                    while months.get(month).is_some_and(|start| *start <= at) {
                        month += 1;
                    }
                    local += offsets.get(offset_at).map_or(0, |(_, offset)| *offset);
                }
                let day = local_day(local);
                for axis in &timed {
                    let code = match axis.dimension {
                        Dimension::Status => {
                            STATUSES.iter().position(|s| *s == fact.status).unwrap_or(0) as i64
                        }
                        Dimension::FirstTime => i64::from(fact.first_time),
                        Dimension::Date => day - axis.origin,
                        Dimension::Week => (week_of(day) - axis.origin) / 7,
                        Dimension::Month => month as i64,
                        Dimension::HourOfDay => (local % DAY) / 3600,
                        _ => weekday_of(day),
                    };
                    index += code.clamp(0, axis.size as i64 - 1) as u64 * axis.stride;
                }
            }
            let slot = if dense.is_empty() {
                sparse.entry(index).or_insert(u32::MAX)
            } else {
                &mut dense[index as usize]
            };
            if *slot == u32::MAX {
                *slot = sums.len() as u32;
                sums.push(Sums { index, ..Sums::default() });
            }
            let group = &mut sums[*slot as usize];
            let a = &mut group.aggregates;
            a.count += 1;
            a.answered += i64::from(fact.status == CallStatus::Answered);
            a.missed += i64::from(fact.status == CallStatus::Missed);
            a.voicemail += i64::from(fact.status == CallStatus::Voicemail);
            a.qualified += i64::from(fact.qualified);
            a.total_seconds += i64::from(fact.duration);
            if fact.ai_score != UNSCORED {
                a.ai_score_sum += i64::from(fact.ai_score);
                a.ai_scored += 1;
            }
            if unique_callers {
                group.callers.push(fact.caller);
            }
        }
    }
    if dimensions.is_empty() && sums.is_empty() {
        sums.push(Sums::default());
    }
    let mut rows: Vec<(Vec<RawKey>, Aggregates)> = sums
        .into_iter()
        .map(|mut group| {
            if unique_callers {
                group.callers.sort_unstable();
                group.callers.dedup();
                group.aggregates.unique_callers = Some(group.callers.len() as i64);
            }
            let raw = axes
                .iter()
                .map(|axis| {
                    let code = (group.index / axis.stride) % axis.size;
                    match axis.dimension {
                        d if is_text(d) => RawKey::Text(texts.get(code as usize).cloned().flatten()),
                        Dimension::Status => {
                            RawKey::Text(STATUSES.get(code as usize).map(|s| s.as_str().to_owned()))
                        }
                        Dimension::Week => RawKey::Number(Some(axis.origin + code as i64 * 7)),
                        _ => RawKey::Number(Some(axis.origin + code as i64)),
                    }
                })
                .collect();
            (raw, group.aggregates)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Some(
        rows.into_iter()
            .map(|(raw, aggregates)| Group {
                keys: raw.into_iter().zip(dimensions).map(|(raw, d)| label(*d, raw, &calendar)).collect(),
                aggregates,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_is_twenty_bytes() {
        assert_eq!(std::mem::size_of::<Fact>(), 20);
    }

    #[test]
    fn days_load_in_runs_of_consecutive_days() {
        let days = [(1, 1), (2, 1), (3, 4), (7, 1), (8, 2)];
        let found: Vec<Vec<i64>> = runs(&days).iter().map(|r| r.iter().map(|d| d.0).collect()).collect();
        assert_eq!(found, [vec![1, 2, 3], vec![7, 8]]);
        let long: Vec<(i64, i64)> = (0..70).map(|d| (d, 1)).collect();
        assert_eq!(runs(&long).iter().map(|r| r.len()).collect::<Vec<_>>(), [7; 10]);
    }
}
