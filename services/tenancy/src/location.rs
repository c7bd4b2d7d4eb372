//! The Location aggregate: a place of a store that holds stock (sales floor, back room,
//! warehouse, lab). Inventory keys stock levels by location × variant.

use crate::error::TenancyError;
use crate::store::StoreRef;
use crate::values::{LocationKind, LocationName};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{LocationId, StoreId, TenantId};
use serde::{Deserialize, Serialize};

/// The facts about a location that stock decisions need, read by the application from the
/// location aggregate (see [`Location::location_ref`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocationRef {
    pub location_id: LocationId,
    pub tenant_id: TenantId,
    pub store_id: StoreId,
    pub kind: LocationKind,
    /// An inactive location receives no more stock.
    pub active: bool,
}

/// Every command names the caller's tenant: a location of another tenant is answered as not
/// found.
#[derive(Clone, Debug, PartialEq)]
pub enum LocationCommand {
    AddLocation {
        location_id: LocationId,
        tenant_id: TenantId,
        store: StoreRef,
        name: LocationName,
        kind: LocationKind,
    },
    RenameLocation {
        tenant_id: TenantId,
        name: LocationName,
    },
    /// Terminal: the location stays for history (stock movements name it) but can no longer
    /// receive stock or change.
    DeactivateLocation { tenant_id: TenantId },
}

impl LocationCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            LocationCommand::AddLocation { tenant_id, .. }
            | LocationCommand::RenameLocation { tenant_id, .. }
            | LocationCommand::DeactivateLocation { tenant_id } => *tenant_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LocationEvent {
    LocationAdded {
        location_id: LocationId,
        tenant_id: TenantId,
        store_id: StoreId,
        name: LocationName,
        kind: LocationKind,
    },
    LocationRenamed {
        location_id: LocationId,
        name: LocationName,
    },
    LocationDeactivated {
        location_id: LocationId,
    },
}

impl LocationEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 3] = [
        "tenancy.location.added",
        "tenancy.location.renamed",
        "tenancy.location.deactivated",
    ];

    pub fn location_id(&self) -> LocationId {
        match self {
            LocationEvent::LocationAdded { location_id, .. }
            | LocationEvent::LocationRenamed { location_id, .. }
            | LocationEvent::LocationDeactivated { location_id } => *location_id,
        }
    }
}

impl DomainEvent for LocationEvent {
    fn event_type(&self) -> String {
        let [added, renamed, deactivated] = Self::EVENT_TYPES;
        match self {
            LocationEvent::LocationAdded { .. } => added,
            LocationEvent::LocationRenamed { .. } => renamed,
            LocationEvent::LocationDeactivated { .. } => deactivated,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A location's decision state. `None` until added.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    state: Option<LocationState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LocationState {
    id: LocationId,
    tenant_id: TenantId,
    store_id: StoreId,
    name: LocationName,
    kind: LocationKind,
    active: bool,
}

impl Location {
    /// What stock commands need to know about this location; `None` before it is added.
    pub fn location_ref(&self) -> Option<LocationRef> {
        self.state.as_ref().map(|s| LocationRef {
            location_id: s.id,
            tenant_id: s.tenant_id,
            store_id: s.store_id,
            kind: s.kind,
            active: s.active,
        })
    }

    pub fn name(&self) -> Option<&LocationName> {
        self.state.as_ref().map(|s| &s.name)
    }

    /// The active location as the given tenant may see it.
    fn active(&self, tenant_id: TenantId) -> Result<&LocationState, TenancyError> {
        let state = self
            .state
            .as_ref()
            .filter(|s| s.tenant_id == tenant_id)
            .ok_or(TenancyError::LocationNotFound)?;
        if !state.active {
            return Err(TenancyError::LocationInactive);
        }
        Ok(state)
    }

    fn decide(&self, command: LocationCommand) -> Result<Vec<LocationEvent>, TenancyError> {
        match command {
            LocationCommand::AddLocation {
                location_id,
                tenant_id,
                store,
                name,
                kind,
            } => {
                if self.state.is_some() {
                    return Err(TenancyError::LocationAlreadyExists);
                }
                if store.tenant_id != tenant_id {
                    return Err(TenancyError::StoreNotFound);
                }
                if !store.open {
                    return Err(TenancyError::StoreClosed);
                }
                Ok(vec![LocationEvent::LocationAdded {
                    location_id,
                    tenant_id,
                    store_id: store.store_id,
                    name,
                    kind,
                }])
            }
            LocationCommand::RenameLocation { tenant_id, name } => {
                let state = self.active(tenant_id)?;
                if state.name == name {
                    return Ok(vec![]);
                }
                Ok(vec![LocationEvent::LocationRenamed {
                    location_id: state.id,
                    name,
                }])
            }
            LocationCommand::DeactivateLocation { tenant_id } => {
                let state = self.active(tenant_id)?;
                Ok(vec![LocationEvent::LocationDeactivated {
                    location_id: state.id,
                }])
            }
        }
    }
}

impl Aggregate for Location {
    const TYPE: &'static str = "tenancy.location";
    type Command = LocationCommand;
    type Event = LocationEvent;
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
            LocationEvent::LocationAdded {
                location_id,
                tenant_id,
                store_id,
                name,
                kind,
            } => {
                self.state = Some(LocationState {
                    id: location_id,
                    tenant_id,
                    store_id,
                    name,
                    kind,
                    active: true,
                });
            }
            LocationEvent::LocationRenamed { name, .. } => {
                if let Some(state) = &mut self.state {
                    state.name = name;
                }
            }
            LocationEvent::LocationDeactivated { .. } => {
                if let Some(state) = &mut self.state {
                    state.active = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use cqrs_es::test::TestFramework;
    use optical_kernel::VendorId;
    use serde_json::json;

    type Fixture = TestFramework<Location>;

    fn id() -> LocationId {
        samples::location_id()
    }

    fn tenant() -> TenantId {
        samples::tenant_id()
    }

    fn store(tenant_id: TenantId, open: bool) -> StoreRef {
        StoreRef {
            store_id: samples::store_id(),
            tenant_id,
            vendor_id: VendorId::from_uuid(*samples::store_id().as_uuid()),
            open,
        }
    }

    fn name(name: &str) -> LocationName {
        LocationName::new(name).unwrap()
    }

    fn add(store: StoreRef) -> LocationCommand {
        LocationCommand::AddLocation {
            location_id: id(),
            tenant_id: tenant(),
            store,
            name: name("Back room"),
            kind: LocationKind::BackRoom,
        }
    }

    fn added() -> LocationEvent {
        LocationEvent::LocationAdded {
            location_id: id(),
            tenant_id: tenant(),
            store_id: samples::store_id(),
            name: name("Back room"),
            kind: LocationKind::BackRoom,
        }
    }

    fn deactivated() -> LocationEvent {
        LocationEvent::LocationDeactivated { location_id: id() }
    }

    fn rename(tenant_id: TenantId, to: &str) -> LocationCommand {
        LocationCommand::RenameLocation {
            tenant_id,
            name: name(to),
        }
    }

    fn deactivate(tenant_id: TenantId) -> LocationCommand {
        LocationCommand::DeactivateLocation { tenant_id }
    }

    #[test]
    fn adding_a_location_to_an_open_store_records_it() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add(store(tenant(), true)))
            .then_expect_events(vec![added()]);
    }

    #[test]
    fn a_location_cannot_be_added_twice() {
        Fixture::with(())
            .given(vec![added()])
            .when(add(store(tenant(), true)))
            .then_expect_error(TenancyError::LocationAlreadyExists);
    }

    #[test]
    fn another_tenants_store_is_not_found() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add(store(TenantId::new(), true)))
            .then_expect_error(TenancyError::StoreNotFound);
    }

