//! The Vendor aggregate: a business trading inside a mall tenant, paying the operator a
//! commission. Single-brand tenants have no vendor aggregates: each store is its own vendor.

use crate::error::TenancyError;
use crate::tenant::TenantRef;
use crate::values::{CommissionRate, SuspensionReason, TenantKind, VendorName};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{TenantId, VendorId};
use serde::{Deserialize, Serialize};

/// The facts about a vendor that store (and order-splitting) decisions need, read by the
/// application from the vendor aggregate (see [`Vendor::vendor_ref`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VendorRef {
    pub vendor_id: VendorId,
    pub tenant_id: TenantId,
    pub commission_rate: CommissionRate,
    /// A suspended vendor cannot open stores.
    pub active: bool,
}

/// Every command names the caller's tenant (`RegisterVendor` through its [`TenantRef`]): a
/// vendor of another tenant is answered as not found.
#[derive(Clone, Debug, PartialEq)]
pub enum VendorCommand {
    RegisterVendor {
        vendor_id: VendorId,
        tenant: TenantRef,
        name: VendorName,
        commission_rate: CommissionRate,
    },
    ChangeCommissionRate {
        tenant_id: TenantId,
        commission_rate: CommissionRate,
    },
    SuspendVendor {
        tenant_id: TenantId,
        reason: SuspensionReason,
    },
    ReinstateVendor {
        tenant_id: TenantId,
    },
}

impl VendorCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            VendorCommand::RegisterVendor { tenant, .. } => tenant.tenant_id,
            VendorCommand::ChangeCommissionRate { tenant_id, .. }
            | VendorCommand::SuspendVendor { tenant_id, .. }
            | VendorCommand::ReinstateVendor { tenant_id } => *tenant_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum VendorEvent {
    VendorRegistered {
        vendor_id: VendorId,
        tenant_id: TenantId,
        name: VendorName,
        commission_rate: CommissionRate,
    },
    VendorCommissionRateChanged {
        vendor_id: VendorId,
        commission_rate: CommissionRate,
    },
    VendorSuspended {
        vendor_id: VendorId,
        reason: SuspensionReason,
    },
    VendorReinstated {
        vendor_id: VendorId,
    },
}

impl VendorEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 4] = [
        "tenancy.vendor.registered",
        "tenancy.vendor.commission_rate_changed",
        "tenancy.vendor.suspended",
        "tenancy.vendor.reinstated",
    ];

    pub fn vendor_id(&self) -> VendorId {
        match self {
            VendorEvent::VendorRegistered { vendor_id, .. }
            | VendorEvent::VendorCommissionRateChanged { vendor_id, .. }
            | VendorEvent::VendorSuspended { vendor_id, .. }
            | VendorEvent::VendorReinstated { vendor_id } => *vendor_id,
        }
    }
}

