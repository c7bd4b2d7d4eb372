//! Catalog commands on top of the event store.
use cqrs_es::{AggregateError, CqrsFramework};
use optical_catalog::{
    CatalogError, Product, ProductCommand, ProductId, ProductRef, Variant, VariantCommand, VariantId,
};
use optical_event_store::{CachedEventStore, PgEventRepository, Pool};
use optical_kernel::EventMetadata;
use std::num::NonZeroUsize;

type Store<A> = CachedEventStore<PgEventRepository, A>;

/// How many aggregates of each type are kept warm in memory.
const CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

pub struct CatalogApp {
    products: CqrsFramework<Product, Store<Product>>,
    variants: CqrsFramework<Variant, Store<Variant>>,
    repository: PgEventRepository,
}

impl CatalogApp {
    pub fn new(pool: Pool) -> Self {
        let repository = PgEventRepository::new(pool);
        Self {
            products: CqrsFramework::new(CachedEventStore::new(repository.clone(), CACHE_CAPACITY), vec![], ()),
            variants: CqrsFramework::new(CachedEventStore::new(repository.clone(), CACHE_CAPACITY), vec![], ()),
            repository,
        }
    }

    pub async fn product(
        &self,
        id: ProductId,
        command: ProductCommand,
        meta: &EventMetadata,
    ) -> Result<(), AggregateError<CatalogError>> {
        self.products.execute_with_metadata(&id.to_string(), command, meta.to_map()).await
    }

    pub async fn variant(
        &self,
        id: VariantId,
        command: VariantCommand,
        meta: &EventMetadata,
    ) -> Result<(), AggregateError<CatalogError>> {
        self.variants.execute_with_metadata(&id.to_string(), command, meta.to_map()).await
    }

    /// The reference a variant command needs, read from the product's stream.
    pub async fn product_ref(&self, id: ProductId) -> Result<Option<ProductRef>, AggregateError<CatalogError>> {
        use cqrs_es::persist::PersistedEventStore;
        use cqrs_es::{AggregateContext, EventStore};
        let store = PersistedEventStore::<_, Product>::new_event_store(self.repository.clone());
        let mut context = store.load_aggregate(&id.to_string()).await?;
        Ok(context.aggregate().product_ref())
    }
}
