//! Changes every node must hear of at once, because nodes keep copies of what they change.
//!
//! The transaction that makes such a change announces it ([`crate::Tx::announce`]). On
//! PostgreSQL that is a `NOTIFY` inside the transaction, which PostgreSQL delivers at its
//! commit, and only then, to every node's listener; the node that made the change also acts
//! at its own commit, which is all a SQLite store (one process) needs.
//!
//! A node trusts its copies only while its listener is connected: a notification sent while
//! it was away is lost, so it forgets everything it kept when it connects again.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::oneshot;

use crate::api_keys::KeyCache;

/// The channel every node listens on.
pub(crate) const CHANNEL: &str = "ringtrack_changes";

/// How long a node waits before connecting its listener again after losing it.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// A change other nodes may hold a copy of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A key was revoked: every node forgets the keys it kept.
    ApiKeys,
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Change::ApiKeys => "api_keys",
        }
    }

    fn parse(payload: &str) -> Option<Change> {
        match payload {
            "api_keys" => Some(Change::ApiKeys),
            _ => None,
        }
    }
}

/// What a node keeps that a change anywhere can make stale.
#[derive(Debug)]
pub(crate) struct Kept {
    pub(crate) keys: KeyCache,
}

impl Kept {
    /// On SQLite every change is made by this process, so what it keeps is trusted at once;
    /// on PostgreSQL only once the listener is connected.
    pub(crate) fn new(trusted: bool) -> Self {
        Kept { keys: KeyCache::new(trusted) }
    }

    pub(crate) fn apply(&self, change: Change) {
        match change {
            Change::ApiKeys => self.keys.forget_all(),
        }
    }

    fn trust(&self, trusted: bool) {
        self.keys.trust(trusted);
    }
}

/// Ends the node's listener when dropped (with the last clone of its store).
#[derive(Debug)]
pub(crate) struct StopListening {
    _sender: oneshot::Sender<()>,
}

/// Starts this node's listener on its own connection (not one of the request pool's).
pub(crate) fn listen(options: PgConnectOptions, kept: Arc<Kept>) -> StopListening {
    let (stop, mut stopped) = oneshot::channel();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options);
    tokio::spawn(async move {
        loop {
            let listening = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.eager_reconnect(false);
                listener.listen(CHANNEL).await?;
                // Whatever was announced before this point may have been missed.
                kept.trust(true);
                while let Some(notification) = listener.try_recv().await? {
                    match Change::parse(notification.payload()) {
                        Some(change) => kept.apply(change),
                        None => tracing::warn!(payload = notification.payload(), "unknown change announced"),
                    }
                }
                Ok::<_, sqlx::Error>(())
            };
            let outcome = tokio::select! {
                outcome = listening => outcome,
                _ = &mut stopped => return,
            };
            kept.trust(false);
            if let Err(error) = outcome {
                tracing::warn!(%error, "lost the database listener; kept copies are not used until it is back");
            }
            tokio::select! {
                () = tokio::time::sleep(RECONNECT_AFTER) => {}
                _ = &mut stopped => return,
            }
        }
    });
    StopListening { _sender: stop }
}
