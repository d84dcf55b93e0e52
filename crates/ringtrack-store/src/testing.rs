//! Fresh databases for tests: a SQLite file in a temporary directory, or a PostgreSQL
//! database with a unique name, dropped when the guard is dropped (even after a panic).

use crate::Backend;

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
    tx.conn().execute(crate::conn::Sql::new(sql)).await.expect(sql);
}

/// Reads one number, selected `AS value`, in a test.
pub async fn count(store: &crate::Store, sql: &str) -> i64 {
    use crate::Connection;
    let mut db = store;
    db.conn().fetch_one(crate::conn::Sql::new(sql)).await.expect(sql)
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
        id: uuid::Uuid::now_v7(),
        business_id: business,
        number_id: None,
        caller_number: "+13055550100".into(),
        tracking_number: "+15735550134".into(),
        destination_number: None,
        call_flow_id: None,
        call_flow_name: None,
        status,
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
