//! A refraction: the prescription values of both eyes ([`EyeRx`]) with the pupillary
//! distances, stored canonically in minus-cylinder form; its transposition; and the boundary
//! parser that turns raw numbers ([`RefractionInput`]) into a [`Refraction`], reporting every
//! invalid field at once.

use crate::distance::{NearPupillaryDistance, PdInput, PupillaryDistance, SegmentHeight};
use crate::error::{FieldError, OpticsError};
use crate::power::{
    Addition, Cylinder, Dioptres, Precision, PrescriptionLimits, PrismAmount, Sphere,
};
use crate::values::{Axis, Eye, Prism, PrismBase};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the cylinder of a prescription is written. Optometrists write minus cylinders,
/// ophthalmologists often plus cylinders; both describe the same lens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CylinderForm {
    #[default]
    Minus,
    Plus,
}

impl CylinderForm {
    pub fn as_str(self) -> &'static str {
        match self {
            CylinderForm::Minus => "minus",
            CylinderForm::Plus => "plus",
        }
    }

    pub fn other(self) -> Self {
        match self {
            CylinderForm::Minus => CylinderForm::Plus,
            CylinderForm::Plus => CylinderForm::Minus,
        }
    }

    pub(crate) fn sign_word(self) -> &'static str {
        match self {
            CylinderForm::Minus => "negative",
            CylinderForm::Plus => "positive",
        }
    }
}

impl fmt::Display for CylinderForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The prescription of one eye.
///
/// Invariants: an axis is present exactly when the cylinder is not zero; the sphere of the
/// other cylinder form (sphere + cylinder) is within the absolute sphere bounds too, so that
/// transposition never fails. The cylinder may have either sign here; a [`Refraction`]
/// holds minus cylinders only.
///
/// JSON: `{"sphere": -2.25, "cylinder": -0.5, "axis": 90, "add": 2.0,
/// "prism": {"amount": 1.0, "base": "in"}, "segment_height": 18.0}` with `null` for absent
/// values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "EyeRxWire", into = "EyeRxWire")]
pub struct EyeRx {
    sphere: Sphere,
    cylinder: Cylinder,
    axis: Option<Axis>,
    add: Option<Addition>,
    prism: Option<Prism>,
    segment_height: Option<SegmentHeight>,
}

impl EyeRx {
    pub fn new(
        sphere: Sphere,
        cylinder: Cylinder,
        axis: Option<Axis>,
        add: Option<Addition>,
        prism: Option<Prism>,
        segment_height: Option<SegmentHeight>,
    ) -> Result<Self, OpticsError> {
        match (cylinder.is_zero(), axis) {
            (true, Some(_)) => return Err(OpticsError::AxisWithoutCylinder),
            (false, None) => return Err(OpticsError::AxisRequired),
            _ => {}
        }
        let other_sphere = sphere.dioptres() + cylinder.dioptres();
        if other_sphere < Sphere::MIN || other_sphere > Sphere::MAX {
            return Err(OpticsError::OutOfRange {
                quantity: "sphere + cylinder",
                value: other_sphere.to_f64(),
                min: Sphere::MIN.to_f64(),
                max: Sphere::MAX.to_f64(),
                unit: "D",
            });
        }
        Ok(Self {
            sphere,
            cylinder,
            axis,
            add,
            prism,
            segment_height,
        })
    }

    /// A spherical lens power alone: no cylinder, add, prism or segment height.
    pub fn spherical(sphere: Sphere) -> Self {
        Self {
            sphere,
            cylinder: Cylinder::ZERO,
            axis: None,
            add: None,
            prism: None,
            segment_height: None,
        }
    }

    pub fn sphere(&self) -> Sphere {
        self.sphere
    }

    pub fn cylinder(&self) -> Cylinder {
        self.cylinder
    }

    pub fn axis(&self) -> Option<Axis> {
        self.axis
    }

    pub fn add(&self) -> Option<Addition> {
        self.add
    }

    pub fn prism(&self) -> Option<Prism> {
        self.prism
    }

    pub fn segment_height(&self) -> Option<SegmentHeight> {
        self.segment_height
    }

    /// `None` for a spherical lens (zero cylinder).
    pub fn cylinder_form(&self) -> Option<CylinderForm> {
        let cylinder = self.cylinder.dioptres();
        if cylinder < Dioptres::ZERO {
            Some(CylinderForm::Minus)
        } else if cylinder > Dioptres::ZERO {
            Some(CylinderForm::Plus)
        } else {
            None
        }
    }

