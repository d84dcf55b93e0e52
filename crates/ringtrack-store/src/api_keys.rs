//! API keys. Only the SHA-256 of a secret is stored; a key is found by that hash.

use jiff::Timestamp;
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{ApiKeyId, ApiKeySecret, BusinessId, Role, SecretHash};

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Tx, businesses};

/// How many keys a business may have that are not revoked.
pub const MAX_ACTIVE_KEYS: i64 = 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub business_id: BusinessId,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, business_id, name, role, prefix, created_at, last_used_at, revoked_at";

impl FromRecord for ApiKey {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(ApiKey {
            id: row.parsed("id")?,
            business_id: row.parsed("business_id")?,
            name: row.text("name")?,
            role: row.parsed("role")?,
            prefix: row.text("prefix")?,
            created_at: row.time("created_at")?,
            last_used_at: row.opt_time("last_used_at")?,
            revoked_at: row.opt_time("revoked_at")?,
        })
    }
}

impl Keyed for ApiKey {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum CreateKeyError {
    NoSuchBusiness,
    /// The business already has [`MAX_ACTIVE_KEYS`] active keys.
    LimitReached,
}

pub async fn create(
    tx: &mut Tx,
    business_id: BusinessId,
    name: &str,
    role: Role,
    secret: &ApiKeySecret,
) -> Result<Result<ApiKey, CreateKeyError>> {
    if !businesses::lock(tx, business_id).await? {
        return Ok(Err(CreateKeyError::NoSuchBusiness));
    }
    let active =
        Sql::new("SELECT count(*) AS value FROM api_keys WHERE business_id = $1 AND revoked_at IS NULL")
            .bind(business_id);
    if tx.conn().fetch_one::<i64>(active).await? >= MAX_ACTIVE_KEYS {
        return Ok(Err(CreateKeyError::LimitReached));
    }
    let key = ApiKey {
        id: ApiKeyId::new(),
        business_id,
        name: name.to_owned(),
        role,
        prefix: secret.display_prefix().to_owned(),
        created_at: tx.now(),
        last_used_at: None,
        revoked_at: None,
    };
    let insert = Sql::new(
        "INSERT INTO api_keys (id, business_id, name, role, prefix, secret_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.id)
    .bind(business_id)
    .bind(name)
    .bind(role.as_str())
    .bind(key.prefix.as_str())
    .bind(secret.hash().as_str())
    .bind(key.created_at);
    tx.conn().execute(insert).await?;
    Ok(Ok(key))
}

/// The key whose secret hashes to `hash`, revoked or not.
pub async fn find_by_hash(mut db: impl Connection, hash: &SecretHash) -> Result<Option<ApiKey>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1"))
        .bind(hash.as_str())
        .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

/// The business's keys, revoked ones included, newest first.
pub async fn list(db: impl Connection, business_id: BusinessId, page: &PageRequest) -> Result<Page<ApiKey>> {
    let from = Sql::new("FROM api_keys WHERE business_id = $1").bind(business_id);
    fetch_page(db, COLUMNS, from, "", page).await
}

#[derive(Debug, PartialEq, Eq)]
pub enum RevokeError {
    NotFound,
    /// Revoking it would leave the business with no active admin key.
    LastAdmin,
}

/// Revokes a key at once. Revoking a revoked key changes nothing and answers it again.
pub async fn revoke(
    tx: &mut Tx,
    business_id: BusinessId,
    id: ApiKeyId,
) -> Result<Result<ApiKey, RevokeError>> {
    businesses::lock(tx, business_id).await?;
    let select = Sql::new(format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND business_id = $2"))
        .bind(id)
        .bind(business_id);
    let Some(mut key) = tx.conn().fetch_optional::<ApiKey>(select).await? else {
        return Ok(Err(RevokeError::NotFound));
    };
    if key.revoked_at.is_some() {
        return Ok(Ok(key));
    }
    if key.role == Role::Admin {
        let other_admins = Sql::new(
            "SELECT count(*) AS value FROM api_keys
             WHERE business_id = $1 AND role = 'admin' AND revoked_at IS NULL AND id <> $2",
        )
        .bind(business_id)
        .bind(id);
        if tx.conn().fetch_one::<i64>(other_admins).await? == 0 {
            return Ok(Err(RevokeError::LastAdmin));
        }
    }
    let now = tx.now();
    let update = Sql::new("UPDATE api_keys SET revoked_at = $1 WHERE id = $2").bind(now).bind(id);
    tx.conn().execute(update).await?;
    key.revoked_at = Some(now);
    Ok(Ok(key))
}

/// Records that a key was used at `at`, unless a use within `granularity` seconds before
/// was already recorded: a busy key costs one write a minute, not one per request.
pub async fn record_use(tx: &mut Tx, id: ApiKeyId, at: Timestamp, granularity: i64) -> Result<()> {
    let update = Sql::new(
        "UPDATE api_keys SET last_used_at = $1
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
    )
    .bind(at)
    .bind(id)
    .bind(at.as_second() - granularity);
    tx.conn().execute(update).await?;
    Ok(())
}
