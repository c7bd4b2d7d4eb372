//! Tenancy use cases: tenants, stores, locations, vendors.
use crate::catalog::CACHE_CAPACITY;
use crate::command::{execute, AppError, Idempotency, Receipt};
use cqrs_es::{Aggregate, AggregateContext, EventStore};
use optical_event_store::{CachedEventStore, PgEventRepository, Pool};
use optical_kernel::{EventMetadata, LocationId, StoreId, TenantId, VendorId};
use optical_tenancy::{
    CommissionRate, Location, LocationCommand, LocationKind, LocationName, LocationRef, Store,
    StoreCode, StoreCommand, StoreName, StoreRef, TenancyError, Tenant, TenantCommand, TenantRef,
    Vendor, VendorCommand, VendorName, VendorRef,
};

type EventStoreOf<A> = CachedEventStore<PgEventRepository, A>;

pub struct TenancyApp {
    tenants: EventStoreOf<Tenant>,
    stores: EventStoreOf<Store>,
    locations: EventStoreOf<Location>,
    vendors: EventStoreOf<Vendor>,
}

async fn load<A>(store: &EventStoreOf<A>, id: &str) -> Result<A, AppError<TenancyError>>
where
    A: Aggregate + Clone,
{
    let mut context = store
        .load_aggregate(id)
        .await
        .map_err(|e| AppError::Store(e.to_string()))?;
    Ok(context.aggregate().clone())
}

impl TenancyApp {
    pub fn new(pool: Pool) -> Self {
        let repository = PgEventRepository::new(pool);
        Self {
            tenants: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            stores: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            locations: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            vendors: CachedEventStore::new(repository, CACHE_CAPACITY),
        }
    }

    /// Runs a tenant command; the tenant's stream is keyed by its id.
    pub async fn tenant(
        &self,
        command: TenantCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<TenancyError>> {
        let tenant_id = command.tenant_id();
        execute(
            &self.tenants,
            "tenant",
            tenant_id.to_string(),
            tenant_id,
            command,
            meta,
            idempotency,
        )
        .await
    }

    /// The tenant's kind, currency and settings; `TenantNotFound` before it was created.
    pub async fn tenant_ref(
        &self,
        tenant_id: TenantId,
    ) -> Result<TenantRef, AppError<TenancyError>> {
        load(&self.tenants, &tenant_id.to_string())
            .await?
            .tenant_ref()
            .filter(|t| t.tenant_id == tenant_id)
            .ok_or(AppError::Rejected(TenancyError::TenantNotFound))
    }

    /// Opens a store; in a mall tenant it is run by `vendor_id`, in a single-brand tenant
    /// it is its own vendor.
    pub async fn open_store(
        &self,
        store_id: StoreId,
        name: StoreName,
        code: StoreCode,
        vendor_id: Option<VendorId>,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<TenancyError>> {
        let tenant = self.tenant_ref(meta.tenant_id).await?;
        let vendor = match vendor_id {
            Some(id) => Some(self.vendor_ref(meta.tenant_id, id).await?),
            None => None,
        };
        let command = StoreCommand::OpenStore {
            store_id,
            tenant,
            name,
            code,
            vendor,
        };
        self.store(store_id, command, meta, idempotency).await
    }

    /// Runs a store command.
    pub async fn store(
        &self,
        store_id: StoreId,
        command: StoreCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<TenancyError>> {
        execute(
            &self.stores,
            "store",
            store_id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
    }

    pub async fn store_ref(
        &self,
        tenant_id: TenantId,
        store_id: StoreId,
    ) -> Result<StoreRef, AppError<TenancyError>> {
        load(&self.stores, &store_id.to_string())
            .await?
            .store_ref()
            .filter(|s| s.tenant_id == tenant_id)
            .ok_or(AppError::Rejected(TenancyError::StoreNotFound))
    }

    /// Adds a stock-holding location to a store.
    pub async fn add_location(
        &self,
        location_id: LocationId,
        store_id: StoreId,
        name: LocationName,
        kind: LocationKind,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<TenancyError>> {
        let store = self.store_ref(meta.tenant_id, store_id).await?;
        let command = LocationCommand::AddLocation {
            location_id,
            tenant_id: meta.tenant_id,
            store,
            name,
            kind,
        };
        self.location(location_id, command, meta, idempotency).await
    }

    /// Runs a location command.
    pub async fn location(
        &self,
        location_id: LocationId,
        command: LocationCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<TenancyError>> {
        execute(
            &self.locations,
            "location",
            location_id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
    }

    pub async fn location_ref(
        &self,
        tenant_id: TenantId,
        location_id: LocationId,
    ) -> Result<LocationRef, AppError<TenancyError>> {
        load(&self.locations, &location_id.to_string())
            .await?
            .location_ref()
            .filter(|l| l.tenant_id == tenant_id)
            .ok_or(AppError::Rejected(TenancyError::LocationNotFound))
    }

    /// Registers a vendor of a mall tenant.
    pub async fn register_vendor(
        &self,
        vendor_id: VendorId,
        name: VendorName,
        commission_rate: CommissionRate,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<TenancyError>> {
        let tenant = self.tenant_ref(meta.tenant_id).await?;
        let command = VendorCommand::RegisterVendor {
            vendor_id,
            tenant,
            name,
            commission_rate,
        };
        self.vendor(vendor_id, command, meta, idempotency).await
    }

    /// Runs a vendor command.
    pub async fn vendor(
        &self,
        vendor_id: VendorId,
        command: VendorCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<TenancyError>> {
        execute(
            &self.vendors,
            "vendor",
            vendor_id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
    }

    pub async fn vendor_ref(
        &self,
        tenant_id: TenantId,
        vendor_id: VendorId,
    ) -> Result<VendorRef, AppError<TenancyError>> {
        load(&self.vendors, &vendor_id.to_string())
            .await?
            .vendor_ref()
            .filter(|v| v.tenant_id == tenant_id)
            .ok_or(AppError::Rejected(TenancyError::VendorNotFound))
    }
}
