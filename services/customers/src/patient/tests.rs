use super::*;
use crate::samples;
use crate::values::{ContactChannel, ContactPreferences, Contacts, Email, PersonName};
use chrono::Duration;
use cqrs_es::test::TestFramework;
use optical_kernel::personal::{open_all, seal_all, PersonalEnvelopeError};
use serde_json::Value;

type Fixture = TestFramework<Patient>;

fn tenant() -> TenantId {
    samples::tenant_id()
}

fn patient() -> PatientId {
    samples::patient_id()
}

fn now() -> DateTime<Utc> {
    samples::now()
}

fn today() -> NaiveDate {
    samples::today()
}

fn details() -> PatientDetails {
    samples::patient_details()
}

fn minimal() -> PatientDetails {
    samples::minimal_patient_details()
}

fn personal(details: PatientDetails) -> Personal<PatientDetails> {
    Personal::new(patient(), details)
}

// --- commands

fn register(details: PatientDetails) -> PatientCommand {
    PatientCommand::RegisterPatient {
        tenant_id: tenant(),
        patient_id: patient(),
        details,
        today: today(),
    }
}

fn update(details: PatientDetails) -> PatientCommand {
    PatientCommand::UpdatePatientDetails {
        tenant_id: tenant(),
        details,
        today: today(),
    }
}

fn consent(kind: ConsentKind, granted: bool, at: DateTime<Utc>) -> PatientCommand {
    PatientCommand::RecordConsent {
        tenant_id: tenant(),
        kind,
        granted,
        at,
        source: ConsentSource::InStore,
        now: now(),
    }
}

fn erase() -> PatientCommand {
    PatientCommand::ErasePatient {
        tenant_id: tenant(),
        now: now(),
    }
}

/// The same command, issued by another tenant.
fn foreign(mut command: PatientCommand) -> PatientCommand {
    let other = TenantId::new();
    match &mut command {
        PatientCommand::RegisterPatient { tenant_id, .. }
        | PatientCommand::UpdatePatientDetails { tenant_id, .. }
        | PatientCommand::RecordConsent { tenant_id, .. }
        | PatientCommand::ErasePatient { tenant_id, .. } => *tenant_id = other,
    }
    command
}

/// One of each command, for rules that hold for all of them.
fn every_command() -> Vec<PatientCommand> {
    vec![
        register(details()),
        update(minimal()),
        consent(ConsentKind::DataProcessing, true, now()),
        erase(),
    ]
}

// --- events

fn registered(details: PatientDetails) -> PatientEvent {
    PatientEvent::PatientRegistered {
        patient_id: patient(),
        tenant_id: tenant(),
        details: personal(details),
    }
}

fn updated(details: PatientDetails) -> PatientEvent {
    PatientEvent::PatientDetailsUpdated {
        patient_id: patient(),
        details: personal(details),
    }
}

fn consented(kind: ConsentKind, granted: bool, at: DateTime<Utc>) -> PatientEvent {
    PatientEvent::ConsentRecorded {
        patient_id: patient(),
        kind,
        granted,
        at,
        source: ConsentSource::InStore,
    }
}

fn erased() -> PatientEvent {
    PatientEvent::PatientErased {
        patient_id: patient(),
        erased_at: now(),
    }
}

fn replay(events: impl IntoIterator<Item = PatientEvent>) -> Patient {
    let mut patient = Patient::default();
    for event in events {
        patient.apply(event);
    }
    patient
}

// --- RegisterPatient

#[test]
fn registering_records_the_details_sealed_for_the_patient() {
    Fixture::with(())
        .given_no_previous_events()
        .when(register(details()))
        .then_expect_events(vec![registered(details())]);
    let state = replay([registered(details())]);
    assert!(state.is_registered());
    assert_eq!(state.tenant_id(), Some(tenant()));
    assert_eq!(state.patient_id(), Some(patient()));
    assert_eq!(state.details(), Some(&details()));
    assert!(!state.is_erased());
    assert!(state.consent_history().is_empty());
}