impl DomainEvent for VendorEvent {
    fn event_type(&self) -> String {
        let [registered, commission_rate_changed, suspended, reinstated] = Self::EVENT_TYPES;
        match self {
            VendorEvent::VendorRegistered { .. } => registered,
            VendorEvent::VendorCommissionRateChanged { .. } => commission_rate_changed,
            VendorEvent::VendorSuspended { .. } => suspended,
            VendorEvent::VendorReinstated { .. } => reinstated,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A vendor's decision state. `None` until registered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vendor {
    state: Option<VendorState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct VendorState {
    id: VendorId,
    tenant_id: TenantId,
    name: VendorName,
    commission_rate: CommissionRate,
    /// `Some` while suspended.
    suspension: Option<SuspensionReason>,
}

impl Vendor {
    /// What store commands need to know about this vendor; `None` before registration.
    pub fn vendor_ref(&self) -> Option<VendorRef> {
        self.state.as_ref().map(|s| VendorRef {
            vendor_id: s.id,
            tenant_id: s.tenant_id,
            commission_rate: s.commission_rate,
            active: s.suspension.is_none(),
        })
    }

    pub fn name(&self) -> Option<&VendorName> {
        self.state.as_ref().map(|s| &s.name)
    }

    /// Why the vendor is suspended; `None` when active or not registered.
    pub fn suspension_reason(&self) -> Option<&SuspensionReason> {
        self.state.as_ref().and_then(|s| s.suspension.as_ref())
    }

    /// The vendor as the given tenant may see it.
    fn existing(&self, tenant_id: TenantId) -> Result<&VendorState, TenancyError> {
        self.state
            .as_ref()
            .filter(|s| s.tenant_id == tenant_id)
            .ok_or(TenancyError::VendorNotFound)
    }

    fn decide(&self, command: VendorCommand) -> Result<Vec<VendorEvent>, TenancyError> {
        match command {
            VendorCommand::RegisterVendor {
                vendor_id,
                tenant,
                name,
                commission_rate,
            } => {
                if self.state.is_some() {
                    return Err(TenancyError::VendorAlreadyExists);
                }
                if tenant.kind != TenantKind::Mall {
                    return Err(TenancyError::VendorsRequireMallTenant);
                }
                Ok(vec![VendorEvent::VendorRegistered {
                    vendor_id,
                    tenant_id: tenant.tenant_id,
                    name,
                    commission_rate,
                }])
            }
            // Allowed while suspended: terms are often renegotiated before reinstatement.
            VendorCommand::ChangeCommissionRate {
                tenant_id,
                commission_rate,
            } => {
                let state = self.existing(tenant_id)?;
                if state.commission_rate == commission_rate {
                    return Ok(vec![]);
                }
                Ok(vec![VendorEvent::VendorCommissionRateChanged {
                    vendor_id: state.id,
                    commission_rate,
                }])
            }
            VendorCommand::SuspendVendor { tenant_id, reason } => {
                let state = self.existing(tenant_id)?;
                if state.suspension.is_some() {
                    return Err(TenancyError::VendorSuspended);
                }
                Ok(vec![VendorEvent::VendorSuspended {
                    vendor_id: state.id,
                    reason,
                }])
            }
            VendorCommand::ReinstateVendor { tenant_id } => {
                let state = self.existing(tenant_id)?;
                if state.suspension.is_none() {
                    return Err(TenancyError::VendorNotSuspended);
                }
                Ok(vec![VendorEvent::VendorReinstated {
                    vendor_id: state.id,
                }])
            }
        }
    }
}

impl Aggregate for Vendor {
    const TYPE: &'static str = "tenancy.vendor";
    type Command = VendorCommand;
    type Event = VendorEvent;
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
            VendorEvent::VendorRegistered {
                vendor_id,
                tenant_id,
                name,
                commission_rate,
            } => {
                self.state = Some(VendorState {
                    id: vendor_id,
                    tenant_id,
                    name,
                    commission_rate,
                    suspension: None,
                });
            }
            VendorEvent::VendorCommissionRateChanged {
                commission_rate, ..
            } => {
                if let Some(state) = &mut self.state {
                    state.commission_rate = commission_rate;
                }
            }
            VendorEvent::VendorSuspended { reason, .. } => {
                if let Some(state) = &mut self.state {
                    state.suspension = Some(reason);
                }
            }
            VendorEvent::VendorReinstated { .. } => {
                if let Some(state) = &mut self.state {
                    state.suspension = None;
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

    type Fixture = TestFramework<Vendor>;

    fn id() -> VendorId {
        samples::vendor_id()
    }

    fn tenant() -> TenantId {
        samples::tenant_id()
    }

    fn tenant_ref(kind: TenantKind) -> TenantRef {
        TenantRef {
            tenant_id: tenant(),
            kind,
            default_currency: "EUR".parse().unwrap(),
            settings: TenantSettings::default(),
        }
    }

    fn rate(basis_points: u32) -> CommissionRate {
        CommissionRate::from_basis_points(basis_points).unwrap()
    }

    fn name() -> VendorName {
        VendorName::new("Brillen Schmidt").unwrap()
    }

    fn reason() -> SuspensionReason {
        SuspensionReason::new("Unpaid commission for March").unwrap()
    }

    fn register(kind: TenantKind) -> VendorCommand {
        VendorCommand::RegisterVendor {
            vendor_id: id(),
            tenant: tenant_ref(kind),
            name: name(),
            commission_rate: rate(1_500),
        }
    }

    fn registered() -> VendorEvent {
        VendorEvent::VendorRegistered {
            vendor_id: id(),
            tenant_id: tenant(),
            name: name(),
            commission_rate: rate(1_500),
        }
    }

    fn suspended() -> VendorEvent {
        VendorEvent::VendorSuspended {
            vendor_id: id(),
            reason: reason(),
        }
    }

    fn reinstated() -> VendorEvent {
        VendorEvent::VendorReinstated { vendor_id: id() }
    }

    fn change_rate(tenant_id: TenantId, basis_points: u32) -> VendorCommand {
        VendorCommand::ChangeCommissionRate {
            tenant_id,
            commission_rate: rate(basis_points),
        }
    }

    fn suspend(tenant_id: TenantId) -> VendorCommand {
        VendorCommand::SuspendVendor {
            tenant_id,
            reason: reason(),
        }
    }

    fn reinstate(tenant_id: TenantId) -> VendorCommand {
        VendorCommand::ReinstateVendor { tenant_id }
    }

    #[test]
    fn registering_a_vendor_in_a_mall_records_it() {
        Fixture::with(())
            .given_no_previous_events()
            .when(register(TenantKind::Mall))
            .then_expect_events(vec![registered()]);
    }

    #[test]
    fn vendors_are_refused_in_single_brand_tenants() {
        Fixture::with(())
            .given_no_previous_events()
            .when(register(TenantKind::SingleBrand))
            .then_expect_error(TenancyError::VendorsRequireMallTenant);
    }

    #[test]
    fn a_vendor_cannot_be_registered_twice() {
        Fixture::with(())
            .given(vec![registered()])
            .when(register(TenantKind::Mall))
            .then_expect_error(TenancyError::VendorAlreadyExists);
    }

    #[test]
    fn changing_the_commission_rate_records_it() {
        Fixture::with(())
            .given(vec![registered()])
            .when(change_rate(tenant(), 1_250))
            .then_expect_events(vec![VendorEvent::VendorCommissionRateChanged {
                vendor_id: id(),
                commission_rate: rate(1_250),
            }]);
    }

    #[test]
    fn a_suspended_vendors_rate_can_still_change() {
        Fixture::with(())
            .given(vec![registered(), suspended()])
            .when(change_rate(tenant(), 0))
            .then_expect_events(vec![VendorEvent::VendorCommissionRateChanged {
                vendor_id: id(),
                commission_rate: rate(0),
            }]);
    }

    #[test]
    fn an_unchanged_commission_rate_emits_nothing() {
        Fixture::with(())
            .given(vec![registered()])
            .when(change_rate(tenant(), 1_500))
            .then_expect_events(vec![]);
    }

    #[test]
    fn suspending_an_active_vendor_records_the_reason() {
        Fixture::with(())
            .given(vec![registered()])
            .when(suspend(tenant()))
            .then_expect_events(vec![suspended()]);
    }

    #[test]
    fn a_suspended_vendor_cannot_be_suspended_again() {
        Fixture::with(())
            .given(vec![registered(), suspended()])
            .when(suspend(tenant()))
            .then_expect_error(TenancyError::VendorSuspended);
    }

    #[test]
    fn reinstating_a_suspended_vendor_records_it() {
        Fixture::with(())
            .given(vec![registered(), suspended()])
            .when(reinstate(tenant()))
            .then_expect_events(vec![reinstated()]);
    }

    #[test]
    fn an_active_vendor_cannot_be_reinstated() {
        for given in [
            vec![registered()],
            vec![registered(), suspended(), reinstated()],
        ] {
            Fixture::with(())
                .given(given)
                .when(reinstate(tenant()))
                .then_expect_error(TenancyError::VendorNotSuspended);
        }
    }

    #[test]
    fn a_missing_vendor_cannot_change() {
        for command in [
            change_rate(tenant(), 1_000),
            suspend(tenant()),
            reinstate(tenant()),
        ] {
            Fixture::with(())
                .given_no_previous_events()
                .when(command)
                .then_expect_error(TenancyError::VendorNotFound);
        }
    }

    #[test]
    fn another_tenants_vendor_is_not_found() {
        let other = TenantId::new();
        for command in [change_rate(other, 1_000), suspend(other), reinstate(other)] {
            Fixture::with(())
                .given(vec![registered(), suspended()])
                .when(command)
                .then_expect_error(TenancyError::VendorNotFound);
        }
    }

    #[test]
    fn vendor_ref_follows_the_lifecycle() {
        let mut vendor = Vendor::default();
        assert_eq!(vendor.vendor_ref(), None);
        vendor.apply(registered());
        let active = VendorRef {
            vendor_id: id(),
            tenant_id: tenant(),
            commission_rate: rate(1_500),
            active: true,
        };
        assert_eq!(vendor.vendor_ref(), Some(active));
        vendor.apply(suspended());
        assert_eq!(
            vendor.vendor_ref(),
            Some(VendorRef {
                active: false,
                ..active
            })
        );
        assert_eq!(vendor.suspension_reason(), Some(&reason()));
        assert_eq!(vendor.name(), Some(&name()));

        let snapshot = serde_json::to_value(&vendor).unwrap();
        assert_eq!(serde_json::from_value::<Vendor>(snapshot).unwrap(), vendor);

        vendor.apply(reinstated());
        assert_eq!(vendor.vendor_ref(), Some(active));
        assert_eq!(vendor.suspension_reason(), None);
    }

    #[test]
    fn events_are_externally_tagged_with_tenancy_event_types() {
        assert_eq!(
            serde_json::to_value(registered()).unwrap(),
            json!({"VendorRegistered": {
                "vendor_id": id().to_string(),
                "tenant_id": tenant().to_string(),
                "name": "Brillen Schmidt",
                "commission_rate": 1500
            }})
        );
        assert_eq!(registered().event_type(), "tenancy.vendor.registered");
        assert_eq!(
            VendorEvent::VendorCommissionRateChanged {
                vendor_id: id(),
                commission_rate: rate(1),
            }
            .event_type(),
            "tenancy.vendor.commission_rate_changed"
        );
        assert_eq!(reinstated().event_version(), "1.0");
        assert_eq!(reinstated().vendor_id(), id());
        assert_eq!(register(TenantKind::Mall).tenant_id(), tenant());
        assert_eq!(Vendor::TYPE, "tenancy.vendor");
    }
}
