//! Server-sent events for open pages: "your calls changed", after which the page reads
//! again what it shows (with its own filters). Each stream is one connection held open,
//! so a node serves a bounded number of them.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use ringtrack_store::live::{self, Topic};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use crate::WebState;
use crate::session::SignedIn;

/// The most live streams one node holds open.
pub const MAX_STREAMS: usize = 2_000;

/// News closer together than this is sent as one: a page reads again at most this often.
const GATHER: Duration = Duration::from_millis(250);

/// How long a browser waits before connecting again when a stream ends.
const RETRY: Duration = Duration::from_secs(3);

pub fn streams() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(MAX_STREAMS))
}

/// `GET /calls/live`: an event `calls` whenever a call of the person's business starts,
/// ends, is scored or is marked.
pub async fn calls(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    let Ok(permit) = state.live_streams.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "30")], "Too many live pages open.")
            .into_response();
    };
    let heard = live::subscribe(&state.store);
    let events = changes_of(heard, signed_in.business(), Topic::Calls, permit);
    let mut response = Sse::new(events).keep_alive(KeepAlive::default()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("a valid header"));
    response
}

fn changes_of(
    heard: broadcast::Receiver<live::Heard>,
    business: ringtrack_domain::BusinessId,
    topic: Topic,
    permit: OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let first = Event::default().retry(RETRY).comment("listening");
    let state = (heard, permit, Some(first));
    futures_util::stream::unfold(state, move |(mut heard, permit, first)| async move {
        if let Some(first) = first {
            return Some((Ok(first), (heard, permit, None)));
        }
        loop {
            match heard.recv().await {
                Ok(news) if news.business_id == business && news.topic == topic => break,
                Ok(_) => {}
                // Fell behind: some news may have been ours.
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
        // Whatever else arrives meanwhile is told by this one event.
        tokio::time::sleep(GATHER).await;
        heard = heard.resubscribe();
        Some((Ok(Event::default().event(topic_name(topic)).data("changed")), (heard, permit, None)))
    })
}

fn topic_name(topic: Topic) -> &'static str {
    match topic {
        Topic::Calls => "calls",
    }
}
