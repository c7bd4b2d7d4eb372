//! ANSI Z80.1-2015 tolerances for finished spectacle lenses, and the final inspection of one
//! eye: what the lensmeter read ([`MeasuredEye`]) against what was ordered ([`EyeRx`]), with
//! a verdict and the applied [`Tolerance`] recorded per value ([`EyeInspection`]).
//!
//! | value | single vision & multifocal | progressive |
//! |---|---|---|
//! | sphere (meridian of highest absolute power) | ≤ 6.50 D: ±0.13 D, above: ±2 % | ≤ 8.00 D: ±0.16 D, above: ±2 % |
//! | cylinder | ≤ 2.00: ±0.13, ≤ 4.50: ±0.15, above: ±4 % | ≤ 2.00: ±0.16, ≤ 3.50: ±0.18, above: ±5 % |
//! | axis, by cylinder | ≤ 0.25: ±14°, ≤ 0.50: ±7°, ≤ 0.75: ±5°, ≤ 1.50: ±3°, above: ±2° | same |
//! | add | ≤ 4.00: ±0.12, above: ±0.18 | same |
//! | prism at the PRP | highest meridian ≤ 3.375 D: 0.33 Δ, above: what 1.0 mm induces | same |
//!
//! Every comparison is exact integer arithmetic on micro-dioptres: a value exactly on its
//! tolerance passes, anything beyond fails.

use crate::power::Dioptres;
use crate::refraction::EyeRx;
use crate::values::{Axis, Prism, PrismBase};
use serde::{Deserialize, Serialize};
use std::fmt;

const fn micro(micro: i32) -> Dioptres {
    Dioptres::from_micro(micro)
}

/// Which table of ANSI Z80.1 applies: progressive lenses get wider power tolerances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToleranceTable {
    SingleVisionMultifocal,
    Progressive,
}

impl ToleranceTable {
    pub const ALL: &'static [ToleranceTable] = &[
        ToleranceTable::SingleVisionMultifocal,
        ToleranceTable::Progressive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ToleranceTable::SingleVisionMultifocal => "single_vision_multifocal",
            ToleranceTable::Progressive => "progressive",
        }
    }
}

impl fmt::Display for ToleranceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tolerance that applied to one value, as recorded on the inspection.
///
/// `limit` is the resolved ± amount; for `Percent` it is |ordered| × percent / 100, exact for
/// every multiple of 0.125 D and rounded down otherwise (which, deviations being whole
/// micro-dioptres, admits exactly the deviations the percentage admits).
///
/// JSON: `{"kind": "dioptres", "limit": 0.13}`, `{"kind": "percent", "percent": 2,
/// "limit": 0.135}`, `{"kind": "degrees", "limit": 7}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tolerance {
    Dioptres { limit: Dioptres },
    Percent { percent: u8, limit: Dioptres },
    Degrees { limit: u16 },
}

impl Tolerance {
    const fn dioptres(micro_limit: i32) -> Self {
        Tolerance::Dioptres {
            limit: micro(micro_limit),
        }
    }

    /// `percent` % of |`of`|, exactly in integers.
    fn percent(percent: u8, of: Dioptres) -> Self {
        let limit = i64::from(of.micro()).abs() * i64::from(percent) / 100;
        Tolerance::Percent {
            percent,
            // Fits for every optical value; saturates only far outside them.
            limit: micro(i32::try_from(limit).unwrap_or(i32::MAX)),
        }
    }

    /// Whether a power `deviation` (either sign) is within this tolerance: |deviation| ≤
    /// limit. For `Percent` this is |deviation| × 100 ≤ |ordered| × percent, since the limit
    /// is that product rounded down and deviations are whole micro-dioptres. Always `false`
    /// for `Degrees`.
    pub fn allows_power(self, deviation: Dioptres) -> bool {
        match self {
            Tolerance::Dioptres { limit } | Tolerance::Percent { limit, .. } => {
                i64::from(deviation.micro()).abs() <= i64::from(limit.micro())
            }
            Tolerance::Degrees { .. } => false,
        }
    }

    /// Whether an axis deviation in degrees is within this tolerance. Always `false` for the
    /// power kinds.
    pub fn allows_degrees(self, deviation: u16) -> bool {
        match self {
            Tolerance::Degrees { limit } => deviation <= limit,
            Tolerance::Dioptres { .. } | Tolerance::Percent { .. } => false,
        }
    }
}

