//! Value objects of payments. Every value is validated when built, and deserialisation goes
//! through the same checks, so an invalid value can neither enter through a command nor come
//! back from storage.

use crate::error::ValueError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// How the customer pays; wire codes are the Avro enum symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// The customer wires the money; staff or the bank's webhook confirms it.
    BankTransfer,
    /// Cash on delivery: the courier or the store collects it when handing over the goods.
    Cod,
}

impl PaymentMethod {
    /// Every value, in declaration order (the order of the Avro enum symbols).
    pub const ALL: &'static [PaymentMethod] = &[PaymentMethod::BankTransfer, PaymentMethod::Cod];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Cod => "cod",
        }
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a payment stands; wire codes are the Avro enum symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Asked for, not yet captured.
    Requested,
    /// The amount due was received.
    Captured,
    /// Part of the captured amount was given back.
    PartiallyRefunded,
    /// Everything captured was given back.
    Refunded,
    /// Cancelled before capture; nothing can be captured any more.
    Voided,
}

impl PaymentStatus {
    /// Every value, in declaration order (the order of the Avro enum symbols).
    pub const ALL: &'static [PaymentStatus] = &[
        PaymentStatus::Requested,
        PaymentStatus::Captured,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
        PaymentStatus::Voided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Requested => "requested",
            PaymentStatus::Captured => "captured",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Voided => "voided",
        }
    }

    /// Whether money was received (and possibly partly or wholly given back since).
    pub fn is_captured(self) -> bool {
        matches!(
            self,
            PaymentStatus::Captured | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one refund. Chosen by the caller so that a retried refund is recognised: the
/// refund saga derives it deterministically (for example a name-based UUID), so any UUID
/// version is accepted — only the nil UUID is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RefundId(Uuid);

impl RefundId {
    pub fn new(uuid: Uuid) -> Result<Self, ValueError> {
        if uuid.is_nil() {
            return Err(ValueError::InvalidRefundId(uuid.to_string()));
        }
        Ok(Self(uuid))
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl FromStr for RefundId {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uuid = Uuid::parse_str(s).map_err(|_| ValueError::InvalidRefundId(s.to_owned()))?;
        Self::new(uuid)
    }
}

impl TryFrom<String> for RefundId {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RefundId> for String {
    fn from(id: RefundId) -> String {
        id.to_string()
    }
}

impl fmt::Display for RefundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Declares a trimmed, non-empty text value with a maximum length in characters.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, field = $field:literal, max = $max:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
                let trimmed = value.as_ref().trim();
                let chars = trimmed.chars().count();
                if chars == 0 {
                    return Err(ValueError::Empty { field: $field });
                }
                if chars > $max {
                    return Err(ValueError::TooLong { field: $field, max: $max, actual: chars });
                }
                Ok(Self(trimmed.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// Who acted, as the application names them (a staff account, a courier): for the audit trail.
    Actor, field = "actor", max = 200
);
bounded_text!(
    /// The payment provider or bank whose webhook reported a transfer, e.g. `acme-bank`.
    ProviderName, field = "provider", max = 100
);
bounded_text!(
    /// The provider's own id of the webhook event; a repeated delivery carries the same id.
    ProviderEventId, field = "provider event id", max = 200
);
bounded_text!(
    /// The bank's or provider's reference of the transfer (remittance information).
    PaymentReference, field = "payment reference", max = 140
);
bounded_text!(
    /// Why money is given back, for the customer and the books.
    RefundReason, field = "refund reason", max = 500
);
bounded_text!(
    /// Why a payment was called off before capture.
    VoidReason, field = "void reason", max = 500
);

/// Who confirmed a bank transfer. Serialised with a `kind` tag (`staff` or `provider`), which
/// the Avro contract publishes as a union of two records.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConfirmationSource {
    /// A staff member saw the money arrive on the statement.
    Staff { actor: Actor },
    /// A provider's (verified) webhook reported the money; `provider_event_id` makes a
    /// repeated delivery recognisable.
    Provider {
        provider: ProviderName,
        provider_event_id: ProviderEventId,
    },
}

impl ConfirmationSource {
    /// The provider event, when the confirmation came from a webhook.
    pub fn provider_event(&self) -> Option<(&ProviderName, &ProviderEventId)> {
        match self {
            ConfirmationSource::Staff { .. } => None,
            ConfirmationSource::Provider {
                provider,
                provider_event_id,
            } => Some((provider, provider_event_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn methods_and_statuses_use_snake_case_codes() {
        for method in PaymentMethod::ALL {
            assert_eq!(
                serde_json::to_value(method).unwrap(),
                json!(method.as_str())
            );
            assert_eq!(method.to_string(), method.as_str());
        }
        for status in PaymentStatus::ALL {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                json!(status.as_str())
            );
            assert_eq!(status.to_string(), status.as_str());
        }
        assert_eq!(
            serde_json::to_value(PaymentMethod::BankTransfer).unwrap(),
            json!("bank_transfer")
        );
        assert!(serde_json::from_value::<PaymentMethod>(json!("card")).is_err());
        assert!(PaymentStatus::PartiallyRefunded.is_captured());
        assert!(!PaymentStatus::Voided.is_captured());
        assert!(!PaymentStatus::Requested.is_captured());
    }

    #[test]
    fn refund_ids_accept_any_uuid_version_but_nil() {
        let v4 = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let v5 = "8f4e2a61-3c5d-5b7e-9a10-2b3c4d5e6f70".to_owned();
        let v7 = Uuid::now_v7().to_string();
        for ok in [v4.to_owned(), v5, v7] {
            let id: RefundId = ok.parse().unwrap();
            assert_eq!(id.to_string(), ok);
            assert_eq!(serde_json::to_value(id).unwrap(), json!(ok));
        }
        for bad in ["", "nope", "00000000-0000-0000-0000-000000000000"] {
            assert_eq!(
                bad.parse::<RefundId>(),
                Err(ValueError::InvalidRefundId(bad.to_owned()))
            );
        }
        assert!(serde_json::from_value::<RefundId>(json!("nope")).is_err());
        assert_eq!(
            RefundId::new(Uuid::nil()),
            Err(ValueError::InvalidRefundId(Uuid::nil().to_string()))
        );
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(
            PaymentReference::new("  ORD-42 ").unwrap().as_str(),
            "ORD-42"
        );
        assert_eq!(Actor::new(" \t"), Err(ValueError::Empty { field: "actor" }));
        assert!(PaymentReference::new("r".repeat(140)).is_ok());
        assert_eq!(
            PaymentReference::new("é".repeat(141)),
            Err(ValueError::TooLong {
                field: "payment reference",
                max: 140,
                actual: 141
            })
        );
        assert!(RefundReason::new("x".repeat(500)).is_ok());
        assert!(VoidReason::new("x".repeat(501)).is_err());
        assert!(ProviderName::new("p".repeat(101)).is_err());
        assert!(ProviderEventId::new("e".repeat(201)).is_err());
        assert!(serde_json::from_value::<Actor>(json!("")).is_err());
    }

    #[test]
    fn confirmation_sources_are_tagged_by_kind() {
        let staff = ConfirmationSource::Staff {
            actor: Actor::new("clerk@store").unwrap(),
        };
        let provider = ConfirmationSource::Provider {
            provider: ProviderName::new("acme-bank").unwrap(),
            provider_event_id: ProviderEventId::new("evt_1").unwrap(),
        };
        assert_eq!(
            serde_json::to_value(&staff).unwrap(),
            json!({"kind": "staff", "actor": "clerk@store"})
        );
        assert_eq!(
            serde_json::to_value(&provider).unwrap(),
            json!({"kind": "provider", "provider": "acme-bank", "provider_event_id": "evt_1"})
        );
        for source in [&staff, &provider] {
            let json = serde_json::to_value(source).unwrap();
            assert_eq!(
                &serde_json::from_value::<ConfirmationSource>(json).unwrap(),
                source
            );
        }
        assert_eq!(staff.provider_event(), None);
        assert!(provider.provider_event().is_some());
        assert!(serde_json::from_value::<ConfirmationSource>(
            json!({"kind": "staff", "actor": "a", "provider": "b"})
        )
        .is_err());
        assert!(serde_json::from_value::<ConfirmationSource>(
            json!({"kind": "staff", "actor": ""})
        )
        .is_err());
    }
}
