//! Example events for codec and contract tests in other crates: at least one instance of every
//! event variant, with every optional field set in one instance and `None` in another.
//!
//! They exercise shapes, not a story: the list is not a coherent stream to replay. The
//! personal fields are in their revealed form, as domain code writes them; the event store
//! seals them before they are stored or published.

use crate::order::OrderEvent;
use crate::values::{
    CancelReason, Carrier, Email, FullName, LineDescription, LineKind, OrderLine,
    OrderPrescription, OrderStatus, PatientSnapshot, PaymentMethod, Phone, Prescriber,
    PrescriptionSnapshot, Quantity, TrackingNumber,
};
use chrono::{DateTime, NaiveDate, Utc};
use optical_kernel::{
    Currency, LocationId, Money, OrderId, PatientId, PaymentId, Personal, PrescriptionId,
    ReservationId, StoreId, TenantId, VariantId,
};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values so that samples are stable across runs. Tenant, store, location,
// variant, reservation, order and payment are the other contexts' samples' own, so that
// samples of all contexts tell of the same things.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const LENS_VARIANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0201;
const FRAME_VARIANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0202;
const STORE: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0301;
const LOCATION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0401;
const LENS_RESERVATION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0601;
const FRAME_RESERVATION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0602;
const ORDER: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0701;
const PAYMENT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0a01;
const PATIENT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0b01;
const PRESCRIPTION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0c01;
/// 2025-01-15T10:30:00Z.
const AT_SECONDS: i64 = 1_736_937_000;

/// The tenant every sample belongs to.
pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

/// The order every sample belongs to.
pub fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(ORDER))
}

pub fn store_id() -> StoreId {
    StoreId::from_uuid(Uuid::from_u128(STORE))
}

pub fn location_id() -> LocationId {
    LocationId::from_uuid(Uuid::from_u128(LOCATION))
}

pub fn lens_variant_id() -> VariantId {
    VariantId::from_uuid(Uuid::from_u128(LENS_VARIANT))
}

pub fn frame_variant_id() -> VariantId {
    VariantId::from_uuid(Uuid::from_u128(FRAME_VARIANT))
}

pub fn lens_reservation_id() -> ReservationId {
    ReservationId::from_uuid(Uuid::from_u128(LENS_RESERVATION))
}

pub fn frame_reservation_id() -> ReservationId {
    ReservationId::from_uuid(Uuid::from_u128(FRAME_RESERVATION))
}

pub fn payment_id() -> PaymentId {
    PaymentId::from_uuid(Uuid::from_u128(PAYMENT))
}

pub fn patient_id() -> PatientId {
    PatientId::from_uuid(Uuid::from_u128(PATIENT))
}

pub fn prescription_id() -> PrescriptionId {
    PrescriptionId::from_uuid(Uuid::from_u128(PRESCRIPTION))
}

/// When the sample facts happened.
pub fn at() -> DateTime<Utc> {
    valid(DateTime::from_timestamp(AT_SECONDS, 0).ok_or("timestamp in range"))
}

pub fn eur() -> Currency {
    valid("EUR".parse())
}

/// `minor` cents of a euro.
pub fn eur_minor(minor: i64) -> Money {
    valid(Money::new(minor, eur()))
}

/// A pair of progressive lenses: 1 × 189.90 EUR.
pub fn lens_line() -> OrderLine {
    OrderLine {
        variant_id: lens_variant_id(),
        location_id: location_id(),
        reservation_id: lens_reservation_id(),
        quantity: valid(Quantity::new(1)),
        unit_price: eur_minor(18_990),
        kind: LineKind::OphthalmicLens,
        description: valid(LineDescription::new(
            "Varilux Comfort 1.6 progressive, anti-reflective (LNS-VC16-AR)",
        )),
    }
}

/// A frame: 1 × 129.90 EUR.
pub fn frame_line() -> OrderLine {
    OrderLine {
        variant_id: frame_variant_id(),
        location_id: location_id(),
        reservation_id: frame_reservation_id(),
        quantity: valid(Quantity::new(1)),
        unit_price: eur_minor(12_990),
        kind: LineKind::Frame,
        description: valid(LineDescription::new(
            "Ray-Ban RB5154 Clubmaster, 51-21-145, black (RB5154-2000-51)",
        )),
    }
}

/// Cleaning cloths: 2 × 4.95 EUR.
pub fn accessory_line() -> OrderLine {
    OrderLine {
        variant_id: frame_variant_id(),
        location_id: location_id(),
        reservation_id: frame_reservation_id(),
        quantity: valid(Quantity::new(2)),
        unit_price: eur_minor(495),
        kind: LineKind::Accessory,
        description: valid(LineDescription::new(
            "Microfibre cleaning cloth (ACC-MF-01)",
        )),
    }
}

