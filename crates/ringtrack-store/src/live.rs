//! Live news for people's open pages: "this business's calls changed". Announced inside
//! the transaction that made the change, heard by every node once it commits (in process
//! on SQLite, through `LISTEN/NOTIFY` on PostgreSQL; see `changes`), and passed to the
//! pages open on each node, which read again what they show.

use ringtrack_domain::BusinessId;
use tokio::sync::broadcast;

use crate::{Result, Store, Tx};

/// What changed, for whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heard {
    pub topic: Topic,
    pub business_id: BusinessId,
}

/// What a page may show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// A call started, ended, or was scored or marked.
    Calls,
}

impl Topic {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Topic::Calls => "calls",
        }
    }

    pub(crate) fn parse(raw: &str) -> Option<Topic> {
        match raw {
            "calls" => Some(Topic::Calls),
            _ => None,
        }
    }
}

/// Tells the pages watching `topic` of `business_id`, on every node, once `tx` commits.
pub async fn announce(tx: &mut Tx, business_id: BusinessId, topic: Topic) -> Result<()> {
    tx.announce_live(Heard { topic, business_id }).await
}

/// Every change announced from now on (to this node's pages; filter by business).
pub fn subscribe(store: &Store) -> broadcast::Receiver<Heard> {
    store.kept().live.subscribe()
}
