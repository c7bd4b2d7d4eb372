//! Inventory domain: the [`StockLevel`] aggregate — the stock of one variant at one location —
//! its commands, events (`inventory.stock.*`, `inventory.reservation.*`) and value objects.
//!
//! Owns: the rules that keep stock honest. Units on hand never drop below zero and never below
//! the units reserved for carts; a reservation holds units until it is released, expires or is
//! committed to an order, and a committed reservation's units come back on hand exactly once if
//! that order is cancelled before shipping. Every event carries the totals after it, so
//! projections need no state.
//! Every value is validated when built and again when deserialised.
//!
//! Must never: perform I/O (no SQL, Kafka, HTTP), read a clock (the current time travels in
//! the commands that need it, as `now`), or depend on another context's crate. Queuing hot
//! reservation requests in batches is the application's job; this crate decides one command.
//!
//! The published Avro contract for these events lives in `schemas/avro/inventory/`; the
//! [`samples`] module gives one instance of every event shape for codec tests.

mod error;
pub mod samples;
mod stock_level;
mod values;

pub use error::{InventoryError, ValueError};
pub use optical_kernel::{CartId, LocationId, OrderId, ReservationId, VariantId};
pub use stock_level::{
    Reservation, ReservationStatus, StockLevel, StockLevelCommand, StockLevelEvent,
};
pub use values::{
    AdjustmentNote, AdjustmentReason, Quantity, ReceiptReference, StockDelta, StockLevelKey,
};