/// `±0.13 D`, `±2 % (±0.135 D)`, `±7°`.
impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unsigned = |d: Dioptres| d.to_string().trim_start_matches('+').to_owned();
        match *self {
            Tolerance::Dioptres { limit } => write!(f, "±{} D", unsigned(limit)),
            Tolerance::Percent { percent, limit } => {
                write!(f, "±{percent} % (±{} D)", unsigned(limit))
            }
            Tolerance::Degrees { limit } => write!(f, "±{limit}°"),
        }
    }
}

/// The absolute power of the lens's strongest principal meridian: max(|S|, |S + C|), the
/// same in either cylinder form.
fn highest_meridian(sphere: Dioptres, cylinder: Dioptres) -> Dioptres {
    sphere.abs().max((sphere + cylinder).abs())
}

/// The sphere tolerance, chosen by the meridian of highest absolute power of the ordered
/// lens: single vision/multifocal ±0.13 D up to 6.50 D, progressive ±0.16 D up to 8.00 D,
/// ±2 % of that meridian above.
pub fn sphere_tolerance(
    table: ToleranceTable,
    ordered_sphere: Dioptres,
    ordered_cylinder: Dioptres,
) -> Tolerance {
    let highest = highest_meridian(ordered_sphere, ordered_cylinder);
    let (up_to, fixed) = match table {
        ToleranceTable::SingleVisionMultifocal => (6_500_000, 130_000),
        ToleranceTable::Progressive => (8_000_000, 160_000),
    };
    if highest <= micro(up_to) {
        Tolerance::dioptres(fixed)
    } else {
        Tolerance::percent(2, highest)
    }
}

/// The cylinder tolerance, by the ordered |cylinder|: single vision/multifocal ±0.13 up to
/// 2.00 D, ±0.15 up to 4.50 D, ±4 % above; progressive ±0.16 up to 2.00, ±0.18 up to 3.50,
/// ±5 % above.
pub fn cylinder_tolerance(table: ToleranceTable, ordered_cylinder: Dioptres) -> Tolerance {
    let cylinder = ordered_cylinder.abs();
    let (low, middle_up_to, middle, percent) = match table {
        ToleranceTable::SingleVisionMultifocal => (130_000, 4_500_000, 150_000, 4),
        ToleranceTable::Progressive => (160_000, 3_500_000, 180_000, 5),
    };
    if cylinder <= micro(2_000_000) {
        Tolerance::dioptres(low)
    } else if cylinder <= micro(middle_up_to) {
        Tolerance::dioptres(middle)
    } else {
        Tolerance::percent(percent, cylinder)
    }
}

/// The axis tolerance, by the ordered |cylinder| (the weaker the cylinder, the less its axis
/// matters): ±14° up to 0.25 D, ±7° up to 0.50, ±5° up to 0.75, ±3° up to 1.50, ±2° above.
/// `None` for a spherical lens, which has no axis.
pub fn axis_tolerance(ordered_cylinder: Dioptres) -> Option<Tolerance> {
    let cylinder = ordered_cylinder.abs();
    let limit = if cylinder.is_zero() {
        return None;
    } else if cylinder <= micro(250_000) {
        14
    } else if cylinder <= micro(500_000) {
        7
    } else if cylinder <= micro(750_000) {
        5
    } else if cylinder <= micro(1_500_000) {
        3
    } else {
        2
    };
    Some(Tolerance::Degrees { limit })
}

/// The add tolerance: ±0.12 D up to +4.00 D, ±0.18 D above.
pub fn add_tolerance(ordered_add: Dioptres) -> Tolerance {
    if ordered_add.abs() <= micro(4_000_000) {
        Tolerance::dioptres(120_000)
    } else {
        Tolerance::dioptres(180_000)
    }
}

/// The prism tolerance at the prism reference point: 0.33 Δ while the meridian of highest
/// absolute power is at most 3.375 D; above, the prism 1.0 mm of decentration induces
/// (Prentice: 0.1 × |power| Δ). Both tables agree.
pub fn prism_tolerance(
    table: ToleranceTable,
    ordered_sphere: Dioptres,
    ordered_cylinder: Dioptres,
) -> Tolerance {
    match table {
        ToleranceTable::SingleVisionMultifocal | ToleranceTable::Progressive => {}
    }
    let highest = highest_meridian(ordered_sphere, ordered_cylinder);
    if highest <= micro(3_375_000) {
        Tolerance::dioptres(330_000)
    } else {
        // 0.1 cm × F: a tenth of the power, rounded down (see `Tolerance`).
        Tolerance::dioptres(highest.micro() / 10)
    }
}

