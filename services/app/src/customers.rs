//! Customers use cases: patients and their prescriptions, Rx document scans, erasure, the
//! access audit, and the query facade Orders copies its snapshots through.
//!
//! Reads of patient data load the aggregate from its stream (never from the cache, so an
//! erasure by another process shows at once) and write an audit record before returning.
//! Scans are sealed with the patient's data key before they reach object storage, so
//! erasure makes them unreadable even where a delete did not happen.
use crate::catalog::CACHE_CAPACITY;
use crate::command::{load_fresh, run, same_tenant, AppError, Idempotency, Receipt};
use crate::orders::OrderRejection;
use bytes::Bytes;
use cqrs_es::Aggregate;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use optical_customers::{
    ConsentKind, ConsentSource, CustomersError, Patient, PatientCommand, PatientDetails,
    Prescription, PrescriptionCommand, PrescriptionDetails, Scan, ScanContentType, ScanId,
    ScanSize, Sha256Digest, VoidReason,
};
use optical_event_store::{
    AccessAudit, CachedEventStore, DataKeys, PatientAccess, PgEventRepository, SideWrite,
};
use optical_kernel::{Clock, EventMetadata, PatientId, Personal, PrescriptionId, TenantId};
use optical_orders::{
    Email as OrderEmail, FullName, OrderPrescription, PatientSnapshot, Phone as OrderPhone,
    Prescriber as OrderPrescriber, PrescriptionSnapshot,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Why a customers use case was refused or could not be carried out.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CustomersRejection {
    #[error(transparent)]
    Customers(#[from] CustomersError),
    #[error("scan not found")]
    ScanNotFound,
}

impl CustomersRejection {
    pub fn code(&self) -> &'static str {
        match self {
            CustomersRejection::Customers(e) => e.code(),
            CustomersRejection::ScanNotFound => "scan_not_found",
        }
    }
}

type Rejection = AppError<CustomersRejection>;

/// Who reads patient data, for the access audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    pub tenant_id: TenantId,
    pub actor: String,
    pub endpoint: String,
    pub request_id: Option<String>,
}

