//! The store's own rules, on both backends: migrations, key limits, balances, paging.

use ringtrack_domain::paging::{PageRequest, PagingParams};
use ringtrack_domain::{ApiKeySecret, Cents, Role, SecretHash};
use ringtrack_store::api_keys::{self, CreateKeyError, RevokeError};
use ringtrack_store::businesses::{self, BalanceError};
use ringtrack_store::live::{self, Topic};
use std::time::{Duration, Instant};

use ringtrack_store::testing::{TestDatabase, execute};
use ringtrack_store::{Backend, Store, StoreError, test_on_both_backends};

async fn open(backend: Backend) -> (TestDatabase, Store) {
    let db = TestDatabase::create(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    (db, store)
}

async fn new_business(store: &Store) -> ringtrack_domain::BusinessId {
    let mut tx = store.begin().await.unwrap();
    let b = businesses::create(&mut tx, "Acme Plumbing", "America/Chicago").await.unwrap();
    tx.commit().await.unwrap();
    b.id
}

async fn new_key(
    store: &Store,
    business: ringtrack_domain::BusinessId,
    role: Role,
) -> Result<api_keys::ApiKey, CreateKeyError> {
    let mut tx = store.begin().await.unwrap();
    let secret = ApiKeySecret::generate(&mut rand::rng());
    let key = api_keys::create(&mut tx, business, "key", role, &secret).await.unwrap();
    tx.commit().await.unwrap();
    key
}

fn page(pairs: &[(&str, &str)]) -> PageRequest {
    let mut p = PagingParams::default();
    for (k, v) in pairs {
        match *k {
            "per_page" => p.per_page = Some((*v).into()),
            "cursor" => p.cursor = Some((*v).into()),
            "offset" => p.offset = Some((*v).into()),
            _ => unreachable!(),
        }
    }
    PageRequest::parse(&p).unwrap()
}

test_on_both_backends! {
    async fn migrating_twice_and_concurrently_is_harmless(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let (a, b) = (Store::connect(&db.url).await.unwrap(), Store::connect(&db.url).await.unwrap());
        let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
        assert_eq!(ra.unwrap() + rb.unwrap(), ringtrack_store::MIGRATIONS.len());
        assert_eq!(a.migrate().await.unwrap(), 0);
        a.close().await;
        b.close().await;
    }

    async fn a_schema_from_a_newer_binary_is_refused(backend: Backend) {
        let (_db, store) = open(backend).await;
        let mut tx = store.begin().await.unwrap();
        businesses::create(&mut tx, "x", "UTC").await.unwrap();
        tx.commit().await.unwrap();
        // Simulate a newer binary's migration having run.
        let url = _db.url.clone();
        store.close().await;
        let store = Store::connect(&url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        ringtrack_store::testing::execute(&mut tx, "INSERT INTO schema_migrations VALUES (9999, 'future', 0)").await;
        tx.commit().await.unwrap();
        match store.migrate().await {
            Err(StoreError::SchemaTooNew { found: 9999, .. }) => {}
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    async fn a_business_has_at_most_ten_active_keys(backend: Backend) {
        let (_db, store) = open(backend).await;
        let business = new_business(&store).await;
        let mut keys = Vec::new();
        for _ in 0..10 {
            keys.push(new_key(&store, business, Role::Admin).await.unwrap());
        }
        assert_eq!(new_key(&store, business, Role::Viewer).await, Err(CreateKeyError::LimitReached));
        let mut tx = store.begin().await.unwrap();
        api_keys::revoke(&mut tx, business, keys[3].id).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert!(new_key(&store, business, Role::Viewer).await.is_ok());
        assert_eq!(new_key(&store, business, Role::Viewer).await, Err(CreateKeyError::LimitReached));
    }

    async fn concurrent_key_creation_never_passes_the_limit(backend: Backend) {
        let (_db, store) = open(backend).await;
        let business = new_business(&store).await;
        let attempts: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { new_key(&store, business, Role::Viewer).await })
            })
            .collect();
        let mut results = Vec::new();
        for attempt in attempts {
            results.push(attempt.await.unwrap());
        }
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 10);
        assert_eq!(results.iter().filter(|r| **r == Err(CreateKeyError::LimitReached)).count(), 6);
    }

    async fn the_last_admin_key_cannot_be_revoked(backend: Backend) {
        let (_db, store) = open(backend).await;
        let business = new_business(&store).await;
        let admin = new_key(&store, business, Role::Admin).await.unwrap();
        let viewer = new_key(&store, business, Role::Viewer).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(api_keys::revoke(&mut tx, business, admin.id).await.unwrap(), Err(RevokeError::LastAdmin));
        let revoked = api_keys::revoke(&mut tx, business, viewer.id).await.unwrap().unwrap();
        assert!(revoked.revoked_at.is_some());
        // Revoking again answers the same key, unchanged.
        assert_eq!(api_keys::revoke(&mut tx, business, viewer.id).await.unwrap(), Ok(revoked));
        tx.commit().await.unwrap();
        let other = new_business(&store).await;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(api_keys::revoke(&mut tx, other, admin.id).await.unwrap(), Err(RevokeError::NotFound));
    }

    async fn a_revoked_key_stops_working_on_every_node_at_once(backend: Backend) {
        let (db, node_a) = open(backend).await;
        // A second node: on PostgreSQL another store on the same database; SQLite is served by
        // one process, whose clones share what they keep.
        let node_b = match backend {
            Backend::Postgres => Store::connect(&db.url).await.unwrap(),
            Backend::Sqlite => node_a.clone(),
        };
        let business = new_business(&node_a).await;
        new_key(&node_a, business, Role::Admin).await.unwrap();
        let role_on = |store: &Store, hash: &SecretHash| {
            let (store, hash) = (store.clone(), hash.clone());
            async move { api_keys::find_active(&store, &hash).await.unwrap().map(|key| key.role) }
        };
        let write = |sql: String| {
            let store = node_a.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                execute(&mut tx, &sql).await;
                tx.commit().await.unwrap();
            }
        };
        // A key node A keeps: it still answers "viewer" after the role was changed behind
        // its back (unannounced, which the product never does). Each try uses a new key, so
        // a try made while the listener was connecting leaves nothing stale behind.
        let kept_by_a = || async {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let secret = ApiKeySecret::generate(&mut rand::rng());
                let mut tx = node_a.begin().await.unwrap();
                let key = api_keys::create(&mut tx, business, "probe", Role::Viewer, &secret).await.unwrap().unwrap();
                tx.commit().await.unwrap();
                let hash = secret.hash();
                assert_eq!(role_on(&node_a, &hash).await, Some(Role::Viewer));
                write(format!("UPDATE api_keys SET role = 'manager' WHERE id = '{}'", key.id)).await;
                if role_on(&node_a, &hash).await == Some(Role::Viewer) {
                    return (key, hash);
                }
                write(format!("DELETE FROM api_keys WHERE id = '{}'", key.id)).await;
                assert!(Instant::now() < deadline, "node A never kept a key");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        if backend == Backend::Postgres {
            // A node that loses its listener may have missed a revocation: it stops
            // answering from its copy, and forgets it.
            let (_, hash) = kept_by_a().await;
            let mut tx = node_b.begin().await.unwrap();
            execute(
                &mut tx,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await;
            tx.commit().await.unwrap();
            // Sooner than the listener connects again (a second), which also forgets.
            let deadline = Instant::now() + Duration::from_millis(500);
            while role_on(&node_a, &hash).await != Some(Role::Manager) {
                assert!(Instant::now() < deadline, "node A still answers from a copy its lost listener cannot vouch for");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        // Revoked on node B: node A refuses the key at once, however recently it kept it
        // (on PostgreSQL, once listening again).
        let (key, hash) = kept_by_a().await;
        let mut tx = node_b.begin().await.unwrap();
        api_keys::revoke(&mut tx, business, key.id).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let revoked_at = Instant::now();
        while role_on(&node_a, &hash).await.is_some() {
            assert!(revoked_at.elapsed() < Duration::from_secs(1), "node A still accepts a revoked key");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(role_on(&node_b, &hash).await, None);
    }

    async fn live_news_reaches_every_node_once_its_transaction_commits(backend: Backend) {
        let (db, node_a) = open(backend).await;
        let node_b = match backend {
            Backend::Postgres => Store::connect(&db.url).await.unwrap(),
            Backend::Sqlite => node_a.clone(),
        };
        let business = new_business(&node_a).await;
        let mut on_a = live::subscribe(&node_a);
        let mut on_b = live::subscribe(&node_b);
        // On PostgreSQL a node hears nothing it could have missed until its listener is up.
        let listening = async {
            loop {
                let mut tx = node_b.begin().await.unwrap();
                live::announce(&mut tx, business, Topic::Calls).await.unwrap();
                tx.commit().await.unwrap();
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(200), on_a.recv()).await {
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), listening).await.expect("node A listens");
        let drain = |receiver: &mut tokio::sync::broadcast::Receiver<live::Heard>| while receiver.try_recv().is_ok() {};
        tokio::time::sleep(Duration::from_millis(200)).await;
        drain(&mut on_a);
        drain(&mut on_b);

        // A rolled-back transaction tells no one.
        let mut tx = node_b.begin().await.unwrap();
        live::announce(&mut tx, business, Topic::Calls).await.unwrap();
        drop(tx);
        let mut tx = node_b.begin().await.unwrap();
        live::announce(&mut tx, business, Topic::Calls).await.unwrap();
        let uncommitted = tokio::time::timeout(Duration::from_millis(300), on_a.recv()).await;
        assert!(uncommitted.is_err(), "nothing is heard before the commit: {uncommitted:?}");
        tx.commit().await.unwrap();
        let expected = live::Heard { topic: Topic::Calls, business_id: business };
        for (node, receiver) in [("A", &mut on_a), ("B", &mut on_b)] {
            let heard = tokio::time::timeout(Duration::from_secs(1), receiver.recv()).await;
            assert_eq!(heard.expect("heard within a second").unwrap(), expected, "node {node}");
            let again = tokio::time::timeout(Duration::from_millis(300), receiver.recv()).await;
            assert!(again.is_err(), "node {node} hears it once, not also from the rolled-back one: {again:?}");
        }
    }

    async fn last_use_is_written_at_most_once_a_minute(backend: Backend) {
        let (_db, store) = open(backend).await;
        let business = new_business(&store).await;
        let key = new_key(&store, business, Role::Viewer).await.unwrap();
        let read = || async {
            let page = api_keys::list(&store, business, &PageRequest::default()).await.unwrap();
            page.items[0].last_used_at.map(jiff::Timestamp::as_second)
        };
        for (at, expected) in [(1_800_000_000, 1_800_000_000), (1_800_000_030, 1_800_000_000), (1_800_000_060, 1_800_000_060)] {
            let mut tx = store.begin().await.unwrap();
            api_keys::record_use(&mut tx, key.id, jiff::Timestamp::from_second(at).unwrap(), 60).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(read().await, Some(expected), "after a use at {at}");
        }
    }

    async fn balances_change_with_an_audit_entry_and_never_overflow(backend: Backend) {
        let (_db, store) = open(backend).await;
        let business = new_business(&store).await;
        let mut tx = store.begin().await.unwrap();
        let after = businesses::change_balance(&mut tx, business, Cents::new(4500), "credit").await.unwrap();
        assert_eq!(after, Ok(Cents::new(4500)));
        let after = businesses::change_balance(&mut tx, business, Cents::new(-300), "number").await.unwrap();
        assert_eq!(after, Ok(Cents::new(4200)));
        let overflow = businesses::change_balance(&mut tx, business, Cents::new(i64::MAX), "x").await.unwrap();
        assert_eq!(overflow, Err(BalanceError::OutOfRange));
        let missing = ringtrack_domain::BusinessId::new();
        let none = businesses::change_balance(&mut tx, missing, Cents::new(1), "x").await.unwrap();
        assert_eq!(none, Err(BalanceError::NoSuchBusiness));
        tx.commit().await.unwrap();
        let stored = businesses::get(&store, business).await.unwrap().unwrap();
        assert_eq!(stored.balance, Cents::new(4200));
        let entries = ringtrack_store::testing::count(&store, "SELECT count(*) AS value FROM balance_entries").await;
        assert_eq!(entries, 2);
    }

    async fn simultaneous_calls_take_distinct_round_robin_turns(backend: Backend) {
        let (_db, store) = open(backend).await;
        let business = new_business(&store).await;
        let steps = ringtrack_domain::flow::parse_steps(&serde_json::json!([{"type": "round_robin", "numbers": ["3055551001", "3055551002"]}])).unwrap();
        let mut tx = store.begin().await.unwrap();
        let flow = ringtrack_store::call_flows::create(&mut tx, business, "Rotation", &steps, &Default::default()).await.unwrap();
        tx.commit().await.unwrap();
        let turns: Vec<_> = (0..12)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut tx = store.begin().await.unwrap();
                    let turn = ringtrack_store::call_flows::next_rotation(&mut tx, flow.id).await.unwrap();
                    tx.commit().await.unwrap();
                    turn
                })
            })
            .collect();
        let mut taken = Vec::new();
        for turn in turns {
            taken.push(turn.await.unwrap());
        }
        taken.sort();
        assert_eq!(taken, (0..12).collect::<Vec<u64>>(), "every call its own turn");
    }

    async fn a_cursor_is_stable_while_rows_arrive(backend: Backend) {
        let (_db, store) = open(backend).await;
        let business = new_business(&store).await;
        for _ in 0..5 {
            new_key(&store, business, Role::Viewer).await.unwrap();
        }
        let first = api_keys::list(&store, business, &page(&[("per_page", "2")])).await.unwrap();
        assert_eq!(first.total, 5);
        let seen: Vec<_> = first.items.iter().map(|k| k.id).collect();
        // New keys arrive at the top; the cursor keeps going down from where it was.
        new_key(&store, business, Role::Viewer).await.unwrap();
        let cursor = first.next_cursor.unwrap().encode();
        let second = api_keys::list(&store, business, &page(&[("per_page", "2"), ("cursor", &cursor)])).await.unwrap();
        let third_cursor = second.next_cursor.clone().unwrap().encode();
        let third = api_keys::list(&store, business, &page(&[("per_page", "2"), ("cursor", &third_cursor)])).await.unwrap();
        assert_eq!(third.next_cursor, None);
        let mut all: Vec<_> = seen.into_iter().chain(second.items.iter().map(|k| k.id)).chain(third.items.iter().map(|k| k.id)).collect();
        assert_eq!(all.len(), 5);
        let sorted = { let mut s = all.clone(); s.sort(); s.reverse(); s };
        assert_eq!(all, sorted, "newest first, nothing repeated");
        all.dedup();
        assert_eq!(all.len(), 5);
        // An offset beyond the end is an empty page, not an error.
        let beyond = api_keys::list(&store, business, &page(&[("offset", "100")])).await.unwrap();
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.total, 6);
    }
}

