//! SQLite reads through rusqlite. sqlx runs each SQLite connection on a worker thread and
//! hands every row across a channel, which cost a list request more in thread switches
//! than SQLite spent answering it. Here a statement runs on a blocking thread from start to
//! end and hands back all its rows at once. Writes stay on sqlx's writer connection, but
//! for [`Writer::transaction`]: a hot write of a few statements with decisions between
//! them (a DNI lease), run whole on one blocking thread: one thread switch instead of one
//! a statement.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::WAIT;
use crate::record::{Chunks, Record, position};
use crate::sql::{Sql, Value, sqlite_placeholders};

/// A fixed set of read-only connections, each used by one statement at a time.
#[derive(Clone)]
#[doc(hidden)]
pub struct Readers {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    idle: Mutex<Option<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.inner.path).finish()
    }
}

impl Inner {
    /// Runs `work` on an idle connection, which goes back to the set afterwards (unless the
    /// set was closed meanwhile); `None` when the set is closed. The permit, held until
    /// then, is what reserved the connection.
    fn with_connection<R>(
        &self,
        permit: OwnedSemaphorePermit,
        work: impl FnOnce(&Connection) -> R,
    ) -> Option<R> {
        let conn = self.idle.lock().expect("reader list lock").as_mut().and_then(Vec::pop)?;
        let result = work(&conn);
        if let Some(idle) = self.idle.lock().expect("reader list lock").as_mut() {
            idle.push(conn);
        }
        drop(permit);
        Some(result)
    }
}

impl Readers {
    /// Opens `count` connections on an existing database file (the writer creates it).
    pub(crate) fn open(path: &Path, count: usize, cache_kib: u32) -> rusqlite::Result<Readers> {
        let connections = (0..count)
            .map(|_| {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags)?;
                conn.busy_timeout(WAIT)?;
                conn.pragma_update(None, "cache_size", -i64::from(cache_kib))?;
                conn.set_prepared_statement_cache_capacity(64);
                Ok(conn)
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Readers {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                idle: Mutex::new(Some(connections)),
                permits: Arc::new(Semaphore::new(count)),
            }),
        })
    }

    /// Every row of one statement.
    pub(crate) async fn query(&self, sql: Sql) -> sqlx::Result<Vec<Row>> {
        Ok(self.query_all(vec![sql]).await?.pop().unwrap_or_default())
    }

    /// Every row of each statement, run one after the other on one connection: one trip to
    /// a blocking thread for all of them, or none when each reads one row by a unique key.
    /// The connection goes back to the set from the thread that used it, so a request
    /// dropped while waiting (a client gone) loses nothing.
    pub(crate) async fn query_all(&self, statements: Vec<Sql>) -> sqlx::Result<Vec<Vec<Row>>> {
        let permit =
            Arc::clone(&self.inner.permits).acquire_owned().await.map_err(|_| sqlx::Error::PoolClosed)?;
        let inner = Arc::clone(&self.inner);
        let point_reads = statements.iter().all(|sql| sql.unique_key);
        let work = move || {
            let rows = inner.with_connection(permit, |conn| {
                statements.iter().map(|sql| run(conn, sql)).collect::<rusqlite::Result<Vec<_>>>()
            });
            rows.ok_or(sqlx::Error::PoolClosed)?.map_err(|e| sqlx::Error::AnyDriverError(Box::new(e)))
        };
        if point_reads {
            // Tens of microseconds: less than the trip to another thread would cost.
            return work();
        }
        tokio::task::spawn_blocking(work).await.map_err(|e| sqlx::Error::AnyDriverError(Box::new(e)))?
    }

    /// The rows of one statement in chunks of `chunk` rows, each read as `read` says, sent
    /// as the receiver takes them: constant memory whatever the row count. Reading stops
    /// when the receiver is dropped.
    pub(crate) fn stream<T: Send + 'static>(
        &self,
        sql: Sql,
        chunk: usize,
        read: fn(&dyn Record) -> sqlx::Result<T>,
        sender: tokio::sync::mpsc::Sender<sqlx::Result<Vec<T>>>,
    ) {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let Ok(permit) = Arc::clone(&inner.permits).acquire_owned().await else {
                let _ = sender.send(Err(sqlx::Error::PoolClosed)).await;
                return;
            };
            let work = move || {
                let streamed =
                    inner.with_connection(permit, |conn| stream_rows(conn, &sql, chunk, read, &sender));
                let error = match streamed {
                    None => sqlx::Error::PoolClosed,
                    Some(Err(e)) => sqlx::Error::AnyDriverError(Box::new(e)),
                    Some(Ok(())) => return,
                };
                let _ = sender.blocking_send(Err(error));
            };
            let _ = tokio::task::spawn_blocking(work).await;
        });
    }

    /// Closes the idle connections now and the busy ones as they finish; later reads fail.
    pub(crate) fn close(&self) {
        self.inner.idle.lock().expect("reader list lock").take();
        self.inner.permits.close();
    }
}

