//! Distances measured on the face, in millimetres: pupillary distances (distance and near,
//! binocular or monocular) and segment (fitting) heights. All are taken in 0.5 mm steps and
//! kept as exact tenths of a millimetre; on the wire they are JSON numbers (`63.5`).

use crate::error::OpticsError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An exact length, counted in tenths of a millimetre.
///
/// JSON: a number of millimetres (`64`, `63.5`); deserialising accepts only a non-negative
/// whole number of tenths.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "f64", into = "f64")]
pub struct Millimetres(u32);

impl Millimetres {
    pub const fn from_tenths(tenths: u32) -> Self {
        Self(tenths)
    }

    pub const fn tenths(self) -> u32 {
        self.0
    }

    /// The length in millimetres; exact for every multiple of 0.5 mm, and otherwise the
    /// nearest `f64` to the decimal (what parsing `"52.3"` gives).
    pub fn to_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }

    /// `millimetres` as an exact whole number of tenths, or `None` (not finite, negative,
    /// too large, or between tenths).
    pub fn from_f64(millimetres: f64) -> Option<Self> {
        let tenths = (millimetres * 10.0).round();
        if !(0.0..=f64::from(u32::MAX)).contains(&tenths) {
            return None;
        }
        // Integral and within u32: the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let length = Self(tenths as u32);
        // Division is correctly rounded, so this equals `millimetres` exactly when it is the
        // nearest f64 to a decimal with one fractional digit, as `52.3` parsed from JSON is.
        (length.to_f64() == millimetres).then_some(length)
    }

    /// Parses a length in millimetres: finite, within `min..=max`, a multiple of 0.1 mm.
    pub(crate) fn parse_tenths(
        quantity: &'static str,
        value: f64,
        min: Millimetres,
        max: Millimetres,
    ) -> Result<Millimetres, OpticsError> {
        if !value.is_finite() {
            return Err(OpticsError::NotFinite { quantity });
        }
        if value < min.to_f64() || value > max.to_f64() {
            return Err(OpticsError::OutOfRange {
                quantity,
                value,
                min: min.to_f64(),
                max: max.to_f64(),
                unit: "mm",
            });
        }
        Self::from_f64(value).ok_or(OpticsError::OffStep {
            quantity,
            value,
            step: 0.1,
            unit: "mm",
        })
    }
}

impl TryFrom<f64> for Millimetres {
    type Error = OpticsError;
    fn try_from(millimetres: f64) -> Result<Self, Self::Error> {
        Self::parse_tenths("length", millimetres, Millimetres(0), Millimetres(u32::MAX))
    }
}

impl From<Millimetres> for f64 {
    fn from(length: Millimetres) -> f64 {
        length.to_f64()
    }
}

/// `63.5`, `64`: the shortest exact decimal.
impl fmt::Display for Millimetres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 % 10 {
            0 => write!(f, "{}", self.0 / 10),
            tenth => write!(f, "{}.{tenth}", self.0 / 10),
        }
    }
}

/// Parses a length in millimetres: finite, within `min..=max` (tenths), a multiple of 0.5 mm.
fn parse_half_mm(
    quantity: &'static str,
    value: f64,
    min: Millimetres,
    max: Millimetres,
) -> Result<Millimetres, OpticsError> {
    if !value.is_finite() {
        return Err(OpticsError::NotFinite { quantity });
    }
    if value < min.to_f64() || value > max.to_f64() {
        return Err(OpticsError::OutOfRange {
            quantity,
            value,
            min: min.to_f64(),
            max: max.to_f64(),
            unit: "mm",
        });
    }
    let halves = value * 2.0;
    if halves.fract() != 0.0 {
        return Err(OpticsError::OffStep {
            quantity,
            value,
            step: 0.5,
            unit: "mm",
        });
    }
    // Integral, positive and at most 2 × 80: the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Millimetres(halves as u32 * 5))
}

/// Declares a length value object in 0.5 mm steps within fixed bounds, serialised as a
/// number of millimetres and validated again when deserialised.
macro_rules! length_type {
    ($(#[$meta:meta])* $name:ident, quantity = $quantity:literal,
     min_tenths = $min:literal, max_tenths = $max:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "f64", into = "f64")]
        pub struct $name(Millimetres);

        impl $name {
            pub const MIN: Millimetres = Millimetres::from_tenths($min);
            pub const MAX: Millimetres = Millimetres::from_tenths($max);

            pub fn new(millimetres: f64) -> Result<Self, OpticsError> {
                parse_half_mm($quantity, millimetres, Self::MIN, Self::MAX).map(Self)
            }

            pub fn millimetres(self) -> Millimetres {
                self.0
            }

            pub fn to_f64(self) -> f64 {
                self.0.to_f64()
            }
        }

        impl TryFrom<f64> for $name {
            type Error = OpticsError;
            fn try_from(millimetres: f64) -> Result<Self, Self::Error> {
                Self::new(millimetres)
            }
        }

        impl From<$name> for f64 {
            fn from(value: $name) -> f64 {
                value.to_f64()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} mm", self.0)
            }
        }
    };
}

