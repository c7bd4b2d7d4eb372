//! The Variant aggregate: one sellable, stockable version of a product (a size and colour of a
//! frame, a lens option, a contact lens parameter set), with its SKU and price.

use crate::attributes::VariantAttributes;
use crate::error::CatalogError;
use crate::product::{ProductId, ProductRef};
use crate::values::{PublicationStatus, Sku};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{Money, TenantId};
use serde::{Deserialize, Serialize};

pub use optical_kernel::VariantId;

/// Every command names the caller's tenant: a variant of another tenant is answered as not
/// found. Commands that depend on the product carry a [`ProductRef`] read by the application.
///
/// SKU uniqueness within a tenant needs a lookup across streams and is enforced outside the
/// aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum VariantCommand {
    AddVariant {
        variant_id: VariantId,
        tenant_id: TenantId,
        product: ProductRef,
        sku: Sku,
        attributes: VariantAttributes,
        price: Money,
        compare_at_price: Option<Money>,
    },
    /// Sets both prices; `compare_at_price: None` removes the strike-through price.
    ChangeVariantPrice {
        tenant_id: TenantId,
        price: Money,
        compare_at_price: Option<Money>,
    },
    /// Replaces the attributes; the kind cannot change.
    UpdateVariantAttributes {
        tenant_id: TenantId,
        attributes: VariantAttributes,
    },
    PublishVariant {
        tenant_id: TenantId,
        product: ProductRef,
    },
    /// Takes a published variant back to draft.
    UnpublishVariant {
        tenant_id: TenantId,
    },
    ArchiveVariant {
        tenant_id: TenantId,
    },
}

impl VariantCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            VariantCommand::AddVariant { tenant_id, .. }
            | VariantCommand::ChangeVariantPrice { tenant_id, .. }
            | VariantCommand::UpdateVariantAttributes { tenant_id, .. }
            | VariantCommand::PublishVariant { tenant_id, .. }
            | VariantCommand::UnpublishVariant { tenant_id }
            | VariantCommand::ArchiveVariant { tenant_id } => *tenant_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum VariantEvent {
    VariantAdded {
        variant_id: VariantId,
        tenant_id: TenantId,
        product_id: ProductId,
        sku: Sku,
        attributes: VariantAttributes,
        price: Money,
        compare_at_price: Option<Money>,
    },
    VariantPriceChanged {
        variant_id: VariantId,
        price: Money,
        compare_at_price: Option<Money>,
    },
    VariantAttributesUpdated {
        variant_id: VariantId,
        attributes: VariantAttributes,
    },
    VariantPublished {
        variant_id: VariantId,
    },
    VariantUnpublished {
        variant_id: VariantId,
    },
    VariantArchived {
        variant_id: VariantId,
    },
}

impl VariantEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 6] = [
        "catalog.variant.added",
        "catalog.variant.price_changed",
        "catalog.variant.attributes_updated",
        "catalog.variant.published",
        "catalog.variant.unpublished",
        "catalog.variant.archived",
    ];

    pub fn variant_id(&self) -> VariantId {
        match self {
            VariantEvent::VariantAdded { variant_id, .. }
            | VariantEvent::VariantPriceChanged { variant_id, .. }
            | VariantEvent::VariantAttributesUpdated { variant_id, .. }
            | VariantEvent::VariantPublished { variant_id }
            | VariantEvent::VariantUnpublished { variant_id }
            | VariantEvent::VariantArchived { variant_id } => *variant_id,
        }
    }
}