    /// Sphere + cylinder / 2, exactly (a multiple of 1/16 D).
    pub fn spherical_equivalent(&self) -> Dioptres {
        // Cylinders are whole eighths of a dioptre in micro-dioptres: halving is exact.
        Dioptres::from_micro(self.sphere.dioptres().micro() + self.cylinder.dioptres().micro() / 2)
    }

    /// The same lens written in the other cylinder form: sphere + cylinder, cylinder negated,
    /// axis turned by 90° within 1–180. A spherical lens is its own transposition.
    pub fn transposed(&self) -> Self {
        if self.cylinder.is_zero() {
            return *self;
        }
        Self {
            // In the absolute bounds by the invariant, and on the grid as a sum of grid values.
            sphere: Sphere::from_valid(self.sphere.dioptres() + self.cylinder.dioptres()),
            cylinder: self.cylinder.negated(),
            axis: self.axis.map(Axis::perpendicular),
            ..*self
        }
    }

    /// This lens in minus-cylinder form (the canonical form).
    pub fn to_minus_cylinder(&self) -> Self {
        match self.cylinder_form() {
            Some(CylinderForm::Plus) => self.transposed(),
            _ => *self,
        }
    }

    /// This lens in plus-cylinder form.
    pub fn to_plus_cylinder(&self) -> Self {
        match self.cylinder_form() {
            Some(CylinderForm::Minus) => self.transposed(),
            _ => *self,
        }
    }

    /// The raw numbers of this eye, as a [`RefractionInput`] would carry them.
    pub fn to_input(&self) -> EyeInput {
        EyeInput {
            sphere: self.sphere.to_f64(),
            cylinder: (!self.cylinder.is_zero()).then(|| self.cylinder.to_f64()),
            axis: self.axis.map(|a| f64::from(a.degrees())),
            add: self.add.map(Addition::to_f64),
            prism: self.prism.map(|p| PrismInput {
                amount: p.amount.to_f64(),
                base: p.base,
            }),
            segment_height: self.segment_height.map(SegmentHeight::to_f64),
        }
    }
}

