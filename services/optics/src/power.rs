//! Optical powers: an exact [`Dioptres`] quantity, the [`Precision`] a value was measured to,
//! the configured [`PrescriptionLimits`], and the validated powers of a prescription —
//! [`Sphere`], [`Cylinder`], [`Addition`] and [`PrismAmount`].
//!
//! Powers are exact integers inside (micro-dioptres), never floats. On the wire they are JSON
//! numbers in dioptres (`-2.25`): every valid power is a multiple of 0.125, which a binary
//! float holds exactly, so nothing is rounded on the way in or out.

use crate::error::OpticsError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, Neg, Sub};

const MICRO_PER_DIOPTRE: i64 = 1_000_000;
const MICRO_PER_EIGHTH: i32 = 125_000;

/// An exact optical power (or prism amount), counted in micro-dioptres.
///
/// Fine enough for every value optics computes exactly: powers in eighths of a dioptre and
/// spherical equivalents in sixteenths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dioptres(i32);

impl Dioptres {
    pub const ZERO: Dioptres = Dioptres(0);

    pub const fn from_micro(micro: i32) -> Self {
        Self(micro)
    }

    /// `eighths` × 0.125 D (saturating far outside any optical value).
    pub const fn from_eighths(eighths: i32) -> Self {
        Self(eighths.saturating_mul(MICRO_PER_EIGHTH))
    }

    /// The nearest micro-dioptre to `value` dioptres; for general numbers (measured values,
    /// configuration). Prescription values are parsed exactly by their own types instead.
    pub fn from_f64(value: f64) -> Result<Self, OpticsError> {
        let micro = (value * 1e6).round();
        if !micro.is_finite() || micro.abs() > f64::from(i32::MAX) {
            return Err(OpticsError::NotFinite { quantity: "power" });
        }
        // In range and integral: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        Ok(Self(micro as i32))
    }

    pub const fn micro(self) -> i32 {
        self.0
    }

    /// The value in dioptres. Exact for every multiple of 1/16 D (all values optics builds).
    pub fn to_f64(self) -> f64 {
        f64::from(self.0) / 1e6
    }

    /// The value in eighths of a dioptre, if it is a whole number of them.
    pub fn eighths(self) -> Option<i32> {
        (self.0 % MICRO_PER_EIGHTH == 0).then_some(self.0 / MICRO_PER_EIGHTH)
    }

    pub fn abs(self) -> Self {
        Self(self.0.saturating_abs())
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add for Dioptres {
    type Output = Dioptres;
    fn add(self, other: Dioptres) -> Dioptres {
        Dioptres(self.0.saturating_add(other.0))
    }
}

impl Sub for Dioptres {
    type Output = Dioptres;
    fn sub(self, other: Dioptres) -> Dioptres {
        Dioptres(self.0.saturating_sub(other.0))
    }
}

impl Neg for Dioptres {
    type Output = Dioptres;
    fn neg(self) -> Dioptres {
        Dioptres(self.0.saturating_neg())
    }
}

/// Signed, with at least two decimals and as many more as the value needs:
/// `+2.25`, `-0.50`, `+0.00`, `+1.125`, `-1.0625`.
impl fmt::Display for Dioptres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micro = i64::from(self.0);
        let sign = if micro < 0 { '-' } else { '+' };
        let (whole, fraction) = (
            micro.abs() / MICRO_PER_DIOPTRE,
            micro.abs() % MICRO_PER_DIOPTRE,
        );
        let mut digits = format!("{fraction:06}");
        while digits.len() > 2 && digits.ends_with('0') {
            digits.pop();
        }
        write!(f, "{sign}{whole}.{digits}")
    }
}

impl Serialize for Dioptres {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de> Deserialize<'de> for Dioptres {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Dioptres::from_f64(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// How finely a value was measured: prescriptions are written in 0.25 D steps; lab data
/// (lensmeter readings, lab orders) may be in 0.125 D steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    #[default]
    Prescription,
    LabData,
}

impl Precision {
    /// The step every power must be a multiple of.
    pub fn step(self) -> Dioptres {
        Dioptres::from_eighths(self.step_eighths())
    }

    fn step_eighths(self) -> i32 {
        match self {
            Precision::Prescription => 2,
            Precision::LabData => 1,
        }
    }
}

