use super::*;
use crate::distance::{Millimetres, PdInput};
use crate::samples;
use proptest::prelude::*;
use serde_json::json;

fn limits() -> PrescriptionLimits {
    PrescriptionLimits::default()
}

fn parse(input: RefractionInput) -> Result<Refraction, Vec<FieldError>> {
    Refraction::parse(input, &limits(), Precision::Prescription)
}

/// The fields and codes of a failed parse, in report order.
fn failures(input: RefractionInput) -> Vec<(String, &'static str)> {
    parse(input)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
}

fn fails(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(field.to_owned(), code)]
}

fn eye(sphere: f64) -> EyeInput {
    EyeInput {
        sphere,
        ..EyeInput::default()
    }
}

fn toric(sphere: f64, cylinder: f64, axis: f64) -> EyeInput {
    EyeInput {
        sphere,
        cylinder: Some(cylinder),
        axis: Some(axis),
        ..EyeInput::default()
    }
}

/// Right and left as given, binocular PD 63, minus form.
fn input(right: EyeInput, left: EyeInput) -> RefractionInput {
    RefractionInput {
        right,
        left,
        pd: PdInput::Binocular(63.0),
        near_pd: None,
        cylinder_form: CylinderForm::Minus,
    }
}

fn d(value: f64) -> Dioptres {
    Dioptres::from_f64(value).unwrap()
}

// --- parsing: what is accepted

#[test]
fn a_typical_prescription_parses() {
    let refraction = parse(samples::refraction_input()).unwrap();
    assert_eq!(refraction, samples::refraction());
    let right = refraction.right();
    assert_eq!(right.sphere().to_f64(), 1.25);
    assert_eq!(right.cylinder().to_f64(), -0.5);
    assert_eq!(right.axis().map(Axis::degrees), Some(90));
    assert_eq!(right.add().map(Addition::to_f64), Some(2.0));
    assert_eq!(
        right.segment_height().map(SegmentHeight::to_f64),
        Some(18.0)
    );
    assert_eq!(refraction.pd().total(), Millimetres::from_tenths(635));
    assert_eq!(
        refraction.near_pd().map(|p| p.total()),
        Some(Millimetres::from_tenths(600))
    );
    assert_eq!(refraction.eye(Eye::Left), refraction.left());
}

#[test]
fn a_missing_or_zero_cylinder_is_a_spherical_lens() {
    let refraction = parse(input(
        eye(-2.25),
        EyeInput {
            cylinder: Some(0.0),
            ..eye(-2.0)
        },
    ))
    .unwrap();
    for eye in Eye::BOTH {
        assert!(refraction.eye(eye).cylinder().is_zero());
        assert_eq!(refraction.eye(eye).axis(), None);
        assert_eq!(refraction.eye(eye).cylinder_form(), None);
    }
    assert_eq!(refraction.right().to_string(), "-2.25 DS");
}

#[test]
fn input_reads_from_api_json_with_defaults() {
    let input: RefractionInput = serde_json::from_value(json!({
        "right": {"sphere": -2.25},
        "left": {"sphere": -2.0, "cylinder": -0.5, "axis": 180,
                 "prism": {"amount": 1, "base": "out"}},
        "pd": {"right": 31.5, "left": 32}
    }))
    .unwrap();
    assert_eq!(input.cylinder_form, CylinderForm::Minus);
    assert_eq!(input.near_pd, None);
    let refraction = parse(input).unwrap();
    assert_eq!(
        refraction.left().prism().map(|p| p.base),
        Some(PrismBase::Out)
    );
    assert!(serde_json::from_value::<RefractionInput>(json!({
        "right": {"sphere": -2.25}, "left": {"sphere": -2.0}, "pd": 63,
        "cylinder_form": "plus"
    }))
    .is_ok());
}

#[test]
fn lab_precision_accepts_eighth_dioptres_and_prescriptions_do_not() {
    let lab = input(toric(-2.125, -0.375, 45.0), eye(0.125));
    assert!(Refraction::parse(lab.clone(), &limits(), Precision::LabData).is_ok());
    assert_eq!(
        failures(lab),
        vec![
            ("/right/sphere".to_owned(), "off_step"),
            ("/right/cylinder".to_owned(), "off_step"),
            ("/left/sphere".to_owned(), "off_step"),
        ]
    );
}

