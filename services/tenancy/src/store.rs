//! The Store aggregate: a shop of a tenant, run by a vendor (in single-brand tenants, by itself).

use crate::error::TenancyError;
use crate::tenant::TenantRef;
use crate::values::{CommissionRate, StoreCode, StoreName, TenantKind};
use crate::vendor::VendorRef;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{StoreId, TenantId, VendorId};
use serde::{Deserialize, Serialize};

/// The facts about a store that location decisions (and orders, stock) need, read by the
/// application from the store aggregate (see [`Store::store_ref`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreRef {
    pub store_id: StoreId,
    pub tenant_id: TenantId,
    pub vendor_id: VendorId,
    pub open: bool,
}

/// Every command names the caller's tenant (`OpenStore` through its [`TenantRef`]): a store of
/// another tenant is answered as not found.
///
/// Store code uniqueness within a tenant needs a lookup across streams and is enforced outside
/// the aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreCommand {
    /// `vendor` must be `None` in a single-brand tenant (the store is its own vendor) and the
    /// active vendor that runs the store in a mall.
    OpenStore {
        store_id: StoreId,
        tenant: TenantRef,
        name: StoreName,
        code: StoreCode,
        vendor: Option<VendorRef>,
    },
    RenameStore {
        tenant_id: TenantId,
        name: StoreName,
    },
    /// Terminal: a closed store is kept for history but can no longer change.
    CloseStore { tenant_id: TenantId },
}

impl StoreCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            StoreCommand::OpenStore { tenant, .. } => tenant.tenant_id,
            StoreCommand::RenameStore { tenant_id, .. }
            | StoreCommand::CloseStore { tenant_id } => *tenant_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StoreEvent {
    StoreOpened {
        store_id: StoreId,
        tenant_id: TenantId,
        name: StoreName,
        code: StoreCode,
        vendor_id: VendorId,
    },
    StoreRenamed {
        store_id: StoreId,
        name: StoreName,
    },
    StoreClosed {
        store_id: StoreId,
    },
}

impl StoreEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 3] = [
        "tenancy.store.opened",
        "tenancy.store.renamed",
        "tenancy.store.closed",
    ];

    pub fn store_id(&self) -> StoreId {
        match self {
            StoreEvent::StoreOpened { store_id, .. }
            | StoreEvent::StoreRenamed { store_id, .. }
            | StoreEvent::StoreClosed { store_id } => *store_id,
        }
    }
}

