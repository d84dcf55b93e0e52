//! Running one statement on either backend. A statement is SQL text with `$n`
//! placeholders plus its arguments ([`Sql`]); rows come back through [`Record`], which
//! hides the driver's row type, and each model says how it reads itself ([`FromRecord`]).

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};

use crate::sqlite_read::Readers;

/// Anything statements can run on: `&Store` (reads, on the pool) or `&mut Tx` (writes).
pub trait Connection: Send {
    #[doc(hidden)]
    fn conn(&mut self) -> Conn<'_>;
}

impl<T: Connection + ?Sized> Connection for &mut T {
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

/// Expands `$read` with `$rows` bound to the statement's rows on SQLite's readers, and
/// `$body` once per sqlx executor type, with `$exec` bound to that executor and `$text` to
/// the statement's text in that backend's placeholder style.
macro_rules! on_backend {
    ($conn:expr, $sql:expr, $rows:ident => $read:expr, $exec:ident, $text:ident => $body:expr) => {
        match $conn {
            Conn::SqliteRead(readers) => {
                let $rows = readers.query($sql).await?;
                $read
            }
            Conn::Sqlite($exec) => {
                let $text = sqlite_placeholders(&$sql.text);
                $body
            }
            Conn::PostgresPool($exec) => {
                let $text = std::borrow::Cow::Borrowed($sql.text.as_str());
                $body
            }
            Conn::Postgres($exec) => {
                let $text = std::borrow::Cow::Borrowed($sql.text.as_str());
                $body
            }
        }
    };
}

/// SQLite keeps `$1`-style parameters in a list it walks on every lookup by position, and
/// sqlx looks each one up while binding: a statement with thousands of them (a multi-row
/// insert) binds in quadratic time. When a statement numbers its placeholders `$1, $2, …`
/// in order, each used once, they become plain `?`s, which SQLite binds by position
/// directly; otherwise `$n` becomes SQLite's numbered `?n`. Statements never hold a `$`
/// outside a placeholder: values are always bound.
pub(crate) fn sqlite_placeholders(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('$') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut in_order = true;
    let mut expected = 1usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if text[start..end].parse::<usize>().ok() != Some(expected) {
                in_order = false;
                break;
            }
            expected += 1;
            i = end;
        } else {
            i += 1;
        }
    }
    if !in_order {
        return std::borrow::Cow::Owned(text.replace('$', "?"));
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            out.push('?');
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::sqlite_placeholders;

    #[test]
    fn placeholders_in_order_become_positional() {
        assert_eq!(sqlite_placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(sqlite_placeholders("a = $1 AND b IN ($2, $3)"), "a = ? AND b IN (?, ?)");
        assert_eq!(sqlite_placeholders("VALUES ($1, $2, $2)"), "VALUES (?1, ?2, ?2)");
        assert_eq!(sqlite_placeholders("x = $2 AND y = $1"), "x = ?2 AND y = ?1");
    }
}

/// Binds every argument of `$sql` to a fresh query on `$text`.
macro_rules! query {
    ($text:expr, $sql:expr) => {{
        let mut query = sqlx::query(&$text);
        for arg in &$sql.args {
            query = match arg {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.as_deref()),
                Value::Bool(v) => query.bind(*v),
                Value::Bytes(v) => query.bind(v.as_slice()),
            };
        }
        query
    }};
}