#[test]
fn registering_with_only_the_required_details_is_fine() {
    Fixture::with(())
        .given_no_previous_events()
        .when(register(minimal()))
        .then_expect_events(vec![registered(minimal())]);
}

#[test]
fn registering_twice_is_refused() {
    Fixture::with(())
        .given(vec![registered(details())])
        .when(register(minimal()))
        .then_expect_error(CustomersError::PatientAlreadyRegistered);
}

#[test]
fn registering_an_erased_patient_again_is_refused() {
    Fixture::with(())
        .given(vec![registered(details()), erased()])
        .when(register(details()))
        .then_expect_error(CustomersError::PatientErased);
}

#[test]
fn a_date_of_birth_after_today_is_refused() {
    let born_tomorrow = PatientDetails {
        date_of_birth: today() + Duration::days(1),
        ..minimal()
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(register(born_tomorrow))
        .then_expect_error(CustomersError::DateOfBirthInFuture {
            date_of_birth: today() + Duration::days(1),
            today: today(),
        });
    let born_today = PatientDetails {
        date_of_birth: today(),
        ..minimal()
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(register(born_today.clone()))
        .then_expect_events(vec![registered(born_today)]);
}

#[test]
fn a_date_of_birth_more_than_150_years_ago_is_refused() {
    let limit = today().checked_sub_months(Months::new(150 * 12)).unwrap();
    let too_early = limit - Duration::days(1);
    Fixture::with(())
        .given_no_previous_events()
        .when(register(PatientDetails {
            date_of_birth: too_early,
            ..minimal()
        }))
        .then_expect_error(CustomersError::DateOfBirthTooEarly {
            date_of_birth: too_early,
            max_years: 150,
        });
    Fixture::with(())
        .given_no_previous_events()
        .when(register(PatientDetails {
            date_of_birth: limit,
            ..minimal()
        }))
        .inspect_result()
        .unwrap();
}

#[test]
fn a_preferred_channel_needs_its_contact() {
    for (preferences, channel) in [
        (
            ContactPreferences {
                email: true,
                ..ContactPreferences::default()
            },
            ContactChannel::Email,
        ),
        (
            ContactPreferences {
                sms: true,
                ..ContactPreferences::default()
            },
            ContactChannel::Sms,
        ),
        (
            ContactPreferences {
                phone: true,
                ..ContactPreferences::default()
            },
            ContactChannel::Phone,
        ),
        (
            ContactPreferences {
                post: true,
                ..ContactPreferences::default()
            },
            ContactChannel::Post,
        ),
    ] {
        Fixture::with(())
            .given_no_previous_events()
            .when(register(PatientDetails {
                preferences,
                ..minimal()
            }))
            .then_expect_error(CustomersError::ContactMissingForPreference { channel });
    }
    let by_email = PatientDetails {
        contacts: Contacts {
            email: Some(Email::new("ana@example.org").unwrap()),
            ..Contacts::default()
        },
        preferences: ContactPreferences {
            email: true,
            ..ContactPreferences::default()
        },
        ..minimal()
    };
    Fixture::with(())
        .given_no_previous_events()
        .when(register(by_email.clone()))
        .then_expect_events(vec![registered(by_email)]);
}

#[test]
fn registering_an_id_another_tenant_uses_is_not_found() {
    Fixture::with(())
        .given(vec![registered(details())])
        .when(foreign(register(details())))
        .then_expect_error(CustomersError::PatientNotFound);
}

// --- UpdatePatientDetails

#[test]
fn updating_replaces_the_details() {
    Fixture::with(())
        .given(vec![registered(details())])
        .when(update(minimal()))
        .then_expect_events(vec![updated(minimal())]);
    let state = replay([registered(details()), updated(minimal())]);
    assert_eq!(state.details(), Some(&minimal()));
}

#[test]
fn updating_to_the_same_details_records_nothing() {
    Fixture::with(())
        .given(vec![registered(details())])
        .when(update(details()))
        .then_expect_events(vec![]);
}

#[test]
fn updating_checks_the_details_like_registering() {
    let renamed = PatientDetails {
        given_name: PersonName::new("Zoe").unwrap(),
        contacts: Contacts::default(),
        ..details()
    };
    Fixture::with(())
        .given(vec![registered(details())])
        .when(update(renamed))
        .then_expect_error(CustomersError::ContactMissingForPreference {
            channel: ContactChannel::Email,
        });
    Fixture::with(())
        .given(vec![registered(details())])
        .when(update(PatientDetails {
            date_of_birth: today() + Duration::days(3),
            ..minimal()
        }))
        .then_expect_error(CustomersError::DateOfBirthInFuture {
            date_of_birth: today() + Duration::days(3),
            today: today(),
        });
}

#[test]
fn updating_an_unknown_patient_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(update(minimal()))
        .then_expect_error(CustomersError::PatientNotFound);
}

// --- RecordConsent

#[test]
fn consents_are_recorded_and_the_latest_statement_is_in_force() {
    let earlier = now() - Duration::days(30);
    Fixture::with(())
        .given(vec![registered(details())])
        .when(consent(ConsentKind::MarketingEmail, true, earlier))
        .then_expect_events(vec![consented(ConsentKind::MarketingEmail, true, earlier)]);
    Fixture::with(())
        .given(vec![
            registered(details()),
            consented(ConsentKind::MarketingEmail, true, earlier),
        ])
        .when(consent(ConsentKind::MarketingEmail, false, now()))
        .then_expect_events(vec![consented(ConsentKind::MarketingEmail, false, now())]);

    // A paper form dated before an online withdrawal, filed after it, does not override it.
    let state = replay([
        registered(details()),
        consented(ConsentKind::MarketingEmail, true, earlier),
        consented(ConsentKind::MarketingEmail, false, now()),
        consented(ConsentKind::MarketingEmail, true, now() - Duration::days(1)),
        consented(ConsentKind::ShareWithLab, true, earlier),
    ]);
    assert_eq!(state.consent_history().len(), 4);
    assert!(!state.has_consent(ConsentKind::MarketingEmail));
    assert_eq!(
        state.consent(ConsentKind::MarketingEmail).map(|c| c.at),
        Some(now())
    );
    assert!(state.has_consent(ConsentKind::ShareWithLab));
    assert!(!state.has_consent(ConsentKind::DataProcessing));
    assert_eq!(state.consent(ConsentKind::MarketingSms), None);
}

#[test]
fn of_two_statements_at_the_same_instant_the_last_recorded_wins() {
    let state = replay([
        registered(details()),
        consented(ConsentKind::MarketingSms, true, now()),
        consented(ConsentKind::MarketingSms, false, now()),
    ]);
    assert!(!state.has_consent(ConsentKind::MarketingSms));
}

#[test]
fn a_consent_given_after_now_is_refused() {
    let later = now() + Duration::seconds(1);
    Fixture::with(())
        .given(vec![registered(details())])
        .when(consent(ConsentKind::DataProcessing, true, later))
        .then_expect_error(CustomersError::ConsentInFuture {
            at: later,
            now: now(),
        });
}

#[test]
fn consent_for_an_unknown_patient_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(consent(ConsentKind::DataProcessing, true, now()))
        .then_expect_error(CustomersError::PatientNotFound);
}