/// A second write connection. Both it and sqlx's writer begin `IMMEDIATE`, so each waits
/// (up to [`WAIT`]) for the other's transaction to end: SQLite still has one writer at a
/// time.
#[doc(hidden)]
pub struct Writer {
    conn: Arc<Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Clone for Writer {
    fn clone(&self) -> Self {
        Writer { conn: Arc::clone(&self.conn) }
    }
}

/// One statement in a [`Writer::transaction`]: its rows.
pub(crate) fn rows(tx: &rusqlite::Transaction<'_>, sql: &Sql) -> sqlx::Result<Vec<Row>> {
    run(tx, sql).map_err(|e| sqlx::Error::AnyDriverError(Box::new(e)))
}

impl Writer {
    /// Opens a write connection on the database the sqlx writer created.
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Writer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(WAIT)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(Writer { conn: Arc::new(Mutex::new(Some(conn))) })
    }

    /// Runs `work` in one `IMMEDIATE` transaction on a blocking thread; commits what it
    /// answers `Ok`, rolls back otherwise.
    pub(crate) async fn transaction<R: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> sqlx::Result<R> + Send + 'static,
    ) -> sqlx::Result<R> {
        let conn = Arc::clone(&self.conn);
        let job = move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let conn = guard.as_mut().ok_or(sqlx::Error::PoolClosed)?;
            let driver = |e: rusqlite::Error| sqlx::Error::AnyDriverError(Box::new(e));
            let tx =
                conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(driver)?;
            let answer = work(&tx)?;
            tx.commit().map_err(driver)?;
            Ok(answer)
        };
        tokio::task::spawn_blocking(job).await.map_err(|e| sqlx::Error::AnyDriverError(Box::new(e)))?
    }

    /// Closes the connection once its transaction, if any, ends; later writes fail.
    pub(crate) fn close(&self) {
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    }
}

fn stream_rows<T>(
    conn: &Connection,
    sql: &Sql,
    chunk: usize,
    read: fn(&dyn Record) -> sqlx::Result<T>,
    sender: &tokio::sync::mpsc::Sender<sqlx::Result<Vec<T>>>,
) -> rusqlite::Result<()> {
    let mut statement = prepare(conn, sql)?;
    let columns = column_names(&statement);
    let mut rows = statement.raw_query();
    let mut chunks = Chunks::new(chunk);
    while let Some(row) = rows.next()? {
        let full = match read(&InPlace { row, columns: &columns, next: std::cell::Cell::new(0) }) {
            Ok(item) => chunks.push(item),
            Err(e) => {
                let _ = sender.blocking_send(Err(e));
                return Ok(());
            }
        };
        if let Some(full) = full
            && sender.blocking_send(Ok(full)).is_err()
        {
            return Ok(());
        }
    }
    if let Some(rest) = chunks.rest() {
        let _ = sender.blocking_send(Ok(rest));
    }
    Ok(())
}

fn prepare<'c>(conn: &'c Connection, sql: &Sql) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(&sqlite_placeholders(&sql.text))?;
    for (i, arg) in sql.args.iter().enumerate() {
        match arg {
            Value::Int(v) => statement.raw_bind_parameter(i + 1, v)?,
            Value::Text(v) => statement.raw_bind_parameter(i + 1, v.as_deref())?,
            Value::Bool(v) => statement.raw_bind_parameter(i + 1, v)?,
            Value::Bytes(v) => statement.raw_bind_parameter(i + 1, v.as_slice())?,
        }
    }
    Ok(statement)
}

fn column_names(statement: &rusqlite::Statement<'_>) -> Arc<[String]> {
    statement.column_names().into_iter().map(str::to_owned).collect()
}

fn run(conn: &Connection, sql: &Sql) -> rusqlite::Result<Vec<Row>> {
    let mut statement = prepare(conn, sql)?;
    let columns = column_names(&statement);
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(own(row, &columns)?);
    }
    Ok(out)
}

