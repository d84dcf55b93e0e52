//! Calls whose final status never arrived: the carrier's status callback reached no node
//! (all were down), or failed (the database was away), and carriers do not send it again.
//! Such a call would stay "in progress" for ever, uncharged and unscored. A call quiet (no
//! callback) for long enough is asked about at the carrier and, when it has ended, settled
//! exactly as its callback would have settled it. Every node may run it: settling is
//! conditional on the call still being in progress, under its row lock.

use std::time::Duration;

use jiff::Timestamp;
use ringtrack_carrier::{CallProgress, Carrier};
use ringtrack_domain::Prices;
use ringtrack_store::{Store, StoreError, calls};

/// How many quiet calls one pass asks about.
const BATCH: i64 = 100;

/// Asks the carrier about calls quiet for `quiet` at `now`; settles those it says ended.
/// Answers how many were settled.
pub async fn settle_quiet_calls(
    store: &Store,
    carrier: &dyn Carrier,
    prices: &Prices,
    now: Timestamp,
    quiet: Duration,
) -> Result<usize, StoreError> {
    let since = now.checked_sub(quiet).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut settled = 0;
    for call in calls::quiet_in_progress(store, since, BATCH).await? {
        let Some(call_sid) = call.call_sid.clone() else { continue };
        let duration_seconds = match carrier.call_progress(call_sid).await {
            Ok(CallProgress::Live) => continue,
            Ok(CallProgress::Ended { duration_seconds }) => duration_seconds,
            Err(error) => {
                tracing::warn!(call_id = %call.id, %error, "cannot ask the carrier about a quiet call; asking again later");
                continue;
            }
        };
        let mut tx = store.begin().await?;
        let Some(call) = calls::lock(&mut tx, call.id).await? else { continue };
        if ringtrack_api::webhooks::settle_call(&mut tx, prices, &call, duration_seconds).await? {
            settled += 1;
            tracing::warn!(call_id = %call.id, "a call's final status never came; settled as the carrier reports it");
        }
        tx.commit().await?;
    }
    Ok(settled)
}
