//! Analytics from the facts in memory agree with grouping the calls in SQL: random calls,
//! random filters, random groupings and random zones (half- and quarter-hour offsets, and
//! a zone whose daylight saving moves by half an hour), on both databases; and after
//! another node changes calls, the first node's answers follow at once.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringtrack_domain::calls::{CallFilter, CallStatus, Dimension};
use ringtrack_domain::dates::DateRange;
use ringtrack_domain::flow::{Settings, parse_steps};
use ringtrack_domain::{BusinessId, Cents, NumberType, PhoneNumber};
use ringtrack_store::analytics::{self, Group, Question};
use ringtrack_store::calls::{self, PastCall, Scored};
use ringtrack_store::testing::{TestDatabase, past_call};
use ringtrack_store::{Store, businesses, call_flows, numbers, rollups, test_on_both_backends};

const ZONES: [&str; 7] = [
    "UTC",
    "America/Chicago",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
];

const DIMENSIONS: [Dimension; 14] = [
    Dimension::Source,
    Dimension::LandingPage,
    Dimension::UtmSource,
    Dimension::UtmMedium,
    Dimension::UtmCampaign,
    Dimension::NumberId,
    Dimension::CallFlowId,
    Dimension::Status,
    Dimension::FirstTime,
    Dimension::Date,
    Dimension::Week,
    Dimension::Month,
    Dimension::HourOfDay,
    Dimension::DayOfWeek,
];

/// Spans the US and Lord Howe changes of daylight saving and three month ends.
const START: i64 = 1_771_977_600; // 2026-02-25T00:00:00Z
const SPAN_DAYS: i64 = 70;

struct World {
    business: BusinessId,
    numbers: Vec<(ringtrack_domain::NumberId, Option<String>)>,
    flows: Vec<ringtrack_domain::CallFlowId>,
    calls: Vec<ringtrack_domain::CallId>,
}

async fn world(store: &Store, rng: &mut StdRng) -> World {
    let mut tx = store.begin().await.unwrap();
    let business = businesses::create(&mut tx, "Acme Plumbing", "UTC").await.unwrap().id;
    let steps = parse_steps(&serde_json::json!([{"type": "forward", "number": "+13055554567"}])).unwrap();
    let mut flows = Vec::new();
    for name in ["Main", "After hours"] {
        flows.push(
            call_flows::create(&mut tx, business, name, &steps, &Settings::default()).await.unwrap().id,
        );
    }
    let mut numbers = Vec::new();
    for i in 0..4 {
        let source = (i == 3).then(|| "billboard".to_owned());
        let new = numbers::NewNumber {
            business_id: business,
            phone_number: PhoneNumber::parse(&format!("+1573555{:04}", 100 + i)).unwrap(),
            friendly_name: format!("Number {i}"),
            number_type: NumberType::Local,
            locality: None,
            region: None,
            call_flow_id: Some(flows[i % 2]),
            group_id: None,
            source: source.clone(),
            monthly_cost: Cents::new(300),
            carrier_sid: format!("PN{i}"),
        };
        numbers.push((numbers::insert(&mut tx, new).await.unwrap().unwrap().id, source));
    }
    tx.commit().await.unwrap();
    let mut world = World { business, numbers, flows, calls: Vec::new() };
    add_calls(store, &mut world, rng, 600).await;
    world
}

async fn add_calls(store: &Store, world: &mut World, rng: &mut StdRng, count: usize) {
    let past: Vec<PastCall> = (0..count).map(|_| random_call(world, rng)).collect();
    world.calls.extend(past.iter().map(|c| c.id));
    let mut tx = store.begin().await.unwrap();
    calls::insert_past(&mut tx, &past).await.unwrap();
    calls::roll_up(&mut tx, &past, 1).await.unwrap();
    tx.commit().await.unwrap();
}

fn random_call(world: &World, rng: &mut StdRng) -> PastCall {
    let at = Timestamp::from_second(START + rng.random_range(0..SPAN_DAYS * 86_400)).unwrap();
    let status = ["answered", "missed", "voicemail"][rng.random_range(0..3)];
    let seconds = if status == "missed" { 0 } else { rng.random_range(1..900) };
    let (number, source) = &world.numbers[rng.random_range(0..world.numbers.len())];
    let pick = |rng: &mut StdRng, values: &[&str]| {
        let i = rng.random_range(0..=values.len());
        values.get(i).map(|v| (*v).to_owned())
    };
    PastCall {
        number_id: (rng.random_range(0..10) > 0).then_some(*number),
        call_flow_id: (rng.random_range(0..10) > 0)
            .then(|| world.flows[rng.random_range(0..world.flows.len())]),
        caller_number: format!("+1305555{:04}", rng.random_range(0..150)),
        qualified: rng.random_bool(0.4),
        ai_score: rng.random_bool(0.7).then(|| rng.random_range(0..=100)),
        first_time_caller: rng.random_bool(0.5),
        source: source.clone(),
        utm_source: pick(rng, &["google", "facebook", "bing"]),
        utm_medium: pick(rng, &["cpc", "organic"]),
        utm_campaign: pick(rng, &["plumbing", "brand", "emergency", "drains"]),
        landing_page: pick(
            rng,
            &["https://acme.test/", "https://acme.test/?gclid=x1", "https://acme.test/drains#top"],
        ),
        ..past_call(world.business, at, status, seconds)
    }
}

