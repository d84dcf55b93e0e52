//! Fresh databases for tests: a SQLite file in a temporary directory, or a PostgreSQL
//! database with a unique name, dropped when the guard is dropped (even after a panic).
//! And the suite's tiers: what a test needs beyond Rust (PostgreSQL, a local S3, the speech
//! model). `cargo test` on a fresh clone runs every test whose tier is here and names, once,
//! the tiers it skipped and why; `scripts/test` sets `RINGTRACK_TEST_ALL_TIERS=1`, and then
//! a missing tier fails the test instead.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::Backend;

/// What a test may need beyond Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    Postgres,
    S3,
    Speech,
}

/// Whether `tier` is here. When it is not: with `RINGTRACK_TEST_ALL_TIERS` set, a panic
/// naming what is missing; otherwise `false`, and one line on stderr (past the harness's
/// capture) the first time this test binary meets the missing tier.
pub fn tier_ready(tier: Tier) -> bool {
    let Some(why) = missing(tier) else { return true };
    if std::env::var_os("RINGTRACK_TEST_ALL_TIERS").is_some() {
        panic!("the {tier:?} tier is required (RINGTRACK_TEST_ALL_TIERS) but {why}");
    }
    static SAID: Mutex<Option<HashSet<Tier>>> = Mutex::new(None);
    let mut said = SAID.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if said.get_or_insert_with(HashSet::new).insert(tier) {
        let _ = writeln!(
            std::io::stderr(),
            "skipping the {tier:?} tier's tests: {why} (scripts/test runs every tier)"
        );
    }
    false
}

fn missing(tier: Tier) -> Option<String> {
    match tier {
        Tier::Postgres => {
            static ANSWERS: OnceLock<Option<String>> = OnceLock::new();
            ANSWERS.get_or_init(postgres_missing).clone()
        }
        Tier::S3 => std::env::var_os("RINGTRACK_TEST_S3_ENDPOINT")
            .is_none()
            .then(|| "RINGTRACK_TEST_S3_ENDPOINT names no local S3 endpoint".to_owned()),
        Tier::Speech => {
            let model = speech_model();
            let on_path = |tool: &str| {
                std::env::var_os("PATH")
                    .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
            };
            if !model.exists() {
                Some(format!("no speech model at {}", model.display()))
            } else if !(on_path("espeak-ng") && on_path("sox")) {
                Some("espeak-ng and sox (real speech) are not installed".to_owned())
            } else {
                None
            }
        }
    }
}

/// Whether anything listens where the PostgreSQL URL points.
fn postgres_missing() -> Option<String> {
    let url = postgres_admin_url();
    let authority = url.split("://").nth(1)?.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let address = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&address)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
    (!reachable).then(|| format!("no PostgreSQL answers at {address} (RINGTRACK_TEST_POSTGRES_URL)"))
}

/// The offline speech model the speech tests load: `RINGTRACK_TEST_WHISPER_MODEL`, or the
/// one `scripts/test` prepares under `target/test-data`.
pub fn speech_model() -> PathBuf {
    std::env::var_os("RINGTRACK_TEST_WHISPER_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/test-data/models/ggml-tiny.en.bin"))
    })
}

/// Where the test suite finds a PostgreSQL server it may create databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("RINGTRACK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDatabase { url, backend, _dir: Some(dir), postgres_name: None }
            }
            Backend::Postgres => {
                let name = format!("ringtrack_test_{}", uuid::Uuid::now_v7().simple());
                let admin = postgres_admin_url();
                let mut conn = connect_admin(&admin).await;
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("CREATE DATABASE on the test PostgreSQL server");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
                TestDatabase { url: format!("{base}/{name}"), backend, _dir: None, postgres_name: Some(name) }
            }
        }
    }
}

async fn connect_admin(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "tests need PostgreSQL at {url} (set RINGTRACK_TEST_POSTGRES_URL, or run scripts/test, \
             which starts it): {e}"
        )
    })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop may run inside a runtime that is shutting down: use a thread of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut conn = connect_admin(&postgres_admin_url()).await;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .map(drop)
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop a test database: {dropped:?}");
        }
    }
}

/// Writes each `async fn name(backend) { … }` twice, as `sqlite::name` and
/// `postgres::name`, so that every storage test runs on both backends.
#[macro_export]
macro_rules! test_on_both_backends {
    ($(async fn $name:ident($backend:ident: Backend) $body:block)+) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $backend = $crate::Backend::Sqlite;
                    $body
                }
            )+
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !$crate::testing::tier_ready($crate::testing::Tier::Postgres) {
                        return;
                    }
                    let $backend = $crate::Backend::Postgres;
                    $body
                }
            )+
        }
    };
}

/// Runs raw SQL in a test (to set up a state the API cannot make).
pub async fn execute(tx: &mut crate::Tx, sql: &str) {
    use crate::Connection;
    tx.conn().execute(crate::sql::Sql::new(sql)).await.expect(sql);
}

/// Reads one number, selected `AS value`, in a test.
pub async fn count(store: &crate::Store, sql: &str) -> i64 {
    use crate::Connection;
    let mut db = store;
    db.conn().fetch_one(crate::sql::Sql::new(sql)).await.expect(sql)
}

/// A completed call from +13055550100 to +15735550134 with no attribution, unqualified,
/// charged 5 cents a started minute; tests change what they need with `..`.
pub fn past_call(
    business: ringtrack_domain::BusinessId,
    created_at: jiff::Timestamp,
    status: &'static str,
    seconds: i64,
) -> crate::calls::PastCall {
    crate::calls::PastCall {
        id: ringtrack_domain::CallId::new(),
        business_id: business,
        number_id: None,
        caller_number: "+13055550100".into(),
        tracking_number: "+15735550134".into(),
        destination_number: None,
        call_flow_id: None,
        call_flow_name: None,
        status: status.parse().expect("a call status"),
        duration_seconds: seconds,
        qualified: false,
        ai_score: None,
        first_time_caller: true,
        source: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        gclid: None,
        landing_page: None,
        caller_state: None,
        cost: ringtrack_domain::Cents::new((seconds + 59) / 60 * 5),
        created_at,
    }
}
