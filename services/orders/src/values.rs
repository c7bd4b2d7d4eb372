//! Value objects of orders. Every value is validated when built, and deserialisation goes
//! through the same checks, so an invalid value can neither enter through a command nor come
//! back from storage.

use crate::error::ValueError;
use chrono::NaiveDate;
use optical_kernel::{LocationId, Money, Personal, PrescriptionId, ReservationId, VariantId};
use optical_optics::Refraction;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a `snake_case` wire enum with `ALL` (the Avro symbols, in order) and `as_str`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order (the order of the Avro enum symbols).
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// How the customer pays; decides the status an order is placed in.
    PaymentMethod {
        /// Paid before anything is made or shipped: the order waits in `pending_payment`.
        BankTransfer => "bank_transfer",
        /// Cash on delivery: the order goes ahead at once, in `pending_shipment`.
        Cod => "cod",
    }
);

impl PaymentMethod {
    /// The status an order paid this way is placed in.
    pub fn initial_status(self) -> OrderStatus {
        match self {
            PaymentMethod::BankTransfer => OrderStatus::PendingPayment,
            PaymentMethod::Cod => OrderStatus::PendingShipment,
        }
    }
}

wire_enum!(
    /// Where an order stands in its lifecycle.
    OrderStatus {
        /// Placed with bank transfer; waits for the money.
        PendingPayment => "pending_payment",
        /// Placed with cash on delivery; goes ahead without payment.
        PendingShipment => "pending_shipment",
        /// The bank transfer arrived.
        Paid => "paid",
        /// Its lenses are being made in the lab.
        InLab => "in_lab",
        /// Ready to ship.
        Ready => "ready",
        Shipped => "shipped",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

impl OrderStatus {
    /// Whether the order can still be cancelled: anything before shipping.
    pub fn is_cancellable(self) -> bool {
        !matches!(
            self,
            OrderStatus::Shipped | OrderStatus::Completed | OrderStatus::Cancelled
        )
    }
}

wire_enum!(
    /// What a line sells; the same kinds as the catalog's products.
    LineKind {
        Frame => "frame",
        /// A spectacle lens made to a prescription: needs the patient and the prescription,
        /// and sends the order through the lab.
        OphthalmicLens => "ophthalmic_lens",
        ContactLens => "contact_lens",
        Accessory => "accessory",
        Digital => "digital",
    }
);

/// A number of units on a line: strictly positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub fn new(units: u32) -> Result<Self, ValueError> {
        if units == 0 {
            return Err(ValueError::QuantityNotPositive);
        }
        Ok(Self(units))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = ValueError;
    fn try_from(units: u32) -> Result<Self, Self::Error> {
        Self::new(units)
    }
}

impl From<Quantity> for u32 {
    fn from(quantity: Quantity) -> u32 {
        quantity.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Declares a trimmed, non-empty text value with a maximum length in characters and an
/// optional extra check on the trimmed text.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, field = $field:literal, max = $max:literal $(, check = $check:expr)?) => {
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
                $(
                    let check: fn(&str) -> Result<(), ValueError> = $check;
                    check(trimmed)?;
                )?
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

/// A plausible address: one `@` with text on both sides, a dot in the domain, no spaces.
/// Deliverability is not this crate's business.
fn check_email(text: &str) -> Result<(), ValueError> {
    let invalid = || ValueError::InvalidEmail(text.to_owned());
    let (local, domain) = text.split_once('@').ok_or_else(invalid)?;
    let plausible = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace);
    if plausible {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// Digits with the usual separators and an optional leading `+`; at least 5 digits.
fn check_phone(text: &str) -> Result<(), ValueError> {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let body = text.strip_prefix('+').unwrap_or(text);
    let allowed = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'));
    if allowed && digits >= 5 {
        Ok(())
    } else {
        Err(ValueError::InvalidPhone(text.to_owned()))
    }
}

bounded_text!(
    /// What the customer bought, as the catalog named it at checkout: product name, variant
    /// and SKU. A snapshot: later catalog changes do not rewrite orders.
    LineDescription, field = "line description", max = 300
);
bounded_text!(
    /// The patient's full name, as given at checkout.
    FullName, field = "full name", max = 200
);
bounded_text!(
    /// The patient's e-mail address.
    Email, field = "email", max = 254, check = check_email
);
bounded_text!(
    /// The patient's phone number.
    Phone, field = "phone", max = 32, check = check_phone
);
bounded_text!(
    /// Who issued a prescription: the optometrist or ophthalmologist, with their licence.
    Prescriber, field = "prescriber", max = 200
);
bounded_text!(
    /// Why an order was cancelled.
    CancelReason, field = "cancel reason", max = 500
);
bounded_text!(
    /// The carrier that ships an order, e.g. `SEUR` or `DHL Express`.
    Carrier, field = "carrier", max = 100
);
bounded_text!(
    /// The carrier's tracking number.
    TrackingNumber, field = "tracking number", max = 100
);

/// One line of an order: units of a variant, taken from one location by a stock reservation,
/// at the unit price of checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub variant_id: VariantId,
    pub location_id: LocationId,
    /// The cart's reservation that holds the units; committed by the order saga.
    pub reservation_id: ReservationId,
    pub quantity: Quantity,
    /// In the order's currency.
    pub unit_price: Money,
    pub kind: LineKind,
    pub description: LineDescription,
}

impl OrderLine {
    /// `quantity × unit_price` in minor units, or `None` on overflow.
    pub fn total_minor(&self) -> Option<i64> {
        self.unit_price
            .amount_minor()
            .checked_mul(i64::from(self.quantity.get()))
    }
}

/// Who the order is for, copied from Customers at placement (Orders never asks Customers
/// again). Personal data: it travels inside a [`Personal`] envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientSnapshot {
    pub full_name: FullName,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
}

/// The prescription the lenses are made to, copied from Customers at placement. Personal
/// data: it travels inside a [`Personal`] envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PrescriptionSnapshotWire")]
pub struct PrescriptionSnapshot {
    refraction: Refraction,
    prescriber: Prescriber,
    issued_on: NaiveDate,
    expires_on: NaiveDate,
}

#[derive(Deserialize)]
struct PrescriptionSnapshotWire {
    refraction: Refraction,
    prescriber: Prescriber,
    issued_on: NaiveDate,
    expires_on: NaiveDate,
}

impl TryFrom<PrescriptionSnapshotWire> for PrescriptionSnapshot {
    type Error = ValueError;
    fn try_from(wire: PrescriptionSnapshotWire) -> Result<Self, Self::Error> {
        Self::new(
            wire.refraction,
            wire.prescriber,
            wire.issued_on,
            wire.expires_on,
        )
    }
}

impl PrescriptionSnapshot {
    pub fn new(
        refraction: Refraction,
        prescriber: Prescriber,
        issued_on: NaiveDate,
        expires_on: NaiveDate,
    ) -> Result<Self, ValueError> {
        if expires_on < issued_on {
            return Err(ValueError::ExpiresBeforeIssued {
                issued_on,
                expires_on,
            });
        }
        Ok(Self {
            refraction,
            prescriber,
            issued_on,
            expires_on,
        })
    }

    pub fn refraction(&self) -> &Refraction {
        &self.refraction
    }

    pub fn prescriber(&self) -> &Prescriber {
        &self.prescriber
    }

    pub fn issued_on(&self) -> NaiveDate {
        self.issued_on
    }

    /// The last day the prescription may be ordered against.
    pub fn expires_on(&self) -> NaiveDate {
        self.expires_on
    }

    /// Expired on `today` when its last valid day is before today.
    pub fn is_expired_on(&self, today: NaiveDate) -> bool {
        self.expires_on < today
    }
}

/// The prescription of an order: its id in clear (so the lab and projections can link it
/// without the key) and its content sealed for the patient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPrescription {
    pub prescription_id: PrescriptionId,
    pub snapshot: Personal<PrescriptionSnapshot>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enums_use_snake_case_codes() {
        for status in OrderStatus::ALL {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                json!(status.as_str())
            );
            assert_eq!(status.to_string(), status.as_str());
        }
        for kind in LineKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        for method in PaymentMethod::ALL {
            assert_eq!(
                serde_json::to_value(method).unwrap(),
                json!(method.as_str())
            );
        }
        assert_eq!(
            serde_json::to_value(LineKind::OphthalmicLens).unwrap(),
            json!("ophthalmic_lens")
        );
        assert!(serde_json::from_value::<OrderStatus>(json!("Paid")).is_err());
        assert_eq!(
            PaymentMethod::BankTransfer.initial_status(),
            OrderStatus::PendingPayment
        );
        assert_eq!(
            PaymentMethod::Cod.initial_status(),
            OrderStatus::PendingShipment
        );
    }

    #[test]
    fn only_orders_before_shipping_are_cancellable() {
        let cancellable: Vec<OrderStatus> = OrderStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_cancellable())
            .collect();
        assert_eq!(
            cancellable,
            [
                OrderStatus::PendingPayment,
                OrderStatus::PendingShipment,
                OrderStatus::Paid,
                OrderStatus::InLab,
                OrderStatus::Ready
            ]
        );
    }

    #[test]
    fn quantity_must_be_positive_when_built_and_when_read() {
        assert_eq!(Quantity::new(0), Err(ValueError::QuantityNotPositive));
        assert_eq!(Quantity::new(2).unwrap().get(), 2);
        assert!(serde_json::from_value::<Quantity>(json!(0)).is_err());
        assert!(serde_json::from_value::<Quantity>(json!(-1)).is_err());
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(FullName::new("  Ana Ruiz ").unwrap().as_str(), "Ana Ruiz");
        assert_eq!(
            FullName::new(" "),
            Err(ValueError::Empty { field: "full name" })
        );
        assert!(LineDescription::new("x".repeat(300)).is_ok());
        assert_eq!(
            LineDescription::new("é".repeat(301)),
            Err(ValueError::TooLong {
                field: "line description",
                max: 300,
                actual: 301
            })
        );
        assert!(Prescriber::new("p".repeat(201)).is_err());
        assert!(CancelReason::new("r".repeat(501)).is_err());
        assert!(Carrier::new("c".repeat(101)).is_err());
        assert!(TrackingNumber::new("t".repeat(101)).is_err());
        assert!(serde_json::from_value::<Carrier>(json!("")).is_err());
    }

    #[test]
    fn emails_must_be_plausible() {
        for ok in ["ana@example.com", " a.b+c@mail.example.es "] {
            assert!(Email::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "a b@x.com",
            "a@@x.com",
            "a@x.",
        ] {
            assert_eq!(
                Email::new(bad),
                Err(ValueError::InvalidEmail(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<Email>(json!("nope")).is_err());
        assert!(Email::new(format!("{}@x.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn phones_must_be_plausible() {
        for ok in ["+34 600 123 456", "(91) 555-0101", "600.123.456"] {
            assert!(Phone::new(ok).is_ok(), "{ok}");
        }
        for bad in ["1234", "call me", "+34 600 ABC", "++34600123456"] {
            assert_eq!(
                Phone::new(bad),
                Err(ValueError::InvalidPhone(bad.to_owned())),
                "{bad}"
            );
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_prescription_expires_after_it_was_issued() {
        let prescriber = Prescriber::new("Dr. Vidal, col. 28-1234").unwrap();
        let refraction = optical_optics::samples::refraction();
        let snapshot = PrescriptionSnapshot::new(
            refraction.clone(),
            prescriber.clone(),
            day(2025, 1, 10),
            day(2026, 1, 10),
        )
        .unwrap();
        assert!(!snapshot.is_expired_on(day(2026, 1, 10)));
        assert!(snapshot.is_expired_on(day(2026, 1, 11)));
        assert_eq!(
            PrescriptionSnapshot::new(
                refraction.clone(),
                prescriber.clone(),
                day(2025, 1, 10),
                day(2025, 1, 9)
            ),
            Err(ValueError::ExpiresBeforeIssued {
                issued_on: day(2025, 1, 10),
                expires_on: day(2025, 1, 9)
            })
        );
        let mut json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(json["issued_on"], "2025-01-10");
        assert_eq!(
            serde_json::from_value::<PrescriptionSnapshot>(json.clone()).unwrap(),
            snapshot
        );
        json["expires_on"] = json!("2024-12-31");
        assert!(serde_json::from_value::<PrescriptionSnapshot>(json).is_err());
    }

    #[test]
    fn a_line_total_is_overflow_checked() {
        let eur = "EUR".parse().unwrap();
        let line = |quantity: u32, minor: i64| OrderLine {
            variant_id: VariantId::new(),
            location_id: LocationId::new(),
            reservation_id: ReservationId::new(),
            quantity: Quantity::new(quantity).unwrap(),
            unit_price: Money::new(minor, eur).unwrap(),
            kind: LineKind::Frame,
            description: LineDescription::new("Frame").unwrap(),
        };
        assert_eq!(line(3, 1_000).total_minor(), Some(3_000));
        assert_eq!(line(2, i64::MAX).total_minor(), None);
    }
}