/// `value` as a whole number of eighths of a dioptre, exactly, or `None`. Multiplying by 8
/// only shifts the binary exponent, so no rounding can make an off-grid value look on-grid.
pub(crate) fn exact_eighths(value: f64) -> Option<i32> {
    let eighths = value * 8.0;
    if !eighths.is_finite() || eighths.fract() != 0.0 || eighths.abs() > 1e6 {
        return None;
    }
    // Integral and small: the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    Some(eighths as i32)
}

/// Parses a power in dioptres: finite, within `min..=max`, a multiple of the precision's step.
pub(crate) fn parse_power(
    quantity: &'static str,
    unit: &'static str,
    value: f64,
    precision: Precision,
    min: Dioptres,
    max: Dioptres,
) -> Result<Dioptres, OpticsError> {
    if !value.is_finite() {
        return Err(OpticsError::NotFinite { quantity });
    }
    if value < min.to_f64() || value > max.to_f64() {
        return Err(OpticsError::OutOfRange {
            quantity,
            value,
            min: min.to_f64(),
            max: max.to_f64(),
            unit,
        });
    }
    let step = precision.step_eighths();
    match exact_eighths(value) {
        Some(eighths) if eighths % step == 0 => Ok(Dioptres::from_eighths(eighths)),
        _ => Err(OpticsError::OffStep {
            quantity,
            value,
            step: precision.step().to_f64(),
            unit,
        }),
    }
}

/// The sphere and cylinder a tenant accepts, configured per deployment or tenant.
///
/// Limits are checked on the values as written and again on the stored minus-cylinder form.
/// They lie within the absolute bounds of [`Sphere`] and [`Cylinder`] and include zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LimitsWire", into = "LimitsWire")]
pub struct PrescriptionLimits {
    sphere_min: Dioptres,
    sphere_max: Dioptres,
    cylinder_min: Dioptres,
    cylinder_max: Dioptres,
}

impl Default for PrescriptionLimits {
    /// Sphere −30.00…+30.00 D, cylinder −10.00…+10.00 D.
    fn default() -> Self {
        Self {
            sphere_min: Dioptres::from_eighths(-240),
            sphere_max: Dioptres::from_eighths(240),
            cylinder_min: Dioptres::from_eighths(-80),
            cylinder_max: Dioptres::from_eighths(80),
        }
    }
}

impl PrescriptionLimits {
    /// Limits in dioptres, each a multiple of 0.25 D, `min <= 0 <= max`, within the absolute
    /// bounds of [`Sphere`] and [`Cylinder`].
    pub fn new(
        sphere_min: f64,
        sphere_max: f64,
        cylinder_min: f64,
        cylinder_max: f64,
    ) -> Result<Self, OpticsError> {
        let invalid = |reason| OpticsError::InvalidLimits { reason };
        let bound = |value: f64, min: Dioptres, max: Dioptres| {
            parse_power("limit", "D", value, Precision::Prescription, min, max)
        };
        let sphere_min = bound(sphere_min, Sphere::MIN, Dioptres::ZERO)
            .map_err(|_| invalid("sphere_min must be a 0.25 D step from -50.00 to 0.00"))?;
        let sphere_max = bound(sphere_max, Dioptres::ZERO, Sphere::MAX)
            .map_err(|_| invalid("sphere_max must be a 0.25 D step from 0.00 to +50.00"))?;
        let cylinder_min = bound(cylinder_min, Cylinder::MIN, Dioptres::ZERO)
            .map_err(|_| invalid("cylinder_min must be a 0.25 D step from -20.00 to 0.00"))?;
        let cylinder_max = bound(cylinder_max, Dioptres::ZERO, Cylinder::MAX)
            .map_err(|_| invalid("cylinder_max must be a 0.25 D step from 0.00 to +20.00"))?;
        Ok(Self {
            sphere_min,
            sphere_max,
            cylinder_min,
            cylinder_max,
        })
    }

    pub fn sphere_min(&self) -> Dioptres {
        self.sphere_min
    }

    pub fn sphere_max(&self) -> Dioptres {
        self.sphere_max
    }

    pub fn cylinder_min(&self) -> Dioptres {
        self.cylinder_min
    }

    pub fn cylinder_max(&self) -> Dioptres {
        self.cylinder_max
    }
}

#[derive(Serialize, Deserialize)]
struct LimitsWire {
    sphere_min: f64,
    sphere_max: f64,
    cylinder_min: f64,
    cylinder_max: f64,
}

