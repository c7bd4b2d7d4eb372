//! Integration tests against real PostgreSQL and a real Kafka-protocol broker (tansu).
//! Every test creates its own database, broker process and topic prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod api_customers;
mod api_lab;
mod api_orders;
mod cli;
mod contracts;
mod event_store;
mod helpers;
mod lab_print;
mod lab_saga;
mod orders_saga;
mod projector;
mod read_patients_lab;
mod read_stock_orders;
mod relay;
