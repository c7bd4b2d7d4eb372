use super::*;
use crate::samples;
use chrono::Duration;
use cqrs_es::test::TestFramework;
use optical_kernel::personal::{open_all, seal_all, PersonalEnvelopeError};
use uuid::Uuid;

type Fixture = TestFramework<Prescription>;

fn tenant() -> TenantId {
    samples::tenant_id()
}

fn patient() -> PatientId {
    samples::patient_id()
}

fn rx() -> PrescriptionId {
    samples::prescription_id()
}

fn now() -> DateTime<Utc> {
    samples::now()
}

fn today() -> NaiveDate {
    samples::today()
}

fn issued() -> NaiveDate {
    samples::issued_on()
}

fn expires() -> NaiveDate {
    samples::expires_on()
}

fn details() -> PrescriptionDetails {
    samples::prescription_details()
}

/// Fixed, distinct scan ids (UUIDv7).
fn sid(n: u16) -> ScanId {
    ScanId::from_uuid(Uuid::from_u128(
        0x0192_6f3a_1b2c_7d4e_8f10_0000_0002_0000 + u128::from(n),
    ))
}

/// A distinct digest per `n`.
fn sha(n: u16) -> Sha256Digest {
    Sha256Digest::new(format!("{n:064x}")).unwrap()
}

fn size(bytes: u64) -> ScanSize {
    ScanSize::new(bytes).unwrap()
}

// --- commands

fn record(issued_on: NaiveDate, expires_on: NaiveDate) -> PrescriptionCommand {
    PrescriptionCommand::RecordPrescription {
        tenant_id: tenant(),
        prescription_id: rx(),
        patient_id: patient(),
        details: details(),
        issued_on,
        expires_on,
        today: today(),
    }
}

fn attach(n: u16, digest: u16) -> PrescriptionCommand {
    PrescriptionCommand::AttachScan {
        tenant_id: tenant(),
        scan_id: sid(n),
        content_type: ScanContentType::Jpeg,
        size_bytes: size(1_000),
        sha256: sha(digest),
    }
}

fn void(reason: VoidReason) -> PrescriptionCommand {
    PrescriptionCommand::VoidPrescription {
        tenant_id: tenant(),
        reason,
        now: now(),
    }
}

/// The same command, issued by another tenant.
fn foreign(mut command: PrescriptionCommand) -> PrescriptionCommand {
    let other = TenantId::new();
    match &mut command {
        PrescriptionCommand::RecordPrescription { tenant_id, .. }
        | PrescriptionCommand::AttachScan { tenant_id, .. }
        | PrescriptionCommand::VoidPrescription { tenant_id, .. } => *tenant_id = other,
    }
    command
}

fn every_command() -> Vec<PrescriptionCommand> {
    vec![
        record(issued(), expires()),
        attach(1, 1),
        void(VoidReason::Other),
    ]
}

// --- events

fn recorded() -> PrescriptionEvent {
    PrescriptionEvent::PrescriptionRecorded {
        prescription_id: rx(),
        tenant_id: tenant(),
        patient_id: patient(),
        details: Personal::new(patient(), details()),
        issued_on: issued(),
        expires_on: expires(),
    }
}

fn attached(n: u16, digest: u16) -> PrescriptionEvent {
    PrescriptionEvent::ScanAttached {
        prescription_id: rx(),
        scan_id: sid(n),
        content_type: ScanContentType::Jpeg,
        size_bytes: size(1_000),
        sha256: sha(digest),
    }
}

fn voided(reason: VoidReason) -> PrescriptionEvent {
    PrescriptionEvent::PrescriptionVoided {
        prescription_id: rx(),
        reason,
        voided_at: now(),
    }
}

fn replay(events: impl IntoIterator<Item = PrescriptionEvent>) -> Prescription {
    let mut prescription = Prescription::default();
    for event in events {
        prescription.apply(event);
    }
    prescription
}

/// The stored events as read back once the patient's key was destroyed.
fn read_back_after_erasure(events: &[PrescriptionEvent]) -> Vec<PrescriptionEvent> {
    events
        .iter()
        .map(|event| {
            let mut json = serde_json::to_value(event).unwrap();
            seal_all(&mut json, &mut |_, plaintext| {
                Ok::<_, PersonalEnvelopeError>(plaintext.to_string())
            })
            .unwrap();
            open_all(&mut json, &mut |_, _| Ok::<_, PersonalEnvelopeError>(None)).unwrap();
            serde_json::from_value(json).unwrap()
        })
        .collect()
}

// --- RecordPrescription

