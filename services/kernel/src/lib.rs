//! The shared vocabulary of every context: typed UUIDv7 ids, [`TenantId`], [`Money`],
//! the [`RecordedEvent`] envelope with its [`EventMetadata`], the [`Clock`], and [`Personal`],
//! the envelope that marks a patient's personal data inside an event for sealing.
//!
//! Owns: value types that more than one crate must agree on.
//! Must never: perform I/O, depend on a runtime, a database driver or a broker client.

mod clock;
mod event;
mod id;
pub mod ids;
mod money;
pub mod personal;

pub use clock::{Clock, FixedClock, SystemClock};
pub use event::{
    EventMetadata, EventPosition, MetadataError, RecordedEvent, TraceParent, TraceParentError,
};
pub use id::{IdError, TenantId};
pub use ids::{
    CartId, LocationId, OrderId, PatientId, PaymentId, PrescriptionId, ProductId, ReservationId,
    StoreId, VariantId, VendorId,
};
pub use money::{Currency, Money, MoneyError};
pub use personal::{Personal, PersonalEnvelopeError};

/// Re-exported so that `typed_id!` works in other crates without them naming `uuid`.
#[doc(hidden)]
pub use uuid as __uuid;
