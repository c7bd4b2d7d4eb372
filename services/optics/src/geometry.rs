//! Lens geometry for the lab ticket: the frame's [`BoxingMeasurements`], the
//! [`Decentration`] of each lens, the minimum blank size, and the prism the decentration
//! induces (Prentice's rule), gathered per pair in [`LensGeometry`].
//!
//! Everything is exact integer arithmetic on tenths (lengths) and hundredths (decentration)
//! of a millimetre; only the horizontal power of an oblique cylinder needs a sine, and is
//! rounded to the micro-dioptre.

use crate::distance::{Millimetres, PupillaryDistance};
use crate::error::{FieldError, OpticsError};
use crate::power::Dioptres;
use crate::refraction::{record, EyeRx, Refraction};
use crate::values::{Eye, PrismBase};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Micro-prism-dioptres in 0.01 Δ: induced prisms are rounded to this step.
const MICRO_PER_HUNDREDTH: i64 = 10_000;

/// Frame size in the boxing system: A (box width), B (box height), DBL (distance between
/// lenses) and ED (effective diameter), in exact tenths of a millimetre.
///
/// JSON: `{"a_mm": 52, "b_mm": 40, "dbl_mm": 18, "ed_mm": 56}`, validated when deserialised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "BoxingWire", into = "BoxingWire")]
pub struct BoxingMeasurements {
    a: Millimetres,
    b: Millimetres,
    dbl: Millimetres,
    ed: Millimetres,
}

impl BoxingMeasurements {
    pub const A_MIN: Millimetres = Millimetres::from_tenths(300);
    pub const A_MAX: Millimetres = Millimetres::from_tenths(700);
    pub const B_MIN: Millimetres = Millimetres::from_tenths(150);
    pub const B_MAX: Millimetres = Millimetres::from_tenths(600);
    pub const DBL_MIN: Millimetres = Millimetres::from_tenths(100);
    pub const DBL_MAX: Millimetres = Millimetres::from_tenths(280);
    pub const ED_MIN: Millimetres = Millimetres::from_tenths(300);
    pub const ED_MAX: Millimetres = Millimetres::from_tenths(800);

    /// A 30–70, B 15–60, DBL 10–28, ED 30–80 mm (inclusive), each a multiple of 0.1 mm;
    /// ED at least A and B. Reports the first invalid value (A, B, DBL, ED).
    pub fn new(a_mm: f64, b_mm: f64, dbl_mm: f64, ed_mm: f64) -> Result<Self, OpticsError> {
        let [a, b, dbl, ed] = Self::fields(a_mm, b_mm, dbl_mm, ed_mm);
        Ok(Self {
            a: a?,
            b: b?,
            dbl: dbl?,
            ed: ed?,
        })
    }

    /// Parses raw input at the boundary, reporting every invalid value at once under the JSON
    /// pointers `{at}/a_mm`, `{at}/b_mm`, `{at}/dbl_mm` and `{at}/ed_mm` (an ED below A or B
    /// is reported at `{at}/ed_mm`).
    pub fn parse(
        a_mm: f64,
        b_mm: f64,
        dbl_mm: f64,
        ed_mm: f64,
        at: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let [a, b, dbl, ed] = Self::fields(a_mm, b_mm, dbl_mm, ed_mm);
        let a = record(&mut errors, &format!("{at}/a_mm"), a);
        let b = record(&mut errors, &format!("{at}/b_mm"), b);
        let dbl = record(&mut errors, &format!("{at}/dbl_mm"), dbl);
        let ed = record(&mut errors, &format!("{at}/ed_mm"), ed);
        match (a, b, dbl, ed) {
            (Some(a), Some(b), Some(dbl), Some(ed)) => Ok(Self { a, b, dbl, ed }),
            _ => Err(errors),
        }
    }

    /// Each value checked on its own; ED also against whichever of A and B are valid, so that
    /// one bad value does not hide another.
    fn fields(
        a_mm: f64,
        b_mm: f64,
        dbl_mm: f64,
        ed_mm: f64,
    ) -> [Result<Millimetres, OpticsError>; 4] {
        let a = Millimetres::parse_tenths("A", a_mm, Self::A_MIN, Self::A_MAX);
        let b = Millimetres::parse_tenths("B", b_mm, Self::B_MIN, Self::B_MAX);
        let dbl = Millimetres::parse_tenths("DBL", dbl_mm, Self::DBL_MIN, Self::DBL_MAX);
        // The lens must cover its own box, so ED's lower bound is the larger side.
        let ed_min = [&a, &b]
            .into_iter()
            .filter_map(|side| side.as_ref().ok().copied())
            .fold(Self::ED_MIN, Millimetres::max);
        let ed = Millimetres::parse_tenths("ED", ed_mm, ed_min, Self::ED_MAX);
        [a, b, dbl, ed]
    }

