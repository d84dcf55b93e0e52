//! Call flows and their versions. Every change writes a new immutable version; a call
//! runs the version that was current when it arrived. A deleted flow is only hidden:
//! its calls keep pointing at it.

use jiff::Timestamp;
use ringtrack_domain::engine::Flow;
use ringtrack_domain::flow::{Settings, Step};
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{BusinessId, CallFlowId};

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record, json_column};
use crate::sql::Sql;
use crate::{Connection, Result, StoreError, Tx, businesses};

/// A flow at its current version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFlow {
    pub id: CallFlowId,
    pub name: String,
    pub steps: Vec<Step>,
    pub settings: Settings,
    pub version: i64,
    /// Numbers (not released) routed through the flow.
    pub assigned_numbers: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One version of a flow, as it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowVersion {
    pub version: i64,
    pub name: String,
    pub steps: Vec<Step>,
    pub settings: Settings,
    pub created_at: Timestamp,
}

impl FromRecord for CallFlow {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(CallFlow {
            id: row.parsed("id")?,
            name: row.text("name")?,
            steps: json_column(row, "steps")?,
            settings: json_column(row, "settings")?,
            version: row.int("version")?,
            assigned_numbers: row.int("assigned_numbers")?,
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
        })
    }
}

impl FromRecord for FlowVersion {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(FlowVersion {
            version: row.int("version")?,
            name: row.text("name")?,
            steps: json_column(row, "steps")?,
            settings: json_column(row, "settings")?,
            created_at: row.time("created_at")?,
        })
    }
}

