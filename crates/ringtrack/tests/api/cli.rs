//! The `ringtrack` binary itself: first start, admin commands, clear failures, shutdown.

use std::process::{Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use ringtrack_store::test_on_both_backends;
use ringtrack_store::testing::TestDatabase;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_ringtrack");

pub(crate) fn ringtrack(data_dir: &std::path::Path, database_url: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(database_url)
        .kill_on_drop(true);
    command
}

pub(crate) async fn run(mut command: Command, args: &[&str]) -> Output {
    command.args(args).output().await.unwrap()
}

pub(crate) fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs `command` with `input` on its standard input.
pub(crate) async fn run_with_stdin(mut command: Command, input: &str) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// A failure is exactly one line on stderr, naming the problem, and a non-zero exit.
pub(crate) fn assert_one_line_failure(output: &Output, mentions: &str) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    assert!(lines[0].starts_with("ringtrack: "), "{stderr}");
    assert!(lines[0].contains(mentions), "{stderr} should mention {mentions}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

pub(crate) struct Server {
    child: Child,
    /// Where its logs go: a file of the run's logs, checked for secrets at the end.
    log: std::path::PathBuf,
    pub base: String,
    /// What it printed before it listened.
    pub banner: String,
}

impl Server {
    pub(crate) async fn start(data_dir: &std::path::Path, database_url: &str) -> Server {
        Self::start_with(data_dir, database_url, &[]).await
    }

    /// Started with extra `RINGTRACK_*` settings.
    pub(crate) async fn start_with(
        data_dir: &std::path::Path,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> Server {
        let (log_file, log) = crate::run_logs::new_file("server-");
        let mut child = ringtrack(data_dir, database_url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("RINGTRACK_LOG", "debug")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = String::new();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("ringtrack listening on ") {
                    return rest.split(' ').next().unwrap().to_owned();
                }
                banner.push_str(&line);
                banner.push('\n');
            }
            panic!("the server exited before listening:\n{banner}");
        })
        .await
        .expect("the server listens within 30 s");
        if let Some(key) = key_in(&banner) {
            crate::run_logs::remember_secret(&key);
        }
        if let Ok(sealing_key) = std::fs::read_to_string(data_dir.join("secret-key")) {
            crate::run_logs::remember_secret(sealing_key.trim());
        }
        Server { child, log, base, banner }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// How much it has logged so far, in bytes.
    pub(crate) fn logged_bytes(&self) -> u64 {
        std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0)
    }

    /// SIGKILL: the process dies mid-work, as in a crash or an OOM kill.
    pub(crate) async fn kill(mut self) -> String {
        self.child.kill().await.unwrap();
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// SIGTERM, then the exit status and everything it logged.
    pub(crate) async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .unwrap();
        (status, std::fs::read_to_string(&self.log).unwrap())
    }
}

pub(crate) fn business_in(banner: &str) -> Option<String> {
    let start = banner.find("(business id ")? + "(business id ".len();
    Some(banner[start..start + 36].to_owned())
}

/// The first start's link into the app.
fn welcome_in(banner: &str) -> Option<String> {
    banner.split_whitespace().find(|word| word.contains("/welcome/")).map(str::to_owned)
}

pub(crate) fn key_in(banner: &str) -> Option<String> {
    let start = banner.find("cs_key_")?;
    Some(banner[start..start + 39].to_owned())
}

test_on_both_backends! {
    async fn the_first_start_prints_an_admin_key_once(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), &db.url).await;
        let key = key_in(&server.banner).expect("a key on first start");
        assert!(server.banner.contains(&format!("curl -H \"Authorization: Bearer {key}\" {}/api/v1/api-keys", server.base)), "{}", server.banner);

        // The printed link leads into the app: the first person, admin of the business.
        let welcome = welcome_in(&server.banner).expect("a link on first start");
        assert!(welcome.starts_with(&format!("{}/welcome/", server.base)), "{welcome}");
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let form = [("name", "Maria Lopez"), ("email", "maria@acme.test"), ("password", "correct horse battery")];
        let set_up = browser.post(&welcome).header("origin", &server.base).form(&form).send().await.unwrap();
        assert_eq!(set_up.status(), StatusCode::SEE_OTHER);
        assert_eq!(set_up.headers()["location"], "/dashboard");
        let cookie = set_up.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let log = browser.get(format!("{}/calls", server.base)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(log.status(), StatusCode::OK);
        assert!(log.text().await.unwrap().contains("My Business"));
        let twice = browser.post(&welcome).header("origin", &server.base).form(&form).send().await.unwrap();
        assert_eq!(twice.status(), StatusCode::NOT_FOUND, "the link works once");

        let listed = reqwest::Client::new().get(format!("{}/api/v1/api-keys", server.base)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(listed.status(), StatusCode::OK);
        let listed: Value = listed.json().await.unwrap();
        assert_eq!(listed["data"]["total"], 1);
        assert_eq!(listed["data"]["api_keys"][0]["prefix"], key[..15]);
        assert_eq!(listed["data"]["api_keys"][0]["role"], "admin");
        let (status, log) = server.terminate().await;
        assert!(status.success());
        assert!(log.contains("/api/v1/api-keys") && log.contains("status=200"), "one line per request:\n{log}");
        assert!(!log.contains(&key[15..]), "the key's secret part was logged:\n{log}");
        let token = welcome.rsplit('/').next().unwrap();
        assert!(!log.contains(token), "the first start's link was logged:\n{log}");

        let again = Server::start(dir.path(), &db.url).await;
        assert_eq!(key_in(&again.banner), None, "a later start prints no secret:\n{}", again.banner);
        assert_eq!(welcome_in(&again.banner), None, "nor a link:\n{}", again.banner);
        let still = reqwest::Client::new().get(format!("{}/api/v1/api-keys", again.base)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(still.status(), StatusCode::OK);
        assert!(again.terminate().await.0.success());
    }

    async fn api_keys_are_rate_limited_with_headers_on_every_answer(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_with(dir.path(), &db.url, &[("RINGTRACK_API_RATE", "0.5"), ("RINGTRACK_API_BURST", "3")]).await;
        let key = key_in(&server.banner).unwrap();
        let client = reqwest::Client::new();
        let get = |key: &str| client.get(format!("{}/api/v1/api-keys", server.base)).bearer_auth(key.to_owned()).send();
        for remaining in ["2", "1", "0"] {
            let ok = get(&key).await.unwrap();
            assert_eq!(ok.status(), StatusCode::OK);
            assert_eq!(ok.headers()["x-ratelimit-limit"], "3");
            assert_eq!(ok.headers()["x-ratelimit-remaining"], remaining);
            assert!(ok.headers()["x-ratelimit-reset"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        }
        let limited = get(&key).await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["retry-after"], "2");
        assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
        let body: Value = limited.json().await.unwrap();
        assert_eq!(body["error"]["type"], "rate_limited");
        // Another key (even a wrong one) has its own bucket; probes are not limited.
        let other = get("cs_key_00000000000000000000000000000000").await.unwrap();
        assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(other.headers()["x-ratelimit-remaining"], "2");
        assert_eq!(client.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), StatusCode::OK);
        assert!(server.terminate().await.0.success());
    }

    async fn metrics_are_served_on_their_own_listener(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_with(dir.path(), &db.url, &[("RINGTRACK_METRICS_BIND", "127.0.0.1:0")]).await;
        let start = server.banner.find("metrics on http://").expect("the metrics address is printed") + "metrics on http://".len();
        let bind = server.banner[start..].split('/').next().unwrap().to_owned();
        let key = key_in(&server.banner).unwrap();
        let client = reqwest::Client::new();
        for _ in 0..2 {
            let listed = client.get(format!("{}/api/v1/calls", server.base)).bearer_auth(&key).send().await.unwrap();
            assert_eq!(listed.status(), StatusCode::OK);
        }
        let missing = client.get(format!("{}/api/v1/calls/{}", server.base, uuid::Uuid::now_v7())).bearer_auth(&key).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(client.get(format!("{}/metrics", server.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND,
            "not on the public listener");

        let text = client.get(format!("http://{bind}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("ringtrack_http_requests_total{route=\"/api/v1/calls\",method=\"GET\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("ringtrack_http_requests_total{route=\"/api/v1/calls/{id}\",method=\"GET\",status=\"404\"} 1"), "{text}");
        assert!(text.contains("ringtrack_http_request_duration_seconds_bucket{route=\"/api/v1/calls\",le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("ringtrack_http_request_duration_seconds_count{route=\"/api/v1/calls\"} 2"));
        assert!(text.contains("# TYPE ringtrack_jobs gauge") && text.contains("ringtrack_job_queue_lag_seconds 0"), "{text}");
        assert!(server.terminate().await.0.success());
    }

    async fn backups_restore_the_data_as_it_was(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let cmd = || ringtrack(dir.path(), &db.url);
        let created = stdout_json(&run(cmd(), &["admin", "create-business", "--name", "Acme", "--timezone", "UTC"]).await);
        let business = created["business_id"].as_str().unwrap().to_owned();
        stdout_json(&run(cmd(), &["admin", "credit", "--business", &business, "--cents", "500"]).await);
        let file = dir.path().join("backup.db");
        let file = file.to_str().unwrap();
        if backend == ringtrack_store::Backend::Postgres {
            assert_one_line_failure(&run(cmd(), &["backup", "--to", file]).await, "pg_dump");
            return;
        }
        // Taken while a server serves the same database.
        let server = Server::start(dir.path(), &db.url).await;
        let backed = run(cmd(), &["backup", "--to", file]).await;
        assert!(backed.status.success(), "{}", String::from_utf8_lossy(&backed.stderr));
        assert!(server.terminate().await.0.success());
        assert_one_line_failure(&run(cmd(), &["backup", "--to", file]).await, "exists");
        let later = stdout_json(&run(cmd(), &["admin", "credit", "--business", &business, "--cents", "1000"]).await);
        assert_eq!(later["balance_cents"], 1500);

        let restored = run(cmd(), &["restore", "--from", file]).await;
        assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
        let after = stdout_json(&run(cmd(), &["admin", "credit", "--business", &business, "--cents", "1"]).await);
        assert_eq!(after["balance_cents"], 501, "the balance as it was at the backup");
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database").unwrap();
        assert_one_line_failure(&run(cmd(), &["restore", "--from", junk.to_str().unwrap()]).await, "--from");
        let still = stdout_json(&run(cmd(), &["admin", "credit", "--business", &business, "--cents", "1"]).await);
        assert_eq!(still["balance_cents"], 502, "a refused restore leaves the database whole");
    }

    async fn admin_commands_print_one_json_line(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let cmd = || ringtrack(dir.path(), &db.url);
        assert!(run(cmd(), &["migrate"]).await.status.success());

        let created = stdout_json(&run(cmd(), &["admin", "create-business", "--name", "Acme Plumbing", "--timezone", "America/Chicago"]).await);
        let business = created["business_id"].as_str().unwrap().to_owned();
        let admin_key = created["api_key"].as_str().unwrap().to_owned();
        assert!(admin_key.starts_with("cs_key_"));

        let viewer = stdout_json(&run(cmd(), &["admin", "create-key", "--business", &business, "--name", "Dashboards", "--role", "viewer"]).await);
        assert!(viewer["id"].is_string());
        assert!(viewer["api_key"].as_str().unwrap().starts_with("cs_key_"));

        let credited = stdout_json(&run(cmd(), &["admin", "credit", "--business", &business, "--cents", "4500"]).await);
        assert_eq!(credited["balance_cents"], 4500);
        let credited = stdout_json(&run(cmd(), &["admin", "credit", "--business", &business, "--cents", "500"]).await);
        assert_eq!(credited["balance_cents"], 5000);

        // The keys work against a server on the same database, with the roles asked for.
        let server = Server::start(dir.path(), &db.url).await;
        assert_eq!(key_in(&server.banner), None, "a business exists: no first-start key");
        let client = reqwest::Client::new();
        let as_admin = client.get(format!("{}/api/v1/api-keys", server.base)).bearer_auth(&admin_key).send().await.unwrap();
        let listed: Value = as_admin.json().await.unwrap();
        assert_eq!(listed["data"]["total"], 2);
        let as_viewer = client.get(format!("{}/api/v1/api-keys", server.base)).bearer_auth(viewer["api_key"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(as_viewer.status(), StatusCode::FORBIDDEN);
        assert!(server.terminate().await.0.success());

        let unknown = uuid::Uuid::now_v7().to_string();
        assert_one_line_failure(&run(cmd(), &["admin", "credit", "--business", &unknown, "--cents", "5"]).await, "--business");
        assert_one_line_failure(&run(cmd(), &["admin", "credit", "--business", &business, "--cents", "-5"]).await, "--cents");
        assert_one_line_failure(&run(cmd(), &["admin", "create-key", "--business", &unknown, "--name", "x", "--role", "viewer"]).await, "--business");
        assert_one_line_failure(&run(cmd(), &["admin", "create-business", "--name", "x", "--timezone", "Mars/Olympus"]).await, "--timezone");
    }

    async fn a_fresh_server_sells_a_number_and_takes_a_call(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), &db.url).await;
        let key = key_in(&server.banner).unwrap();
        let client = reqwest::Client::new();
        let business = business_in(&server.banner).expect("the first start names the business");
        let credited = stdout_json(&run(ringtrack(dir.path(), &db.url), &["admin", "credit", "--business", &business, "--cents", "4500"]).await);
        assert_eq!(credited["balance_cents"], 4500);

        let found: Value = client.post(format!("{}/api/v1/numbers/search", server.base)).bearer_auth(&key)
            .json(&serde_json::json!({"area_code": "573"})).send().await.unwrap().json().await.unwrap();
        let offered = &found["data"]["available_numbers"][0];
        assert_eq!(offered["region"], "MO");
        let bought = client.post(format!("{}/api/v1/numbers/purchase", server.base)).bearer_auth(&key)
            .json(&serde_json::json!({"phone_number": offered["phone_number"]})).send().await.unwrap();
        assert_eq!(bought.status(), StatusCode::CREATED);
        let numbers: Value = client.get(format!("{}/api/v1/numbers", server.base)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(numbers["data"]["total"], 1);
        let number = &numbers["data"]["numbers"][0];
        assert_eq!(number["phone_number"], offered["phone_number"]);
        assert!(number["phone_number"].as_str().unwrap().starts_with("+1573"));
        // The reference's example fields, all there.
        for field in ["id", "phone_number", "friendly_name", "type", "call_flow_id", "call_flow_name", "group_id", "group_name", "status", "created_at"] {
            assert!(number.get(field).is_some(), "{field} missing from {number}");
        }

        // A flow on the number, and a call placed by `ringtrack simulate call`.
        let flow: Value = client.post(format!("{}/api/v1/call-flows", server.base)).bearer_auth(&key)
            .json(&serde_json::json!({"name": "Main Flow", "steps": [{"type": "greeting", "message": "Thanks for calling"},
                {"type": "forward", "number": "+13055554567"}]})).send().await.unwrap().json().await.unwrap();
        let patched = client.patch(format!("{}/api/v1/numbers/{}", server.base, number["id"].as_str().unwrap())).bearer_auth(&key)
            .json(&serde_json::json!({"call_flow_id": flow["data"]["call_flow"]["id"]})).send().await.unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
        let to = number["phone_number"].as_str().unwrap();
        let simulated = run(ringtrack(dir.path(), &db.url), &["simulate", "call", "--from", "(305) 555-1234", "--to", to,
            "--talk-seconds", "145", "--public-url", &server.base]).await;
        assert!(simulated.status.success(), "{}", String::from_utf8_lossy(&simulated.stderr));
        let placed: Value = serde_json::from_slice(&simulated.stdout).unwrap();
        assert!(placed["trace"][0]["response"].as_str().unwrap().contains("<Dial "));
        let calls: Value = client.get(format!("{}/api/v1/calls", server.base)).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
        assert_eq!(calls["data"]["total"], 1);
        let call = &calls["data"]["calls"][0];
        assert_eq!(call["status"], "answered");
        assert_eq!(call["duration_seconds"], placed["duration_seconds"]);
        assert_eq!(call["destination_number"], "+13055554567");
        // It printed the id the API's paths take, and the call has the times it would have had.
        assert_eq!(placed["call_id"], call["id"], "{placed}");
        let at = |field: &str| call[field].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_second();
        assert!(at("created_at") < at("answered_at") && at("answered_at") < at("ended_at"), "{call}");
        assert!(server.terminate().await.0.success());
    }

    async fn what_ringtrack_keeps_is_its_users_alone(backend: Backend) {
        use std::os::unix::fs::PermissionsExt;
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let url = match backend {
            ringtrack_store::Backend::Sqlite => format!("sqlite://{}/ringtrack.db", data.display()),
            ringtrack_store::Backend::Postgres => db.url.clone(),
        };
        let server = Server::start_with(&data, &url, &[("RINGTRACK_TRANSCRIBER", "none")]).await;
        let (key, number) = crate::nodes::voicemail_line(&server, &data, &url).await;
        let call = crate::nodes::leave_voicemail(&server.base, &key, "+13055550000", &number, "Please call me back.").await;
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while client.get(format!("{}/api/v1/calls/{call}/recording", server.base)).bearer_auth(&key).send().await.unwrap().status() != StatusCode::OK {
            assert!(std::time::Instant::now() < deadline, "the recording is not stored");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut seen = Vec::new();
        let mut pending = vec![data.clone()];
        while let Some(path) = pending.pop() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            if path.is_dir() {
                assert_eq!(mode, 0o700, "{}", path.display());
                pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else {
                assert_eq!(mode, 0o600, "{}", path.display());
            }
            seen.push(path.strip_prefix(&data).unwrap().display().to_string());
        }
        for kept in ["secret-key", "sandbox-webhook-token"] {
            assert!(seen.iter().any(|p| p == kept), "{seen:?}");
        }
        assert!(seen.iter().any(|p| p.ends_with("voicemail.mp3")), "{seen:?}");
        if backend == ringtrack_store::Backend::Sqlite {
            assert!(seen.iter().any(|p| p == "ringtrack.db-wal"), "{seen:?}");
        }
        assert!(server.terminate().await.0.success());

        // A data dir from before, open to all, is made private at the next start.
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        if backend == ringtrack_store::Backend::Sqlite {
            std::fs::set_permissions(data.join("ringtrack.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let again = Server::start_with(&data, &url, &[("RINGTRACK_TRANSCRIBER", "none")]).await;
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
        if backend == ringtrack_store::Backend::Sqlite {
            assert_eq!(std::fs::metadata(data.join("ringtrack.db")).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(again.terminate().await.0.success());
    }

    async fn sigterm_under_load_exits_within_ten_seconds(backend: Backend) {
        use tokio::io::AsyncWriteExt;
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        // With the test model, transcriptions are running when the signal comes.
        let model = std::env::var("RINGTRACK_TEST_WHISPER_MODEL").ok();
        let mut env = vec![("RINGTRACK_API_RATE", "100000"), ("RINGTRACK_API_BURST", "100000"), ("RINGTRACK_JOB_POLL_MILLIS", "20")];
        match &model {
            Some(model) => env.push(("RINGTRACK_WHISPER_MODEL", model.as_str())),
            None => env.push(("RINGTRACK_TRANSCRIBER", "none")),
        }
        let server = Server::start_with(dir.path(), &db.url, &env).await;
        let (key, number) = crate::nodes::voicemail_line(&server, dir.path(), &db.url).await;
        for i in 0..3 {
            let words = format!("Hello, this is caller number {i}. My basement is flooding and the water heater is leaking. Please call me back as soon as you can.");
            crate::nodes::leave_voicemail(&server.base, &key, "+13055550000", &number, &words).await;
        }
        // Clients that keep asking, and one that sends a body slowly and never finishes it.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut load = Vec::new();
        for _ in 0..4 {
            let (base, key, stop) = (server.base.clone(), key.clone(), stop.clone());
            load.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let _ = client.get(format!("{base}/api/v1/calls")).bearer_auth(&key).send().await;
                }
            }));
        }
        let mut slow = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
        let head = format!("POST /api/v1/call-flows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"name\":");
        slow.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;

        let started = std::time::Instant::now();
        let (status, log) = server.terminate().await;
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for client in load {
            client.await.unwrap();
        }
        println!("SIGTERM under load ({}): exited in {took:?}", if model.is_some() { "transcribing" } else { "no speech" });
        assert!(status.success(), "{log}");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        drop(slow);
    }
}

#[tokio::test]
async fn bad_arguments_are_one_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db", dir.path().display());
    for (args, mentions) in [
        (vec!["frobnicate"], "frobnicate"),
        (vec!["serve", "--bind", "nowhere"], "--bind"),
        (vec!["serve", "--public-url", "ftp://example.com"], "--public-url"),
        (vec!["serve", "--bind", "127.0.0.1:0", "--carrier", "twilio"], "RINGTRACK_TWILIO_AUTH_TOKEN"),
        (vec!["serve", "--carrier", "carrier-pigeon"], "--carrier"),
        (
            vec!["admin", "create-key", "--business", "not-an-id", "--name", "x", "--role", "viewer"],
            "--business",
        ),
        (
            vec![
                "admin",
                "create-key",
                "--business",
                "0190f5a2-7c1e-7a4b-9a51-2a3c4d5e6f70",
                "--name",
                "x",
                "--role",
                "root",
            ],
            "--role",
        ),
        (vec!["admin", "credit", "--business", "0190f5a2-7c1e-7a4b-9a51-2a3c4d5e6f70"], "--cents"),
    ] {
        let output = run(ringtrack(dir.path(), &url), &args).await;
        assert_one_line_failure(&output, mentions);
    }
}

#[tokio::test]
async fn an_unreachable_database_or_unwritable_data_dir_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let unreachable =
        run(ringtrack(dir.path(), "postgres://postgres@127.0.0.1:1/ringtrack"), &["migrate"]).await;
    assert_one_line_failure(&unreachable, "cannot open the database");
    let not_a_url = run(ringtrack(dir.path(), "mysql://localhost/x"), &["migrate"]).await;
    assert_one_line_failure(&not_a_url, "sqlite:// or postgres://");

    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let data_dir = file.join("data");
    let url = format!("sqlite://{}/db", dir.path().display());
    let unwritable = run(ringtrack(&data_dir, &url), &["migrate"]).await;
    assert_one_line_failure(&unwritable, "data dir");
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_checkpoints_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ringtrack.db");
    let url = format!("sqlite://{}", database.display());
    let server = Server::start(dir.path(), &url).await;
    let key = key_in(&server.banner).unwrap();
    let listed = reqwest::Client::new()
        .get(format!("{}/api/v1/api-keys", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(server.terminate().await.0.success());
    // The database was closed: SQLite folds the WAL back in and removes it.
    assert!(database.exists());
    assert!(!dir.path().join("ringtrack.db-wal").exists(), "the WAL was left behind");
}