/// What the lensmeter read on one finished lens, in either cylinder form: plus-cylinder
/// readings are transposed to minus-cylinder form before comparing. Readings are arbitrary
/// micro-dioptre values, not prescription steps.
///
/// JSON: `{"sphere": -2.01, "cylinder": -0.5, "axis": 92, "add": null, "prism": null}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MeasuredEye {
    pub sphere: Dioptres,
    pub cylinder: Dioptres,
    pub axis: Option<Axis>,
    pub add: Option<Dioptres>,
    pub prism: Option<MeasuredPrism>,
}

impl MeasuredEye {
    /// The same reading in minus-cylinder form (sphere + cylinder, cylinder negated, axis
    /// turned by 90°); a minus or zero cylinder is returned as read.
    pub fn to_minus_cylinder(&self) -> Self {
        if self.cylinder <= Dioptres::ZERO {
            return *self;
        }
        Self {
            sphere: self.sphere + self.cylinder,
            cylinder: -self.cylinder,
            axis: self.axis.map(Axis::perpendicular),
            ..*self
        }
    }
}

/// A prism read at the prism reference point. The amount is taken as read; a negative amount
/// counts as the opposite base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MeasuredPrism {
    pub amount: Dioptres,
    pub base: PrismBase,
}

/// One power's verdict; `deviation` is measured − ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PowerCheck {
    pub ordered: Dioptres,
    pub measured: Dioptres,
    pub deviation: Dioptres,
    pub tolerance: Tolerance,
    pub passed: bool,
}

impl PowerCheck {
    fn new(ordered: Dioptres, measured: Dioptres, tolerance: Tolerance) -> Self {
        let deviation = measured - ordered;
        Self {
            ordered,
            measured,
            deviation,
            tolerance,
            passed: tolerance.allows_power(deviation),
        }
    }
}

/// The axis verdict; `deviation_degrees` is the circular difference, 0–90 (179° and 1° are
/// 2° apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AxisCheck {
    pub ordered: Axis,
    pub measured: Axis,
    pub deviation_degrees: u16,
    pub tolerance: Tolerance,
    pub passed: bool,
}

impl AxisCheck {
    fn new(ordered: Axis, measured: Axis, tolerance: Tolerance) -> Self {
        let apart = ordered.degrees().abs_diff(measured.degrees());
        let deviation_degrees = apart.min(180 - apart);
        Self {
            ordered,
            measured,
            deviation_degrees,
            tolerance,
            passed: tolerance.allows_degrees(deviation_degrees),
        }
    }
}

/// The prism verdict. Prism is compared as a vector in the lens plane (base in/out
/// horizontal, up/down vertical): `deviation` = |measured − ordered| (an absent prism is
/// zero), rounded to 0.01 Δ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrismCheck {
    pub ordered: Option<Prism>,
    pub measured: Option<MeasuredPrism>,
    pub deviation: Dioptres,
    pub tolerance: Tolerance,
    pub passed: bool,
}

impl PrismCheck {
    fn new(ordered: Option<Prism>, measured: Option<MeasuredPrism>, tolerance: Tolerance) -> Self {
        let ordered_vector = ordered.map_or((0, 0), |p| prism_vector(p.amount.dioptres(), p.base));
        let measured_vector = measured.map_or((0, 0), |p| prism_vector(p.amount, p.base));
        let deviation = prism_distance(ordered_vector, measured_vector);
        Self {
            ordered,
            measured,
            deviation,
            tolerance,
            passed: tolerance.allows_power(deviation),
        }
    }
}

/// (horizontal, vertical) in micro-prism-dioptres; in and up count positive.
fn prism_vector(amount: Dioptres, base: PrismBase) -> (i64, i64) {
    let amount = i64::from(amount.micro());
    match base {
        PrismBase::In => (amount, 0),
        PrismBase::Out => (-amount, 0),
        PrismBase::Up => (0, amount),
        PrismBase::Down => (0, -amount),
    }
}