impl DomainEvent for VariantEvent {
    fn event_type(&self) -> String {
        let [added, price_changed, attributes_updated, published, unpublished, archived] =
            Self::EVENT_TYPES;
        match self {
            VariantEvent::VariantAdded { .. } => added,
            VariantEvent::VariantPriceChanged { .. } => price_changed,
            VariantEvent::VariantAttributesUpdated { .. } => attributes_updated,
            VariantEvent::VariantPublished { .. } => published,
            VariantEvent::VariantUnpublished { .. } => unpublished,
            VariantEvent::VariantArchived { .. } => archived,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A variant's decision state. `None` until added.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    state: Option<VariantState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct VariantState {
    id: VariantId,
    tenant_id: TenantId,
    product_id: ProductId,
    sku: Sku,
    attributes: VariantAttributes,
    price: Money,
    compare_at_price: Option<Money>,
    status: PublicationStatus,
}

/// A compare-at ("was") price is only honest when it is in the same currency and higher.
fn check_prices(price: &Money, compare_at_price: Option<&Money>) -> Result<(), CatalogError> {
    let Some(compare_at) = compare_at_price else {
        return Ok(());
    };
    if compare_at.currency() != price.currency() {
        return Err(CatalogError::CompareAtCurrencyMismatch {
            price: price.currency(),
            compare_at: compare_at.currency(),
        });
    }
    if compare_at.amount_minor() <= price.amount_minor() {
        return Err(CatalogError::CompareAtNotAbovePrice {
            price: *price,
            compare_at: *compare_at,
        });
    }
    Ok(())
}

impl Variant {
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn price(&self) -> Option<Money> {
        self.state.as_ref().map(|s| s.price)
    }

    pub fn compare_at_price(&self) -> Option<Money> {
        self.state.as_ref().and_then(|s| s.compare_at_price)
    }

    pub fn product_id(&self) -> Option<ProductId> {
        self.state.as_ref().map(|s| s.product_id)
    }

    pub fn sku(&self) -> Option<&Sku> {
        self.state.as_ref().map(|s| &s.sku)
    }

    pub fn status(&self) -> Option<PublicationStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    /// What distinguishes the variant: frame geometry, lens options, contact lens parameters.
    pub fn attributes(&self) -> Option<&VariantAttributes> {
        self.state.as_ref().map(|s| &s.attributes)
    }

    fn set_status(&mut self, status: PublicationStatus) {
        if let Some(state) = &mut self.state {
            state.status = status;
        }
    }

    /// The variant as the given tenant may see it.
    fn existing(&self, tenant_id: TenantId) -> Result<&VariantState, CatalogError> {
        self.state
            .as_ref()
            .filter(|s| s.tenant_id == tenant_id)
            .ok_or(CatalogError::VariantNotFound)
    }

    /// An existing variant that may still change.
    fn changeable(&self, tenant_id: TenantId) -> Result<&VariantState, CatalogError> {
        let state = self.existing(tenant_id)?;
        if state.status == PublicationStatus::Archived {
            return Err(CatalogError::VariantArchived);
        }
        Ok(state)
    }

    fn decide(&self, command: VariantCommand) -> Result<Vec<VariantEvent>, CatalogError> {
        use PublicationStatus::{Archived, Draft, Published};
        match command {
            VariantCommand::AddVariant {
                variant_id,
                tenant_id,
                product,
                sku,
                attributes,
                price,
                compare_at_price,
            } => {
                if self.state.is_some() {
                    return Err(CatalogError::VariantAlreadyExists);
                }
                if product.tenant_id != tenant_id {
                    return Err(CatalogError::ProductNotFound);
                }
                if product.status == Archived {
                    return Err(CatalogError::ProductArchived);
                }
                if attributes.kind() != product.kind {
                    return Err(CatalogError::AttributesKindMismatch {
                        product: product.kind,
                        attributes: attributes.kind(),
                    });
                }
                check_prices(&price, compare_at_price.as_ref())?;
                Ok(vec![VariantEvent::VariantAdded {
                    variant_id,
                    tenant_id,
                    product_id: product.product_id,
                    sku,
                    attributes,
                    price,
                    compare_at_price,
                }])
            }
            VariantCommand::ChangeVariantPrice {
                tenant_id,
                price,
                compare_at_price,
            } => {
                let state = self.changeable(tenant_id)?;
                check_prices(&price, compare_at_price.as_ref())?;
                // Same prices again is a no-op rather than an error: a price sync that resends
                // the current prices has nothing to say, and should neither fail nor add events.
                if state.price == price && state.compare_at_price == compare_at_price {
                    return Ok(vec![]);
                }
                Ok(vec![VariantEvent::VariantPriceChanged {
                    variant_id: state.id,
                    price,
                    compare_at_price,
                }])
            }
            VariantCommand::UpdateVariantAttributes {
                tenant_id,
                attributes,
            } => {
                let state = self.changeable(tenant_id)?;
                // The kind was checked against the product when the variant was added.
                if attributes.kind() != state.attributes.kind() {
                    return Err(CatalogError::AttributesKindMismatch {
                        product: state.attributes.kind(),
                        attributes: attributes.kind(),
                    });
                }
                // Same attributes again: a no-op, for the same reason as prices.
                if attributes == state.attributes {
                    return Ok(vec![]);
                }
                Ok(vec![VariantEvent::VariantAttributesUpdated {
                    variant_id: state.id,
                    attributes,
                }])
            }
            VariantCommand::PublishVariant { tenant_id, product } => {
                let state = self.existing(tenant_id)?;
                if product.product_id != state.product_id || product.tenant_id != state.tenant_id {
                    return Err(CatalogError::ProductMismatch);
                }
                match state.status {
                    Published => return Err(CatalogError::VariantAlreadyPublished),
                    Archived => return Err(CatalogError::VariantArchived),
                    Draft => {}
                }
                // A variant may go live under a draft product (it shows once the product is
                // published), but never under an archived one.
                if product.status == Archived {
                    return Err(CatalogError::ProductArchived);
                }
                Ok(vec![VariantEvent::VariantPublished {
                    variant_id: state.id,
                }])
            }
            VariantCommand::UnpublishVariant { tenant_id } => {
                let state = self.existing(tenant_id)?;
                match state.status {
                    Published => Ok(vec![VariantEvent::VariantUnpublished {
                        variant_id: state.id,
                    }]),
                    Draft => Err(CatalogError::VariantNotPublished),
                    Archived => Err(CatalogError::VariantArchived),
                }
            }
            VariantCommand::ArchiveVariant { tenant_id } => {
                let state = self.changeable(tenant_id)?;
                Ok(vec![VariantEvent::VariantArchived {
                    variant_id: state.id,
                }])
            }
        }
    }
}

impl Aggregate for Variant {
    const TYPE: &'static str = "catalog.variant";
    type Command = VariantCommand;
    type Event = VariantEvent;
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
            VariantEvent::VariantAdded {
                variant_id,
                tenant_id,
                product_id,
                sku,
                attributes,
                price,
                compare_at_price,
            } => {
                self.state = Some(VariantState {
                    id: variant_id,
                    tenant_id,
                    product_id,
                    sku,
                    attributes,
                    price,
                    compare_at_price,
                    status: PublicationStatus::Draft,
                });
            }
            VariantEvent::VariantPriceChanged {
                price,
                compare_at_price,
                ..
            } => {
                if let Some(state) = &mut self.state {
                    state.price = price;
                    state.compare_at_price = compare_at_price;
                }
            }
            VariantEvent::VariantAttributesUpdated { attributes, .. } => {
                if let Some(state) = &mut self.state {
                    state.attributes = attributes;
                }
            }
            VariantEvent::VariantPublished { .. } => self.set_status(PublicationStatus::Published),
            VariantEvent::VariantUnpublished { .. } => self.set_status(PublicationStatus::Draft),
            VariantEvent::VariantArchived { .. } => self.set_status(PublicationStatus::Archived),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{
        ContactLensAttributes, FrameAttributes, FrameGeometry, LensAttributes,
    };
    use crate::samples;
    use crate::values::{Colour, FrameMaterial, FrameShape, ProductKind, ReplacementSchedule};
    use cqrs_es::test::TestFramework;
    use optical_kernel::Currency;
    use optical_optics::{LensCoating, LensDesign, LensIndex, LensMaterial};
    use serde_json::json;

    type Fixture = TestFramework<Variant>;

    fn id() -> VariantId {
        samples::variant_id()
    }

    fn tenant() -> TenantId {
        samples::tenant_id()
    }

    fn product(kind: ProductKind, status: PublicationStatus) -> ProductRef {
        ProductRef {
            product_id: samples::product_id(),
            tenant_id: tenant(),
            kind,
            status,
        }
    }

    fn frame_product() -> ProductRef {
        product(ProductKind::Frame, PublicationStatus::Published)
    }

    fn eur(amount_minor: i64) -> Money {
        Money::new(amount_minor, "EUR".parse().unwrap()).unwrap()
    }

    fn usd(amount_minor: i64) -> Money {
        Money::new(amount_minor, "USD".parse().unwrap()).unwrap()
    }

    fn frame(colour: &str) -> VariantAttributes {
        VariantAttributes::Frame(FrameAttributes {
            geometry: FrameGeometry::new(51.0, 40.5, 21.0, 54.0, 145.0).unwrap(),
            colour: Colour::new(colour).unwrap(),
            shape: FrameShape::Browline,
            frame_material: FrameMaterial::Mixed,
        })
    }

    fn lens() -> VariantAttributes {
        VariantAttributes::OphthalmicLens(
            LensAttributes::new(
                LensMaterial::Polycarbonate,
                LensIndex::new(1.59).unwrap(),
                LensDesign::SingleVision,
                vec![LensCoating::AntiReflective],
                None,
            )
            .unwrap(),
        )
    }

    fn sku() -> Sku {
        Sku::new("RB3016-W0365-51").unwrap()
    }

    fn add(
        product: ProductRef,
        attributes: VariantAttributes,
        price: Money,
        compare_at: Option<Money>,
    ) -> VariantCommand {
        VariantCommand::AddVariant {
            variant_id: id(),
            tenant_id: tenant(),
            product,
            sku: sku(),
            attributes,
            price,
            compare_at_price: compare_at,
        }
    }

    fn add_frame(price: Money, compare_at: Option<Money>) -> VariantCommand {
        add(frame_product(), frame("black"), price, compare_at)
    }

    fn added() -> VariantEvent {
        VariantEvent::VariantAdded {
            variant_id: id(),
            tenant_id: tenant(),
            product_id: samples::product_id(),
            sku: sku(),
            attributes: frame("black"),
            price: eur(15_900),
            compare_at_price: Some(eur(18_900)),
        }
    }

    fn published() -> VariantEvent {
        VariantEvent::VariantPublished { variant_id: id() }
    }

    fn unpublished() -> VariantEvent {
        VariantEvent::VariantUnpublished { variant_id: id() }
    }

    fn archived() -> VariantEvent {
        VariantEvent::VariantArchived { variant_id: id() }
    }

    fn change_price(price: Money, compare_at: Option<Money>) -> VariantCommand {
        VariantCommand::ChangeVariantPrice {
            tenant_id: tenant(),
            price,
            compare_at_price: compare_at,
        }
    }

    fn update(attributes: VariantAttributes) -> VariantCommand {
        VariantCommand::UpdateVariantAttributes {
            tenant_id: tenant(),
            attributes,
        }
    }

    fn publish(product: ProductRef) -> VariantCommand {
        VariantCommand::PublishVariant {
            tenant_id: tenant(),
            product,
        }
    }

    fn unpublish() -> VariantCommand {
        VariantCommand::UnpublishVariant {
            tenant_id: tenant(),
        }
    }

    fn archive() -> VariantCommand {
        VariantCommand::ArchiveVariant {
            tenant_id: tenant(),
        }
    }

    // --- AddVariant

    #[test]
    fn adding_a_variant_records_sku_attributes_and_prices() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add_frame(eur(15_900), Some(eur(18_900))))
            .then_expect_events(vec![added()]);
    }