#[test]
fn limits_at_their_edges_are_accepted() {
    assert!(parse(input(toric(-30.0, -10.0, 1.0), toric(30.0, -10.0, 180.0))).is_ok());
    let narrow = PrescriptionLimits::new(-6.0, 6.0, -2.0, 0.0).unwrap();
    let result = Refraction::parse(
        input(toric(-6.25, -2.25, 90.0), eye(6.0)),
        &narrow,
        Precision::Prescription,
    );
    let fields: Vec<String> = result.unwrap_err().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["/right/sphere", "/right/cylinder"]);
}

// --- parsing: what is refused, each under its field

#[test]
fn a_sphere_off_the_quarter_step_is_refused_on_its_field() {
    let errors = parse(input(eye(-2.10), eye(-2.0))).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "/right/sphere");
    assert_eq!(errors[0].code, "off_step");
    assert_eq!(
        errors[0].reason,
        "sphere -2.1 D is not a multiple of 0.25 D"
    );
}

#[test]
fn a_binocular_pd_of_120_is_refused_on_pd() {
    let mut raw = input(eye(-2.0), eye(-2.0));
    raw.pd = PdInput::Binocular(120.0);
    assert_eq!(failures(raw), fails("/pd", "out_of_range"));
}

#[test]
fn monocular_pds_are_refused_per_eye() {
    let mut raw = input(eye(-2.0), eye(-2.0));
    raw.pd = PdInput::Monocular {
        right: 24.0,
        left: 32.25,
    };
    assert_eq!(
        failures(raw),
        vec![
            ("/pd/right".to_owned(), "out_of_range"),
            ("/pd/left".to_owned(), "off_step"),
        ]
    );
}

#[test]
fn out_of_range_sphere_and_cylinder_are_refused() {
    assert_eq!(
        failures(input(eye(30.25), toric(-1.0, -10.25, 90.0))),
        vec![
            ("/right/sphere".to_owned(), "out_of_range"),
            ("/left/cylinder".to_owned(), "out_of_range"),
        ]
    );
    assert_eq!(
        failures(input(eye(f64::NAN), eye(f64::INFINITY))),
        vec![
            ("/right/sphere".to_owned(), "not_finite"),
            ("/left/sphere".to_owned(), "not_finite"),
        ]
    );
}

#[test]
fn axis_zero_with_a_cylinder_is_refused_on_the_axis() {
    let errors = parse(input(toric(-1.0, -0.5, 0.0), eye(-1.0))).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "/right/axis");
    assert_eq!(errors[0].code, "axis_out_of_range");
    assert!(errors[0].reason.contains("180"), "{}", errors[0].reason);
}

#[test]
fn axis_rules() {
    assert_eq!(
        failures(input(toric(-1.0, -0.5, 181.0), eye(-1.0))),
        fails("/right/axis", "axis_out_of_range")
    );
    assert_eq!(
        failures(input(toric(-1.0, -0.5, 90.5), eye(-1.0))),
        fails("/right/axis", "axis_not_whole")
    );
    assert_eq!(
        failures(input(
            eye(-1.0),
            EyeInput {
                cylinder: Some(-0.5),
                ..eye(-1.0)
            }
        )),
        fails("/left/axis", "axis_required")
    );
    assert_eq!(
        failures(input(
            EyeInput {
                axis: Some(90.0),
                ..eye(-1.0)
            },
            eye(-1.0)
        )),
        fails("/right/axis", "axis_without_cylinder")
    );
    assert_eq!(
        failures(input(toric(-1.0, 0.0, 90.0), eye(-1.0))),
        fails("/right/axis", "axis_without_cylinder")
    );
    // An invalid cylinder still needs its axis checked.
    assert_eq!(
        failures(input(toric(-1.0, -0.3, 0.0), eye(-1.0))),
        vec![
            ("/right/cylinder".to_owned(), "off_step"),
            ("/right/axis".to_owned(), "axis_out_of_range"),
        ]
    );
}

