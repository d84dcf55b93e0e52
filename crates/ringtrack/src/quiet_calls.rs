//! Calls whose final status never arrived: the carrier's status callback reached no node
//! (all were down), or failed (the database was away), and carriers do not send it again.
//! Such a call would stay "in progress" for ever, uncharged and unscored. A call quiet (no
//! callback) for long enough is asked about at the carrier and, when it has ended, settled
//! exactly as its callback would have settled it. Every node may run it: settling is
//! conditional on the call still being in progress, under its row lock.

use std::time::Duration;

use jiff::Timestamp;
use ringtrack_carrier::{CallProgress, Carrier};
use ringtrack_domain::CallId;
use ringtrack_domain::Prices;
use ringtrack_store::calls::{self, Call};
use ringtrack_store::{Store, StoreError};
use uuid::Uuid;

/// How many quiet calls are read at a time.
const PAGE: i64 = 100;

/// Asks the carrier about every call quiet for `quiet` at `now`, page by page (so calls
/// still live, long conversations, never hide the lost ones behind them); settles those
/// it says ended. Answers how many were settled.
pub async fn settle_quiet_calls(
    store: &Store,
    carrier: &dyn Carrier,
    prices: &Prices,
    now: Timestamp,
    quiet: Duration,
) -> Result<usize, StoreError> {
    let since = now.checked_sub(quiet).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut after = (Timestamp::UNIX_EPOCH, CallId::from(Uuid::nil()));
    let mut settled = 0;
    loop {
        let page = calls::quiet_in_progress(store, since, after, PAGE).await?;
        for call in &page {
            if settle_if_ended(store, carrier, prices, call).await? {
                settled += 1;
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = (last.updated_at, last.id),
            _ => return Ok(settled),
        }
    }
}

/// Settles `call` if the carrier says it has ended; answers whether this pass settled it.
async fn settle_if_ended(
    store: &Store,
    carrier: &dyn Carrier,
    prices: &Prices,
    call: &Call,
) -> Result<bool, StoreError> {
    let Some(call_sid) = call.call_sid.clone() else { return Ok(false) };
    let duration_seconds = match carrier.call_progress(call_sid).await {
        Ok(CallProgress::Live) => return Ok(false),
        Ok(CallProgress::Ended { duration_seconds }) => duration_seconds,
        Err(error) => {
            tracing::warn!(call_id = %call.id, %error, "cannot ask the carrier about a quiet call; asking again later");
            return Ok(false);
        }
    };
    let mut tx = store.begin().await?;
    let Some(call) = calls::lock(&mut tx, call.id).await? else { return Ok(false) };
    let settled = ringtrack_core::calls::settle(&mut tx, prices, &call, duration_seconds).await?;
    tx.commit().await?;
    if settled {
        tracing::warn!(call_id = %call.id, "a call's final status never came; settled as the carrier reports it");
    }
    Ok(settled)
}
