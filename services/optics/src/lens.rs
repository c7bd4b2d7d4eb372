//! The spectacle-lens vocabulary shared by Catalog (what is sold) and Lab (what is made):
//! [`LensMaterial`], [`LensDesign`], [`LensCoating`], the offered [`LensIndex`] and a [`Tint`].
//!
//! Wire forms are part of published contracts (Catalog's Avro enums and events), so the
//! codes spelled out here must never change; add new values at the end.

use crate::error::OpticsError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a closed vocabulary whose wire codes (serde and Avro enum symbols) are spelled out,
/// so that renaming a variant in Rust cannot silently change a published contract.
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
    /// The material of a lens blank; with the [`LensIndex`] it decides thickness and weight.
    LensMaterial {
        Cr39 = "cr39",
        Polycarbonate = "polycarbonate",
        Trivex = "trivex",
        MidIndex = "mid_index",
        HighIndex = "high_index",
        Glass = "glass",
    }
);

code_enum!(
    /// How the power is laid out over the lens: one power, two zones, or a progression.
    LensDesign {
        SingleVision = "single_vision",
        Bifocal = "bifocal",
        Progressive = "progressive",
    }
);

code_enum!(
    /// A surface treatment; a lens carries a set of them.
    LensCoating {
        AntiReflective = "anti_reflective",
        BlueLight = "blue_light",
        HardCoat = "hard_coat",
        Hydrophobic = "hydrophobic",
        UvProtection = "uv_protection",
        Mirror = "mirror",
    }
);

/// Refractive index of a lens material. Only the indices labs stock are accepted, so that an
/// order never asks for a blank that does not exist. Serialised as a number (e.g. `1.67`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct LensIndex(u16);

impl LensIndex {
    /// Offered indices, in hundredths.
    const OFFERED: [u16; 9] = [150, 153, 156, 159, 160, 167, 174, 180, 190];

    pub fn new(value: f64) -> Result<Self, OpticsError> {
        Self::OFFERED
            .iter()
            // Tolerates binary noise such as 1.6700000000000002 from arithmetic upstream.
            .find(|&&hundredths| (f64::from(hundredths) - value * 100.0).abs() < 1e-6)
            .map(|&hundredths| Self(hundredths))
            .ok_or(OpticsError::UnsupportedLensIndex { value })
    }

    pub fn value(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl TryFrom<f64> for LensIndex {
    type Error = OpticsError;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<LensIndex> for f64 {
    fn from(index: LensIndex) -> f64 {
        index.value()
    }
}

impl fmt::Display for LensIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.value())
    }
}

/// A lens tint as the lab names it (e.g. "grey 80%"): trimmed, 1–64 characters. Free text,
/// because labs name tints their own way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tint(String);

impl Tint {
    pub const MAX_CHARS: usize = 64;
    const FIELD: &'static str = "tint";