    /// Box width (horizontal).
    pub fn a(&self) -> Millimetres {
        self.a
    }

    /// Box height (vertical).
    pub fn b(&self) -> Millimetres {
        self.b
    }

    /// Distance between lenses (the bridge).
    pub fn dbl(&self) -> Millimetres {
        self.dbl
    }

    /// Effective diameter: twice the longest radius from the box centre.
    pub fn ed(&self) -> Millimetres {
        self.ed
    }

    /// The distance between the two box centres: A + DBL.
    pub fn frame_pd(&self) -> Millimetres {
        Millimetres::from_tenths(self.a.tenths() + self.dbl.tenths())
    }
}

/// `52□18 B 40 ED 56`, as frames are labelled.
impl fmt::Display for BoxingMeasurements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}□{} B {} ED {}", self.a, self.dbl, self.b, self.ed)
    }
}

#[derive(Serialize, Deserialize)]
struct BoxingWire {
    a_mm: f64,
    b_mm: f64,
    dbl_mm: f64,
    ed_mm: f64,
}

impl TryFrom<BoxingWire> for BoxingMeasurements {
    type Error = OpticsError;
    fn try_from(w: BoxingWire) -> Result<Self, Self::Error> {
        Self::new(w.a_mm, w.b_mm, w.dbl_mm, w.ed_mm)
    }
}

impl From<BoxingMeasurements> for BoxingWire {
    fn from(m: BoxingMeasurements) -> Self {
        Self {
            a_mm: m.a.to_f64(),
            b_mm: m.b.to_f64(),
            dbl_mm: m.dbl.to_f64(),
            ed_mm: m.ed.to_f64(),
        }
    }
}

/// Signed horizontal decentration of one lens, in hundredths of a millimetre: how far its
/// optical centre is moved from the box centre, positive inward (nasal), negative outward.
///
/// Hundredths because half of a tenth-of-a-millimetre difference must stay exact. JSON: a
/// number of millimetres (`3.0`, `-1.25`), a whole number of hundredths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decentration(i32);

impl Decentration {
    pub const ZERO: Decentration = Decentration(0);

    pub const fn from_hundredths(hundredths: i32) -> Self {
        Self(hundredths)
    }

    pub const fn hundredths(self) -> i32 {
        self.0
    }

    /// The decentration in millimetres (the nearest `f64` to the exact decimal).
    pub fn to_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// Its size regardless of direction, in hundredths of a millimetre.
    pub fn magnitude(self) -> u32 {
        self.0.unsigned_abs()
    }

    pub fn is_inward(self) -> bool {
        self.0 > 0
    }

    /// Parses a number of millimetres: finite, within `i32` hundredths, a whole number of
    /// hundredths.
    pub fn from_f64(millimetres: f64) -> Result<Self, OpticsError> {
        const QUANTITY: &str = "decentration";
        if !millimetres.is_finite() {
            return Err(OpticsError::NotFinite { quantity: QUANTITY });
        }
        let hundredths = (millimetres * 100.0).round();
        if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&hundredths) {
            return Err(OpticsError::OutOfRange {
                quantity: QUANTITY,
                value: millimetres,
                min: f64::from(i32::MIN) / 100.0,
                max: f64::from(i32::MAX) / 100.0,
                unit: "mm",
            });
        }
        // Integral and within i32: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let decentration = Self(hundredths as i32);
        // Exact when `millimetres` is the nearest f64 to a two-decimal number (see
        // `Millimetres::from_f64`).
        if decentration.to_f64() == millimetres {
            Ok(decentration)
        } else {
            Err(OpticsError::OffStep {
                quantity: QUANTITY,
                value: millimetres,
                step: 0.01,
                unit: "mm",
            })
        }
    }
}

/// `3.00`, `-1.25`: millimetres with two decimals.
impl fmt::Display for Decentration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.magnitude();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl Serialize for Decentration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de> Deserialize<'de> for Decentration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Decentration::from_f64(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The horizontal prism a decentration induces (Prentice's rule): an amount in prism
/// dioptres, rounded to 0.01 Δ and never zero, with its base in or out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InducedPrism {
    pub amount: Dioptres,
    pub base: PrismBase,
}

