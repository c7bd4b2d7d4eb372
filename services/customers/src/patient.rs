//! The Patient aggregate: a person whose eyes a store looks after — demographics and contacts
//! (personal data, sealed per patient), contact preferences, the history of their consents,
//! and their erasure.

use crate::error::CustomersError;
use crate::values::{ConsentKind, ConsentSource, PatientDetails};
use chrono::{DateTime, Months, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{PatientId, Personal, TenantId};
use serde::{Deserialize, Serialize};

/// Every command names the caller's tenant: another tenant's patient is answered as not found.
/// Commands that depend on time carry `today` (the store's calendar date) or `now`, read by
/// the application from its clock.
#[derive(Clone, Debug, PartialEq)]
pub enum PatientCommand {
    /// Registers a new patient.
    RegisterPatient {
        tenant_id: TenantId,
        patient_id: PatientId,
        details: PatientDetails,
        today: NaiveDate,
    },
    /// Replaces the demographics, contacts and contact preferences. Sending the details the
    /// patient already has changes nothing and records nothing.
    UpdatePatientDetails {
        tenant_id: TenantId,
        details: PatientDetails,
        today: NaiveDate,
    },
    /// Records that the patient granted or withdrew a consent at `at` (not after `now`).
    /// Every statement is kept; the latest by `at` is in force.
    RecordConsent {
        tenant_id: TenantId,
        kind: ConsentKind,
        granted: bool,
        at: DateTime<Utc>,
        source: ConsentSource,
        now: DateTime<Utc>,
    },
    /// Erases the patient ("right to be forgotten"). The application then destroys the
    /// patient's key, which makes every sealed detail unreadable everywhere.
    ErasePatient {
        tenant_id: TenantId,
        now: DateTime<Utc>,
    },
}

impl PatientCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            PatientCommand::RegisterPatient { tenant_id, .. }
            | PatientCommand::UpdatePatientDetails { tenant_id, .. }
            | PatientCommand::RecordConsent { tenant_id, .. }
            | PatientCommand::ErasePatient { tenant_id, .. } => *tenant_id,
        }
    }
}

/// Every event names its patient. Demographics and contacts travel only inside
/// [`Personal`] (sealed with the patient's key by the event store); ids, consent kinds,
/// flags and timestamps stay in clear.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PatientEvent {
    PatientRegistered {
        patient_id: PatientId,
        tenant_id: TenantId,
        details: Personal<PatientDetails>,
    },
    PatientDetailsUpdated {
        patient_id: PatientId,
        details: Personal<PatientDetails>,
    },
    ConsentRecorded {
        patient_id: PatientId,
        kind: ConsentKind,
        granted: bool,
        at: DateTime<Utc>,
        source: ConsentSource,
    },
    PatientErased {
        patient_id: PatientId,
        erased_at: DateTime<Utc>,
    },
}

impl PatientEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 4] = [
        "customers.patient.registered",
        "customers.patient.details_updated",
        "customers.patient.consent_recorded",
        "customers.patient.erased",
    ];

    /// The patient the event belongs to; its string form is the aggregate id.
    pub fn patient_id(&self) -> PatientId {
        match self {
            PatientEvent::PatientRegistered { patient_id, .. }
            | PatientEvent::PatientDetailsUpdated { patient_id, .. }
            | PatientEvent::ConsentRecorded { patient_id, .. }
            | PatientEvent::PatientErased { patient_id, .. } => *patient_id,
        }
    }
}

impl DomainEvent for PatientEvent {
    fn event_type(&self) -> String {
        let [registered, details_updated, consent_recorded, erased] = Self::EVENT_TYPES;
        match self {
            PatientEvent::PatientRegistered { .. } => registered,
            PatientEvent::PatientDetailsUpdated { .. } => details_updated,
            PatientEvent::ConsentRecorded { .. } => consent_recorded,
            PatientEvent::PatientErased { .. } => erased,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// One consent statement, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub kind: ConsentKind,
    pub granted: bool,
    pub at: DateTime<Utc>,
    pub source: ConsentSource,
}

/// A patient's decision state. `None` until registered.
///
/// Once erased — by a `PatientErased` event, or because the stored details read back as
/// [`Personal::Erased`] — the details are forgotten and every command is refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    state: Option<PatientState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct PatientState {
    tenant_id: TenantId,
    patient_id: PatientId,
    details: Personal<PatientDetails>,
    consents: Vec<ConsentRecord>,
    erased_at: Option<DateTime<Utc>>,
}

impl PatientState {
    fn is_erased(&self) -> bool {
        self.erased_at.is_some() || self.details.is_erased()
    }
}

impl Patient {
    /// A date of birth further back than this is a typing error.
    pub const MAX_AGE_YEARS: u32 = 150;

    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn patient_id(&self) -> Option<PatientId> {
        self.state.as_ref().map(|s| s.patient_id)
    }

    pub fn is_registered(&self) -> bool {
        self.state.is_some()
    }

    /// The demographics and contacts; `None` before registration and after erasure.
    pub fn details(&self) -> Option<&PatientDetails> {
        self.state.as_ref().and_then(|s| s.details.revealed())
    }

    pub fn is_erased(&self) -> bool {
        self.state.as_ref().is_some_and(PatientState::is_erased)
    }

    /// When the patient was erased, if the erasure event was read (details may also read as
    /// erased without it, when the key is gone).
    pub fn erased_at(&self) -> Option<DateTime<Utc>> {
        self.state.as_ref().and_then(|s| s.erased_at)
    }

