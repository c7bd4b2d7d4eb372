//! Catalog use cases over the Product and Variant aggregates.
use crate::command::{execute, load_fresh, AppError, Idempotency, Receipt};
use crate::tenancy::TenancyApp;
use cqrs_es::{AggregateContext, EventStore};
use optical_catalog::{
    CatalogError, Product, ProductCommand, ProductId, ProductRef, Variant, VariantCommand,
    VariantId,
};
use optical_event_store::{CachedEventStore, PgEventRepository, Pool};
use optical_kernel::{EventMetadata, TenantId};
use std::num::NonZeroUsize;
use std::sync::Arc;

type Store<A> = CachedEventStore<PgEventRepository, A>;

/// How many aggregates of each type are kept warm in memory.
pub(crate) const CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

pub struct CatalogApp {
    products: Store<Product>,
    variants: Store<Variant>,
    repository: PgEventRepository,
    tenancy: Arc<TenancyApp>,
}

impl CatalogApp {
    pub fn new(pool: Pool, tenancy: Arc<TenancyApp>) -> Self {
        let repository = PgEventRepository::new(pool);
        Self {
            products: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            variants: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            repository,
            tenancy,
        }
    }

    /// Runs a product command.
    pub async fn product(
        &self,
        id: ProductId,
        command: ProductCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<CatalogError>> {
        execute(
            &self.products,
            "product",
            id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
    }

    /// Runs a variant command.
    pub async fn variant(
        &self,
        id: VariantId,
        command: VariantCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, AppError<CatalogError>> {
        execute(
            &self.variants,
            "variant",
            id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
    }

    /// The reference a variant command needs, read from the product's stream; `None` when
    /// the product does not exist or belongs to another tenant.
    pub async fn product_ref(
        &self,
        tenant_id: TenantId,
        id: ProductId,
    ) -> Result<Option<ProductRef>, AppError<CatalogError>> {
        let product = self.load_product(id).await?;
        Ok(product
            .product_ref()
            .filter(|product| product.tenant_id == tenant_id))
    }

    /// The product as the given tenant may see it; `None` if absent or another tenant's.
    pub async fn product_state(
        &self,
        tenant_id: TenantId,
        id: ProductId,
    ) -> Result<Option<Product>, AppError<CatalogError>> {
        let product = self.load_product(id).await?;
        Ok((product.tenant_id() == Some(tenant_id)).then_some(product))
    }

    /// The variant as the given tenant may see it; `None` if absent or another tenant's.
    pub async fn variant_state(
        &self,
        tenant_id: TenantId,
        id: VariantId,
    ) -> Result<Option<Variant>, AppError<CatalogError>> {
        let mut context = self
            .variants
            .load_aggregate(&id.to_string())
            .await
            .map_err(|e| AppError::Store(e.to_string()))?;
        let variant = context.aggregate().clone();
        Ok((variant.tenant_id() == Some(tenant_id)).then_some(variant))
    }

    async fn load_product(&self, id: ProductId) -> Result<Product, AppError<CatalogError>> {
        load_fresh(&self.repository, &id.to_string()).await
    }

    /// The tenancy use cases, for the tenant's currency and existence.
    pub fn tenancy(&self) -> &TenancyApp {
        &self.tenancy
    }
}
