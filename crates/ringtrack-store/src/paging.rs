//! One page of a newest-first list, for every resource: the rows, the filtered total and
//! the keyset cursor of the last row when more follow.

use ringtrack_domain::paging::{Cursor, PageRequest, Position};

use crate::conn::{FromRecord, Sql};
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
    mut db: impl Connection,
    columns: &str,
    from_where: Sql,
    table: &str,
    request: &PageRequest,
) -> Result<Page<T>> {
    let mut count = from_where.clone();
    count.text.insert_str(0, "SELECT count(*) AS value ");
    let total: i64 = db.conn().fetch_one(count).await?;

    let mut rows = from_where;
    rows.text.insert_str(0, &format!("SELECT {columns} "));
    let offset = match &request.position {
        Position::Offset(skip) => *skip,
        Position::After(cursor) => {
            rows.push(" AND (created_at < ").push_bind(cursor.created_at);
            rows.push(" OR (created_at = ").push_bind(cursor.created_at);
            rows.push(" AND id < ").push_bind(cursor.id).push("))");
            0
        }
    };
    // One row more than asked tells whether another page follows.
    rows.push(&format!(" ORDER BY {table}created_at DESC, {table}id DESC LIMIT "))
        .push_bind(i64::from(request.limit) + 1)
        .push(" OFFSET ")
        .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
    let mut items: Vec<T> = db.conn().fetch_all(rows).await?;
    let next_cursor = if items.len() > request.limit as usize {
        items.truncate(request.limit as usize);
        items.last().map(Keyed::cursor)
    } else {
        None
    };
    Ok(Page { items, total: total.max(0) as u64, next_cursor })
}
