//! Persistence behind one narrow API, on SQLite (the embedded default) or PostgreSQL.
//!
//! SQL is written once with `$1` placeholders, which both drivers accept, and run on
//! whichever backend the [`Store`] was opened on; the few statements that must differ
//! (locking, DDL details) are fenced in small per-backend blocks. Times are stored as
//! Unix seconds and ids as UUID text, so comparisons behave the same on both.
//!
//! Reads go through `&Store` (a pool); every write a request makes goes through one
//! [`Tx`], but a DNI lease on SQLite (see `sqlite_read::Writer`). On SQLite every write
//! transaction starts with `BEGIN IMMEDIATE`, on sqlx's connection or the lease's, so one
//! that reads before it writes can never fail to upgrade its lock, and the two connections
//! wait for each other.

pub mod ad_spend;
pub mod analytics;
pub mod api_keys;
pub mod attempts;
pub mod businesses;
mod call_filter;
pub mod call_flows;
pub mod calls;
mod changes;
mod clock;
mod conn;
mod facts;
pub mod forms;
mod grouping;
pub mod idempotency;
pub mod jobs;
pub mod live;
pub mod messages;
mod migrate;
pub mod number_groups;
pub mod numbers;
mod paging;
pub mod people;
pub mod pools;
mod record;
pub mod recordings;
pub mod rollups;
pub mod saved_reports;
pub mod scoring;
mod sql;
mod sqlite_read;
#[cfg(feature = "testing")]
pub mod testing;
pub mod voicemails;
pub mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

pub use clock::Clock;
pub use conn::Connection;
pub use migrate::MIGRATIONS;
pub use paging::Page;

use conn::Conn;

/// How long a statement waits for a lock (SQLite) or a pooled connection before failing.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A pooled PostgreSQL connection idle this long is pinged before it is used again.
const PING_WHEN_IDLE: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database: {0}")]
    Unavailable(String),
    #[error("the database schema is at version {found}, newer than this binary knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
pub struct Store {
    pools: Pools,
    clock: Clock,
    /// What analytics groups, kept in memory by this node (shared by the store's clones).
    facts: Arc<facts::FactCache>,
    /// What this node keeps that a change on any node can make stale.
    kept: Arc<changes::Kept>,
    /// PostgreSQL: this node's listener for those changes, running while the store lives.
    _listening: Option<Arc<changes::StopListening>>,
}

#[derive(Clone, Debug)]
enum Pools {
    Sqlite { reader: sqlite_read::Readers, writer: SqlitePool, direct: sqlite_read::Writer },
    Postgres(PgPool),
}