    #[test]
    fn a_variant_can_be_added_to_a_draft_product_without_compare_at_price() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add(
                product(ProductKind::Accessory, PublicationStatus::Draft),
                VariantAttributes::Accessory,
                eur(990),
                None,
            ))
            .then_expect_events(vec![VariantEvent::VariantAdded {
                variant_id: id(),
                tenant_id: tenant(),
                product_id: samples::product_id(),
                sku: sku(),
                attributes: VariantAttributes::Accessory,
                price: eur(990),
                compare_at_price: None,
            }]);
    }

    #[test]
    fn a_variant_cannot_be_added_twice() {
        Fixture::with(())
            .given(vec![added()])
            .when(add_frame(eur(15_900), None))
            .then_expect_error(CatalogError::VariantAlreadyExists);
    }

    #[test]
    fn a_variant_cannot_be_added_to_an_archived_product() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add(
                product(ProductKind::Frame, PublicationStatus::Archived),
                frame("black"),
                eur(15_900),
                None,
            ))
            .then_expect_error(CatalogError::ProductArchived);
    }

    #[test]
    fn a_variant_cannot_be_added_to_another_tenants_product() {
        let foreign = ProductRef {
            tenant_id: TenantId::new(),
            ..frame_product()
        };
        Fixture::with(())
            .given_no_previous_events()
            .when(add(foreign, frame("black"), eur(15_900), None))
            .then_expect_error(CatalogError::ProductNotFound);
    }

    #[test]
    fn attributes_must_match_the_product_kind() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add(frame_product(), lens(), eur(15_900), None))
            .then_expect_error(CatalogError::AttributesKindMismatch {
                product: ProductKind::Frame,
                attributes: ProductKind::OphthalmicLens,
            });
        Fixture::with(())
            .given_no_previous_events()
            .when(add(
                product(ProductKind::Digital, PublicationStatus::Draft),
                VariantAttributes::Accessory,
                eur(500),
                None,
            ))
            .then_expect_error(CatalogError::AttributesKindMismatch {
                product: ProductKind::Digital,
                attributes: ProductKind::Accessory,
            });
    }

    #[test]
    fn compare_at_price_equal_to_price_is_rejected() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add_frame(eur(15_900), Some(eur(15_900))))
            .then_expect_error(CatalogError::CompareAtNotAbovePrice {
                price: eur(15_900),
                compare_at: eur(15_900),
            });
    }

    #[test]
    fn compare_at_price_below_price_is_rejected() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add_frame(eur(15_900), Some(eur(15_899))))
            .then_expect_error(CatalogError::CompareAtNotAbovePrice {
                price: eur(15_900),
                compare_at: eur(15_899),
            });
    }

    #[test]
    fn compare_at_price_one_minor_unit_above_price_is_accepted() {
        let events = Fixture::with(())
            .given_no_previous_events()
            .when(add_frame(eur(15_900), Some(eur(15_901))))
            .inspect_result()
            .unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn compare_at_price_in_another_currency_is_rejected() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add_frame(eur(15_900), Some(usd(20_000))))
            .then_expect_error(CatalogError::CompareAtCurrencyMismatch {
                price: "EUR".parse::<Currency>().unwrap(),
                compare_at: "USD".parse::<Currency>().unwrap(),
            });
    }

    // --- ChangeVariantPrice

    #[test]
    fn changing_the_price_records_both_prices() {
        Fixture::with(())
            .given(vec![added()])
            .when(change_price(eur(12_900), None))
            .then_expect_events(vec![VariantEvent::VariantPriceChanged {
                variant_id: id(),
                price: eur(12_900),
                compare_at_price: None,
            }]);
    }

    #[test]
    fn changing_the_price_to_the_current_prices_emits_nothing() {
        Fixture::with(())
            .given(vec![added()])
            .when(change_price(eur(15_900), Some(eur(18_900))))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_new_price_must_keep_the_compare_at_price_above_it() {
        Fixture::with(())
            .given(vec![added()])
            .when(change_price(eur(19_000), Some(eur(18_900))))
            .then_expect_error(CatalogError::CompareAtNotAbovePrice {
                price: eur(19_000),
                compare_at: eur(18_900),
            });
        Fixture::with(())
            .given(vec![added()])
            .when(change_price(usd(19_000), Some(eur(28_900))))
            .then_expect_error(CatalogError::CompareAtCurrencyMismatch {
                price: "USD".parse::<Currency>().unwrap(),
                compare_at: "EUR".parse::<Currency>().unwrap(),
            });
    }

    #[test]
    fn an_archived_variant_cannot_be_repriced() {
        Fixture::with(())
            .given(vec![added(), archived()])
            .when(change_price(eur(9_900), None))
            .then_expect_error(CatalogError::VariantArchived);
    }

    // --- UpdateVariantAttributes

    #[test]
    fn updating_attributes_records_the_new_attributes() {
        Fixture::with(())
            .given(vec![added(), published()])
            .when(update(frame("havana")))
            .then_expect_events(vec![VariantEvent::VariantAttributesUpdated {
                variant_id: id(),
                attributes: frame("havana"),
            }]);
    }

    #[test]
    fn updating_with_the_current_attributes_emits_nothing() {
        Fixture::with(())
            .given(vec![added()])
            .when(update(frame("black")))
            .then_expect_events(vec![]);
    }

    #[test]
    fn attributes_cannot_change_kind() {
        Fixture::with(())
            .given(vec![added()])
            .when(update(lens()))
            .then_expect_error(CatalogError::AttributesKindMismatch {
                product: ProductKind::Frame,
                attributes: ProductKind::OphthalmicLens,
            });
    }

    #[test]
    fn an_archived_variant_cannot_be_updated() {
        Fixture::with(())
            .given(vec![added(), archived()])
            .when(update(frame("havana")))
            .then_expect_error(CatalogError::VariantArchived);
    }

    // --- PublishVariant

    #[test]
    fn publishing_a_draft_variant_publishes_it() {
        Fixture::with(())
            .given(vec![added()])
            .when(publish(frame_product()))
            .then_expect_events(vec![published()]);
    }

    #[test]
    fn a_variant_of_a_draft_product_can_be_published() {
        Fixture::with(())
            .given(vec![added(), published(), unpublished()])
            .when(publish(product(
                ProductKind::Frame,
                PublicationStatus::Draft,
            )))
            .then_expect_events(vec![published()]);
    }

    #[test]
    fn publishing_a_published_variant_is_refused() {
        Fixture::with(())
            .given(vec![added(), published()])
            .when(publish(frame_product()))
            .then_expect_error(CatalogError::VariantAlreadyPublished);
    }

    #[test]
    fn an_archived_variant_cannot_be_published() {
        Fixture::with(())
            .given(vec![added(), archived()])
            .when(publish(frame_product()))
            .then_expect_error(CatalogError::VariantArchived);
    }

    #[test]
    fn a_variant_of_an_archived_product_cannot_be_published() {
        Fixture::with(())
            .given(vec![added()])
            .when(publish(product(
                ProductKind::Frame,
                PublicationStatus::Archived,
            )))
            .then_expect_error(CatalogError::ProductArchived);
    }

    #[test]
    fn publishing_with_another_product_is_refused() {
        let other = ProductRef {
            product_id: ProductId::new(),
            ..frame_product()
        };
        Fixture::with(())
            .given(vec![added()])
            .when(publish(other))
            .then_expect_error(CatalogError::ProductMismatch);
    }

    // --- UnpublishVariant

    #[test]
    fn unpublishing_a_published_variant_returns_it_to_draft() {
        Fixture::with(())
            .given(vec![added(), published()])
            .when(unpublish())
            .then_expect_events(vec![unpublished()]);
    }

    #[test]
    fn unpublishing_a_draft_variant_is_refused() {
        Fixture::with(())
            .given(vec![added()])
            .when(unpublish())
            .then_expect_error(CatalogError::VariantNotPublished);
    }

    #[test]
    fn an_archived_variant_cannot_be_unpublished() {
        Fixture::with(())
            .given(vec![added(), published(), archived()])
            .when(unpublish())
            .then_expect_error(CatalogError::VariantArchived);
    }

    // --- ArchiveVariant

    #[test]
    fn drafts_and_published_variants_can_be_archived() {
        Fixture::with(())
            .given(vec![added()])
            .when(archive())
            .then_expect_events(vec![archived()]);
        Fixture::with(())
            .given(vec![added(), published()])
            .when(archive())
            .then_expect_events(vec![archived()]);
    }

    #[test]
    fn archiving_a_variant_is_terminal() {
        Fixture::with(())
            .given(vec![added(), archived()])
            .when(archive())
            .then_expect_error(CatalogError::VariantArchived);
    }

    // --- Missing and foreign variants

    #[test]
    fn commands_on_a_missing_variant_are_refused() {
        for command in [
            change_price(eur(100), None),
            update(frame("black")),
            publish(frame_product()),
            unpublish(),
            archive(),
        ] {
            Fixture::with(())
                .given_no_previous_events()
                .when(command)
                .then_expect_error(CatalogError::VariantNotFound);
        }
    }

    #[test]
    fn another_tenants_variant_is_not_found() {
        let other = TenantId::new();
        for command in [
            VariantCommand::ChangeVariantPrice {
                tenant_id: other,
                price: eur(100),
                compare_at_price: None,
            },
            VariantCommand::UpdateVariantAttributes {
                tenant_id: other,
                attributes: frame("havana"),
            },
            VariantCommand::PublishVariant {
                tenant_id: other,
                product: ProductRef {
                    tenant_id: other,
                    ..frame_product()
                },
            },
            VariantCommand::UnpublishVariant { tenant_id: other },
            VariantCommand::ArchiveVariant { tenant_id: other },
        ] {
            Fixture::with(())
                .given(vec![added(), published()])
                .when(command)
                .then_expect_error(CatalogError::VariantNotFound);
        }
    }

    // --- State and wire format

    #[test]
    fn state_follows_the_events() {
        let mut variant = Variant::default();
        assert_eq!(variant.status(), None);
        variant.apply(added());
        variant.apply(published());
        assert_eq!(variant.status(), Some(PublicationStatus::Published));
        assert_eq!(variant.product_id(), Some(samples::product_id()));
        assert_eq!(variant.sku(), Some(&sku()));
        let snapshot = serde_json::to_value(&variant).unwrap();
        assert_eq!(
            serde_json::from_value::<Variant>(snapshot).unwrap(),
            variant
        );
    }

    #[test]
    fn events_are_externally_tagged_with_catalog_event_types() {
        assert_eq!(
            serde_json::to_value(archived()).unwrap(),
            json!({"VariantArchived": {"variant_id": id().to_string()}})
        );
        let price_changed = VariantEvent::VariantPriceChanged {
            variant_id: id(),
            price: eur(100),
            compare_at_price: None,
        };
        assert_eq!(
            serde_json::to_value(&price_changed).unwrap(),
            json!({"VariantPriceChanged": {
                "variant_id": id().to_string(),
                "price": {"amount_minor": 100, "currency": "EUR"},
                "compare_at_price": null,
            }})
        );
        assert_eq!(price_changed.event_type(), "catalog.variant.price_changed");
        assert_eq!(added().event_type(), "catalog.variant.added");
        assert_eq!(added().event_version(), "1.0");
        assert_eq!(Variant::TYPE, "catalog.variant");
    }

    #[test]
    fn contact_lens_variants_carry_their_parameters() {
        let contact = VariantAttributes::ContactLens(
            ContactLensAttributes::new(8.6, 14.2, ReplacementSchedule::Monthly).unwrap(),
        );
        let events = Fixture::with(())
            .given_no_previous_events()
            .when(add(
                product(ProductKind::ContactLens, PublicationStatus::Published),
                contact.clone(),
                eur(2_500),
                None,
            ))
            .inspect_result()
            .unwrap();
        assert!(
            matches!(&events[..], [VariantEvent::VariantAdded { attributes, .. }] if *attributes == contact)
        );
    }
}
