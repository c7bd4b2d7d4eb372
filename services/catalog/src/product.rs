//! The Product aggregate: what is sold, before size, colour or lens options (those are variants).

use crate::error::CatalogError;
use crate::values::{
    Brand, FulfillmentType, ProductDescription, ProductKind, ProductName, PublicationStatus,
};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::TenantId;
use serde::{Deserialize, Serialize};

pub use optical_kernel::ProductId;

/// The facts about a product that a variant decision needs. The application reads them from
/// the product aggregate (see [`Product::product_ref`]) because variants live in their own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductRef {
    pub product_id: ProductId,
    pub tenant_id: TenantId,
    pub kind: ProductKind,
    pub status: PublicationStatus,
}

/// Every command but creation names the caller's tenant: a product of another tenant is
/// answered as not found, whatever the application layer checked before.
#[derive(Clone, Debug, PartialEq)]
pub enum ProductCommand {
    CreateProduct {
        product_id: ProductId,
        tenant_id: TenantId,
        kind: ProductKind,
        name: ProductName,
        brand: Brand,
        description: Option<ProductDescription>,
        fulfillment: FulfillmentType,
    },
    /// Replaces name, brand and description; `description: None` clears it.
    UpdateProductDetails {
        tenant_id: TenantId,
        name: ProductName,
        brand: Brand,
        description: Option<ProductDescription>,
    },
    PublishProduct {
        tenant_id: TenantId,
    },
    /// Takes a published product back to draft.
    UnpublishProduct {
        tenant_id: TenantId,
    },
    ArchiveProduct {
        tenant_id: TenantId,
    },
}

impl ProductCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            ProductCommand::CreateProduct { tenant_id, .. }
            | ProductCommand::UpdateProductDetails { tenant_id, .. }
            | ProductCommand::PublishProduct { tenant_id }
            | ProductCommand::UnpublishProduct { tenant_id }
            | ProductCommand::ArchiveProduct { tenant_id } => *tenant_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProductEvent {
    ProductCreated {
        product_id: ProductId,
        tenant_id: TenantId,
        kind: ProductKind,
        name: ProductName,
        brand: Brand,
        description: Option<ProductDescription>,
        fulfillment: FulfillmentType,
    },
    ProductDetailsUpdated {
        product_id: ProductId,
        name: ProductName,
        brand: Brand,
        description: Option<ProductDescription>,
    },
    ProductPublished {
        product_id: ProductId,
    },
    ProductUnpublished {
        product_id: ProductId,
    },
    ProductArchived {
        product_id: ProductId,
    },
}

