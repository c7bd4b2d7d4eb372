//! Wire shapes of the customers endpoints. Request bodies carry primitive fields, parsed into
//! domain values by `convert` (which names every invalid field); views are what GETs answer.
//!
//! Command responses never carry personal data: they are stored in clear as idempotency
//! records, out of reach of erasure. Only the audited GETs show it.
use chrono::{DateTime, NaiveDate, Utc};
use optical_customers::{ConsentKind, ConsentSource, Sex, VoidReason};
use optical_optics::{CylinderForm, PrismBase};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Declares a snake_case wire enum mirroring a domain vocabulary, with conversions both ways
/// (exhaustive: a value added to the domain fails the build here).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident => $domain:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $domain::$variant),+
                }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $name::$variant),+
                }
            }
        }
    };
}

wire_enum!(
    /// Sex as recorded for clinical purposes; only what the patient chose to state.
    SexBody => Sex { Female, Male, Other }
);
wire_enum!(
    ConsentKindBody => ConsentKind { DataProcessing, MarketingEmail, MarketingSms, ShareWithLab }
);
wire_enum!(
    /// How the patient stated the consent.
    ConsentSourceBody => ConsentSource { InStore, Online, Phone, PaperForm, Email }
);
wire_enum!(
    VoidReasonBody => VoidReason { EnteredInError, Duplicate, Superseded, PrescriberCorrection, Other }
);
wire_enum!(
    /// Where the base of a prism points, seen from the wearer.
    PrismBaseBody => PrismBase { In, Out, Up, Down }
);
wire_enum!(
    /// How the cylinders are written: `minus` (optometrists, the stored form) or `plus`
    /// (transposed to minus form when stored).
    CylinderFormBody => CylinderForm { Minus, Plus }
);

/// A postal address.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    /// 1–200 characters.
    pub line1: String,
    pub line2: Option<String>,
    /// Up to 20 characters.
    pub postal_code: Option<String>,
    /// 1–100 characters.
    pub city: String,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country: String,
}

/// How to reach the patient; every member optional.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactsBody {
    pub email: Option<String>,
    /// International format: `+` and 8–15 digits (spaces, dashes, dots and brackets allowed).
    pub phone: Option<String>,
    pub address: Option<AddressBody>,
}

/// The channels the patient agreed to be contacted on; each needs its contact.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    #[serde(default)]
    pub email: bool,
    #[serde(default)]
    pub sms: bool,
    #[serde(default)]
    pub phone: bool,
    #[serde(default)]
    pub post: bool,
}

/// A patient's demographics, contacts and contact preferences: registers a patient (the
/// server makes the id, answered as `id`), or replaces every detail of one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientDetailsBody {
    /// 1–100 characters.
    pub given_name: String,
    /// 1–100 characters.
    pub family_name: String,
    /// Not in the future, at most 150 years ago.
    pub date_of_birth: NaiveDate,
    pub sex: Option<SexBody>,
    #[serde(default)]
    pub contacts: ContactsBody,
    #[serde(default)]
    pub preferences: PreferencesBody,
}

/// A consent the patient granted or withdrew now.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    pub kind: ConsentKindBody,
    pub granted: bool,
    pub source: ConsentSourceBody,
}

/// A prism: amount in prism dioptres (0.25 steps) and the base direction.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrismBody {
    pub amount: f64,
    pub base: PrismBaseBody,
}

/// One eye: powers in dioptres (0.25 D steps), axis in whole degrees, segment height in mm.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EyeBody {
    /// Within the configured range (by default −30.00…+30.00 D).
    pub sphere: f64,
    /// Zero or absent for a spherical lens; negative in `minus` form, positive in `plus` form.
    pub cylinder: Option<f64>,
    /// 1–180, required exactly when the cylinder is not zero.
    pub axis: Option<f64>,
    /// Near addition, +0.75…+4.00 D.
    pub add: Option<f64>,
    pub prism: Option<PrismBody>,
    /// 10–35 mm, in 0.5 mm steps.
    pub segment_height: Option<f64>,
}

