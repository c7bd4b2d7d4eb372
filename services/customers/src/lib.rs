//! Customers domain: the [`Patient`] aggregate — demographics, contacts, contact preferences,
//! consent history and erasure — and the [`Prescription`] aggregate — a patient's refraction,
//! prescriber, issue and expiry dates, scanned documents and voiding — with their commands,
//! events (`customers.patient.*`, `customers.prescription.*`) and value objects.
//!
//! Owns: the rules that keep patient data honest and erasable. Demographics, contacts, the
//! refraction and the prescriber travel in events only inside [`optical_kernel::Personal`],
//! which the event store seals with the patient's key; ids, dates, consent flags and scan
//! metadata stay in clear. Once a patient is erased every command is refused
//! (`patient_erased`), the aggregate forgets the details in memory, and events read back after
//! the key is destroyed (details `Personal::Erased`) still replay. A prescription expires after
//! it is issued and cannot be used once expired or voided ([`Prescription::usable_on`]).
//! Optical values are validated by `optical-optics`; every other value is validated when built
//! and again when deserialised.
//!
//! Must never: perform I/O (no SQL, Kafka, HTTP, object storage), read a clock (the current
//! date or time travels in the commands that need it, as `today` or `now`), hold key material
//! or encrypt anything itself, or depend on another context's crate. Storing scan bytes,
//! signing their URLs and auditing reads of patient data are the application's job.
//!
//! The published Avro contract for these events lives in `schemas/avro/customers/`; personal
//! fields appear there in their sealed form `{sealed_for, ciphertext}`. The [`samples`] module
//! gives one instance of every event shape for codec tests.

mod error;
mod patient;
mod prescription;
pub mod samples;
mod values;

pub use error::{CustomersError, ValueError};
pub use optical_kernel::{PatientId, Personal, PrescriptionId};
pub use patient::{ConsentRecord, Patient, PatientCommand, PatientEvent};
pub use prescription::{Prescription, PrescriptionCommand, PrescriptionEvent, Voiding};
pub use values::{
    AddressLine, City, ConsentKind, ConsentSource, ContactChannel, ContactPreferences, Contacts,
    CountryCode, Email, LicenceNumber, PatientDetails, PersonName, PhoneNumber, PostalAddress,
    PostalCode, Prescriber, PrescriberName, PrescriptionDetails, Region, Scan, ScanContentType,
    ScanId, ScanSize, Sex, Sha256Digest, VoidReason,
};
