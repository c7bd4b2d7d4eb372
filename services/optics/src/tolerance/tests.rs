use super::*;
use crate::power::{Addition, Cylinder, PrismAmount, Sphere};
use proptest::prelude::*;
use serde_json::json;

const SV: ToleranceTable = ToleranceTable::SingleVisionMultifocal;
const PAL: ToleranceTable = ToleranceTable::Progressive;

fn d(value: f64) -> Dioptres {
    Dioptres::from_f64(value).unwrap()
}

fn axis(degrees: u16) -> Axis {
    Axis::new(degrees).unwrap()
}

/// An ordered lens from lab-data values (0.125 D steps).
fn order(sphere: f64, cylinder: f64, axis_degrees: u16) -> EyeRx {
    EyeRx::new(
        Sphere::try_from(sphere).unwrap(),
        Cylinder::try_from(cylinder).unwrap(),
        (cylinder != 0.0).then(|| axis(axis_degrees)),
        None,
        None,
        None,
    )
    .unwrap()
}

fn with_add(eye: EyeRx, add: f64) -> EyeRx {
    EyeRx::new(
        eye.sphere(),
        eye.cylinder(),
        eye.axis(),
        Some(Addition::try_from(add).unwrap()),
        eye.prism(),
        None,
    )
    .unwrap()
}

fn with_prism(eye: EyeRx, amount: f64, base: PrismBase) -> EyeRx {
    EyeRx::new(
        eye.sphere(),
        eye.cylinder(),
        eye.axis(),
        eye.add(),
        Some(Prism {
            amount: PrismAmount::try_from(amount).unwrap(),
            base,
        }),
        None,
    )
    .unwrap()
}

fn reading(sphere: f64, cylinder: f64, axis_degrees: Option<u16>) -> MeasuredEye {
    MeasuredEye {
        sphere: d(sphere),
        cylinder: d(cylinder),
        axis: axis_degrees.map(axis),
        add: None,
        prism: None,
    }
}

/// A reading of exactly the ordered lens, in its own cylinder form.
fn exact(eye: &EyeRx) -> MeasuredEye {
    MeasuredEye {
        sphere: eye.sphere().dioptres(),
        cylinder: eye.cylinder().dioptres(),
        axis: eye.axis(),
        add: eye.add().map(Addition::dioptres),
        prism: eye.prism().map(|p| MeasuredPrism {
            amount: p.amount.dioptres(),
            base: p.base,
        }),
    }
}

fn inspect(table: ToleranceTable, ordered: &EyeRx, measured: &MeasuredEye) -> EyeInspection {
    inspect_eye(table, ordered, measured).unwrap()
}

/// The sphere verdict for a spherical order read as `measured` DS.
fn sphere_passes(table: ToleranceTable, ordered: f64, measured: f64) -> bool {
    let inspection = inspect(
        table,
        &order(ordered, 0.0, 0),
        &reading(measured, 0.0, None),
    );
    assert_eq!(inspection.passed, inspection.sphere.passed);
    inspection.sphere.passed
}

/// The cylinder verdict for a plano × 180 order read with `measured` cylinder.
fn cylinder_passes(table: ToleranceTable, ordered: f64, measured: f64) -> bool {
    let inspection = inspect(
        table,
        &order(0.0, ordered, 180),
        &reading(0.0, measured, Some(180)),
    );
    assert_eq!(inspection.passed, inspection.cylinder.passed);
    inspection.cylinder.passed
}

/// The axis verdict for a plano `cylinder` × 090 order read at `measured` degrees.
fn axis_passes(cylinder: f64, measured: u16) -> bool {
    let check = inspect(
        SV,
        &order(0.0, cylinder, 90),
        &reading(0.0, cylinder, Some(measured)),
    )
    .axis
    .unwrap();
    check.passed
}