impl ProductEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 5] = [
        "catalog.product.created",
        "catalog.product.details_updated",
        "catalog.product.published",
        "catalog.product.unpublished",
        "catalog.product.archived",
    ];

    pub fn product_id(&self) -> ProductId {
        match self {
            ProductEvent::ProductCreated { product_id, .. }
            | ProductEvent::ProductDetailsUpdated { product_id, .. }
            | ProductEvent::ProductPublished { product_id }
            | ProductEvent::ProductUnpublished { product_id }
            | ProductEvent::ProductArchived { product_id } => *product_id,
        }
    }
}

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> String {
        let [created, details_updated, published, unpublished, archived] = Self::EVENT_TYPES;
        match self {
            ProductEvent::ProductCreated { .. } => created,
            ProductEvent::ProductDetailsUpdated { .. } => details_updated,
            ProductEvent::ProductPublished { .. } => published,
            ProductEvent::ProductUnpublished { .. } => unpublished,
            ProductEvent::ProductArchived { .. } => archived,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A product's decision state. `None` until created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    state: Option<ProductState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ProductState {
    id: ProductId,
    tenant_id: TenantId,
    kind: ProductKind,
    name: ProductName,
    brand: Brand,
    description: Option<ProductDescription>,
    fulfillment: FulfillmentType,
    status: PublicationStatus,
}

impl Product {
    /// What a variant command needs to know about this product; `None` before creation.
    pub fn product_ref(&self) -> Option<ProductRef> {
        self.state.as_ref().map(|s| ProductRef {
            product_id: s.id,
            tenant_id: s.tenant_id,
            kind: s.kind,
            status: s.status,
        })
    }

    pub fn status(&self) -> Option<PublicationStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn name(&self) -> Option<&ProductName> {
        self.state.as_ref().map(|s| &s.name)
    }

    pub fn brand(&self) -> Option<&Brand> {
        self.state.as_ref().map(|s| &s.brand)
    }

    pub fn description(&self) -> Option<&ProductDescription> {
        self.state.as_ref().and_then(|s| s.description.as_ref())
    }

    pub fn fulfillment(&self) -> Option<FulfillmentType> {
        self.state.as_ref().map(|s| s.fulfillment)
    }

    fn set_status(&mut self, status: PublicationStatus) {
        if let Some(state) = &mut self.state {
            state.status = status;
        }
    }

    /// The product as the given tenant may see it.
    fn existing(&self, tenant_id: TenantId) -> Result<&ProductState, CatalogError> {
        self.state
            .as_ref()
            .filter(|s| s.tenant_id == tenant_id)
            .ok_or(CatalogError::ProductNotFound)
    }

    fn decide(&self, command: ProductCommand) -> Result<Vec<ProductEvent>, CatalogError> {
        use PublicationStatus::{Archived, Draft, Published};
        match command {
            ProductCommand::CreateProduct {
                product_id,
                tenant_id,
                kind,
                name,
                brand,
                description,
                fulfillment,
            } => {
                if self.state.is_some() {
                    return Err(CatalogError::ProductAlreadyExists);
                }
                let expected = kind.fulfillment();
                if fulfillment != expected {
                    return Err(CatalogError::FulfillmentMismatch {
                        kind,
                        expected,
                        requested: fulfillment,
                    });
                }
                Ok(vec![ProductEvent::ProductCreated {
                    product_id,
                    tenant_id,
                    kind,
                    name,
                    brand,
                    description,
                    fulfillment,
                }])
            }
            ProductCommand::UpdateProductDetails {
                tenant_id,
                name,
                brand,
                description,
            } => {
                let state = self.existing(tenant_id)?;
                if state.status == Archived {
                    return Err(CatalogError::ProductArchived);
                }
                // Same details again: nothing happened, so no event (and no projection churn).
                if state.name == name && state.brand == brand && state.description == description {
                    return Ok(vec![]);
                }
                Ok(vec![ProductEvent::ProductDetailsUpdated {
                    product_id: state.id,
                    name,
                    brand,
                    description,
                }])
            }
            ProductCommand::PublishProduct { tenant_id } => {
                let state = self.existing(tenant_id)?;
                match state.status {
                    Draft => Ok(vec![ProductEvent::ProductPublished {
                        product_id: state.id,
                    }]),
                    Published => Err(CatalogError::ProductAlreadyPublished),
                    Archived => Err(CatalogError::ProductArchived),
                }
            }
            ProductCommand::UnpublishProduct { tenant_id } => {
                let state = self.existing(tenant_id)?;
                match state.status {
                    Published => Ok(vec![ProductEvent::ProductUnpublished {
                        product_id: state.id,
                    }]),
                    Draft => Err(CatalogError::ProductNotPublished),
                    Archived => Err(CatalogError::ProductArchived),
                }
            }
            ProductCommand::ArchiveProduct { tenant_id } => {
                let state = self.existing(tenant_id)?;
                match state.status {
                    Draft | Published => Ok(vec![ProductEvent::ProductArchived {
                        product_id: state.id,
                    }]),
                    Archived => Err(CatalogError::ProductArchived),
                }
            }
        }
    }
}

impl Aggregate for Product {
    const TYPE: &'static str = "catalog.product";
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Error = CatalogError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ProductEvent::ProductCreated {
                product_id,
                tenant_id,
                kind,
                name,
                brand,
                description,
                fulfillment,
            } => {
                self.state = Some(ProductState {
                    id: product_id,
                    tenant_id,
                    kind,
                    name,
                    brand,
                    description,
                    fulfillment,
                    status: PublicationStatus::Draft,
                });
            }
            ProductEvent::ProductDetailsUpdated {
                name,
                brand,
                description,
                ..
            } => {
                if let Some(state) = &mut self.state {
                    state.name = name;
                    state.brand = brand;
                    state.description = description;
                }
            }
            ProductEvent::ProductPublished { .. } => self.set_status(PublicationStatus::Published),
            ProductEvent::ProductUnpublished { .. } => self.set_status(PublicationStatus::Draft),
            ProductEvent::ProductArchived { .. } => self.set_status(PublicationStatus::Archived),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    type Fixture = TestFramework<Product>;

    fn id() -> ProductId {
        samples::product_id()
    }

    fn tenant() -> TenantId {
        samples::tenant_id()
    }

    fn name() -> ProductName {
        ProductName::new("Clubmaster Classic").unwrap()
    }

    fn brand() -> Brand {
        Brand::new("Ray-Ban").unwrap()
    }

    fn description() -> Option<ProductDescription> {
        Some(ProductDescription::new("Browline frame with acetate top.").unwrap())
    }

    fn create(kind: ProductKind, fulfillment: FulfillmentType) -> ProductCommand {
        ProductCommand::CreateProduct {
            product_id: id(),
            tenant_id: tenant(),
            kind,
            name: name(),
            brand: brand(),
            description: description(),
            fulfillment,
        }
    }

    fn created(kind: ProductKind, fulfillment: FulfillmentType) -> ProductEvent {
        ProductEvent::ProductCreated {
            product_id: id(),
            tenant_id: tenant(),
            kind,
            name: name(),
            brand: brand(),
            description: description(),
            fulfillment,
        }
    }

    fn created_frame() -> ProductEvent {
        created(ProductKind::Frame, FulfillmentType::Physical)
    }

    fn published() -> ProductEvent {
        ProductEvent::ProductPublished { product_id: id() }
    }

    fn unpublished() -> ProductEvent {
        ProductEvent::ProductUnpublished { product_id: id() }
    }

    fn archived() -> ProductEvent {
        ProductEvent::ProductArchived { product_id: id() }
    }

    fn update(name: &str, description: Option<ProductDescription>) -> ProductCommand {
        ProductCommand::UpdateProductDetails {
            tenant_id: tenant(),
            name: ProductName::new(name).unwrap(),
            brand: brand(),
            description,
        }
    }

    fn publish() -> ProductCommand {
        ProductCommand::PublishProduct {
            tenant_id: tenant(),
        }
    }

    fn unpublish() -> ProductCommand {
        ProductCommand::UnpublishProduct {
            tenant_id: tenant(),
        }
    }

    fn archive() -> ProductCommand {
        ProductCommand::ArchiveProduct {
            tenant_id: tenant(),
        }
    }

    #[test]
    fn creating_a_product_starts_it_as_a_draft() {
        Fixture::with(())
            .given_no_previous_events()
            .when(create(ProductKind::Frame, FulfillmentType::Physical))
            .then_expect_events(vec![created_frame()]);
    }

    #[test]
    fn a_digital_product_is_created_with_digital_fulfillment() {
        Fixture::with(())
            .given_no_previous_events()
            .when(create(ProductKind::Digital, FulfillmentType::Digital))
            .then_expect_events(vec![created(
                ProductKind::Digital,
                FulfillmentType::Digital,
            )]);
    }

    #[test]
    fn a_product_cannot_be_created_twice() {
        Fixture::with(())
            .given(vec![created_frame()])
            .when(create(ProductKind::Frame, FulfillmentType::Physical))
            .then_expect_error(CatalogError::ProductAlreadyExists);
    }

    #[test]
    fn a_physical_kind_cannot_be_fulfilled_digitally() {
        Fixture::with(())
            .given_no_previous_events()
            .when(create(ProductKind::ContactLens, FulfillmentType::Digital))
            .then_expect_error(CatalogError::FulfillmentMismatch {
                kind: ProductKind::ContactLens,
                expected: FulfillmentType::Physical,
                requested: FulfillmentType::Digital,
            });
    }

    #[test]
    fn a_digital_product_cannot_be_shipped() {
        Fixture::with(())
            .given_no_previous_events()
            .when(create(ProductKind::Digital, FulfillmentType::Physical))
            .then_expect_error(CatalogError::FulfillmentMismatch {
                kind: ProductKind::Digital,
                expected: FulfillmentType::Digital,
                requested: FulfillmentType::Physical,
            });
    }

    #[test]
    fn updating_details_records_the_new_details() {
        Fixture::with(())
            .given(vec![created_frame()])
            .when(update("Clubmaster Oversized", None))
            .then_expect_events(vec![ProductEvent::ProductDetailsUpdated {
                product_id: id(),
                name: ProductName::new("Clubmaster Oversized").unwrap(),
                brand: brand(),
                description: None,
            }]);
    }

    #[test]
    fn a_published_product_can_still_be_edited() {
        Fixture::with(())
            .given(vec![created_frame(), published()])
            .when(update("Clubmaster Oversized", description()))
            .then_expect_events(vec![ProductEvent::ProductDetailsUpdated {
                product_id: id(),
                name: ProductName::new("Clubmaster Oversized").unwrap(),
                brand: brand(),
                description: description(),
            }]);
    }

    #[test]
    fn updating_with_unchanged_details_emits_nothing() {
        Fixture::with(())
            .given(vec![created_frame()])
            .when(update("Clubmaster Classic", description()))
            .then_expect_events(vec![]);
    }

    #[test]
    fn an_archived_product_cannot_be_edited() {
        Fixture::with(())
            .given(vec![created_frame(), archived()])
            .when(update("Clubmaster Oversized", None))
            .then_expect_error(CatalogError::ProductArchived);
    }

    #[test]
    fn a_missing_product_cannot_be_edited() {
        Fixture::with(())
            .given_no_previous_events()
            .when(update("Clubmaster Oversized", None))
            .then_expect_error(CatalogError::ProductNotFound);
    }

    #[test]
    fn another_tenants_product_is_not_found() {
        let other_tenant = TenantId::new();
        for command in [
            ProductCommand::UpdateProductDetails {
                tenant_id: other_tenant,
                name: name(),
                brand: brand(),
                description: None,
            },
            ProductCommand::PublishProduct {
                tenant_id: other_tenant,
            },
            ProductCommand::UnpublishProduct {
                tenant_id: other_tenant,
            },
            ProductCommand::ArchiveProduct {
                tenant_id: other_tenant,
            },
        ] {
            Fixture::with(())
                .given(vec![created_frame(), published()])
                .when(command)
                .then_expect_error(CatalogError::ProductNotFound);
        }
    }

    #[test]
    fn publishing_a_draft_publishes_it() {
        Fixture::with(())
            .given(vec![created_frame()])
            .when(publish())
            .then_expect_events(vec![published()]);
    }

    #[test]
    fn an_unpublished_product_is_a_draft_again_and_can_be_republished() {
        Fixture::with(())
            .given(vec![created_frame(), published(), unpublished()])
            .when(publish())
            .then_expect_events(vec![published()]);
    }

    #[test]
    fn publishing_a_published_product_is_refused() {
        Fixture::with(())
            .given(vec![created_frame(), published()])
            .when(publish())
            .then_expect_error(CatalogError::ProductAlreadyPublished);
    }

    #[test]
    fn an_archived_product_cannot_be_published() {
        Fixture::with(())
            .given(vec![created_frame(), archived()])
            .when(publish())
            .then_expect_error(CatalogError::ProductArchived);
    }

    #[test]
    fn a_missing_product_cannot_be_published_unpublished_or_archived() {
        for command in [publish(), unpublish(), archive()] {
            Fixture::with(())
                .given_no_previous_events()
                .when(command)
                .then_expect_error(CatalogError::ProductNotFound);
        }
    }

    #[test]
    fn unpublishing_a_published_product_returns_it_to_draft() {
        Fixture::with(())
            .given(vec![created_frame(), published()])
            .when(unpublish())
            .then_expect_events(vec![unpublished()]);
    }

    #[test]
    fn unpublishing_a_draft_is_refused() {
        Fixture::with(())
            .given(vec![created_frame()])
            .when(unpublish())
            .then_expect_error(CatalogError::ProductNotPublished);
    }

    #[test]
    fn an_archived_product_cannot_be_unpublished() {
        Fixture::with(())
            .given(vec![created_frame(), published(), archived()])
            .when(unpublish())
            .then_expect_error(CatalogError::ProductArchived);
    }

    #[test]
    fn drafts_and_published_products_can_be_archived() {
        Fixture::with(())
            .given(vec![created_frame()])
            .when(archive())
            .then_expect_events(vec![archived()]);
        Fixture::with(())
            .given(vec![created_frame(), published()])
            .when(archive())
            .then_expect_events(vec![archived()]);
    }

    #[test]
    fn archiving_is_terminal() {
        Fixture::with(())
            .given(vec![created_frame(), archived()])
            .when(archive())
            .then_expect_error(CatalogError::ProductArchived);
    }

    #[test]
    fn product_ref_follows_the_lifecycle() {
        let mut product = Product::default();
        assert_eq!(product.product_ref(), None);
        product.apply(created_frame());
        product.apply(published());
        let expected = ProductRef {
            product_id: id(),
            tenant_id: tenant(),
            kind: ProductKind::Frame,
            status: PublicationStatus::Published,
        };
        assert_eq!(product.product_ref(), Some(expected));
        product.apply(unpublished());
        assert_eq!(product.status(), Some(PublicationStatus::Draft));
    }

    #[test]
    fn aggregate_state_survives_a_snapshot_round_trip() {
        let mut product = Product::default();
        product.apply(created_frame());
        product.apply(archived());
        let snapshot = serde_json::to_value(&product).unwrap();
        assert_eq!(
            serde_json::from_value::<Product>(snapshot).unwrap(),
            product
        );
    }

    #[test]
    fn events_are_externally_tagged_with_catalog_event_types() {
        let event = published();
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"ProductPublished": {"product_id": id().to_string()}})
        );
        assert_eq!(event.event_type(), "catalog.product.published");
        assert_eq!(event.event_version(), "1.0");
        assert_eq!(created_frame().event_type(), "catalog.product.created");
        assert_eq!(Product::TYPE, "catalog.product");
    }

    #[test]
    fn an_absent_description_is_stored_as_null() {
        let event = ProductEvent::ProductDetailsUpdated {
            product_id: id(),
            name: name(),
            brand: brand(),
            description: None,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json["ProductDetailsUpdated"]["description"],
            serde_json::Value::Null
        );
        assert!(json["ProductDetailsUpdated"]
            .as_object()
            .unwrap()
            .contains_key("description"));
    }
}
