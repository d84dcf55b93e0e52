//! The listener: HTTP/1.1 connections with bounds a hostile client cannot stretch. A
//! request's head (request line and headers) is at most [`MAX_HEAD_BYTES`]; a client has
//! `header_read_timeout` to send it (slow or idle connections are closed, so they cannot
//! hold file descriptors); at most `max_connections` are open at once (beyond them the
//! listener stops accepting until one closes, and the kernel's backlog waits).
//! axum's own `serve` sets none of these, so this is hyper's connection builder used
//! directly, with the same graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use ringtrack_domain::network::TrustedProxies;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// The largest request head read: the request line and every header together.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How many connections, how long a request's head may take, and whose forwarding
/// headers are believed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub trusted_proxies: TrustedProxies,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// The client a request came from: the TCP peer, or behind a trusted proxy, the address it
/// forwarded (with no port: the proxy does not say it).
fn client_of(peer: SocketAddr, headers: &axum::http::HeaderMap, proxies: &TrustedProxies) -> SocketAddr {
    let values =
        |name| -> Vec<&str> { headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect() };
    let client = proxies.client(peer.ip(), &values("x-forwarded-for"), &values("forwarded"));
    if client == peer.ip() { peer } else { SocketAddr::new(client, 0) }
}

/// Serves `router` (the API's and the web app's routes) until `shutdown` completes, then
/// stops accepting and finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let proxies = Arc::new(limits.trusted_proxies.clone());
    // Turns true when shutdown begins: every connection then finishes its request and closes.
    let (stopping_tx, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a connection reset before it was taken:
                    // wait a moment rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let proxies = proxies.clone();
        let service = tower::service_fn(move |mut request: axum::http::Request<Incoming>| {
            // The client's address is the key of every per-address limit and what the logs
            // name: handlers read it as `ConnectInfo`.
            let client = client_of(peer, request.headers(), &proxies);
            request.extensions_mut().insert(ConnectInfo(client));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                served = connection.as_mut() => log_connection_end(served, peer),
                _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
                    connection.as_mut().graceful_shutdown();
                    log_connection_end(connection.await, peer);
                }
            }
        });
    }
    let _ = stopping_tx.send(true);
    // Every connection holds a slot: all of them back means all have closed. A client that
    // sends a body slowly is not waited for past the grace: the process must stop.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await.is_err() {
        tracing::warn!(
            open = limits.max_connections.max(1) - slots.available_permits(),
            "connections still open after the shutdown grace; closing them"
        );
    }
    Ok(())
}

/// How long requests in flight are given to finish once shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

fn log_connection_end(served: hyper::Result<()>, peer: SocketAddr) {
    if let Err(error) = served {
        // Timeouts, oversized heads and resets are the client's doing: debug, not noise.
        tracing::debug!(%error, %peer, "connection ended with an error");
    }
}
