//! The `optical-erp` binary's wiring: configuration and each process (API, relay, demo
//! writer, tail, order saga, lab printing); the application services themselves live in `optical-app`.
//!
//! Owns: how the library crates are put together, and process concerns (signals, logs).
//! Must never: hold domain rules, SQL or Kafka protocol details — those live in the crates.

pub mod config;
pub mod demo;
pub mod lab_print;
pub mod processes;
pub mod project;
pub mod saga;