#[test]
fn sphere_tolerance_single_vision_boundaries() {
    assert_eq!(
        sphere_tolerance(SV, d(6.5), Dioptres::ZERO),
        Tolerance::Dioptres { limit: d(0.13) }
    );
    assert_eq!(
        sphere_tolerance(SV, d(-6.75), Dioptres::ZERO),
        Tolerance::Percent {
            percent: 2,
            limit: d(0.135)
        }
    );
    for sign in [1.0, -1.0] {
        // ±6.50: ±0.13 D.
        assert!(sphere_passes(SV, 6.5 * sign, 6.63 * sign));
        assert!(sphere_passes(SV, 6.5 * sign, 6.37 * sign));
        assert!(!sphere_passes(SV, 6.5 * sign, 6.64 * sign));
        assert!(!sphere_passes(SV, 6.5 * sign, 6.36 * sign));
        // ±6.75: 2 % = 0.135 D, exactly; one micro-dioptre more fails.
        assert!(sphere_passes(SV, 6.75 * sign, 6.885 * sign));
        assert!(sphere_passes(SV, 6.75 * sign, 6.615 * sign));
        assert!(!sphere_passes(SV, 6.75 * sign, 6.895 * sign));
        assert!(!sphere_passes(SV, 6.75 * sign, 6.885_001 * sign));
        assert!(!sphere_passes(SV, 6.75 * sign, 6.614_999 * sign));
    }
}

#[test]
fn sphere_tolerance_follows_the_meridian_of_highest_power() {
    // -5.00 / -1.75: the other meridian is -6.75, so 2 % of 6.75.
    assert_eq!(
        sphere_tolerance(SV, d(-5.0), d(-1.75)),
        Tolerance::Percent {
            percent: 2,
            limit: d(0.135)
        }
    );
    assert_eq!(
        sphere_tolerance(SV, d(-6.0), d(-0.5)),
        Tolerance::Dioptres { limit: d(0.13) }
    );
    // Plus-cylinder form of the same kind of lens: +5.00 / +2.00 reaches +7.00.
    assert_eq!(
        sphere_tolerance(SV, d(5.0), d(2.0)),
        Tolerance::Percent {
            percent: 2,
            limit: d(0.14)
        }
    );
    assert_eq!(
        sphere_tolerance(SV, d(5.0), d(2.0)),
        sphere_tolerance(SV, d(7.0), d(-2.0))
    );
    // Mixed astigmatism: +1.00 / -7.50 reaches -6.50, still the fixed row.
    assert_eq!(
        sphere_tolerance(SV, d(1.0), d(-7.5)),
        Tolerance::Dioptres { limit: d(0.13) }
    );
    let inspection = inspect(
        SV,
        &order(-5.0, -1.75, 180),
        &reading(-5.135, -1.75, Some(180)),
    );
    assert!(inspection.sphere.passed);
    assert_eq!(inspection.sphere.deviation, d(-0.135));
    let inspection = inspect(
        SV,
        &order(-5.0, -1.75, 180),
        &reading(-5.136, -1.75, Some(180)),
    );
    assert!(!inspection.sphere.passed);
    assert!(!inspection.passed);
}

#[test]
fn cylinder_tolerance_single_vision_boundaries() {
    let fixed = |limit| Tolerance::Dioptres { limit: d(limit) };
    assert_eq!(cylinder_tolerance(SV, d(-2.0)), fixed(0.13));
    assert_eq!(cylinder_tolerance(SV, d(-2.25)), fixed(0.15));
    assert_eq!(cylinder_tolerance(SV, d(-4.5)), fixed(0.15));
    assert_eq!(
        cylinder_tolerance(SV, d(-4.75)),
        Tolerance::Percent {
            percent: 4,
            limit: d(0.19)
        }
    );
    assert_eq!(cylinder_tolerance(SV, Dioptres::ZERO), fixed(0.13));
    assert_eq!(
        cylinder_tolerance(SV, d(4.75)),
        cylinder_tolerance(SV, d(-4.75))
    );

    assert!(cylinder_passes(SV, -2.0, -2.13));
    assert!(cylinder_passes(SV, -2.0, -1.87));
    assert!(!cylinder_passes(SV, -2.0, -2.14));
    assert!(!cylinder_passes(SV, -2.0, -1.86));
    assert!(cylinder_passes(SV, -2.25, -2.4));
    assert!(!cylinder_passes(SV, -2.25, -2.41));
    assert!(cylinder_passes(SV, -4.5, -4.65));
    assert!(cylinder_passes(SV, -4.5, -4.35));
    assert!(!cylinder_passes(SV, -4.5, -4.66));
    assert!(cylinder_passes(SV, -4.75, -4.94));
    assert!(cylinder_passes(SV, -4.75, -4.56));
    assert!(!cylinder_passes(SV, -4.75, -4.95));
    assert!(!cylinder_passes(SV, -4.75, -4.940_001));
}