#[test]
fn add_prism_and_segment_height_rules() {
    let bad = EyeInput {
        add: Some(0.5),
        prism: Some(PrismInput {
            amount: 0.0,
            base: PrismBase::In,
        }),
        segment_height: Some(36.0),
        ..eye(1.0)
    };
    let fine = EyeInput {
        add: Some(4.0),
        prism: Some(PrismInput {
            amount: 10.0,
            base: PrismBase::Down,
        }),
        segment_height: Some(10.0),
        ..eye(1.0)
    };
    assert_eq!(
        failures(input(bad, fine)),
        vec![
            ("/right/add".to_owned(), "out_of_range"),
            ("/right/prism/amount".to_owned(), "out_of_range"),
            ("/right/segment_height".to_owned(), "out_of_range"),
        ]
    );
    assert_eq!(
        failures(input(
            EyeInput {
                add: Some(2.1),
                ..eye(1.0)
            },
            eye(1.0)
        )),
        fails("/right/add", "off_step")
    );
}

#[test]
fn near_pd_must_be_valid_and_not_above_the_distance_pd() {
    let mut raw = input(eye(-1.0), eye(-1.0));
    raw.near_pd = Some(PdInput::Binocular(63.5));
    assert_eq!(
        failures(raw.clone()),
        fails("/near_pd", "near_pd_exceeds_distance_pd")
    );
    raw.near_pd = Some(PdInput::Binocular(63.0));
    assert!(parse(raw.clone()).is_ok());
    raw.near_pd = Some(PdInput::Monocular {
        right: 30.0,
        left: 22.0,
    });
    assert_eq!(failures(raw), fails("/near_pd/left", "out_of_range"));
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let raw = RefractionInput {
        right: EyeInput {
            sphere: -2.10,
            cylinder: Some(-0.5),
            axis: Some(0.0),
            add: Some(5.0),
            prism: None,
            segment_height: Some(5.0),
        },
        left: EyeInput {
            sphere: 31.0,
            cylinder: Some(-0.75),
            axis: None,
            add: None,
            prism: Some(PrismInput {
                amount: 0.3,
                base: PrismBase::Up,
            }),
            segment_height: None,
        },
        pd: PdInput::Binocular(120.0),
        near_pd: Some(PdInput::Binocular(40.0)),
        cylinder_form: CylinderForm::Minus,
    };
    assert_eq!(
        failures(raw),
        vec![
            ("/right/sphere".to_owned(), "off_step"),
            ("/right/axis".to_owned(), "axis_out_of_range"),
            ("/right/add".to_owned(), "out_of_range"),
            ("/right/segment_height".to_owned(), "out_of_range"),
            ("/left/sphere".to_owned(), "out_of_range"),
            ("/left/axis".to_owned(), "axis_required"),
            ("/left/prism/amount".to_owned(), "off_step"),
            ("/pd".to_owned(), "out_of_range"),
            ("/near_pd".to_owned(), "out_of_range"),
        ]
    );
}

// --- cylinder form and transposition

#[test]
fn plus_cylinder_input_is_transposed_to_minus_form() {
    let mut raw = input(toric(1.0, 0.5, 90.0), toric(-3.0, 1.25, 180.0));
    raw.cylinder_form = CylinderForm::Plus;
    let refraction = parse(raw).unwrap();
    let (right, left) = (refraction.right(), refraction.left());
    assert_eq!(
        (right.sphere().to_f64(), right.cylinder().to_f64()),
        (1.5, -0.5)
    );
    assert_eq!(right.axis().map(Axis::degrees), Some(180));
    assert_eq!(
        (left.sphere().to_f64(), left.cylinder().to_f64()),
        (-1.75, -1.25)
    );
    assert_eq!(left.axis().map(Axis::degrees), Some(90));
    assert_eq!(right.to_string(), "+1.50 / -0.50 × 180");
}

#[test]
fn a_cylinder_of_the_wrong_sign_for_the_form_is_refused() {
    assert_eq!(
        failures(input(toric(1.0, 0.5, 90.0), eye(1.0))),
        fails("/right/cylinder", "cylinder_form_mismatch")
    );
    let mut raw = input(eye(1.0), toric(1.0, -0.5, 90.0));
    raw.cylinder_form = CylinderForm::Plus;
    let errors = parse(raw).unwrap_err();
    assert_eq!(errors[0].field, "/left/cylinder");
    assert_eq!(
        errors[0].reason,
        "a negative cylinder does not fit a plus-cylinder prescription; \
         set the cylinder form to minus"
    );
}

