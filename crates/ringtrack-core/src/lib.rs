//! The use cases: what happens when a call ends, a number is bought, a text is sent, a
//! visit leases a number — the rules every door (the API, the web app to come, the job
//! worker, the timed passes, the CLI) calls, so that none of them copies another. Below it
//! sit the store, the carrier and media; nothing here knows HTTP.
//!
//! This crate is being grown out of the API handlers, one use case at a time: a call's end
//! and what an event says are the first; the public shapes of a call, a text and a form
//! (`views`) are here because both the API and the events speak them.

pub mod calls;
pub mod events;
pub mod numbers;
pub mod texts;
pub mod views;
