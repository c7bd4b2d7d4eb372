//! Typical refractions for tests in other crates (orders, lab tickets, codecs). Every sample
//! is parsed through [`Refraction::parse`] with the default limits, so it obeys every rule.

use crate::distance::PdInput;
use crate::power::{Precision, PrescriptionLimits};
use crate::refraction::{CylinderForm, EyeInput, PrismInput, Refraction, RefractionInput};
use crate::values::PrismBase;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid(input: RefractionInput, precision: Precision) -> Refraction {
    Refraction::parse(input, &PrescriptionLimits::default(), precision)
        .expect("sample literals are valid")
}

/// A typical progressive prescription: astigmatic hyperope with presbyopia, add +2.00 on
/// both eyes, monocular PD 31.5 / 32 mm, near PD 60 mm and fitting heights of 18 mm.
///
/// Right `+1.25 / -0.50 × 090 add +2.00`, left `+1.00 / -0.75 × 085 add +2.00`.
pub fn refraction_input() -> RefractionInput {
    RefractionInput {
        right: EyeInput {
            sphere: 1.25,
            cylinder: Some(-0.5),
            axis: Some(90.0),
            add: Some(2.0),
            prism: None,
            segment_height: Some(18.0),
        },
        left: EyeInput {
            sphere: 1.0,
            cylinder: Some(-0.75),
            axis: Some(85.0),
            add: Some(2.0),
            prism: None,
            segment_height: Some(18.0),
        },
        pd: PdInput::Monocular {
            right: 31.5,
            left: 32.0,
        },
        near_pd: Some(PdInput::Binocular(60.0)),
        cylinder_form: CylinderForm::Minus,
    }
}

/// [`refraction_input`], validated.
pub fn refraction() -> Refraction {
    valid(refraction_input(), Precision::Prescription)
}

/// A single-vision myope: right `-2.25 DS`, left `-2.00 / -0.50 × 180`, binocular PD 63 mm,
/// no add, no near PD, no segment height.
pub fn single_vision_refraction() -> Refraction {
    valid(
        RefractionInput {
            right: EyeInput {
                sphere: -2.25,
                ..EyeInput::default()
            },
            left: EyeInput {
                sphere: -2.0,
                cylinder: Some(-0.5),
                axis: Some(180.0),
                ..EyeInput::default()
            },
            pd: PdInput::Binocular(63.0),
            near_pd: None,
            cylinder_form: CylinderForm::Minus,
        },
        Precision::Prescription,
    )
}

/// Lab data written in plus-cylinder form with eighth-dioptre steps and prism on both eyes:
/// right `-3.125 / +1.25 × 010, 1Δ base in`, left `-2.875 / +0.875 × 170, 0.5Δ base up`,
/// bifocal add +1.50 with segment heights, monocular near PD. Stored transposed.
pub fn lab_refraction() -> Refraction {
    valid(
        RefractionInput {
            right: EyeInput {
                sphere: -3.125,
                cylinder: Some(1.25),
                axis: Some(10.0),
                add: Some(1.5),
                prism: Some(PrismInput {
                    amount: 1.0,
                    base: PrismBase::In,
                }),
                segment_height: Some(20.5),
            },
            left: EyeInput {
                sphere: -2.875,
                cylinder: Some(0.875),
                axis: Some(170.0),
                add: Some(1.5),
                prism: Some(PrismInput {
                    amount: 0.5,
                    base: PrismBase::Up,
                }),
                segment_height: Some(20.0),
            },
            pd: PdInput::Binocular(64.0),
            near_pd: Some(PdInput::Monocular {
                right: 30.0,
                left: 30.5,
            }),
            cylinder_form: CylinderForm::Plus,
        },
        Precision::LabData,
    )
}

/// Every sample, for round-trip tests.
pub fn all_refractions() -> Vec<Refraction> {
    vec![refraction(), single_vision_refraction(), lab_refraction()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dioptres;
    use serde_json::json;

    #[test]
    fn samples_are_valid_and_round_trip_through_json() {
        for refraction in all_refractions() {
            let json = serde_json::to_string(&refraction).unwrap();
            assert_eq!(
                serde_json::from_str::<Refraction>(&json).unwrap(),
                refraction
            );
        }
    }

    #[test]
    fn the_progressive_sample_serialises_as_documented() {
        assert_eq!(
            serde_json::to_value(refraction()).unwrap(),
            json!({
                "right": {"sphere": 1.25, "cylinder": -0.5, "axis": 90, "add": 2.0,
                          "prism": null, "segment_height": 18.0},
                "left": {"sphere": 1.0, "cylinder": -0.75, "axis": 85, "add": 2.0,
                         "prism": null, "segment_height": 18.0},
                "pd": {"right": 31.5, "left": 32.0},
                "near_pd": 60.0,
            })
        );
        assert!(refraction().has_addition());
        assert!(!single_vision_refraction().has_addition());
    }

    #[test]
    fn the_lab_sample_is_stored_in_minus_cylinder_form() {
        let lab = lab_refraction();
        assert_eq!(lab.right().sphere().to_f64(), -1.875);
        assert_eq!(lab.right().cylinder().to_f64(), -1.25);
        assert_eq!(lab.right().axis().map(|a| a.degrees()), Some(100));
        assert_eq!(lab.left().sphere().to_f64(), -2.0);
        assert_eq!(lab.left().cylinder().to_f64(), -0.875);
        assert_eq!(lab.left().axis().map(|a| a.degrees()), Some(80));
        assert_eq!(
            lab.left().spherical_equivalent(),
            Dioptres::from_micro(-2_437_500)
        );
        assert_eq!(
            lab.right().to_string(),
            "-1.875 / -1.25 × 100 add +1.50 1.00Δ base in"
        );
    }
}
