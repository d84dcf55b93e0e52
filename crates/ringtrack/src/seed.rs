//! `ringtrack seed`: a business with numbers, flows, groups and a realistic call history,
//! for demos and benchmarks. Calls are written in large multi-row transactions.

use std::time::Instant;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringtrack_carrier::sandbox::inventory;
use ringtrack_core::calls::import;
use ringtrack_domain::calls::CallStatus;
use ringtrack_domain::flow::{Settings, parse_steps};
use ringtrack_domain::nanp;
use ringtrack_domain::{Cents, NumberType};
use ringtrack_store::calls::PastCall;
use ringtrack_store::numbers::{self, NewNumber, Number};
use ringtrack_store::{call_flows, number_groups};
use serde_json::json;
use uuid::Uuid;

use crate::admin::create_business_with_admin_key;
use crate::cli::{SeedArgs, StorageArgs};

/// Calls written per transaction.
const CALLS_PER_TRANSACTION: usize = 25_000;
/// Calls written between refreshes of the planner's statistics.
const ANALYZE_EVERY: u64 = 100_000;

const AREA_CODES: [&str; 8] = ["573", "314", "816", "305", "212", "415", "512", "206"];
const SOURCES: [(&str, Option<&str>, u32); 6] = [
    ("google", Some("cpc"), 40),
    ("facebook", Some("paid_social"), 15),
    ("bing", Some("cpc"), 8),
    ("yelp", Some("referral"), 7),
    ("google", Some("organic"), 10),
    ("", None, 20),
];
const CAMPAIGNS: [&str; 5] = ["plumbing", "water-heaters", "drain-cleaning", "emergency", "brand"];