length_type!(
    /// Distance between both pupils for distance vision: 50–80 mm.
    BinocularPd, quantity = "PD", min_tenths = 500, max_tenths = 800
);
length_type!(
    /// Distance from the bridge of the nose to one pupil for distance vision: 25–40 mm.
    MonocularPd, quantity = "monocular PD", min_tenths = 250, max_tenths = 400
);
length_type!(
    /// Distance between both pupils for near vision: 45–80 mm (and not above the distance PD).
    NearBinocularPd, quantity = "near PD", min_tenths = 450, max_tenths = 800
);
length_type!(
    /// Near monocular PD of one eye: 22.5–40 mm.
    NearMonocularPd, quantity = "near monocular PD", min_tenths = 225, max_tenths = 400
);
length_type!(
    /// Height of the segment top (or progressive fitting cross) above the lowest point of the
    /// lens: 10–35 mm.
    SegmentHeight, quantity = "segment height", min_tenths = 100, max_tenths = 350
);

/// The JSON shape of every PD: a bare number for binocular, `{"right", "left"}` for monocular.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PdInput {
    Binocular(f64),
    Monocular { right: f64, left: f64 },
}

/// Declares a pupillary-distance enum over its binocular and monocular value types.
macro_rules! pd_type {
    ($(#[$meta:meta])* $name:ident, binocular = $binocular:ident, monocular = $monocular:ident) => {
        $(#[$meta])*
        ///
        /// JSON: a number of millimetres when binocular (`63.5`), `{"right": 31.5, "left": 32}`
        /// when monocular.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "PdInput", into = "PdInput")]
        pub enum $name {
            Binocular($binocular),
            Monocular { right: $monocular, left: $monocular },
        }

        impl $name {
            pub fn binocular(millimetres: f64) -> Result<Self, OpticsError> {
                $binocular::new(millimetres).map(Self::Binocular)
            }

            pub fn monocular(right: f64, left: f64) -> Result<Self, OpticsError> {
                Ok(Self::Monocular {
                    right: $monocular::new(right)?,
                    left: $monocular::new(left)?,
                })
            }

            /// Both eyes together: the binocular value, or the sum of the monocular ones.
            pub fn total(&self) -> Millimetres {
                match self {
                    Self::Binocular(pd) => pd.millimetres(),
                    Self::Monocular { right, left } => Millimetres::from_tenths(
                        right.millimetres().tenths() + left.millimetres().tenths(),
                    ),
                }
            }

            /// Parses an input, reporting every invalid member under `at` (a JSON pointer).
            pub(crate) fn parse_at(
                input: &PdInput,
                at: &str,
                errors: &mut Vec<crate::FieldError>,
            ) -> Option<Self> {
                match *input {
                    PdInput::Binocular(mm) => {
                        crate::refraction::record(errors, at, $binocular::new(mm))
                            .map(Self::Binocular)
                    }
                    PdInput::Monocular { right, left } => {
                        let right = crate::refraction::record(
                            errors,
                            &format!("{at}/right"),
                            $monocular::new(right),
                        );
                        let left = crate::refraction::record(
                            errors,
                            &format!("{at}/left"),
                            $monocular::new(left),
                        );
                        Some(Self::Monocular {
                            right: right?,
                            left: left?,
                        })
                    }
                }
            }
        }

        impl TryFrom<PdInput> for $name {
            type Error = OpticsError;
            fn try_from(input: PdInput) -> Result<Self, Self::Error> {
                match input {
                    PdInput::Binocular(mm) => Self::binocular(mm),
                    PdInput::Monocular { right, left } => Self::monocular(right, left),
                }
            }
        }

        impl From<$name> for PdInput {
            fn from(pd: $name) -> PdInput {
                match pd {
                    $name::Binocular(pd) => PdInput::Binocular(pd.to_f64()),
                    $name::Monocular { right, left } => PdInput::Monocular {
                        right: right.to_f64(),
                        left: left.to_f64(),
                    },
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    Self::Binocular(pd) => pd.fmt(f),
                    Self::Monocular { right, left } => {
                        write!(f, "{}/{} mm", right.millimetres(), left.millimetres())
                    }
                }
            }
        }
    };
}

pd_type!(
    /// Pupillary distance for distance vision.
    PupillaryDistance, binocular = BinocularPd, monocular = MonocularPd
);
pd_type!(
    /// Pupillary distance for near vision (reading), usually 3–4 mm below the distance PD.
    NearPupillaryDistance, binocular = NearBinocularPd, monocular = NearMonocularPd
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binocular_pd_is_50_to_80_in_half_millimetres() {
        assert!(PupillaryDistance::binocular(50.0).is_ok());
        assert!(PupillaryDistance::binocular(80.0).is_ok());
        assert!(PupillaryDistance::binocular(63.5).is_ok());
        assert_eq!(
            PupillaryDistance::binocular(120.0),
            Err(OpticsError::OutOfRange {
                quantity: "PD",
                value: 120.0,
                min: 50.0,
                max: 80.0,
                unit: "mm"
            })
        );
        assert!(PupillaryDistance::binocular(49.5).is_err());
        assert_eq!(
            PupillaryDistance::binocular(63.2).map_err(|e| e.code()),
            Err("off_step")
        );
        assert!(PupillaryDistance::binocular(f64::NAN).is_err());
    }

    #[test]
    fn monocular_pd_is_25_to_40_per_eye() {
        let pd = PupillaryDistance::monocular(31.5, 32.0).unwrap();
        assert_eq!(pd.total(), Millimetres::from_tenths(635));
        assert_eq!(pd.to_string(), "31.5/32 mm");
        assert!(PupillaryDistance::monocular(25.0, 40.0).is_ok());
        assert!(PupillaryDistance::monocular(24.5, 32.0).is_err());
        assert!(PupillaryDistance::monocular(31.0, 40.5).is_err());
        assert!(PupillaryDistance::monocular(31.25, 32.0).is_err());
    }

    #[test]
    fn near_pd_allows_smaller_values() {
        assert!(NearPupillaryDistance::binocular(45.0).is_ok());
        assert!(NearPupillaryDistance::binocular(44.5).is_err());
        assert!(NearPupillaryDistance::monocular(22.5, 40.0).is_ok());
        assert!(NearPupillaryDistance::monocular(22.0, 30.0).is_err());
    }

    #[test]
    fn segment_height_is_10_to_35() {
        assert!(SegmentHeight::new(10.0).is_ok());
        assert!(SegmentHeight::new(35.0).is_ok());
        assert!(SegmentHeight::new(18.5).is_ok());
        assert!(SegmentHeight::new(9.5).is_err());
        assert!(SegmentHeight::new(35.5).is_err());
        assert!(SegmentHeight::new(18.3).is_err());
        assert_eq!(SegmentHeight::new(18.5).unwrap().to_string(), "18.5 mm");
    }

    #[test]
    fn millimetres_json_is_a_number_of_whole_tenths() {
        let length = Millimetres::from_tenths(523);
        assert_eq!(serde_json::to_string(&length).unwrap(), "52.3");
        assert_eq!(
            serde_json::to_value(Millimetres::from_tenths(640)).unwrap(),
            json!(64.0)
        );
        assert_eq!(serde_json::from_str::<Millimetres>("52.3").unwrap(), length);
        assert_eq!(
            serde_json::from_value::<Millimetres>(json!(64)).unwrap(),
            Millimetres::from_tenths(640)
        );
        for tenths in [0, 1, 3, 7, 299, 523, 635, 800, 1234] {
            let length = Millimetres::from_tenths(tenths);
            let json = serde_json::to_string(&length).unwrap();
            assert_eq!(serde_json::from_str::<Millimetres>(&json).unwrap(), length);
        }
        assert!(serde_json::from_value::<Millimetres>(json!(52.35)).is_err());
        assert!(serde_json::from_value::<Millimetres>(json!(-0.1)).is_err());
        assert!(serde_json::from_value::<Millimetres>(json!(1e12)).is_err());
        assert!(serde_json::from_value::<Millimetres>(json!("52")).is_err());
        assert_eq!(
            Millimetres::try_from(52.35).map_err(|e| e.code()),
            Err("off_step")
        );
    }

    #[test]
    fn pd_json_is_a_number_or_right_and_left() {
        let binocular = PupillaryDistance::binocular(63.5).unwrap();
        assert_eq!(serde_json::to_value(binocular).unwrap(), json!(63.5));
        let monocular = PupillaryDistance::monocular(31.5, 32.0).unwrap();
        assert_eq!(
            serde_json::to_value(monocular).unwrap(),
            json!({"right": 31.5, "left": 32.0})
        );
        for pd in [binocular, monocular] {
            let json = serde_json::to_string(&pd).unwrap();
            assert_eq!(
                serde_json::from_str::<PupillaryDistance>(&json).unwrap(),
                pd
            );
        }
        assert!(serde_json::from_value::<PupillaryDistance>(json!(120)).is_err());
        assert!(
            serde_json::from_value::<PupillaryDistance>(json!({"right": 20, "left": 32})).is_err()
        );
        assert!(serde_json::from_value::<PupillaryDistance>(json!({"right": 31})).is_err());
        assert!(serde_json::from_value::<SegmentHeight>(json!(40)).is_err());
    }
}