/// `-2.25 / -0.50 × 090 add +2.00`, as written on a prescription.
impl fmt::Display for EyeRx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.sphere)?;
        if let Some(axis) = self.axis {
            write!(f, " / {} × {axis}", self.cylinder)?;
        } else {
            f.write_str(" DS")?;
        }
        if let Some(add) = self.add {
            write!(f, " add {add}")?;
        }
        if let Some(prism) = self.prism {
            write!(f, " {prism}")?;
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct EyeRxWire {
    sphere: Sphere,
    cylinder: Cylinder,
    axis: Option<Axis>,
    add: Option<Addition>,
    prism: Option<Prism>,
    segment_height: Option<SegmentHeight>,
}

impl TryFrom<EyeRxWire> for EyeRx {
    type Error = OpticsError;
    fn try_from(w: EyeRxWire) -> Result<Self, Self::Error> {
        Self::new(
            w.sphere,
            w.cylinder,
            w.axis,
            w.add,
            w.prism,
            w.segment_height,
        )
    }
}

impl From<EyeRx> for EyeRxWire {
    fn from(e: EyeRx) -> Self {
        Self {
            sphere: e.sphere,
            cylinder: e.cylinder,
            axis: e.axis,
            add: e.add,
            prism: e.prism,
            segment_height: e.segment_height,
        }
    }
}

/// A validated refraction of both eyes, in minus-cylinder form, with the distance PD and an
/// optional near PD (never above the distance PD).
///
/// JSON: `{"right": EyeRx, "left": EyeRx, "pd": 63.5 | {"right", "left"},
/// "near_pd": null | 60 | {"right", "left"}}`. Deserialising checks every rule that does
/// not depend on configuration; [`Refraction::check`] adds a tenant's limits and precision.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RefractionWire", into = "RefractionWire")]
pub struct Refraction {
    right: EyeRx,
    left: EyeRx,
    pd: PupillaryDistance,
    near_pd: Option<NearPupillaryDistance>,
}

impl Refraction {
    /// Builds a refraction from valid eyes, transposing plus-cylinder eyes to minus form.
    pub fn new(
        right: EyeRx,
        left: EyeRx,
        pd: PupillaryDistance,
        near_pd: Option<NearPupillaryDistance>,
    ) -> Result<Self, OpticsError> {
        check_near_pd(&pd, near_pd.as_ref())?;
        Ok(Self {
            right: right.to_minus_cylinder(),
            left: left.to_minus_cylinder(),
            pd,
            near_pd,
        })
    }

    /// Parses raw input at the boundary: every field is checked against the rules, the
    /// configured `limits` and the `precision`, and every invalid field is reported, each
    /// under its JSON pointer. Plus-cylinder input is transposed to minus-cylinder form,
    /// whose sphere and cylinder must be within the limits too.
    pub fn parse(
        input: RefractionInput,
        limits: &PrescriptionLimits,
        precision: Precision,
    ) -> Result<Refraction, Vec<FieldError>> {
        let mut errors = Vec::new();
        let form = input.cylinder_form;
        let right = parse_eye(&input.right, "/right", form, limits, precision, &mut errors);
        let left = parse_eye(&input.left, "/left", form, limits, precision, &mut errors);
        let pd = PupillaryDistance::parse_at(&input.pd, "/pd", &mut errors);
        let near_pd = match &input.near_pd {
            None => Some(None),
            Some(near) => NearPupillaryDistance::parse_at(near, "/near_pd", &mut errors).map(Some),
        };
        if let (Some(pd), Some(near_pd)) = (&pd, &near_pd) {
            record(&mut errors, "/near_pd", check_near_pd(pd, near_pd.as_ref()));
        }
        match (right, left, pd, near_pd) {
            (Some(right), Some(left), Some(pd), Some(near_pd)) if errors.is_empty() => {
                Ok(Refraction {
                    right,
                    left,
                    pd,
                    near_pd,
                })
            }
            _ => Err(errors),
        }
    }

    /// Checks a refraction (e.g. one read back from storage) against a tenant's limits and
    /// precision, reporting fields as [`Refraction::parse`] does.
    pub fn check(
        &self,
        limits: &PrescriptionLimits,
        precision: Precision,
    ) -> Result<(), Vec<FieldError>> {
        Self::parse(self.to_input(), limits, precision).map(|_| ())
    }

    /// The raw numbers of this refraction, in minus-cylinder form.
    pub fn to_input(&self) -> RefractionInput {
        RefractionInput {
            right: self.right.to_input(),
            left: self.left.to_input(),
            pd: self.pd.into(),
            near_pd: self.near_pd.map(Into::into),
            cylinder_form: CylinderForm::Minus,
        }
    }

    /// The right eye (OD).
    pub fn right(&self) -> &EyeRx {
        &self.right
    }

    /// The left eye (OS).
    pub fn left(&self) -> &EyeRx {
        &self.left
    }

    pub fn eye(&self, eye: Eye) -> &EyeRx {
        match eye {
            Eye::Right => &self.right,
            Eye::Left => &self.left,
        }
    }

    pub fn pd(&self) -> &PupillaryDistance {
        &self.pd
    }

    pub fn near_pd(&self) -> Option<&NearPupillaryDistance> {
        self.near_pd.as_ref()
    }

    /// Whether either eye has a near addition (bifocal or progressive lenses).
    pub fn has_addition(&self) -> bool {
        self.right.add.is_some() || self.left.add.is_some()
    }
}

fn check_near_pd(
    pd: &PupillaryDistance,
    near_pd: Option<&NearPupillaryDistance>,
) -> Result<(), OpticsError> {
    match near_pd {
        Some(near) if near.total() > pd.total() => Err(OpticsError::NearPdExceedsDistance {
            near: near.total().to_f64(),
            distance: pd.total().to_f64(),
        }),
        _ => Ok(()),
    }
}

#[derive(Serialize, Deserialize)]
struct RefractionWire {
    right: EyeRx,
    left: EyeRx,
    pd: PupillaryDistance,
    near_pd: Option<NearPupillaryDistance>,
}

impl TryFrom<RefractionWire> for Refraction {
    type Error = OpticsError;
    fn try_from(w: RefractionWire) -> Result<Self, Self::Error> {
        // Stored data is canonical: a plus cylinder here is corruption, not input to fix.
        if [w.right, w.left]
            .iter()
            .any(|e| e.cylinder_form() == Some(CylinderForm::Plus))
        {
            return Err(OpticsError::NotMinusCylinder);
        }
        Self::new(w.right, w.left, w.pd, w.near_pd)
    }
}

impl From<Refraction> for RefractionWire {
    fn from(r: Refraction) -> Self {
        Self {
            right: r.right,
            left: r.left,
            pd: r.pd,
            near_pd: r.near_pd,
        }
    }
}

/// A refraction as it arrives at the boundary (API body, form, lab file): raw numbers,
/// checked by [`Refraction::parse`]. A missing or zero cylinder means a spherical lens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefractionInput {
    pub right: EyeInput,
    pub left: EyeInput,
    /// A number (binocular) or `{"right", "left"}` (monocular), in millimetres.
    pub pd: PdInput,
    #[serde(default)]
    pub near_pd: Option<PdInput>,
    /// How the cylinders are written; minus unless told otherwise.
    #[serde(default)]
    pub cylinder_form: CylinderForm,
}

