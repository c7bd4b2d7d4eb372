//! The `optical-erp` binary's wiring: configuration, the application services that put
//! aggregates on the event store, and each process (relay, demo writer, tail).
//!
//! Owns: how the library crates are put together, and process concerns (signals, logs).
//! Must never: hold domain rules, SQL or Kafka protocol details — those live in the crates.

pub mod catalog_app;
pub mod config;
pub mod demo;
pub mod processes;
