//! `/api/v1/number-groups`: named sets of numbers for reporting and bulk management, and
//! their call statistics over a period (`bulk-stats`).

use axum::extract::State;
use jiff::Timestamp;
use ringtrack_domain::validation::parse_name;
use ringtrack_domain::{Access, FieldErrors, NumberGroupId, NumberId};
use ringtrack_store::number_groups::{self, GroupError, GroupStats, NumberGroup};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Created, Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, DateParams, ListParams, Paging, PathId};

#[derive(Serialize, ToSchema)]
pub struct NumberGroupView {
    #[schema(value_type = String, format = Uuid)]
    id: NumberGroupId,
    #[schema(example = "Paid Search")]
    name: String,
    /// Numbers in the group that are not released.
    numbers_count: i64,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<NumberGroup> for NumberGroupView {
    fn from(g: NumberGroup) -> Self {
        NumberGroupView {
            id: g.id,
            name: g.name,
            numbers_count: g.numbers_count,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NumberGroupList {
    number_groups: Vec<NumberGroupView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Paid Search"}))]
pub struct CreateNumberGroup {
    #[schema(example = "Paid Search")]
    name: String,
    /// Numbers to put in the group at once (moved out of any other group).
    #[schema(value_type = Option<Vec<String>>)]
    number_ids: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Paid Social"}))]
pub struct UpdateNumberGroup {
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"number_ids": ["01a2442f-f349-72f6-809c-d3ae7600f393"]}))]
pub struct GroupMembers {
    /// Numbers of the business to add (each moves out of any other group).
    #[schema(value_type = Vec<String>)]
    number_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupStatsView {
    #[schema(value_type = String, format = Uuid)]
    group_id: NumberGroupId,
    name: String,
    numbers_count: i64,
    total_calls: i64,
    answered_calls: i64,
    missed_calls: i64,
    voicemail_calls: i64,
    qualified_calls: i64,
    /// Minutes talked, rounded to the nearest minute.
    total_minutes: i64,
}

impl From<GroupStats> for GroupStatsView {
    fn from(s: GroupStats) -> Self {
        GroupStatsView {
            group_id: s.group_id,
            name: s.name,
            numbers_count: s.numbers_count,
            total_calls: s.total_calls,
            answered_calls: s.answered_calls,
            missed_calls: s.missed_calls,
            voicemail_calls: s.voicemail_calls,
            qualified_calls: s.qualified_calls,
            total_minutes: (s.total_seconds + 30) / 60,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BulkStats {
    groups: Vec<GroupStatsView>,
}

fn group_name(raw: &str) -> ApiResult<String> {
    Ok(parse_name("name", raw, 100)?)
}

fn member_ids(raw: &[String]) -> ApiResult<Vec<NumberId>> {
    let mut errors = FieldErrors::new();
    let ids = raw
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            id.trim().parse().map_err(|_| errors.push(format!("number_ids[{i}]"), "is not a valid id")).ok()
        })
        .collect();
    if raw.len() > 1000 {
        errors.push("number_ids", "must hold at most 1000 ids");
    }
    errors.finish(ids).map_err(ApiError::from)
}

fn group_error(error: GroupError) -> ApiError {
    match error {
        GroupError::NotFound => ApiError::NotFound("Number group"),
        GroupError::DuplicateName => ApiError::field("name", "is already the name of another group"),
        GroupError::InvalidNumbers(invalid) => crate::error::invalid_numbers(invalid),
    }
}

#[utoipa::path(
    get, path = "/number-groups", tag = "Number groups", operation_id = "list_number_groups",
    params(ListParams),
    responses((status = 200, body = Data<NumberGroupList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// List the business's number groups, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Data<NumberGroupList>> {
    auth.require(Access::Read)?;
    let found = number_groups::list(&state.store, auth.business_id, &page).await?;
    let (number_groups, page) = PageInfo::split(found, &page, NumberGroupView::from);
    Ok(Data::new(NumberGroupList { number_groups, page }))
}

#[utoipa::path(
    post, path = "/number-groups", tag = "Number groups", operation_id = "create_number_group",
    request_body = CreateNumberGroup,
    responses(
        (status = 201, body = Data<NumberGroupView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Create a group, optionally with its first numbers.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<CreateNumberGroup>,
) -> ApiResult<Created<NumberGroupView>> {
    auth.require(Access::Write)?;
    let name = group_name(&input.name)?;
    let members = member_ids(input.number_ids.as_deref().unwrap_or_default())?;
    let mut tx = state.store.begin().await?;
    let group =
        number_groups::create(&mut tx, auth.business_id, &name, &members).await?.map_err(group_error)?;
    tx.commit().await?;
    Ok(Created(group.into()))
}

#[utoipa::path(
    get, path = "/number-groups/{id}", tag = "Number groups", operation_id = "get_number_group",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<NumberGroupView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// One number group.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberGroupId>,
) -> ApiResult<Data<NumberGroupView>> {
    auth.require(Access::Read)?;
    let group = number_groups::get(&state.store, auth.business_id, id)
        .await?
        .ok_or(ApiError::NotFound("Number group"))?;
    Ok(Data::new(group.into()))
}

#[utoipa::path(
    put, path = "/number-groups/{id}", tag = "Number groups", operation_id = "update_number_group",
    params(("id" = String, Path, format = Uuid)),
    request_body = UpdateNumberGroup,
    responses(
        (status = 200, body = Data<NumberGroupView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Rename a group.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberGroupId>,
    ApiJson(input): ApiJson<UpdateNumberGroup>,
) -> ApiResult<Data<NumberGroupView>> {
    auth.require(Access::Write)?;
    let name = group_name(&input.name)?;
    let mut tx = state.store.begin().await?;
    let group = number_groups::rename(&mut tx, auth.business_id, id, &name).await?.map_err(group_error)?;
    tx.commit().await?;
    Ok(Data::new(group.into()))
}

#[utoipa::path(
    delete, path = "/number-groups/{id}", tag = "Number groups", operation_id = "delete_number_group",
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "Deleted; its numbers are now ungrouped", body = Data<NumberGroupView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Delete a group. Its numbers stay, ungrouped.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberGroupId>,
) -> ApiResult<Data<NumberGroupView>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let group = number_groups::delete(&mut tx, auth.business_id, id)
        .await?
        .ok_or(ApiError::NotFound("Number group"))?;
    tx.commit().await?;
    Ok(Data::new(group.into()))
}

#[utoipa::path(
    post, path = "/number-groups/{id}/members", tag = "Number groups", operation_id = "add_number_group_members",
    params(("id" = String, Path, format = Uuid)),
    request_body = GroupMembers,
    responses(
        (status = 200, body = Data<NumberGroupView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "An id names no number of the business", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Add numbers to a group (each moves out of any other group).
pub async fn add_members(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberGroupId>,
    ApiJson(input): ApiJson<GroupMembers>,
) -> ApiResult<Data<NumberGroupView>> {
    auth.require(Access::Write)?;
    let members = member_ids(&input.number_ids)?;
    let mut tx = state.store.begin().await?;
    let group =
        number_groups::add_members(&mut tx, auth.business_id, id, &members).await?.map_err(group_error)?;
    tx.commit().await?;
    Ok(Data::new(group.into()))
}

#[utoipa::path(
    delete, path = "/number-groups/{id}/members/{number_id}", tag = "Number groups", operation_id = "remove_number_group_member",
    params(("id" = String, Path, format = Uuid), ("number_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, body = Data<NumberGroupView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such group, or the number is not in it", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Take a number out of a group.
pub async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    PathId((group, number)): PathId<(NumberGroupId, NumberId)>,
) -> ApiResult<Data<NumberGroupView>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let group = number_groups::remove_member(&mut tx, auth.business_id, group, number)
        .await?
        .map_err(|_| ApiError::NotFound("Number group member"))?;
    tx.commit().await?;
    Ok(Data::new(group.into()))
}

#[utoipa::path(
    get, path = "/number-groups/bulk-stats", tag = "Number groups", operation_id = "number_group_bulk_stats",
    params(DateParams),
    responses((status = 200, body = Data<BulkStats>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Call statistics of every group over a period (all time without dates).
pub async fn bulk_stats(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(dates): ApiQuery<DateParams>,
) -> ApiResult<Data<BulkStats>> {
    auth.require(Access::Read)?;
    let range = dates.range()?;
    let stats = number_groups::bulk_stats(&state.store, auth.business_id, range.from, range.to).await?;
    Ok(Data::new(BulkStats { groups: stats.into_iter().map(GroupStatsView::from).collect() }))
}