fn random_filter(world: &World, rng: &mut StdRng) -> CallFilter {
    let instant = |rng: &mut StdRng| {
        // Midnights, hours and arbitrary seconds, in and around the calls' span.
        let second = START - 86_400 * 3 + rng.random_range(0..(SPAN_DAYS + 6) * 86_400);
        let second = match rng.random_range(0..3) {
            0 => second - second.rem_euclid(86_400),
            1 => second - second.rem_euclid(3_600),
            _ => second,
        };
        Timestamp::from_second(second).unwrap()
    };
    let mut range = DateRange {
        from: rng.random_bool(0.7).then(|| instant(rng)),
        to: rng.random_bool(0.7).then(|| instant(rng)),
    };
    if let (Some(from), Some(to)) = (range.from, range.to)
        && from > to
    {
        range = DateRange { from: Some(to), to: Some(from) };
    }
    let some = |rng: &mut StdRng, p: f64| rng.random_bool(p);
    CallFilter {
        range,
        status: some(rng, 0.2).then(|| {
            [CallStatus::Answered, CallStatus::Missed, CallStatus::Voicemail][rng.random_range(0..3)]
        }),
        number_id: some(rng, 0.15).then(|| world.numbers[rng.random_range(0..world.numbers.len())].0),
        call_flow_id: some(rng, 0.15).then(|| world.flows[rng.random_range(0..world.flows.len())]),
        qualified: some(rng, 0.2).then(|| rng.random_bool(0.5)),
        min_duration: some(rng, 0.1).then(|| rng.random_range(0..300)),
        max_duration: some(rng, 0.1).then(|| rng.random_range(0..900)),
        utm_source: some(rng, 0.15).then(|| ["google", "bing", "yahoo"][rng.random_range(0..3)].to_owned()),
        utm_campaign: some(rng, 0.15)
            .then(|| ["plumbing", "brand", "nothing"][rng.random_range(0..3)].to_owned()),
        source: some(rng, 0.15).then(|| ["google", "direct", "billboard"][rng.random_range(0..3)].to_owned()),
        utm_medium: some(rng, 0.1).then(|| ["cpc", "email"][rng.random_range(0..2)].to_owned()),
        first_time: some(rng, 0.15).then(|| rng.random_bool(0.5)),
        landing_page: some(rng, 0.1)
            .then(|| ["https://acme.test/", "https://acme.test/drains"][rng.random_range(0..2)].to_owned()),
        ..CallFilter::default()
    }
}

fn random_dimensions(rng: &mut StdRng) -> Vec<Dimension> {
    let mut chosen = Vec::new();
    for _ in 0..rng.random_range(0..=3) {
        let d = DIMENSIONS[rng.random_range(0..DIMENSIONS.len())];
        if !chosen.contains(&d) {
            chosen.push(d);
        }
    }
    chosen
}

/// Groups in one order, whatever order the database sorts text in.
fn sorted(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by_key(|g| format!("{:?}", g.keys));
    groups
}

async fn agree(node: &Store, world: &World, rng: &mut StdRng, queries: usize) {
    for _ in 0..queries {
        let filter = random_filter(world, rng);
        let dimensions = random_dimensions(rng);
        let zone = ZONES[rng.random_range(0..ZONES.len())];
        let tz = TimeZone::get(zone).unwrap();
        let unique = rng.random_bool(0.3);
        let question = Question {
            business_id: world.business,
            filter: &filter,
            dimensions: &dimensions,
            tz: &tz,
            unique_callers: unique,
        };
        let answer = analytics::aggregate(node, &question).await.unwrap();
        let scanned = analytics::scan(node, &question).await.unwrap();
        let scanned: Vec<Group> = scanned.into_iter().map(Group::from).collect();
        assert_eq!(
            sorted(answer.to_vec()),
            sorted(scanned),
            "{dimensions:?} in {zone}, unique callers {unique}, filter {filter:?}"
        );
    }
}