/// `2.00Δ base out`.
impl fmt::Display for InducedPrism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = self.amount.to_string();
        write!(f, "{}Δ base {}", amount.trim_start_matches('+'), self.base)
    }
}

/// The geometry of one lens, as printed on the lab ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EyeGeometry {
    pub decentration_mm: Decentration,
    pub minimum_blank_mm: Millimetres,
    pub induced_prism: Option<InducedPrism>,
}

/// The geometry of a pair of lenses in a frame.
///
/// JSON: `{"frame_pd_mm": 70.0, "right": {"decentration_mm": 3.0, "minimum_blank_mm": 64.0,
/// "induced_prism": {"amount": 0.75, "base": "out"}}, "left": {…}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LensGeometry {
    pub frame_pd_mm: Millimetres,
    pub right: EyeGeometry,
    pub left: EyeGeometry,
}

impl LensGeometry {
    /// Decentration, minimum blank and induced prism of both lenses of `refraction` in
    /// `frame`, using the refraction's distance PD.
    pub fn compute(frame: &BoxingMeasurements, refraction: &Refraction) -> LensGeometry {
        let eye = |eye: Eye| {
            let decentration_mm = decentration(frame, refraction.pd(), eye);
            EyeGeometry {
                decentration_mm,
                minimum_blank_mm: minimum_blank(frame, decentration_mm),
                induced_prism: induced_prism(
                    decentration_mm,
                    horizontal_power(refraction.eye(eye)),
                ),
            }
        };
        LensGeometry {
            frame_pd_mm: frame.frame_pd(),
            right: eye(Eye::Right),
            left: eye(Eye::Left),
        }
    }

    pub fn eye(&self, eye: Eye) -> &EyeGeometry {
        match eye {
            Eye::Right => &self.right,
            Eye::Left => &self.left,
        }
    }
}

/// Clamps an exact intermediate result into `i32`; only reachable far outside optical values.
fn saturate_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// How far a lens's optical centre must move from its box centre to sit in front of the
/// pupil: (A + DBL − PD) / 2 with a binocular PD, (A + DBL) / 2 − that eye's PD with
/// monocular ones. Positive is inward (the usual case: frames are wider than faces).
pub fn decentration(frame: &BoxingMeasurements, pd: &PupillaryDistance, eye: Eye) -> Decentration {
    let frame_pd = i64::from(frame.frame_pd().tenths());
    // Tenths of a millimetre × 10 = hundredths; halving a tenth gives 5 hundredths, exactly.
    let hundredths = match pd {
        PupillaryDistance::Binocular(pd) => (frame_pd - i64::from(pd.millimetres().tenths())) * 5,
        PupillaryDistance::Monocular { right, left } => {
            let mono = match eye {
                Eye::Right => right,
                Eye::Left => left,
            };
            frame_pd * 5 - i64::from(mono.millimetres().tenths()) * 10
        }
    };
    Decentration(saturate_i32(hundredths))
}

/// The smallest uncut blank that edges to the frame: ED + 2 × |decentration| + 2 mm.
///
/// Exact when 2 × decentration is a whole number of tenths (always for a decentration from
/// [`decentration`]); otherwise rounded up to the next tenth, since a blank too small is
/// useless.
pub fn minimum_blank(frame: &BoxingMeasurements, decentration: Decentration) -> Millimetres {
    let hundredths =
        u64::from(frame.ed.tenths()) * 10 + 2 * u64::from(decentration.magnitude()) + 200;
    let tenths = hundredths.div_ceil(10);
    Millimetres::from_tenths(u32::try_from(tenths).unwrap_or(u32::MAX))
}

/// The power of an eye's lens along the horizontal (180°) meridian, which decides horizontal
/// prism: S + C·sin²(axis), rounded to the micro-dioptre. Either cylinder form gives the same.
pub fn horizontal_power(eye: &EyeRx) -> Dioptres {
    let sphere = eye.sphere().dioptres();
    let Some(axis) = eye.axis() else {
        return sphere;
    };
    // The cylinder has no power along its axis and full power at right angles to it.
    let sin = f64::from(axis.degrees()).to_radians().sin();
    let cylinder_part = (f64::from(eye.cylinder().dioptres().micro()) * sin * sin).round();
    // |sin²| ≤ 1, so the part is within the cylinder's own i32 range: the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    let cylinder_part = cylinder_part as i32;
    sphere + Dioptres::from_micro(cylinder_part)
}