fn own(row: &rusqlite::Row<'_>, columns: &Arc<[String]>) -> rusqlite::Result<Row> {
    let mut cells = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        cells.push(match row.get_ref(i)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(v) => Cell::Int(v),
            ValueRef::Real(_) => Cell::Real,
            ValueRef::Blob(bytes) => Cell::Blob(bytes.to_vec()),
            ValueRef::Text(bytes) => Cell::Text(
                String::from_utf8(bytes.to_vec()).map_err(|e| rusqlite::Error::Utf8Error(e.utf8_error()))?,
            ),
        });
    }
    Ok(Row { columns: Arc::clone(columns), cells, next: std::cell::Cell::new(0) })
}

#[derive(Debug)]
enum Cell {
    Null,
    Int(i64),
    /// No column read here holds one; kept to name the mismatch.
    Real,
    Text(String),
    Blob(Vec<u8>),
}

/// One row, read out of SQLite and owned.
#[derive(Debug)]
pub(crate) struct Row {
    columns: Arc<[String]>,
    cells: Vec<Cell>,
    /// Where the next lookup by name starts (see [`position`]).
    next: std::cell::Cell<usize>,
}

/// A row being stepped, read where SQLite holds it (the export's rows): no owned copy of
/// its cells is made on the way to the model.
struct InPlace<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    columns: &'r [String],
    next: std::cell::Cell<usize>,
}

/// A cell of either kind of row, borrowed.
#[derive(Debug)]
enum CellRef<'a> {
    Null,
    Int(i64),
    Real,
    Text(&'a str),
    Blob(&'a [u8]),
}

impl Row {
    fn cell(&self, column: &str) -> sqlx::Result<CellRef<'_>> {
        let index = position(self.columns.len(), &self.next, column, |i| &self.columns[i])?;
        Ok(match &self.cells[index] {
            Cell::Null => CellRef::Null,
            Cell::Int(v) => CellRef::Int(*v),
            Cell::Real => CellRef::Real,
            Cell::Text(v) => CellRef::Text(v),
            Cell::Blob(v) => CellRef::Blob(v),
        })
    }
}

impl InPlace<'_, '_> {
    fn cell(&self, column: &str) -> sqlx::Result<CellRef<'_>> {
        let index = position(self.columns.len(), &self.next, column, |i| &self.columns[i])?;
        let decode =
            |e: rusqlite::Error| sqlx::Error::ColumnDecode { index: column.to_owned(), source: e.into() };
        Ok(match self.row.get_ref(index).map_err(decode)? {
            ValueRef::Null => CellRef::Null,
            ValueRef::Integer(v) => CellRef::Int(v),
            ValueRef::Real(_) => CellRef::Real,
            ValueRef::Text(bytes) => {
                CellRef::Text(std::str::from_utf8(bytes).map_err(|e| decode(rusqlite::Error::Utf8Error(e)))?)
            }
            ValueRef::Blob(bytes) => CellRef::Blob(bytes),
        })
    }
}

fn mismatch(column: &str, wanted: &str, found: &CellRef<'_>) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("expected {wanted}, found {found:?}").into(),
    }
}

fn required<T>(column: &str, value: Option<T>) -> sqlx::Result<T> {
    value.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: "unexpected NULL".into(),
    })
}

/// Reads typed values out of either kind of row's cells, the same way.
macro_rules! record_of_cells {
    ($($row:ty),*) => {$(
        impl Record for $row {
            fn int(&self, column: &str) -> sqlx::Result<i64> {
                required(column, self.opt_int(column)?)
            }
            fn opt_int(&self, column: &str) -> sqlx::Result<Option<i64>> {
                match self.cell(column)? {
                    CellRef::Null => Ok(None),
                    CellRef::Int(v) => Ok(Some(v)),
                    other => Err(mismatch(column, "an integer", &other)),
                }
            }
            fn text(&self, column: &str) -> sqlx::Result<String> {
                required(column, self.opt_text(column)?)
            }
            fn opt_text(&self, column: &str) -> sqlx::Result<Option<String>> {
                match self.cell(column)? {
                    CellRef::Null => Ok(None),
                    CellRef::Text(v) => Ok(Some(v.to_owned())),
                    other => Err(mismatch(column, "text", &other)),
                }
            }
            fn boolean(&self, column: &str) -> sqlx::Result<bool> {
                required(column, self.opt_boolean(column)?)
            }
            fn opt_boolean(&self, column: &str) -> sqlx::Result<Option<bool>> {
                Ok(self.opt_int(column)?.map(|v| v != 0))
            }
            fn bytes(&self, column: &str) -> sqlx::Result<Vec<u8>> {
                match self.cell(column)? {
                    CellRef::Blob(v) => Ok(v.to_vec()),
                    other => Err(mismatch(column, "a blob", &other)),
                }
            }
        }
    )*};
}
record_of_cells!(Row, InPlace<'_, '_>);