impl Conn<'_> {
    pub(crate) fn backend(&self) -> crate::Backend {
        match self {
            Conn::SqliteRead(_) | Conn::Sqlite(_) => crate::Backend::Sqlite,
            Conn::PostgresPool(_) | Conn::Postgres(_) => crate::Backend::Postgres,
        }
    }

    pub(crate) async fn fetch_all<T: FromRecord>(self, sql: Sql) -> sqlx::Result<Vec<T>> {
        self.fetch_all_with(sql, T::from_record).await
    }

    /// Like `fetch_all`, for rows whose reading depends on the query (which columns it has).
    pub(crate) async fn fetch_all_with<T>(
        self,
        sql: Sql,
        read: impl Fn(&dyn Record) -> sqlx::Result<T>,
    ) -> sqlx::Result<Vec<T>> {
        on_backend!(self, sql, rows => rows.iter().map(|row| read(row)).collect(), exec, text => {
            let rows = query!(text, sql).fetch_all(exec).await?;
            rows.iter().map(|row| read(row)).collect()
        })
    }

    pub(crate) async fn fetch_optional<T: FromRecord>(self, sql: Sql) -> sqlx::Result<Option<T>> {
        on_backend!(self, sql, rows => rows.first().map(|row| T::from_record(row)).transpose(), exec, text => {
            let row = query!(text, sql).fetch_optional(exec).await?;
            row.as_ref().map(|row| T::from_record(row)).transpose()
        })
    }

    pub(crate) async fn fetch_one<T: FromRecord>(self, sql: Sql) -> sqlx::Result<T> {
        on_backend!(self, sql, rows => T::from_record(rows.first().ok_or(sqlx::Error::RowNotFound)?), exec, text => {
            let row = query!(text, sql).fetch_one(exec).await?;
            T::from_record(&row)
        })
    }

    /// The rows of two statements, run one after the other (on SQLite's readers, in one
    /// trip to a blocking thread).
    pub(crate) async fn fetch_pair<A: FromRecord, B: FromRecord>(
        self,
        first: Sql,
        second: Sql,
    ) -> sqlx::Result<(Vec<A>, Vec<B>)> {
        match self {
            Conn::SqliteRead(readers) => {
                let mut rows = readers.query_all(vec![first, second]).await?.into_iter();
                let (a, b) = (rows.next().unwrap_or_default(), rows.next().unwrap_or_default());
                let a = a.iter().map(|row| A::from_record(row)).collect::<sqlx::Result<_>>()?;
                Ok((a, b.iter().map(|row| B::from_record(row)).collect::<sqlx::Result<_>>()?))
            }
            Conn::Sqlite(exec) => Ok((
                Conn::Sqlite(&mut *exec).fetch_all(first).await?,
                Conn::Sqlite(exec).fetch_all(second).await?,
            )),
            Conn::Postgres(exec) => Ok((
                Conn::Postgres(&mut *exec).fetch_all(first).await?,
                Conn::Postgres(exec).fetch_all(second).await?,
            )),
            Conn::PostgresPool(pool) => Ok((
                Conn::PostgresPool(pool).fetch_all(first).await?,
                Conn::PostgresPool(pool).fetch_all(second).await?,
            )),
        }
    }

    /// Runs a statement and answers how many rows it changed.
    pub(crate) async fn execute(self, sql: Sql) -> sqlx::Result<u64> {
        // Readers change nothing.
        on_backend!(self, sql, _rows => Ok(0), exec, text => Ok(query!(text, sql).execute(exec).await?.rows_affected()))
    }

    /// Runs several `;`-separated statements with no arguments (migrations).
    pub(crate) async fn execute_script(self, script: &str) -> sqlx::Result<()> {
        match self {
            Conn::SqliteRead(_) => {
                Err(sqlx::Error::Protocol("scripts change the database: run them in a Tx".into()))
            }
            Conn::Sqlite(exec) => sqlx::raw_sql(script).execute(exec).await.map(drop),
            Conn::PostgresPool(exec) => sqlx::raw_sql(script).execute(exec).await.map(drop),
            Conn::Postgres(exec) => sqlx::raw_sql(script).execute(exec).await.map(drop),
        }
    }
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
        let mut rows = query!(sql.text, sql).fetch(&pool);
        let mut chunks = Chunks::new(chunk);
        while let Some(row) = rows.next().await {
            let full = match row.and_then(|row| T::from_record(&row)) {
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

/// Items gathered into chunks of one size, to stream a statement's rows.
pub(crate) struct Chunks<T> {
    size: usize,
    items: Vec<T>,
}

impl<T> Chunks<T> {
    pub(crate) fn new(size: usize) -> Self {
        Chunks { size, items: Vec::with_capacity(size) }
    }

    /// Adds an item; answers the chunk it completes, if it completes one.
    pub(crate) fn push(&mut self, item: T) -> Option<Vec<T>> {
        self.items.push(item);
        (self.items.len() >= self.size)
            .then(|| std::mem::replace(&mut self.items, Vec::with_capacity(self.size)))
    }

    /// The last chunk, short, if anything is left.
    pub(crate) fn rest(self) -> Option<Vec<T>> {
        (!self.items.is_empty()).then_some(self.items)
    }
}

/// An argument value. Ids and times are turned into text and integers before binding.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Vec<u8>),
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(Some(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map(str::to_owned).into()
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<jiff::Timestamp> for Value {
    fn from(v: jiff::Timestamp) -> Self {
        Value::Int(Some(v.as_second()))
    }
}
impl From<Option<jiff::Timestamp>> for Value {
    fn from(v: Option<jiff::Timestamp>) -> Self {
        Value::Int(v.map(jiff::Timestamp::as_second))
    }
}
impl From<Option<bool>> for Value {
    fn from(v: Option<bool>) -> Self {
        Value::Bool(v)
    }
}
impl From<Option<uuid::Uuid>> for Value {
    fn from(v: Option<uuid::Uuid>) -> Self {
        Value::Text(v.map(|id| id.to_string()))
    }
}

impl From<uuid::Uuid> for Value {
    fn from(v: uuid::Uuid) -> Self {
        Value::Text(Some(v.hyphenated().to_string()))
    }
}

macro_rules! id_values {
    ($($id:ty),*) => {$(
        impl From<$id> for Value {
            fn from(v: $id) -> Self {
                v.as_uuid().into()
            }
        }

        impl From<Option<$id>> for Value {
            fn from(v: Option<$id>) -> Self {
                Value::Text(v.map(|id| id.as_uuid().hyphenated().to_string()))
            }
        }
    )*};
}
id_values!(
    ringtrack_domain::BusinessId,
    ringtrack_domain::ApiKeyId,
    ringtrack_domain::NumberId,
    ringtrack_domain::NumberGroupId,
    ringtrack_domain::NumberPoolId,
    ringtrack_domain::CallFlowId
);

/// SQL text plus its arguments, built up in order.
#[derive(Clone, Debug)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Value>,
    /// Reads at most one row through a unique index (see [`Sql::on_unique_key`]).
    pub(crate) unique_key: bool,
}

impl Sql {
    /// A statement whose text already numbers its placeholders `$1`, `$2`, …
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), args: Vec::new(), unique_key: false }
    }

    /// Marks a statement that reads at most one row through a unique index, whatever the
    /// data: cheap enough that SQLite's readers run it without leaving the async thread.
    pub(crate) fn on_unique_key(mut self) -> Self {
        self.unique_key = true;
        self
    }

    /// Supplies the next numbered argument.
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Self {
        self.args.push(value.into());
        self
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the conditions that keep rows created within `range`.
    pub(crate) fn push_period(&mut self, range: &ringtrack_domain::dates::DateRange) -> &mut Self {
        if let Some(start) = range.from {
            self.push(" AND created_at >= ").push_bind(start);
        }
        if let Some(end) = range.to {
            self.push(" AND created_at < ").push_bind(end);
        }
        self
    }

    /// Appends a placeholder for `value`, numbered after the arguments already bound.
    pub(crate) fn push_bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }
}

