//! What a business spent on its marketing, entered by a person (the app) or a client (the
//! API): one rule for both doors.

use ringtrack_domain::BusinessId;
use ringtrack_domain::ad_spend::{AdSpend, Month, Spent, spent_over};
use ringtrack_store::{Store, StoreError};

/// The most rows one read answers: 200 sources and campaigns a month for 10 years.
pub const MAX_ROWS: u32 = 24_000;

/// Sets one month's spend on a source (and campaign), replacing what was there.
pub async fn set(store: &Store, business: BusinessId, spend: &AdSpend) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    ringtrack_store::ad_spend::set(&mut tx, business, spend).await?;
    tx.commit().await
}

/// Removes one month's spend on a source (and campaign); `false` when there was none.
pub async fn remove(
    store: &Store,
    business: BusinessId,
    month: Month,
    source: &str,
    campaign: Option<&str>,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let removed = ringtrack_store::ad_spend::remove(&mut tx, business, month, source, campaign).await?;
    tx.commit().await?;
    Ok(removed)
}

/// The business's spend over the months from `from` to `to`.
pub async fn list(
    store: &Store,
    business: BusinessId,
    from: Month,
    to: Month,
) -> Result<Vec<AdSpend>, StoreError> {
    ringtrack_store::ad_spend::list(store, business, from, to, MAX_ROWS).await
}

/// What the business spent on each source (and campaign) over the days `first` to `last`
/// ([`ringtrack_domain::ad_spend::spent_over`]).
pub async fn spent(
    store: &Store,
    business: BusinessId,
    first: jiff::civil::Date,
    last: jiff::civil::Date,
) -> Result<Vec<Spent>, StoreError> {
    // Spend is kept for 2000 to 2100: a period reaching beyond reads the months it has.
    let (earliest, latest) = (Month::new(2000, 1).expect("a month"), Month::new(2100, 12).expect("a month"));
    let from = Month::of(first).map_or(earliest, |m| m.clamp(earliest, latest));
    let to = Month::of(last).map_or(latest, |m| m.clamp(earliest, latest));
    Ok(spent_over(&list(store, business, from, to).await?, first, last))
}
