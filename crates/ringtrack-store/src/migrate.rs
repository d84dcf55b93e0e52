//! Schema migrations, applied in order, each in its own transaction and recorded in
//! `schema_migrations`. Several nodes may start at once on one PostgreSQL: an advisory
//! lock lets one migrate while the others wait (SQLite's `BEGIN IMMEDIATE` does the same).

use crate::conn::Sql;
use crate::{Backend, Connection, Result, Store, StoreError};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration this binary knows. A script is shared when both backends take it.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/0001_foundation.sql"),
        postgres: include_str!("../migrations/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "numbers",
        sqlite: include_str!("../migrations/0002_numbers.sql"),
        postgres: include_str!("../migrations/0002_numbers.sql"),
    },
    Migration {
        version: 3,
        name: "call flows",
        sqlite: include_str!("../migrations/0003_call_flows.sql"),
        postgres: include_str!("../migrations/0003_call_flows.sql"),
    },
    Migration {
        version: 4,
        name: "call log",
        sqlite: include_str!("../migrations/0004_call_log.sql"),
        postgres: include_str!("../migrations/0004_call_log.sql"),
    },
    Migration {
        version: 5,
        name: "call rollups",
        sqlite: include_str!("../migrations/0005_call_rollups.sql"),
        postgres: include_str!("../migrations/0005_call_rollups.sql"),
    },
];

/// Arbitrary, fixed: the advisory lock that serialises migrations across nodes.
const MIGRATION_LOCK: i64 = 0x0072_696e_6774_726b;

impl Store {
    /// Brings the schema up to date; answers how many migrations were applied.
    pub async fn migrate(&self) -> Result<usize> {
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        let mut applied = 0;
        for migration in MIGRATIONS {
            let mut tx = self.begin().await?;
            if self.backend() == Backend::Postgres {
                let lock = Sql::new("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK);
                tx.conn().execute(lock).await?;
            }
            tx.conn()
                .execute_script(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        version BIGINT PRIMARY KEY,
                        name TEXT NOT NULL,
                        applied_at BIGINT NOT NULL)",
                )
                .await?;
            let current: i64 = tx
                .conn()
                .fetch_one(Sql::new("SELECT COALESCE(MAX(version), 0) AS value FROM schema_migrations"))
                .await?;
            if current > known {
                return Err(StoreError::SchemaTooNew { found: current, known });
            }
            if current >= migration.version {
                continue;
            }
            let script = match self.backend() {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            tx.conn().execute_script(script).await?;
            let record =
                Sql::new("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(crate::now());
            tx.conn().execute(record).await?;
            tx.commit().await?;
            applied += 1;
        }
        Ok(applied)
    }
}