/// Distinct callers, kept as numbered sets per day.
mod caller_sets {
    use super::*;

    fn past_call(
        business: ringtrack_domain::BusinessId,
        caller: &str,
        day: i64,
    ) -> ringtrack_store::calls::PastCall {
        let at = jiff::Timestamp::from_second(day * 86_400 + 3_600).unwrap();
        ringtrack_store::calls::PastCall {
            caller_number: caller.into(),
            ..ringtrack_store::testing::past_call(business, at, "answered", 60)
        }
    }

    fn days(from: i64, to: i64) -> ringtrack_domain::dates::DateRange {
        ringtrack_domain::dates::DateRange {
            from: Some(jiff::Timestamp::from_second(from * 86_400).unwrap()),
            to: Some(jiff::Timestamp::from_second(to * 86_400).unwrap()),
        }
    }

    async fn unique_callers(
        store: &Store,
        business: ringtrack_domain::BusinessId,
        range: &ringtrack_domain::dates::DateRange,
    ) -> i64 {
        ringtrack_store::rollups::totals(store, business, range).await.unwrap().unique_callers.unwrap()
    }

    test_on_both_backends! {
        async fn upgrading_turns_caller_rows_into_caller_sets(backend: Backend) {
            let db = TestDatabase::create(backend).await;
            let store = Store::connect(&db.url).await.unwrap();
            store.migrate_to(5).await.unwrap();
            let business = new_business(&store).await;
            let mut tx = store.begin().await.unwrap();
            // Schema 5's tables: A and B called on day 100, B and C on day 101, D on day 200.
            for (day, caller) in [(100, "A"), (100, "B"), (101, "B"), (101, "C"), (200, "D")] {
                let row = format!("INSERT INTO caller_days VALUES ('{business}', {day}, '{caller}')");
                ringtrack_store::testing::execute(&mut tx, &row).await;
            }
            for caller in ["A", "B", "C", "D"] {
                let row = format!("INSERT INTO business_callers VALUES ('{business}', '{caller}')");
                ringtrack_store::testing::execute(&mut tx, &row).await;
            }
            let rollup = format!("INSERT INTO call_rollups VALUES ('{business}', 100, 'answered', TRUE, 5, 300, 0, 0)");
            ringtrack_store::testing::execute(&mut tx, &rollup).await;
            tx.commit().await.unwrap();

            assert_eq!(store.migrate().await.unwrap(), ringtrack_store::MIGRATIONS.len() - 5);
            assert_eq!(unique_callers(&store, business, &days(100, 102)).await, 3);
            assert_eq!(unique_callers(&store, business, &days(101, 201)).await, 3);
            assert_eq!(unique_callers(&store, business, &Default::default()).await, 4);
            let all_time = ringtrack_store::rollups::totals(&store, business, &Default::default()).await.unwrap();
            assert_eq!((all_time.count, all_time.total_seconds), (5, 300));

            // New calls join the upgraded sets: A again and a new caller E on day 101.
            let mut tx = store.begin().await.unwrap();
            let calls = [past_call(business, "A", 101), past_call(business, "E", 101)];
            ringtrack_store::calls::insert_past(&mut tx, &calls).await.unwrap();
            ringtrack_store::calls::roll_up(&mut tx, &calls, 1).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(unique_callers(&store, business, &days(101, 102)).await, 4);
            assert_eq!(unique_callers(&store, business, &days(100, 102)).await, 4);
            assert_eq!(unique_callers(&store, business, &Default::default()).await, 5);
            store.close().await;
        }

        async fn callers_are_numbered_once_under_concurrent_writers(backend: Backend) {
            let (_db, store) = open(backend).await;
            let business = new_business(&store).await;
            // Four writers at once, each with new callers shared with the others.
            let writer = |n: i64| {
                let store = store.clone();
                async move {
                    let calls: Vec<_> = (0..20)
                        .map(|i| past_call(business, &format!("+1573555{:04}", (i * 3 + n) % 30), 300 + i % 3))
                        .collect();
                    let mut tx = store.begin().await.unwrap();
                    ringtrack_store::calls::insert_past(&mut tx, &calls).await.unwrap();
                    ringtrack_store::calls::roll_up(&mut tx, &calls, 1).await.unwrap();
                    tx.commit().await.unwrap();
                }
            };
            tokio::join!(writer(0), writer(1), writer(2), writer(3));
            assert_eq!(unique_callers(&store, business, &Default::default()).await, 30);
            assert_eq!(unique_callers(&store, business, &days(300, 303)).await, 30);
            let numbers = ringtrack_store::testing::count(
                &store,
                &format!("SELECT count(DISTINCT seq) AS value FROM business_callers WHERE business_id = '{business}'"),
            )
            .await;
            assert_eq!(numbers, 30);
            let totals = ringtrack_store::rollups::totals(&store, business, &Default::default()).await.unwrap();
            assert_eq!(totals.count, 80);
        }
    }
}

