//! Changes every node must hear of at once, because nodes keep copies of what they change.
//!
//! The transaction that makes such a change announces it (`Tx::announce_key_revoked`,
//! `Tx::announce_live`). On
//! PostgreSQL that is a `NOTIFY` inside the transaction, which PostgreSQL delivers at its
//! commit, and only then, to every node's listener; the node that made the change also acts
//! at its own commit, which is all a SQLite store (one process) needs.
//!
//! A node trusts its copies only while its listener is connected: a notification sent while
//! it was away is lost, so it forgets everything it kept when it connects again.
//!
//! The same road carries what people's open pages want to hear of at once (a business's
//! calls changed: [`crate::live`]); on PostgreSQL every node, the announcing one included,
//! hears those from its listener, so each is passed on once.

use std::sync::Arc;
use std::time::Duration;

use ringtrack_domain::BusinessId;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::{broadcast, oneshot};

use crate::api_keys::KeyCache;
use crate::live::{Heard, Topic};

/// The channel every node listens on.
pub(crate) const CHANNEL: &str = "ringtrack_changes";

/// How long a node waits before connecting its listener again after losing it.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// A change other nodes may hold a copy of, or show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A key was revoked: every node forgets the keys it kept.
    ApiKeys,
    /// Something people may be watching changed.
    Live(Heard),
}

impl Change {
    /// The notification's payload: `api_keys`, or `live:{topic}:{business id}`.
    pub(crate) fn payload(self) -> String {
        match self {
            Change::ApiKeys => "api_keys".into(),
            Change::Live(heard) => format!("live:{}:{}", heard.topic.as_str(), heard.business_id),
        }
    }

    fn parse(payload: &str) -> Option<Change> {
        if payload == "api_keys" {
            return Some(Change::ApiKeys);
        }
        let (topic, business) = payload.strip_prefix("live:")?.split_once(':')?;
        let heard = Heard { topic: Topic::parse(topic)?, business_id: business.parse::<BusinessId>().ok()? };
        Some(Change::Live(heard))
    }

    /// Whether the node that made the change applies it at its commit. Live news on
    /// PostgreSQL comes back through this node's own listener, so it is not passed twice.
    pub(crate) fn applied_at_commit(self, postgres: bool) -> bool {
        match self {
            Change::ApiKeys => true,
            Change::Live(_) => !postgres,
        }
    }
}

/// Live news a node holds for its open pages before they take it; a page that falls
/// further behind is told it missed some (and reloads what it shows).
const LIVE_BACKLOG: usize = 1024;

/// What a node keeps that a change anywhere can make stale, and where it passes on live
/// news to the pages open on it.
#[derive(Debug)]
pub(crate) struct Kept {
    pub(crate) keys: KeyCache,
    pub(crate) live: broadcast::Sender<Heard>,
}

impl Kept {
    /// On SQLite every change is made by this process, so what it keeps is trusted at once;
    /// on PostgreSQL only once the listener is connected.
    pub(crate) fn new(trusted: bool) -> Self {
        Kept { keys: KeyCache::new(trusted), live: broadcast::channel(LIVE_BACKLOG).0 }
    }

    pub(crate) fn apply(&self, change: Change) {
        match change {
            Change::ApiKeys => self.keys.forget_all(),
            // No page listening is no error.
            Change::Live(heard) => drop(self.live.send(heard)),
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