impl TryFrom<LimitsWire> for PrescriptionLimits {
    type Error = OpticsError;
    fn try_from(w: LimitsWire) -> Result<Self, Self::Error> {
        Self::new(w.sphere_min, w.sphere_max, w.cylinder_min, w.cylinder_max)
    }
}

impl From<PrescriptionLimits> for LimitsWire {
    fn from(l: PrescriptionLimits) -> Self {
        Self {
            sphere_min: l.sphere_min.to_f64(),
            sphere_max: l.sphere_max.to_f64(),
            cylinder_min: l.cylinder_min.to_f64(),
            cylinder_max: l.cylinder_max.to_f64(),
        }
    }
}

/// Declares a power value object: serialised as a number of dioptres, and deserialised
/// through `TryFrom<f64>` with lab-data precision and the type's absolute bounds.
macro_rules! power_type {
    ($(#[$meta:meta])* $name:ident, quantity = $quantity:literal, unit = $unit:literal,
     min = $min:expr, max = $max:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "f64", into = "f64")]
        pub struct $name(Dioptres);

        impl $name {
            /// The lowest value any configuration may allow.
            pub const MIN: Dioptres = $min;
            /// The highest value any configuration may allow.
            pub const MAX: Dioptres = $max;

            pub fn dioptres(self) -> Dioptres {
                self.0
            }

            pub fn to_f64(self) -> f64 {
                self.0.to_f64()
            }

            fn within(
                value: f64,
                precision: Precision,
                min: Dioptres,
                max: Dioptres,
            ) -> Result<Self, OpticsError> {
                parse_power(
                    $quantity,
                    $unit,
                    value,
                    precision,
                    min.max(Self::MIN),
                    max.min(Self::MAX),
                )
                .map(Self)
            }
        }

        impl TryFrom<f64> for $name {
            type Error = OpticsError;
            /// Any value that can be stored: lab-data precision, absolute bounds.
            fn try_from(value: f64) -> Result<Self, Self::Error> {
                Self::within(value, Precision::LabData, Self::MIN, Self::MAX)
            }
        }

        impl From<$name> for f64 {
            fn from(value: $name) -> f64 {
                value.to_f64()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

power_type!(
    /// The spherical power of a lens, in dioptres; negative for myopia, positive for hyperopia.
    Sphere, quantity = "sphere", unit = "D",
    min = Dioptres::from_eighths(-400), max = Dioptres::from_eighths(400)
);
power_type!(
    /// The cylindrical (astigmatic) power, in dioptres; zero for a spherical lens. Any sign is
    /// a valid value; a stored [`crate::Refraction`] holds only minus cylinders.
    Cylinder, quantity = "cylinder", unit = "D",
    min = Dioptres::from_eighths(-160), max = Dioptres::from_eighths(160)
);
power_type!(
    /// The near addition of a multifocal lens: +0.75 to +4.00 D.
    Addition, quantity = "add", unit = "D",
    min = Dioptres::from_eighths(6), max = Dioptres::from_eighths(32)
);
power_type!(
    /// The amount of a prescribed prism, in prism dioptres (Δ): 0.25 (0.125 for lab data)
    /// to 10.00 Δ. A lens without prism has no prism at all, not a zero one.
    PrismAmount, quantity = "prism", unit = "Δ",
    min = Dioptres::from_eighths(1), max = Dioptres::from_eighths(80)
);

impl Sphere {
    pub const PLANO: Sphere = Sphere(Dioptres::ZERO);

    /// A sphere as written: in the configured limits and a multiple of the precision's step.
    pub fn new(
        value: f64,
        precision: Precision,
        limits: &PrescriptionLimits,
    ) -> Result<Self, OpticsError> {
        Self::within(value, precision, limits.sphere_min, limits.sphere_max)
    }

    /// A sphere from a value already known to be in the absolute bounds and on the grid.
    pub(crate) fn from_valid(power: Dioptres) -> Self {
        Self(power)
    }
}

impl Cylinder {
    pub const ZERO: Cylinder = Cylinder(Dioptres::ZERO);

    /// A cylinder as written: in the configured limits and a multiple of the precision's step.
    pub fn new(
        value: f64,
        precision: Precision,
        limits: &PrescriptionLimits,
    ) -> Result<Self, OpticsError> {
        Self::within(value, precision, limits.cylinder_min, limits.cylinder_max)
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub(crate) fn negated(self) -> Self {
        Self(-self.0)
    }
}

impl Addition {
    pub fn new(value: f64, precision: Precision) -> Result<Self, OpticsError> {
        Self::within(value, precision, Self::MIN, Self::MAX)
    }
}

impl PrismAmount {
    pub fn new(value: f64, precision: Precision) -> Result<Self, OpticsError> {
        Self::within(value, precision, precision.step(), Self::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> PrescriptionLimits {
        PrescriptionLimits::default()
    }

    #[test]
    fn dioptres_display_signed_with_the_decimals_they_need() {
        assert_eq!(Dioptres::from_eighths(18).to_string(), "+2.25");
        assert_eq!(Dioptres::from_eighths(-4).to_string(), "-0.50");
        assert_eq!(Dioptres::ZERO.to_string(), "+0.00");
        assert_eq!(Dioptres::from_eighths(9).to_string(), "+1.125");
        assert_eq!(Dioptres::from_micro(-1_062_500).to_string(), "-1.0625");
        assert_eq!(Dioptres::from_eighths(-240).to_string(), "-30.00");
    }

    #[test]
    fn dioptres_are_exact_in_eighths() {
        assert_eq!(Dioptres::from_eighths(-18).to_f64(), -2.25);
        assert_eq!(Dioptres::from_eighths(-18).eighths(), Some(-18));
        assert_eq!(Dioptres::from_micro(62_500).eighths(), None);
        assert_eq!(Dioptres::from_f64(2.13).unwrap().micro(), 2_130_000);
        assert!(Dioptres::from_f64(f64::NAN).is_err());
        assert!(Dioptres::from_f64(1e9).is_err());
        assert_eq!(
            Dioptres::from_eighths(3) + Dioptres::from_eighths(-5),
            Dioptres::from_eighths(-2)
        );
        assert_eq!(-Dioptres::from_eighths(3), Dioptres::from_eighths(-3));
    }

    #[test]
    fn sphere_takes_quarter_steps_for_prescriptions_and_eighths_for_lab_data() {
        let rx = Precision::Prescription;
        assert_eq!(
            Sphere::new(-2.25, rx, &limits()).unwrap().dioptres(),
            Dioptres::from_eighths(-18)
        );
        assert_eq!(
            Sphere::new(-2.10, rx, &limits()),
            Err(OpticsError::OffStep {
                quantity: "sphere",
                value: -2.10,
                step: 0.25,
                unit: "D"
            })
        );
        assert_eq!(
            Sphere::new(-2.125, rx, &limits()).map_err(|e| e.code()),
            Err("off_step")
        );
        assert!(Sphere::new(-2.125, Precision::LabData, &limits()).is_ok());
        assert!(Sphere::new(-2.0625, Precision::LabData, &limits()).is_err());
        assert_eq!(
            Sphere::new(f64::NAN, rx, &limits()),
            Err(OpticsError::NotFinite { quantity: "sphere" })
        );
        assert!(Sphere::new(f64::INFINITY, rx, &limits()).is_err());
    }

    #[test]
    fn sphere_and_cylinder_respect_the_configured_limits() {
        let rx = Precision::Prescription;
        assert!(Sphere::new(30.0, rx, &limits()).is_ok());
        assert!(Sphere::new(-30.0, rx, &limits()).is_ok());
        assert_eq!(
            Sphere::new(30.25, rx, &limits()),
            Err(OpticsError::OutOfRange {
                quantity: "sphere",
                value: 30.25,
                min: -30.0,
                max: 30.0,
                unit: "D"
            })
        );
        assert!(Cylinder::new(-10.0, rx, &limits()).is_ok());
        assert!(Cylinder::new(10.0, rx, &limits()).is_ok());
        assert!(Cylinder::new(-10.25, rx, &limits()).is_err());
        let narrow = PrescriptionLimits::new(-12.0, 8.0, -4.0, 0.0).unwrap();
        assert!(Sphere::new(-12.0, rx, &narrow).is_ok());
        assert!(Sphere::new(-12.25, rx, &narrow).is_err());
        assert!(Sphere::new(8.25, rx, &narrow).is_err());
        assert!(Cylinder::new(0.25, rx, &narrow).is_err());
        assert!(Cylinder::new(-4.25, rx, &narrow).is_err());
    }

    #[test]
    fn limits_are_validated() {
        assert_eq!(
            PrescriptionLimits::new(-30.0, 30.0, -10.0, 10.0),
            Ok(PrescriptionLimits::default())
        );
        for (s_min, s_max, c_min, c_max) in [
            (-60.0, 30.0, -10.0, 10.0),
            (1.0, 30.0, -10.0, 10.0),
            (-30.0, -1.0, -10.0, 10.0),
            (-30.0, 30.0, -25.0, 10.0),
            (-30.0, 30.0, -10.0, 10.1),
            (f64::NAN, 30.0, -10.0, 10.0),
        ] {
            assert_eq!(
                PrescriptionLimits::new(s_min, s_max, c_min, c_max).map_err(|e| e.code()),
                Err("invalid_limits")
            );
        }
        let json = serde_json::to_value(PrescriptionLimits::default()).unwrap();
        assert_eq!(
            json,
            json!({"sphere_min": -30.0, "sphere_max": 30.0, "cylinder_min": -10.0, "cylinder_max": 10.0})
        );
        assert_eq!(
            serde_json::from_value::<PrescriptionLimits>(json).unwrap(),
            PrescriptionLimits::default()
        );
        assert!(serde_json::from_value::<PrescriptionLimits>(
            json!({"sphere_min": 5, "sphere_max": 30, "cylinder_min": -10, "cylinder_max": 10})
        )
        .is_err());
    }

    #[test]
    fn addition_is_from_plus_0_75_to_plus_4_00() {
        let rx = Precision::Prescription;
        assert!(Addition::new(0.75, rx).is_ok());
        assert!(Addition::new(4.0, rx).is_ok());
        assert_eq!(
            Addition::new(0.5, rx).map_err(|e| e.code()),
            Err("out_of_range")
        );
        assert_eq!(
            Addition::new(4.25, rx).map_err(|e| e.code()),
            Err("out_of_range")
        );
        assert_eq!(
            Addition::new(0.0, rx).map_err(|e| e.code()),
            Err("out_of_range")
        );
        assert_eq!(
            Addition::new(-1.0, rx).map_err(|e| e.code()),
            Err("out_of_range")
        );
        assert_eq!(
            Addition::new(2.1, rx).map_err(|e| e.code()),
            Err("off_step")
        );
        assert!(Addition::new(2.125, Precision::LabData).is_ok());
        assert!(Addition::new(2.125, rx).is_err());
    }

    #[test]
    fn prism_amount_is_positive_and_bounded() {
        let rx = Precision::Prescription;
        assert!(PrismAmount::new(0.25, rx).is_ok());
        assert!(PrismAmount::new(10.0, rx).is_ok());
        assert!(PrismAmount::new(0.0, rx).is_err());
        assert!(PrismAmount::new(-1.0, rx).is_err());
        assert!(PrismAmount::new(10.25, rx).is_err());
        assert!(PrismAmount::new(0.125, rx).is_err());
        assert!(PrismAmount::new(0.125, Precision::LabData).is_ok());
        assert_eq!(
            PrismAmount::new(11.0, rx).unwrap_err().to_string(),
            "prism 11 Δ is outside the allowed range 0.25 to 10 Δ"
        );
    }

    #[test]
    fn powers_are_validated_when_deserialised() {
        assert_eq!(
            serde_json::to_value(Sphere::new(-2.25, Precision::Prescription, &limits()).unwrap())
                .unwrap(),
            json!(-2.25)
        );
        assert_eq!(
            serde_json::from_value::<Sphere>(json!(-2.125))
                .unwrap()
                .to_f64(),
            -2.125
        );
        assert!(serde_json::from_value::<Sphere>(json!(-2.1)).is_err());
        assert!(serde_json::from_value::<Sphere>(json!(50.25)).is_err());
        assert!(serde_json::from_value::<Sphere>(json!("-2.25")).is_err());
        assert!(serde_json::from_value::<Cylinder>(json!(20.25)).is_err());
        assert!(serde_json::from_value::<Cylinder>(json!(3.0)).is_ok());
        assert!(serde_json::from_value::<Addition>(json!(0.5)).is_err());
        assert!(serde_json::from_value::<PrismAmount>(json!(0)).is_err());
        assert_eq!(
            serde_json::from_value::<Dioptres>(json!(2.13)).unwrap(),
            Dioptres::from_micro(2_130_000)
        );
    }

    #[test]
    fn precision_uses_snake_case() {
        assert_eq!(
            serde_json::to_value(Precision::LabData).unwrap(),
            json!("lab_data")
        );
        assert_eq!(Precision::Prescription.step().to_f64(), 0.25);
        assert_eq!(Precision::LabData.step().to_f64(), 0.125);
    }
}
