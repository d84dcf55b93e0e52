//! Every server of a test run logs into one directory, and every secret the run creates is
//! written down beside the logs: the last step of `scripts/test` (tests/logs) checks that
//! no log holds any of them.

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

/// `RINGTRACK_TEST_LOG_DIR`, or `target/test-logs`.
pub fn dir() -> PathBuf {
    let dir = std::env::var_os("RINGTRACK_TEST_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/test-logs")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A new log file in the run's directory, kept after the test.
pub fn new_file(prefix: &str) -> (std::fs::File, PathBuf) {
    let file = tempfile::Builder::new().prefix(prefix).suffix(".log").tempfile_in(dir()).unwrap();
    file.keep().unwrap()
}

pub fn remember_secret(secret: &str) {
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(dir().join("secrets.txt")).unwrap();
    // One write of one line: appends from concurrent tests never interleave.
    file.write_all(format!("{secret}\n").as_bytes()).unwrap();
}

/// Remembers every API key and webhook secret an answer hands out.
pub fn remember_secrets_in(answer: &Value) {
    match answer {
        Value::Object(fields) => {
            for (name, value) in fields {
                match (name.as_str(), value) {
                    ("key" | "secret", Value::String(secret)) => remember_secret(secret),
                    _ => remember_secrets_in(value),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(remember_secrets_in),
        _ => {}
    }
}

/// The in-process servers of this test binary log (at debug) into one file of the run.
pub fn capture_in_process_logs() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let (file, _) = new_file("in-process-");
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,sqlx=warn,hyper=info,hyper_util=info,h2=info",
            ))
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
    });
}
