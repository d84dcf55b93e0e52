//! The passes every node runs on a timer (renewals, quiet calls). Each is safe to run on
//! several nodes at once; a pass that fails, or panics, is logged and counted
//! (`ringtrack_timed_pass_failures_total`) and simply runs again at the next tick.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ringtrack_api::metrics::Metrics;
use tokio::sync::watch;

/// Runs `pass` every `interval` until `stop` turns true.
pub async fn every<Pass, Ran, T, E>(
    what: &'static str,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    mut pass: Pass,
) where
    Pass: FnMut() -> Ran,
    Ran: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Display + Send + 'static,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                // A task of its own: a panic ends this pass, not the timer.
                match tokio::spawn(pass()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        metrics.record_pass_failure(what);
                        tracing::error!(%error, "a {what} pass failed; it runs again at the next tick");
                    }
                    Err(panicked) => {
                        metrics.record_pass_failure(what);
                        tracing::error!(error = %panicked, "a {what} pass panicked; it runs again at the next tick");
                    }
                }
            }
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_pass_that_panics_or_fails_runs_again() {
        let metrics = Arc::new(Metrics::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = watch::channel(false);
        let counted = runs.clone();
        let timer =
            tokio::spawn(every("test", Duration::from_millis(10), stopped, metrics.clone(), move || {
                let run = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    match run {
                        0 => panic!("the first pass panics"),
                        1 => Err("the second fails"),
                        _ => Ok(()),
                    }
                }
            }));
        while runs.load(Ordering::SeqCst) < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.send(true).unwrap();
        timer.await.unwrap();
        let mut text = String::new();
        metrics.render(&mut text);
        assert!(text.contains("ringtrack_timed_pass_failures_total{pass=\"test\"} 2"), "{text}");
    }
}
