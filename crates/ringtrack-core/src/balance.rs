//! Money moving on a business's balance: what it pays for a call, a text or a number, and
//! what it gets back for a text never sent. A charge may take the balance below zero (a
//! call is never refused for a low balance); the doors check beforehand where the rule
//! is to refuse.

use ringtrack_domain::{BusinessId, Cents};
use ringtrack_store::{StoreError, Tx, businesses};

/// Takes `cost` from the balance, with `reason` in its history; nothing when it is free.
pub async fn charge(tx: &mut Tx, business: BusinessId, cost: Cents, reason: &str) -> Result<(), StoreError> {
    change(tx, business, Cents::new(-cost.get()), reason).await
}

/// Gives `amount` back to the balance, with `reason` in its history.
pub async fn refund(
    tx: &mut Tx,
    business: BusinessId,
    amount: Cents,
    reason: &str,
) -> Result<(), StoreError> {
    change(tx, business, amount, reason).await
}

async fn change(tx: &mut Tx, business: BusinessId, amount: Cents, reason: &str) -> Result<(), StoreError> {
    if amount == Cents::ZERO {
        return Ok(());
    }
    businesses::change_balance(tx, business, amount, reason)
        .await?
        .map(drop)
        .map_err(|e| StoreError::Corrupt(format!("{reason}: {e:?}")))
}
