//! Payments domain: the [`Payment`] aggregate — how one order is paid — its commands, events
//! (`payments.payment.*`) and value objects.
//!
//! Owns: the rules that keep money honest. A payment asks for an amount by bank transfer or
//! cash on delivery; it is captured once, for exactly the amount due — confirmed by staff or by
//! a provider webhook, or collected at the door; it is refunded in parts up to what was
//! captured, never more; it is voided only before capture. Retries are harmless: a provider
//! event confirmed twice, a refund id refunded twice, a void or request repeated, all decide no
//! events. Every value is validated when built and again when deserialised.
//!
//! Must never: perform I/O (no SQL, Kafka, HTTP, no provider calls), read a clock (the current
//! time travels in every command as `now`), or depend on another context's crate. Verifying a
//! provider webhook's signature and deriving the payment id from the order are the
//! application's job; this crate decides one command. Another tenant's payment is answered as
//! not found, so that ids do not leak across tenants.
//!
//! The published Avro contract for these events lives in `schemas/avro/payments/`; the
//! [`samples`] module gives one instance of every event shape for codec tests.

mod error;
mod payment;
pub mod samples;
mod values;

pub use error::{PaymentError, ValueError};
pub use optical_kernel::{Currency, Money, OrderId, PaymentId};
pub use payment::{Payment, PaymentCommand, PaymentEvent};
pub use values::{
    Actor, ConfirmationSource, PaymentMethod, PaymentReference, PaymentStatus, ProviderEventId,
    ProviderName, RefundId, RefundReason, VoidReason,
};
