//! The monthly renewal of numbers: at each purchase anniversary a number's month is charged
//! to the balance, or the number is suspended (still answering calls) until the balance
//! allows. Every node may run it: renewals are conditional and the business row is locked,
//! so a month is never charged twice.

use jiff::Timestamp;
use ringtrack_core::numbers::{Renewal, renew};
use ringtrack_store::{Store, StoreError, numbers};

/// How many due numbers one pass looks at.
const BATCH: i64 = 500;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenewalPass {
    pub paid: usize,
    pub suspended: usize,
}

/// Renews every number due at `now` (one batch), each in its own transaction.
pub async fn renew_due_numbers(store: &Store, now: Timestamp) -> Result<RenewalPass, StoreError> {
    let mut pass = RenewalPass::default();
    for (business, number) in numbers::due_for_renewal(store, now, BATCH).await? {
        let mut tx = store.begin().await?;
        let outcome = renew(&mut tx, business, number, now).await?;
        tx.commit().await?;
        match outcome {
            Renewal::Paid { cost } => {
                pass.paid += 1;
                tracing::info!(%number, %cost, "number renewed");
            }
            Renewal::Suspended => {
                pass.suspended += 1;
                tracing::warn!(%number, "number suspended: the balance cannot pay its renewal");
            }
            Renewal::NotDue => {}
        }
    }
    Ok(pass)
}
