//! Number groups: named sets of a business's numbers, for reporting and bulk management.
//! A number is in at most one group (its `group_id`); deleting a group ungroups them.

use jiff::Timestamp;
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{BusinessId, NumberGroupId, NumberId};

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberGroup {
    pub id: NumberGroupId,
    pub name: String,
    /// Numbers in the group that are not released.
    pub numbers_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "g.id, g.name, g.created_at, g.updated_at,
    (SELECT count(*) FROM numbers n WHERE n.group_id = g.id AND n.status <> 'released') AS numbers_count";

impl FromRecord for NumberGroup {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(NumberGroup {
            id: row.parsed("id")?,
            name: row.text("name")?,
            numbers_count: row.int("numbers_count")?,
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
        })
    }
}

impl Keyed for NumberGroup {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum GroupError {
    NotFound,
    /// The business already has a group of that name.
    DuplicateName,
    /// These positions of the given ids name no number of the business, or a released one.
    InvalidNumbers(Vec<(usize, &'static str)>),
}

pub async fn get(
    mut db: impl Connection,
    business_id: BusinessId,
    id: NumberGroupId,
) -> Result<Option<NumberGroup>> {
    let select =
        Sql::new(format!("SELECT {COLUMNS} FROM number_groups g WHERE g.business_id = $1 AND g.id = $2"))
            .bind(business_id)
            .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    page: &PageRequest,
) -> Result<Page<NumberGroup>> {
    let from = Sql::new("FROM number_groups g WHERE g.business_id = $1").bind(business_id);
    fetch_page(db, COLUMNS, from, "g.", page).await
}

async fn name_taken(
    tx: &mut Tx,
    business_id: BusinessId,
    name: &str,
    except: Option<NumberGroupId>,
) -> Result<bool> {
    let mut select = Sql::new("SELECT 1 AS value FROM number_groups WHERE business_id = $1 AND name = $2")
        .bind(business_id)
        .bind(name);
    if let Some(id) = except {
        select.push(" AND id <> ").push_bind(id);
    }
    Ok(tx.conn().fetch_optional::<i64>(select).await?.is_some())
}

/// Creates a group, with `members` moved into it.
pub async fn create(
    tx: &mut Tx,
    business_id: BusinessId,
    name: &str,
    members: &[NumberId],
) -> Result<Result<NumberGroup, GroupError>> {
    crate::businesses::lock(tx, business_id).await?;
    if name_taken(tx, business_id, name, None).await? {
        return Ok(Err(GroupError::DuplicateName));
    }
    let id = NumberGroupId::new();
    let now = tx.now();
    let insert = Sql::new(
        "INSERT INTO number_groups (id, business_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id)
    .bind(business_id)
    .bind(name)
    .bind(now);
    tx.conn().execute(insert).await?;
    add_members(tx, business_id, id, members).await
}

pub async fn rename(
    tx: &mut Tx,
    business_id: BusinessId,
    id: NumberGroupId,
    name: &str,
) -> Result<Result<NumberGroup, GroupError>> {
    crate::businesses::lock(tx, business_id).await?;
    if get(&mut *tx, business_id, id).await?.is_none() {
        return Ok(Err(GroupError::NotFound));
    }
    if name_taken(tx, business_id, name, Some(id)).await? {
        return Ok(Err(GroupError::DuplicateName));
    }
    let update = Sql::new("UPDATE number_groups SET name = $1, updated_at = $2 WHERE id = $3")
        .bind(name)
        .bind(tx.now())
        .bind(id);
    tx.conn().execute(update).await?;
    Ok(get(&mut *tx, business_id, id).await?.ok_or(GroupError::NotFound))
}

/// Deletes a group; its numbers stay, ungrouped. Answers the group as it was.
pub async fn delete(tx: &mut Tx, business_id: BusinessId, id: NumberGroupId) -> Result<Option<NumberGroup>> {
    let Some(group) = get(&mut *tx, business_id, id).await? else {
        return Ok(None);
    };
    let ungroup = Sql::new("UPDATE numbers SET group_id = NULL, updated_at = $1 WHERE group_id = $2")
        .bind(tx.now())
        .bind(id);
    tx.conn().execute(ungroup).await?;
    tx.conn().execute(Sql::new("DELETE FROM number_groups WHERE id = $1").bind(id)).await?;
    Ok(Some(group))
}

/// Moves `members` into the group (out of any other group). Every id must name an
/// unreleased number of the business, or nothing changes.
pub async fn add_members(
    tx: &mut Tx,
    business_id: BusinessId,
    id: NumberGroupId,
    members: &[NumberId],
) -> Result<Result<NumberGroup, GroupError>> {
    if get(&mut *tx, business_id, id).await?.is_none() {
        return Ok(Err(GroupError::NotFound));
    }
    let mut invalid = Vec::new();
    for (position, number) in members.iter().enumerate() {
        let status = Sql::new("SELECT status AS value FROM numbers WHERE business_id = $1 AND id = $2")
            .bind(business_id)
            .bind(*number);
        match tx.conn().fetch_optional::<StatusText>(status).await?.map(|s| s.0) {
            None => invalid.push((position, "is not a number of this business")),
            Some(s) if s == "released" => invalid.push((position, "is released")),
            Some(_) => {}
        }
    }
    if !invalid.is_empty() {
        return Ok(Err(GroupError::InvalidNumbers(invalid)));
    }
    let now = tx.now();
    for number in members {
        let join =
            Sql::new("UPDATE numbers SET group_id = $1, updated_at = $2 WHERE business_id = $3 AND id = $4")
                .bind(id)
                .bind(now)
                .bind(business_id)
                .bind(*number);
        tx.conn().execute(join).await?;
    }
    touch(tx, id, now).await?;
    Ok(get(&mut *tx, business_id, id).await?.ok_or(GroupError::NotFound))
}

/// Takes a number out of the group. `NotFound` when the group does not exist or the
/// number is not in it.
pub async fn remove_member(
    tx: &mut Tx,
    business_id: BusinessId,
    id: NumberGroupId,
    number: NumberId,
) -> Result<Result<NumberGroup, GroupError>> {
    let now = tx.now();
    let leave = Sql::new(
        "UPDATE numbers SET group_id = NULL, updated_at = $1 WHERE business_id = $2 AND id = $3 AND group_id = $4",
    )
    .bind(now)
    .bind(business_id)
    .bind(number)
    .bind(id);
    if tx.conn().execute(leave).await? == 0 {
        return Ok(Err(GroupError::NotFound));
    }
    touch(tx, id, now).await?;
    Ok(get(&mut *tx, business_id, id).await?.ok_or(GroupError::NotFound))
}

async fn touch(tx: &mut Tx, id: NumberGroupId, now: Timestamp) -> Result<()> {
    let update = Sql::new("UPDATE number_groups SET updated_at = $1 WHERE id = $2").bind(now).bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

struct StatusText(String);

impl FromRecord for StatusText {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.text("value").map(StatusText)
    }
}

/// The calls of a group's numbers over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStats {
    pub group_id: NumberGroupId,
    pub name: String,
    pub numbers_count: i64,
    pub total_calls: i64,
    pub answered_calls: i64,
    pub missed_calls: i64,
    pub voicemail_calls: i64,
    pub qualified_calls: i64,
    pub total_seconds: i64,
}

impl FromRecord for GroupStats {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(GroupStats {
            group_id: row.parsed("id")?,
            name: row.text("name")?,
            numbers_count: row.int("numbers_count")?,
            total_calls: row.int("total_calls")?,
            answered_calls: row.int("answered_calls")?,
            missed_calls: row.int("missed_calls")?,
            voicemail_calls: row.int("voicemail_calls")?,
            qualified_calls: row.int("qualified_calls")?,
            total_seconds: row.int("total_seconds")?,
        })
    }
}

/// Every group of the business with the calls its numbers took in `[from, to)`, newest
/// group first.
pub async fn bulk_stats(
    mut db: impl Connection,
    business_id: BusinessId,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<Vec<GroupStats>> {
    let count = |status: &str| {
        format!("CAST(COALESCE(SUM(CASE WHEN c.status = '{status}' THEN 1 ELSE 0 END), 0) AS BIGINT)")
    };
    let mut select = Sql::new(format!(
        "SELECT g.id, g.name,
            (SELECT count(*) FROM numbers m WHERE m.group_id = g.id AND m.status <> 'released') AS numbers_count,
            count(c.id) AS total_calls,
            {} AS answered_calls, {} AS missed_calls, {} AS voicemail_calls,
            CAST(COALESCE(SUM(CASE WHEN c.qualified THEN 1 ELSE 0 END), 0) AS BIGINT) AS qualified_calls,
            CAST(COALESCE(SUM(c.duration_seconds), 0) AS BIGINT) AS total_seconds
         FROM number_groups g
         LEFT JOIN numbers n ON n.group_id = g.id
         LEFT JOIN calls c ON c.number_id = n.id",
        count("answered"),
        count("missed"),
        count("voicemail"),
    ));
    if let Some(from) = from {
        select.push(" AND c.created_at >= ").push_bind(from);
    }
    if let Some(to) = to {
        select.push(" AND c.created_at < ").push_bind(to);
    }
    select.push(" WHERE g.business_id = ").push_bind(business_id);
    select.push(" GROUP BY g.id, g.name, g.created_at ORDER BY g.created_at DESC, g.id DESC");
    Ok(db.conn().fetch_all(select).await?)
}
