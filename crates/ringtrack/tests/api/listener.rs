//! The listener as a hostile client meets it: request heads and methods that cost nothing
//! to refuse and leave no trace in logs or metrics, and slow clients that hold nothing for
//! long.

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use ringtrack_api::ConnectionLimits;
use ringtrack_store::test_on_both_backends;
use ringtrack_store::testing::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::Server;
use crate::common::{TestApp, TestOptions};

/// The server process's resident memory, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sends `head` on a connection of its own; answers the status line, or "" when the server
/// closed the connection without one.
async fn raw(address: &str, head: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    // The server may stop reading (and close) before all of it is sent.
    let _ = stream.write_all(head).await;
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer or a close");
    let n = read.unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or("").to_owned()
}

fn random_method(rng: &mut impl Rng, len: usize) -> String {
    (0..len).map(|_| char::from(rng.random_range(b'A'..=b'Z'))).collect()
}

test_on_both_backends! {
    async fn odd_methods_cost_nothing_and_reach_no_log_or_metric(backend: Backend) {
        let db = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_with(dir.path(), &db.url, &[("RINGTRACK_METRICS_BIND", "127.0.0.1:0")]).await;
        let address = server.base.trim_start_matches("http://").to_owned();
        let start = server.banner.find("metrics on http://").unwrap() + "metrics on http://".len();
        let metrics = format!("http://{}", server.banner[start..].split('/').next().unwrap());
        let client = reqwest::Client::new();
        for _ in 0..20 {
            assert_eq!(client.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), StatusCode::OK);
        }
        let (memory, logged) = (resident_kib(server.pid()), server.logged_bytes());
        let mut rng = rand::rng();
        // A method of 200 KB: the head is over its bound and refused unread.
        for _ in 0..300 {
            let head = format!("{} /healthz HTTP/1.1\r\nHost: x\r\n\r\n", random_method(&mut rng, 200_000));
            let answer = raw(&address, head.as_bytes()).await;
            assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{answer}");
        }
        // A method that fits in a head: 405, and no log line or label of its own.
        for _ in 0..300 {
            let head = format!("{} /healthz HTTP/1.1\r\nHost: x\r\n\r\n", random_method(&mut rng, 4_000));
            assert_eq!(raw(&address, head.as_bytes()).await, "HTTP/1.1 405 Method Not Allowed");
        }
        let grown_kib = resident_kib(server.pid()).saturating_sub(memory);
        let grown_log = server.logged_bytes() - logged;
        println!("600 odd methods: resident memory +{grown_kib} KiB, log +{grown_log} bytes");
        assert!(grown_kib < 40 * 1024, "resident memory grew by {grown_kib} KiB");
        assert!(grown_log < 1024 * 1024, "the log grew by {grown_log} bytes");
        let text = client.get(format!("{metrics}/metrics")).send().await.unwrap().text().await.unwrap();
        let series: Vec<&str> = text.lines().filter(|l| l.starts_with("ringtrack_http_requests_total{")).collect();
        assert!(series.len() <= 5, "{series:?}");
        assert!(series.iter().all(|l| l.contains("method=\"GET\"")), "{series:?}");
        assert_eq!(client.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), StatusCode::OK);
        assert!(server.terminate().await.0.success());
    }

    async fn slow_clients_hold_nothing_for_long(backend: Backend) {
        let limits = ConnectionLimits { max_connections: 1500, header_read_timeout: Duration::from_secs(1), ..ConnectionLimits::default() };
        let app = TestApp::spawn_with_options(backend, TestOptions { connections: limits, ..TestOptions::default() }).await;
        let address = app.base.trim_start_matches("http://").to_owned();
        let mut slow = Vec::new();
        for _ in 0..1000 {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
            slow.push(stream);
        }
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let started = Instant::now();
        assert_eq!(client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), StatusCode::OK);
        println!("/healthz beside 1,000 slow connections: {:?}", started.elapsed());
        // Their head never finished: the server closes every one of them.
        let mut closed = 0;
        for stream in &mut slow {
            let mut byte = [0; 1];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await;
            if matches!(read, Ok(Ok(0)) | Ok(Err(_))) {
                closed += 1;
            }
        }
        assert_eq!(closed, 1000);
        app.stop().await;

        // At the cap, a new connection waits for a slot, which the timeout frees.
        let limits = ConnectionLimits { max_connections: 3, header_read_timeout: Duration::from_secs(1), ..ConnectionLimits::default() };
        let app = TestApp::spawn_with_options(backend, TestOptions { connections: limits, ..TestOptions::default() }).await;
        let address = app.base.trim_start_matches("http://").to_owned();
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            stream.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            held.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        assert_eq!(client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(500), "answered at once: the cap did not hold ({:?})", started.elapsed());
        app.stop().await;
    }
}