    /// Every consent statement, in the order recorded.
    pub fn consent_history(&self) -> &[ConsentRecord] {
        self.state.as_ref().map_or(&[], |s| s.consents.as_slice())
    }

    /// The statement in force for `kind`: the latest by `at` (of equal instants, the one
    /// recorded last). `None` if the patient never said anything about it.
    pub fn consent(&self, kind: ConsentKind) -> Option<&ConsentRecord> {
        self.consent_history()
            .iter()
            .filter(|c| c.kind == kind)
            .max_by_key(|c| c.at)
    }

    /// Whether `kind` is granted now; never for an erased patient.
    pub fn has_consent(&self, kind: ConsentKind) -> bool {
        !self.is_erased() && self.consent(kind).is_some_and(|c| c.granted)
    }

    /// The patient as the given tenant may see it: `Ok(None)` if not registered yet, not
    /// found if it belongs to someone else.
    fn visible(&self, tenant_id: TenantId) -> Result<Option<&PatientState>, CustomersError> {
        match &self.state {
            Some(state) if state.tenant_id != tenant_id => Err(CustomersError::PatientNotFound),
            state => Ok(state.as_ref()),
        }
    }

    /// The registered, not erased patient of this tenant.
    fn active(&self, tenant_id: TenantId) -> Result<&PatientState, CustomersError> {
        let state = self
            .visible(tenant_id)?
            .ok_or(CustomersError::PatientNotFound)?;
        if state.is_erased() {
            return Err(CustomersError::PatientErased);
        }
        Ok(state)
    }

    fn check_details(details: &PatientDetails, today: NaiveDate) -> Result<(), CustomersError> {
        let date_of_birth = details.date_of_birth;
        if date_of_birth > today {
            return Err(CustomersError::DateOfBirthInFuture {
                date_of_birth,
                today,
            });
        }
        let earliest = today.checked_sub_months(Months::new(Self::MAX_AGE_YEARS * 12));
        if earliest.is_some_and(|earliest| date_of_birth < earliest) {
            return Err(CustomersError::DateOfBirthTooEarly {
                date_of_birth,
                max_years: Self::MAX_AGE_YEARS,
            });
        }
        if let Some(channel) = details
            .preferences
            .channels()
            .find(|c| !details.contacts.reaches(*c))
        {
            return Err(CustomersError::ContactMissingForPreference { channel });
        }
        Ok(())
    }

    fn decide(&self, command: PatientCommand) -> Result<Vec<PatientEvent>, CustomersError> {
        match command {
            PatientCommand::RegisterPatient {
                tenant_id,
                patient_id,
                details,
                today,
            } => {
                if let Some(state) = self.visible(tenant_id)? {
                    return Err(if state.is_erased() {
                        CustomersError::PatientErased
                    } else {
                        CustomersError::PatientAlreadyRegistered
                    });
                }
                Self::check_details(&details, today)?;
                Ok(vec![PatientEvent::PatientRegistered {
                    patient_id,
                    tenant_id,
                    details: Personal::new(patient_id, details),
                }])
            }
            PatientCommand::UpdatePatientDetails {
                tenant_id,
                details,
                today,
            } => {
                let state = self.active(tenant_id)?;
                Self::check_details(&details, today)?;
                if state.details.revealed() == Some(&details) {
                    return Ok(vec![]);
                }
                Ok(vec![PatientEvent::PatientDetailsUpdated {
                    patient_id: state.patient_id,
                    details: Personal::new(state.patient_id, details),
                }])
            }
            PatientCommand::RecordConsent {
                tenant_id,
                kind,
                granted,
                at,
                source,
                now,
            } => {
                let state = self.active(tenant_id)?;
                if at > now {
                    return Err(CustomersError::ConsentInFuture { at, now });
                }
                Ok(vec![PatientEvent::ConsentRecorded {
                    patient_id: state.patient_id,
                    kind,
                    granted,
                    at,
                    source,
                }])
            }
            PatientCommand::ErasePatient { tenant_id, now } => {
                let state = self.active(tenant_id)?;
                Ok(vec![PatientEvent::PatientErased {
                    patient_id: state.patient_id,
                    erased_at: now,
                }])
            }
        }
    }
}

impl Aggregate for Patient {
    const TYPE: &'static str = "customers.patient";
    type Command = PatientCommand;
    type Event = PatientEvent;
    type Error = CustomersError;
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

    // Events read back after erasure carry `Personal::Erased` details: applying them keeps
    // the patient erased, and nothing here needs the details to replay.
    fn apply(&mut self, event: Self::Event) {
        match event {
            PatientEvent::PatientRegistered {
                patient_id,
                tenant_id,
                details,
            } => {
                self.state = Some(PatientState {
                    tenant_id,
                    patient_id,
                    details,
                    consents: Vec::new(),
                    erased_at: None,
                });
            }
            PatientEvent::PatientDetailsUpdated { details, .. } => {
                if let Some(state) = &mut self.state {
                    // Once erased, stays erased: a late revealed copy must not resurrect data.
                    if !state.is_erased() {
                        state.details = details;
                    }
                }
            }
            PatientEvent::ConsentRecorded {
                kind,
                granted,
                at,
                source,
                ..
            } => {
                if let Some(state) = &mut self.state {
                    state.consents.push(ConsentRecord {
                        kind,
                        granted,
                        at,
                        source,
                    });
                }
            }
            PatientEvent::PatientErased { erased_at, .. } => {
                if let Some(state) = &mut self.state {
                    state.details.erase();
                    state.erased_at = Some(erased_at);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