#[test]
fn the_transposed_sphere_must_be_within_the_limits() {
    let mut raw = input(toric(29.75, 1.0, 45.0), eye(0.0));
    raw.cylinder_form = CylinderForm::Plus;
    let errors = parse(raw).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "/right/sphere");
    assert_eq!(errors[0].code, "out_of_range");
    assert!(
        errors[0].reason.contains("minus-cylinder form"),
        "{}",
        errors[0].reason
    );
}

#[test]
fn the_transposed_cylinder_must_be_within_asymmetric_limits() {
    let limits = PrescriptionLimits::new(-30.0, 30.0, -4.0, 6.0).unwrap();
    let mut raw = input(toric(1.0, 5.0, 45.0), eye(0.0));
    raw.cylinder_form = CylinderForm::Plus;
    let errors = Refraction::parse(raw, &limits, Precision::Prescription).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "/right/cylinder");
}

#[test]
fn spherical_equivalent_is_exact() {
    let eye = |s: f64, c: f64, a: u16| {
        EyeRx::new(
            Sphere::try_from(s).unwrap(),
            Cylinder::try_from(c).unwrap(),
            (c != 0.0).then(|| Axis::new(a).unwrap()),
            None,
            None,
            None,
        )
        .unwrap()
    };
    assert_eq!(eye(-2.0, -0.5, 180).spherical_equivalent(), d(-2.25));
    assert_eq!(eye(1.0, -0.75, 90).spherical_equivalent(), d(0.625));
    assert_eq!(
        eye(-2.0, -0.125, 90).spherical_equivalent(),
        Dioptres::from_micro(-2_062_500)
    );
    assert_eq!(eye(3.0, 0.0, 0).spherical_equivalent(), d(3.0));
}

// --- the value invariants, when built and when read back

#[test]
fn eye_rx_enforces_axis_iff_cylinder() {
    let sphere = Sphere::try_from(-1.0).unwrap();
    let cylinder = Cylinder::try_from(-0.5).unwrap();
    let axis = Axis::new(90).unwrap();
    assert_eq!(
        EyeRx::new(sphere, cylinder, None, None, None, None),
        Err(OpticsError::AxisRequired)
    );
    assert_eq!(
        EyeRx::new(sphere, Cylinder::ZERO, Some(axis), None, None, None),
        Err(OpticsError::AxisWithoutCylinder)
    );
    assert_eq!(
        EyeRx::new(
            Sphere::try_from(-45.0).unwrap(),
            Cylinder::try_from(-6.0).unwrap(),
            Some(axis),
            None,
            None,
            None
        )
        .map_err(|e| e.code()),
        Err("out_of_range")
    );
    assert_eq!(EyeRx::spherical(sphere).cylinder(), Cylinder::ZERO);
}

#[test]
fn refraction_json_is_validated_when_read() {
    let good = serde_json::to_value(samples::refraction()).unwrap();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut json = good.clone();
        *json.pointer_mut(pointer).unwrap() = value;
        serde_json::from_value::<Refraction>(json)
    };
    assert!(with("/right/sphere", json!(-2.125)).is_ok());
    // Stored refractions are canonical: a plus cylinder is refused, not transposed.
    assert!(with("/right/cylinder", json!(0.5))
        .unwrap_err()
        .to_string()
        .contains("minus-cylinder"));
    assert!(with("/right/axis", json!(null)).is_err());
    assert!(with("/right/axis", json!(0)).is_err());
    assert!(with("/right/sphere", json!(-2.1)).is_err());
    assert!(with("/right/add", json!(4.25)).is_err());
    assert!(with("/right/segment_height", json!(9)).is_err());
    assert!(with("/pd", json!(120)).is_err());
    assert!(with("/near_pd", json!(64)).is_err());
    assert!(with("/near_pd", json!(null)).is_ok());
    let mut no_left = good.clone();
    no_left.as_object_mut().unwrap().remove("left");
    assert!(serde_json::from_value::<Refraction>(no_left).is_err());
}

