//! Reports a business keeps under a name: the report page's query string, which reproduces
//! the report.

use ringtrack_domain::{BusinessId, ReportId, UserId};

use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedReport {
    pub id: ReportId,
    pub name: String,
    pub query: String,
}

impl FromRecord for SavedReport {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(SavedReport { id: row.parsed("id")?, name: row.text("name")?, query: row.text("query")? })
    }
}

/// The business's saved reports, by name; at most `limit`.
pub async fn list(mut db: impl Connection, business: BusinessId, limit: u32) -> Result<Vec<SavedReport>> {
    let select = Sql::new(format!(
        "SELECT id, name, query FROM saved_reports WHERE business_id = $1 ORDER BY name, id LIMIT {limit}"
    ))
    .bind(business);
    Ok(db.conn().fetch_all(select).await?)
}

/// How many reports the business keeps.
pub async fn count(tx: &mut Tx, business: BusinessId) -> Result<i64> {
    let count = Sql::new("SELECT count(*) AS value FROM saved_reports WHERE business_id = $1").bind(business);
    Ok(tx.conn().fetch_one(count).await?)
}

/// Keeps a report; `None` when the business has one of that name already.
pub async fn insert(
    tx: &mut Tx,
    business: BusinessId,
    name: &str,
    query: &str,
    by: UserId,
) -> Result<Option<ReportId>> {
    let id = ReportId::new();
    let insert = Sql::new(
        "INSERT INTO saved_reports (id, business_id, name, query, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business_id, name) DO NOTHING",
    )
    .bind(id)
    .bind(business)
    .bind(name)
    .bind(query)
    .bind(by)
    .bind(tx.now());
    Ok((tx.conn().execute(insert).await? > 0).then_some(id))
}

/// Removes one of the business's reports; `false` when it has no such report.
pub async fn remove(tx: &mut Tx, business: BusinessId, id: ReportId) -> Result<bool> {
    let delete =
        Sql::new("DELETE FROM saved_reports WHERE business_id = $1 AND id = $2").bind(business).bind(id);
    Ok(tx.conn().execute(delete).await? > 0)
}