pub async fn run(storage: &StorageArgs, args: SeedArgs) -> anyhow::Result<()> {
    if args.numbers == 0 || args.days == 0 {
        anyhow::bail!("--numbers and --days must be at least 1");
    }
    let store = storage.open().await?;
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(args.seed);

    let mut tx = store.begin().await?;
    let name = format!("Seeded Business {}", &Uuid::now_v7().simple().to_string()[..8]);
    let (business, key) = create_business_with_admin_key(&mut tx, &name, "America/Chicago").await?;
    ringtrack_store::businesses::change_balance(&mut tx, business.id, Cents::new(1_000_000), "seed credit")
        .await?
        .map_err(|e| anyhow::anyhow!("crediting the seeded business: {e:?}"))?;
    let mut flows = Vec::new();
    for (name, agent) in
        [("Main Flow", "+13055554567"), ("After Hours", "+13055554568"), ("Sales Menu", "+13055554569")]
    {
        let steps = parse_steps(&json!([{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": agent}]))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        flows.push(call_flows::create(&mut tx, business.id, name, &steps, &Settings::default()).await?);
    }
    let mut groups = Vec::new();
    for name in ["Paid Search", "Social", "Offline"] {
        let group = number_groups::create(&mut tx, business.id, name, &[]).await?;
        groups.push(group.map_err(|e| anyhow::anyhow!("creating a group: {e:?}"))?);
    }
    let mut bought: Vec<Number> = Vec::new();
    // Sandbox inventory numbers this database has not sold yet.
    let mut candidates =
        AREA_CODES.iter().flat_map(|area| inventory(area, 2000)).filter(|n| !n.as_str().is_empty());
    while bought.len() < args.numbers as usize {
        let Some(phone) = candidates.next() else { anyhow::bail!("not enough unsold sandbox numbers left") };
        let (area, _, _) = phone.nanp().expect("NANP");
        let flow = &flows[bought.len() % flows.len()];
        let new = NewNumber {
            business_id: business.id,
            friendly_name: format!(
                "{} {}",
                ["Google Ads", "Facebook", "Billboard", "Website"][bought.len() % 4],
                bought.len() + 1
            ),
            phone_number: phone.clone(),
            number_type: NumberType::Local,
            locality: nanp::area_code(area).map(|a| a.city.to_owned()),
            region: nanp::area_code(area).map(|a| a.region.to_owned()),
            call_flow_id: Some(flow.id),
            group_id: Some(groups[bought.len() % groups.len()].id),
            source: (bought.len() % 4 == 2).then(|| "billboard".to_owned()),
            monthly_cost: Cents::new(300),
            carrier_sid: format!("PN{}", Uuid::new_v4().simple()),
        };
        if let Ok(number) = numbers::insert(&mut tx, new).await? {
            bought.push(number);
        }
    }
    tx.commit().await?;

    let now = store.now();
    let span = i64::from(args.days) * 86_400;
    let callers: Vec<String> = (0..(args.calls / 3).max(1))
        .map(|i| format!("+1{}{:07}", 201 + (i % 700), 2_000_000 + i % 7_000_000))
        .collect();
    let mut written = 0u64;
    while written < args.calls {
        let batch = (args.calls - written).min(CALLS_PER_TRANSACTION as u64) as usize;
        // Calls arrive in time order, as they would: indexes on time grow at their end.
        let calls: Vec<PastCall> = (0..batch as u64)
            .map(|i| {
                let elapsed = (written + i) as i64 * span / args.calls as i64;
                let at = now - SignedDuration::from_secs(span - elapsed);
                fake_call(&mut rng, business.id, &bought, &flows, &callers, at)
            })
            .collect();
        let mut tx = store.begin().await?;
        import(&mut tx, &calls).await.context("writing seeded calls")?;
        tx.commit().await?;
        written += batch as u64;
        if written % ANALYZE_EVERY < batch as u64 {
            store.analyze().await?;
        }
    }
    store.close().await;
    eprintln!(
        "seeded {} calls, {} numbers in {:.1} s",
        args.calls,
        bought.len(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", json!({ "business_id": business.id, "api_key": key.expose() }));
    Ok(())
}

fn pick<'a, T>(rng: &mut StdRng, weighted: &'a [(T, u32)]) -> &'a T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (item, weight) in weighted {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &weighted[0].0
}

fn fake_call(
    rng: &mut StdRng,
    business_id: ringtrack_domain::BusinessId,
    numbers: &[Number],
    flows: &[call_flows::CallFlow],
    callers: &[String],
    created_at: Timestamp,
) -> PastCall {
    let number = &numbers[rng.random_range(0..numbers.len())];
    let flow = flows.iter().find(|f| Some(f.id) == number.call_flow_id);
    let status =
        *pick(rng, &[(CallStatus::Answered, 70), (CallStatus::Missed, 20), (CallStatus::Voicemail, 10)]);
    let duration: i64 = match status {
        CallStatus::Answered => 15 + (rng.random::<f64>().powi(2) * 900.0) as i64,
        CallStatus::Voicemail => rng.random_range(8..90),
        CallStatus::Missed | CallStatus::InProgress => 0,
    };
    let (source, medium, _) = SOURCES[rng.random_range(0..SOURCES.len())];
    let source = (!source.is_empty()).then(|| source.to_owned());
    let paid = medium == Some("cpc");
    let ai_score = (status != CallStatus::Missed).then(|| rng.random_range(0..=100));
    let qualified = status == CallStatus::Answered && duration >= 60 && rng.random_bool(0.8)
        || ai_score.is_some_and(|s| s >= 85);
    let caller = &callers[rng.random_range(0..callers.len())];
    PastCall {
        id: ringtrack_domain::CallId::new(),
        business_id,
        number_id: Some(number.id),
        caller_number: caller.clone(),
        tracking_number: number.phone_number.to_string(),
        destination_number: (status == CallStatus::Answered).then(|| "+13055554567".to_owned()),
        call_flow_id: flow.map(|f| f.id),
        call_flow_name: flow.map(|f| f.name.clone()),
        status,
        duration_seconds: duration,
        qualified,
        ai_score,
        first_time_caller: rng.random_bool(0.6),
        source: number.source.clone(),
        utm_medium: source.as_ref().and(medium.map(str::to_owned)),
        utm_campaign: source.as_ref().map(|_| CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())].to_owned()),
        gclid: (paid && source.as_deref() == Some("google"))
            .then(|| format!("Cj0K{}", Uuid::new_v4().simple())),
        landing_page: source.as_ref().map(|_| "https://yoursite.com/plumbing".to_owned()),
        utm_source: source,
        caller_state: Some(["MO", "FL", "NY", "CA", "TX"][rng.random_range(0..5)].to_owned()),
        cost: Cents::new((duration + 59) / 60 * 5),
        created_at,
    }
}