// --- ErasePatient

#[test]
fn erasing_records_when_and_forgets_the_details() {
    Fixture::with(())
        .given(vec![registered(details())])
        .when(erase())
        .then_expect_events(vec![erased()]);
    let state = replay([
        registered(details()),
        consented(ConsentKind::MarketingEmail, true, now()),
        erased(),
    ]);
    assert!(state.is_erased());
    assert_eq!(state.erased_at(), Some(now()));
    assert_eq!(state.details(), None);
    assert_eq!(state.patient_id(), Some(patient()));
    // The consent history is not personal data: it stays as proof of what was allowed.
    assert_eq!(state.consent_history().len(), 1);
    assert!(!state.has_consent(ConsentKind::MarketingEmail));
    // Nothing personal is left in the aggregate, not even in a snapshot of it.
    let snapshot = serde_json::to_string(&state).unwrap();
    assert!(!snapshot.contains("Lindqvist"), "{snapshot}");
}

#[test]
fn erasing_an_unknown_patient_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(erase())
        .then_expect_error(CustomersError::PatientNotFound);
}

#[test]
fn every_command_on_an_erased_patient_is_refused() {
    for command in every_command() {
        Fixture::with(())
            .given(vec![registered(details()), erased()])
            .when(command)
            .then_expect_error(CustomersError::PatientErased);
    }
}

