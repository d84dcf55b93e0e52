//! The passes every node runs on a timer (renewals, quiet calls). Each is safe to run on
//! several nodes at once; a failed pass is logged and simply runs again at the next tick.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// Runs `pass` every `interval` until `stop` turns true.
pub async fn every<Pass, Ran, T, E>(
    what: &'static str,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    mut pass: Pass,
) where
    Pass: FnMut() -> Ran,
    Ran: Future<Output = Result<T, E>>,
    E: Display,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if let Err(error) = pass().await {
                    tracing::error!(%error, "a {what} pass failed; it runs again at the next tick");
                }
            }
            _ = stop.changed() => return,
        }
    }
}
