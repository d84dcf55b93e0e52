//! Reports a business keeps under a name, for everyone in it to open from the navigation.
//! What a report is (its grouping, metrics, period and order) is the report page's query
//! string, which the page checks before saving; here it is bounded text.

use ringtrack_domain::validation::{FieldErrors, parse_name};
use ringtrack_domain::{BusinessId, ReportId, UserId};
use ringtrack_store::saved_reports::{self, SavedReport};
use ringtrack_store::{Store, StoreError};

/// The most reports a business keeps.
pub const MAX_REPORTS: i64 = 50;
const MAX_NAME_CHARS: usize = 100;
const MAX_QUERY_CHARS: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Keeps a report under a name, naming what is wrong: an empty or long name, one the
/// business uses already, a query too long, or the business keeping [`MAX_REPORTS`].
pub async fn save(
    store: &Store,
    business: BusinessId,
    by: UserId,
    name: &str,
    query: &str,
) -> Result<ReportId, SaveError> {
    let mut errors = FieldErrors::new();
    let name = errors.take(parse_name("name", name, MAX_NAME_CHARS));
    if query.chars().count() > MAX_QUERY_CHARS || query.chars().any(char::is_control) {
        errors.push("query", format!("must be at most {MAX_QUERY_CHARS} characters"));
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else { return Err(SaveError::Invalid(errors)) };
    let mut tx = store.begin().await?;
    if saved_reports::count(&mut tx, business).await? >= MAX_REPORTS {
        errors.push("name", format!("the business keeps {MAX_REPORTS} reports already; remove one first"));
        return Err(SaveError::Invalid(errors));
    }
    let Some(id) = saved_reports::insert(&mut tx, business, &name, query, by).await? else {
        errors.push("name", "another report has this name");
        return Err(SaveError::Invalid(errors));
    };
    tx.commit().await?;
    Ok(id)
}

/// The business's reports, by name.
pub async fn list(store: &Store, business: BusinessId) -> Result<Vec<SavedReport>, StoreError> {
    saved_reports::list(store, business, MAX_REPORTS as u32).await
}

/// Removes one of the business's reports; `false` when it has no such report.
pub async fn remove(store: &Store, business: BusinessId, id: ReportId) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let removed = saved_reports::remove(&mut tx, business, id).await?;
    tx.commit().await?;
    Ok(removed)
}
