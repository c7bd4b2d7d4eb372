//! What a lab ticket says, as text ready to print. Every renderer prints the same content:
//! a QR code of the work order id, a CODE128 barcode of its number, the patient's initials,
//! the Rx table, PDs and heights, frame, lens, geometry, notes, due date and 3D-printed parts.

use serde::{Deserialize, Serialize};

/// One eye's row of the Rx table; empty strings for values the prescription does not have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxLine {
    /// `OD` (right) or `OS` (left).
    pub eye: String,
    /// `-2.25`, `+1.00`
    pub sphere: String,
    pub cylinder: String,
    /// `90`, or empty without cylinder.
    pub axis: String,
    pub add: String,
    /// `1.00`, or empty without prism.
    pub prism: String,
    /// `IN`, `OUT`, `UP`, `DOWN`, or empty.
    pub base: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameLine {
    pub brand: String,
    pub model: String,
    /// Boxing measurements in mm: `52`, `40`, `18`, `56`.
    pub a: String,
    pub b: String,
    pub dbl: String,
    pub ed: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LensLine {
    /// The lens as sold, e.g. `Vista Progressive 1.67 (VISTA-167)`; may be empty.
    pub description: String,
    pub material: String,
    pub index: String,
    pub design: String,
    /// Comma-separated, may be empty.
    pub coatings: String,
    pub tint: String,
}

/// Computed for one eye: decentration (inward positive), minimum blank, induced prism.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EyeGeometryLine {
    pub eye: String,
    /// `3.00` (mm)
    pub decentration: String,
    /// `64` (mm)
    pub minimum_blank: String,
    /// `0.83 IN`, or empty.
    pub induced_prism: String,
}

/// A 3D-printed part that goes with the job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StlPart {
    pub file_name: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// A lab ticket. Text may hold any Unicode (accented names of brands, notes); renderers
/// replace what their code page cannot print.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The work order's UUID: the QR code's payload.
    pub work_order_id: String,
    /// `WO-000042`: printed large and as a CODE128 barcode.
    pub number: String,
    /// The order the lenses were sold on, if any.
    pub order_id: String,
    /// The stage the job just entered, upper case: `EDGING`.
    pub stage: String,
    /// The station it entered it at: `Edger 2`.
    pub station: String,
    /// When it entered the stage, `2026-11-22 14:05 UTC`.
    pub at: String,
    /// `J. V. D.` — never a full name.
    pub patient_initials: String,
    /// Right, then left.
    pub rx: Vec<RxLine>,
    /// `63.5`, or `31.5 / 32` monocular.
    pub pd: String,
    pub near_pd: String,
    /// `18 / 18`, or empty.
    pub segment_height: String,
    pub frame: Option<FrameLine>,
    pub lens: LensLine,
    /// Right, then left; empty until the frame is measured.
    pub geometry: Vec<EyeGeometryLine>,
    pub notes: String,
    /// `2026-11-25`, or empty.
    pub due_on: String,
    pub parts: Vec<StlPart>,
}

impl Ticket {
    /// A ticket with every field filled, for tests and benchmarks of the renderers.
    pub fn sample() -> Self {
        let rx =
            |eye: &str, sphere: &str, cylinder: &str, axis: &str, prism: &str, base: &str| RxLine {
                eye: eye.into(),
                sphere: sphere.into(),
                cylinder: cylinder.into(),
                axis: axis.into(),
                add: "+2.00".into(),
                prism: prism.into(),
                base: base.into(),
            };
        let geometry = |eye: &str, decentration: &str, blank: &str, prism: &str| EyeGeometryLine {
            eye: eye.into(),
            decentration: decentration.into(),
            minimum_blank: blank.into(),
            induced_prism: prism.into(),
        };
        Ticket {
            work_order_id: "01936f3a-1b2c-7d4e-8f10-000000000d01".into(),
            number: "WO-000042".into(),
            order_id: "01936f3a-1b2c-7d4e-8f10-000000000701".into(),
            stage: "EDGING".into(),
            station: "Edger 2".into(),
            at: "2026-11-22 14:05 UTC".into(),
            patient_initials: "J. V. D.".into(),
            rx: vec![
                rx("OD", "+1.25", "-0.50", "90", "1.00", "IN"),
                rx("OS", "+1.00", "-0.75", "85", "", ""),
            ],
            pd: "31.5 / 32".into(),
            near_pd: "60".into(),
            segment_height: "18 / 18".into(),
            frame: Some(FrameLine {
                brand: "Lindberg".into(),
                model: "Strip 9704 Çelik".into(),
                a: "52".into(),
                b: "40".into(),
                dbl: "18".into(),
                ed: "56".into(),
            }),
            lens: LensLine {
                description: "Varilux X 1.67 (LENS-PAL-167)".into(),
                material: "high_index".into(),
                index: "1.67".into(),
                design: "progressive".into(),
                coatings: "anti_reflective, hard_coat".into(),
                tint: "".into(),
            },
            geometry: vec![
                geometry("OD", "3.50", "65", "0.44 OUT"),
                geometry("OS", "3.00", "64", "0.30 OUT"),
            ],
            notes: "Thin edges, polish. Kundin wünscht Facettenschliff.".into(),
            due_on: "2026-11-25".into(),
            parts: vec![StlPart {
                file_name: "nose-pad-left.stl".into(),
                size_bytes: 48_213,
                sha256: "9f2c1b7e4a5d3c8b0e6f1a2d4c7b9e0f3a5d8c1b2e4f6a7d9c0b3e5f7a1d2c4b".into(),
            }],
        }
    }
}