/// A pupillary distance in millimetres (0.5 mm steps): a number when binocular (50–80), or
/// `{"right", "left"}` when monocular (25–40 each).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum PdBody {
    Binocular(f64),
    Monocular { right: f64, left: f64 },
}

/// Who wrote the prescription.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrescriberBody {
    /// 1–200 characters.
    pub name: String,
    /// 1–50 characters.
    pub licence_number: String,
}

/// Records a prescription of a patient (the server makes the id, answered as `id`).
/// Ill-formed optics (off-step powers, an axis without cylinder or outside 1–180, a PD out of
/// range, …) answer 400 `invalid_refraction` naming each field, e.g. `/right/axis`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPrescription {
    pub patient_id: String,
    /// OD.
    pub right: EyeBody,
    /// OS.
    pub left: EyeBody,
    /// Distance PD.
    pub pd: PdBody,
    /// Near PD; not above the distance PD.
    pub near_pd: Option<PdBody>,
    /// `minus` when absent.
    pub cylinder_form: Option<CylinderFormBody>,
    pub prescriber: PrescriberBody,
    /// Not in the future.
    pub issued_on: NaiveDate,
    /// The first day the prescription may no longer be used; after `issued_on`.
    pub expires_on: NaiveDate,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidPrescription {
    pub reason: VoidReasonBody,
}

/// A scan stored with its prescription (no personal data: the document is only reachable
/// through an audited, signed link).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ScanAttached {
    /// The prescription.
    pub id: String,
    pub scan_id: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// The prescription's version after the command.
    pub version: u64,
    pub consistency_token: Option<String>,
}

/// A link to a scan that works without a bearer token until `expires_at`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DownloadLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AddressView {
    pub line1: String,
    pub line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub country: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContactsView {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<AddressView>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PreferencesView {
    pub email: bool,
    pub sms: bool,
    pub phone: bool,
    pub post: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PatientDetailsView {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Option<SexBody>,
    pub contacts: ContactsView,
    pub preferences: PreferencesView,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ConsentView {
    pub kind: ConsentKindBody,
    pub granted: bool,
    pub at: DateTime<Utc>,
    pub source: ConsentSourceBody,
}

/// A patient as their aggregate decides on it now (this read is audited). An erased patient
/// is `erased: true` without `details` or `consents`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PatientView {
    pub id: String,
    pub erased: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<PatientDetailsView>,
    /// Every statement in the order recorded; the latest per kind is in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<ConsentView>,
}

/// One read of the patient's data.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AccessView {
    /// The reader's subject (`sub` claim).
    pub actor: String,
    /// Method and route, e.g. `GET /api/v1/customers/patients/{patient_id}`.
    pub endpoint: String,
    pub request_id: Option<String>,
    pub accessed_at: DateTime<Utc>,
}

/// Who read a patient's data, oldest first.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AccessLogView {
    pub patient_id: String,
    pub entries: Vec<AccessView>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrismView {
    pub amount: f64,
    pub base: PrismBaseBody,
}

/// One eye in minus-cylinder form.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct EyeView {
    pub sphere: f64,
    /// Zero for a spherical lens, else negative.
    pub cylinder: f64,
    pub axis: Option<u16>,
    pub add: Option<f64>,
    pub prism: Option<PrismView>,
    pub segment_height: Option<f64>,
}

/// A refraction as stored: always in minus-cylinder form.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RefractionView {
    pub cylinder_form: CylinderFormBody,
    pub right: EyeView,
    pub left: EyeView,
    pub pd: PdBody,
    pub near_pd: Option<PdBody>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct VoidingView {
    pub reason: VoidReasonBody,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ScanView {
    pub scan_id: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// A prescription as its aggregate decides on it now (this read is audited). Once the patient
/// was erased it is `erased: true` without `refraction` or `prescriber`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrescriptionView {
    pub id: String,
    pub patient_id: String,
    pub erased: bool,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub voided: Option<VoidingView>,
    pub scans: Vec<ScanView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refraction: Option<RefractionView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescriber: Option<PrescriberBody>,
}