impl Reader {
    fn access(&self, patient_id: PatientId) -> PatientAccess {
        PatientAccess {
            tenant_id: self.tenant_id,
            patient_id,
            actor: self.actor.clone(),
            endpoint: self.endpoint.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// A new prescription as the caller gives it (the refraction already parsed).
#[derive(Clone, Debug, PartialEq)]
pub struct NewPrescription {
    pub prescription_id: PrescriptionId,
    pub patient_id: PatientId,
    pub details: PrescriptionDetails,
    pub issued_on: chrono::NaiveDate,
    pub expires_on: chrono::NaiveDate,
}

/// A scan's bytes as they come back from storage.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanDocument {
    pub scan: Scan,
    pub patient_id: PatientId,
    pub bytes: Bytes,
}

pub struct CustomersApp {
    patients: CachedEventStore<PgEventRepository, Patient>,
    prescriptions: CachedEventStore<PgEventRepository, Prescription>,
    repository: PgEventRepository,
    keys: DataKeys,
    audit: AccessAudit,
    documents: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
}

fn store_error<E: std::fmt::Display>(error: E) -> Rejection {
    AppError::Store(error.to_string())
}

/// Where a scan's sealed bytes live: under the patient, so erasure can drop the prefix.
fn scan_path(tenant_id: TenantId, patient_id: PatientId, scan_id: ScanId) -> ObjectPath {
    ObjectPath::from(format!(
        "tenants/{tenant_id}/patients/{patient_id}/scans/{scan_id}"
    ))
}

fn patient_prefix(tenant_id: TenantId, patient_id: PatientId) -> ObjectPath {
    ObjectPath::from(format!("tenants/{tenant_id}/patients/{patient_id}"))
}

impl CustomersApp {
    pub fn new(
        repository: PgEventRepository,
        keys: DataKeys,
        audit: AccessAudit,
        documents: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            patients: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            prescriptions: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            repository,
            keys,
            audit,
            documents,
            clock,
        }
    }

    async fn run_patient(
        &self,
        patient_id: PatientId,
        command: PatientCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
        extra: Vec<SideWrite>,
    ) -> Result<Receipt, Rejection> {
        same_tenant(command.tenant_id(), meta)?;
        let id = patient_id.to_string();
        let executed = run(
            &self.patients,
            "patient",
            &id,
            command,
            meta,
            idempotency,
            |events| {
                if events.is_empty() {
                    Vec::new()
                } else {
                    extra.clone()
                }
            },
        )
        .await
        .map_err(|e| e.map_rejection(CustomersRejection::Customers))?;
        Ok(crate::command::receipt(&id, &executed))
    }

    async fn run_prescription(
        &self,
        prescription_id: PrescriptionId,
        command: PrescriptionCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        crate::command::execute(
            &self.prescriptions,
            "prescription",
            prescription_id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
        .map_err(|e| e.map_rejection(CustomersRejection::Customers))
    }

    pub async fn register(
        &self,
        patient_id: PatientId,
        details: PatientDetails,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = PatientCommand::RegisterPatient {
            tenant_id: meta.tenant_id,
            patient_id,
            details,
            today: self.clock.now().date_naive(),
        };
        self.run_patient(patient_id, command, meta, idempotency, Vec::new())
            .await
    }

    pub async fn update_details(
        &self,
        patient_id: PatientId,
        details: PatientDetails,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = PatientCommand::UpdatePatientDetails {
            tenant_id: meta.tenant_id,
            details,
            today: self.clock.now().date_naive(),
        };
        self.run_patient(patient_id, command, meta, idempotency, Vec::new())
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn record_consent(
        &self,
        patient_id: PatientId,
        kind: ConsentKind,
        granted: bool,
        source: ConsentSource,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let now = self.clock.now();
        let command = PatientCommand::RecordConsent {
            tenant_id: meta.tenant_id,
            kind,
            granted,
            at: now,
            source,
            now,
        };
        self.run_patient(patient_id, command, meta, idempotency, Vec::new())
            .await
    }

    /// Erases the patient: `customers.patient.erased` and the destruction of the data key
    /// commit together; then the sealed scans are deleted from object storage (best effort:
    /// without the key they are unreadable anyway).
    pub async fn erase(
        &self,
        patient_id: PatientId,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = PatientCommand::ErasePatient {
            tenant_id: meta.tenant_id,
            now: self.clock.now(),
        };
        let destroy = vec![SideWrite::PersonalDataKeyDestroyed {
            tenant_id: meta.tenant_id,
            patient_id,
        }];
        let receipt = self
            .run_patient(patient_id, command, meta, idempotency, destroy)
            .await?;
        self.delete_documents(meta.tenant_id, patient_id).await;
        Ok(receipt)
    }

    async fn delete_documents(&self, tenant_id: TenantId, patient_id: PatientId) {
        let prefix = patient_prefix(tenant_id, patient_id);
        let listed: Result<Vec<_>, _> = self.documents.list(Some(&prefix)).try_collect().await;
        match listed {
            Ok(objects) => {
                for object in objects {
                    if let Err(error) = self.documents.delete(&object.location).await {
                        tracing::warn!(%patient_id, %error, "sealed scan of an erased patient not deleted");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%patient_id, %error, "could not list the scans of an erased patient")
            }
        }
    }

    /// The patient as the reader's tenant may see it; the read is audited first.
    pub async fn patient(
        &self,
        reader: &Reader,
        patient_id: PatientId,
    ) -> Result<Option<Patient>, Rejection> {
        let patient: Patient = self.load(&patient_id.to_string()).await?;
        if patient.tenant_id() != Some(reader.tenant_id) {
            return Ok(None);
        }
        self.audit
            .record(&[reader.access(patient_id)])
            .await
            .map_err(store_error)?;
        Ok(Some(patient))
    }

    pub async fn record_prescription(
        &self,
        new: NewPrescription,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        self.usable_patient(meta.tenant_id, new.patient_id).await?;
        let command = PrescriptionCommand::RecordPrescription {
            tenant_id: meta.tenant_id,
            prescription_id: new.prescription_id,
            patient_id: new.patient_id,
            details: new.details,
            issued_on: new.issued_on,
            expires_on: new.expires_on,
            today: self.clock.now().date_naive(),
        };
        self.run_prescription(new.prescription_id, command, meta, idempotency)
            .await
    }

    pub async fn void_prescription(
        &self,
        prescription_id: PrescriptionId,
        reason: VoidReason,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = PrescriptionCommand::VoidPrescription {
            tenant_id: meta.tenant_id,
            reason,
            now: self.clock.now(),
        };
        self.run_prescription(prescription_id, command, meta, idempotency)
            .await
    }

    /// The prescription as the reader's tenant may see it; the read is audited first.
    pub async fn prescription(
        &self,
        reader: &Reader,
        prescription_id: PrescriptionId,
    ) -> Result<Option<Prescription>, Rejection> {
        let prescription = self
            .tenant_prescription(reader.tenant_id, prescription_id)
            .await?;
        if let Some(patient_id) = prescription.as_ref().and_then(Prescription::patient_id) {
            self.audit
                .record(&[reader.access(patient_id)])
                .await
                .map_err(store_error)?;
        }
        Ok(prescription)
    }

    /// Stores a scan of the prescription document, sealed with the patient's key.
    pub async fn attach_scan(
        &self,
        prescription_id: PrescriptionId,
        content_type: ScanContentType,
        bytes: Bytes,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<(Receipt, ScanId), Rejection> {
        let scan_id = ScanId::new();
        let receipt = self
            .attach_scan_as(
                prescription_id,
                scan_id,
                content_type,
                bytes,
                meta,
                idempotency,
            )
            .await?;
        Ok((receipt, scan_id))
    }

    /// [`CustomersApp::attach_scan`] under an id the caller chose, so that the response stored
    /// for an idempotency key can name the scan.
    pub async fn attach_scan_as(
        &self,
        prescription_id: PrescriptionId,
        scan_id: ScanId,
        content_type: ScanContentType,
        bytes: Bytes,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let not_found = AppError::Rejected(CustomersRejection::Customers(
            CustomersError::PrescriptionNotFound,
        ));
        let prescription = self
            .tenant_prescription(meta.tenant_id, prescription_id)
            .await?
            .ok_or(not_found)?;
        let patient_id =
            prescription
                .patient_id()
                .ok_or(AppError::Rejected(CustomersRejection::Customers(
                    CustomersError::PrescriptionNotFound,
                )))?;
        self.usable_patient(meta.tenant_id, patient_id).await?;
        let size = ScanSize::new(bytes.len() as u64)
            .map_err(|e| AppError::Rejected(CustomersRejection::Customers(e.into())))?;
        let sha256 = Sha256Digest::new(hex::encode(Sha256::digest(&bytes)))
            .map_err(|e| AppError::Rejected(CustomersRejection::Customers(e.into())))?;
        let sealed = self
            .keys
            .seal_bytes(meta.tenant_id, patient_id, &bytes)
            .await
            .map_err(store_error)?;
        self.documents
            .put(
                &scan_path(meta.tenant_id, patient_id, scan_id),
                sealed.into(),
            )
            .await
            .map_err(store_error)?;
        let command = PrescriptionCommand::AttachScan {
            tenant_id: meta.tenant_id,
            scan_id,
            content_type,
            size_bytes: size,
            sha256,
        };
        self.run_prescription(prescription_id, command, meta, idempotency)
            .await
    }

    /// A scan's metadata (type, size, digest: nothing personal), without reading the document
    /// and so without an audit record: for handing out a link to it. `scan_not_found` also for
    /// another tenant's prescription, `patient_erased` once its patient was erased.
    pub async fn scan_metadata(
        &self,
        tenant_id: TenantId,
        prescription_id: PrescriptionId,
        scan_id: ScanId,
    ) -> Result<Scan, Rejection> {
        let not_found = || AppError::Rejected(CustomersRejection::ScanNotFound);
        let prescription = self
            .tenant_prescription(tenant_id, prescription_id)
            .await?
            .ok_or_else(not_found)?;
        let scan = prescription
            .scans()
            .iter()
            .find(|s| s.scan_id == scan_id)
            .cloned()
            .ok_or_else(not_found)?;
        if prescription.is_erased() {
            return Err(AppError::Rejected(CustomersRejection::Customers(
                CustomersError::PatientErased,
            )));
        }
        Ok(scan)
    }

    /// Records that `reader` read `patient_id`'s data held by another context (an order's
    /// patient and prescription snapshots); call it before returning that data.
    pub async fn audit_read(
        &self,
        reader: &Reader,
        patient_id: PatientId,
    ) -> Result<(), Rejection> {
        self.audit
            .record(&[reader.access(patient_id)])
            .await
            .map_err(store_error)
    }

    /// Whether the tenant registered this patient (erased or not). Reads nothing personal, so
    /// it is not audited: for endpoints about a patient that do not show their data.
    pub async fn has_patient(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
    ) -> Result<bool, Rejection> {
        let patient: Patient = self.load(&patient_id.to_string()).await?;
        Ok(patient.tenant_id() == Some(tenant_id))
    }

    /// A scan's bytes, opened with the patient's key; the read is audited first.
    pub async fn scan(
        &self,
        reader: &Reader,
        prescription_id: PrescriptionId,
        scan_id: ScanId,
    ) -> Result<ScanDocument, Rejection> {
        let not_found = || AppError::Rejected(CustomersRejection::ScanNotFound);
        let prescription = self
            .tenant_prescription(reader.tenant_id, prescription_id)
            .await?
            .ok_or_else(not_found)?;
        let patient_id = prescription.patient_id().ok_or_else(not_found)?;
        let scan = prescription
            .scans()
            .iter()
            .find(|s| s.scan_id == scan_id)
            .cloned()
            .ok_or_else(not_found)?;
        self.audit
            .record(&[reader.access(patient_id)])
            .await
            .map_err(store_error)?;
        let sealed = self
            .documents
            .get(&scan_path(reader.tenant_id, patient_id, scan_id))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => not_found(),
                other => store_error(other),
            })?
            .bytes()
            .await
            .map_err(store_error)?;
        let bytes = self
            .keys
            .open_bytes(reader.tenant_id, patient_id, &sealed)
            .await
            .map_err(store_error)?
            .ok_or(AppError::Rejected(CustomersRejection::Customers(
                CustomersError::PatientErased,
            )))?;
        Ok(ScanDocument {
            scan,
            patient_id,
            bytes: Bytes::from(bytes),
        })
    }

    /// The audit trail of one patient's data, oldest first (itself a read of patient data).
    pub async fn access_trail(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
    ) -> Result<Vec<optical_event_store::AuditedAccess>, Rejection> {
        self.audit
            .trail(tenant_id, patient_id)
            .await
            .map_err(store_error)
    }

    /// The query facade for Orders: the patient's and the prescription's snapshots as an
    /// order copies them at placement. Orders never reads Customers' streams itself.
    pub async fn order_snapshots(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
        prescription_id: Option<PrescriptionId>,
    ) -> Result<(Personal<PatientSnapshot>, Option<OrderPrescription>), AppError<OrderRejection>>
    {
        let reject = |r: OrderRejection| AppError::Rejected(r);
        let store = |e: Rejection| match e {
            AppError::Store(s) => AppError::Store(s),
            other => AppError::Store(other.to_string()),
        };
        let patient: Patient = self.load(&patient_id.to_string()).await.map_err(store)?;
        if patient.tenant_id() != Some(tenant_id) {
            return Err(reject(OrderRejection::PatientNotFound));
        }
        let details = match patient.details() {
            Some(details) if !patient.is_erased() => details,
            _ => {
                return Err(reject(OrderRejection::Order(
                    optical_orders::OrderError::PatientErased(patient_id),
                )))
            }
        };
        let snapshot = patient_snapshot(details).map_err(reject)?;
        let prescription = match prescription_id {
            None => None,
            Some(prescription_id) => {
                let prescription = self
                    .tenant_prescription(tenant_id, prescription_id)
                    .await
                    .map_err(store)?
                    .ok_or(reject(OrderRejection::PrescriptionNotFound))?;
                if prescription.patient_id() != Some(patient_id) {
                    return Err(reject(OrderRejection::PrescriptionOfAnotherPatient));
                }
                if prescription.voided().is_some() {
                    return Err(reject(OrderRejection::PrescriptionVoided));
                }
                let (Some(details), Some(issued_on), Some(expires_on)) = (
                    prescription.details(),
                    prescription.issued_on(),
                    prescription.expires_on(),
                ) else {
                    return Err(reject(OrderRejection::Order(
                        optical_orders::OrderError::PatientErased(patient_id),
                    )));
                };
                let prescriber = OrderPrescriber::new(details.prescriber.name.to_string())
                    .map_err(|e| reject(OrderRejection::Snapshot(e.to_string())))?;
                // Expiry is the order's rule to decide, against the clock of placement.
                let snapshot = PrescriptionSnapshot::new(
                    details.refraction.clone(),
                    prescriber,
                    issued_on,
                    expires_on,
                )
                .map_err(|e| reject(OrderRejection::Snapshot(e.to_string())))?;
                Some(OrderPrescription {
                    prescription_id,
                    snapshot: Personal::new(patient_id, snapshot),
                })
            }
        };
        Ok((Personal::new(patient_id, snapshot), prescription))
    }

    /// The patient must exist for the tenant and not be erased.
    async fn usable_patient(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
    ) -> Result<(), Rejection> {
        let patient: Patient = self.load(&patient_id.to_string()).await?;
        if patient.tenant_id() != Some(tenant_id) {
            return Err(AppError::Rejected(CustomersRejection::Customers(
                CustomersError::PatientNotFound,
            )));
        }
        if patient.is_erased() {
            return Err(AppError::Rejected(CustomersRejection::Customers(
                CustomersError::PatientErased,
            )));
        }
        Ok(())
    }

    async fn tenant_prescription(
        &self,
        tenant_id: TenantId,
        prescription_id: PrescriptionId,
    ) -> Result<Option<Prescription>, Rejection> {
        let prescription: Prescription = self.load(&prescription_id.to_string()).await?;
        Ok((prescription.tenant_id() == Some(tenant_id)).then_some(prescription))
    }

    /// An aggregate from its stream, bypassing the cache.
    async fn load<A: Aggregate + Clone>(&self, id: &str) -> Result<A, Rejection> {
        load_fresh(&self.repository, id).await
    }
}

fn patient_snapshot(details: &PatientDetails) -> Result<PatientSnapshot, OrderRejection> {
    let snapshot_error = |e: optical_orders::ValueError| OrderRejection::Snapshot(e.to_string());
    Ok(PatientSnapshot {
        full_name: FullName::new(format!("{} {}", details.given_name, details.family_name))
            .map_err(snapshot_error)?,
        email: details
            .contacts
            .email
            .as_ref()
            .map(|e| OrderEmail::new(e.to_string()))
            .transpose()
            .map_err(snapshot_error)?,
        phone: details
            .contacts
            .phone
            .as_ref()
            .map(|p| OrderPhone::new(p.to_string()))
            .transpose()
            .map_err(snapshot_error)?,
    })
}
