//! Servers as processes: one killed (SIGKILL) in the middle of its work, or cut off from
//! its database, loses nothing that it answered and finishes its jobs; three on one
//! PostgreSQL never run a job, lease a number, charge or deliver twice.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use ringtrack_store::testing::{TestDatabase, count};
use ringtrack_store::{Store, jobs, test_on_both_backends};
use serde_json::{Value, json};

use crate::cli::{Server, business_in, key_in, ringtrack, run, stdout_json};

const LONG_VOICEMAIL: &str = "Hello, this is Maria calling about the air conditioner at our office. \
    It stopped working yesterday afternoon and the building is getting very hot. \
    We would like someone to come out tomorrow morning if possible. \
    Please call me back at your earliest convenience to schedule an appointment. \
    Also let me know how much a service call costs on the weekend. Thank you very much.";

fn model() -> String {
    ringtrack_store::testing::speech_model().display().to_string()
}

/// A business with a balance and a tracking number whose flow takes voicemails; answers
/// the admin key and the number.
pub(crate) async fn voicemail_line(server: &Server, dir: &std::path::Path, url: &str) -> (String, String) {
    let key = key_in(&server.banner).expect("first start");
    let business = business_in(&server.banner).unwrap();
    stdout_json(
        &run(ringtrack(dir, url), &["admin", "credit", "--business", &business, "--cents", "10000"]).await,
    );
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client.post(format!("{}{path}", server.base)).bearer_auth(&key).json(&body).send()
    };
    let number: Value =
        post("/api/v1/numbers/purchase", json!({"area_code": "573"})).await.unwrap().json().await.unwrap();
    let flow: Value =
        post("/api/v1/call-flows", json!({"name": "Voicemail", "steps": [{"type": "voicemail"}]}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let assigned = client
        .patch(format!("{}/api/v1/numbers/{}", server.base, number["data"]["id"].as_str().unwrap()))
        .bearer_auth(&key)
        .json(&json!({"call_flow_id": flow["data"]["call_flow"]["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(assigned.status(), StatusCode::OK);
    (key, number["data"]["phone_number"].as_str().unwrap().to_owned())
}

pub(crate) async fn leave_voicemail(base: &str, key: &str, from: &str, to: &str, text: &str) -> String {
    let placed = reqwest::Client::new()
        .post(format!("{base}/api/v1/sandbox/calls"))
        .bearer_auth(key)
        .json(&json!({"from": from, "to": to, "voicemail_text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let placed: Value = placed.json().await.unwrap();
    placed["data"]["call_id"].as_str().unwrap().to_owned()
}

async fn drained(store: &Store, within: Duration) {
    let deadline = Instant::now() + within;
    while jobs::pending(store).await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "jobs pending: {:?}", jobs::all(store).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Settings of a server under fault: no speech, jobs polled often and taken over 2 s after
/// their node died, calls quiet for 10 s asked about at the carrier, webhooks to loopback
/// allowed, no limit on one address's visits.
const UNDER_LOAD: [(&str, &str); 8] = [
    ("RINGTRACK_TRANSCRIBER", "none"),
    ("RINGTRACK_QUIET_CALL_SECONDS", "10"),
    ("RINGTRACK_JOB_POLL_MILLIS", "50"),
    ("RINGTRACK_JOB_LEASE_SECONDS", "2"),
    ("RINGTRACK_ALLOW_HTTP_WEBHOOKS", "1"),
    ("RINGTRACK_DNI_IP_RATE", "100000"),
    ("RINGTRACK_DNI_IP_BURST", "100000"),
    ("RINGTRACK_DNI_LEASES_PER_ADDRESS", "100000"),
];

/// A business under load: its voicemail number, a pool for visits, a webhook for voicemails.
struct Line {
    key: String,
    number: String,
    number_id: String,
    pool_id: String,
    receiver: crate::integrations::Receiver,
}

async fn line_under_load(server: &Server, dir: &std::path::Path, url: &str) -> Line {
    let (key, number) = voicemail_line(server, dir, url).await;
    let client = reqwest::Client::new();
    let numbers = crate::common::body(
        client.get(format!("{}/api/v1/numbers", server.base)).bearer_auth(&key).send().await.unwrap(),
    )
    .await;
    let number_id = numbers["data"]["numbers"][0]["id"].as_str().unwrap().to_owned();
    let post = |path: &str, body: Value| {
        client.post(format!("{}{path}", server.base)).bearer_auth(&key).json(&body).send()
    };
    let pool = post(
        "/api/v1/number-pools",
        json!({"name": "Site", "number_ids": [], "target_number": "5735550100"}),
    );
    let pool_id = crate::common::body(pool.await.unwrap()).await["data"]["number_pool"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (receiver, hook_url) = crate::integrations::receiver(0, Duration::ZERO).await;
    let hook =
        post("/api/v1/webhooks", json!({"url": hook_url, "events": ["call.voicemail"]})).await.unwrap();
    assert_eq!(hook.status(), StatusCode::CREATED);
    Line { key, number, number_id, pool_id, receiver }
}

/// What the load had answered 2xx: the kind, and the caller, recipient or visitor it named.
type Answered = std::sync::Arc<std::sync::Mutex<Vec<(&'static str, String)>>>;

fn answered_of(answered: &Answered, kind: &str) -> usize {
    answered.lock().unwrap().iter().filter(|(k, _)| *k == kind).count()
}

/// Three clients placing calls, sending texts and opening visits as fast as they are
/// answered, until stopped or the server is gone.
struct Load {
    clients: Vec<tokio::task::JoinHandle<()>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    server_errors: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Load {
    /// `round` keeps each round's callers, recipients and visitors apart.
    fn start(base: &str, line: &Line, round: u64, answered: &Answered) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let server_errors = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let clients = (0..3u64)
            .map(|client| {
                let (http, base, stop, answered, server_errors) =
                    (http.clone(), base.to_owned(), stop.clone(), answered.clone(), server_errors.clone());
                let (key, number, number_id, pool_id) =
                    (line.key.clone(), line.number.clone(), line.number_id.clone(), line.pool_id.clone());
                tokio::spawn(async move {
                    for i in 0u64.. {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return;
                        }
                        let from = format!("+1305{}", 2_000_000 + round * 100_000 + client * 10_000 + i);
                        // Each client starts with another kind: all three are in flight at once.
                        let (kind, request) = match (i + client) % 3 {
                            0 => (
                                "call",
                                http.post(format!("{base}/api/v1/sandbox/calls"))
                                    .bearer_auth(&key)
                                    .json(&json!({"from": from, "to": number, "voicemail_text": "Call me"})),
                            ),
                            1 => (
                                "text",
                                http.post(format!("{base}/api/v1/texts"))
                                    .bearer_auth(&key)
                                    .json(&json!({"from_number_id": number_id, "to": from, "body": "hi"})),
                            ),
                            _ => (
                                "session",
                                http.post(format!("{base}/dni/v1/sessions"))
                                    .body(json!({"pool_id": pool_id, "visitor_id": from}).to_string()),
                            ),
                        };
                        let Ok(answer) = request.send().await else { return };
                        let status = answer.status();
                        assert!(status.is_success() || status.is_server_error(), "{kind}: {status}");
                        if status.is_success() {
                            answered.lock().unwrap().push((kind, from));
                        } else {
                            server_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        Load { clients, stop, server_errors }
    }

    /// Answers how many requests failed with a 5xx.
    async fn stop(self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for client in self.clients {
            let _ = client.await;
        }
        self.server_errors.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Random moments for faults; the seed is printed first (a failing test shows it), and
/// RINGTRACK_TEST_FAULT_SEED replays it.
fn fault_moments() -> (u64, rand::rngs::StdRng) {
    use rand::{Rng, SeedableRng};
    let seed = std::env::var("RINGTRACK_TEST_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    println!("faults at random moments: RINGTRACK_TEST_FAULT_SEED={seed} replays them");
    (seed, rand::rngs::StdRng::seed_from_u64(seed))
}

/// Everything answered 2xx is there exactly once and its follow-up jobs ran: a voicemail
/// stored, scored and announced to the webhook; a text sent; a visit kept. No call stays in
/// progress, no job is lost or failed, no charge is made twice, and the balance is its
/// ledger. Answers a summary.
async fn assert_answered_writes_complete(store: &Store, line: &Line, answered: &Answered) -> String {
    // Calls a fault cut off before their final status are settled from the carrier.
    let in_progress = "SELECT count(*) AS value FROM calls WHERE status = 'in_progress'";
    let cut_off = count(store, in_progress).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(store, in_progress).await > 0 {
        assert!(Instant::now() < deadline, "calls left in progress for ever");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drained(store, Duration::from_secs(60)).await;
    let [calls, texts, visits] = ["call", "text", "session"].map(|kind| answered_of(answered, kind));
    assert!(calls > 0 && texts > 0 && visits > 0, "the load made no progress: {calls}, {texts}, {visits}");
    let answered = answered.lock().unwrap().clone();
    for (kind, from) in &answered {
        let found = match *kind {
            "call" => count(store, &format!("SELECT count(*) AS value FROM calls JOIN recordings ON recordings.call_id = calls.id
                WHERE caller_number = '{from}' AND status = 'voicemail' AND ai_score IS NOT NULL")).await,
            "text" => count(store, &format!("SELECT count(*) AS value FROM messages WHERE to_number = '{from}' AND carrier_sid IS NOT NULL")).await,
            _ => count(store, &format!("SELECT count(*) AS value FROM dni_sessions WHERE visitor_id = '{from}'")).await,
        };
        assert_eq!(found, 1, "{kind} from {from} was answered 2xx: found {found} complete");
    }
    let all = jobs::all(store).await.unwrap();
    assert!(all.iter().all(|j| j.state == "done"), "no job lost or failed: {all:?}");
    // A job a fault interrupted runs again; what it does is committed once.
    let retaken = all.iter().filter(|j| j.attempts > 1).count();
    let repeated =
        "SELECT count(*) AS value FROM (SELECT reason FROM balance_entries WHERE reason <> 'credit'
        GROUP BY reason HAVING count(*) > 1) AS repeated";
    assert_eq!(count(store, repeated).await, 0, "a charge made twice");
    let ledger = count(store, "SELECT CAST(sum(amount_cents) AS BIGINT) AS value FROM balance_entries").await;
    assert_eq!(
        count(store, "SELECT balance_cents AS value FROM businesses").await,
        ledger,
        "the balance is its ledger"
    );
    // Every voicemail announced, each delivery recorded once; a delivery a fault cut short
    // is sent again (at least once, with the same event id).
    let voicemails = count(store, "SELECT count(*) AS value FROM calls WHERE status = 'voicemail'").await;
    assert_eq!(
        count(store, "SELECT count(*) AS value FROM webhook_deliveries WHERE status = 'succeeded'").await,
        voicemails
    );
    let delivered = line.receiver.received.lock().unwrap().clone();
    let events: std::collections::HashSet<&str> = delivered.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(events.len() as i64, voicemails, "every event delivered");
    format!(
        "{calls} calls, {texts} texts, {visits} visits answered 2xx, each found once; {cut_off} calls cut \
         off in progress, settled; {} jobs done ({retaken} run again), {} deliveries for {} events",
        all.len(),
        delivered.len(),
        events.len()
    )
}

test_on_both_backends! {
    async fn a_server_killed_mid_transcription_finishes_the_job_after_restart(backend: Backend) {
        if !ringtrack_store::testing::tier_ready(ringtrack_store::testing::Tier::Speech) {
            return;
        }
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let model = model();
        let env = [("RINGTRACK_WHISPER_MODEL", model.as_str()), ("RINGTRACK_JOB_LEASE_SECONDS", "2"),
            ("RINGTRACK_JOB_POLL_MILLIS", "50"), ("RINGTRACK_WORKERS", "1")];
        let server = Server::start_with(dir.path(), &db.url, &env).await;
        let (key, number) = voicemail_line(&server, dir.path(), &db.url).await;
        let store = Store::connect(&db.url).await.unwrap();
        let call_id = leave_voicemail(&server.base, &key, "+13055550111", &number, LONG_VOICEMAIL).await;

        // Wait for the transcription to be under way, then kill the server.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let all = jobs::all(&store).await.unwrap();
            if all.iter().any(|j| j.kind == "transcribe" && j.state == "running") {
                break;
            }
            assert!(Instant::now() < deadline, "no transcription started: {all:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.kill().await;
        let transcription = |s: &Store| {
            let s = s.clone();
            let id = call_id.clone();
            async move { count(&s, &format!("SELECT count(*) AS value FROM transcriptions WHERE call_id = '{id}' AND status = 'completed'")).await }
        };
        assert_eq!(transcription(&store).await, 0, "the killed worker committed nothing");

        let again = Server::start_with(dir.path(), &db.url, &env).await;
        drained(&store, Duration::from_secs(90)).await;
        assert_eq!(transcription(&store).await, 1);
        let all = jobs::all(&store).await.unwrap();
        let transcribe = all.iter().find(|j| j.kind == "transcribe").unwrap();
        assert_eq!((transcribe.state.as_str(), transcribe.attempts), ("done", 2), "taken over after its lease ran out");
        assert!(all.iter().all(|j| j.state == "done"), "{all:?}");
        let voicemails: Value = reqwest::Client::new().get(format!("{}/api/v1/voicemails", again.base)).bearer_auth(&key)
            .send().await.unwrap().json().await.unwrap();
        let text = voicemails["data"]["voicemails"][0]["transcription_text"].as_str().unwrap().to_lowercase();
        assert!(text.contains("air conditioner") && text.contains("tomorrow"), "{text}");
        assert!(again.terminate().await.0.success());
        store.close().await;
    }

    async fn a_webhook_retry_survives_a_server_restart(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        // First retry after 3 s (the schedule's minute, scaled down); a dead node's job is
        // taken over after 2 s.
        let env = [("RINGTRACK_TRANSCRIBER", "none"), ("RINGTRACK_ALLOW_HTTP_WEBHOOKS", "1"),
            ("RINGTRACK_WEBHOOK_RETRY_SCALE", "0.05"), ("RINGTRACK_JOB_POLL_MILLIS", "50"), ("RINGTRACK_JOB_LEASE_SECONDS", "2")];
        let server = Server::start_with(dir.path(), &db.url, &env).await;
        let (key, number) = voicemail_line(&server, dir.path(), &db.url).await;
        let (receiver, url) = crate::integrations::receiver(1, Duration::ZERO).await;
        let created = reqwest::Client::new().post(format!("{}/api/v1/webhooks", server.base)).bearer_auth(&key)
            .json(&json!({"url": url, "events": ["call.voicemail"]})).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let secret = crate::common::body(created).await["data"]["webhook"]["secret"].as_str().unwrap().to_owned();
        leave_voicemail(&server.base, &key, "+13055550177", &number, "Call me back please.").await;

        let deadline = Instant::now() + Duration::from_secs(30);
        while receiver.received.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "no first attempt");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let first_log = server.kill().await;
        let store = Store::connect(&db.url).await.unwrap();
        assert_eq!(count(&store, "SELECT count(*) AS value FROM webhook_deliveries WHERE status = 'pending'").await, 1);

        let again = Server::start_with(dir.path(), &db.url, &env).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while receiver.received.lock().unwrap().len() < 2 {
            assert!(Instant::now() < deadline, "the retry never came after the restart");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = receiver.received.lock().unwrap().clone();
        assert_eq!(got[1].event_id, got[0].event_id, "the same event, retried");
        assert!(crate::integrations::verifies(&got[1].signature, &secret, &got[1].raw));
        drained(&store, Duration::from_secs(30)).await;
        // Killed after sending but before recording, the first attempt is made again: the
        // receiver deduplicates by the event id, which is why it is stable.
        assert_eq!(count(&store, "SELECT count(*) AS value FROM webhook_deliveries WHERE status = 'succeeded'").await, 1);
        assert_eq!(got.len(), 2, "delivered once after one failure");
        let (status, second_log) = again.terminate().await;
        assert!(status.success());
        // No secret reaches the logs; the key sealing them at rest is the owner's alone.
        for log in [&first_log, &second_log] {
            assert!(!log.contains(&secret) && !log.contains(&key[15..]), "a secret was logged:\n{log}");
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join("secret-key")).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        store.close().await;
    }


    async fn answered_writes_survive_repeated_sigkills_under_load(backend: Backend) {
        const KILLS: u64 = 4;
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let mut server = Server::start_with(dir.path(), &db.url, &UNDER_LOAD).await;
        let line = line_under_load(&server, dir.path(), &db.url).await;
        let (seed, mut moments) = fault_moments();
        let answered = Answered::default();
        for round in 0..KILLS {
            let load = Load::start(&server.base, &line, round, &answered);
            // Once the round's load is under way (a call answered: the slowest kind), a
            // random moment later.
            let (calls, deadline) = (answered_of(&answered, "call"), Instant::now() + Duration::from_secs(30));
            while answered_of(&answered, "call") == calls {
                assert!(Instant::now() < deadline, "no call answered in round {round}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(rand::Rng::random_range(&mut moments, 0..1200))).await;
            server.kill().await;
            load.stop().await;
            server = Server::start_with(dir.path(), &db.url, &UNDER_LOAD).await;
        }
        let store = Store::connect(&db.url).await.unwrap();
        let summary = assert_answered_writes_complete(&store, &line, &answered).await;
        println!("{backend:?}: {KILLS} SIGKILLs (seed {seed}) survived: {summary}");
        assert!(server.terminate().await.0.success());
        store.close().await;
    }
}

/// PostgreSQL cuts every connection of a running server several times under load, as a
/// database failover or restart does: requests in flight may fail (5xx), none answers 2xx
/// without its write, and the same process serves again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_outlives_its_database_connections_being_cut() {
    if !ringtrack_store::testing::tier_ready(ringtrack_store::testing::Tier::Postgres) {
        return;
    }
    const CUTS: u64 = 4;
    let db = TestDatabase::create(ringtrack_store::Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &db.url, &UNDER_LOAD).await;
    let line = line_under_load(&server, dir.path(), &db.url).await;
    let store = Store::connect(&db.url).await.unwrap();
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    let (seed, mut moments) = fault_moments();
    let answered = Answered::default();
    let load = Load::start(&server.base, &line, 0, &answered);
    let mut connections_cut = 0;
    for _ in 0..CUTS {
        tokio::time::sleep(Duration::from_millis(rand::Rng::random_range(&mut moments, 300..1500))).await;
        let cut = format!(
            "SELECT count(pg_terminate_backend(pid)) AS value FROM pg_stat_activity
            WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        );
        connections_cut += count(&store, &cut).await;
    }
    assert!(connections_cut >= CUTS as i64, "the server's connections were cut: {connections_cut}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_errors = load.stop().await;
    let summary = assert_answered_writes_complete(&store, &line, &answered).await;
    println!(
        "{CUTS} cuts ({connections_cut} connections) survived without a restart (seed {seed}): \
         {server_errors} requests answered 5xx; {summary}"
    );
    let after = reqwest::Client::new()
        .get(format!("{}/api/v1/calls", server.base))
        .bearer_auth(&line.key)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK, "the same process serves after the cuts");
    assert!(server.terminate().await.0.success());
    store.close().await;
}

/// Three `ringtrack serve` processes on one PostgreSQL, sharing nothing else but the object
/// store (the data dir), under one mixed load through all of them at once: voicemails (each
/// stored, scored and delivered to a webhook), website visits leasing pool numbers, their
/// heartbeats and calls to the numbers shown, and a month falling due for every number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_on_one_postgres_keep_every_invariant() {
    if !ringtrack_store::testing::tier_ready(ringtrack_store::testing::Tier::Postgres) {
        return;
    }
    const CALLS_PER_NODE: usize = 8;
    const POOL_SIZE: usize = 12;
    const VISITS: usize = 150;
    let db = TestDatabase::create(ringtrack_store::Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("RINGTRACK_TRANSCRIBER", "none"),
        ("RINGTRACK_JOB_POLL_MILLIS", "10"),
        ("RINGTRACK_WORKERS", "4"),
        ("RINGTRACK_ALLOW_HTTP_WEBHOOKS", "1"),
        ("RINGTRACK_RENEWAL_INTERVAL_SECONDS", "1"),
        ("RINGTRACK_DNI_IP_RATE", "100000"),
        ("RINGTRACK_DNI_IP_BURST", "100000"),
        ("RINGTRACK_DNI_POOL_RATE", "100000"),
        ("RINGTRACK_DNI_POOL_BURST", "100000"),
        ("RINGTRACK_DNI_LEASES_PER_ADDRESS", "100000"),
    ];
    let a = Server::start_with(dir.path(), &db.url, &env).await;
    let (key, number) = voicemail_line(&a, dir.path(), &db.url).await;
    let business = business_in(&a.banner).unwrap();
    let credit = ["admin", "credit", "--business", &business, "--cents", "100000"];
    stdout_json(&run(ringtrack(dir.path(), &db.url), &credit).await);
    let nodes = [
        a,
        Server::start_with(dir.path(), &db.url, &env).await,
        Server::start_with(dir.path(), &db.url, &env).await,
    ];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let client = reqwest::Client::new();
    let post = |node: usize, path: &str, body: Value| {
        client.post(format!("{}{path}", bases[node % 3])).bearer_auth(&key).json(&body).send()
    };
    let get =
        |node: usize, path: &str| client.get(format!("{}{path}", bases[node % 3])).bearer_auth(&key).send();
    let store = Store::connect(&db.url).await.unwrap();

    let (receiver, url) = crate::integrations::receiver(0, Duration::ZERO).await;
    let hook = post(1, "/api/v1/webhooks", json!({"url": url, "events": ["call.voicemail"]})).await.unwrap();
    assert_eq!(hook.status(), StatusCode::CREATED);
    let flows = crate::common::body(get(2, "/api/v1/call-flows").await.unwrap()).await;
    let flow_id = flows["data"]["call_flows"][0]["id"].clone();
    let mut pool_numbers = Vec::new();
    for i in 0..POOL_SIZE {
        let bought = post(i, "/api/v1/numbers/purchase", json!({"area_code": "573"})).await.unwrap();
        pool_numbers.push(crate::common::body(bought).await["data"]["id"].clone());
    }
    let pool = post(
        0,
        "/api/v1/number-pools",
        json!({"name": "Site", "number_ids": pool_numbers, "target_number": "5735550100", "call_flow_id": flow_id}),
    );
    let pool_id = crate::common::body(pool.await.unwrap()).await["data"]["number_pool"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // All at once: callers on every node, visitors spread over the nodes, and the month
    // falling due for every number while they run.
    let callers = (0..3).map(|node| {
        let (base, key, number) = (bases[node].clone(), key.clone(), number.clone());
        tokio::spawn(async move {
            for i in 0..CALLS_PER_NODE {
                let from = format!("+1305555{:04}", 200 + node * 100 + i);
                leave_voicemail(&base, &key, &from, &number, "Please call me back.").await;
            }
        })
    });
    let visit = |node: usize, path: String, body: Value| {
        let (client, url) = (client.clone(), format!("{}{path}", bases[node % 3]));
        tokio::spawn(async move {
            let answer = client
                .post(url)
                .header("Content-Type", "text/plain")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), StatusCode::OK);
            answer.json::<Value>().await.unwrap()
        })
    };
    let visits: Vec<_> = (0..VISITS)
        .map(|i| {
            visit(
                i,
                "/dni/v1/sessions".into(),
                json!({"pool_id": pool_id, "visitor_id": format!("visitor-{i}")}),
            )
        })
        .collect();
    let callers: Vec<_> = callers.collect();
    let due = store.now().as_second() - 10;
    let mut tx = store.begin().await.unwrap();
    ringtrack_store::testing::execute(&mut tx, &format!("UPDATE numbers SET renews_at = {due}")).await;
    tx.commit().await.unwrap();
    let mut leases = Vec::new();
    for visit in visits {
        leases.push(visit.await.unwrap());
    }
    for caller in callers {
        caller.await.unwrap();
    }

    // No number leased to two visits at once; the rest saw the target.
    let leased: Vec<&Value> = leases.iter().filter(|l| l["number"] != "+15735550100").collect();
    let distinct: std::collections::HashSet<&str> =
        leased.iter().map(|l| l["number"].as_str().unwrap()).collect();
    assert_eq!((leased.len(), distinct.len()), (POOL_SIZE, POOL_SIZE), "every number leased, once");
    assert_eq!(
        count(&store, "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS value FROM pool_overflows").await,
        (VISITS - POOL_SIZE) as i64
    );
    // A heartbeat through another node keeps the number; a call to it, through a third, is
    // attributed to the visit holding it.
    for (i, lease) in leased.iter().enumerate() {
        let session = lease["session_id"].as_str().unwrap();
        let beat = visit(i + 1, format!("/dni/v1/sessions/{session}/heartbeat"), json!({})).await.unwrap();
        assert_eq!(beat["number"], lease["number"], "a heartbeat keeps the lease");
    }
    let mut attributed = Vec::new();
    for (i, lease) in leased.iter().take(3).enumerate() {
        let from = format!("+1305555{:04}", 900 + i);
        attributed.push(
            leave_voicemail(&bases[(i + 2) % 3], &key, &from, lease["number"].as_str().unwrap(), "Hi.").await,
        );
    }
    let calls = 3 * CALLS_PER_NODE + attributed.len();
    drained(&store, Duration::from_secs(60)).await;
    for (call_id, lease) in attributed.iter().zip(&leased) {
        let call = crate::common::body(get(0, &format!("/api/v1/calls/{call_id}")).await.unwrap()).await;
        assert_eq!(call["data"]["session_id"], lease["session_id"], "{call}");
    }

    // Every job ran once, on one node or another.
    let all = jobs::all(&store).await.unwrap();
    assert_eq!(
        all.len(),
        calls * 4,
        "store, delete at the carrier, score, deliver the webhook, for each call"
    );
    assert!(all.iter().all(|j| j.state == "done" && j.attempts == 1), "{all:?}");
    assert_eq!(count(&store, "SELECT count(*) AS value FROM recordings").await, calls as i64);
    // Each event delivered once, by one node or another.
    let delivered = receiver.received.lock().unwrap().clone();
    let events: std::collections::HashSet<&str> = delivered.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!((delivered.len(), events.len()), (calls, calls), "one delivery per event");

    // The month fell due while the nodes were busy: each number charged for it once, though
    // every node's renewal pass ran every second.
    let renewed = "SELECT count(*) AS value FROM balance_entries WHERE reason LIKE 'renewal of%'";
    let numbers = (POOL_SIZE + 1) as i64;
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&store, renewed).await < numbers {
        assert!(Instant::now() < deadline, "the month was never charged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&store, renewed).await, numbers, "each number charged once for its month");
    // No charge twice (each names its call, purchase or renewal), and the balance is its ledger.
    let repeated =
        "SELECT count(*) AS value FROM (SELECT reason FROM balance_entries WHERE reason <> 'credit'
        GROUP BY reason HAVING count(*) > 1) AS repeated";
    assert_eq!(count(&store, repeated).await, 0, "a charge made twice");
    let ledger =
        count(&store, "SELECT CAST(sum(amount_cents) AS BIGINT) AS value FROM balance_entries").await;
    assert_eq!(count(&store, "SELECT balance_cents AS value FROM businesses").await, ledger);

    let mut stored = Vec::new();
    for node in nodes {
        let (status, log) = node.terminate().await;
        assert!(status.success());
        assert!(!log.contains("lost the job's lease"), "{log}");
        stored.push(log.matches("recording stored").count());
    }
    assert_eq!(stored.iter().sum::<usize>(), calls, "each recording stored by one node, once");
    println!(
        "3 nodes: {calls} calls ({} jobs, recordings stored {stored:?} per node), {VISITS} visits \
         ({POOL_SIZE} leased, {} heartbeats), {numbers} renewals, {calls} deliveries: every invariant held",
        all.len(),
        leased.len()
    );
    store.close().await;
}
