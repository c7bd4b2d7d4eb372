//! Orders domain: the [`Order`] aggregate — what a customer bought, for which patient and to
//! which prescription — its commands, events (`orders.order.*`) and value objects.
//!
//! Owns: the rules of an order. It is placed with at least one line, every line priced in the
//! order's currency and holding its own stock reservation; its subtotal is computed in minor
//! units, overflow-checked, and stored on the event. Ophthalmic lenses need the patient and an
//! unexpired prescription of that same patient, both copied at placement as snapshots
//! ([`PatientSnapshot`], [`PrescriptionSnapshot`]) inside [`Personal`] envelopes, so that the
//! event store seals them with the patient's key and erasure makes them unreadable
//! everywhere; an erased order still replays and reports its snapshots as erased. A bank
//! transfer order waits in `pending_payment` until paid, a cash-on-delivery order goes ahead
//! in `pending_shipment`; orders with lenses pass through the lab, then every order is made
//! ready, shipped and completed, or cancelled before it ships. Repeating a transition that
//! already happened decides no events, so a restarted saga is harmless. Every value is
//! validated when built and again when deserialised.
//!
//! Must never: perform I/O (no SQL, Kafka, HTTP), read a clock (the current time travels in
//! every command as `now`), or depend on another context's crate — not on Customers (the
//! snapshots are this crate's own types, filled by the application), not on Inventory or
//! Payments (committing stock and capturing money are the saga's job, which reports back with
//! commands). Only the shared optical vocabulary of `optical-optics` is used. Another tenant's
//! order is answered as not found, so that ids do not leak across tenants.
//!
//! The published Avro contract for these events lives in `schemas/avro/orders/`, where the
//! personal fields are published sealed (`{"sealed_for", "ciphertext"}`); the [`samples`]
//! module gives one instance of every event shape for codec tests.

mod error;
mod order;
pub mod samples;
mod values;

pub use error::{OrderError, ValueError};
pub use optical_kernel::{
    Currency, LocationId, Money, OrderId, PatientId, PaymentId, Personal, PrescriptionId,
    ReservationId, StoreId, VariantId,
};
pub use order::{Order, OrderCommand, OrderEvent, PlaceOrder};
pub use values::{
    CancelReason, Carrier, Email, FullName, LineDescription, LineKind, OrderLine,
    OrderPrescription, OrderStatus, PatientSnapshot, PaymentMethod, Phone, Prescriber,
    PrescriptionSnapshot, Quantity, TrackingNumber,
};
