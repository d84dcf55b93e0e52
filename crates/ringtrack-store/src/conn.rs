//! Running one statement on either backend. A statement is SQL text with `$n`
//! placeholders plus its arguments ([`Sql`]); rows come back through [`Record`], which
//! hides the driver's row type, and each model says how it reads itself ([`FromRecord`]).

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::SqliteConnection;

use crate::record::{ByName, Chunks, FromRecord, Record};
use crate::sql::{Sql, Value, sqlite_placeholders};
use crate::sqlite_read::Readers;

/// Anything statements can run on: `&Store` (reads, on the pool) or `&mut Tx` (writes).
pub trait Connection: Send {
    /// The time now, by the store's clock.
    fn now(&self) -> jiff::Timestamp;

    #[doc(hidden)]
    fn conn(&mut self) -> Conn<'_>;
}

impl<T: Connection + ?Sized> Connection for &mut T {
    fn now(&self) -> jiff::Timestamp {
        (**self).now()
    }

    fn conn(&mut self) -> Conn<'_> {
        (**self).conn()
    }
}

/// A borrowed executor of one backend or the other.
#[doc(hidden)]
pub enum Conn<'c> {
    SqliteRead(&'c Readers),
    PostgresPool(&'c PgPool),
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub(crate) fn backend(&self) -> crate::Backend {
        match self {
            Conn::SqliteRead(_) | Conn::Sqlite(_) => crate::Backend::Sqlite,
            Conn::PostgresPool(_) | Conn::Postgres(_) => crate::Backend::Postgres,
        }
    }

    pub(crate) async fn fetch_all<T: FromRecord>(self, sql: Sql) -> sqlx::Result<Vec<T>> {
        self.rows(sql, Rows::All, &T::from_record).await
    }

    /// Like `fetch_all`, for rows whose reading depends on the query (which columns it has).
    pub(crate) async fn fetch_all_with<T>(
        self,
        sql: Sql,
        read: impl Fn(&dyn Record) -> sqlx::Result<T> + Sync,
    ) -> sqlx::Result<Vec<T>> {
        self.rows(sql, Rows::All, &read).await
    }

    pub(crate) async fn fetch_optional<T: FromRecord>(self, sql: Sql) -> sqlx::Result<Option<T>> {
        Ok(self.rows(sql, Rows::First, &T::from_record).await?.pop())
    }

    pub(crate) async fn fetch_one<T: FromRecord>(self, sql: Sql) -> sqlx::Result<T> {
        self.fetch_optional(sql).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// The one place a read picks its driver.
    async fn rows<T>(
        self,
        sql: Sql,
        rows: Rows,
        read: &(impl Fn(&dyn Record) -> sqlx::Result<T> + Sync),
    ) -> sqlx::Result<Vec<T>> {
        match self {
            Conn::SqliteRead(readers) => {
                let found = readers.query(sql).await?;
                let wanted = match rows {
                    Rows::All => found.len(),
                    Rows::First => 1,
                };
                found.iter().take(wanted).map(|row| read(row)).collect()
            }
            Conn::Sqlite(exec) => {
                read_rows(exec, &sqlite_placeholders(&sql.text), &sql.args, rows, read).await
            }
            Conn::PostgresPool(exec) => read_rows(exec, &sql.text, &sql.args, rows, read).await,
            Conn::Postgres(exec) => read_rows(exec, &sql.text, &sql.args, rows, read).await,
        }
    }

    /// The rows of two statements, run one after the other (on SQLite's readers, in one
    /// trip to a blocking thread).
    pub(crate) async fn fetch_pair<A: FromRecord, B: FromRecord>(
        mut self,
        first: Sql,
        second: Sql,
    ) -> sqlx::Result<(Vec<A>, Vec<B>)> {
        if let Conn::SqliteRead(readers) = self {
            let mut rows = readers.query_all(vec![first, second]).await?.into_iter();
            let (a, b) = (rows.next().unwrap_or_default(), rows.next().unwrap_or_default());
            let a = a.iter().map(|row| A::from_record(row)).collect::<sqlx::Result<_>>()?;
            return Ok((a, b.iter().map(|row| B::from_record(row)).collect::<sqlx::Result<_>>()?));
        }
        let a = self.reborrow().fetch_all(first).await?;
        Ok((a, self.fetch_all(second).await?))
    }

    /// The same executor, borrowed for one statement.
    fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::SqliteRead(readers) => Conn::SqliteRead(readers),
            Conn::PostgresPool(pool) => Conn::PostgresPool(pool),
            Conn::Sqlite(exec) => Conn::Sqlite(exec),
            Conn::Postgres(exec) => Conn::Postgres(exec),
        }
    }

    /// Runs a statement and answers how many rows it changed: the one place a write picks
    /// its driver.
    pub(crate) async fn execute(self, sql: Sql) -> sqlx::Result<u64> {
        Ok(match self {
            Conn::SqliteRead(_) => return Err(read_only()),
            Conn::Sqlite(exec) => {
                statement(&sqlite_placeholders(&sql.text), &sql.args).execute(exec).await?.rows_affected()
            }
            Conn::PostgresPool(exec) => statement(&sql.text, &sql.args).execute(exec).await?.rows_affected(),
            Conn::Postgres(exec) => statement(&sql.text, &sql.args).execute(exec).await?.rows_affected(),
        })
    }

    /// Runs several `;`-separated statements with no arguments (migrations).
    pub(crate) async fn execute_script(self, script: &str) -> sqlx::Result<()> {
        match self {
            Conn::SqliteRead(_) => Err(read_only()),
            Conn::Sqlite(exec) => sqlx::raw_sql(script).execute(exec).await.map(drop),
            Conn::PostgresPool(exec) => sqlx::raw_sql(script).execute(exec).await.map(drop),
            Conn::Postgres(exec) => sqlx::raw_sql(script).execute(exec).await.map(drop),
        }
    }
}

