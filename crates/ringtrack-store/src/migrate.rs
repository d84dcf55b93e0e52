//! Schema migrations, applied in order, each in its own transaction and recorded in
//! `schema_migrations`. Several nodes may start at once on one PostgreSQL: an advisory
//! lock lets one migrate while the others wait (SQLite's `BEGIN IMMEDIATE` does the same).

use std::future::Future;
use std::pin::Pin;

use crate::sql::Sql;
use crate::{Backend, Connection, Result, Store, StoreError, Tx};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// Work SQL cannot express, run after the script in the same transaction.
    backfill: Option<Backfill>,
}

// Not `Send`: rustc cannot prove sqlx's futures `Send` for every `'t`; migrations run before serving.
type Backfill = for<'t> fn(&'t mut Tx) -> Pin<Box<dyn Future<Output = Result<()>> + 't>>;

/// A migration whose one script both databases take.
macro_rules! shared {
    ($version:literal, $name:literal, $file:literal) => {
        shared!($version, $name, $file, None)
    };
    ($version:literal, $name:literal, $file:literal, $backfill:expr) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/", $file)),
            postgres: include_str!(concat!("../migrations/", $file)),
            backfill: $backfill,
        }
    };
}

/// Every migration this binary knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    shared!(1, "foundation", "0001_foundation.sql"),
    shared!(2, "numbers", "0002_numbers.sql"),
    shared!(3, "call flows", "0003_call_flows.sql"),
    shared!(4, "call log", "0004_call_log.sql"),
    shared!(5, "call rollups", "0005_call_rollups.sql"),
    shared!(
        6,
        "caller sets and totals",
        "0006_caller_sets_and_totals.sql",
        Some(crate::rollups::backfill_caller_sets)
    ),
    shared!(7, "jobs, recordings and transcriptions", "0007_jobs_recordings_transcriptions.sql"),
    shared!(8, "sms", "0008_sms.sql"),
    shared!(9, "dni", "0009_dni.sql"),
    shared!(10, "webhooks", "0010_webhooks.sql"),
    shared!(11, "quiet_calls", "0011_quiet_calls.sql"),
    shared!(12, "bounded durations", "0012_bounded_durations.sql"),
    shared!(13, "dni guards", "0013_dni_guards.sql"),
    shared!(14, "call day versions", "0014_call_day_versions.sql"),
    shared!(15, "single-statement leases", "0015_single_statement_leases.sql"),
    shared!(16, "people", "0016_people.sql"),
    shared!(17, "owner links", "0017_owner_links.sql"),
    shared!(18, "campaign filter", "0018_campaign_filter.sql"),
    shared!(19, "dni pages", "0019_dni_pages.sql"),
    shared!(20, "dni page latest view", "0020_dni_page_latest_view.sql"),
    shared!(21, "transcription terms", "0021_transcription_terms.sql"),
    shared!(22, "trust", "0022_trust.sql"),
    shared!(23, "withheld callers", "0023_withheld_callers.sql"),
    shared!(24, "ad spend", "0024_ad_spend.sql"),
    shared!(25, "reports", "0025_reports.sql", Some(crate::calls::backfill_landing_page_addresses)),
];

/// Arbitrary, fixed: the advisory lock that serialises migrations across nodes.
const MIGRATION_LOCK: i64 = 0x0072_696e_6774_726b;

impl Store {
    /// Brings the schema up to date; answers how many migrations were applied.
    pub async fn migrate(&self) -> Result<usize> {
        self.migrate_to(MIGRATIONS.last().map_or(0, |m| m.version)).await
    }

    /// Brings the schema up to `version` (tests start from an older schema this way).
    pub async fn migrate_to(&self, version: i64) -> Result<usize> {
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        let mut applied = 0;
        for migration in MIGRATIONS.iter().filter(|m| m.version <= version) {
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
            if let Some(backfill) = migration.backfill {
                backfill(&mut tx).await?;
            }
            let record =
                Sql::new("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(self.now());
            tx.conn().execute(record).await?;
            tx.commit().await?;
            applied += 1;
        }
        Ok(applied)
    }
}