#[test]
fn axis_tolerance_boundaries() {
    let degrees = |limit| Some(Tolerance::Degrees { limit });
    assert_eq!(axis_tolerance(Dioptres::ZERO), None);
    assert_eq!(axis_tolerance(d(-0.125)), degrees(14));
    assert_eq!(axis_tolerance(d(-0.25)), degrees(14));
    assert_eq!(axis_tolerance(d(-0.375)), degrees(7));
    assert_eq!(axis_tolerance(d(-0.5)), degrees(7));
    assert_eq!(axis_tolerance(d(-0.75)), degrees(5));
    assert_eq!(axis_tolerance(d(-1.0)), degrees(3));
    assert_eq!(axis_tolerance(d(-1.5)), degrees(3));
    assert_eq!(axis_tolerance(d(-1.75)), degrees(2));
    assert_eq!(axis_tolerance(d(1.75)), degrees(2));
    for (cylinder, limit) in [(-0.25, 14), (-0.5, 7), (-0.75, 5), (-1.5, 3), (-1.75, 2)] {
        assert!(axis_passes(cylinder, 90 + limit), "{cylinder} +{limit}");
        assert!(axis_passes(cylinder, 90 - limit), "{cylinder} -{limit}");
        assert!(!axis_passes(cylinder, 90 + limit + 1), "{cylinder}");
        assert!(!axis_passes(cylinder, 90 - limit - 1), "{cylinder}");
    }
}

#[test]
fn axis_deviation_is_circular() {
    let check = |ordered, measured| {
        inspect(
            SV,
            &order(0.0, -0.25, ordered),
            &reading(0.0, -0.25, Some(measured)),
        )
        .axis
        .unwrap()
    };
    assert_eq!(check(180, 1).deviation_degrees, 1);
    assert_eq!(check(1, 180).deviation_degrees, 1);
    assert_eq!(check(5, 171).deviation_degrees, 14);
    assert!(check(5, 171).passed);
    assert_eq!(check(5, 170).deviation_degrees, 15);
    assert!(!check(5, 170).passed);
    assert_eq!(check(180, 90).deviation_degrees, 90);
    assert_eq!(check(45, 135).deviation_degrees, 90);
}

#[test]
fn add_tolerance_boundaries() {
    assert_eq!(
        add_tolerance(d(4.0)),
        Tolerance::Dioptres { limit: d(0.12) }
    );
    assert_eq!(
        add_tolerance(d(4.25)),
        Tolerance::Dioptres { limit: d(0.18) }
    );
    assert!(add_tolerance(d(4.25)).allows_power(d(0.18)));
    assert!(add_tolerance(d(4.25)).allows_power(d(-0.18)));
    assert!(!add_tolerance(d(4.25)).allows_power(d(0.19)));
    assert!(!add_tolerance(d(4.0)).allows_power(d(0.13)));

    let ordered = with_add(order(1.0, 0.0, 0), 4.0);
    let add_passes = |measured: f64| {
        let inspection = inspect(
            SV,
            &ordered,
            &MeasuredEye {
                add: Some(d(measured)),
                ..reading(1.0, 0.0, None)
            },
        );
        let add = inspection.add.unwrap();
        assert_eq!(add.tolerance, Tolerance::Dioptres { limit: d(0.12) });
        assert_eq!(inspection.passed, add.passed);
        add.passed
    };
    assert!(add_passes(4.12));
    assert!(add_passes(3.88));
    assert!(!add_passes(4.13));
    assert!(!add_passes(3.87));
}