#[test]
fn every_command_on_another_tenants_patient_is_not_found() {
    for command in every_command() {
        Fixture::with(())
            .given(vec![registered(details())])
            .when(foreign(command))
            .then_expect_error(CustomersError::PatientNotFound);
    }
}

#[test]
fn the_error_codes_of_patient_rejections() {
    assert_eq!(CustomersError::PatientErased.code(), "patient_erased");
    assert_eq!(CustomersError::PatientNotFound.code(), "patient_not_found");
}

// --- replay after crypto-shredding

/// The stored events as the event store reads them back once the patient's key is gone:
/// sealed on write, then opened without a key.
fn read_back_after_erasure(events: &[PatientEvent]) -> Vec<PatientEvent> {
    events
        .iter()
        .map(|event| {
            let mut json = serde_json::to_value(event).unwrap();
            seal_all(&mut json, &mut |_, plaintext: &Value| {
                Ok::<_, PersonalEnvelopeError>(plaintext.to_string())
            })
            .unwrap();
            open_all(&mut json, &mut |_, _| Ok::<_, PersonalEnvelopeError>(None)).unwrap();
            serde_json::from_value(json).unwrap()
        })
        .collect()
}

#[test]
fn a_patient_whose_details_are_erased_still_replays() {
    let stored = [
        registered(details()),
        updated(minimal()),
        consented(ConsentKind::DataProcessing, true, now()),
        erased(),
    ];
    let read_back = read_back_after_erasure(&stored);
    assert!(matches!(
        &read_back[0],
        PatientEvent::PatientRegistered { details, .. } if details.is_erased()
    ));
    let state = replay(read_back);
    assert!(state.is_erased());
    assert_eq!(state.details(), None);
    assert_eq!(state.tenant_id(), Some(tenant()));
    assert_eq!(state.erased_at(), Some(now()));
    assert!(!state.has_consent(ConsentKind::DataProcessing));
    assert_eq!(state.consent_history().len(), 1);
}

#[test]
fn a_patient_read_back_without_its_key_is_erased_even_without_the_event() {
    let read_back = read_back_after_erasure(&[registered(details()), updated(minimal())]);
    let state = replay(read_back.clone());
    assert!(state.is_erased());
    assert_eq!(state.erased_at(), None);
    assert_eq!(state.details(), None);
    for command in every_command() {
        Fixture::with(())
            .given(read_back.clone())
            .when(command)
            .then_expect_error(CustomersError::PatientErased);
    }
}

#[test]
fn erased_details_never_come_back_through_a_later_update() {
    let state = replay([
        PatientEvent::PatientRegistered {
            patient_id: patient(),
            tenant_id: tenant(),
            details: Personal::Erased { subject: patient() },
        },
        updated(minimal()),
    ]);
    assert!(state.is_erased());
    assert_eq!(state.details(), None);
}
