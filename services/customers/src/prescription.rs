//! The Prescription aggregate: one prescription of one patient — the refraction and its
//! prescriber (personal data, sealed with the patient's key), when it was issued and when it
//! expires, the scanned documents attached to it, and whether it was voided.

use crate::error::CustomersError;
use crate::values::{
    PrescriptionDetails, Scan, ScanContentType, ScanId, ScanSize, Sha256Digest, VoidReason,
};
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{PatientId, Personal, PrescriptionId, TenantId};
use optical_optics::Refraction;
use serde::{Deserialize, Serialize};

/// Every command names the caller's tenant: another tenant's prescription is answered as not
/// found. Commands that depend on time carry `today` (the store's calendar date) or `now`.
///
/// That the patient exists and is not erased is for the application to check before
/// recording: this aggregate sees only its own events.
#[derive(Clone, Debug, PartialEq)]
pub enum PrescriptionCommand {
    /// Records a prescription issued on `issued_on` (not after `today`) that expires on
    /// `expires_on` (after `issued_on`). The refraction was validated by `optical-optics`.
    RecordPrescription {
        tenant_id: TenantId,
        prescription_id: PrescriptionId,
        patient_id: PatientId,
        details: PrescriptionDetails,
        issued_on: NaiveDate,
        expires_on: NaiveDate,
        today: NaiveDate,
    },
    /// Attaches the metadata of a scanned document already stored in object storage.
    AttachScan {
        tenant_id: TenantId,
        scan_id: ScanId,
        content_type: ScanContentType,
        size_bytes: ScanSize,
        sha256: Sha256Digest,
    },
    /// Voids the prescription: it can no longer be used or changed.
    VoidPrescription {
        tenant_id: TenantId,
        reason: VoidReason,
        now: DateTime<Utc>,
    },
}

impl PrescriptionCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            PrescriptionCommand::RecordPrescription { tenant_id, .. }
            | PrescriptionCommand::AttachScan { tenant_id, .. }
            | PrescriptionCommand::VoidPrescription { tenant_id, .. } => *tenant_id,
        }
    }
}

/// Every event names its prescription. The refraction and prescriber travel only inside
/// [`Personal`] (sealed with the patient's key); dates, scan metadata and voiding stay in
/// clear.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PrescriptionEvent {
    PrescriptionRecorded {
        prescription_id: PrescriptionId,
        tenant_id: TenantId,
        patient_id: PatientId,
        details: Personal<PrescriptionDetails>,
        issued_on: NaiveDate,
        expires_on: NaiveDate,
    },
    ScanAttached {
        prescription_id: PrescriptionId,
        scan_id: ScanId,
        content_type: ScanContentType,
        size_bytes: ScanSize,
        sha256: Sha256Digest,
    },
    PrescriptionVoided {
        prescription_id: PrescriptionId,
        reason: VoidReason,
        voided_at: DateTime<Utc>,
    },
}

impl PrescriptionEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 3] = [
        "customers.prescription.recorded",
        "customers.prescription.scan_attached",
        "customers.prescription.voided",
    ];

    /// The prescription the event belongs to; its string form is the aggregate id.
    pub fn prescription_id(&self) -> PrescriptionId {
        match self {
            PrescriptionEvent::PrescriptionRecorded {
                prescription_id, ..
            }
            | PrescriptionEvent::ScanAttached {
                prescription_id, ..
            }
            | PrescriptionEvent::PrescriptionVoided {
                prescription_id, ..
            } => *prescription_id,
        }
    }
}

