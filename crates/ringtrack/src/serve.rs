//! `ringtrack serve`: open storage, make the first business on an empty database, serve
//! until SIGINT or SIGTERM, then finish in-flight requests and close the database.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use std::time::Duration;

use ringtrack_domain::people::Token;
use ringtrack_domain::{ApiKeySecret, BusinessId};
use ringtrack_store::{Store, businesses};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::create_business_with_admin_key;
use crate::cli::{CarrierKind, ServeArgs, StorageArgs};
use crate::{periodic, quiet_calls, renewals, wiring, worker};

pub async fn run(storage: &StorageArgs, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        anyhow::bail!("--public-url: {url:?} must be an http:// or https:// URL");
    }
    let mailer =
        ringtrack_core::mail::Mailer::from_settings(args.smtp_url.as_deref(), args.smtp_from.as_deref())?;
    let stop_signal = shutdown_signal()?;
    let store = storage.open().await?;
    let listener =
        TcpListener::bind(args.bind).await.with_context(|| format!("cannot listen on {}", args.bind))?;
    let local = listener.local_addr()?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let public_url = public_url.trim_end_matches('/').to_owned();

    let token = wiring::webhook_token(&args.carrier, &storage.data_dir)?;
    let carrier = wiring::carrier(&args.carrier, &store, &storage.data_dir, &token)?;
    let prices = wiring::prices(&args.carrier)?;
    let sandbox =
        (args.carrier.carrier == CarrierKind::Sandbox).then(|| wiring::sandbox_recordings(&storage.data_dir));
    let recordings = wiring::recordings(&args.pipeline, &storage.data_dir)?;
    let state = wiring::AppParts {
        store: store.clone(),
        carrier,
        prices,
        public_url: public_url.clone(),
        webhook_token: token,
        sandbox_recordings: sandbox,
        recordings,
        sealer: wiring::sealer(args.secret_key.as_deref(), &storage.data_dir)?,
        limits: wiring::Limits::from_args(&args)?,
        allow_http_webhooks: args.allow_http_webhooks,
    }
    .build();
    let pipeline = wiring::pipeline(&args.pipeline, &state, &storage.data_dir, mailer.clone())?;

    let metrics = match args.metrics_bind {
        Some(bind) => Some(
            TcpListener::bind(bind)
                .await
                .with_context(|| format!("--metrics-bind: cannot listen on {bind}"))?,
        ),
        None => None,
    };
    let sealed = ringtrack_store::webhooks::seal_plain_headers(&store, &state.sealer).await?;
    if sealed > 0 {
        tracing::info!(
            endpoints = sealed,
            "sealed the custom headers of webhook endpoints saved before sealing"
        );
    }
    if let Some((business, key, owner)) = first_start(&store).await? {
        print_first_key(business, &key, &owner, local, &public_url);
    }
    if let Some(metrics) = &metrics {
        println!("metrics on http://{}/metrics", metrics.local_addr()?);
    }
    println!("ringtrack listening on http://{local} (public URL {public_url})");
    tracing::info!(address = %local, public_url, backend = ?store.backend(), carrier = ?args.carrier.carrier, "serving");

    let (stop, stopped) = watch::channel(false);
    let interval = Duration::from_secs(args.renewal_interval_seconds.max(1));
    let renewals =
        tokio::spawn(periodic::every("renewal", interval, stopped.clone(), state.metrics.clone(), {
            let store = store.clone();
            move || {
                let store = store.clone();
                async move { renewals::renew_due_numbers(&store, store.now()).await }
            }
        }));
    // Asked about a few times within its quiet time, a lost call is settled soon after.
    let quiet = Duration::from_secs(args.quiet_call_seconds);
    let quiet_calls = tokio::spawn(periodic::every(
        "quiet-call",
        (quiet / 4).min(Duration::from_secs(60)),
        stopped.clone(),
        state.metrics.clone(),
        {
            let state = state.clone();
            move || {
                let state = state.clone();
                async move {
                    quiet_calls::settle_quiet_calls(
                        &state.store,
                        state.carrier.as_ref(),
                        &state.prices,
                        state.store.now(),
                        quiet,
                    )
                    .await
                }
            }
        },
    ));
    // Sessions, waits for a code, links and attempt counts no one can use any more.
    let sign_in_cleanup = tokio::spawn(periodic::every(
        "sign-in cleanup",
        Duration::from_secs(600),
        stopped.clone(),
        state.metrics.clone(),
        {
            let store = store.clone();
            move || {
                let store = store.clone();
                async move { ringtrack_core::people::purge_expired(&store).await }
            }
        },
    ));
    let worker =
        tokio::spawn(worker::run(Arc::new(pipeline), wiring::worker_config(&args.pipeline), stopped.clone()));
    if let Some(metrics) = metrics {
        let mut stopped = stopped;
        let until_stopped = async move {
            let _ = stopped.changed().await;
        };
        let served = ringtrack_api::metrics::serve(metrics, state.clone(), until_stopped);
        tokio::spawn(async move {
            if let Err(error) = served.await {
                tracing::error!(%error, "the metrics listener failed");
            }
        });
    }
    let shutdown = async move {
        stop_signal.await;
        let _ = stop.send(true);
    };
    let limits = ringtrack_api::ConnectionLimits {
        max_connections: args.max_connections as usize,
        header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds),
        trusted_proxies: args.trusted_proxies.clone(),
    };
    ringtrack_api::serve(listener, wiring::app(&state, mailer), limits, shutdown).await?;
    tracing::info!("stopped accepting requests; giving back unfinished jobs and closing the database");
    let finish = async {
        let _ = renewals.await;
        let _ = quiet_calls.await;
        let _ = sign_in_cleanup.await;
        let _ = worker.await;
        store.close().await;
    };
    // Whatever is left after this (a connection held by a task that never returns) does
    // not keep the process alive: jobs not given back are taken over when their leases end.
    if tokio::time::timeout(FINISH_GRACE, finish).await.is_err() {
        tracing::warn!("shutdown did not finish within {} s; stopping anyway", FINISH_GRACE.as_secs());
    }
    Ok(())
}

