//! The Tenant aggregate: a retail chain or mall operator, its trading kind, currency and settings.

use crate::error::TenancyError;
use crate::values::{TenantKind, TenantName, TenantSettings};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{Currency, TenantId};
use serde::{Deserialize, Serialize};

/// The facts about a tenant that store and vendor decisions need, read by the application from
/// the tenant aggregate (see [`Tenant::tenant_ref`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRef {
    pub tenant_id: TenantId,
    pub kind: TenantKind,
    pub default_currency: Currency,
    pub settings: TenantSettings,
}

/// Kind and currency are set by `CreateTenant` only. Changing either later would re-price every
/// order and re-home every store and vendor, so no command offers it: that is a migration to a
/// new tenant, not an edit.
#[derive(Clone, Debug, PartialEq)]
pub enum TenantCommand {
    CreateTenant {
        tenant_id: TenantId,
        name: TenantName,
        kind: TenantKind,
        default_currency: Currency,
        settings: TenantSettings,
    },
    RenameTenant {
        tenant_id: TenantId,
        name: TenantName,
    },
    /// Replaces all settings at once.
    ChangeTenantSettings {
        tenant_id: TenantId,
        settings: TenantSettings,
    },
}

impl TenantCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            TenantCommand::CreateTenant { tenant_id, .. }
            | TenantCommand::RenameTenant { tenant_id, .. }
            | TenantCommand::ChangeTenantSettings { tenant_id, .. } => *tenant_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TenantEvent {
    TenantCreated {
        tenant_id: TenantId,
        name: TenantName,
        kind: TenantKind,
        default_currency: Currency,
        settings: TenantSettings,
    },
    TenantRenamed {
        tenant_id: TenantId,
        name: TenantName,
    },
    TenantSettingsChanged {
        tenant_id: TenantId,
        settings: TenantSettings,
    },
}

impl TenantEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 3] = [
        "tenancy.tenant.created",
        "tenancy.tenant.renamed",
        "tenancy.tenant.settings_changed",
    ];

    pub fn tenant_id(&self) -> TenantId {
        match self {
            TenantEvent::TenantCreated { tenant_id, .. }
            | TenantEvent::TenantRenamed { tenant_id, .. }
            | TenantEvent::TenantSettingsChanged { tenant_id, .. } => *tenant_id,
        }
    }
}