pub fn patient_snapshot() -> PatientSnapshot {
    PatientSnapshot {
        full_name: valid(FullName::new("Lucía Fernández Ortega")),
        email: Some(valid(Email::new("lucia.fernandez@example.es"))),
        phone: Some(valid(Phone::new("+34 600 123 456"))),
    }
}

/// The optics samples' progressive refraction, issued 2024-09-02, valid until 2026-09-02.
pub fn prescription_snapshot() -> PrescriptionSnapshot {
    valid(PrescriptionSnapshot::new(
        optical_optics::samples::refraction(),
        valid(Prescriber::new(
            "Dra. Marta Vidal, óptica-optometrista col. 28-1234",
        )),
        valid(NaiveDate::from_ymd_opt(2024, 9, 2).ok_or("date in range")),
        valid(NaiveDate::from_ymd_opt(2026, 9, 2).ok_or("date in range")),
    ))
}

/// The sample patient, revealed.
pub fn patient() -> Personal<PatientSnapshot> {
    Personal::new(patient_id(), patient_snapshot())
}

/// The sample prescription, revealed, for the sample patient.
pub fn prescription() -> OrderPrescription {
    OrderPrescription {
        prescription_id: prescription_id(),
        snapshot: Personal::new(patient_id(), prescription_snapshot()),
    }
}

/// Every `OrderEvent` variant; `patient` and `prescription` both set and `None`, both
/// payment methods, cancellation of a paid and of an unpaid order.
pub fn order_events() -> Vec<OrderEvent> {
    let order_id = order_id();
    vec![
        OrderEvent::OrderPlaced {
            tenant_id: tenant_id(),
            order_id,
            store_id: store_id(),
            currency: eur(),
            payment_method: PaymentMethod::BankTransfer,
            lines: vec![lens_line(), frame_line()],
            subtotal: eur_minor(31_980),
            patient: Some(patient()),
            prescription: Some(prescription()),
            status: OrderStatus::PendingPayment,
            placed_at: at(),
        },
        OrderEvent::OrderPlaced {
            tenant_id: tenant_id(),
            order_id,
            store_id: store_id(),
            currency: eur(),
            payment_method: PaymentMethod::Cod,
            lines: vec![accessory_line()],
            subtotal: eur_minor(990),
            patient: None,
            prescription: None,
            status: OrderStatus::PendingShipment,
            placed_at: at(),
        },
        OrderEvent::OrderPaid {
            order_id,
            payment_id: payment_id(),
            paid_at: at(),
        },
        OrderEvent::OrderSentToLab {
            order_id,
            sent_at: at(),
        },
        OrderEvent::OrderReady {
            order_id,
            ready_at: at(),
        },
        OrderEvent::OrderShipped {
            order_id,
            carrier: valid(Carrier::new("SEUR")),
            tracking_number: valid(TrackingNumber::new("ES2025011500042")),
            shipped_at: at(),
        },
        OrderEvent::OrderCompleted {
            order_id,
            completed_at: at(),
        },
        OrderEvent::OrderCancelled {
            order_id,
            reason: valid(CancelReason::new("Customer changed their mind.")),
            previous_status: OrderStatus::Paid,
            was_paid: true,
            cancelled_at: at(),
        },
        OrderEvent::OrderCancelled {
            order_id,
            reason: valid(CancelReason::new("Payment never arrived.")),
            previous_status: OrderStatus::PendingPayment,
            was_paid: false,
            cancelled_at: at(),
        },
        OrderEvent::OrderStockShortfallRecorded {
            order_id,
            reservation_id: frame_reservation_id(),
            variant_id: frame_variant_id(),
            location_id: location_id(),
            quantity: valid(Quantity::new(1)),
            recorded_at: at(),
        },
    ]
}

