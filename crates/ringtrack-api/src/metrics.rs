//! `GET /metrics` in Prometheus' text format, on its own listener (`--metrics-bind`), so it
//! is never exposed with the API: requests and latency histograms by route, calls by
//! status, jobs by state, and how long due jobs have waited.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// This node's request figures since it started.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    pass_failures: Mutex<BTreeMap<&'static str, u64>>,
    unreadable_call_states: std::sync::atomic::AtomicU64,
}

/// A lock whose holder panicked still holds sound counters: figures are never worth a
/// failed request.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Metrics {
    /// A call's saved state could not be read and the call was recovered.
    pub fn record_unreadable_call_state(&self) {
        self.unreadable_call_states.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A timed pass (renewals, quiet calls) failed or panicked.
    pub fn record_pass_failure(&self, pass: &'static str) {
        *lock(&self.pass_failures).entry(pass).or_default() += 1;
    }

    fn record(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        *lock(&self.requests).entry((route.to_owned(), method.to_owned(), status)).or_default() += 1;
        let mut latency = lock(&self.latency);
        let histogram = latency.entry(route.to_owned()).or_default();
        let seconds = elapsed.as_secs_f64();
        for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// This node's own figures: requests, latency, failed timed passes.
    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP ringtrack_http_requests_total Requests answered, by route, method and status.\n",
        );
        out.push_str("# TYPE ringtrack_http_requests_total counter\n");
        for ((route, method, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "ringtrack_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP ringtrack_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE ringtrack_http_request_duration_seconds histogram\n");
        for (route, h) in lock(&self.latency).iter() {
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "ringtrack_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "ringtrack_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ =
                writeln!(out, "ringtrack_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(
                out,
                "ringtrack_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str(
            "# HELP ringtrack_timed_pass_failures_total Timed passes that failed or panicked, by pass.\n",
        );
        out.push_str("# TYPE ringtrack_timed_pass_failures_total counter\n");
        for (pass, n) in lock(&self.pass_failures).iter() {
            let _ = writeln!(out, "ringtrack_timed_pass_failures_total{{pass=\"{pass}\"}} {n}");
        }
        out.push_str("# HELP ringtrack_unreadable_call_states_total Calls whose saved state could not be read, recovered.\n");
        out.push_str("# TYPE ringtrack_unreadable_call_states_total counter\n");
        let unreadable = self.unreadable_call_states.load(std::sync::atomic::Ordering::Relaxed);
        let _ = writeln!(out, "ringtrack_unreadable_call_states_total {unreadable}");
    }
}

/// Counts every request under its route's pattern (never the raw path: ids would make a
/// series per resource).
pub async fn measure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = crate::request_log::method_label(request.method());
    tracing::Span::current().record("route", route.as_str());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.metrics.record(&route, method, response.status().as_u16(), started.elapsed());
    response
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    state.metrics.render(&mut out);
    match ringtrack_store::jobs::figures(&state.store).await {
        Ok(figures) => {
            out.push_str("# HELP ringtrack_calls Calls completed, by status (all businesses).\n# TYPE ringtrack_calls gauge\n");
            for (status, n) in &figures.calls_by_status {
                let _ = writeln!(out, "ringtrack_calls{{status=\"{status}\"}} {n}");
            }
            out.push_str("# HELP ringtrack_jobs Jobs in the queue, by state.\n# TYPE ringtrack_jobs gauge\n");
            for (state, n) in &figures.jobs_by_state {
                let _ = writeln!(out, "ringtrack_jobs{{state=\"{state}\"}} {n}");
            }
            out.push_str("# HELP ringtrack_job_queue_lag_seconds How long the oldest due job has waited.\n");
            out.push_str("# TYPE ringtrack_job_queue_lag_seconds gauge\n");
            let _ = writeln!(out, "ringtrack_job_queue_lag_seconds {}", figures.queue_lag.as_secs_f64());
        }
        Err(error) => tracing::error!(%error, "cannot read the figures for /metrics"),
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Serves `/metrics` on its own listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics)).with_state(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