/// SQLite's readers are read-only connections: a change runs in a `Tx`.
fn read_only() -> sqlx::Error {
    sqlx::Error::Protocol("a change runs in a Tx, not on the readers".into())
}

/// How many of a statement's rows are wanted.
#[derive(Clone, Copy)]
enum Rows {
    All,
    First,
}

/// A driver of sqlx's that binds our argument values.
trait Binds: sqlx::Database + sqlx::database::HasStatementCache {
    fn bind<'q>(
        query: sqlx::query::Query<'q, Self, <Self as sqlx::Database>::Arguments<'q>>,
        value: &'q Value,
    ) -> sqlx::query::Query<'q, Self, <Self as sqlx::Database>::Arguments<'q>>;
}

macro_rules! binds {
    ($($db:ty),*) => {$(
        impl Binds for $db {
            fn bind<'q>(
                query: sqlx::query::Query<'q, Self, <Self as sqlx::Database>::Arguments<'q>>,
                value: &'q Value,
            ) -> sqlx::query::Query<'q, Self, <Self as sqlx::Database>::Arguments<'q>> {
                match value {
                    Value::Int(v) => query.bind(*v),
                    Value::Text(v) => query.bind(v.as_deref()),
                    Value::Bool(v) => query.bind(*v),
                    Value::Bytes(v) => query.bind(v.as_slice()),
                }
            }
        }
    )*};
}
binds!(sqlx::Sqlite, sqlx::Postgres);

/// Statements with more arguments than this are planned for their values each time, not
/// kept prepared: they are bulk inserts and long `IN` lists, each of a size met once.
/// Kept, PostgreSQL would in time run a long `IN` list through a generic plan that cannot
/// hash it — comparing every row with every value (0.8 s instead of 10 ms for 500 callers
/// among 30,000, the step that made seeding slow) — and they would crowd out the
/// statements a request repeats from the connection's cache of prepared statements.
const MAX_PREPARED_ARGUMENTS: usize = 64;

/// `text` with `args` bound, for any of sqlx's drivers.
fn statement<'q, DB: Binds>(
    text: &'q str,
    args: &'q [Value],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>> {
    let query = sqlx::query(text).persistent(args.len() <= MAX_PREPARED_ARGUMENTS);
    args.iter().fold(query, DB::bind)
}

/// A statement's rows (or its first) read on one of sqlx's executors.
async fn read_rows<'e, DB, E, T>(
    exec: E,
    text: &str,
    args: &[Value],
    rows: Rows,
    read: &(impl Fn(&dyn Record) -> sqlx::Result<T> + Sync),
) -> sqlx::Result<Vec<T>>
where
    DB: Binds,
    for<'r> ByName<'r, DB::Row>: Record,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    use futures_util::TryStreamExt;
    let mut found = Vec::new();
    let mut stream = statement::<DB>(text, args).fetch(exec);
    while let Some(row) = stream.try_next().await? {
        found.push(read(&ByName::new(&row))?);
        if matches!(rows, Rows::First) {
            break;
        }
    }
    Ok(found)
}

/// Sends the rows of one statement on PostgreSQL to `sender`, `chunk` at a time, as the
/// receiver takes them; stops when it is dropped.
pub(crate) fn stream_postgres<T: FromRecord + Send + 'static>(
    pool: PgPool,
    sql: Sql,
    chunk: usize,
    sender: tokio::sync::mpsc::Sender<sqlx::Result<Vec<T>>>,
) {
    tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut rows = statement(&sql.text, &sql.args).fetch(&pool);
        let mut chunks = Chunks::new(chunk);
        while let Some(row) = rows.next().await {
            let full = match row.and_then(|row| T::from_record(&ByName::new(&row))) {
                Ok(item) => chunks.push(item),
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                    return;
                }
            };
            if let Some(full) = full
                && sender.send(Ok(full)).await.is_err()
            {
                return;
            }
        }
        if let Some(rest) = chunks.rest() {
            let _ = sender.send(Ok(rest)).await;
        }
    });
}