#[test]
fn progressive_table_boundaries() {
    assert_eq!(
        sphere_tolerance(PAL, d(8.0), Dioptres::ZERO),
        Tolerance::Dioptres { limit: d(0.16) }
    );
    assert_eq!(
        sphere_tolerance(PAL, d(-8.25), Dioptres::ZERO),
        Tolerance::Percent {
            percent: 2,
            limit: d(0.165)
        }
    );
    for sign in [1.0, -1.0] {
        assert!(sphere_passes(PAL, 8.0 * sign, 8.16 * sign));
        assert!(sphere_passes(PAL, 8.0 * sign, 7.84 * sign));
        assert!(!sphere_passes(PAL, 8.0 * sign, 8.17 * sign));
        assert!(sphere_passes(PAL, 8.25 * sign, 8.415 * sign));
        assert!(!sphere_passes(PAL, 8.25 * sign, 8.425 * sign));
        assert!(!sphere_passes(PAL, 8.25 * sign, 8.415_001 * sign));
        // At 7.00 D the single-vision table allows 2 % = 0.14 D, the progressive 0.16 D.
        assert!(sphere_passes(PAL, 7.0 * sign, 7.16 * sign));
        assert!(!sphere_passes(SV, 7.0 * sign, 7.16 * sign));
    }

    assert_eq!(
        cylinder_tolerance(PAL, d(-2.0)),
        Tolerance::Dioptres { limit: d(0.16) }
    );
    assert_eq!(
        cylinder_tolerance(PAL, d(-2.25)),
        Tolerance::Dioptres { limit: d(0.18) }
    );
    assert_eq!(
        cylinder_tolerance(PAL, d(-3.5)),
        Tolerance::Dioptres { limit: d(0.18) }
    );
    assert_eq!(
        cylinder_tolerance(PAL, d(-3.75)),
        Tolerance::Percent {
            percent: 5,
            limit: d(0.1875)
        }
    );
    assert!(cylinder_passes(PAL, -2.0, -2.16));
    assert!(!cylinder_passes(PAL, -2.0, -2.17));
    assert!(cylinder_passes(PAL, -2.25, -2.43));
    assert!(!cylinder_passes(PAL, -2.25, -2.44));
    assert!(cylinder_passes(PAL, -3.5, -3.68));
    assert!(!cylinder_passes(PAL, -3.5, -3.69));
    assert!(cylinder_passes(PAL, -3.75, -3.9375));
    assert!(cylinder_passes(PAL, -3.75, -3.5625));
    assert!(!cylinder_passes(PAL, -3.75, -3.9475));
    assert!(!cylinder_passes(PAL, -3.75, -3.937_501));

    // Axis, add and prism tolerances do not depend on the table.
    assert_eq!(
        prism_tolerance(PAL, d(-5.0), Dioptres::ZERO),
        prism_tolerance(SV, d(-5.0), Dioptres::ZERO)
    );
}

#[test]
fn plus_cylinder_readings_are_transposed() {
    let ordered = order(-2.0, -1.0, 180);
    // The same lens read in plus-cylinder form.
    let inspection = inspect(SV, &ordered, &reading(-3.0, 1.0, Some(90)));
    assert!(inspection.passed);
    assert_eq!(inspection.sphere.measured, d(-2.0));
    assert_eq!(inspection.cylinder.measured, d(-1.0));
    assert_eq!(inspection.axis.unwrap().measured, axis(180));
    assert_eq!(inspection.axis.unwrap().deviation_degrees, 0);
    // Slightly off, still within tolerance: -1.95 / -1.10 × 002 after transposition.
    let inspection = inspect(SV, &ordered, &reading(-3.05, 1.1, Some(92)));
    assert!(inspection.passed, "{inspection:?}");
    assert_eq!(inspection.sphere.deviation, d(0.05));
    assert_eq!(inspection.cylinder.deviation, d(-0.1));
    assert_eq!(inspection.axis.unwrap().deviation_degrees, 2);
    // An order written in plus-cylinder form is compared in minus form too.
    let inspection = inspect(SV, &ordered.transposed(), &reading(-2.0, -1.0, Some(180)));
    assert!(inspection.passed);
    assert_eq!(inspection.sphere.ordered, d(-2.0));
    assert_eq!(
        MeasuredEye::to_minus_cylinder(&reading(-3.0, 1.0, Some(90))),
        reading(-2.0, -1.0, Some(180))
    );
}