impl Keyed for CallFlow {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

const COLUMNS: &str = "f.id, v.name, v.steps, v.settings, v.version, f.created_at, f.updated_at,
    (SELECT count(*) FROM numbers n WHERE n.call_flow_id = f.id AND n.status <> 'released') AS assigned_numbers";
const FROM: &str = "FROM call_flows f
    JOIN call_flow_versions v ON v.call_flow_id = f.id AND v.version = f.current_version";

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn exists(mut db: impl Connection, business_id: BusinessId, id: CallFlowId) -> Result<bool> {
    let select = Sql::new(
        "SELECT 1 AS value FROM call_flows WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(business_id)
    .bind(id);
    Ok(db.conn().fetch_optional::<i64>(select).await?.is_some())
}

pub async fn get(
    mut db: impl Connection,
    business_id: BusinessId,
    id: CallFlowId,
) -> Result<Option<CallFlow>> {
    let select = Sql::new(format!(
        "SELECT {COLUMNS} {FROM} WHERE f.business_id = $1 AND f.id = $2 AND f.deleted_at IS NULL"
    ))
    .bind(business_id)
    .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    page: &PageRequest,
) -> Result<Page<CallFlow>> {
    let from =
        Sql::new(format!("{FROM} WHERE f.business_id = $1 AND f.deleted_at IS NULL")).bind(business_id);
    fetch_page(db, COLUMNS, from, "f.", page).await
}

async fn add_version(
    tx: &mut Tx,
    id: CallFlowId,
    version: i64,
    name: &str,
    steps: &[Step],
    settings: &Settings,
) -> Result<()> {
    let now = tx.now();
    let insert = Sql::new(
        "INSERT INTO call_flow_versions (call_flow_id, version, name, steps, settings, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(version)
    .bind(name)
    .bind(to_json(&steps)?)
    .bind(to_json(settings)?)
    .bind(now);
    tx.conn().execute(insert).await?;
    let current = Sql::new("UPDATE call_flows SET current_version = $1, updated_at = $2 WHERE id = $3")
        .bind(version)
        .bind(now)
        .bind(id);
    tx.conn().execute(current).await?;
    Ok(())
}

pub async fn create(
    tx: &mut Tx,
    business_id: BusinessId,
    name: &str,
    steps: &[Step],
    settings: &Settings,
) -> Result<CallFlow> {
    let id = CallFlowId::new();
    let now = tx.now();
    let insert = Sql::new(
        "INSERT INTO call_flows (id, business_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id)
    .bind(business_id)
    .bind(name)
    .bind(now);
    tx.conn().execute(insert).await?;
    add_version(tx, id, 1, name, steps, settings).await?;
    Ok(get(&mut *tx, business_id, id).await?.expect("just created"))
}

/// Writes a new version and makes it current; calls in progress keep theirs.
pub async fn update(
    tx: &mut Tx,
    business_id: BusinessId,
    id: CallFlowId,
    name: &str,
    steps: &[Step],
    settings: &Settings,
) -> Result<Option<CallFlow>> {
    businesses::lock(tx, business_id).await?;
    let Some(current) = get(&mut *tx, business_id, id).await? else { return Ok(None) };
    add_version(tx, id, current.version + 1, name, steps, settings).await?;
    let rename = Sql::new("UPDATE call_flows SET name = $1 WHERE id = $2").bind(name).bind(id);
    tx.conn().execute(rename).await?;
    get(&mut *tx, business_id, id).await
}

/// Every version of a flow, newest first; `None` when the flow is not the business's.
pub async fn versions(
    mut db: impl Connection,
    business_id: BusinessId,
    id: CallFlowId,
) -> Result<Option<Vec<FlowVersion>>> {
    if !exists(&mut db, business_id, id).await? {
        return Ok(None);
    }
    let select = Sql::new(
        "SELECT version, name, steps, settings, created_at FROM call_flow_versions
         WHERE call_flow_id = $1 ORDER BY version DESC",
    )
    .bind(id);
    Ok(Some(db.conn().fetch_all(select).await?))
}

/// The flow at `version`, as a call runs it (deleted flows included: a call in progress
/// finishes its flow).
pub async fn version(
    mut db: impl Connection,
    id: CallFlowId,
    version: i64,
) -> Result<Option<(String, Flow)>> {
    let select = Sql::new(
        "SELECT version, name, steps, settings, created_at FROM call_flow_versions
         WHERE call_flow_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version);
    let found: Option<FlowVersion> = db.conn().fetch_optional(select).await?;
    Ok(found.map(|v| (v.name, Flow { steps: v.steps, settings: v.settings })))
}

/// The current version of a flow a number routes to.
pub async fn current_version(mut db: impl Connection, id: CallFlowId) -> Result<Option<i64>> {
    let select = Sql::new("SELECT current_version AS value FROM call_flows WHERE id = $1").bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}

#[derive(Debug, PartialEq, Eq)]
pub enum DeleteError {
    NotFound,
    /// Numbers still route through it.
    InUse(i64),
}

pub async fn delete(
    tx: &mut Tx,
    business_id: BusinessId,
    id: CallFlowId,
) -> Result<Result<CallFlow, DeleteError>> {
    businesses::lock(tx, business_id).await?;
    let Some(flow) = get(&mut *tx, business_id, id).await? else { return Ok(Err(DeleteError::NotFound)) };
    if flow.assigned_numbers > 0 {
        return Ok(Err(DeleteError::InUse(flow.assigned_numbers)));
    }
    let hide = Sql::new("UPDATE call_flows SET deleted_at = $1, updated_at = $1 WHERE id = $2")
        .bind(tx.now())
        .bind(id);
    tx.conn().execute(hide).await?;
    Ok(Ok(flow))
}

/// Takes the next turn of the flow's round-robin rotation, atomically: two calls at the
/// same moment never get the same turn.
pub async fn next_rotation(tx: &mut Tx, id: CallFlowId) -> Result<u64> {
    let bump =
        Sql::new("UPDATE call_flows SET rotation = rotation + 1 WHERE id = $1 RETURNING rotation AS value")
            .bind(id);
    let turn: i64 = tx.conn().fetch_one(bump).await?;
    Ok(u64::try_from(turn - 1).unwrap_or(0))
}
