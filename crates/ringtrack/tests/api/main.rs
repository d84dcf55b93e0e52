//! Black-box tests of ringtrack over HTTP and its command line. Every test that touches
//! storage runs twice, on SQLite and on PostgreSQL (`test_on_both_backends!`).

mod ad_spend;
mod api_keys;
mod call_flows;
mod call_log;
mod calls;
mod carrier;
mod cli;
mod common;
mod conventions;
mod dashboard_page;
mod dni;
mod integrations;
mod isolation;
mod listener;
mod nodes;
mod number_groups;
mod numbers;
mod people;
mod pipeline;
mod reports_pages;
mod run_logs;
mod sms;
mod trust;
mod web;