/// One eye's raw numbers; dioptres for powers, prism dioptres for prism, degrees for the
/// axis, millimetres for the segment height.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EyeInput {
    pub sphere: f64,
    #[serde(default)]
    pub cylinder: Option<f64>,
    #[serde(default)]
    pub axis: Option<f64>,
    #[serde(default)]
    pub add: Option<f64>,
    #[serde(default)]
    pub prism: Option<PrismInput>,
    #[serde(default)]
    pub segment_height: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrismInput {
    pub amount: f64,
    pub base: PrismBase,
}

/// Keeps the value of `result`, or records its error under `field`.
pub(crate) fn record<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    result: Result<T, OpticsError>,
) -> Option<T> {
    result
        .map_err(|error| errors.push(FieldError::new(field, &error)))
        .ok()
}

/// Parses an optional raw value: `Some(None)` when absent, `None` when invalid.
fn optional<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<f64>,
    parse: impl FnOnce(f64) -> Result<T, OpticsError>,
) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(value) => record(errors, field, parse(value)).map(Some),
    }
}

/// One eye, in minus-cylinder form, or `None` with its errors recorded under `at`.
fn parse_eye(
    eye: &EyeInput,
    at: &str,
    form: CylinderForm,
    limits: &PrescriptionLimits,
    precision: Precision,
    errors: &mut Vec<FieldError>,
) -> Option<EyeRx> {
    let field = |name: &str| format!("{at}/{name}");
    let sphere = record(
        errors,
        &field("sphere"),
        Sphere::new(eye.sphere, precision, limits),
    );
    let raw_cylinder = eye.cylinder.unwrap_or(0.0);
    let cylinder = record(
        errors,
        &field("cylinder"),
        Cylinder::new(raw_cylinder, precision, limits).and_then(|cylinder| {
            let wrong_sign = match form {
                CylinderForm::Minus => cylinder.dioptres() > Dioptres::ZERO,
                CylinderForm::Plus => cylinder.dioptres() < Dioptres::ZERO,
            };
            if wrong_sign {
                Err(OpticsError::CylinderFormMismatch { form })
            } else {
                Ok(cylinder)
            }
        }),
    );
    // A NaN cylinder counts as present: its own error is reported, and the axis is checked.
    let has_cylinder = raw_cylinder != 0.0;
    let axis = match (eye.axis, has_cylinder) {
        (Some(degrees), true) => record(errors, &field("axis"), Axis::from_f64(degrees)).map(Some),
        (None, true) => record(errors, &field("axis"), Err(OpticsError::AxisRequired)),
        (Some(_), false) => record(
            errors,
            &field("axis"),
            Err(OpticsError::AxisWithoutCylinder),
        ),
        (None, false) => Some(None),
    };
    let add = optional(errors, &field("add"), eye.add, |add| {
        Addition::new(add, precision)
    });
    let prism = match eye.prism {
        None => Some(None),
        Some(PrismInput { amount, base }) => record(
            errors,
            &field("prism/amount"),
            PrismAmount::new(amount, precision),
        )
        .map(|amount| Some(Prism { amount, base })),
    };
    let segment_height = optional(
        errors,
        &field("segment_height"),
        eye.segment_height,
        SegmentHeight::new,
    );
    let written = record(
        errors,
        &field("cylinder"),
        EyeRx::new(sphere?, cylinder?, axis?, add?, prism?, segment_height?),
    )?;
    let canonical = written.to_minus_cylinder();
    if canonical == written {
        return Some(canonical);
    }
    // Transposed: the stored values must be within the limits as well.
    let out_of_limits = |quantity, value: Dioptres, min: Dioptres, max: Dioptres| {
        (value < min || value > max).then_some(OpticsError::OutOfRange {
            quantity,
            value: value.to_f64(),
            min: min.to_f64(),
            max: max.to_f64(),
            unit: "D",
        })
    };
    let mut valid = true;
    if let Some(error) = out_of_limits(
        "sphere in minus-cylinder form",
        canonical.sphere.dioptres(),
        limits.sphere_min(),
        limits.sphere_max(),
    ) {
        errors.push(FieldError::new(field("sphere"), &error));
        valid = false;
    }
    if let Some(error) = out_of_limits(
        "cylinder in minus-cylinder form",
        canonical.cylinder.dioptres(),
        limits.cylinder_min(),
        limits.cylinder_max(),
    ) {
        errors.push(FieldError::new(field("cylinder"), &error));
        valid = false;
    }
    valid.then_some(canonical)
}

#[cfg(test)]
mod tests;