#[test]
fn refraction_new_transposes_and_checks_near_pd() {
    let plus = EyeRx::new(
        Sphere::try_from(1.0).unwrap(),
        Cylinder::try_from(0.5).unwrap(),
        Some(Axis::new(90).unwrap()),
        None,
        None,
        None,
    )
    .unwrap();
    let pd = PupillaryDistance::binocular(60.0).unwrap();
    let refraction = Refraction::new(plus, plus, pd, None).unwrap();
    assert_eq!(refraction.right(), &plus.transposed());
    assert_eq!(
        Refraction::new(
            plus,
            plus,
            pd,
            Some(NearPupillaryDistance::binocular(61.0).unwrap())
        ),
        Err(OpticsError::NearPdExceedsDistance {
            near: 61.0,
            distance: 60.0
        })
    );
}

#[test]
fn check_applies_a_tenants_limits_and_precision_to_stored_values() {
    let lab = samples::lab_refraction();
    assert!(lab.check(&limits(), Precision::LabData).is_ok());
    let errors = lab.check(&limits(), Precision::Prescription).unwrap_err();
    assert!(errors.iter().all(|e| e.code == "off_step"), "{errors:?}");
    let narrow = PrescriptionLimits::new(-1.0, 1.0, -1.0, 0.0).unwrap();
    assert!(samples::refraction()
        .check(&narrow, Precision::Prescription)
        .is_err());
}

// --- properties

fn eighths(range: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = f64> {
    range.prop_map(|e| f64::from(e) / 8.0)
}

fn eye_rx() -> impl Strategy<Value = EyeRx> {
    (
        -240..=240_i32,
        -80..=80_i32,
        1..=180_u16,
        prop::option::of(6..=32_i32),
        prop::option::of((1..=80_i32, prop::sample::select(PrismBase::ALL))),
        prop::option::of(20..=70_u32),
    )
        .prop_map(|(sphere, cylinder, axis, add, prism, height)| {
            let cylinder = Cylinder::try_from(f64::from(cylinder) / 8.0).unwrap();
            EyeRx::new(
                Sphere::try_from(f64::from(sphere) / 8.0).unwrap(),
                cylinder,
                (!cylinder.is_zero()).then(|| Axis::new(axis).unwrap()),
                add.map(|a| Addition::try_from(f64::from(a) / 8.0).unwrap()),
                prism.map(|(amount, base)| Prism {
                    amount: PrismAmount::try_from(f64::from(amount) / 8.0).unwrap(),
                    base,
                }),
                height.map(|h| SegmentHeight::new(f64::from(h) / 2.0).unwrap()),
            )
            .unwrap()
        })
}

fn pd() -> impl Strategy<Value = PupillaryDistance> {
    prop_oneof![
        (100..=160_u32).prop_map(|h| PupillaryDistance::binocular(f64::from(h) / 2.0).unwrap()),
        (50..=80_u32, 50..=80_u32).prop_map(|(r, l)| PupillaryDistance::monocular(
            f64::from(r) / 2.0,
            f64::from(l) / 2.0
        )
        .unwrap()),
    ]
}

fn near_pd() -> impl Strategy<Value = Option<NearPupillaryDistance>> {
    prop::option::of(prop_oneof![
        (90..=160_u32).prop_map(|h| NearPupillaryDistance::binocular(f64::from(h) / 2.0).unwrap()),
        (45..=80_u32, 45..=80_u32).prop_map(|(r, l)| NearPupillaryDistance::monocular(
            f64::from(r) / 2.0,
            f64::from(l) / 2.0
        )
        .unwrap()),
    ])
}

fn refraction() -> impl Strategy<Value = Refraction> {
    (eye_rx(), eye_rx(), pd(), near_pd()).prop_map(|(right, left, pd, near_pd)| {
        // A near PD above the distance PD is dropped rather than filtered out.
        let near_pd = near_pd.filter(|n| n.total() <= pd.total());
        Refraction::new(right, left, pd, near_pd).unwrap()
    })
}

/// A raw number of the kind a form or file may send: on the eighth grid (in and out of
/// range), on a hundredth grid, or anything at all.
fn raw_number(on_grid: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => eighths(on_grid),
        1 => (-5000..=5000_i32).prop_map(|c| f64::from(c) / 100.0),
        1 => Just(f64::NAN),
        1 => any::<f64>(),
    ]
}