#[test]
fn missing_measurements_are_rejected() {
    let toric = order(-2.0, -1.0, 180);
    for cylinder in [-1.0, 1.0] {
        let error = inspect_eye(SV, &toric, &reading(-2.0, cylinder, None)).unwrap_err();
        assert_eq!(error, InspectionError::MissingMeasurement { value: "axis" });
        assert_eq!(error.code(), "missing_measurement");
        assert_eq!(error.to_string(), "measured axis is missing");
    }
    let multifocal = with_add(order(1.0, 0.0, 0), 2.0);
    assert_eq!(
        inspect_eye(SV, &multifocal, &reading(1.0, 0.0, None)),
        Err(InspectionError::MissingMeasurement { value: "add" })
    );
    // A spherical order needs no axis, even for a small measured cylinder; an add measured
    // on a lens ordered without one is ignored.
    let inspection = inspect(
        SV,
        &order(1.0, 0.0, 0),
        &MeasuredEye {
            add: Some(d(2.0)),
            ..reading(1.06, -0.12, None)
        },
    );
    assert!(inspection.passed);
    assert_eq!(inspection.axis, None);
    assert_eq!(inspection.add, None);
}

#[test]
fn a_lens_without_measured_cylinder_fails_its_axis() {
    let inspection = inspect(SV, &order(-2.0, -0.5, 30), &reading(-2.0, 0.0, Some(30)));
    let axis_check = inspection.axis.unwrap();
    assert_eq!(axis_check.deviation_degrees, 90);
    assert_eq!(axis_check.measured, axis(120));
    assert!(!axis_check.passed);
    assert!(!inspection.cylinder.passed);
    assert!(!inspection.passed);
    // No axis given is fine here: there is nothing to read it from.
    assert!(inspect_eye(SV, &order(-2.0, -0.5, 30), &reading(-2.0, 0.0, None)).is_ok());
}

#[test]
fn prism_tolerance_by_power() {
    let fixed = |limit| Tolerance::Dioptres { limit: d(limit) };
    assert_eq!(prism_tolerance(SV, d(3.375), Dioptres::ZERO), fixed(0.33));
    assert_eq!(prism_tolerance(SV, d(-2.0), d(-1.375)), fixed(0.33));
    assert_eq!(prism_tolerance(SV, d(3.5), Dioptres::ZERO), fixed(0.35));
    assert_eq!(prism_tolerance(SV, d(-2.0), d(-1.5)), fixed(0.35));
    assert_eq!(prism_tolerance(SV, d(-5.0), Dioptres::ZERO), fixed(0.5));
    assert_eq!(prism_tolerance(SV, d(3.625), Dioptres::ZERO), fixed(0.3625));
}

#[test]
fn unordered_prism_must_stay_within_tolerance() {
    let prism_check = |ordered: &EyeRx, amount: f64, base| {
        let measured = MeasuredEye {
            prism: Some(MeasuredPrism {
                amount: d(amount),
                base,
            }),
            ..exact(ordered)
        };
        let inspection = inspect(SV, ordered, &measured);
        assert_eq!(inspection.passed, inspection.prism.passed);
        inspection.prism
    };
    let low = order(-2.0, 0.0, 0);
    let none = inspect(SV, &low, &exact(&low)).prism;
    assert_eq!(none.deviation, Dioptres::ZERO);
    assert!(none.passed);
    assert!(prism_check(&low, 0.33, PrismBase::In).passed);
    assert!(prism_check(&low, 0.33, PrismBase::Down).passed);
    assert!(!prism_check(&low, 0.34, PrismBase::Out).passed);
    // -5.00 D: 1 mm induces 0.50 Δ.
    let high = order(-5.0, 0.0, 0);
    let check = prism_check(&high, 0.5, PrismBase::Out);
    assert_eq!(check.tolerance, Tolerance::Dioptres { limit: d(0.5) });
    assert!(check.passed);
    assert!(!prism_check(&high, 0.51, PrismBase::Out).passed);
}