    pub fn new(value: impl AsRef<str>) -> Result<Self, OpticsError> {
        let trimmed = value.as_ref().trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(OpticsError::EmptyText { field: Self::FIELD });
        }
        if chars > Self::MAX_CHARS {
            return Err(OpticsError::TextTooLong {
                field: Self::FIELD,
                max: Self::MAX_CHARS,
                actual: chars,
            });
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tint {
    type Error = OpticsError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Tint> for String {
    fn from(value: Tint) -> String {
        value.0
    }
}

impl fmt::Display for Tint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lens_index_accepts_only_offered_indices() {
        for offered in [1.50, 1.53, 1.56, 1.59, 1.60, 1.67, 1.74, 1.80, 1.90] {
            assert_eq!(LensIndex::new(offered).unwrap().value(), offered);
        }
        for unsupported in [1.49, 1.52, 1.7, 2.0, 0.0, f64::NAN, f64::INFINITY] {
            assert!(LensIndex::new(unsupported).is_err(), "{unsupported}");
        }
        assert_eq!(
            LensIndex::new(1.55),
            Err(OpticsError::UnsupportedLensIndex { value: 1.55 })
        );
        assert_eq!(
            LensIndex::new(1.6700000000000002).unwrap().to_string(),
            "1.67"
        );
    }

    #[test]
    fn lens_index_serialises_as_a_number() {
        let index = LensIndex::new(1.6).unwrap();
        assert_eq!(serde_json::to_value(index).unwrap(), json!(1.6));
        assert_eq!(index.to_string(), "1.60");
        assert_eq!(
            serde_json::from_value::<LensIndex>(json!(1.67)).unwrap(),
            LensIndex::new(1.67).unwrap()
        );
        let error = serde_json::from_value::<LensIndex>(json!(1.61)).unwrap_err();
        assert!(
            error.to_string().contains("lens index 1.61 is not offered"),
            "{error}"
        );
    }

    #[test]
    fn tint_is_trimmed_and_must_not_be_blank() {
        assert_eq!(Tint::new("  grey 80%  ").unwrap().as_str(), "grey 80%");
        assert_eq!(Tint::new(""), Err(OpticsError::EmptyText { field: "tint" }));
        assert_eq!(
            Tint::new("   "),
            Err(OpticsError::EmptyText { field: "tint" })
        );
        assert!(serde_json::from_value::<Tint>(json!(" ")).is_err());
    }

    #[test]
    fn tint_allows_64_characters_and_rejects_65() {
        assert!(Tint::new("é".repeat(64)).is_ok());
        let error = Tint::new("é".repeat(65)).unwrap_err();
        assert_eq!(
            error,
            OpticsError::TextTooLong {
                field: "tint",
                max: 64,
                actual: 65
            }
        );
        assert_eq!(
            error.to_string(),
            "tint must be at most 64 characters, got 65"
        );
    }

    #[test]
    fn tint_serialises_as_a_string() {
        let tint = Tint::new("brown gradient").unwrap();
        assert_eq!(
            serde_json::to_value(&tint).unwrap(),
            json!("brown gradient")
        );
        assert_eq!(
            serde_json::from_value::<Tint>(json!(" brown gradient ")).unwrap(),
            tint
        );
        assert_eq!(tint.to_string(), "brown gradient");
    }

    #[test]
    fn enums_use_snake_case_codes() {
        assert_eq!(
            serde_json::to_value(LensMaterial::HighIndex).unwrap(),
            json!("high_index")
        );
        assert_eq!(
            serde_json::to_value(LensDesign::SingleVision).unwrap(),
            json!("single_vision")
        );
        assert_eq!(LensCoating::UvProtection.to_string(), "uv_protection");
        for material in LensMaterial::ALL {
            assert_eq!(
                serde_json::to_value(material).unwrap(),
                json!(material.as_str())
            );
        }
        for design in LensDesign::ALL {
            assert_eq!(
                serde_json::to_value(design).unwrap(),
                json!(design.as_str())
            );
        }
        for coating in LensCoating::ALL {
            let code = json!(coating.as_str());
            assert_eq!(serde_json::to_value(coating).unwrap(), code);
            assert_eq!(
                serde_json::from_value::<LensCoating>(code).unwrap(),
                *coating
            );
        }
        assert!(serde_json::from_value::<LensCoating>(json!("AntiReflective")).is_err());
    }

    /// The order of `ALL` is the order of the Avro enum symbols in Catalog's contract.
    #[test]
    fn all_lists_every_value_in_declaration_order() {
        assert_eq!(
            LensMaterial::ALL
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            [
                "cr39",
                "polycarbonate",
                "trivex",
                "mid_index",
                "high_index",
                "glass"
            ]
        );
        assert_eq!(
            LensDesign::ALL
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>(),
            ["single_vision", "bifocal", "progressive"]
        );
        assert_eq!(
            LensCoating::ALL
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            [
                "anti_reflective",
                "blue_light",
                "hard_coat",
                "hydrophobic",
                "uv_protection",
                "mirror"
            ]
        );
    }
}
