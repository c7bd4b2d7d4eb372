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
mod customers;
mod inventory;
mod lab;
mod orders;
mod payments;
mod saga;
mod tenancy;

pub use catalog::CatalogApp;
pub use command::{AppError, Idempotency, Receipt};
pub use customers::{CustomersApp, CustomersRejection, NewPrescription, Reader, ScanDocument};
pub use inventory::{
    InventoryApp, InventoryRejection, NewReservation, RequestState, ReservationAnswer,
    ReservationOutcome, ReservationRequest, ReservationTicket, ReservationWorkers, Responder,
    WorkerConfig,
};
pub use lab::{work_order_id_of, LabApp, LabRejection, LabStep, NewWorkOrder};
pub use optical_event_store::PrintJob as SpooledTicket;
pub use orders::{NewOrder, OrderRejection, OrderStep, OrdersApp};
pub use payments::{payment_id_of, PaymentsApp};
pub use saga::{OrderSaga, SagaError, SagaEvent, SAGA_CONTEXTS};
pub use tenancy::TenancyApp;

use object_store::ObjectStore;
use optical_event_store::{AccessAudit, DataKeys, MasterKeys, PgEventRepository, Pool};
use std::sync::Arc;

/// Where patients' personal data is protected: the master keys that wrap their data keys,
/// and the object storage that holds their sealed documents.
#[derive(Clone)]
pub struct PersonalData {
    pub master_keys: MasterKeys,
    pub documents: Arc<dyn ObjectStore>,
}

impl PersonalData {
    /// A random master key and documents in memory: for tests and throwaway databases only,
    /// since nothing sealed with it can be read after the process ends.
    pub fn ephemeral() -> Self {
        Self {
            master_keys: MasterKeys::random("ephemeral"),
            documents: Arc::new(object_store::memory::InMemory::new()),
        }
    }
}

/// Every application service over one pool: what the API and the workers are given.
#[derive(Clone)]
pub struct App {
    pub tenancy: Arc<TenancyApp>,
    pub catalog: Arc<CatalogApp>,
    pub inventory: Arc<InventoryApp>,
    pub customers: Arc<CustomersApp>,
    pub orders: Arc<OrdersApp>,
    pub payments: Arc<PaymentsApp>,
    pub lab: Arc<LabApp>,
    pub saga: Arc<OrderSaga>,
    /// Patients' data keys: the read side opens personal data with them.
    pub keys: DataKeys,
}

impl App {
    pub fn new(pool: Pool, clock: Arc<dyn optical_kernel::Clock>, personal: PersonalData) -> Self {
        let keys = DataKeys::new(pool.clone(), personal.master_keys);
        let read_keys = keys.clone();
        // One repository for every context: personal data may appear in any stream.
        let repository = PgEventRepository::new(pool.clone()).with_data_keys(keys.clone());
        let tenancy = Arc::new(TenancyApp::new(pool.clone()));
        let catalog = Arc::new(CatalogApp::new(pool.clone(), tenancy.clone()));
        let inventory = Arc::new(InventoryApp::new(
            pool.clone(),
            tenancy.clone(),
            catalog.clone(),
            clock.clone(),
        ));
        let customers = Arc::new(CustomersApp::new(
            repository.clone(),
            keys,
            AccessAudit::new(pool.clone()),
            personal.documents,
            clock.clone(),
        ));
        let orders = Arc::new(OrdersApp::new(
            repository.clone(),
            tenancy.clone(),
            catalog.clone(),
            inventory.clone(),
            customers.clone(),
            clock.clone(),
        ));
        let lab = Arc::new(LabApp::new(
            pool,
            repository.clone(),
            orders.clone(),
            catalog.clone(),
            customers.clone(),
            clock.clone(),
        ));
        let payments = Arc::new(PaymentsApp::new(repository, clock.clone()));
        let saga = Arc::new(OrderSaga::new(
            orders.clone(),
            lab.clone(),
            payments.clone(),
            inventory.clone(),
            clock,
        ));
        Self {
            tenancy,
            catalog,
            inventory,
            customers,
            orders,
            payments,
            lab,
            saga,
            keys: read_keys,
        }
    }
}
