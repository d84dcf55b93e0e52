//! One page of a newest-first list, for every resource: the rows, the filtered total and
//! the keyset cursor of the last row when more follow.

use ringtrack_domain::paging::{Cursor, PageRequest, Position};

use crate::record::FromRecord;
use crate::sql::Sql;
use crate::{Backend, Connection, Result};

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
    let (total, mut items) = match db.conn().backend() {
        // One round trip, not two: the total rides on every row of the page.
        Backend::Postgres => {
            let counted: Vec<(i64, T)> = db
                .conn()
                .fetch_all_with(with_total(rows, &count), |row| Ok((row.int(TOTAL)?, T::from_record(row)?)))
                .await?;
            match counted.first() {
                Some(&(total, _)) => (total, counted.into_iter().map(|(_, item)| item).collect()),
                None => (db.conn().fetch_one::<i64>(count).await?, Vec::new()),
            }
        }
        Backend::Sqlite => {
            let (total, items): (Vec<i64>, Vec<T>) = db.conn().fetch_pair(count, rows).await?;
            (total.first().copied().unwrap_or(0), items)
        }
    };
    let total = total.max(0) as u64;
    let next_cursor = if items.len() > request.limit as usize {
        items.truncate(request.limit as usize);
        items.last().map(Keyed::cursor)
    } else {
        None
    };
    Ok(Page { items, total, next_cursor })
}

/// The column [`with_total`] adds.
const TOTAL: &str = "page_total";

/// `rows` (a `SELECT`) with the value `count` answers as one more column of every row.
fn with_total(rows: Sql, count: &Sql) -> Sql {
    let mut folded = rows;
    let column = format!("({}) AS {TOTAL}, ", count.text_numbered_after(folded.args.len()));
    folded.text.insert_str("SELECT ".len(), &column);
    folded.args.extend(count.args.iter().cloned());
    folded
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
    // The limit is written into the text (it is a number of ours, at most a few hundred),
    // and the offset too when there is none: PostgreSQL plans a statement whose limit is a
    // parameter for a tenth of the table, which makes it plan every execution afresh (most
    // of a list's cost there) rather than reuse the plan it keeps.
    rows.push(&format!(" ORDER BY {table}created_at DESC, {table}id DESC LIMIT {limit}"));
    if offset > 0 {
        rows.push(" OFFSET ").push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
    }
    rows
}
