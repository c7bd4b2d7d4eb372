//! From customers request bodies to domain values, and from aggregates to views. Every value
//! error becomes a field error at the JSON pointer of its field, all collected at once; the
//! rules stay in the domain (`optical-customers`, `optical-optics`).
use super::dto::{
    AccessView, AddressBody, AddressView, ConsentView, ContactsBody, ContactsView, EyeBody,
    EyeView, PatientDetailsBody, PatientDetailsView, PatientView, PdBody, PreferencesView,
    PrescriberBody, PrescriptionView, PrismView, RecordPrescription, RefractionView, ScanView,
    VoidingView,
};
use crate::problem::{ApiError, FieldError};
use crate::validate::Fields;
use optical_customers::{
    AddressLine, City, ContactPreferences, Contacts, CountryCode, Email, LicenceNumber, Patient,
    PatientDetails, PersonName, PhoneNumber, PostalAddress, PostalCode, Prescriber, PrescriberName,
    Prescription, Region,
};
use optical_event_store::AuditedAccess;
use optical_optics::{
    CylinderForm, EyeInput, EyeRx, PdInput, Precision, PrescriptionLimits, PrismInput, Refraction,
    RefractionInput,
};

fn address(f: &mut Fields, at: &str, b: &AddressBody) -> Option<PostalAddress> {
    let field = |name: &str| format!("{at}/{name}");
    let line1 = f.check(&field("line1"), AddressLine::new(&b.line1));
    let line2 = f.check_opt(&field("line2"), b.line2.as_deref().map(AddressLine::new));
    let postal_code = f.check_opt(
        &field("postal_code"),
        b.postal_code.as_deref().map(PostalCode::new),
    );
    let city = f.check(&field("city"), City::new(&b.city));
    let region = f.check_opt(&field("region"), b.region.as_deref().map(Region::new));
    let country = f.check(&field("country"), b.country.parse::<CountryCode>());
    Some(PostalAddress {
        line1: line1?,
        line2: line2?,
        postal_code: postal_code?,
        city: city?,
        region: region?,
        country: country?,
    })
}

fn contacts(f: &mut Fields, b: &ContactsBody) -> Option<Contacts> {
    let email = f.check_opt("/contacts/email", b.email.as_deref().map(Email::new));
    let phone = f.check_opt("/contacts/phone", b.phone.as_deref().map(PhoneNumber::new));
    let address = match &b.address {
        None => Some(None),
        Some(a) => address(f, "/contacts/address", a).map(Some),
    };
    Some(Contacts {
        email: email?,
        phone: phone?,
        address: address?,
    })
}

/// The details of a patient, or `None` with every bad field recorded.
pub fn patient_details(f: &mut Fields, b: &PatientDetailsBody) -> Option<PatientDetails> {
    let given_name = f.check("/given_name", PersonName::new(&b.given_name));
    let family_name = f.check("/family_name", PersonName::new(&b.family_name));
    let contacts = contacts(f, &b.contacts);
    Some(PatientDetails {
        given_name: given_name?,
        family_name: family_name?,
        date_of_birth: b.date_of_birth,
        sex: b.sex.map(Into::into),
        contacts: contacts?,
        preferences: ContactPreferences {
            email: b.preferences.email,
            sms: b.preferences.sms,
            phone: b.preferences.phone,
            post: b.preferences.post,
        },
    })
}

fn eye_input(b: &EyeBody) -> EyeInput {
    EyeInput {
        sphere: b.sphere,
        cylinder: b.cylinder,
        axis: b.axis,
        add: b.add,
        prism: b.prism.as_ref().map(|p| PrismInput {
            amount: p.amount,
            base: p.base.into(),
        }),
        segment_height: b.segment_height,
    }
}

fn pd_input(b: PdBody) -> PdInput {
    match b {
        PdBody::Binocular(mm) => PdInput::Binocular(mm),
        PdBody::Monocular { right, left } => PdInput::Monocular { right, left },
    }
}

fn pd_body(input: PdInput) -> PdBody {
    match input {
        PdInput::Binocular(mm) => PdBody::Binocular(mm),
        PdInput::Monocular { right, left } => PdBody::Monocular { right, left },
    }
}

/// The parts of a prescription body, parsed.
pub struct ParsedPrescription {
    pub refraction: Refraction,
    pub prescriber: Prescriber,
}