impl DomainEvent for TenantEvent {
    fn event_type(&self) -> String {
        let [created, renamed, settings_changed] = Self::EVENT_TYPES;
        match self {
            TenantEvent::TenantCreated { .. } => created,
            TenantEvent::TenantRenamed { .. } => renamed,
            TenantEvent::TenantSettingsChanged { .. } => settings_changed,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A tenant's decision state. `None` until created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    state: Option<TenantState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TenantState {
    id: TenantId,
    name: TenantName,
    kind: TenantKind,
    default_currency: Currency,
    settings: TenantSettings,
}

impl Tenant {
    /// What store and vendor commands need to know about this tenant; `None` before creation.
    pub fn tenant_ref(&self) -> Option<TenantRef> {
        self.state.as_ref().map(|s| TenantRef {
            tenant_id: s.id,
            kind: s.kind,
            default_currency: s.default_currency,
            settings: s.settings.clone(),
        })
    }

    pub fn name(&self) -> Option<&TenantName> {
        self.state.as_ref().map(|s| &s.name)
    }

    /// The tenant as the caller's tenant may see it: only itself.
    fn existing(&self, tenant_id: TenantId) -> Result<&TenantState, TenancyError> {
        self.state
            .as_ref()
            .filter(|s| s.id == tenant_id)
            .ok_or(TenancyError::TenantNotFound)
    }

    fn decide(&self, command: TenantCommand) -> Result<Vec<TenantEvent>, TenancyError> {
        match command {
            TenantCommand::CreateTenant {
                tenant_id,
                name,
                kind,
                default_currency,
                settings,
            } => {
                if self.state.is_some() {
                    return Err(TenancyError::TenantAlreadyExists);
                }
                Ok(vec![TenantEvent::TenantCreated {
                    tenant_id,
                    name,
                    kind,
                    default_currency,
                    settings,
                }])
            }
            TenantCommand::RenameTenant { tenant_id, name } => {
                let state = self.existing(tenant_id)?;
                // Same name again: nothing happened, so no event (and no projection churn).
                if state.name == name {
                    return Ok(vec![]);
                }
                Ok(vec![TenantEvent::TenantRenamed {
                    tenant_id: state.id,
                    name,
                }])
            }
            TenantCommand::ChangeTenantSettings {
                tenant_id,
                settings,
            } => {
                let state = self.existing(tenant_id)?;
                if state.settings == settings {
                    return Ok(vec![]);
                }
                Ok(vec![TenantEvent::TenantSettingsChanged {
                    tenant_id: state.id,
                    settings,
                }])
            }
        }
    }
}

impl Aggregate for Tenant {
    const TYPE: &'static str = "tenancy.tenant";
    type Command = TenantCommand;
    type Event = TenantEvent;
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
            TenantEvent::TenantCreated {
                tenant_id,
                name,
                kind,
                default_currency,
                settings,
            } => {
                self.state = Some(TenantState {
                    id: tenant_id,
                    name,
                    kind,
                    default_currency,
                    settings,
                });
            }
            TenantEvent::TenantRenamed { name, .. } => {
                if let Some(state) = &mut self.state {
                    state.name = name;
                }
            }
            TenantEvent::TenantSettingsChanged { settings, .. } => {
                if let Some(state) = &mut self.state {
                    state.settings = settings;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use crate::values::LocaleTag;
    use cqrs_es::test::TestFramework;
    use serde_json::json;

    type Fixture = TestFramework<Tenant>;

    fn tenant() -> TenantId {
        samples::tenant_id()
    }

    fn name(name: &str) -> TenantName {
        TenantName::new(name).unwrap()
    }

    fn eur() -> Currency {
        "EUR".parse().unwrap()
    }

    fn german() -> TenantSettings {
        TenantSettings::new(600, 4, LocaleTag::new("de-DE").unwrap()).unwrap()
    }

    fn create() -> TenantCommand {
        TenantCommand::CreateTenant {
            tenant_id: tenant(),
            name: name("Acme Optics"),
            kind: TenantKind::SingleBrand,
            default_currency: eur(),
            settings: TenantSettings::default(),
        }
    }

    fn created() -> TenantEvent {
        TenantEvent::TenantCreated {
            tenant_id: tenant(),
            name: name("Acme Optics"),
            kind: TenantKind::SingleBrand,
            default_currency: eur(),
            settings: TenantSettings::default(),
        }
    }

    fn rename(tenant_id: TenantId, to: &str) -> TenantCommand {
        TenantCommand::RenameTenant {
            tenant_id,
            name: name(to),
        }
    }

    fn change_settings(tenant_id: TenantId, settings: TenantSettings) -> TenantCommand {
        TenantCommand::ChangeTenantSettings {
            tenant_id,
            settings,
        }
    }

    #[test]
    fn creating_a_tenant_records_kind_currency_and_settings() {
        Fixture::with(())
            .given_no_previous_events()
            .when(create())
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn a_tenant_cannot_be_created_twice() {
        Fixture::with(())
            .given(vec![created()])
            .when(create())
            .then_expect_error(TenancyError::TenantAlreadyExists);
    }

    #[test]
    fn renaming_records_the_new_name() {
        Fixture::with(())
            .given(vec![created()])
            .when(rename(tenant(), "Acme Eyewear"))
            .then_expect_events(vec![TenantEvent::TenantRenamed {
                tenant_id: tenant(),
                name: name("Acme Eyewear"),
            }]);
    }

    #[test]
    fn renaming_to_the_same_name_emits_nothing() {
        Fixture::with(())
            .given(vec![created()])
            .when(rename(tenant(), " Acme Optics "))
            .then_expect_events(vec![]);
    }

    #[test]
    fn changing_settings_records_them() {
        Fixture::with(())
            .given(vec![created()])
            .when(change_settings(tenant(), german()))
            .then_expect_events(vec![TenantEvent::TenantSettingsChanged {
                tenant_id: tenant(),
                settings: german(),
            }]);
    }

    #[test]
    fn unchanged_settings_emit_nothing() {
        Fixture::with(())
            .given(vec![
                created(),
                TenantEvent::TenantSettingsChanged {
                    tenant_id: tenant(),
                    settings: german(),
                },
            ])
            .when(change_settings(tenant(), german()))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_missing_tenant_cannot_be_renamed_or_reconfigured() {
        for command in [
            rename(tenant(), "Acme Eyewear"),
            change_settings(tenant(), german()),
        ] {
            Fixture::with(())
                .given_no_previous_events()
                .when(command)
                .then_expect_error(TenancyError::TenantNotFound);
        }
    }

    #[test]
    fn another_tenant_is_not_found() {
        let other = TenantId::new();
        for command in [
            rename(other, "Acme Eyewear"),
            change_settings(other, german()),
        ] {
            Fixture::with(())
                .given(vec![created()])
                .when(command)
                .then_expect_error(TenancyError::TenantNotFound);
        }
    }

    #[test]
    fn tenant_ref_follows_the_stream() {
        let mut tenant_aggregate = Tenant::default();
        assert_eq!(tenant_aggregate.tenant_ref(), None);
        tenant_aggregate.apply(created());
        tenant_aggregate.apply(TenantEvent::TenantSettingsChanged {
            tenant_id: tenant(),
            settings: german(),
        });
        assert_eq!(
            tenant_aggregate.tenant_ref(),
            Some(TenantRef {
                tenant_id: tenant(),
                kind: TenantKind::SingleBrand,
                default_currency: eur(),
                settings: german(),
            })
        );
        tenant_aggregate.apply(TenantEvent::TenantRenamed {
            tenant_id: tenant(),
            name: name("Acme Eyewear"),
        });
        assert_eq!(tenant_aggregate.name(), Some(&name("Acme Eyewear")));

        let snapshot = serde_json::to_value(&tenant_aggregate).unwrap();
        assert_eq!(
            serde_json::from_value::<Tenant>(snapshot).unwrap(),
            tenant_aggregate
        );
    }

    #[test]
    fn events_are_externally_tagged_with_tenancy_event_types() {
        assert_eq!(
            serde_json::to_value(created()).unwrap(),
            json!({"TenantCreated": {
                "tenant_id": tenant().to_string(),
                "name": "Acme Optics",
                "kind": "single_brand",
                "default_currency": "EUR",
                "settings": {
                    "reservation_ttl_seconds": 900,
                    "max_reservation_quantity": 10,
                    "locale": "en-GB"
                }
            }})
        );
        assert_eq!(created().event_type(), "tenancy.tenant.created");
        assert_eq!(created().event_version(), "1.0");
        assert_eq!(created().tenant_id(), tenant());
        assert_eq!(create().tenant_id(), tenant());
        assert_eq!(Tenant::TYPE, "tenancy.tenant");
    }
}
