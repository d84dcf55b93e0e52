//! Businesses (tenants) and their prepaid balance. Every change of a balance writes an
//! entry to `balance_entries` in the same transaction, so the balance can be audited.

use jiff::Timestamp;
use ringtrack_domain::{BusinessId, Cents};

use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Backend, Connection, Result, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Business {
    pub id: BusinessId,
    pub name: String,
    pub timezone: String,
    pub balance: Cents,
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, name, timezone, balance_cents, created_at";

impl FromRecord for Business {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Business {
            id: row.parsed("id")?,
            name: row.text("name")?,
            timezone: row.text("timezone")?,
            balance: Cents::new(row.int("balance_cents")?),
            created_at: row.time("created_at")?,
        })
    }
}

pub async fn create(tx: &mut Tx, name: &str, timezone: &str) -> Result<Business> {
    let now = tx.now();
    let business = Business {
        id: BusinessId::new(),
        name: name.to_owned(),
        timezone: timezone.to_owned(),
        balance: Cents::ZERO,
        created_at: now,
    };
    let insert = Sql::new(
        "INSERT INTO businesses (id, name, timezone, balance_cents, created_at, updated_at)
         VALUES ($1, $2, $3, 0, $4, $4)",
    )
    .bind(business.id)
    .bind(name)
    .bind(timezone)
    .bind(now);
    tx.conn().execute(insert).await?;
    Ok(business)
}

pub async fn get(mut db: impl Connection, id: BusinessId) -> Result<Option<Business>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM businesses WHERE id = $1")).bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}

/// The terms the business primes the speech model with.
pub async fn transcription_terms(mut db: impl Connection, id: BusinessId) -> Result<Vec<String>> {
    struct Terms(Vec<String>);
    impl FromRecord for Terms {
        fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
            crate::record::json_column(row, "transcription_terms").map(Terms)
        }
    }
    let select = Sql::new("SELECT transcription_terms FROM businesses WHERE id = $1").bind(id);
    Ok(db.conn().fetch_optional::<Terms>(select).await?.map(|t| t.0).unwrap_or_default())
}

pub async fn set_transcription_terms(tx: &mut Tx, id: BusinessId, terms: &[String]) -> Result<()> {
    let terms = serde_json::to_string(terms).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    let update =
        Sql::new("UPDATE businesses SET transcription_terms = $1 WHERE id = $2").bind(terms).bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Whether no business exists yet, holding a lock that keeps another node from creating
/// the first business at the same moment until `tx` ends.
pub async fn none_exist(tx: &mut Tx) -> Result<bool> {
    if tx.backend() == Backend::Postgres {
        tx.conn().execute(Sql::new("LOCK TABLE businesses IN SHARE ROW EXCLUSIVE MODE")).await?;
    }
    let count: i64 = tx
        .conn()
        .fetch_one(Sql::new("SELECT count(*) AS value FROM (SELECT 1 FROM businesses LIMIT 1) AS any_row"))
        .await?;
    Ok(count == 0)
}

/// Locks the business's row until `tx` ends, so that checks made on its data (a key
/// limit, a balance) still hold when the transaction writes. Answers whether it exists.
pub async fn lock(tx: &mut Tx, id: BusinessId) -> Result<bool> {
    let select =
        Sql::new(format!("SELECT 1 AS value FROM businesses WHERE id = $1{}", tx.row_lock())).bind(id);
    Ok(tx.conn().fetch_optional::<i64>(select).await?.is_some())
}

/// Why a balance change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BalanceError {
    NoSuchBusiness,
    /// The new balance would not fit in the balance's integer.
    OutOfRange,
}

/// Adds `amount` (negative to charge) to the balance and records why; answers the new
/// balance.
pub async fn change_balance(
    tx: &mut Tx,
    id: BusinessId,
    amount: Cents,
    reason: &str,
) -> Result<Result<Cents, BalanceError>> {
    let select = Sql::new("SELECT balance_cents AS value FROM businesses WHERE id = $1").bind(id);
    if !lock(tx, id).await? {
        return Ok(Err(BalanceError::NoSuchBusiness));
    }
    let current: i64 = tx.conn().fetch_one(select).await?;
    let Some(balance) = Cents::new(current).checked_add(amount) else {
        return Ok(Err(BalanceError::OutOfRange));
    };
    let now = tx.now();
    let update = Sql::new("UPDATE businesses SET balance_cents = $1, updated_at = $2 WHERE id = $3")
        .bind(balance.get())
        .bind(now)
        .bind(id);
    tx.conn().execute(update).await?;
    let entry = Sql::new(
        "INSERT INTO balance_entries (id, business_id, amount_cents, balance_after_cents, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(id)
    .bind(amount.get())
    .bind(balance.get())
    .bind(reason)
    .bind(now);
    tx.conn().execute(entry).await?;
    Ok(Ok(balance))
}