fn raw_eye() -> impl Strategy<Value = EyeInput> {
    (
        raw_number(-280..=280),
        prop::option::of(raw_number(-90..=90)),
        prop::option::of(prop_oneof![(0..=185_u16).prop_map(f64::from), any::<f64>()]),
        prop::option::of(raw_number(0..=40)),
        prop::option::of((raw_number(-8..=90), prop::sample::select(PrismBase::ALL))),
        prop::option::of(prop_oneof![
            (10..=80_u32).prop_map(|h| f64::from(h) / 2.0),
            any::<f64>()
        ]),
    )
        .prop_map(
            |(sphere, cylinder, axis, add, prism, segment_height)| EyeInput {
                sphere,
                cylinder,
                axis,
                add,
                prism: prism.map(|(amount, base)| PrismInput { amount, base }),
                segment_height,
            },
        )
}

fn raw_pd() -> impl Strategy<Value = PdInput> {
    prop_oneof![
        (80..=170_u32).prop_map(|h| PdInput::Binocular(f64::from(h) / 2.0)),
        (40..=85_u32, 40..=85_u32).prop_map(|(r, l)| PdInput::Monocular {
            right: f64::from(r) / 2.0,
            left: f64::from(l) / 2.0
        }),
        any::<f64>().prop_map(PdInput::Binocular),
    ]
}

fn raw_input() -> impl Strategy<Value = RefractionInput> {
    (
        raw_eye(),
        raw_eye(),
        raw_pd(),
        prop::option::of(raw_pd()),
        prop_oneof![Just(CylinderForm::Minus), Just(CylinderForm::Plus)],
    )
        .prop_map(
            |(right, left, pd, near_pd, cylinder_form)| RefractionInput {
                right,
                left,
                pd,
                near_pd,
                cylinder_form,
            },
        )
}

/// A valid refraction written in either form, with at most one field replaced by a raw number,
/// so that parsing succeeds about as often as it fails.
fn nearly_valid_input() -> impl Strategy<Value = RefractionInput> {
    (
        refraction(),
        any::<bool>(),
        0..10_u8,
        raw_number(-280..=280),
    )
        .prop_map(|(r, plus, field, value)| {
            let mut input = r.to_input();
            if plus {
                input.right = r.right().to_plus_cylinder().to_input();
                input.left = r.left().to_plus_cylinder().to_input();
                input.cylinder_form = CylinderForm::Plus;
            }
            match field {
                0 => input.right.sphere = value,
                1 => input.left.cylinder = Some(value),
                2 => input.right.axis = Some(value),
                3 => input.left.add = Some(value),
                4 => input.right.segment_height = Some(value),
                5 => input.pd = PdInput::Binocular(value),
                6 => input.near_pd = Some(PdInput::Binocular(value)),
                _ => {}
            }
            input
        })
}

fn precision() -> impl Strategy<Value = Precision> {
    prop_oneof![Just(Precision::Prescription), Just(Precision::LabData)]
}

fn on_step(power: Dioptres, precision: Precision) -> bool {
    let step = precision.step().eighths().unwrap_or(1);
    power.eighths().is_some_and(|e| e % step == 0)
}

/// Every rule of §6 that a parsed refraction must satisfy.
fn assert_obeys_the_rules(r: &Refraction, limits: &PrescriptionLimits, precision: Precision) {
    for eye in Eye::BOTH {
        let rx = r.eye(eye);
        let (sphere, cylinder) = (rx.sphere().dioptres(), rx.cylinder().dioptres());
        assert!(on_step(sphere, precision), "{eye} sphere {sphere}");
        assert!(on_step(cylinder, precision), "{eye} cylinder {cylinder}");
        assert!((limits.sphere_min()..=limits.sphere_max()).contains(&sphere));
        assert!((limits.cylinder_min()..=limits.cylinder_max()).contains(&cylinder));
        assert!(cylinder <= Dioptres::ZERO, "minus-cylinder form");
        assert_eq!(rx.axis().is_some(), !cylinder.is_zero());
        if let Some(axis) = rx.axis() {
            assert!((1..=180).contains(&axis.degrees()));
        }
        if let Some(add) = rx.add() {
            assert!(on_step(add.dioptres(), precision));
            assert!((0.75..=4.0).contains(&add.to_f64()));
        }
        if let Some(prism) = rx.prism() {
            assert!(on_step(prism.amount.dioptres(), precision));
            assert!(prism.amount.to_f64() > 0.0 && prism.amount.to_f64() <= 10.0);
        }
        if let Some(height) = rx.segment_height() {
            assert!((10.0..=35.0).contains(&height.to_f64()));
        }
    }
    match r.pd() {
        PupillaryDistance::Binocular(pd) => assert!((50.0..=80.0).contains(&pd.to_f64())),
        PupillaryDistance::Monocular { right, left } => {
            assert!((25.0..=40.0).contains(&right.to_f64()));
            assert!((25.0..=40.0).contains(&left.to_f64()));
        }
    }
    assert_eq!(r.pd().total().tenths() % 5, 0, "0.5 mm steps");
    if let Some(near) = r.near_pd() {
        assert!(near.total() <= r.pd().total());
    }
}