#[test]
fn recording_seals_the_refraction_and_prescriber_for_the_patient() {
    Fixture::with(())
        .given_no_previous_events()
        .when(record(issued(), expires()))
        .then_expect_events(vec![recorded()]);
    let state = replay([recorded()]);
    assert!(state.is_recorded());
    assert_eq!(state.tenant_id(), Some(tenant()));
    assert_eq!(state.prescription_id(), Some(rx()));
    assert_eq!(state.patient_id(), Some(patient()));
    assert_eq!(state.details(), Some(&details()));
    assert_eq!(
        state.refraction(),
        Some(&optical_optics::samples::refraction())
    );
    assert_eq!(state.issued_on(), Some(issued()));
    assert_eq!(state.expires_on(), Some(expires()));
    assert!(state.scans().is_empty());
    assert_eq!(state.voided(), None);
    assert!(!state.is_erased());
    match &recorded() {
        PrescriptionEvent::PrescriptionRecorded { details, .. } => {
            assert_eq!(details.subject(), patient());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn recording_twice_is_refused() {
    Fixture::with(())
        .given(vec![recorded()])
        .when(record(issued(), expires()))
        .then_expect_error(CustomersError::PrescriptionAlreadyRecorded);
}

#[test]
fn a_prescription_must_expire_after_it_is_issued() {
    for expires_on in [issued(), issued() - Duration::days(1)] {
        Fixture::with(())
            .given_no_previous_events()
            .when(record(issued(), expires_on))
            .then_expect_error(CustomersError::ExpiryNotAfterIssue {
                issued_on: issued(),
                expires_on,
            });
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(record(issued(), issued() + Duration::days(1)))
        .inspect_result()
        .unwrap();
}

#[test]
fn a_prescription_cannot_be_issued_after_today() {
    let tomorrow = today() + Duration::days(1);
    Fixture::with(())
        .given_no_previous_events()
        .when(record(tomorrow, tomorrow + Duration::days(730)))
        .then_expect_error(CustomersError::IssuedInFuture {
            issued_on: tomorrow,
            today: today(),
        });
    // An old, already expired prescription may be recorded for the history.
    Fixture::with(())
        .given_no_previous_events()
        .when(record(
            today() - Duration::days(1_000),
            today() - Duration::days(270),
        ))
        .inspect_result()
        .unwrap();
}

#[test]
fn recording_over_an_erased_prescription_is_refused() {
    Fixture::with(())
        .given(read_back_after_erasure(&[recorded()]))
        .when(record(issued(), expires()))
        .then_expect_error(CustomersError::PatientErased);
}

// --- AttachScan

#[test]
fn scans_are_attached_in_order() {
    Fixture::with(())
        .given(vec![recorded()])
        .when(attach(1, 1))
        .then_expect_events(vec![attached(1, 1)]);
    Fixture::with(())
        .given(vec![recorded(), attached(1, 1)])
        .when(attach(2, 2))
        .then_expect_events(vec![attached(2, 2)]);
    let state = replay([recorded(), attached(1, 1), attached(2, 2)]);
    let ids: Vec<ScanId> = state.scans().iter().map(|s| s.scan_id).collect();
    assert_eq!(ids, [sid(1), sid(2)]);
    assert_eq!(state.scans()[0].content_type, ScanContentType::Jpeg);
    assert_eq!(state.scans()[0].size_bytes.bytes(), 1_000);
    assert_eq!(state.scans()[0].sha256, sha(1));
}

#[test]
fn a_scan_id_is_attached_once() {
    Fixture::with(())
        .given(vec![recorded(), attached(1, 1)])
        .when(attach(1, 2))
        .then_expect_error(CustomersError::ScanAlreadyAttached(sid(1)));
}

#[test]
fn the_same_document_is_attached_once() {
    Fixture::with(())
        .given(vec![recorded(), attached(1, 7)])
        .when(attach(2, 7))
        .then_expect_error(CustomersError::DuplicateScan {
            existing: sid(1),
            sha256: sha(7),
        });
}

#[test]
fn a_prescription_holds_at_most_ten_scans() {
    let mut given = vec![recorded()];
    given.extend((1..=10).map(|n| attached(n, n)));
    Fixture::with(())
        .given(given)
        .when(attach(11, 11))
        .then_expect_error(CustomersError::TooManyScans { max: 10 });
}

#[test]
fn attaching_to_an_unknown_prescription_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(attach(1, 1))
        .then_expect_error(CustomersError::PrescriptionNotFound);
}

// --- VoidPrescription

#[test]
fn voiding_records_the_reason_and_when() {
    Fixture::with(())
        .given(vec![recorded(), attached(1, 1)])
        .when(void(VoidReason::EnteredInError))
        .then_expect_events(vec![voided(VoidReason::EnteredInError)]);
    let state = replay([recorded(), voided(VoidReason::Superseded)]);
    assert_eq!(
        state.voided(),
        Some(&Voiding {
            reason: VoidReason::Superseded,
            at: now()
        })
    );
}

#[test]
fn voiding_an_unknown_prescription_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(void(VoidReason::Other))
        .then_expect_error(CustomersError::PrescriptionNotFound);
}

#[test]
fn a_voided_prescription_cannot_be_changed() {
    for command in [attach(2, 2), void(VoidReason::Duplicate)] {
        Fixture::with(())
            .given(vec![recorded(), voided(VoidReason::Duplicate)])
            .when(command)
            .then_expect_error(CustomersError::PrescriptionVoided);
    }
    Fixture::with(())
        .given(vec![recorded(), voided(VoidReason::Duplicate)])
        .when(record(issued(), expires()))
        .then_expect_error(CustomersError::PrescriptionAlreadyRecorded);
}

// --- rules for every command

#[test]
fn every_command_on_another_tenants_prescription_is_not_found() {
    for command in every_command() {
        Fixture::with(())
            .given(vec![recorded()])
            .when(foreign(command))
            .then_expect_error(CustomersError::PrescriptionNotFound);
    }
}

#[test]
fn every_command_on_an_erased_patients_prescription_is_refused() {
    let read_back = read_back_after_erasure(&[recorded(), attached(1, 1)]);
    for command in every_command() {
        Fixture::with(())
            .given(read_back.clone())
            .when(command)
            .then_expect_error(CustomersError::PatientErased);
    }
}

// --- usable_on

#[test]
fn a_prescription_is_usable_from_issue_through_its_expiry_date() {
    let state = replay([recorded()]);
    assert_eq!(state.usable_on(issued()), Ok(()));
    assert_eq!(state.usable_on(today()), Ok(()));
    assert_eq!(state.usable_on(expires()), Ok(()));
    for date in [
        expires() + Duration::days(1),
        expires() + Duration::days(400),
    ] {
        assert_eq!(
            state.usable_on(date),
            Err(CustomersError::PrescriptionExpired {
                expires_on: expires()
            })
        );
    }
    assert_eq!(
        state
            .usable_on(expires() + Duration::days(1))
            .unwrap_err()
            .code(),
        "prescription_expired"
    );
}

#[test]
fn a_voided_prescription_is_not_usable() {
    let state = replay([recorded(), voided(VoidReason::Superseded)]);
    assert_eq!(
        state.usable_on(today()),
        Err(CustomersError::PrescriptionVoided)
    );
    // Voided wins over expired: it says more.
    assert_eq!(
        state
            .usable_on(expires() + Duration::days(1))
            .unwrap_err()
            .code(),
        "prescription_voided"
    );
}

#[test]
fn an_unknown_prescription_is_not_usable() {
    assert_eq!(
        Prescription::default().usable_on(today()),
        Err(CustomersError::PrescriptionNotFound)
    );
}

// --- replay after crypto-shredding

#[test]
fn a_prescription_whose_details_are_erased_still_replays() {
    let stored = [recorded(), attached(1, 1), voided(VoidReason::Other)];
    let read_back = read_back_after_erasure(&stored);
    assert!(matches!(
        &read_back[0],
        PrescriptionEvent::PrescriptionRecorded { details, .. } if details.is_erased()
    ));
    let state = replay(read_back);
    assert!(state.is_erased());
    assert_eq!(state.details(), None);
    assert_eq!(state.refraction(), None);
    assert_eq!(state.patient_id(), Some(patient()));
    assert_eq!(state.issued_on(), Some(issued()));
    assert_eq!(state.expires_on(), Some(expires()));
    assert_eq!(state.scans().len(), 1);
    assert!(state.voided().is_some());
    assert_eq!(state.usable_on(today()), Err(CustomersError::PatientErased));
    let snapshot = serde_json::to_string(&state).unwrap();
    assert!(!snapshot.contains("Okafor"), "{snapshot}");
}

#[test]
fn sealed_events_are_never_read_as_data() {
    let mut json = serde_json::to_value(recorded()).unwrap();
    seal_all(&mut json, &mut |_, _| {
        Ok::<_, PersonalEnvelopeError>("opaque".to_owned())
    })
    .unwrap();
    assert!(serde_json::from_value::<PrescriptionEvent>(json).is_err());
}
