//! Scalar value objects and the closed vocabularies (enums) of the catalog. The lens
//! vocabulary (material, design, coating, index, tint) is shared with Lab and lives in
//! `optical-optics`; the crate root re-exports it.
//!
//! Every value is validated when built, and deserialisation goes through the same checks,
//! so an invalid value can neither enter through a command nor come back from storage.

use crate::error::ValueError;
use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// What shoppers and staff call the product.
    ProductName, field = "product name", max = 200
);
bounded_text!(
    /// The manufacturer or house brand; a search facet.
    Brand, field = "brand", max = 100
);
bounded_text!(
    /// Free-text marketing description.
    ProductDescription, field = "product description", max = 5000
);
bounded_text!(
    /// A frame colour as the manufacturer names it (e.g. "Havana tortoise"); a search facet.
    Colour, field = "colour", max = 64
);

/// Stock-keeping unit: 1–64 characters of `A-Z 0-9 - _ .`, stored upper-case so that
/// `abc-1` and `ABC-1` are the same SKU everywhere (labels, scanners, supplier files).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub const MAX_CHARS: usize = 64;

    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let raw = value.as_ref();
        // ASCII-only upper-casing: Unicode rules would turn `ß` into a valid `SS`.
        let sku = raw.to_ascii_uppercase();
        if sku.is_empty() {
            return Err(ValueError::Empty { field: "SKU" });
        }
        if let Some(character) = sku.chars().find(|c| {
            !(c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        }) {
            return Err(ValueError::InvalidSkuCharacter {
                sku: raw.to_owned(),
                character,
            });
        }
        // Only ASCII is left, so bytes are characters.
        if sku.len() > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                field: "SKU",
                max: Self::MAX_CHARS,
                actual: sku.len(),
            });
        }
        Ok(Self(sku))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Sku> for String {
    fn from(value: Sku) -> String {
        value.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A length in millimetres: finite and positive. Ranges depend on what is measured and are
/// checked by the value that holds it.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Millimetres(f64);

impl Millimetres {
    pub fn new(value: f64) -> Result<Self, ValueError> {
        if value.is_finite() && value > 0.0 {
            Ok(Self(value))
        } else {
            Err(ValueError::InvalidMeasurement(value))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// Checks an inclusive range, naming the measurement in the error.
    pub(crate) fn within(
        value: f64,
        field: &'static str,
        min: f64,
        max: f64,
    ) -> Result<Self, ValueError> {
        let mm = Self::new(value)?;
        if (min..=max).contains(&value) {
            Ok(mm)
        } else {
            Err(ValueError::OutOfRange {
                field,
                value,
                min,
                max,
            })
        }
    }
}

impl TryFrom<f64> for Millimetres {
    type Error = ValueError;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Millimetres> for f64 {
    fn from(value: Millimetres) -> f64 {
        value.0
    }
}

impl fmt::Display for Millimetres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} mm", self.0)
    }
}

/// Declares a closed vocabulary whose wire codes (serde and Avro enum symbols) are spelled out.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order (the order of the Avro enum symbols).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
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

code_enum!(
    /// What a product is; decides which variant attributes and which fulfillment it takes.
    ProductKind {
        Frame = "frame",
        OphthalmicLens = "ophthalmic_lens",
        ContactLens = "contact_lens",
        Accessory = "accessory",
        Digital = "digital",
    }
);

impl ProductKind {
    /// Only digital goods are delivered as downloads; everything else ships.
    pub fn fulfillment(self) -> FulfillmentType {
        match self {
            ProductKind::Digital => FulfillmentType::Digital,
            _ => FulfillmentType::Physical,
        }
    }
}

code_enum!(
    /// How an order line reaches the customer.
    FulfillmentType {
        Physical = "physical",
        Digital = "digital",
    }
);

code_enum!(
    /// Lifecycle of products and variants. Unpublishing returns to draft; archived is terminal.
    PublicationStatus {
        Draft = "draft",
        Published = "published",
        Archived = "archived",
    }
);

code_enum!(
    FrameShape {
        Round = "round",
        Rectangle = "rectangle",
        Square = "square",
        Oval = "oval",
        CatEye = "cat_eye",
        Aviator = "aviator",
        Geometric = "geometric",
        Browline = "browline",
    }
);

code_enum!(
    FrameMaterial {
        Acetate = "acetate",
        Metal = "metal",
        Titanium = "titanium",
        Tr90 = "tr90",
        Wood = "wood",
        Mixed = "mixed",
    }
);

code_enum!(
    /// How often a contact lens is replaced.
    ReplacementSchedule {
        Daily = "daily",
        TwoWeekly = "two_weekly",
        Monthly = "monthly",
        Quarterly = "quarterly",
        Yearly = "yearly",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sku_is_upper_cased_on_parse() {
        assert_eq!(Sku::new("rb-5154_49.21").unwrap().as_str(), "RB-5154_49.21");
    }

    #[test]
    fn sku_of_64_characters_is_accepted_and_65_rejected() {
        assert_eq!(Sku::new("A".repeat(64)).unwrap().as_str().len(), 64);
        assert_eq!(
            Sku::new("A".repeat(65)),
            Err(ValueError::TooLong {
                field: "SKU",
                max: 64,
                actual: 65
            })
        );
    }

    #[test]
    fn sku_rejects_empty_spaces_and_symbols() {
        assert_eq!(Sku::new(""), Err(ValueError::Empty { field: "SKU" }));
        assert_eq!(
            Sku::new("AB 1"),
            Err(ValueError::InvalidSkuCharacter {
                sku: "AB 1".into(),
                character: ' '
            })
        );
        assert!(matches!(
            Sku::new("AB/1"),
            Err(ValueError::InvalidSkuCharacter { character: '/', .. })
        ));
        assert!(matches!(
            Sku::new("straße"),
            Err(ValueError::InvalidSkuCharacter {
                character: 'ß', ..
            })
        ));
    }

    #[test]
    fn sku_deserialisation_validates_and_upper_cases() {
        assert_eq!(
            serde_json::from_value::<Sku>(json!("ab-1"))
                .unwrap()
                .as_str(),
            "AB-1"
        );
        assert!(serde_json::from_value::<Sku>(json!("a b")).is_err());
    }

    #[test]
    fn product_name_is_trimmed_and_must_not_be_blank() {
        assert_eq!(
            ProductName::new("  Clubmaster  ").unwrap().as_str(),
            "Clubmaster"
        );
        assert_eq!(
            ProductName::new("   "),
            Err(ValueError::Empty {
                field: "product name"
            })
        );
    }

    #[test]
    fn product_name_allows_200_characters_and_rejects_201() {
        assert!(ProductName::new("é".repeat(200)).is_ok());
        assert_eq!(
            ProductName::new("é".repeat(201)),
            Err(ValueError::TooLong {
                field: "product name",
                max: 200,
                actual: 201
            })
        );
    }

    #[test]
    fn other_texts_have_their_own_limits() {
        assert!(Brand::new("b".repeat(100)).is_ok());
        assert!(Brand::new("b".repeat(101)).is_err());
        assert!(Colour::new("c".repeat(65)).is_err());
        assert!(ProductDescription::new("d".repeat(5001)).is_err());
        assert!(serde_json::from_value::<Brand>(json!(" ")).is_err());
    }

    #[test]
    fn millimetres_must_be_finite_and_positive() {
        assert_eq!(
            Millimetres::new(0.0),
            Err(ValueError::InvalidMeasurement(0.0))
        );
        assert_eq!(
            Millimetres::new(-1.0),
            Err(ValueError::InvalidMeasurement(-1.0))
        );
        assert!(Millimetres::new(f64::INFINITY).is_err());
        assert!(Millimetres::new(f64::NAN).is_err());
        assert_eq!(
            serde_json::to_value(Millimetres::new(52.5).unwrap()).unwrap(),
            json!(52.5)
        );
        assert!(serde_json::from_value::<Millimetres>(json!(-3.0)).is_err());
    }

    #[test]
    fn enums_use_snake_case_codes() {
        assert_eq!(
            serde_json::to_value(ProductKind::OphthalmicLens).unwrap(),
            json!("ophthalmic_lens")
        );
        assert_eq!(
            serde_json::to_value(FrameShape::CatEye).unwrap(),
            json!("cat_eye")
        );
        assert_eq!(
            serde_json::to_value(ReplacementSchedule::TwoWeekly).unwrap(),
            json!("two_weekly")
        );
        for kind in ProductKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert!(serde_json::from_value::<FrameShape>(json!("CatEye")).is_err());
    }

    #[test]
    fn only_digital_products_are_fulfilled_digitally() {
        assert_eq!(ProductKind::Digital.fulfillment(), FulfillmentType::Digital);
        for kind in ProductKind::ALL
            .iter()
            .filter(|k| **k != ProductKind::Digital)
        {
            assert_eq!(kind.fulfillment(), FulfillmentType::Physical);
        }
    }
}