/// One result row, whichever driver produced it.
pub(crate) trait Record {
    fn int(&self, column: &str) -> sqlx::Result<i64>;
    fn opt_int(&self, column: &str) -> sqlx::Result<Option<i64>>;
    fn text(&self, column: &str) -> sqlx::Result<String>;
    fn opt_text(&self, column: &str) -> sqlx::Result<Option<String>>;
    fn boolean(&self, column: &str) -> sqlx::Result<bool>;
    fn opt_boolean(&self, column: &str) -> sqlx::Result<Option<bool>>;
    fn bytes(&self, column: &str) -> sqlx::Result<Vec<u8>>;

    fn time(&self, column: &str) -> sqlx::Result<jiff::Timestamp> {
        to_time(column, self.int(column)?)
    }

    fn opt_time(&self, column: &str) -> sqlx::Result<Option<jiff::Timestamp>> {
        self.opt_int(column)?.map(|s| to_time(column, s)).transpose()
    }
}

impl dyn Record + '_ {
    /// A nullable column holding the text form of a typed value.
    pub(crate) fn opt_parsed<T>(&self, column: &str) -> sqlx::Result<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.opt_text(column)? {
            None => Ok(None),
            Some(raw) => parse_column(column, &raw).map(Some),
        }
    }

    /// A column holding the text form of a typed value (an id, a role, …).
    pub(crate) fn parsed<T>(&self, column: &str) -> sqlx::Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        parse_column(column, &self.text(column)?)
    }
}

fn parse_column<T>(column: &str, raw: &str) -> sqlx::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|e: T::Err| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("{raw:?}: {e}").into(),
    })
}

fn to_time(column: &str, seconds: i64) -> sqlx::Result<jiff::Timestamp> {
    jiff::Timestamp::from_second(seconds)
        .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) })
}

macro_rules! record_for {
    ($($row:ty),*) => {$(
        impl Record for $row {
            // Literals and some aggregates are 32-bit on PostgreSQL; widen them.
            fn int(&self, column: &str) -> sqlx::Result<i64> {
                self.try_get(column).or_else(|_| self.try_get::<i32, _>(column).map(i64::from))
            }
            fn opt_int(&self, column: &str) -> sqlx::Result<Option<i64>> {
                self.try_get(column)
                    .or_else(|_| self.try_get::<Option<i32>, _>(column).map(|v| v.map(i64::from)))
            }
            fn text(&self, column: &str) -> sqlx::Result<String> {
                self.try_get(column)
            }
            fn opt_text(&self, column: &str) -> sqlx::Result<Option<String>> {
                self.try_get(column)
            }
            fn boolean(&self, column: &str) -> sqlx::Result<bool> {
                self.try_get(column)
            }
            fn opt_boolean(&self, column: &str) -> sqlx::Result<Option<bool>> {
                self.try_get(column)
            }
            fn bytes(&self, column: &str) -> sqlx::Result<Vec<u8>> {
                self.try_get(column)
            }
        }
    )*};
}
record_for!(SqliteRow, PgRow);

/// A column holding JSON (lists and maps kept as text), read into `T`.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(row: &dyn Record, column: &str) -> sqlx::Result<T> {
    serde_json::from_str(&row.text(column)?)
        .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(e) })
}

/// How a model reads itself from a row.
pub(crate) trait FromRecord: Sized {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self>;
}

/// A single number, read from the column named `value` (`SELECT count(*) AS value …`).
impl FromRecord for i64 {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.int("value")
    }
}

/// A single text, read from the column named `value`.
impl FromRecord for String {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.text("value")
    }
}