/// One write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
    clock: Clock,
    kept: Arc<changes::Kept>,
    /// Changes this transaction announces, applied to this node's copies at commit.
    announced: Vec<changes::Change>,
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Store {
    /// Opens `url` (`sqlite://PATH` or `postgres://...`), creating a SQLite file if needed.
    /// It does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?
                .disable_statement_logging();
            // Eight connections a node: more only queue inside PostgreSQL's processes for the
            // same cores (with 16, a list served 12% fewer requests, and p99 was 40% longer).
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(WAIT)
                // sqlx pings a connection on every acquire by default: a second round trip
                // for every request. A connection in steady use is known alive; one idle a
                // while is pinged (a failover may have cut it). A connection cut mid-use
                // fails that request (5xx), as a ping could not prevent either.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_WHEN_IDLE {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options.clone())
                .await
                .map_err(|e| StoreError::Unavailable(describe_connect_error(&e)))?;
            let kept = Arc::new(changes::Kept::new(false));
            let listening = changes::listen(options, kept.clone());
            return Ok(Store {
                pools: Pools::Postgres(pool),
                clock: Clock::system(),
                facts: Default::default(),
                kept,
                _listening: Some(Arc::new(listening)),
            });
        }
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Unavailable(
                "the database URL must start with sqlite:// or postgres://".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(WAIT)
            .foreign_keys(true)
            // Statements are not logged: the request log says what was slow.
            .disable_statement_logging();
        let open = |max: u32, options: SqliteConnectOptions| async move {
            SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(WAIT)
                // A file has no peer that could hang up; a ping is one more thread switch.
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(|e| StoreError::Unavailable(describe_connect_error(&e)))
        };
        // The writer is opened first: it creates the file and switches it to WAL. Page
        // caches (negative: KiB) keep hot index pages in the process instead of re-reading
        // them from the OS on every statement; their sum bounds the memory they can take.
        let writer = open(1, options.clone().pragma("cache_size", "-32768")).await?;
        let reader = sqlite_read::Readers::open(options.get_filename(), 4, 8192)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let direct = sqlite_read::Writer::open(options.get_filename())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Store {
            pools: Pools::Sqlite { reader, writer, direct },
            clock: Clock::system(),
            facts: Default::default(),
            kept: Arc::new(changes::Kept::new(true)),
            _listening: None,
        })
    }

    /// The same store, telling the time by `clock` (tests move it by hand).
    pub fn with_clock(self, clock: Clock) -> Store {
        Store { clock, ..self }
    }

    /// SQLite's second write connection ([`sqlite_read::Writer`]); `None` on PostgreSQL.
    pub(crate) fn direct_writer(&self) -> Option<&sqlite_read::Writer> {
        match &self.pools {
            Pools::Sqlite { direct, .. } => Some(direct),
            Pools::Postgres(_) => None,
        }
    }

    pub(crate) fn facts(&self) -> &facts::FactCache {
        &self.facts
    }

    pub(crate) fn kept(&self) -> &changes::Kept {
        &self.kept
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The time now, in whole seconds.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.pools {
            Pools::Sqlite { writer, .. } => TxInner::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner, clock: self.clock.clone(), kept: self.kept.clone(), announced: Vec::new() })
    }

    /// Whether the database answers a trivial query (for readiness probes).
    pub async fn ping(&self) -> bool {
        let mut db = self;
        db.conn().fetch_one::<i64>(sql::Sql::new("SELECT 1 AS value")).await.is_ok()
    }

    /// Every row of one statement, read as the receiver takes them, `chunk` rows at a time:
    /// constant memory whatever the row count, and one statement (one snapshot) for all.
    pub(crate) fn stream<T: record::FromRecord + Send + 'static>(
        &self,
        sql: sql::Sql,
        chunk: usize,
    ) -> tokio::sync::mpsc::Receiver<sqlx::Result<Vec<T>>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        match &self.pools {
            Pools::Sqlite { reader, .. } => reader.stream(sql, chunk, T::from_record, sender),
            Pools::Postgres(pool) => conn::stream_postgres(pool.clone(), sql, chunk, sender),
        }
        receiver
    }

    /// Refreshes the planner's statistics. Bulk loads call it as they go: a plan chosen
    /// while a table was small (and cached by a prepared statement) would otherwise scan
    /// it whole once it is large, where autovacuum is off or has not run yet.
    pub async fn analyze(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.conn().execute_script("ANALYZE").await?;
        tx.commit().await
    }

    /// Writes a consistent copy of a SQLite database to `path` while it serves
    /// (`VACUUM INTO`: one snapshot, compacted). PostgreSQL has `pg_dump` for this.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        let Pools::Sqlite { writer, .. } = &self.pools else {
            return Err(StoreError::Unavailable("back up PostgreSQL with pg_dump (see the README)".into()));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Unavailable(format!("{} is not UTF-8", path.display())))?;
        // Outside any transaction (VACUUM cannot run in one), on the writer connection.
        sqlx::query("VACUUM INTO ?").bind(target).execute(writer).await?;
        Ok(())
    }

    /// Closes every connection; on SQLite the last close checkpoints the WAL.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { reader, writer, direct } => {
                reader.close();
                direct.close();
                writer.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    /// The time now, by the store's clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// What a `SELECT` ends with to hold the rows it reads until the transaction ends:
    /// `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose write transactions already
    /// hold the database's single write lock.
    pub(crate) fn row_lock(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Tells every node, when this transaction commits, that an API key was revoked (each
    /// forgets the keys it kept).
    pub(crate) async fn announce_key_revoked(&mut self) -> Result<()> {
        self.announce(changes::Change::ApiKeys).await
    }

    /// Tells the pages watching `heard`'s topic of its business, on every node, once this
    /// transaction commits.
    pub(crate) async fn announce_live(&mut self, heard: live::Heard) -> Result<()> {
        self.announce(changes::Change::Live(heard)).await
    }

    /// Tells every node of `change` when this transaction commits (see `changes`).
    async fn announce(&mut self, change: changes::Change) -> Result<()> {
        if self.backend() == Backend::Postgres {
            let notify =
                sql::Sql::new("SELECT pg_notify($1, $2)").bind(changes::CHANNEL).bind(change.payload());
            self.conn().execute(notify).await?;
        }
        self.announced.push(change);
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        let postgres = self.backend() == Backend::Postgres;
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        for change in self.announced {
            if change.applied_at_commit(postgres) {
                self.kept.apply(change);
            }
        }
        Ok(())
    }
}

impl Connection for &Store {
    fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    fn conn(&mut self) -> Conn<'_> {
        match &self.pools {
            Pools::Sqlite { reader, .. } => Conn::SqliteRead(reader),
            Pools::Postgres(pool) => Conn::PostgresPool(pool),
        }
    }
}

impl Connection for Tx {
    fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Conn::Sqlite(tx),
            TxInner::Postgres(tx) => Conn::Postgres(tx),
        }
    }
}

fn describe_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out connecting to the database".into(),
        other => other.to_string(),
    }
}