/// Parses the refraction (against the configured limits, in 0.25 D steps) and the
/// prescriber. Ill-formed optics answer 400 `invalid_refraction`, other invalid values 422
/// `validation_failed`; either way every bad field of the body is listed.
pub fn prescription(
    f: &mut Fields,
    b: &RecordPrescription,
    limits: &PrescriptionLimits,
) -> Result<ParsedPrescription, ApiError> {
    let input = RefractionInput {
        right: eye_input(&b.right),
        left: eye_input(&b.left),
        pd: pd_input(b.pd),
        near_pd: b.near_pd.map(pd_input),
        cylinder_form: b.cylinder_form.map_or(CylinderForm::Minus, Into::into),
    };
    let refraction = Refraction::parse(input, limits, Precision::Prescription);
    let name = f.check("/prescriber/name", PrescriberName::new(&b.prescriber.name));
    let licence = f.check(
        "/prescriber/licence_number",
        LicenceNumber::new(&b.prescriber.licence_number),
    );
    match (refraction, name, licence) {
        (Err(optics), ..) => {
            let mut errors: Vec<FieldError> = optics
                .iter()
                .map(|e| FieldError::new(e.field.clone(), e.code, &e.reason))
                .collect();
            errors.extend(std::mem::take(f).into_errors());
            Err(ApiError::bad_request(
                "invalid_refraction",
                "the prescription's optical values are ill-formed; see `errors`",
            )
            .with_errors(errors))
        }
        (Ok(refraction), Some(name), Some(licence_number)) if f.is_empty() => {
            Ok(ParsedPrescription {
                refraction,
                prescriber: Prescriber {
                    name,
                    licence_number,
                },
            })
        }
        _ => Err(std::mem::take(f).error()),
    }
}

pub fn patient_view(patient: &Patient) -> PatientView {
    let id = patient
        .patient_id()
        .map(|id| id.to_string())
        .unwrap_or_default();
    if patient.is_erased() {
        return PatientView {
            id,
            erased: true,
            erased_at: patient.erased_at(),
            details: None,
            consents: Vec::new(),
        };
    }
    let details = patient.details().map(|d| PatientDetailsView {
        given_name: d.given_name.to_string(),
        family_name: d.family_name.to_string(),
        date_of_birth: d.date_of_birth,
        sex: d.sex.map(Into::into),
        contacts: ContactsView {
            email: d.contacts.email.as_ref().map(ToString::to_string),
            phone: d.contacts.phone.as_ref().map(ToString::to_string),
            address: d.contacts.address.as_ref().map(|a| AddressView {
                line1: a.line1.to_string(),
                line2: a.line2.as_ref().map(ToString::to_string),
                postal_code: a.postal_code.as_ref().map(ToString::to_string),
                city: a.city.to_string(),
                region: a.region.as_ref().map(ToString::to_string),
                country: a.country.to_string(),
            }),
        },
        preferences: PreferencesView {
            email: d.preferences.email,
            sms: d.preferences.sms,
            phone: d.preferences.phone,
            post: d.preferences.post,
        },
    });
    PatientView {
        id,
        erased: false,
        erased_at: None,
        details,
        consents: patient
            .consent_history()
            .iter()
            .map(|c| ConsentView {
                kind: c.kind.into(),
                granted: c.granted,
                at: c.at,
                source: c.source.into(),
            })
            .collect(),
    }
}

pub fn access_view(entry: &AuditedAccess) -> AccessView {
    AccessView {
        actor: entry.access.actor.clone(),
        endpoint: entry.access.endpoint.clone(),
        request_id: entry.access.request_id.clone(),
        accessed_at: entry.accessed_at,
    }
}

fn eye_view(rx: &EyeRx) -> EyeView {
    let eye = rx.to_input();
    EyeView {
        sphere: eye.sphere,
        cylinder: eye.cylinder.unwrap_or(0.0),
        axis: rx.axis().map(|a| a.degrees()),
        add: eye.add,
        prism: eye.prism.map(|p| PrismView {
            amount: p.amount,
            base: p.base.into(),
        }),
        segment_height: eye.segment_height,
    }
}

/// A refraction as shown: minus-cylinder form, as stored.
pub fn refraction_view(refraction: &Refraction) -> RefractionView {
    let input = refraction.to_input();
    RefractionView {
        cylinder_form: CylinderForm::Minus.into(),
        right: eye_view(refraction.right()),
        left: eye_view(refraction.left()),
        pd: pd_body(input.pd),
        near_pd: input.near_pd.map(pd_body),
    }
}

pub fn prescription_view(prescription: &Prescription) -> PrescriptionView {
    let details = prescription.details();
    PrescriptionView {
        id: prescription
            .prescription_id()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        patient_id: prescription
            .patient_id()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        erased: prescription.is_erased(),
        issued_on: prescription.issued_on().unwrap_or_default(),
        expires_on: prescription.expires_on().unwrap_or_default(),
        voided: prescription.voided().map(|v| VoidingView {
            reason: v.reason.into(),
            at: v.at,
        }),
        scans: prescription
            .scans()
            .iter()
            .map(|s| ScanView {
                scan_id: s.scan_id.to_string(),
                content_type: s.content_type.to_string(),
                size_bytes: s.size_bytes.bytes(),
                sha256: s.sha256.to_string(),
            })
            .collect(),
        refraction: details.map(|d| refraction_view(&d.refraction)),
        prescriber: details.map(|d| PrescriberBody {
            name: d.prescriber.name.to_string(),
            licence_number: d.prescriber.licence_number.to_string(),
        }),
    }
}
