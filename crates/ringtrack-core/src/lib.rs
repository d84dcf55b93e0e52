//! The use cases: what happens when a call ends, a number is bought, a text is sent, a
//! visit leases a number — the rules every door (the API, the web app to come, the job
//! worker, the timed passes, the CLI) calls, so that none of them copies another. Below it
//! sit the store, the carrier and media; nothing here knows HTTP.
//!
//! The store below keeps data and nothing else: which events a change sends, which jobs it
//! queues, what it charges and which roll-ups it moves are decided here. The public shapes
//! of a call, a text and a form (`views`) are here because both the API and the events
//! speak them.

pub mod ad_spend;
pub mod balance;
pub mod calls;
pub mod csv;
pub mod events;
pub mod forms;
pub mod hashing;
pub mod limits;
pub mod mail;
pub mod numbers;
pub mod people;
pub mod recordings;
pub mod reports;
pub mod team;
pub mod texts;
pub mod views;
