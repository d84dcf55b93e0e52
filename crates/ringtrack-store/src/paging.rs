//! One page of a newest-first list, for every resource: the rows, the filtered total and
//! the keyset cursor of the last row when more follow.

use ringtrack_domain::paging::{Cursor, PageRequest, Position};

use crate::record::FromRecord;
use crate::sql::Sql;
use crate::{Connection, Result};

pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub next_cursor: Option<Cursor>,
}

/// A row that can say where it sits in the newest-first order.
pub(crate) trait Keyed {
    fn cursor(&self) -> Cursor;
}

/// Reads one page of `SELECT {columns} {from_where}`, where `from_where` is a `FROM …
/// WHERE …` clause whose rows are ordered by `{table}created_at` and `{table}id` (`table`
/// is `""` or an alias with its dot, as `"n."`).
pub(crate) async fn fetch_page<T: FromRecord + Keyed>(
    db: impl Connection,
    columns: &str,
    from_where: Sql,
    table: &str,
    request: &PageRequest,
) -> Result<Page<T>> {
    fetch_page_counted(db, columns, from_where, table, request, None).await
}

/// Like [`fetch_page`], with the total counted by `count` (a statement answering `value`)
/// when the caller knows a cheaper way than counting the rows.
pub(crate) async fn fetch_page_counted<T: FromRecord + Keyed>(
    mut db: impl Connection,
    columns: &str,
    from_where: Sql,
    table: &str,
    request: &PageRequest,
    count: Option<Sql>,
) -> Result<Page<T>> {
    let count = count.unwrap_or_else(|| {
        let mut count = from_where.clone();
        count.text.insert_str(0, "SELECT count(*) AS value ");
        count
    });
    let (after, offset) = match &request.position {
        Position::Offset(skip) => (None, *skip),
        Position::After(cursor) => (Some(cursor), 0),
    };
    // One row more than asked tells whether another page follows.
    let rows = rows_after(columns, from_where, table, after, i64::from(request.limit) + 1, offset);
    let (total, mut items): (Vec<i64>, Vec<T>) = db.conn().fetch_pair(count, rows).await?;
    let total = total.first().copied().unwrap_or(0).max(0) as u64;
    let next_cursor = if items.len() > request.limit as usize {
        items.truncate(request.limit as usize);
        items.last().map(Keyed::cursor)
    } else {
        None
    };
    Ok(Page { items, total, next_cursor })
}

/// `SELECT {columns} {from_where}` in newest-first order, strictly after the keyset
/// position `after` (when given), skipping `offset`, at most `limit` rows.
fn rows_after(
    columns: &str,
    from_where: Sql,
    table: &str,
    after: Option<&Cursor>,
    limit: i64,
    offset: u64,
) -> Sql {
    let mut rows = from_where;
    rows.text.insert_str(0, &format!("SELECT {columns} "));
    if let Some(cursor) = after {
        // A row value, which both databases read as one range of the (created_at, id) index.
        rows.push(&format!(" AND ({table}created_at, {table}id) < (")).push_bind(cursor.created_at);
        rows.push(", ").push_bind(cursor.id).push(")");
    }
    rows.push(&format!(" ORDER BY {table}created_at DESC, {table}id DESC LIMIT "))
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
    rows
}