    #[test]
    fn a_closed_store_gets_no_new_locations() {
        Fixture::with(())
            .given_no_previous_events()
            .when(add(store(tenant(), false)))
            .then_expect_error(TenancyError::StoreClosed);
    }

    #[test]
    fn renaming_records_the_new_name() {
        Fixture::with(())
            .given(vec![added()])
            .when(rename(tenant(), "Stock room"))
            .then_expect_events(vec![LocationEvent::LocationRenamed {
                location_id: id(),
                name: name("Stock room"),
            }]);
    }

    #[test]
    fn renaming_to_the_same_name_emits_nothing() {
        Fixture::with(())
            .given(vec![added()])
            .when(rename(tenant(), "Back room"))
            .then_expect_events(vec![]);
    }

    #[test]
    fn deactivating_a_location_records_it() {
        Fixture::with(())
            .given(vec![added()])
            .when(deactivate(tenant()))
            .then_expect_events(vec![deactivated()]);
    }

    #[test]
    fn an_inactive_location_cannot_be_deactivated_again_or_renamed() {
        for command in [deactivate(tenant()), rename(tenant(), "Stock room")] {
            Fixture::with(())
                .given(vec![added(), deactivated()])
                .when(command)
                .then_expect_error(TenancyError::LocationInactive);
        }
    }

    #[test]
    fn a_missing_location_cannot_be_renamed_or_deactivated() {
        for command in [rename(tenant(), "Stock room"), deactivate(tenant())] {
            Fixture::with(())
                .given_no_previous_events()
                .when(command)
                .then_expect_error(TenancyError::LocationNotFound);
        }
    }

    #[test]
    fn another_tenants_location_is_not_found_even_when_inactive() {
        let other = TenantId::new();
        for given in [vec![added()], vec![added(), deactivated()]] {
            for command in [rename(other, "Stock room"), deactivate(other)] {
                Fixture::with(())
                    .given(given.clone())
                    .when(command)
                    .then_expect_error(TenancyError::LocationNotFound);
            }
        }
    }

    #[test]
    fn location_ref_follows_the_lifecycle() {
        let mut location = Location::default();
        assert_eq!(location.location_ref(), None);
        location.apply(added());
        let active = LocationRef {
            location_id: id(),
            tenant_id: tenant(),
            store_id: samples::store_id(),
            kind: LocationKind::BackRoom,
            active: true,
        };
        assert_eq!(location.location_ref(), Some(active));
        location.apply(deactivated());
        assert_eq!(
            location.location_ref(),
            Some(LocationRef {
                active: false,
                ..active
            })
        );
        assert_eq!(location.name(), Some(&name("Back room")));

        let snapshot = serde_json::to_value(&location).unwrap();
        assert_eq!(
            serde_json::from_value::<Location>(snapshot).unwrap(),
            location
        );
    }

    #[test]
    fn events_are_externally_tagged_with_tenancy_event_types() {
        assert_eq!(
            serde_json::to_value(added()).unwrap(),
            json!({"LocationAdded": {
                "location_id": id().to_string(),
                "tenant_id": tenant().to_string(),
                "store_id": samples::store_id().to_string(),
                "name": "Back room",
                "kind": "back_room"
            }})
        );
        assert_eq!(added().event_type(), "tenancy.location.added");
        assert_eq!(deactivated().event_type(), "tenancy.location.deactivated");
        assert_eq!(deactivated().event_version(), "1.0");
        assert_eq!(deactivated().location_id(), id());
        assert_eq!(add(store(tenant(), true)).tenant_id(), tenant());
        assert_eq!(Location::TYPE, "tenancy.location");
    }
}