/// Prentice's rule: Δ = c (cm) × F (D), rounded to 0.01 Δ (halves away from zero).
///
/// The base is that of the prism the lens shows at a point `decentration` nasal of its
/// optical centre: a plus lens is thickest at its centre, so the base points back towards the
/// centre, out; a minus lens is thinnest there, so the base points in. A negative (outward)
/// decentration reverses both. `None` when the rounded amount is zero.
pub fn induced_prism(decentration: Decentration, power: Dioptres) -> Option<InducedPrism> {
    // hundredths of a mm × micro-dioptres / 1000 = micro-prism-dioptres (mm→cm is /10, and
    // hundredths→mm /100, so the product is 10⁻³ of it).
    let product = i64::from(decentration.hundredths()) * i64::from(power.micro());
    let per_hundredth = 1000 * MICRO_PER_HUNDREDTH;
    let hundredths = (product.abs() + per_hundredth / 2) / per_hundredth;
    if hundredths == 0 {
        return None;
    }
    let base = if product > 0 {
        PrismBase::Out
    } else {
        PrismBase::In
    };
    Some(InducedPrism {
        amount: Dioptres::from_micro(saturate_i32(hundredths * MICRO_PER_HUNDREDTH)),
        base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::{Cylinder, Precision, PrescriptionLimits, Sphere};
    use crate::refraction::{EyeInput, RefractionInput};
    use crate::values::Axis;
    use crate::{samples, PdInput};
    use proptest::prelude::*;
    use serde_json::json;

    fn frame(a: f64, b: f64, dbl: f64, ed: f64) -> BoxingMeasurements {
        BoxingMeasurements::new(a, b, dbl, ed).unwrap()
    }

    fn textbook_frame() -> BoxingMeasurements {
        frame(52.0, 40.0, 18.0, 56.0)
    }

    fn mm(tenths: u32) -> Millimetres {
        Millimetres::from_tenths(tenths)
    }

    fn dioptres(value: f64) -> Dioptres {
        Dioptres::from_f64(value).unwrap()
    }

    fn toric(sphere: f64, cylinder: f64, axis: u16) -> EyeRx {
        EyeRx::new(
            Sphere::try_from(sphere).unwrap(),
            Cylinder::try_from(cylinder).unwrap(),
            Some(Axis::new(axis).unwrap()),
            None,
            None,
            None,
        )
        .unwrap()
    }

    fn refraction(right: f64, left: f64, pd: PdInput) -> Refraction {
        let eye = |sphere| EyeInput {
            sphere,
            ..EyeInput::default()
        };
        Refraction::parse(
            RefractionInput {
                right: eye(right),
                left: eye(left),
                pd,
                near_pd: None,
                cylinder_form: Default::default(),
            },
            &PrescriptionLimits::default(),
            Precision::Prescription,
        )
        .unwrap()
    }

    #[test]
    fn textbook_frame_decentres_3_mm_inward_and_needs_a_64_mm_blank() {
        let frame = textbook_frame();
        assert_eq!(frame.frame_pd(), mm(700));
        let pd = PupillaryDistance::binocular(64.0).unwrap();
        for eye in Eye::BOTH {
            let decentration = decentration(&frame, &pd, eye);
            assert_eq!(decentration, Decentration::from_hundredths(300));
            assert!(decentration.is_inward());
            assert_eq!(decentration.to_string(), "3.00");
            assert_eq!(minimum_blank(&frame, decentration), mm(640));
        }
    }

    #[test]
    fn monocular_pd_decentres_each_eye_on_its_own() {
        let frame = textbook_frame();
        let pd = PupillaryDistance::monocular(31.0, 33.0).unwrap();
        // (52 + 18) / 2 = 35: right 35 − 31 = 4 mm, left 35 − 33 = 2 mm inward.
        assert_eq!(
            decentration(&frame, &pd, Eye::Right),
            Decentration::from_hundredths(400)
        );
        assert_eq!(
            decentration(&frame, &pd, Eye::Left),
            Decentration::from_hundredths(200)
        );
        assert_eq!(
            minimum_blank(&frame, decentration(&frame, &pd, Eye::Right)),
            mm(660)
        );
        assert_eq!(
            minimum_blank(&frame, decentration(&frame, &pd, Eye::Left)),
            mm(620)
        );
        // Half millimetres stay exact: A 52.5 + DBL 18 = 70.5, half 35.25.
        let frame = frame_of(52.5, 18.0);
        let pd = PupillaryDistance::monocular(31.5, 36.0).unwrap();
        assert_eq!(
            decentration(&frame, &pd, Eye::Right),
            Decentration::from_hundredths(375)
        );
        assert_eq!(
            decentration(&frame, &pd, Eye::Left),
            Decentration::from_hundredths(-75)
        );
        assert_eq!(decentration(&frame, &pd, Eye::Left).to_string(), "-0.75");
    }

    fn frame_of(a: f64, dbl: f64) -> BoxingMeasurements {
        frame(a, 40.0, dbl, 60.0)
    }

    #[test]
    fn odd_tenths_halve_exactly_and_the_blank_rounds_up() {
        // 52.3 + 18 − 64 = 6.3 → 3.15 mm; blank 56 + 6.3 + 2 = 64.3 exactly.
        let frame = frame(52.3, 40.0, 18.0, 56.0);
        let pd = PupillaryDistance::binocular(64.0).unwrap();
        let decentration = decentration(&frame, &pd, Eye::Right);
        assert_eq!(decentration, Decentration::from_hundredths(315));
        assert_eq!(minimum_blank(&frame, decentration), mm(643));
        // A hand-made 3.01 mm: 56 + 6.02 + 2 = 64.02, rounded up to 64.1.
        assert_eq!(
            minimum_blank(&frame, Decentration::from_hundredths(-301)),
            mm(641)
        );
    }

    #[test]
    fn prentice_textbook_cases() {
        // +5.00 D decentred 4 mm: 0.4 cm × 5 D = 2 Δ; at a point nasal of a plus lens's
        // centre the base points back to the centre: out.
        assert_eq!(
            induced_prism(Decentration::from_hundredths(400), dioptres(5.0)),
            Some(InducedPrism {
                amount: dioptres(2.0),
                base: PrismBase::Out
            })
        );
        // −4.00 D decentred 3 mm: 1.2 Δ, base in.
        let minus = induced_prism(Decentration::from_hundredths(300), dioptres(-4.0)).unwrap();
        assert_eq!(minus.amount, dioptres(1.2));
        assert_eq!(minus.base, PrismBase::In);
        assert_eq!(minus.to_string(), "1.20Δ base in");
        // Outward decentration reverses the base.
        assert_eq!(
            induced_prism(Decentration::from_hundredths(-300), dioptres(-4.0))
                .unwrap()
                .base,
            PrismBase::Out
        );
        assert_eq!(
            induced_prism(Decentration::from_hundredths(-400), dioptres(5.0))
                .unwrap()
                .base,
            PrismBase::In
        );
        // Rounded to 0.01 Δ: 3.15 mm × 2.25 D = 0.70875 Δ → 0.71 Δ.
        assert_eq!(
            induced_prism(Decentration::from_hundredths(315), dioptres(2.25))
                .unwrap()
                .amount,
            dioptres(0.71)
        );
        // 0.125 D decentred 0.3 mm = 0.00375 Δ: nothing to record.
        assert_eq!(
            induced_prism(Decentration::from_hundredths(30), dioptres(0.125)),
            None
        );
        assert_eq!(induced_prism(Decentration::ZERO, dioptres(10.0)), None);
        assert_eq!(
            induced_prism(Decentration::from_hundredths(400), Dioptres::ZERO),
            None
        );
    }

    #[test]
    fn cylinder_counts_fully_at_axis_90_and_not_at_all_at_axis_180() {
        assert_eq!(horizontal_power(&toric(-2.0, -1.0, 90)), dioptres(-3.0));
        assert_eq!(horizontal_power(&toric(-2.0, -1.0, 180)), dioptres(-2.0));
        // sin²(45°) = ½, sin²(30°) = ¼.
        assert_eq!(horizontal_power(&toric(-2.0, -1.0, 45)), dioptres(-2.5));
        assert_eq!(horizontal_power(&toric(-2.0, -1.0, 30)), dioptres(-2.25));
        assert_eq!(horizontal_power(&toric(-2.0, -1.0, 150)), dioptres(-2.25));
        // Both cylinder forms describe the same lens.
        for (sphere, cylinder, axis) in [(-2.0, -1.0, 90), (1.25, -0.75, 30), (0.5, 2.0, 10)] {
            let eye = toric(sphere, cylinder, axis);
            assert_eq!(horizontal_power(&eye), horizontal_power(&eye.transposed()));
        }
        let spherical = EyeRx::spherical(Sphere::try_from(3.5).unwrap());
        assert_eq!(horizontal_power(&spherical), dioptres(3.5));
    }

    #[test]
    fn geometry_of_a_pair() {
        // Right -2.00 DS, left +1.50 DS; A 52, DBL 18, PD 64 → 3 mm inward each.
        let refraction = refraction(-2.0, 1.5, PdInput::Binocular(64.0));
        let geometry = LensGeometry::compute(&textbook_frame(), &refraction);
        assert_eq!(geometry.frame_pd_mm, mm(700));
        assert_eq!(
            geometry.right,
            EyeGeometry {
                decentration_mm: Decentration::from_hundredths(300),
                minimum_blank_mm: mm(640),
                induced_prism: Some(InducedPrism {
                    amount: dioptres(0.6),
                    base: PrismBase::In
                }),
            }
        );
        assert_eq!(
            geometry.eye(Eye::Left).induced_prism,
            Some(InducedPrism {
                amount: dioptres(0.45),
                base: PrismBase::Out
            })
        );
        assert_eq!(
            serde_json::to_value(geometry).unwrap(),
            json!({
                "frame_pd_mm": 70.0,
                "right": {
                    "decentration_mm": 3.0,
                    "minimum_blank_mm": 64.0,
                    "induced_prism": {"amount": 0.6, "base": "in"}
                },
                "left": {
                    "decentration_mm": 3.0,
                    "minimum_blank_mm": 64.0,
                    "induced_prism": {"amount": 0.45, "base": "out"}
                }
            })
        );
        let json = serde_json::to_string(&geometry).unwrap();
        assert_eq!(
            serde_json::from_str::<LensGeometry>(&json).unwrap(),
            geometry
        );
        // The progressive sample: monocular PD 31.5 / 32, cylinders at 90 and 85.
        let geometry = LensGeometry::compute(&textbook_frame(), &samples::refraction());
        assert_eq!(
            geometry.right.decentration_mm,
            Decentration::from_hundredths(350)
        );
        assert_eq!(
            geometry.left.decentration_mm,
            Decentration::from_hundredths(300)
        );
        // Right +1.25 −0.50 × 090: +0.75 D horizontally × 0.35 cm = 0.2625 → 0.26 Δ out.
        assert_eq!(
            geometry.right.induced_prism,
            Some(InducedPrism {
                amount: dioptres(0.26),
                base: PrismBase::Out
            })
        );
    }

    #[test]
    fn boxing_json_round_trips_and_is_validated() {
        let frame = textbook_frame();
        assert_eq!(
            serde_json::to_value(frame).unwrap(),
            json!({"a_mm": 52.0, "b_mm": 40.0, "dbl_mm": 18.0, "ed_mm": 56.0})
        );
        assert_eq!(
            serde_json::from_value::<BoxingMeasurements>(
                json!({"a_mm": 52, "b_mm": 40, "dbl_mm": 18, "ed_mm": 56})
            )
            .unwrap(),
            frame
        );
        let odd = BoxingMeasurements::new(52.3, 38.7, 17.9, 55.1).unwrap();
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(
            json,
            r#"{"a_mm":52.3,"b_mm":38.7,"dbl_mm":17.9,"ed_mm":55.1}"#
        );
        assert_eq!(
            serde_json::from_str::<BoxingMeasurements>(&json).unwrap(),
            odd
        );
        assert_eq!(odd.to_string(), "52.3□17.9 B 38.7 ED 55.1");
        for invalid in [
            json!({"a_mm": 52, "b_mm": 40, "dbl_mm": 18, "ed_mm": 50}),
            json!({"a_mm": 72, "b_mm": 40, "dbl_mm": 18, "ed_mm": 76}),
            json!({"a_mm": 52.25, "b_mm": 40, "dbl_mm": 18, "ed_mm": 56}),
            json!({"a_mm": 52, "b_mm": 40, "dbl_mm": 18}),
        ] {
            assert!(
                serde_json::from_value::<BoxingMeasurements>(invalid.clone()).is_err(),
                "{invalid}"
            );
        }
    }

    #[test]
    fn boxing_limits_are_inclusive() {
        assert!(BoxingMeasurements::new(30.0, 15.0, 10.0, 30.0).is_ok());
        assert!(BoxingMeasurements::new(70.0, 60.0, 28.0, 80.0).is_ok());
        assert!(BoxingMeasurements::new(52.0, 56.0, 18.0, 56.0).is_ok());
        let code = |a, b, dbl, ed| BoxingMeasurements::new(a, b, dbl, ed).map_err(|e| e.code());
        assert_eq!(code(29.9, 40.0, 18.0, 56.0), Err("out_of_range"));
        assert_eq!(code(70.1, 40.0, 18.0, 76.0), Err("out_of_range"));
        assert_eq!(code(52.0, 14.9, 18.0, 56.0), Err("out_of_range"));
        assert_eq!(code(52.0, 60.1, 18.0, 66.0), Err("out_of_range"));
        assert_eq!(code(52.0, 40.0, 9.9, 56.0), Err("out_of_range"));
        assert_eq!(code(52.0, 40.0, 28.1, 56.0), Err("out_of_range"));
        assert_eq!(code(52.0, 40.0, 18.0, 80.1), Err("out_of_range"));
        assert_eq!(code(52.0, 40.0, 18.0, 51.9), Err("out_of_range"));
        assert_eq!(code(52.0, 40.0, 18.05, 56.0), Err("off_step"));
        assert_eq!(code(f64::NAN, 40.0, 18.0, 56.0), Err("not_finite"));
        assert_eq!(
            BoxingMeasurements::new(52.0, 40.0, 18.0, 51.5)
                .unwrap_err()
                .to_string(),
            "ED 51.5 mm is outside the allowed range 52 to 80 mm"
        );
    }

    #[test]
    fn parse_reports_every_invalid_field_under_its_pointer() {
        let failures = |a, b, dbl, ed| {
            BoxingMeasurements::parse(a, b, dbl, ed, "/frame")
                .unwrap_err()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            failures(72.0, 40.05, 8.0, 90.0),
            [
                ("/frame/a_mm".to_owned(), "out_of_range"),
                ("/frame/b_mm".to_owned(), "off_step"),
                ("/frame/dbl_mm".to_owned(), "out_of_range"),
                ("/frame/ed_mm".to_owned(), "out_of_range"),
            ]
        );
        // ED below B (valid on its own) is reported at ED, even when A is invalid.
        assert_eq!(
            failures(f64::INFINITY, 50.0, 18.0, 49.0),
            [
                ("/frame/a_mm".to_owned(), "not_finite"),
                ("/frame/ed_mm".to_owned(), "out_of_range"),
            ]
        );
        assert_eq!(
            BoxingMeasurements::parse(52.0, 40.0, 18.0, 56.0, ""),
            Ok(textbook_frame())
        );
    }

    #[test]
    fn decentration_json_is_a_number_of_millimetres() {
        assert_eq!(
            serde_json::to_value(Decentration::from_hundredths(300)).unwrap(),
            json!(3.0)
        );
        assert_eq!(
            serde_json::to_string(&Decentration::from_hundredths(-125)).unwrap(),
            "-1.25"
        );
        assert_eq!(
            serde_json::from_value::<Decentration>(json!(-1.25)).unwrap(),
            Decentration::from_hundredths(-125)
        );
        assert_eq!(
            serde_json::from_value::<Decentration>(json!(3)).unwrap(),
            Decentration::from_hundredths(300)
        );
        assert!(serde_json::from_value::<Decentration>(json!(1.255)).is_err());
        assert!(serde_json::from_value::<Decentration>(json!(1e10)).is_err());
        assert!(serde_json::from_value::<Decentration>(json!("3")).is_err());
        assert_eq!(Decentration::from_hundredths(-5).to_string(), "-0.05");
        assert_eq!(Decentration::ZERO.to_string(), "0.00");
        assert_eq!(Decentration::from_hundredths(-5).magnitude(), 5);
        assert_eq!(Decentration::from_hundredths(-5).to_f64(), -0.05);
    }

    fn boxing() -> impl Strategy<Value = BoxingMeasurements> {
        (300u32..=700, 150u32..=600, 100u32..=280, 0u32..=500).prop_filter_map(
            "ED must cover A and B",
            |(a, b, dbl, ed_extra)| {
                let ed = a.max(b) + ed_extra;
                BoxingMeasurements::new(
                    f64::from(a) / 10.0,
                    f64::from(b) / 10.0,
                    f64::from(dbl) / 10.0,
                    f64::from(ed) / 10.0,
                )
                .ok()
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn no_decentration_when_pd_equals_frame_pd(
            a in 300u32..=700,
            dbl in 100u32..=280,
            right_share in 0u32..=10,
        ) {
            let frame_pd = a + dbl;
            prop_assume!((500..=800).contains(&frame_pd));
            let frame = BoxingMeasurements::new(
                f64::from(a) / 10.0, 40.0, f64::from(dbl) / 10.0, 70.0,
            ).unwrap();
            if frame_pd % 5 == 0 {
                let pd = PupillaryDistance::binocular(f64::from(frame_pd) / 10.0).unwrap();
                for eye in Eye::BOTH {
                    prop_assert_eq!(decentration(&frame, &pd, eye), Decentration::ZERO);
                }
            }
            // Monocular: zero exactly for an eye whose PD is half the frame PD.
            if frame_pd % 10 == 0 {
                let half = frame_pd / 2;
                let other = half + (right_share * 5).min(400 - half);
                let pd = PupillaryDistance::monocular(
                    f64::from(half) / 10.0,
                    f64::from(other) / 10.0,
                ).unwrap();
                prop_assert_eq!(decentration(&frame, &pd, Eye::Right), Decentration::ZERO);
            }
        }

        #[test]
        fn decentrations_sum_to_frame_pd_minus_pd(
            frame in boxing(),
            right in 50u32..=80,
            left in 50u32..=80,
        ) {
            let pd = PupillaryDistance::monocular(
                f64::from(right) / 2.0,
                f64::from(left) / 2.0,
            ).unwrap();
            let sum = decentration(&frame, &pd, Eye::Right).hundredths()
                + decentration(&frame, &pd, Eye::Left).hundredths();
            let frame_pd = i32::try_from(frame.frame_pd().tenths()).unwrap();
            let total = i32::try_from(pd.total().tenths()).unwrap();
            prop_assert_eq!(sum, (frame_pd - total) * 10);
        }

        #[test]
        fn minimum_blank_grows_with_decentration(
            frame in boxing(),
            first in -5000i32..=5000,
            second in -5000i32..=5000,
        ) {
            let (first, second) = (
                Decentration::from_hundredths(first),
                Decentration::from_hundredths(second),
            );
            let floor = frame.ed().tenths() + 20;
            prop_assert!(minimum_blank(&frame, first).tenths() >= floor);
            if first.magnitude() <= second.magnitude() {
                prop_assert!(minimum_blank(&frame, first) <= minimum_blank(&frame, second));
            }
            prop_assert_eq!(minimum_blank(&frame, Decentration::ZERO).tenths(), floor);
        }

        #[test]
        fn prentice_is_antisymmetric(
            decentration in -3000i32..=3000,
            eighths in -160i32..=160,
        ) {
            let power = Dioptres::from_eighths(eighths);
            let forward = induced_prism(Decentration::from_hundredths(decentration), power);
            let backward = induced_prism(Decentration::from_hundredths(-decentration), power);
            prop_assert_eq!(forward.map(|p| p.amount), backward.map(|p| p.amount));
            if let (Some(forward), Some(backward)) = (forward, backward) {
                prop_assert_ne!(forward.base, backward.base);
            }
        }

        #[test]
        fn boxing_and_geometry_round_trip_through_json(
            frame in boxing(),
            decentration in -5000i32..=5000,
            blank in 0u32..=2000,
            eighths in -160i32..=160,
        ) {
            let json = serde_json::to_string(&frame).unwrap();
            prop_assert_eq!(serde_json::from_str::<BoxingMeasurements>(&json).unwrap(), frame);
            let decentration_mm = Decentration::from_hundredths(decentration);
            let eye = EyeGeometry {
                decentration_mm,
                minimum_blank_mm: Millimetres::from_tenths(blank),
                induced_prism: induced_prism(decentration_mm, Dioptres::from_eighths(eighths)),
            };
            let geometry = LensGeometry { frame_pd_mm: frame.frame_pd(), right: eye, left: eye };
            let json = serde_json::to_string(&geometry).unwrap();
            prop_assert_eq!(serde_json::from_str::<LensGeometry>(&json).unwrap(), geometry);
        }
    }
}
