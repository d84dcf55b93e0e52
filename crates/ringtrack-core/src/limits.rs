//! How many guesses anyone gets: every attempt at something guessable (a password, a
//! two-factor code, a single-use link, a reset, an invitation) takes a slot of each subject
//! it is counted against *before* anything is checked, in one transaction, so attempts made
//! at once wait on each other instead of all being checked. Past a subject's free attempts
//! in [`WINDOW`], each further one waits twice as long as the one before (2 s, 4 s, … up to
//! [`MAX_WAIT`]).
//!
//! Sign-in counts against the account from that address first (so an attacker elsewhere
//! does not lock the owner out), with a higher ceiling for the account from anywhere and
//! for the address across accounts.

use jiff::SignedDuration;
use ringtrack_domain::BusinessId;
use ringtrack_domain::people::Email;
use ringtrack_store::{Store, StoreError, attempts};

/// Attempts are counted over this window.
pub const WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// The longest wait between attempts.
pub const MAX_WAIT: SignedDuration = SignedDuration::from_mins(15);

/// What to do with a subject's count when the attempt turns out right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnSuccess {
    /// Forget the subject's attempts (it proved itself).
    Forget,
    /// Give back this attempt only (others' guesses from the same place still count).
    GiveBack,
    /// Keep counting (requests, not guesses: resets, invitations).
    Keep,
}

/// One thing attempts are counted against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    key: String,
    free: i64,
    on_success: OnSuccess,
}

impl Subject {
    fn new(kind: &str, value: impl std::fmt::Display, free: i64, on_success: OnSuccess) -> Subject {
        Subject { key: format!("{kind}:{value}"), free, on_success }
    }

    /// Sign-in and two-factor codes: this account from this address.
    pub fn account_at(email: &Email, address: &str) -> Subject {
        Subject::new("account-at", format_args!("{email}|{address}"), 4, OnSuccess::Forget)
    }

    /// Sign-in and codes: this account from anywhere (a ceiling above the one per address).
    pub fn account(email: &Email) -> Subject {
        Subject::new("account", email, 20, OnSuccess::Forget)
    }

    /// Sign-in and codes: this address, whatever account it tries.
    pub fn address(address: &str) -> Subject {
        Subject::new("address", address, 20, OnSuccess::GiveBack)
    }

    /// What a password guess for `email` from `address` counts against: the account from
    /// that address, the account from anywhere, and the address across accounts.
    pub fn password_guess(email: &Email, address: &str) -> [Subject; 3] {
        [Subject::account_at(email, address), Subject::account(email), Subject::address(address)]
    }

    /// Codes given for one right password (the wait between password and code).
    pub fn code_wait(wait: &ringtrack_domain::SecretHash) -> Subject {
        Subject::new("code-wait", wait.as_str(), 5, OnSuccess::Forget)
    }

    /// Links that set a password (invitations, resets, the first start's): per address.
    pub fn links_from(address: &str) -> Subject {
        Subject::new("links", address, 10, OnSuccess::GiveBack)
    }

    /// Password-reset requests for one address.
    pub fn reset_of(email: &Email) -> Subject {
        Subject::new("reset", email, 3, OnSuccess::Keep)
    }

    /// Password-reset requests from one address.
    pub fn resets_from(address: &str) -> Subject {
        Subject::new("resets-from", address, 5, OnSuccess::Keep)
    }

    /// Invitations a business sends.
    pub fn invitations_of(business: BusinessId) -> Subject {
        Subject::new("invitations-of", business, 50, OnSuccess::Keep)
    }

    /// Invitations one admin sends.
    pub fn invitations_by(user: ringtrack_domain::UserId) -> Subject {
        Subject::new("invitations-by", user, 20, OnSuccess::Keep)
    }

    /// How long after attempt `n` of a run the next may come.
    fn wait_after(&self, n: i64) -> SignedDuration {
        let over = n - self.free;
        if over < 0 {
            return SignedDuration::ZERO;
        }
        SignedDuration::from_secs(1i64 << (over + 1).min(20)).min(MAX_WAIT)
    }
}

/// The attempt may not be made yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSoon {
    pub retry_after: SignedDuration,
}

/// Takes a slot of every subject, or of none when one of them must wait (answering the
/// longest wait).
pub async fn take(store: &Store, subjects: &[Subject]) -> Result<Result<(), TooSoon>, StoreError> {
    // Most attempts of a flood must wait: a read tells them so without a write.
    let keys: Vec<&str> = subjects.iter().map(|s| s.key.as_str()).collect();
    let now = store.now();
    if let Some(ready_at) = attempts::ready_at(store, &keys).await?
        && ready_at > now
    {
        return Ok(Err(TooSoon {
            retry_after: ready_at.duration_since(now).max(SignedDuration::from_secs(1)),
        }));
    }
    let mut tx = store.begin().await?;
    let now = tx.now();
    let mut longest: Option<SignedDuration> = None;
    for subject in subjects {
        match attempts::take(&mut tx, &subject.key, now - WINDOW).await? {
            Ok(n) => {
                let wait = subject.wait_after(n);
                if !wait.is_zero() {
                    attempts::wait_after(&mut tx, &subject.key, wait).await?;
                }
            }
            Err(ready_at) => {
                let wait = ready_at.duration_since(now).max(SignedDuration::from_secs(1));
                longest = Some(longest.map_or(wait, |l| l.max(wait)));
            }
        }
    }
    if let Some(retry_after) = longest {
        // Dropped, the transaction takes back the slots it took.
        return Ok(Err(TooSoon { retry_after }));
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// The attempt was right: each subject forgets or gives back as it should.
pub async fn succeeded(store: &Store, subjects: &[Subject]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for subject in subjects {
        match subject.on_success {
            OnSuccess::Forget => attempts::forget(&mut tx, &subject.key).await?,
            OnSuccess::GiveBack => attempts::give_back(&mut tx, &subject.key).await?,
            OnSuccess::Keep => {}
        }
    }
    tx.commit().await
}

/// The attempt could not be made (the node was busy): every slot it took is given back.
pub async fn not_made(store: &Store, subjects: &[Subject]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for subject in subjects {
        attempts::give_back(&mut tx, &subject.key).await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_attempts_come_at_once_then_each_waits_twice_as_long() {
        let subject = Subject::address("203.0.113.9");
        let waits: Vec<i64> = (1..=24).map(|n| subject.wait_after(n).as_secs()).collect();
        assert_eq!(&waits[..19], &[0; 19]);
        assert_eq!(&waits[19..], &[2, 4, 8, 16, 32]);
        let pair = Subject::account_at(&Email::parse("e", "a@b.test").unwrap(), "203.0.113.9");
        assert_eq!(pair.wait_after(3).as_secs(), 0);
        assert_eq!(pair.wait_after(4).as_secs(), 2);
        assert_eq!(pair.wait_after(40), MAX_WAIT);
    }
}