#[test]
fn prescribed_prism_is_compared_as_a_vector() {
    let ordered = with_prism(order(-2.0, 0.0, 0), 2.0, PrismBase::In);
    let check = |amount: f64, base| {
        inspect(
            SV,
            &ordered,
            &MeasuredEye {
                prism: Some(MeasuredPrism {
                    amount: d(amount),
                    base,
                }),
                ..reading(-2.0, 0.0, None)
            },
        )
        .prism
    };
    assert!(check(2.33, PrismBase::In).passed);
    assert!(check(1.67, PrismBase::In).passed);
    assert!(!check(2.34, PrismBase::In).passed);
    assert_eq!(check(2.34, PrismBase::In).deviation, d(0.34));
    // Base out instead of in: 4 Δ apart.
    assert_eq!(check(2.0, PrismBase::Out).deviation, d(4.0));
    // At right angles: √8 = 2.828… → 2.83 Δ.
    assert_eq!(check(2.0, PrismBase::Up).deviation, d(2.83));
    // A negative reading is the opposite base.
    assert_eq!(check(-2.0, PrismBase::Out).deviation, Dioptres::ZERO);
    // Prism ordered but none read: the whole prism is the deviation.
    let missing = inspect(SV, &ordered, &reading(-2.0, 0.0, None)).prism;
    assert_eq!(missing.deviation, d(2.0));
    assert!(!missing.passed);

    // 0.125 Δ up ordered, 0.25 Δ in read: √(0.125² + 0.25²) = 0.2795 → 0.28 Δ, passes;
    // 0.25 Δ up ordered, 0.25 Δ in read: 0.3536 → 0.35 Δ, fails.
    let small = with_prism(order(-2.0, 0.0, 0), 0.125, PrismBase::Up);
    let read_in = MeasuredEye {
        prism: Some(MeasuredPrism {
            amount: d(0.25),
            base: PrismBase::In,
        }),
        ..reading(-2.0, 0.0, None)
    };
    let prism = inspect(SV, &small, &read_in).prism;
    assert_eq!(prism.deviation, d(0.28));
    assert!(prism.passed);
    let quarter = with_prism(order(-2.0, 0.0, 0), 0.25, PrismBase::Up);
    let prism = inspect(SV, &quarter, &read_in).prism;
    assert_eq!(prism.deviation, d(0.35));
    assert!(!prism.passed);
}

#[test]
fn prism_distance_rounds_half_up_to_hundredths() {
    let distance = |x: i64, y: i64| prism_distance((0, 0), (x, y)).micro();
    assert_eq!(distance(5_000, 0), 10_000);
    assert_eq!(distance(4_999, 0), 0);
    assert_eq!(distance(0, -15_000), 20_000);
    assert_eq!(distance(300_000, 400_000), 500_000);
    assert_eq!(distance(330_000, 0), 330_000);
    assert_eq!(distance(335_000, 0), 340_000);
    assert_eq!(distance(334_999, 0), 330_000);
    assert_eq!(distance(0, 0), 0);
}

#[test]
fn json_shapes() {
    assert_eq!(
        serde_json::to_value(SV).unwrap(),
        json!("single_vision_multifocal")
    );
    for table in ToleranceTable::ALL {
        assert_eq!(serde_json::to_value(table).unwrap(), json!(table.as_str()));
        assert_eq!(table.to_string(), table.as_str());
    }
    assert_eq!(
        serde_json::to_value(Tolerance::Percent {
            percent: 2,
            limit: d(0.135)
        })
        .unwrap(),
        json!({"kind": "percent", "percent": 2, "limit": 0.135})
    );
    assert_eq!(
        serde_json::to_value(Tolerance::Dioptres { limit: d(0.13) }).unwrap(),
        json!({"kind": "dioptres", "limit": 0.13})
    );
    assert_eq!(
        serde_json::to_value(Tolerance::Degrees { limit: 7 }).unwrap(),
        json!({"kind": "degrees", "limit": 7})
    );
    assert!(serde_json::from_value::<Tolerance>(json!({"kind": "inches", "limit": 1})).is_err());
    assert_eq!(
        Tolerance::Percent {
            percent: 2,
            limit: d(0.135)
        }
        .to_string(),
        "±2 % (±0.135 D)"
    );
    assert_eq!(
        Tolerance::Dioptres { limit: d(0.13) }.to_string(),
        "±0.13 D"
    );
    assert_eq!(Tolerance::Degrees { limit: 7 }.to_string(), "±7°");

    let measured: MeasuredEye = serde_json::from_value(json!({
        "sphere": -2.01, "cylinder": -0.5, "axis": 92, "add": 2.0,
        "prism": {"amount": 0.2, "base": "up"}
    }))
    .unwrap();
    assert_eq!(measured.sphere, d(-2.01));
    assert!(serde_json::from_value::<MeasuredEye>(json!({
        "sphere": -2.0, "cylinder": -0.5, "axis": 0, "add": null, "prism": null
    }))
    .is_err());
    let ordered = with_add(order(-2.0, -0.5, 90), 2.0);
    let inspection = inspect(PAL, &ordered, &measured);
    assert!(inspection.passed);
    let json = serde_json::to_value(inspection).unwrap();
    assert_eq!(
        json["sphere"],
        json!({
            "ordered": -2.0, "measured": -2.01, "deviation": -0.01,
            "tolerance": {"kind": "dioptres", "limit": 0.16}, "passed": true
        })
    );
    assert_eq!(json["axis"]["deviation_degrees"], json!(2));
    assert_eq!(
        serde_json::from_value::<EyeInspection>(json).unwrap(),
        inspection
    );
}

