//! Server-sent events for open pages: "your calls changed", after which the page reads
//! again what it shows (with its own filters). Each stream is one connection held open,
//! so a node serves a bounded number of them.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use ringtrack_domain::people::Token;
use ringtrack_store::live::{self, Topic};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use crate::WebState;
use crate::session::SignedIn;

/// The most live streams one node holds open.
pub const MAX_STREAMS: usize = 2_000;

/// The most one session holds open on a node (a few tabs): one person cannot take the
/// node's room from everyone else.
pub const MAX_STREAMS_PER_SESSION: usize = 4;

/// News closer together than this is sent as one: a page reads again at most this often.
const GATHER: Duration = Duration::from_millis(250);

/// How long a browser waits before connecting again when a stream ends.
const RETRY: Duration = Duration::from_secs(3);

/// How often an open stream checks that its session is still on (signed out, expired or
/// ended elsewhere: the stream ends).
const SESSION_CHECK: Duration = Duration::from_secs(10);

/// The room for live streams on this node, overall and per session.
pub struct Streams {
    node: Arc<Semaphore>,
    per_session: Mutex<HashMap<String, usize>>,
}

pub fn streams() -> Arc<Streams> {
    Arc::new(Streams { node: Arc::new(Semaphore::new(MAX_STREAMS)), per_session: Mutex::default() })
}

/// A stream's place, given back when the stream ends.
struct Slot {
    streams: Arc<Streams>,
    session: String,
    _permit: OwnedSemaphorePermit,
}

impl Streams {
    /// A place for a stream of `session`, or the status that refuses it.
    fn take(self: &Arc<Self>, session: &str) -> Result<Slot, StatusCode> {
        let mut open = self.per_session.lock().expect("the stream counts are never poisoned");
        if open.get(session).is_some_and(|count| *count >= MAX_STREAMS_PER_SESSION) {
            return Err(StatusCode::TOO_MANY_REQUESTS);
        }
        let Ok(permit) = self.node.clone().try_acquire_owned() else {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        };
        *open.entry(session.to_owned()).or_default() += 1;
        Ok(Slot { streams: self.clone(), session: session.to_owned(), _permit: permit })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.streams.per_session.lock().expect("the stream counts are never poisoned");
        if let Some(count) = open.get_mut(&self.session) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.session);
            }
        }
    }
}

fn refuse(status: StatusCode) -> Response {
    let message = if status == StatusCode::TOO_MANY_REQUESTS {
        "Too many live pages open in this session."
    } else {
        "Too many live pages open."
    };
    (status, [(header::RETRY_AFTER, "30")], message).into_response()
}

/// `GET /calls/live`: an event `calls` whenever a call of the person's business starts,
/// ends, is scored or is marked.
pub async fn calls(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    let slot = match state.live_streams.take(signed_in.token.hash().as_str()) {
        Ok(slot) => slot,
        Err(status) => return refuse(status),
    };
    let listening = Listening {
        heard: live::subscribe(&state.store),
        store: state.store.clone(),
        token: signed_in.token,
        business: signed_in.current.session.business_id,
        topic: Topic::Calls,
        first: Some(Event::default().retry(RETRY).comment("listening")),
        _slot: slot,
    };
    let mut response = Sse::new(changes(listening)).keep_alive(KeepAlive::default()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("a valid header"));
    response
}

/// One open stream.
struct Listening {
    heard: broadcast::Receiver<live::Heard>,
    store: ringtrack_store::Store,
    token: Token,
    business: ringtrack_domain::BusinessId,
    topic: Topic,
    first: Option<Event>,
    _slot: Slot,
}

fn changes(listening: Listening) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(listening, |mut listening| async move {
        if let Some(first) = listening.first.take() {
            return Some((Ok(first), listening));
        }
        let mut check = tokio::time::interval_at(tokio::time::Instant::now() + SESSION_CHECK, SESSION_CHECK);
        loop {
            tokio::select! {
                news = listening.heard.recv() => match news {
                    Ok(news) if news.business_id == listening.business && news.topic == listening.topic => break,
                    Ok(_) => {}
                    // Fell behind: some news may have been ours.
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = check.tick() => {
                    let on = ringtrack_core::people::session(&listening.store, &listening.token).await;
                    // Signed out (or unreadable): the stream ends; the page's next try is refused.
                    if !matches!(on, Ok(Some(current)) if current.session.business_id == listening.business) {
                        return None;
                    }
                }
            }
        }
        // Whatever else arrives meanwhile is told by this one event.
        tokio::time::sleep(GATHER).await;
        listening.heard = listening.heard.resubscribe();
        let event = Event::default().event(topic_name(listening.topic)).data("changed");
        Some((Ok(event), listening))
    })
}

fn topic_name(topic: Topic) -> &'static str {
    match topic {
        Topic::Calls => "calls",
    }
}