/// Migration 25 gives the calls before it their landing page's address.
mod landing_pages {
    use super::*;

    test_on_both_backends! {
        async fn upgrading_gives_earlier_calls_their_landing_pages_address(backend: Backend) {
            let (_db, store) = open(backend).await;
            let business = new_business(&store).await;
            let at = jiff::Timestamp::from_second(100 * 86_400).unwrap();
            let pages = [None, Some("https://acme.test/drains"), Some("https://acme.test/drains?gclid=1#top"), Some("https://acme.test/#x")];
            let calls: Vec<_> = pages
                .iter()
                .map(|page| ringtrack_store::calls::PastCall {
                    landing_page: page.map(str::to_owned),
                    ..ringtrack_store::testing::past_call(business, at, "answered", 60)
                })
                .collect();
            let mut tx = store.begin().await.unwrap();
            ringtrack_store::calls::insert_past(&mut tx, &calls).await.unwrap();
            // Back to schema 24, with the calls it had.
            for undo in [
                "ALTER TABLE calls DROP COLUMN landing_page_address",
                "DROP TABLE saved_reports",
                "DELETE FROM schema_migrations WHERE version = 25",
            ] {
                ringtrack_store::testing::execute(&mut tx, undo).await;
            }
            tx.commit().await.unwrap();
            assert_eq!(store.migrate().await.unwrap(), 1);
            let addresses = |page: &str| {
                format!("SELECT count(*) AS value FROM calls WHERE business_id = '{business}' AND landing_page_address = '{page}'")
            };
            assert_eq!(ringtrack_store::testing::count(&store, &addresses("https://acme.test/drains")).await, 2);
            assert_eq!(ringtrack_store::testing::count(&store, &addresses("https://acme.test/")).await, 1);
            let none = format!("SELECT count(*) AS value FROM calls WHERE business_id = '{business}' AND landing_page_address IS NULL");
            assert_eq!(ringtrack_store::testing::count(&store, &none).await, 1);
        }
    }
}