fn ordered_eye() -> impl Strategy<Value = EyeRx> {
    (
        -160i32..=160,
        -48i32..=48,
        1u16..=180,
        prop::option::of(6i32..=32),
        prop::option::of((1i32..=40, 0usize..4)),
    )
        .prop_map(|(sphere, cylinder, axis_degrees, add, prism)| {
            let eye = order(
                f64::from(sphere) / 8.0,
                f64::from(cylinder) / 8.0,
                axis_degrees,
            );
            let eye = match add {
                Some(add) => with_add(eye, f64::from(add) / 8.0),
                None => eye,
            };
            match prism {
                Some((amount, base)) => {
                    with_prism(eye, f64::from(amount) / 8.0, PrismBase::ALL[base])
                }
                None => eye,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_ordered_lens_passes_in_either_cylinder_form(
        eye in ordered_eye(),
        table in prop::sample::select(ToleranceTable::ALL),
    ) {
        for reading in [exact(&eye), exact(&eye.transposed())] {
            let inspection = inspect(table, &eye, &reading);
            prop_assert!(inspection.passed, "{:?}", inspection);
            prop_assert_eq!(inspection.sphere.deviation, Dioptres::ZERO);
            prop_assert_eq!(inspection.cylinder.deviation, Dioptres::ZERO);
            prop_assert_eq!(inspection.prism.deviation, Dioptres::ZERO);
            prop_assert_eq!(inspection.axis.map(|a| a.deviation_degrees), eye.axis().map(|_| 0));
            prop_assert_eq!(inspection.add.is_some(), eye.add().is_some());
        }
        let json = serde_json::to_string(&inspect(table, &eye, &exact(&eye))).unwrap();
        prop_assert_eq!(
            serde_json::from_str::<EyeInspection>(&json).unwrap(),
            inspect(table, &eye, &exact(&eye))
        );
    }

    #[test]
    fn percent_tolerances_compare_exact_integers(
        eighths in 53i32..=240,
        negative in any::<bool>(),
        deviation in -400_000i32..=400_000,
    ) {
        let sign = if negative { -1 } else { 1 };
        let ordered = Dioptres::from_eighths(eighths * sign);
        let tolerance = sphere_tolerance(SV, ordered, Dioptres::ZERO);
        let expected =
            i64::from(deviation).abs() * 100 <= i64::from(ordered.micro()).abs() * 2;
        prop_assert_eq!(tolerance.allows_power(Dioptres::from_micro(deviation)), expected);
        let Tolerance::Percent { percent: 2, limit } = tolerance else {
            return Err(TestCaseError::fail("expected 2 %"));
        };
        // Exact for every multiple of 0.125 D.
        prop_assert_eq!(i64::from(limit.micro()) * 100, i64::from(ordered.micro()).abs() * 2);
    }

    #[test]
    fn axis_deviation_is_symmetric_and_at_most_90(first in 1u16..=180, second in 1u16..=180) {
        let tolerance = Tolerance::Degrees { limit: 2 };
        let forward = AxisCheck::new(axis(first), axis(second), tolerance);
        let backward = AxisCheck::new(axis(second), axis(first), tolerance);
        prop_assert_eq!(forward.deviation_degrees, backward.deviation_degrees);
        prop_assert!(forward.deviation_degrees <= 90);
        prop_assert_eq!(
            AxisCheck::new(axis(first), axis(first).perpendicular(), tolerance).deviation_degrees,
            90
        );
    }
}
