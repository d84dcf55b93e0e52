//! API keys. Only the SHA-256 of a secret is stored; a key is found by that hash.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{ApiKeyId, ApiKeySecret, BusinessId, Role, SecretHash};

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Store, Tx, businesses};

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

/// The key whose secret hashes to `hash`, unless it is unknown or revoked: what every
/// API request asks first. The node keeps keys it has read for [`KEPT_FOR`]; a revocation
/// on any node makes every node forget them at once (see `changes`).
pub async fn find_active(store: &Store, hash: &SecretHash) -> Result<Option<ApiKey>> {
    let keys = &store.kept().keys;
    if let Some(key) = keys.get(hash) {
        return Ok(Some(key));
    }
    // Read before the key: a revocation between the two keeps the stale row out.
    let generation = keys.generation();
    let select = Sql::new(format!("SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1"))
        .bind(hash.as_str())
        .on_unique_key();
    let mut db = store;
    let key: Option<ApiKey> = db.conn().fetch_optional(select).await?;
    let key = key.filter(|key| key.revoked_at.is_none());
    if let Some(key) = &key {
        keys.keep(hash, key, generation);
    }
    Ok(key)
}

/// Notes in the node's copy of a key that its use at `at` is being recorded, so that the
/// requests after it do not record it again.
pub fn note_use(store: &Store, hash: &SecretHash, at: Timestamp) {
    store.kept().keys.used(hash, at);
}

/// How long a node answers for a key without reading it again. Revocations do not wait
/// for it; it bounds how stale `last_used_at` and a key's role can be, were a notification
/// ever lost without the listener noticing.
pub const KEPT_FOR: Duration = Duration::from_secs(30);

/// At most this many keys are kept per node; beyond, all are forgotten and read again.
const MAX_KEPT: usize = 10_000;

/// The active keys this node has read lately, by the hash of their secret.
#[derive(Debug)]
pub(crate) struct KeyCache {
    entries: Mutex<HashMap<SecretHash, (ApiKey, Instant)>>,
    /// Raised by every forgetting: a key read before it is not kept after it.
    generation: AtomicU64,
    /// Whether every revocation reaches this node (its listener is connected).
    trusted: AtomicBool,
}

impl KeyCache {
    pub(crate) fn new(trusted: bool) -> Self {
        KeyCache {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            trusted: AtomicBool::new(trusted),
        }
    }

    fn get(&self, hash: &SecretHash) -> Option<ApiKey> {
        if !self.trusted.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (key, read_at) = entries.get(hash)?;
        (read_at.elapsed() < KEPT_FOR).then(|| key.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn keep(&self, hash: &SecretHash, key: &ApiKey, read_after: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock that forgetting takes too.
        if !self.trusted.load(Ordering::Acquire) || self.generation() != read_after {
            return;
        }
        if entries.len() >= MAX_KEPT {
            entries.clear();
        }
        entries.insert(hash.clone(), (key.clone(), Instant::now()));
    }

    fn used(&self, hash: &SecretHash, at: Timestamp) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((key, _)) = entries.get_mut(hash) {
            key.last_used_at = Some(at);
        }
    }

    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    pub(crate) fn trust(&self, trusted: bool) {
        self.trusted.store(trusted, Ordering::Release);
        self.forget_all();
    }
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
    tx.announce_key_revoked().await?;
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
