//! Application services: the use cases behind the command API. Each takes a parsed command
//! and the caller's [`EventMetadata`](optical_kernel::EventMetadata), reads the cross-aggregate
//! facts the aggregate needs (`TenantRef`, `ProductRef`, …), decides through the aggregate and
//! appends through the event store, with the idempotency record in the same transaction.
//! The reservation queue and expiry workers live here too.
//!
//! Owns: orchestration — which aggregates a use case touches, retries of concurrency
//! conflicts, tenant checks between command and metadata.
//! Must never: speak HTTP, SQL or Kafka (the event store crate does SQL; the API crate maps
//! results to HTTP), or decide a business rule an aggregate should decide.

mod catalog;
mod command;
mod inventory;
mod tenancy;

pub use catalog::CatalogApp;
pub use command::{AppError, Idempotency, Receipt};
pub use inventory::{
    InventoryApp, InventoryRejection, NewReservation, RequestState, ReservationAnswer,
    ReservationOutcome, ReservationRequest, ReservationTicket, ReservationWorkers, Responder,
    WorkerConfig,
};
pub use tenancy::TenancyApp;

use optical_event_store::Pool;
use std::sync::Arc;

/// Every application service over one pool: what the API and the workers are given.
#[derive(Clone)]
pub struct App {
    pub tenancy: Arc<TenancyApp>,
    pub catalog: Arc<CatalogApp>,
    pub inventory: Arc<InventoryApp>,
}

impl App {
    pub fn new(pool: Pool, clock: Arc<dyn optical_kernel::Clock>) -> Self {
        let tenancy = Arc::new(TenancyApp::new(pool.clone()));
        let catalog = Arc::new(CatalogApp::new(pool.clone(), tenancy.clone()));
        let inventory = Arc::new(InventoryApp::new(
            pool,
            tenancy.clone(),
            catalog.clone(),
            clock,
        ));
        Self {
            tenancy,
            catalog,
            inventory,
        }
    }
}