/// The dashboard's totals (kept by the node) agree with grouping the calls.
async fn totals_agree(node: &Store, world: &World, range: &DateRange) {
    let totals = rollups::totals(node, world.business, range).await.unwrap();
    let filter = CallFilter { range: *range, ..CallFilter::default() };
    let question = Question {
        business_id: world.business,
        filter: &filter,
        dimensions: &[],
        tz: &TimeZone::UTC,
        unique_callers: true,
    };
    let scanned = analytics::scan(node, &question).await.unwrap();
    let scanned = scanned.into_iter().map(Group::from).next().unwrap().aggregates;
    assert_eq!(totals, scanned, "totals over {range:?}");
}

test_on_both_backends! {
    async fn analytics_from_memory_agrees_with_grouping_the_calls(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let first = Store::connect(&db.url).await.unwrap();
        first.migrate().await.unwrap();
        let second = Store::connect(&db.url).await.unwrap();
        let mut rng = StdRng::seed_from_u64(19);
        let mut world = world(&first, &mut rng).await;
        agree(&first, &world, &mut rng, 150).await;
        // Questions the first node has answered before, and keeps the answers of.
        let repeated: Vec<(CallFilter, Vec<Dimension>)> = vec![
            (CallFilter::default(), vec![Dimension::Status]),
            (CallFilter::default(), vec![Dimension::Source, Dimension::Date]),
            (CallFilter { qualified: Some(true), ..CallFilter::default() }, vec![]),
        ];
        let chicago = TimeZone::get("America/Chicago").unwrap();
        let business = world.business;
        let ask = |filter, dimensions| Question {
            business_id: business,
            filter,
            dimensions,
            tz: &chicago,
            unique_callers: false,
        };
        for (filter, dimensions) in &repeated {
            analytics::aggregate(&first, &ask(filter, dimensions)).await.unwrap();
        }
        let periods = [
            DateRange::default(),
            DateRange {
                from: Some(Timestamp::from_second(START + 10 * 86_400).unwrap()),
                to: Some(Timestamp::from_second(START + 40 * 86_400).unwrap()),
            },
        ];
        for period in &periods {
            totals_agree(&first, &world, period).await;
        }

        // The other node changes verdicts and scores and adds calls; the first node's
        // answers, from memory it loaded before, follow at once.
        for i in 0..40 {
            let id = world.calls[rng.random_range(0..world.calls.len())];
            let mut tx = second.begin().await.unwrap();
            let before = calls::lock(&mut tx, id).await.unwrap().unwrap();
            let scored = Scored {
                ai_score: rng.random_range(0..=100),
                ai_category: "lead".into(),
                ai_reasons: Vec::new(),
                qualified_auto: i % 2 == 0,
            };
            let after = calls::set_score(&mut tx, id, &scored).await.unwrap();
            calls::roll_up(&mut tx, [&before], -1).await.unwrap();
            calls::roll_up(&mut tx, [&after], 1).await.unwrap();
            tx.commit().await.unwrap();
        }
        add_calls(&second, &mut world, &mut rng, 100).await;
        for (filter, dimensions) in &repeated {
            let answer = analytics::aggregate(&first, &ask(filter, dimensions)).await.unwrap();
            let scanned = analytics::scan(&first, &ask(filter, dimensions)).await.unwrap();
            assert_eq!(sorted(answer.to_vec()), sorted(scanned.into_iter().map(Group::from).collect()), "{dimensions:?} asked again");
        }
        for period in &periods {
            totals_agree(&first, &world, period).await;
        }
        agree(&first, &world, &mut rng, 150).await;
        first.close().await;
        second.close().await;
    }

    async fn questions_asked_at_once_beyond_the_bound_all_get_their_answer(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let node = Store::connect(&db.url).await.unwrap();
        node.migrate().await.unwrap();
        let mut rng = StdRng::seed_from_u64(31);
        let world = world(&node, &mut rng).await;
        // 48 questions at once, far more than a node groups at a time (one a core): each
        // waits its turn, none is refused, and each answer is what grouping in SQL gives.
        let asked: Vec<(CallFilter, Vec<Dimension>, TimeZone)> = (0..48)
            .map(|_| {
                let zone = TimeZone::get(ZONES[rng.random_range(0..ZONES.len())]).unwrap();
                (random_filter(&world, &mut rng), random_dimensions(&mut rng), zone)
            })
            .collect();
        fn question(business: BusinessId, asked: &(CallFilter, Vec<Dimension>, TimeZone)) -> Question<'_> {
            Question { business_id: business, filter: &asked.0, dimensions: &asked.1, tz: &asked.2, unique_callers: false }
        }
        let answers = futures_util::future::join_all(asked.iter().map(|a| {
            let node = node.clone();
            async move { analytics::aggregate(&node, &question(world.business, a)).await }
        }))
        .await;
        for (answer, asked) in answers.into_iter().zip(&asked) {
            let scanned = analytics::scan(&node, &question(world.business, asked)).await.unwrap();
            assert_eq!(sorted(answer.unwrap().to_vec()), sorted(scanned.into_iter().map(Group::from).collect()));
        }
        node.close().await;
    }
}