/// How long the worker, the timed passes and the database get to stop once the listener
/// has: with the listener's own grace, SIGTERM ends the process within 10 s.
const FINISH_GRACE: Duration = Duration::from_secs(4);

/// On an empty database, creates "My Business", its first admin key and the link its
/// first person signs up through, atomically, so that two nodes starting together create
/// one business between them.
async fn first_start(store: &Store) -> anyhow::Result<Option<(BusinessId, ApiKeySecret, Token)>> {
    let mut tx = store.begin().await?;
    if !businesses::none_exist(&mut tx).await? {
        return Ok(None);
    }
    let (business, key) = create_business_with_admin_key(&mut tx, "My Business", "UTC").await?;
    let owner = ringtrack_core::people::owner_link(&mut tx, business.id).await?;
    tx.commit().await?;
    tracing::info!(business_id = %business.id, "created the first business");
    Ok(Some((business.id, key, owner)))
}

/// Printed to stdout once, never logged.
fn print_first_key(
    business: BusinessId,
    key: &ApiKeySecret,
    owner: &Token,
    local: SocketAddr,
    public_url: &str,
) {
    let host = match local.ip() {
        ip if ip.is_unspecified() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port()),
        _ => local,
    };
    println!(
        "\nCreated \"My Business\" (business id {business}).\n\n\
         Open the app and set up your account (the link works once, for 7 days):\n\n    \
         {public_url}/welcome/{owner}\n\n\
         Its first admin API key (save it now: it is not shown again):\n\n    {key}\n\nTry it:\n\n    \
         curl -H \"Authorization: Bearer {key}\" http://{host}/api/v1/api-keys\n",
        key = key.expose(),
        owner = owner.expose(),
        public_url = public_url.trim_end_matches('/'),
    );
}

/// SIGINT or SIGTERM, listened for from the moment this is called: a signal that comes
/// before the server is up still stops it cleanly.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down");
    })
}