/// The length of `a − b`, rounded to 0.01 Δ (halves up), with integers only.
fn prism_distance(a: (i64, i64), b: (i64, i64)) -> Dioptres {
    let (dx, dy) = (a.0.abs_diff(b.0), a.1.abs_diff(b.1));
    let squared = u128::from(dx) * u128::from(dx) + u128::from(dy) * u128::from(dy);
    // With k = ⌊√(4·|d|² / 10⁸)⌋ = ⌊2·|d| in hundredths⌋, ⌈k / 2⌉ is |d| in hundredths
    // rounded half up: ⌊√⌊x⌋⌋ = ⌊√x⌋ keeps the integer division exact.
    let doubled_hundredths = (4 * squared / 100_000_000).isqrt();
    let hundredths = doubled_hundredths.div_ceil(2);
    micro(i32::try_from(hundredths * 10_000).unwrap_or(i32::MAX))
}

/// The result of a final inspection of one finished lens: one check per value and the
/// overall verdict (every check passed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EyeInspection {
    pub sphere: PowerCheck,
    pub cylinder: PowerCheck,
    /// Present exactly when the ordered lens has a cylinder.
    pub axis: Option<AxisCheck>,
    /// Present exactly when the ordered lens has an add.
    pub add: Option<PowerCheck>,
    pub prism: PrismCheck,
    pub passed: bool,
}

/// A measurement the inspection needs is missing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InspectionError {
    #[error("measured {value} is missing")]
    MissingMeasurement { value: &'static str },
}

impl InspectionError {
    /// A stable, snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            InspectionError::MissingMeasurement { .. } => "missing_measurement",
        }
    }
}

/// Inspects one finished lens against its order with the tolerances of `table`.
///
/// Both sides are compared in minus-cylinder form. The sphere tolerance follows the ordered
/// lens's meridian of highest power. An axis check exists only when the ordered cylinder is
/// not zero: a measured (nonzero) cylinder then needs its axis. When the lens measures with
/// no cylinder at all, it has no axis to compare: the axis check is recorded as failed, 90°
/// off (the ordered axis turned by 90° as the measured one), since the ordered cylinder's
/// orientation cannot be confirmed. An add is required when one was ordered; a measured add
/// on a lens ordered without one is ignored. No measured prism means none.
pub fn inspect_eye(
    table: ToleranceTable,
    ordered: &EyeRx,
    measured: &MeasuredEye,
) -> Result<EyeInspection, InspectionError> {
    let ordered = ordered.to_minus_cylinder();
    let measured = measured.to_minus_cylinder();
    let ordered_sphere = ordered.sphere().dioptres();
    let ordered_cylinder = ordered.cylinder().dioptres();

    let axis = match (ordered.axis(), axis_tolerance(ordered_cylinder)) {
        (Some(ordered_axis), Some(tolerance)) => Some(if measured.cylinder.is_zero() {
            AxisCheck {
                ordered: ordered_axis,
                measured: ordered_axis.perpendicular(),
                deviation_degrees: 90,
                tolerance,
                passed: false,
            }
        } else {
            let measured_axis = measured
                .axis
                .ok_or(InspectionError::MissingMeasurement { value: "axis" })?;
            AxisCheck::new(ordered_axis, measured_axis, tolerance)
        }),
        // EyeRx holds an axis exactly when its cylinder is nonzero.
        _ => None,
    };
    let add = match ordered.add() {
        None => None,
        Some(ordered_add) => {
            let ordered_add = ordered_add.dioptres();
            let measured_add = measured
                .add
                .ok_or(InspectionError::MissingMeasurement { value: "add" })?;
            Some(PowerCheck::new(
                ordered_add,
                measured_add,
                add_tolerance(ordered_add),
            ))
        }
    };
    let sphere = PowerCheck::new(
        ordered_sphere,
        measured.sphere,
        sphere_tolerance(table, ordered_sphere, ordered_cylinder),
    );
    let cylinder = PowerCheck::new(
        ordered_cylinder,
        measured.cylinder,
        cylinder_tolerance(table, ordered_cylinder),
    );
    let prism = PrismCheck::new(
        ordered.prism(),
        measured.prism,
        prism_tolerance(table, ordered_sphere, ordered_cylinder),
    );
    let passed = sphere.passed
        && cylinder.passed
        && axis.is_none_or(|check| check.passed)
        && add.is_none_or(|check| check.passed)
        && prism.passed;
    Ok(EyeInspection {
        sphere,
        cylinder,
        axis,
        add,
        prism,
        passed,
    })
}

#[cfg(test)]
mod tests;