impl DomainEvent for PrescriptionEvent {
    fn event_type(&self) -> String {
        let [recorded, scan_attached, voided] = Self::EVENT_TYPES;
        match self {
            PrescriptionEvent::PrescriptionRecorded { .. } => recorded,
            PrescriptionEvent::ScanAttached { .. } => scan_attached,
            PrescriptionEvent::PrescriptionVoided { .. } => voided,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// When and why a prescription was voided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voiding {
    pub reason: VoidReason,
    pub at: DateTime<Utc>,
}

/// A prescription's decision state. `None` until recorded.
///
/// When the patient is erased, the details read back as [`Personal::Erased`]: the
/// prescription replays, but it can no longer be used or changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prescription {
    state: Option<PrescriptionState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct PrescriptionState {
    tenant_id: TenantId,
    prescription_id: PrescriptionId,
    patient_id: PatientId,
    details: Personal<PrescriptionDetails>,
    issued_on: NaiveDate,
    expires_on: NaiveDate,
    scans: Vec<Scan>,
    voided: Option<Voiding>,
}

impl Prescription {
    /// The most scans one prescription holds.
    pub const MAX_SCANS: usize = 10;

    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn prescription_id(&self) -> Option<PrescriptionId> {
        self.state.as_ref().map(|s| s.prescription_id)
    }

    pub fn patient_id(&self) -> Option<PatientId> {
        self.state.as_ref().map(|s| s.patient_id)
    }

    pub fn is_recorded(&self) -> bool {
        self.state.is_some()
    }

    /// The refraction and prescriber; `None` before recording and once the patient is erased.
    pub fn details(&self) -> Option<&PrescriptionDetails> {
        self.state.as_ref().and_then(|s| s.details.revealed())
    }

    pub fn refraction(&self) -> Option<&Refraction> {
        self.details().map(|d| &d.refraction)
    }

    pub fn issued_on(&self) -> Option<NaiveDate> {
        self.state.as_ref().map(|s| s.issued_on)
    }

    /// The first day on which the prescription may no longer be used.
    pub fn expires_on(&self) -> Option<NaiveDate> {
        self.state.as_ref().map(|s| s.expires_on)
    }

    /// The attached scans, in the order attached.
    pub fn scans(&self) -> &[Scan] {
        self.state.as_ref().map_or(&[], |s| s.scans.as_slice())
    }

    pub fn voided(&self) -> Option<&Voiding> {
        self.state.as_ref().and_then(|s| s.voided.as_ref())
    }

    /// Whether the patient's data was erased (the details read back as erased).
    pub fn is_erased(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.details.is_erased())
    }

    /// Whether an order may be placed against this prescription on `date` (the store's
    /// calendar date): recorded, patient not erased, not voided, and `date` on or before
    /// `expires_on` (the last day of validity, as Orders counts it too). The caller compares [`Prescription::tenant_id`] with its own first.
    pub fn usable_on(&self, date: NaiveDate) -> Result<(), CustomersError> {
        let state = self
            .state
            .as_ref()
            .ok_or(CustomersError::PrescriptionNotFound)?;
        if state.details.is_erased() {
            return Err(CustomersError::PatientErased);
        }
        if state.voided.is_some() {
            return Err(CustomersError::PrescriptionVoided);
        }
        if date > state.expires_on {
            return Err(CustomersError::PrescriptionExpired {
                expires_on: state.expires_on,
            });
        }
        Ok(())
    }

    /// The prescription as the given tenant may see it: `Ok(None)` if not recorded yet, not
    /// found if it belongs to someone else.
    fn visible(&self, tenant_id: TenantId) -> Result<Option<&PrescriptionState>, CustomersError> {
        match &self.state {
            Some(state) if state.tenant_id != tenant_id => {
                Err(CustomersError::PrescriptionNotFound)
            }
            state => Ok(state.as_ref()),
        }
    }

    /// The recorded, readable, not voided prescription of this tenant.
    fn active(&self, tenant_id: TenantId) -> Result<&PrescriptionState, CustomersError> {
        let state = self
            .visible(tenant_id)?
            .ok_or(CustomersError::PrescriptionNotFound)?;
        if state.details.is_erased() {
            return Err(CustomersError::PatientErased);
        }
        if state.voided.is_some() {
            return Err(CustomersError::PrescriptionVoided);
        }
        Ok(state)
    }

    fn decide(
        &self,
        command: PrescriptionCommand,
    ) -> Result<Vec<PrescriptionEvent>, CustomersError> {
        match command {
            PrescriptionCommand::RecordPrescription {
                tenant_id,
                prescription_id,
                patient_id,
                details,
                issued_on,
                expires_on,
                today,
            } => {
                if let Some(state) = self.visible(tenant_id)? {
                    return Err(if state.details.is_erased() {
                        CustomersError::PatientErased
                    } else {
                        CustomersError::PrescriptionAlreadyRecorded
                    });
                }
                if expires_on <= issued_on {
                    return Err(CustomersError::ExpiryNotAfterIssue {
                        issued_on,
                        expires_on,
                    });
                }
                if issued_on > today {
                    return Err(CustomersError::IssuedInFuture { issued_on, today });
                }
                Ok(vec![PrescriptionEvent::PrescriptionRecorded {
                    prescription_id,
                    tenant_id,
                    patient_id,
                    details: Personal::new(patient_id, details),
                    issued_on,
                    expires_on,
                }])
            }
            PrescriptionCommand::AttachScan {
                tenant_id,
                scan_id,
                content_type,
                size_bytes,
                sha256,
            } => {
                let state = self.active(tenant_id)?;
                if state.scans.iter().any(|s| s.scan_id == scan_id) {
                    return Err(CustomersError::ScanAlreadyAttached(scan_id));
                }
                if let Some(existing) = state.scans.iter().find(|s| s.sha256 == sha256) {
                    return Err(CustomersError::DuplicateScan {
                        existing: existing.scan_id,
                        sha256,
                    });
                }
                if state.scans.len() >= Self::MAX_SCANS {
                    return Err(CustomersError::TooManyScans {
                        max: Self::MAX_SCANS,
                    });
                }
                Ok(vec![PrescriptionEvent::ScanAttached {
                    prescription_id: state.prescription_id,
                    scan_id,
                    content_type,
                    size_bytes,
                    sha256,
                }])
            }
            PrescriptionCommand::VoidPrescription {
                tenant_id,
                reason,
                now,
            } => {
                let state = self.active(tenant_id)?;
                Ok(vec![PrescriptionEvent::PrescriptionVoided {
                    prescription_id: state.prescription_id,
                    reason,
                    voided_at: now,
                }])
            }
        }
    }
}

impl Aggregate for Prescription {
    const TYPE: &'static str = "customers.prescription";
    type Command = PrescriptionCommand;
    type Event = PrescriptionEvent;
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

    // Read back after the patient's erasure, the details are `Personal::Erased`; nothing here
    // needs them to replay.
    fn apply(&mut self, event: Self::Event) {
        match event {
            PrescriptionEvent::PrescriptionRecorded {
                prescription_id,
                tenant_id,
                patient_id,
                details,
                issued_on,
                expires_on,
            } => {
                self.state = Some(PrescriptionState {
                    tenant_id,
                    prescription_id,
                    patient_id,
                    details,
                    issued_on,
                    expires_on,
                    scans: Vec::new(),
                    voided: None,
                });
            }
            PrescriptionEvent::ScanAttached {
                scan_id,
                content_type,
                size_bytes,
                sha256,
                ..
            } => {
                if let Some(state) = &mut self.state {
                    state.scans.push(Scan {
                        scan_id,
                        content_type,
                        size_bytes,
                        sha256,
                    });
                }
            }
            PrescriptionEvent::PrescriptionVoided {
                reason, voided_at, ..
            } => {
                if let Some(state) = &mut self.state {
                    state.voided = Some(Voiding {
                        reason,
                        at: voided_at,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
