//! Example events for codec and contract tests in other crates: at least one instance of every
//! event variant, and every branch of every union (both confirmation sources, both refund
//! outcomes) in some instance.
//!
//! They exercise shapes, not a story: the list is not a coherent stream to replay.

use crate::payment::PaymentEvent;
use crate::values::{
    Actor, ConfirmationSource, PaymentMethod, PaymentReference, PaymentStatus, ProviderEventId,
    ProviderName, RefundId, RefundReason, VoidReason,
};
use chrono::{DateTime, Utc};
use optical_kernel::{Currency, Money, OrderId, PaymentId, TenantId};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values so that samples are stable across runs. Tenant and order are the
// inventory samples' own, so that samples of both contexts tell of the same things.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const ORDER: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0701;
const PAYMENT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0a01;
/// A name-based (version 5) UUID, as the refund saga derives them: refund ids need not be v7.
const REFUND: u128 = 0x8f4e_2a61_3c5d_5b7e_9a10_2b3c_4d5e_6f70;
/// 2025-01-15T10:30:00Z.
const AT_SECONDS: i64 = 1_736_937_000;

/// The tenant every sample belongs to.
pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

pub fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(ORDER))
}

/// The payment every sample belongs to.
pub fn payment_id() -> PaymentId {
    PaymentId::from_uuid(Uuid::from_u128(PAYMENT))
}

pub fn refund_id() -> RefundId {
    valid(RefundId::new(Uuid::from_u128(REFUND)))
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

/// A confirmation by hand.
pub fn staff_source() -> ConfirmationSource {
    ConfirmationSource::Staff {
        actor: valid(Actor::new("clerk@optica-centro")),
    }
}

/// A confirmation by a provider webhook.
pub fn provider_source() -> ConfirmationSource {
    ConfirmationSource::Provider {
        provider: valid(ProviderName::new("acme-bank")),
        provider_event_id: valid(ProviderEventId::new("evt_01J9Z4Q7T2")),
    }
}

/// Every `PaymentEvent` variant: both methods, both confirmation sources, both refund outcomes.
pub fn payment_events() -> Vec<PaymentEvent> {
    let (payment_id, order_id) = (payment_id(), order_id());
    vec![
        PaymentEvent::PaymentRequested {
            tenant_id: tenant_id(),
            payment_id,
            order_id,
            method: PaymentMethod::BankTransfer,
            amount: eur_minor(25_980),
            requested_at: at(),
        },
        PaymentEvent::PaymentRequested {
            tenant_id: tenant_id(),
            payment_id,
            order_id,
            method: PaymentMethod::Cod,
            amount: eur_minor(25_980),
            requested_at: at(),
        },
        PaymentEvent::PaymentConfirmed {
            payment_id,
            order_id,
            source: staff_source(),
            reference: valid(PaymentReference::new("ORDER 0192-0701 / J. Doe")),
            amount: eur_minor(25_980),
            confirmed_at: at(),
        },
        PaymentEvent::PaymentConfirmed {
            payment_id,
            order_id,
            source: provider_source(),
            reference: valid(PaymentReference::new("NOTPROVIDED-ACME-778812")),
            amount: eur_minor(25_980),
            confirmed_at: at(),
        },
        PaymentEvent::PaymentCollected {
            payment_id,
            order_id,
            collected_by: valid(Actor::new("courier:seur-4411")),
            amount: eur_minor(25_980),
            collected_at: at(),
        },
        PaymentEvent::PaymentRefunded {
            payment_id,
            order_id,
            refund_id: refund_id(),
            amount: eur_minor(4_990),
            reason: valid(RefundReason::new(
                "Lens coating out of stock; removed from order.",
            )),
            refunded_total: eur_minor(4_990),
            status: PaymentStatus::PartiallyRefunded,
            refunded_at: at(),
        },
        PaymentEvent::PaymentRefunded {
            payment_id,
            order_id,
            refund_id: refund_id(),
            amount: eur_minor(25_980),
            reason: valid(RefundReason::new("Order cancelled.")),
            refunded_total: eur_minor(25_980),
            status: PaymentStatus::Refunded,
            refunded_at: at(),
        },
        PaymentEvent::PaymentVoided {
            payment_id,
            order_id,
            reason: valid(VoidReason::new("Order cancelled before payment.")),
            voided_at: at(),
        },
    ]
}

/// Every event type payments can emit, `payments.payment.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    PaymentEvent::EVENT_TYPES.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use optical_contract_check::{
        check_event_schemas, codes, in_schema_order, Contract, Sample, SchemaDir,
    };
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 5);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(parts[..], ["payments", "payment", past] if past.ends_with("ed")),
                "{event_type}"
            );
        }
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> = payment_events()
            .iter()
            .map(DomainEvent::event_type)
            .collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    #[test]
    fn samples_round_trip_through_json() {
        for event in payment_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<PaymentEvent>(&json).unwrap(), event);
            assert_eq!(event.payment_id(), payment_id());
            assert_eq!(event.order_id(), order_id());
        }
    }

    #[test]
    fn timestamps_serialise_as_rfc3339_utc_and_money_as_minor_units() {
        let json = serde_json::to_value(&payment_events()[0]).unwrap();
        assert_eq!(
            json["PaymentRequested"]["requested_at"],
            "2025-01-15T10:30:00Z"
        );
        assert_eq!(
            json["PaymentRequested"]["amount"],
            serde_json::json!({"amount_minor": 25_980, "currency": "EUR"})
        );
    }

    fn schemas() -> SchemaDir {
        SchemaDir::new(env!("CARGO_MANIFEST_DIR"), "payments")
    }

    fn schema_of(event_type: &str) -> (String, Value) {
        schemas().schema_of(event_type)
    }

    /// The variant name and the body inside the externally tagged `{"Variant": {…}}`.
    fn body(event: &PaymentEvent) -> (String, Value) {
        let Value::Object(map) = serde_json::to_value(event).unwrap() else {
            panic!("events serialise as objects");
        };
        assert_eq!(map.len(), 1, "externally tagged");
        map.into_iter().next().unwrap()
    }

    #[test]
    fn every_event_type_has_a_schema_that_its_samples_conform_to() {
        let samples: Vec<Sample> = payment_events()
            .iter()
            .map(|e| (e.event_type(), body(e)))
            .collect();
        let contract =
            check_event_schemas(&schemas(), "optical.payments", &all_event_types(), &samples);
        contract.assert_enums(BTreeMap::from([
            (
                "optical.payments.PaymentMethod",
                codes(PaymentMethod::ALL, PaymentMethod::as_str),
            ),
            (
                "optical.payments.PaymentStatus",
                codes(PaymentStatus::ALL, PaymentStatus::as_str),
            ),
            (
                "optical.payments.ConfirmationSourceKind",
                vec![Value::from("staff"), Value::from("provider")],
            ),
        ]));
    }

    #[test]
    fn schema_fields_are_declared_in_the_order_serde_writes_them() {
        let mut contract = Contract::default();
        for event_type in all_event_types() {
            contract.define(&schema_of(event_type).1, "", &mut BTreeSet::new());
        }
        for event in payment_events() {
            let (variant, body) = body(&event);
            let (file, schema) = schema_of(&event.event_type());
            let rebuilt = in_schema_order(&schema, &body, &contract.named, "", &[]).unwrap();
            assert_eq!(
                serde_json::to_string(&event).unwrap(),
                format!("{{{}:{rebuilt}}}", Value::from(variant)),
                "{file}"
            );
        }
    }
}
