//! Value objects of inventory. Every value is validated when built, and deserialisation goes
//! through the same checks, so an invalid value can neither enter through a command nor come
//! back from storage.

use crate::error::ValueError;
use optical_kernel::{LocationId, VariantId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Identifies a stock level: one variant at one location. Its string form,
/// `<location id>/<variant id>`, is the aggregate id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockLevelKey {
    pub location_id: LocationId,
    pub variant_id: VariantId,
}

impl fmt::Display for StockLevelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.location_id, self.variant_id)
    }
}

impl FromStr for StockLevelKey {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ValueError::InvalidStockLevelKey(s.to_owned());
        let (location, variant) = s.split_once('/').ok_or_else(invalid)?;
        Ok(Self {
            location_id: location.parse().map_err(|_| invalid())?,
            variant_id: variant.parse().map_err(|_| invalid())?,
        })
    }
}

/// A number of units moved or held: strictly positive, since moving nothing is not a fact.
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

/// A signed correction of the units on hand: positive adds, negative removes, never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct StockDelta(i64);

impl StockDelta {
    pub fn new(delta: i64) -> Result<Self, ValueError> {
        if delta == 0 {
            return Err(ValueError::ZeroDelta);
        }
        Ok(Self(delta))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for StockDelta {
    type Error = ValueError;
    fn try_from(delta: i64) -> Result<Self, Self::Error> {
        Self::new(delta)
    }
}

impl From<StockDelta> for i64 {
    fn from(delta: StockDelta) -> i64 {
        delta.0
    }
}

impl fmt::Display for StockDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:+}", self.0)
    }
}

/// Why stock was adjusted outside receiving and selling; wire codes are the Avro enum symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    /// A stock count found a different number than the books.
    CountCorrection,
    Damaged,
    Lost,
    Found,
    /// A customer brought goods back into sellable stock.
    CustomerReturn,
    ReturnedToSupplier,
}

impl AdjustmentReason {
    /// Every value, in declaration order (the order of the Avro enum symbols).
    pub const ALL: &'static [AdjustmentReason] = &[
        AdjustmentReason::CountCorrection,
        AdjustmentReason::Damaged,
        AdjustmentReason::Lost,
        AdjustmentReason::Found,
        AdjustmentReason::CustomerReturn,
        AdjustmentReason::ReturnedToSupplier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentReason::CountCorrection => "count_correction",
            AdjustmentReason::Damaged => "damaged",
            AdjustmentReason::Lost => "lost",
            AdjustmentReason::Found => "found",
            AdjustmentReason::CustomerReturn => "customer_return",
            AdjustmentReason::ReturnedToSupplier => "returned_to_supplier",
        }
    }
}

impl fmt::Display for AdjustmentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// Free text explaining an adjustment, for the audit trail.
    AdjustmentNote, field = "adjustment note", max = 500
);
bounded_text!(
    /// The paper trail of a receipt: a delivery note or purchase order number.
    ReceiptReference, field = "receipt reference", max = 100
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantity_must_be_positive_when_built_and_when_read() {
        assert_eq!(Quantity::new(0), Err(ValueError::QuantityNotPositive));
        assert_eq!(Quantity::new(3).unwrap().get(), 3);
        assert_eq!(
            serde_json::to_value(Quantity::new(3).unwrap()).unwrap(),
            json!(3)
        );
        assert!(serde_json::from_value::<Quantity>(json!(0)).is_err());
        assert!(serde_json::from_value::<Quantity>(json!(-1)).is_err());
        assert!(serde_json::from_value::<Quantity>(json!(5_000_000_000_u64)).is_err());
    }

    #[test]
    fn delta_must_not_be_zero_when_built_and_when_read() {
        assert_eq!(StockDelta::new(0), Err(ValueError::ZeroDelta));
        assert_eq!(StockDelta::new(-2).unwrap().get(), -2);
        assert_eq!(StockDelta::new(2).unwrap().to_string(), "+2");
        assert_eq!(
            serde_json::to_value(StockDelta::new(-2).unwrap()).unwrap(),
            json!(-2)
        );
        assert!(serde_json::from_value::<StockDelta>(json!(0)).is_err());
    }

    #[test]
    fn note_is_trimmed_and_bounded() {
        assert_eq!(
            AdjustmentNote::new("  broken hinge ").unwrap().as_str(),
            "broken hinge"
        );
        assert_eq!(
            AdjustmentNote::new(" \n "),
            Err(ValueError::Empty {
                field: "adjustment note"
            })
        );
        assert!(AdjustmentNote::new("é".repeat(500)).is_ok());
        assert_eq!(
            AdjustmentNote::new("é".repeat(501)),
            Err(ValueError::TooLong {
                field: "adjustment note",
                max: 500,
                actual: 501
            })
        );
        assert!(serde_json::from_value::<AdjustmentNote>(json!("")).is_err());
    }

    #[test]
    fn receipt_reference_is_bounded() {
        assert_eq!(
            ReceiptReference::new(" DN-2024-0042 ").unwrap().as_str(),
            "DN-2024-0042"
        );
        assert!(ReceiptReference::new("r".repeat(100)).is_ok());
        assert!(ReceiptReference::new("r".repeat(101)).is_err());
        assert!(ReceiptReference::new("").is_err());
        assert!(serde_json::from_value::<ReceiptReference>(json!("r".repeat(101))).is_err());
    }

    #[test]
    fn reasons_use_snake_case_codes() {
        for reason in AdjustmentReason::ALL {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                json!(reason.as_str())
            );
            assert_eq!(reason.to_string(), reason.as_str());
        }
        assert_eq!(
            serde_json::to_value(AdjustmentReason::ReturnedToSupplier).unwrap(),
            json!("returned_to_supplier")
        );
        assert!(serde_json::from_value::<AdjustmentReason>(json!("Damaged")).is_err());
    }

    #[test]
    fn key_round_trips_through_its_string_form() {
        let key = StockLevelKey {
            location_id: LocationId::new(),
            variant_id: VariantId::new(),
        };
        let text = key.to_string();
        assert_eq!(text, format!("{}/{}", key.location_id, key.variant_id));
        assert_eq!(text.parse::<StockLevelKey>(), Ok(key));
    }

    #[test]
    fn key_rejects_malformed_strings() {
        let location = LocationId::new();
        let variant = VariantId::new();
        for bad in [
            String::new(),
            location.to_string(),
            format!("{location}/"),
            format!("/{variant}"),
            format!("{location}/{variant}/x"),
            format!("{location}:{variant}"),
            format!("{location}/67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ] {
            assert_eq!(
                bad.parse::<StockLevelKey>(),
                Err(ValueError::InvalidStockLevelKey(bad.clone())),
                "{bad}"
            );
        }
    }
}