/// Every event type orders can emit, `orders.order.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    OrderEvent::EVENT_TYPES.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use optical_contract_check::{
        check_event_schemas, codes, in_schema_order, Contract, Sample, SchemaDir,
    };
    use optical_kernel::personal::seal_all;
    use optical_kernel::PersonalEnvelopeError;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 8);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(parts[..], ["orders", "order", fact] if !fact.is_empty()
                    && fact.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                "{event_type}"
            );
        }
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> =
            order_events().iter().map(DomainEvent::event_type).collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    #[test]
    fn samples_round_trip_through_json() {
        for event in order_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<OrderEvent>(&json).unwrap(), event);
            assert_eq!(event.order_id(), order_id());
        }
    }

    #[test]
    fn the_sample_prescription_is_valid_on_the_sample_day() {
        assert!(!prescription_snapshot().is_expired_on(at().date_naive()));
    }

    #[test]
    fn personal_fields_are_envelopes_and_everything_else_is_clear() {
        let json = serde_json::to_value(&order_events()[0]).unwrap();
        let placed = &json["OrderPlaced"];
        assert_eq!(placed["patient"]["sealed_for"], patient_id().to_string());
        assert_eq!(
            placed["patient"]["plaintext"]["full_name"],
            "Lucía Fernández Ortega"
        );
        assert_eq!(
            placed["prescription"]["prescription_id"],
            prescription_id().to_string()
        );
        assert_eq!(
            placed["prescription"]["snapshot"]["sealed_for"],
            patient_id().to_string()
        );
        let mut sealed = json.clone();
        let count = seal_all(&mut sealed, &mut |_, _| {
            Ok::<_, PersonalEnvelopeError>(String::from("opaque"))
        })
        .unwrap();
        assert_eq!(count, 2);
        let text = sealed.to_string();
        for secret in ["Lucía", "example.es", "600 123", "Vidal", "2026-09-02"] {
            assert!(!text.contains(secret), "{secret} leaks");
        }
        assert_eq!(placed["placed_at"], "2025-01-15T10:30:00Z");
    }

    fn schemas() -> SchemaDir {
        SchemaDir::new(env!("CARGO_MANIFEST_DIR"), "orders")
    }

    fn schema_of(event_type: &str) -> (String, Value) {
        schemas().schema_of(event_type)
    }

    /// The variant name and the body inside the externally tagged `{"Variant": {…}}`, with
    /// its personal data sealed as the event store stores and publishes it.
    fn sealed_body(event: &OrderEvent) -> (String, Value) {
        let mut json = serde_json::to_value(event).unwrap();
        seal_all(&mut json, &mut |_, _| {
            Ok::<_, PersonalEnvelopeError>(String::from("opaque"))
        })
        .unwrap();
        let Value::Object(map) = json else {
            panic!("events serialise as objects");
        };
        assert_eq!(map.len(), 1, "externally tagged");
        map.into_iter().next().unwrap()
    }

    #[test]
    fn every_event_type_has_a_schema_that_its_sealed_samples_conform_to() {
        let samples: Vec<Sample> = order_events()
            .iter()
            .map(|e| (e.event_type(), sealed_body(e)))
            .collect();
        let contract =
            check_event_schemas(&schemas(), "optical.orders", &all_event_types(), &samples);
        contract.assert_enums(BTreeMap::from([
            (
                "optical.orders.PaymentMethod",
                codes(PaymentMethod::ALL, PaymentMethod::as_str),
            ),
            (
                "optical.orders.OrderStatus",
                codes(OrderStatus::ALL, OrderStatus::as_str),
            ),
            (
                "optical.orders.LineKind",
                codes(LineKind::ALL, LineKind::as_str),
            ),
        ]));
        contract.assert_sealed_envelopes(&SEALED_RECORDS);
    }

    /// The Avro records that stand for a sealed [`Personal`] envelope.
    const SEALED_RECORDS: [&str; 2] = [
        "optical.orders.SealedPatientSnapshot",
        "optical.orders.SealedPrescriptionSnapshot",
    ];

    /// The event with its personal data erased, as a reader sees it after erasure.
    fn erased(mut event: OrderEvent) -> OrderEvent {
        if let OrderEvent::OrderPlaced {
            patient,
            prescription,
            ..
        } = &mut event
        {
            if let Some(patient) = patient {
                patient.erase();
            }
            if let Some(prescription) = prescription {
                prescription.snapshot.erase();
            }
        }
        event
    }

    #[test]
    fn schema_fields_are_declared_in_the_order_serde_writes_them() {
        let mut contract = Contract::default();
        for event_type in all_event_types() {
            contract.define(&schema_of(event_type).1, "", &mut BTreeSet::new());
        }
        for event in order_events().into_iter().map(erased) {
            let (file, schema) = schema_of(&event.event_type());
            let Value::Object(map) = serde_json::to_value(&event).unwrap() else {
                panic!("events serialise as objects");
            };
            let (variant, body) = map.into_iter().next().unwrap();
            let rebuilt =
                in_schema_order(&schema, &body, &contract.named, "", &SEALED_RECORDS).unwrap();
            assert_eq!(
                serde_json::to_string(&event).unwrap(),
                format!("{{{}:{rebuilt}}}", Value::from(variant)),
                "{file}"
            );
        }
    }
}
