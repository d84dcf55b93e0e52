//! What a business spent on its marketing, entered by a person (the app) or a client (the
//! API): one rule for both doors.

use ringtrack_domain::BusinessId;
use ringtrack_domain::ad_spend::{AdSpend, Month};
use ringtrack_store::{Store, StoreError};

/// The most rows one read answers: 200 sources and campaigns a month for 10 years.
pub const MAX_ROWS: u32 = 24_000;

/// Sets one month's spend on a source (and campaign), replacing what was there.
pub async fn set(store: &Store, business: BusinessId, spend: &AdSpend) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    ringtrack_store::ad_spend::set(&mut tx, business, spend).await?;
    tx.commit().await
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
