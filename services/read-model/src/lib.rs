//! The read side's storage: projections that turn events into query tables, the
//! bookkeeping that makes applying them exactly-once in effect, and the queries the API serves.
//!
//! Owns: every `read_*` table and `projection_offsets`, and every SQL statement on them;
//! the [`Projection`] trait; partition claims with fencing epochs ([`offsets`]); dedupe by
//! per-aggregate version; shadow-schema rebuilds and their atomic swap ([`rebuild`]);
//! consistency tokens' wait ([`consistency`]); cursor pagination ([`page`]).
//!
//! Invariants: a projection's table changes, its aggregate versions and its partition
//! offsets are written in one transaction, and the offsets only by the partition's current
//! epoch; an event whose aggregate version is not above the stored one changes nothing;
//! every query names the caller's tenant.
//! Must never: know Kafka or Avro (the runtime in the binary hands events in), write the
//! event log, or answer one tenant's query with another tenant's row.

pub mod catalog;
pub mod consistency;
pub mod lab;
pub mod offsets;
pub mod orders;
pub mod page;
pub mod patients;
pub mod projection;
pub mod rebuild;
pub mod stock;

pub use consistency::{AppliedCheck, ConsistencyError};
pub use offsets::{Claim, OffsetsError, PartitionOffset};
pub use page::{Cursor, Page, PageError};
pub use projection::{apply_event, Applied, ApplyError, ProjectedEvent, Projection};

use std::sync::Arc;

/// Every projection this build knows, by name.
pub fn all_projections() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(catalog::CatalogProjection),
        Arc::new(stock::StockProjection),
        Arc::new(orders::OrdersProjection),
        Arc::new(patients::PatientsProjection),
        Arc::new(lab::LabProjection),
    ]
}

/// The projection called `name`.
pub fn projection(name: &str) -> Option<Arc<dyn Projection>> {
    all_projections().into_iter().find(|p| p.name() == name)
}