const FIELDS: [&str; 18] = [
    "/right/sphere",
    "/right/cylinder",
    "/right/axis",
    "/right/add",
    "/right/prism/amount",
    "/right/segment_height",
    "/left/sphere",
    "/left/cylinder",
    "/left/axis",
    "/left/add",
    "/left/prism/amount",
    "/left/segment_height",
    "/pd",
    "/pd/right",
    "/pd/left",
    "/near_pd",
    "/near_pd/right",
    "/near_pd/left",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn transposing_twice_is_the_identity(eye in eye_rx()) {
        prop_assert_eq!(eye.transposed().transposed(), eye);
    }

    #[test]
    fn transposition_keeps_the_spherical_equivalent(eye in eye_rx()) {
        prop_assert_eq!(eye.transposed().spherical_equivalent(), eye.spherical_equivalent());
    }

    #[test]
    fn transposition_flips_the_form_and_turns_the_axis(eye in eye_rx()) {
        let t = eye.transposed();
        prop_assert_eq!(t.cylinder().dioptres(), -eye.cylinder().dioptres());
        prop_assert_eq!(t.sphere().dioptres(), eye.sphere().dioptres() + eye.cylinder().dioptres());
        prop_assert_eq!(t.add(), eye.add());
        prop_assert_eq!(t.prism(), eye.prism());
        if let (Some(before), Some(after)) = (eye.axis(), t.axis()) {
            prop_assert_eq!((before.degrees() + 90) % 180, after.degrees() % 180);
            prop_assert!((1..=180).contains(&after.degrees()));
        }
        prop_assert!(eye.to_minus_cylinder().cylinder().dioptres() <= Dioptres::ZERO);
        prop_assert!(eye.to_plus_cylinder().cylinder().dioptres() >= Dioptres::ZERO);
    }

    #[test]
    fn every_parsed_value_satisfies_the_rules(
        raw in prop_oneof![raw_input(), nearly_valid_input()],
        precision in precision(),
    ) {
        match Refraction::parse(raw, &limits(), precision) {
            Ok(refraction) => {
                assert_obeys_the_rules(&refraction, &limits(), precision);
                prop_assert_eq!(refraction.check(&limits(), precision), Ok(()));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for error in &errors {
                    prop_assert!(
                        FIELDS.contains(&error.field.as_str()),
                        "unexpected field {}", error.field
                    );
                    prop_assert!(!error.reason.is_empty());
                }
            }
        }
    }

    #[test]
    fn plus_and_minus_writings_of_one_lens_parse_to_the_same_refraction(r in refraction()) {
        let minus = r.to_input();
        let mut plus = minus.clone();
        plus.right = r.right().to_plus_cylinder().to_input();
        plus.left = r.left().to_plus_cylinder().to_input();
        plus.cylinder_form = CylinderForm::Plus;
        let wide = PrescriptionLimits::new(-50.0, 50.0, -20.0, 20.0).unwrap();
        prop_assert_eq!(Refraction::parse(minus, &wide, Precision::LabData), Ok(r.clone()));
        prop_assert_eq!(Refraction::parse(plus, &wide, Precision::LabData), Ok(r));
    }

    #[test]
    fn serde_round_trip(r in refraction()) {
        let json = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<Refraction>(&json).unwrap(), r.clone());
        let value = serde_json::to_value(&r).unwrap();
        prop_assert_eq!(serde_json::from_value::<Refraction>(value).unwrap(), r);
    }

    #[test]
    fn eye_serde_round_trip_in_either_form(eye in eye_rx()) {
        for form in [eye, eye.transposed()] {
            let json = serde_json::to_string(&form).unwrap();
            prop_assert_eq!(serde_json::from_str::<EyeRx>(&json).unwrap(), form);
        }
    }
}
