//! Catalog commands on top of the event store.
use cqrs_es::{AggregateError, EventEnvelope};
use optical_catalog::{
    CatalogError, Product, ProductCommand, ProductId, ProductRef, Variant, VariantCommand,
    VariantId,
};
use optical_event_store::{CachedEventStore, PgEventRepository, Pool};
use optical_kernel::{EventMetadata, TenantId};
use std::num::NonZeroUsize;

type Store<A> = CachedEventStore<PgEventRepository, A>;

/// Why a catalog command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum CatalogAppError {
    /// The command names another tenant than the caller's metadata: the event would be filed
    /// under one tenant while the aggregate checked another.
    #[error("command for tenant {command} sent with metadata of tenant {metadata}")]
    TenantMismatch {
        command: TenantId,
        metadata: TenantId,
    },
    #[error(transparent)]
    Aggregate(#[from] AggregateError<CatalogError>),
}

/// How many aggregates of each type are kept warm in memory.
const CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

pub struct CatalogApp {
    products: Store<Product>,
    variants: Store<Variant>,
    repository: PgEventRepository,
}

fn same_tenant(command: TenantId, meta: &EventMetadata) -> Result<(), CatalogAppError> {
    if command == meta.tenant_id {
        Ok(())
    } else {
        Err(CatalogAppError::TenantMismatch {
            command,
            metadata: meta.tenant_id,
        })
    }
}

/// The aggregate's version after a command: the sequence of its last event.
fn version<A: cqrs_es::Aggregate>(events: &[EventEnvelope<A>]) -> Option<usize> {
    events.last().map(|e| e.sequence)
}

impl CatalogApp {
    pub fn new(pool: Pool) -> Self {
        let repository = PgEventRepository::new(pool);
        Self {
            products: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            variants: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            repository,
        }
    }

    /// Runs a product command; returns the product's new version, or `None` when the command
    /// changed nothing.
    pub async fn product(
        &self,
        id: ProductId,
        command: ProductCommand,
        meta: &EventMetadata,
    ) -> Result<Option<usize>, CatalogAppError> {
        same_tenant(command.tenant_id(), meta)?;
        let events = self
            .products
            .execute(&id.to_string(), command, &(), meta.to_map())
            .await?;
        Ok(version(&events))
    }

    /// Runs a variant command; returns the variant's new version, or `None` when the command
    /// changed nothing.
    pub async fn variant(
        &self,
        id: VariantId,
        command: VariantCommand,
        meta: &EventMetadata,
    ) -> Result<Option<usize>, CatalogAppError> {
        same_tenant(command.tenant_id(), meta)?;
        let events = self
            .variants
            .execute(&id.to_string(), command, &(), meta.to_map())
            .await?;
        Ok(version(&events))
    }

    /// The reference a variant command needs, read from the product's stream.
    pub async fn product_ref(
        &self,
        id: ProductId,
    ) -> Result<Option<ProductRef>, AggregateError<CatalogError>> {
        use cqrs_es::persist::PersistedEventStore;
        use cqrs_es::{AggregateContext, EventStore};
        let store = PersistedEventStore::<_, Product>::new_event_store(self.repository.clone());
        let mut context = store.load_aggregate(&id.to_string()).await?;
        Ok(context.aggregate().product_ref())
    }
}