impl DomainEvent for StoreEvent {
    fn event_type(&self) -> String {
        let [opened, renamed, closed] = Self::EVENT_TYPES;
        match self {
            StoreEvent::StoreOpened { .. } => opened,
            StoreEvent::StoreRenamed { .. } => renamed,
            StoreEvent::StoreClosed { .. } => closed,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A store's decision state. `None` until opened.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    state: Option<StoreState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StoreState {
    id: StoreId,
    tenant_id: TenantId,
    name: StoreName,
    code: StoreCode,
    vendor_id: VendorId,
    open: bool,
}

impl StoreState {
    /// Single-brand stores are opened with their own UUID as vendor id; a mall vendor is a
    /// separately registered aggregate with its own UUIDv7, so the ids never coincide there.
    fn is_own_vendor(&self) -> bool {
        self.id.as_uuid() == self.vendor_id.as_uuid()
    }
}

impl Store {
    /// What location commands need to know about this store; `None` before it is opened.
    pub fn store_ref(&self) -> Option<StoreRef> {
        self.state.as_ref().map(|s| StoreRef {
            store_id: s.id,
            tenant_id: s.tenant_id,
            vendor_id: s.vendor_id,
            open: s.open,
        })
    }

    pub fn name(&self) -> Option<&StoreName> {
        self.state.as_ref().map(|s| &s.name)
    }

    pub fn code(&self) -> Option<&StoreCode> {
        self.state.as_ref().map(|s| &s.code)
    }

    /// The commission on this store's sales when the store knows it: zero when the store is
    /// its own vendor (single-brand tenants). `None` before opening and for mall stores, whose
    /// rate belongs to the vendor (see `VendorRef::commission_rate`) and may change there.
    pub fn commission_rate(&self) -> Option<CommissionRate> {
        self.state
            .as_ref()
            .filter(|s| s.is_own_vendor())
            .map(|_| CommissionRate::ZERO)
    }

    /// The store as the given tenant may see it.
    fn existing(&self, tenant_id: TenantId) -> Result<&StoreState, TenancyError> {
        self.state
            .as_ref()
            .filter(|s| s.tenant_id == tenant_id)
            .ok_or(TenancyError::StoreNotFound)
    }

    /// An existing store that may still change.
    fn open(&self, tenant_id: TenantId) -> Result<&StoreState, TenancyError> {
        let state = self.existing(tenant_id)?;
        if !state.open {
            return Err(TenancyError::StoreClosed);
        }
        Ok(state)
    }

    fn decide(&self, command: StoreCommand) -> Result<Vec<StoreEvent>, TenancyError> {
        match command {
            StoreCommand::OpenStore {
                store_id,
                tenant,
                name,
                code,
                vendor,
            } => {
                if self.state.is_some() {
                    return Err(TenancyError::StoreAlreadyExists);
                }
                let vendor_id = match (tenant.kind, vendor) {
                    // The store is its own vendor: one id space for "who sells this", so orders
                    // split per vendor the same way in both tenant kinds.
                    (TenantKind::SingleBrand, None) => VendorId::from_uuid(*store_id.as_uuid()),
                    (TenantKind::SingleBrand, Some(_)) => {
                        return Err(TenancyError::VendorsRequireMallTenant)
                    }
                    (TenantKind::Mall, None) => return Err(TenancyError::VendorRequired),
                    (TenantKind::Mall, Some(vendor)) => {
                        if vendor.tenant_id != tenant.tenant_id {
                            return Err(TenancyError::VendorNotFound);
                        }
                        if !vendor.active {
                            return Err(TenancyError::VendorSuspended);
                        }
                        vendor.vendor_id
                    }
                };
                Ok(vec![StoreEvent::StoreOpened {
                    store_id,
                    tenant_id: tenant.tenant_id,
                    name,
                    code,
                    vendor_id,
                }])
            }
            StoreCommand::RenameStore { tenant_id, name } => {
                let state = self.open(tenant_id)?;
                if state.name == name {
                    return Ok(vec![]);
                }
                Ok(vec![StoreEvent::StoreRenamed {
                    store_id: state.id,
                    name,
                }])
            }
            StoreCommand::CloseStore { tenant_id } => {
                let state = self.open(tenant_id)?;
                Ok(vec![StoreEvent::StoreClosed { store_id: state.id }])
            }
        }
    }
}

impl Aggregate for Store {
    const TYPE: &'static str = "tenancy.store";
    type Command = StoreCommand;
    type Event = StoreEvent;
    type Error = TenancyError;
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
            StoreEvent::StoreOpened {
                store_id,
                tenant_id,
                name,
                code,
                vendor_id,
            } => {
                self.state = Some(StoreState {
                    id: store_id,
                    tenant_id,
                    name,
                    code,
                    vendor_id,
                    open: true,
                });
            }
            StoreEvent::StoreRenamed { name, .. } => {
                if let Some(state) = &mut self.state {
                    state.name = name;
                }
            }
            StoreEvent::StoreClosed { .. } => {
                if let Some(state) = &mut self.state {
                    state.open = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use crate::values::TenantSettings;
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    type Fixture = TestFramework<Store>;

    fn id() -> StoreId {
        samples::store_id()
    }

    fn tenant_ref(kind: TenantKind) -> TenantRef {
        TenantRef {
            tenant_id: samples::tenant_id(),
            kind,
            default_currency: "EUR".parse().unwrap(),
            settings: TenantSettings::default(),
        }
    }

    fn vendor(tenant_id: TenantId, active: bool) -> VendorRef {
        VendorRef {
            vendor_id: samples::vendor_id(),
            tenant_id,
            commission_rate: CommissionRate::from_basis_points(1_500).unwrap(),
            active,
        }
    }

    fn active_vendor() -> VendorRef {
        vendor(samples::tenant_id(), true)
    }

    fn name(name: &str) -> StoreName {
        StoreName::new(name).unwrap()
    }

    fn code() -> StoreCode {
        StoreCode::new("BER-01").unwrap()
    }

    fn open(kind: TenantKind, vendor: Option<VendorRef>) -> StoreCommand {
        StoreCommand::OpenStore {
            store_id: id(),
            tenant: tenant_ref(kind),
            name: name("Berlin Mitte"),
            code: code(),
            vendor,
        }
    }

    fn opened(vendor_id: VendorId) -> StoreEvent {
        StoreEvent::StoreOpened {
            store_id: id(),
            tenant_id: samples::tenant_id(),
            name: name("Berlin Mitte"),
            code: code(),
            vendor_id,
        }
    }

    fn own_vendor_id() -> VendorId {
        VendorId::from_uuid(*id().as_uuid())
    }

    fn opened_single_brand() -> StoreEvent {
        opened(own_vendor_id())
    }

    fn closed() -> StoreEvent {
        StoreEvent::StoreClosed { store_id: id() }
    }

    fn rename(tenant_id: TenantId, to: &str) -> StoreCommand {
        StoreCommand::RenameStore {
            tenant_id,
            name: name(to),
        }
    }

    fn close(tenant_id: TenantId) -> StoreCommand {
        StoreCommand::CloseStore { tenant_id }
    }

    #[test]
    fn a_single_brand_store_is_its_own_vendor_with_the_same_uuid() {
        Fixture::with(())
            .given_no_previous_events()
            .when(open(TenantKind::SingleBrand, None))
            .then_expect_events(vec![opened_single_brand()]);
        assert_eq!(own_vendor_id().as_uuid(), id().as_uuid());
    }

    #[test]
    fn a_single_brand_store_keeps_its_whole_sale() {
        let mut store = Store::default();
        assert_eq!(store.commission_rate(), None);
        store.apply(opened_single_brand());
        assert_eq!(store.commission_rate(), Some(CommissionRate::ZERO));
    }

    #[test]
    fn a_single_brand_store_cannot_name_a_vendor() {
        Fixture::with(())
            .given_no_previous_events()
            .when(open(TenantKind::SingleBrand, Some(active_vendor())))
            .then_expect_error(TenancyError::VendorsRequireMallTenant);
    }

    #[test]
    fn a_mall_store_is_run_by_its_vendor() {
        Fixture::with(())
            .given_no_previous_events()
            .when(open(TenantKind::Mall, Some(active_vendor())))
            .then_expect_events(vec![opened(samples::vendor_id())]);
    }

    #[test]
    fn a_mall_store_leaves_the_commission_to_its_vendor() {
        let mut store = Store::default();
        store.apply(opened(samples::vendor_id()));
        assert_eq!(store.commission_rate(), None);
    }

    #[test]
    fn a_mall_store_requires_a_vendor() {
        Fixture::with(())
            .given_no_previous_events()
            .when(open(TenantKind::Mall, None))
            .then_expect_error(TenancyError::VendorRequired);
    }

    #[test]
    fn a_mall_store_cannot_be_run_by_another_tenants_vendor() {
        Fixture::with(())
            .given_no_previous_events()
            .when(open(TenantKind::Mall, Some(vendor(TenantId::new(), true))))
            .then_expect_error(TenancyError::VendorNotFound);
    }

    #[test]
    fn a_mall_store_cannot_be_run_by_a_suspended_vendor() {
        Fixture::with(())
            .given_no_previous_events()
            .when(open(
                TenantKind::Mall,
                Some(vendor(samples::tenant_id(), false)),
            ))
            .then_expect_error(TenancyError::VendorSuspended);
    }

    #[test]
    fn a_store_cannot_be_opened_twice() {
        Fixture::with(())
            .given(vec![opened_single_brand()])
            .when(open(TenantKind::SingleBrand, None))
            .then_expect_error(TenancyError::StoreAlreadyExists);
    }

    #[test]
    fn renaming_records_the_new_name() {
        Fixture::with(())
            .given(vec![opened_single_brand()])
            .when(rename(samples::tenant_id(), "Berlin Hackescher Markt"))
            .then_expect_events(vec![StoreEvent::StoreRenamed {
                store_id: id(),
                name: name("Berlin Hackescher Markt"),
            }]);
    }

    #[test]
    fn renaming_to_the_same_name_emits_nothing() {
        Fixture::with(())
            .given(vec![opened_single_brand()])
            .when(rename(samples::tenant_id(), "Berlin Mitte"))
            .then_expect_events(vec![]);
    }

    #[test]
    fn closing_a_store_closes_it() {
        Fixture::with(())
            .given(vec![opened_single_brand()])
            .when(close(samples::tenant_id()))
            .then_expect_events(vec![closed()]);
    }

    #[test]
    fn a_closed_store_cannot_be_closed_again_or_renamed() {
        for command in [
            close(samples::tenant_id()),
            rename(samples::tenant_id(), "Berlin Hackescher Markt"),
        ] {
            Fixture::with(())
                .given(vec![opened_single_brand(), closed()])
                .when(command)
                .then_expect_error(TenancyError::StoreClosed);
        }
    }

    #[test]
    fn a_missing_store_cannot_be_renamed_or_closed() {
        for command in [
            rename(samples::tenant_id(), "X"),
            close(samples::tenant_id()),
        ] {
            Fixture::with(())
                .given_no_previous_events()
                .when(command)
                .then_expect_error(TenancyError::StoreNotFound);
        }
    }

    #[test]
    fn another_tenants_store_is_not_found_even_when_closed() {
        let other = TenantId::new();
        for given in [
            vec![opened_single_brand()],
            vec![opened_single_brand(), closed()],
        ] {
            for command in [rename(other, "X"), close(other)] {
                Fixture::with(())
                    .given(given.clone())
                    .when(command)
                    .then_expect_error(TenancyError::StoreNotFound);
            }
        }
    }

    #[test]
    fn store_ref_follows_the_lifecycle() {
        let mut store = Store::default();
        assert_eq!(store.store_ref(), None);
        store.apply(opened_single_brand());
        let open = StoreRef {
            store_id: id(),
            tenant_id: samples::tenant_id(),
            vendor_id: own_vendor_id(),
            open: true,
        };
        assert_eq!(store.store_ref(), Some(open));
        store.apply(closed());
        assert_eq!(
            store.store_ref(),
            Some(StoreRef {
                open: false,
                ..open
            })
        );
        assert_eq!(store.code(), Some(&code()));
        assert_eq!(store.name(), Some(&name("Berlin Mitte")));

        let snapshot = serde_json::to_value(&store).unwrap();
        assert_eq!(serde_json::from_value::<Store>(snapshot).unwrap(), store);
    }

    #[test]
    fn commands_name_their_tenant() {
        assert_eq!(
            open(TenantKind::Mall, None).tenant_id(),
            samples::tenant_id()
        );
        let other = TenantId::new();
        assert_eq!(close(other).tenant_id(), other);
        assert_eq!(rename(other, "X").tenant_id(), other);
    }

    #[test]
    fn events_are_externally_tagged_with_tenancy_event_types() {
        assert_eq!(
            serde_json::to_value(opened_single_brand()).unwrap(),
            json!({"StoreOpened": {
                "store_id": id().to_string(),
                "tenant_id": samples::tenant_id().to_string(),
                "name": "Berlin Mitte",
                "code": "BER-01",
                "vendor_id": id().to_string()
            }})
        );
        assert_eq!(opened_single_brand().event_type(), "tenancy.store.opened");
        assert_eq!(closed().event_type(), "tenancy.store.closed");
        assert_eq!(closed().event_version(), "1.0");
        assert_eq!(closed().store_id(), id());
        assert_eq!(Store::TYPE, "tenancy.store");
    }
}
