//! The smaller optical values: the cylinder [`Axis`], a prescribed [`Prism`] with its
//! [`PrismBase`], and which [`Eye`].

use crate::error::OpticsError;
use crate::power::PrismAmount;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The axis of a cylinder, in whole degrees from 1 to 180 (TABO). A horizontal axis is 180,
/// never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Axis(u16);

impl Axis {
    pub const MIN: u16 = 1;
    pub const MAX: u16 = 180;

    pub fn new(degrees: u16) -> Result<Self, OpticsError> {
        if !(Self::MIN..=Self::MAX).contains(&degrees) {
            return Err(OpticsError::AxisOutOfRange {
                value: f64::from(degrees),
            });
        }
        Ok(Self(degrees))
    }

    /// Parses a raw number: finite, whole, 1–180.
    pub fn from_f64(degrees: f64) -> Result<Self, OpticsError> {
        if !degrees.is_finite() {
            return Err(OpticsError::NotFinite { quantity: "axis" });
        }
        if degrees.fract() != 0.0 {
            return Err(OpticsError::AxisNotWhole { value: degrees });
        }
        if !(f64::from(Self::MIN)..=f64::from(Self::MAX)).contains(&degrees) {
            return Err(OpticsError::AxisOutOfRange { value: degrees });
        }
        // Whole and within 1..=180: the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Self(degrees as u16))
    }

    pub fn degrees(self) -> u16 {
        self.0
    }

    /// The axis at right angles, kept in 1–180: 90 ↔ 180, 30 ↔ 120.
    pub fn perpendicular(self) -> Self {
        if self.0 > 90 {
            Self(self.0 - 90)
        } else {
            Self(self.0 + 90)
        }
    }
}

impl TryFrom<u16> for Axis {
    type Error = OpticsError;
    fn try_from(degrees: u16) -> Result<Self, Self::Error> {
        Self::new(degrees)
    }
}

impl From<Axis> for u16 {
    fn from(axis: Axis) -> u16 {
        axis.0
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// Where the base of a prism points, seen from the wearer: towards the nose (`in`), the
/// temple (`out`), up or down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrismBase {
    In,
    Out,
    Up,
    Down,
}

impl PrismBase {
    /// Every value, in declaration order (the order of an Avro enum's symbols).
    pub const ALL: &'static [PrismBase] = &[
        PrismBase::In,
        PrismBase::Out,
        PrismBase::Up,
        PrismBase::Down,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PrismBase::In => "in",
            PrismBase::Out => "out",
            PrismBase::Up => "up",
            PrismBase::Down => "down",
        }
    }
}

impl fmt::Display for PrismBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A prescribed prism: an amount in prism dioptres and the direction of its base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Prism {
    pub amount: PrismAmount,
    pub base: PrismBase,
}

impl fmt::Display for Prism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = self.amount.dioptres().to_string();
        write!(f, "{}Δ base {}", amount.trim_start_matches('+'), self.base)
    }
}

/// One of the two eyes; `right` is OD, `left` is OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eye {
    Right,
    Left,
}

impl Eye {
    pub const BOTH: [Eye; 2] = [Eye::Right, Eye::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            Eye::Right => "right",
            Eye::Left => "left",
        }
    }
}

impl fmt::Display for Eye {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Precision;
    use serde_json::json;

    #[test]
    fn axis_is_1_to_180() {
        assert_eq!(Axis::new(1).unwrap().degrees(), 1);
        assert_eq!(Axis::new(180).unwrap().degrees(), 180);
        assert_eq!(
            Axis::new(0),
            Err(OpticsError::AxisOutOfRange { value: 0.0 })
        );
        assert!(Axis::new(181).is_err());
        assert_eq!(Axis::from_f64(90.0).unwrap().degrees(), 90);
        assert_eq!(
            Axis::from_f64(90.5),
            Err(OpticsError::AxisNotWhole { value: 90.5 })
        );
        assert!(Axis::from_f64(0.0).is_err());
        assert!(Axis::from_f64(-90.0).is_err());
        assert!(Axis::from_f64(f64::NAN).is_err());
        assert!(Axis::from_f64(1e300).is_err());
        assert_eq!(Axis::new(5).unwrap().to_string(), "005");
    }

    #[test]
    fn perpendicular_axis_stays_in_1_to_180() {
        for (from, to) in [(90, 180), (180, 90), (1, 91), (91, 1), (30, 120), (120, 30)] {
            assert_eq!(Axis::new(from).unwrap().perpendicular().degrees(), to);
        }
        for degrees in 1..=180 {
            let axis = Axis::new(degrees).unwrap();
            assert_eq!(axis.perpendicular().perpendicular(), axis);
        }
    }

    #[test]
    fn axis_is_validated_when_deserialised() {
        assert_eq!(
            serde_json::to_value(Axis::new(90).unwrap()).unwrap(),
            json!(90)
        );
        assert!(serde_json::from_value::<Axis>(json!(0)).is_err());
        assert!(serde_json::from_value::<Axis>(json!(181)).is_err());
        assert!(serde_json::from_value::<Axis>(json!(90.5)).is_err());
    }

    #[test]
    fn prism_json_and_display() {
        let prism = Prism {
            amount: PrismAmount::new(1.5, Precision::Prescription).unwrap(),
            base: PrismBase::In,
        };
        assert_eq!(
            serde_json::to_value(prism).unwrap(),
            json!({"amount": 1.5, "base": "in"})
        );
        assert_eq!(prism.to_string(), "1.50Δ base in");
        assert!(serde_json::from_value::<Prism>(json!({"amount": 1.5, "base": "left"})).is_err());
        assert!(serde_json::from_value::<Prism>(json!({"amount": 0, "base": "in"})).is_err());
        for base in PrismBase::ALL {
            assert_eq!(serde_json::to_value(base).unwrap(), json!(base.as_str()));
        }
    }
}
